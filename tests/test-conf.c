#include "config.h"
/*
 * test-conf: the config file parser and config_set().
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../agent/conf.h"

/* Loads text (a C string) under the name "t.conf"; the message goes to msg. */
static int load(struct agent_config *cfg, const char *text, char *msg, size_t msg_len)
{
	return config_load_string(cfg, "t.conf", text, strlen(text), msg, msg_len);
}

/* Loads text into a fresh config and expects failure with exactly want. */
static void expect_error(const char *text, const char *want)
{
	struct agent_config cfg;
	char msg[512] = "";

	config_init(&cfg);
	if (load(&cfg, text, msg, sizeof(msg)) == 0)
		fail_msg("accepted: %s", text);
	assert_string_equal(msg, want);
	config_clear(&cfg);
}

/* Same, but only the start of the message is known. */
static void expect_error_prefix(const char *text, const char *want)
{
	struct agent_config cfg;
	char msg[512] = "";

	config_init(&cfg);
	if (load(&cfg, text, msg, sizeof(msg)) == 0)
		fail_msg("accepted: %s", text);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("'%s' does not start with '%s'", msg, want);
	config_clear(&cfg);
}

static void test_defaults(void **state)
{
	struct agent_config cfg;

	memset(&cfg, 0xa5, sizeof(cfg));
	config_init(&cfg);
	assert_null(cfg.module);
	assert_null(cfg.token);
	assert_null(cfg.pin_source);
	assert_null(cfg.socket);
	assert_null(cfg.log_level);
	assert_int_equal(cfg.foreground, 0);
	assert_int_equal(cfg.pool_size, 8);
	config_clear(&cfg);
	config_clear(&cfg); /* twice: still fine */
	config_clear(NULL);
}

static void test_every_key(void **state)
{
	struct agent_config cfg;
	char msg[256] = "";

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "module = /usr/lib/softhsm/libsofthsm2.so\n"
			      "token = pkcs11:token=demo;manufacturer=SoftHSM%20project\n"
			      "pin-source = file:/run/pin\n"
			      "socket = /run/user/1000/p11agent/agent.sock\n"
			      "foreground = yes\n"
			      "log-level = debug\n"
			      "pool-size = 16\n",
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(cfg.token, "pkcs11:token=demo;manufacturer=SoftHSM%20project");
	assert_string_equal(cfg.pin_source, "file:/run/pin");
	assert_string_equal(cfg.socket, "/run/user/1000/p11agent/agent.sock");
	assert_int_equal(cfg.foreground, 1);
	assert_string_equal(cfg.log_level, "debug");
	assert_int_equal(cfg.pool_size, 16);
	config_clear(&cfg);
	assert_null(cfg.module);
	assert_int_equal(cfg.pool_size, 8);
}

static void test_foreground_values(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0},
	    {"1", 1},	{"0", 0},  {"YES", 1},	{"False", 0},
	};
	struct agent_config cfg;
	char line[64], msg[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		cfg.foreground = !cases[i].want;
		snprintf(line, sizeof(line), "foreground = %s\n", cases[i].text);
		assert_int_equal(load(&cfg, line, msg, sizeof(msg)), 0);
		assert_int_equal(cfg.foreground, cases[i].want);
		config_clear(&cfg);
	}
	expect_error("foreground = maybe\n",
		     "t.conf:1: foreground: expected yes or no (or true, false, 1, 0)");
	expect_error("foreground = 2\n",
		     "t.conf:1: foreground: expected yes or no (or true, false, 1, 0)");
}

static void test_log_levels(void **state)
{
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	struct agent_config cfg;
	char line[64], msg[256];
	size_t i;

	for (i = 0; i < 4; i++) {
		config_init(&cfg);
		snprintf(line, sizeof(line), "log-level=%s", levels[i]);
		assert_int_equal(load(&cfg, line, msg, sizeof(msg)), 0);
		assert_string_equal(cfg.log_level, levels[i]);
		config_clear(&cfg);
	}
	/* Case does not matter; the level is stored by its own name. */
	config_init(&cfg);
	assert_int_equal(load(&cfg, "log-level = WArn", msg, sizeof(msg)), 0);
	assert_string_equal(cfg.log_level, "warn");
	config_clear(&cfg);
	expect_error("log-level = verbose\n",
		     "t.conf:1: log-level: expected error, warn, info or debug");
	expect_error("log-level = warning\n",
		     "t.conf:1: log-level: expected error, warn, info or debug");
}

