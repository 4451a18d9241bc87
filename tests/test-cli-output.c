/*
 * test-cli-output: what p11agent prints for a key list (cli/output.c), the
 * table and the JSON array, without any agent.
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

#include "../cli/output.h"

/* Prints keys (json or not) into a string; free() it. */
static char *print(const struct p11a_key_info *keys, const char *const *fps, size_t n, int json)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	cli_print_keys(f, keys, fps, n, json);
	assert_int_equal(fclose(f), 0);
	assert_non_null(text);
	return text;
}

static uint8_t id_01[] = {0x01};
static uint8_t id_20[] = {0x20};
/* (struct p11a_key_info holds char *, and string literals are const here.) */
static char rsa_label[] = "server-rsa", rsa_uri[] = "pkcs11:id=%01;object=server-rsa;type=private",
	    rsa_algs[] = "rsa-pkcs1-sha256,rsa-oaep-sha1,rsa-oaep-sha256",
	    rsa_default[] = "rsa-pkcs1-sha256", rsa_sw[] = "rsa-oaep-sha256",
	    rsa_name[] = "release";
static char aes_label[] = "kek", aes_uri[] = "pkcs11:id=%20;object=kek;type=secret-key",
	    aes_algs[] = "aes-kw,aes-kwp";
static char empty[] = "";

static const struct p11a_key_info keys[] = {
    {.label = rsa_label,
     .id = id_01,
     .id_len = 1,
     .uri = rsa_uri,
     .type = P11A_KEY_RSA,
     .bits = 2048,
     .curve = empty,
     .ops = P11A_OP_SIGN | P11A_OP_DECRYPT | P11A_OP_UNWRAP,
     .algs = rsa_algs,
     .default_alg = rsa_default,
     .sw_algs = rsa_sw,
     .name = rsa_name},
    {.label = aes_label,
     .id = id_20,
     .id_len = 1,
     .uri = aes_uri,
     .type = P11A_KEY_AES,
     .bits = 256,
     .curve = empty,
     .ops = P11A_OP_UNWRAP,
     .algs = aes_algs,
     .default_alg = empty,
     .sw_algs = empty},
};

static void test_json_sw_algs(void **state)
{
	char *text;
	struct p11a_key_info k = keys[0];

	(void)state;
	text = print(keys, NULL, 2, 1);
	if (strstr(text, "\"algs\":[\"rsa-pkcs1-sha256\",\"rsa-oaep-sha1\",\"rsa-oaep-sha256\"],"
			 "\"default_alg\":\"rsa-pkcs1-sha256\",\"sw_algs\":[\"rsa-oaep-sha256\"],"
			 "\"name\":\"release\",") == NULL)
		fail_msg("%s", text);
	if (strstr(text, "\"ops\":[\"sign\",\"decrypt\",\"unwrap\"]") == NULL)
		fail_msg("%s", text);
	/* None completed in software: an empty array. */
	if (strstr(text, "\"default_alg\":\"\",\"sw_algs\":[],\"name\":\"\",") == NULL)
		fail_msg("%s", text);
	free(text);

	/* An agent that sends no sw_algs (NULL): an empty array too. */
	k.sw_algs = NULL;
	text = print(&k, NULL, 1, 1);
	assert_non_null(strstr(text, "\"sw_algs\":[],"));
	free(text);
}

/*
 * The table is NAME TYPE OPS FINGERPRINT URI: no algorithms in it. NAME is
 * the config name when the key has one, else the label; a key without a
 * fingerprint shows "-".
 */
static void test_table(void **state)
{
	static const char *const fps[] = {"SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
					  NULL};
	char *text;

	(void)state;
	text = print(keys, fps, 2, 0);
	/* The URIs start in the same column, after the widest fingerprint. */
	if (strstr(text,
		   "release  rsa:2048  sign,decrypt,unwrap  "
		   "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG  pkcs11:id=%01") == NULL ||
	    strstr(text, "\nkek      aes:256   unwrap               -    ") == NULL ||
	    strstr(text, "pkcs11:id=%20") - (strchr(text, '\n') + 1) !=
		strstr(text, "pkcs11:id=%01") - text)
		fail_msg("%s", text);
	assert_null(strstr(text, "oaep"));
	free(text);

	/* Without any fingerprint, the column is "-" throughout. */
	text = print(keys, NULL, 2, 0);
	assert_non_null(strstr(text, "release  rsa:2048  sign,decrypt,unwrap  -  pkcs11:id=%01"));
	free(text);
}

/* --json: "fingerprint", "" for a key without one. */
static void test_json_fingerprint(void **state)
{
	static const char *const fps[] = {"SHA256:xyz", NULL};
	char *text;

	(void)state;
	text = print(keys, fps, 2, 1);
	if (strstr(text, "\"name\":\"release\",\"fingerprint\":\"SHA256:xyz\"}") == NULL ||
	    strstr(text, "\"name\":\"\",\"fingerprint\":\"\"}") == NULL)
		fail_msg("%s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_sw_algs),
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_json_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
