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
#include "p11agent.h"

/* The keys "unknown key" messages list, in table order. */
#define GLOBAL_KEYS                                                                                \
	"module, token, pin-source, socket, ssh-socket, foreground, log-level, pool-size, "        \
	"socket-group, "                                                                           \
	"allow-root, admin-users, admin-groups, audit-file, audit-syslog, audit-key, "             \
	"audit-sign-key, "                                                                         \
	"audit-checkpoint-interval, max-connections, max-frame, "                                  \
	"idle-timeout, frame-timeout, shutdown-timeout, busy-poll, workers, "                      \
	"max-connections-per-uid, "                                                                \
	"max-request-memory, max-request-memory-per-uid or max-denied-per-uid"
#define SECTION_KEYS                                                                               \
	"uri, allow-rsa-pkcs1-decrypt, allow-users, allow-groups, allow-ops, allow-algs, ssh, "    \
	"ssh-logins, ssh-namespaces, min-version or allow-destroy"

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
	assert_null(cfg.keys);
	assert_int_equal(cfg.n_keys, 0);
	assert_null(cfg.socket_group);
	assert_int_equal(cfg.allow_root, 1);
	assert_null(cfg.audit_file);
	assert_int_equal(cfg.audit_syslog, 0);
	assert_null(cfg.audit_key);
	assert_int_equal(cfg.max_connections, 10000);
	assert_int_equal(cfg.workers, 0);
	assert_int_equal(cfg.max_frame, 1048576);
	assert_int_equal(cfg.idle_timeout, 0);
	assert_int_equal(cfg.frame_timeout, 30);
	assert_int_equal(cfg.drain_timeout, 5);
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

	expect_error(
	    "pin-source = 1234\n",
	    "t.conf:1: pin-source: expected file:PATH, env:VARIABLE, credential:NAME or fd:N");
	expect_error(
	    "pin-source = file:\n",
	    "t.conf:1: pin-source: expected file:PATH, env:VARIABLE, credential:NAME or fd:N");
	expect_error(
	    "pin-source = env:\n",
	    "t.conf:1: pin-source: expected file:PATH, env:VARIABLE, credential:NAME or fd:N");
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
		     "t.conf:2: unknown key 'frobnicate' (expected " GLOBAL_KEYS ")");
	expect_error("# c\n\nmodule /m.so\n", "t.conf:3: missing '=' (expected key = value)");
	expect_error("  = /m.so\n", "t.conf:1: missing key before '='");
	expect_error("module = \"/m.so\n", "t.conf:1: missing closing double quote");
	expect_error("module = \"/m.so\" x\n",
		     "t.conf:1: unexpected text after the closing double quote");
	/* Keys are exact: no case folding, no underscores. */
	expect_error("Module = /m.so\n",
		     "t.conf:1: unknown key 'Module' (expected " GLOBAL_KEYS ")");
	expect_error("pin_source = env:X\n",
		     "t.conf:1: unknown key 'pin_source' (expected " GLOBAL_KEYS ")");
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
	char msg[512], key[200];

	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "colour", "blue", msg, sizeof(msg)), -1);
	assert_string_equal(msg, "unknown key 'colour' (expected " GLOBAL_KEYS ")");
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
	/* At most 64 characters of the key, and "...". */
	assert_true(strlen(msg) <=
		    sizeof("unknown key '' (expected " GLOBAL_KEYS ")") - 1 + 64 + 3);
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

/* Checks one parsed section. */
static void assert_key(const struct conf_key *k, const char *name, const char *uri, int allow,
		       const char *where)
{
	assert_string_equal(k->name, name);
	assert_string_equal(k->uri, uri);
	assert_int_equal(k->allow_rsa_pkcs1_decrypt, allow);
	assert_string_equal(k->where, where);
}

static void test_sections(void **state)
{
	struct agent_config cfg;
	char msg[512] = "";

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "# globals first\n"
			      "module = /m.so\n"
			      "pool-size = 4\n"
			      "\n"
			      "[key server-rsa]\n"
			      "uri = pkcs11:token=demo;object=server-rsa;type=private\n"
			      "allow-rsa-pkcs1-decrypt = yes   # legacy clients\n"
			      "\n"
			      "  [ key\tbuild_signer.v2 ]  # odd spacing is fine\n"
			      "\tallow-rsa-pkcs1-decrypt=FALSE\n"
			      "uri = \"pkcs11:object=build%20signer;id=%01%02\"\n"
			      "[key K-0]\n"
			      "# a comment inside a section\n"
			      "uri=PKCS11:object=k0\n",
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "/m.so");
	assert_int_equal(cfg.pool_size, 4);
	assert_int_equal(cfg.n_keys, 3);
	assert_key(&cfg.keys[0], "server-rsa", "pkcs11:token=demo;object=server-rsa;type=private",
		   1, "t.conf:5");
	assert_key(&cfg.keys[1], "build_signer.v2", "pkcs11:object=build%20signer;id=%01%02", 0,
		   "t.conf:9");
	assert_key(&cfg.keys[2], "K-0", "PKCS11:object=k0", 0, "t.conf:12");
	config_clear(&cfg);
	assert_null(cfg.keys);
	assert_int_equal(cfg.n_keys, 0);
}

