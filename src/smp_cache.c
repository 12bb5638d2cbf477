/*
 * smp_cache.c - the discovery cache shared through PostgreSQL (table smp_cache). See
 * include/relais/smp_cache.h.
 */
#include "config.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <openssl/pem.h>
#include "relais/keys.h"
#include "relais/smp_cache.h"

struct rl_smp_cache_db {
	PGconn *conn;
	pthread_mutex_t lock;
};

static int db_error(PGconn *conn, const char *what, struct rl_err *err)
{
	char msg[RL_ERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
	msg[strcspn(msg, "\n")] = '\0';
	return rl_err_set(err, RL_ERR_DB, "%s: %s", what, msg);
}

struct rl_smp_cache_db *rl_smp_cache_db_open(const char *conninfo, struct rl_err *err)
{
	struct rl_smp_cache_db *db = calloc(1, sizeof(*db));
	PGresult *res;

	if (!db) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&db->lock, NULL);
	db->conn = PQconnectdb(conninfo);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_error(db->conn, "cannot connect to the database", err);
		goto fail;
	}
	res = PQexec(db->conn, "SELECT to_regclass('smp_cache') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		rl_err_set(err, RL_ERR_DB, "the database has no smp_cache table yet: run relais db migrate");
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return db;
fail:
	rl_smp_cache_db_close(db);
	return NULL;
}

void rl_smp_cache_db_close(struct rl_smp_cache_db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* One statement under the lock, reconnecting once after a lost connection. NULL with err on failure. */
static PGresult *run(struct rl_smp_cache_db *db, const char *sql, int n, const char *const *params,
		     struct rl_err *err)
{
	PGresult *res = NULL;

	pthread_mutex_lock(&db->lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		ExecStatusType st;

		res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			break;
		PQclear(res);
		res = NULL;
		if (attempt == 0 && PQstatus(db->conn) == CONNECTION_BAD) {
			PQreset(db->conn);
			continue;
		}
		db_error(db->conn, "discovery cache", err);
		break;
	}
	pthread_mutex_unlock(&db->lock);
	return res;
}

static char *dup_or_null(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

static X509 *cert_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return cert;
}

int rl_smp_cache_db_get(struct rl_smp_cache_db *db, const char *key, struct rl_endpoint *ep,
			struct rl_err *not_found, struct rl_err *err)
{
	PGresult *res = run(db,
			    "SELECT found, endpoint_url, transport_profile, cert_pem, smp_url, process,"
			    " extract(epoch FROM activation)::bigint, extract(epoch FROM expiration)::bigint, error"
			    " FROM smp_cache WHERE key = $1 AND expires_at > now()",
			    1, &key, err);
	int rc = RL_SMP_CACHE_MISS;

	memset(ep, 0, sizeof(*ep));
	if (!res)
		return -1;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		ep->url = dup_or_null(res, 1);
		ep->transport_profile = dup_or_null(res, 2);
		ep->cert = PQgetisnull(res, 0, 3) ? NULL : cert_from_pem(PQgetvalue(res, 0, 3));
		ep->smp_url = dup_or_null(res, 4);
		ep->process = dup_or_null(res, 5);
		ep->activation = PQgetisnull(res, 0, 6) ? 0 : (time_t)atoll(PQgetvalue(res, 0, 6));
		ep->expiration = PQgetisnull(res, 0, 7) ? 0 : (time_t)atoll(PQgetvalue(res, 0, 7));
		if (ep->url && ep->transport_profile && ep->cert && ep->smp_url && ep->process) {
			rc = RL_SMP_CACHE_FOUND;
		} else {
			rl_endpoint_free(ep);	/* an unreadable row is a miss */
		}
	} else if (PQntuples(res) == 1) {
		rl_err_set(not_found, RL_ERR_NOT_FOUND, "%s", PQgetisnull(res, 0, 8) ? "not found" : PQgetvalue(res, 0, 8));
		rc = RL_SMP_CACHE_NOT_FOUND;
	}
	PQclear(res);
	return rc;
}

int rl_smp_cache_db_put(struct rl_smp_cache_db *db, const char *key, long ttl, const struct rl_endpoint *ep,
			const struct rl_err *not_found, struct rl_err *err)
{
	struct rl_buf pem = RL_BUF_INIT;
	char ttl_text[32], activation[32], expiration[32];
	const char *params[11];
	PGresult *res;

	snprintf(ttl_text, sizeof(ttl_text), "%ld", ttl);
	snprintf(activation, sizeof(activation), "%lld", ep ? (long long)ep->activation : 0LL);
	snprintf(expiration, sizeof(expiration), "%lld", ep ? (long long)ep->expiration : 0LL);
	if (ep && ep->cert && rl_cert_to_pem(ep->cert, &pem) < 0)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	params[0] = key;
	params[1] = ep ? "t" : "f";
	params[2] = ep ? ep->url : NULL;
	params[3] = ep ? ep->transport_profile : NULL;
	params[4] = ep ? pem.data : NULL;
	params[5] = ep ? ep->smp_url : NULL;
	params[6] = ep ? ep->process : NULL;
	params[7] = ep && ep->activation ? activation : NULL;
	params[8] = ep && ep->expiration ? expiration : NULL;
	params[9] = ep ? NULL : not_found->msg;
	params[10] = ttl_text;
	res = run(db,
		  "INSERT INTO smp_cache (key, found, endpoint_url, transport_profile, cert_pem, smp_url, process,"
		  " activation, expiration, error, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
		  " to_timestamp($8::bigint), to_timestamp($9::bigint), $10, now() + make_interval(secs => $11::bigint))"
		  " ON CONFLICT (key) DO UPDATE SET found = EXCLUDED.found, endpoint_url = EXCLUDED.endpoint_url,"
		  " transport_profile = EXCLUDED.transport_profile, cert_pem = EXCLUDED.cert_pem,"
		  " smp_url = EXCLUDED.smp_url, process = EXCLUDED.process, activation = EXCLUDED.activation,"
		  " expiration = EXCLUDED.expiration, error = EXCLUDED.error, expires_at = EXCLUDED.expires_at",
		  11, params, err);
	rl_buf_free(&pem);
	if (!res)
		return -1;
	PQclear(res);
	res = run(db, "DELETE FROM smp_cache WHERE expires_at < now()", 0, NULL, err);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}
