/*
 * peppol_id.c - parsing and printing Peppol identifiers (participant, document type, process).
 *
 * Rules from the Peppol Policy for use of Identifiers v4 (spec digest section 4). The ICD table below is
 * the participant identifier scheme code list 9.7 as given in the digest; update it with new releases.
 */
#include "config.h"
#include <ctype.h>
#include <string.h>
#include "relais/peppol_id.h"

struct rl_icd_entry {
	const char *code;
	const char *name;
	enum rl_icd_status status;
};

#define A RL_ICD_ACTIVE
#define D RL_ICD_DEPRECATED
#define R RL_ICD_REMOVED
/* Peppol code list 9.7, participant identifier schemes (sorted by code). */
static const struct rl_icd_entry rl_icd_table[] = {
	{ "0002", "FR:SIRENE", A }, { "0007", "SE:ORGNR", A }, { "0009", "FR:SIRET", A },
	{ "0037", "FI:OVT", R }, { "0060", "DUNS", A }, { "0088", "GLN", A }, { "0096", "DK:P", A },
	{ "0097", "IT:FTI", A }, { "0106", "NL:KVK", A }, { "0130", "EU:NAL", A }, { "0135", "IT:SIA", A },
	{ "0142", "IT:SECETI", A }, { "0151", "AU:ABN", A }, { "0158", "SK:ICO", A }, { "0183", "CH:UIDB", A },
	{ "0184", "DK:DIGST", A }, { "0188", "JP:SST", A }, { "0190", "NL:OINO", A }, { "0191", "EE:CC", A },
	{ "0192", "NO:ORG", A }, { "0193", "UBLBE", D }, { "0195", "SG:UEN", A }, { "0196", "IS:KTNR", A },
	{ "0198", "DK:ERST", A }, { "0199", "LEI", A }, { "0200", "LT:LEC", A }, { "0201", "IT:CUUO", A },
	{ "0204", "DE:LWID", A }, { "0205", "IT:COD", A }, { "0208", "BE:EN", A }, { "0209", "GS1", A },
	{ "0210", "IT:CFI", A }, { "0211", "IT:IVA", A }, { "0212", "FI", R }, { "0213", "FI", R },
	{ "0215", "FI", R }, { "0216", "FI:OVT2", A }, { "0218", "LV:URN", A }, { "0221", "JP:IIN", A },
	{ "0225", "FR:CTC", A }, { "0230", "MY:EIF", A }, { "0235", "AE:TIN", A }, { "0240", "LU:MAT", A },
	{ "0242", "SPIS", A }, { "0244", "NG:TID", A }, { "0245", "SK:DIC", A }, { "0246", "DE:GEBA", A },
	{ "0248", "OM:VAT", A }, { "9901", NULL, R }, { "9902", NULL, R }, { "9904", NULL, R },
	{ "9905", NULL, R }, { "9906", "IT:VAT", R }, { "9907", NULL, R }, { "9908", NULL, R },
	{ "9909", "NO:VAT", D }, { "9910", "HU:VAT", A }, { "9912", "EU:VAT", D }, { "9913", "EU:REID", A },
	{ "9914", "AT:VAT", A }, { "9915", "AT:GOV", A }, { "9916", "AT:CID", D }, { "9917", "IS:KT", D },
	{ "9918", "IBAN", A }, { "9919", "AT:KUR", A }, { "9920", "ES:VAT", A }, { "9921", "IT:IPA", R },
	{ "9922", "AD:VAT", A }, { "9923", "AL:VAT", A }, { "9924", "BA:VAT", A }, { "9925", "BE:VAT", A },
	{ "9926", "BG:VAT", A }, { "9927", "CH:VAT", A }, { "9928", "CY:VAT", A }, { "9929", "CZ:VAT", A },
	{ "9930", "DE:VAT", A }, { "9931", "EE:VAT", A }, { "9932", "GB:VAT", A }, { "9933", "GR:VAT", A },
	{ "9934", "HR:VAT", A }, { "9935", "IE:VAT", A }, { "9936", "LI:VAT", A }, { "9937", "LT:VAT", A },
	{ "9938", "LU:VAT", A }, { "9939", "LV:VAT", A }, { "9940", "MC:VAT", A }, { "9941", "ME:VAT", A },
	{ "9942", "MK:VAT", A }, { "9943", "MT:VAT", A }, { "9944", "NL:VAT", A }, { "9945", "PL:VAT", A },
	{ "9946", "PT:VAT", A }, { "9947", "RO:VAT", A }, { "9948", "RS:VAT", A }, { "9949", "SI:VAT", A },
	{ "9950", "SK:VAT", A }, { "9951", "SM:VAT", A }, { "9952", "TR:VAT", A }, { "9953", "VA:VAT", A },
	{ "9954", "NL:OIN", R }, { "9955", "SE:VAT", R }, { "9956", "BE:CBE", R }, { "9957", "FR:VAT", A },
	{ "9958", "DE:LID", R }, { "9959", "US:EIN", A },
};
#undef A
#undef D
#undef R

