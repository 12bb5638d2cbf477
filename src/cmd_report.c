/* cmd_report.c - `relais report tsr|eusr`: the monthly Peppol Transaction Statistics Report or End User
 * Statistics Report of this access point, computed from its message store. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/config.h"
#include "relais/keys_config.h"
#include "relais/peppol_id.h"
#include "relais/reporting.h"
#include "relais/sbdh_wrap.h"
#include "relais/store.h"
#include "commands.h"

static int run_report(int argc, char **argv);

const struct rl_command rl_cmd_report = {
	.name = "report",
	.summary = "write the monthly Peppol TSR or EUSR from the message store",
	.usage =
		"usage: relais report -c FILE [--set section.key=value ...] tsr|eusr --month YYYY-MM\n"
		"                     [-o FILE] [--wrap --sender ID [--country CC] [--send]]\n"
		"\n"
		"Writes the Peppol Transaction Statistics Report (tsr, TSR 1.0) or End User Statistics\n"
		"Report (eusr, EUSR 1.1) of the calendar month (UTC) for this access point, counted from\n"
		"the database of the configuration: the messages it sent that were delivered (receipt\n"
		"received) and those it received; the reports themselves are not counted. The reporter is\n"
		"identity.party_id, or the subject CN of the identity's certificate (a seat id such as\n"
		"POP000001); the country of received end users is reporting.c4_country. An unknown country\n"
		"is ZZ in the TSR; the EUSR takes none and is refused then. A month without messages gives\n"
		"a report with zero counts.\n"
		"\n"
		"  --month YYYY-MM   the reporting period\n"
		"  -o FILE           write to FILE (atomically) instead of standard output\n"
		"  --wrap            wrap the report in the Peppol SBDH for sending it to OpenPeppol\n"
		"                    (" RL_REPORT_RECEIVER "), with the report's document type and process\n"
		"  --sender ID       with --wrap: the reporting service provider's participant (ICD:value)\n"
		"  --country CC      with --wrap: COUNTRY_C1, the service provider's country\n"
		"                    (default: identity.country)\n"
		"  --send            with --wrap: queue the wrapped report for sending (as `relais send\n"
		"                    --no-wait` does: the running `relais serve` routes and sends it)\n"
		"                    and print its MessageId instead of writing it\n"
		"\n"
		"Exit status: 0 written; 1 the store's content cannot be reported (the message is named);\n"
		"2 usage or configuration error, or the database cannot be reached.\n",
	.run = run_report,
};

enum { OPT_MONTH = 256, OPT_WRAP, OPT_SENDER, OPT_COUNTRY, OPT_SEND, OPT_HELP };

static const struct option report_options[] = {
	{ "month", required_argument, NULL, OPT_MONTH },
	{ "output", required_argument, NULL, 'o' },
	{ "wrap", no_argument, NULL, OPT_WRAP },
	{ "sender", required_argument, NULL, OPT_SENDER },
	{ "country", required_argument, NULL, OPT_COUNTRY },
	{ "send", no_argument, NULL, OPT_SEND },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 }
};

/* identity.party_id, else the CN of the configured identity's certificate. Caller frees. */
static char *own_seat(const struct rl_config *cfg, struct rl_err *err)
{
	struct rl_identity_set set;
	char cn[256] = "";

	if (rl_config_str(cfg, RL_CFG_IDENTITY_PARTY_ID)[0])
		return strdup(rl_config_str(cfg, RL_CFG_IDENTITY_PARTY_ID));
	if (rl_identity_set_load_config(&set, cfg, err) < 0)
		return NULL;
	rl_cert_cn(set.current.cert, cn, sizeof(cn));
	rl_identity_set_free(&set);
	if (cn[0] == '\0') {
		rl_err_set(err, RL_ERR_CONFIG, "the identity's certificate has no subject CN (set identity.party_id)");
		return NULL;
	}
	return strdup(cn);
}

