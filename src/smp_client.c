/*
 * smp_client.c - HTTP requests to an SMP (http_client.h) and the checks on what comes back: signature, the
 * identifiers echoed, one redirect at most. See include/relais/smp_client.h.
 */
#include "config.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relais/curl_lazy.h"
#include "relais/http_client.h"
#include "relais/smp_client.h"
#include "relais/xml.h"

void rl_explain(const struct rl_smp_client *c, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!c || !c->explain)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->explain(c->explain_arg, line);
}

/* Adds "host:port:addr" to *resolve when c->dns is set and host is a name. */
static int resolve_through_dns(const struct rl_smp_client *c, const char *url, struct curl_slist **resolve,
			       struct rl_err *err)
{
	CURLU *u;
	char *host = NULL, *port = NULL, entry[1200];
	struct rl_dns_host found;
	unsigned char addr[16];
	int rc = -1;

	if (rl_curl_load(err) < 0)
		return -1;
	u = rl_curl.url();
	if (!u)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (rl_curl.url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    rl_curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    rl_curl.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP URL \"%.300s\" is not a valid URL", url);
		goto out;
	}
	if (!c->dns || inet_pton(AF_INET, host, addr) == 1 || host[0] == '[') {
		rc = 0;
		goto out;
	}
	if (rl_dns_host(c->dns, host, &found, err) < 0) {
		if (err->code == RL_ERR_NOT_FOUND)
			err->code = RL_ERR_NETWORK;
		rl_err_prefix(err, "SMP host");
		goto out;
	}
	rl_explain(c, "DNS: SMP host %s%s%s -> %s (from %s)", host, found.cname[0] ? " CNAME " : "", found.cname,
		   found.addr[0], rl_dns_server(c->dns));
	if (strchr(found.addr[0], ':'))
		snprintf(entry, sizeof(entry), "%s:%s:[%s]", host, port, found.addr[0]);
	else
		snprintf(entry, sizeof(entry), "%s:%s:%s", host, port, found.addr[0]);
	*resolve = rl_curl.slist_append(NULL, entry);
	rc = *resolve ? 0 : rl_err_set(err, RL_ERR_NOMEM, "out of memory");
out:
	rl_curl.free(host);
	rl_curl.free(port);
	rl_curl.url_cleanup(u);
	return rc;
}

int rl_smp_http_get(const struct rl_smp_client *c, const char *url, struct rl_buf *body, long *status,
		    struct rl_err *err)
{
	static const char *const accept[] = { "Accept: application/xml, text/xml", NULL };
	struct rl_http_result res = RL_HTTP_RESULT_INIT;
	struct curl_slist *resolve = NULL;
	const char *resolve_list[2] = { NULL, NULL };
	/* SMP 1.0 is plain http by specification: its answers are trusted for their signature. */
	struct rl_http_client_opts o = {
		.insecure_plain_http_ok = 1,
		.connect_timeout = c->timeout > 0 ? c->timeout : 30,
		.timeout = c->timeout > 0 ? c->timeout : 30,
		.resolve = resolve_list,
	};
	struct rl_http_client *http;
	int rc;

	*status = 0;
	rl_buf_reset(body);
	if (resolve_through_dns(c, url, &resolve, err) < 0)
		return -1;
	if (resolve)
		resolve_list[0] = resolve->data;
	http = rl_http_client_new(&o, err);
	rl_curl.slist_free_all(resolve);
	if (!http)
		return -1;
	rc = rl_http_get(http, url, accept, RL_SMP_RESPONSE_MAX, &res, err);
	rl_http_client_free(http);
	if (rc < 0) {
		if (err->code == RL_ERR_USAGE)
			err->code = RL_ERR_BAD_RESPONSE;
		rl_http_result_free(&res);
		return -1;
	}
	*status = res.status;
	rl_buf_free(body);
	*body = res.body;
	res.body = (struct rl_buf)RL_BUF_INIT;
	rl_http_result_free(&res);
	return 0;
}

/* GET with the status turned into an error unless 200. what names the document in messages. */
static int get_ok(const struct rl_smp_client *c, const char *url, const char *what, struct rl_buf *body,
		  struct rl_err *err)
{
	long status;

	rl_explain(c, "HTTP: GET %s", url);
	if (rl_smp_http_get(c, url, body, &status, err) < 0) {
		rl_explain(c, "HTTP: failed: %s", err->msg);
		return -1;
	}
	rl_explain(c, "HTTP: status %ld, %zu bytes", status, body->len);
	if (status == 200)
		return 0;
	if (status == 404)
		return rl_err_set(err, RL_ERR_NOT_FOUND, "SMP has no %s (HTTP 404 from %.300s)", what, url);
	if (status >= 500)
		return rl_err_set(err, RL_ERR_NETWORK, "SMP failed with HTTP %ld for %.300s", status, url);
	return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP answered HTTP %ld for %.300s", status, url);
}