enum rl_icd_status rl_icd_lookup(const char *icd, const char **name)
{
	if (name)
		*name = NULL;
	for (size_t i = 0; i < sizeof(rl_icd_table) / sizeof(rl_icd_table[0]); i++) {
		if (strcmp(rl_icd_table[i].code, icd) == 0) {
			if (name)
				*name = rl_icd_table[i].name;
			return rl_icd_table[i].status;
		}
	}
	return RL_ICD_UNKNOWN;
}

static const char *rl_id_kind_name(int kind)
{
	switch (kind) {
	case RL_ID_PARTICIPANT: return "participant";
	case RL_ID_DOCTYPE: return "document type";
	case RL_ID_PROCESS: return "process";
	default: return "identifier";
	}
}

static const char *rl_id_default_scheme(int kind)
{
	switch (kind) {
	case RL_ID_PARTICIPANT: return RL_SCHEME_PARTICIPANT;
	case RL_ID_DOCTYPE: return RL_SCHEME_DOCTYPE;
	case RL_ID_PROCESS: return RL_SCHEME_PROCESS;
	default: return NULL;
	}
}

static int rl_is_id_local_char(unsigned char c)
{
	return isascii(c) && (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~');
}

/* Checks the scheme: 1..25 characters and one of the schemes Peppol defines for the kind. */
static int rl_check_scheme(int kind, const char *scheme, struct rl_err *err)
{
	const char *what = rl_id_kind_name(kind);
	size_t len = strlen(scheme);

	if (len == 0)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier scheme is empty", what);
	if (len > RL_ID_SCHEME_MAX)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier scheme is %zu characters long (at most %d)",
				  what, len, RL_ID_SCHEME_MAX);
	switch (kind) {
	case RL_ID_PARTICIPANT:
		if (strcmp(scheme, RL_SCHEME_PARTICIPANT) != 0)
			return rl_err_set(err, RL_ERR_USAGE, "participant identifier scheme '%s' is not '%s'",
					  scheme, RL_SCHEME_PARTICIPANT);
		break;
	case RL_ID_DOCTYPE:
		if (strcmp(scheme, RL_SCHEME_DOCTYPE) != 0 && strcmp(scheme, RL_SCHEME_DOCTYPE_WILDCARD) != 0)
			return rl_err_set(err, RL_ERR_USAGE,
					  "document type identifier scheme '%s' is neither '%s' nor '%s'", scheme,
					  RL_SCHEME_DOCTYPE, RL_SCHEME_DOCTYPE_WILDCARD);
		break;
	case RL_ID_PROCESS:
		if (strcmp(scheme, RL_SCHEME_PROCESS) != 0)
			return rl_err_set(err, RL_ERR_USAGE, "process identifier scheme '%s' is not '%s'", scheme,
					  RL_SCHEME_PROCESS);
		break;
	default:
		return rl_err_set(err, RL_ERR_USAGE, "unknown identifier kind %d", kind);
	}
	return 0;
}

