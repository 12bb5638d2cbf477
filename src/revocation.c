/*
 * revocation.c - revocation checks of certificates: CRL files, OCSP over HTTP, a cache, the hard/soft/off
 * policy (see revocation.h).
 *
 * The cache is a small array keyed by the certificate's SHA-256 fingerprint; it also holds the last
 * outcome per certificate for the status page. OCSP goes through OpenSSL's own HTTP client with a
 * timeout; a responder that failed is not asked again for RESPONDER_RETRY_AFTER seconds, so an outage
 * costs one timeout, not one per message.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "relais/buf.h"
#include "relais/keys.h"
#include "relais/revocation.h"

#define CRL_FILE_MAX (64u * 1024 * 1024)
#define OCSP_RESPONSE_MAX (1024u * 1024)
#define OCSP_CLOCK_SKEW 300		/* seconds of leeway on thisUpdate/nextUpdate */
#define RESPONDER_RETRY_AFTER 60	/* seconds before a failed responder is asked again */
#define CACHE_MAX_ENTRIES 1024
#define RESPONDERS_MAX 32
#define DOWNLOADED_CRLS_MAX 32

struct cache_entry {
	unsigned char fingerprint[32];
	struct rl_revocation_outcome outcome;
};

/* A CRL fetched from a distribution point, kept while current. */
struct downloaded_crl {
	char url[256];
	X509_CRL *crl;
};

struct rl_revocation {
	enum rl_revocation_policy policy;
	STACK_OF(X509_CRL) *crls;
	char **crl_paths;			/* parallel to crls */
	char *ocsp_url;
	int timeout;
	int crl_download;
	struct downloaded_crl downloaded[DOWNLOADED_CRLS_MAX];
	size_t ndownloaded;
	pthread_mutex_t lock;
	struct cache_entry *entries;
	size_t nentries, cap;
	struct rl_revocation_responder responders[RESPONDERS_MAX];
	size_t nresponders;
	unsigned long sequence;
};

int rl_revocation_parse_policy(const char *s, enum rl_revocation_policy *out)
{
	if (strcmp(s, "hard") == 0)
		*out = RL_REVOCATION_HARD;
	else if (strcmp(s, "soft") == 0)
		*out = RL_REVOCATION_SOFT;
	else if (strcmp(s, "off") == 0)
		*out = RL_REVOCATION_OFF;
	else
		return -1;
	return 0;
}

const char *rl_revocation_policy_name(enum rl_revocation_policy policy)
{
	switch (policy) {
	case RL_REVOCATION_HARD: return "hard";
	case RL_REVOCATION_SOFT: return "soft";
	case RL_REVOCATION_OFF: return "off";
	}
	return "?";
}

const char *rl_revocation_status_name(enum rl_revocation_status status)
{
	switch (status) {
	case RL_REVOCATION_GOOD: return "good";
	case RL_REVOCATION_REVOKED: return "revoked";
	case RL_REVOCATION_UNKNOWN: return "unknown";
	}
	return "?";
}

struct rl_revocation *rl_revocation_new(enum rl_revocation_policy policy, struct rl_err *err)
{
	struct rl_revocation *rev = calloc(1, sizeof(*rev));

	if (!rev || !(rev->crls = sk_X509_CRL_new_null())) {
		free(rev);
		rl_err_set(err, RL_ERR_NOMEM, "out of memory creating the revocation checker");
		return NULL;
	}
	rev->policy = policy;
	rev->timeout = RL_REVOCATION_TIMEOUT_DEFAULT;
	pthread_mutex_init(&rev->lock, NULL);
	return rev;
}

void rl_revocation_free(struct rl_revocation *rev)
{
	if (!rev)
		return;
	for (int i = 0; i < sk_X509_CRL_num(rev->crls); i++)
		free(rev->crl_paths[i]);
	free(rev->crl_paths);
	sk_X509_CRL_pop_free(rev->crls, X509_CRL_free);
	free(rev->ocsp_url);
	for (size_t i = 0; i < rev->ndownloaded; i++)
		X509_CRL_free(rev->downloaded[i].crl);
	free(rev->entries);
	pthread_mutex_destroy(&rev->lock);
	free(rev);
}

enum rl_revocation_policy rl_revocation_policy(const struct rl_revocation *rev)
{
	return rev ? rev->policy : RL_REVOCATION_OFF;
}

