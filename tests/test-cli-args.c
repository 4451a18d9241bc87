/*
 * test-cli-args: the p11agent command line, parsed without any agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../cli/args.h"

#define MSG_LEN 512

/* Parses {"p11agent", args..., NULL}; checks that argv is left as it was. */
static int parse_v(struct cli_args *a, char *msg, const char **v)
{
	const char *copy[32];
	int argc = 0, r, i;

	while (v[argc] != NULL) {
		assert_true(argc < 31);
		copy[argc] = v[argc];
		argc++;
	}
	/* Garbage in, to see that the parser sets every field. */
	memset(a, 0x5a, sizeof(*a));
	memset(msg, 'x', MSG_LEN);
	r = cli_args_parse(argc, (char *const *)v, a, msg, MSG_LEN);
	for (i = 0; i < argc; i++)
		assert_ptr_equal(copy[i], v[i]);
	assert_non_null(memchr(msg, '\0', MSG_LEN));
	if (r == 0)
		assert_string_equal(msg, "");
	else
		assert_true(strlen(msg) > 0);
	return r;
}

#define PARSE(a, msg, ...) parse_v((a), (msg), (const char *[]){"p11agent", __VA_ARGS__, NULL})

/* The parse fails as a usage error and its message contains needle. */
#define ASSERT_USAGE(needle, ...)                                                                  \
	do {                                                                                       \
		struct cli_args a_;                                                                \
		char m_[MSG_LEN];                                                                  \
		assert_int_equal(PARSE(&a_, m_, __VA_ARGS__), CLI_EXIT_USAGE);                     \
		if (strstr(m_, (needle)) == NULL)                                                  \
			fail_msg("message \"%s\" lacks \"%s\"", m_, (needle));                     \
	} while (0)

static void test_no_args(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];
	const char *v[] = {"p11agent", NULL};

	(void)state;
	assert_int_equal(parse_v(&a, msg, v), CLI_EXIT_USAGE);
	assert_non_null(strstr(msg, "missing COMMAND"));
	assert_int_equal(a.cmd, CLI_CMD_NONE);
}

