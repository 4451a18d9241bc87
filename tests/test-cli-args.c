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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../cli/args.h"
#include "../cli/usage.h"

/* The row of the command named name. */
#define CMD(name) cli_command_by_name(name)

/* The help of cmd (NULL: the general help); four can be held at once. */
static const char *usage_of(const struct cli_command *cmd)
{
	static char bufs[4][8192];
	static int next;
	char *b = bufs[next++ % 4];

	assert_int_equal(cli_usage_text(cmd, b, sizeof(bufs[0])), 0);
	return b;
}

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
	assert_null(a.cmd);
}

static void test_help_forms(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "--help"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_null(a.help_cmd);

	assert_int_equal(PARSE(&a, msg, "-h"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_null(a.help_cmd);

	assert_int_equal(PARSE(&a, msg, "help"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_null(a.help_cmd);

	assert_int_equal(PARSE(&a, msg, "help", "verify"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_ptr_equal(a.help_cmd, CMD("verify"));

	assert_int_equal(PARSE(&a, msg, "--help", "sign"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_ptr_equal(a.help_cmd, CMD("sign"));

	/* --help wins over a missing KEY or --sig, wherever it comes. */
	assert_int_equal(PARSE(&a, msg, "sign", "--help"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_ptr_equal(a.help_cmd, CMD("sign"));

	assert_int_equal(PARSE(&a, msg, "verify", "k", "-i", "f", "-h"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_ptr_equal(a.help_cmd, CMD("verify"));

	assert_int_equal(PARSE(&a, msg, "-S", "/s", "--json", "hmac", "--help"), 0);
	assert_ptr_equal(a.cmd, CMD("help"));
	assert_ptr_equal(a.help_cmd, CMD("hmac"));
	assert_int_equal(a.json, 1);

	assert_int_equal(PARSE(&a, msg, "help", "-h"), 0);
	assert_ptr_equal(a.help_cmd, CMD("help"));
	ASSERT_USAGE("unknown command 'bogus'", "help", "bogus");
	ASSERT_USAGE("unexpected argument 'list'", "help", "sign", "list");
}

static void test_help_every_command(void **state)
{
	static const struct {
		const char *name;
	} all[] = {
	    {"ping"},	{"list"},     {"pubkey"},	{"sign"},      {"verify"},
	    {"hmac"},	{"decrypt"},  {"unwrap"},	{"derive"},    {"seal"},
	    {"open"},	{"help"},     {"audit-verify"}, {"keyfile"},   {"keygen"},
	    {"rotate"}, {"versions"}, {"trim"},		{"rewrap"},    {"reload"},
	    {"cert"},	{"csr"},      {"status"},	{"http-sign"}, {"http-verify"},
	};
	struct cli_args a;
	char msg[MSG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_int_equal(PARSE(&a, msg, all[i].name, "--help"), 0);
		assert_ptr_equal(a.cmd, CMD("help"));
		assert_ptr_equal(a.help_cmd, CMD(all[i].name));
		assert_string_equal(cli_args_cmd_name(CMD(all[i].name)), all[i].name);
		if (strstr(usage_of(CMD(all[i].name)), all[i].name) == NULL ||
		    strncmp(usage_of(CMD(all[i].name)), "Usage: ", 7) != 0)
			fail_msg("usage of %s: %s", all[i].name, usage_of(CMD(all[i].name)));
		/* Every command that talks to the agent documents the exit status. */
		if (strcmp(all[i].name, "help") != 0)
			assert_non_null(strstr(usage_of(CMD(all[i].name)), "Exit status"));
	}
	/* And the list above is the whole table. */
	assert_int_equal(cli_n_commands, sizeof(all) / sizeof(all[0]));
	for (i = 0; i < cli_n_commands; i++) {
		assert_int_equal(PARSE(&a, msg, cli_commands[i].name, "--help"), 0);
		assert_non_null(cli_commands[i].run);
	}
}

/* The name appears in text as a whole word (not as the start of a longer name). */
static int names(const char *text, const char *name)
{
	const char *p = text;
	size_t n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		char after = p[n];
		if (after != '-' && !(after >= 'a' && after <= 'z') &&
		    !(after >= '0' && after <= '9'))
			return 1;
		p += n;
	}
	return 0;
}

static void test_usage_texts(void **state)
{
	static const struct {
		const char *cmd;
		uint32_t op;
	} by_op[] = {
	    {"sign", P11A_OP_SIGN},
	    {"decrypt", P11A_OP_DECRYPT},
	    {"unwrap", P11A_OP_UNWRAP},
	    {"derive", P11A_OP_DERIVE},
	};
	static const char *const transport[] = {"decrypt", "unwrap", "derive", "seal", "open"};
	const struct p11a_alg_info *info;
	static char general[8192];
	size_t i, j;

	(void)state;
	assert_int_equal(cli_usage_text(NULL, general, sizeof(general)), 0);
	assert_non_null(strstr(general, "Usage: p11agent [-S SOCKET] [--json] COMMAND"));
	assert_non_null(strstr(general, "Exit status"));
	/*
	 * Every algorithm of the table is named in the general help, and in the
	 * help of each command it serves; no command's help names another's.
	 */
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		if (!names(general, info->name))
			fail_msg("general usage lacks %s", info->name);
		for (j = 0; j < sizeof(by_op) / sizeof(by_op[0]); j++) {
			const char *u = usage_of(CMD(by_op[j].cmd));
			int want = (info->ops & by_op[j].op) != 0;
			if (names(u, info->name) != want)
				fail_msg("%s usage %s %s", by_op[j].cmd, want ? "lacks" : "names",
					 info->name);
		}
	}
	assert_true(i >= 21);
	/* The new commands' help: options, defaults, the 0600 outputs. */
	assert_non_null(strstr(usage_of(CMD("decrypt")), "--label-hex HEX"));
	assert_non_null(strstr(usage_of(CMD("decrypt")), "rsa-oaep-sha256 (the default)"));
	assert_non_null(strstr(usage_of(CMD("unwrap")), "--key-len N"));
	assert_non_null(strstr(usage_of(CMD("unwrap")), "aes-kwp"));
	assert_non_null(strstr(usage_of(CMD("derive")), "--peer PEER"));
	assert_non_null(strstr(usage_of(CMD("seal")), "--key-id TEXT"));
	assert_non_null(strstr(usage_of(CMD("seal")), CLI_KEY_ID_DEFAULT));
	assert_non_null(strstr(usage_of(CMD("open")), "authenticates"));
	for (j = 0; j < sizeof(transport) / sizeof(transport[0]); j++) {
		if (strcmp(transport[j], "seal") != 0)
			assert_non_null(strstr(usage_of(CMD(transport[j])), "mode 0600"));
		assert_non_null(strstr(general, transport[j]));
	}
	assert_null(strstr(usage_of(CMD("seal")), "mode 0600"));
	assert_string_equal(cli_args_cmd_name(NULL), "p11agent");
}

static void test_version(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "--version"), 0);
	assert_int_equal(a.version, 1);
	assert_null(a.cmd);
	ASSERT_USAGE("--version", "list", "--version");
}

static void test_ping_list(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "ping"), 0);
	assert_ptr_equal(a.cmd, CMD("ping"));
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
	assert_null(a.label);
	assert_int_equal(a.label_hex, 0);
	assert_int_equal(a.key_len, 0);
	assert_null(a.peer);
	assert_null(a.key_file);
	assert_null(a.key_id);
	assert_null(a.http_alg);
	assert_null(a.components);
	assert_int_equal(a.created_set, 0);
	assert_int_equal(a.expires_set, 0);
	assert_null(a.nonce);
	assert_null(a.keyid);
	assert_null(a.tag);
	assert_int_equal(a.alg_param, 0);
	assert_null(a.digest);
	assert_null(a.request);
	assert_int_equal(a.print_base, 0);
	assert_int_equal(a.max_age, 0);
	assert_int_equal(a.at_set, 0);
	assert_null(a.require);

	assert_int_equal(PARSE(&a, msg, "list"), 0);
	assert_ptr_equal(a.cmd, CMD("list"));
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
	assert_ptr_equal(a.cmd, CMD("list"));
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
	assert_ptr_equal(a.cmd, CMD("sign"));
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

	ASSERT_USAGE("'-S' needs a value", "-S");
	ASSERT_USAGE("'-S' needs a value", "list", "-S");
	ASSERT_USAGE("'--socket' needs a value", "list", "--socket");
	ASSERT_USAGE("needs a path", "-S", "", "list");
	ASSERT_USAGE("needs a path", "--socket=", "list");
}

static void test_pubkey(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "pubkey", "signer"), 0);
	assert_ptr_equal(a.cmd, CMD("pubkey"));
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

static void test_keyfile(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "keyfile", "web-ecdsa"), 0);
	assert_ptr_equal(a.cmd, CMD("keyfile"));
	assert_string_equal(a.key, "web-ecdsa");
	assert_null(a.out);

	assert_int_equal(PARSE(&a, msg, "keyfile", "-o", "web.key", "id:01ab"), 0);
	assert_string_equal(a.key, "id:01ab");
	assert_string_equal(a.out, "web.key");

	assert_int_equal(PARSE(&a, msg, "--json", "keyfile", "k", "--out=-"), 0);
	assert_null(a.out); /* '-' is stdout */
	assert_int_equal(a.json, 1);

	assert_int_equal(PARSE(&a, msg, "keyfile", "pkcs11:token=demo;object=web;type=private"), 0);
	assert_string_equal(a.key, "pkcs11:token=demo;object=web;type=private");

	ASSERT_USAGE("keyfile: missing KEY", "keyfile");
	ASSERT_USAGE("keyfile: missing KEY", "keyfile", "-o", "web.key");
	ASSERT_USAGE("keyfile: unexpected argument 'two'", "keyfile", "one", "two");
	ASSERT_USAGE("KEY must not be empty", "keyfile", "");
	ASSERT_USAGE("not valid for 'keyfile'", "keyfile", "k", "-i", "in");
	ASSERT_USAGE("not valid for 'keyfile'", "keyfile", "k", "--format", "der");
	ASSERT_USAGE("not valid for 'keyfile'", "keyfile", "k", "--alg", "ed25519");
	ASSERT_USAGE("not valid for 'keyfile'", "keyfile", "k", "--all");
	ASSERT_USAGE("option '-o' needs a file name", "keyfile", "k", "-o", "");

	/* Its help says what the file is, and where to read more. */
	assert_non_null(strstr(usage_of(CMD("keyfile")), "no secret"));
	assert_non_null(strstr(usage_of(CMD("keyfile")), "p11agent-provider(7)"));
	assert_non_null(strstr(usage_of(CMD("keyfile")), "Exit status"));
}

static void test_sign(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "sign", "mykey"), 0);
	assert_ptr_equal(a.cmd, CMD("sign"));
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
	ASSERT_USAGE("'-i' needs a value", "sign", "k", "-i");
	ASSERT_USAGE("'-o' needs a value", "sign", "k", "-o");
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
	/* The list of valid names is the command's own. */
	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--alg", "rsa-oaep-md5"), CLI_EXIT_USAGE);
	assert_non_null(strstr(msg, "unknown algorithm 'rsa-oaep-md5'; valid for decrypt: "
				    "rsa-oaep-sha1, rsa-oaep-sha256, rsa-oaep-sha384, "
				    "rsa-oaep-sha512, rsa-pkcs1"));
	assert_null(strstr(msg, "ecdsa"));
	assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", "x"), CLI_EXIT_USAGE);
	assert_null(strstr(msg, "oaep"));
	assert_null(strstr(msg, "ecdh"));

	/*
	 * Every name of the table parses for the commands whose operation it
	 * serves (sign and verify: P11A_OP_SIGN), and is a usage error that names
	 * the valid ones for the others.
	 */
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		int sign = (info->ops & P11A_OP_SIGN) != 0;
		static const struct {
			const char *cmd;
			uint32_t op;
		} keyx[] = {
		    {"decrypt", P11A_OP_DECRYPT},
		    {"unwrap", P11A_OP_UNWRAP},
		    {"derive", P11A_OP_DERIVE},
		};
		size_t j;

		assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", info->name),
				 sign ? 0 : CLI_EXIT_USAGE);
		if (sign)
			assert_int_equal(a.alg, info->alg);
		else
			assert_non_null(
			    strstr(msg, "cannot sign; valid for sign: rsa-pkcs1-sha256"));
		assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "s", "--alg", info->name),
				 sign ? 0 : CLI_EXIT_USAGE);
		if (sign)
			assert_int_equal(a.alg, info->alg);
		else
			assert_non_null(strstr(msg, "cannot verify"));
		for (j = 0; j < sizeof(keyx) / sizeof(keyx[0]); j++) {
			int fits = (info->ops & keyx[j].op) != 0, r;
			char needle[64];

			if (keyx[j].op == P11A_OP_DERIVE)
				r = PARSE(&a, msg, "derive", "k", "--peer", "p", "--alg",
					  info->name);
			else
				r = PARSE(&a, msg, keyx[j].cmd, "k", "--alg", info->name);
			if (fits) {
				assert_int_equal(r, 0);
				assert_int_equal(a.alg, info->alg);
				continue;
			}
			assert_int_equal(r, CLI_EXIT_USAGE);
			snprintf(needle, sizeof(needle),
				 "'%s' cannot %s; valid for %s: ", info->name, keyx[j].cmd,
				 keyx[j].cmd);
			if (strstr(msg, needle) == NULL)
				fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
		}
	}
}

