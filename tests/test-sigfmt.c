/*
 * test-sigfmt: DigestInfo bytes and ECDSA r||s <-> DER conversion.
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

#include "p11agent.h"
#include "sigfmt.h"

/* The DigestInfo prefixes of RFC 8017, section 9.2, note 1. */
static const uint8_t sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t sha384_prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t sha512_prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static void check_digestinfo(const char *hash, const uint8_t *prefix, size_t digest_len)
{
	uint8_t digest[64], out[SIGFMT_DIGESTINFO_MAX];
	size_t i, out_len = 0;

	for (i = 0; i < sizeof(digest); i++)
		digest[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(sigfmt_digestinfo(hash, digest, digest_len, out, &out_len), P11A_OK);
	assert_int_equal(out_len, 19 + digest_len);
	assert_memory_equal(out, prefix, 19);
	assert_memory_equal(out + 19, digest, digest_len);
	/* The outer SEQUENCE length covers the rest exactly. */
	assert_int_equal(out[1], out_len - 2);
}

static void test_digestinfo_sha256(void **state)
{
	check_digestinfo("SHA256", sha256_prefix, 32);
}

static void test_digestinfo_sha384(void **state)
{
	check_digestinfo("SHA384", sha384_prefix, 48);
}

static void test_digestinfo_sha512(void **state)
{
	check_digestinfo("SHA512", sha512_prefix, 64);
	assert_int_equal(19 + 64, SIGFMT_DIGESTINFO_MAX);
}

static void test_digestinfo_wrong_length(void **state)
{
	uint8_t digest[65] = {0}, out[SIGFMT_DIGESTINFO_MAX];
	size_t out_len = 12345;

	assert_int_equal(sigfmt_digestinfo("SHA256", digest, 31, out, &out_len),
			 P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo("SHA256", digest, 33, out, &out_len),
			 P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo("SHA384", digest, 32, out, &out_len),
			 P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo("SHA512", digest, 65, out, &out_len),
			 P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo("SHA512", digest, 0, out, &out_len), P11A_ERR_BAD_INPUT);
	/* Outputs untouched on failure. */
	assert_int_equal(out_len, 12345);
}

static void test_digestinfo_unknown_hash(void **state)
{
	uint8_t digest[32] = {0}, out[SIGFMT_DIGESTINFO_MAX];
	size_t out_len;

	assert_int_equal(sigfmt_digestinfo("SHA1", digest, 20, out, &out_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo("MD5", digest, 16, out, &out_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_digestinfo(NULL, digest, 32, out, &out_len), P11A_ERR_BAD_INPUT);
}

/* raw -> DER -> raw gives raw back. */
static void round_trip(const uint8_t *raw, size_t raw_len)
{
	uint8_t *der = NULL, *back = NULL;
	size_t der_len = 0, back_len = 0;

	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, raw_len, &der, &der_len), P11A_OK);
	assert_non_null(der);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(sigfmt_ecdsa_der_to_raw(der, der_len, raw_len / 2, &back, &back_len),
			 P11A_OK);
	assert_int_equal(back_len, raw_len);
	assert_memory_equal(back, raw, raw_len);
	free(der);
	free(back);
}

static void test_ecdsa_round_trip_sizes(void **state)
{
	static const size_t halves[] = {32, 48, 66};
	uint8_t raw[132];
	size_t h, i;

	for (h = 0; h < sizeof(halves) / sizeof(halves[0]); h++) {
		for (i = 0; i < 2 * halves[h]; i++)
			raw[i] = (uint8_t)(i * 7 + 1);
		/* Keep r and s below 2^(8*half - 1) for a plain case. */
		raw[0] = 0x12;
		raw[halves[h]] = 0x34;
		round_trip(raw, 2 * halves[h]);
	}
}

static void test_ecdsa_leading_zero_and_high_bit(void **state)
{
	uint8_t raw[64], *der = NULL;
	size_t der_len = 0;
	/* r = 1 (31 zero bytes first), s = 0x80 00...00 (high bit: DER adds a 0x00). */
	static const uint8_t expect_head[] = {0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80};

	memset(raw, 0, sizeof(raw));
	raw[31] = 0x01;
	raw[32] = 0x80;
	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, sizeof(raw), &der, &der_len), P11A_OK);
	assert_int_equal(der_len, 40);
	assert_memory_equal(der, expect_head, sizeof(expect_head));
	free(der);
	round_trip(raw, sizeof(raw));

	/* r with its high bit set, s with a leading zero byte and then a high bit. */
	memset(raw, 0xff, sizeof(raw));
	raw[32] = 0x00;
	raw[33] = 0x80;
	round_trip(raw, sizeof(raw));
}