static int push_crl(struct rl_revocation *rev, X509_CRL *crl, const char *path)
{
	int n = sk_X509_CRL_num(rev->crls);
	char **paths = realloc(rev->crl_paths, ((size_t)n + 1) * sizeof(*paths));

	if (!paths)
		return -1;
	rev->crl_paths = paths;
	if (!(paths[n] = strdup(path)))
		return -1;
	if (!sk_X509_CRL_push(rev->crls, crl)) {
		free(paths[n]);
		return -1;
	}
	return 0;
}

int rl_revocation_add_crl_file(struct rl_revocation *rev, const char *path, struct rl_err *err)
{
	struct rl_buf content = RL_BUF_INIT;
	X509_CRL *crl;
	BIO *bio;
	int added = 0;

	if (rl_buf_read_file(&content, path, CRL_FILE_MAX) != 0)
		return rl_err_set(err, RL_ERR_CONFIG, "cannot read CRL file %s", path);
	bio = BIO_new_mem_buf(content.data, (int)content.len);
	while (bio && (crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (push_crl(rev, crl, path) < 0) {
			X509_CRL_free(crl);
			BIO_free(bio);
			rl_buf_free(&content);
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory reading %s", path);
		}
		added++;
	}
	ERR_clear_error();
	if (added == 0) {
		const unsigned char *p = (const unsigned char *)content.data;
		crl = d2i_X509_CRL(NULL, &p, (long)content.len);
		ERR_clear_error();
		if (crl && push_crl(rev, crl, path) == 0)
			added = 1;
		else
			X509_CRL_free(crl);
	}
	BIO_free(bio);
	rl_buf_free(&content);
	if (added == 0)
		return rl_err_set(err, RL_ERR_CONFIG, "%s holds no CRL", path);
	return 0;
}

int rl_revocation_set_ocsp_url(struct rl_revocation *rev, const char *url, struct rl_err *err)
{
	free(rev->ocsp_url);
	rev->ocsp_url = NULL;
	if (!url || !*url)
		return 0;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return rl_err_set(err, RL_ERR_CONFIG, "OCSP responder '%s' is not an http:// URL", url);
	if (!(rev->ocsp_url = strdup(url)))
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

void rl_revocation_set_timeout(struct rl_revocation *rev, int seconds)
{
	rev->timeout = seconds > 0 ? seconds : RL_REVOCATION_TIMEOUT_DEFAULT;
}

void rl_revocation_set_crl_download(struct rl_revocation *rev, int on)
{
	rev->crl_download = on;
}

char *rl_cert_crl_url(X509 *cert)
{
	STACK_OF(DIST_POINT) *points = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	char *url = NULL;

	for (int i = 0; !url && i < sk_DIST_POINT_num(points); i++) {
		DIST_POINT_NAME *name = sk_DIST_POINT_value(points, i)->distpoint;
		if (!name || name->type != 0)
			continue;
		for (int j = 0; !url && j < sk_GENERAL_NAME_num(name->name.fullname); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(name->name.fullname, j);
			if (gn->type != GEN_URI)
				continue;
			const char *uri = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			if (strncmp(uri, "http://", 7) == 0)
				url = strdup(uri);
		}
	}
	sk_DIST_POINT_pop_free(points, DIST_POINT_free);
	ERR_clear_error();
	return url;
}

char *rl_cert_ocsp_url(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
	char *url = NULL;

	if (urls && sk_OPENSSL_STRING_num(urls) > 0)
		url = strdup(sk_OPENSSL_STRING_value(urls, 0));
	X509_email_free(urls);
	return url;
}

/* --- helpers ---------------------------------------------------------------------------------- */

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static void format_day(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "an unknown date");
}

static const char *reason_name(int reason)
{
	switch (reason) {
	case OCSP_REVOKED_STATUS_UNSPECIFIED: return "unspecified";
	case OCSP_REVOKED_STATUS_KEYCOMPROMISE: return "keyCompromise";
	case OCSP_REVOKED_STATUS_CACOMPROMISE: return "cACompromise";
	case OCSP_REVOKED_STATUS_AFFILIATIONCHANGED: return "affiliationChanged";
	case OCSP_REVOKED_STATUS_SUPERSEDED: return "superseded";
	case OCSP_REVOKED_STATUS_CESSATIONOFOPERATION: return "cessationOfOperation";
	case OCSP_REVOKED_STATUS_CERTIFICATEHOLD: return "certificateHold";
	case OCSP_REVOKED_STATUS_REMOVEFROMCRL: return "removeFromCRL";
	case 9: return "privilegeWithdrawn";
	case 10: return "aACompromise";
	default: return "unspecified";
	}
}

static const char *openssl_reason(char *buf, size_t size)
{
	unsigned long code = ERR_peek_last_error();

	if (code == 0)
		snprintf(buf, size, "no further detail");
	else
		ERR_error_string_n(code, buf, size);
	ERR_clear_error();
	return buf;
}

/* How long an answer valid from this_update to next_update (0 = not given) is kept, from now. */
static time_t cache_until(time_t now, time_t next_update)
{
	if (next_update == 0)
		return now + RL_REVOCATION_CACHE_DEFAULT;
	if (next_update > now + RL_REVOCATION_CACHE_MAX)
		return now + RL_REVOCATION_CACHE_MAX;
	return next_update;
}

/* --- CRLs ------------------------------------------------------------------------------------- */

/* Whether crl, issued by issuer, can answer for cert now: 1 = answered (outcome filled), 0 = not usable
 * (why filled when it is the issuer's CRL but not usable). */
static int crl_answer(X509_CRL *crl, const char *label, X509 *cert, X509 *issuer, time_t now,
		      struct rl_revocation_outcome *o, char *why, size_t why_size)
{
	EVP_PKEY *issuer_key = X509_get0_pubkey(issuer);
	X509_REVOKED *revoked = NULL;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
		return 0;
	if (!issuer_key || X509_CRL_verify(crl, issuer_key) != 1) {
		ERR_clear_error();
		snprintf(why, why_size, "CRL %s: signature does not verify with the issuer's key", label);
		return 0;
	}
	time_t this_update = asn1_to_time(X509_CRL_get0_lastUpdate(crl));
	time_t next_update = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
	if (this_update > now + OCSP_CLOCK_SKEW) {
		snprintf(why, why_size, "CRL %s is not valid yet", label);
		return 0;
	}
	if (next_update != 0 && next_update < now) {
		char date[48];
		format_day(next_update, date, sizeof(date));
		snprintf(why, why_size, "CRL %s is out of date (next update was due %s)", label, date);
		return 0;
	}
	snprintf(o->source, sizeof(o->source), "CRL %s", label);
	o->checked_at = now;
	o->next_update = cache_until(now, next_update);
	if (X509_CRL_get0_by_cert(crl, &revoked, cert) == 1 && revoked) {
		ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(revoked, NID_crl_reason, NULL, NULL);
		o->status = RL_REVOCATION_REVOKED;
		o->revoked_at = asn1_to_time(X509_REVOKED_get0_revocationDate(revoked));
		snprintf(o->reason, sizeof(o->reason), "%s",
			 reason_name(reason ? (int)ASN1_ENUMERATED_get(reason) : 0));
		ASN1_ENUMERATED_free(reason);
	} else {
		o->status = RL_REVOCATION_GOOD;
	}
	ERR_clear_error();
	return 1;
}

/* The configured CRL files, then CRLs downloaded earlier that are still current. 1 = answered. */
static int check_crls(struct rl_revocation *rev, X509 *cert, X509 *issuer, time_t now,
		      struct rl_revocation_outcome *o, char *why, size_t why_size)
{
	int answered = 0;

	for (int i = 0; !answered && i < sk_X509_CRL_num(rev->crls); i++)
		answered = crl_answer(sk_X509_CRL_value(rev->crls, i), rev->crl_paths[i], cert, issuer, now, o,
				      why, why_size);
	pthread_mutex_lock(&rev->lock);
	for (size_t i = 0; !answered && i < rev->ndownloaded; i++) {
		char ignored[300];
		answered = crl_answer(rev->downloaded[i].crl, rev->downloaded[i].url, cert, issuer, now, o,
				      ignored, sizeof(ignored));
	}
	pthread_mutex_unlock(&rev->lock);
	return answered;
}

/* --- OCSP ------------------------------------------------------------------------------------- */

static struct rl_revocation_responder *responder_find(struct rl_revocation *rev, const char *url)
{
	for (size_t i = 0; i < rev->nresponders; i++)
		if (strcmp(rev->responders[i].url, url) == 0)
			return &rev->responders[i];
	if (rev->nresponders == RESPONDERS_MAX)
		return NULL;
	struct rl_revocation_responder *r = &rev->responders[rev->nresponders++];
	memset(r, 0, sizeof(*r));
	snprintf(r->url, sizeof(r->url), "%s", url);
	return r;
}

/* Whether the responder failed recently (then its last error is copied to why). Locked by the caller. */
static int responder_resting(struct rl_revocation *rev, const char *url, time_t now, char *why,
			     size_t why_size)
{
	struct rl_revocation_responder *r = responder_find(rev, url);

	if (!r || r->reachable || r->last_failure == 0 || now - r->last_failure >= RESPONDER_RETRY_AFTER)
		return 0;
	snprintf(why, why_size, "%s (%lds ago; not asked again before %lds have passed)", r->last_error,
		 (long)(now - r->last_failure), (long)RESPONDER_RETRY_AFTER);
	return 1;
}

static void responder_note(struct rl_revocation *rev, const char *url, time_t now, int asked, const char *error)
{
	pthread_mutex_lock(&rev->lock);
	struct rl_revocation_responder *r = responder_find(rev, url);
	if (r) {
		if (asked)
			r->requests++;
		if (error) {
			r->reachable = 0;
			r->last_failure = now;
			snprintf(r->last_error, sizeof(r->last_error), "%s", error);
		} else {
			r->reachable = 1;
			r->last_success = now;
			r->last_error[0] = '\0';
		}
	}
	pthread_mutex_unlock(&rev->lock);
}

/* POSTs the request, returns the parsed response or NULL with why filled. `asked` tells whether a
 * request went out (a malformed URL sends none). */
static OCSP_RESPONSE *ocsp_exchange(const char *url, OCSP_REQUEST *req, int timeout, int *asked, char *why,
				    size_t why_size)
{
	char *host = NULL, *port = NULL, *path = NULL, reason[200];
	BIO *req_bio = NULL, *resp_bio = NULL;
	OCSP_RESPONSE *resp = NULL;
	int use_ssl = 0;

	*asked = 0;
	if (OSSL_HTTP_parse_url(url, &use_ssl, NULL, &host, &port, NULL, &path, NULL, NULL) != 1) {
		ERR_clear_error();
		snprintf(why, why_size, "OCSP responder URL '%s' cannot be parsed", url);
		return NULL;
	}
	if (use_ssl) {
		snprintf(why, why_size, "OCSP responder %s: https is not supported for OCSP (use http)", url);
		goto out;
	}
	req_bio = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST), (const ASN1_VALUE *)req);
	if (!req_bio) {
		snprintf(why, why_size, "cannot encode the OCSP request");
		goto out;
	}
	*asked = 1;
	resp_bio = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL,
				      "application/ocsp-request", req_bio, "application/ocsp-response", 1,
				      OCSP_RESPONSE_MAX, timeout, 0);
	if (!resp_bio) {
		snprintf(why, why_size, "OCSP responder %s did not answer: %s", url,
			 openssl_reason(reason, sizeof(reason)));
		goto out;
	}
	resp = (OCSP_RESPONSE *)ASN1_item_d2i_bio(ASN1_ITEM_rptr(OCSP_RESPONSE), resp_bio, NULL);
	if (!resp)
		snprintf(why, why_size, "OCSP responder %s sent something that is not an OCSP response", url);
