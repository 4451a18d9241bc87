/*
 * direct: the benchmark's in-process path. Loads a PKCS#11 module, finds the
 * token by URI, logs in, finds the key, and runs each operation with one
 * session per client, as the agent's token layer runs the same request: the
 * same mechanism, parameters and object templates.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_DIRECT_H
#define P11AGENT_BENCH_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"
#include "work.h"

struct direct;
struct direct_client;

/*
 * Loads module, logs in to the token matching token_uri with pin, and finds
 * w->key (a label, "id:HEX" or a pkcs11: URI): a secret key for HMAC and
 * AES algorithms, else a private key, of the type w->alg needs. w must
 * outlive the result; its input need not be made yet. Returns 0 and *out,
 * or -1 with a message in msg. Free with direct_close().
 */
int direct_open(const char *module, const char *token_uri, const char *pin, size_t pin_len,
		const struct work *w, struct direct **out, char *msg, size_t msg_len);

/*
 * The RSA key's public half as DER SubjectPublicKeyInfo, from the private
 * key's CKA_MODULUS and CKA_PUBLIC_EXPONENT. *out is malloc'd. Returns 0, or
 * -1 with a message in msg.
 */
int direct_rsa_spki(struct direct *d, uint8_t **out, size_t *out_len, char *msg, size_t msg_len);

/*
 * Wraps plain under the AES key in the token with w->alg (AES-KW or KWP):
 * C_WrapKey of a session generic secret holding plain when the key has
 * CKA_WRAP, else C_Encrypt with the same mechanism when it has CKA_ENCRYPT.
 * *out is malloc'd. Returns 0, or -1 with a message in msg (naming the
 * attribute the key lacks).
 */
int direct_wrap(struct direct *d, const uint8_t *plain, size_t plain_len, uint8_t **out,
		size_t *out_len, char *msg, size_t msg_len);

/*
 * Sets up the operation once w's input is made: its mechanism and
 * parameters. For RSA-OAEP, whether the token does OAEP with the hash
 * itself, found as the agent finds it (one round trip of w's input), or
 * does raw RSA (CKM_RSA_X_509) with OAEP decoded here as the agent then
 * does; *out_software is 1 in that case, else 0. Returns 0, or -1 with a
 * message in msg.
 */
int direct_prepare(struct direct *d, int *out_software, char *msg, size_t msg_len);

/* Opens one session for one client thread. Returns 0 and *out, or -1 and msg. */
int direct_client_open(struct direct *d, struct direct_client **out, char *msg, size_t msg_len);

/*
 * One operation: w->batch signatures, one decryption or one unwrap (into a
 * session object, read and destroyed). check: compare the plaintext or the
 * key to w->plain, a signature's length to 0. Returns 0, or -1 with a
 * message in msg (a wrong result too).
 */
int direct_client_op(struct direct_client *c, int check, char *msg, size_t msg_len);

/* Closes the session. NULL is a no-op. */
void direct_client_close(struct direct_client *c);
/* Logs out, finalizes and releases the module. NULL is a no-op. */
void direct_close(struct direct *d);

#endif
