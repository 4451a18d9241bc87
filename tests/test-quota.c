/*
 * test-quota: what each peer uid holds of the agent (agent/quota.c):
 * connections per uid with their rate-limited log reports, bytes per uid
 * and for all, waits that end when room is given back or at the deadline,
 * and root and the agent's own uid without per-uid limits.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../agent/quota.h"
#include "p11agent.h"

#define SELF 4000
#define UA 1001
#define UB 1002

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 2 connections a uid; 10 bytes a uid, 15 in all. */
static struct quota *small(void)
{
	struct quota_limits lim = {
	    .conns_per_uid = 2, .bytes = 15, .bytes_per_uid = 10, .self_uid = SELF};
	struct quota *q = NULL;

	assert_int_equal(quota_new(&lim, &q), P11A_OK);
	assert_non_null(q);
	return q;
}

static void test_conns_per_uid(void **state)
{
	struct quota *q = small();
	unsigned report = 99;

	(void)state;
	assert_int_equal(quota_conn_take(q, UA, 1000, &report), P11A_OK);
	assert_int_equal(quota_conn_take(q, UA, 1000, &report), P11A_OK);
	/* The third is refused; the first refusal is reported at once. */
	assert_int_equal(quota_conn_take(q, UA, 1000, &report), P11A_ERR_BUSY);
	assert_int_equal(report, 1);
	/* Within the second: counted, not reported. */
	assert_int_equal(quota_conn_take(q, UA, 1500, &report), P11A_ERR_BUSY);
	assert_int_equal(report, 0);
	assert_int_equal(quota_conn_take(q, UA, 1999, &report), P11A_ERR_BUSY);
	assert_int_equal(report, 0);
	/* A second later: the count since the last report, this one included. */
	assert_int_equal(quota_conn_take(q, UA, 2000, &report), P11A_ERR_BUSY);
	assert_int_equal(report, 3);
	/* Another uid has its own share. */
	assert_int_equal(quota_conn_take(q, UB, 2000, &report), P11A_OK);
	assert_int_equal(quota_conn_take(q, UB, 2000, &report), P11A_OK);
	/* One given back: one more may come. */
	quota_conn_put(q, UA);
	assert_int_equal(quota_conn_take(q, UA, 2000, &report), P11A_OK);
	assert_int_equal(quota_conn_take(q, UA, 2000, &report), P11A_ERR_BUSY);
	quota_conn_put(q, UA);
	quota_conn_put(q, UA);
	quota_conn_put(q, UB);
	quota_conn_put(q, UB);
	/* Giving back more than was taken changes nothing. */
	quota_conn_put(q, UB);
	quota_free(q);
}

static void test_exempt(void **state)
{
	struct quota *q = small();
	enum quota_limit which;
	size_t held;
	unsigned report = 0;

	(void)state;
	assert_true(quota_exempt(0, SELF));
	assert_true(quota_exempt(SELF, SELF));
	assert_false(quota_exempt(UA, SELF));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(quota_conn_take(q, 0, 0, &report), P11A_OK);
		assert_int_equal(quota_conn_take(q, SELF, 0, &report), P11A_OK);
	}
	/* No per-uid share of bytes either, but the limit for all binds them. */
	assert_int_equal(quota_mem_take(q, SELF, 12, 0, &which, &held), P11A_OK);
	assert_int_equal(quota_mem_take(q, 0, 4, 0, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_ALL);
	assert_int_equal(held, 12);
	assert_int_equal(quota_mem_take(q, 0, 3, 0, &which, &held), P11A_OK);
	assert_int_equal(quota_mem_held(q, -1), 15);
	quota_mem_put(q, SELF, 12);
	quota_mem_put(q, 0, 3);
	assert_int_equal(quota_mem_held(q, -1), 0);
	for (int i = 0; i < 100; i++) {
		quota_conn_put(q, 0);
		quota_conn_put(q, SELF);
	}
	quota_free(q);
}

