/*
 * server: the Unix sockets and the accept loop. Each socket is bound to a
 * front (front.h). Accepted connections go to the event loop (eventloop.h),
 * their requests to a fixed set of workers (workers.h): a stalled client
 * holds only its own connection, and a thousand idle ones cost no thread.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SERVER_H
#define P11AGENT_SERVER_H

#include "front.h"

struct server;

/*
 * Limits and socket settings (p11agent.conf(5)). A 0 picks the default noted,
 * except for idle_timeout_ms, drain_ms and busy_poll_us, where 0 means what it says.
 */
struct server_options {
	unsigned max_connections;  /* connections open at once; more get BUSY (10000) */
	unsigned workers;	   /* threads that run requests (workers_default()) */
	unsigned max_frame;	   /* largest frame body read, <= P11A_MAX_FRAME (P11A_MAX_FRAME) */
	unsigned idle_timeout_ms;  /* a connection may wait this long between frames; 0: forever */
	unsigned frame_timeout_ms; /* a started frame must be complete within this (30000) */
	unsigned drain_ms;	   /* at stop, requests in flight get this long; 0: no wait (with
				      opt NULL: 5000) */
	unsigned busy_poll_us;	   /* after a reply, poll this long for the client's next request
				      before sleeping, on connections whose requests come that
				      fast; 0: never */
	/*
	 * Shares per peer uid (agent/quota.h: root and the agent's own uid
	 * have none). Memory: bytes of frame bodies larger than a
	 * connection's own 16 KiB buffer, and of replies as large, held from
	 * the frame's length until the body is answered or the reply written.
	 */
	unsigned max_conns_per_uid; /* connections of one uid; more get BUSY (64) */
	size_t max_request_memory;  /* bytes held for all connections (64 MiB) */
	size_t max_request_mem_uid; /* bytes held for one uid's connections (16 MiB) */
	const char *socket_group;   /* NULL: socket 0600; else 0660 and of this group (name or
				       number), and a directory the server creates 0710 for it */
	/* Called from server_run()'s thread after server_hup(); may be NULL. */
	void (*on_hup)(void *arg);
	/*
	 * Called from server_run()'s thread once server_stop() is seen, before
	 * the requests in flight are drained; may be NULL.
	 */
	void (*on_stop)(void *arg);
	void *cb_arg; /* on_hup's and on_stop's argument */
};

/* Most sockets one server listens on. */
#define SERVER_MAX_SOCKETS 4

/*
 * A server with no socket yet: server_listen() and server_adopt() add them.
 * opt may be NULL (defaults); it is copied. With opt->socket_group, every
 * socket server_listen() makes is of that group.
 */
int server_new(const struct server_options *opt, struct server **out_srv, char *msg,
	       size_t msg_len);
/*
 * Creates the socket at path for front (mode 0600, or 0660 for the socket
 * group), creating its directory mode 0700 (0710 for the group) when
 * missing; it serves with the server's limits and timeouts. Refuses to
 * replace a live socket; removes a stale one. Before server_run().
 */
int server_listen(struct server *srv, const char *path, const struct front *front, char *msg,
		  size_t msg_len);
/*
 * Serves front on fd, a listening socket made by another process (socket
 * activation: systemd.h), from server_run() on. It must be a Unix stream
 * socket that listens, or P11A_ERR_INVALID_ARG with a message naming what
 * (say, "descriptor 3 (ssh)"). The server closes fd but never removes its
 * path, nor applies socket_group to it: what made it owns them.
 */
int server_adopt(struct server *srv, int fd, const struct front *front, const char *what, char *msg,
		 size_t msg_len);
/*
 * The path fd listens on, into out ("" when it has none). Returns P11A_OK,
 * or P11A_ERR_INVALID_ARG when fd is not a Unix socket.
 */
int server_socket_path(int fd, char *out, size_t out_len);
/*
 * From then on, every connection is answered at once with the error code
 * (P11A_ERR_*) and why, in its front's refusal, and closed: the agent holds
 * its sockets without serving (p11agentd after the token refused the PIN,
 * under a service manager that would start it again at the next client).
 * Before server_run(); server_run()'s ctx may then be NULL.
 */
void server_refuse_all(struct server *srv, int code, const char *why);
/*
 * Serves until server_stop() (from a signal handler) is called. ctx outlives
 * the call. Returns P11A_OK once every connection has ended; P11A_ERR_BUSY
 * when some were still busy after drain_ms (the workers still use ctx and
 * srv: exit without server_close());
 * P11A_ERR_NOMEM when it could not start serving.
 */
int server_run(struct server *srv, struct agent_ctx *ctx);
/* Async-signal-safe: asks server_run() to return. */
void server_stop(struct server *srv);
/* Async-signal-safe: asks server_run() to call opt->on_hup (SIGHUP). */
void server_hup(struct server *srv);
/* The connections open now (p11agent status). */
unsigned server_connections(struct server *srv);
/* Closes the socket, removes it, frees srv. */
void server_close(struct server *srv);

#endif
