/*
 * en16931.c - the EN 16931 business-term tree: nodes, the table of term names and types, dumping
 * and the "not representable" report. See include/relais/en16931.h.
 */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "relais/en16931.h"

struct term_info {
	const char *id;
	const char *name;
	enum rl_en_type type;
};

/* Every group and term of EN 16931 (names after the syntax binding tables). */
static const struct term_info terms[] = {
	{ "BT-1", "Invoice number", RL_EN_TEXT },
	{ "BT-2", "Invoice issue date", RL_EN_DATE },
	{ "BT-3", "Invoice type code", RL_EN_CODE },
	{ "BT-5", "Invoice currency code", RL_EN_CODE },
	{ "BT-6", "VAT accounting currency code", RL_EN_CODE },
	{ "BT-7", "Value added tax point date", RL_EN_DATE },
	{ "BT-8", "Value added tax point date code", RL_EN_CODE },
	{ "BT-9", "Payment due date", RL_EN_DATE },
	{ "BT-10", "Buyer reference", RL_EN_IDENTIFIER },
	{ "BT-11", "Project reference", RL_EN_IDENTIFIER },
	{ "BT-12", "Contract reference", RL_EN_IDENTIFIER },
	{ "BT-13", "Purchase order reference", RL_EN_IDENTIFIER },
	{ "BT-14", "Sales order reference", RL_EN_IDENTIFIER },
	{ "BT-15", "Receiving advice reference", RL_EN_IDENTIFIER },
	{ "BT-16", "Despatch advice reference", RL_EN_IDENTIFIER },
	{ "BT-17", "Tender or lot reference", RL_EN_IDENTIFIER },
	{ "BT-18", "Invoiced object identifier", RL_EN_IDENTIFIER },
	{ "BT-18-1", "Invoiced object identifier scheme identifier", RL_EN_CODE },
	{ "BT-19", "Buyer accounting reference", RL_EN_IDENTIFIER },
	{ "BT-20", "Payment terms", RL_EN_TEXT },
	{ "BG-1", "Invoice note", RL_EN_GROUP },
	{ "BT-21", "Invoice note subject code", RL_EN_CODE },
	{ "BT-22", "Invoice note", RL_EN_TEXT },
	{ "BG-2", "Process control", RL_EN_GROUP },
	{ "BT-23", "Business process type", RL_EN_TEXT },
	{ "BT-24", "Specification identifier", RL_EN_IDENTIFIER },
	{ "BG-3", "Preceding invoice reference", RL_EN_GROUP },
	{ "BT-25", "Preceding Invoice reference", RL_EN_IDENTIFIER },
	{ "BT-26", "Preceding Invoice issue date", RL_EN_DATE },
	{ "BG-4", "Seller", RL_EN_GROUP },
	{ "BT-27", "Seller name", RL_EN_TEXT },
	{ "BT-28", "Seller trading name", RL_EN_TEXT },
	{ "BT-29", "Seller identifier", RL_EN_IDENTIFIER },
	{ "BT-29-1", "Seller identifier scheme ID", RL_EN_CODE },
	{ "BT-30", "Seller legal registration ID", RL_EN_IDENTIFIER },
	{ "BT-30-1", "Seller legal registration ID scheme ID", RL_EN_CODE },
	{ "BT-31", "Seller VAT identifier", RL_EN_IDENTIFIER },
	{ "BT-32", "Seller tax registration ID", RL_EN_IDENTIFIER },
	{ "BT-33", "Seller additional legal info", RL_EN_TEXT },
	{ "BT-34", "Seller electronic address", RL_EN_IDENTIFIER },
	{ "BT-34-1", "Seller electronic address scheme ID", RL_EN_CODE },
	{ "BG-5", "Seller postal address", RL_EN_GROUP },
	{ "BT-35", "Seller address line 1", RL_EN_TEXT },
	{ "BT-36", "Seller address line 2", RL_EN_TEXT },
	{ "BT-162", "Seller address line 3", RL_EN_TEXT },
	{ "BT-37", "Seller city", RL_EN_TEXT },
	{ "BT-38", "Seller post code", RL_EN_CODE },
	{ "BT-39", "Seller country subdivision", RL_EN_TEXT },
	{ "BT-40", "Seller country code", RL_EN_CODE },
	{ "BG-6", "Seller contact", RL_EN_GROUP },
	{ "BT-41", "Seller contact point", RL_EN_TEXT },
	{ "BT-42", "Seller contact telephone", RL_EN_TEXT },
	{ "BT-43", "Seller contact email", RL_EN_TEXT },
	{ "BG-7", "Buyer", RL_EN_GROUP },
	{ "BT-44", "Buyer name", RL_EN_TEXT },
	{ "BT-45", "Buyer trading name", RL_EN_TEXT },
	{ "BT-46", "Buyer identifier", RL_EN_IDENTIFIER },
	{ "BT-46-1", "Buyer identifier scheme ID", RL_EN_CODE },
	{ "BT-47", "Buyer legal registration ID", RL_EN_IDENTIFIER },
	{ "BT-47-1", "Buyer legal registration ID scheme ID", RL_EN_CODE },
	{ "BT-48", "Buyer VAT identifier", RL_EN_IDENTIFIER },
	{ "BT-49", "Buyer electronic address", RL_EN_IDENTIFIER },
	{ "BT-49-1", "Buyer electronic address scheme ID", RL_EN_CODE },
	{ "BG-8", "Buyer postal address", RL_EN_GROUP },
	{ "BT-50", "Buyer address line 1", RL_EN_TEXT },
	{ "BT-51", "Buyer address line 2", RL_EN_TEXT },
	{ "BT-163", "Buyer address line 3", RL_EN_TEXT },
	{ "BT-52", "Buyer city", RL_EN_TEXT },
	{ "BT-53", "Buyer post code", RL_EN_CODE },
	{ "BT-54", "Buyer country subdivision", RL_EN_TEXT },
	{ "BT-55", "Buyer country code", RL_EN_CODE },
	{ "BG-9", "Buyer contact", RL_EN_GROUP },
	{ "BT-56", "Buyer contact point", RL_EN_TEXT },
	{ "BT-57", "Buyer contact telephone", RL_EN_TEXT },
	{ "BT-58", "Buyer contact email", RL_EN_TEXT },
	{ "BG-10", "Payee", RL_EN_GROUP },
	{ "BT-59", "Payee name", RL_EN_TEXT },
	{ "BT-60", "Payee identifier", RL_EN_IDENTIFIER },
	{ "BT-60-1", "Payee identifier scheme ID", RL_EN_CODE },
	{ "BT-61", "Payee legal registration ID", RL_EN_IDENTIFIER },
	{ "BT-61-1", "Payee legal registration ID scheme ID", RL_EN_CODE },
	{ "BG-11", "Seller tax representative party", RL_EN_GROUP },
	{ "BT-62", "Seller tax rep name", RL_EN_TEXT },
	{ "BT-63", "Seller tax rep VAT ID", RL_EN_IDENTIFIER },
	{ "BG-12", "Seller tax representative postal address", RL_EN_GROUP },
	{ "BT-64", "Tax rep address line 1", RL_EN_TEXT },
	{ "BT-65", "Tax rep address line 2", RL_EN_TEXT },
	{ "BT-164", "Tax rep address line 3", RL_EN_TEXT },
	{ "BT-66", "Tax rep city", RL_EN_TEXT },
	{ "BT-67", "Tax rep post code", RL_EN_CODE },
	{ "BT-68", "Tax rep country subdivision", RL_EN_TEXT },
	{ "BT-69", "Tax rep country code", RL_EN_CODE },
	{ "BG-13", "Delivery information", RL_EN_GROUP },
	{ "BT-70", "Deliver to party name", RL_EN_TEXT },
	{ "BT-71", "Deliver to location ID", RL_EN_IDENTIFIER },
	{ "BT-71-1", "Deliver to location ID scheme ID", RL_EN_CODE },
	{ "BT-72", "Actual delivery date", RL_EN_DATE },
	{ "BG-14", "Invoicing period", RL_EN_GROUP },
	{ "BT-73", "Invoicing period start date", RL_EN_DATE },
	{ "BT-74", "Invoicing period end date", RL_EN_DATE },
	{ "BG-15", "Deliver to address", RL_EN_GROUP },
	{ "BT-75", "Deliver to address line 1", RL_EN_TEXT },
	{ "BT-76", "Deliver to address line 2", RL_EN_TEXT },
	{ "BT-165", "Deliver to address line 3", RL_EN_TEXT },
	{ "BT-77", "Deliver to city", RL_EN_TEXT },
	{ "BT-78", "Deliver to post code", RL_EN_CODE },
	{ "BT-79", "Deliver to country subdivision", RL_EN_TEXT },
	{ "BT-80", "Deliver to country code", RL_EN_CODE },
	{ "BG-16", "Payment instructions", RL_EN_GROUP },
	{ "BT-81", "Payment means type code", RL_EN_CODE },
	{ "BT-82", "Payment means text", RL_EN_TEXT },
	{ "BT-83", "Remittance information", RL_EN_TEXT },
	{ "BG-17", "Credit transfer", RL_EN_GROUP },
	{ "BT-84", "Payment account identifier", RL_EN_IDENTIFIER },
	{ "BT-85", "Payment account name", RL_EN_TEXT },
	{ "BT-86", "Payment service provider ID", RL_EN_IDENTIFIER },
	{ "BG-18", "Payment card information", RL_EN_GROUP },
	{ "BT-87", "Payment card PAN", RL_EN_IDENTIFIER },
	{ "BT-88", "Payment card holder name", RL_EN_TEXT },
	{ "BG-19", "Direct debit", RL_EN_GROUP },
	{ "BT-89", "Mandate reference ID", RL_EN_DATE },
	{ "BT-90", "Bank assigned creditor ID", RL_EN_IDENTIFIER },
	{ "BT-91", "Debited account ID", RL_EN_IDENTIFIER },
	{ "BG-20", "Document level allowances", RL_EN_GROUP },
	{ "BT-92", "Document level allowance amount", RL_EN_AMOUNT },
	{ "BT-93", "Document level allowance base amount", RL_EN_AMOUNT },
	{ "BT-94", "Document level allowance percentage", RL_EN_PERCENT },
	{ "BT-95", "Document level allowance VAT category code", RL_EN_CODE },
	{ "BT-96", "Document level allowance VAT rate", RL_EN_PERCENT },
	{ "BT-97", "Document level allowance reason", RL_EN_TEXT },
	{ "BT-98", "Document level allowance reason code", RL_EN_CODE },
	{ "BG-21", "Document level charges", RL_EN_GROUP },
	{ "BT-99", "Document level charge amount", RL_EN_AMOUNT },
	{ "BT-100", "Document level charge base amount", RL_EN_AMOUNT },
	{ "BT-101", "Document level charge percentage", RL_EN_PERCENT },
	{ "BT-102", "Document level charge VAT category code", RL_EN_CODE },
	{ "BT-103", "Document level charge VAT rate", RL_EN_PERCENT },
	{ "BT-104", "Document level charge reason", RL_EN_TEXT },
	{ "BT-105", "Document level charge reason code", RL_EN_CODE },
	{ "BG-22", "Document totals", RL_EN_GROUP },
	{ "BT-106", "Sum of Invoice line net amount", RL_EN_AMOUNT },
	{ "BT-107", "Sum of allowances on document level", RL_EN_AMOUNT },
	{ "BT-108", "Sum of charges on document level", RL_EN_AMOUNT },
	{ "BT-109", "Invoice total amount without VAT", RL_EN_AMOUNT },
	{ "BT-110", "Invoice total VAT amount", RL_EN_AMOUNT },
	{ "BT-111", "Invoice total VAT amount in accounting currency", RL_EN_AMOUNT },
	{ "BT-112", "Invoice total amount with VAT", RL_EN_AMOUNT },
	{ "BT-113", "Paid amount", RL_EN_AMOUNT },
	{ "BT-114", "Rounding amount", RL_EN_AMOUNT },
	{ "BT-115", "Amount due for payment", RL_EN_AMOUNT },
	{ "BG-23", "Vat breakdown", RL_EN_GROUP },
	{ "BT-116", "VAT category taxable amount", RL_EN_AMOUNT },
	{ "BT-117", "VAT category tax amount", RL_EN_AMOUNT },
	{ "BT-118", "VAT category code", RL_EN_CODE },
	{ "BT-119", "VAT category rate", RL_EN_PERCENT },
	{ "BT-120", "VAT exemption reason text", RL_EN_TEXT },
	{ "BT-121", "VAT exemption reason code", RL_EN_CODE },
	{ "BG-24", "Additional supporting documents", RL_EN_GROUP },
	{ "BT-122", "Supporting document reference", RL_EN_IDENTIFIER },
	{ "BT-123", "Supporting document description", RL_EN_TEXT },
	{ "BT-124", "External document location", RL_EN_TEXT },
	{ "BT-125", "Attached document", RL_EN_BINARY },
	{ "BT-125-1", "Attached document Mime code", RL_EN_CODE },
	{ "BT-125-2", "Attached document Filename", RL_EN_TEXT },
	{ "BG-25", "Invoice line", RL_EN_GROUP },
	{ "BT-126", "Invoice line identifier", RL_EN_IDENTIFIER },
	{ "BT-127", "Invoice line note", RL_EN_TEXT },
	{ "BT-128", "Invoice line object identifier", RL_EN_IDENTIFIER },
	{ "BT-128-1", "Invoice line object identifier scheme ID", RL_EN_CODE },
	{ "BT-129", "Invoiced quantity", RL_EN_QUANTITY },
	{ "BT-130", "Invoiced quantity unit of measure code", RL_EN_CODE },
	{ "BT-131", "Invoice line net amount", RL_EN_AMOUNT },
	{ "BT-132", "Referenced purchase order line reference", RL_EN_IDENTIFIER },
	{ "BT-133", "Invoice line Buyer accounting reference", RL_EN_IDENTIFIER },
	{ "BG-26", "Invoice line period", RL_EN_GROUP },
	{ "BT-134", "Invoice line period start date", RL_EN_DATE },
	{ "BT-135", "Invoice line period end date", RL_EN_DATE },
	{ "BG-27", "Invoice line allowances", RL_EN_GROUP },
	{ "BT-136", "Invoice line allowance amount", RL_EN_AMOUNT },
	{ "BT-137", "Invoice line allowance base amount", RL_EN_AMOUNT },
	{ "BT-138", "Invoice line allowance percentage", RL_EN_PERCENT },
	{ "BT-139", "Invoice line allowance reason", RL_EN_TEXT },
	{ "BT-140", "Invoice line allowance reason code", RL_EN_CODE },
	{ "BG-28", "Invoice line charges", RL_EN_GROUP },
	{ "BT-141", "Invoice line charge amount", RL_EN_AMOUNT },
	{ "BT-142", "Invoice line charge base amount", RL_EN_AMOUNT },
	{ "BT-143", "Invoice line charge percentage", RL_EN_PERCENT },
	{ "BT-144", "Invoice line charge reason", RL_EN_TEXT },
	{ "BT-145", "Invoice line charge reason code", RL_EN_CODE },
	{ "BG-29", "Price details", RL_EN_GROUP },
	{ "BT-146", "Item net price", RL_EN_PRICE },
	{ "BT-147", "Item price discount", RL_EN_PRICE },
	{ "BT-148", "Item gross price", RL_EN_PRICE },
	{ "BT-149", "Item price base quantity", RL_EN_QUANTITY },
	{ "BT-150", "Item price base quantity unit of measure code", RL_EN_CODE },
	{ "BG-30", "Line vat information", RL_EN_GROUP },
	{ "BT-151", "Invoiced item VAT category code", RL_EN_CODE },
	{ "BT-152", "Invoiced item VAT rate", RL_EN_PERCENT },
	{ "BG-31", "Item information", RL_EN_GROUP },
	{ "BT-153", "Item name", RL_EN_TEXT },
	{ "BT-154", "Item description", RL_EN_TEXT },
	{ "BT-155", "Item Seller's identifier", RL_EN_IDENTIFIER },
	{ "BT-156", "Item Buyer's identifier", RL_EN_IDENTIFIER },
	{ "BT-157", "Item standard identifier", RL_EN_IDENTIFIER },
	{ "BT-157-1", "Item standard identifier scheme ID", RL_EN_CODE },
	{ "BT-158", "Item classification identifier", RL_EN_IDENTIFIER },
	{ "BT-158-1", "Item classification identifier scheme ID", RL_EN_CODE },
	{ "BT-158-2", "Item classification identifier scheme version ID", RL_EN_CODE },
	{ "BT-159", "Item country of origin", RL_EN_TEXT },
	{ "BG-32", "Item attributes", RL_EN_GROUP },
	{ "BT-160", "Item attribute name", RL_EN_TEXT },
	{ "BT-161", "Item attribute value", RL_EN_TEXT },
};

