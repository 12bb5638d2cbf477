/*
 * bench_daemon.c - end-to-end throughput and latency of two running access points.
 *
 * usage: bench_daemon CONNINFO-A URL-B CERT-B MESSAGES CONCURRENCY PID-A PID-B [PID-POSTMASTER]
 *
 * Queues MESSAGES invoices of about 5 KB in A's database (as `relais send` does), keeping CONCURRENCY
 * of them in flight (submitted and not yet delivered or failed), and waits until all are done. A message
 * is done when A has received B's receipt, verified it against what was sent and stored it. Prints
 * messages/s, the latency from queueing to stored receipt (p50, p99, max; from the database's own
 * timestamps), the peak resident memory (VmHWM) of both relais processes, and the CPU time each relais
 * and the PostgreSQL cluster (postmaster and its children) spent per message.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "relais/buf.h"
#include "relais/keys.h"
#include "relais/store.h"
#include "bench_util.h"


static long proc_kib(long pid, const char *field)
{
	char path[64], line[256];
	long value = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, field, strlen(field)) == 0)
			value = atol(line + strlen(field) + 1);
	fclose(fp);
	return value;
}

/* CPU seconds (user + system) a process has used so far; with_reaped: also its children that exited
 * and were waited for (a postmaster's autovacuum workers, say). */
static double proc_cpu_seconds_of(long pid, int with_reaped)
{
	char path[64], line[1024];
	unsigned long long utime = 0, stime = 0, cutime = 0, cstime = 0;
	const char *p;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	if (fgets(line, sizeof(line), fp) == NULL) {
		fclose(fp);
		return 0;
	}
	fclose(fp);
	p = strrchr(line, ')');	/* the command name may hold spaces */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &utime,
				&stime, &cutime, &cstime) != 4)
		return 0;
	if (!with_reaped)
		cutime = cstime = 0;
	return (double)(utime + stime + cutime + cstime) / (double)sysconf(_SC_CLK_TCK);
}

static double proc_cpu_seconds(long pid)
{
	return proc_cpu_seconds_of(pid, 0);
}

/* CPU seconds used so far by a PostgreSQL postmaster and its server processes (its children), those
 * that exited included (autovacuum workers come and go). */
static double postgres_cpu_seconds(long postmaster)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	double total = 0;

	if (proc == NULL || postmaster <= 0) {
		if (proc)
			closedir(proc);
		return 0;
	}
	while ((de = readdir(proc)) != NULL) {
		char path[300], line[1024];
		long pid = atol(de->d_name), ppid = 0;
		const char *p;
		FILE *fp;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		fp = fopen(path, "r");
		if (fp == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) && (p = strrchr(line, ')')) && sscanf(p + 2, "%*c %ld", &ppid) == 1 &&
		    (pid == postmaster || ppid == postmaster))
			total += proc_cpu_seconds_of(pid, pid == postmaster);
		fclose(fp);
	}
	closedir(proc);
	return total;
}

/* An SBD with a UBL invoice of about 5 KB; each one different. */
static void make_invoice(struct rl_buf *b, const char *run, int n)
{
	rl_buf_reset(b);
	rl_buf_printf(b, BENCH_SBD_HEAD("%s-%d")
		"<cbc:ID>%s-%d</cbc:ID><cbc:IssueDate>2026-11-23</cbc:IssueDate>", run, n, run, n);
	for (int line = 0; b->len < 5000; line++)
		rl_buf_printf(b, "<cbc:Note>line %d of invoice %d: 8 x blown glass lamp shade at 50.00 EUR</cbc:Note>\n",
			      line, n);
	rl_buf_puts(b, "</Invoice></StandardBusinessDocument>\n");
}

/* Which of the messages in flight (ids[0..*n-1]) are done: those are removed from ids. Returns how many,
 * or -1. Only the rows in flight are looked at, by primary key, so polling costs the same however many
 * messages the run has done. */