out:
	ERR_clear_error();
	BIO_free(req_bio);
	BIO_free(resp_bio);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	return resp;
}

/* 1 = answered, 0 = no answer (why filled). */
static int check_ocsp(struct rl_revocation *rev, const char *url, X509 *cert, X509 *issuer,
		      X509_STORE *anchors, STACK_OF(X509) *untrusted, time_t now,
		      struct rl_revocation_outcome *o, char *why, size_t why_size)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *basic = NULL;
	STACK_OF(X509) *verify_certs = NULL;
	ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
	int status, reason = -1, answered = 0, asked = 0, responder_ok = 0;
	char detail[200];

	if (!req || !id || !OCSP_request_add0_id(req, id)) {
		OCSP_CERTID_free(id);
		snprintf(why, why_size, "cannot build an OCSP request");
		goto out;
	}
	id = NULL;	/* now owned by the request; look it up again for the answer */
	if (OCSP_request_add1_nonce(req, NULL, -1) != 1) {
		snprintf(why, why_size, "cannot add a nonce to the OCSP request");
		goto out;
	}
	resp = ocsp_exchange(url, req, rev->timeout, &asked, why, why_size);
	if (!resp)
		goto out;
	status = OCSP_response_status(resp);
	if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		snprintf(why, why_size, "OCSP responder %s answered %s", url, OCSP_response_status_str(status));
		goto out;
	}
	if (!(basic = OCSP_response_get1_basic(resp))) {
		snprintf(why, why_size, "OCSP responder %s sent no basic response", url);
		goto out;
	}
	if (OCSP_check_nonce(req, basic) == 0) {
		snprintf(why, why_size, "OCSP responder %s answered with another nonce", url);
		goto out;
	}
	/* The responder's certificate may need the issuing CA and the bundle's intermediates. */
	verify_certs = untrusted ? sk_X509_dup(untrusted) : sk_X509_new_null();
	if (!verify_certs || !sk_X509_push(verify_certs, issuer)) {
		snprintf(why, why_size, "out of memory");
		goto out;
	}
	if (OCSP_basic_verify(basic, verify_certs, anchors, 0) != 1) {
		snprintf(why, why_size, "OCSP response from %s is not signed by the CA or a responder it "
			 "authorised: %s", url, openssl_reason(detail, sizeof(detail)));
		goto out;
	}
	/* From here on the responder works; what follows is about this certificate only. */
	responder_ok = 1;
	id = OCSP_cert_to_id(NULL, cert, issuer);
	if (!id || OCSP_resp_find_status(basic, id, &status, &reason, &revoked_at, &this_update,
					 &next_update) != 1) {
		snprintf(why, why_size, "OCSP response from %s does not speak of the certificate", url);
		goto out;
	}
	if (OCSP_check_validity(this_update, next_update, OCSP_CLOCK_SKEW, -1) != 1) {
		snprintf(why, why_size, "OCSP response from %s is not current", url);
		responder_ok = 0;
		goto out;
	}
	if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
		snprintf(why, why_size, "OCSP responder %s does not know the certificate", url);
		goto out;
	}
	snprintf(o->source, sizeof(o->source), "OCSP %s", url);
	o->checked_at = now;
	o->next_update = cache_until(now, asn1_to_time(next_update));
	if (status == V_OCSP_CERTSTATUS_REVOKED) {
		o->status = RL_REVOCATION_REVOKED;
		o->revoked_at = asn1_to_time(revoked_at);
		snprintf(o->reason, sizeof(o->reason), "%s", reason_name(reason < 0 ? 0 : reason));
	} else {
		o->status = RL_REVOCATION_GOOD;
	}
	answered = 1;
