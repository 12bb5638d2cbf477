/*
 * pgcluster.c - the embedded PostgreSQL cluster behind database.url = auto. See include/relais/store.h.
 *
 * STATE_DIR/pgdata is made by initdb on first start (trust authentication, superuser "relais") and
 * reachable only through a unix socket in STATE_DIR/pgsock, or in a private directory under /tmp when
 * that path is too long for a socket address; STATE_DIR/pgsock.path records the directory in use.
 * The settings that keep it private (no TCP listener, the socket directory, the port) are rewritten
 * into pgdata/relais.conf, which postgresql.conf includes, at each start. initdb and pg_ctl are run with fork/exec, their output appended
 * to STATE_DIR/pg.log. PostgreSQL refuses to run as root: then they run as the "postgres" user, which
 * owns pgdata, the socket directory and the log.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "relais/buf.h"
#include "relais/store.h"

#define PG_USER "relais"
#define PG_DATABASE "relais"
#define PG_PORT "5432"
#define PG_OS_USER "postgres"		/* who runs PostgreSQL when we are root */
#define SOCKET_NAME "/.s.PGSQL." PG_PORT
#define START_TIMEOUT "60"

struct rl_pgcluster {
	char *state_dir;
	char *datadir;
	char *sockdir;
	char *logpath;
	char *bindir;
	char *conninfo;
	int started;			/* started by us: stopped by rl_pgcluster_stop() */
	int drop;			/* run the tools as uid/gid (we are root) */
	uid_t uid;
	gid_t gid;
};

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* A libpq keyword value in single quotes, with ' and \ escaped. */
static int append_quoted(struct rl_buf *b, const char *v)
{
	if (rl_buf_puts(b, "'") < 0)
		return -1;
	for (; *v; v++) {
		if ((*v == '\'' || *v == '\\') && rl_buf_puts(b, "\\") < 0)
			return -1;
		if (rl_buf_append(b, v, 1) < 0)
			return -1;
	}
	return rl_buf_puts(b, "'");
}

static char *make_conninfo(const char *sockdir, const char *dbname)
{
	struct rl_buf b = RL_BUF_INIT;

	if (rl_buf_puts(&b, "host=") < 0 || append_quoted(&b, sockdir) < 0 ||
	    rl_buf_printf(&b, " port=%s user=%s dbname=%s", PG_PORT, PG_USER, dbname) < 0) {
		rl_buf_free(&b);
		return NULL;
	}
	return rl_buf_steal(&b);
}

/* The first line of a small text file, or NULL when it cannot be read. Caller frees. */
static char *read_first_line(const char *path)
{
	char line[PATH_MAX + 16];
	FILE *fp = fopen(path, "re");

	if (fp == NULL)
		return NULL;
	if (fgets(line, sizeof(line), fp) == NULL) {
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	return line[0] ? strdup(line) : NULL;
}

/* The last non-empty line of the log, for error messages ("" when none). */
static void last_log_line(const char *path, char *out, size_t size)
{
	char line[512];
	FILE *fp = fopen(path, "re");

	out[0] = '\0';
	if (fp == NULL)
		return;
	if (fseek(fp, -4096, SEEK_END) != 0)
		rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0])
			snprintf(out, size, "%s", line);
	}
	fclose(fp);
}

/* True when the postmaster named in DATADIR/postmaster.pid is alive. */
static int cluster_running(const char *datadir)
{
	char *pidfile = join(datadir, "postmaster.pid");
	char *line = pidfile ? read_first_line(pidfile) : NULL;
	long pid = line ? strtol(line, NULL, 10) : 0;

	free(pidfile);
	free(line);
	if (pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Gives a directory we have just made to the user PostgreSQL runs as. */
static int hand_over(const struct rl_pgcluster *c, const char *path, struct rl_err *err)
{
	if (c->drop && lchown(path, c->uid, c->gid) < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot give %s to the %s user: %s", path, PG_OS_USER,
				  strerror(errno));
	return 0;
}

/* A directory only its owner (us, or the postgres user) can use, and not a link: safe for a socket. */
static int private_dir_ok(const struct rl_pgcluster *c, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 077) != 0)
		return 0;
	return st.st_uid == (c->drop ? c->uid : geteuid());
}

/*
 * Makes a directory for the database's user, or checks that the existing one is such. Only a directory
 * made here changes owner: an existing one (say in /tmp) must already belong to that user.
 */
