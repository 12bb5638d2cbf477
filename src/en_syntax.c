/* en_syntax.c - party, allowance/charge and period roles, DOM path lookups, dates, the model checks
 * both writers make and the streaming XML writer shared by the UBL and CII readers and writers.
 * See src/en_syntax.h. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "relais/xml.h"
#include "en_syntax.h"

static const struct en_address_role seller_address = {
	"BG-5", "BT-35", "BT-36", "BT-162", "BT-37", "BT-38", "BT-39", "BT-40"
};
static const struct en_address_role buyer_address = {
	"BG-8", "BT-50", "BT-51", "BT-163", "BT-52", "BT-53", "BT-54", "BT-55"
};
static const struct en_address_role tax_representative_address = {
	"BG-12", "BT-64", "BT-65", "BT-164", "BT-66", "BT-67", "BT-68", "BT-69"
};
const struct en_address_role en_deliver_to_address = {
	"BG-15", "BT-75", "BT-76", "BT-165", "BT-77", "BT-78", "BT-79", "BT-80"
};
static const struct en_contact_role seller_contact = { "BG-6", "BT-41", "BT-42", "BT-43" };
static const struct en_contact_role buyer_contact = { "BG-9", "BT-56", "BT-57", "BT-58" };

const struct en_party_role en_seller = {
	"BG-4", "BT-27", "BT-28", "BT-29", "BT-29-1", "BT-30", "BT-30-1",
	"BT-31", "BT-32", "BT-33", "BT-34", "BT-34-1", 0, 0, &seller_address, &seller_contact
};
const struct en_party_role en_buyer = {
	"BG-7", "BT-44", "BT-45", "BT-46", "BT-46-1", "BT-47", "BT-47-1",
	"BT-48", NULL, NULL, "BT-49", "BT-49-1", 0, 1, &buyer_address, &buyer_contact
};
const struct en_party_role en_payee = {
	"BG-10", "BT-59", NULL, "BT-60", "BT-60-1", "BT-61", "BT-61-1",
	NULL, NULL, NULL, NULL, NULL, 1, 1, NULL, NULL
};
const struct en_party_role en_tax_representative = {
	"BG-11", "BT-62", NULL, NULL, NULL, NULL, NULL,
	"BT-63", NULL, NULL, NULL, NULL, 1, 1, &tax_representative_address, NULL
};

const struct en_allowance_charge_role en_document_allowance = {
	"BG-20", "BT-92", "BT-93", "BT-94", "BT-97", "BT-98", "BT-95", "BT-96", 0
};
const struct en_allowance_charge_role en_document_charge = {
	"BG-21", "BT-99", "BT-100", "BT-101", "BT-104", "BT-105", "BT-102", "BT-103", 1
};
const struct en_allowance_charge_role en_line_allowance = {
	"BG-27", "BT-136", "BT-137", "BT-138", "BT-139", "BT-140", NULL, NULL, 0
};
const struct en_allowance_charge_role en_line_charge = {
	"BG-28", "BT-141", "BT-142", "BT-143", "BT-144", "BT-145", NULL, NULL, 1
};

const struct en_allowance_charge_role *en_allowance_charge_role_of(const char *group_id, int line)
{
	const struct en_allowance_charge_role *allowance = line ? &en_line_allowance : &en_document_allowance;
	const struct en_allowance_charge_role *charge = line ? &en_line_charge : &en_document_charge;

	if (strcmp(group_id, allowance->group) == 0)
		return allowance;
	if (strcmp(group_id, charge->group) == 0)
		return charge;
	return NULL;
}

const struct en_period_role en_invoicing_period = { "BG-14", "BT-73", "BT-74" };
const struct en_period_role en_line_period = { "BG-26", "BT-134", "BT-135" };

static const char *prefix_ns(const char *prefix, size_t len)
{
	static const struct { const char *prefix, *ns; } map[] = {
		{ "cac", RL_NS_CAC }, { "cbc", RL_NS_CBC }, { "rsm", RL_NS_RSM },
		{ "ram", RL_NS_RAM }, { "udt", RL_NS_UDT }, { "qdt", RL_NS_QDT },
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strlen(map[i].prefix) == len && strncmp(map[i].prefix, prefix, len) == 0)
			return map[i].ns;
	return NULL;
}

xmlNodePtr en_path(xmlNodePtr node, const char *path)
{
	char name[96];

	while (node && *path) {
		const char *colon = strchr(path, ':');
		const char *slash = strchr(path, '/');
		size_t name_len;

		if (colon == NULL)
			return NULL;
		name_len = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
		if (name_len >= sizeof name)
			return NULL;
		memcpy(name, colon + 1, name_len);
		name[name_len] = '\0';
		node = rl_xml_child(node, prefix_ns(path, (size_t)(colon - path)), name);
		path = slash ? slash + 1 : colon + 1 + name_len;
	}
	return node;
}

/* What marks an element whose value a reader took (libxml2 leaves _private to the application). */
static char read_mark;

