/*
 * http_server.c - the HTTP(S) server on libmicrohttpd. See include/relais/http_server.h.
 *
 * libmicrohttpd runs a pool of threads, each multiplexing its connections. A request travels through
 * its callbacks as: uri_logged (request line read: our struct request is made) -> on_access (headers:
 * begin; then body chunks; then the end: finish and the answer) -> on_completed (cleanup, free).
 *
 * Request deadline: libmicrohttpd only drops connections that are idle, so a client trickling one
 * byte a second would hold its connection forever. Every connection therefore carries a deadline
 * (request_timeout from its start, and again from the end of each request) that is lifted once a
 * request has been received whole. A watchdog thread shuts down the socket of any connection past
 * its deadline; libmicrohttpd then sees the socket fail and closes the connection in its own thread.
 * The list of connections is kept by the connection notifications, under the server lock, so a socket
 * is never touched after libmicrohttpd has closed it.
 *
 * Bodies over max_body: libmicrohttpd 0.9.75 takes an answer before a body or after its end, never in
 * the middle. With a Content-Length the size is known before the body: a client waiting for
 * "100 Continue" is answered by libmicrohttpd, which then closes. A chunked body passes max_body in the
 * middle, and a client that did not wait for 100 Continue is already sending: the answer is then
 * written here, straight onto the connection (through its GnuTLS session under TLS), with Connection:
 * close. What follows of the body is read and dropped for at most LINGER_SECONDS and LINGER_MAX_BYTES,
 * so that a client still sending reads the answer rather than a connection reset; then the connection
 * is closed (by the watchdog when the client has gone quiet).
 *
 * Every response sent whole is counted by its status for GET /metrics (metrics.h), as the request ends.
 *
 * Stop: requests are refused with 503 from the moment the stop begins; the stop waits until no request
 * is in progress and no bytes wait unread on an open connection (a request on an idle connection whose
 * thread was busy), so that such a request gets its 503 before the connections are closed.
 *
 * TLS: libmicrohttpd (Debian's, built on GnuTLS) asks a certificate callback for the key and chain at
 * each handshake. The callback reads the current pair under the lock. A reload puts a new pair in
 * front; older pairs are kept until the server stops, since GnuTLS sessions refer to them without
 * copying. The callback finds the server through the GnuTLS session pointer, which is set when the
 * connection starts (before any handshake).
 */
#include "config.h"
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include "relais/http_server.h"
#include "relais/metrics.h"

#define DEFAULT_THREADS 4
#define DEFAULT_MAX_CONNECTIONS 64
#define DEFAULT_TIMEOUT 60
#define DEFAULT_MAX_BODY (100ULL * 1024 * 1024)
#define MAX_CHAIN 16
#define WATCHDOG_PERIOD_MS 200
#define STOP_CHECK_MS 5
#define STOP_QUIET_MS 20
#define FILE_BLOCK 65536
/* An answer written in the middle of a body: how long its writing may wait for the socket, and how much
 * of the rest of the body is read and dropped afterwards, at most, before the connection is closed. */
#define MID_BODY_SEND_MS 1000
#define LINGER_SECONDS 1
#define LINGER_MAX_BYTES (4ULL * 1024 * 1024)
/* TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct tls_pair {
	gnutls_pcert_st pcerts[MAX_CHAIN];
	unsigned npcerts;
	gnutls_privkey_t key;
	struct tls_pair *older;
};

/* One open connection, for the request deadline. */
struct conn {
	struct conn *prev, *next;
	MHD_socket fd;
	int64_t deadline_ms;		/* monotonic; 0 = none */
	int dropped;
};

struct rl_http_server {
	struct MHD_Daemon *daemon;
	struct rl_http_handler h;
	uint64_t max_body;
	unsigned timeout;
	unsigned port;
	int tls;
	MHD_socket quiesced_fd;		/* the listen socket after quiescing, closed after the stop */

