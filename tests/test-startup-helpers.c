/*
 * test-startup-helpers: the start-up helpers of p11agentd (agent/startup.c) that
 * need no running agent: the shell lines in sh and csh syntax, quoted so
 * that any printable path survives eval; the syntax chosen from $SHELL; the
 * pid file written over a symbolic link without following it and removed
 * only while it holds our pid; the private socket directory.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11agent.h"
#include "../agent/startup.h"

/* What startup_print_env() writes, in a malloc'd string. */
static char *env_lines(enum startup_shell sh, const char *sock, pid_t pid)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(startup_print_env(f, sh, sock, pid), 0);
	fclose(f);
	return text;
}

static void test_sh_lines(void **state)
{
	char *t;

	(void)state;
	t = env_lines(STARTUP_SH, "/run/user/1000/p11agent/agent.sock", 42);
	assert_string_equal(t, "P11AGENT_SOCK=/run/user/1000/p11agent/agent.sock; export "
			       "P11AGENT_SOCK;\n"
			       "P11AGENT_PID=42; export P11AGENT_PID;\n"
			       "echo Agent pid 42;\n");
	free(t);
	/* A space, a quote, $ and a backquote: single quotes, the quote as '\''. */
	t = env_lines(STARTUP_SH, "/tmp/a b'c$d`e/agent.sock", 7);
	assert_string_equal(t, "P11AGENT_SOCK='/tmp/a b'\\''c$d`e/agent.sock'; export "
			       "P11AGENT_SOCK;\n"
			       "P11AGENT_PID=7; export P11AGENT_PID;\n"
			       "echo Agent pid 7;\n");
	free(t);
}

static void test_csh_lines(void **state)
{
	char *t;

	(void)state;
	t = env_lines(STARTUP_CSH, "/tmp/p/agent.sock", 42);
	assert_string_equal(t, "setenv P11AGENT_SOCK /tmp/p/agent.sock;\n"
			       "setenv P11AGENT_PID 42;\n"
			       "echo Agent pid 42;\n");
	free(t);
	/* csh expands ! even inside single quotes. */
	t = env_lines(STARTUP_CSH, "/tmp/a b'c!d/agent.sock", 3);
	assert_string_equal(t, "setenv P11AGENT_SOCK '/tmp/a b'\\''c'\\!'d/agent.sock';\n"
			       "setenv P11AGENT_PID 3;\n"
			       "echo Agent pid 3;\n");
	free(t);
}

static void test_unset_lines(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(startup_print_unset(f, STARTUP_SH, 9), 0);
	assert_int_equal(startup_print_unset(f, STARTUP_CSH, 9), 0);
	fclose(f);
	assert_string_equal(text, "unset P11AGENT_SOCK;\nunset P11AGENT_PID;\n"
				  "echo Agent pid 9 killed;\n"
				  "unsetenv P11AGENT_SOCK;\nunsetenv P11AGENT_PID;\n"
				  "echo Agent pid 9 killed;\n");
	free(text);
}

static void test_printable(void **state)
{
	char msg[256];

	(void)state;
	assert_int_equal(startup_check_printable("/tmp/a b'c!/s", msg, sizeof(msg)), P11A_OK);
	assert_int_equal(startup_check_printable("/tmp/a\nb/s", msg, sizeof(msg)),
			 P11A_ERR_INVALID_ARG);
	assert_non_null(strstr(msg, "control character"));
	assert_int_equal(startup_check_printable("/tmp/a\tb/s", msg, sizeof(msg)),
			 P11A_ERR_INVALID_ARG);
}

static void test_shell_from_env(void **state)
{
	static const struct {
		const char *shell;
		enum startup_shell want;
	} cases[] = {
	    {"/bin/csh", STARTUP_CSH}, {"/usr/bin/tcsh", STARTUP_CSH}, {"/bin/bash", STARTUP_SH},
	    {"/bin/sh", STARTUP_SH},   {"csh", STARTUP_CSH},	       {"", STARTUP_SH},
	    {"/bin/cshx", STARTUP_SH},
	};
	char *saved = getenv("SHELL") != NULL ? strdup(getenv("SHELL")) : NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("SHELL", cases[i].shell, 1);
		assert_int_equal(startup_shell_from_env(), cases[i].want);
	}
	unsetenv("SHELL");
	assert_int_equal(startup_shell_from_env(), STARTUP_SH);
	if (saved != NULL)
		setenv("SHELL", saved, 1);
	free(saved);
}