static const struct term_info *find_term(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof terms / sizeof terms[0]; i++)
		if (strcmp(terms[i].id, id) == 0)
			return &terms[i];
	return NULL;
}

const char *rl_en_name(const char *id)
{
	const struct term_info *t = find_term(id);

	return t ? t->name : "?";
}

enum rl_en_type rl_en_type_of(const char *id)
{
	const struct term_info *t = find_term(id);

	if (t)
		return t->type;
	return strncmp(id, "BG-", 3) == 0 || strcmp(id, "INVOICE") == 0 ? RL_EN_GROUP : RL_EN_TEXT;
}

const char *rl_syntax_name(enum rl_syntax s)
{
	return s == RL_SYNTAX_UBL ? "UBL" : "CII";
}

/* Per thread: conversions may run in several daemon threads at once. */
static _Thread_local int alloc_failed;

int rl_en_add_failed(void)
{
	return alloc_failed;
}

void rl_en_add_reset(void)
{
	alloc_failed = 0;
}

static struct rl_en_node *append(struct rl_en_node *parent, const char *id, char *value)
{
	struct rl_en_node *n;

	if (parent == NULL) {
		free(value);
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (n == NULL) {
		alloc_failed = 1;
		free(value);
		return NULL;
	}
	n->id = id;
	n->value = value;
	n->parent = parent;
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	return n;
}

struct rl_en_node *rl_en_new(void)
{
	struct rl_en_node *n = calloc(1, sizeof *n);

