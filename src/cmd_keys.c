/*
 * cmd_keys.c - `relais keys`: our configured certificates (list) and any certificate against the trust
 * anchors with revocation (check).
 */
#include "config.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <openssl/x509v3.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/keys.h"
#include "relais/keys_config.h"
#include "relais/revocation.h"
#include "commands.h"

#define EXPIRY_WARNING_DAYS 30
#define SETS_MAX 64
#define DAY_SECONDS 86400

static int run_keys(int argc, char **argv);

const struct rl_command rl_cmd_keys = {
	.name = "keys",
	.summary = "list our certificates, check certificates against the trust anchors",
	.usage =
		"usage: relais keys list -c FILE [--set section.key=value ...] [--check-revocation]\n"
		"                        [--json] [--at TIME]\n"
		"       relais keys check -c FILE [--set section.key=value ...] [--at TIME] CERT.pem...\n"
		"\n"
		"list: each configured certificate (identity, and identity.next during a rollover) with\n"
		"its subject, issuer, serial, validity, days to expiry, key usage, which one signs now, and\n"
		"its chain to trust.anchors, element by element. --check-revocation also asks the CRLs and\n"
		"OCSP responders as trust.revocation says. A certificate that expires within 30 days, has\n"
		"expired, is revoked or does not chain gets a \"warning:\" line on stderr. Exit status 1\n"
		"when the certificate that signs now is expired, revoked or untrusted.\n"
		"\n"
		"check: verifies each certificate file (a leaf, optionally followed by its chain) against\n"
		"trust.anchors and checks its revocation as the configuration says (a certificate named\n"
		"twice is asked about once: answers are cached until their nextUpdate), then prints what\n"
		"is known of each OCSP responder. Exit status 1 when any certificate is refused.\n"
		"\n"
		"  -c, --config FILE     the configuration file (see relais.conf(5))\n"
		"  --set section.key=value  override one key (repeatable)\n"
		"  --check-revocation    list: check revocation too\n"
		"  --json                list: one JSON object on stdout\n"
		"  --at TIME             act at TIME (xs:dateTime) instead of now\n",
	.run = run_keys,
};

enum { OPT_SET = 256, OPT_JSON, OPT_REVOCATION, OPT_AT, OPT_HELP };

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, OPT_SET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "check-revocation", no_argument, NULL, OPT_REVOCATION },
	{ "at", required_argument, NULL, OPT_AT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct keys_args {
	const char *config_path;
	char *sets[SETS_MAX];
	int nsets;
	int json, check_revocation;
	time_t now;
	char **files;
	int nfiles;
};

/* What `keys list` learnt about one certificate. */
struct cert_report {
	const char *role;		/* "identity", "identity.next" */
	X509 *cert;
	int signing;
	int trusted;			/* -1 = not checked (no anchors) */
	char trust_error[RL_ERR_MSG_MAX];
	STACK_OF(X509) *chain;
	int revocation_checked;
	const char *revocation_skipped;	/* why it was not checked, when it was not */
	struct rl_revocation_outcome revocation;
	char revocation_error[RL_ERR_MSG_MAX];
};

static void format_time(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "unknown");
}

static long days_left(X509 *cert, time_t now)
{
	time_t end = rl_cert_not_after(cert);

	if (end < now)
		return -(long)((now - end + DAY_SECONDS - 1) / DAY_SECONDS);
	return (long)((end - now) / DAY_SECONDS);
}

/* Key usage and extended key usage names, comma separated. */
static void key_usage_names(X509 *cert, char *ku, size_t ku_size, char *eku, size_t eku_size)
{
	static const struct { unsigned bit; const char *name; } kus[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" }, { KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" }, { KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" }, { KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
	}, ekus[] = {
		{ XKU_SSL_SERVER, "serverAuth" }, { XKU_SSL_CLIENT, "clientAuth" },
		{ XKU_SMIME, "emailProtection" }, { XKU_CODE_SIGN, "codeSigning" },
		{ XKU_OCSP_SIGN, "OCSPSigning" }, { XKU_TIMESTAMP, "timeStamping" },
	};
	uint32_t ku_bits = X509_get_key_usage(cert), eku_bits = X509_get_extended_key_usage(cert);

	ku[0] = eku[0] = '\0';
	for (size_t i = 0; i < sizeof(kus) / sizeof(kus[0]); i++)
		if (ku_bits != UINT32_MAX && (ku_bits & kus[i].bit))
			snprintf(ku + strlen(ku), ku_size - strlen(ku), "%s%s", ku[0] ? "," : "", kus[i].name);
	for (size_t i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++)
		if (eku_bits != UINT32_MAX && (eku_bits & ekus[i].bit))
			snprintf(eku + strlen(eku), eku_size - strlen(eku), "%s%s", eku[0] ? "," : "", ekus[i].name);
}

