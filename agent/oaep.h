/*
 * oaep: RSA-OAEP decoding (RFC 8017, 7.1.2, step 3) of what a raw RSA
 * decryption (CKM_RSA_X_509) in the token gives, for tokens that lack the
 * OAEP hash asked for. MGF1 uses the same hash. The work is done by
 * OpenSSL's constant-time RSA_padding_check_PKCS1_OAEP_mgf1. And OAEP
 * encryption with a public key, to probe what the token really does.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_OAEP_H
#define P11AGENT_OAEP_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

/*
 * Decodes em, the whole modulus-length block (leading zero byte included),
 * with hash ("SHA1", "SHA256", "SHA384", "SHA512": OpenSSL names) and the
 * OAEP label (label may be NULL when label_len is 0). On success *out_plain
 * is the message (secret_free() it).
 * Returns P11A_OK; P11A_ERR_BAD_INPUT for any block that does not decode
 * (one code for every cause, and no message: no padding oracle);
 * P11A_ERR_INTERNAL for an unknown hash or out of memory, found before
 * anything about em is looked at.
 */
int oaep_decode(const char *hash, const uint8_t *label, size_t label_len, const uint8_t *em,
		size_t em_len, struct secret **out_plain);

/*
 * Encrypts in with the RSA public key spki (DER SubjectPublicKeyInfo), OAEP
 * with hash (MGF1 the same) and label. *out is malloc'd; free() it.
 * Returns P11A_OK, or P11A_ERR_CRYPTO when OpenSSL fails.
 */
int oaep_encrypt(const uint8_t *spki, size_t spki_len, const char *hash, const uint8_t *label,
		 size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out,
		 size_t *out_len);

#endif