	if (n)
		n->id = "INVOICE";
	return n;
}

void rl_en_free(struct rl_en_node *node)
{
	struct rl_en_node *c, *next;

	if (node == NULL)
		return;
	for (c = node->first; c; c = next) {
		next = c->next;
		rl_en_free(c);
	}
	free(node->value);
	free(node->stream_path);
	free(node);
}

struct rl_en_node *rl_en_add_group(struct rl_en_node *parent, const char *id)
{
	return append(parent, id, NULL);
}

struct rl_en_node *rl_en_add_owned(struct rl_en_node *parent, const char *id, char *value)
{
	if (value == NULL || *value == '\0') {
		free(value);
		return NULL;
	}
	return append(parent, id, value);
}

struct rl_en_node *rl_en_add(struct rl_en_node *parent, const char *id, const char *value)
{
	char *copy;

	if (value == NULL || *value == '\0' || parent == NULL)
		return NULL;
	copy = strdup(value);
	if (copy == NULL) {
		alloc_failed = 1;
		return NULL;
	}
	return append(parent, id, copy);
}

void rl_en_remove(struct rl_en_node *node)
{
	struct rl_en_node *p = node->parent, *c, *prev = NULL;

	if (p) {
		for (c = p->first; c && c != node; c = c->next)
			prev = c;
		if (c) {
			if (prev)
				prev->next = c->next;
			else
				p->first = c->next;
			if (p->last == c)
				p->last = prev;
		}
	}
	node->next = NULL;
	rl_en_free(node);
}

struct rl_en_node *rl_en_get(const struct rl_en_node *parent, const char *id)
{
	struct rl_en_node *c;

