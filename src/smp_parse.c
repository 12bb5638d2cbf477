/*
 * smp_parse.c - reads SMP ServiceGroup and ServiceMetadata documents (Peppol SMP 1.0, OASIS BDXR SMP 1.0,
 * OASIS SMP 2.0) into the flavour-independent structures of include/relais/smp.h.
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "relais/smp.h"
#include "relais/xml.h"

const char *rl_smp_flavour_name(int flavour)
{
	switch (flavour) {
	case RL_SMP_PEPPOL1: return "Peppol SMP 1.0";
	case RL_SMP_BDXR1: return "OASIS BDXR SMP 1.0";
	case RL_SMP_BDXR2: return "OASIS SMP 2.0";
	default: return "unknown SMP";
	}
}

static void endpoint_free(struct rl_smp_endpoint *ep)
{
	free(ep->transport_profile);
	free(ep->url);
	X509_free(ep->cert);
	free(ep->description);
	free(ep->contact);
}

void rl_smp_metadata_free(struct rl_smp_metadata *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->process_count; i++) {
		for (size_t j = 0; j < m->processes[i].endpoint_count; j++)
			endpoint_free(&m->processes[i].endpoints[j]);
		free(m->processes[i].endpoints);
		free(m->processes[i].scheme);
		free(m->processes[i].value);
	}
	free(m->processes);
	free(m->participant_scheme);
	free(m->participant_value);
	free(m->doctype_scheme);
	free(m->doctype_value);
	free(m->redirect_url);
	free(m->redirect_cert_uid);
	X509_free(m->redirect_cert);
	memset(m, 0, sizeof(*m));
}

void rl_smp_service_group_free(struct rl_smp_service_group *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->count; i++) {
		free(g->doctypes[i]);
		if (g->hrefs)
			free(g->hrefs[i]);
	}
	free(g->doctypes);
	free(g->hrefs);
	free(g->participant_scheme);
	free(g->participant_value);
	memset(g, 0, sizeof(*g));
}

void rl_smp_signature_free(struct rl_smp_signature *s)
{
	if (!s)
		return;
	X509_free(s->signer);
	memset(s, 0, sizeof(*s));
}

int rl_smp_endpoint_active(const struct rl_smp_endpoint *ep, time_t t)
{
	if (ep->activation && t < ep->activation)
		return 0;
	if (ep->expiration && t > ep->expiration)
		return 0;
	return 1;
}

/* xs:dateTime, or an xs:date (SMP 2.0) taken as the start (or end, when end_of_day) of that UTC day. */
static int parse_date(xmlNodePtr node, int end_of_day, time_t *out, struct rl_err *err)
{
	char *text = rl_xml_text(node);
	char full[64];
	time_t t;

	*out = 0;
	if (!text)
		return 0;
	if (strlen(text) == 10)
		snprintf(full, sizeof(full), "%sT%s", text, end_of_day ? "23:59:59Z" : "00:00:00Z");
	else
		snprintf(full, sizeof(full), "%s", text);
	t = rl_parse_datetime(full);
	if (t == (time_t)-1) {
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: %s \"%.40s\" is not a date", (const char *)node->name,
			   text);
		free(text);
		return -1;
	}
	free(text);
	*out = t;
	return 0;
}

/* Text of a required child; sets err naming it when absent or empty. */
static char *required_text(xmlNodePtr parent, const char *ns, const char *name, struct rl_err *err)
{
	char *text = rl_xml_text(rl_xml_child(parent, ns, name));

	if (text == NULL || text[0] == '\0') {
		free(text);
		rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: %s has no %s", (const char *)parent->name, name);
		return NULL;
	}
	return text;
}

/* The certificate from base64 text; a certificate that cannot be read is a bad response. */
static int read_cert(xmlNodePtr node, X509 **out, struct rl_err *err)
{
	char *b64 = rl_xml_text(node);

	*out = NULL;
	if (!b64 || !b64[0]) {
		free(b64);
		return 0;
	}
	*out = rl_cert_from_base64(b64, err);
	free(b64);
	if (!*out) {
		err->code = RL_ERR_BAD_RESPONSE;
		return rl_err_prefix(err, "SMP endpoint certificate");
	}
	return 0;
}