static void test_verify(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "verify", "k", "--sig", "f.sig"), 0);
	assert_ptr_equal(a.cmd, CMD("verify"));
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
	assert_ptr_equal(a.cmd, CMD("hmac"));
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

/* The label cli_args_label() gives for a. */
static void assert_label(const struct cli_args *a, const void *want, size_t want_len)
{
	uint8_t *label = NULL;
	size_t len = 99;

	assert_int_equal(cli_args_label(a, &label, &len), 0);
	assert_non_null(label);
	assert_int_equal(len, want_len);
	if (want_len > 0)
		assert_memory_equal(label, want, want_len);
	free(label);
}

static void test_decrypt(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "decrypt", "server-rsa"), 0);
	assert_ptr_equal(a.cmd, CMD("decrypt"));
	assert_string_equal(a.key, "server-rsa");
	assert_int_equal(a.alg, P11A_ALG_NONE); /* the agent picks rsa-oaep-sha256 */
	assert_null(a.in);
	assert_null(a.out);
	assert_null(a.label);
	assert_label(&a, "", 0);

	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--alg", "rsa-oaep-sha384", "-i", "c.bin",
			       "-o", "p.bin", "--label", "invoice 7"),
			 0);
	assert_int_equal(a.alg, P11A_ALG_RSA_OAEP_SHA384);
	assert_string_equal(a.in, "c.bin");
	assert_string_equal(a.out, "p.bin");
	assert_string_equal(a.label, "invoice 7");
	assert_int_equal(a.label_hex, 0);
	assert_label(&a, "invoice 7", 9);

	assert_int_equal(PARSE(&a, msg, "decrypt", "--label-hex=00FFa5", "k"), 0);
	assert_int_equal(a.label_hex, 1);
	assert_label(&a, "\x00\xff\xa5", 3);

	/* Empty labels are no label; the last of the same option wins. */
	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--label", ""), 0);
	assert_label(&a, "", 0);
	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--label-hex", ""), 0);
	assert_label(&a, "", 0);
	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--label", "a", "--label", "bc"), 0);
	assert_label(&a, "bc", 2);

	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--alg", "rsa-pkcs1"), 0);
	assert_int_equal(a.alg, P11A_ALG_RSA_PKCS1);
	assert_int_equal(PARSE(&a, msg, "decrypt", "-i", "-", "--", "-k"), 0);
	assert_string_equal(a.key, "-k");
	assert_null(a.in);

	ASSERT_USAGE("decrypt: missing KEY", "decrypt");
	ASSERT_USAGE("decrypt: missing KEY", "decrypt", "--label", "x");
	ASSERT_USAGE("KEY must not be empty", "decrypt", "");
	ASSERT_USAGE("decrypt: unexpected argument 'b'", "decrypt", "a", "b");
	ASSERT_USAGE("--label and --label-hex exclude each other", "decrypt", "k", "--label", "a",
		     "--label-hex", "00");
	ASSERT_USAGE("--label and --label-hex exclude each other", "decrypt", "k", "--label-hex",
		     "00", "--label", "a");
	ASSERT_USAGE("--label-hex: 'abc' is not an even number of hex digits", "decrypt", "k",
		     "--label-hex", "abc");
	ASSERT_USAGE("--label-hex: '0g' is not", "decrypt", "k", "--label-hex", "0g");
	ASSERT_USAGE("--label-hex: '0x00' is not", "decrypt", "k", "--label-hex", "0x00");
	ASSERT_USAGE("'--label' needs a value", "decrypt", "k", "--label");
	ASSERT_USAGE("decrypt: --label applies to RSA-OAEP only, not 'rsa-pkcs1'", "decrypt", "k",
		     "--alg", "rsa-pkcs1", "--label", "x");
	ASSERT_USAGE("decrypt: --label-hex applies to RSA-OAEP only", "decrypt", "k", "--label-hex",
		     "01", "--alg", "rsa-pkcs1");
	ASSERT_USAGE("'aes-kw' cannot decrypt; valid for decrypt: rsa-oaep-sha1", "decrypt", "k",
		     "--alg", "aes-kw");
	ASSERT_USAGE("'ecdh' cannot decrypt", "decrypt", "k", "--alg", "ecdh");
	ASSERT_USAGE("'rsa-pkcs1-sha256' cannot decrypt", "decrypt", "k", "--alg",
		     "rsa-pkcs1-sha256");
	ASSERT_USAGE("not valid for 'decrypt'", "decrypt", "k", "--key-len", "32");
	ASSERT_USAGE("not valid for 'decrypt'", "decrypt", "k", "--peer", "p.pem");
	ASSERT_USAGE("not valid for 'decrypt'", "decrypt", "k", "--key-file", "f");
	ASSERT_USAGE("not valid for 'decrypt'", "decrypt", "k", "--prehashed");
	ASSERT_USAGE("not valid for 'decrypt'", "decrypt", "k", "--sig", "s");
	ASSERT_USAGE("'--label' must come after the command", "--label", "x", "decrypt", "k");
}

