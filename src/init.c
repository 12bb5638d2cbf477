/*
 * init.c - process-wide library initialisation: libxml2 (safe defaults), xmlsec, OpenSSL. libcurl is
 * initialised when it is loaded, at the first HTTP request (curl_lazy.h).
 */
#include "config.h"
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include "relais/cert_cache.h"
#include "relais/cli.h"
#include "relais/curl_lazy.h"
#include "relais/xml.h"

static int initialised;

int rl_init(struct rl_err *err)
{
	if (initialised)
		return 0;
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
	rl_curl_unload();
	initialised = 0;
}
