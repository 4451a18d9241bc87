/*
 * server: the Unix socket, the accept loop and one thread per connection.
 * A stalled client holds only its own thread; requests share the token's
 * bounded session pool.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SERVER_H
#define P11AGENT_SERVER_H

#include "token.h"

struct server;

/*
 * Creates the socket at path (mode 0600), creating its directory mode 0700
 * when missing. Refuses to replace a live socket; removes a stale one.
 */
int server_open(const char *path, struct server **out_srv, char *msg, size_t msg_len);
/* Serves until server_stop() (from a signal handler) is called. */
int server_run(struct server *srv, struct token *tok);
/* Async-signal-safe: asks server_run() to return. */
void server_stop(struct server *srv);
/* Closes the socket, removes it, frees srv. */
void server_close(struct server *srv);

#endif
