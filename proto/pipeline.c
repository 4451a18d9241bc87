/*
 * pipeline: several requests in flight on one libp11agent connection.
 * A submit sends its request at once and notes its id and opcode in the
 * connection's table of requests in flight; a collect reads whichever reply
 * comes next, finds its request by id, and hands over its result. A reply
 * that answers no request in flight cannot be matched to anything: the
 * connection is closed then, as after any reply the library cannot read.
 *
 * Submitted requests' replies are small (a signature, a ping's probe), so a
 * client that submits up to P11A_MAX_INFLIGHT before it collects cannot block
 * the agent: the agent's replies fit in the socket while it reads on.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "p11agent.h"
#include "proto.h"

/* What a submitted PING carries, and its reply must echo. */
static const uint8_t ping_probe[] = "p11agent-pipelined-ping";

size_t p11a_inflight(const struct p11a_conn *conn)
{
	return conn->n_pending;
}

/* Room for one more request in flight, or P11A_ERR_INVALID_ARG with a message. */
static int room(struct p11a_conn *conn)
{
	if (conn->n_pending < P11A_MAX_INFLIGHT)
		return P11A_OK;
	conn_set_message(conn,
			 "%u requests are in flight on this connection, the most it may have: "
			 "collect a reply (p11a_collect()) before submitting another",
			 (unsigned)P11A_MAX_INFLIGHT);
	return P11A_ERR_INVALID_ARG;
}

/* Sends msg and notes it in flight; *out_id is its request id. */
static int submit(struct p11a_conn *conn, struct proto_msg *msg, uint32_t *out_id)
{
	int r;

	if ((r = room(conn)) != P11A_OK || (r = conn_send(conn, msg)) != P11A_OK)
		return r;
	conn->pending[conn->n_pending].id = msg->id;
	conn->pending[conn->n_pending].op = msg->op;
	conn->n_pending++;
	*out_id = msg->id;
	return P11A_OK;
}

int p11a_submit_sign(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		     const uint8_t *data, size_t data_len, uint32_t *out_id)
{
	struct proto_msg msg;
	uint8_t md[EVP_MAX_MD_SIZE];
	int r;

	if (conn == NULL || out_id == NULL)
		return P11A_ERR_INVALID_ARG;
	conn_clear(conn);
	if (alg == P11A_ALG_NONE) {
		conn_set_message(conn, "a submitted signature needs its algorithm: the key's "
				       "default is a round trip of its own (p11a_describe_key())");
		return P11A_ERR_INVALID_ARG;
	}
	/* Refused before the data is hashed: nothing to do for a request that cannot go. */
	if ((r = room(conn)) != P11A_OK)
		return r;
	if ((r = conn_sign_msg(conn, key, alg, flags, data, data_len, md, &msg)) == P11A_OK)
		r = submit(conn, &msg, out_id);
	explicit_bzero(md, sizeof(md));
	return r;
}

int p11a_submit_ping(struct p11a_conn *conn, uint32_t *out_id)
{
	struct proto_msg msg = {.op = PROTO_OP_PING, .n = 1};

	if (conn == NULL || out_id == NULL)
		return P11A_ERR_INVALID_ARG;
	conn_clear(conn);
	msg.f[0] = proto_str(ping_probe, sizeof(ping_probe) - 1);
	return submit(conn, &msg, out_id);
}

/*
 * The result of a success reply rep to a request of op: a SIGN's signature
 * in *out (a fresh buffer), nothing for a PING whose probe came back.
 * Returns the request's status.
 */
static int take_result(uint8_t op, const struct proto_msg *rep, uint8_t **out, size_t *out_len)
{
	if (op == PROTO_OP_SIGN)
		return conn_take_bytes(&rep->f[0], out, out_len);
	if (rep->f[0].len != sizeof(ping_probe) - 1 ||
	    memcmp(rep->f[0].p, ping_probe, rep->f[0].len) != 0)
		return P11A_ERR_PROTOCOL;
	return P11A_OK;
}

