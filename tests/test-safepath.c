/*
 * test-safepath: safepath_check() on a tree made in a private temporary
 * directory: owners, modes, the sticky exception for directories above,
 * symbolic links resolved or refused.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11agent.h"
#include "safepath.h"

struct fixture {
	char dir[256];	/* private: 0700 */
	char file[300]; /* dir/file, 0644 */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/test-safepath.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->file, sizeof(fx->file), "%s/file", fx->dir);
	if ((f = fopen(fx->file, "w")) == NULL)
		return -1;
	fclose(f);
	chmod(fx->file, 0644);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", fx->dir, fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* safepath_check must return want, with needle in its message when given. */
static void expect(const char *path, unsigned flags, int want, const char *needle)
{
	char msg[1024] = "", real[PATH_MAX] = "";

	assert_int_equal(safepath_check("test file", path, geteuid(), flags, real, sizeof(real),
					msg, sizeof(msg)),
			 want);
	if (want == P11A_OK)
		assert_true(real[0] == '/');
	else if (needle != NULL && strstr(msg, needle) == NULL)
		fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_private_ok(void **state)
{
	struct fixture *fx = *state;
	char msg[256], real[PATH_MAX];

	/* The temporary directory sits in a sticky /tmp: fine as a parent. */
	expect(fx->file, 0, P11A_OK, NULL);
	expect(fx->dir, SAFEPATH_DIR, P11A_OK, NULL);
	assert_int_equal(
	    safepath_check("f", fx->file, geteuid(), 0, real, sizeof(real), msg, sizeof(msg)),
	    P11A_OK);
	assert_string_equal(real, fx->file);
}

static void test_file_writable(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(chmod(fx->file, 0664), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "mode 0664, writable by its group: chmod go-w");
	assert_int_equal(chmod(fx->file, 0646), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "writable by others");
}

static void test_dir_writable(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(chmod(fx->dir, 0770), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "mode 0770, writable by its group");
	expect(fx->dir, SAFEPATH_DIR, P11A_ERR_UNSAFE_PATH, "writable by its group");
	/* Sticky: still refused as the file's own directory, or as the directory checked. */
	assert_int_equal(chmod(fx->dir, 01777), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "mode 1777, writable by others");
	expect(fx->dir, SAFEPATH_DIR, P11A_ERR_UNSAFE_PATH, "mode 1777");
	assert_int_equal(chmod(fx->dir, 0700), 0);
}

/* A sticky, world-writable directory above the file's own is fine. */
static void test_sticky_parent(void **state)
{
	struct fixture *fx = *state;
	char sub[320], file[340];
	FILE *f;

	assert_int_equal(chmod(fx->dir, 01777), 0);
	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(file, sizeof(file), "%s/f", sub);
	assert_non_null(f = fopen(file, "w"));
	fclose(f);
	assert_int_equal(chmod(file, 0600), 0);
	expect(file, 0, P11A_OK, NULL);
	expect(sub, SAFEPATH_DIR, P11A_OK, NULL);
	/* Not sticky: refused, naming the directory above. */
	assert_int_equal(chmod(fx->dir, 0777), 0);
	expect(file, 0, P11A_ERR_UNSAFE_PATH, "writable by others");
	assert_int_equal(chmod(fx->dir, 0700), 0);
}

static void test_other_owner(void **state)
{
	struct fixture *fx = *state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(fx->file, 54406, 54406), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "owned by uid 54406, not by root or uid 0");
	assert_int_equal(chown(fx->file, 0, 0), 0);
	assert_int_equal(chown(fx->dir, 54406, 54406), 0);
	expect(fx->file, 0, P11A_ERR_UNSAFE_PATH, "is owned by uid 54406");
	expect(fx->dir, SAFEPATH_DIR, P11A_ERR_UNSAFE_PATH, "chown 0");
	assert_int_equal(chown(fx->dir, 0, 0), 0);
}

static void test_symlinks(void **state)
{
	struct fixture *fx = *state;
	char link[320], dlink[320], msg[256], real[PATH_MAX];

	snprintf(link, sizeof(link), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->file, link), 0);
	/* Followed: the real file is checked and returned. */
	assert_int_equal(
	    safepath_check("f", link, geteuid(), 0, real, sizeof(real), msg, sizeof(msg)), P11A_OK);
	assert_string_equal(real, fx->file);
	assert_int_equal(chmod(fx->file, 0666), 0);
	expect(link, 0, P11A_ERR_UNSAFE_PATH, "(in its real path) is mode 0666");
	assert_int_equal(chmod(fx->file, 0644), 0);
	/* SAFEPATH_NOFOLLOW: a link is refused. */
	expect(link, SAFEPATH_NOFOLLOW, P11A_ERR_UNSAFE_PATH, "is a symbolic link");
	snprintf(dlink, sizeof(dlink), "%s/dlink", fx->dir);
	assert_int_equal(symlink(fx->dir, dlink), 0);
	expect(dlink, SAFEPATH_DIR | SAFEPATH_NOFOLLOW, P11A_ERR_UNSAFE_PATH, "symbolic link");
	/* A trailing slash does not get a link past SAFEPATH_NOFOLLOW. */
	strcat(dlink, "//");
	expect(dlink, SAFEPATH_DIR | SAFEPATH_NOFOLLOW, P11A_ERR_UNSAFE_PATH, "symbolic link");
	dlink[strlen(dlink) - 2] = '\0';
	expect(dlink, SAFEPATH_DIR, P11A_OK, NULL);
}

static void test_missing_and_type(void **state)
{
	struct fixture *fx = *state;
	char none[320];

	snprintf(none, sizeof(none), "%s/none", fx->dir);
	expect(none, 0, P11A_ERR_INVALID_ARG, "No such file");
	expect(fx->file, SAFEPATH_DIR, P11A_ERR_INVALID_ARG, "not a directory");
	expect(fx->dir, 0, P11A_ERR_INVALID_ARG, "is a directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_private_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_writable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sticky_parent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_type, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
