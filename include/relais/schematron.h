/*
 * schematron.h - full EN 16931 / Peppol BIS 3 validation through the official schematron (XSLT 2.0),
 * run by one long-lived Saxon-HE worker process (java/RelaisSchematron.java) fed documents over a
 * socket: the JVM starts and each stylesheet compiles once, then every document costs a transform.
 *
 * The stylesheets are those installed under rl_docval_schema_dir()/schematron. Java is $RELAIS_JAVA
 * (default "java" from PATH), Saxon is $RELAIS_SAXON_JAR (default /usr/share/java/Saxon-HE.jar), the
 * worker source is <schema dir>/../java/RelaisSchematron.java.
 *
 * A worker that crashes, answers garbage or exceeds the timeout is killed: the call fails (-1), which
 * means "could not validate", never "valid"; the next call starts a new worker.
 * One struct rl_schematron serves one thread at a time.
 */
#ifndef RELAIS_SCHEMATRON_H
#define RELAIS_SCHEMATRON_H

#include <sys/types.h>
#include <libxml/tree.h>
#include "relais/docval.h"
#include "relais/err.h"

struct rl_schematron;

/* Checks that Java, Saxon and the worker are installed; the worker itself starts on first use.
 * timeout_seconds bounds each answer (the first one includes compiling the stylesheet).
 * Returns NULL with RL_ERR_CONFIG when something is missing. Free with rl_schematron_free(). */
struct rl_schematron *rl_schematron_new(int timeout_seconds, struct rl_err *err);
void rl_schematron_free(struct rl_schematron *w);

/* Runs the schematron that fits the document (parsed as doc from path): CEN EN 16931 for UBL or CII,
 * plus the Peppol BIS 3 rules for a UBL document whose CustomizationID claims Peppol BIS 3. SVRL failed
 * assertions become findings (flag "warning"/"information" -> warning, else fatal); a transform error on
 * the document becomes a fatal finding "SCHEMATRON". Returns 0, or -1 when it could not validate
 * (RL_ERR_CONFIG, RL_ERR_INTERNAL: worker died or timed out, RL_ERR_IO). */
int rl_schematron_validate(struct rl_schematron *w, const char *path, xmlDocPtr doc, struct rl_findings *out,
			   struct rl_err *err);

/* The worker's process id, 0 when none runs (for supervision and tests). */
pid_t rl_schematron_pid(const struct rl_schematron *w);

#endif
