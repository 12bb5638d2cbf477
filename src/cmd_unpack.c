/* cmd_unpack.c - `relais unpack`: checks and opens a received AS4 message file and writes its payload. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "relais/as4.h"
#include "relais/cli.h"
#include "relais/cli_config.h"
#include "relais/keys.h"
#include "relais/keys_config.h"
#include "relais/revocation.h"
#include "commands.h"

#define SETS_MAX 64

static int run_unpack(int argc, char **argv);

const struct rl_command rl_cmd_unpack = {
	.name = "unpack",
	.summary = "verify, decrypt and decompress a received AS4 message",
	.usage =
		"usage: relais unpack (--key KEY.pem --cert CERT.pem | --keystore F.p12 [--password P])\n"
		"                     --trust CA.pem --payload-out FILE [--at TIME]\n"
		"                     [--receipt-out R.mime] [--allow-non-peppol-algorithms]\n"
		"                     [--allow-unencrypted] MSG.mime\n"
		"       relais unpack -c FILE [--set section.key=value ...] [--trust CA.pem]\n"
		"                     --payload-out FILE [--at TIME] [--receipt-out R.mime] ... MSG.mime\n"
		"\n"
		"Reads the message file MSG.mime, unwraps its key with our identity, decrypts and\n"
		"decompresses the payload, checks the signature over eb:Messaging, Body and every\n"
		"attachment and the signer's chain against the trust anchors, and only then writes the\n"
		"payload to FILE (atomically). Prints the MessageId. A refusal prints\n"
		"\"error: EBMS:xxxx Short: what was wrong\" and exits 1.\n"
		"\n"
		"  -c, --config FILE     take our identities (identity.*, both during a key rollover), the\n"
		"                        trust anchors and the revocation checks (trust.*) from FILE;\n"
		"                        without it the sender's certificate is checked for chain and\n"
		"                        validity only\n"
		"  --set section.key=value  override one key of FILE (repeatable)\n"
		"  --key, --cert         our private key and certificate (PEM)\n"
		"  --keystore, --password our PKCS#12 keystore instead\n"
		"  --trust CA.pem        trust anchors for the sender's certificate\n"
		"  --payload-out FILE    where the payload goes\n"
		"  --receipt-out R.mime write a signed eb:Receipt (application/soap+xml) for the message\n"
		"  --at TIME             check certificates at TIME (xs:dateTime) instead of now; with\n"
		"                        -c the receipt is also signed by the identity that signs at TIME\n",
	.run = run_unpack,
};

enum {
	OPT_KEY = 256, OPT_CERT, OPT_KEYSTORE, OPT_PASSWORD, OPT_TRUST, OPT_PAYLOAD_OUT, OPT_AT,
	OPT_NON_PEPPOL, OPT_UNENCRYPTED, OPT_RECEIPT_OUT, OPT_HELP, OPT_SET,
};

static const struct option options[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "keystore", required_argument, NULL, OPT_KEYSTORE },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "payload-out", required_argument, NULL, OPT_PAYLOAD_OUT },
	{ "at", required_argument, NULL, OPT_AT },
	{ "allow-non-peppol-algorithms", no_argument, NULL, OPT_NON_PEPPOL },
	{ "allow-unencrypted", no_argument, NULL, OPT_UNENCRYPTED },
	{ "receipt-out", required_argument, NULL, OPT_RECEIPT_OUT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, OPT_SET },
	{ NULL, 0, NULL, 0 },
};

/* Copies the payload spool to the output file atomically. */
static int write_payload(const struct rl_as4_payload *p, const char *path, struct rl_err *err)
{
	struct rl_outfile of;
	struct rl_sink sink;

	if (rl_outfile_open(&of, path, err) < 0)
		return -1;
	sink.write = rl_sink_file_write;
	sink.ctx = of.fp;
	rewind(p->fp);
	if (rl_stream_copy_file(p->fp, &sink, err) < 0) {
		rl_outfile_abort(&of);
		return -1;
	}
	return rl_outfile_commit(&of, err);
}

/* Builds a signed receipt for the message and writes it atomically. */
static int write_receipt(const struct rl_as4_received *r, const struct rl_identity *id, const char *path,
			 struct rl_err *err)
{
	struct rl_buf receipt = RL_BUF_INIT;
	struct rl_outfile of;
	char *receipt_id = NULL;
	int rc = -1;

	if (rl_as4_receipt_build(r, id, &receipt, &receipt_id, err) < 0)
		goto out;
	if (rl_outfile_open(&of, path, err) < 0)
		goto out;
	if (fwrite(receipt.data, 1, receipt.len, of.fp) != receipt.len) {
		rl_outfile_abort(&of);
		rl_err_set(err, RL_ERR_IO, "cannot write %s", path);
		goto out;
	}
	rc = rl_outfile_commit(&of, err);
out:
	free(receipt_id);
	rl_buf_free(&receipt);
	return rc;
}

/* Our identities and the trust store: from the configuration (-c) or from the options. Returns an exit
 * status (RL_EXIT_OK when both are loaded). */