static int rl_check_participant(struct rl_peppol_id *id, const char *value, struct rl_err *err)
{
	size_t len = strlen(value);
	char icd[5];
	enum rl_icd_status status;

	if (len == 0)
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value is empty");
	if (len > RL_ID_PARTICIPANT_MAX)
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value is %zu characters long (at most %d)",
				  len, RL_ID_PARTICIPANT_MAX);
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)value[i]))
			return rl_err_set(err, RL_ERR_USAGE,
					  "participant identifier value '%s' does not start with a 4-digit ICD code",
					  value);
	if (value[4] != ':')
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value '%s' has no ':' after the ICD code",
				  value);
	if (len == 5)
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value '%s' has an empty local part", value);
	for (size_t i = 5; i < len; i++)
		if (!rl_is_id_local_char((unsigned char)value[i]))
			return rl_err_set(err, RL_ERR_USAGE,
					  "participant identifier value '%s': character %zu (0x%02x) is not one of "
					  "A-Z a-z 0-9 - . _ ~", value, i + 1, (unsigned char)value[i]);
	memcpy(icd, value, 4);
	icd[4] = '\0';
	status = rl_icd_lookup(icd, NULL);
	if (status == RL_ICD_UNKNOWN)
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value '%s': ICD %s is not in the code list",
				  value, icd);
	if (status == RL_ICD_REMOVED)
		return rl_err_set(err, RL_ERR_USAGE, "participant identifier value '%s': ICD %s was removed from the code list",
				  value, icd);
	if (status == RL_ICD_DEPRECATED)
		id->flags |= RL_ID_FLAG_DEPRECATED_ICD;
	for (size_t i = 0; i <= len; i++)
		id->value[i] = (char)tolower((unsigned char)value[i]);
	return 0;
}

/*
 * Counts the characters of a UTF-8 value that must be ISO-8859-1 (U+0001..U+00FF) without control
 * characters (and, when no_space, without whitespace). Returns the count, or -1 with err set.
 */
static long rl_check_latin1(int kind, const char *value, int no_space, struct rl_err *err)
{
	const char *what = rl_id_kind_name(kind);
	const unsigned char *p = (const unsigned char *)value;
	long count = 0;

	while (*p) {
		unsigned code;
		if (*p < 0x80) {
			code = *p++;
		} else if ((*p == 0xc2 || *p == 0xc3) && (p[1] & 0xc0) == 0x80) {
			code = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
			p += 2;
		} else {
			return rl_err_set(err, RL_ERR_USAGE,
					  "%s identifier value: character %ld is not ISO-8859-1 (or not valid UTF-8)",
					  what, count + 1);
		}
		count++;
		if (code < 0x20 || code == 0x7f || (code >= 0x80 && code < 0xa0))
			return rl_err_set(err, RL_ERR_USAGE, "%s identifier value: character %ld is a control character",
					  what, count);
		if (no_space && (code == ' ' || code == 0xa0))
			return rl_err_set(err, RL_ERR_USAGE, "%s identifier value: character %ld is whitespace",
					  what, count);
	}
	return count;
}

static int rl_check_case_sensitive(struct rl_peppol_id *id, const char *value, struct rl_err *err)
{
	int kind = id->kind;
	long max = kind == RL_ID_DOCTYPE ? RL_ID_DOCTYPE_MAX : RL_ID_PROCESS_MAX;
	long count;

	if (value[0] == '\0')
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier value is empty", rl_id_kind_name(kind));
	count = rl_check_latin1(kind, value, kind == RL_ID_PROCESS, err);
	if (count < 0)
		return -1;
	if (count > max)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier value is %ld characters long (at most %ld)",
				  rl_id_kind_name(kind), count, max);
	/* count <= 500 characters of at most 2 bytes each: fits RL_ID_VALUE_BYTES. */
	strcpy(id->value, value);
	return 0;
}