out:
	ERR_clear_error();
	responder_note(rev, url, now, asked, responder_ok ? NULL : why);
	sk_X509_free(verify_certs);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	return answered;
}

/* --- CRL distribution points ------------------------------------------------------------------ */

/* Keeps a downloaded CRL for its URL (replacing an older one; the oldest goes when full). Locked. */
static void keep_downloaded(struct rl_revocation *rev, const char *url, X509_CRL *crl)
{
	struct downloaded_crl *slot = NULL;

	for (size_t i = 0; i < rev->ndownloaded && !slot; i++)
		if (strcmp(rev->downloaded[i].url, url) == 0)
			slot = &rev->downloaded[i];
	if (!slot && rev->ndownloaded < DOWNLOADED_CRLS_MAX)
		slot = &rev->downloaded[rev->ndownloaded++];
	if (!slot) {
		memmove(&rev->downloaded[0], &rev->downloaded[1],
			(DOWNLOADED_CRLS_MAX - 1) * sizeof(rev->downloaded[0]));
		slot = &rev->downloaded[DOWNLOADED_CRLS_MAX - 1];
		slot->crl = NULL;
	}
	X509_CRL_free(slot->crl);
	snprintf(slot->url, sizeof(slot->url), "%s", url);
	slot->crl = crl;
}

