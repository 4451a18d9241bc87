/*
 * soft: the benchmark's software side, over OpenSSL: random bytes, an RSA
 * public key from its modulus and exponent, RSA encryption of the input
 * (OAEP or PKCS#1 v1.5), and OAEP decoding of a raw RSA block, as the agent
 * does for tokens that lack the OAEP hash (agent/oaep.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_SOFT_H
#define P11AGENT_BENCH_SOFT_H

#include <stddef.h>
#include <stdint.h>

/* Fills p with n random bytes. Returns 0, or -1 when OpenSSL fails. */
int soft_random(uint8_t *p, size_t n);

/*
 * The DER SubjectPublicKeyInfo of the RSA public key (n, e), big-endian
 * bytes as CKA_MODULUS and CKA_PUBLIC_EXPONENT hold them. *out is malloc'd.
 * Returns 0, or -1 when OpenSSL fails.
 */
int soft_rsa_spki(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, uint8_t **out,
		  size_t *out_len);

/*
 * Encrypts in with the RSA key spki (DER SubjectPublicKeyInfo): OAEP with
 * hash (an OpenSSL name, MGF1 the same, no label), or PKCS#1 v1.5 when hash
 * is NULL. *out is malloc'd. Returns 0, or -1 when OpenSSL fails.
 */
int soft_rsa_encrypt(const uint8_t *spki, size_t spki_len, const char *hash, const uint8_t *in,
		     size_t in_len, uint8_t **out, size_t *out_len);

/*
 * OAEP-decodes em, the whole k-byte block a raw RSA decryption gives, with
 * hash (MGF1 the same, no label), into out (em_len bytes of room). Returns
 * 0 and *out_len, or -1 for any failure (one answer for every cause).
 */
int soft_oaep_decode(const char *hash, const uint8_t *em, size_t em_len, uint8_t *out,
		     size_t *out_len);

/* Are a and b (n bytes each) equal? In constant time. */
int soft_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
