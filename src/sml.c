/*
 * sml.c - SML DNS names (legacy CNAME and NAPTR/BDXL) and U-NAPTR regexp application.
 *
 * Pure string functions (spec digest 5.1-5.3); MD5 and SHA-256 come from OpenSSL EVP, base32 is here.
 */
#include "config.h"
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "relais/sml.h"

/* Lower-cased copy of s (caller frees), or NULL when out of memory. */
static char *rl_strdup_lower(const char *s)
{
	size_t len = strlen(s);
	char *copy = malloc(len + 1);

	if (!copy)
		return NULL;
	for (size_t i = 0; i <= len; i++)
		copy[i] = (char)tolower((unsigned char)s[i]);
	return copy;
}

/* Digest of lower(value) with md into digest; returns its length, or -1 with err set. */
static int rl_digest_lower(const EVP_MD *md, const char *value, unsigned char *digest, struct rl_err *err)
{
	char *lower = rl_strdup_lower(value);
	unsigned int digest_len = 0;
	int ok;

	if (!lower)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	ok = EVP_Digest(lower, strlen(lower), digest, &digest_len, md, NULL);
	free(lower);
	if (!ok)
		return rl_err_set(err, RL_ERR_CRYPTO, "computing the identifier digest failed");
	return (int)digest_len;
}

static int rl_check_name_parts(const char *scheme, const char *value, const char *zone, struct rl_err *err)
{
	if (!scheme || !*scheme)
		return rl_err_set(err, RL_ERR_USAGE, "SML name: participant identifier scheme is empty");
	if (!value || !*value)
		return rl_err_set(err, RL_ERR_USAGE, "SML name: participant identifier value is empty");
	if (!zone || !*zone || strcmp(zone, ".") == 0)
		return rl_err_set(err, RL_ERR_USAGE, "SML name: DNS zone is empty");
	return 0;
}