static void test_bytes(void **state)
{
	struct quota *q = small();
	enum quota_limit which = QUOTA_ALL;
	size_t held = 0;

	(void)state;
	assert_int_equal(quota_mem_take(q, UA, 8, 0, &which, &held), P11A_OK);
	assert_int_equal(quota_mem_held(q, UA), 8);
	/* uid A's share is full: its own limit says no. */
	assert_int_equal(quota_mem_take(q, UA, 4, 0, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_PER_UID);
	assert_int_equal(held, 8);
	/* uid B may have its own share, up to what is left for all. */
	assert_int_equal(quota_mem_take(q, UB, 8, 0, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_ALL);
	assert_int_equal(held, 8);
	assert_int_equal(quota_mem_take(q, UB, 7, 0, &which, &held), P11A_OK);
	assert_int_equal(quota_mem_held(q, -1), 15);
	quota_mem_put(q, UA, 8);
	assert_int_equal(quota_mem_take(q, UB, 3, 0, &which, &held), P11A_OK);
	assert_int_equal(quota_mem_held(q, UB), 10);
	quota_mem_put(q, UB, 10);
	assert_int_equal(quota_mem_held(q, UB), 0);
	assert_int_equal(quota_mem_held(q, -1), 0);
	quota_free(q);
}

/* What no limit can ever hold is refused at once, whatever the deadline. */
static void test_too_large(void **state)
{
	struct quota *q = small();
	enum quota_limit which;
	size_t held;
	int64_t t0 = now_ms();

	(void)state;
	assert_int_equal(quota_mem_take(q, UA, 11, t0 + 5000, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_PER_UID);
	assert_int_equal(quota_mem_take(q, 0, 16, t0 + 5000, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_ALL);
	assert_true(now_ms() - t0 < 1000);
	quota_free(q);
}

struct taker {
	struct quota *q;
	int uid;
	size_t len;
	int64_t deadline;
	int rc;
	int64_t took_ms;
};

static void *take_thread(void *arg)
{
	struct taker *t = arg;
	enum quota_limit which;
	size_t held;
	int64_t t0 = now_ms();

	t->rc = quota_mem_take(t->q, t->uid, t->len, t->deadline, &which, &held);
	t->took_ms = now_ms() - t0;
	return NULL;
}

/* A taker waits until room is given back: its own uid's share, or everyone's. */
static void test_wait_for_room(void **state)
{
	struct quota *q = small();
	struct taker same = {.q = q, .uid = UA, .len = 5}, other = {.q = q, .uid = UB, .len = 6};
	pthread_t th;
	enum quota_limit which;
	size_t held;

	(void)state;
	/* A's share is full: A's next taker waits for A to give some back. */
	assert_int_equal(quota_mem_take(q, UA, 10, 0, &which, &held), P11A_OK);
	same.deadline = now_ms() + 10000;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &same), 0);
	usleep(200 * 1000);
	quota_mem_put(q, UA, 5);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(same.rc, P11A_OK);
	assert_true(same.took_ms >= 150 && same.took_ms < 5000);
	/* 10 of 15 held: B's 6 wait for room for all. */
	other.deadline = now_ms() + 10000;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &other), 0);
	usleep(200 * 1000);
	quota_mem_put(q, UA, 10);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(other.rc, P11A_OK);
	assert_true(other.took_ms >= 150 && other.took_ms < 5000);
	assert_int_equal(quota_mem_held(q, -1), 6);
	quota_mem_put(q, UB, 6);
	quota_free(q);
}

/* A taker that gets no room gives up at its deadline. */
static void test_wait_deadline(void **state)
{
	struct quota *q = small();
	struct taker t = {.q = q, .uid = UA, .len = 5};
	enum quota_limit which;
	size_t held;

	(void)state;
	assert_int_equal(quota_mem_take(q, UA, 10, 0, &which, &held), P11A_OK);
	t.deadline = now_ms() + 300;
	take_thread(&t);
	assert_int_equal(t.rc, P11A_ERR_BUSY);
	assert_true(t.took_ms >= 250 && t.took_ms < 3000);
	assert_int_equal(quota_mem_held(q, UA), 10);
	quota_mem_put(q, UA, 10);
	quota_free(q);
}

/* Stopping ends every wait, and refuses any that would have to wait. */
static void test_stop(void **state)
{
	struct quota *q = small();
	struct taker t = {.q = q, .uid = UA, .len = 5};
	enum quota_limit which;
	size_t held;
	pthread_t th;

	(void)state;
	assert_int_equal(quota_mem_take(q, UA, 10, 0, &which, &held), P11A_OK);
	t.deadline = now_ms() + 10000;
	assert_int_equal(pthread_create(&th, NULL, take_thread, &t), 0);
	usleep(100 * 1000);
	quota_stop(q);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t.rc, P11A_ERR_BUSY);
	assert_true(t.took_ms < 5000);
	assert_int_equal(quota_mem_take(q, UA, 1, now_ms() + 10000, &which, &held), P11A_ERR_BUSY);
	assert_int_equal(which, QUOTA_STOPPED);
	/* What fits is still taken: a request already read is answered. */
	assert_int_equal(quota_mem_take(q, UB, 5, now_ms() + 10000, &which, &held), P11A_OK);
	quota_mem_put(q, UA, 10);
	quota_mem_put(q, UB, 5);
	quota_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conns_per_uid), cmocka_unit_test(test_exempt),
	    cmocka_unit_test(test_bytes),	  cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_wait_for_room), cmocka_unit_test(test_wait_deadline),
	    cmocka_unit_test(test_stop),
	};

	quota_free(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