static void test_unwrap(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "unwrap", "kek"), 0);
	assert_ptr_equal(a.cmd, CMD("unwrap"));
	assert_string_equal(a.key, "kek");
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_int_equal(a.key_len, 0);

	assert_int_equal(PARSE(&a, msg, "unwrap", "kek", "--alg", "aes-kw", "--key-len", "32", "-i",
			       "k.wrapped", "-o", "k.bin"),
			 0);
	assert_int_equal(a.alg, P11A_ALG_AES_KW);
	assert_int_equal(a.key_len, 32);
	assert_string_equal(a.in, "k.wrapped");
	assert_string_equal(a.out, "k.bin");

	assert_int_equal(PARSE(&a, msg, "unwrap", "--key-len=16", "--alg=aes-kwp", "kek"), 0);
	assert_int_equal(a.key_len, 16);
	assert_int_equal(a.alg, P11A_ALG_AES_KWP);

	assert_int_equal(PARSE(&a, msg, "unwrap", "rsa", "--alg", "rsa-oaep-sha512", "--label-hex",
			       "6c6162656c", "--key-len", "1"),
			 0);
	assert_int_equal(a.alg, P11A_ALG_RSA_OAEP_SHA512);
	assert_int_equal(a.key_len, 1);
	assert_label(&a, "label", 5);

	/* Up to a frame's worth. */
	assert_int_equal(PARSE(&a, msg, "unwrap", "k", "--key-len", "1044480"), 0);
	assert_int_equal(a.key_len, P11A_MAX_DATA);
	assert_int_equal(PARSE(&a, msg, "unwrap", "k", "--key-len", "0032"), 0);
	assert_int_equal(a.key_len, 32);

	ASSERT_USAGE("unwrap: missing KEY", "unwrap");
	ASSERT_USAGE("unwrap: missing KEY", "unwrap", "--key-len", "32");
	ASSERT_USAGE("--key-len: '0' is not a positive number of bytes", "unwrap", "k", "--key-len",
		     "0");
	ASSERT_USAGE("--key-len: '-16' is not a positive number", "unwrap", "k", "--key-len=-16");
	ASSERT_USAGE("--key-len: '+16' is not a positive number", "unwrap", "k", "--key-len",
		     "+16");
	ASSERT_USAGE("--key-len: '16 ' is not", "unwrap", "k", "--key-len", "16 ");
	ASSERT_USAGE("--key-len: '0x10' is not", "unwrap", "k", "--key-len", "0x10");
	ASSERT_USAGE("--key-len: '32bytes' is not", "unwrap", "k", "--key-len", "32bytes");
	ASSERT_USAGE("--key-len: '' is not", "unwrap", "k", "--key-len", "");
	ASSERT_USAGE("--key-len: 1044481 is too large", "unwrap", "k", "--key-len", "1044481");
	ASSERT_USAGE("is too large", "unwrap", "k", "--key-len", "99999999999999999999999999");
	ASSERT_USAGE("'--key-len' needs a value", "unwrap", "k", "--key-len");
	ASSERT_USAGE("'rsa-pkcs1' cannot unwrap; valid for unwrap: rsa-oaep-sha1, "
		     "rsa-oaep-sha256, rsa-oaep-sha384, rsa-oaep-sha512, aes-kw, aes-kwp",
		     "unwrap", "k", "--alg", "rsa-pkcs1");
	ASSERT_USAGE("'ecdh' cannot unwrap", "unwrap", "k", "--alg", "ecdh");
	ASSERT_USAGE("'hmac-sha256' cannot unwrap", "unwrap", "k", "--alg", "hmac-sha256");
	ASSERT_USAGE("unwrap: --label applies to RSA-OAEP only, not 'aes-kwp'", "unwrap", "k",
		     "--alg", "aes-kwp", "--label", "x");
	ASSERT_USAGE("--label and --label-hex exclude each other", "unwrap", "k", "--label", "a",
		     "--label-hex", "61");
	ASSERT_USAGE("not valid for 'unwrap'", "unwrap", "k", "--peer", "p");
	ASSERT_USAGE("not valid for 'unwrap'", "unwrap", "k", "--key-id", "x");
}

static void test_derive(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "derive", "ec256", "--peer", "peer.pem"), 0);
	assert_ptr_equal(a.cmd, CMD("derive"));
	assert_string_equal(a.key, "ec256");
	assert_string_equal(a.peer, "peer.pem");
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_null(a.out);

	assert_int_equal(
	    PARSE(&a, msg, "derive", "--peer=p.der", "--alg", "ecdh", "-o", "z.bin", "ec256"), 0);
	assert_string_equal(a.peer, "p.der");
	assert_int_equal(a.alg, P11A_ALG_ECDH);
	assert_string_equal(a.out, "z.bin");

	/* "-": the peer key on stdin. */
	assert_int_equal(PARSE(&a, msg, "derive", "k", "--peer", "-"), 0);
	assert_string_equal(a.peer, "-");

	ASSERT_USAGE("derive: missing KEY", "derive");
	ASSERT_USAGE("derive: missing KEY", "derive", "--peer", "p.pem");
	ASSERT_USAGE("derive: missing --peer PEER", "derive", "k");
	ASSERT_USAGE("derive: missing --peer PEER", "derive", "k", "-o", "z");
	ASSERT_USAGE("'--peer' needs a value", "derive", "k", "--peer");
	ASSERT_USAGE("'--peer' needs a file name", "derive", "k", "--peer", "");
	ASSERT_USAGE("'rsa-oaep-sha256' cannot derive; valid for derive: ecdh", "derive", "k",
		     "--peer", "p", "--alg", "rsa-oaep-sha256");
	ASSERT_USAGE("'ecdsa-sha256' cannot derive", "derive", "k", "--peer", "p", "--alg",
		     "ecdsa-sha256");
	ASSERT_USAGE("unknown algorithm 'x25519'; valid for derive: ecdh", "derive", "k", "--peer",
		     "p", "--alg", "x25519");
	ASSERT_USAGE("not valid for 'derive'", "derive", "k", "--peer", "p", "-i", "f");
	ASSERT_USAGE("not valid for 'derive'", "derive", "k", "--peer", "p", "--label", "x");
	ASSERT_USAGE("not valid for 'derive'", "derive", "k", "--peer", "p", "--key-len", "32");
}