	if (parent == NULL)
		return NULL;
	for (c = parent->first; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

struct rl_en_node *rl_en_next(const struct rl_en_node *node)
{
	struct rl_en_node *c;

	for (c = node->next; c; c = c->next)
		if (strcmp(c->id, node->id) == 0)
			return c;
	return NULL;
}

const char *rl_en_value(const struct rl_en_node *parent, const char *id)
{
	struct rl_en_node *n = rl_en_get(parent, id);

	return n ? n->value : NULL;
}

int rl_en_count(const struct rl_en_node *parent, const char *id)
{
	struct rl_en_node *c;
	int n = 0;

	if (parent == NULL)
		return 0;
	for (c = parent->first; c; c = c->next)
		n += strcmp(c->id, id) == 0;
	return n;
}

int rl_en_is_credit_note_code(const char *code)
{
	static const char *const credit[] = { "381", "396", "81", "83", "532" };
	size_t i;

	for (i = 0; code && i < sizeof credit / sizeof credit[0]; i++)
		if (strcmp(code, credit[i]) == 0)
			return 1;
	return 0;
}

/* A decimal written without the zeros that do not change its value ("229.60" -> "229.6",
 * "10.000" -> "10", "+5" -> "5", "-0" -> "0"). Other text is copied as it is. */
static void put_number(struct rl_buf *out, const char *v)
{
	const char *p = v, *dot, *end;
	int neg = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (strspn(p, "0123456789.") != strlen(p) || *p == '\0' || strchr(p, '.') != strrchr(p, '.')) {
		rl_buf_puts(out, v);
		return;
	}
	while (*p == '0' && p[1] != '\0' && p[1] != '.')
		p++;
	end = p + strlen(p);
	dot = strchr(p, '.');
	if (dot) {
		while (end > dot + 1 && end[-1] == '0')
			end--;
		if (end == dot + 1)
			end = dot;
	}
	if (neg && !(end - p == 1 && *p == '0'))
		rl_buf_puts(out, "-");
	rl_buf_append(out, p, (size_t)(end - p));
}

/* Text on one line: line breaks and backslashes escaped ("\\n", "\\\\"); with `collapse`, every run
 * of white space becomes one space. */
static void put_text(struct rl_buf *out, const char *v, int collapse)
{
	const char *p;

	for (p = v; *p; p++) {
		int space = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';

		if (collapse && space) {
			while (p[1] == ' ' || p[1] == '\t' || p[1] == '\n' || p[1] == '\r')
				p++;
			rl_buf_puts(out, " ");
		} else if (*p == '\n') {
			rl_buf_puts(out, "\\n");
		} else if (*p == '\r') {
			rl_buf_puts(out, "\\r");
		} else if (*p == '\\') {
			rl_buf_puts(out, "\\\\");
		} else {
			rl_buf_append(out, p, 1);
		}
	}
}

static void put_value(struct rl_buf *out, const struct rl_en_node *n, int flags)
{
	enum rl_en_type t = rl_en_type_of(n->id);

	if (n->value == NULL && n->stream_path) {
		rl_buf_printf(out, "(file %s)", n->stream_path);
		return;
	}
	if (t == RL_EN_BINARY) {
		size_t len = 0;
		const char *p;

		for (p = n->value; *p; p++)
			len += !(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t');
		rl_buf_printf(out, "(%zu base64 characters)", len);
		return;
	}
	if ((flags & RL_EN_DUMP_NUMBERS) &&
	    (t == RL_EN_AMOUNT || t == RL_EN_PRICE || t == RL_EN_QUANTITY || t == RL_EN_PERCENT))
		put_number(out, n->value);
	else
		put_text(out, n->value, flags & RL_EN_DUMP_NUMBERS);
}

static int dump_node(const struct rl_en_node *node, const char *path, struct rl_buf *out, int flags)
{
	const struct rl_en_node *c, *s;

	for (c = node->first; c; c = c->next) {
		if (c->value || c->stream_path) {
			rl_buf_printf(out, "%s%s = ", path, c->id);
			put_value(out, c, flags);
			for (s = c->first; s; s = s->next) {
				rl_buf_printf(out, " [%s = ", s->id);
				put_value(out, s, flags);
				rl_buf_puts(out, "]");
			}
			rl_buf_puts(out, "\n");
		} else {
			struct rl_buf sub = RL_BUF_INIT;
			int index = 1;

			for (s = node->first; s != c; s = s->next)
				index += strcmp(s->id, c->id) == 0;
			if (index > 1 || rl_en_next(c) || (flags & RL_EN_DUMP_INDEXED))
				rl_buf_printf(&sub, "%s%s[%d]/", path, c->id, index);
			else
				rl_buf_printf(&sub, "%s%s/", path, c->id);
			if (sub.data == NULL || dump_node(c, sub.data, out, flags) < 0) {
				rl_buf_free(&sub);
				return -1;
			}
			rl_buf_free(&sub);
		}
	}
	return 0;
}

int rl_en_dump(const struct rl_en_node *root, struct rl_buf *out, int flags)
{
	return dump_node(root, "", out, flags);
}

int rl_en_report_lost(struct rl_buf *report, enum rl_syntax target, const struct rl_en_node *node,
		      const char *why)
{
	if (report == NULL || node == NULL)
		return 0;
	rl_buf_printf(report, "%s: not representable in %s: ", node->id, rl_syntax_name(target));
	if (why)
		rl_buf_puts(report, why);
	else if (node->value)
		put_value(report, node, 0);
	else
		rl_buf_printf(report, "%s", rl_en_name(node->id));
	return rl_buf_puts(report, "\n");
}
