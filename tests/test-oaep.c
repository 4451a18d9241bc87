/*
 * test-oaep: the agent's software OAEP decoding (agent/oaep.c) against
 * OpenSSL. A software RSA key encrypts with EVP_PKEY_encrypt (OAEP with
 * SHA-1/256/384/512, with and without a label); a raw decryption
 * (RSA_NO_PADDING) gives the block the token would give for CKM_RSA_X_509;
 * oaep_decode() must give the plaintext back. Every bad block, wrong label
 * and wrong hash gives the one same error, and leaves the output alone.
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

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "secret.h"
#include "../agent/oaep.h"

#define BITS 2048
#define K (BITS / 8)

static const char *const hashes[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
static const size_t hash_lens[] = {20, 32, 48, 64};
#define N_HASHES (sizeof(hashes) / sizeof(hashes[0]))

static const uint8_t label_a[] = "label a";
static const uint8_t label_b[] = "label b";

/* A sentinel: no failing call may touch the output. */
static struct secret sentinel;

static int setup(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)BITS);

	if (pkey == NULL)
		return -1;
	*state = pkey;
	return 0;
}

static int teardown(void **state)
{
	EVP_PKEY_free(*state);
	return 0;
}

/* OAEP-encrypts msg with hash (MGF1 the same) and label; *out holds K bytes. */
static void encrypt(EVP_PKEY *pkey, const char *hash, const uint8_t *label, size_t label_len,
		    const uint8_t *msg, size_t msg_len, uint8_t out[K])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	size_t out_len = K;
	void *copy;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hash, NULL) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hash, NULL) > 0);
	if (label_len > 0) {
		assert_non_null(copy = OPENSSL_memdup(label, label_len));
		assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)label_len) > 0);
	}
	assert_int_equal(EVP_PKEY_encrypt(ctx, out, &out_len, msg, msg_len), 1);
	assert_int_equal(out_len, K);
	EVP_PKEY_CTX_free(ctx);
}

/* Raw RSA decryption (what CKM_RSA_X_509 gives): the whole K-byte block. */
static void raw_decrypt(EVP_PKEY *pkey, const uint8_t ct[K], uint8_t em[K])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	size_t em_len = K;

	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0);
	assert_int_equal(EVP_PKEY_decrypt(ctx, em, &em_len, ct, K), 1);
	assert_int_equal(em_len, K);
	EVP_PKEY_CTX_free(ctx);
}

/* The block of msg, OAEP-encoded with hash and label, as the token would give it. */
static void make_block(EVP_PKEY *pkey, const char *hash, const uint8_t *label, size_t label_len,
		       const uint8_t *msg, size_t msg_len, uint8_t em[K])
{
	uint8_t ct[K];

	encrypt(pkey, hash, label, label_len, msg, msg_len, ct);
	raw_decrypt(pkey, ct, em);
}

