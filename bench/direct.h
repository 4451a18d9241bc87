/*
 * direct: the benchmark's in-process path. Loads a PKCS#11 module, finds the
 * token by URI, logs in, finds the key, and signs with one session per
 * client, with the mechanism the agent uses for the same algorithm.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_DIRECT_H
#define P11AGENT_BENCH_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

struct direct;
struct direct_client;

/*
 * Loads module, logs in to the token matching token_uri with pin, and finds
 * key (a label, "id:HEX" or a pkcs11: URI; a private key, or a secret key
 * for HMAC). data is what each operation signs: the digest for RSA and ECDSA
 * algorithms, the message for Ed25519 and HMAC. Returns 0 and *out, or -1
 * with a message in msg. Free with direct_close().
 */
int direct_open(const char *module, const char *token_uri, const char *pin, size_t pin_len,
		const char *key, const struct p11a_alg_info *alg, const uint8_t *data,
		size_t data_len, struct direct **out, char *msg, size_t msg_len);
/* Opens one session for one client thread. Returns 0 and *out, or -1 and msg. */
int direct_client_open(struct direct *d, struct direct_client **out, char *msg, size_t msg_len);
/* One signature. Returns 0, or -1 with a message in msg. */
int direct_client_op(struct direct_client *c, char *msg, size_t msg_len);
/* Closes the session. NULL is a no-op. */
void direct_client_close(struct direct_client *c);
/* Logs out, finalizes and releases the module. NULL is a no-op. */
void direct_close(struct direct *d);

#endif
