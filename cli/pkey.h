/*
 * pkey: what the CLI does locally, with OpenSSL, on a key's public half:
 * decode the agent's SubjectPublicKeyInfo, write it as PEM or as an OpenSSH
 * line, hash, and verify signatures.
 *
 * Functions return P11A_OK or a p11a_err (P11A_ERR_BAD_INPUT,
 * P11A_ERR_NOT_SUPPORTED, P11A_ERR_CRYPTO, P11A_ERR_NOMEM) with a one-line
 * message in msg, and write their outputs only on success.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_PKEY_H
#define P11AGENT_CLI_PKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11agent.h"

struct cli_input;

/* Largest digest of any algorithm (SHA-512). */
#define CLI_MAX_DIGEST 64

/* Decodes DER SubjectPublicKeyInfo. Free *out_pkey with EVP_PKEY_free(). */
int cli_pkey_from_der(const uint8_t *der, size_t der_len, EVP_PKEY **out_pkey, char *msg,
		      size_t msg_len);

/*
 * A public key file (a peer's, for derive) as DER SubjectPublicKeyInfo: in
 * holds a PEM "PUBLIC KEY" block (text around it is skipped) or the DER
 * itself. Only the structure is checked here, not the key (the agent checks
 * the curve and the point), so the bytes go to the agent as they are.
 * *out_der is malloc'd; free(). Returns P11A_OK, P11A_ERR_BAD_INPUT (no
 * message: the caller names the file) or P11A_ERR_NOMEM.
 */
int cli_pkey_spki_der(const uint8_t *in, size_t in_len, uint8_t **out_der, size_t *out_len);

/* The p11a key type of pkey (P11A_KEY_UNKNOWN for others). */
p11a_key_type cli_pkey_type(const EVP_PKEY *pkey);

/* SubjectPublicKeyInfo PEM. *out is malloc'd (NUL-terminated; *out_len excludes it). */
int cli_pkey_pem(EVP_PKEY *pkey, char **out, size_t *out_len, char *msg, size_t msg_len);

/*
 * An OpenSSH public key line, "ssh-ed25519 AAAA... comment\n" (RSA, ECDSA on
 * P-256/384/521, Ed25519). Control characters in comment become '?'.
 * *out is malloc'd (NUL-terminated; *out_len excludes it).
 */
int cli_pkey_ssh(EVP_PKEY *pkey, const char *comment, char **out, size_t *out_len, char *msg,
		 size_t msg_len);

/* Room for an OpenSSH fingerprint, "SHA256:" and 43 base64 characters. */
#define CLI_SSH_FP_LEN 52

/*
 * The fingerprint of pkey as 'ssh-add -l' and 'ssh-keygen -l' print it:
 * "SHA256:" and the base64, without padding, of the SHA-256 of the OpenSSH
 * key blob (the one cli_pkey_ssh() writes). P11A_ERR_NOT_SUPPORTED for a key
 * with no OpenSSH form.
 */
int cli_pkey_ssh_fingerprint(EVP_PKEY *pkey, char out[CLI_SSH_FP_LEN], char *msg, size_t msg_len);

/*
 * Hashes head[0..head_len) followed by the rest of in with the OpenSSL digest
 * hash ("SHA256"). out must hold CLI_MAX_DIGEST bytes.
 */
int cli_digest_input(const char *hash, const uint8_t *head, size_t head_len, struct cli_input *in,
		     uint8_t *out, size_t *out_len, char *msg, size_t msg_len);

/*
 * Verifies sig over tbs: for RSA and ECDSA the digest (alg->digest_len bytes;
 * hash a message with cli_digest_input() first), for Ed25519 the whole
 * message. alg must suit pkey. raw: sig is ECDSA r||s. *out_valid is 1 or 0.
 * A signature that does not even parse is invalid, not an error.
 */
int cli_pkey_verify(EVP_PKEY *pkey, const struct p11a_alg_info *alg, int raw, const uint8_t *sig,
		    size_t sig_len, const uint8_t *tbs, size_t tbs_len, int *out_valid, char *msg,
		    size_t msg_len) __attribute__((warn_unused_result));

#endif
