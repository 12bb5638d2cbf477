/*
 * smp_publish.c - builds the Peppol SMP 1.0 documents an SMP serves and signs SMP documents with xmlsec
 * (see include/relais/smp_publish.h).
 */
#include "config.h"
#include <string.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>
#include "relais/cli.h"
#include "relais/smp.h"
#include "relais/smp_publish.h"
#include "relais/xml.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"

/* Appends "<Name scheme="...">value</Name>". */
static int append_id(struct rl_buf *b, const char *element, const struct rl_peppol_id *id)
{
	return rl_buf_printf(b, "<%s scheme=\"", element) < 0 || rl_xml_escape(b, id->scheme) < 0 ||
			       rl_buf_puts(b, "\">") < 0 || rl_xml_escape(b, id->value) < 0 ||
			       rl_buf_printf(b, "</%s>", element) < 0
		       ? -1
		       : 0;
}

int rl_smp_build_service_group(struct rl_buf *out, const char *base_url, const struct rl_peppol_id *participant,
			       const struct rl_peppol_id *doctypes, size_t count, struct rl_err *err)
{
	struct rl_buf b = RL_BUF_INIT, href = RL_BUF_INIT;
	size_t base_len = strlen(base_url);
	int rc = -1;

	while (base_len > 0 && base_url[base_len - 1] == '/')
		base_len--;
	if (rl_buf_puts(&b, XML_DECL "<ServiceGroup xmlns=\"" RL_NS_SMP_PEPPOL "\" xmlns:ids=\"" RL_NS_SMP_PEPPOL_IDS
			    "\">") < 0 ||
	    append_id(&b, "ids:ParticipantIdentifier", participant) < 0 ||
	    rl_buf_puts(&b, "<ServiceMetadataReferenceCollection>") < 0)
		goto nomem;
	for (size_t i = 0; i < count; i++) {
		rl_buf_reset(&href);
		if (rl_buf_append(&href, base_url, base_len) < 0 || rl_buf_puts(&href, "/") < 0 ||
		    rl_peppol_id_uri_encoded(participant, &href) < 0 || rl_buf_puts(&href, "/services/") < 0 ||
		    rl_peppol_id_uri_encoded(&doctypes[i], &href) < 0 ||
		    rl_buf_puts(&b, "<ServiceMetadataReference href=\"") < 0 || rl_xml_escape(&b, href.data) < 0 ||
		    rl_buf_puts(&b, "\"/>") < 0)
			goto nomem;
	}
	if (rl_buf_puts(&b, "</ServiceMetadataReferenceCollection></ServiceGroup>\n") < 0 ||
	    rl_buf_append(out, b.data, b.len) < 0)
		goto nomem;
	rc = 0;
	goto out;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory");
out:
	rl_buf_free(&b);
	rl_buf_free(&href);
	return rc;
}

static int append_date(struct rl_buf *b, const char *element, time_t t)
{
	char text[40];

	if (!t)
		return 0;
	rl_format_datetime(t, 0, text, sizeof(text));
	return rl_buf_printf(b, "<%s>%s</%s>", element, text, element);
}

/* The unsigned document as text. */
static int metadata_text(struct rl_buf *b, const struct rl_peppol_id *participant, const struct rl_peppol_id *doctype,
			 const struct rl_peppol_id *process, const struct rl_smp_publish_endpoint *ep)
{
	if (rl_buf_puts(b, "<SignedServiceMetadata xmlns=\"" RL_NS_SMP_PEPPOL "\" xmlns:ids=\"" RL_NS_SMP_PEPPOL_IDS
			   "\" xmlns:wsa=\"" RL_NS_WSA "\"><ServiceMetadata><ServiceInformation>") < 0 ||
	    append_id(b, "ids:ParticipantIdentifier", participant) < 0 ||
	    append_id(b, "ids:DocumentIdentifier", doctype) < 0 || rl_buf_puts(b, "<ProcessList><Process>") < 0 ||
	    append_id(b, "ids:ProcessIdentifier", process) < 0 ||
	    rl_buf_puts(b, "<ServiceEndpointList><Endpoint transportProfile=\"") < 0 ||
	    rl_xml_escape(b, ep->transport_profile) < 0 ||
	    rl_buf_puts(b, "\"><wsa:EndpointReference><wsa:Address>") < 0 || rl_xml_escape(b, ep->url) < 0 ||
	    rl_buf_puts(b, "</wsa:Address></wsa:EndpointReference>"
			   "<RequireBusinessLevelSignature>false</RequireBusinessLevelSignature>") < 0 ||
	    append_date(b, "ServiceActivationDate", ep->activation) < 0 ||
	    append_date(b, "ServiceExpirationDate", ep->expiration) < 0 || rl_buf_puts(b, "<Certificate>") < 0 ||
	    rl_cert_to_der_base64(ep->cert, b) < 0 || rl_buf_puts(b, "</Certificate><ServiceDescription>") < 0 ||
	    rl_xml_escape(b, ep->description ? ep->description : "Peppol AS4 access point") < 0 ||
	    rl_buf_puts(b, "</ServiceDescription><TechnicalContactUrl>") < 0 ||
	    rl_xml_escape(b, ep->contact ? ep->contact : "") < 0 ||
	    rl_buf_puts(b, "</TechnicalContactUrl></Endpoint></ServiceEndpointList></Process></ProcessList>"
			   "</ServiceInformation></ServiceMetadata></SignedServiceMetadata>") < 0)
		return -1;
	return 0;
}

