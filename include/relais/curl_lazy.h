/*
 * curl_lazy.h - libcurl, loaded with dlopen() the first time an HTTP request is made.
 *
 * relais is not linked with libcurl: an access point that has nothing to send does not carry libcurl
 * and the libraries behind it (HTTP/2, SSH, RTMP, PSL, brotli, zstd) in memory. Code that uses libcurl
 * calls rl_curl_load() first and then the functions through rl_curl, e.g. rl_curl.easy_init().
 * Types and constants still come from <curl/curl.h>.
 */
#ifndef RELAIS_CURL_LAZY_H
#define RELAIS_CURL_LAZY_H

#include <curl/curl.h>
#include "relais/err.h"

/* The libcurl functions relais uses, each with libcurl's own signature. */
struct rl_curl_api {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
	void (*slist_free_all)(struct curl_slist *list);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *u);
	CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
	CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
	void (*free)(void *p);
	char *(*version)(void);
};

/* Filled by the first successful rl_curl_load(); every member is set from then on. */
extern struct rl_curl_api rl_curl;

/*
 * Loads libcurl and runs curl_global_init() once per process; later calls return at once. Safe to call
 * from any thread. -1 with RL_ERR_INTERNAL when libcurl cannot be loaded (the message says why; every
 * later call fails the same way).
 */
int rl_curl_load(struct rl_err *err);

/* 1 when libcurl has been loaded in this process. */
int rl_curl_loaded(void);

/* curl_global_cleanup() when libcurl was loaded; at process end only, when no request is under way. */
void rl_curl_unload(void);

#endif
