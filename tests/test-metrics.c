/*
 * test-metrics: the counters of `p11agent status` (agent/metrics.c): the
 * log-scale latency buckets and the quantiles read from them, the counts
 * per key and operation and per error code, a pair found again by its
 * operation's name, threads recording at once without losing a count, and
 * the pairs beyond the table counted together.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <cmocka.h>

#include "../agent/metrics.h"
#include "p11agent.h"

/* Two keys: any addresses that live as long as the test. */
static const int key_a, key_b;

/* The pair of key and op, read from m; fails the test when there is none. */
static struct metrics_pair find(const struct metrics *m, const void *key, const char *op)
{
	struct metrics_pair p;
	size_t i = 0;

	while (metrics_next(m, &i, &p))
		if (p.key == key && strcmp(p.op, op) == 0)
			return p;
	fail_msg("no pair for op %s", op);
	return p;
}

static size_t count_pairs(const struct metrics *m)
{
	struct metrics_pair p;
	size_t i = 0, n = 0;

	while (metrics_next(m, &i, &p))
		n++;
	return n;
}

static void test_buckets_exact_below_8(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 8; v++) {
		assert_int_equal(metrics_bucket(v), v);
		assert_int_equal(metrics_bucket_max((unsigned)v), v);
	}
	assert_int_equal(metrics_bucket(8), 8);
	assert_int_equal(metrics_bucket(9), 8);
	assert_int_equal(metrics_bucket(10), 9);
	assert_int_equal(metrics_bucket_max(8), 9);
}

/* Every bucket follows the one before, without a gap, at most 25% wide. */
static void test_buckets_contiguous(void **state)
{
	uint64_t lo = 0;

	(void)state;
	for (unsigned b = 0; b < METRICS_BUCKETS - 1; b++) {
		uint64_t hi = metrics_bucket_max(b);

		assert_true(hi >= lo);
		assert_int_equal(metrics_bucket(lo), b);
		assert_int_equal(metrics_bucket(hi), b);
		assert_int_equal(metrics_bucket(hi + 1), b + 1);
		/* (hi - lo) / lo <= 25% */
		assert_true(lo < 8 || (hi - lo) * 4 <= lo);
		lo = hi + 1;
	}
	assert_int_equal(lo, (uint64_t)7 << 30);
	/* The last bucket takes everything longer. */
	assert_int_equal(metrics_bucket(UINT64_MAX), METRICS_BUCKETS - 1);
	assert_int_equal(metrics_bucket((uint64_t)1 << 40), METRICS_BUCKETS - 1);
}

static void test_quantiles(void **state)
{
	uint64_t counts[METRICS_BUCKETS];
	uint64_t p50, p99;

	(void)state;
	memset(counts, 0, sizeof(counts));
	assert_int_equal(metrics_quantile(counts, 0.5), 0);
	/* 1 to 1000 us, once each. */
	for (uint64_t v = 1; v <= 1000; v++)
		counts[metrics_bucket(v)]++;
	p50 = metrics_quantile(counts, 0.5);
	p99 = metrics_quantile(counts, 0.99);
	assert_true(p50 >= 500 && p50 * 4 <= 500 * 5);
	assert_true(p99 >= 990 && p99 * 4 <= 990 * 5);
	assert_true(p50 <= p99);
	assert_int_equal(metrics_quantile(counts, 1.0), metrics_bucket_max(metrics_bucket(1000)));
	/* One latency: every quantile is its bucket's. */
	memset(counts, 0, sizeof(counts));
	counts[metrics_bucket(3)] = 1;
	assert_int_equal(metrics_quantile(counts, 0.5), 3);
	assert_int_equal(metrics_quantile(counts, 0.99), 3);
	/* 98 fast, 2 slow: p50 fast, p99 slow. */
	memset(counts, 0, sizeof(counts));
	counts[metrics_bucket(100)] = 98;
	counts[metrics_bucket(100000)] = 2;
	assert_int_equal(metrics_quantile(counts, 0.5), metrics_bucket_max(metrics_bucket(100)));
	assert_int_equal(metrics_quantile(counts, 0.99),
			 metrics_bucket_max(metrics_bucket(100000)));
}

