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

/* The client at the other end of a connection, and its protocol state. */
struct peer {
	int uid, gid, pid; /* SO_PEERCRED at accept */
	int greeted;	   /* HELLO done: the only request allowed before is HELLO */
};

/*
 * Handles one request body and appends exactly one reply frame to out.
 * Returns 0, or -1 when the connection must be closed (the frame could not
 * be answered: out of memory, or no request id could be read).
 * tok may be NULL (token away): requests that need it get TOKEN_UNAVAILABLE.
 */
int handlers_dispatch(struct token *tok, struct peer *peer, const uint8_t *body, size_t body_len,
		      struct buf *out);

#endif