static void test_pool_size(void **state)
{
	static const char *const good[] = {"1", "8", "256", "008"};
	static const unsigned good_n[] = {1, 8, 256, 8};
	static const char *const bad[] = {
	    "0",	 "257", "-1", "+5", "1x", "0x10", "1 2", "0008", "99999999999999999999",
	    "4294967297"};
	struct agent_config cfg;
	char line[64], msg[256], want[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		config_init(&cfg);
		snprintf(line, sizeof(line), "pool-size = %s", good[i]);
		assert_int_equal(load(&cfg, line, msg, sizeof(msg)), 0);
		assert_int_equal(cfg.pool_size, good_n[i]);
		config_clear(&cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "\n\npool-size = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "t.conf:3: pool-size: expected a number from 1 to 256");
		expect_error(line, want);
	}
}

static void test_string_values(void **state)
{
	char longsock[200];

	expect_error("pin-source = 1234\n",
		     "t.conf:1: pin-source: expected file:PATH or env:VARIABLE");
	expect_error("pin-source = file:\n",
		     "t.conf:1: pin-source: expected file:PATH or env:VARIABLE");
	expect_error("pin-source = env:\n",
		     "t.conf:1: pin-source: expected file:PATH or env:VARIABLE");
	/* The reason in parentheses is p11-kit's own wording. */
	expect_error_prefix("token = demo\n", "t.conf:1: token: not a PKCS#11 URI (");
	expect_error_prefix("\ntoken = pkcs11:token=%zz\n", "t.conf:2: token: not a PKCS#11 URI (");
	expect_error("token = pkcs11:token=My Token\n",
		     "t.conf:1: token: blank or control character inside the URI; percent-encode "
		     "it (a space is %20)");
	expect_error("token = \"pkcs11:token=demo\t\"\n",
		     "t.conf:1: token: blank or control character inside the URI; percent-encode "
		     "it (a space is %20)");
	memset(longsock, 'a', sizeof(longsock));
	memcpy(longsock, "socket = /", 10);
	longsock[sizeof(longsock) - 1] = '\0';
	expect_error(longsock, "t.conf:1: socket: path longer than 107 bytes");
	expect_error("module =\n", "t.conf:1: module: empty value");
	expect_error("module = \"\"\n", "t.conf:1: module: empty value");
	expect_error("token = # nothing\n", "t.conf:1: token: empty value");
}

static void test_env_pin_source(void **state)
{
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(load(&cfg, "pin-source = env:P11AGENT_PIN", msg, sizeof(msg)), 0);
	assert_string_equal(cfg.pin_source, "env:P11AGENT_PIN");
	config_clear(&cfg);
}

static void test_syntax_errors(void **state)
{
	expect_error("module = /m.so\nfrobnicate = 1\n",
		     "t.conf:2: unknown key 'frobnicate' (expected module, token, pin-source, "
		     "socket, foreground, log-level or pool-size)");
	expect_error("# c\n\nmodule /m.so\n", "t.conf:3: missing '=' (expected key = value)");
	expect_error("  = /m.so\n", "t.conf:1: missing key before '='");
	expect_error("[key signer]\nmodule = /m.so\n",
		     "t.conf:1: sections are not supported yet (only key = value lines)");
	expect_error("module = /m.so\n  [global]  \n",
		     "t.conf:2: sections are not supported yet (only key = value lines)");
	expect_error("module = \"/m.so\n", "t.conf:1: missing closing double quote");
	expect_error("module = \"/m.so\" x\n",
		     "t.conf:1: unexpected text after the closing double quote");
	/* Keys are exact: no case folding, no underscores. */
	expect_error("Module = /m.so\n",
		     "t.conf:1: unknown key 'Module' (expected module, token, pin-source, "
		     "socket, foreground, log-level or pool-size)");
	expect_error("pin_source = env:X\n",
		     "t.conf:1: unknown key 'pin_source' (expected module, token, pin-source, "
		     "socket, foreground, log-level or pool-size)");
}

static void test_overlong_line(void **state)
{
	struct agent_config cfg;
	size_t n = CONF_MAX_LINE + 32;
	char *text = malloc(n), msg[256];
	const char *prefix = "\nmodule = /";

	assert_non_null(text);
	/* Exactly CONF_MAX_LINE bytes on line 2: accepted. */
	memset(text, 'x', n);
	memcpy(text, prefix, strlen(prefix));
	text[1 + CONF_MAX_LINE] = '\n';
	config_init(&cfg);
	assert_int_equal(
	    config_load_string(&cfg, "t.conf", text, 2 + CONF_MAX_LINE, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(cfg.module), CONF_MAX_LINE - strlen("module = "));
	config_clear(&cfg);
	/* One more byte: refused, even on the last line without a newline. */
	config_init(&cfg);
	text[1 + CONF_MAX_LINE] = 'x';
	assert_int_equal(
	    config_load_string(&cfg, "t.conf", text, 2 + CONF_MAX_LINE, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "t.conf:2: line too long (more than 4096 bytes)");
	text[2 + CONF_MAX_LINE] = '\n';
	assert_int_equal(config_load_string(&cfg, "t.conf", text, n, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "t.conf:2: line too long (more than 4096 bytes)");
	config_clear(&cfg);
	free(text);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "module = /m.so\n# ok\nsocket = /s\0ck\n";
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(
	    config_load_string(&cfg, "t.conf", text, sizeof(text) - 1, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "t.conf:3: NUL byte in the line");
	/* Even inside a comment. */
	assert_int_equal(config_load_string(&cfg, "t.conf", "# a\0b\n", 6, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "t.conf:1: NUL byte in the line");
	config_clear(&cfg);
}

static void test_comments(void **state)
{
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "# a comment\n"
			      "   # an indented comment = with an equal sign\n"
			      "\t#\n"
			      "module = /lib/a#b.so   # inline comment\n"
			      "socket = \"/tmp/x #1/agent.sock\" # after quotes\n"
			      "log-level = info#not-a-comment-but-bad\n",
			      msg, sizeof(msg)),
			 -1);
	assert_string_equal(msg, "t.conf:6: log-level: expected error, warn, info or debug");
	assert_null(cfg.module); /* failure leaves cfg alone */
	assert_int_equal(load(&cfg,
			      "# a comment\n"
			      "   # an indented comment = with an equal sign\n"
			      "\t#\n"
			      "module = /lib/a#b.so   # inline comment\n"
			      "socket = \"/tmp/x #1/agent.sock\" # after quotes\n"
			      "foreground = no\t#\ttab\n",
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "/lib/a#b.so");
	assert_string_equal(cfg.socket, "/tmp/x #1/agent.sock");
	config_clear(&cfg);
}

static void test_quoting_and_whitespace(void **state)
{
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "\t module\t=\t\"  /spaced path/m.so  \"  \r\n"
			      "socket=/s\r\n"
			      "   \r\n"
			      "token = \"pkcs11:token=a\"b\"\"\n",
			      msg, sizeof(msg)),
			 -1);
	assert_string_equal(msg, "t.conf:4: unexpected text after the closing double quote");
	assert_int_equal(load(&cfg,
			      "\t module\t=\t\"  /spaced path/m.so  \"  \r\n"
			      "socket=/s\r\n"
			      "   \r\n"
			      "pin-source = file:/p \"q\"\n" /* an inner quote is kept */
			      "log-level =warn",	     /* no final newline */
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "  /spaced path/m.so  ");
	assert_string_equal(cfg.socket, "/s");
	assert_string_equal(cfg.pin_source, "file:/p \"q\"");
	assert_string_equal(cfg.log_level, "warn");
	config_clear(&cfg);
}

static void test_last_wins_and_keeps_previous(void **state)
{
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "module", "/cli.so", msg, sizeof(msg)), 0);
	assert_int_equal(config_set(&cfg, "foreground", "1", msg, sizeof(msg)), 0);
	assert_int_equal(load(&cfg,
			      "pool-size = 4\nsocket = /a\nsocket = /b\npool-size = 5\n"
			      "log-level = error\nlog-level = info\n",
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "/cli.so"); /* untouched keys stay */
	assert_int_equal(cfg.foreground, 1);
	assert_string_equal(cfg.socket, "/b");
	assert_int_equal(cfg.pool_size, 5);
	assert_string_equal(cfg.log_level, "info");
	/* A failing load changes nothing, not even the lines before the error. */
	assert_int_equal(
	    load(&cfg, "socket = /c\nmodule = /d.so\npool-size = 0\n", msg, sizeof(msg)), -1);
	assert_string_equal(cfg.socket, "/b");
	assert_string_equal(cfg.module, "/cli.so");
	assert_int_equal(cfg.pool_size, 5);
	/* Empty text is fine and changes nothing. */
	assert_int_equal(config_load_string(&cfg, "t.conf", "", 0, msg, sizeof(msg)), 0);
	assert_int_equal(config_load_string(&cfg, "t.conf", NULL, 0, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.socket, "/b");
	config_clear(&cfg);
}

static void test_config_set(void **state)
{
	struct agent_config cfg;
	char msg[256], key[200];

	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "colour", "blue", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "unknown key 'colour' (expected module, token, pin-source, "
				 "socket, foreground, log-level or pool-size)");
	assert_int_equal(config_set(&cfg, "foreground", "maybe", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "foreground: expected yes or no (or true, false, 1, 0)");
	assert_int_equal(config_set(&cfg, "pool-size", "300", msg, sizeof(msg)), -1);
	assert_int_equal(cfg.pool_size, 8);
	/* A long or odd key is quoted bounded and printable. */
	memset(key, 'k', sizeof(key));
	key[0] = '\x1b';
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(config_set(&cfg, key, "v", msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "unknown key '?kkk"));
	assert_non_null(strstr(msg, "kkk...'"));
	assert_true(strlen(msg) < 200);
	assert_null(strchr(msg, '\x1b'));
	/* A tiny or absent message buffer is fine. */
	assert_int_equal(config_set(&cfg, "colour", "blue", msg, 4), -1);
	assert_string_equal(msg, "unk");
	assert_int_equal(config_set(&cfg, "colour", "blue", NULL, 0), -1);
	assert_int_equal(config_set(&cfg, "module", NULL, msg, sizeof(msg)), -1);
	config_clear(&cfg);
}

/* Values that may be secret never show up in a message. */
static void test_no_secret_in_messages(void **state)
{
	struct agent_config cfg;
	char msg[512];

	config_init(&cfg);
	/* A token URI with a pin-value and a bad escape. */
	assert_int_equal(
	    load(&cfg, "token = pkcs11:token=x?pin-value=S3CRET%zz\n", msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "t.conf:1: token: not a PKCS#11 URI"));
	assert_null(strstr(msg, "S3CRET"));
	/* A bare PIN on a line of its own. */
	assert_int_equal(load(&cfg, "\n987654\n", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "t.conf:2: missing '=' (expected key = value)");
	/* A PIN given as a value of an unknown key. */
	assert_int_equal(load(&cfg, "pin = 987654\n", msg, sizeof(msg)), -1);
	assert_null(strstr(msg, "987654"));
	config_clear(&cfg);
}

/* Each test runs in its own temporary directory. */
static int setup_tmpdir(void **state)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/test-conf.XXXXXX", base) < 0)
		return -1;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int teardown_tmpdir(void **state)
{
	char *dir = *state, *path;

	if (asprintf(&path, "%s/p11agent.conf", dir) >= 0) {
		unlink(path);
		free(path);
	}
	rmdir(dir);
	free(dir);
	return 0;
}

static void test_load_file(void **state)
{
	const char *dir = *state;
	struct agent_config cfg;
	char path[512], msg[1024], want[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/p11agent.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# p11agentd settings\nmodule = /usr/lib/softhsm/libsofthsm2.so\n"
	      "token = pkcs11:token=demo\npin-source = env:PIN\nforeground = true\n",
	      f);
	assert_int_equal(fclose(f), 0);

	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(cfg.token, "pkcs11:token=demo");
	assert_string_equal(cfg.pin_source, "env:PIN");
	assert_int_equal(cfg.foreground, 1);

	/* An error names the file's own path and the line. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\nlog-level = loud\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s:7: log-level: expected error, warn, info or debug", path);
	assert_string_equal(msg, want);

	/* A directory. */
	assert_int_equal(config_load_file(&cfg, dir, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: %s", dir, strerror(EISDIR));
	assert_string_equal(msg, want);
	config_clear(&cfg);
}

static void test_load_missing_file(void **state)
{
	const char *dir = *state;
	struct agent_config cfg;
	char path[512], msg[1024], want[1024];

	snprintf(path, sizeof(path), "%s/no-such.conf", dir);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	assert_string_equal(msg, want);
	config_clear(&cfg);
}

static void test_load_large_file(void **state)
{
	const char *dir = *state;
	struct agent_config cfg;
	char path[512], msg[1024], want[1024];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/p11agent.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	/* Comment lines of 64 bytes, just past the size limit. */
	for (i = 0; i <= CONF_MAX_FILE / 64; i++)
		fputs("#23456789012345678901234567890123456789012345678901234567890123\n", f);
	assert_int_equal(fclose(f), 0);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s: file too large (more than 1048576 bytes)", path);
	assert_string_equal(msg, want);
	/* Exactly at the limit: fine. */
	assert_int_equal(truncate(path, CONF_MAX_FILE), 0);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), 0);
	config_clear(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_foreground_values),
	    cmocka_unit_test(test_log_levels),
	    cmocka_unit_test(test_pool_size),
	    cmocka_unit_test(test_string_values),
	    cmocka_unit_test(test_env_pin_source),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_overlong_line),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_comments),
	    cmocka_unit_test(test_quoting_and_whitespace),
	    cmocka_unit_test(test_last_wins_and_keeps_previous),
	    cmocka_unit_test(test_config_set),
	    cmocka_unit_test(test_no_secret_in_messages),
	    cmocka_unit_test_setup_teardown(test_load_file, setup_tmpdir, teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_load_missing_file, setup_tmpdir, teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_load_large_file, setup_tmpdir, teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
