#include "config.h"
/*
 * test-alg: the algorithm table, error names and the default socket path
 * (proto/alg.c, proto/err.c, proto/sockpath.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11agent.h"
#include "proto.h"

struct want_alg {
	p11a_alg alg;
	const char *name;
	p11a_key_type key_type;
	const char *hash;
	size_t digest_len;
	p11a_input input;
	uint32_t ops;
};

/* The algorithms of the spec (issues 2 and 3), written out independently of alg.c. */
static const struct want_alg want[] = {
    {P11A_ALG_RSA_PKCS1_SHA256, "rsa-pkcs1-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PKCS1_SHA384, "rsa-pkcs1-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PKCS1_SHA512, "rsa-pkcs1-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA256, "rsa-pss-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA384, "rsa-pss-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA512, "rsa-pss-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA256, "ecdsa-sha256", P11A_KEY_EC, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA384, "ecdsa-sha384", P11A_KEY_EC, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA512, "ecdsa-sha512", P11A_KEY_EC, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ED25519, "ed25519", P11A_KEY_ED25519, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA256, "hmac-sha256", P11A_KEY_HMAC, "SHA256", 32, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA384, "hmac-sha384", P11A_KEY_HMAC, "SHA384", 48, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA512, "hmac-sha512", P11A_KEY_HMAC, "SHA512", 64, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_OAEP_SHA1, "rsa-oaep-sha1", P11A_KEY_RSA, "SHA1", 20, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA256, "rsa-oaep-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA384, "rsa-oaep-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA512, "rsa-oaep-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_PKCS1, "rsa-pkcs1", P11A_KEY_RSA, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_DECRYPT},
    {P11A_ALG_AES_KW, "aes-kw", P11A_KEY_AES, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_UNWRAP},
    {P11A_ALG_AES_KWP, "aes-kwp", P11A_KEY_AES, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_UNWRAP},
    {P11A_ALG_ECDH, "ecdh", P11A_KEY_EC, NULL, 0, P11A_INPUT_PUBKEY, P11A_OP_DERIVE},
};

#define N_WANT (sizeof(want) / sizeof(want[0]))

static void assert_alg(const struct p11a_alg_info *ai, const struct want_alg *w)
{
	assert_non_null(ai);
	assert_int_equal(ai->alg, w->alg);
	assert_string_equal(ai->name, w->name);
	assert_int_equal(ai->key_type, w->key_type);
	if (w->hash == NULL)
		assert_null(ai->hash);
	else
		assert_string_equal(ai->hash, w->hash);
	assert_int_equal(ai->ops, w->ops);
	assert_int_equal(ai->digest_len, w->digest_len);
	assert_int_equal(ai->input, w->input);
}

static void test_by_name_and_id(void **state)
{
	for (size_t i = 0; i < N_WANT; i++) {
		const struct p11a_alg_info *by_name = p11a_alg_by_name(want[i].name);
		const struct p11a_alg_info *by_id = p11a_alg_by_id((uint32_t)want[i].alg);

		assert_alg(by_name, &want[i]);
		assert_alg(by_id, &want[i]);
		assert_ptr_equal(by_name, by_id);
		/* Name to id to name. */
		assert_string_equal(p11a_alg_by_id((uint32_t)by_name->alg)->name, want[i].name);
		assert_int_equal(p11a_alg_by_name(by_id->name)->alg, want[i].alg);
	}
}

/* p11a_alg_at() walks exactly the table: every algorithm once, then NULL. */
static void test_table_walk(void **state)
{
	int seen[N_WANT] = {0};
	size_t n = 0;
	const struct p11a_alg_info *ai;

	for (n = 0; (ai = p11a_alg_at(n)) != NULL; n++) {
		size_t j;

		assert_true(n < 64);
		for (j = 0; j < N_WANT; j++)
			if (want[j].alg == ai->alg)
				break;
		assert_true(j < N_WANT);
		assert_alg(ai, &want[j]);
		assert_int_equal(seen[j], 0);
		seen[j] = 1;
	}
	assert_int_equal(n, N_WANT);
	assert_null(p11a_alg_at(N_WANT));
	assert_null(p11a_alg_at(SIZE_MAX));
}

static void test_digest_lengths(void **state)
{
	assert_int_equal(p11a_alg_by_name("rsa-pkcs1-sha256")->digest_len, 32);
	assert_int_equal(p11a_alg_by_name("rsa-pss-sha384")->digest_len, 48);
	assert_int_equal(p11a_alg_by_name("ecdsa-sha512")->digest_len, 64);
	assert_int_equal(p11a_alg_by_name("ed25519")->digest_len, 0);
	assert_null(p11a_alg_by_name("ed25519")->hash);
	assert_int_equal(p11a_alg_by_name("ed25519")->input, P11A_INPUT_MESSAGE);
	assert_int_equal(p11a_alg_by_name("hmac-sha256")->input, P11A_INPUT_MESSAGE);
	assert_int_equal(p11a_alg_by_name("hmac-sha512")->digest_len, 64);
	assert_int_equal(p11a_alg_by_name("ecdsa-sha256")->input, P11A_INPUT_DIGEST);
}

static void test_unknown(void **state)
{
	static const char *const names[] = {
	    "",		 "rsa", "RSA-PKCS1-SHA256", "rsa-pkcs1-sha1", "ecdsa-sha256 ", "ed448",
	    "hmac-sha1", "none"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_null(p11a_alg_by_name(names[i]));
	assert_null(p11a_alg_by_name(NULL));
	assert_null(p11a_alg_by_id(P11A_ALG_NONE));
	assert_null(p11a_alg_by_id(P11A_ALG_ECDH + 1));
	assert_null(p11a_alg_by_id(0x100));
	assert_null(p11a_alg_by_id(UINT32_MAX));
}

static void test_key_type_names(void **state)
{
	assert_string_equal(p11a_key_type_name(P11A_KEY_RSA), "rsa");
	assert_string_equal(p11a_key_type_name(P11A_KEY_EC), "ec");
	assert_string_equal(p11a_key_type_name(P11A_KEY_ED25519), "ed25519");
	assert_string_equal(p11a_key_type_name(P11A_KEY_HMAC), "hmac");
	assert_string_equal(p11a_key_type_name(P11A_KEY_AES), "aes");
	assert_string_equal(p11a_key_type_name(P11A_KEY_UNKNOWN), "unknown");
	assert_string_equal(p11a_key_type_name((p11a_key_type)99), "unknown");
}

static const struct {
	int code;
	const char *name;
} codes[] = {
    {P11A_OK, "OK"},
    {P11A_ERR_BAD_REQUEST, "BAD_REQUEST"},
    {P11A_ERR_UNKNOWN_OP, "UNKNOWN_OP"},
    {P11A_ERR_VERSION, "VERSION"},
    {P11A_ERR_NO_SUCH_KEY, "NO_SUCH_KEY"},
    {P11A_ERR_AMBIGUOUS_KEY, "AMBIGUOUS_KEY"},
    {P11A_ERR_NOT_ALLOWED, "NOT_ALLOWED"},
    {P11A_ERR_NOT_SUPPORTED, "NOT_SUPPORTED"},
    {P11A_ERR_BAD_INPUT, "BAD_INPUT"},
    {P11A_ERR_TOKEN, "TOKEN_ERROR"},
    {P11A_ERR_TOO_LARGE, "TOO_LARGE"},
    {P11A_ERR_DENIED, "DENIED"},
    {P11A_ERR_TOKEN_UNAVAILABLE, "TOKEN_UNAVAILABLE"},
    {P11A_ERR_INTERNAL, "INTERNAL"},
    {P11A_ERR_BUSY, "BUSY"},
    {P11A_ERR_CONNECT, "CONNECT"},
    {P11A_ERR_IO, "IO"},
    {P11A_ERR_PROTOCOL, "PROTOCOL"},
    {P11A_ERR_NOMEM, "NOMEM"},
    {P11A_ERR_INVALID_ARG, "INVALID_ARG"},
    {P11A_ERR_CRYPTO, "CRYPTO"},
    {P11A_ERR_UNSAFE_PATH, "UNSAFE_PATH"},
};

#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static void test_error_names(void **state)
{
	const char *unknown_text = p11a_strerror(-1);

	assert_non_null(unknown_text);
	for (size_t i = 0; i < N_CODES; i++) {
		const char *text = p11a_strerror(codes[i].code);

		assert_string_equal(p11a_errname(codes[i].code), codes[i].name);
		assert_non_null(text);
		assert_true(strlen(text) > 0);
		/* A real description, not the fallback. */
		assert_string_not_equal(text, unknown_text);
		/* Every description differs from every other. */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(text, p11a_strerror(codes[j].code));
	}
	assert_string_equal(p11a_strerror(P11A_ERR_NO_SUCH_KEY), "no such key");
}

static void test_error_unknown(void **state)
{
	static const int unknown[] = {-1, 15, 63, 71, 1000, 0x7fffffff};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_string_equal(p11a_errname(unknown[i]), "UNKNOWN");
		assert_non_null(p11a_strerror(unknown[i]));
		assert_string_equal(p11a_strerror(unknown[i]), "unknown error");
	}
}

/* Runs with XDG_RUNTIME_DIR restored afterwards. */
static int save_env(void **state)
{
	const char *v = getenv("XDG_RUNTIME_DIR");

	*state = v != NULL ? strdup(v) : NULL;
	return 0;
}

static int restore_env(void **state)
{
	if (*state != NULL) {
		setenv("XDG_RUNTIME_DIR", *state, 1);
		free(*state);
	} else {
		unsetenv("XDG_RUNTIME_DIR");
	}
	return 0;
}

static void test_default_socket(void **state)
{
	char path[256];

	assert_int_equal(setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1), 0);
	assert_int_equal(proto_default_socket(path, sizeof(path)), P11A_OK);
	assert_string_equal(path, "/run/user/4242/p11agent/agent.sock");

	assert_int_equal(setenv("XDG_RUNTIME_DIR", "/tmp/x y", 1), 0);
	assert_int_equal(proto_default_socket(path, sizeof(path)), P11A_OK);
	assert_string_equal(path, "/tmp/x y/p11agent/agent.sock");

	/* Unset: no default (no guess at /run/user/UID, which may not exist). */
	assert_int_equal(unsetenv("XDG_RUNTIME_DIR"), 0);
	assert_int_equal(proto_default_socket(path, sizeof(path)), P11A_ERR_NOT_SUPPORTED);

	/* Set but empty: as if unset. */
	assert_int_equal(setenv("XDG_RUNTIME_DIR", "", 1), 0);
	assert_int_equal(proto_default_socket(path, sizeof(path)), P11A_ERR_NOT_SUPPORTED);
}

static void test_default_socket_too_small(void **state)
{
	static const char want_path[] = "/r/p11agent/agent.sock";
	char path[sizeof(want_path)];

	assert_int_equal(setenv("XDG_RUNTIME_DIR", "/r", 1), 0);
	/* Exactly enough room. */
	assert_int_equal(proto_default_socket(path, sizeof(path)), P11A_OK);
	assert_string_equal(path, want_path);
	/* One byte short. */
	assert_int_equal(proto_default_socket(path, sizeof(path) - 1), P11A_ERR_INVALID_ARG);
	assert_int_equal(proto_default_socket(path, 1), P11A_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_by_name_and_id),
	    cmocka_unit_test(test_table_walk),
	    cmocka_unit_test(test_digest_lengths),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_key_type_names),
	    cmocka_unit_test(test_error_names),
	    cmocka_unit_test(test_error_unknown),
	    cmocka_unit_test_setup_teardown(test_default_socket, save_env, restore_env),
	    cmocka_unit_test_setup_teardown(test_default_socket_too_small, save_env, restore_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
