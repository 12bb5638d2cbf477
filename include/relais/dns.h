/*
 * dns.h - the DNS queries of discovery: CNAME/address and NAPTR lookups through glibc's resolver.
 *
 * A resolver asks either the system's name servers (server NULL or "") or exactly one server given as
 * "host:port" (IPv4 address or a name the system resolves; the port is honoured, so a private test
 * server on a loopback port works). Each lookup tells the failure kinds apart:
 *   RL_ERR_NOT_FOUND     the name does not exist (NXDOMAIN) or has no record of the type asked
 *   RL_ERR_NETWORK       the server could not be reached, timed out or failed (SERVFAIL)
 *   RL_ERR_BAD_RESPONSE  the server answered something that cannot be parsed, or refused the query
 * A resolver is not shared between threads (each thread makes its own; they are cheap).
 */
#ifndef RELAIS_DNS_H
#define RELAIS_DNS_H

#include <stddef.h>
#include "relais/buf.h"
#include "relais/err.h"

#define RL_DNS_TEXT_MAX 256	/* a <character-string> is at most 255 bytes */
#define RL_DNS_NAME_MAX 1025	/* NS_MAXDNAME */
#define RL_DNS_ADDR_MAX 8	/* addresses kept per host */

struct rl_dns;

/* timeout_seconds: per attempt (two attempts). Returns NULL with RL_ERR_CONFIG for a bad server. */
struct rl_dns *rl_dns_new(const char *server, int timeout_seconds, struct rl_err *err);
void rl_dns_free(struct rl_dns *dns);
/* "127.0.0.1:5353" or "system resolver" (static storage of the resolver). */
const char *rl_dns_server(const struct rl_dns *dns);

/* The addresses of a host, following CNAME records in the answer. */
struct rl_dns_host {
	char cname[RL_DNS_NAME_MAX];	/* last CNAME target followed, "" when the name had none */
	int naddr;
	char addr[RL_DNS_ADDR_MAX][64];	/* IPv4 first, then IPv6, as text */
};
/* Looks up A (then AAAA when there is no A) for name. */
int rl_dns_host(struct rl_dns *dns, const char *name, struct rl_dns_host *out, struct rl_err *err);

/* One NAPTR record (RFC 3403). */
struct rl_dns_naptr {
	unsigned order, preference;
	char flags[RL_DNS_TEXT_MAX];
	char service[RL_DNS_TEXT_MAX];
	char regexp[RL_DNS_TEXT_MAX];
	char replacement[RL_DNS_NAME_MAX];
};
/* All NAPTR records of name, sorted by order then preference, into *records (caller frees with free()).
 * A name that exists without NAPTR records is RL_ERR_NOT_FOUND. */
int rl_dns_naptr(struct rl_dns *dns, const char *name, struct rl_dns_naptr **records, size_t *count,
		 struct rl_err *err);

#endif