static void test_seal_open(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "seal", "--key-file", "k.bin"), 0);
	assert_ptr_equal(a.cmd, CMD("seal"));
	assert_null(a.key);
	assert_string_equal(a.key_file, "k.bin");
	assert_null(a.key_id);
	assert_null(a.in);
	assert_null(a.out);

	assert_int_equal(PARSE(&a, msg, "seal", "-i", "doc", "-o", "doc.cms", "--key-file=k.bin",
			       "--key-id", "transfer 42"),
			 0);
	assert_string_equal(a.in, "doc");
	assert_string_equal(a.out, "doc.cms");
	assert_string_equal(a.key_id, "transfer 42");

	assert_int_equal(PARSE(&a, msg, "open", "--key-file", "k.bin", "-i", "doc.cms"), 0);
	assert_ptr_equal(a.cmd, CMD("open"));
	assert_string_equal(a.key_file, "k.bin");
	assert_string_equal(a.in, "doc.cms");

	/* The key on stdin (from 'p11agent unwrap'), the envelope from a file. */
	assert_int_equal(PARSE(&a, msg, "open", "--key-file", "-", "-i", "doc.cms", "-o", "doc"),
			 0);
	assert_string_equal(a.key_file, "-");
	assert_int_equal(PARSE(&a, msg, "seal", "--key-file", "-", "-i", "doc"), 0);

	/* -S and --json are accepted (and harmless) as for every command. */
	assert_int_equal(PARSE(&a, msg, "--json", "open", "--key-file", "k", "-S", "/s"), 0);
	assert_int_equal(a.json, 1);

	ASSERT_USAGE("seal: missing --key-file FILE", "seal");
	ASSERT_USAGE("seal: missing --key-file FILE", "seal", "-i", "doc", "-o", "doc.cms");
	ASSERT_USAGE("open: missing --key-file FILE", "open", "-i", "doc.cms");
	ASSERT_USAGE("'--key-file' needs a value", "open", "--key-file");
	ASSERT_USAGE("'--key-file' needs a file name", "open", "--key-file", "");
	ASSERT_USAGE("open: --key-file - reads the key from stdin: give the input with -i FILE",
		     "open", "--key-file", "-");
	ASSERT_USAGE("seal: --key-file - reads the key from stdin", "seal", "--key-file", "-", "-i",
		     "-");
	ASSERT_USAGE("seal: unexpected argument 'k'", "seal", "k", "--key-file", "f");
	ASSERT_USAGE("open: unexpected argument 'doc.cms'", "open", "--key-file", "f", "doc.cms");
	ASSERT_USAGE("--key-id: give 1 to 256 characters", "seal", "--key-file", "f", "--key-id",
		     "");
	ASSERT_USAGE("not valid for 'open'", "open", "--key-file", "f", "--key-id", "x");
	ASSERT_USAGE("not valid for 'seal'", "seal", "--key-file", "f", "--alg", "aes-kwp");
	ASSERT_USAGE("not valid for 'open'", "open", "--key-file", "f", "--label", "x");
	ASSERT_USAGE("not valid for 'seal'", "seal", "--key-file", "f", "--peer", "p");
	ASSERT_USAGE("'--key-file' must come after the command", "--key-file", "f", "seal");
	{
		char long_id[CLI_KEY_ID_MAX + 2];
		memset(long_id, 'x', sizeof(long_id) - 1);
		long_id[sizeof(long_id) - 1] = '\0';
		ASSERT_USAGE("--key-id: give 1 to 256", "seal", "--key-file", "f", "--key-id",
			     long_id);
		long_id[CLI_KEY_ID_MAX] = '\0';
		assert_int_equal(PARSE(&a, msg, "seal", "--key-file", "f", "--key-id", long_id), 0);
		assert_int_equal(strlen(a.key_id), CLI_KEY_ID_MAX);
	}
}

static void test_keygen(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];
	size_t i;
	const char *t;

	(void)state;
	assert_int_equal(PARSE(&a, msg, "keygen", "release", "--type", "ec:P-256"), 0);
	assert_ptr_equal(a.cmd, CMD("keygen"));
	assert_string_equal(a.key, "release");
	assert_string_equal(a.key_type, "ec:P-256");
	assert_int_equal(a.ops, 0);

	/* Every type of the table, and only those. */
	for (i = 0; (t = cli_args_key_type_at(i)) != NULL; i++) {
		assert_int_equal(PARSE(&a, msg, "keygen", "k", "--type", t), 0);
		assert_string_equal(a.key_type, t);
	}
	assert_int_equal(i, 12);

	assert_int_equal(PARSE(&a, msg, "--json", "keygen", "--type=rsa:3072", "--ops",
			       "sign,decrypt,unwrap,wrap", "r"),
			 0);
	assert_int_equal(a.json, 1);
	assert_string_equal(a.key, "r");
	assert_int_equal(a.ops, P11A_OP_SIGN | P11A_OP_DECRYPT | P11A_OP_UNWRAP | P11A_OP_WRAP);
	assert_int_equal(PARSE(&a, msg, "keygen", "e", "--type", "ec:P-384", "--ops", "derive"), 0);
	assert_int_equal(a.ops, P11A_OP_DERIVE);
	assert_int_equal(
	    PARSE(&a, msg, "keygen", "h", "--type", "hmac:512", "--ops", "verify,sign,verify"), 0);
	assert_int_equal(a.ops, P11A_OP_SIGN | P11A_OP_VERIFY);

	ASSERT_USAGE("keygen: missing NAME", "keygen", "--type", "ed25519");
	ASSERT_USAGE("keygen: missing --type TYPE", "keygen", "k");
	ASSERT_USAGE("keygen: NAME must not be empty", "keygen", "", "--type", "ed25519");
	ASSERT_USAGE("--type: unknown key type 'rsa:1024'; valid: rsa:2048, rsa:3072, rsa:4096, "
		     "ec:P-256, ec:P-384, ec:P-521, ed25519, hmac:256, hmac:384, hmac:512, "
		     "aes:128, aes:256",
		     "keygen", "k", "--type", "rsa:1024");
	ASSERT_USAGE("unknown key type 'EC:P-256'", "keygen", "k", "--type", "EC:P-256");
	ASSERT_USAGE("unknown key type ''", "keygen", "k", "--type", "");
	ASSERT_USAGE("--ops: unknown operation 'encrypt'; valid: sign, decrypt, unwrap, derive, "
		     "verify, wrap",
		     "keygen", "k", "--type", "rsa:2048", "--ops", "sign,encrypt");
	ASSERT_USAGE("unknown operation ''", "keygen", "k", "--type", "rsa:2048", "--ops", "");
	ASSERT_USAGE("unknown operation ''", "keygen", "k", "--type", "rsa:2048", "--ops", "sign,");
	ASSERT_USAGE("unknown operation ''", "keygen", "k", "--type", "rsa:2048", "--ops",
		     "sign,,derive");
	ASSERT_USAGE("'--type' needs a value", "keygen", "k", "--type");
	ASSERT_USAGE("keygen: unexpected argument 'b'", "keygen", "a", "b", "--type", "ed25519");
	ASSERT_USAGE("not valid for 'keygen'", "keygen", "k", "--type", "ed25519", "--alg",
		     "ed25519");
	ASSERT_USAGE("not valid for 'rotate'", "rotate", "k", "--type", "ed25519");
}

static void test_rotate_versions_reload(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "rotate", "release"), 0);
	assert_ptr_equal(a.cmd, CMD("rotate"));
	assert_string_equal(a.key, "release");
	assert_int_equal(PARSE(&a, msg, "rotate", "--json", "release@2"), 0);
	assert_int_equal(a.json, 1);
	assert_string_equal(a.key, "release@2");
	assert_int_equal(PARSE(&a, msg, "versions", "release"), 0);
	assert_ptr_equal(a.cmd, CMD("versions"));
	assert_string_equal(a.key, "release");
	assert_int_equal(PARSE(&a, msg, "reload"), 0);
	assert_ptr_equal(a.cmd, CMD("reload"));
	assert_null(a.key);
	assert_int_equal(PARSE(&a, msg, "--json", "reload"), 0);
	assert_int_equal(a.json, 1);

	ASSERT_USAGE("rotate: missing KEY", "rotate");
	ASSERT_USAGE("versions: missing KEY", "versions");
	ASSERT_USAGE("versions: unexpected argument 'b'", "versions", "a", "b");
	ASSERT_USAGE("reload: unexpected argument 'k'", "reload", "k");
	assert_int_equal(PARSE(&a, msg, "status"), 0);
	assert_ptr_equal(a.cmd, CMD("status"));
	assert_int_equal(a.json + a.prometheus, 0);
	assert_int_equal(PARSE(&a, msg, "status", "--prometheus"), 0);
	assert_int_equal(a.prometheus, 1);
	assert_int_equal(PARSE(&a, msg, "--json", "status"), 0);
	assert_int_equal(a.json, 1);
	ASSERT_USAGE("status: --json and --prometheus exclude each other", "status", "--json",
		     "--prometheus");
	ASSERT_USAGE("status: unexpected argument 'k'", "status", "k");
	ASSERT_USAGE("not valid for 'reload'", "reload", "--prometheus");
	ASSERT_USAGE("not valid for 'reload'", "reload", "-o", "x");
	ASSERT_USAGE("not valid for 'versions'", "versions", "k", "--below", "2");

	/* The states are explained in versions' help. */
	assert_non_null(strstr(usage_of(CMD("versions")), "VERSION  CREATED     STATE    URI"));
	assert_non_null(strstr(usage_of(CMD("versions")), "newest"));
	assert_non_null(strstr(usage_of(CMD("versions")), "older"));
	assert_non_null(strstr(usage_of(CMD("versions")), "retired"));
	assert_non_null(strstr(usage_of(CMD("trim")), "allow-destroy"));
	assert_non_null(strstr(usage_of(CMD("keygen")), "admin"));
}

