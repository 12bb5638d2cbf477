/* test_metrics.c - unit tests for the metrics of `relais serve`: counting, histogram buckets, label
 * escaping and the syntax of the exposition text. */
#include "config.h"
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "relais/err.h"
#include "relais/metrics.h"

/* The exposition text for a state with nothing but the time. */
static char *render(const struct rl_metrics_state *st)
{
	struct rl_metrics_state empty = { 0 };
	struct rl_buf b = RL_BUF_INIT;

	empty.now = 1000;
	empty.resident_bytes = -1;
	assert_int_equal(rl_metrics_render(st ? st : &empty, &b), 0);
	assert_non_null(b.data);
	return rl_buf_steal(&b);
}

/* The value of one series ("name{labels}" exactly as written), as text; fails when absent or twice. */
static const char *value_text(const char *text, const char *series)
{
	static char value[64];
	size_t n = strlen(series);
	const char *found = NULL;

	for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
		if (strncmp(line, series, n) == 0 && line[n] == ' ') {
			assert_null(found);
			found = line + n + 1;
		}
		if (strchr(line, '\n') == NULL)
			break;
	}
	if (found == NULL)
		fail_msg("no series %s", series);
	snprintf(value, sizeof(value), "%.*s", (int)strcspn(found, "\n"), found);
	return value;
}

static long long value_of(const char *text, const char *series)
{
	return atoll(value_text(text, series));
}

static int has_series(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = text; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '{'))
			return 1;
	}
	return 0;
}

/* A moment `ms` milliseconds ago (valid until the next call). */
static const struct timespec *ago(long long ms)
{
	static struct timespec t;
	long long ns;

	t = rl_metrics_now();
	ns = (long long)t.tv_sec * 1000000000LL + t.tv_nsec - ms * 1000000LL;
	t.tv_sec = (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return &t;
}

static void test_counters(void **state)
{
	struct timespec now = rl_metrics_now();
	char *text;

	rl_metrics_reset();
	text = render(NULL);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"accepted\"}"), 0);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"refused\",code=\"EBMS:0101\"}"), 0);
	assert_int_equal(value_of(text, "relais_outbound_attempts_total{outcome=\"delivered\"}"), 0);
	free(text);

	for (int i = 0; i < 3; i++)
		rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, &now);
	rl_metrics_inbound(RL_METRICS_IN_DUPLICATE, 0, &now);
	rl_metrics_inbound(RL_METRICS_IN_REFUSED, RL_EBMS_FAILED_AUTHENTICATION, &now);
	rl_metrics_inbound(RL_METRICS_IN_REFUSED, RL_EBMS_FAILED_AUTHENTICATION, &now);
	rl_metrics_inbound(RL_METRICS_IN_REFUSED, RL_EBMS_DECOMPRESSION_FAILURE, NULL);
	rl_metrics_inbound(RL_METRICS_IN_REFUSED, RL_ERR_IO, NULL);	/* a local code: answered as EBMS:0004 */
	rl_metrics_outbound(RL_METRICS_DELIVERED, &now);
	rl_metrics_outbound(RL_METRICS_RETRY, &now);
	rl_metrics_outbound(RL_METRICS_RETRY, NULL);
	rl_metrics_outbound(RL_METRICS_FAILED, NULL);
	rl_metrics_delivery(RL_METRICS_INBOX, RL_METRICS_DELIVERED);
	rl_metrics_delivery(RL_METRICS_WEBHOOK, RL_METRICS_RETRY);
	rl_metrics_delivery(RL_METRICS_WEBHOOK, RL_METRICS_FAILED);
	rl_metrics_http_response(200);
	rl_metrics_http_response(202);
	rl_metrics_http_response(404);
	rl_metrics_http_response(503);
	rl_metrics_http_response(99);	/* not a status: not counted */
	rl_metrics_http_response(600);

	text = render(NULL);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"accepted\"}"), 3);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"duplicate\"}"), 1);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"refused\",code=\"EBMS:0101\"}"), 2);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"refused\",code=\"EBMS:0303\"}"), 1);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"refused\",code=\"EBMS:0004\"}"), 1);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"refused\",code=\"EBMS:0102\"}"), 0);
	assert_int_equal(value_of(text, "relais_outbound_attempts_total{outcome=\"delivered\"}"), 1);
	assert_int_equal(value_of(text, "relais_outbound_attempts_total{outcome=\"retry\"}"), 2);
	assert_int_equal(value_of(text, "relais_outbound_attempts_total{outcome=\"failed\"}"), 1);
	assert_int_equal(value_of(text, "relais_backend_deliveries_total{channel=\"inbox\",outcome=\"delivered\"}"), 1);
	assert_int_equal(value_of(text, "relais_backend_deliveries_total{channel=\"inbox\",outcome=\"retry\"}"), 0);
	assert_int_equal(value_of(text, "relais_backend_deliveries_total{channel=\"webhook\",outcome=\"retry\"}"), 1);
	assert_int_equal(value_of(text, "relais_backend_deliveries_total{channel=\"webhook\",outcome=\"failed\"}"), 1);
	assert_int_equal(value_of(text, "relais_http_responses_total{class=\"1xx\"}"), 0);
	assert_int_equal(value_of(text, "relais_http_responses_total{class=\"2xx\"}"), 2);
	assert_int_equal(value_of(text, "relais_http_responses_total{class=\"4xx\"}"), 1);
	assert_int_equal(value_of(text, "relais_http_responses_total{class=\"5xx\"}"), 1);
	/* Only what returned a receipt is timed: 3 accepted + 1 duplicate in, 1 delivered out. */
	assert_int_equal(value_of(text, "relais_inbound_processing_seconds_count"), 4);
	assert_int_equal(value_of(text, "relais_outbound_send_seconds_count"), 1);
	free(text);

	rl_metrics_reset();
	text = render(NULL);
	assert_int_equal(value_of(text, "relais_inbound_requests_total{outcome=\"accepted\"}"), 0);
	assert_int_equal(value_of(text, "relais_http_responses_total{class=\"2xx\"}"), 0);
	assert_int_equal(value_of(text, "relais_inbound_processing_seconds_count"), 0);
	free(text);
}

