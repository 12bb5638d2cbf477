/*
 * test_signal.c - AS4 signals: our receipts and error signals are checked by rl_as4_signal_check (wrong
 * RefToMessageId, missing digest, tampering and an untrusted signer refused), and real receipts from
 * Peppol access points pass it (files from ../shared/interop-corpus/as4/phase4/, trusted through the
 * Peppol G2 test CAs of ../shared/interop-corpus/keys/peppol-ca/2018/ and, for TestReceipt12.xml, the
 * G3 test CAs of ../shared/interop-corpus/keys/peppol-ca/2025/).
 */
#include "config.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include "relais/as4.h"
#include "relais/buf.h"
#include "relais/cli.h"
#include "relais/keys.h"
#include "relais/wss_sign.h"
#include "relais/stream.h"
#include "relais/xml.h"

static const char *pki_path(const char *name, char *out, size_t size)
{
	const char *builddir = getenv("top_builddir");

	snprintf(out, size, "%s/tests/pki/%s", builddir ? builddir : ".", name);
	return out;
}

static void load_identity(struct rl_identity *id, const char *who)
{
	char key[4096], cert[4096], kname[64], cname[64];
	struct rl_err err;

	snprintf(kname, sizeof(kname), "%s.key.pem", who);
	snprintf(cname, sizeof(cname), "%s.cert.pem", who);
	if (rl_identity_load_pem(id, pki_path(kname, key, sizeof(key)), pki_path(cname, cert, sizeof(cert)), NULL,
				 &err) < 0)
		fail_msg("%s: %s", who, err.msg);
}

static struct rl_trust *load_trust(const char *name)
{
	char path[4096];
	struct rl_err err;
	struct rl_trust *t = rl_trust_load(pki_path(name, path, sizeof(path)), &err);

	if (t == NULL)
		fail_msg("%s: %s", name, err.msg);
	return t;
}

/* A sent message: an envelope signed by POP000001 over eb:Messaging and Body; its id and references. */
static void make_sent(struct rl_as4_sent *sent)
{
	static const char tmpl[] =
		"<S12:Envelope xmlns:S12='" RL_NS_SOAP12 "'><S12:Header>"
		"<wsse:Security xmlns:wsse='" RL_NS_WSSE "' xmlns:wsu='" RL_NS_WSU "' S12:mustUnderstand='true'/>"
		"<eb:Messaging xmlns:eb='" RL_NS_EB "' xmlns:wsu='" RL_NS_WSU "' wsu:Id='m1'><eb:UserMessage>"
		"<eb:MessageInfo><eb:MessageId>sent-1@test</eb:MessageId></eb:MessageInfo></eb:UserMessage>"
		"</eb:Messaging></S12:Header><S12:Body xmlns:wsu='" RL_NS_WSU "' wsu:Id='b1'>hello</S12:Body>"
		"</S12:Envelope>";
	struct rl_identity id;
	struct rl_err err;
	xmlDocPtr doc = rl_xml_parse(tmpl, sizeof(tmpl) - 1, RL_EBMS_INVALID_HEADER, "template", &err);
	xmlNodePtr env = xmlDocGetRootElement(doc), header = rl_xml_child(env, RL_NS_SOAP12, "Header");
	struct rl_wss_sign_ref refs[2] = {
		{ rl_xml_child(header, RL_NS_EB, "Messaging"), NULL, NULL },
		{ rl_xml_child(env, RL_NS_SOAP12, "Body"), NULL, NULL },
	};
	xmlNodePtr signed_info;

	load_identity(&id, "POP000001");
	assert_int_equal(rl_wss_sign(rl_xml_child(header, RL_NS_WSSE, "Security"), id.key, id.cert, "X509-1", refs,
				     2, &err), 0);
	memset(sent, 0, sizeof(*sent));
	sent->message_id = strdup("sent-1@test");
	signed_info = rl_xml_child(rl_xml_child(rl_xml_child(header, RL_NS_WSSE, "Security"), RL_NS_DS, "Signature"),
				   RL_NS_DS, "SignedInfo");
	for (xmlNodePtr r = rl_xml_child(signed_info, RL_NS_DS, "Reference"); r; r = rl_xml_next(r, RL_NS_DS, "Reference"))
		assert_int_equal(rl_xml_dump(doc, r, &sent->references), 0);
	assert_int_equal(rl_xml_count(signed_info, RL_NS_DS, "Reference"), 2);
	xmlFreeDoc(doc);
	rl_identity_free(&id);
}

