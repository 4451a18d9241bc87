/*
 * test-ecdh-peer: the ECDH peer key check (agent/ecdh-peer.c) against keys made by
 * OpenSSL: the point comes out uncompressed whatever the SPKI held; another
 * curve, another key type, a point off the curve, and DER that does not
 * parse are each refused with their own message.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "../agent/ecdh-peer.h"

static const struct {
	const char *name, *group;
	size_t field_len;
} curves[] = {
    {"P-256", "P-256", 32},
    {"P-384", "P-384", 48},
    {"P-521", "P-521", 66},
};

#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

/* DER SPKI of pkey, the point compressed or not; malloc'd. */
static uint8_t *spki_of(EVP_PKEY *pkey, int compressed, size_t *out_len)
{
	uint8_t *der, *p;
	int len;

	assert_int_equal(EVP_PKEY_set_utf8_string_param(pkey,
							OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
							compressed ? "compressed" : "uncompressed"),
			 1);
	assert_true((len = i2d_PUBKEY(pkey, NULL)) > 0);
	assert_non_null(der = p = malloc((size_t)len));
	assert_int_equal(i2d_PUBKEY(pkey, &p), len);
	*out_len = (size_t)len;
	return der;
}

/* The uncompressed point of pkey. */
static size_t point_of(EVP_PKEY *pkey, uint8_t *out, size_t max)
{
	size_t len = 0;

	assert_int_equal(EVP_PKEY_set_utf8_string_param(
			     pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed"),
			 1);
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
							 out, max, &len),
			 1);
	return len;
}

static void check_refused(const char *curve, const uint8_t *der, size_t len, const char *want)
{
	uint8_t out[ECDH_POINT_MAX];
	size_t out_len = 12345;
	char msg[256] = "";

	assert_int_equal(ecdh_peer_point(curve, der, len, out, &out_len, msg, sizeof(msg)),
			 P11A_ERR_BAD_INPUT);
	assert_string_equal(msg, want);
	assert_int_equal(out_len, 12345);
}

static void test_points(void **state)
{
	uint8_t out[ECDH_POINT_MAX], want[ECDH_POINT_MAX], *der;
	size_t c, len, out_len, want_len;
	int compressed;
	EVP_PKEY *pkey;
	char msg[256];

	(void)state;
	for (c = 0; c < N_CURVES; c++) {
		assert_non_null(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[c].group));
		want_len = point_of(pkey, want, sizeof(want));
		assert_int_equal(want_len, 1 + 2 * curves[c].field_len);
		for (compressed = 0; compressed < 2; compressed++) {
			der = spki_of(pkey, compressed, &len);
			assert_int_equal(ecdh_peer_point(curves[c].name, der, len, out, &out_len,
							 msg, sizeof(msg)),
					 P11A_OK);
			assert_int_equal(out_len, want_len);
			assert_memory_equal(out, want, want_len);
			free(der);
		}
		EVP_PKEY_free(pkey);
	}
}

static void test_other_curve(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	uint8_t *der;
	size_t len;

	(void)state;
	assert_non_null(pkey);
	der = spki_of(pkey, 0, &len);
	check_refused("P-256", der, len, "peer: key is on P-384, this key is on P-256");
	check_refused("P-521", der, len, "peer: key is on P-384, this key is on P-521");
	free(der);
	EVP_PKEY_free(pkey);
	assert_non_null(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1"));
	der = spki_of(pkey, 0, &len);
	check_refused("P-256", der, len, "peer: key is on secp256k1, this key is on P-256");
	free(der);
	EVP_PKEY_free(pkey);
}

static void test_other_type(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t *der, *p;
	int len;

	(void)state;
	assert_non_null(pkey);
	assert_true((len = i2d_PUBKEY(pkey, NULL)) > 0);
	assert_non_null(der = p = malloc((size_t)len));
	assert_int_equal(i2d_PUBKEY(pkey, &p), len);
	check_refused("P-256", der, (size_t)len, "peer: not an EC public key (ED25519)");
	free(der);
	EVP_PKEY_free(pkey);
}

static void test_off_curve(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *der;
	size_t len;

	(void)state;
	assert_non_null(pkey);
	der = spki_of(pkey, 0, &len);
	/* The last byte of Y: (X, Y') is not on the curve. */
	der[len - 1] ^= 0x01;
	check_refused("P-256", der, len, "peer: the point is not on P-256");
	free(der);
	EVP_PKEY_free(pkey);
}

static void test_not_der(void **state)
{
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t *der, *longer;
	size_t len, cut;

	(void)state;
	assert_non_null(pkey);
	check_refused("P-256", junk, sizeof(junk), "peer: not a DER SubjectPublicKeyInfo");
	check_refused("P-256", junk, 0, "peer: not a DER SubjectPublicKeyInfo");
	der = spki_of(pkey, 0, &len);
	for (cut = 0; cut < len; cut += 7)
		check_refused("P-256", der, cut, "peer: not a DER SubjectPublicKeyInfo");
	/* Trailing bytes after the SPKI. */
	assert_non_null(longer = malloc(len + 1));
	memcpy(longer, der, len);
	longer[len] = 0;
	check_refused("P-256", longer, len + 1, "peer: not a DER SubjectPublicKeyInfo");
	free(longer);
	free(der);
	EVP_PKEY_free(pkey);
}

static void test_unknown_curve(void **state)
{
	uint8_t out[ECDH_POINT_MAX];
	size_t out_len;
	char msg[256];
	static const uint8_t der[1] = {0x30};

	(void)state;

	assert_int_equal(ecdh_peer_point("ed25519", der, 1, out, &out_len, msg, sizeof(msg)),
			 P11A_ERR_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_points),     cmocka_unit_test(test_other_curve),
	    cmocka_unit_test(test_other_type), cmocka_unit_test(test_off_curve),
	    cmocka_unit_test(test_not_der),    cmocka_unit_test(test_unknown_curve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