/* Each observation lands in the first bucket whose bound it does not pass; buckets are cumulative. */
static void test_histogram(void **state)
{
	const char *b = "relais_inbound_processing_seconds_bucket";
	char series[128], *text;
	double sum;

	rl_metrics_reset();
	rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, ago(2));		/* <= 0.005 */
	rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, ago(200));		/* <= 0.25 */
	rl_metrics_inbound(RL_METRICS_IN_DUPLICATE, 0, ago(7000));	/* <= 10 */
	rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, ago(100000));	/* above 60: +Inf only */
	rl_metrics_inbound(RL_METRICS_IN_REFUSED, RL_EBMS_OTHER, ago(50));	/* not timed */
	rl_metrics_outbound(RL_METRICS_RETRY, ago(50));			/* not timed */
	rl_metrics_outbound(RL_METRICS_DELIVERED, ago(1500));		/* <= 2.5 */
	text = render(NULL);

	static const struct { const char *le; long long in; long long out; } want[] = {
		{ "0.005", 1, 0 }, { "0.01", 1, 0 }, { "0.025", 1, 0 }, { "0.05", 1, 0 }, { "0.1", 1, 0 },
		{ "0.25", 2, 0 }, { "0.5", 2, 0 }, { "1", 2, 0 }, { "2.5", 2, 1 }, { "5", 2, 1 }, { "10", 3, 1 },
		{ "30", 3, 1 }, { "60", 3, 1 }, { "+Inf", 4, 1 }
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(series, sizeof(series), "%s{le=\"%s\"}", b, want[i].le);
		assert_int_equal(value_of(text, series), want[i].in);
		snprintf(series, sizeof(series), "relais_outbound_send_seconds_bucket{le=\"%s\"}", want[i].le);
		assert_int_equal(value_of(text, series), want[i].out);
	}
	assert_int_equal(value_of(text, "relais_inbound_processing_seconds_count"), 4);
	assert_int_equal(value_of(text, "relais_outbound_send_seconds_count"), 1);
	/* The sum: 107.202 s and the little time the calls took; written with nine decimals. */
	sum = strtod(value_text(text, "relais_inbound_processing_seconds_sum"), NULL);
	assert_true(sum >= 107.202 && sum < 107.5);
	assert_int_equal(strlen(strchr(value_text(text, "relais_inbound_processing_seconds_sum"), '.')), 10);
	sum = strtod(value_text(text, "relais_outbound_send_seconds_sum"), NULL);
	assert_true(sum >= 1.5 && sum < 1.8);
	free(text);
	rl_metrics_reset();
}

