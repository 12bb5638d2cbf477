/*
 * dns.c - DNS lookups for discovery with glibc's resolver (res_ninit, res_nquery, ns_parserr).
 *
 * The resolver state is private to each struct rl_dns; a configured server replaces the system's list
 * (nsaddr_list keeps the port, so any loopback port works). See include/relais/dns.h for the error kinds.
 */
#include "config.h"
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "relais/config.h"
#include "relais/dns.h"

#define ANSWER_MAX 65536

struct rl_dns {
	struct __res_state res;
	char server[300];
	int timeout;
};

struct rl_dns *rl_dns_new(const char *server, int timeout_seconds, struct rl_err *err)
{
	struct rl_dns *dns = calloc(1, sizeof(*dns));
	char host[256];
	unsigned port = 53;
	struct sockaddr_in sin;

	if (!dns) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	dns->timeout = timeout_seconds > 0 ? timeout_seconds : 5;
	if (res_ninit(&dns->res) != 0) {
		free(dns);
		rl_err_set(err, RL_ERR_CONFIG, "cannot initialise the DNS resolver");
		return NULL;
	}
	dns->res.retrans = dns->timeout;
	dns->res.retry = 2;
	dns->res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	snprintf(dns->server, sizeof(dns->server), "system resolver");
	if (server == NULL || server[0] == '\0')
		return dns;

	if (rl_config_parse_hostport(server, host, sizeof(host), &port) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "DNS server \"%s\" is not host:port", server);
		goto fail;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;

		if (getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL) {
			rl_err_set(err, RL_ERR_CONFIG, "DNS server \"%s\": no IPv4 address for %s", server, host);
			goto fail;
		}
		sin.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		freeaddrinfo(ai);
	}
	/* glibc keeps IPv6 servers of resolv.conf apart (and prefers them): drop them, keep only ours. */
	for (int i = 0; i < MAXNS; i++) {
		free(dns->res._u._ext.nsaddrs[i]);
		dns->res._u._ext.nsaddrs[i] = NULL;
	}
	dns->res.nsaddr_list[0] = sin;
	dns->res.nscount = 1;
	snprintf(dns->server, sizeof(dns->server), "%s:%u", host, port);
	return dns;
fail:
	res_nclose(&dns->res);
	free(dns);
	return NULL;
}

void rl_dns_free(struct rl_dns *dns)
{
	if (!dns)
		return;
	res_nclose(&dns->res);
	free(dns);
}

const char *rl_dns_server(const struct rl_dns *dns)
{
	return dns->server;
}

static const char *type_name(int type)
{
	switch (type) {
	case ns_t_a: return "A";
	case ns_t_aaaa: return "AAAA";
	case ns_t_cname: return "CNAME";
	case ns_t_naptr: return "NAPTR";
	default: return "?";
	}
}

/* Runs one query; returns the answer length or -1 with the failure kind in err. */
static int query(struct rl_dns *dns, const char *name, int type, unsigned char *answer,
		 struct rl_err *err)
{
	int len;

	errno = 0;
	len = res_nquery(&dns->res, name, ns_c_in, type, answer, ANSWER_MAX);
	if (len >= 0) {
		if (len < NS_HFIXEDSZ)
			return rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s is truncated", name);
		return len;
	}
	switch (dns->res.res_h_errno) {
	case HOST_NOT_FOUND:
		return rl_err_set(err, RL_ERR_NOT_FOUND, "%s does not exist (NXDOMAIN from %s)", name, dns->server);
	case NO_DATA:
		return rl_err_set(err, RL_ERR_NOT_FOUND, "%s has no %s record (asked %s)", name, type_name(type),
				  dns->server);
	case NO_RECOVERY:
		return rl_err_set(err, RL_ERR_NETWORK, "DNS server %s refused or could not answer the %s query for %s",
				  dns->server, type_name(type), name);
	default:
		if (errno == ECONNREFUSED)
			return rl_err_set(err, RL_ERR_NETWORK, "DNS server %s is unreachable (connection refused) for %s",
					  dns->server, name);
		if (errno == ETIMEDOUT || errno == 0)
			return rl_err_set(err, RL_ERR_NETWORK, "DNS server %s did not answer the %s query for %s in time",
					  dns->server, type_name(type), name);
		return rl_err_set(err, RL_ERR_NETWORK, "DNS server %s failed the %s query for %s (%s)", dns->server,
				  type_name(type), name, strerror(errno));
	}
}

static int host_query(struct rl_dns *dns, const char *name, int type, unsigned char *answer,
		      struct rl_dns_host *out, struct rl_err *err)
{
	ns_msg msg;
	ns_rr rr;
	int len = query(dns, name, type, answer, err);

