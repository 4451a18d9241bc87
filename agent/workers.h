/*
 * workers: the fixed set of threads that run requests. They take requests
 * from one queue, first come first served, and run each through its
 * connection's front; a worker with nothing to run waits in the event loop
 * (eventloop.h), reads the connection an event names, and queues the
 * requests it completed, waking another worker when there is more than it
 * can run. Their number is what the token can do at once, not the number of
 * clients: a thousand connections cost no thread.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_WORKERS_H
#define P11AGENT_WORKERS_H

#include "eventloop.h"
#include "ops.h"

struct workers;

/*
 * Starts n workers (every signal blocked in them: signals go to the main
 * thread) serving loop with ctx. P11A_OK, or P11A_ERR_INTERNAL with msg.
 */
int workers_start(struct eventloop *loop, struct agent_ctx *ctx, unsigned n, struct workers **out_w,
		  char *msg, size_t msg_len);
/*
 * Runs what is queued, then stops and joins every worker and frees w.
 * Only once no connection is left (eventloop_drain()). NULL: no-op.
 */
void workers_stop(struct workers *w);
/* The default number of workers: the CPUs online, at least 2. */
unsigned workers_default(void);

#endif