const char *rl_smp_api_name(enum rl_smp_api api)
{
	return api == RL_SMP_API_2 ? "SMP 2.0" : "SMP 1.x";
}

/* smp_url without trailing '/', then "/", the SMP 2.0 path segment when api says so, and the encoded
 * identifiers. */
int rl_smp_url(struct rl_buf *out, const char *smp_url, enum rl_smp_api api, const struct rl_peppol_id *participant,
	       const struct rl_peppol_id *doctype)
{
	size_t n = strlen(smp_url);

	while (n > 0 && smp_url[n - 1] == '/')
		n--;
	if (rl_buf_append(out, smp_url, n) < 0 || rl_buf_puts(out, "/") < 0)
		return -1;
	if (api == RL_SMP_API_2 && rl_buf_puts(out, RL_SMP2_PATH_SEGMENT "/") < 0)
		return -1;
	if (rl_peppol_id_uri_encoded(participant, out) < 0)
		return -1;
	if (doctype && (rl_buf_puts(out, "/services/") < 0 || rl_peppol_id_uri_encoded(doctype, out) < 0))
		return -1;
	return 0;
}

static int same_participant(const struct rl_peppol_id *want, const char *scheme, const char *value)
{
	return strcasecmp(want->scheme, scheme) == 0 && strcasecmp(want->value, value) == 0;
}

/* Checks the signature of an SMP document against the SMP trust anchors, saying so in the explanation;
 * fills sig (the caller frees it). */
static int verify_signed(const struct rl_smp_client *c, xmlDocPtr doc, struct rl_smp_signature *sig,
			 struct rl_err *err)
{
	char cn[256];

	if (!c->anchors)
		return rl_err_set(err, RL_ERR_CONFIG, "no SMP trust anchors configured (trust.smp_anchors)");
	if (rl_smp_verify(doc, c->anchors, c->at, sig, err) < 0) {
		rl_explain(c, "signature: refused: %s", err->msg);
		return -1;
	}
	rl_explain(c, "signature: valid (%s), signer %s, chains to the SMP anchors", sig->algorithms,
		   rl_cert_cn(sig->signer, cn, sizeof(cn)));
	if (sig->count > 1)
		rl_explain(c, "signature: the SMP's is signature %d of %d; the others are content it signed, not checked",
			   sig->index, sig->count);
	return 0;
}

/* Nothing is read from a signed SMP document before its signature is found good: verify_signed, then the
 * document read into metadata, or into group when metadata is NULL. sig (may be NULL) gets the signature,
 * which is freed again when either step fails. */
static int verify_then_parse(const struct rl_smp_client *c, xmlDocPtr doc, struct rl_smp_metadata *metadata,
			     struct rl_smp_service_group *group, struct rl_smp_signature *sig, struct rl_err *err)
{
	struct rl_smp_signature local = { 0 };
	int rc = -1;

	if (!sig)
		sig = &local;
	if (verify_signed(c, doc, sig, err) == 0 &&
	    (metadata ? rl_smp_parse_metadata(doc, metadata, err) : rl_smp_parse_service_group(doc, group, err)) == 0)
		rc = 0;
	if (rc < 0 || sig == &local)
		rl_smp_signature_free(sig);
	return rc;
}

int rl_smp_read_service_group(const struct rl_smp_client *c, xmlDocPtr doc, struct rl_smp_service_group *out,
			      struct rl_smp_signature *sig, struct rl_err *err)
{
	memset(out, 0, sizeof(*out));
	if (sig)
		memset(sig, 0, sizeof(*sig));
	if (!rl_smp_is_signed(doc)) {
		rl_explain(c, "signature: none (an unsigned ServiceGroup is read as it is)");
		return rl_smp_parse_service_group(doc, out, err);
	}
	return verify_then_parse(c, doc, NULL, out, sig, err);
}

int rl_smp_fetch_service_group(const struct rl_smp_client *c, const char *smp_url,
			       const struct rl_peppol_id *participant, struct rl_smp_service_group *out,
			       struct rl_err *err)
{
	struct rl_buf url = RL_BUF_INIT, body = RL_BUF_INIT;
	xmlDocPtr doc = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (rl_smp_url(&url, smp_url, c->api, participant, NULL) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (get_ok(c, url.data, "ServiceGroup for this participant", &body, err) < 0)
		goto out;
	doc = rl_xml_parse(body.data, body.len, RL_ERR_BAD_RESPONSE, "SMP ServiceGroup", err);
	if (!doc || rl_smp_read_service_group(c, doc, out, NULL, err) < 0)
		goto out;
	if (!same_participant(participant, out->participant_scheme, out->participant_value)) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP ServiceGroup is for %s::%s, not the participant asked for",
			   out->participant_scheme, out->participant_value);
		rl_smp_service_group_free(out);
		goto out;
	}
	rl_explain(c, "SMP: %s ServiceGroup with %zu document type(s)", rl_smp_flavour_name(out->flavour),
		   out->count);
	rc = 0;