static void free_sent(struct rl_as4_sent *s)
{
	free(s->message_id);
	free(s->content_type);
	rl_buf_free(&s->references);
}

/* A receipt signed by `who` for a message with that id and those references. */
static void make_receipt(const char *who, const char *ref_to, const struct rl_buf *refs, struct rl_buf *out)
{
	struct rl_as4_received r;
	struct rl_identity id;
	struct rl_err err;
	char *receipt_id = NULL;

	memset(&r, 0, sizeof(r));
	r.um.message_id = (char *)ref_to;
	r.references = *refs;
	load_identity(&id, who);
	if (rl_as4_receipt_build(&r, &id, out, &receipt_id, &err) < 0)
		fail_msg("receipt: %s", err.msg);
	assert_non_null(strstr(receipt_id, "@relais"));
	assert_non_null(strstr(out->data, receipt_id));
	free(receipt_id);
	rl_identity_free(&id);
}

static int check(const struct rl_buf *receipt, const struct rl_trust *trust, const struct rl_as4_sent *sent,
		 struct rl_as4_signal_info *info, struct rl_err *err)
{
	struct rl_as4_signal_check chk = { trust, NULL, sent, 0, 0 };

	return rl_as4_signal_check(receipt->data, receipt->len, "application/soap+xml", &chk, info, err);
}

static void test_own_receipt(void **state)
{
	struct rl_as4_sent sent;
	struct rl_buf receipt = RL_BUF_INIT, wrapped = RL_BUF_INIT;
	struct rl_trust *trust = load_trust("ca-chain.pem");
	struct rl_as4_signal_info info;
	struct rl_err err;
	char cn[64];
	char *hit;

	(void)state;
	make_sent(&sent);
	make_receipt("POP000002", "sent-1@test", &sent.references, &receipt);
	assert_non_null(strstr(receipt.data, "MessagePartNRInformation"));

	if (check(&receipt, trust, &sent, &info, &err) < 0)
		fail_msg("own receipt: %s", err.msg);
	assert_string_equal(info.ref_to_message_id, "sent-1@test");
	assert_string_equal(rl_cert_cn(info.signer, cn, sizeof(cn)), "POP000002");
	assert_int_equal(info.is_error, 0);
	rl_as4_signal_info_free(&info);

	/* after HTTP headers and inside a multipart wrapper */
	rl_buf_printf(&wrapped, "Content-Type: multipart/related; boundary=b1\r\n\r\n--b1\r\n"
				"Content-Type: application/soap+xml\r\nContent-ID: <root@x>\r\n\r\n%s\r\n--b1--\r\n",
		      receipt.data);
	assert_int_equal(check(&wrapped, trust, &sent, &info, &err), 0);
	rl_as4_signal_info_free(&info);
	rl_buf_free(&wrapped);

	/* tampered: the RefToMessageId edited after signing */
	rl_buf_puts(&wrapped, receipt.data);
	hit = strstr(wrapped.data, "sent-1@test");
	hit[0] = 'S';
	assert_int_equal(check(&wrapped, trust, &sent, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	rl_as4_signal_info_free(&info);
	rl_buf_free(&wrapped);

	/* signed by a certificate of another CA */
	make_receipt("POP000666", "sent-1@test", &sent.references, &wrapped);
	assert_int_equal(check(&wrapped, trust, &sent, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
	rl_as4_signal_info_free(&info);
	rl_buf_free(&wrapped);

	/* without a sent message only the signature is checked */
	assert_int_equal(check(&receipt, trust, NULL, &info, &err), 0);
	rl_as4_signal_info_free(&info);

	/* the expected signer, and validity at the receipt's own eb:Timestamp */
	{
		struct rl_identity p1, p2;
		struct rl_as4_signal_check chk = { trust, NULL, &sent, -1, 0 };

		load_identity(&p1, "POP000001");
		load_identity(&p2, "POP000002");
		chk.expected_signer = p2.cert;
		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), 0);
		rl_as4_signal_info_free(&info);
		chk.expected_signer = p1.cert;
		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), -1);
		assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
		assert_non_null(strstr(err.msg, "POP000002"));
		rl_as4_signal_info_free(&info);
		rl_identity_free(&p1);
		rl_identity_free(&p2);
	}

	rl_buf_free(&receipt);
	free_sent(&sent);
	rl_trust_free(trust);
}

