/*
 * init.c - process-wide library initialisation: libxml2 (safe defaults) and OpenSSL's error strings at
 * start; xmlsec (SMP signatures only) at its first use, rl_xmlsec_init(), so that a daemon that never
 * looks up an SMP does not carry what it registers; libcurl when it is loaded, at the first HTTP request
 * (curl_lazy.h).
 */
#include "config.h"
#include <pthread.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include "relais/cert_cache.h"
#include "relais/cli.h"
#include "relais/curl_lazy.h"
#include "relais/xml.h"

static int initialised;
static pthread_once_t xmlsec_once = PTHREAD_ONCE_INIT;
static int xmlsec_state;		/* 0 not tried, 1 ready, -1 failed (with xmlsec_problem) */
static const char *xmlsec_problem;

int rl_init(struct rl_err *err)
{
	if (initialised)
		return 0;
	rl_xml_init();
	/* Our error messages quote OpenSSL's reasons: its strings are loaded now, once. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1)
		return rl_err_set(err, RL_ERR_CRYPTO, "OpenSSL initialisation failed");
	initialised = 1;
	return 0;
}

static void xmlsec_start(void)
{
	if (xmlSecInit() < 0) {
		xmlsec_problem = "xmlsec initialisation failed";
	} else if (xmlSecCheckVersion() != 1) {
		xmlSecShutdown();
		xmlsec_problem = "xmlsec library version mismatch";
	} else if (xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0) {
		xmlSecShutdown();
		xmlsec_problem = "xmlsec-openssl initialisation failed";
	}
	xmlsec_state = xmlsec_problem ? -1 : 1;
}

int rl_xmlsec_init(struct rl_err *err)
{
	pthread_once(&xmlsec_once, xmlsec_start);
	return xmlsec_state == 1 ? 0 : rl_err_set(err, RL_ERR_CRYPTO, "%s", xmlsec_problem);
}

void rl_shutdown(void)
{
	if (!initialised)
		return;
	rl_cert_cache_clear();
	if (xmlsec_state == 1) {
		xmlSecCryptoShutdown();
		xmlSecCryptoAppShutdown();
		xmlSecShutdown();
	}
	xmlCleanupParser();
	rl_curl_unload();
	initialised = 0;
}
