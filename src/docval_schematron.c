/*
 * docval_schematron.c - the Saxon schematron worker: start, request, answer, supervision.
 * See include/relais/schematron.h. The worker's stdin and stdout are one end of a socketpair, so a dead
 * worker gives EOF or EPIPE (sent with MSG_NOSIGNAL: no SIGPIPE) and every read has a deadline (poll).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "relais/buf.h"
#include "relais/doc.h"
#include "relais/schematron.h"
#include "relais/stream.h"
#include "relais/xml.h"

#define DEFAULT_SAXON_JAR "/usr/share/java/Saxon-HE.jar"
#define SVRL_NS "http://purl.oclc.org/dsdl/svrl"
#define ANSWER_MAX ((size_t)64 << 20)

struct rl_schematron {
	pid_t pid;
	int fd;			/* our end of the socketpair, -1 when no worker runs */
	int timeout_ms;
	char *java;
	char *jar;
	char *worker;		/* RelaisSchematron.java */
	char *xslt_dir;
	struct rl_buf in;	/* bytes read but not consumed */
};

static int file_readable(const char *p)
{
	return access(p, R_OK) == 0;
}

/* The java executable: an absolute/relative path as given, or found in PATH. */
static char *find_java(void)
{
	const char *java = getenv("RELAIS_JAVA");
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (java && *java)
		return access(java, X_OK) == 0 ? strdup(java) : NULL;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		if (n > 0 && n < sizeof(candidate) - 6) {
			snprintf(candidate, sizeof(candidate), "%.*s/java", (int)n, p);
			if (access(candidate, X_OK) == 0)
				return strdup(candidate);
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

struct rl_schematron *rl_schematron_new(int timeout_seconds, struct rl_err *err)
{
	struct rl_schematron *w = calloc(1, sizeof(*w));
	const char *jar = getenv("RELAIS_SAXON_JAR");
	char dir[PATH_MAX];
	size_t n;

	if (w == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory"), NULL;
	w->fd = -1;
	w->timeout_ms = (timeout_seconds > 0 ? timeout_seconds : 120) * 1000;
	w->java = find_java();
	w->jar = strdup(jar && *jar ? jar : DEFAULT_SAXON_JAR);
	snprintf(dir, sizeof(dir), "%s", rl_docval_schema_dir());
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	if (asprintf(&w->xslt_dir, "%s/schematron", dir) < 0)
		w->xslt_dir = NULL;
	{
		char *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	if (asprintf(&w->worker, "%s/java/RelaisSchematron.java", dir) < 0)
		w->worker = NULL;
	if (w->jar == NULL || w->xslt_dir == NULL || w->worker == NULL) {
		rl_schematron_free(w);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory"), NULL;
	}
	if (w->java == NULL)
		rl_err_set(err, RL_ERR_CONFIG, "full validation needs Java: no java found (set RELAIS_JAVA)");
	else if (!file_readable(w->jar))
		rl_err_set(err, RL_ERR_CONFIG, "full validation needs Saxon-HE: %s is missing (set RELAIS_SAXON_JAR)", w->jar);
	else if (!file_readable(w->worker))
		rl_err_set(err, RL_ERR_CONFIG, "the schematron worker %s is missing", w->worker);
	else
		return w;
	rl_schematron_free(w);
	return NULL;
}

/* Ends the worker: politely (end of input, then SIGTERM) when it is healthy, SIGKILL when it is not. */
static void stop_worker(struct rl_schematron *w, int healthy)
{
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->pid > 0) {
		kill(w->pid, healthy ? SIGTERM : SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
		w->pid = 0;
	}
	rl_buf_reset(&w->in);
}

void rl_schematron_free(struct rl_schematron *w)
{
	if (w == NULL)
		return;
	stop_worker(w, 1);
	rl_buf_free(&w->in);
	free(w->java);
	free(w->jar);
	free(w->worker);
	free(w->xslt_dir);
	free(w);
}

pid_t rl_schematron_pid(const struct rl_schematron *w)
{
	return w ? w->pid : 0;
}

static int start_worker(struct rl_schematron *w, struct rl_err *err)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return rl_err_set(err, RL_ERR_IO, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return rl_err_set(err, RL_ERR_IO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(sv[1], 0);
		dup2(sv[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		execl(w->java, "java", "-Xss8m", "-cp", w->jar, w->worker, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	w->fd = sv[0];
	w->pid = pid;
	rl_buf_reset(&w->in);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads more bytes into w->in before the deadline. */
static int fill(struct rl_schematron *w, long long deadline, struct rl_err *err)
{
	char chunk[65536];
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	long long left = deadline - now_ms();
	ssize_t n;
	int rc;

	if (left <= 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker did not answer within %d s",
				  w->timeout_ms / 1000);
	rc = poll(&pfd, 1, (int)(left > 0x7fffffff ? 0x7fffffff : left));
	if (rc < 0 && errno == EINTR)
		return 0;
	if (rc < 0)
		return rl_err_set(err, RL_ERR_IO, "poll: %s", strerror(errno));
	if (rc == 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker did not answer within %d s",
				  w->timeout_ms / 1000);
	n = read(w->fd, chunk, sizeof(chunk));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker ended unexpectedly");
	if (w->in.len + (size_t)n > ANSWER_MAX)
		return rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker's answer is too large");
	if (rl_buf_append(&w->in, chunk, (size_t)n) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

static void consume(struct rl_buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* One request; on success *svrl holds the report (0) or *error_line the worker's error (1). */
static int request(struct rl_schematron *w, const char *xslt, const char *document, struct rl_buf *svrl,
		   struct rl_buf *error_line, struct rl_err *err)
{
	struct rl_buf line = RL_BUF_INIT;
	long long deadline = now_ms() + w->timeout_ms;
	char *nl;
	size_t header, size;
	int rc = -1;

	if (w->fd < 0 && start_worker(w, err) < 0)
		return -1;
	if (rl_buf_printf(&line, "%s\t%s\n", xslt, document) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	for (size_t off = 0; off < line.len;) {
		ssize_t n = send(w->fd, line.data + off, line.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker is gone (%s)", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	while ((nl = w->in.len ? memchr(w->in.data, '\n', w->in.len) : NULL) == NULL)
		if (fill(w, deadline, err) < 0)
			goto out;
	header = (size_t)(nl - w->in.data) + 1;
	*nl = '\0';
	if (strncmp(w->in.data, "FAIL ", 5) == 0) {
		rl_err_set(err, RL_ERR_CONFIG, "could not validate: %.400s", w->in.data + 5);
		consume(&w->in, header);
		rl_buf_free(&line);
		return -1;	/* the worker itself is fine: keep it */
	}
	if (strncmp(w->in.data, "ERR ", 4) == 0) {
		rc = rl_buf_puts(error_line, w->in.data + 4) < 0 ? rl_err_set(err, RL_ERR_NOMEM, "out of memory") : 1;
		consume(&w->in, header);
		goto out;
	}
	if (sscanf(w->in.data, "OK %zu", &size) != 1 || size > ANSWER_MAX) {
		rl_err_set(err, RL_ERR_INTERNAL, "could not validate: the schematron worker answered \"%.60s\"", w->in.data);
		goto out;
	}
	consume(&w->in, header);
	while (w->in.len < size)
		if (fill(w, deadline, err) < 0)
			goto out;
	if (rl_buf_append(svrl, w->in.data, size) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	consume(&w->in, size);
	rc = 0;
out:
	rl_buf_free(&line);
	if (rc < 0)
		stop_worker(w, 0);
	return rc;
}

/* SVRL locations without namespace tests: "/Invoice[1]/cac:InvoiceLine..." reads as "/Invoice[1]/InvoiceLine[1]/...". */
static void short_location(char *loc)
{
	char *w = loc;

	for (char *r = loc; *r;) {
		if (strncmp(r, "*:", 2) == 0) {
			r += 2;
		} else if (strncmp(r, "[namespace-uri()='", 18) == 0) {
			char *end = strstr(r + 18, "']");

			if (end == NULL)
				break;
			r = end + 2;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static int svrl_findings(const struct rl_buf *svrl, struct rl_findings *out, struct rl_err *err)
{
	struct rl_err perr;
	xmlDocPtr doc = rl_xml_parse(svrl->data, svrl->len, RL_ERR_INTERNAL, "SVRL report", &perr);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	int rc = 0;

	if (doc == NULL)
		return rl_err_set(err, RL_ERR_INTERNAL, "could not validate: %s", perr.msg);
	for (xmlNodePtr n = root ? root->children : NULL; n && rc == 0; n = n->next) {
		char *id, *flag, *location, *text;
		int severity;

		if (!rl_xml_is(n, SVRL_NS, "failed-assert") && !rl_xml_is(n, SVRL_NS, "successful-report"))
			continue;
		id = rl_xml_attr(n, NULL, "id");
		flag = rl_xml_attr(n, NULL, "flag");
		location = rl_xml_attr(n, NULL, "location");
		text = rl_xml_text(rl_xml_child(n, SVRL_NS, "text"));
		if (location)
			short_location(location);
		severity = flag && (strcmp(flag, "warning") == 0 || strcmp(flag, "information") == 0) ? RL_SEV_WARNING
											: RL_SEV_FATAL;
		if (rl_findings_add(out, id ? id : "SCHEMATRON", severity, location ? location : "", "%s",
				    text ? text : "") < 0)
			rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		free(id);
		free(flag);
		free(location);
		free(text);
	}
	xmlFreeDoc(doc);
	return rc;
}

/* The business document as its own file when it sits inside an SBD (the stylesheets expect it as root). */
static int business_file(const char *path, xmlDocPtr doc, char *out, size_t size, int *temporary,
			 struct rl_err *err)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), business = rl_doc_business_root(doc);
	struct rl_buf b = RL_BUF_INIT;
	const char *tmpdir = getenv("TMPDIR");
	int fd;

	*temporary = 0;
	if (business == root) {
		if (realpath(path, out) == NULL)
			return rl_err_set(err, RL_ERR_IO, "%s: %s", path, strerror(errno));
		return 0;
	}
	snprintf(out, size, "%s/relais-schematron-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	fd = mkstemp(out);
	if (fd < 0)
		return rl_err_set(err, RL_ERR_IO, "temporary file: %s", strerror(errno));
	*temporary = 1;
	if (rl_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") < 0 || rl_xml_dump(doc, business, &b) < 0) {
		close(fd);
		rl_buf_free(&b);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	for (size_t off = 0; off < b.len;) {
		ssize_t n = write(fd, b.data + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			rl_buf_free(&b);
			return rl_err_set(err, RL_ERR_IO, "writing %s: %s", out, strerror(errno));
		}
		off += (size_t)n;
	}
	close(fd);
	rl_buf_free(&b);
	return 0;
}

int rl_schematron_validate(struct rl_schematron *w, const char *path, xmlDocPtr doc, struct rl_findings *out,
			   struct rl_err *err)
{
	struct rl_doc_info info;
	const char *sheets[2];
	int nsheets = 0, temporary = 0, rc = 0;
	char doc_path[PATH_MAX];

	if (strchr(path, '\n') || strchr(path, '\t'))
		return rl_err_set(err, RL_ERR_IO, "could not validate: a file name with a tab or newline");
	if (rl_doc_detect_doc(doc, &info, err) < 0)
		return -1;
	if (info.syntax == RL_DOC_SYNTAX_UBL) {
		sheets[nsheets++] = "EN16931-UBL-validation.xslt";
		if (info.customization &&
		    strncmp(info.customization, RL_PEPPOL_BIS3_CUSTOMIZATION, strlen(RL_PEPPOL_BIS3_CUSTOMIZATION)) == 0)
			sheets[nsheets++] = "PEPPOL-EN16931-UBL.xslt";
	} else if (info.syntax == RL_DOC_SYNTAX_CII) {
		sheets[nsheets++] = "EN16931-CII-validation.xslt";
	}
	rl_doc_info_free(&info);
	if (nsheets == 0)
		return rl_err_set(err, RL_EBMS_OTHER, "not a UBL Invoice/CreditNote or a CII CrossIndustryInvoice");
	if (business_file(path, doc, doc_path, sizeof(doc_path), &temporary, err) < 0)
		return -1;
	for (int i = 0; i < nsheets && rc == 0; i++) {
		struct rl_buf svrl = RL_BUF_INIT, error_line = RL_BUF_INIT;
		char *xslt = NULL;

		if (asprintf(&xslt, "%s/%s", w->xslt_dir, sheets[i]) < 0) {
			rc = rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			break;
		}
		if (!file_readable(xslt)) {
			rc = rl_err_set(err, RL_ERR_CONFIG, "schematron stylesheet %s is missing", xslt);
		} else {
			rc = request(w, xslt, doc_path, &svrl, &error_line, err);
			if (rc == 0)
				rc = svrl_findings(&svrl, out, err);
			else if (rc == 1)
				rc = rl_findings_add(out, "SCHEMATRON", RL_SEV_FATAL, "/", "%s could not be applied: %.400s",
						     sheets[i], error_line.data) < 0
					     ? rl_err_set(err, RL_ERR_NOMEM, "out of memory")
					     : 0;
		}
		free(xslt);
		rl_buf_free(&svrl);
		rl_buf_free(&error_line);
	}
	if (temporary)
		unlink(doc_path);
	return rc < 0 ? -1 : 0;
}