static void test_counts(void **state)
{
	struct metrics *m = NULL;
	struct metrics_pair p;
	char op_copy[] = "sign";

	(void)state;
	assert_int_equal(metrics_new(&m), P11A_OK);
	assert_int_equal(count_pairs(m), 0);
	for (int i = 0; i < 3; i++)
		metrics_record(m, &key_a, "sign", P11A_OK, 100);
	metrics_record(m, &key_a, "sign", P11A_ERR_BAD_INPUT, 10);
	metrics_record(m, &key_a, "sign", P11A_ERR_BAD_INPUT, 10);
	metrics_record(m, &key_a, "sign", P11A_ERR_DENIED, 10);
	/* The same name from another string is the same pair. */
	metrics_record(m, &key_a, op_copy, P11A_OK, 1000);
	metrics_record(m, &key_b, "decrypt", P11A_OK, 700);
	metrics_record(m, NULL, "list", P11A_OK, 5);
	metrics_record(m, NULL, "sign", P11A_ERR_NO_SUCH_KEY, 5);
	/* A code that is not the wire's counts as INTERNAL. */
	metrics_record(m, &key_b, "decrypt", 200, 5);
	metrics_record(m, &key_b, "decrypt", -1, 5);
	assert_int_equal(count_pairs(m), 4);

	p = find(m, &key_a, "sign");
	assert_int_equal(p.requests, 7);
	assert_int_equal(p.errors[P11A_ERR_BAD_INPUT], 2);
	assert_int_equal(p.errors[P11A_ERR_DENIED], 1);
	assert_int_equal(p.errors[0], 0);
	assert_int_equal(p.latency_sum_us, 3 * 100 + 3 * 10 + 1000);
	assert_int_equal(p.latency_p50_us, metrics_bucket_max(metrics_bucket(100)));
	assert_int_equal(p.latency_p99_us, metrics_bucket_max(metrics_bucket(1000)));

	p = find(m, &key_b, "decrypt");
	assert_int_equal(p.requests, 3);
	assert_int_equal(p.errors[P11A_ERR_INTERNAL], 2);

	p = find(m, NULL, "list");
	assert_int_equal(p.requests, 1);
	p = find(m, NULL, "sign");
	assert_int_equal(p.requests, 1);
	assert_int_equal(p.errors[P11A_ERR_NO_SUCH_KEY], 1);
	metrics_free(m);
	/* NULL is a no-op for both. */
	metrics_record(NULL, &key_a, "sign", P11A_OK, 1);
	metrics_free(NULL);
}

struct worker {
	struct metrics *m;
	int id;
};

#define PER_THREAD 100000

static void *record_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++)
		metrics_record(w->m, i % 2 ? (const void *)&key_a : (const void *)&key_b,
			       w->id % 2 ? "sign" : "decrypt",
			       i % 10 == 0 ? P11A_ERR_BAD_INPUT : P11A_OK, (uint64_t)(i % 1000));
	return NULL;
}

/* Four threads at once on the same pairs: no count is lost. */
static void test_threads(void **state)
{
	struct metrics *m = NULL;
	struct worker w[4];
	pthread_t t[4];
	struct metrics_pair p;
	uint64_t total = 0, errors = 0;
	size_t i = 0;

	(void)state;
	assert_int_equal(metrics_new(&m), P11A_OK);
	for (int k = 0; k < 4; k++) {
		w[k].m = m;
		w[k].id = k;
		assert_int_equal(pthread_create(&t[k], NULL, record_many, &w[k]), 0);
	}
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	while (metrics_next(m, &i, &p)) {
		total += p.requests;
		errors += p.errors[P11A_ERR_BAD_INPUT];
		assert_int_equal(p.requests, 2 * PER_THREAD / 2);
	}
	assert_int_equal(total, 4 * PER_THREAD);
	assert_int_equal(errors, 4 * PER_THREAD / 10);
	assert_int_equal(count_pairs(m), 4);
	metrics_free(m);
}

/* More pairs than the table holds: the rest count in one pair, none lost. */
static void test_table_full(void **state)
{
	static char keys[METRICS_MAX_PAIRS + 10];
	struct metrics *m = NULL;
	struct metrics_pair p;
	uint64_t total = 0, other = 0;
	size_t i = 0, n = 0;

	(void)state;
	assert_int_equal(metrics_new(&m), P11A_OK);
	for (size_t k = 0; k < sizeof(keys); k++)
		metrics_record(m, &keys[k], "sign", P11A_OK, 1);
	while (metrics_next(m, &i, &p)) {
		n++;
		total += p.requests;
		if (strcmp(p.op, METRICS_OTHER_OP) == 0) {
			assert_null(p.key);
			other = p.requests;
		}
	}
	assert_int_equal(total, sizeof(keys));
	assert_int_equal(n, METRICS_MAX_PAIRS + 1);
	assert_int_equal(other, sizeof(keys) - METRICS_MAX_PAIRS);
	metrics_free(m);
}

static void test_uptime(void **state)
{
	struct metrics *m = NULL;
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 30 * 1000000L};
	uint64_t a;

	(void)state;
	assert_int_equal(metrics_new(&m), P11A_OK);
	a = metrics_uptime_ms(m);
	assert_true(a < 1000);
	nanosleep(&pause, NULL);
	assert_true(metrics_uptime_ms(m) >= a + 30);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets_exact_below_8),
	    cmocka_unit_test(test_buckets_contiguous),
	    cmocka_unit_test(test_quantiles),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_uptime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