/* Identifier child (ns NULL = any) with its scheme attribute. */
static int read_id(xmlNodePtr parent, const char *name, const char *scheme_attr, char **scheme, char **value,
		   struct rl_err *err)
{
	xmlNodePtr node = rl_xml_child(parent, NULL, name);

	*scheme = *value = NULL;
	if (!node)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: %s has no %s",
				  (const char *)parent->name, name);
	*value = rl_xml_text(node);
	*scheme = rl_xml_attr(node, NULL, scheme_attr);
	if (!*scheme)
		*scheme = strdup("");
	if (!*value || !*scheme)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

/* SMP 1.0 Endpoint (Peppol or BDXR). */
static int read_endpoint1(xmlNodePtr node, int flavour, struct rl_smp_endpoint *ep, struct rl_err *err)
{
	xmlNodePtr addr;

	ep->transport_profile = rl_xml_attr(node, NULL, "transportProfile");
	if (!ep->transport_profile)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: Endpoint without transportProfile");
	if (flavour == RL_SMP_PEPPOL1) {
		addr = rl_xml_child(rl_xml_child(node, RL_NS_WSA, "EndpointReference"), RL_NS_WSA, "Address");
		if (!addr)
			return rl_err_set(err, RL_ERR_BAD_RESPONSE,
					  "SMP response: Endpoint %s has no EndpointReference/Address", ep->transport_profile);
		ep->url = rl_xml_text(addr);
	} else {
		ep->url = required_text(node, NULL, "EndpointURI", err);
		if (!ep->url)
			return -1;
	}
	if (parse_date(rl_xml_child(node, NULL, "ServiceActivationDate"), 0, &ep->activation, err) < 0 ||
	    parse_date(rl_xml_child(node, NULL, "ServiceExpirationDate"), 1, &ep->expiration, err) < 0)
		return -1;
	ep->description = rl_xml_text(rl_xml_child(node, NULL, "ServiceDescription"));
	ep->contact = rl_xml_text(rl_xml_child(node, NULL, "TechnicalContactUrl"));
	return read_cert(rl_xml_child(node, NULL, "Certificate"), &ep->cert, err);
}

static int parse_metadata1(xmlNodePtr sm, int flavour, struct rl_smp_metadata *out, struct rl_err *err)
{
	xmlNodePtr info = rl_xml_child(sm, NULL, "ServiceInformation");
	xmlNodePtr redirect = rl_xml_child(sm, NULL, "Redirect");
	xmlNodePtr list, proc;

	if (redirect) {
		out->redirect_url = rl_xml_attr(redirect, NULL, "href");
		if (!out->redirect_url || !out->redirect_url[0])
			return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: Redirect without href");
		out->redirect_cert_uid = required_text(redirect, NULL, "CertificateUID", err);
		return out->redirect_cert_uid ? 0 : -1;
	}
	if (!info)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE,
				  "SMP response: ServiceMetadata has neither ServiceInformation nor Redirect");
	if (read_id(info, "ParticipantIdentifier", "scheme", &out->participant_scheme, &out->participant_value,
		    err) < 0 ||
	    read_id(info, "DocumentIdentifier", "scheme", &out->doctype_scheme, &out->doctype_value, err) < 0)
		return -1;
	list = rl_xml_child(info, NULL, "ProcessList");
	if (!list)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: ServiceInformation has no ProcessList");
	out->process_count = 0;
	out->processes = calloc((size_t)rl_xml_count(list, NULL, "Process") + 1, sizeof(*out->processes));
	if (!out->processes)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	for (proc = rl_xml_child(list, NULL, "Process"); proc; proc = rl_xml_next(proc, NULL, "Process")) {
		struct rl_smp_process *p = &out->processes[out->process_count++];
		xmlNodePtr eps = rl_xml_child(proc, NULL, "ServiceEndpointList"), e;

		if (read_id(proc, "ProcessIdentifier", "scheme", &p->scheme, &p->value, err) < 0)
			return -1;
		if (!eps)
			return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: Process %s has no ServiceEndpointList",
					  p->value);
		p->endpoints = calloc((size_t)rl_xml_count(eps, NULL, "Endpoint") + 1, sizeof(*p->endpoints));
		if (!p->endpoints)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		for (e = rl_xml_child(eps, NULL, "Endpoint"); e; e = rl_xml_next(e, NULL, "Endpoint"))
			if (read_endpoint1(e, flavour, &p->endpoints[p->endpoint_count++], err) < 0)
				return -1;
	}
	return 0;
}