/* Appends "." + lower(scheme) + "." + zone without its trailing dot. */
static int rl_append_scheme_zone(struct rl_buf *out, const char *scheme, const char *zone, struct rl_err *err)
{
	size_t zone_len = strlen(zone);

	if (zone[zone_len - 1] == '.')
		zone_len--;
	if (rl_buf_puts(out, ".") < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	for (const char *p = scheme; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (rl_buf_append(out, &c, 1) < 0)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	if (rl_buf_puts(out, ".") < 0 || rl_buf_append(out, zone, zone_len) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

int rl_sml_cname_name(struct rl_buf *out, const char *scheme, const char *value, const char *zone,
		      struct rl_err *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	int digest_len;

	if (rl_check_name_parts(scheme, value, zone, err) < 0)
		return -1;
	if (strcmp(value, "*") == 0) {
		if (rl_buf_puts(out, "*") < 0)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	} else {
		digest_len = rl_digest_lower(EVP_md5(), value, digest, err);
		if (digest_len < 0)
			return -1;
		if (rl_buf_puts(out, "B-") < 0)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		for (int i = 0; i < digest_len; i++)
			if (rl_buf_printf(out, "%02x", digest[i]) < 0)
				return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	return rl_append_scheme_zone(out, scheme, zone, err);
}

int rl_base32_lower_nopad(struct rl_buf *out, const unsigned char *data, size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned long bits = 0;
	int nbits = 0;

	for (size_t i = 0; i < len; i++) {
		bits = ((bits << 8) | data[i]) & 0xffffu;
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			if (rl_buf_append(out, &alphabet[(bits >> nbits) & 0x1f], 1) < 0)
				return -1;
		}
	}
	if (nbits > 0 && rl_buf_append(out, &alphabet[(bits << (5 - nbits)) & 0x1f], 1) < 0)
		return -1;
	return 0;
}

int rl_sml_naptr_name(struct rl_buf *out, const char *scheme, const char *value, const char *zone,
		      struct rl_err *err)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	int digest_len;

	if (rl_check_name_parts(scheme, value, zone, err) < 0)
		return -1;
	digest_len = rl_digest_lower(EVP_sha256(), value, digest, err);
	if (digest_len < 0)
		return -1;
	if (rl_base32_lower_nopad(out, digest, (size_t)digest_len) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return rl_append_scheme_zone(out, scheme, zone, err);
}

int rl_sml_cname_name_id(struct rl_buf *out, const struct rl_peppol_id *id, const char *zone,
			 struct rl_err *err)
{
	if (id->kind != RL_ID_PARTICIPANT)
		return rl_err_set(err, RL_ERR_USAGE, "SML name: identifier is not a participant identifier");
	return rl_sml_cname_name(out, id->scheme, id->value, zone, err);
}

int rl_sml_naptr_name_id(struct rl_buf *out, const struct rl_peppol_id *id, const char *zone,
			 struct rl_err *err)
{
	if (id->kind != RL_ID_PARTICIPANT)
		return rl_err_set(err, RL_ERR_USAGE, "SML name: identifier is not a participant identifier");
	return rl_sml_naptr_name(out, id->scheme, id->value, zone, err);
}

/*
 * Copies one delimited field of a U-NAPTR regexp starting at *pos into field, un-escaping "\<delim>" to
 * the delimiter (other escapes are kept for regcomp or the replacement step). Advances *pos past the
 * closing delimiter. Returns 0, or -1 when the closing delimiter is missing.
 */
static int rl_unaptr_field(const char **pos, char delim, struct rl_buf *field)
{
	const char *p = *pos;

	while (*p && *p != delim) {
		if (*p == '\\' && p[1] == delim) {
			if (rl_buf_append(field, &delim, 1) < 0)
				return -1;
			p += 2;
			continue;
		}
		if (*p == '\\' && p[1]) {
			if (rl_buf_append(field, p, 2) < 0)
				return -1;
			p += 2;
			continue;
		}
		if (rl_buf_append(field, p, 1) < 0)
			return -1;
		p++;
	}
	if (*p != delim)
		return -1;
	*pos = p + 1;
	return 0;
}

/* Builds the replacement into out from repl with sub-matches of input; returns 0 or -1 with err set. */
static int rl_unaptr_substitute(const char *repl, const char *input, const regmatch_t *match, size_t nsub,
				struct rl_buf *out, struct rl_err *err)
{
	for (const char *p = repl; *p; p++) {
		if (*p != '\\') {
			if (rl_buf_append(out, p, 1) < 0)
				return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			continue;
		}
		p++;
		if (*p >= '1' && *p <= '9') {
			size_t n = (size_t)(*p - '0');
			if (n > nsub)
				return rl_err_set(err, RL_ERR_USAGE,
						  "NAPTR regexp: replacement uses \\%zu but the ERE has %zu group(s)", n, nsub);
			if (match[n].rm_so >= 0 &&
			    rl_buf_append(out, input + match[n].rm_so, (size_t)(match[n].rm_eo - match[n].rm_so)) < 0)
				return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		} else if (*p == '\0') {
			return rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: replacement ends with a lone backslash");
		} else if (rl_buf_append(out, p, 1) < 0) {
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
	}
	return 0;
}

int rl_unaptr_apply(const char *regexp_field, const char *input, struct rl_buf *out, struct rl_err *err)
{
	struct rl_buf ere = RL_BUF_INIT, repl = RL_BUF_INIT;
	regmatch_t match[10];
	regex_t re;
	const char *pos;
	char delim;
	int cflags = REG_EXTENDED, rc, ret = -1;

	if (!regexp_field || !*regexp_field)
		return rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp is empty");
	delim = regexp_field[0];
	if (delim == '\\' || isalnum((unsigned char)delim) || !isgraph((unsigned char)delim))
		return rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: '%c' cannot be a delimiter", delim);
	pos = regexp_field + 1;
	if (rl_unaptr_field(&pos, delim, &ere) < 0 || rl_unaptr_field(&pos, delim, &repl) < 0) {
		rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp '%.200s' does not have the form %cERE%creplacement%cflags",
			   regexp_field, delim, delim, delim);
		goto out;
	}
	for (; *pos; pos++) {
		if (*pos != 'i') {
			rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: unknown flag '%c' (only 'i' is allowed)", *pos);
			goto out;
		}
		cflags |= REG_ICASE;
	}
	if (ere.len == 0) {
		rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: the ERE is empty");
		goto out;
	}
	rc = regcomp(&re, ere.data, cflags);
	if (rc != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof(why));
		rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: ERE '%.200s' does not compile: %s", ere.data, why);
		goto out;
	}
	rc = regexec(&re, input, 10, match, 0);
	/* The ERE is anchored: POSIX leftmost-longest matching finds a whole-input match when there is one. */
	if (rc != 0 || match[0].rm_so != 0 || (size_t)match[0].rm_eo != strlen(input)) {
		rl_err_set(err, RL_ERR_NOT_FOUND, "NAPTR regexp: ERE '%.200s' does not match '%.200s'", ere.data, input);
	} else {
		size_t start = out->len;
		ret = rl_unaptr_substitute(repl.data ? repl.data : "", input, match, re.re_nsub, out, err);
		if (ret == 0 && out->len == start)
			ret = rl_err_set(err, RL_ERR_USAGE, "NAPTR regexp: the replacement gives an empty URL");
		if (ret < 0 && out->data) {	/* leave out as it was */
			out->len = start;
			out->data[start] = '\0';
		}
	}
	regfree(&re);
out:
	rl_buf_free(&ere);
	rl_buf_free(&repl);
	return ret;
}