	if (len < 0)
		return -1;
	if (ns_initparse(answer, len, &msg) < 0)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s cannot be parsed", name);
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s: record %d cannot be parsed",
					  name, i + 1);
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_type(rr) == ns_t_cname) {
			if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), out->cname,
					       sizeof(out->cname)) < 0)
				return rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s: malformed CNAME", name);
		} else if ((int)ns_rr_type(rr) == type && out->naddr < RL_DNS_ADDR_MAX) {
			int family = type == ns_t_a ? AF_INET : AF_INET6;
			size_t want = type == ns_t_a ? 4 : 16;

			if (ns_rr_rdlen(rr) != want)
				return rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s: malformed %s record",
						  name, type_name(type));
			inet_ntop(family, ns_rr_rdata(rr), out->addr[out->naddr], sizeof(out->addr[0]));
			out->naddr++;
		}
	}
	return 0;
}

int rl_dns_host(struct rl_dns *dns, const char *name, struct rl_dns_host *out, struct rl_err *err)
{
	unsigned char *answer = malloc(ANSWER_MAX);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!answer)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	rc = host_query(dns, name, ns_t_a, answer, out, err);
	if (rc == 0 && out->naddr == 0)
		rc = rl_err_set(err, RL_ERR_NOT_FOUND, "%s has no A record (asked %s)", name, dns->server);
	if (rc < 0 && err->code == RL_ERR_NOT_FOUND && out->naddr == 0) {
		char cname[RL_DNS_NAME_MAX];
		struct rl_err err6;

		memcpy(cname, out->cname, sizeof(cname));
		if (host_query(dns, name, ns_t_aaaa, answer, out, &err6) == 0 && out->naddr > 0)
			rc = 0;
		else if (out->cname[0] == '\0')
			memcpy(out->cname, cname, sizeof(cname));
	}
	free(answer);
	return rc;
}

/* Copies one <character-string> at *p (bounded by end) into dst. */
static int read_charstring(const unsigned char **p, const unsigned char *end, char *dst)
{
	size_t n;

	if (*p >= end)
		return -1;
	n = **p;
	if ((size_t)(end - *p) < n + 1)
		return -1;
	memcpy(dst, *p + 1, n);
	dst[n] = '\0';
	if (memchr(dst, '\0', n))
		return -1;
	*p += n + 1;
	return 0;
}

static int naptr_cmp(const void *a, const void *b)
{
	const struct rl_dns_naptr *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return 0;
}

int rl_dns_naptr(struct rl_dns *dns, const char *name, struct rl_dns_naptr **records, size_t *count,
		 struct rl_err *err)
{
	unsigned char *answer = malloc(ANSWER_MAX);
	struct rl_dns_naptr *list = NULL;
	size_t n = 0;
	ns_msg msg;
	ns_rr rr;
	int len;

	*records = NULL;
	*count = 0;
	if (!answer)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	len = query(dns, name, ns_t_naptr, answer, err);
	if (len < 0)
		goto fail;
	if (ns_initparse(answer, len, &msg) < 0) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s cannot be parsed", name);
		goto fail;
	}
	list = calloc((size_t)ns_msg_count(msg, ns_s_an) + 1, sizeof(*list));
	if (!list) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		const unsigned char *p, *end;
		struct rl_dns_naptr *r = &list[n];

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s: record %d cannot be parsed", name, i + 1);
			goto fail;
		}
		if (ns_rr_type(rr) != ns_t_naptr || ns_rr_class(rr) != ns_c_in)
			continue;
		p = ns_rr_rdata(rr);
		end = p + ns_rr_rdlen(rr);
		if (end - p < 4)
			goto malformed;
		r->order = (unsigned)(p[0] << 8 | p[1]);
		r->preference = (unsigned)(p[2] << 8 | p[3]);
		p += 4;
		if (read_charstring(&p, end, r->flags) < 0 || read_charstring(&p, end, r->service) < 0 ||
		    read_charstring(&p, end, r->regexp) < 0)
			goto malformed;
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), p, r->replacement,
				       sizeof(r->replacement)) < 0)
			goto malformed;
		n++;
	}
	if (n == 0) {
		rl_err_set(err, RL_ERR_NOT_FOUND, "%s has no NAPTR record (asked %s)", name, dns->server);
		goto fail;
	}
	qsort(list, n, sizeof(*list), naptr_cmp);
	free(answer);
	*records = list;
	*count = n;
	return 0;
malformed:
	rl_err_set(err, RL_ERR_BAD_RESPONSE, "DNS answer for %s: malformed NAPTR record", name);
fail:
	free(list);
	free(answer);
	return -1;
}