int rl_peppol_id_make(struct rl_peppol_id *id, int kind, const char *scheme, const char *value,
		      struct rl_err *err)
{
	memset(id, 0, sizeof(*id));
	id->kind = kind;
	if (!scheme)
		scheme = rl_id_default_scheme(kind);
	if (!scheme)
		return rl_err_set(err, RL_ERR_USAGE, "unknown identifier kind %d", kind);
	if (!value)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier has no value", rl_id_kind_name(kind));
	if (rl_check_scheme(kind, scheme, err) < 0)
		return -1;
	strcpy(id->scheme, scheme);
	if (kind == RL_ID_PARTICIPANT)
		return rl_check_participant(id, value, err);
	return rl_check_case_sensitive(id, value, err);
}

int rl_peppol_id_parse(struct rl_peppol_id *id, int kind, const char *uri, struct rl_err *err)
{
	const char *sep;
	char scheme[RL_ID_SCHEME_MAX + 1];
	size_t len;

	memset(id, 0, sizeof(*id));
	id->kind = kind;
	if (!uri)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier is missing", rl_id_kind_name(kind));
	sep = strstr(uri, "::");
	if (!sep)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier '%.200s' has no '::' between scheme and value",
				  rl_id_kind_name(kind), uri);
	len = (size_t)(sep - uri);
	if (len > RL_ID_SCHEME_MAX)
		return rl_err_set(err, RL_ERR_USAGE, "%s identifier scheme is %zu characters long (at most %d)",
				  rl_id_kind_name(kind), len, RL_ID_SCHEME_MAX);
	memcpy(scheme, uri, len);
	scheme[len] = '\0';
	return rl_peppol_id_make(id, kind, scheme, sep + 2, err);
}

int rl_participant_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err)
{
	return rl_peppol_id_parse(id, RL_ID_PARTICIPANT, uri, err);
}

int rl_doctype_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err)
{
	return rl_peppol_id_parse(id, RL_ID_DOCTYPE, uri, err);
}

int rl_process_parse(struct rl_peppol_id *id, const char *uri, struct rl_err *err)
{
	return rl_peppol_id_parse(id, RL_ID_PROCESS, uri, err);
}

int rl_peppol_id_equal(const struct rl_peppol_id *a, const struct rl_peppol_id *b)
{
	/* Values are canonical: participant values are lower-case, the others compare exactly. */
	return a->kind == b->kind && strcmp(a->scheme, b->scheme) == 0 && strcmp(a->value, b->value) == 0;
}

int rl_peppol_id_uri(const struct rl_peppol_id *id, struct rl_buf *out)
{
	return rl_buf_printf(out, "%s::%s", id->scheme, id->value);
}

int rl_percent_encode(struct rl_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isascii(*p) && (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')) {
			if (rl_buf_append(out, p, 1) < 0)
				return -1;
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 0xf] };
			if (rl_buf_append(out, enc, 3) < 0)
				return -1;
		}
	}
	return 0;
}

int rl_peppol_id_uri_encoded(const struct rl_peppol_id *id, struct rl_buf *out)
{
	if (rl_percent_encode(out, id->scheme) < 0 || rl_percent_encode(out, "::") < 0)
		return -1;
	return rl_percent_encode(out, id->value);
}

int rl_participant_value_shaped(const char *s)
{
	return strlen(s) >= 6 && strspn(s, "0123456789") == 4 && s[4] == ':';
}

int rl_country_code_valid(const char *s)
{
	return strlen(s) == 2 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2;
}

int rl_seat_id_valid(const char *s)
{
	return s && strlen(s) == 9 && s[0] == 'P' && strspn(s + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 2 &&
	       strspn(s + 3, "0123456789") == 6;
}
