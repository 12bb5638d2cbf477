/* err.c - error values: codes, ebMS names, formatting. See include/relais/err.h. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relais/err.h"

struct code_info {
	int code;
	const char *str;
	const char *shortdesc;
	const char *category;
	const char *origin;
};

static const struct code_info codes[] = {
	{ RL_EBMS_VALUE_NOT_RECOGNIZED, "EBMS:0001", "ValueNotRecognized", "Content", "ebMS" },
	{ RL_EBMS_FEATURE_NOT_SUPPORTED, "EBMS:0002", "FeatureNotSupported", "Content", "ebMS" },
	{ RL_EBMS_VALUE_INCONSISTENT, "EBMS:0003", "ValueInconsistent", "Content", "ebMS" },
	{ RL_EBMS_OTHER, "EBMS:0004", "Other", "Content", "ebMS" },
	{ RL_EBMS_CONNECTION_FAILURE, "EBMS:0005", "ConnectionFailure", "Communication", "ebMS" },
	{ RL_EBMS_EMPTY_MPC, "EBMS:0006", "EmptyMessagePartitionChannel", "Communication", "ebMS" },
	{ RL_EBMS_MIME_INCONSISTENCY, "EBMS:0007", "MimeInconsistency", "Unpackaging", "ebMS" },
	{ RL_EBMS_FEATURE_NOT_SUPPORTED_UNPACKAGING, "EBMS:0008", "FeatureNotSupported", "Unpackaging", "ebMS" },
	{ RL_EBMS_INVALID_HEADER, "EBMS:0009", "InvalidHeader", "Unpackaging", "ebMS" },
	{ RL_EBMS_PMODE_MISMATCH, "EBMS:0010", "ProcessingModeMismatch", "Processing", "ebMS" },
	{ RL_EBMS_EXTERNAL_PAYLOAD_ERROR, "EBMS:0011", "ExternalPayloadError", "Content", "ebMS" },
	{ RL_EBMS_FAILED_AUTHENTICATION, "EBMS:0101", "FailedAuthentication", "Processing", "security" },
	{ RL_EBMS_FAILED_DECRYPTION, "EBMS:0102", "FailedDecryption", "Processing", "security" },
	{ RL_EBMS_POLICY_NONCOMPLIANCE, "EBMS:0103", "PolicyNoncompliance", "Processing", "security" },
	{ RL_EBMS_DYSFUNCTIONAL_RELIABILITY, "EBMS:0201", "DysfunctionalReliability", "Processing", "reliability" },
	{ RL_EBMS_DELIVERY_FAILURE, "EBMS:0202", "DeliveryFailure", "Communication", "reliability" },
	{ RL_EBMS_MISSING_RECEIPT, "EBMS:0301", "MissingReceipt", "Communication", "ebMS" },
	{ RL_EBMS_INVALID_RECEIPT, "EBMS:0302", "InvalidReceipt", "Communication", "ebMS" },
	{ RL_EBMS_DECOMPRESSION_FAILURE, "EBMS:0303", "DecompressionFailure", "Communication", "ebMS" },
	{ RL_ERR_USAGE, "RELAIS:USAGE", "Usage", "Local", "relais" },
	{ RL_ERR_CONFIG, "RELAIS:CONFIG", "Configuration", "Local", "relais" },
	{ RL_ERR_IO, "RELAIS:IO", "IO", "Local", "relais" },
	{ RL_ERR_NOMEM, "RELAIS:NOMEM", "OutOfMemory", "Local", "relais" },
	{ RL_ERR_CRYPTO, "RELAIS:CRYPTO", "Crypto", "Local", "relais" },
	{ RL_ERR_DB, "RELAIS:DB", "Database", "Local", "relais" },
	{ RL_ERR_NETWORK, "RELAIS:NETWORK", "Network", "Local", "relais" },
	{ RL_ERR_NOT_FOUND, "RELAIS:NOT_FOUND", "NotFound", "Local", "relais" },
	{ RL_ERR_INTERNAL, "RELAIS:INTERNAL", "Internal", "Local", "relais" },
	{ RL_ERR_BAD_RESPONSE, "RELAIS:BAD_RESPONSE", "BadResponse", "Local", "relais" },
	{ RL_ERR_STATE, "RELAIS:STATE", "State", "Local", "relais" },
};

static const struct code_info *find(int code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return &codes[i];
	return NULL;
}

int rl_err_set(struct rl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->detail[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int rl_err_prefix(struct rl_err *err, const char *fmt, ...)
{
	char prefix[RL_ERR_MSG_MAX], old[RL_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}

void rl_err_clear(struct rl_err *err)
{
	if (err == NULL)
		return;
	err->code = RL_OK;
	err->detail[0] = '\0';
	err->msg[0] = '\0';
}

void rl_err_detail(struct rl_err *err, const char *detail)
{
	if (err != NULL)
		snprintf(err->detail, sizeof(err->detail), "%s", detail ? detail : "");
}

int rl_err_is_ebms(int code)
{
	return code > 0 && code < 1000;
}

const char *rl_err_code_str(int code)
{
	const struct code_info *c = find(code);
	return c ? c->str : "RELAIS:UNKNOWN";
}

const char *rl_err_short(int code)
{
	const struct code_info *c = find(code);
	return c ? c->shortdesc : "Unknown";
}

const char *rl_err_category(int code)
{
	const struct code_info *c = find(code);
	return c ? c->category : "Processing";
}

const char *rl_err_origin(int code)
{
	const struct code_info *c = find(code);
	return c ? c->origin : "ebMS";
}

int rl_err_code_parse(const char *s)
{
	char *end;
	long n;

	if (s == NULL || strncmp(s, "EBMS:", 5) != 0)
		return -1;
	n = strtol(s + 5, &end, 10);
	if (end == s + 5 || *end != '\0' || n <= 0 || n >= 1000)
		return -1;
	return (int)n;
}

const char *rl_err_format(const struct rl_err *err, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s: %s", rl_err_code_str(err->code), rl_err_short(err->code), err->msg);
	return buf;
}
