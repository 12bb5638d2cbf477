/* unit_smp_signers.h - what the SMP signature tests share: the SMP's, an access point's and a foreign
 * CA's signing identities, an endpoint certificate to publish, and the SMP trust anchors, loaded from the
 * test PKI (setup, teardown); and a search for an element in a document. Include after cmocka.h and
 * unit_pki.h. */
#ifndef RELAIS_UNIT_SMP_SIGNERS_H
#define RELAIS_UNIT_SMP_SIGNERS_H

#include <stdlib.h>
#include "relais/keys.h"
#include "relais/xml.h"

struct fixture {
	struct rl_identity smp, ap, foreign;
	X509 *endpoint_cert;
	struct rl_trust *smp_anchors;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rl_err err;

	assert_non_null(f);
	assert_int_equal(rl_identity_load_pem(&f->smp, pki("SMP000001.key.pem"), pki("SMP000001.cert.pem"), NULL, &err), 0);
	assert_int_equal(rl_identity_load_pem(&f->ap, pki("POP000001.key.pem"), pki("POP000001.cert.pem"), NULL, &err), 0);
	assert_int_equal(rl_identity_load_pem(&f->foreign, pki("POP000666.key.pem"), pki("POP000666.cert.pem"), NULL,
					      &err), 0);
	f->endpoint_cert = rl_cert_load_pem(pki("POP000002.cert.pem"), &err);
	assert_non_null(f->endpoint_cert);
	f->smp_anchors = rl_trust_load(pki("smp-ca-chain.pem"), &err);
	assert_non_null(f->smp_anchors);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rl_identity_free(&f->smp);
	rl_identity_free(&f->ap);
	rl_identity_free(&f->foreign);
	X509_free(f->endpoint_cert);
	rl_trust_free(f->smp_anchors);
	free(f);
	return 0;
}

/* The first element ns:name below node, depth first. */
static xmlNodePtr find(xmlNodePtr node, const char *ns, const char *name)
{
	for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next) {
		xmlNodePtr found;

		if (rl_xml_is(c, ns, name))
			return c;
		if ((found = find(c, ns, name)) != NULL)
			return found;
	}
	return NULL;
}

#endif