/* Fetches the CRL the certificate names and answers from it. 1 = answered, 0 = no answer (why filled). */
static int check_crl_download(struct rl_revocation *rev, const char *url, X509 *cert, X509 *issuer, time_t now,
			      struct rl_revocation_outcome *o, char *why, size_t why_size)
{
	char reason[200];
	X509_CRL *crl = NULL;
	BIO *body;
	int answered = 0;

	/* A distribution point serves one DER CRL (RFC 5280 4.2.1.13); it is read whole. */
	body = OSSL_HTTP_get(url, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 1, CRL_FILE_MAX,
			     rev->timeout);
	if (!body) {
		snprintf(why, why_size, "CRL distribution point %s did not answer: %s", url,
			 openssl_reason(reason, sizeof(reason)));
		goto out;
	}
	crl = d2i_X509_CRL_bio(body, NULL);
	if (!crl) {
		snprintf(why, why_size, "CRL distribution point %s sent something that is not a DER CRL", url);
		goto out;
	}
	answered = crl_answer(crl, url, cert, issuer, now, o, why, why_size);
	if (!answered && why[0] == '\0')
		snprintf(why, why_size, "the CRL from %s is not issued by the certificate's CA", url);
out:
	ERR_clear_error();
	BIO_free(body);
	pthread_mutex_lock(&rev->lock);
	if (answered) {
		keep_downloaded(rev, url, crl);
		crl = NULL;
	}
	pthread_mutex_unlock(&rev->lock);
	X509_CRL_free(crl);
	responder_note(rev, url, now, 1, answered ? NULL : why);
	return answered;
}