static void warn(json_t *warnings, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(json_t *warnings, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "warning: %s\n", line);
	if (warnings)
		json_array_append_new(warnings, json_string(line));
}

/* Chain and revocation of one of our certificates. */
static void examine(struct cert_report *r, const struct rl_identity *id, const struct rl_trust *plain,
		    const struct rl_trust *checked, time_t now)
{
	struct rl_err err;

	r->trusted = -1;
	if (!plain)
		return;
	if (rl_trust_verify_chain(plain, id->cert, id->chain, now, &r->chain, &err) < 0) {
		r->trusted = 0;
		snprintf(r->trust_error, sizeof(r->trust_error), "%s", err.msg);
		return;
	}
	r->trusted = 1;
	r->revocation_skipped = "--check-revocation";
	if (!checked)
		return;
	r->revocation_skipped = "trust.revocation = off";
	unsigned long since = rl_revocation_sequence(rl_trust_revocation(checked));
	if (rl_trust_verify(checked, id->cert, id->chain, now, &err) < 0)
		snprintf(r->revocation_error, sizeof(r->revocation_error), "%s", err.msg);
	/* Not recorded when the check stopped at a revoked CA of the chain (revocation_error says so). */
	r->revocation_checked = rl_revocation_outcome_of(rl_trust_revocation(checked), id->cert, since,
							 &r->revocation);
}

static void print_text(const struct cert_report *r, time_t now)
{
	char *subject = rl_cert_subject(r->cert), *issuer = rl_cert_issuer(r->cert);
	char *serial = rl_cert_serial_dec(r->cert);
	char from[32], until[32], ku[256], eku[256], date[32];

	format_time(rl_cert_not_before(r->cert), from, sizeof(from));
	format_time(rl_cert_not_after(r->cert), until, sizeof(until));
	key_usage_names(r->cert, ku, sizeof(ku), eku, sizeof(eku));
	printf("%s:%s\n", r->role, r->signing ? " (signs now)" : "");
	printf("  subject:    %s\n", subject ? subject : "?");
	printf("  issuer:     %s\n", issuer ? issuer : "?");
	printf("  serial:     %s\n", serial ? serial : "?");
	printf("  valid:      %s .. %s\n", from, until);
	printf("  expires in: %ld days\n", days_left(r->cert, now));
	printf("  key usage:  %s%s%s\n", ku[0] ? ku : "(none)", eku[0] ? "; extended: " : "", eku);
	if (r->trusted < 0) {
		printf("  chain:      not checked (trust.anchors is not set)\n");
	} else if (!r->trusted) {
		printf("  chain:      refused: %s\n", r->trust_error);
	} else {
		printf("  chain:\n");
		for (int i = 0; i < sk_X509_num(r->chain); i++) {
			X509 *element = sk_X509_value(r->chain, i);
			char *name = rl_cert_subject(element);
			format_time(rl_cert_not_after(element), date, sizeof(date));
			printf("    %d. %s (until %s)%s\n", i, name ? name : "?", date,
			       i == sk_X509_num(r->chain) - 1 ? " [anchor]" : "");
			free(name);
		}
	}
	if (r->revocation_checked) {
		const struct rl_revocation_outcome *o = &r->revocation;
		format_time(o->status == RL_REVOCATION_REVOKED ? o->revoked_at : o->next_update, date,
			    sizeof(date));
		if (o->status == RL_REVOCATION_GOOD)
			printf("  revocation: good (%s; cached until %s)\n", o->source, date);
		else if (o->status == RL_REVOCATION_REVOKED)
			printf("  revocation: revoked on %s (%s; %s)\n", date, o->reason, o->source);
		else
			printf("  revocation: unknown (%s)\n", o->problem);
	} else if (r->trusted > 0 && !r->revocation_error[0]) {
		printf("  revocation: not checked (%s)\n", r->revocation_skipped);
	}
	free(subject);
	free(issuer);
	free(serial);
}

