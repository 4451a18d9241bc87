/*
 * test-pin: PIN sources. Every test works in its own temporary directory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11agent.h"
#include "secret.h"
#include "../agent/pin.h"

#define TEST_PIN "4711-secret"

struct fixture {
	char dir[256];
	char path[300]; /* dir/pin */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/test-pin.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/pin", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[320];

	unlink(fx->path);
	snprintf(path, sizeof(path), "%s/link", fx->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", fx->dir);
	rmdir(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* pin_read(source) must succeed with expect as the PIN. */
static void expect_pin(const char *source, const char *expect)
{
	struct secret *pin = NULL;
	char msg[256] = "";

	assert_int_equal(pin_read(source, &pin, msg, sizeof(msg)), P11A_OK);
	assert_non_null(pin);
	assert_int_equal(pin->len, strlen(expect));
	assert_memory_equal(pin->p, expect, pin->len);
	secret_free(pin);
}

/* pin_read(source) must fail; its message must hold needle and never the PIN. */
static void expect_refused(const char *source, const char *needle)
{
	struct secret *pin = NULL;
	char msg[256] = "";

	assert_int_equal(pin_read(source, &pin, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_null(pin);
	assert_true(msg[0] != '\0');
	if (needle != NULL && strstr(msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", msg, needle);
	assert_null(strstr(msg, TEST_PIN));
}

static void test_file_0600_ok(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	write_file(fx->path, TEST_PIN "\n", 0600);
	snprintf(source, sizeof(source), "file:%s", fx->path);
	expect_pin(source, TEST_PIN);
	/* 0400 is fine too. */
	assert_int_equal(chmod(fx->path, 0400), 0);
	expect_pin(source, TEST_PIN);
}

static void test_file_newlines(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	snprintf(source, sizeof(source), "file:%s", fx->path);
	write_file(fx->path, TEST_PIN, 0600);
	expect_pin(source, TEST_PIN);
	write_file(fx->path, TEST_PIN "\r\n", 0600);
	expect_pin(source, TEST_PIN);
	/* Only one trailing newline goes. */
	write_file(fx->path, TEST_PIN "\n\n", 0600);
	expect_pin(source, TEST_PIN "\n");
}

static void test_file_group_readable_refused(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	write_file(fx->path, TEST_PIN "\n", 0640);
	snprintf(source, sizeof(source), "file:%s", fx->path);
	expect_refused(source, fx->path);
	expect_refused(source, "0640");
}

static void test_file_other_readable_refused(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	write_file(fx->path, TEST_PIN "\n", 0604);
	snprintf(source, sizeof(source), "file:%s", fx->path);
	expect_refused(source, "0604");
	/* Group write alone is enough to refuse. */
	write_file(fx->path, TEST_PIN "\n", 0620);
	expect_refused(source, "0620");
}

static void test_file_missing(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	snprintf(source, sizeof(source), "file:%s/nothing-here", fx->dir);
	expect_refused(source, "nothing-here");
}

static void test_file_not_regular(void **state)
{
	struct fixture *fx = *state;
	char source[320], sub[300];

	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(source, sizeof(source), "file:%s", sub);
	expect_refused(source, "regular");
}

static void test_file_symlink_refused(void **state)
{
	struct fixture *fx = *state;
	char source[320], link[300];

	write_file(fx->path, TEST_PIN, 0600);
	snprintf(link, sizeof(link), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->path, link), 0);
	snprintf(source, sizeof(source), "file:%s", link);
	expect_refused(source, "symbolic link");
}

/* Another uid's PIN file, even mode 0600, is refused (needs root to chown). */
static void test_file_other_owner_refused(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	if (geteuid() != 0)
		skip();
	write_file(fx->path, TEST_PIN "\n", 0600);
	assert_int_equal(chown(fx->path, 54402, 54402), 0);
	snprintf(source, sizeof(source), "file:%s", fx->path);
	expect_refused(source, "owned by uid 54402");
}

/* A PIN file in a directory its group may write is refused. */
static void test_file_dir_writable_refused(void **state)
{
	struct fixture *fx = *state;
	char source[320];

	write_file(fx->path, TEST_PIN "\n", 0600);
	assert_int_equal(chmod(fx->dir, 0770), 0);
	snprintf(source, sizeof(source), "file:%s", fx->path);
	expect_refused(source, "writable by its group: chmod go-w");
	assert_int_equal(chmod(fx->dir, 0700), 0);
	expect_pin(source, TEST_PIN);
}

static void test_file_empty_or_long(void **state)
{
	struct fixture *fx = *state;
	char source[320], big[600];

	snprintf(source, sizeof(source), "file:%s", fx->path);
	write_file(fx->path, "", 0600);
	expect_refused(source, "empty");
	write_file(fx->path, "\n", 0600);
	expect_refused(source, "empty");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(fx->path, big, 0600);
	expect_refused(source, "longer");
}

static void test_uri_forms(void **state)
{
	struct fixture *fx = *state;
	char source[400];

	write_file(fx->path, TEST_PIN "\n", 0600);
	/* A plain absolute path, as a token URI's pin-source may give it. */
	expect_pin(fx->path, TEST_PIN);
	snprintf(source, sizeof(source), "file://%s", fx->path);
	expect_pin(source, TEST_PIN);
	snprintf(source, sizeof(source), "file://localhost%s", fx->path);
	expect_pin(source, TEST_PIN);
	snprintf(source, sizeof(source), "file://elsewhere%s", fx->path);
	expect_refused(source, "local");
	snprintf(source, sizeof(source), "file://%s%%zz", fx->path);
	expect_refused(source, "escape");
	/* %-escapes are decoded: %70 is 'p'. */
	snprintf(source, sizeof(source), "file://%s/%%70in", fx->dir);
	expect_pin(source, TEST_PIN);
	assert_int_equal(chmod(fx->path, 0644), 0);
	snprintf(source, sizeof(source), "file://%s", fx->path);
	expect_refused(source, "0644");
}

static void test_env_cleared(void **state)
{
	assert_int_equal(setenv("P11A_TEST_PIN", TEST_PIN, 1), 0);
	expect_pin("env:P11A_TEST_PIN", TEST_PIN);
	assert_null(getenv("P11A_TEST_PIN"));
	/* Read once: the second time it is gone. */
	expect_refused("env:P11A_TEST_PIN", "not set");
}

static void test_env_missing_or_bad(void **state)
{
	unsetenv("P11A_TEST_NOPE");
	expect_refused("env:P11A_TEST_NOPE", "not set");
	expect_refused("env:", NULL);
	expect_refused("env:A=B", NULL);
	assert_int_equal(setenv("P11A_TEST_EMPTY", "", 1), 0);
	expect_refused("env:P11A_TEST_EMPTY", "empty");
	assert_null(getenv("P11A_TEST_EMPTY"));
}

static void test_unknown_scheme(void **state)
{
	struct secret *pin = NULL;
	char msg[256] = "";

	/* A PIN given in place of its source is never echoed. */
	expect_refused(TEST_PIN, "unknown");
	expect_refused("pin:" TEST_PIN, "unknown");
	expect_refused("relative/path", "unknown");
	expect_refused("file:", "unknown");
	assert_int_equal(pin_read(NULL, &pin, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_null(pin);
}

/*
 * The PIN typed where its source belongs (pin-source = env:PIN, file:PIN,
 * file://PIN) is refused without being echoed (expect_refused checks).
 */
static void test_pin_as_source_not_echoed(void **state)
{
	unsetenv(TEST_PIN);
	expect_refused("env:" TEST_PIN, "not set");
	expect_refused("env:" TEST_PIN "=x", "not a variable name");
	expect_refused("file:" TEST_PIN, "absolute");
	expect_refused("file://" TEST_PIN, "local");
	expect_refused("file:///%zz" TEST_PIN, "escape");
}

/* credential:NAME: the file NAME in $CREDENTIALS_DIRECTORY, checked as a PIN file. */
static void test_credential(void **state)
{
	struct fixture *fx = *state;

	write_file(fx->path, TEST_PIN "\n", 0400);
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", fx->dir, 1), 0);
	expect_pin("credential:pin", TEST_PIN);
	expect_refused("credential:none", "No such file");
	expect_refused("credential:../pin", "file name");
	expect_refused("credential:..", "file name");
	expect_refused("credential:" TEST_PIN "/x", "file name");
	assert_int_equal(chmod(fx->path, 0440), 0);
	expect_refused("credential:pin", "0440");
	assert_int_equal(setenv("CREDENTIALS_DIRECTORY", "relative", 1), 0);
	expect_refused("credential:pin", "not an absolute path");
	unsetenv("CREDENTIALS_DIRECTORY");
	expect_refused("credential:pin", "LoadCredential=");
}

/* fd:N: read to its end once, then closed. */
static void test_fd(void **state)
{
	struct fixture *fx = *state;
	char source[32];
	int p[2], fd;

	/* A pipe, as a parent process would hand it over. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], TEST_PIN "\n", strlen(TEST_PIN) + 1),
			 (ssize_t)strlen(TEST_PIN) + 1);
	close(p[1]);
	snprintf(source, sizeof(source), "fd:%d", p[0]);
	expect_pin(source, TEST_PIN);
	assert_int_equal(fcntl(p[0], F_GETFD), -1); /* closed */
	/* Read once: the number is no descriptor any more. */
	expect_refused(source, "no such open descriptor");
	/* A file, even one group may read: the parent chose to hand it over. */
	write_file(fx->path, TEST_PIN, 0640);
	fd = open(fx->path, O_RDONLY);
	assert_true(fd >= 0);
	snprintf(source, sizeof(source), "fd:%d", fd);
	expect_pin(source, TEST_PIN);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* A directory and a character device are no PIN; closed all the same. */
	fd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	snprintf(source, sizeof(source), "fd:%d", fd);
	expect_refused(source, "a directory");
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	snprintf(source, sizeof(source), "fd:%d", fd);
	expect_refused(source, "a character device");
	/* An empty pipe at its end: empty. */
	assert_int_equal(pipe(p), 0);
	close(p[1]);
	snprintf(source, sizeof(source), "fd:%d", p[0]);
	expect_refused(source, "empty");
	expect_refused("fd:", "descriptor number");
	expect_refused("fd:-1", "descriptor number");
	expect_refused("fd:" TEST_PIN, "descriptor number");
	expect_refused("fd:99999999999999999999", "descriptor number");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_file_0600_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_newlines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_group_readable_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_other_readable_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_not_regular, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_symlink_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_other_owner_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_dir_writable_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_empty_or_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uri_forms, setup, teardown),
	    cmocka_unit_test(test_env_cleared),
	    cmocka_unit_test(test_env_missing_or_bad),
	    cmocka_unit_test(test_unknown_scheme),
	    cmocka_unit_test(test_pin_as_source_not_echoed),
	    cmocka_unit_test_setup_teardown(test_credential, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
