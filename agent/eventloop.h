/*
 * eventloop: every client connection's socket in one epoll set, read into
 * whole requests and written from reply queues without ever blocking, so
 * that a connection costs its few hundred bytes and nothing while idle, and
 * a stalled or hostile client holds only its own connection.
 *
 * The loop has no thread of its own: the workers (workers.h) wait in
 * eventloop_wait() while they have nothing to run, and the worker an event
 * wakes reads the connection and takes the requests it completed. A request
 * is answered with eventloop_reply(), from any thread. Timeouts (idle,
 * frame, a reply the client does not read) and requests waiting for memory
 * are checked by a periodic sweep, run by the worker the timer wakes.
 *
 * Each connection is one of a fixed table of slots: an epoll event names its
 * slot and the slot's generation, so an event that arrives after its
 * connection was closed (and the slot reused) is recognised and dropped.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_EVENTLOOP_H
#define P11AGENT_EVENTLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "caller.h"
#include "front.h"
#include "quota.h"

struct eventloop;
struct conn;

/* Limits and timeouts (server.h's struct server_options, defaults applied). */
struct eventloop_options {
	unsigned max_connections;  /* slots; the server refuses more before eventloop_add */
	unsigned max_frame;	   /* largest frame body read */
	unsigned idle_timeout_ms;  /* 0: forever */
	unsigned frame_timeout_ms; /* a started frame, or a reply, must be through in this */
	unsigned busy_poll_us;	   /* see eventloop_wait */
	size_t max_request_memory; /* for messages: quota's limits */
	size_t max_request_mem_uid;
	struct quota *quota; /* request memory and connections per uid */
};

/*
 * A connection's place in the workers' queue (workers.c), under their lock:
 * its requests waiting to run, and the next connection with some.
 */
struct conn_queue {
	struct request *head, **tail;
	struct conn *next;
	int linked; /* on the workers' round of connections */
};

/* A frame read whole: its body, and the connection to answer on. */
struct request {
	struct conn *conn;
	struct request *next; /* the list it is on (eventloop_wait's, the workers' queue) */
	size_t held;	      /* bytes of the quota its body holds */
	uint32_t len;
	uint8_t body[];
};

int eventloop_new(const struct eventloop_options *opt, struct eventloop **out_loop, char *msg,
		  size_t msg_len);
/* Closes every connection; no thread may use the loop any more. NULL: no-op. */
void eventloop_free(struct eventloop *loop);

/*
 * Serves fd, an accepted connection of peer (which already holds its
 * quota_conn_take()), with front. The loop owns fd from then on, also on
 * failure (P11A_ERR_NOMEM, P11A_ERR_BUSY when every slot is taken).
 */
int eventloop_add(struct eventloop *loop, int fd, const struct front *front,
		  const struct caller *peer);

/*
 * Waits up to timeout_ms (-1: forever) for one event and handles it; first,
 * when poll_until_us (busypoll_now_us()) is still ahead, polls for one
 * without sleeping until then, giving the CPU up at once when another thread
 * wants it. The requests the event completed are appended to *reqs (they
 * hold their connection until answered). Returns 1 when woken by
 * eventloop_wake(), else 0.
 */
int eventloop_wait(struct eventloop *loop, int timeout_ms, int64_t poll_until_us,
		   struct request **reqs);
/* Makes one eventloop_wait() return 1, now or at its next call. */
void eventloop_wake(struct eventloop *loop);

/*
 * Answers req with the reply frame in out (its front's; NULL: none, the
 * connection is closed) and frees req; out is emptied (wiped). Sends at once
 * when the socket takes it, else queues it for the loop. Requests that the
 * connection's buffer already held and may now run are appended to *reqs.
 * Returns the microseconds to poll for this client's next request
 * (busy-poll; 0: none).
 */
unsigned eventloop_reply(struct eventloop *loop, struct request *req, struct buf *out,
			 struct request **reqs);
/* Frees a request that is not answered (the connection is closed). */
void eventloop_drop(struct eventloop *loop, struct request *req);

/* The connection's front, peer and front state, for running a request. */
const struct front *conn_front(const struct conn *c);
struct caller *conn_caller(struct conn *c);
void *conn_state(struct conn *c);
/* Its place in the workers' queue. */
struct conn_queue *conn_queue(struct conn *c);
/* Whether it was closed: its requests still waiting need not run. */
int conn_closed(struct conn *c);

/*
 * Tells a client that is about to be dropped why, in its front's refusal
 * (code: P11A_ERR_*), without waiting for it; then discards what it sent
 * already (bounded), since closing a Unix socket with unread input resets
 * the peer, which would lose the frame. The caller closes fd.
 */
void eventloop_refuse(const struct front *front, int fd, int code, const char *why);

/* Connections open now. */
unsigned eventloop_connections(struct eventloop *loop);
/*
 * At stop: reads end at what each client sent already (its requests are
 * still answered), and requests waiting for memory are refused. Then waits
 * up to ms for every connection to close; returns how many are left.
 */
unsigned eventloop_drain(struct eventloop *loop, unsigned ms);

#endif