/* --- the cache -------------------------------------------------------------------------------- */

/* Locked by the caller. */
static struct cache_entry *cache_find(struct rl_revocation *rev, const unsigned char *fingerprint)
{
	for (size_t i = 0; i < rev->nentries; i++)
		if (memcmp(rev->entries[i].fingerprint, fingerprint, 32) == 0)
			return &rev->entries[i];
	return NULL;
}

/* Records an outcome (locked by the caller). When the cache is full the oldest outcome goes. */
static void cache_store(struct rl_revocation *rev, const unsigned char *fingerprint,
			struct rl_revocation_outcome *o)
{
	struct cache_entry *e = cache_find(rev, fingerprint);

	o->sequence = ++rev->sequence;
	if (!e && rev->nentries == rev->cap && rev->cap < CACHE_MAX_ENTRIES) {
		size_t cap = rev->cap ? rev->cap * 2 : 16;
		struct cache_entry *grown = realloc(rev->entries, cap * sizeof(*grown));
		if (grown) {
			rev->entries = grown;
			rev->cap = cap;
		}
	}
	if (!e && rev->nentries < rev->cap) {
		e = &rev->entries[rev->nentries++];
	} else if (!e) {
		if (rev->nentries == 0)
			return;
		e = &rev->entries[0];
		for (size_t i = 1; i < rev->nentries; i++)
			if (rev->entries[i].outcome.sequence < e->outcome.sequence)
				e = &rev->entries[i];
	}
	memcpy(e->fingerprint, fingerprint, 32);
	e->outcome = *o;
}

/* --- the check -------------------------------------------------------------------------------- */

/* Appends "; reason" (or the reason when why is empty). */
static void add_reason(char *why, size_t size, const char *reason)
{
	size_t len = strlen(why);

	if (len == 0)
		snprintf(why, size, "%s", reason);
	else if (len < size)
		snprintf(why + len, size - len, "; %s", reason);
}

typedef int (*ocsp_fn)(struct rl_revocation *, const char *, X509 *, X509 *, X509_STORE *, STACK_OF(X509) *,
		       time_t, struct rl_revocation_outcome *, char *, size_t);

/* Asks one network source (OCSP when `ocsp` is given, else a CRL distribution point) unless it failed
 * recently; the reason of a failure is added to why. */
static int ask(struct rl_revocation *rev, const char *url, ocsp_fn ocsp, X509 *cert, X509 *issuer,
	       X509_STORE *anchors, STACK_OF(X509) *untrusted, time_t now, struct rl_revocation_outcome *o,
	       char *why, size_t why_size)
{
	char problem[300] = "";
	int answered = 0, resting;

	pthread_mutex_lock(&rev->lock);
	resting = responder_resting(rev, url, now, problem, sizeof(problem));
	pthread_mutex_unlock(&rev->lock);
	if (!resting)
		answered = ocsp ? ocsp(rev, url, cert, issuer, anchors, untrusted, now, o, problem, sizeof(problem))
				: check_crl_download(rev, url, cert, issuer, now, o, problem, sizeof(problem));
	if (!answered)
		add_reason(why, why_size, problem);
	return answered;
}

static int verdict(const struct rl_revocation *rev, const struct rl_revocation_outcome *o, time_t at,
		   struct rl_err *err)
{
	char date[48];