void en_mark_read(xmlNodePtr node)
{
	if (node)
		node->_private = &read_mark;
}

char *en_text(xmlNodePtr node, const char *path)
{
	xmlNodePtr n = *path ? en_path(node, path) : node;

	en_mark_read(n);
	return rl_xml_text(n);
}

char *en_attr(xmlNodePtr node, const char *path, const char *attr)
{
	xmlNodePtr n = *path ? en_path(node, path) : node;

	return n ? rl_xml_attr(n, NULL, attr) : NULL;
}

xmlNodePtr en_next(xmlNodePtr node)
{
	return rl_xml_next(node, node->ns ? (const char *)node->ns->href : NULL, (const char *)node->name);
}

struct rl_en_node *en_add_text(struct rl_en_node *group, const char *id, xmlNodePtr node, const char *path)
{
	if (node == NULL)
		return NULL;
	return rl_en_add_owned(group, id, en_text(node, path));
}

void en_add_attr(struct rl_en_node *term, const char *id, xmlNodePtr node, const char *path, const char *attr)
{
	if (term && node)
		rl_en_add_owned(term, id, en_attr(node, path, attr));
}

void en_drop_if_empty(struct rl_en_node *group)
{
	if (group && group->first == NULL)
		rl_en_remove(group);
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int plausible(const char *y, const char *m, const char *d)
{
	int month = (m[0] - '0') * 10 + (m[1] - '0'), day = (d[0] - '0') * 10 + (d[1] - '0');

	(void)y;
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

int en_is_iso_date(const char *s)
{
	return s && strlen(s) == 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) && s[7] == '-' &&
	       all_digits(s + 8, 2) && plausible(s, s + 5, s + 8);
}

int en_date_from_102(const char *in, char out[11])
{
	if (in == NULL || strlen(in) != 8 || !all_digits(in, 8) || !plausible(in, in + 4, in + 6))
		return -1;
	snprintf(out, 11, "%.4s-%.2s-%.2s", in, in + 4, in + 6);
	return 0;
}

int en_date_to_102(const char *in, char out[9])
{
	if (!en_is_iso_date(in))
		return -1;
	snprintf(out, 9, "%.4s%.2s%.2s", in, in + 5, in + 8);
	return 0;
}

int en_only_not_subject_to_vat(const struct rl_en_node *model)
{
	const struct rl_en_node *g = rl_en_get(model, "BG-23");

	if (g == NULL)
		return 0;
	for (; g; g = rl_en_next(g))
		if (rl_en_value(g, "BT-118") == NULL || strcmp(rl_en_value(g, "BT-118"), "O") != 0)
			return 0;
	return 1;
}

void en_drop_zero_vat_total(struct rl_en_node *model)
{
	struct rl_en_node *totals = rl_en_get(model, "BG-22");
	struct rl_en_node *tax = totals ? rl_en_get(totals, "BT-110") : NULL;

	if (tax && strspn(tax->value, "0.") == strlen(tax->value) && en_only_not_subject_to_vat(model))
		rl_en_remove(tax);
}

const struct rl_en_node *en_mandate_means(const struct rl_en_node *model)
{
	const struct rl_en_node *g;

	for (g = rl_en_get(model, "BG-16"); g; g = rl_en_next(g)) {
		const char *code = rl_en_value(g, "BT-81");

		if (code && (strcmp(code, "49") == 0 || strcmp(code, "59") == 0))
			return g;
	}
	for (g = rl_en_get(model, "BG-16"); g; g = rl_en_next(g))
		if (rl_en_value(g, "BT-81"))
			return g;
	return NULL;
}

static const char *const tax_point_codes[][2] = { { "3", "5" }, { "35", "29" }, { "432", "72" } };

const char *en_tax_point_code_to_cii(const char *code)
{
	size_t i;

	for (i = 0; code && i < sizeof tax_point_codes / sizeof tax_point_codes[0]; i++)
		if (strcmp(code, tax_point_codes[i][0]) == 0)
			return tax_point_codes[i][1];
	return code;
}

const char *en_tax_point_code_from_cii(const char *code)
{
	size_t i;

	for (i = 0; code && i < sizeof tax_point_codes / sizeof tax_point_codes[0]; i++)
		if (strcmp(code, tax_point_codes[i][1]) == 0)
			return tax_point_codes[i][0];
	return code;
}

/* Values the syntax binding implies, which carry no business term of their own. */
static int implied_value(xmlNodePtr n, const char *value)
{
	const char *name = (const char *)n->name;
	const char *parent = n->parent ? (const char *)n->parent->name : "";

	if (strcmp(name, "UBLVersionID") == 0)
		return 1;
	if (strcmp(value, "VAT") == 0 && (strcmp(parent, "TaxScheme") == 0 || strcmp(name, "TypeCode") == 0))
		return 1;
	/* The charge indicator of a price discount (UBL) or of a gross price discount (CII). */
	if (strcmp(value, "false") == 0 && (strcmp(name, "ChargeIndicator") == 0 || strcmp(name, "Indicator") == 0))
		return 1;
	return 0;
}

static void put_path(struct rl_buf *out, xmlNodePtr n)
{
	if (n->parent && n->parent->type == XML_ELEMENT_NODE && n->parent->parent &&
	    n->parent->parent->type == XML_ELEMENT_NODE)
		put_path(out, n->parent);
	rl_buf_puts(out, "/");
	if (n->ns && n->ns->prefix)
		rl_buf_printf(out, "%s:", (const char *)n->ns->prefix);
	rl_buf_puts(out, (const char *)n->name);
}

static void report_unread(xmlNodePtr n, struct rl_buf *report)
{
	xmlNodePtr c;
	int has_text = 0;

	for (c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			report_unread(c, report);
		else if (c->type == XML_TEXT_NODE && c->content &&
			 strspn((const char *)c->content, " \t\r\n") != strlen((const char *)c->content))
			has_text = 1;
	}
	if (has_text && n->_private != &read_mark) {
		char *v = rl_xml_text(n);

		if (v && !implied_value(n, v)) {
			rl_buf_puts(report, "(no business term): not carried: ");
			put_path(report, n);
			rl_buf_printf(report, " = %.200s%s\n", v, strlen(v) > 200 ? "..." : "");
		}
		free(v);
	}
}

int rl_en_report_unread(xmlDocPtr doc, struct rl_buf *report)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), c;

	if (root == NULL || report == NULL)
		return 0;
	for (c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			report_unread(c, report);
	return 0;
}

