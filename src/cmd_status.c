/* cmd_status.c - `relais status`: queue depths, last error and certificate expiry of an access point. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/daemon.h"
#include "relais/keys.h"
#include "relais/store.h"
#include "commands.h"

static int run_status(int argc, char **argv);

const struct rl_command rl_cmd_status = {
	.name = "status",
	.summary = "show queue depths, the last error and certificate expiry",
	.usage =
		"usage: relais status -c FILE [--set section.key=value ...] [--json]\n"
		"\n"
		"Reads the database of the configuration (for database.url = auto, the one the running\n"
		"`relais serve` started) and prints the outbound queue by state, received messages and\n"
		"pending backend deliveries, paused destinations, the newest error, and how many days\n"
		"our certificate has left (a warning from 30 days before expiry).\n"
		"With --json it prints the document GET /api/v1/health serves.\n"
		"\n"
		"Exit status: 0 healthy; 1 the certificate expired or messages failed; 2 usage or\n"
		"configuration error, or the database cannot be reached.\n",
	.run = run_status,
};

/* Our certificate, from identity.cert or the keystore (NULL when not configured or unreadable). */
static X509 *our_certificate(const struct rl_config *cfg)
{
	const char *keystore = rl_config_str(cfg, RL_CFG_IDENTITY_KEYSTORE);
	struct rl_identity id = { 0 };
	struct rl_err err;
	X509 *cert = NULL;

	if (keystore[0]) {
		if (rl_identity_load_p12(&id, keystore, rl_config_str(cfg, RL_CFG_IDENTITY_PASSWORD), &err) == 0) {
			cert = id.cert;
			X509_up_ref(cert);
		}
		rl_identity_free(&id);
		return cert;
	}
	if (rl_config_str(cfg, RL_CFG_IDENTITY_CERT)[0])
		cert = rl_cert_load_pem(rl_config_str(cfg, RL_CFG_IDENTITY_CERT), &err);
	return cert;
}

static void print_text(const struct rl_config *cfg, X509 *cert, const struct rl_store_stats *st)
{
	printf("access point   %s\n", rl_config_str(cfg, RL_CFG_IDENTITY_PARTY_ID));
	printf("outbound       %lld queued, %lld sending, %lld retrying, %lld delivered, %lld failed\n",
	       st->out_queued, st->out_sending, st->out_retry, st->out_delivered, st->out_failed);
	printf("inbound        %lld received, %lld delivered to the backend, %lld failed; %lld deliveries pending\n",
	       st->in_received + st->in_delivered + st->in_failed, st->in_delivered, st->in_failed,
	       st->deliveries_pending);
	printf("destinations   %lld paused (circuit open)\n", st->circuits_open);
	printf("revocation     %s%s%s\n", rl_config_str(cfg, RL_CFG_TRUST_REVOCATION),
	       rl_config_str(cfg, RL_CFG_TRUST_CRLS)[0] ? ", CRLs " : "", rl_config_str(cfg, RL_CFG_TRUST_CRLS));
	if (st->last_error) {
		char at[40] = "";

		if (st->last_error_at > 0)
			rl_format_datetime(st->last_error_at, 0, at, sizeof(at));
		printf("last error     %s %s: %s\n", at, st->last_error_message_id ? st->last_error_message_id : "",
		       st->last_error);
	}
	if (cert) {
		int days = 0, secs = 0;
		char cn[256];

		ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert));
		printf("certificate    %s, %d days left\n", rl_cert_cn(cert, cn, sizeof(cn)) ? cn : "?", days);
		if (days < 0 || (days == 0 && secs < 0))
			printf("error: our certificate has expired\n");
		else if (days < 30)
			printf("warning: our certificate expires in %d days\n", days);
	}
}

static int run_status(int argc, char **argv)
{
	struct rl_cli_config_opts co = { 0 };
	struct rl_store_stats stats = { 0 };
	struct rl_config *cfg = NULL;
	struct rl_store *st = NULL;
	struct rl_err err;
	X509 *cert = NULL;
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		int taken = rl_cli_config_opt(&rl_cmd_status, &co, argc, argv, &i);

		if (taken < 0) {
			rl_cli_config_opts_free(&co);
			return RL_EXIT_USAGE;
		}
		if (taken)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			rl_cli_config_opts_free(&co);
			return rl_cli_usage_error(&rl_cmd_status, "unexpected argument '%s'", argv[i]);
		}
	}
	rc = rl_cli_config_load(&rl_cmd_status, &co, RL_CFG_MODE_CHECK, &cfg);
	rl_cli_config_opts_free(&co);
	if (rc != RL_EXIT_OK)
		return rc;
	if (rl_cli_store_open(cfg, &st, &err) < 0 || rl_store_stats(st, &stats, &err) < 0) {
		fprintf(stderr, "relais status: %s\n", err.msg);
		rc = RL_EXIT_USAGE;
		goto out;
	}
	cert = our_certificate(cfg);
	if (json) {
		char *text = rl_health_json(rl_config_str(cfg, RL_CFG_IDENTITY_PARTY_ID), cert, &stats, -1, NULL, 1);

		if (text)
			printf("%s\n", text);
		free(text);
	} else
		print_text(cfg, cert, &stats);
	rc = RL_EXIT_OK;
	if (stats.out_failed > 0 || stats.in_failed > 0)
		rc = RL_EXIT_REFUSED;
	if (cert && X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		rc = RL_EXIT_REFUSED;
out:
	X509_free(cert);
	rl_store_stats_free(&stats);
	if (st)
		rl_store_close(st);
	rl_config_free(cfg);
	return rc;
}