	pthread_mutex_t lock;		/* guards everything below */
	pthread_cond_t changed;		/* active went down while stopping (timed waits on CLOCK_MONOTONIC) */
	pthread_cond_t watchdog_wake;	/* the watchdog is told to quit (likewise) */
	struct tls_pair *tls_pairs;	/* the current one first */
	struct conn *conns;
	unsigned active;		/* begun requests not yet cleaned up */
	int stopping;
	int watchdog_quit;
	pthread_t watchdog;
	int watchdog_started;
};

/* One request; libmicrohttpd keeps it as the request's context. */
struct request {
	struct rl_http_request pub;	/* first: rl_http_request_header() casts back */
	struct rl_http_server *srv;
	struct MHD_Connection *mc;
	struct conn *conn;		/* NULL when the connection could not be tracked */
	char *uri;			/* the request URI as received (pub.query points into it) */
	char remote[INET6_ADDRSTRLEN];
	void *ctx;
	int seen;			/* on_access has been called */
	int begun;			/* begin() returned a context */
	int counted;			/* counted in srv->active */
	int finished;			/* finish() was called (or an answer made without it) */
	int sent_mid_body;		/* the answer was written in the middle of the body (see
					 * send_mid_body); the rest is dropped until the connection closes */
	uint64_t received;
	uint64_t received_at_answer;	/* body bytes received when that answer was written */
	struct rl_http_response answer;	/* made by finish (or the server), not yet sent */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- TLS key and certificate ---------------------------------------------------------------- */

static void tls_pair_free(struct tls_pair *p)
{
	for (unsigned i = 0; i < p->npcerts; i++)
		gnutls_pcert_deinit(&p->pcerts[i]);
	if (p->key != NULL)
		gnutls_privkey_deinit(p->key);
	free(p);
}

/* 1 when the certificate's public key is the private key's. */
static int key_matches_cert(gnutls_privkey_t key, gnutls_pubkey_t cert_pub)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	int same = 0;

	if (gnutls_pubkey_init(&pub) == 0 && gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) == 0 &&
	    gnutls_pubkey_export2(cert_pub, GNUTLS_X509_FMT_DER, &b) == 0)
		same = a.size == b.size && memcmp(a.data, b.data, a.size) == 0;
	gnutls_free(a.data);
	gnutls_free(b.data);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	return same;
}

static struct tls_pair *tls_pair_load(const char *key_path, const char *cert_path, struct rl_err *err)
{
	struct tls_pair *p;
	gnutls_datum_t key_pem = { NULL, 0 }, cert_pem = { NULL, 0 };
	int rc;

	if (key_path == NULL || *key_path == '\0' || cert_path == NULL || *cert_path == '\0') {
		rl_err_set(err, RL_ERR_CONFIG, "TLS needs a key file and a certificate file");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (gnutls_load_file(key_path, &key_pem) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "cannot read TLS key %s", key_path);
		goto fail;
	}
	if (gnutls_load_file(cert_path, &cert_pem) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "cannot read TLS certificate %s", cert_path);
		goto fail;
	}
	p->npcerts = MAX_CHAIN;
	rc = gnutls_pcert_list_import_x509_raw(p->pcerts, &p->npcerts, &cert_pem, GNUTLS_X509_FMT_PEM,
					       GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (rc < 0 || p->npcerts == 0) {
		p->npcerts = 0;
		rl_err_set(err, RL_ERR_CONFIG, "TLS certificate %s: %s", cert_path,
			   rc < 0 ? gnutls_strerror(rc) : "no certificate");
		goto fail;
	}
	if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(p->key, &key_pem, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		rl_err_set(err, RL_ERR_CONFIG, "TLS key %s: %s", key_path, gnutls_strerror(rc));
		goto fail;
	}
	if (!key_matches_cert(p->key, p->pcerts[0].pubkey)) {
		rl_err_set(err, RL_ERR_CONFIG, "TLS key %s does not belong to certificate %s", key_path,
			   cert_path);
		goto fail;
	}
	gnutls_free(key_pem.data);
	gnutls_free(cert_pem.data);
	return p;
fail:
	gnutls_free(key_pem.data);
	gnutls_free(cert_pem.data);
	tls_pair_free(p);
	return NULL;
}

