/* cmd_pack.c - `relais pack`: a payload into a signed, encrypted Peppol AS4 message file. */
#include "config.h"
#include <getopt.h>
#include <stdio.h>
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

static const char usage[] =
	"usage: relais pack (--key KEY.pem --cert CERT.pem | --keystore F.p12 --password P |\n"
	"                    -c FILE [--set section.key=value ...])\n"
	"                   --to-cert PEER.pem --payload SBD.xml -o MSG.mime\n"
	"                   [--no-encrypt] [--no-compress] [--message-id ID] [--conversation-id ID]\n"
	"                   [--from-party SEAT] [--to-party SEAT] [--service V] [--service-type T]\n"
	"                   [--action A] [--original-sender P] [--final-recipient P] [--mime-type T]\n"
	"\n"
	"Packs a business document into a Peppol AS4 message: gzip, RSA-SHA256 signature over eb:Messaging,\n"
	"Body and the attachment, AES-128-GCM encryption with the key sent RSA-OAEP (SHA-256, MGF1-SHA256)\n"
	"to PEER's certificate. Service, action, original sender and final recipient come from the payload's\n"
	"SBDH unless given. The output appears only when complete. Prints the MessageId.\n"
	"With -c FILE the message is signed by the configured identity that signs now (identity, or\n"
	"identity.next from identity.switch_at on), and when trust.anchors is set PEER's certificate must\n"
	"chain to it and pass the revocation checks of trust.revocation before anything is encrypted to it.\n";

enum { OPT_KEY = 256, OPT_CERT, OPT_KEYSTORE, OPT_PASSWORD, OPT_TO_CERT, OPT_PAYLOAD, OPT_NO_ENCRYPT,
       OPT_NO_COMPRESS, OPT_MESSAGE_ID, OPT_CONVERSATION_ID, OPT_FROM_PARTY, OPT_TO_PARTY, OPT_SERVICE,
       OPT_SERVICE_TYPE, OPT_ACTION, OPT_ORIGINAL_SENDER, OPT_FINAL_RECIPIENT, OPT_MIME_TYPE, OPT_SET };

static const struct option options[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "keystore", required_argument, NULL, OPT_KEYSTORE },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "to-cert", required_argument, NULL, OPT_TO_CERT },
	{ "payload", required_argument, NULL, OPT_PAYLOAD },
	{ "output", required_argument, NULL, 'o' },
	{ "no-encrypt", no_argument, NULL, OPT_NO_ENCRYPT },
	{ "no-compress", no_argument, NULL, OPT_NO_COMPRESS },
	{ "message-id", required_argument, NULL, OPT_MESSAGE_ID },
	{ "conversation-id", required_argument, NULL, OPT_CONVERSATION_ID },
	{ "from-party", required_argument, NULL, OPT_FROM_PARTY },
	{ "to-party", required_argument, NULL, OPT_TO_PARTY },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "service-type", required_argument, NULL, OPT_SERVICE_TYPE },
	{ "action", required_argument, NULL, OPT_ACTION },
	{ "original-sender", required_argument, NULL, OPT_ORIGINAL_SENDER },
	{ "final-recipient", required_argument, NULL, OPT_FINAL_RECIPIENT },
	{ "mime-type", required_argument, NULL, OPT_MIME_TYPE },
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, OPT_SET },
	{ NULL, 0, NULL, 0 },
};

/* With a configuration that has trust anchors, the receiver's certificate must chain to them and not be
 * revoked before anything is encrypted to it. Returns an exit status. */
static int check_receiver(const struct rl_config *cfg, X509 *peer)
{
	struct rl_trust *trust;
	struct rl_err err;
	int rc = RL_EXIT_OK;

	if (!*rl_config_str(cfg, RL_CFG_TRUST_ANCHORS))
		return RL_EXIT_OK;
	if (!(trust = rl_trust_load_config(cfg, NULL, &err)))
		return rl_cli_fail(&err);
	unsigned long since = rl_revocation_sequence(rl_trust_revocation(trust));
	if (rl_trust_verify(trust, peer, NULL, 0, &err) < 0) {
		rl_err_prefix(&err, "the receiver's certificate");
		rc = rl_cli_fail(&err);
	} else {
		rl_cli_warn_revocation(trust, since);
	}
	rl_trust_free(trust);
	return rc;
}