static void test_help_forms(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "--help"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_NONE);

	assert_int_equal(PARSE(&a, msg, "-h"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_NONE);

	assert_int_equal(PARSE(&a, msg, "help"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_NONE);

	assert_int_equal(PARSE(&a, msg, "help", "verify"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_VERIFY);

	assert_int_equal(PARSE(&a, msg, "--help", "sign"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_SIGN);

	/* --help wins over a missing KEY or --sig, wherever it comes. */
	assert_int_equal(PARSE(&a, msg, "sign", "--help"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_SIGN);

	assert_int_equal(PARSE(&a, msg, "verify", "k", "-i", "f", "-h"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_VERIFY);

	assert_int_equal(PARSE(&a, msg, "-S", "/s", "--json", "hmac", "--help"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HELP);
	assert_int_equal(a.help_cmd, CLI_CMD_HMAC);
	assert_int_equal(a.json, 1);

	assert_int_equal(PARSE(&a, msg, "help", "-h"), 0);
	assert_int_equal(a.help_cmd, CLI_CMD_HELP);
	ASSERT_USAGE("unknown command 'bogus'", "help", "bogus");
	ASSERT_USAGE("unexpected argument 'list'", "help", "sign", "list");
}

static void test_help_every_command(void **state)
{
	static const struct {
		const char *name;
		enum cli_cmd cmd;
	} all[] = {
	    {"ping", CLI_CMD_PING}, {"list", CLI_CMD_LIST},	{"pubkey", CLI_CMD_PUBKEY},
	    {"sign", CLI_CMD_SIGN}, {"verify", CLI_CMD_VERIFY}, {"hmac", CLI_CMD_HMAC},
	    {"help", CLI_CMD_HELP},
	};
	struct cli_args a;
	char msg[MSG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(PARSE(&a, msg, all[i].name, "--help"), 0);
		assert_int_equal(a.cmd, CLI_CMD_HELP);
		assert_int_equal(a.help_cmd, all[i].cmd);
		assert_string_equal(cli_args_cmd_name(all[i].cmd), all[i].name);
		if (strstr(cli_args_usage(all[i].cmd), all[i].name) == NULL ||
		    strncmp(cli_args_usage(all[i].cmd), "Usage: ", 7) != 0)
			fail_msg("usage of %s: %s", all[i].name, cli_args_usage(all[i].cmd));
		/* Every command that talks to the agent documents the exit status. */
		if (all[i].cmd != CLI_CMD_HELP)
			assert_non_null(strstr(cli_args_usage(all[i].cmd), "Exit status"));
	}
}

static void test_usage_texts(void **state)
{
	const struct p11a_alg_info *info;
	const char *general = cli_args_usage(CLI_CMD_NONE);
	size_t i;

	(void)state;
	assert_non_null(strstr(general, "Usage: p11agent [-S SOCKET] [--json] COMMAND"));
	assert_non_null(strstr(general, "Exit status"));
	/* Every algorithm of the table is named in the general help and in sign's. */
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		if (strstr(general, info->name) == NULL)
			fail_msg("general usage lacks %s", info->name);
		if (strstr(cli_args_usage(CLI_CMD_SIGN), info->name) == NULL)
			fail_msg("sign usage lacks %s", info->name);
	}
	assert_true(i >= 13);
	assert_ptr_equal(cli_args_usage(CLI_CMD_VERSION), general);
	assert_string_equal(cli_args_cmd_name(CLI_CMD_NONE), "p11agent");
}

static void test_version(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "--version"), 0);
	assert_int_equal(a.cmd, CLI_CMD_VERSION);
	ASSERT_USAGE("--version", "list", "--version");
}

static void test_ping_list(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "ping"), 0);
	assert_int_equal(a.cmd, CLI_CMD_PING);
	assert_null(a.socket);
	assert_int_equal(a.json, 0);
	assert_null(a.key);
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_null(a.in);
	assert_null(a.out);
	assert_null(a.sig);
	assert_int_equal(a.prehashed, 0);
	assert_int_equal(a.raw, 0);
	assert_int_equal(a.format, CLI_FORMAT_PEM);

	assert_int_equal(PARSE(&a, msg, "list"), 0);
	assert_int_equal(a.cmd, CLI_CMD_LIST);
	assert_int_equal(a.json, 0);

	ASSERT_USAGE("ping: unexpected argument 'extra'", "ping", "extra");
	ASSERT_USAGE("list: unexpected argument 'mykey'", "list", "mykey");
	ASSERT_USAGE("not valid for 'list'", "list", "--alg", "ed25519");
	ASSERT_USAGE("not valid for 'ping'", "ping", "-i", "f");
}

static void test_json(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "--json", "list"), 0);
	assert_int_equal(a.cmd, CLI_CMD_LIST);
	assert_int_equal(a.json, 1);

	assert_int_equal(PARSE(&a, msg, "list", "--json"), 0);
	assert_int_equal(a.json, 1);

	assert_int_equal(PARSE(&a, msg, "sign", "k", "--json"), 0);
	assert_int_equal(a.json, 1);

	ASSERT_USAGE("takes no value", "--json=yes", "list");
	ASSERT_USAGE("takes no value", "list", "--json=1");

	/* A usage error still says whether JSON was asked for. */
	assert_int_equal(PARSE(&a, msg, "--json", "sign"), CLI_EXIT_USAGE);
	assert_int_equal(a.json, 1);
	assert_int_equal(a.cmd, CLI_CMD_SIGN);
}

static void test_socket(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "-S", "/run/a.sock", "ping"), 0);
	assert_string_equal(a.socket, "/run/a.sock");

	assert_int_equal(PARSE(&a, msg, "-S/run/b.sock", "ping"), 0);
	assert_string_equal(a.socket, "/run/b.sock");

	assert_int_equal(PARSE(&a, msg, "--socket=/run/c.sock", "list"), 0);
	assert_string_equal(a.socket, "/run/c.sock");

	assert_int_equal(PARSE(&a, msg, "--socket", "/run/d.sock", "list"), 0);
	assert_string_equal(a.socket, "/run/d.sock");

	assert_int_equal(PARSE(&a, msg, "sign", "k", "-S", "/run/e.sock"), 0);
	assert_string_equal(a.socket, "/run/e.sock");

	/* The last one wins. */
	assert_int_equal(PARSE(&a, msg, "-S", "/one", "list", "-S", "/two"), 0);
	assert_string_equal(a.socket, "/two");

	ASSERT_USAGE("'--socket' needs a value", "-S");
	ASSERT_USAGE("'--socket' needs a value", "list", "-S");
	ASSERT_USAGE("needs a path", "-S", "", "list");
	ASSERT_USAGE("needs a path", "--socket=", "list");
}