/* GnuTLS asks which certificate to present: the current pair of the connection's server. */
static int pick_certificate(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
			    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct rl_http_server *srv = gnutls_session_get_ptr(session);
	struct tls_pair *p;

	if (srv == NULL)
		return -1;
	pthread_mutex_lock(&srv->lock);
	p = srv->tls_pairs;
	pthread_mutex_unlock(&srv->lock);
	if (p == NULL)
		return -1;
	*pcert = p->pcerts;
	*pcert_length = p->npcerts;
	*pkey = p->key;
	return 0;
}

/* ---- connections and their deadline ------------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct rl_http_server *srv = cls;
	struct conn *c;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd_info =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (srv->tls) {
			const union MHD_ConnectionInfo *tls_info =
				MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);

			if (tls_info != NULL && tls_info->tls_session != NULL)
				gnutls_session_set_ptr(tls_info->tls_session, srv);
		}
		*socket_context = NULL;
		if (fd_info == NULL || (c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->fd = fd_info->connect_fd;
		c->deadline_ms = now_ms() + (int64_t)srv->timeout * 1000;
		pthread_mutex_lock(&srv->lock);
		c->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = c;
		srv->conns = c;
		pthread_mutex_unlock(&srv->lock);
		*socket_context = c;
		return;
	}
	c = *socket_context;
	if (c == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&srv->lock);
	free(c);
	*socket_context = NULL;
}

/* Sets a connection's deadline: `seconds` from now, or none (0). */
static void conn_set_deadline(struct rl_http_server *srv, struct conn *c, unsigned seconds)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	c->deadline_ms = seconds ? now_ms() + (int64_t)seconds * 1000 : 0;
	pthread_mutex_unlock(&srv->lock);
}

static void *watchdog_main(void *arg)
{
	struct rl_http_server *srv = arg;

	pthread_mutex_lock(&srv->lock);
	while (!srv->watchdog_quit) {
		struct timespec until;
		int64_t now;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->watchdog_wake, &srv->lock, &until);
		now = now_ms();
		for (struct conn *c = srv->conns; c != NULL; c = c->next)
			if (c->deadline_ms != 0 && now >= c->deadline_ms && !c->dropped) {
				shutdown(c->fd, SHUT_RDWR);
				c->dropped = 1;
			}
	}
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* ---- requests ---------------------------------------------------------------------------------- */

const char *rl_http_request_header(const struct rl_http_request *r, const char *name)
{
	const struct request *rq = (const struct request *)r;

	return MHD_lookup_connection_value(rq->mc, MHD_HEADER_KIND, name);
}

const char *rl_http_request_query_arg(const struct rl_http_request *r, const char *name)
{
	const struct request *rq = (const struct request *)r;

	return MHD_lookup_connection_value(rq->mc, MHD_GET_ARGUMENT_KIND, name);
}

/* The request line has been read: the request's own struct is made here. */
static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct request *rq = calloc(1, sizeof(*rq));

	if (rq == NULL)
		return NULL;
	rq->srv = cls;
	rq->mc = mc;
	rq->uri = strdup(uri != NULL ? uri : "");
	if (rq->uri == NULL) {
		free(rq);
		return NULL;
	}
	return rq;
}