/* ---- streaming writer ---- */

#define XW_FLUSH_AT 32768

void xw_init(struct xw *w, const struct rl_sink *sink, struct rl_err *err)
{
	memset(w, 0, sizeof *w);
	w->sink = sink;
	w->err = err;
}

static void xw_flush(struct xw *w, int force)
{
	if (w->failed || w->buf.len == 0 || (!force && w->buf.len < XW_FLUSH_AT))
		return;
	if (rl_sink_write(w->sink, w->buf.data, w->buf.len, w->err) < 0)
		w->failed = 1;
	rl_buf_reset(&w->buf);
}

static void xw_put(struct xw *w, const char *s)
{
	if (!w->failed && rl_buf_puts(&w->buf, s) < 0) {
		rl_err_set(w->err, RL_ERR_NOMEM, "out of memory");
		w->failed = 1;
	}
}

static void xw_escaped(struct xw *w, const char *s)
{
	if (!w->failed && rl_xml_escape(&w->buf, s) < 0) {
		rl_err_set(w->err, RL_ERR_NOMEM, "out of memory");
		w->failed = 1;
	}
}

static void xw_indent(struct xw *w)
{
	int i;

	xw_put(w, "\n");
	for (i = 0; i < w->depth; i++)
		xw_put(w, "  ");
}