static void test_receipt_for_other_message(void **state)
{
	struct rl_as4_sent sent;
	struct rl_buf receipt = RL_BUF_INIT, first_only = RL_BUF_INIT;
	struct rl_trust *trust = load_trust("ca-chain.pem");
	struct rl_as4_signal_info info;
	struct rl_err err;
	char *second;

	(void)state;
	make_sent(&sent);
	/* a valid receipt, but for another message id */
	make_receipt("POP000002", "other@test", &sent.references, &receipt);
	assert_int_equal(check(&receipt, trust, &sent, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_INVALID_RECEIPT);
	assert_non_null(strstr(err.msg, "other@test"));
	rl_as4_signal_info_free(&info);
	rl_buf_free(&receipt);

	/* a receipt acknowledging only the first reference: the Body digest is missing */
	second = strstr(sent.references.data + 1, "<ds:Reference");
	assert_non_null(second);
	rl_buf_append(&first_only, sent.references.data, (size_t)(second - sent.references.data));
	make_receipt("POP000002", "sent-1@test", &first_only, &receipt);
	assert_int_equal(check(&receipt, trust, &sent, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_INVALID_RECEIPT);
	assert_non_null(strstr(err.msg, "#b1"));
	rl_as4_signal_info_free(&info);

	rl_buf_free(&first_only);
	rl_buf_free(&receipt);
	free_sent(&sent);
	rl_trust_free(trust);
}

static void test_error_signal(void **state)
{
	struct rl_as4_sent sent;
	struct rl_buf signal = RL_BUF_INIT;
	struct rl_trust *trust = load_trust("ca-chain.pem");
	struct rl_identity id;
	struct rl_as4_signal_info info;
	struct rl_err refusal, err;

	(void)state;
	make_sent(&sent);
	rl_err_set(&refusal, RL_EBMS_FAILED_DECRYPTION, "the symmetric key cannot be decrypted <by us>");
	rl_err_detail(&refusal, "PEPPOL:TEST");
	load_identity(&id, "POP000002");
	assert_int_equal(rl_as4_error_build(&refusal, "sent-1@test", &id, &signal, &err), 0);
	assert_non_null(strstr(signal.data, "errorCode=\"EBMS:0102\""));
	assert_non_null(strstr(signal.data, "refToMessageInError=\"sent-1@test\""));
	assert_non_null(strstr(signal.data, "&lt;by us&gt;"));
	assert_non_null(strstr(signal.data, "<eb:ErrorDetail>PEPPOL:TEST</eb:ErrorDetail>"));

	assert_int_equal(check(&signal, trust, &sent, &info, &err), -1);
	assert_int_equal(err.code, RL_EBMS_FAILED_DECRYPTION);
	assert_int_equal(info.is_error, 1);
	assert_int_equal(info.error_code, 102);
	assert_non_null(strstr(err.msg, "cannot be decrypted"));
	assert_non_null(strstr(info.error_text, "FailedDecryption"));
	rl_as4_signal_info_free(&info);
	rl_buf_free(&signal);

	/* a local failure goes out as EBMS:0004, without a RefToMessageId when the id is unknown */
	rl_err_set(&refusal, RL_ERR_IO, "disk full");
	assert_int_equal(rl_as4_error_build(&refusal, NULL, &id, &signal, &err), 0);
	assert_non_null(strstr(signal.data, "errorCode=\"EBMS:0004\""));
	assert_null(strstr(signal.data, "RefToMessageId"));
	assert_int_equal(check(&signal, trust, NULL, &info, &err), -1);
	assert_int_equal(info.error_code, 4);
	rl_as4_signal_info_free(&info);

	rl_buf_free(&signal);
	rl_identity_free(&id);
	free_sent(&sent);
	rl_trust_free(trust);
}

/* The Peppol G2 test CAs (DER .cer) and G3 test CAs (PEM, for TestReceipt12.xml) as one PEM bundle. */
static void write_test_ca_bundle(const char *shared, const char *out_path)
{
	static const char *names[] = { "2018/Peppol_Test_Root_CA.cer", "2018/Peppol_Test_AccessPoint_CA.cer",
				       "2025/PEPPOL_Root_TEST_CA-G3.pem", "2025/PEPPOL_ACCESS_POINT_TEST_CA-G3.pem" };
	FILE *out = fopen(out_path, "w");
	struct rl_err err;

	assert_non_null(out);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[4096];
		struct rl_buf der = RL_BUF_INIT;
		X509 *cert;

		snprintf(path, sizeof(path), "%s/interop-corpus/keys/peppol-ca/%s", shared, names[i]);
		assert_int_equal(rl_buf_read_file(&der, path, 1 << 20), 0);
		if (strncmp(der.data, "-----BEGIN", 10) == 0) {
			fputs(der.data, out);
			rl_buf_free(&der);
			continue;
		}
		cert = rl_cert_from_der((const unsigned char *)der.data, der.len, &err);
		assert_non_null(cert);
		assert_int_equal(PEM_write_X509(out, cert), 1);
		X509_free(cert);
		rl_buf_free(&der);
	}
	fclose(out);
}

static void test_real_receipts(void **state)
{
	static const char *files[] = {
		"as4/phase4/received-receipts/governikus.as4in",		/* Governikus, POP000260 */
		"as4/phase4/received-receipts/helger.as4in",			/* phase4, POP000306 */
		"as4/phase4/received-receipts/dataport1-mustunderstand.as4in",	/* Dataport, PDE000357 */
		"as4/phase4/testfiles/TestReceipt12.xml",			/* BTC AG */
	};
	const char *shared = getenv("RELAIS_SHARED_DIR");
	char bundle[4096], path[4096];
	struct rl_as4_signal_check chk = { NULL, NULL, NULL, -1, 0 };
	struct rl_as4_signal_info info;
	struct rl_trust *trust;
	struct rl_err err;

	(void)state;
	if (shared == NULL || *shared == '\0')
		skip();
	pki_path("peppol-test-cas-signal.pem", bundle, sizeof(bundle));
	write_test_ca_bundle(shared, bundle);
	trust = rl_trust_load(bundle, &err);
	if (trust == NULL)
		fail_msg("%s: %s", bundle, err.msg);
	chk.trust = trust;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct rl_buf data = RL_BUF_INIT;

		snprintf(path, sizeof(path), "%s/interop-corpus/%s", shared, files[i]);
		assert_int_equal(rl_buf_read_file(&data, path, 16 << 20), 0);
		if (rl_as4_signal_check(data.data, data.len, NULL, &chk, &info, &err) < 0)
			fail_msg("%s: %s", files[i], err.msg);
		assert_non_null(info.signer);
		assert_non_null(info.ref_to_message_id);
		print_message("%s: receipt for %s\n", files[i], info.ref_to_message_id);
		rl_as4_signal_info_free(&info);
		rl_buf_free(&data);
	}
	/* phase4's edited copy of the Dataport receipt: its eb:Messaging no longer matches the signature */
	{
		struct rl_buf data = RL_BUF_INIT;

		snprintf(path, sizeof(path), "%s/interop-corpus/as4/phase4/received-receipts/dataport1.as4in", shared);
		assert_int_equal(rl_buf_read_file(&data, path, 16 << 20), 0);
		assert_int_equal(rl_as4_signal_check(data.data, data.len, NULL, &chk, &info, &err), -1);
		assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
		rl_as4_signal_info_free(&info);
		rl_buf_free(&data);
	}
	/* at "now" their certificates have expired */
	{
		struct rl_buf data = RL_BUF_INIT;

		chk.at = 0;
		snprintf(path, sizeof(path), "%s/interop-corpus/%s", shared, files[0]);
		assert_int_equal(rl_buf_read_file(&data, path, 16 << 20), 0);
		assert_int_equal(rl_as4_signal_check(data.data, data.len, NULL, &chk, &info, &err), -1);
		assert_int_equal(err.code, RL_EBMS_FAILED_AUTHENTICATION);
		rl_as4_signal_info_free(&info);
		rl_buf_free(&data);
	}
	rl_trust_free(trust);
	remove(bundle);
}

