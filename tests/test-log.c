#include "config.h"
/*
 * test-log: level names, filtering and the stderr line format.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "../agent/log.h"

/*
 * stderr goes to a temporary file between begin_capture() and end_capture(),
 * and only there, so that cmocka's own messages still reach the real stderr.
 */
struct capture {
	FILE *f;
	int saved;
};

static void begin_capture(struct capture *c)
{
	c->f = tmpfile();
	assert_non_null(c->f);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved != -1);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) != -1);
}

/* Restores stderr and returns what was logged, as a fresh string. */
static char *end_capture(struct capture *c)
{
	off_t n;
	char *s;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	n = lseek(fileno(c->f), 0, SEEK_END);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(pread(fileno(c->f), s, (size_t)n, 0), n);
	fclose(c->f);
	return s;
}

static int setup_log(void **state)
{
	log_set_syslog(0);
	log_set_level(LOG_LVL_INFO);
	return 0;
}

static void test_level_parse(void **state)
{
	enum log_level lvl = LOG_LVL_INFO;

	assert_int_equal(log_level_parse("error", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_ERROR);
	assert_int_equal(log_level_parse("warn", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("info", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_INFO);
	assert_int_equal(log_level_parse("DEBUG", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("verbose", &lvl), -1);
	assert_int_equal(log_level_parse("", &lvl), -1);
	assert_int_equal(log_level_parse(NULL, &lvl), -1);
	assert_int_equal(lvl, LOG_LVL_DEBUG); /* untouched on failure */
}

static void test_format_and_filter(void **state)
{
	struct capture c;
	char want[512], *got;
	long pid = (long)getpid();

	begin_capture(&c);
	log_info("hello %d", 42);
	log_debug("not shown at info");
	log_error("token: C_Login failed: %s", "CKR_PIN_INCORRECT");
	log_set_level(LOG_LVL_DEBUG);
	log_debug("shown");
	log_set_level(LOG_LVL_ERROR);
	log_warn("not shown at error");
	got = end_capture(&c);
	snprintf(want, sizeof(want),
		 "p11agentd[%ld]: info: hello 42\n"
		 "p11agentd[%ld]: error: token: C_Login failed: CKR_PIN_INCORRECT\n"
		 "p11agentd[%ld]: debug: shown\n",
		 pid, pid, pid);
	assert_string_equal(got, want);
	free(got);
}

static void test_control_chars_and_errno(void **state)
{
	struct capture c;
	char want[512], *got;
	int e;

	begin_capture(&c);
	errno = ERANGE;
	log_warn("key 'a\nb\rc\td\x7f'");
	e = errno;
	got = end_capture(&c);
	assert_int_equal(e, ERANGE); /* logging keeps errno */
	snprintf(want, sizeof(want), "p11agentd[%ld]: warn: key 'a?b?c d?'\n", (long)getpid());
	assert_string_equal(got, want);
	free(got);
}

static void test_long_message(void **state)
{
	struct capture c;
	char *big, *got, *nl;
	size_t n = 10000;

	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	begin_capture(&c);
	log_info("%s", big);
	log_info("next");
	got = end_capture(&c);
	nl = strchr(got, '\n');
	assert_non_null(nl);
	assert_true(nl - got < 4096);			   /* one short line */
	assert_memory_equal(nl - 3, "...", 3);		   /* marked as cut */
	assert_non_null(strstr(nl + 1, ": info: next\n")); /* the next line intact */
	free(got);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_parse),
	    cmocka_unit_test_setup_teardown(test_format_and_filter, setup_log, NULL),
	    cmocka_unit_test_setup_teardown(test_control_chars_and_errno, setup_log, NULL),
	    cmocka_unit_test_setup_teardown(test_long_message, setup_log, NULL),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