static ssize_t read_file_block(void *cls, uint64_t pos, char *buf, size_t max)
{
	FILE *fp = cls;
	size_t n = fread(buf, 1, max, fp);

	if (n == 0)
		return ferror(fp) ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void close_file(void *cls)
{
	fclose(cls);
}

/* Calls fn for each "Name: value\r\n" line of lines (value without leading blanks); malformed lines
 * (no name, no colon, a bare CR or LF inside) are skipped. */
static void each_extra_header(const char *lines, void (*fn)(void *cls, const char *name, const char *value),
			      void *cls)
{
	while (lines != NULL && *lines != '\0') {
		const char *end = strstr(lines, "\r\n");
		size_t len = end != NULL ? (size_t)(end - lines) : strlen(lines);
		char *line = strndup(lines, len);
		char *colon = line != NULL ? strchr(line, ':') : NULL;

		if (colon != NULL && colon != line && strpbrk(line, "\r\n") == NULL) {
			char *value = colon + 1;

			*colon = '\0';
			while (*value == ' ' || *value == '\t')
				value++;
			fn(cls, line, value);
		}
		free(line);
		lines = end != NULL ? end + 2 : NULL;
	}
}

static void add_to_response(void *cls, const char *name, const char *value)
{
	MHD_add_response_header(cls, name, value);
}

/* The size of what is left of an answer's file, or -1 when it cannot be told (not a regular file). */
static long long file_rest_size(FILE *fp)
{
	struct stat st;
	off_t pos = ftello(fp);

	if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && pos >= 0 && st.st_size >= pos)
		return (long long)(st.st_size - pos);
	return -1;
}

/* Frees what an answer holds. */
static void answer_free(struct rl_http_response *resp)
{
	if (resp->body_file != NULL)
		fclose(resp->body_file);
	resp->body_file = NULL;
	rl_buf_free(&resp->body);
	free(resp->content_type);
	free(resp->extra_headers);
	resp->content_type = NULL;
	resp->extra_headers = NULL;
}

/* Turns an answer into a libmicrohttpd response (NULL when out of memory). Everything in resp is handed
 * over. */
static struct MHD_Response *make_response(struct rl_http_response *resp)
{
	struct MHD_Response *r;