static void test_trim(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "trim", "release", "--below", "3"), 0);
	assert_ptr_equal(a.cmd, CMD("trim"));
	assert_string_equal(a.key, "release");
	assert_int_equal(a.below, 3);
	assert_int_equal(PARSE(&a, msg, "trim", "--below=4294967295", "k"), 0);
	assert_int_equal(a.below, UINT32_MAX);

	ASSERT_USAGE("trim: missing --below N", "trim", "k");
	ASSERT_USAGE("trim: missing KEY", "trim", "--below", "2");
	ASSERT_USAGE("--below: '0' is not a positive number", "trim", "k", "--below", "0");
	ASSERT_USAGE("--below: '-1' is not a positive number", "trim", "k", "--below=-1");
	ASSERT_USAGE("--below: 'two' is not a positive number", "trim", "k", "--below", "two");
	ASSERT_USAGE("--below: '2x' is not a positive number", "trim", "k", "--below", "2x");
	ASSERT_USAGE("--below: '' is not a positive number", "trim", "k", "--below", "");
	ASSERT_USAGE("--below: 4294967296 is too large", "trim", "k", "--below", "4294967296");
	ASSERT_USAGE("'--below' needs a value", "trim", "k", "--below");
}

static void test_rewrap(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "rewrap", "kek"), 0);
	assert_ptr_equal(a.cmd, CMD("rewrap"));
	assert_string_equal(a.key, "kek");
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_null(a.in);
	assert_null(a.out);

	assert_int_equal(
	    PARSE(&a, msg, "rewrap", "kek", "--alg", "aes-kw", "-i", "old", "-o", "new"), 0);
	assert_int_equal(a.alg, P11A_ALG_AES_KW);
	assert_string_equal(a.in, "old");
	assert_string_equal(a.out, "new");
	assert_int_equal(
	    PARSE(&a, msg, "rewrap", "rsa", "--alg", "rsa-oaep-sha1", "--label-hex", "6c6162656c"),
	    0);
	assert_int_equal(a.alg, P11A_ALG_RSA_OAEP_SHA1);
	assert_label(&a, "label", 5);
	/* --json with a file for the bytes: the summary goes to stdout. */
	assert_int_equal(PARSE(&a, msg, "--json", "rewrap", "kek", "-o", "new"), 0);
	assert_int_equal(a.json, 1);

	ASSERT_USAGE("rewrap: missing KEY", "rewrap", "-i", "x");
	ASSERT_USAGE("rewrap: --json prints a summary on stdout: give -o OUT", "rewrap", "kek",
		     "--json");
	ASSERT_USAGE("rewrap: --json prints a summary", "rewrap", "kek", "--json", "-o", "-");
	ASSERT_USAGE("'ecdsa-sha256' cannot rewrap; valid for rewrap: rsa-oaep-sha1, "
		     "rsa-oaep-sha256, rsa-oaep-sha384, rsa-oaep-sha512, aes-kw, aes-kwp",
		     "rewrap", "k", "--alg", "ecdsa-sha256");
	ASSERT_USAGE("'rsa-pkcs1' cannot rewrap", "rewrap", "k", "--alg", "rsa-pkcs1");
	ASSERT_USAGE("rewrap: --label applies to RSA-OAEP only, not 'aes-kwp'", "rewrap", "k",
		     "--alg", "aes-kwp", "--label", "x");
	ASSERT_USAGE("not valid for 'rewrap'", "rewrap", "k", "--key-len", "32");
}

/* a was parsed as the cert form want, for KEY key, with no issue options. */
static void assert_cert(const struct cli_args *a, enum cli_cert_action want, const char *key)
{
	assert_ptr_equal(a->cmd, CMD("cert"));
	assert_int_equal(a->cert_action, want);
	assert_string_equal(a->key, key);
}

static void test_cert(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	/* cert KEY [-o OUT] */
	assert_int_equal(PARSE(&a, msg, "cert", "web"), 0);
	assert_cert(&a, CLI_CERT_SHOW, "web");
	assert_null(a.out);
	assert_int_equal(a.days, 0);
	assert_int_equal(a.ca, 0);
	assert_int_equal(a.self, 0);
	assert_null(a.subject);
	assert_null(a.san);
	assert_int_equal(PARSE(&a, msg, "cert", "-o", "web.pem", "web"), 0);
	assert_cert(&a, CLI_CERT_SHOW, "web");
	assert_string_equal(a.out, "web.pem");

	/* cert import KEY -i FILE ('-': stdin) */
	assert_int_equal(PARSE(&a, msg, "cert", "import", "web", "-i", "web.pem"), 0);
	assert_cert(&a, CLI_CERT_IMPORT, "web");
	assert_string_equal(a.in, "web.pem");
	assert_int_equal(PARSE(&a, msg, "cert", "-i", "-", "import", "web"), 0);
	assert_cert(&a, CLI_CERT_IMPORT, "web");
	assert_null(a.in);

	/* cert issue CAKEY -i REQ --days N [--ca] [--san LIST] [-o OUT] */
	assert_int_equal(PARSE(&a, msg, "cert", "issue", "ca", "-i", "req.pem", "--days", "365"),
			 0);
	assert_cert(&a, CLI_CERT_ISSUE, "ca");
	assert_string_equal(a.in, "req.pem");
	assert_int_equal(a.days, 365);
	assert_int_equal(PARSE(&a, msg, "cert", "issue", "ca", "-i", "req.pem", "--days", "36500",
			       "--ca", "--san", "DNS:a.example,IP:192.0.2.1", "-o", "c.pem"),
			 0);
	assert_cert(&a, CLI_CERT_ISSUE, "ca");
	assert_int_equal(a.days, CLI_MAX_DAYS);
	assert_int_equal(a.ca, 1);
	assert_string_equal(a.san, "DNS:a.example,IP:192.0.2.1");
	assert_string_equal(a.out, "c.pem");

	/* cert issue KEY --self --subject DN --days N [--ca] [--san LIST] [-o OUT] */
	assert_int_equal(PARSE(&a, msg, "cert", "issue", "web", "--self", "--subject",
			       "/CN=web.example", "--days", "30"),
			 0);
	assert_cert(&a, CLI_CERT_ISSUE, "web");
	assert_int_equal(a.self, 1);
	assert_string_equal(a.subject, "/CN=web.example");
	assert_int_equal(a.days, 30);
	assert_int_equal(a.ca, 0);
	/* A self-signed CA. */
	assert_int_equal(PARSE(&a, msg, "cert", "issue", "root", "--self", "--ca", "--subject",
			       "/CN=Root", "--days", "3650", "--san", "DNS:root.example"),
			 0);
	assert_int_equal(a.self, 1);
	assert_int_equal(a.ca, 1);
	assert_null(a.eku);
	/* --eku, as typed (x509.c reads the list). */
	assert_int_equal(PARSE(&a, msg, "cert", "issue", "ca", "-i", "r", "--days", "30", "--eku",
			       "serverAuth,clientAuth"),
			 0);
	assert_string_equal(a.eku, "serverAuth,clientAuth");
	/* A key named like an action word, by its URI. */
	assert_int_equal(PARSE(&a, msg, "cert", "pkcs11:object=import"), 0);
	assert_cert(&a, CLI_CERT_SHOW, "pkcs11:object=import");

	ASSERT_USAGE("cert: missing KEY", "cert");
	ASSERT_USAGE("cert: missing KEY", "cert", "-o", "x");
	ASSERT_USAGE("cert: unknown action 'export'; valid: import, issue", "cert", "export", "k");
	ASSERT_USAGE("cert: unexpected argument 'c'", "cert", "import", "k", "c");
	ASSERT_USAGE("cert import: missing KEY", "cert", "import", "-i", "c.pem");
	ASSERT_USAGE("cert issue: missing KEY", "cert", "issue", "--self");
	ASSERT_USAGE("cert import: missing -i FILE", "cert", "import", "k");
	ASSERT_USAGE("cert import: option '--out' does not apply", "cert", "import", "k", "-i", "c",
		     "-o", "x");
	ASSERT_USAGE("cert import: option '--days' does not apply", "cert", "import", "k", "-i",
		     "c", "--days", "3");
	ASSERT_USAGE("cert: option '--in' does not apply", "cert", "k", "-i", "c");
	ASSERT_USAGE("cert: option '--days' does not apply", "cert", "k", "--days", "3");
	ASSERT_USAGE("cert: option '--ca' does not apply", "cert", "k", "--ca");
	ASSERT_USAGE("cert: option '--self' does not apply", "cert", "k", "--self");
	ASSERT_USAGE("cert: option '--subject' does not apply", "cert", "k", "--subject", "/CN=x");
	ASSERT_USAGE("cert: option '--san' does not apply", "cert", "k", "--san", "DNS:x");
	ASSERT_USAGE("cert: option '--eku' does not apply", "cert", "k", "--eku", "serverAuth");
	ASSERT_USAGE("cert import: option '--eku' does not apply", "cert", "import", "k", "-i", "c",
		     "--eku", "serverAuth");
	ASSERT_USAGE("cert issue: missing --days N", "cert", "issue", "ca", "-i", "r");
	ASSERT_USAGE("cert issue: missing --days N", "cert", "issue", "k", "--self", "--subject",
		     "/CN=x");
	ASSERT_USAGE("cert issue: missing -i REQ (a CSR), or --self", "cert", "issue", "ca",
		     "--days", "3");
	ASSERT_USAGE("cert issue --self: missing --subject DN", "cert", "issue", "k", "--self",
		     "--days", "3");
	ASSERT_USAGE("cert issue --self: -i does not apply", "cert", "issue", "k", "--self",
		     "--subject", "/CN=x", "--days", "3", "-i", "r");
	ASSERT_USAGE("cert issue: --subject applies to --self only", "cert", "issue", "ca", "-i",
		     "r", "--days", "3", "--subject", "/CN=x");
	ASSERT_USAGE("--days: '0' is not a positive number", "cert", "issue", "ca", "-i", "r",
		     "--days", "0");
	ASSERT_USAGE("--days: 36501 is too large (at most 36500)", "cert", "issue", "ca", "-i", "r",
		     "--days", "36501");
	ASSERT_USAGE("--days: '1y' is not a positive number", "cert", "issue", "ca", "-i", "r",
		     "--days", "1y");
	ASSERT_USAGE("option '--subject' needs a value", "cert", "issue", "k", "--self",
		     "--subject", "", "--days", "1");
	ASSERT_USAGE("option '--san' needs a value", "cert", "issue", "ca", "-i", "r", "--days",
		     "1", "--san", "");
	ASSERT_USAGE("option '--eku' needs a value", "cert", "issue", "ca", "-i", "r", "--days",
		     "1", "--eku", "");
	ASSERT_USAGE("option '--ca' takes no value", "cert", "issue", "ca", "--ca=yes");
}