/* SMP 2.0 Endpoint. */
static int read_endpoint2(xmlNodePtr node, struct rl_smp_endpoint *ep, struct rl_err *err)
{
	xmlNodePtr cert = rl_xml_child(node, RL_NS_SMP2_CAC, "Certificate");

	ep->transport_profile = required_text(node, RL_NS_SMP2_CBC, "TransportProfileID", err);
	if (!ep->transport_profile)
		return -1;
	ep->url = required_text(node, RL_NS_SMP2_CBC, "AddressURI", err);
	if (!ep->url)
		return -1;
	if (parse_date(rl_xml_child(node, RL_NS_SMP2_CBC, "ActivationDate"), 0, &ep->activation, err) < 0 ||
	    parse_date(rl_xml_child(node, RL_NS_SMP2_CBC, "ExpirationDate"), 1, &ep->expiration, err) < 0)
		return -1;
	ep->description = rl_xml_text(rl_xml_child(node, RL_NS_SMP2_CBC, "Description"));
	ep->contact = rl_xml_text(rl_xml_child(node, RL_NS_SMP2_CBC, "Contact"));
	return read_cert(rl_xml_child(cert, RL_NS_SMP2_CBC, "ContentBinaryObject"), &ep->cert, err);
}

static int copy_endpoint(const struct rl_smp_endpoint *src, struct rl_smp_endpoint *dst)
{
	memset(dst, 0, sizeof(*dst));
	dst->transport_profile = strdup(src->transport_profile);
	dst->url = strdup(src->url);
	dst->description = src->description ? strdup(src->description) : NULL;
	dst->contact = src->contact ? strdup(src->contact) : NULL;
	dst->activation = src->activation;
	dst->expiration = src->expiration;
	if (src->cert) {
		X509_up_ref(src->cert);
		dst->cert = src->cert;
	}
	return dst->transport_profile && dst->url ? 0 : -1;
}