static int make_private_dir(const struct rl_pgcluster *c, const char *path, struct rl_err *err)
{
	if (mkdir(path, 0700) == 0) {
		if (hand_over(c, path, err) < 0)
			return -1;
	} else if (errno != EEXIST) {
		return rl_err_set(err, RL_ERR_IO, "cannot create %s: %s", path, strerror(errno));
	}
	if (!private_dir_ok(c, path))
		return rl_err_set(err, RL_ERR_IO, "%s is not a private directory of the database's user "
				  "(a directory of mode 0700 owned by %s)", path, c->drop ? PG_OS_USER : "us");
	return 0;
}

/* Writes (or, with flags O_APPEND, appends) text to a file that is not a symbolic link; the file is given
 * to the database's user when `give` is set. */
static int write_text_file(const struct rl_pgcluster *c, const char *path, int flags, const char *text,
			   int give, struct rl_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0600);
	size_t len = strlen(text);

	if (fd < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
	if ((give && c->drop && fchown(fd, c->uid, c->gid) < 0) || write(fd, text, len) != (ssize_t)len) {
		rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return rl_err_set(err, RL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

/* The socket directory of a running cluster: as recorded, else STATE_DIR/pgsock. Caller frees. */
static char *recorded_socket_dir(const char *state_dir)
{
	char *record = join(state_dir, "pgsock.path");
	char *dir = record ? read_first_line(record) : NULL;

	free(record);
	return dir ? dir : join(state_dir, "pgsock");
}

/*
 * Chooses the socket directory: the one recorded in pgsock.path while it is still a private directory
 * of ours, else STATE_DIR/pgsock when short enough for a socket address, else a fresh one under /tmp.
 */
static int choose_socket_dir(struct rl_pgcluster *c, struct rl_err *err)
{
	char *record = join(c->state_dir, "pgsock.path");
	char *recorded = record ? read_first_line(record) : NULL;
	struct sockaddr_un sun;
	struct rl_buf text = RL_BUF_INIT;
	int rc = -1;

	if (record == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (recorded != NULL && strlen(recorded) + strlen(SOCKET_NAME) < sizeof(sun.sun_path) &&
	    make_private_dir(c, recorded, err) == 0) {
		c->sockdir = recorded;
		recorded = NULL;
		rc = 0;
		goto out;
	}
	c->sockdir = join(c->state_dir, "pgsock");
	if (c->sockdir == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (strlen(c->sockdir) + strlen(SOCKET_NAME) >= sizeof(sun.sun_path)) {
		char tmpl[] = "/tmp/relais-pg.XXXXXX";

		free(c->sockdir);
		c->sockdir = NULL;
		if (mkdtemp(tmpl) == NULL) {
			rl_err_set(err, RL_ERR_IO, "cannot create a socket directory under /tmp: %s", strerror(errno));
			goto out;
		}
		if (hand_over(c, tmpl, err) < 0) {
			rmdir(tmpl);
			goto out;
		}
		c->sockdir = strdup(tmpl);
		if (c->sockdir == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (make_private_dir(c, c->sockdir, err) < 0)
		goto out;
	if (rl_buf_printf(&text, "%s\n", c->sockdir) < 0) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = write_text_file(c, record, O_TRUNC, text.data, 0, err);
out:
	rl_buf_free(&text);
	free(record);
	free(recorded);
	return rc;
}

/*
 * Runs BINDIR/argv[0] with the rest of argv, stdout and stderr appended to the log, as the postgres
 * user when we are root. Returns 0 when it exited with status 0, else -1 with the log's last line.
 */
static int run_tool(const struct rl_pgcluster *c, char *const argv[], struct rl_err *err)
{
	char *path = join(c->bindir, argv[0]);
	char last[400];
	long maxfd = sysconf(_SC_OPEN_MAX);
	sigset_t none;
	pid_t pid;
	int logfd, status, nullfd;

	if (path == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (access(path, X_OK) < 0) {
		rl_err_set(err, RL_ERR_DB, "the PostgreSQL server program %s is missing (%s); install the postgresql "
			   "package or set the program directory", path, strerror(errno));
		free(path);
		return -1;
	}
	logfd = open(c->logpath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (logfd < 0) {
		rl_err_set(err, RL_ERR_IO, "cannot open %s: %s", c->logpath, strerror(errno));
		free(path);
		return -1;
	}
	sigemptyset(&none);
	pid = fork();
	if (pid < 0) {
		rl_err_set(err, RL_ERR_IO, "cannot start %s: %s", argv[0], strerror(errno));
		close(logfd);
		free(path);
		return -1;
	}
	if (pid == 0) {
		/* The child: only async-signal-safe calls from here to exec. */
		nullfd = open("/dev/null", O_RDONLY);
		if (nullfd < 0 || dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(126);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (c->drop && (setgroups(1, &c->gid) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0 ||
				getuid() != c->uid)) {
			static const char msg[] = "relais: cannot switch to the postgres user\n";

			(void)!write(2, msg, sizeof(msg) - 1);
			_exit(126);
		}
		if (chdir(c->state_dir) < 0) {
			static const char msg[] = "relais: the database's user cannot enter the state directory "
						  "(check the permissions of it and its parents)\n";

			(void)!write(2, msg, sizeof(msg) - 1);
			_exit(126);
		}
		for (long fd = 3; fd < (maxfd > 0 ? maxfd : 1024); fd++)
			close((int)fd);
		execv(path, argv);
		_exit(127);
	}
	close(logfd);
	free(path);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rl_err_set(err, RL_ERR_IO, "waiting for %s: %s", argv[0], strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	last_log_line(c->logpath, last, sizeof(last));
	if (WIFEXITED(status))
		return rl_err_set(err, RL_ERR_DB, "%s failed (exit status %d), see %s%s%s", argv[0],
				  WEXITSTATUS(status), c->logpath, last[0] ? ": " : "", last);
	return rl_err_set(err, RL_ERR_DB, "%s was killed by signal %d, see %s", argv[0], WTERMSIG(status),
			  c->logpath);
}

/* initdb into an empty pgdata, then have postgresql.conf include the settings we write at each start. */
static int init_cluster(struct rl_pgcluster *c, struct rl_err *err)
{
	char *const argv[] = { "initdb", "-D", c->datadir, "--auth=trust", "-U", PG_USER, "--encoding=UTF8",
			       "--no-instructions", NULL };
	char *conf;
	int rc;

	if (make_private_dir(c, c->datadir, err) < 0 || run_tool(c, argv, err) < 0)
		return -1;
	conf = join(c->datadir, "postgresql.conf");
	if (conf == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	rc = write_text_file(c, conf, O_APPEND, "\n# relais: socket settings, rewritten at each start\n"
			     "include_if_exists = 'relais.conf'\n", 0, err);
	free(conf);
	return rc;
}

/* pgdata/relais.conf: no TCP listener, our socket directory and port; autovacuum looks at the database every
 * few seconds, so that the dead row versions every message leaves (store_schema.c, migration 7) are removed
 * while they are few. */
static int write_settings(const struct rl_pgcluster *c, struct rl_err *err)
{
	struct rl_buf text = RL_BUF_INIT;
	char *path = join(c->datadir, "relais.conf");
	int rc = -1;

	if (path == NULL || rl_buf_puts(&text, "# written by relais at each start of the embedded database\n"
				       "listen_addresses = ''\nport = " PG_PORT "\n" RL_PG_AUTOVACUUM_NAPTIME "\n"
				       "unix_socket_directories = '") < 0)
		goto nomem;
	for (const char *p = c->sockdir; *p; p++)
		if (rl_buf_append(&text, p, 1) < 0 || (*p == '\'' && rl_buf_append(&text, p, 1) < 0))
			goto nomem;
	if (rl_buf_puts(&text, "'\n") < 0)
		goto nomem;
	rc = write_text_file(c, path, O_TRUNC, text.data, 1, err);
	goto out;
nomem:
	rl_err_set(err, RL_ERR_NOMEM, "out of memory");
out:
	rl_buf_free(&text);
	free(path);
	return rc;
}

/* Creates the relais database unless it exists. */
static int ensure_database(const struct rl_pgcluster *c, struct rl_err *err)
{
	char *conninfo = make_conninfo(c->sockdir, "postgres");
	PGconn *conn;
	PGresult *r;
	int rc = 0;

	if (conninfo == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	conn = PQconnectdb(conninfo);
	free(conninfo);
	if (PQstatus(conn) != CONNECTION_OK) {
		rc = rl_err_set(err, RL_ERR_DB, "cannot connect to the embedded database: %.*s",
				(int)strcspn(PQerrorMessage(conn), "\n"), PQerrorMessage(conn));
		PQfinish(conn);
		return rc;
	}
	r = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = '" PG_DATABASE "'");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0) {
		PQclear(r);
		r = PQexec(conn, "CREATE DATABASE " PG_DATABASE);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

			if (state == NULL || strcmp(state, "42P04") != 0)	/* made meanwhile by another */
				rc = rl_err_set(err, RL_ERR_DB, "cannot create the database: %.*s",
						(int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
		}
	} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = rl_err_set(err, RL_ERR_DB, "embedded database: %.*s",
				(int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
	}
	PQclear(r);
	PQfinish(conn);
	return rc;
}

static void cluster_free(struct rl_pgcluster *c)
{
	free(c->state_dir);
	free(c->datadir);
	free(c->sockdir);
	free(c->logpath);
	free(c->bindir);
	free(c->conninfo);
	free(c);
}

/* Who runs PostgreSQL: ourselves, or the postgres user when we are root. */
static int choose_user(struct rl_pgcluster *c, struct rl_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(PG_OS_USER);
	if (pw == NULL || pw->pw_uid == 0)
		return rl_err_set(err, RL_ERR_DB, "PostgreSQL does not run as root and there is no '%s' user to "
				  "run the embedded database as", PG_OS_USER);
	c->drop = 1;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	return 0;
}

static int cluster_paths(struct rl_pgcluster *c, const char *state_dir, const char *pg_bindir,
			 struct rl_err *err)
{
	char resolved[PATH_MAX];

	if (realpath(state_dir, resolved) == NULL)
		return rl_err_set(err, RL_ERR_CONFIG, "state directory %s: %s", state_dir, strerror(errno));
	c->state_dir = strdup(resolved);
	c->bindir = strdup(pg_bindir ? pg_bindir : RELAIS_PG_BINDIR);
	c->datadir = join(resolved, "pgdata");
	c->logpath = join(resolved, "pg.log");
	if (c->state_dir == NULL || c->bindir == NULL || c->datadir == NULL || c->logpath == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	return 0;
}

int rl_pgcluster_start(const char *state_dir, const char *pg_bindir, struct rl_pgcluster **out,
		       struct rl_err *err)
{
	struct rl_pgcluster *c = calloc(1, sizeof(*c));
	char *version_file = NULL, *const start_argv[] = { "pg_ctl", "-D", NULL, "-l", NULL, "-w", "-s",
							   "-t", START_TIMEOUT, "start", NULL };
	char **argv = (char **)start_argv;
	int logfd;

	*out = NULL;
	if (c == NULL)
		return rl_err_set(err, RL_ERR_NOMEM, "out of memory");
	if (cluster_paths(c, state_dir, pg_bindir, err) < 0 || choose_user(c, err) < 0)
		goto fail;
	if (cluster_running(c->datadir)) {
		c->sockdir = recorded_socket_dir(c->state_dir);
		if (c->sockdir == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
	} else {
		/* The log is written by pg_ctl's server too. */
		logfd = open(c->logpath, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (logfd < 0 || (c->drop && fchown(logfd, c->uid, c->gid) < 0)) {
			rl_err_set(err, RL_ERR_IO, "cannot prepare %s: %s", c->logpath, strerror(errno));
			if (logfd >= 0)
				close(logfd);
			goto fail;
		}
		close(logfd);
		if (choose_socket_dir(c, err) < 0)
			goto fail;
		version_file = join(c->datadir, "PG_VERSION");
		if (version_file == NULL) {
			rl_err_set(err, RL_ERR_NOMEM, "out of memory");
			goto fail;
		}
		if (access(version_file, F_OK) < 0 && init_cluster(c, err) < 0)
			goto fail;
		if (write_settings(c, err) < 0)
			goto fail;
		argv[2] = c->datadir;
		argv[4] = c->logpath;
		if (run_tool(c, argv, err) < 0)
			goto fail;
		c->started = 1;
	}
	c->conninfo = make_conninfo(c->sockdir, PG_DATABASE);
	if (c->conninfo == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (ensure_database(c, err) < 0)
		goto fail;
	free(version_file);
	*out = c;
	return 0;
fail:
	free(version_file);
	rl_pgcluster_stop(c);
	return -1;
}

const char *rl_pgcluster_conninfo(const struct rl_pgcluster *c)
{
	return c->conninfo;
}

void rl_pgcluster_stop(struct rl_pgcluster *c)
{
	struct rl_err ignored;

	if (c == NULL)
		return;
	if (c->started) {
		char *const argv[] = { "pg_ctl", "-D", c->datadir, "-m", "fast", "-w", "-s", "stop", NULL };

		run_tool(c, argv, &ignored);
	}
	cluster_free(c);
}

char *rl_pgcluster_client_conninfo(const char *state_dir, struct rl_err *err)
{
	char *datadir = join(state_dir, "pgdata");
	char *sockdir = NULL, *conninfo = NULL;

	if (datadir == NULL) {
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (!cluster_running(datadir)) {
		rl_err_set(err, RL_ERR_DB, "the embedded database in %s is not running (start relais serve)",
			   state_dir);
		goto out;
	}
	sockdir = recorded_socket_dir(state_dir);
	conninfo = sockdir ? make_conninfo(sockdir, PG_DATABASE) : NULL;
	if (conninfo == NULL)
		rl_err_set(err, RL_ERR_NOMEM, "out of memory");
out:
	free(datadir);
	free(sockdir);
	return conninfo;
}