/* Packs the SBD at payload_path for POP000002 into the file at out_path, with MessageId message_id. */
static void pack_to_file(const char *payload_path, const char *message_id, const char *out_path,
			 struct rl_as4_sent *sent)
{
	char path[4096];
	struct rl_identity sender;
	struct rl_as4_pack_opts o;
	struct rl_err err;
	FILE *out = fopen(out_path, "wb");
	struct rl_sink sink = { rl_sink_file_write, out };
	X509 *receiver = rl_cert_load_pem(pki_path("POP000002.cert.pem", path, sizeof(path)), &err);

	assert_non_null(out);
	assert_non_null(receiver);
	load_identity(&sender, "POP000001");
	memset(&o, 0, sizeof(o));
	o.sender = &sender;
	o.receiver_cert = receiver;
	o.payload_path = payload_path;
	o.message_id = message_id;
	o.tmp_dir = "/tmp";
	if (rl_as4_pack(&o, &sink, 1, sent, &err) < 0)
		fail_msg("pack: %s", err.msg);
	fclose(out);
	X509_free(receiver);
	rl_identity_free(&sender);
}

/* A resend is answered by the receiver's duplicate detection with the receipt of the first attempt. That
 * receipt does not acknowledge the resend's envelope, but it does acknowledge its payload: the compressed
 * payload, and so its digest, is the same at every attempt. A different payload is not acknowledged. */