static void test_csr(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "csr", "web", "--subject", "/CN=web.example/O=Example"), 0);
	assert_ptr_equal(a.cmd, CMD("csr"));
	assert_string_equal(a.key, "web");
	assert_string_equal(a.subject, "/CN=web.example/O=Example");
	assert_null(a.san);
	assert_null(a.out);
	assert_int_equal(PARSE(&a, msg, "csr", "--san", "DNS:web.example", "-o", "web.csr",
			       "--subject=/CN=web.example", "web"),
			 0);
	assert_string_equal(a.san, "DNS:web.example");
	assert_string_equal(a.out, "web.csr");

	ASSERT_USAGE("csr: missing --subject DN", "csr", "web");
	ASSERT_USAGE("csr: missing KEY", "csr", "--subject", "/CN=x");
	ASSERT_USAGE("not valid for 'csr'", "csr", "web", "--subject", "/CN=x", "--days", "3");
	ASSERT_USAGE("not valid for 'csr'", "csr", "web", "--subject", "/CN=x", "--self");
	ASSERT_USAGE("not valid for 'csr'", "csr", "web", "--subject", "/CN=x", "-i", "r");
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
	ASSERT_USAGE("'-i' must come after the command", "-i", "f", "sign", "k");
	ASSERT_USAGE("missing COMMAND", "--json");
	ASSERT_USAGE("missing COMMAND", "-S", "/s");

	/* "--" before the command. */
	assert_int_equal(PARSE(&a, msg, "--", "list"), 0);
	assert_ptr_equal(a.cmd, CMD("list"));
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

/* The option bits: one each, some past 32, and each the row of its option. */
static void test_option_bits(void **state)
{
	const struct cli_option *o, *p;
	uint64_t seen = 0;
	size_t i, j;

	(void)state;
	for (i = 0; (o = cli_args_option_at(i)) != NULL; i++) {
		assert_int_not_equal(o->bit, 0);
		assert_int_equal(o->bit & (o->bit - 1), 0);
		if (seen & o->bit)
			fail_msg("--%s shares its bit", o->long_name);
		seen |= o->bit;
		for (j = 0; (p = cli_args_option_at(j)) != NULL; j++) {
			if (j != i && strcmp(p->long_name, o->long_name) == 0)
				fail_msg("--%s twice", o->long_name);
		}
	}
	assert_true(i > 32);
	assert_true((seen >> 32) != 0);
	assert_true((CMD("http-verify")->opts & CLI_OPT_AT) != 0);
}

