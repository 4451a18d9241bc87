/*
 * front: a wire protocol the agent serves on a socket of its own. The event
 * loop (eventloop.c) reads frames (a u32 big-endian length, then the body:
 * both protocols frame so), and a worker (workers.c) hands each body to its
 * front's dispatcher, which
 * decodes it into typed calls of the operations layer (ops.h) and appends one
 * reply frame. A front is one adapter file and one entry of main.c's table
 * of sockets; the policy, the audit trail and the token are the operations
 * layer's, never a front's.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_FRONT_H
#define P11AGENT_FRONT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "caller.h"
#include "ops.h"

struct front {
	const char *name;   /* "native", "ssh": for logs */
	uint32_t max_frame; /* largest frame body it takes (max-frame may lower it) */
	uint32_t min_frame; /* smallest */
	size_t state_size;  /* bytes of per-connection state, zeroed at accept */
	/*
	 * Requests of one connection read ahead of their replies, once the
	 * caller is greeted (caller.h): they run at once, on any worker, and
	 * their replies go out as they are ready. 1 (or 0): one at a time, so
	 * replies keep the order of the requests and dispatch never runs
	 * twice at once on one connection's state.
	 */
	unsigned pipeline;
	/*
	 * Handles one request body and appends exactly one reply frame to
	 * out. Returns 0, or -1 when the connection must be closed (the frame
	 * could not be answered). ctx may be NULL (tests and fuzzing).
	 */
	int (*dispatch)(struct agent_ctx *ctx, struct caller *caller, void *state,
			const uint8_t *body, size_t body_len, struct buf *out);
	/* Frees what the state holds (not the state itself); may be NULL. */
	void (*state_free)(void *state);
	/*
	 * Appends the frame that tells a client about to be dropped why
	 * (code: P11A_ERR_*); a protocol without one appends its failure.
	 */
	int (*refusal)(struct buf *out, int code, const char *why);
	/*
	 * Rewrites the reply frame in out as an error reply (code, why) to the
	 * same request: a reply too large for the memory left. 0, or -1.
	 */
	int (*replace_reply)(struct buf *out, int code, const char *why);
};

/* The native protocol (proto/PROTOCOL.md): front-native.c. */
extern const struct front front_native;
/* The SSH agent protocol (OpenSSH's PROTOCOL.agent): front-ssh.c. */
extern const struct front front_ssh;

/*
 * The native front's dispatcher with no per-connection state beyond the
 * caller's: for the unit tests and the fuzz target.
 */
int front_native_dispatch(struct agent_ctx *ctx, struct caller *caller, const uint8_t *body,
			  size_t body_len, struct buf *out);

#endif
