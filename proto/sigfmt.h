/*
 * sigfmt: signature encodings the token does not do itself, shared by the
 * agent (token.c) and the CLI (cli/pkey.c).
 *  - PKCS#1 v1.5 DigestInfo for CKM_RSA_PKCS over a digest;
 *  - ECDSA: PKCS#11 gives r||s, OpenSSL and X9.62 want DER ECDSA-Sig-Value.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SIGFMT_H
#define P11AGENT_SIGFMT_H

#include <stddef.h>
#include <stdint.h>

/* Longest DigestInfo this module builds (SHA-512: 19 + 64). */
#define SIGFMT_DIGESTINFO_MAX 83

/*
 * Writes DigestInfo(hash, digest) to out (at least SIGFMT_DIGESTINFO_MAX bytes).
 * hash is "SHA256", "SHA384" or "SHA512"; digest_len must match.
 * Returns P11A_OK and *out_len, or P11A_ERR_BAD_INPUT.
 */
int sigfmt_digestinfo(const char *hash, const uint8_t *digest, size_t digest_len, uint8_t *out,
		      size_t *out_len);

/*
 * r||s (raw_len even, each half the field size) to DER ECDSA-Sig-Value.
 * *out_der is malloc'd; free() it. P11A_ERR_BAD_INPUT on a bad raw length,
 * P11A_ERR_INTERNAL when out of memory; the outputs are set only on success.
 */
int sigfmt_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **out_der, size_t *out_len);

/*
 * DER ECDSA-Sig-Value to r||s with each half field_len bytes. *out_raw is
 * malloc'd; free() it. P11A_ERR_BAD_INPUT for anything but strict DER with
 * r and s that fit, P11A_ERR_INTERNAL when out of memory; the outputs are set
 * only on success.
 */
int sigfmt_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len, uint8_t **out_raw,
			    size_t *out_len);

#endif
