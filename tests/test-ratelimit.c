/*
 * test-ratelimit: records of refused requests per uid and second
 * (agent/ratelimit.c) against a real, unkeyed audit trail: the first
 * per_sec of a second are written, the rest counted, and one summary
 * record ("audit-suppressed", {"uid":U,"suppressed":N}) written when the
 * second is over (by the next refusal, by a tick, by the thread) or at
 * free; root and the agent's own uid are never limited.
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
#include <unistd.h>

#include <cmocka.h>

#include "../agent/audit.h"
#include "../agent/conf.h"
#include "../agent/ratelimit.h"

#define SELF 4000
#define UA 1001
#define UB 1002

struct fixture {
	char dir[64];
	char path[128];
	struct audit *audit;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct agent_config cfg;
	char msg[512] = "";

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/test-ratelimit.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/audit.log", fx->dir);
	config_init(&cfg);
	cfg.audit_file = strdup(fx->path);
	assert_non_null(cfg.audit_file);
	if (audit_open(&cfg, NULL, 0, &fx->audit, msg, sizeof(msg)) != P11A_OK)
		fail_msg("audit_open: %s", msg);
	config_clear(&cfg);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	audit_close(fx->audit);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* How many lines of the trail contain s. */
static int count(const struct fixture *fx, const char *s)
{
	char line[4096];
	FILE *f = fopen(fx->path, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, s) != NULL;
	fclose(f);
	return n;
}

/* The summary of n requests of uid, as the trail holds it. */
static int summaries(const struct fixture *fx, int uid, int n)
{
	char want[256];

	snprintf(want, sizeof(want),
		 "\"op\":\"audit-suppressed\",\"key\":null,\"key_uri\":null,\"key_version\":null,"
		 "\"key_ref\":null,"
		 "\"alg\":null,\"input_len\":0,\"input_sha256\":null,\"status\":\"OK\",");
	assert_int_equal(count(fx, want), count(fx, "audit-suppressed"));
	snprintf(want, sizeof(want), "\"detail\":{\"uid\":%d,\"suppressed\":%d}", uid, n);
	return count(fx, want);
}

static struct ratelimit *limiter(struct fixture *fx, unsigned per_sec)
{
	struct ratelimit *rl = NULL;

	assert_int_equal(ratelimit_new(per_sec, SELF, fx->audit, &rl), P11A_OK);
	assert_non_null(rl);
	return rl;
}

static void test_window(void **state)
{
	struct fixture *fx = *state;
	struct ratelimit *rl = limiter(fx, 3);
	char self[32];

	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_record(rl, UA, 10000 + i), 1);
	assert_int_equal(ratelimit_record(rl, UA, 10100), 0);
	assert_int_equal(ratelimit_record(rl, UA, 10999), 0);
	/* Nothing is due before the uid's second is over. */
	assert_int_equal(ratelimit_tick(rl, 10500), 11000);
	assert_int_equal(count(fx, "audit-suppressed"), 0);
	assert_int_equal(ratelimit_tick(rl, 11000), -1);
	assert_int_equal(summaries(fx, UA, 2), 1);
	/* Written by the agent, as itself (so is the trail's audit-start record). */
	snprintf(self, sizeof(self), "\"uid\":%d,", (int)getuid());
	assert_int_equal(count(fx, self), 2);
	/* A new second: three more are written. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_record(rl, UA, 12000 + i), 1);
	assert_int_equal(ratelimit_tick(rl, 14000), -1);
	assert_int_equal(count(fx, "audit-suppressed"), 1);
	ratelimit_free(rl);
	assert_int_equal(count(fx, "audit-suppressed"), 1);
}

/* The next refusal after the second writes the summary before its own record. */
static void test_summary_on_next_record(void **state)
{
	struct fixture *fx = *state;
	struct ratelimit *rl = limiter(fx, 1);

	assert_int_equal(ratelimit_record(rl, UA, 5000), 1);
	for (int i = 0; i < 7; i++)
		assert_int_equal(ratelimit_record(rl, UA, 5001 + i), 0);
	assert_int_equal(count(fx, "audit-suppressed"), 0);
	assert_int_equal(ratelimit_record(rl, UA, 6000), 1);
	assert_int_equal(summaries(fx, UA, 7), 1);
	assert_int_equal(ratelimit_record(rl, UA, 6001), 0);
	/* The last second's count is written at free, its second over or not. */
	ratelimit_free(rl);
	assert_int_equal(summaries(fx, UA, 1), 1);
	assert_int_equal(count(fx, "audit-suppressed"), 2);
}

static void test_uids_apart(void **state)
{
	struct fixture *fx = *state;
	struct ratelimit *rl = limiter(fx, 2);

	assert_int_equal(ratelimit_record(rl, UA, 100), 1);
	assert_int_equal(ratelimit_record(rl, UA, 100), 1);
	assert_int_equal(ratelimit_record(rl, UA, 100), 0);
	/* uid B is not held back by uid A's flood. */
	assert_int_equal(ratelimit_record(rl, UB, 600), 1);
	assert_int_equal(ratelimit_record(rl, UB, 600), 1);
	assert_int_equal(ratelimit_record(rl, UB, 600), 0);
	assert_int_equal(ratelimit_record(rl, UB, 601), 0);
	assert_int_equal(ratelimit_tick(rl, 1100), 1600);
	assert_int_equal(summaries(fx, UA, 1), 1);
	assert_int_equal(summaries(fx, UB, 2), 0);
	assert_int_equal(ratelimit_tick(rl, 1600), -1);
	assert_int_equal(summaries(fx, UB, 2), 1);
	ratelimit_free(rl);
	assert_int_equal(count(fx, "audit-suppressed"), 2);
}

static void test_exempt(void **state)
{
	struct fixture *fx = *state;
	struct ratelimit *rl = limiter(fx, 1);

	for (int i = 0; i < 100; i++) {
		assert_int_equal(ratelimit_record(rl, 0, 100), 1);
		assert_int_equal(ratelimit_record(rl, SELF, 100), 1);
	}
	assert_int_equal(ratelimit_tick(rl, 100), -1);
	ratelimit_free(rl);
	assert_int_equal(count(fx, "audit-suppressed"), 0);
	/* No limiter: every record is written. */
	assert_int_equal(ratelimit_record(NULL, UA, 0), 1);
	ratelimit_flush(NULL);
	ratelimit_free(NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With no refusal to come, the thread writes the summary when the second is over. */
static void test_thread(void **state)
{
	struct fixture *fx = *state;
	struct ratelimit *rl = limiter(fx, 2);
	char msg[256] = "";
	int64_t t0 = now_ms();

	assert_int_equal(ratelimit_start(rl, msg, sizeof(msg)), P11A_OK);
	for (int i = 0; i < 5; i++)
		(void)ratelimit_record(rl, UA, now_ms());
	while (count(fx, "audit-suppressed") == 0 && now_ms() - t0 < 5000)
		usleep(20 * 1000);
	assert_int_equal(summaries(fx, UA, 3), 1);
	assert_true(now_ms() - t0 >= 900);
	ratelimit_free(rl);
	assert_int_equal(count(fx, "audit-suppressed"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_summary_on_next_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uids_apart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exempt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