	if (o->status == RL_REVOCATION_REVOKED && (at == 0 || o->revoked_at <= at)) {
		format_day(o->revoked_at, date, sizeof(date));
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "certificate CN=%s was revoked on %s (%s)",
				  o->subject_cn, date, o->reason);
	}
	if (o->status == RL_REVOCATION_UNKNOWN && rev->policy == RL_REVOCATION_HARD)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
				  "could not check revocation of certificate CN=%s: %s", o->subject_cn, o->problem);
	return 0;
}

/* The check of a certificate (is_ca: a CA of a chain, see rl_revocation_check_ca). */
static int check(struct rl_revocation *rev, X509 *cert, X509 *issuer, X509_STORE *anchors,
		 STACK_OF(X509) *untrusted, time_t at, int is_ca, struct rl_revocation_outcome *outcome,
		 struct rl_err *err)
{
	struct rl_revocation_outcome o;
	unsigned char fingerprint[32];
	unsigned int fp_len = 0;
	time_t now = time(NULL);
	char why[600] = "";
	char *url = NULL, *crl_url = NULL;
	int answered = 0, has_source = 0;

	memset(&o, 0, sizeof(o));
	if (!rev || rev->policy == RL_REVOCATION_OFF || !cert)
		return 0;
	rl_cert_cn(cert, o.subject_cn, sizeof(o.subject_cn));
	char *serial = rl_cert_serial_dec(cert);
	snprintf(o.serial, sizeof(o.serial), "%s", serial ? serial : "?");
	free(serial);
	if (X509_digest(cert, EVP_sha256(), fingerprint, &fp_len) != 1 || fp_len != 32)
		return rl_err_set(err, RL_ERR_CRYPTO, "cannot fingerprint certificate CN=%s", o.subject_cn);

	pthread_mutex_lock(&rev->lock);
	struct cache_entry *cached = cache_find(rev, fingerprint);
	if (cached && cached->outcome.status != RL_REVOCATION_UNKNOWN && now < cached->outcome.next_update) {
		o = cached->outcome;
		cache_store(rev, fingerprint, &o);	/* newest again for the status page */
		pthread_mutex_unlock(&rev->lock);
		if (outcome)
			*outcome = o;
		return verdict(rev, &o, at, err);
	}
	pthread_mutex_unlock(&rev->lock);

	if (!issuer) {
		snprintf(why, sizeof(why), "its issuer is not known (the certificate is itself a trust anchor)");
	} else {
		answered = check_crls(rev, cert, issuer, now, &o, why, sizeof(why));
		/* A CA's status comes from its own issuer: the responder configured for the AP CA's
		 * certificates is not asked about it. A CRL of its issuer that could not answer has left
		 * a reason in why. */
		has_source = answered || why[0] != '\0';
		if (!answered) {
			url = rev->ocsp_url && !is_ca ? strdup(rev->ocsp_url) : rl_cert_ocsp_url(cert);
			if (url)
				answered = ask(rev, url, check_ocsp, cert, issuer, anchors, untrusted, now, &o,
					       why, sizeof(why));
		}
		if (!answered && rev->crl_download) {
			crl_url = rl_cert_crl_url(cert);
			if (crl_url)
				answered = ask(rev, crl_url, NULL, cert, issuer, anchors, untrusted, now, &o,
					       why, sizeof(why));
		}
		if (url || crl_url)
			has_source = 1;
		if (is_ca && !has_source) {
			/* Nothing publishes this CA's status: it stands on its validity, like an anchor. */
			free(url);
			free(crl_url);
			return 0;
		}
		if (!answered && !url && !crl_url)
			add_reason(why, sizeof(why), rev->crl_download ?
				   "no CRL of its issuer is configured and it names no OCSP responder or CRL "
				   "distribution point" :
				   "no CRL of its issuer is configured and it names no OCSP responder");
	}
	if (!answered) {
		o.status = RL_REVOCATION_UNKNOWN;
		o.checked_at = now;
		o.next_update = 0;
		snprintf(o.problem, sizeof(o.problem), "%s", why);
		snprintf(o.source, sizeof(o.source), "%s%s", url ? "OCSP " : "", url ? url : "");
	}
	free(url);
	free(crl_url);
	pthread_mutex_lock(&rev->lock);
	cache_store(rev, fingerprint, &o);
	pthread_mutex_unlock(&rev->lock);
	if (outcome)
		*outcome = o;
	return verdict(rev, &o, at, err);
}

int rl_revocation_check(struct rl_revocation *rev, X509 *cert, X509 *issuer, X509_STORE *anchors,
			STACK_OF(X509) *untrusted, time_t at, struct rl_revocation_outcome *outcome,
			struct rl_err *err)
{
	return check(rev, cert, issuer, anchors, untrusted, at, 0, outcome, err);
}