static void test_label_escaping(void **state)
{
	struct rl_metrics_state st = { 0 };
	char *text;

	st.version = "1.2.3";
	st.party_id = "POP\"1\\2\nx";
	st.resident_bytes = -1;
	text = render(&st);
	assert_non_null(strstr(text, "\nrelais_build_info{version=\"1.2.3\",party_id=\"POP\\\"1\\\\2\\nx\"} 1\n"));
	free(text);
}

/* The state read at scrape time, and what is left out when it is not known. */
static void test_state(void **state)
{
	struct rl_store_stats stats = { 0 };
	struct rl_metrics_state st = { 0 };
	char *text;

	text = render(NULL);
	assert_int_equal(value_of(text, "relais_database_up"), 0);
	assert_false(has_series(text, "relais_outbound_messages"));
	assert_false(has_series(text, "relais_signing_certificate_remaining_seconds"));
	assert_false(has_series(text, "relais_revocation_responders"));
	assert_false(has_series(text, "relais_process_resident_memory_bytes"));
	assert_false(has_series(text, "relais_build_info"));
	free(text);

	stats.out_queued = 7;
	stats.out_retry = 2;
	stats.out_delivered = 500;
	stats.in_received = 3;
	stats.in_failed = 1;
	stats.deliveries_pending = 4;
	stats.circuits_open = 1;
	st.version = "x";
	st.now = 1700000100;
	st.started_at = 1700000000;
	st.stats = &stats;
	st.has_certificate = 1;
	st.certificate_seconds_left = -86400;
	st.resident_bytes = rl_metrics_resident_bytes();
	assert_true(st.resident_bytes > 0);
	st.has_revocation = 1;
	st.responders_reachable = 2;
	st.responders_unreachable = 1;
	st.newest_revocation_answer = 1700000040;
	text = render(&st);
	assert_int_equal(value_of(text, "relais_database_up"), 1);
	assert_int_equal(value_of(text, "relais_outbound_messages{state=\"queued\"}"), 7);
	assert_int_equal(value_of(text, "relais_outbound_messages{state=\"sending\"}"), 0);
	assert_int_equal(value_of(text, "relais_outbound_messages{state=\"retry\"}"), 2);
	assert_int_equal(value_of(text, "relais_outbound_messages{state=\"delivered\"}"), 500);
	assert_int_equal(value_of(text, "relais_inbound_messages{state=\"received\"}"), 3);
	assert_int_equal(value_of(text, "relais_inbound_messages{state=\"failed\"}"), 1);
	assert_int_equal(value_of(text, "relais_backend_deliveries_pending"), 4);
	assert_int_equal(value_of(text, "relais_circuits_open"), 1);
	assert_int_equal(value_of(text, "relais_process_start_time_seconds"), 1700000000);
	assert_int_equal(value_of(text, "relais_uptime_seconds"), 100);
	assert_int_equal(value_of(text, "relais_signing_certificate_remaining_seconds"), -86400);
	assert_int_equal(value_of(text, "relais_process_resident_memory_bytes"), st.resident_bytes);
	assert_int_equal(value_of(text, "relais_revocation_responders{state=\"reachable\"}"), 2);
	assert_int_equal(value_of(text, "relais_revocation_responders{state=\"unreachable\"}"), 1);
	assert_int_equal(value_of(text, "relais_revocation_newest_answer_age_seconds"), 60);
	free(text);

	st.newest_revocation_answer = 0;
	text = render(&st);
	assert_true(has_series(text, "relais_revocation_responders"));
	assert_false(has_series(text, "relais_revocation_newest_answer_age_seconds"));
	assert_false(has_series(text, "relais_revocation_crl_next_update_seconds"));
	free(text);

	/* CRL files: one family, a series each (one naming no nextUpdate is left out); out of date < 0 */
	struct rl_revocation_crl crls[3] = {
		{ "/etc/relais/ca.crl", "AP CA", 1700000100 + 3600 },
		{ "/etc/relais/none.crl", "X", 0 },
		{ "/etc/relais/\"old\".crl", "Root CA", 1700000100 - 60 },
	};
	st.crls = crls;
	st.ncrls = 3;
	text = render(&st);
	assert_int_equal(value_of(text, "relais_revocation_crl_next_update_seconds{file=\"/etc/relais/ca.crl\","
				  "issuer=\"AP CA\"}"), 3600);
	assert_int_equal(value_of(text, "relais_revocation_crl_next_update_seconds{file=\"/etc/relais/\\\"old\\\".crl\","
				  "issuer=\"Root CA\"}"), -60);
	assert_null(strstr(text, "none.crl"));
	assert_non_null(strstr(text, "# TYPE relais_revocation_crl_next_update_seconds gauge\n"));
	assert_null(strstr(strstr(text, "# TYPE relais_revocation_crl_next_update_seconds") + 1,
			   "# TYPE relais_revocation_crl_next_update_seconds"));
	free(text);
}