static void test_pubkey(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "pubkey", "signer"), 0);
	assert_int_equal(a.cmd, CLI_CMD_PUBKEY);
	assert_string_equal(a.key, "signer");
	assert_int_equal(a.format, CLI_FORMAT_PEM);

	assert_int_equal(PARSE(&a, msg, "pubkey", "signer", "--format", "der"), 0);
	assert_int_equal(a.format, CLI_FORMAT_DER);

	assert_int_equal(PARSE(&a, msg, "pubkey", "--format=ssh", "signer"), 0);
	assert_int_equal(a.format, CLI_FORMAT_SSH);
	assert_string_equal(a.key, "signer");

	assert_int_equal(PARSE(&a, msg, "pubkey", "--format", "ssh", "--format", "pem", "k"), 0);
	assert_int_equal(a.format, CLI_FORMAT_PEM);

	assert_int_equal(PARSE(&a, msg, "pubkey", "pkcs11:token=demo;object=signer;type=private"),
			 0);
	assert_string_equal(a.key, "pkcs11:token=demo;object=signer;type=private");

	assert_int_equal(PARSE(&a, msg, "pubkey", "id:01ab"), 0);
	assert_string_equal(a.key, "id:01ab");

	ASSERT_USAGE("unknown format 'jwk'; valid: pem, der, ssh", "pubkey", "k", "--format",
		     "jwk");
	ASSERT_USAGE("unknown format 'PEM'", "pubkey", "k", "--format=PEM");
	ASSERT_USAGE("'--format' needs a value", "pubkey", "k", "--format");
	ASSERT_USAGE("pubkey: missing KEY", "pubkey");
	ASSERT_USAGE("pubkey: missing KEY", "pubkey", "--format", "der");
	ASSERT_USAGE("pubkey: unexpected argument 'two'", "pubkey", "one", "two");
	ASSERT_USAGE("not valid for 'pubkey'", "pubkey", "k", "--alg", "ed25519");
	ASSERT_USAGE("not valid for 'pubkey'", "pubkey", "k", "-o", "out");
	ASSERT_USAGE("KEY must not be empty", "pubkey", "");
}

static void test_sign(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "sign", "mykey"), 0);
	assert_int_equal(a.cmd, CLI_CMD_SIGN);
	assert_string_equal(a.key, "mykey");
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_null(a.in);
	assert_null(a.out);
	assert_int_equal(a.prehashed, 0);
	assert_int_equal(a.raw, 0);

	/* Options after KEY, as the spec's example. */
	assert_int_equal(PARSE(&a, msg, "sign", "mykey", "--alg", "ed25519", "-i", "f"), 0);
	assert_string_equal(a.key, "mykey");
	assert_int_equal(a.alg, P11A_ALG_ED25519);
	assert_string_equal(a.in, "f");

	/* Options before KEY, and every spelling of a value. */
	assert_int_equal(PARSE(&a, msg, "sign", "--alg=rsa-pss-sha384", "-iin.bin", "--out=o.sig",
			       "release-key"),
			 0);
	assert_string_equal(a.key, "release-key");
	assert_int_equal(a.alg, P11A_ALG_RSA_PSS_SHA384);
	assert_string_equal(a.in, "in.bin");
	assert_string_equal(a.out, "o.sig");

	assert_int_equal(PARSE(&a, msg, "sign", "k", "--in", "a", "-o", "b"), 0);
	assert_string_equal(a.in, "a");
	assert_string_equal(a.out, "b");

	/* "-" is stdin / stdout. */
	assert_int_equal(PARSE(&a, msg, "sign", "k", "-i", "-", "-o", "-"), 0);
	assert_null(a.in);
	assert_null(a.out);

	assert_int_equal(
	    PARSE(&a, msg, "sign", "k", "--alg", "ecdsa-sha256", "--prehashed", "--raw"), 0);
	assert_int_equal(a.alg, P11A_ALG_ECDSA_SHA256);
	assert_int_equal(a.prehashed, 1);
	assert_int_equal(a.raw, 1);

	/* Without --alg, the agent decides; --prehashed and --raw pass. */
	assert_int_equal(PARSE(&a, msg, "sign", "k", "--prehashed", "--raw"), 0);
	assert_int_equal(a.alg, P11A_ALG_NONE);

	/* HMAC through sign is allowed. */
	assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", "hmac-sha512"), 0);
	assert_int_equal(a.alg, P11A_ALG_HMAC_SHA512);

	/* "--" ends options: a KEY may start with a dash. */
	assert_int_equal(PARSE(&a, msg, "sign", "-i", "f", "--", "-odd-label"), 0);
	assert_string_equal(a.key, "-odd-label");
	assert_string_equal(a.in, "f");

	ASSERT_USAGE("sign: missing KEY", "sign");
	ASSERT_USAGE("sign: missing KEY", "sign", "-i", "f");
	ASSERT_USAGE("sign: unexpected argument 'b'", "sign", "a", "b");
	ASSERT_USAGE("unknown option '--bogus'", "sign", "k", "--bogus");
	ASSERT_USAGE("unknown option '--bogus'", "sign", "k", "--bogus=1");
	ASSERT_USAGE("unknown option '-x'", "sign", "k", "-x");
	ASSERT_USAGE("unknown option '--al'", "sign", "k", "--al", "ed25519");
	ASSERT_USAGE("'--in' needs a value", "sign", "k", "-i");
	ASSERT_USAGE("'--out' needs a value", "sign", "k", "-o");
	ASSERT_USAGE("'--alg' needs a value", "sign", "k", "--alg");
	ASSERT_USAGE("needs a file name", "sign", "k", "-i", "");
	ASSERT_USAGE("takes no value", "sign", "k", "--prehashed=yes");
	ASSERT_USAGE("--prehashed needs an RSA or ECDSA", "sign", "k", "--alg", "ed25519",
		     "--prehashed");
	ASSERT_USAGE("--prehashed needs an RSA or ECDSA", "sign", "k", "--prehashed", "--alg",
		     "hmac-sha256");
	ASSERT_USAGE("--raw applies to ECDSA only", "sign", "k", "--raw", "--alg",
		     "rsa-pkcs1-sha256");
	ASSERT_USAGE("not valid for 'sign'", "sign", "k", "--sig", "s");
	ASSERT_USAGE("not valid for 'sign'", "sign", "k", "--format", "der");
	ASSERT_USAGE("KEY must not be empty", "sign", "");
}

