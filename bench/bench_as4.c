/*
 * bench_as4.c - AS4 core throughput and memory: packs (and, when built with unpack, opens) 5 KB
 * invoices many times, then one large payload, and prints messages/s, MB/s and peak resident memory.
 * Usage: bench_as4 PKI_DIR [count] [large_mb]   (PKI_DIR from certs/make-test-pki.sh)
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "relais/as4.h"
#include "relais/cli.h"
#include "relais/keys.h"
#include "bench_util.h"



/* An SBD with a UBL invoice body padded to about `size` bytes. */
static int write_payload(const char *path, size_t size)
{
	static const char head[] = BENCH_SBD_HEAD("bench-1");
	static const char tail[] = "</Invoice></StandardBusinessDocument>\n";
	FILE *fp = fopen(path, "wb");
	size_t written = 0;
	unsigned line = 0;

	if (fp == NULL)
		return -1;
	written += fwrite(head, 1, sizeof(head) - 1, fp);
	while (written + sizeof(tail) < size)
		written += (size_t)fprintf(fp, "<cbc:Note>line %u amount %u.%02u EUR item %08x</cbc:Note>\n", line,
					   line * 7 % 1000, line % 100, line * 2654435761u), line++;
	fwrite(tail, 1, sizeof(tail) - 1, fp);
	return fclose(fp);
}

/* Opens a message with POP000002's key; returns the payload size or -1. */
static long long unpack_once(const struct rl_as4_unpack_opts *u, const char *path, struct rl_err *err)
{
	struct rl_as4_received r;
	long long size;

	memset(&r, 0, sizeof(r));
	if (rl_as4_unpack_file(u, path, &r, err) < 0) {
		rl_as4_received_free(&r);
		return -1;
	}
	size = r.payload_count ? (long long)r.payloads[0].size : 0;
	rl_as4_received_free(&r);
	return size;
}

static int pack_once(struct rl_as4_pack_opts *o, const char *out_path, struct rl_err *err)
{
	FILE *out = fopen(out_path, "wb");
	struct rl_sink sink = { rl_sink_file_write, out };
	struct rl_as4_sent sent;
	int rc;

	if (out == NULL)
		return rl_err_set(err, RL_ERR_IO, "cannot write %s", out_path);
	rc = rl_as4_pack(o, &sink, 1, &sent, err);
	fclose(out);
	if (rc == 0)
		rl_as4_sent_free(&sent);
	return rc;
}

int main(int argc, char **argv)
{
	const char *pki = argc > 1 ? argv[1] : "tests/pki";
	int count = argc > 2 ? atoi(argv[2]) : 500;
	size_t large_mb = argc > 3 ? (size_t)atoi(argv[3]) : 200;
	char key[4096], cert[4096], peer[4096], peer_key[4096], small[] = "/tmp/relais-bench-5k.xml";
	struct rl_identity receiver;
	const struct rl_identity *receivers[1] = { &receiver };
	struct rl_as4_unpack_opts u;
	struct rl_trust *trust;
	char chain[4096];
	long rss_before;
	char large[] = "/tmp/relais-bench-large.xml", msg[] = "/tmp/relais-bench-msg.mime";
	struct rl_identity id;
	struct rl_as4_pack_opts o;
	struct rl_err err;
	X509 *peer_cert;
	double t0, t;

	if (rl_init(&err) < 0)
		return 1;
	snprintf(key, sizeof(key), "%s/POP000001.key.pem", pki);
	snprintf(cert, sizeof(cert), "%s/POP000001.cert.pem", pki);
	snprintf(peer, sizeof(peer), "%s/POP000002.cert.pem", pki);
	snprintf(peer_key, sizeof(peer_key), "%s/POP000002.key.pem", pki);
	snprintf(chain, sizeof(chain), "%s/ca-chain.pem", pki);
	if (rl_identity_load_pem(&id, key, cert, NULL, &err) < 0 || (peer_cert = rl_cert_load_pem(peer, &err)) == NULL ||
	    rl_identity_load_pem(&receiver, peer_key, peer, NULL, &err) < 0 || (trust = rl_trust_load(chain, &err)) == NULL) {
		fprintf(stderr, "bench_as4: %s\n", err.msg);
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.sender = &id;
	o.receiver_cert = peer_cert;
	o.tmp_dir = msg;
	if (write_payload(small, 5 * 1024) < 0 || write_payload(large, large_mb << 20) < 0) {
		fprintf(stderr, "bench_as4: cannot write the payloads in /tmp\n");
		return 1;
	}
	o.payload_path = small;
	t0 = bench_now();
	for (int i = 0; i < count; i++)
		if (pack_once(&o, msg, &err) < 0) {
			fprintf(stderr, "bench_as4: pack: %s\n", err.msg);
			return 1;
		}
	t = bench_now() - t0;
	printf("pack 5 KB invoice: %d messages in %.2f s = %.0f messages/s (%.2f MB/s of payload), one core\n", count, t,
	       count / t, count * 5.0 / 1024 / t);
	memset(&u, 0, sizeof(u));
	u.identities = receivers;
	u.identity_count = 1;
	u.trust = trust;
	u.tmp_dir = "/tmp";
	t0 = bench_now();
	for (int i = 0; i < count; i++)
		if (unpack_once(&u, msg, &err) < 0) {
			fprintf(stderr, "bench_as4: unpack: %s\n", err.msg);
			return 1;
		}
	t = bench_now() - t0;
	printf("unpack 5 KB invoice: %d messages in %.2f s = %.0f messages/s (%.2f MB/s of payload), one core\n", count, t,
	       count / t, count * 5.0 / 1024 / t);
	o.payload_path = large;
	t0 = bench_now();
	if (pack_once(&o, msg, &err) < 0) {
		fprintf(stderr, "bench_as4: pack large: %s\n", err.msg);
		return 1;
	}
	t = bench_now() - t0;
	printf("pack %zu MB payload: %.2f s = %.1f MB/s; peak RSS of this process %ld KiB\n", large_mb, t,
	       (double)large_mb / t, bench_peak_rss_kib());
	rss_before = bench_peak_rss_kib();
	t0 = bench_now();
	if (unpack_once(&u, msg, &err) < 0) {
		fprintf(stderr, "bench_as4: unpack large: %s\n", err.msg);
		return 1;
	}
	t = bench_now() - t0;
	printf("unpack %zu MB payload: %.2f s = %.1f MB/s; peak RSS of this process %ld KiB (before: %ld KiB)\n",
	       large_mb, t, (double)large_mb / t, bench_peak_rss_kib(), rss_before);
	unlink(small);
	unlink(large);
	unlink(msg);
	X509_free(peer_cert);
	rl_identity_free(&receiver);
	rl_trust_free(trust);
	rl_identity_free(&id);
	rl_shutdown();
	return 0;
}
