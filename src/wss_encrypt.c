/*
 * wss_encrypt.c - the receiving half of WS-Security encryption: which of our identities an
 * xenc:EncryptedKey names (BST reference, issuer and serial, subject key identifier), and unwrapping its
 * AES key with RSA-OAEP (xmlenc11#rsa-oaep with SHA-256/MGF1-SHA256 in Peppol; other digests and
 * xmlenc#rsa-oaep-mgf1p only when the policy is relaxed). See include/relais/wss_encrypt.h.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include "relais/crypto.h"
#include "relais/keys.h"
#include "relais/wss_encrypt.h"
#include "relais/wss_sign.h"
#include "relais/xml.h"

#define ALG_RSA_OAEP11 "http://www.w3.org/2009/xmlenc11#rsa-oaep"
#define ALG_RSA_OAEP_MGF1P "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
#define SKI_VALUE_TYPE \
	"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"

/* Finds which of our identities the EncryptedKey's KeyInfo names. */
const struct rl_identity *rl_wss_key_owner(xmlNodePtr ek, const struct rl_identity *const *ids, int n,
					    struct rl_err *err)
{
	xmlNodePtr ki = rl_xml_child(ek, RL_NS_DS, "KeyInfo");
	xmlNodePtr str = rl_xml_child(ki, RL_NS_WSSE, "SecurityTokenReference");
	xmlNodePtr x509data = rl_xml_child(str ? str : ki, RL_NS_DS, "X509Data");
	xmlNodePtr ref = rl_xml_child(str, RL_NS_WSSE, "Reference");
	xmlNodePtr kid = rl_xml_child(str, RL_NS_WSSE, "KeyIdentifier");
	char what[256] = "an unnamed certificate";

	if (x509data == NULL && ki)
		x509data = rl_xml_child(ki, RL_NS_DS, "X509Data");
	if (ref) {
		char *uri = rl_xml_attr(ref, NULL, "URI");
		xmlNodePtr bst = NULL;
		int count = 0;
		X509 *cert = NULL;

		if (uri && uri[0] == '#')
			bst = rl_wss_find_id(ek->doc, uri + 1, &count);
		free(uri);
		if (bst == NULL || count != 1 || !rl_xml_is(bst, RL_NS_WSSE, "BinarySecurityToken")) {
			rl_err_set(err, RL_EBMS_FAILED_DECRYPTION,
				   "the EncryptedKey refers to no (or an ambiguous) BinarySecurityToken");
			return NULL;
		}
		{
			char *b64 = rl_xml_text(bst);
			struct rl_err e2;

			cert = b64 ? rl_cert_from_base64(b64, &e2) : NULL;
			free(b64);
		}
		if (cert == NULL) {
			rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey's certificate cannot be read");
			return NULL;
		}
		for (int i = 0; i < n; i++)
			if (rl_cert_equal(ids[i]->cert, cert)) {
				X509_free(cert);
				return ids[i];
			}
		{
			char *s = rl_cert_subject(cert);
			snprintf(what, sizeof(what), "%s", s ? s : "?");
			free(s);
		}
		X509_free(cert);
	} else if (kid) {
		char *vt = rl_xml_attr(kid, NULL, "ValueType");
		char *text = rl_xml_text(kid);
		struct rl_buf ski = RL_BUF_INIT;
		int usable = vt && strcmp(vt, SKI_VALUE_TYPE) == 0 && text &&
			     rl_base64_decode(text, strlen(text), &ski) == 0;

		free(vt);
		free(text);
		if (!usable) {
			rl_buf_free(&ski);
			rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey's KeyIdentifier is not usable");
			return NULL;
		}
		for (int i = 0; i < n; i++)
			if (rl_cert_matches_ski(ids[i]->cert, (unsigned char *)ski.data, ski.len)) {
				rl_buf_free(&ski);
				return ids[i];
			}
		rl_buf_free(&ski);
		snprintf(what, sizeof(what), "the certificate with that subject key identifier");
	} else if (x509data) {
		xmlNodePtr is = rl_xml_child(x509data, RL_NS_DS, "X509IssuerSerial");
		char *issuer = rl_xml_text(rl_xml_child(is, RL_NS_DS, "X509IssuerName"));
		char *serial = rl_xml_text(rl_xml_child(is, RL_NS_DS, "X509SerialNumber"));

		if (issuer && serial) {
			for (int i = 0; i < n; i++)
				if (rl_cert_matches_issuer_serial(ids[i]->cert, issuer, serial)) {
					free(issuer);
					free(serial);
					return ids[i];
				}
			snprintf(what, sizeof(what), "serial %s of %s", serial, issuer);
		}
		free(issuer);
		free(serial);
	} else {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey does not name its certificate");
		return NULL;
	}
	rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the message was encrypted for %s, not for our certificate",
		   what);
	return NULL;
}

