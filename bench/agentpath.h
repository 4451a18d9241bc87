/*
 * agentpath: the benchmark's agent path: the same operation through
 * p11agentd and libp11agent, one connection per client thread.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_AGENTPATH_H
#define P11AGENT_BENCH_AGENTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

struct agentpath_client;

/*
 * Connects to the agent at socket (NULL: the default socket). alg NULL means
 * ping; else each operation signs data with key (data is the digest for RSA
 * and ECDSA, sent with P11A_SIGN_PREHASHED, the message for Ed25519 and HMAC).
 * data must outlive the client. Returns 0 and *out, or -1 with msg.
 */
int agentpath_client_open(const char *socket, const char *key, const struct p11a_alg_info *alg,
			  const uint8_t *data, size_t data_len, struct agentpath_client **out,
			  char *msg, size_t msg_len);
/* One operation (a round trip). Returns 0, or -1 with a message in msg. */
int agentpath_client_op(struct agentpath_client *c, char *msg, size_t msg_len);
/* Closes the connection. NULL is a no-op. */
void agentpath_client_close(struct agentpath_client *c);

#endif