static void test_http_sign(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	/* KEY alone: stdin to stdout, every parameter its default. */
	assert_int_equal(PARSE(&a, msg, "http-sign", "k"), 0);
	assert_ptr_equal(a.cmd, CMD("http-sign"));
	assert_string_equal(a.key, "k");
	assert_null(a.http_alg);
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_null(a.label);
	assert_null(a.components);
	assert_int_equal(a.created_set, 0);
	assert_int_equal(a.expires_set, 0);
	assert_null(a.nonce);
	assert_null(a.keyid);
	assert_null(a.tag);
	assert_int_equal(a.alg_param, 0);
	assert_null(a.digest);
	assert_null(a.request);
	assert_int_equal(a.print_base, 0);
	assert_null(a.in);
	assert_null(a.out);

	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--alg", "ecdsa-p256-sha256", "--label",
			       "sig-b21", "--components", "@method,@authority,content-type",
			       "--created", "1618884473", "--expires", "1618884773", "--nonce",
			       "b3k2pp5k7z-50gnwp.yemd", "--keyid", "test-key-ecc-p256", "--tag",
			       "header-example", "--alg-param", "--digest", "sha-512", "--request",
			       "req.txt", "--print-base", "-i", "m.txt", "-o", "s.txt"),
			 0);
	assert_string_equal(a.http_alg, "ecdsa-p256-sha256");
	assert_int_equal(a.alg, P11A_ALG_NONE);
	assert_string_equal(a.label, "sig-b21");
	assert_int_equal(a.label_hex, 0);
	assert_string_equal(a.components, "@method,@authority,content-type");
	assert_int_equal(a.created_set, 1);
	assert_true(a.created == 1618884473);
	assert_int_equal(a.expires_set, 1);
	assert_int_equal(a.expires_rel, 0);
	assert_true(a.expires == 1618884773);
	assert_string_equal(a.nonce, "b3k2pp5k7z-50gnwp.yemd");
	assert_string_equal(a.keyid, "test-key-ecc-p256");
	assert_string_equal(a.tag, "header-example");
	assert_int_equal(a.alg_param, 1);
	assert_string_equal(a.digest, "sha-512");
	assert_string_equal(a.request, "req.txt");
	assert_int_equal(a.print_base, 1);
	assert_string_equal(a.in, "m.txt");
	assert_string_equal(a.out, "s.txt");

	/* --created now, the bounds; --expires +S; "" covers nothing. */
	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--created", "5", "--created", "now",
			       "--expires", "+300", "--components", ""),
			 0);
	assert_int_equal(a.created_set, 0);
	assert_int_equal(a.expires_set, 1);
	assert_int_equal(a.expires_rel, 1);
	assert_true(a.expires == 300);
	assert_string_equal(a.components, "");
	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--created=0", "--expires=253402300799",
			       "--components="),
			 0);
	assert_int_equal(a.created_set, 1);
	assert_true(a.created == 0);
	assert_true(a.expires == CLI_HTTP_TIME_MAX);
	assert_string_equal(a.components, "");
	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--created", "253402300799", "--digest",
			       "sha-256", "--nonce", " ~\"\\ "),
			 0);
	assert_true(a.created == CLI_HTTP_TIME_MAX);
	assert_string_equal(a.digest, "sha-256");
	assert_string_equal(a.nonce, " ~\"\\ ");
	/* --request - with the message from a file. */
	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--request", "-", "-i", "m"), 0);
	assert_string_equal(a.request, "-");

	/* Bad values: usage errors that name the option. */
	ASSERT_USAGE("--created: 'yesterday' is not now or a Unix time", "http-sign", "k",
		     "--created", "yesterday");
	ASSERT_USAGE("--created: '-1'", "http-sign", "k", "--created", "-1");
	ASSERT_USAGE("--created: '+5'", "http-sign", "k", "--created", "+5");
	ASSERT_USAGE("--created: '1.5'", "http-sign", "k", "--created", "1.5");
	ASSERT_USAGE("--created: 253402300800 is too large", "http-sign", "k", "--created",
		     "253402300800");
	ASSERT_USAGE("--created: 99999999999999999999999 is too large", "http-sign", "k",
		     "--created", "99999999999999999999999");
	ASSERT_USAGE("option '--created' needs a value", "http-sign", "k", "--created");
	ASSERT_USAGE("--expires: '' is not a Unix time", "http-sign", "k", "--expires", "");
	ASSERT_USAGE("--expires: '+0' is not +S", "http-sign", "k", "--expires", "+0");
	ASSERT_USAGE("--expires: '+' is not +S", "http-sign", "k", "--expires", "+");
	ASSERT_USAGE("--expires: '+-5' is not +S", "http-sign", "k", "--expires", "+-5");
	ASSERT_USAGE("--expires: '-5' is not a Unix time", "http-sign", "k", "--expires", "-5");
	ASSERT_USAGE("--expires: +253402300800 is too large", "http-sign", "k", "--expires",
		     "+253402300800");
	ASSERT_USAGE("--expires: 'now'", "http-sign", "k", "--expires", "now");
	ASSERT_USAGE("--digest: unknown digest 'sha-1'; valid: sha-256, sha-512", "http-sign", "k",
		     "--digest", "sha-1");
	ASSERT_USAGE("--digest: unknown digest 'SHA-256'", "http-sign", "k", "--digest", "SHA-256");
	ASSERT_USAGE("--digest: unknown digest 'sha256'", "http-sign", "k", "--digest", "sha256");
	ASSERT_USAGE("option '--nonce' needs a value", "http-sign", "k", "--nonce", "");
	ASSERT_USAGE("--nonce: byte 0x09 at offset 1 is not printable ASCII", "http-sign", "k",
		     "--nonce", "a\tb");
	ASSERT_USAGE("--keyid: byte 0xc3 at offset 0 is not printable ASCII", "http-sign", "k",
		     "--keyid", "\xc3\xa9");
	ASSERT_USAGE("--tag: byte 0x7f at offset 2 is not printable ASCII", "http-sign", "k",
		     "--tag", "ab\x7f");
	ASSERT_USAGE("--tag: byte 0x0a", "http-sign", "k", "--tag=a\nb");
	{
		static char big[CLI_HTTP_PARAM_MAX + 2];

		memset(big, 'n', sizeof(big) - 1);
		ASSERT_USAGE("--keyid: longer than 1024 bytes", "http-sign", "k", "--keyid", big);
		big[CLI_HTTP_PARAM_MAX] = '\0';
		assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--keyid", big), 0);
		assert_int_equal(strlen(a.keyid), CLI_HTTP_PARAM_MAX);
	}
	ASSERT_USAGE("option '--request' needs a file name", "http-sign", "k", "--request", "");
	ASSERT_USAGE("--request - reads the request from stdin", "http-sign", "k", "--request",
		     "-");
	ASSERT_USAGE("option '--alg-param' takes no value", "http-sign", "k", "--alg-param=yes");
	ASSERT_USAGE("option '--print-base' takes no value", "http-sign", "k", "--print-base=1");
	ASSERT_USAGE("http-sign: missing KEY", "http-sign", "--print-base");
	ASSERT_USAGE("unexpected argument 'x'", "http-sign", "k", "x");

	/* What http-sign does not take. */
	ASSERT_USAGE("option '--max-age' is not valid for 'http-sign'", "http-sign", "k",
		     "--max-age", "5");
	ASSERT_USAGE("option '--require' is not valid for 'http-sign'", "http-sign", "k",
		     "--require", "@method");
	ASSERT_USAGE("option '--at' is not valid for 'http-sign'", "http-sign", "k", "--at", "5");
	ASSERT_USAGE("option '--label-hex' is not valid for 'http-sign'", "http-sign", "k",
		     "--label-hex", "00");
	ASSERT_USAGE("option '--sig' is not valid for 'http-sign'", "http-sign", "k", "--sig", "s");
	ASSERT_USAGE("option '--raw' is not valid for 'http-sign'", "http-sign", "k", "--raw");
}

static void test_http_verify(void **state)
{
	struct cli_args a;
	char msg[MSG_LEN];

	(void)state;
	assert_int_equal(PARSE(&a, msg, "http-verify", "k"), 0);
	assert_ptr_equal(a.cmd, CMD("http-verify"));
	assert_string_equal(a.key, "k");
	assert_null(a.label);
	assert_null(a.http_alg);
	assert_int_equal(a.max_age, 0);
	assert_null(a.require);
	assert_int_equal(a.at_set, 0);
	assert_null(a.request);
	assert_null(a.in);

	assert_int_equal(PARSE(&a, msg, "--json", "http-verify", "k", "--label", "sig1", "--alg",
			       "ed25519", "--max-age", "300", "--require", "@method,content-digest",
			       "--at", "1618884480", "--request", "r", "-i", "-"),
			 0);
	assert_int_equal(a.json, 1);
	assert_string_equal(a.label, "sig1");
	assert_string_equal(a.http_alg, "ed25519");
	assert_true(a.max_age == 300);
	assert_string_equal(a.require, "@method,content-digest");
	assert_int_equal(a.at_set, 1);
	assert_true(a.at == 1618884480);
	assert_string_equal(a.request, "r");
	assert_null(a.in);
	assert_int_equal(PARSE(&a, msg, "http-verify", "k", "--at=0", "--max-age=253402300799"), 0);
	assert_int_equal(a.at_set, 1);
	assert_true(a.at == 0);
	assert_true(a.max_age == CLI_HTTP_TIME_MAX);

	ASSERT_USAGE("--max-age: '0' is not a positive number of seconds", "http-verify", "k",
		     "--max-age", "0");
	ASSERT_USAGE("--max-age: '-3'", "http-verify", "k", "--max-age", "-3");
	ASSERT_USAGE("--max-age: '5m'", "http-verify", "k", "--max-age", "5m");
	ASSERT_USAGE("--max-age: 253402300800 is too large", "http-verify", "k", "--max-age",
		     "253402300800");
	ASSERT_USAGE("--at: 'now' is not a Unix time", "http-verify", "k", "--at", "now");
	ASSERT_USAGE("--at: '' is not a Unix time", "http-verify", "k", "--at=");
	ASSERT_USAGE("--at: 253402300800 is too large", "http-verify", "k", "--at", "253402300800");
	ASSERT_USAGE("option '--require' needs a value", "http-verify", "k", "--require", "");
	ASSERT_USAGE("--request - reads the request from stdin", "http-verify", "k", "--request",
		     "-");

	/* What http-verify does not take: the signing side's options, -o. */
	ASSERT_USAGE("option '--components' is not valid for 'http-verify'", "http-verify", "k",
		     "--components", "@method");
	ASSERT_USAGE("option '--created' is not valid for 'http-verify'", "http-verify", "k",
		     "--created", "now");
	ASSERT_USAGE("option '--expires' is not valid", "http-verify", "k", "--expires", "+5");
	ASSERT_USAGE("option '--nonce' is not valid", "http-verify", "k", "--nonce", "n");
	ASSERT_USAGE("option '--keyid' is not valid", "http-verify", "k", "--keyid", "i");
	ASSERT_USAGE("option '--tag' is not valid", "http-verify", "k", "--tag", "t");
	ASSERT_USAGE("option '--alg-param' is not valid", "http-verify", "k", "--alg-param");
	ASSERT_USAGE("option '--digest' is not valid", "http-verify", "k", "--digest", "sha-256");
	ASSERT_USAGE("option '--print-base' is not valid", "http-verify", "k", "--print-base");
	ASSERT_USAGE("option '-o' is not valid for 'http-verify'", "http-verify", "k", "-o", "x");
}