static void test_receipt_of_unrecorded_attempt(void **state)
{
	const char *srcdir = getenv("top_srcdir");
	char sbd[4096], other[] = "/tmp/relais-test-signal-other-XXXXXX", msg1[] = "/tmp/relais-test-signal-1-XXXXXX";
	char msg2[] = "/tmp/relais-test-signal-2-XXXXXX", msg3[] = "/tmp/relais-test-signal-3-XXXXXX";
	struct rl_as4_sent first, resend, changed;
	struct rl_identity receiver;
	const struct rl_identity *receivers[1] = { &receiver };
	struct rl_trust *trust = load_trust("ca-chain.pem");
	struct rl_as4_unpack_opts u;
	struct rl_as4_received r;
	struct rl_as4_signal_info info;
	struct rl_buf receipt = RL_BUF_INIT, doc = RL_BUF_INIT;
	struct rl_err err;
	char *receipt_id = NULL;
	FILE *fp;

	(void)state;
	snprintf(sbd, sizeof(sbd), "%s/examples/invoice-sbd.xml", srcdir ? srcdir : ".");
	assert_int_equal(rl_buf_read_file(&doc, sbd, 1 << 20), 0);
	/* The same document with one more note: another payload. */
	assert_true(close(mkstemp(other)) == 0);
	fp = fopen(other, "wb");
	assert_non_null(fp);
	{
		const char *end = strstr(doc.data, "</StandardBusinessDocument>");

		assert_non_null(end);
		fwrite(doc.data, 1, (size_t)(end - doc.data), fp);
		fputs("<!-- changed -->", fp);
		fputs(end, fp);
	}
	fclose(fp);
	assert_true(close(mkstemp(msg1)) == 0 && close(mkstemp(msg2)) == 0 && close(mkstemp(msg3)) == 0);
	pack_to_file(sbd, "resent@test", msg1, &first);
	pack_to_file(sbd, "resent@test", msg2, &resend);
	pack_to_file(other, "resent@test", msg3, &changed);

	/* The receiver gets the first attempt and answers it. */
	load_identity(&receiver, "POP000002");
	memset(&u, 0, sizeof(u));
	u.identities = receivers;
	u.identity_count = 1;
	u.trust = trust;
	u.tmp_dir = "/tmp";
	memset(&r, 0, sizeof(r));
	if (rl_as4_unpack_file(&u, msg1, &r, &err) < 0)
		fail_msg("unpack: %s", err.msg);
	if (rl_as4_receipt_build(&r, &receiver, &receipt, &receipt_id, &err) < 0)
		fail_msg("receipt: %s", err.msg);
	rl_as4_received_free(&r);

	{
		struct rl_as4_signal_check chk = { trust, NULL, &first, 0, 0 };

		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), 0);
		rl_as4_signal_info_free(&info);
		/* Against the resend: the envelope's digests differ; its payload's do not. */
		chk.sent = &resend;
		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), -1);
		assert_int_equal(err.code, RL_EBMS_INVALID_RECEIPT);
		rl_as4_signal_info_free(&info);
		chk.attachments_only = 1;
		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), 0);
		assert_string_equal(info.ref_to_message_id, "resent@test");
		rl_as4_signal_info_free(&info);
		/* Another payload under the same MessageId is not acknowledged. */
		chk.sent = &changed;
		assert_int_equal(rl_as4_signal_check(receipt.data, receipt.len, NULL, &chk, &info, &err), -1);
		assert_int_equal(err.code, RL_EBMS_INVALID_RECEIPT);
		assert_non_null(strstr(err.msg, "does not acknowledge the digest of cid:"));
		rl_as4_signal_info_free(&info);
	}
	unlink(other);
	unlink(msg1);
	unlink(msg2);
	unlink(msg3);
	free(receipt_id);
	rl_buf_free(&receipt);
	rl_buf_free(&doc);
	rl_as4_sent_free(&first);
	rl_as4_sent_free(&resend);
	rl_as4_sent_free(&changed);
	rl_identity_free(&receiver);
	rl_trust_free(trust);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_receipt),
		cmocka_unit_test(test_receipt_for_other_message),
		cmocka_unit_test(test_error_signal),
		cmocka_unit_test(test_real_receipts),
		cmocka_unit_test(test_receipt_of_unrecorded_attempt),
	};
	struct rl_err err;

	if (rl_init(&err) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
