/*
 * provpath: the benchmark's provider path: the same signature through an
 * OpenSSL program's own calls, with the key loaded from the p11agent
 * provider (p11agent.so) by OSSL_STORE as "p11agent:KEY". The provider
 * forwards the signature to p11agentd; this path measures what the provider
 * adds to the agent path.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_PROVPATH_H
#define P11AGENT_BENCH_PROVPATH_H

#include <stddef.h>

#include "work.h"

struct provpath;
struct provpath_client;

/*
 * Loads the default provider, then p11agent.so (module: its path; NULL: the
 * one in OpenSSL's modules folder) into a library context of its own, and
 * loads p11agent:w->key from its store. The provider reaches the agent at
 * socket (set as P11AGENT_SOCK; NULL: its own default). w must be a
 * signature (RSA PKCS#1 or PSS, ECDSA, Ed25519) and outlive the result.
 * Returns 0 and *out, or -1 with a message in msg. Free with
 * provpath_close().
 */
int provpath_open(const char *module, const char *socket, const struct work *w,
		  struct provpath **out, char *msg, size_t msg_len);

/* One client thread's signing context. Returns 0 and *out, or -1 and msg. */
int provpath_client_open(struct provpath *pp, struct provpath_client **out, char *msg,
			 size_t msg_len);

/*
 * One signature of w->in: EVP_PKEY_sign over the digest (RSA, ECDSA; as the
 * agent path signs it, prehashed) or a one-shot EVP_DigestSign over the
 * message (Ed25519, as libssl does). check: an empty signature is an error.
 * Returns 0, or -1 with a message in msg.
 */
int provpath_client_op(struct provpath_client *c, int check, char *msg, size_t msg_len);

/* Frees the client. NULL is a no-op. */
void provpath_client_close(struct provpath_client *c);
/* Frees the key and unloads the providers. NULL is a no-op. */
void provpath_close(struct provpath *pp);

#endif