static json_t *json_text(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *report_json(const struct cert_report *r, time_t now)
{
	char *subject = rl_cert_subject(r->cert), *issuer = rl_cert_issuer(r->cert);
	char *serial = rl_cert_serial_dec(r->cert);
	char from[32], until[32], ku[256], eku[256], date[32];
	json_t *o = json_object(), *chain = json_array(), *kus = json_array(), *ekus = json_array();
	json_t *rev = json_null();

	format_time(rl_cert_not_before(r->cert), from, sizeof(from));
	format_time(rl_cert_not_after(r->cert), until, sizeof(until));
	key_usage_names(r->cert, ku, sizeof(ku), eku, sizeof(eku));
	for (char *save = NULL, *p = strtok_r(ku, ",", &save); p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(kus, json_string(p));
	for (char *save = NULL, *p = strtok_r(eku, ",", &save); p; p = strtok_r(NULL, ",", &save))
		json_array_append_new(ekus, json_string(p));
	for (int i = 0; r->chain && i < sk_X509_num(r->chain); i++) {
		X509 *element = sk_X509_value(r->chain, i);
		char *name = rl_cert_subject(element);
		format_time(rl_cert_not_after(element), date, sizeof(date));
		json_array_append_new(chain, json_pack("{s:o, s:s}", "subject", json_text(name), "not_after", date));
		free(name);
	}
	if (r->revocation_checked) {
		const struct rl_revocation_outcome *x = &r->revocation;
		char next[32], revoked[32];
		format_time(x->next_update, next, sizeof(next));
		format_time(x->revoked_at, revoked, sizeof(revoked));
		rev = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "status", rl_revocation_status_name(x->status),
				"source", x->source,
				"cached_until", x->status == RL_REVOCATION_UNKNOWN ? json_null() : json_string(next),
				"revoked_at", x->status == RL_REVOCATION_REVOKED ? json_string(revoked) : json_null(),
				"reason", x->status == RL_REVOCATION_REVOKED ? json_string(x->reason) : json_null(),
				"problem", x->status == RL_REVOCATION_UNKNOWN ? json_string(x->problem) : json_null());
	}
	json_object_set_new(o, "role", json_string(r->role));
	json_object_set_new(o, "signing", json_boolean(r->signing));
	json_object_set_new(o, "subject", json_text(subject));
	json_object_set_new(o, "issuer", json_text(issuer));
	json_object_set_new(o, "serial", json_text(serial));
	json_object_set_new(o, "not_before", json_string(from));
	json_object_set_new(o, "not_after", json_string(until));
	json_object_set_new(o, "days_left", json_integer(days_left(r->cert, now)));
	json_object_set_new(o, "key_usage", kus);
	json_object_set_new(o, "extended_key_usage", ekus);
	json_object_set_new(o, "trusted", r->trusted < 0 ? json_null() : json_boolean(r->trusted));
	json_object_set_new(o, "trust_error", r->trusted == 0 ? json_string(r->trust_error) : json_null());
	json_object_set_new(o, "chain", chain);
	json_object_set_new(o, "revocation", rev);
	free(subject);
	free(issuer);
	free(serial);
	return o;
}

/* The warnings of one certificate; returns 1 when it is unusable (expired, revoked, untrusted). */
static int warn_about(const struct cert_report *r, time_t now, json_t *warnings)
{
	char cn[128], date[32];
	long days = days_left(r->cert, now);
	int unusable = 0;

	rl_cert_cn(r->cert, cn, sizeof(cn));
	format_time(rl_cert_not_after(r->cert), date, sizeof(date));
	if (rl_cert_not_after(r->cert) < now) {
		warn(warnings, "certificate CN=%s (%s) expired on %s", cn, r->role, date);
		unusable = 1;
	} else if (days < EXPIRY_WARNING_DAYS) {
		warn(warnings, "certificate CN=%s (%s) expires in %ld days, on %s", cn, r->role, days, date);
	}
	if (rl_cert_not_before(r->cert) > now) {
		format_time(rl_cert_not_before(r->cert), date, sizeof(date));
		warn(warnings, "certificate CN=%s (%s) is not valid before %s", cn, r->role, date);
		unusable = 1;
	}
	if (r->trusted == 0) {
		if (rl_cert_not_after(r->cert) >= now)
			warn(warnings, "%s (%s)", r->trust_error, r->role);
		unusable = 1;
	} else if (r->trusted < 0) {
		warn(warnings, "certificate CN=%s (%s): chain not checked, trust.anchors is not set", cn, r->role);
	}
	if (r->revocation_error[0]) {
		warn(warnings, "%s (%s)", r->revocation_error, r->role);
		unusable = 1;
	} else if (r->revocation_checked && r->revocation.status == RL_REVOCATION_UNKNOWN) {
		warn(warnings, "could not check revocation of certificate CN=%s (%s): %s", cn, r->role,
		     r->revocation.problem);
	}
	return unusable;
}

static int keys_list(const struct keys_args *a, const struct rl_config *cfg)
{
	struct rl_identity_set set;
	struct rl_trust *plain = NULL, *checked = NULL;
	struct cert_report reports[RL_IDENTITY_SET_MAX];
	const char *anchors = rl_config_str(cfg, RL_CFG_TRUST_ANCHORS);
	json_t *warnings = a->json ? json_array() : NULL;
	struct rl_err err;
	int count, rc = RL_EXIT_OK;

	if (rl_identity_set_load_config(&set, cfg, &err) < 0)
		return rl_cli_fail(&err);
	if (*anchors && !(plain = rl_trust_load(anchors, &err))) {
		err.code = RL_ERR_CONFIG;
		rc = rl_cli_fail(&err);
		goto out;
	}
	if (*anchors && a->check_revocation && !(checked = rl_trust_load_config(cfg, NULL, &err))) {
		rc = rl_cli_fail(&err);
		goto out;
	}
	const struct rl_identity *const *ids = rl_identity_set_all(&set, &count);
	const struct rl_identity *signing = rl_identity_set_signing(&set, a->now);
	memset(reports, 0, sizeof(reports));
	for (int i = 0; i < count; i++) {
		reports[i].role = ids[i] == &set.current ? "identity" : "identity.next";
		reports[i].cert = ids[i]->cert;
		reports[i].signing = ids[i] == signing;
		examine(&reports[i], ids[i], plain, checked, a->now);
	}
	if (a->json) {
		json_t *list = json_array();
		for (int i = 0; i < count; i++)
			json_array_append_new(list, report_json(&reports[i], a->now));
		json_t *doc = json_pack("{s:o}", "identities", list);
		if (set.has_next && set.switch_at) {
			char when[32];
			format_time(set.switch_at, when, sizeof(when));
			json_object_set_new(doc, "switch_at", json_string(when));
		}
		for (int i = 0; i < count; i++)
			if (warn_about(&reports[i], a->now, warnings) && reports[i].signing)
				rc = RL_EXIT_REFUSED;
		json_object_set(doc, "warnings", warnings);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(doc);
	} else {
		for (int i = 0; i < count; i++)
			print_text(&reports[i], a->now);
		if (set.has_next && set.switch_at) {
			char when[32];
			format_time(set.switch_at, when, sizeof(when));
			printf("switch: identity.next signs from %s\n", when);
		}
		for (int i = 0; i < count; i++)
			if (warn_about(&reports[i], a->now, NULL) && reports[i].signing)
				rc = RL_EXIT_REFUSED;
	}
	if (rc == RL_EXIT_REFUSED) {
		char cn[128];
		rl_err_set(&err, RL_EBMS_FAILED_AUTHENTICATION, "the signing certificate CN=%s cannot be used",
			   rl_cert_cn(signing->cert, cn, sizeof(cn)));
		rl_cli_fail(&err);
	}
	for (int i = 0; i < count; i++)
		sk_X509_pop_free(reports[i].chain, X509_free);
out:
	json_decref(warnings);
	rl_trust_free(plain);
	rl_trust_free(checked);
	rl_identity_set_free(&set);
	return rc;
}

static int keys_check(const struct keys_args *a, const struct rl_config *cfg)
{
	struct rl_revocation_responder responders[16];
	struct rl_trust *trust;
	struct rl_err err;
	int rc = RL_EXIT_OK;

	if (!(trust = rl_trust_load_config(cfg, NULL, &err)))
		return rl_cli_fail(&err);
	struct rl_revocation *rev = rl_trust_revocation(trust);
	for (int i = 0; i < a->nfiles; i++) {
		const char *path = a->files[i];
		char cn[128];

		X509 *cert = rl_cert_load_pem(path, &err);
		if (!cert) {
			fprintf(stderr, "%s: %s\n", path, err.msg);
			rc = RL_EXIT_USAGE;
			continue;
		}
		unsigned long since = rl_revocation_sequence(rev);
		struct rl_revocation_outcome outcomes[8];
		size_t known = 0;
		if (rl_trust_verify(trust, cert, NULL, a->now, &err) < 0) {
			printf("%s: CN=%s: refused: %s\n", path, rl_cert_cn(cert, cn, sizeof(cn)), err.msg);
			if (rc == RL_EXIT_OK)
				rc = RL_EXIT_REFUSED;
		} else {
			struct rl_revocation_outcome own_outcome;
			const struct rl_revocation_outcome *own =
				rl_revocation_outcome_of(rev, cert, since, &own_outcome) ? &own_outcome : NULL;
			known = rl_revocation_outcomes_since(rev, since, outcomes, 8);
			if (!own)
				printf("%s: CN=%s: trusted (revocation not checked)", path,
				       rl_cert_cn(cert, cn, sizeof(cn)));
			else if (own->status == RL_REVOCATION_GOOD)
				printf("%s: CN=%s: trusted, not revoked (%s)", path,
				       rl_cert_cn(cert, cn, sizeof(cn)), own->source);
			else
				printf("%s: CN=%s: trusted, revocation unknown (%s)", path,
				       rl_cert_cn(cert, cn, sizeof(cn)), own->problem);
			for (size_t k = 0; k < known; k++) {
				if (own && outcomes[k].sequence == own->sequence)
					continue;
				printf("; CA CN=%s: %s (%s)", outcomes[k].subject_cn,
				       outcomes[k].status == RL_REVOCATION_GOOD ? "not revoked" : "revocation unknown",
				       outcomes[k].status == RL_REVOCATION_GOOD ? outcomes[k].source : outcomes[k].problem);
			}
			printf("\n");
		}
		rl_cli_warn_revocation(trust, since);
		X509_free(cert);
	}
	size_t n = rl_revocation_responders(rev, responders, 16);
	for (size_t i = 0; i < n; i++)
		printf("responder %s: %s, %lu request%s%s%s\n", responders[i].url,
		       responders[i].reachable ? "reachable" : "unreachable", responders[i].requests,
		       responders[i].requests == 1 ? "" : "s", responders[i].last_error[0] ? ": " : "",
		       responders[i].last_error);
	rl_trust_free(trust);
	return rc;
}

static int run_keys(int argc, char **argv)
{
	struct keys_args a;
	struct rl_config *cfg = NULL;
	const char *sub;
	int c, rc;

	memset(&a, 0, sizeof(a));
	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		return argc < 2 ? rl_cli_usage_error(&rl_cmd_keys, "give a subcommand: list or check")
				: rl_cli_print_usage(&rl_cmd_keys);
	sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "check") != 0)
		return rl_cli_usage_error(&rl_cmd_keys, "unknown subcommand '%s'", sub);
	a.now = time(NULL);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "c:", options, NULL)) != -1) {
		switch (c) {
		case 'c': a.config_path = optarg; break;
		case OPT_SET:
			if (a.nsets == SETS_MAX)
				return rl_cli_usage_error(&rl_cmd_keys, "too many --set");
			a.sets[a.nsets++] = optarg;
			break;
		case OPT_JSON: a.json = 1; break;
		case OPT_REVOCATION: a.check_revocation = 1; break;
		case OPT_AT:
			a.now = rl_parse_datetime(optarg);
			if (a.now == (time_t)-1)
				return rl_cli_usage_error(&rl_cmd_keys, "--at: '%s' is not an xs:dateTime", optarg);
			break;
		case OPT_HELP: return rl_cli_print_usage(&rl_cmd_keys);
		default: return rl_cli_usage_error(&rl_cmd_keys, "unknown option");
		}
	}
	a.files = argv + 1 + optind;
	a.nfiles = argc - 1 - optind;
	if (strcmp(sub, "list") == 0 && a.nfiles > 0)
		return rl_cli_usage_error(&rl_cmd_keys, "unexpected argument '%s'", a.files[0]);
	if (strcmp(sub, "check") == 0 && a.nfiles == 0)
		return rl_cli_usage_error(&rl_cmd_keys, "give the certificate files to check");
	if (!a.config_path)
		return rl_cli_usage_error(&rl_cmd_keys, "-c FILE is required");
	struct rl_cli_config_opts config_opts = { a.config_path, (const char **)a.sets, a.nsets };
	rc = rl_cli_config_load(&rl_cmd_keys, &config_opts, RL_CFG_MODE_CHECK, &cfg);
	if (rc != RL_EXIT_OK)
		return rc;
	rc = strcmp(sub, "list") == 0 ? keys_list(&a, cfg) : keys_check(&a, cfg);
	rl_config_free(cfg);
	return rc;
}