static void test_section_bool_values(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0},
	    {"1", 1},	{"0", 0},  {"Yes", 1},	{"NO", 0},
	};
	struct agent_config cfg;
	char text[128], msg[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		snprintf(text, sizeof(text),
			 "[key k]\nallow-rsa-pkcs1-decrypt = %s\nuri = pkcs11:object=k\n",
			 cases[i].text);
		assert_int_equal(load(&cfg, text, msg, sizeof(msg)), 0);
		assert_int_equal(cfg.n_keys, 1);
		assert_int_equal(cfg.keys[0].allow_rsa_pkcs1_decrypt, cases[i].want);
		config_clear(&cfg);
	}
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-rsa-pkcs1-decrypt = maybe\n",
		     "t.conf:3: allow-rsa-pkcs1-decrypt: expected yes or no (or true, false, 1, "
		     "0)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-rsa-pkcs1-decrypt =\n",
		     "t.conf:3: allow-rsa-pkcs1-decrypt: empty value");
}

static void test_section_headers(void **state)
{
	static const char name64[] =
	    "a123456789b123456789c123456789d123456789e123456789f123456789g123";
	struct agent_config cfg;
	char text[256], msg[512];

	expect_error("[foo]\n", "t.conf:1: unknown section '[foo]' (expected [key NAME])");
	expect_error("module = /m.so\n  [global]  \n",
		     "t.conf:2: unknown section '[global]' (expected [key NAME])");
	expect_error("[]\n", "t.conf:1: unknown section '[]' (expected [key NAME])");
	expect_error("[Key a]\n", "t.conf:1: unknown section '[Key a]' (expected [key NAME])");
	expect_error("[keys a]\n", "t.conf:1: unknown section '[keys a]' (expected [key NAME])");
	expect_error("[key]\n", "t.conf:1: [key] without a name (expected [key NAME])");
	expect_error("[  key  ]\n", "t.conf:1: [key] without a name (expected [key NAME])");
	expect_error("[key a b]\n", "t.conf:1: bad key name 'a b': expected 1 to 64 of A-Z, a-z, "
				    "0-9, '.', '_', '-'");
	expect_error("[key a/b]\n", "t.conf:1: bad key name 'a/b': expected 1 to 64 of A-Z, a-z, "
				    "0-9, '.', '_', '-'");
	expect_error("[key pkcs11:object=a]\n",
		     "t.conf:1: bad key name 'pkcs11:object=a': expected 1 to 64 of A-Z, a-z, "
		     "0-9, '.', '_', '-'");
	expect_error("[key caf\xc3\xa9]\n", "t.conf:1: bad key name 'caf?\?': expected 1 to 64 of "
					    "A-Z, a-z, 0-9, '.', '_', '-'");
	expect_error("[key a#b]\n", "t.conf:1: bad key name 'a#b': expected 1 to 64 of A-Z, a-z, "
				    "0-9, '.', '_', '-'");
	expect_error("[key a\n", "t.conf:1: missing ']' (expected [key NAME])");
	expect_error("[key a # ]\n", "t.conf:1: missing ']' (expected [key NAME])");
	expect_error("[key a] b\n", "t.conf:1: unexpected text after ']'");
	expect_error("[key a]]\n", "t.conf:1: unexpected text after ']'");
	expect_error("[key a]# no blank before the comment\n",
		     "t.conf:1: unexpected text after ']'");
	/* 64 characters: fine; 65: too long (and quoted bounded). */
	config_init(&cfg);
	snprintf(text, sizeof(text), "[key %s]\nuri = pkcs11:object=x\n", name64);
	assert_int_equal(load(&cfg, text, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.keys[0].name, name64);
	snprintf(text, sizeof(text), "[key %sh]\nuri = pkcs11:object=x\n", name64);
	assert_int_equal(load(&cfg, text, msg, sizeof(msg)), -1);
	snprintf(text, sizeof(text),
		 "t.conf:1: bad key name '%s...': expected 1 to 64 of A-Z, a-z, 0-9, '.', '_', "
		 "'-'",
		 name64);
	assert_string_equal(msg, text);
	assert_int_equal(cfg.n_keys, 1); /* the failed load kept the list */
	config_clear(&cfg);
	/* Single-character and punctuation-only names are names. */
	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "[key x]\nuri = pkcs11:object=x\n[key ._-]\nuri = pkcs11:object=y\n",
			      msg, sizeof(msg)),
			 0);
	assert_int_equal(cfg.n_keys, 2);
	assert_string_equal(cfg.keys[1].name, "._-");
	config_clear(&cfg);
}