static int run_pack(int argc, char **argv)
{
	const char *key = NULL, *cert = NULL, *keystore = NULL, *password = NULL, *to_cert = NULL, *output = NULL;
	struct rl_as4_pack_opts o;
	const char *config_path = NULL;
	char *sets[SETS_MAX];
	int nsets = 0;
	struct rl_identity id;
	struct rl_identity_set set;
	struct rl_config *cfg = NULL;
	struct rl_as4_sent sent;
	struct rl_outfile of;
	struct rl_err err;
	struct rl_sink sink;
	X509 *peer = NULL;
	int c, rc;

	memset(&o, 0, sizeof(o));
	memset(&id, 0, sizeof(id));
	memset(&set, 0, sizeof(set));
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:c:", options, NULL)) != -1) {
		switch (c) {
		case OPT_KEY: key = optarg; break;
		case OPT_CERT: cert = optarg; break;
		case OPT_KEYSTORE: keystore = optarg; break;
		case OPT_PASSWORD: password = optarg; break;
		case OPT_TO_CERT: to_cert = optarg; break;
		case OPT_PAYLOAD: o.payload_path = optarg; break;
		case 'o': output = optarg; break;
		case OPT_NO_ENCRYPT: o.no_encrypt = 1; break;
		case OPT_NO_COMPRESS: o.no_compress = 1; break;
		case OPT_MESSAGE_ID: o.message_id = optarg; break;
		case OPT_CONVERSATION_ID: o.conversation_id = optarg; break;
		case OPT_FROM_PARTY: o.from_party = optarg; break;
		case OPT_TO_PARTY: o.to_party = optarg; break;
		case OPT_SERVICE: o.service = optarg; break;
		case OPT_SERVICE_TYPE: o.service_type = optarg; break;
		case OPT_ACTION: o.action = optarg; break;
		case OPT_ORIGINAL_SENDER: o.original_sender = optarg; break;
		case OPT_FINAL_RECIPIENT: o.final_recipient = optarg; break;
		case OPT_MIME_TYPE: o.payload_mime_type = optarg; break;
		case 'c': config_path = optarg; break;
		case OPT_SET:
			if (nsets == SETS_MAX)
				return rl_cli_usage_error(&rl_cmd_pack, "too many --set");
			sets[nsets++] = optarg;
			break;
		default: return rl_cli_usage_error(&rl_cmd_pack, "unknown option");
		}
	}
	if (optind != argc)
		return rl_cli_usage_error(&rl_cmd_pack, "unexpected argument '%s'", argv[optind]);
	if (keystore && (key || cert))
		return rl_cli_usage_error(&rl_cmd_pack, "give either --key and --cert, or --keystore");
	if (!keystore && !(key && cert) && (key || cert || !config_path))
		return rl_cli_usage_error(&rl_cmd_pack, "give either --key and --cert, or --keystore, or -c");
	if (nsets > 0 && !config_path)
		return rl_cli_usage_error(&rl_cmd_pack, "--set needs -c");
	if (o.payload_path == NULL || output == NULL)
		return rl_cli_usage_error(&rl_cmd_pack, "--payload and -o are required");
	if (to_cert == NULL && !o.no_encrypt)
		return rl_cli_usage_error(&rl_cmd_pack, "--to-cert is required (or --no-encrypt)");
	if (config_path) {
		struct rl_cli_config_opts config_opts = { config_path, (const char **)sets, nsets };
		rc = rl_cli_config_load(&rl_cmd_pack, &config_opts, RL_CFG_MODE_CHECK, &cfg);
		if (rc != RL_EXIT_OK)
			return rc;
	}
	if (keystore || key) {
		if (rl_cli_load_identity(key, cert, keystore, password, &id, &err) < 0) {
			rl_config_free(cfg);
			return rl_cli_fail(&err);
		}
		rl_identity_set_adopt(&set, &id);
	} else if (rl_identity_set_load_config(&set, cfg, &err) < 0) {
		rl_config_free(cfg);
		return rl_cli_fail(&err);
	}
	if (to_cert && (peer = rl_cert_load_pem(to_cert, &err)) == NULL) {
		rl_config_free(cfg);
		rl_identity_set_free(&set);
		err.code = RL_ERR_USAGE;
		return rl_cli_fail(&err);
	}
	rc = cfg && peer ? check_receiver(cfg, peer) : RL_EXIT_OK;
	rl_config_free(cfg);
	if (rc != RL_EXIT_OK) {
		X509_free(peer);
		rl_identity_set_free(&set);
		return rc;
	}
	o.sender = rl_identity_set_signing(&set, time(NULL));
	o.receiver_cert = peer;
	o.tmp_dir = output;
	if (rl_outfile_open(&of, output, &err) < 0) {
		rc = rl_cli_fail(&err);
		goto out;
	}
	sink.write = rl_sink_file_write;
	sink.ctx = of.fp;
	if (rl_as4_pack(&o, &sink, 1, &sent, &err) < 0) {
		rl_outfile_abort(&of);
		rc = rl_cli_fail(&err);
		goto out;
	}
	if (rl_outfile_commit(&of, &err) < 0) {
		rc = rl_cli_fail(&err);
	} else {
		printf("%s\n", sent.message_id);
		rc = RL_EXIT_OK;
	}
	rl_as4_sent_free(&sent);
out:
	X509_free(peer);
	rl_identity_set_free(&set);
	return rc;
}

const struct rl_command rl_cmd_pack = {
	"pack", "pack a payload into a signed, encrypted AS4 message", usage, run_pack,
};