	if (resp->body_file != NULL) {
		long long size = file_rest_size(resp->body_file);

		r = MHD_create_response_from_callback(size >= 0 ? (uint64_t)size : MHD_SIZE_UNKNOWN, FILE_BLOCK,
						      read_file_block, resp->body_file, close_file);
		if (r != NULL)
			resp->body_file = NULL;
	} else if (resp->body.len > 0) {
		size_t len = resp->body.len;

		r = MHD_create_response_from_buffer(len, rl_buf_steal(&resp->body), MHD_RESPMEM_MUST_FREE);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (r != NULL) {
		if (resp->content_type != NULL)
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
		each_extra_header(resp->extra_headers, add_to_response, r);
	}
	answer_free(resp);
	return r;
}

/* An answer made by the server itself (500, 503). */
static void answer_plain(struct request *rq, unsigned status, const char *text, int close_after)
{
	rq->answer.status = (int)status;
	rq->answer.content_type = strdup("text/plain");
	rl_buf_puts(&rq->answer.body, text);
	if (close_after)
		rq->answer.extra_headers = strdup("Connection: close\r\n");
	rq->finished = 1;
	conn_set_deadline(rq->srv, rq->conn, 0);
}

/* The body ended: the application fills in its answer. */
static void finish_request(struct request *rq, enum rl_http_body_end how)
{
	rq->finished = 1;
	rq->answer.status = 500;
	rq->srv->h.finish(rq->ctx, how, &rq->answer);
	if (rq->answer.status < 100 || rq->answer.status > 999)
		rq->answer.status = 500;
}

/* Queues the answer made by finish. MHD_NO closes the connection (no memory, or libmicrohttpd
 * cannot answer at this point). */
static enum MHD_Result queue_answer(struct request *rq)
{
	unsigned status = (unsigned)rq->answer.status;
	struct MHD_Response *r = make_response(&rq->answer);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(rq->mc, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- answering in the middle of a body ------------------------------------------------------- */

/* Writes len bytes on the request's connection (through its TLS session when there is one), waiting
 * for the socket until until_ms at most. Called in the connection's own thread, between two reads of
 * libmicrohttpd, which has nothing of its own to send then. Returns 0, or -1 (peer gone, too slow). */
static int conn_send(struct request *rq, const char *data, size_t len, int64_t until_ms)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(rq->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	gnutls_session_t tls = NULL;
	MHD_socket fd;

	if (ci == NULL)
		return -1;
	fd = ci->connect_fd;
	if (rq->srv->tls) {
		ci = MHD_get_connection_info(rq->mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci == NULL || ci->tls_session == NULL)
			return -1;
		tls = ci->tls_session;
	}
	while (len > 0) {
		struct pollfd p = { fd, POLLOUT, 0 };
		int64_t left;
		ssize_t n;

		if (tls != NULL) {
			/* After GNUTLS_E_AGAIN the same data is offered again, as GnuTLS requires. */
			n = gnutls_record_send(tls, data, len);
			if (n < 0 && n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
				return -1;
		} else {
			n = send(fd, data, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
		}
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		left = until_ms - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) < 0)
			return -1;
	}
	return 0;
}

static void add_to_head(void *cls, const char *name, const char *value)
{
	/* The framing is ours: Content-Length and Connection: close. */
	if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0 &&
	    strcasecmp(name, MHD_HTTP_HEADER_CONNECTION) != 0 &&
	    strcasecmp(name, MHD_HTTP_HEADER_TRANSFER_ENCODING) != 0)
		rl_buf_printf(cls, "%s: %s\r\n", name, value);
}

/* libmicrohttpd 0.9.75 takes an answer only before a request body or after its end, never in the
 * middle (MHD_queue_response() then fails, and the access handler's MHD_NO just closes the connection).
 * A chunked body that passes max_body has no end worth waiting for, so its answer is written here,
 * straight onto the connection, as a complete HTTP/1.1 response with Connection: close. The answer is
 * then given away. Returns 0 when all of it was written. */
static int send_mid_body(struct request *rq)
{
	struct rl_http_response *a = &rq->answer;
	struct rl_buf head = RL_BUF_INIT;
	int64_t until = now_ms() + MID_BODY_SEND_MS;
	long long length = a->body_file != NULL ? file_rest_size(a->body_file) : (long long)a->body.len;
	char date[64];
	struct tm tm;
	time_t t = time(NULL);
	int rc = 0;

	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
	rl_buf_printf(&head, "HTTP/1.1 %d %s\r\nDate: %s\r\n", a->status,
		      MHD_get_reason_phrase_for((unsigned)a->status), date);
	if (a->content_type != NULL)
		rl_buf_printf(&head, "Content-Type: %s\r\n", a->content_type);
	each_extra_header(a->extra_headers, add_to_head, &head);
	if (length >= 0)
		rl_buf_printf(&head, "Content-Length: %lld\r\n", length);
	if (rl_buf_puts(&head, "Connection: close\r\n\r\n") < 0 || conn_send(rq, head.data, head.len, until) < 0)
		rc = -1;
	if (rc == 0 && a->body_file != NULL) {
		char *block = malloc(FILE_BLOCK);
		size_t n;

		rc = block != NULL ? 0 : -1;
		while (rc == 0 && (n = fread(block, 1, FILE_BLOCK, a->body_file)) > 0)
			rc = conn_send(rq, block, n, until);
		if (rc == 0 && ferror(a->body_file))
			rc = -1;
		free(block);
	} else if (rc == 0 && a->body.len > 0) {
		rc = conn_send(rq, a->body.data, a->body.len, until);
	}
	rl_buf_free(&head);
	answer_free(a);
	return rc;
}

/* The body is over max_body (finish has made the answer): the answer is written at once, and the rest
 * of the body is read and dropped for a moment (LINGER_SECONDS, LINGER_MAX_BYTES), so that a client
 * still sending sees the answer rather than a connection reset; the watchdog then closes the
 * connection if the client has not. Returns -1 when the connection must be closed now. */
static int answer_too_large(struct request *rq)
{
	if (send_mid_body(rq) < 0)
		return -1;
	rq->sent_mid_body = 1;
	rq->received_at_answer = rq->received;
	conn_set_deadline(rq->srv, rq->conn, LINGER_SECONDS);
	return 0;
}

static long long request_content_length(struct MHD_Connection *mc)
{
	const char *te = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	long long n;

	if (te != NULL && strcasestr(te, "chunked") != NULL)
		return -1;
	if (cl == NULL)
		return 0;
	errno = 0;
	n = strtoll(cl, &end, 10);
	return errno == 0 && end != cl && n >= 0 ? n : -1;
}

/* 1 when the client waits for "100 Continue" before it sends the body (as libmicrohttpd decides). */
static int expects_continue(struct MHD_Connection *mc, const char *version)
{
	const char *expect = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return version != NULL && strcasecmp(version, MHD_HTTP_VERSION_1_1) == 0 && expect != NULL &&
	       strcasecmp(expect, "100-continue") == 0;
}

/* The headers have arrived. */
static enum MHD_Result start_request(struct request *rq, const char *url, const char *method,
				     const char *version)
{
	struct rl_http_server *srv = rq->srv;
	const union MHD_ConnectionInfo *ci;
	char *q;
	int stopping;

	ci = MHD_get_connection_info(rq->mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	rq->conn = ci != NULL ? ci->socket_context : NULL;
	ci = MHD_get_connection_info(rq->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, rq->remote,
				  sizeof(rq->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, rq->remote,
				  sizeof(rq->remote));
	}
	q = strchr(rq->uri, '?');
	rq->pub.method = method;
	rq->pub.path = url;
	rq->pub.query = q != NULL ? q + 1 : NULL;
	rq->pub.content_type = MHD_lookup_connection_value(rq->mc, MHD_HEADER_KIND,
							   MHD_HTTP_HEADER_CONTENT_TYPE);
	rq->pub.authorization = MHD_lookup_connection_value(rq->mc, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_AUTHORIZATION);
	rq->pub.content_length = request_content_length(rq->mc);
	rq->pub.remote_addr = rq->remote;

	/* Counted also when refused for the stop: the stop waits for the 503 to be sent. */
	pthread_mutex_lock(&srv->lock);
	stopping = srv->stopping;
	srv->active++;
	rq->counted = 1;
	pthread_mutex_unlock(&srv->lock);
	if (stopping) {
		answer_plain(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down\n", 1);
		return queue_answer(rq);
	}
	rq->ctx = srv->h.begin(srv->h.app, &rq->pub);
	if (rq->ctx == NULL) {
		answer_plain(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", 0);
		return queue_answer(rq);
	}
	rq->begun = 1;
	if (rq->pub.content_length > 0 && (uint64_t)rq->pub.content_length > srv->max_body) {
		/* A client waiting for 100 Continue sends nothing more: libmicrohttpd answers and closes.
		 * Another is already sending the body: answered the way a chunked one is, so that it sees
		 * the answer rather than a reset. */
		conn_set_deadline(srv, rq->conn, 0);
		finish_request(rq, RL_HTTP_BODY_TOO_LARGE);
		if (expects_continue(rq->mc, version))
			return queue_answer(rq);
		return answer_too_large(rq) == 0 ? MHD_YES : MHD_NO;
	}
	return MHD_YES;
}

/* Body bytes: to the application, until the body is too large or refused. After a refusal the rest is
 * read and dropped while the whole body stays within max_body. Returns -1 when the connection must be
 * closed instead. */
static int take_body(struct request *rq, const char *data, size_t len)
{
	struct rl_http_server *srv = rq->srv;

	rq->received += len;
	if (rq->sent_mid_body)
		return rq->received - rq->received_at_answer > LINGER_MAX_BYTES ? -1 : 0;
	if (rq->received > srv->max_body) {
		/* Too large: the answer is finish(TOO_LARGE)'s, or the refusal's already made. */
		if (!rq->finished)
			finish_request(rq, RL_HTTP_BODY_TOO_LARGE);
		return answer_too_large(rq);
	}
	if (rq->finished)
		return 0;
	if (srv->h.body != NULL && srv->h.body(rq->ctx, data, len) != 0)
		finish_request(rq, RL_HTTP_BODY_REFUSED);
	return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct request *rq = *con_cls;

	if (rq == NULL)
		return MHD_NO;
	if (!rq->seen) {
		rq->seen = 1;
		return start_request(rq, url, method, version);
	}
	if (*upload_data_size > 0) {
		int rc = take_body(rq, upload_data, *upload_data_size);

		*upload_data_size = 0;
		return rc == 0 ? MHD_YES : MHD_NO;
	}
	/* The body has ended; when the answer was already written mid-body, only the close is left. */
	if (rq->sent_mid_body)
		return MHD_NO;
	conn_set_deadline(rq->srv, rq->conn, 0);
	if (!rq->finished)
		finish_request(rq, RL_HTTP_BODY_COMPLETE);
	return queue_answer(rq);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct rl_http_server *srv = cls;
	struct request *rq = *con_cls;

	if (rq == NULL)
		return;
	*con_cls = NULL;
	answer_free(&rq->answer);	/* the status stays: it is counted here */
	if (rq->finished && (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || rq->sent_mid_body))
		rl_metrics_http_response(rq->answer.status);
	if (rq->begun)
		srv->h.cleanup(rq->ctx, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || rq->sent_mid_body);
	if (rq->counted) {
		pthread_mutex_lock(&srv->lock);
		srv->active--;
		if (srv->stopping)	/* only the stop waits for this; a wake-up per request costs a switch */
			pthread_cond_broadcast(&srv->changed);
		pthread_mutex_unlock(&srv->lock);
	}
	/* The next request on this connection has the same time to arrive. */
	if (rq->seen) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

		if (ci != NULL)
			conn_set_deadline(srv, ci->socket_context, srv->timeout);
	}
	free(rq->uri);
	free(rq);
}

/* ---- the server ------------------------------------------------------------------------------- */

/* Resolves the listen address. family = AF_INET or AF_INET6. */
static int listen_address(const char *host, unsigned port, struct sockaddr_storage *ss, int *family,
			  struct rl_err *err)
{
	struct addrinfo hints, *res = NULL;
	char service[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0)
		return rl_err_set(err, RL_ERR_CONFIG, "listen address %s: %s", host, gai_strerror(rc));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

static void server_free(struct rl_http_server *s)
{
	while (s->tls_pairs != NULL) {
		struct tls_pair *older = s->tls_pairs->older;

		tls_pair_free(s->tls_pairs);
		s->tls_pairs = older;
	}
	pthread_cond_destroy(&s->changed);
	pthread_cond_destroy(&s->watchdog_wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void watchdog_stop(struct rl_http_server *s)
{
	if (!s->watchdog_started)
		return;
	pthread_mutex_lock(&s->lock);
	s->watchdog_quit = 1;
	pthread_cond_broadcast(&s->watchdog_wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->watchdog, NULL);
	s->watchdog_started = 0;
}

struct rl_http_server *rl_http_server_start(const struct rl_http_server_opts *o,
					    const struct rl_http_handler *h, struct rl_err *err)
{
	struct rl_http_server *s;
	struct sockaddr_storage addr;
	int family = AF_INET;
	unsigned threads = o->threads ? o->threads : DEFAULT_THREADS;
	unsigned max_conn = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNECTIONS;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	const union MHD_DaemonInfo *info;
	pthread_condattr_t cattr;

	if (h->begin == NULL || h->finish == NULL || h->cleanup == NULL) {
		rl_err_set(err, RL_ERR_INTERNAL, "HTTP handler without begin, finish or cleanup");
		return NULL;
	}
	if (max_conn < threads) {
		rl_err_set(err, RL_ERR_CONFIG, "%u connections cannot be shared between %u threads",
			   max_conn, threads);
		return NULL;
	}
	if (o->port > 65535) {
		rl_err_set(err, RL_ERR_CONFIG, "port %u out of range", o->port);
		return NULL;
	}
	if (o->tls && MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
		rl_err_set(err, RL_ERR_CONFIG, "libmicrohttpd was built without TLS certificate callbacks");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	s->h = *h;
	s->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
	s->timeout = o->request_timeout ? o->request_timeout : DEFAULT_TIMEOUT;
	s->tls = o->tls;
	s->quiesced_fd = MHD_INVALID_SOCKET;
	pthread_mutex_init(&s->lock, NULL);
	/* Timed waits on the monotonic clock: a change of the wall clock does not stretch them. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &cattr);
	pthread_cond_init(&s->watchdog_wake, &cattr);
	pthread_condattr_destroy(&cattr);

	if (o->tls && (s->tls_pairs = tls_pair_load(o->tls_key_path, o->tls_cert_path, err)) == NULL) {
		server_free(s);
		return NULL;
	}
	if (o->host != NULL && *o->host != '\0') {
		if (listen_address(o->host, o->port, &addr, &family, err) < 0) {
			server_free(s);
			return NULL;
		}
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &addr };
		if (family == AF_INET6)
			flags |= MHD_USE_IPv6;
	} else {
		flags |= MHD_USE_DUAL_STACK;
	}
	if (o->tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
						     (void *)pick_certificate };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
						     (void *)TLS_PRIORITIES };
	}
	if (threads > 1)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, max_conn, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, s->timeout, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_logged, s };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	s->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_access, s,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (s->daemon == NULL) {
		rl_err_set(err, RL_ERR_IO, "cannot listen on %s port %u",
			   o->host != NULL && *o->host ? o->host : "*", o->port);
		server_free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : o->port;
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
		MHD_stop_daemon(s->daemon);
		rl_err_set(err, RL_ERR_INTERNAL, "cannot start the HTTP watchdog thread");
		server_free(s);
		return NULL;
	}
	s->watchdog_started = 1;
	return s;
}

unsigned rl_http_server_port(const struct rl_http_server *s)
{
	return s->port;
}

int rl_http_server_reload_tls(struct rl_http_server *s, const char *key_path, const char *cert_path,
			      struct rl_err *err)
{
	struct tls_pair *p;

	if (!s->tls)
		return rl_err_set(err, RL_ERR_CONFIG, "the HTTP server does not serve TLS");
	p = tls_pair_load(key_path, cert_path, err);
	if (p == NULL)
		return -1;
	pthread_mutex_lock(&s->lock);
	p->older = s->tls_pairs;
	s->tls_pairs = p;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void rl_http_server_quiesce(struct rl_http_server *s)
{
	if (s->quiesced_fd == MHD_INVALID_SOCKET)
		s->quiesced_fd = MHD_quiesce_daemon(s->daemon);
}

/* 1 when bytes (or a client's close) wait unread on an open connection: a request that libmicrohttpd
 * has not taken up yet, for instance because the thread of its connection was busy with another
 * request. Called under the lock (the list holds only sockets libmicrohttpd has not closed). */
static int unread_bytes_wait(struct rl_http_server *s)
{
	for (struct conn *c = s->conns; c != NULL; c = c->next) {
		struct pollfd p = { c->fd, POLLIN, 0 };

		if (!c->dropped && poll(&p, 1, 0) == 1)
			return 1;
	}
	return 0;
}

void rl_http_server_stop(struct rl_http_server *s)
{
	int64_t until, quiet_since = -1;

	if (s == NULL)
		return;
	rl_http_server_quiesce(s);
	until = now_ms() + (int64_t)s->timeout * 1000;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	/* Drained when no request is in progress and none waits unread on an idle connection (such a
	 * request is answered 503, and counted in active meanwhile), for STOP_QUIET_MS in a row: a request
	 * libmicrohttpd has just read is counted only once its headers are parsed. */
	for (;;) {
		int64_t now = now_ms(), wake = now + STOP_CHECK_MS;
		struct timespec ts;

		if (s->active > 0 || unread_bytes_wait(s))
			quiet_since = -1;
		else if (quiet_since < 0)
			quiet_since = now;
		else if (now - quiet_since >= STOP_QUIET_MS)
			break;
		if (now >= until)
			break;
		if (wake > until)
			wake = until;
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000L;
		pthread_cond_timedwait(&s->changed, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	MHD_stop_daemon(s->daemon);
	if (s->quiesced_fd != MHD_INVALID_SOCKET)
		close(s->quiesced_fd);
	watchdog_stop(s);
	server_free(s);
}