static void test_section_keys(void **state)
{
	/* An unknown key in a section; the list of keys comes from the table. */
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-uid = 1000\n",
		     "t.conf:3: unknown key 'allow-uid' in [key a] (expected " SECTION_KEYS ")");
	/* Every global key is refused inside a section. */
	expect_error("[key a]\nsocket = /s\nuri = pkcs11:object=a\n",
		     "t.conf:2: 'socket' belongs before the first [key] section");
	expect_error("[key a]\nuri = pkcs11:object=a\n[key b]\nuri = pkcs11:object=b\n"
		     "module = /m.so\n",
		     "t.conf:5: 'module' belongs before the first [key] section");
	expect_error("[key a]\nuri=pkcs11:object=a\ntoken = pkcs11:token=x\n",
		     "t.conf:3: 'token' belongs before the first [key] section");
	expect_error("[key a]\nuri=pkcs11:object=a\npin-source = env:X\n",
		     "t.conf:3: 'pin-source' belongs before the first [key] section");
	expect_error("[key a]\nuri=pkcs11:object=a\nforeground = yes\n",
		     "t.conf:3: 'foreground' belongs before the first [key] section");
	expect_error("[key a]\nuri=pkcs11:object=a\nlog-level = info\n",
		     "t.conf:3: 'log-level' belongs before the first [key] section");
	expect_error("[key a]\nuri=pkcs11:object=a\npool-size = 2\n",
		     "t.conf:3: 'pool-size' belongs before the first [key] section");
	/* Section keys outside a section. */
	expect_error("module = /m.so\nuri = pkcs11:object=a\n",
		     "t.conf:2: 'uri' belongs in a [key NAME] section");
	expect_error("allow-rsa-pkcs1-decrypt = yes\n[key a]\nuri = pkcs11:object=a\n",
		     "t.conf:1: 'allow-rsa-pkcs1-decrypt' belongs in a [key NAME] section");
	/* Each section key at most once per section. */
	expect_error("[key a]\nuri = pkcs11:object=a\n# again\nuri = pkcs11:object=b\n",
		     "t.conf:4: 'uri' set twice in [key a] (first on line 2)");
	expect_error("[key a]\nallow-rsa-pkcs1-decrypt = no\nuri = pkcs11:object=a\n"
		     "allow-rsa-pkcs1-decrypt = yes\n",
		     "t.conf:4: 'allow-rsa-pkcs1-decrypt' set twice in [key a] (first on line 2)");
	/* ...but the same key in two sections is fine (tested in test_sections). */
}

static void test_section_uri(void **state)
{
	static const char list_uri[] = "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;"
				       "serial=1234abcd;token=demo;id=%01%02%ab;object=signer;"
				       "type=private";
	struct agent_config cfg;
	char text[512], msg[512];

	/* A URI as `p11agent list` prints it, with every attribute a key's URI takes. */
	config_init(&cfg);
	snprintf(text, sizeof(text), "[key a]\nuri = %s\n", list_uri);
	assert_int_equal(load(&cfg, text, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.keys[0].uri, list_uri);
	config_clear(&cfg);
	/* A section without uri names the keys labelled NAME (and NAME@N). */
	config_init(&cfg);
	assert_int_equal(
	    load(&cfg, "[key a]\nmin-version = 3\nallow-destroy = yes\n", msg, sizeof(msg)), 0);
	assert_null(cfg.keys[0].uri);
	assert_int_equal(cfg.keys[0].min_version, 3);
	assert_int_equal(cfg.keys[0].allow_destroy, 1);
	config_clear(&cfg);
	config_init(&cfg);
	assert_int_equal(load(&cfg, "[key a]\n", msg, sizeof(msg)), 0);
	assert_int_equal(cfg.keys[0].min_version, 1);
	assert_int_equal(cfg.keys[0].allow_destroy, 0);
	config_clear(&cfg);
	expect_error("[key a]\nmin-version = 0\n",
		     "t.conf:2: min-version: expected a version number, 1 to 999999999");
	expect_error("[key a]\nmin-version = 2x\n",
		     "t.conf:2: min-version: expected a version number, 1 to 999999999");
	expect_error("[key a]\nmin-version = 1000000000\n",
		     "t.conf:2: min-version: expected a version number, 1 to 999999999");
	expect_error("admin-users = a,,b\n",
		     "t.conf:1: admin-users: empty item in the list (expected A, B, ...)");
	/* Bad URIs. */
	expect_error("[key a]\nuri =\n", "t.conf:2: uri: empty value");
	expect_error("[key a]\nuri = \"\"\n", "t.conf:2: uri: empty value");
	expect_error_prefix("[key a]\nuri = signer\n", "t.conf:2: uri: not a PKCS#11 URI (");
	expect_error_prefix("[key a]\nuri = pkcs11:object=%zz\n",
			    "t.conf:2: uri: not a PKCS#11 URI (");
	expect_error("[key a]\nuri = pkcs11:object=My Key\n",
		     "t.conf:2: uri: blank or control character inside the URI; percent-encode it "
		     "(a space is %20)");
	expect_error("[key a]\nuri = \"pkcs11:object=k\x7f\"\n",
		     "t.conf:2: uri: blank or control character inside the URI; percent-encode it "
		     "(a space is %20)");
	/* A misspelt attribute, or one that is not about a key. */
	expect_error("[key a]\nuri = pkcs11:objet=a\n",
		     "t.conf:2: uri: unknown or misplaced attribute in the URI (a key's URI "
		     "takes token, manufacturer, serial, model, object, id and type)");
	expect_error("[key a]\nuri = pkcs11:object=a;type=public-ish\n",
		     "t.conf:2: uri: unknown or misplaced attribute in the URI (a key's URI "
		     "takes token, manufacturer, serial, model, object, id and type)");
	expect_error("[key a]\nuri = pkcs11:library-description=x;object=a\n",
		     "t.conf:2: uri: unknown or misplaced attribute in the URI (a key's URI "
		     "takes token, manufacturer, serial, model, object, id and type)");
	expect_error("[key a]\nuri = pkcs11:slot-id=1;object=a\n",
		     "t.conf:2: uri: unknown or misplaced attribute in the URI (a key's URI "
		     "takes token, manufacturer, serial, model, object, id and type)");
}

static void test_section_names_unique(void **state)
{
	struct agent_config cfg;
	char msg[512];

	expect_error("[key a]\nuri = pkcs11:object=a\n\n[key b]\nuri = pkcs11:object=b\n"
		     "[key a]\nuri = pkcs11:object=c\n",
		     "t.conf:6: [key a] already defined at t.conf:1");
	/* Even when the first one is still open (and would lack a uri: that comes first). */
	expect_error("[key a]\nuri = pkcs11:object=a\n[ key a ]\n",
		     "t.conf:3: [key a] already defined at t.conf:1");
	/* Case matters: these are two names. */
	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "[key signer]\nuri = pkcs11:object=a\n[key Signer]\n"
			      "uri = pkcs11:object=b\n",
			      msg, sizeof(msg)),
			 0);
	assert_int_equal(cfg.n_keys, 2);
	config_clear(&cfg);
}