static void xw_start(struct xw *w, const char *tag, va_list ap)
{
	const char *name, *value;

	xw_indent(w);
	xw_put(w, "<");
	xw_put(w, tag);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value == NULL)
			continue;
		xw_put(w, " ");
		xw_put(w, name);
		xw_put(w, "=\"");
		xw_escaped(w, value);
		xw_put(w, "\"");
	}
	xw_put(w, ">");
}

void xw_open(struct xw *w, const char *tag, ...)
{
	va_list ap;

	va_start(ap, tag);
	xw_start(w, tag, ap);
	va_end(ap);
	w->depth++;
}

void xw_close(struct xw *w, const char *tag)
{
	w->depth--;
	xw_indent(w);
	xw_put(w, "</");
	xw_put(w, tag);
	xw_put(w, ">");
	xw_flush(w, 0);
}

void xw_leaf(struct xw *w, const char *tag, const char *value, ...)
{
	va_list ap;

	if (value == NULL || *value == '\0')
		return;
	va_start(ap, value);
	xw_start(w, tag, ap);
	va_end(ap);
	xw_escaped(w, value);
	xw_put(w, "</");
	xw_put(w, tag);
	xw_put(w, ">");
	xw_flush(w, 0);
}

void xw_raw(struct xw *w, const char *text)
{
	xw_put(w, text);
}

void xw_base64_file(struct xw *w, const char *path)
{
	unsigned char in[3 * 16384];
	size_t n;
	FILE *fp;

	if (w->failed)
		return;
	fp = fopen(path, "rb");
	if (fp == NULL) {
		rl_err_set(w->err, RL_ERR_IO, "cannot open %s", path);
		w->failed = 1;
		return;
	}
	/* Whole 3-byte groups per chunk, so the pieces concatenate into one valid base64 text. */
	while (!w->failed && (n = fread(in, 1, sizeof in, fp)) > 0) {
		size_t encoded = 4 * ((n + 2) / 3);

		if (rl_buf_reserve(&w->buf, encoded + 1) < 0) {
			rl_err_set(w->err, RL_ERR_NOMEM, "out of memory");
			w->failed = 1;
			break;
		}
		EVP_EncodeBlock((unsigned char *)w->buf.data + w->buf.len, in, (int)n);
		w->buf.len += encoded;
		w->buf.data[w->buf.len] = '\0';
		xw_flush(w, 1);
	}
	if (!w->failed && ferror(fp)) {
		rl_err_set(w->err, RL_ERR_IO, "reading %s failed", path);
		w->failed = 1;
	}
	fclose(fp);
}

int xw_finish(struct xw *w)
{
	xw_put(w, "\n");
	xw_flush(w, 1);
	rl_buf_free(&w->buf);
	return w->failed ? -1 : 0;
}
