/* cmd_unpack.c - `relais unpack`: checks and opens a received AS4 message file and writes its payload. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/as4.h"
#include "relais/cli.h"
#include "relais/keys.h"
#include "commands.h"

static int run_unpack(int argc, char **argv);

const struct rl_command rl_cmd_unpack = {
	.name = "unpack",
	.summary = "verify, decrypt and decompress a received AS4 message",
	.usage =
		"usage: relais unpack (--key KEY.pem --cert CERT.pem | --keystore F.p12 [--password P])\n"
		"                     --trust CA.pem --payload-out FILE [--at TIME]\n"
		"                     [--receipt-out R.mime] [--allow-non-peppol-algorithms]\n"
		"                     [--allow-unencrypted] MSG.mime\n"
		"\n"
		"Reads the message file MSG.mime, unwraps its key with our identity, decrypts and\n"
		"decompresses the payload, checks the signature over eb:Messaging, Body and every\n"
		"attachment and the signer's chain against the trust anchors, and only then writes the\n"
		"payload to FILE (atomically). Prints the MessageId. A refusal prints\n"
		"\"error: EBMS:xxxx Short: what was wrong\" and exits 1.\n"
		"\n"
		"  --key, --cert         our private key and certificate (PEM)\n"
		"  --keystore, --password our PKCS#12 keystore instead\n"
		"  --trust CA.pem        trust anchors for the sender's certificate\n"
		"  --payload-out FILE    where the payload goes\n"
		"  --receipt-out R.mime write a signed eb:Receipt (application/soap+xml) for the message\n"
		"  --at TIME             check certificates at TIME (xs:dateTime) instead of now\n",
	.run = run_unpack,
};

enum {
	OPT_KEY = 256, OPT_CERT, OPT_KEYSTORE, OPT_PASSWORD, OPT_TRUST, OPT_PAYLOAD_OUT, OPT_AT,
	OPT_NON_PEPPOL, OPT_UNENCRYPTED, OPT_RECEIPT_OUT, OPT_HELP,
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

static int run_unpack(int argc, char **argv)
{
	const char *key = NULL, *cert = NULL, *keystore = NULL, *password = NULL, *trust_path = NULL;
	const char *payload_out = NULL, *at = NULL, *receipt_out = NULL;
	struct rl_as4_unpack_opts o;
	struct rl_as4_received r;
	struct rl_identity id;
	const struct rl_identity *ids[1];
	struct rl_trust *trust = NULL;
	struct rl_err err;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&id, 0, sizeof(id));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
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
		case OPT_HELP: return rl_cli_print_usage(&rl_cmd_unpack);
		default: return rl_cli_usage_error(&rl_cmd_unpack, "unknown option");
		}
	}
	if (optind + 1 != argc)
		return rl_cli_usage_error(&rl_cmd_unpack, "give exactly one message file");
	if (!keystore == !(key && cert))
		return rl_cli_usage_error(&rl_cmd_unpack, "give either --key and --cert, or --keystore");
	if (trust_path == NULL || payload_out == NULL)
		return rl_cli_usage_error(&rl_cmd_unpack, "--trust and --payload-out are required");
	if (at) {
		o.at = rl_parse_datetime(at);
		if (o.at == (time_t)-1)
			return rl_cli_usage_error(&rl_cmd_unpack, "--at: '%s' is not an xs:dateTime", at);
	}
	if (rl_cli_load_identity(key, cert, keystore, password, &id, &err) < 0)
		return rl_cli_fail(&err);
	trust = rl_trust_load(trust_path, &err);
	if (trust == NULL) {
		rl_identity_free(&id);
		err.code = RL_ERR_USAGE;
		return rl_cli_fail(&err);
	}
	ids[0] = &id;
	o.identities = ids;
	o.identity_count = 1;
	o.trust = trust;
	if (rl_as4_unpack_file(&o, argv[optind], &r, &err) < 0) {
		rc = rl_cli_fail(&err);
		rl_as4_received_free(&r);
		goto out;
	}
	if (r.payload_count != 1) {
		rl_err_set(&err, RL_EBMS_FEATURE_NOT_SUPPORTED, "the message carries %d payloads, not one",
			   r.payload_count);
		rc = rl_cli_fail(&err);
	} else if (write_payload(&r.payloads[0], payload_out, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else if (receipt_out && write_receipt(&r, &id, receipt_out, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else {
		printf("%s\n", r.um.message_id);
		rc = RL_EXIT_OK;
	}
	rl_as4_received_free(&r);
out:
	rl_trust_free(trust);
	rl_identity_free(&id);
	return rc;
}
