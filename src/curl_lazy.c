/*
 * curl_lazy.c - loads libcurl with dlopen() at the first HTTP request. See include/relais/curl_lazy.h.
 */
#include "config.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include "relais/curl_lazy.h"

/* The library the development package links to (libcurl4-openssl-dev: libcurl.so -> libcurl.so.4). */
#define CURL_SONAME "libcurl.so.4"

struct rl_curl_api rl_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_int loaded;
static char problem[300];
static CURLcode (*global_init)(long flags);
static void (*global_cleanup)(void);

static void load_curl(void)
{
	void *h = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (h == NULL) {
		snprintf(problem, sizeof(problem), "cannot load %s: %s", CURL_SONAME, dlerror());
		return;
	}
#define SYM(field, name) \
	do { \
		*(void **)&(field) = dlsym(h, name); \
		if ((field) == NULL && missing == NULL) \
			missing = name; \
	} while (0)
	SYM(rl_curl.easy_init, "curl_easy_init");
	SYM(rl_curl.easy_cleanup, "curl_easy_cleanup");
	SYM(rl_curl.easy_reset, "curl_easy_reset");
	SYM(rl_curl.easy_setopt, "curl_easy_setopt");
	SYM(rl_curl.easy_perform, "curl_easy_perform");
	SYM(rl_curl.easy_getinfo, "curl_easy_getinfo");
	SYM(rl_curl.easy_strerror, "curl_easy_strerror");
	SYM(rl_curl.slist_append, "curl_slist_append");
	SYM(rl_curl.slist_free_all, "curl_slist_free_all");
	SYM(rl_curl.url, "curl_url");
	SYM(rl_curl.url_cleanup, "curl_url_cleanup");
	SYM(rl_curl.url_set, "curl_url_set");
	SYM(rl_curl.url_get, "curl_url_get");
	SYM(rl_curl.free, "curl_free");
	SYM(rl_curl.version, "curl_version");
	SYM(global_init, "curl_global_init");
	SYM(global_cleanup, "curl_global_cleanup");
#undef SYM
	if (missing) {
		snprintf(problem, sizeof(problem), "%s lacks %s", CURL_SONAME, missing);
		return;
	}
	if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(problem, sizeof(problem), "libcurl initialisation failed");
		return;
	}
	atomic_store(&loaded, 1);
}

int rl_curl_load(struct rl_err *err)
{
	pthread_once(&load_once, load_curl);
	if (!atomic_load(&loaded))
		return rl_err_set(err, RL_ERR_INTERNAL, "%s", problem);
	return 0;
}

int rl_curl_loaded(void)
{
	return atomic_load(&loaded);
}

void rl_curl_unload(void)
{
	if (atomic_load(&loaded))
		global_cleanup();
}