/* Decoding must fail with the one error, leaving *out as it was. */
static void assert_rejected(const char *hash, const uint8_t *label, size_t label_len,
			    const uint8_t *em, size_t em_len)
{
	struct secret *out = &sentinel;

	assert_int_equal(oaep_decode(hash, label, label_len, em, em_len, &out), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(out, &sentinel);
}

static void test_round_trip(void **state)
{
	uint8_t msg[K], em[K];
	struct secret *out;
	size_t h, l, i, max;
	size_t lens[4];

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	for (h = 0; h < N_HASHES; h++) {
		max = K - 2 * hash_lens[h] - 2;
		lens[0] = 0;
		lens[1] = 1;
		lens[2] = 32;
		lens[3] = max;
		for (l = 0; l < 2; l++) {
			for (i = 0; i < 4; i++) {
				make_block(*state, hashes[h], label_a, l ? sizeof(label_a) : 0, msg,
					   lens[i], em);
				out = NULL;
				assert_int_equal(oaep_decode(hashes[h], label_a,
							     l ? sizeof(label_a) : 0, em, K, &out),
						 P11A_OK);
				assert_non_null(out);
				assert_int_equal(out->len, lens[i]);
				assert_memory_equal(out->p, msg, lens[i]);
				secret_free(out);
			}
		}
	}
}

/* One bit flipped anywhere in the block: the leading zero, the seed, the hash, the message. */
static void test_corrupted(void **state)
{
	static const size_t where[] = {0, 1, 20, 40, K / 2, K - 33, K - 1};
	uint8_t msg[32] = {1, 2, 3}, em[K];
	size_t h, w;
	int bit;

	for (h = 0; h < N_HASHES; h++) {
		make_block(*state, hashes[h], NULL, 0, msg, sizeof(msg), em);
		for (w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
			for (bit = 0; bit < 8; bit += 7) {
				em[where[w]] ^= (uint8_t)(1u << bit);
				assert_rejected(hashes[h], NULL, 0, em, K);
				em[where[w]] ^= (uint8_t)(1u << bit);
			}
		}
	}
}

/* A ciphertext changed before decryption: the block is noise. */
static void test_corrupted_ciphertext(void **state)
{
	uint8_t msg[32] = {9}, ct[K], em[K];
	size_t h;

	for (h = 0; h < N_HASHES; h++) {
		encrypt(*state, hashes[h], NULL, 0, msg, sizeof(msg), ct);
		ct[K / 3] ^= 0x10;
		raw_decrypt(*state, ct, em);
		assert_rejected(hashes[h], NULL, 0, em, K);
	}
}

static void test_wrong_label(void **state)
{
	uint8_t msg[16] = {5}, em[K];
	size_t h;

	for (h = 0; h < N_HASHES; h++) {
		make_block(*state, hashes[h], label_a, sizeof(label_a), msg, sizeof(msg), em);
		assert_rejected(hashes[h], label_b, sizeof(label_b), em, K);
		assert_rejected(hashes[h], NULL, 0, em, K);
		assert_rejected(hashes[h], label_a, sizeof(label_a) - 1, em, K);
		make_block(*state, hashes[h], NULL, 0, msg, sizeof(msg), em);
		assert_rejected(hashes[h], label_a, sizeof(label_a), em, K);
	}
}

static void test_wrong_hash(void **state)
{
	uint8_t msg[16] = {6}, em[K];
	size_t h, other;

	for (h = 0; h < N_HASHES; h++) {
		make_block(*state, hashes[h], NULL, 0, msg, sizeof(msg), em);
		for (other = 0; other < N_HASHES; other++)
			if (other != h)
				assert_rejected(hashes[other], NULL, 0, em, K);
	}
}

/* A block of the wrong size, or too small for the hash. */
static void test_bad_sizes(void **state)
{
	uint8_t msg[16] = {7}, em[K];

	make_block(*state, "SHA256", NULL, 0, msg, sizeof(msg), em);
	assert_rejected("SHA256", NULL, 0, em, K - 1);
	assert_rejected("SHA256", NULL, 0, em + 1, K - 1);
	assert_rejected("SHA256", NULL, 0, em, 0);
	assert_rejected("SHA512", NULL, 0, em, 2 * 64 + 1);
	assert_rejected("SHA1", NULL, 0, em, 1);
}

/* An unknown hash is the caller's mistake, found before the block is looked at. */
static void test_unknown_hash(void **state)
{
	uint8_t em[K] = {0};
	struct secret *out = &sentinel;

	(void)state;
	assert_int_equal(oaep_decode("NO-SUCH-HASH", NULL, 0, em, K, &out), P11A_ERR_INTERNAL);
	assert_int_equal(oaep_decode(NULL, NULL, 0, em, K, &out), P11A_ERR_INTERNAL);
	assert_ptr_equal(out, &sentinel);
}

/* oaep_encrypt() (the start-up probe's) gives what OpenSSL's OAEP decryption takes. */
static void test_encrypt(void **state)
{
	static const uint8_t msg[] = "probe";
	EVP_PKEY_CTX *ctx;
	uint8_t *spki = NULL, *ct = NULL, *der, pt[K];
	size_t h, l, ct_len = 0, pt_len;
	int spki_len;
	void *copy;

	assert_true((spki_len = i2d_PUBKEY(*state, NULL)) > 0);
	assert_non_null(spki = der = malloc((size_t)spki_len));
	assert_int_equal(i2d_PUBKEY(*state, &der), spki_len);
	for (h = 0; h < N_HASHES; h++) {
		for (l = 0; l < 2; l++) {
			assert_int_equal(oaep_encrypt(spki, (size_t)spki_len, hashes[h], label_b,
						      l ? sizeof(label_b) : 0, msg, sizeof(msg),
						      &ct, &ct_len),
					 P11A_OK);
			assert_int_equal(ct_len, K);
			assert_non_null(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *state, NULL));
			assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
			assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
			assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hashes[h], NULL) > 0);
			assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hashes[h], NULL) > 0);
			if (l) {
				assert_non_null(copy = OPENSSL_memdup(label_b, sizeof(label_b)));
				assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(
						ctx, copy, (int)sizeof(label_b)) > 0);
			}
			pt_len = sizeof(pt);
			assert_int_equal(EVP_PKEY_decrypt(ctx, pt, &pt_len, ct, ct_len), 1);
			assert_int_equal(pt_len, sizeof(msg));
			assert_memory_equal(pt, msg, sizeof(msg));
			EVP_PKEY_CTX_free(ctx);
			free(ct);
			ct = NULL;
		}
	}
	assert_int_equal(oaep_encrypt(spki, 3, "SHA256", NULL, 0, msg, sizeof(msg), &ct, &ct_len),
			 P11A_ERR_CRYPTO);
	free(spki);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),		 cmocka_unit_test(test_corrupted),
	    cmocka_unit_test(test_corrupted_ciphertext), cmocka_unit_test(test_wrong_label),
	    cmocka_unit_test(test_wrong_hash),		 cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_unknown_hash),	 cmocka_unit_test(test_encrypt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