static void test_ecdsa_p521_long_form_length(void **state)
{
	uint8_t raw[132], *der = NULL;
	size_t der_len = 0;

	memset(raw, 0, sizeof(raw));
	raw[0] = 0x01; /* P-521 scalars have 521 bits: the top byte is 0 or 1 */
	memset(raw + 1, 0xaa, 65);
	raw[66] = 0x01;
	memset(raw + 67, 0x55, 65);
	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, sizeof(raw), &der, &der_len), P11A_OK);
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x81); /* content longer than 127 bytes */
	assert_int_equal(der[2], der_len - 3);
	free(der);
	round_trip(raw, sizeof(raw));
}

static void test_ecdsa_bad_raw_length(void **state)
{
	uint8_t raw[140] = {1}, *der = (uint8_t *)"untouched";
	size_t der_len = 7;

	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, 63, &der, &der_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, 1, &der, &der_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, 0, &der, &der_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_ecdsa_raw_to_der(raw, 134, &der, &der_len), P11A_ERR_BAD_INPUT);
	assert_int_equal(sigfmt_ecdsa_raw_to_der(NULL, 64, &der, &der_len), P11A_ERR_BAD_INPUT);
	assert_string_equal((const char *)der, "untouched");
	assert_int_equal(der_len, 7);
}

static void expect_bad_der(const uint8_t *der, size_t der_len, size_t field_len)
{
	uint8_t *raw = NULL;
	size_t raw_len = 0;

	assert_int_equal(sigfmt_ecdsa_der_to_raw(der, der_len, field_len, &raw, &raw_len),
			 P11A_ERR_BAD_INPUT);
	assert_null(raw);
	assert_int_equal(raw_len, 0);
}

static void test_ecdsa_garbage_der(void **state)
{
	/* SEQUENCE { INTEGER 1, INTEGER 2 } and broken variants of it. */
	static const uint8_t good[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
	static const uint8_t trailing[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x00};
	static const uint8_t long_form[] = {0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
	static const uint8_t padded_int[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x02};
	static const uint8_t negative[] = {0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x02};
	static const uint8_t not_seq[] = {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
	static const uint8_t one_int[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	static const uint8_t octets[] = {0x04, 0x02, 0x01, 0x02};
	uint8_t too_big[4 + 35 + 3], *raw = NULL;
	size_t raw_len = 0, i;

	assert_int_equal(sigfmt_ecdsa_der_to_raw(good, sizeof(good), 32, &raw, &raw_len), P11A_OK);
	assert_int_equal(raw_len, 64);
	assert_int_equal(raw[31], 1);
	assert_int_equal(raw[63], 2);
	free(raw);

	for (i = 1; i < sizeof(good); i++)
		expect_bad_der(good, i, 32); /* every truncation */
	expect_bad_der(good, 0, 32);
	expect_bad_der(good, sizeof(good), 0);
	expect_bad_der(trailing, sizeof(trailing), 32);
	expect_bad_der(long_form, sizeof(long_form), 32);
	expect_bad_der(padded_int, sizeof(padded_int), 32);
	expect_bad_der(negative, sizeof(negative), 32);
	expect_bad_der(not_seq, sizeof(not_seq), 32);
	expect_bad_der(one_int, sizeof(one_int), 32);
	expect_bad_der(octets, sizeof(octets), 32);
	expect_bad_der((const uint8_t *)"garbage in, garbage out", 23, 32);

	/* r of 34 significant bytes does not fit a 32-byte field. */
	too_big[0] = 0x30;
	too_big[1] = sizeof(too_big) - 2;
	too_big[2] = 0x02;
	too_big[3] = 35;
	too_big[4] = 0x00;
	memset(too_big + 5, 0xee, 34);
	too_big[39] = 0x02;
	too_big[40] = 0x01;
	too_big[41] = 0x05;
	expect_bad_der(too_big, sizeof(too_big), 32);
	assert_int_equal(sigfmt_ecdsa_der_to_raw(too_big, sizeof(too_big), 34, &raw, &raw_len),
			 P11A_OK);
	assert_int_equal(raw_len, 68);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digestinfo_sha256),
	    cmocka_unit_test(test_digestinfo_sha384),
	    cmocka_unit_test(test_digestinfo_sha512),
	    cmocka_unit_test(test_digestinfo_wrong_length),
	    cmocka_unit_test(test_digestinfo_unknown_hash),
	    cmocka_unit_test(test_ecdsa_round_trip_sizes),
	    cmocka_unit_test(test_ecdsa_leading_zero_and_high_bit),
	    cmocka_unit_test(test_ecdsa_p521_long_form_length),
	    cmocka_unit_test(test_ecdsa_bad_raw_length),
	    cmocka_unit_test(test_ecdsa_garbage_der),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