static int parse_metadata2(xmlNodePtr sm, struct rl_smp_metadata *out, struct rl_err *err)
{
	size_t nproc = 0;
	xmlNodePtr pm;

	if (read_id(sm, "ParticipantID", "schemeID", &out->participant_scheme, &out->participant_value, err) < 0 ||
	    read_id(sm, "ID", "schemeID", &out->doctype_scheme, &out->doctype_value, err) < 0)
		return -1;
	for (pm = rl_xml_child(sm, RL_NS_SMP2_CAC, "ProcessMetadata"); pm;
	     pm = rl_xml_next(pm, RL_NS_SMP2_CAC, "ProcessMetadata"))
		nproc += (size_t)rl_xml_count(pm, RL_NS_SMP2_CAC, "Process") + 1;
	out->processes = calloc(nproc + 1, sizeof(*out->processes));
	if (!out->processes)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	for (pm = rl_xml_child(sm, RL_NS_SMP2_CAC, "ProcessMetadata"); pm;
	     pm = rl_xml_next(pm, RL_NS_SMP2_CAC, "ProcessMetadata")) {
		xmlNodePtr redirect = rl_xml_child(pm, RL_NS_SMP2_CAC, "Redirect"), e, pr;
		struct rl_smp_process shared = { 0 };
		int rc = 0;

		if (redirect) {
			out->redirect_url = required_text(redirect, RL_NS_SMP2_CBC, "PublisherURI", err);
			if (!out->redirect_url)
				return -1;
			return read_cert(rl_xml_child(rl_xml_child(redirect, RL_NS_SMP2_CAC, "Certificate"),
						      RL_NS_SMP2_CBC, "ContentBinaryObject"),
					 &out->redirect_cert, err);
		}
		shared.endpoints = calloc((size_t)rl_xml_count(pm, RL_NS_SMP2_CAC, "Endpoint") + 1,
					  sizeof(*shared.endpoints));
		if (!shared.endpoints)
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		for (e = rl_xml_child(pm, RL_NS_SMP2_CAC, "Endpoint"); e && rc == 0;
		     e = rl_xml_next(e, RL_NS_SMP2_CAC, "Endpoint"))
			rc = read_endpoint2(e, &shared.endpoints[shared.endpoint_count++], err);
		/* One process entry per cac:Process, each with its own copy of the endpoints. */
		for (pr = rl_xml_child(pm, RL_NS_SMP2_CAC, "Process"); pr && rc == 0;
		     pr = rl_xml_next(pr, RL_NS_SMP2_CAC, "Process")) {
			struct rl_smp_process *p = &out->processes[out->process_count++];

			rc = read_id(pr, "ID", "schemeID", &p->scheme, &p->value, err);
			if (rc == 0 && !(p->endpoints = calloc(shared.endpoint_count + 1, sizeof(*p->endpoints))))
				rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			for (size_t i = 0; rc == 0 && i < shared.endpoint_count; i++) {
				if (copy_endpoint(&shared.endpoints[i], &p->endpoints[i]) < 0)
					rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
				p->endpoint_count++;
			}
		}
		for (size_t i = 0; i < shared.endpoint_count; i++)
			endpoint_free(&shared.endpoints[i]);
		free(shared.endpoints);
		if (rc < 0)
			return -1;
	}
	if (out->process_count == 0)
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "SMP response: ServiceMetadata has no process");
	return 0;
}

int rl_smp_is_metadata(xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	return rl_xml_is(root, RL_NS_SMP2_SM, "ServiceMetadata") ||
	       rl_xml_is(root, RL_NS_SMP_PEPPOL, "SignedServiceMetadata") ||
	       rl_xml_is(root, RL_NS_SMP_PEPPOL, "ServiceMetadata") ||
	       rl_xml_is(root, RL_NS_SMP_BDXR1, "SignedServiceMetadata") ||
	       rl_xml_is(root, RL_NS_SMP_BDXR1, "ServiceMetadata");
}

int rl_smp_parse_metadata(xmlDocPtr doc, struct rl_smp_metadata *out, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), sm = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (root && root->ns && strcmp((const char *)root->ns->href, RL_NS_SMP2_SM) == 0) {
		out->flavour = RL_SMP_BDXR2;
		sm = root;
	} else if (root && root->ns) {
		const char *ns = (const char *)root->ns->href;

		if (strcmp(ns, RL_NS_SMP_PEPPOL) == 0)
			out->flavour = RL_SMP_PEPPOL1;
		else if (strcmp(ns, RL_NS_SMP_BDXR1) == 0)
			out->flavour = RL_SMP_BDXR1;
		if (out->flavour && rl_xml_is(root, ns, "SignedServiceMetadata"))
			sm = rl_xml_child(root, ns, "ServiceMetadata");
		else if (out->flavour && rl_xml_is(root, ns, "ServiceMetadata"))
			sm = root;
	}
	if (!sm || !rl_xml_is(sm, (const char *)root->ns->href, "ServiceMetadata")) {
		memset(out, 0, sizeof(*out));
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "not an SMP ServiceMetadata document (root element %s)",
				  root ? (const char *)root->name : "missing");
	}
	rc = out->flavour == RL_SMP_BDXR2 ? parse_metadata2(sm, out, err) : parse_metadata1(sm, out->flavour, out, err);
	if (rc < 0)
		rl_smp_metadata_free(out);
	return rc;
}

