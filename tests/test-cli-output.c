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
	if (strstr(text, "\"name\":\"release\",\"fingerprint\":\"SHA256:xyz\",") == NULL ||
	    strstr(text, "\"name\":\"\",\"fingerprint\":\"\",") == NULL)
		fail_msg("%s", text);
	free(text);
}

static char fam[] = "signer", fam2_label[] = "signer@2",
	    fam2_uri[] = "pkcs11:id=%02;object=signer%402", created[] = "2026-05-01",
	    expiry[] = "2027-05-01T12:00:00Z";

/* Two versions of a family, the newer with a certificate. */
static void family(struct p11a_key_info k[2])
{
	k[0] = keys[0];
	k[1] = keys[0];
	k[0].family = fam;
	k[0].version = 1;
	k[0].min_version = 1;
	k[0].created = empty;
	k[0].cert_expiry = empty;
	k[1].label = fam2_label;
	k[1].uri = fam2_uri;
	k[1].family = fam;
	k[1].version = 2;
	k[1].min_version = 1;
	k[1].newest = 1;
	k[1].created = created;
	k[1].cert_expiry = expiry;
}

/* --json: the lifecycle fields, "" for a date the key lacks (and NULL). */
static void test_json_lifecycle(void **state)
{
	struct p11a_key_info k[2];
	char *text;

	(void)state;
	family(k);
	text = print(k, NULL, 2, 1);
	if (strstr(text, "\"family\":\"signer\",\"version\":1,\"min_version\":1,\"newest\":false,"
			 "\"created\":\"\",\"cert_expiry\":\"\"}") == NULL ||
	    strstr(text,
		   "\"family\":\"signer\",\"version\":2,\"min_version\":1,\"newest\":true,"
		   "\"created\":\"2026-05-01\",\"cert_expiry\":\"2027-05-01T12:00:00Z\"}") == NULL)
		fail_msg("%s", text);
	free(text);
	/* An agent's entry without them (NULL strings): "" too. */
	text = print(keys, NULL, 1, 1);
	assert_non_null(strstr(text, "\"family\":\"\",\"version\":0,"));
	free(text);
}

/* One entry, as keygen and versions print it: the list's object, and "state". */
static void test_json_key(void **state)
{
	struct p11a_key_info k[2];
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	family(k);
	assert_non_null(f);
	cli_json_key(f, &k[1], "SHA256:xyz", "newest");
	assert_int_equal(fclose(f), 0);
	assert_int_equal(text[0], '{');
	assert_int_equal(text[len - 1], '}');
	assert_non_null(strstr(text, "\"fingerprint\":\"SHA256:xyz\","));
	assert_non_null(strstr(text, ",\"state\":\"newest\"}"));
	free(text);
}

/* VERSION only when a key has a version above 1; CERT only when one has a certificate. */
static void test_table_lifecycle(void **state)
{
	struct p11a_key_info k[2];
	char *text;

	(void)state;
	family(k);
	text = print(k, NULL, 2, 0);
	if (strstr(text, "  -  1  -           pkcs11:id=%01") == NULL ||
	    strstr(text, "  -  2  2027-05-01  pkcs11:id=%02") == NULL)
		fail_msg("%s", text);
	free(text);
	/* No certificate: no CERT column. */
	k[1].cert_expiry = empty;
	text = print(k, NULL, 2, 0);
	if (strstr(text, "  -  1  pkcs11:id=%01") == NULL ||
	    strstr(text, "  -  2  pkcs11:id=%02") == NULL)
		fail_msg("%s", text);
	free(text);
	/* Versions 1 only, with a certificate: CERT, no VERSION. */
	k[1].version = 1;
	k[1].cert_expiry = expiry;
	text = print(k, NULL, 2, 0);
	if (strstr(text, "  -  -           pkcs11:id=%01") == NULL ||
	    strstr(text, "  -  2027-05-01  pkcs11:id=%02") == NULL)
		fail_msg("%s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_sw_algs),     cmocka_unit_test(test_table),
	    cmocka_unit_test(test_json_fingerprint), cmocka_unit_test(test_json_lifecycle),
	    cmocka_unit_test(test_json_key),	     cmocka_unit_test(test_table_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