static int load_keys(const char *config_path, char **sets, int nsets, const char *key, const char *cert,
		     const char *keystore, const char *password, const char *trust_path,
		     struct rl_identity_set *set, struct rl_trust **trust)
{
	struct rl_config *cfg = NULL;
	struct rl_identity id;
	struct rl_err err;
	int rc;

	if (config_path) {
		struct rl_cli_config_opts config_opts = { config_path, (const char **)sets, nsets };
		rc = rl_cli_config_load(&rl_cmd_unpack, &config_opts, RL_CFG_MODE_CHECK, &cfg);
		if (rc != RL_EXIT_OK)
			return rc;
	}
	if (keystore || key) {
		if (rl_cli_load_identity(key, cert, keystore, password, &id, &err) < 0)
			goto fail;
		rl_identity_set_adopt(set, &id);
	} else if (rl_identity_set_load_config(set, cfg, &err) < 0) {
		goto fail;
	}
	*trust = cfg ? rl_trust_load_config(cfg, trust_path, &err) : rl_trust_load(trust_path, &err);
	if (*trust == NULL) {
		rl_identity_set_free(set);
		if (!cfg)
			err.code = RL_ERR_USAGE;
		goto fail;
	}
	rl_config_free(cfg);
	return RL_EXIT_OK;
fail:
	rl_config_free(cfg);
	return rl_cli_fail(&err);
}

static int run_unpack(int argc, char **argv)
{
	const char *key = NULL, *cert = NULL, *keystore = NULL, *password = NULL, *trust_path = NULL;
	const char *payload_out = NULL, *at = NULL, *receipt_out = NULL, *config_path = NULL;
	char *sets[SETS_MAX];
	int nsets = 0;
	struct rl_as4_unpack_opts o;
	struct rl_as4_received r;
	struct rl_identity_set set;
	struct rl_trust *trust = NULL;
	struct rl_err err;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&set, 0, sizeof(set));
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", options, NULL)) != -1) {
		switch (c) {
		case OPT_KEY: key = optarg; break;
		case OPT_CERT: cert = optarg; break;
		case OPT_KEYSTORE: keystore = optarg; break;
		case OPT_PASSWORD: password = optarg; break;
		case OPT_TRUST: trust_path = optarg; break;
		case OPT_PAYLOAD_OUT: payload_out = optarg; break;
		case OPT_AT: at = optarg; break;
		case OPT_NON_PEPPOL: o.allow_non_peppol_algorithms = 1; break;
		case OPT_UNENCRYPTED: o.allow_unencrypted = 1; break;
		case OPT_RECEIPT_OUT: receipt_out = optarg; break;
		case 'c': config_path = optarg; break;
		case OPT_SET:
			if (nsets == SETS_MAX)
				return rl_cli_usage_error(&rl_cmd_unpack, "too many --set");
			sets[nsets++] = optarg;
			break;
		case OPT_HELP: return rl_cli_print_usage(&rl_cmd_unpack);
		default: return rl_cli_usage_error(&rl_cmd_unpack, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return rl_cli_usage_error(&rl_cmd_unpack, "give exactly one message file");
	if (keystore && (key || cert))
		return rl_cli_usage_error(&rl_cmd_unpack, "give either --key and --cert, or --keystore");
	if (!keystore && !(key && cert) && (key || cert || !config_path))
		return rl_cli_usage_error(&rl_cmd_unpack, "give either --key and --cert, or --keystore, or -c");
	if ((trust_path == NULL && !config_path) || payload_out == NULL)
		return rl_cli_usage_error(&rl_cmd_unpack, "--trust (or -c) and --payload-out are required");
	if (nsets > 0 && !config_path)
		return rl_cli_usage_error(&rl_cmd_unpack, "--set needs -c");
	if (at) {
		o.at = rl_parse_datetime(at);
		if (o.at == (time_t)-1)
			return rl_cli_usage_error(&rl_cmd_unpack, "--at: '%s' is not an xs:dateTime", at);
	}
	rc = load_keys(config_path, sets, nsets, key, cert, keystore, password, trust_path, &set, &trust);
	if (rc != RL_EXIT_OK)
		return rc;
	unsigned long since = rl_revocation_sequence(rl_trust_revocation(trust));
	o.identities = rl_identity_set_all(&set, &o.identity_count);
	o.trust = trust;
	const struct rl_identity *signer = rl_identity_set_signing(&set, o.at ? o.at : time(NULL));
	if (rl_as4_unpack_file(&o, argv[optind], &r, &err) < 0) {
		rc = rl_cli_fail(&err);
		rl_as4_received_free(&r);
		goto out;
	}
	rl_cli_warn_revocation(trust, since);
	if (r.payload_count != 1) {
		rl_err_set(&err, RL_EBMS_FEATURE_NOT_SUPPORTED, "the message carries %d payloads, not one",
			   r.payload_count);
		rc = rl_cli_fail(&err);
	} else if (write_payload(&r.payloads[0], payload_out, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else if (receipt_out && write_receipt(&r, signer, receipt_out, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else {
		printf("%s\n", r.um.message_id);
		rc = RL_EXIT_OK;
	}
	rl_as4_received_free(&r);
out:
	rl_trust_free(trust);
	rl_identity_set_free(&set);
	return rc;
}