/* Decodes %XX escapes in place. Returns -1 on a broken escape. */
static int percent_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (*r == '%') {
			if (!isxdigit((unsigned char)r[1]) || !isxdigit((unsigned char)r[2]))
				return -1;
			char hex[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

/* "scheme::value" of the document type named by an SMP 1.0 reference URL (its last "/services/" part). */
static char *doctype_from_href(const char *href)
{
	const char *p = strstr(href, "/services/"), *next;
	char *copy;

	if (!p)
		return NULL;
	p += strlen("/services/");
	while ((next = strstr(p, "/services/")) != NULL)
		p = next + strlen("/services/");
	copy = strdup(p);
	if (copy && (percent_decode(copy) < 0 || !strstr(copy, "::"))) {
		free(copy);
		return NULL;
	}
	return copy;
}

int rl_smp_parse_service_group(xmlDocPtr doc, struct rl_smp_service_group *out, struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), node;
	const char *ns = root && root->ns ? (const char *)root->ns->href : "";
	size_t max;

	memset(out, 0, sizeof(*out));
	if (rl_xml_is(root, RL_NS_SMP_PEPPOL, "ServiceGroup"))
		out->flavour = RL_SMP_PEPPOL1;
	else if (rl_xml_is(root, RL_NS_SMP_BDXR1, "ServiceGroup"))
		out->flavour = RL_SMP_BDXR1;
	else if (rl_xml_is(root, RL_NS_SMP2_SG, "ServiceGroup"))
		out->flavour = RL_SMP_BDXR2;
	else
		return rl_err_set(err, RL_ERR_BAD_RESPONSE, "not an SMP ServiceGroup document (root element %s)",
				  root ? (const char *)root->name : "missing");
	if (out->flavour == RL_SMP_BDXR2) {
		if (read_id(root, "ParticipantID", "schemeID", &out->participant_scheme, &out->participant_value,
			    err) < 0)
			goto fail;
		max = (size_t)rl_xml_count(root, RL_NS_SMP2_CAC, "ServiceReference");
		if (!(out->doctypes = calloc(max + 1, sizeof(char *))))
			goto nomem;
		for (node = rl_xml_child(root, RL_NS_SMP2_CAC, "ServiceReference"); node;
		     node = rl_xml_next(node, RL_NS_SMP2_CAC, "ServiceReference")) {
			char *scheme = NULL, *value = NULL;
			size_t len;

			if (read_id(node, "ID", "schemeID", &scheme, &value, err) < 0) {
				free(scheme);
				free(value);
				goto fail;
			}
			len = strlen(scheme) + strlen(value) + 3;
			out->doctypes[out->count] = malloc(len);
			if (out->doctypes[out->count])
				snprintf(out->doctypes[out->count++], len, "%s::%s", scheme, value);
			free(scheme);
			free(value);
		}
		return 0;
	}
	if (read_id(root, "ParticipantIdentifier", "scheme", &out->participant_scheme, &out->participant_value,
		    err) < 0)
		goto fail;
	node = rl_xml_child(root, ns, "ServiceMetadataReferenceCollection");
	max = node ? (size_t)rl_xml_count(node, ns, "ServiceMetadataReference") : 0;
	if (!(out->doctypes = calloc(max + 1, sizeof(char *))) || !(out->hrefs = calloc(max + 1, sizeof(char *))))
		goto nomem;
	for (node = node ? rl_xml_child(node, ns, "ServiceMetadataReference") : NULL; node;
	     node = rl_xml_next(node, ns, "ServiceMetadataReference")) {
		char *href = rl_xml_attr(node, NULL, "href");
		char *doctype = href ? doctype_from_href(href) : NULL;

		if (!doctype) {
			rl_err_set(err, RL_ERR_BAD_RESPONSE,
				   "SMP ServiceGroup: reference \"%.200s\" does not name a document type",
				   href ? href : "(no href)");
			free(href);
			goto fail;
		}
		out->hrefs[out->count] = href;
		out->doctypes[out->count++] = doctype;
	}
	return 0;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory");
fail:
	rl_smp_service_group_free(out);
	return -1;
}