/*
 * The agent dropped the connection and said why (a reply of opcode 0 with an
 * error): its code, or P11A_ERR_PROTOCOL for a malformed one. The message is
 * the agent's.
 */
static int refusal(struct p11a_conn *conn)
{
	struct proto_msg rep;

	/* Any opcode will do: an error of opcode 0 decodes for every one. */
	if (proto_decode_reply(conn->reply, conn->reply_len, PROTO_OP_PING, &rep) != P11A_OK ||
	    rep.op != 0) {
		conn_set_message(conn,
				 "the agent sent a malformed reply: the connection is closed");
		return P11A_ERR_PROTOCOL;
	}
	conn_set_message(conn, "%.*s", (int)rep.f[0].len, (const char *)rep.f[0].p);
	return rep.status >= 64 ? P11A_ERR_PROTOCOL : (int)rep.status;
}

int p11a_collect(struct p11a_conn *conn, uint32_t *out_id, int *out_status, uint8_t **out,
		 size_t *out_len)
{
	struct proto_msg rep;
	struct buf head;
	uint8_t *res = NULL, op;
	size_t res_len = 0, i;
	uint32_t id;
	int r, status;

	if (conn == NULL || out_id == NULL || out_status == NULL || out == NULL || out_len == NULL)
		return P11A_ERR_INVALID_ARG;
	conn_clear(conn);
	conn_drop_reply(conn);
	if (conn->n_pending == 0) {
		conn_set_message(conn, "no submitted request is in flight on this connection: "
				       "nothing to collect");
		return P11A_ERR_INVALID_ARG;
	}
	if ((r = conn_read(conn)) != P11A_OK)
		return r;
	/* A frame holds at least an opcode and an id (conn_read checked its length). */
	buf_view(&head, conn->reply, conn->reply_len);
	if (buf_get_u8(&head, &op) != P11A_OK || buf_get_u32(&head, &id) != P11A_OK) {
		r = P11A_ERR_PROTOCOL;
		goto broken;
	}
	if (op == 0) {
		r = refusal(conn);
		goto broken;
	}
	for (i = 0; i < conn->n_pending && conn->pending[i].id != id; i++)
		;
	if (i == conn->n_pending) {
		conn_set_message(conn,
				 "the agent answered request id %u, which is not in flight on this "
				 "connection: the connection is closed",
				 (unsigned)id);
		r = P11A_ERR_PROTOCOL;
		goto broken;
	}
	op = conn->pending[i].op;
	if (proto_decode_reply(conn->reply, conn->reply_len, op, &rep) != P11A_OK) {
		conn_set_message(conn,
				 "the agent's reply to request id %u is malformed: the connection "
				 "is closed",
				 (unsigned)id);
		r = P11A_ERR_PROTOCOL;
		goto broken;
	}
	/* Collected: it is no longer in flight, whatever its result. */
	conn->pending[i] = conn->pending[--conn->n_pending];
	if (rep.status != P11A_OK) {
		conn_set_message(conn, "%.*s", (int)rep.f[0].len, (const char *)rep.f[0].p);
		/* Codes this library does not know are reported as they are. */
		status = rep.status >= 64 ? P11A_ERR_PROTOCOL : (int)rep.status;
	} else if ((status = take_result(op, &rep, &res, &res_len)) == P11A_OK) {
		conn_note_result(conn, op, &rep);
	} else if (status == P11A_ERR_PROTOCOL) {
		conn_set_message(conn, "the agent's reply to ping %u did not echo its data",
				 (unsigned)id);
	}
	conn_drop_reply(conn);
	*out_id = id;
	*out_status = status;
	*out = res;
	*out_len = res_len;
	return P11A_OK;
broken:
	conn_drop_reply(conn);
	conn_break(conn);
	return r;
}