int rl_revocation_check_ca(struct rl_revocation *rev, X509 *ca, X509 *issuer, X509_STORE *anchors,
			   STACK_OF(X509) *untrusted, time_t at, struct rl_err *err)
{
	return check(rev, ca, issuer, anchors, untrusted, at, 1, NULL, err);
}

/* --- reports ---------------------------------------------------------------------------------- */

static int by_sequence_desc(const void *a, const void *b)
{
	const struct rl_revocation_outcome *x = a, *y = b;

	return x->sequence < y->sequence ? 1 : x->sequence > y->sequence ? -1 : 0;
}

static int by_sequence_asc(const void *a, const void *b)
{
	return by_sequence_desc(b, a);
}

/* Copies the outcomes newer than `since`, sorted, at most max. */
static size_t collect(struct rl_revocation *rev, unsigned long since, int newest_first,
		      struct rl_revocation_outcome *out, size_t max)
{
	struct rl_revocation_outcome *all;
	size_t n = 0;

	if (!rev || max == 0)
		return 0;
	pthread_mutex_lock(&rev->lock);
	all = malloc((rev->nentries ? rev->nentries : 1) * sizeof(*all));
	for (size_t i = 0; all && i < rev->nentries; i++)
		if (rev->entries[i].outcome.sequence > since)
			all[n++] = rev->entries[i].outcome;
	pthread_mutex_unlock(&rev->lock);
	if (!all)
		return 0;
	qsort(all, n, sizeof(*all), newest_first ? by_sequence_desc : by_sequence_asc);
	if (n > max)
		n = max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}

size_t rl_revocation_outcomes(struct rl_revocation *rev, struct rl_revocation_outcome *out, size_t max)
{
	return collect(rev, 0, 1, out, max);
}

size_t rl_revocation_outcomes_since(struct rl_revocation *rev, unsigned long sequence,
				    struct rl_revocation_outcome *out, size_t max)
{
	return collect(rev, sequence, 0, out, max);
}

int rl_revocation_outcome_of(struct rl_revocation *rev, X509 *cert, unsigned long sequence,
			     struct rl_revocation_outcome *out)
{
	unsigned char fingerprint[32];
	unsigned int fp_len = 0;
	struct cache_entry *e;
	int found = 0;

	if (!rev || !cert || X509_digest(cert, EVP_sha256(), fingerprint, &fp_len) != 1 || fp_len != 32)
		return 0;
	pthread_mutex_lock(&rev->lock);
	e = cache_find(rev, fingerprint);
	if (e && e->outcome.sequence > sequence) {
		*out = e->outcome;
		found = 1;
	}
	pthread_mutex_unlock(&rev->lock);
	return found;
}

size_t rl_revocation_crls(struct rl_revocation *rev, struct rl_revocation_crl *out, size_t max)
{
	size_t n = 0;

	if (!rev || !rev->crls)
		return 0;
	for (int i = 0; i < sk_X509_CRL_num(rev->crls) && n < max; i++, n++) {
		X509_CRL *crl = sk_X509_CRL_value(rev->crls, i);
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
		X509_NAME *issuer = X509_CRL_get_issuer(crl);

		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].file, sizeof(out[n].file), "%s", rev->crl_paths[i]);
		if (issuer == NULL || X509_NAME_get_text_by_NID(issuer, NID_commonName, out[n].issuer_cn,
								 (int)sizeof(out[n].issuer_cn)) < 0)
			out[n].issuer_cn[0] = '\0';
		out[n].next_update = next ? asn1_to_time(next) : 0;
	}
	return n;
}

unsigned long rl_revocation_sequence(struct rl_revocation *rev)
{
	unsigned long s;

	if (!rev)
		return 0;
	pthread_mutex_lock(&rev->lock);
	s = rev->sequence;
	pthread_mutex_unlock(&rev->lock);
	return s;
}

size_t rl_revocation_responders(struct rl_revocation *rev, struct rl_revocation_responder *out, size_t max)
{
	size_t n;

	if (!rev)
		return 0;
	pthread_mutex_lock(&rev->lock);
	n = rev->nresponders < max ? rev->nresponders : max;
	memcpy(out, rev->responders, n * sizeof(*out));
	pthread_mutex_unlock(&rev->lock);
	return n;
}