/* CONF_MAX_KEYS sections load; one more is refused on its header's line. */
static void test_section_limit(void **state)
{
	struct agent_config cfg;
	size_t cap = (CONF_MAX_KEYS + 1) * 48, len = 0, i;
	char *text = malloc(cap), msg[512], want[128];

	assert_non_null(text);
	for (i = 0; i < CONF_MAX_KEYS; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"[key k%zu]\nuri = pkcs11:id=%%%02zx\n", i, i & 0xff);
	config_init(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf", text, len, msg, sizeof(msg)), 0);
	assert_int_equal(cfg.n_keys, CONF_MAX_KEYS);
	for (i = 0; i < CONF_MAX_KEYS; i++) {
		snprintf(want, sizeof(want), "k%zu", i);
		assert_string_equal(cfg.keys[i].name, want);
		snprintf(want, sizeof(want), "t.conf:%zu", 2 * i + 1);
		assert_string_equal(cfg.keys[i].where, want);
	}
	len += (size_t)snprintf(text + len, cap - len, "[key one-too-many]\nuri = pkcs11:\n");
	assert_int_equal(config_load_string(&cfg, "t.conf", text, len, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "t.conf:%u: too many [key] sections (at most %u)",
		 2 * CONF_MAX_KEYS + 1, CONF_MAX_KEYS);
	assert_string_equal(msg, want);
	assert_int_equal(cfg.n_keys, CONF_MAX_KEYS); /* unchanged */
	config_clear(&cfg);
	free(text);
}

/*
 * Global keys merge across loads, the key list does not: each successful
 * load replaces it with the file's sections (none if the file has none).
 */
static void test_sections_load_twice(void **state)
{
	struct agent_config cfg;
	char msg[512];

	config_init(&cfg);
	assert_int_equal(config_set(&cfg, "socket", "/cli.sock", msg, sizeof(msg)), 0);
	assert_int_equal(load(&cfg,
			      "module = /a.so\n[key a]\nuri = pkcs11:object=a\n"
			      "allow-rsa-pkcs1-decrypt = yes\n[key b]\nuri = pkcs11:object=b\n",
			      msg, sizeof(msg)),
			 0);
	assert_int_equal(cfg.n_keys, 2);
	/* A second file: its sections replace the first file's; "a" may come back. */
	assert_int_equal(config_load_string(&cfg, "u.conf",
					    "pool-size = 2\n[key c]\nuri = pkcs11:object=c\n"
					    "[key a]\nuri = pkcs11:object=a2\n",
					    strlen("pool-size = 2\n[key c]\nuri = pkcs11:object=c\n"
						   "[key a]\nuri = pkcs11:object=a2\n"),
					    msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.module, "/a.so"); /* global keys merge */
	assert_string_equal(cfg.socket, "/cli.sock");
	assert_int_equal(cfg.pool_size, 2);
	assert_int_equal(cfg.n_keys, 2);
	assert_key(&cfg.keys[0], "c", "pkcs11:object=c", 0, "u.conf:2");
	assert_key(&cfg.keys[1], "a", "pkcs11:object=a2", 0, "u.conf:4");
	/* A failed load keeps the list as it was. */
	assert_int_equal(load(&cfg, "[key d]\nuri = pkcs11:object=d\n[key e]\nmin-version = 0\n",
			      msg, sizeof(msg)),
			 -1);
	assert_string_equal(msg,
			    "t.conf:4: min-version: expected a version number, 1 to 999999999");
	assert_int_equal(cfg.n_keys, 2);
	assert_string_equal(cfg.keys[0].name, "c");
	/* A file without sections empties the list. */
	assert_int_equal(load(&cfg, "log-level = warn\n", msg, sizeof(msg)), 0);
	assert_null(cfg.keys);
	assert_int_equal(cfg.n_keys, 0);
	assert_string_equal(cfg.module, "/a.so");
	config_clear(&cfg);
}

/* A pin-value in a key's URI never shows up in a message. */
static void test_section_no_secret_in_messages(void **state)
{
	struct agent_config cfg;
	char msg[512];

	config_init(&cfg);
	assert_int_equal(
	    load(&cfg, "[key a]\nuri = pkcs11:object=a?pin-value=S3CRET%zz\n", msg, sizeof(msg)),
	    -1);
	assert_non_null(strstr(msg, "t.conf:2: uri: not a PKCS#11 URI"));
	assert_null(strstr(msg, "S3CRET"));
	assert_int_equal(
	    load(&cfg, "[key a]\nuri = pkcs11:objekt=S3CRET?pin-value=S3CRET\n", msg, sizeof(msg)),
	    -1);
	assert_null(strstr(msg, "S3CRET"));
	assert_int_equal(load(&cfg, "[key a]\nuri=pkcs11:object=a\nS3CRET = 1\n", msg, sizeof(msg)),
			 -1);
	/* Keys are quoted, values never. */
	assert_string_equal(msg, "t.conf:3: unknown key 'S3CRET' in [key a] (expected " SECTION_KEYS
				 ")");
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

/* The access, audit and limit keys of issue 4. */
static void test_access_audit_limit_keys(void **state)
{
	struct agent_config cfg;
	char msg[256] = "";

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "socket-group = p11agent-users\n"
			      "allow-root = no\n"
			      "audit-file = /var/log/p11agent/audit.jsonl\n"
			      "audit-syslog = yes\n"
			      "audit-key = pkcs11:object=audit-mac;type=secret-key\n"
			      "max-connections = 64\n"
			      "max-frame = 65536\n"
			      "idle-timeout = 600\n"
			      "frame-timeout = 10\n"
			      "shutdown-timeout = 20\n",
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.socket_group, "p11agent-users");
	assert_int_equal(cfg.allow_root, 0);
	assert_string_equal(cfg.audit_file, "/var/log/p11agent/audit.jsonl");
	assert_int_equal(cfg.audit_syslog, 1);
	assert_string_equal(cfg.audit_key, "pkcs11:object=audit-mac;type=secret-key");
	assert_int_equal(cfg.max_connections, 64);
	assert_int_equal(cfg.max_frame, 65536);
	assert_int_equal(cfg.idle_timeout, 600);
	assert_int_equal(cfg.frame_timeout, 10);
	assert_int_equal(cfg.drain_timeout, 20);
	/* A second load keeps them (global keys merge); a failed one changes nothing. */
	assert_int_equal(load(&cfg, "socket-group = 1234\naudit-key = hmac\n", msg, sizeof(msg)),
			 0);
	assert_string_equal(cfg.socket_group, "1234");
	assert_string_equal(cfg.audit_key, "hmac");
	assert_string_equal(cfg.audit_file, "/var/log/p11agent/audit.jsonl");
	assert_int_equal(cfg.allow_root, 0);
	assert_int_equal(cfg.max_frame, 65536);
	assert_int_equal(cfg.drain_timeout, 20);
	assert_int_equal(load(&cfg, "audit-file = /b\nmax-frame = 8192\nmax-connections = 0\n", msg,
			      sizeof(msg)),
			 -1);
	assert_string_equal(msg, "t.conf:3: max-connections: expected a number from 1 to 65536");
	assert_string_equal(cfg.audit_file, "/var/log/p11agent/audit.jsonl");
	assert_int_equal(cfg.max_frame, 65536);
	/* config_set takes them too; clear frees them and restores the defaults. */
	assert_int_equal(config_set(&cfg, "allow-root", "true", msg, sizeof(msg)), 0);
	assert_int_equal(cfg.allow_root, 1);
	config_clear(&cfg);
	assert_null(cfg.socket_group);
	assert_null(cfg.audit_file);
	assert_null(cfg.audit_key);
	assert_int_equal(cfg.allow_root, 1);
	assert_int_equal(cfg.max_frame, 1048576);
	assert_int_equal(cfg.frame_timeout, 30);
	assert_int_equal(cfg.busy_poll, 50);
	assert_int_equal(cfg.max_conns_per_uid, 64);
	assert_int_equal(cfg.max_request_memory, 64);
	assert_int_equal(cfg.max_request_mem_uid, 16);
	assert_int_equal(cfg.max_denied_per_uid, 20);
}

/* Each number's bounds: the ends are in, one past them is out. */
static void test_limit_ranges(void **state)
{
	static const struct {
		const char *key;
		unsigned min, max;
		size_t offset;
	} keys[] = {
	    {"max-connections", 1, 65536, offsetof(struct agent_config, max_connections)},
	    {"max-frame", 4096, 1048576, offsetof(struct agent_config, max_frame)},
	    {"idle-timeout", 0, 86400, offsetof(struct agent_config, idle_timeout)},
	    {"frame-timeout", 1, 3600, offsetof(struct agent_config, frame_timeout)},
	    {"shutdown-timeout", 0, 300, offsetof(struct agent_config, drain_timeout)},
	    {"busy-poll", 0, 1000, offsetof(struct agent_config, busy_poll)},
	    {"workers", 0, 256, offsetof(struct agent_config, workers)},
	    {"max-connections-per-uid", 1, 65536, offsetof(struct agent_config, max_conns_per_uid)},
	    {"max-request-memory", 2, 65536, offsetof(struct agent_config, max_request_memory)},
	    {"max-request-memory-per-uid", 2, 65536,
	     offsetof(struct agent_config, max_request_mem_uid)},
	    {"max-denied-per-uid", 0, 1000000, offsetof(struct agent_config, max_denied_per_uid)},
	};
	static const char *const junk[] = {
	    "-1", "+5", "1x", "0x10", "1 2", "1.5", "99999999999999999999", "4294967297"};
	struct agent_config cfg;
	char line[128], msg[256], want[256];
	unsigned *field;
	size_t i, j;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		config_init(&cfg);
		field = (unsigned *)(void *)((char *)&cfg + keys[i].offset);
		snprintf(line, sizeof(line), "%s = %u\n", keys[i].key, keys[i].min);
		assert_int_equal(load(&cfg, line, msg, sizeof(msg)), 0);
		assert_int_equal(*field, keys[i].min);
		snprintf(line, sizeof(line), "%s = %u\n", keys[i].key, keys[i].max);
		assert_int_equal(load(&cfg, line, msg, sizeof(msg)), 0);
		assert_int_equal(*field, keys[i].max);
		config_clear(&cfg);
		snprintf(want, sizeof(want), "t.conf:1: %s: expected a number from %u to %u",
			 keys[i].key, keys[i].min, keys[i].max);
		snprintf(line, sizeof(line), "%s = %u\n", keys[i].key, keys[i].max + 1);
		expect_error(line, want);
		if (keys[i].min > 0) {
			snprintf(line, sizeof(line), "%s = %u\n", keys[i].key, keys[i].min - 1);
			expect_error(line, want);
		}
		for (j = 0; j < sizeof(junk) / sizeof(junk[0]); j++) {
			snprintf(line, sizeof(line), "%s = %s\n", keys[i].key, junk[j]);
			expect_error(line, want);
		}
		snprintf(line, sizeof(line), "%s =\n", keys[i].key);
		snprintf(want, sizeof(want), "t.conf:1: %s: empty value", keys[i].key);
		expect_error(line, want);
	}
}

static void test_access_audit_errors(void **state)
{
	struct agent_config cfg;
	char path[4097], msg[256];

	expect_error("allow-root = maybe\n",
		     "t.conf:1: allow-root: expected yes or no (or true, false, 1, 0)");
	expect_error("audit-syslog = 2\n",
		     "t.conf:1: audit-syslog: expected yes or no (or true, false, 1, 0)");
	expect_error("socket-group = \"my group\"\n",
		     "t.conf:1: socket-group: expected a group name or a numeric gid");
	expect_error("socket-group = a:b\n",
		     "t.conf:1: socket-group: expected a group name or a numeric gid");
	expect_error("socket-group = a,b\n",
		     "t.conf:1: socket-group: expected a group name or a numeric gid");
	expect_error("socket-group = "
		     "g123456789g123456789g123456789g123456789g123456789g123456789g1234\n",
		     "t.conf:1: socket-group: expected a group name or a numeric gid");
	expect_error("audit-file = audit.jsonl\n",
		     "t.conf:1: audit-file: expected an absolute path, shorter than 4096 bytes");
	expect_error("audit-file = ~/audit.jsonl\n",
		     "t.conf:1: audit-file: expected an absolute path, shorter than 4096 bytes");
	/* Too long for a line of the file, but not for a flag. */
	config_init(&cfg);
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(config_set(&cfg, "audit-file", path, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "audit-file: expected an absolute path, shorter than 4096 bytes");
	path[sizeof(path) - 2] = '\0';
	assert_int_equal(config_set(&cfg, "audit-file", path, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.audit_file, path);
	config_clear(&cfg);
	expect_error("audit-key =\n", "t.conf:1: audit-key: empty value");
	expect_error("socket-group = \"\"\n", "t.conf:1: socket-group: empty value");
	/* Global keys, not section keys. */
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-root = no\n",
		     "t.conf:3: 'allow-root' belongs before the first [key] section");
	expect_error("[key a]\nuri = pkcs11:object=a\naudit-key = a\n",
		     "t.conf:3: 'audit-key' belongs before the first [key] section");
	expect_error("[key a]\nuri = pkcs11:object=a\nmax-frame = 4096\n",
		     "t.conf:3: 'max-frame' belongs before the first [key] section");
}

/* Checks a list against the expected items. */
static void assert_list(char **got, size_t n, const char *const *want, size_t n_want)
{
	size_t i;

	assert_int_equal(n, n_want);
	for (i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

static void test_section_users_groups(void **state)
{
	static const char *const users[] = {"ci", "alice", "1001"};
	static const char *const groups[] = {"release"};
	static const char *const one[] = {"bob"};
	struct agent_config cfg;
	char msg[512] = "";

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "[key build-signer]\n"
			      "uri = pkcs11:object=build-signer;type=private\n"
			      "allow-users = ci,alice ,\t 1001  # a comment\n"
			      "allow-groups = release\n"
			      "[key b]\n"
			      "allow-users = \" bob \"\n"
			      "uri = pkcs11:object=b\n"
			      "[key c]\n"
			      "uri = pkcs11:object=c\n",
			      msg, sizeof(msg)),
			 0);
	assert_int_equal(cfg.n_keys, 3);
	assert_list(cfg.keys[0].allow_users, cfg.keys[0].n_allow_users, users, 3);
	assert_list(cfg.keys[0].allow_groups, cfg.keys[0].n_allow_groups, groups, 1);
	assert_list(cfg.keys[1].allow_users, cfg.keys[1].n_allow_users, one, 1);
	assert_null(cfg.keys[1].allow_groups);
	assert_int_equal(cfg.keys[1].n_allow_groups, 0);
	assert_null(cfg.keys[2].allow_users);
	assert_int_equal(cfg.keys[2].n_allow_users, 0);
	config_clear(&cfg);

	expect_error("[key a]\nuri = pkcs11:object=a\nallow-users = ci,,alice\n",
		     "t.conf:3: allow-users: empty item in the list (expected A, B, ...)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-users = ci,\n",
		     "t.conf:3: allow-users: empty item in the list (expected A, B, ...)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-groups = , release\n",
		     "t.conf:3: allow-groups: empty item in the list (expected A, B, ...)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-groups = \" , \"\n",
		     "t.conf:3: allow-groups: empty item in the list (expected A, B, ...)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-users = ci alice\n",
		     "t.conf:3: allow-users: blank or control character inside an item (items "
		     "are separated by commas)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-groups = a\x01\n",
		     "t.conf:3: allow-groups: blank or control character inside an item (items "
		     "are separated by commas)");
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-users =\n",
		     "t.conf:3: allow-users: empty value");
	/* A list key at most once per section; not outside one. */
	expect_error("[key a]\nuri = pkcs11:object=a\nallow-users = ci\nallow-users = bob\n",
		     "t.conf:4: 'allow-users' set twice in [key a] (first on line 3)");
	expect_error("[key a]\nallow-groups = x\nuri = pkcs11:object=a\nallow-groups = y\n",
		     "t.conf:4: 'allow-groups' set twice in [key a] (first on line 2)");
	expect_error("allow-users = ci\n",
		     "t.conf:1: 'allow-users' belongs in a [key NAME] section");
	expect_error("allow-groups = ci\n",
		     "t.conf:1: 'allow-groups' belongs in a [key NAME] section");
}

static void test_section_ops(void **state)
{
	static const struct {
		const char *text;
		uint32_t want;
	} cases[] = {
	    {"sign", P11A_OP_SIGN},
	    {"decrypt", P11A_OP_DECRYPT},
	    {"unwrap", P11A_OP_UNWRAP},
	    {"derive", P11A_OP_DERIVE},
	    {"verify", P11A_OP_VERIFY},
	    {"sign, verify", P11A_OP_SIGN | P11A_OP_VERIFY},
	    {"decrypt,unwrap , derive", P11A_OP_DECRYPT | P11A_OP_UNWRAP | P11A_OP_DERIVE},
	    {"sign, sign", P11A_OP_SIGN},
	};
	struct agent_config cfg;
	char text[256], msg[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		snprintf(text, sizeof(text), "[key k]\nuri = pkcs11:object=k\nallow-ops = %s\n",
			 cases[i].text);
		assert_int_equal(load(&cfg, text, msg, sizeof(msg)), 0);
		assert_int_equal(cfg.keys[0].allow_ops, cases[i].want);
		config_clear(&cfg);
	}
	/* Absent: 0, every operation. */
	config_init(&cfg);
	assert_int_equal(load(&cfg, "[key k]\nuri = pkcs11:object=k\n", msg, sizeof(msg)), 0);
	assert_int_equal(cfg.keys[0].allow_ops, 0);
	config_clear(&cfg);
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-ops = sign, encrypt\n",
		     "t.conf:3: allow-ops: unknown operation 'encrypt' (expected sign, decrypt, "
		     "unwrap, derive or verify)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-ops = Sign\n",
		     "t.conf:3: allow-ops: unknown operation 'Sign' (expected sign, decrypt, "
		     "unwrap, derive or verify)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-ops = sign,\n",
		     "t.conf:3: allow-ops: empty item in the list (expected A, B, ...)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-ops = sign\nallow-ops = verify\n",
		     "t.conf:4: 'allow-ops' set twice in [key k] (first on line 3)");
	expect_error("allow-ops = sign\n", "t.conf:1: 'allow-ops' belongs in a [key NAME] section");
}

static void test_section_algs(void **state)
{
	struct agent_config cfg;
	char msg[256];

	config_init(&cfg);
	assert_int_equal(load(&cfg,
			      "[key k]\nuri = pkcs11:object=k\n"
			      "allow-algs = ecdsa-sha256, rsa-pss-sha256,hmac-sha512 , ecdh\n"
			      "[key l]\nuri = pkcs11:object=l\n",
			      msg, sizeof(msg)),
			 0);
	assert_int_equal(cfg.keys[0].n_allow_algs, 4);
	assert_int_equal(cfg.keys[0].allow_algs[0], P11A_ALG_ECDSA_SHA256);
	assert_int_equal(cfg.keys[0].allow_algs[1], P11A_ALG_RSA_PSS_SHA256);
	assert_int_equal(cfg.keys[0].allow_algs[2], P11A_ALG_HMAC_SHA512);
	assert_int_equal(cfg.keys[0].allow_algs[3], P11A_ALG_ECDH);
	assert_null(cfg.keys[1].allow_algs); /* absent: every algorithm */
	assert_int_equal(cfg.keys[1].n_allow_algs, 0);
	config_clear(&cfg);
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-algs = ecdsa-sha256, ecdsa-md5\n",
		     "t.conf:3: allow-algs: unknown algorithm 'ecdsa-md5' (names as p11agent list "
		     "prints them, e.g. ecdsa-sha256)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-algs = ,ecdsa-sha256\n",
		     "t.conf:3: allow-algs: empty item in the list (expected A, B, ...)");
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-algs = ed25519\nallow-algs = ecdh\n",
		     "t.conf:4: 'allow-algs' set twice in [key k] (first on line 3)");
	expect_error("allow-algs = ed25519\n",
		     "t.conf:1: 'allow-algs' belongs in a [key NAME] section");
	/* An unknown name is quoted bounded and printable. */
	expect_error("[key k]\nuri = pkcs11:object=k\nallow-algs = x\xc3"
		     "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n",
		     "t.conf:3: allow-algs: unknown algorithm "
		     "'x?yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...' (names "
		     "as p11agent list prints them, e.g. ecdsa-sha256)");
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
	      "token = pkcs11:token=demo\npin-source = env:PIN\nforeground = true\n"
	      "[key server]\nuri = pkcs11:object=server;type=private\n",
	      f);
	assert_int_equal(fclose(f), 0);

	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(cfg.token, "pkcs11:token=demo");
	assert_string_equal(cfg.pin_source, "env:PIN");
	assert_int_equal(cfg.foreground, 1);
	assert_int_equal(cfg.n_keys, 1);
	snprintf(want, sizeof(want), "%s:6", path); /* where: the file's own path */
	assert_key(&cfg.keys[0], "server", "pkcs11:object=server;type=private", 0, want);

	/* An error names the file's own path and the line. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\n[key client]\nlog-level = loud\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load_file(&cfg, path, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s:10: 'log-level' belongs before the first [key] section",
		 path);
	assert_string_equal(msg, want);
	assert_int_equal(cfg.n_keys, 1);

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
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_section_bool_values),
	    cmocka_unit_test(test_section_headers),
	    cmocka_unit_test(test_section_keys),
	    cmocka_unit_test(test_section_uri),
	    cmocka_unit_test(test_section_names_unique),
	    cmocka_unit_test(test_section_limit),
	    cmocka_unit_test(test_sections_load_twice),
	    cmocka_unit_test(test_section_no_secret_in_messages),
	    cmocka_unit_test(test_access_audit_limit_keys),
	    cmocka_unit_test(test_limit_ranges),
	    cmocka_unit_test(test_access_audit_errors),
	    cmocka_unit_test(test_section_users_groups),
	    cmocka_unit_test(test_section_ops),
	    cmocka_unit_test(test_section_algs),
	    cmocka_unit_test_setup_teardown(test_load_file, setup_tmpdir, teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_load_missing_file, setup_tmpdir, teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_load_large_file, setup_tmpdir, teardown_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