/* Every line is a HELP, a TYPE or a sample of the family last typed, as format 0.0.4 has them; each
 * family is typed once, before its samples; counters end in _total. */
static void test_exposition_syntax(void **state)
{
	static const char *const patterns[3] = {
		"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$",
		"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
		"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
		"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\})? -?[0-9]+(\\.[0-9]+)?$"
	};
	struct rl_store_stats stats = { 0 };
	struct rl_metrics_state st = { 0 };
	char family[128] = "", type[16] = "", help_of[128] = "", *text, *save = NULL;
	char typed[64][128];
	size_t ntyped = 0, samples = 0;
	regex_t re[3];

	for (int i = 0; i < 3; i++)
		assert_int_equal(regcomp(&re[i], patterns[i], REG_EXTENDED), 0);
	rl_metrics_reset();
	rl_metrics_inbound(RL_METRICS_IN_ACCEPTED, 0, ago(30));
	rl_metrics_outbound(RL_METRICS_DELIVERED, ago(300));
	st.version = "0.1 \"dev\"";
	st.party_id = "POP000001";
	st.now = 200;
	st.started_at = 100;
	st.stats = &stats;
	st.has_certificate = 1;
	st.certificate_seconds_left = 1000;
	st.resident_bytes = 4096;
	st.has_revocation = 1;
	st.newest_revocation_answer = 150;
	text = render(&st);
	assert_int_equal(text[strlen(text) - 1], '\n');

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		regmatch_t mt[3];
		char name[128];

		if (regexec(&re[0], line, 2, mt, 0) == 0) {
			snprintf(help_of, sizeof(help_of), "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so),
				 line + mt[1].rm_so);
			continue;
		}
		if (regexec(&re[1], line, 3, mt, 0) == 0) {
			snprintf(family, sizeof(family), "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so), line + mt[1].rm_so);
			snprintf(type, sizeof(type), "%.*s", (int)(mt[2].rm_eo - mt[2].rm_so), line + mt[2].rm_so);
			assert_string_equal(help_of, family);	/* HELP comes just before TYPE */
			for (size_t i = 0; i < ntyped; i++)
				assert_string_not_equal(typed[i], family);
			assert_true(ntyped < 64);
			snprintf(typed[ntyped++], sizeof(typed[0]), "%s", family);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(family, "_total"));
			continue;
		}
		if (regexec(&re[2], line, 2, mt, 0) != 0)
			fail_msg("not exposition format: %s", line);
		snprintf(name, sizeof(name), "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so), line + mt[1].rm_so);
		assert_true(family[0] != '\0');
		if (strcmp(type, "histogram") == 0) {
			size_t n = strlen(family);

			assert_int_equal(strncmp(name, family, n), 0);
			assert_true(strcmp(name + n, "_bucket") == 0 || strcmp(name + n, "_sum") == 0 ||
				    strcmp(name + n, "_count") == 0);
		} else {
			assert_string_equal(name, family);
		}
		samples++;
	}
	assert_true(ntyped >= 18);
	assert_true(samples >= 80);
	for (int i = 0; i < 3; i++)
		regfree(&re[i]);
	free(text);
	rl_metrics_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_exposition_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
