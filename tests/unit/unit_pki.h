/* unit_pki.h - where the unit tests find the test PKI that certs/make-test-pki.sh made for `make check`. */
#ifndef RELAIS_UNIT_PKI_H
#define RELAIS_UNIT_PKI_H

#include <stdio.h>
#include <stdlib.h>

static char pki_dir[1024];

/* Sets pki_dir to "$top_builddir/tests/pki" ("./tests/pki" without the variable). */
static inline void unit_pki_init(void)
{
	const char *builddir = getenv("top_builddir");

	snprintf(pki_dir, sizeof(pki_dir), "%s/tests/pki", builddir ? builddir : ".");
}

/* "$top_builddir/tests/pki/NAME"; the last four results stay valid. */
static inline const char *pki(const char *name)
{
	static char path[4][1200];
	static int which;

	which = (which + 1) % 4;
	snprintf(path[which], sizeof(path[which]), "%s/%s", pki_dir, name);
	return path[which];
}

#endif