static void test_unknown_alg(void **state)
{
	const struct p11a_alg_info *info;
	struct cli_args a;
	char msg[MSG_LEN];
	size_t i;

	(void)state;
	assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", "rsa-sha1"), CLI_EXIT_USAGE);
	assert_non_null(strstr(msg, "unknown algorithm 'rsa-sha1'"));
	/* The message lists what is valid. */
	assert_non_null(strstr(msg, "rsa-pkcs1-sha256"));
	assert_non_null(strstr(msg, "rsa-pss-sha256"));
	assert_non_null(strstr(msg, "ecdsa-sha256"));
	assert_non_null(strstr(msg, "ed25519"));
	assert_non_null(strstr(msg, "hmac-sha256"));
	ASSERT_USAGE("unknown algorithm ''", "sign", "k", "--alg=");
	ASSERT_USAGE("unknown algorithm 'none'", "verify", "k", "--sig", "s", "--alg", "none");

	/* Every name of the table parses, for sign and for verify. */
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", info->name), 0);
		assert_int_equal(a.alg, info->alg);
		assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "s", "--alg", info->name),
				 0);
		assert_int_equal(a.alg, info->alg);
	}
}

static void test_verify(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "f.sig"), 0);
	assert_int_equal(a.cmd, CLI_CMD_VERIFY);
	assert_string_equal(a.key, "k");
	assert_string_equal(a.sig, "f.sig");
	assert_null(a.in);

	assert_int_equal(PARSE(&a, msg, "verify", "--sig=s", "-i", "data", "--alg",
			       "rsa-pss-sha512", "k", "--prehashed"),
			 0);
	assert_string_equal(a.sig, "s");
	assert_string_equal(a.in, "data");
	assert_int_equal(a.alg, P11A_ALG_RSA_PSS_SHA512);
	assert_int_equal(a.prehashed, 1);

	assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "s", "--alg", "hmac-sha384"), 0);
	assert_int_equal(a.alg, P11A_ALG_HMAC_SHA384);

	assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "s", "--raw"), 0);
	assert_int_equal(a.raw, 1);

	ASSERT_USAGE("verify: missing --sig FILE", "verify", "k");
	ASSERT_USAGE("verify: missing --sig FILE", "verify", "k", "-i", "f");
	ASSERT_USAGE("verify: missing KEY", "verify", "--sig", "s");
	ASSERT_USAGE("'--sig' needs a value", "verify", "k", "--sig");
	ASSERT_USAGE("needs a file name", "verify", "k", "--sig", "");
	ASSERT_USAGE("not valid for 'verify'", "verify", "k", "--sig", "s", "-o", "out");
	ASSERT_USAGE("verify: unexpected argument 'extra'", "verify", "k", "extra", "--sig", "s");
	ASSERT_USAGE("--prehashed needs an RSA or ECDSA", "verify", "k", "--sig", "s", "--alg",
		     "hmac-sha256", "--prehashed");
	ASSERT_USAGE("--raw applies to ECDSA only", "verify", "k", "--sig", "s", "--alg", "ed25519",
		     "--raw");
}