out:
	xmlFreeDoc(doc);
	rl_buf_free(&url);
	rl_buf_free(&body);
	return rc;
}

int rl_smp_read_metadata(const struct rl_smp_client *c, const char *data, size_t len,
			 struct rl_smp_metadata *out, struct rl_smp_signature *sig, struct rl_err *err)
{
	xmlDocPtr doc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sig)
		memset(sig, 0, sizeof(*sig));
	doc = rl_xml_parse(data, len, RL_ERR_BAD_RESPONSE, "SMP ServiceMetadata", err);
	if (!doc)
		return -1;
	/* A document that is no SMP response at all is reported as such; otherwise nothing is read from
	 * it before its signature is found good. */
	if (!rl_smp_is_metadata(doc)) {
		xmlNodePtr root = xmlDocGetRootElement(doc);

		rc = rl_err_set(err, RL_ERR_BAD_RESPONSE, "not an SMP ServiceMetadata document (root element %s)",
				root ? (const char *)root->name : "missing");
	} else {
		rc = verify_then_parse(c, doc, out, NULL, sig, err);
	}
	xmlFreeDoc(doc);
	return rc;
}

/* Checks that a redirect's target was signed by the certificate the redirect named. */
static int redirect_signer_ok(const struct rl_smp_metadata *redirect, X509 *signer, struct rl_err *err)
{
	char *subject;

	if (!redirect->redirect_cert && !redirect->redirect_cert_uid)
		return rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION, "SMP redirect names no certificate for its target");
	if (redirect->redirect_cert ? rl_cert_equal(redirect->redirect_cert, signer)
				    : rl_smp_cert_uid_matches(signer, redirect->redirect_cert_uid))
		return 0;
	subject = rl_cert_subject(signer);
	rl_err_set(err, RL_EBMS_FAILED_AUTHENTICATION,
		   "SMP redirect target is signed by %s, not by the certificate the redirect names (%s)",
		   subject ? subject : "?", redirect->redirect_cert_uid ? redirect->redirect_cert_uid : "Certificate");
	free(subject);
	return -1;
}

int rl_smp_fetch_metadata(const struct rl_smp_client *c, const char *smp_url,
			  const struct rl_peppol_id *participant, const struct rl_peppol_id *doctype,
			  struct rl_smp_metadata *out, struct rl_smp_signature *sig, struct rl_err *err)
{
	struct rl_buf url = RL_BUF_INIT, body = RL_BUF_INIT;
	struct rl_smp_metadata first = { 0 };
	struct rl_smp_signature local = { 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!sig)
		sig = &local;
	if (rl_smp_url(&url, smp_url, c->api, participant, doctype) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (get_ok(c, url.data, "ServiceMetadata for this participant and document type", &body, err) < 0 ||
	    rl_smp_read_metadata(c, body.data, body.len, out, sig, err) < 0)
		goto out;
	if (out->redirect_url) {
		rl_explain(c, "SMP: redirect to %s (signer must be %s)", out->redirect_url,
			   out->redirect_cert_uid ? out->redirect_cert_uid : "the certificate given");
		first = *out;
		memset(out, 0, sizeof(*out));
		rl_smp_signature_free(sig);
		if (get_ok(c, first.redirect_url, "ServiceMetadata at the redirect target", &body, err) < 0 ||
		    rl_smp_read_metadata(c, body.data, body.len, out, sig, err) < 0) {
			rl_err_prefix(err, "after SMP redirect");
			goto out;
		}
		if (redirect_signer_ok(&first, sig->signer, err) < 0)
			goto fail;
		if (out->redirect_url) {
			rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP redirect target redirects again (to %.300s); one is followed",
				   out->redirect_url);
			goto fail;
		}
	}
	if (!same_participant(participant, out->participant_scheme, out->participant_value)) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP ServiceMetadata is for participant %s::%s, not the one asked for",
			   out->participant_scheme, out->participant_value);
		goto fail;
	}
	if (strcmp(doctype->scheme, out->doctype_scheme) != 0 || strcmp(doctype->value, out->doctype_value) != 0) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE,
			   "SMP ServiceMetadata is for document type %s::%.300s, not the one asked for",
			   out->doctype_scheme, out->doctype_value);
		goto fail;
	}
	rc = 0;
	goto out;
fail:
	rl_smp_metadata_free(out);
out:
	rl_smp_metadata_free(&first);
	if (rc < 0 || sig == &local)
		rl_smp_signature_free(sig);
	rl_buf_free(&url);
	rl_buf_free(&body);
	return rc;
}