/* The new options are refused by the commands that do not take them. */
static void test_http_options_elsewhere(void **state)
{
	static const char *const cmds[] = {"sign", "verify", "hmac", "decrypt", "list", "csr"};
	static const char *const with_value[] = {
	    "--components", "--created", "--expires", "--nonce",   "--keyid", "--tag",
	    "--digest",	    "--request", "--max-age", "--require", "--at"};
	static const char *const flags[] = {"--alg-param", "--print-base"};
	char want[128];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (j = 0; j < sizeof(with_value) / sizeof(with_value[0]); j++) {
			snprintf(want, sizeof(want), "option '%s' is not valid for '%s'",
				 with_value[j], cmds[i]);
			ASSERT_USAGE(want, cmds[i], with_value[j], "1", "k");
		}
		for (j = 0; j < sizeof(flags) / sizeof(flags[0]); j++) {
			snprintf(want, sizeof(want), "option '%s' is not valid for '%s'", flags[j],
				 cmds[i]);
			ASSERT_USAGE(want, cmds[i], flags[j], "k");
		}
	}
	ASSERT_USAGE("option '--created' must come after the command", "--created", "now",
		     "http-sign", "k");
	ASSERT_USAGE("unknown option '--key'", "http-sign", "k", "--key", "x");
}

/* --alg: the RFC 9421 names for the http commands, proto's table elsewhere. */
static void test_http_alg(void **state)
{
	static const char *const http_cmds[] = {"http-sign", "http-verify"};
	struct cli_args a;
	char msg[MSG_LEN], list[512];
	const char *name;
	size_t i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		for (i = 0; (name = p11a_http_alg_at(i)) != NULL; i++) {
			assert_int_equal(PARSE(&a, msg, http_cmds[k], "k", "--alg", name), 0);
			assert_string_equal(a.http_alg, name);
			assert_int_equal(a.alg, P11A_ALG_NONE);
			if (!names(usage_of(CMD(http_cmds[k])), name))
				fail_msg("%s usage lacks %s", http_cmds[k], name);
		}
		assert_int_equal(i, 6);
		cli_args_alg_names(CMD(http_cmds[k]), list, sizeof(list));
		assert_string_equal(list, "hmac-sha256, rsa-pss-sha512, rsa-v1_5-sha256, "
					  "ecdsa-p256-sha256, ecdsa-p384-sha384, ed25519");
		/* proto's names that RFC 9421 does not have, and case. */
		ASSERT_USAGE("--alg: unknown algorithm 'rsa-pss-sha256'; valid for http-",
			     http_cmds[k], "k", "--alg", "rsa-pss-sha256");
		ASSERT_USAGE("rsa-v1_5-sha256, ecdsa-p256-sha256", http_cmds[k], "k", "--alg",
			     "ecdsa-sha256");
		ASSERT_USAGE("unknown algorithm 'HMAC-SHA256'", http_cmds[k], "k", "--alg",
			     "HMAC-SHA256");
		ASSERT_USAGE("unknown algorithm 'hmac-sha512'", http_cmds[k], "k", "--alg",
			     "hmac-sha512");
		ASSERT_USAGE("option '--alg' needs a value", http_cmds[k], "k", "--alg");
	}
	/* And the RFC 9421 names are not proto's elsewhere. */
	ASSERT_USAGE("unknown algorithm 'ecdsa-p256-sha256'; valid for sign", "sign", "k", "--alg",
		     "ecdsa-p256-sha256");
	ASSERT_USAGE("unknown algorithm 'rsa-v1_5-sha256'", "verify", "k", "--sig", "s", "--alg",
		     "rsa-v1_5-sha256");
	assert_int_equal(PARSE(&a, msg, "sign", "k", "--alg", "ed25519"), 0);
	assert_int_equal(a.alg, P11A_ALG_ED25519);
	assert_null(a.http_alg);
	/* The general help lists them once, for both commands. */
	assert_non_null(strstr(usage_of(NULL), "for http-sign and http-verify:\n  hmac-sha256, "
					       "rsa-pss-sha512, rsa-v1_5-sha256"));
}

/* --label: the signature's label, an RFC 9651 key, for the http commands. */
static void test_http_label(void **state)
{
	static const char *const good[] = {"sig1",	"*",	     "a",   "sig-b21",
					   "proxy_sig", "x.y*z-0_9", "*sig"};
	static const char *const bad[] = {"Sig1",  "1sig",  "_sig",	   "-sig", ".sig",
					  "sig 1", "sig=1", "sig\xc3\xa9", "sIg",  "sig/1"};
	char label[CLI_HTTP_LABEL_MAX + 2];
	struct cli_args a;
	char msg[MSG_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--label", good[i]), 0);
		assert_string_equal(a.label, good[i]);
		assert_int_equal(PARSE(&a, msg, "http-verify", "--label", good[i], "k"), 0);
		assert_string_equal(a.label, good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_USAGE("--label: '", "http-sign", "k", "--label", bad[i]);
		ASSERT_USAGE("is not a signature label (an RFC 9651 key", "http-verify", "k",
			     "--label", bad[i]);
	}
	ASSERT_USAGE("option '--label' needs a value", "http-sign", "k", "--label", "");
	ASSERT_USAGE("option '--label' needs a value", "http-verify", "k", "--label=");
	memset(label, 'l', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	ASSERT_USAGE("--label: a signature label is at most 64 bytes", "http-sign", "k", "--label",
		     label);
	label[CLI_HTTP_LABEL_MAX] = '\0';
	assert_int_equal(PARSE(&a, msg, "http-sign", "k", "--label", label), 0);
	/* For decrypt, --label is still the OAEP label: any text. */
	assert_int_equal(PARSE(&a, msg, "decrypt", "k", "--label", "Invoice 7"), 0);
	assert_string_equal(a.label, "Invoice 7");
	assert_int_equal(a.label_hex, 0);
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

/* Messages name the option as it was typed: "-i" or "--in". */
static void test_typed_spelling(void **state)
{
	(void)state;
	ASSERT_USAGE("option '-i' needs a file name", "sign", "k", "-i", "");
	ASSERT_USAGE("option '--in' needs a file name", "sign", "k", "--in", "");
	ASSERT_USAGE("option '--in' needs a file name", "sign", "k", "--in=");
	ASSERT_USAGE("option '-o' needs a file name", "sign", "k", "-o", "");
	ASSERT_USAGE("option '-S' needs a path", "-S", "", "ping");
	ASSERT_USAGE("option '-i' is not valid for 'list'", "list", "-i", "x");
	ASSERT_USAGE("option '-o' must come after the command", "-o", "x", "list");
	ASSERT_USAGE("option '-i' needs a value", "sign", "k", "-i");
	ASSERT_USAGE("option '--in' needs a value", "sign", "k", "--in");
}

/* ping's help lists only the exit statuses ping returns: 0, 1, 2, 3. */
static void test_ping_exit_text(void **state)
{
	const char *u = usage_of(CMD("ping"));

	(void)state;
	assert_non_null(strstr(u, "Exit status"));
	if (strstr(u, "4 ") != NULL || strstr(u, "5 ") != NULL || strstr(u, "6 ") != NULL)
		fail_msg("ping's usage lists a status ping never returns:\n%s", u);
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
	    cmocka_unit_test(test_keyfile),
	    cmocka_unit_test(test_sign),
	    cmocka_unit_test(test_unknown_alg),
	    cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_hmac),
	    cmocka_unit_test(test_decrypt),
	    cmocka_unit_test(test_unwrap),
	    cmocka_unit_test(test_derive),
	    cmocka_unit_test(test_seal_open),
	    cmocka_unit_test(test_keygen),
	    cmocka_unit_test(test_rotate_versions_reload),
	    cmocka_unit_test(test_trim),
	    cmocka_unit_test(test_rewrap),
	    cmocka_unit_test(test_cert),
	    cmocka_unit_test(test_csr),
	    cmocka_unit_test(test_option_bits),
	    cmocka_unit_test(test_http_sign),
	    cmocka_unit_test(test_http_verify),
	    cmocka_unit_test(test_http_options_elsewhere),
	    cmocka_unit_test(test_http_alg),
	    cmocka_unit_test(test_http_label),
	    cmocka_unit_test(test_global_errors),
	    cmocka_unit_test(test_reentrant),
	    cmocka_unit_test(test_typed_spelling),
	    cmocka_unit_test(test_ping_exit_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