static void test_hmac(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "hmac", "mac-key"), 0);
	assert_int_equal(a.cmd, CLI_CMD_HMAC);
	assert_string_equal(a.key, "mac-key");
	assert_int_equal(a.alg, P11A_ALG_NONE);

	assert_int_equal(
	    PARSE(&a, msg, "hmac", "mac-key", "--alg", "hmac-sha384", "-i", "req", "-o", "req.mac"),
	    0);
	assert_int_equal(a.alg, P11A_ALG_HMAC_SHA384);
	assert_string_equal(a.in, "req");
	assert_string_equal(a.out, "req.mac");

	ASSERT_USAGE("'rsa-pkcs1-sha256' is not an HMAC algorithm", "hmac", "k", "--alg",
		     "rsa-pkcs1-sha256");
	ASSERT_USAGE("'ed25519' is not an HMAC algorithm", "hmac", "k", "--alg", "ed25519");
	ASSERT_USAGE("unknown algorithm 'hmac-md5'", "hmac", "k", "--alg", "hmac-md5");
	ASSERT_USAGE("not valid for 'hmac'", "hmac", "k", "--prehashed");
	ASSERT_USAGE("not valid for 'hmac'", "hmac", "k", "--raw");
	ASSERT_USAGE("not valid for 'hmac'", "hmac", "k", "--sig", "s");
	ASSERT_USAGE("hmac: missing KEY", "hmac");
}

static void test_global_errors(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	ASSERT_USAGE("unknown command 'lsit'", "lsit");
	ASSERT_USAGE("unknown command 'SIGN'", "SIGN", "k");
	ASSERT_USAGE("unknown option '--verbose'", "--verbose", "list");
	ASSERT_USAGE("unknown option '-q'", "-q", "list");
	ASSERT_USAGE("'--alg' must come after the command", "--alg", "ed25519", "sign", "k");
	ASSERT_USAGE("'--in' must come after the command", "-i", "f", "sign", "k");
	ASSERT_USAGE("missing COMMAND", "--json");
	ASSERT_USAGE("missing COMMAND", "-S", "/s");

	/* "--" before the command. */
	assert_int_equal(PARSE(&a, msg, "--", "list"), 0);
	assert_int_equal(a.cmd, CLI_CMD_LIST);
	ASSERT_USAGE("unknown command '--json'", "--", "--json");

	/* No message buffer: still the right verdict. */
	{
		const char *v[] = {"p11agent", "bogus", NULL};
		assert_int_equal(cli_args_parse(2, (char *const *)v, &a, NULL, 0), CLI_EXIT_USAGE);
	}
	/* A short message buffer is truncated, not overrun. */
	{
		const char *v[] = {"p11agent", "sign", "k", "--alg", "no-such-algorithm", NULL};
		char small[8];
		memset(small, 'x', sizeof(small));
		assert_int_equal(cli_args_parse(5, (char *const *)v, &a, small, sizeof(small)),
				 CLI_EXIT_USAGE);
		assert_int_equal(strlen(small), sizeof(small) - 1);
	}
}

/* The parser keeps no state between calls (unlike getopt). */
static void test_reentrant(void **state)
{
	struct cli_args a, b;
	char msg[MSG_LEN];
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(PARSE(&a, msg, "--json", "-S", "/x", "sign", "k1", "--alg",
				       "ed25519", "-i", "in", "-o", "out"),
				 0);
		assert_int_equal(PARSE(&b, msg, "verify", "k2", "--sig", "s"), 0);
		assert_int_equal(a.json, 1);
		assert_string_equal(a.socket, "/x");
		assert_int_equal(a.alg, P11A_ALG_ED25519);
		assert_int_equal(b.json, 0);
		assert_null(b.socket);
		assert_string_equal(b.key, "k2");
		assert_int_equal(b.alg, P11A_ALG_NONE);
		assert_null(b.in);
		assert_null(b.out);
		ASSERT_USAGE("unknown option", "sign", "k", "--nope");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_args),
	    cmocka_unit_test(test_help_forms),
	    cmocka_unit_test(test_help_every_command),
	    cmocka_unit_test(test_usage_texts),
	    cmocka_unit_test(test_version),
	    cmocka_unit_test(test_ping_list),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_socket),
	    cmocka_unit_test(test_pubkey),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_unknown_alg),
	    cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_hmac),
	    cmocka_unit_test(test_global_errors),
	    cmocka_unit_test(test_reentrant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