static long long take_done(PGconn *pg, long long *ids, long *n)
{
	struct rl_buf list = RL_BUF_INIT;
	const char *params[1];
	long long found = 0;
	PGresult *r;

	rl_buf_puts(&list, "{");
	for (long i = 0; i < *n; i++)
		rl_buf_printf(&list, "%s%lld", i ? "," : "", ids[i]);
	rl_buf_puts(&list, "}");
	params[0] = list.data;
	/* By id only: with the state in the condition, the planner may read every finished row instead. */
	r = PQexecParams(pg, "SELECT id, state IN ('delivered', 'failed') FROM messages WHERE id = ANY ($1::bigint[])",
			 1, NULL, params, NULL, NULL, 0);
	rl_buf_free(&list);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		long long id = atoll(PQgetvalue(r, row, 0));

		if (strcmp(PQgetvalue(r, row, 1), "t") != 0)
			continue;

		for (long i = 0; i < *n; i++)
			if (ids[i] == id) {
				ids[i] = ids[--*n];
				found++;
				break;
			}
	}
	PQclear(r);
	return found;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct rl_buf cert_pem = RL_BUF_INIT, doc = RL_BUF_INIT;
	struct rl_store *st;
	struct rl_err err;
	char source[64], run[32];
	long messages, concurrency, pid_a, pid_b, postmaster;
	long long submitted = 0, done = 0, failed, *in_flight;
	long flying = 0;
	double t0, elapsed, *lat, cpu_a, cpu_b, cpu_pg;
	PGconn *pg;
	PGresult *r;
	X509 *cert;
	int n;

	if (argc != 8 && argc != 9) {
		fprintf(stderr, "usage: %s CONNINFO-A URL-B CERT-B MESSAGES CONCURRENCY PID-A PID-B [PID-POSTMASTER]\n",
			argv[0]);
		return 2;
	}
	postmaster = argc == 9 ? atol(argv[8]) : 0;
	messages = atol(argv[4]);
	concurrency = atol(argv[5]);
	pid_a = atol(argv[6]);
	pid_b = atol(argv[7]);
	cert = rl_cert_load_pem(argv[3], &err);
	if (cert == NULL || rl_cert_to_pem(cert, &cert_pem) < 0) {
		fprintf(stderr, "bench_daemon: %s\n", err.msg);
		return 1;
	}
	if (rl_store_open(argv[1], &st, &err) < 0) {
		fprintf(stderr, "bench_daemon: %s\n", err.msg);
		return 1;
	}
	pg = PQconnectdb(argv[1]);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench_daemon: %s", PQerrorMessage(pg));
		return 1;
	}
	snprintf(run, sizeof(run), "b%ld-%ld", (long)getpid(), (long)time(NULL));
	snprintf(source, sizeof(source), "bench:%s:c%ld", run, concurrency);

	in_flight = calloc((size_t)concurrency, sizeof(*in_flight));
	if (in_flight == NULL)
		return 1;
	cpu_a = proc_cpu_seconds(pid_a);
	cpu_b = proc_cpu_seconds(pid_b);
	cpu_pg = postgres_cpu_seconds(postmaster);
	t0 = bench_now();
	while (done < messages) {
		while (submitted < messages && submitted - done < concurrency) {
			struct rl_store_submission sub = { 0 };
			int64_t id;
			char *mid = NULL;

			make_invoice(&doc, run, (int)submitted);
			sub.payload = fmemopen(doc.data, doc.len, "rb");
			sub.dest_url = argv[2];
			sub.dest_cert_pem = cert_pem.data;
			sub.source = source;
			if (sub.payload == NULL || rl_store_outbound_submit(st, &sub, &id, &mid, &err) < 0) {
				fprintf(stderr, "bench_daemon: submit: %s\n", err.msg);
				return 1;
			}
			in_flight[flying++] = id;
			fclose(sub.payload);
			free(mid);
			submitted++;
		}
		usleep(5000);
		{
			long long newly = take_done(pg, in_flight, &flying);

			if (newly < 0) {
				fprintf(stderr, "bench_daemon: %s", PQerrorMessage(pg));
				return 1;
			}
			done += newly;
		}
		if (bench_now() - t0 > 600) {
			fprintf(stderr, "bench_daemon: only %lld of %ld done after 600 s\n", done, messages);
			return 1;
		}
	}
	elapsed = bench_now() - t0;
	cpu_a = proc_cpu_seconds(pid_a) - cpu_a;
	cpu_b = proc_cpu_seconds(pid_b) - cpu_b;
	cpu_pg = postgres_cpu_seconds(postmaster) - cpu_pg;

	{
		const char *params[1] = { source };

		r = PQexecParams(pg, "SELECT extract(epoch FROM updated_at - created_at), state = 'failed' FROM messages "
				 "WHERE source = $1", 1, NULL, params, NULL, NULL, 0);
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bench_daemon: %s", PQerrorMessage(pg));
		return 1;
	}
	n = PQntuples(r);
	lat = calloc((size_t)n, sizeof(*lat));
	failed = 0;
	for (int i = 0; i < n; i++) {
		lat[i] = atof(PQgetvalue(r, i, 0)) * 1000.0;
		failed += PQgetvalue(r, i, 1)[0] == 't';
	}
	PQclear(r);
	qsort(lat, (size_t)n, sizeof(*lat), compare_double);
	printf("concurrency %3ld: %5ld messages in %6.2f s = %7.1f msg/s; latency ms p50 %7.1f p99 %7.1f max %7.1f; "
	       "failed %lld; peak RSS A %ld KiB, B %ld KiB; CPU ms/message A %.2f B %.2f PostgreSQL %.2f\n",
	       concurrency, messages, elapsed, (double)messages / elapsed, lat[n / 2], lat[(n * 99) / 100],
	       lat[n - 1], failed, proc_kib(pid_a, "VmHWM:"), proc_kib(pid_b, "VmHWM:"),
	       1000.0 * cpu_a / (double)messages, 1000.0 * cpu_b / (double)messages, 1000.0 * cpu_pg / (double)messages);
	free(lat);
	free(in_flight);
	PQfinish(pg);
	rl_store_close(st);
	rl_buf_free(&doc);
	rl_buf_free(&cert_pem);
	X509_free(cert);
	return failed ? 1 : 0;
}
