/*
 * agentpath: the benchmark's agent path: the same operation through
 * p11agentd and libp11agent, one connection per client thread, with one
 * request or several in flight on it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_AGENTPATH_H
#define P11AGENT_BENCH_AGENTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"
#include "work.h"

struct agentpath_client;

/*
 * Connects to the agent at socket (NULL: the default socket) for w: ping,
 * p11a_sign (RSA and ECDSA digests with P11A_SIGN_PREHASHED) or, for a batch,
 * p11a_sign_batch of w->batch copies of w->in, p11a_decrypt or p11a_unwrap of
 * w->in. inflight: requests agentpath_client_pipe() keeps in flight (1 to
 * P11A_MAX_INFLIGHT; above 1, ping or single signatures only). w must
 * outlive the client. Returns 0 and *out, or -1 with msg.
 */
int agentpath_client_open(const char *socket, const struct work *w, unsigned inflight,
			  struct agentpath_client **out, char *msg, size_t msg_len);
/*
 * One operation (a round trip). check: compare a plaintext or session key to
 * w->plain, a signature's length to 0. Returns 0, or -1 with a message in
 * msg (a wrong result too).
 */
int agentpath_client_op(struct agentpath_client *c, int check, char *msg, size_t msg_len);
/*
 * One request of several in flight (p11a_submit_sign or p11a_submit_ping,
 * p11a_collect): submits until the client's inflight requests are in flight
 * (none when drain is set), then collects one, whichever the agent answers
 * first. *out_ns is its latency, from its submit to its collect. Returns 1
 * when one was collected, 0 when none was in flight (drained), or -1 with a
 * message in msg (a request the agent failed too).
 */
int agentpath_client_pipe(struct agentpath_client *c, int drain, uint64_t *out_ns, char *msg,
			  size_t msg_len);
/*
 * Does the agent complete w->alg for w->key in software (the key's sw_algs)?
 * Returns 1 or 0, or -1 with a message in msg.
 */
int agentpath_alg_in_software(struct agentpath_client *c, char *msg, size_t msg_len);
/* Closes the connection. NULL is a no-op. */
void agentpath_client_close(struct agentpath_client *c);

#endif
