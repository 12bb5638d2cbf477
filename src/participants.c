/*
 * participants.c - the hosted participants in PostgreSQL (table smp_participants), read by the SMP
 * server and changed by `relais participant`. See include/relais/participants.h.
 */
#include "config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include "relais/config.h"
#include "relais/participants.h"
#include "relais/store.h"

struct rl_participants {
	PGconn *conn;
	pthread_mutex_t lock;
};

/* The database's message, on one line. */
static int db_error(PGconn *conn, const char *what, struct rl_err *err)
{
	char msg[RL_ERR_MSG_MAX];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
	n = strcspn(msg, "\n");
	msg[n] = '\0';
	return rl_err_set(err, RL_ERR_DB, "%s: %s", what, msg);
}

struct rl_participants *rl_participants_open(const char *conninfo, struct rl_err *err)
{
	struct rl_participants *p = calloc(1, sizeof(*p));
	PGresult *res;

	if (!p) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->conn = PQconnectdb(conninfo);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		db_error(p->conn, "cannot connect to the database", err);
		goto fail;
	}
	res = PQexec(p->conn, "SELECT to_regclass('smp_participants') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_error(p->conn, "reading the schema", err);
		PQclear(res);
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		rl_err_set(err, RL_ERR_DB, "the database has no participants table yet: run relais db migrate");
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return p;
fail:
	rl_participants_close(p);
	return NULL;
}

struct rl_participants *rl_participants_open_config(const struct rl_config *cfg, struct rl_pgcluster **cluster,
						   struct rl_err *err)
{
	const char *url = rl_config_str(cfg, RL_CFG_DATABASE_URL);
	struct rl_participants *p;

	*cluster = NULL;
	if (strcmp(url, "auto") == 0) {
		if (rl_pgcluster_start(rl_config_str(cfg, RL_CFG_STATE_DIR), RELAIS_PG_BINDIR, cluster, err) < 0)
			return NULL;
		url = rl_pgcluster_conninfo(*cluster);
	}
	p = rl_participants_open(url, err);
	if (!p) {
		rl_pgcluster_stop(*cluster);
		*cluster = NULL;
	}
	return p;
}

