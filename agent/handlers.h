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
#include "token.h"

struct peer {
	int uid, gid, pid;
};

/*
 * Handles one request body and appends exactly one reply frame to out.
 * Returns 0, or -1 when the connection must be closed (the frame could not
 * be answered: out of memory, or no request id could be read).
 */
int handlers_dispatch(struct token *tok, const struct peer *peer, const uint8_t *body,
		      size_t body_len, struct buf *out);

#endif
