/*
 * err.h - errors as values.
 *
 * Every function that can fail takes a `struct rl_err *` as its last argument and returns -1 (or NULL)
 * after filling it with rl_err_set(). The code is an ebMS3 error number (EBMS:0001 .. EBMS:0303) when
 * the failure is something a peer would be told about, or one of the local RL_ERR_* codes otherwise.
 * Only the edges (command line, HTTP) turn an error into an exit status, an error signal or a log line.
 */
#ifndef RELAIS_ERR_H
#define RELAIS_ERR_H

#include <stddef.h>

enum rl_err_code {
	RL_OK = 0,
	/* ebMS3 core (section 6.7) and AS4 codes: the number is the code. */
	RL_EBMS_VALUE_NOT_RECOGNIZED = 1,
	RL_EBMS_FEATURE_NOT_SUPPORTED = 2,
	RL_EBMS_VALUE_INCONSISTENT = 3,
	RL_EBMS_OTHER = 4,
	RL_EBMS_CONNECTION_FAILURE = 5,
	RL_EBMS_EMPTY_MPC = 6,
	RL_EBMS_MIME_INCONSISTENCY = 7,
	RL_EBMS_FEATURE_NOT_SUPPORTED_UNPACKAGING = 8,
	RL_EBMS_INVALID_HEADER = 9,
	RL_EBMS_PMODE_MISMATCH = 10,
	RL_EBMS_EXTERNAL_PAYLOAD_ERROR = 11,
	RL_EBMS_FAILED_AUTHENTICATION = 101,
	RL_EBMS_FAILED_DECRYPTION = 102,
	RL_EBMS_POLICY_NONCOMPLIANCE = 103,
	RL_EBMS_DYSFUNCTIONAL_RELIABILITY = 201,
	RL_EBMS_DELIVERY_FAILURE = 202,
	RL_EBMS_MISSING_RECEIPT = 301,
	RL_EBMS_INVALID_RECEIPT = 302,
	RL_EBMS_DECOMPRESSION_FAILURE = 303,
	/* Local failures: never sent to a peer as such. */
	RL_ERR_USAGE = 1000,	/* bad arguments */
	RL_ERR_CONFIG,		/* bad configuration */
	RL_ERR_IO,		/* file or socket I/O */
	RL_ERR_NOMEM,		/* out of memory */
	RL_ERR_CRYPTO,		/* a local key or crypto library failure */
	RL_ERR_DB,		/* database */
	RL_ERR_NETWORK,		/* could not reach a peer, DNS, HTTP */
	RL_ERR_NOT_FOUND,	/* a looked-up thing does not exist */
	RL_ERR_INTERNAL,	/* a bug */
	RL_ERR_BAD_RESPONSE,	/* a peer's answer is malformed: DNS record, HTTP or SMP response */
	RL_ERR_STATE		/* the thing's state does not allow the operation (a delivered message resent) */
};

#define RL_ERR_MSG_MAX 512
#define RL_ERR_DETAIL_MAX 128

struct rl_err {
	int code;			/* enum rl_err_code */
	char detail[RL_ERR_DETAIL_MAX];	/* optional eb:ErrorDetail, e.g. "PEPPOL:NOT_SERVICED" */
	char msg[RL_ERR_MSG_MAX];	/* one line saying what was wrong */
};

/* Sets code and message; always returns -1 so callers can `return rl_err_set(...)`. */
int rl_err_set(struct rl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes the message with context ("reading part 2: ..."), keeping the code. Returns -1. */
int rl_err_prefix(struct rl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rl_err_clear(struct rl_err *err);
/* Sets the eb:ErrorDetail text. */
void rl_err_detail(struct rl_err *err, const char *detail);

/* True when the code is an ebMS code (1..999). */
int rl_err_is_ebms(int code);
/* "EBMS:0101" for ebMS codes, "RELAIS:IO" etc. for local ones. Static string. */
const char *rl_err_code_str(int code);
/* ebMS3 short description ("FailedAuthentication"); local codes get a word ("Usage", "IO"...). */
const char *rl_err_short(int code);
/* ebMS3 category (Content, Communication, Unpackaging, Processing) and origin (ebMS, security, ...). */
const char *rl_err_category(int code);
const char *rl_err_origin(int code);
/* Parses "EBMS:0101" -> 101; returns -1 when not an ebMS code string. */
int rl_err_code_parse(const char *s);
/* "EBMS:0101 FailedAuthentication: <msg>" into buf. */
const char *rl_err_format(const struct rl_err *err, char *buf, size_t size);

#endif