static void test_abspath(void **state)
{
	char cwd[4096], out[4096], want[4200], msg[256], small[8];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(startup_abspath("--socket", "/a/b", out, sizeof(out), msg, sizeof(msg)),
			 P11A_OK);
	assert_string_equal(out, "/a/b");
	assert_int_equal(startup_abspath("--socket", "x.sock", out, sizeof(out), msg, sizeof(msg)),
			 P11A_OK);
	snprintf(want, sizeof(want), "%s/x.sock", cwd);
	assert_string_equal(out, want);
	assert_int_equal(
	    startup_abspath("--pidfile", "/long/path", small, sizeof(small), msg, sizeof(msg)),
	    P11A_ERR_INVALID_ARG);
	assert_non_null(strstr(msg, "--pidfile /long/path"));
}

/* A private temporary directory for the file tests, removed with its files. */
static int make_dir(void **state)
{
	char *dir = strdup("/tmp/test-startup-XXXXXX");

	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int remove_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

/* The content of a file, or "" when it cannot be read. */
static void read_text(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f != NULL) {
		n = fread(out, 1, len - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

static void test_pidfile(void **state)
{
	const char *dir = *state;
	char pidfile[256], victim[256], text[64], msg[512];
	struct stat st;

	snprintf(pidfile, sizeof(pidfile), "%s/agent.pid", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(startup_write_pidfile(pidfile, 1234, msg, sizeof(msg)), P11A_OK);
	read_text(pidfile, text, sizeof(text));
	assert_string_equal(text, "1234\n");
	assert_int_equal(stat(pidfile, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* Another pid's file stays; ours goes. */
	startup_remove_pidfile(pidfile, 99);
	assert_int_equal(access(pidfile, F_OK), 0);
	startup_remove_pidfile(pidfile, 1234);
	assert_int_not_equal(access(pidfile, F_OK), 0);

	/* A symbolic link at the path is replaced; its target is not written. */
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, pidfile), 0);
	assert_int_equal(startup_write_pidfile(pidfile, 77, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(lstat(pidfile, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	read_text(victim, text, sizeof(text));
	assert_string_equal(text, "precious\n");
	read_text(pidfile, text, sizeof(text));
	assert_string_equal(text, "77\n");

	/* A missing directory: refused, the path named. */
	snprintf(pidfile, sizeof(pidfile), "%s/no-dir/agent.pid", dir);
	assert_int_equal(startup_write_pidfile(pidfile, 1, msg, sizeof(msg)), P11A_ERR_INVALID_ARG);
	assert_non_null(strstr(msg, pidfile));
}

static void test_private_dir(void **state)
{
	const char *dir = *state;
	char *saved = getenv("TMPDIR") != NULL ? strdup(getenv("TMPDIR")) : NULL;
	char out[108], msg[512], prefix[256];
	struct stat st;

	setenv("TMPDIR", dir, 1);
	assert_int_equal(startup_private_dir(out, sizeof(out), msg, sizeof(msg)), P11A_OK);
	snprintf(prefix, sizeof(prefix), "%s/p11agent-", dir);
	assert_memory_equal(out, prefix, strlen(prefix));
	assert_int_equal(strlen(out), strlen(prefix) + 6);
	assert_int_equal(lstat(out, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(rmdir(out), 0);

	/* A directory that does not exist: the message names it and the ways out. */
	snprintf(prefix, sizeof(prefix), "%s/none", dir);
	setenv("TMPDIR", prefix, 1);
	assert_int_equal(startup_private_dir(out, sizeof(out), msg, sizeof(msg)),
			 P11A_ERR_INVALID_ARG);
	assert_non_null(strstr(msg, prefix));
	assert_non_null(strstr(msg, "--socket"));
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sh_lines),
	    cmocka_unit_test(test_csh_lines),
	    cmocka_unit_test(test_unset_lines),
	    cmocka_unit_test(test_printable),
	    cmocka_unit_test(test_shell_from_env),
	    cmocka_unit_test(test_abspath),
	    cmocka_unit_test_setup_teardown(test_pidfile, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_private_dir, make_dir, remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
