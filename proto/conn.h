/*
 * conn: the inside of a libp11agent connection, shared by client.c (the
 * connection and its blocking calls, one request at a time) and pipeline.c
 * (requests submitted ahead of their replies). Not part of the library's
 * interface: only p11agent.h is.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CONN_H
#define P11AGENT_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include <openssl/evp.h>

#include "buf.h"
#include "frameio.h"
#include "p11agent.h"
#include "proto.h"

/* Replies are read into a buffer of this size, one recv() for most. */
#define CONN_RBUF 16384

/* A request submitted and not collected yet: its id, and its opcode for decoding the reply. */
struct conn_pending {
	uint32_t id;
	uint8_t op;
};

struct p11a_conn {
	int fd;
	struct frameio_rx rx; /* fd, and the receive timeout set on it */
	uint32_t next_id;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *message; /* the agent's message for the last error, malloc'd; never NULL */
	struct p11a_result result; /* what the last reply said beside its result */
	struct buf *out;	   /* request being sent */
	uint8_t *reply;		   /* body of the last reply: in rbuf, or malloc'd when larger */
	size_t reply_len;
	int reply_owned;       /* reply was malloc'd */
	unsigned busy_poll_us; /* poll at most this long for a reply (0: never) */
	unsigned timeout_s;    /* P11AGENT_TIMEOUT: the longest wait for the agent (0: none) */
	int64_t wait_avg;      /* moving average of the wait for a reply, in us */
	/* Requests in flight (pipeline.c), in no order; the blocking calls refuse while any are. */
	struct conn_pending pending[P11A_MAX_INFLIGHT];
	size_t n_pending;
	size_t rhave; /* bytes received in rbuf */
	size_t rused; /* of them, those of the last reply's frame */
	uint8_t rbuf[CONN_RBUF];
};

/* Replaces the connection's message with fmt; on OOM it becomes "". */
void conn_set_message(struct p11a_conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Forgets the message and the result of the last request: a new one starts. */
void conn_clear(struct p11a_conn *conn);
/* Wipes the last reply; bytes received after its frame move to the front. */
void conn_drop_reply(struct p11a_conn *conn);
/*
 * Gives msg a fresh request id (never 0, never one in flight) and sends it
 * whole, within P11AGENT_TIMEOUT. P11A_ERR_TOO_LARGE or P11A_ERR_INVALID_ARG
 * when it cannot be encoded (nothing sent); P11A_ERR_IO when it could not be
 * sent, with a message, and the connection is closed (part of a frame may
 * have gone: the stream is out of step).
 */
int conn_send(struct p11a_conn *conn, struct proto_msg *msg);
/*
 * Reads the next reply frame into conn->reply (the caller drops the last one
 * first). On failure the connection is closed, as it is out of step with the
 * agent, and every request in flight is forgotten: P11A_ERR_IO (with a
 * message when the agent did not answer in time), P11A_ERR_PROTOCOL for a
 * frame length out of range, P11A_ERR_NOMEM.
 */
int conn_read(struct p11a_conn *conn);
/* Closes the socket after a failure that left it out of step; forgets what was in flight. */
void conn_break(struct p11a_conn *conn);
/* Keeps what a success reply of op says beside its result: the key version. */
void conn_note_result(struct p11a_conn *conn, uint8_t op, const struct proto_msg *rep);
/* Copies a string field to a fresh buffer (free with p11a_free()). */
int conn_take_bytes(const struct proto_field *f, uint8_t **out, size_t *out_len);
/*
 * Makes the SIGN request of p11a_sign(conn, key, alg, flags, data, data_len)
 * in *msg: checks the arguments, asks the agent for the key's default
 * algorithm when alg is P11A_ALG_NONE, and hashes data into md when the
 * algorithm signs a digest and flags lack P11A_SIGN_PREHASHED. msg's fields
 * point into key, data and md, which must outlive it.
 */
int conn_sign_msg(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		  const uint8_t *data, size_t data_len, uint8_t md[EVP_MAX_MD_SIZE],
		  struct proto_msg *msg);

#endif