/* The signer certificate is written into KeyInfo after the signing (KeyInfo is outside SignedInfo). */
int rl_smp_sign_document(xmlDocPtr doc, const struct rl_identity *signer, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), sig, ref, x509data;
	xmlSecDSigCtxPtr ctx = NULL;
	xmlSecKeyDataPtr data;
	struct rl_buf b64 = RL_BUF_INIT;
	int rc = -1;

	if (!root || !signer || !signer->key || !signer->cert)
		return rl_err_set(err, RL_ERR_CONFIG, "signing an SMP response needs a document, a key and its certificate");
	if (rl_xmlsec_init(err) < 0)
		return -1;
	sig = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL);
	if (!sig || !xmlAddChild(root, sig)) {
		xmlFreeNode(sig);
		return rl_err_set(err, RL_ERR_CRYPTO, "cannot make the SMP signature template");
	}
	ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, (const xmlChar *)"", NULL);
	if (!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
	    !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId)) {
		rl_err_set(err, RL_ERR_CRYPTO, "cannot make the SMP signature template");
		goto out;
	}
	ctx = xmlSecDSigCtxCreate(NULL);
	if (!ctx || !(ctx->signKey = xmlSecKeyCreate()) || !EVP_PKEY_up_ref(signer->key)) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	data = xmlSecOpenSSLEvpKeyAdopt(signer->key);
	if (!data || xmlSecKeySetValue(ctx->signKey, data) < 0) {
		if (data)
			xmlSecKeyDataDestroy(data);
		else
			EVP_PKEY_free(signer->key);
		rl_err_set(err, RL_ERR_CRYPTO, "the SMP key cannot be used for signing");
		goto out;
	}
	if (xmlSecDSigCtxSign(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) {
		rl_err_set(err, RL_ERR_CRYPTO, "signing the SMP response failed");
		goto out;
	}
	x509data = xmlSecTmplKeyInfoAddX509Data(xmlSecTmplSignatureEnsureKeyInfo(sig, NULL));
	if (!x509data || rl_cert_to_der_base64(signer->cert, &b64) < 0 ||
	    !xmlNewChild(x509data, x509data->ns, (const xmlChar *)"X509Certificate", (const xmlChar *)b64.data)) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	rl_buf_free(&b64);
	if (ctx)
		xmlSecDSigCtxDestroy(ctx);
	return rc;
}

int rl_smp_build_signed_metadata(struct rl_buf *out, const struct rl_peppol_id *participant,
				 const struct rl_peppol_id *doctype, const struct rl_peppol_id *process,
				 const struct rl_smp_publish_endpoint *ep, const struct rl_identity *signer,
				 struct rl_err *err)
{
	struct rl_buf text = RL_BUF_INIT;
	xmlDocPtr doc = NULL;
	int rc = -1;

	if (!ep->cert || !signer || !signer->key || !signer->cert)
		return rl_err_set(err, RL_ERR_CONFIG, "SMP response needs an endpoint certificate and a signing key");
	if (metadata_text(&text, participant, doctype, process, ep) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	doc = rl_xml_parse(text.data, text.len, RL_ERR_INTERNAL, "our SMP response", err);
	if (!doc || rl_smp_sign_document(doc, signer, err) < 0)
		goto out;
	if (rl_buf_puts(out, XML_DECL) < 0 || rl_xml_dump(doc, xmlDocGetRootElement(doc), out) < 0 ||
	    rl_buf_puts(out, "\n") < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	rl_buf_free(&text);
	return rc;
}
