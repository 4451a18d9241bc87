/*
 * sshkey: OpenSSH public-key blobs, fingerprints and signature blobs
 * (RFC 4253 6.6, RFC 5656 3.1, RFC 8332, RFC 8709), shared by the agent's SSH
 * front and the CLI ('p11agent pubkey --format ssh'). RSA, ECDSA on
 * nistp256/384/521 and Ed25519; nothing else has an OpenSSH form here.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SSHKEY_H
#define P11AGENT_SSHKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* "SHA256:" and 43 characters of unpadded base64, and a NUL. */
#define SSHKEY_FP_LEN 51
/* Longest OpenSSH key or signature type name written here, with its NUL. */
#define SSHKEY_TYPE_LEN 32

/*
 * The OpenSSH key blob of pkey and its type ("ssh-rsa",
 * "ecdsa-sha2-nistp256", ..., "ssh-ed25519"). *out is malloc'd; free() it.
 * P11A_OK; P11A_ERR_NOT_SUPPORTED (msg: no OpenSSH form for this key);
 * P11A_ERR_CRYPTO or P11A_ERR_NOMEM. type may be NULL.
 */
int sshkey_blob(EVP_PKEY *pkey, uint8_t **out, size_t *out_len, char type[SSHKEY_TYPE_LEN],
		char *msg, size_t msg_len);
/* The same from a DER SubjectPublicKeyInfo. */
int sshkey_blob_from_spki(const uint8_t *spki, size_t spki_len, uint8_t **out, size_t *out_len,
			  char type[SSHKEY_TYPE_LEN], char *msg, size_t msg_len);
/*
 * The key from an OpenSSH key blob (strict: no trailing bytes, minimal
 * non-negative mpints, RSA of 1024 to 16384 bits, an uncompressed point on
 * its curve; so a blob taken is exactly what sshkey_blob writes of the key).
 * EVP_PKEY_free() *out_pkey. P11A_ERR_BAD_INPUT, or P11A_ERR_NOMEM.
 */
int sshkey_from_blob(const uint8_t *blob, size_t len, EVP_PKEY **out_pkey);
/*
 * "SHA256:base64" of a blob, as ssh-add -l and ssh-keygen -l print it; the
 * empty string in the one case OpenSSL cannot hash.
 */
void sshkey_fingerprint(const uint8_t *blob, size_t len, char out[SSHKEY_FP_LEN]);

/*
 * An OpenSSH signature blob: string(sig_type) || string(sig). sig_type is
 * "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256/384/521" or
 * "ssh-ed25519"; sig is what the token gives: the RSA signature, ECDSA r||s
 * (each half the field size), or the 64 Ed25519 bytes. ECDSA becomes
 * string(mpint r || mpint s), minimal mpints. An r or s of zero is refused:
 * it is never a valid ECDSA signature, only a broken token's output.
 * *out is malloc'd; free() it. P11A_OK, P11A_ERR_BAD_INPUT (unknown type,
 * wrong length, a zero r or s), P11A_ERR_NOMEM.
 */
int sshkey_sig_blob(const char *sig_type, const uint8_t *sig, size_t sig_len, uint8_t **out,
		    size_t *out_len);
/*
 * Checks an OpenSSH signature blob over data with pkey (the session-bind host
 * key). The blob's type must fit pkey (for RSA only rsa-sha2-256/512).
 * P11A_OK when valid; P11A_ERR_BAD_INPUT (malformed, wrong type, invalid);
 * P11A_ERR_NOMEM.
 */
int sshkey_verify(EVP_PKEY *pkey, const uint8_t *sig_blob, size_t sig_len, const uint8_t *data,
		  size_t data_len) __attribute__((warn_unused_result));

#endif