/* Checks the EncryptedKey's algorithms and unwraps the AES key. */
int rl_wss_unwrap_key(xmlNodePtr ek, const struct rl_identity *const *ids, int n, int allow_non_peppol,
		      unsigned char key_out[RL_AES128_KEY_LEN], char *algorithm, size_t algorithm_size,
		      struct rl_err *err)
{
	xmlNodePtr em = rl_xml_child(ek, RL_NS_XENC, "EncryptionMethod");
	char *alg = rl_xml_attr(em, NULL, "Algorithm");
	const EVP_MD *oaep_md = EVP_sha1(), *mgf_md = EVP_sha1();
	const struct rl_identity *id;
	struct rl_buf cipher = RL_BUF_INIT, key = RL_BUF_INIT;
	char *b64;
	int rc = -1;

	if (alg && strcmp(alg, ALG_RSA_OAEP11) == 0) {
		char *dm = rl_xml_attr(rl_xml_child(em, RL_NS_DS, "DigestMethod"), NULL, "Algorithm");
		char *mgf = rl_xml_attr(rl_xml_child(em, RL_NS_XENC11, "MGF"), NULL, "Algorithm");

		oaep_md = dm ? rl_md_from_uri(dm) : EVP_sha1();
		mgf_md = mgf ? rl_mgf_md_from_uri(mgf) : EVP_sha1();
		free(dm);
		free(mgf);
		if (oaep_md == NULL || mgf_md == NULL) {
			free(alg);
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					  "unknown RSA-OAEP digest or MGF algorithm");
		}
		if (!allow_non_peppol &&
		    (EVP_MD_type(oaep_md) != NID_sha256 || EVP_MD_type(mgf_md) != NID_sha256)) {
			free(alg);
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE,
					  "RSA-OAEP must use SHA-256 and MGF1-SHA256 in Peppol");
		}
		snprintf(algorithm, algorithm_size, "rsa-oaep(%s,mgf1%s)",
			 EVP_MD_type(oaep_md) == NID_sha256 ? "sha256" : OBJ_nid2sn(EVP_MD_type(oaep_md)),
			 EVP_MD_type(mgf_md) == NID_sha256 ? "sha256" : OBJ_nid2sn(EVP_MD_type(mgf_md)));
	} else if (alg && strcmp(alg, ALG_RSA_OAEP_MGF1P) == 0 && allow_non_peppol) {
		char *dm = rl_xml_attr(rl_xml_child(em, RL_NS_DS, "DigestMethod"), NULL, "Algorithm");

		oaep_md = dm ? rl_md_from_uri(dm) : EVP_sha1();
		free(dm);
		if (oaep_md == NULL) {
			free(alg);
			return rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "unknown RSA-OAEP digest");
		}
		snprintf(algorithm, algorithm_size, "rsa-oaep-mgf1p");
	} else {
		rl_err_set(err, RL_EBMS_POLICY_NONCOMPLIANCE, "key transport algorithm %s is not allowed",
			   alg ? alg : "(none)");
		free(alg);
		return -1;
	}
	free(alg);

	id = rl_wss_key_owner(ek, ids, n, err);
	if (id == NULL)
		return -1;
	b64 = rl_xml_text(rl_xml_child(rl_xml_child(ek, RL_NS_XENC, "CipherData"), RL_NS_XENC, "CipherValue"));
	if (b64 == NULL || rl_base64_decode(b64, strlen(b64), &cipher) != 0) {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the EncryptedKey has no readable CipherValue");
		goto out;
	}
	if (rl_rsa_oaep_decrypt(id->key, oaep_md, mgf_md, NULL, 0, (unsigned char *)cipher.data, cipher.len,
				&key, err) != 0) {
		err->code = RL_EBMS_FAILED_DECRYPTION;
		goto out;
	}
	if (key.len != RL_AES128_KEY_LEN) {
		rl_err_set(err, RL_EBMS_FAILED_DECRYPTION, "the unwrapped key is %zu bytes, not 16", key.len);
		goto out;
	}
	memcpy(key_out, key.data, RL_AES128_KEY_LEN);
	rc = 0;
out:
	free(b64);
	rl_buf_free(&cipher);
	if (key.data)
		OPENSSL_cleanse(key.data, key.len);
	rl_buf_free(&key);
	return rc;
}
