/* init.c - process-wide library initialisation: libxml2 (safe defaults), xmlsec, OpenSSL, libcurl. */
#include "config.h"
#include <curl/curl.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include "relais/cert_cache.h"
#include "relais/cli.h"
#include "relais/xml.h"

static int initialised;

int rl_init(struct rl_err *err)
{
	if (initialised)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rl_err_set(err, RL_ERR_INTERNAL, "libcurl initialisation failed");
	rl_xml_init();
	if (xmlSecInit() < 0)
		return rl_err_set(err, RL_ERR_CRYPTO, "xmlsec initialisation failed");
	if (xmlSecCheckVersion() != 1) {
		xmlSecShutdown();
		return rl_err_set(err, RL_ERR_CRYPTO, "xmlsec library version mismatch");
	}
	if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
		xmlSecShutdown();
		return rl_err_set(err, RL_ERR_CRYPTO, "xmlsec-openssl initialisation failed");
	}
	initialised = 1;
	return 0;
}

void rl_shutdown(void)
{
	if (!initialised)
		return;
	rl_cert_cache_clear();
	xmlSecCryptoShutdown();
	xmlSecCryptoAppShutdown();
	xmlSecShutdown();
	xmlCleanupParser();
	curl_global_cleanup();
	initialised = 0;
}