void rl_participants_close(struct rl_participants *p)
{
	if (!p)
		return;
	PQfinish(p->conn);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Runs one statement with text parameters under the lock; reconnects once when the connection was lost.
 * Returns the result (caller clears) or NULL with err set. */
static PGresult *run(struct rl_participants *p, const char *sql, int nparams, const char *const *params,
		     const char *what, struct rl_err *err)
{
	PGresult *res = NULL;

	pthread_mutex_lock(&p->lock);
	for (int attempt = 0; attempt < 2; attempt++) {
		ExecStatusType st;

		res = PQexecParams(p->conn, sql, nparams, NULL, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			break;
		if (PQstatus(p->conn) == CONNECTION_BAD && attempt == 0) {
			PQclear(res);
			res = NULL;
			PQreset(p->conn);
			continue;
		}
		db_error(p->conn, what, err);
		PQclear(res);
		res = NULL;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return res;
}

/* "scheme::value" of id into a buffer the caller frees. */
static char *uri_of(const struct rl_peppol_id *id)
{
	struct rl_buf b = RL_BUF_INIT;

	if (rl_peppol_id_uri(id, &b) < 0) {
		rl_buf_free(&b);
		return NULL;
	}
	return rl_buf_steal(&b);
}

int rl_participants_add(struct rl_participants *p, const struct rl_peppol_id *participant,
			const struct rl_peppol_id *doctype, const struct rl_peppol_id *process, struct rl_err *err)
{
	char *params[3] = { uri_of(participant), uri_of(doctype), uri_of(process) };
	PGresult *res = NULL;
	int rc = -1;

	if (!params[0] || !params[1] || !params[2])
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	else if ((res = run(p, "INSERT INTO smp_participants (participant, doctype, process) VALUES ($1, $2, $3)"
			       " ON CONFLICT (participant, doctype) DO UPDATE SET process = EXCLUDED.process",
			    3, (const char *const *)params, "adding a participant", err)))
		rc = 0;
	PQclear(res);
	for (int i = 0; i < 3; i++)
		free(params[i]);
	return rc;
}

int rl_participants_remove(struct rl_participants *p, const struct rl_peppol_id *participant,
			   const struct rl_peppol_id *doctype, struct rl_err *err)
{
	char *params[2] = { uri_of(participant), doctype ? uri_of(doctype) : NULL };
	PGresult *res;
	int rc = -1;

	if (!params[0] || (doctype && !params[1])) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	res = doctype ? run(p, "DELETE FROM smp_participants WHERE participant = $1 AND doctype = $2", 2,
			    (const char *const *)params, "removing a participant", err)
		      : run(p, "DELETE FROM smp_participants WHERE participant = $1", 1, (const char *const *)params,
			    "removing a participant", err);
	if (res) {
		rc = atoi(PQcmdTuples(res));
		PQclear(res);
	}
out:
	free(params[0]);
	free(params[1]);
	return rc;
}

void rl_participant_rows_free(struct rl_participant_row *rows, int count)
{
	for (int i = 0; rows && i < count; i++) {
		free(rows[i].participant);
		free(rows[i].doctype);
		free(rows[i].process);
	}
	free(rows);
}

int rl_participants_list(struct rl_participants *p, const struct rl_peppol_id *participant,
			 struct rl_participant_row **rows, struct rl_err *err)
{
	char *param = participant ? uri_of(participant) : NULL;
	PGresult *res;
	int n;

	*rows = NULL;
	if (participant && !param)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	res = participant ? run(p, "SELECT participant, doctype, process FROM smp_participants WHERE participant = $1"
				   " ORDER BY doctype", 1, (const char *const *)&param, "listing participants", err)
			  : run(p, "SELECT participant, doctype, process FROM smp_participants ORDER BY participant, doctype",
				0, NULL, "listing participants", err);
	free(param);
	if (!res)
		return -1;
	n = PQntuples(res);
	*rows = calloc((size_t)n + 1, sizeof(**rows));
	if (!*rows) {
		PQclear(res);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		(*rows)[i].participant = strdup(PQgetvalue(res, i, 0));
		(*rows)[i].doctype = strdup(PQgetvalue(res, i, 1));
		(*rows)[i].process = strdup(PQgetvalue(res, i, 2));
		if (!(*rows)[i].participant || !(*rows)[i].doctype || !(*rows)[i].process) {
			PQclear(res);
			rl_participant_rows_free(*rows, n);
			*rows = NULL;
			return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		}
	}
	PQclear(res);
	return n;
}

/* smp_server.h directory: the rows of one participant as services. A row that no longer parses (edited
 * by hand) is skipped rather than published wrong. */
static int directory_services(void *arg, const struct rl_peppol_id *participant, struct rl_smp_service **out,
			      struct rl_err *err)
{
	struct rl_participant_row *rows;
	int n = rl_participants_list(arg, participant, &rows, err), used = 0;
	struct rl_err skip;

	*out = NULL;
	if (n <= 0) {
		if (n == 0)
			rl_participant_rows_free(rows, 0);
		return n;
	}
	*out = calloc((size_t)n, sizeof(**out));
	if (!*out) {
		rl_participant_rows_free(rows, n);
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++)
		if (rl_doctype_parse(&(*out)[used].doctype, rows[i].doctype, &skip) == 0 &&
		    rl_process_parse(&(*out)[used].process, rows[i].process, &skip) == 0)
			used++;
	rl_participant_rows_free(rows, n);
	return used;
}

struct rl_smp_directory rl_participants_directory(struct rl_participants *p)
{
	struct rl_smp_directory d = { p, directory_services };

	return d;
}
