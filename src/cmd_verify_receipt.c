/* cmd_verify_receipt.c - `relais verify-receipt`: checks an AS4 receipt (or error signal) file: its
 * signature, its signer's chain and, with --sent, that it acknowledges exactly the message sent. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/as4.h"
#include "relais/cli.h"
#include "relais/keys.h"
#include "commands.h"

#define RECEIPT_MAX (16u << 20)

static int run_verify_receipt(int argc, char **argv);

const struct rl_command rl_cmd_verify_receipt = {
	.name = "verify-receipt",
	.summary = "check a received AS4 receipt: signature, signer, acknowledged digests",
	.usage =
		"usage: relais verify-receipt --trust CA.pem [--sent MSG.mime] [--at now|receipt|TIME] R.mime\n"
		"\n"
		"Checks the receipt R.mime (a SOAP envelope, optionally after HTTP or MIME headers):\n"
		"its signature must cover eb:Messaging and Body and its signer must chain to CA.pem.\n"
		"An eb:Error signal is reported with the peer's error code (exit 1).\n"
		"\n"
		"  --trust CA.pem   trust anchors (PEM bundle or one DER certificate)\n"
		"  --sent MSG.mime  the message that was sent: the receipt must refer to its\n"
		"                   eb:MessageId and acknowledge every digest of its signature\n"
		"  --at WHEN        when the signer's certificate must be valid: now (default),\n"
		"                   receipt (the receipt's eb:Timestamp) or an xs:dateTime\n"
		"Exit status 0 when the receipt is valid, 1 when refused, 2 on usage errors.\n",
	.run = run_verify_receipt,
};

static int run_verify_receipt(int argc, char **argv)
{
	const char *trust_path = NULL, *sent_path = NULL, *at_text = "now", *receipt_path = NULL;
	struct rl_as4_signal_check chk = { 0 };
	struct rl_as4_signal_info info;
	struct rl_as4_sent sent;
	struct rl_buf data = RL_BUF_INIT;
	struct rl_trust *trust = NULL;
	struct rl_err err;
	int status, have_sent = 0;
	char cn[128];

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--trust") == 0 || strcmp(argv[i], "--sent") == 0 ||
		     strcmp(argv[i], "--at") == 0) && i + 1 >= argc)
			return rl_cli_usage_error(&rl_cmd_verify_receipt, "%s needs a value", argv[i]);
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return rl_cli_print_usage(&rl_cmd_verify_receipt);
		else if (strcmp(argv[i], "--trust") == 0)
			trust_path = argv[++i];
		else if (strcmp(argv[i], "--sent") == 0)
			sent_path = argv[++i];
		else if (strcmp(argv[i], "--at") == 0)
			at_text = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return rl_cli_usage_error(&rl_cmd_verify_receipt, "unknown option %s", argv[i]);
		else if (receipt_path == NULL)
			receipt_path = argv[i];
		else
			return rl_cli_usage_error(&rl_cmd_verify_receipt, "only one receipt file");
	}
	if (trust_path == NULL || receipt_path == NULL)
		return rl_cli_usage_error(&rl_cmd_verify_receipt, "--trust and a receipt file are required");
	if (strcmp(at_text, "now") == 0)
		chk.at = 0;
	else if (strcmp(at_text, "receipt") == 0)
		chk.at = -1;
	else if ((chk.at = rl_parse_datetime(at_text)) == -1)
		return rl_cli_usage_error(&rl_cmd_verify_receipt, "--at: not now, receipt or an xs:dateTime: %s",
					  at_text);
	if (rl_init(&err) < 0)
		return rl_cli_fail(&err);
	trust = rl_trust_load(trust_path, &err);
	if (trust == NULL) {
		err.code = RL_ERR_CONFIG;
		return rl_cli_fail(&err);
	}
	if (sent_path) {
		if (rl_as4_sent_from_file(sent_path, &sent, &err) < 0) {
			rl_trust_free(trust);
			return rl_cli_fail(&err);
		}
		have_sent = 1;
		chk.sent = &sent;
	}
	chk.trust = trust;
	if (rl_buf_read_file(&data, receipt_path, RECEIPT_MAX) < 0) {
		rl_err_set(&err, RL_ERR_IO, "cannot read %s", receipt_path);
		status = rl_cli_fail(&err);
	} else if (rl_as4_signal_check(data.data, data.len, NULL, &chk, &info, &err) < 0) {
		status = rl_cli_fail(&err);
		rl_as4_signal_info_free(&info);
	} else {
		printf("receipt %s for %s, signed by %s at %s: OK\n", info.message_id ? info.message_id : "(no id)",
		       info.ref_to_message_id ? info.ref_to_message_id : "(no RefToMessageId)",
		       rl_cert_cn(info.signer, cn, sizeof(cn)), info.timestamp ? info.timestamp : "(no timestamp)");
		rl_as4_signal_info_free(&info);
		status = RL_EXIT_OK;
	}
	if (have_sent)
		rl_as4_sent_free(&sent);
	rl_buf_free(&data);
	rl_trust_free(trust);
	return status;
}