/* Writes the report as it is, or wrapped in the SBDH, to out. */
static int emit(const struct rl_buf *report, enum rl_report_kind kind, int wrap, const char *sender,
		const char *country, FILE *out, struct rl_err *err)
{
	char path[] = "/tmp/relais-report-XXXXXX";
	struct rl_sink sink = { rl_sink_file_write, out };
	struct rl_sbdh h;
	FILE *fp;
	int fd, rc;

	if (!wrap)
		return rl_sink_write(&sink, report->data, report->len, err);
	fd = mkstemp(path);
	if (fd < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot create a temporary file: %s", strerror(errno));
	fp = fdopen(fd, "wb");
	if (fp == NULL || fwrite(report->data, 1, report->len, fp) != report->len || fclose(fp) != 0) {
		if (fp == NULL)
			close(fd);
		unlink(path);
		return rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
	}
	rc = rl_report_sbdh(kind, sender, country, &h, err);
	if (rc == 0)
		rc = rl_sbdh_wrap_file(path, &h, &sink, err);
	rl_sbdh_free(&h);
	unlink(path);
	return rc;
}

/* Queues the wrapped report in the store for the running `relais serve` to send; prints its MessageId. */
static int queue_report(struct rl_store *st, const struct rl_buf *report, enum rl_report_kind kind,
			const char *sender, const char *country, struct rl_err *err)
{
	struct rl_store_submission sub = { 0 };
	char *message_id = NULL;
	int64_t id;
	FILE *fp = rl_tmpfile(NULL, err);

	if (fp == NULL)
		return -1;
	if (emit(report, kind, 1, sender, country, fp, err) < 0 || fflush(fp) != 0) {
		fclose(fp);
		return -1;
	}
	rewind(fp);
	sub.payload = fp;
	sub.source = "cli";
	if (rl_store_outbound_submit(st, &sub, &id, &message_id, err) < 0) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	printf("queued %s\n", message_id);
	free(message_id);
	return fflush(stdout) == 0 ? 0 : rl_err_set(err, RL_ERR_IO, "cannot write to standard output");
}

static int run_report(int argc, char **argv)
{
	struct rl_cli_config_opts co = { 0 };
	struct rl_report_opts ro = { 0 };
	const char *month = NULL, *output = NULL, *sender = NULL, *country = NULL;
	struct rl_buf report = RL_BUF_INIT;
	struct rl_config *cfg = NULL;
	struct rl_store *st = NULL;
	enum rl_report_kind kind;
	struct rl_outfile of;
	char *seat = NULL;
	struct rl_err err;
	int wrap = 0, send = 0, opt, rc = RL_EXIT_USAGE;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:o:", report_options, NULL)) != -1) {
		switch (opt) {
		case 'c': co.path = optarg; break;
		case 's':
			if (rl_cli_config_add_set(&co, optarg) < 0)
				goto out;
			break;
		case 'o': output = optarg; break;
		case OPT_MONTH: month = optarg; break;
		case OPT_WRAP: wrap = 1; break;
		case OPT_SENDER: sender = optarg; break;
		case OPT_COUNTRY: country = optarg; break;
		case OPT_SEND: send = 1; break;
		case OPT_HELP: rl_cli_config_opts_free(&co); return rl_cli_print_usage(&rl_cmd_report);
		default: rl_cli_usage_error(&rl_cmd_report, "unknown option"); goto out;
		}
	}
	if (optind != argc - 1) {
		rl_cli_usage_error(&rl_cmd_report, optind < argc ? "one report: tsr or eusr" : "which report: tsr or eusr");
		goto out;
	}
	if (strcmp(argv[optind], "tsr") == 0) {
		kind = RL_REPORT_TSR;
	} else if (strcmp(argv[optind], "eusr") == 0) {
		kind = RL_REPORT_EUSR;
	} else {
		rl_cli_usage_error(&rl_cmd_report, "unknown report '%s' (tsr or eusr)", argv[optind]);
		goto out;
	}
	if (month == NULL) {
		rl_cli_usage_error(&rl_cmd_report, "--month YYYY-MM is required");
		goto out;
	}
	if (rl_report_parse_month(month, &ro.period, &err) < 0) {
		rl_cli_usage_error(&rl_cmd_report, "--month: %s", err.msg);
		goto out;
	}
	if (wrap && sender == NULL) {
		rl_cli_usage_error(&rl_cmd_report, "--wrap needs --sender ID");
		goto out;
	}
	if (!wrap && (sender || country || send)) {
		rl_cli_usage_error(&rl_cmd_report, "--sender, --country and --send go with --wrap");
		goto out;
	}
	if (send && output) {
		rl_cli_usage_error(&rl_cmd_report, "--send queues the report: -o does not apply");
		goto out;
	}
	if (country && !rl_country_code_valid(country)) {
		rl_cli_usage_error(&rl_cmd_report, "--country '%s' is not a two-letter country code", country);
		goto out;
	}
	if (sender && !rl_participant_value_shaped(sender)) {
		rl_cli_usage_error(&rl_cmd_report, "--sender '%s' is not a participant id ICD:value", sender);
		goto out;
	}
	rc = rl_cli_config_load(&rl_cmd_report, &co, RL_CFG_MODE_CHECK, &cfg);
	if (rc != RL_EXIT_OK)
		goto out;
	rc = RL_EXIT_USAGE;
	if (wrap && country == NULL && *(country = rl_config_str(cfg, RL_CFG_IDENTITY_COUNTRY)) == '\0') {
		rl_cli_usage_error(&rl_cmd_report, "--wrap needs --country CC, or identity.country set");
		goto out;
	}
	if (rl_init(&err) < 0 || (seat = own_seat(cfg, &err)) == NULL) {
		rl_cli_fail(&err);
		goto out;
	}
	if (rl_cli_store_open(cfg, &st, &err) < 0) {
		rl_cli_fail(&err);
		goto out;
	}
	ro.seat_id = seat;
	ro.c4_country = rl_config_str(cfg, RL_CFG_REPORTING_C4_COUNTRY);
	if (rl_report_write(st, kind, &ro, &report, &err) < 0) {
		rc = err.code == RL_ERR_DB || err.code == RL_ERR_CONFIG ? (rl_cli_fail(&err), RL_EXIT_USAGE)
									  : rl_cli_fail(&err);
		goto out;
	}
	if (send) {
		if (queue_report(st, &report, kind, sender, country, &err) < 0) {
			rc = rl_cli_fail(&err);
			goto out;
		}
	} else if (output == NULL) {
		if (emit(&report, kind, wrap, sender, country, stdout, &err) < 0 || fflush(stdout) != 0) {
			rc = rl_cli_fail(&err);
			goto out;
		}
	} else {
		if (rl_outfile_open(&of, output, &err) < 0) {
			rc = rl_cli_fail(&err);
			goto out;
		}
		if (emit(&report, kind, wrap, sender, country, of.fp, &err) < 0) {
			rl_outfile_abort(&of);
			rc = rl_cli_fail(&err);
			goto out;
		}
		if (rl_outfile_commit(&of, &err) < 0) {
			rc = rl_cli_fail(&err);
			goto out;
		}
	}
	rc = RL_EXIT_OK;
out:
	rl_buf_free(&report);
	free(seat);
	if (st)
		rl_store_close(st);
	rl_config_free(cfg);
	rl_cli_config_opts_free(&co);
	return rc;
}
