/*
 * handlers: one function per opcode, dispatched through a table
 * {opcode, name, handler}. Adding an operation is one row and one handler.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_HANDLERS_H
#define P11AGENT_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "caller.h"
#include "token.h"

struct policy;
struct audit;
struct ratelimit;

/*
 * What the handlers work with; any member may be NULL (token away, no
 * policy, no audit, every refusal recorded).
 */
struct agent_ctx {
	struct token *tok;
	struct policy *policy;
	struct audit *audit;
	struct ratelimit *ratelimit; /* records of refused requests per uid and second */
};

/*
 * Handles one request body and appends exactly one reply frame to out.
 * Returns 0, or -1 when the connection must be closed (the frame could not
 * be answered: out of memory, or no request id could be read).
 * ctx may be NULL (no token, policy or audit: for tests and fuzzing);
 * ctx->tok may be NULL (token away): requests that need it get
 * TOKEN_UNAVAILABLE. Every request but HELLO and PING is checked against
 * ctx->policy and recorded in ctx->audit before the reply is encoded; a
 * record that cannot be written turns the reply into an INTERNAL error.
 * Refusals beyond ctx->ratelimit's share are counted instead of recorded,
 * and answered after RATELIMIT_DELAY_MS.
 */
int handlers_dispatch(struct agent_ctx *ctx, struct caller *peer, const uint8_t *body,
		      size_t body_len, struct buf *out);

#endif
