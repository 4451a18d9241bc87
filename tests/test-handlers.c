#include "config.h"
/*
 * test-handlers: the agent's request dispatch with no token (agent/front-native.c).
 * Request bodies go in, and each reply frame is decoded byte by byte.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "p11agent.h"
#include "proto.h"
#include "../agent/front.h"

/* One reply, as read from the frame. */
struct reply {
	uint8_t op;
	uint32_t id;
	uint32_t status;
	char msg[4096];	    /* the message of an error reply */
	uint8_t body[8192]; /* the whole body, for proto_decode_reply */
	size_t body_len;
};

/* A request body of opcode op, id id, with n fields, encoded by the codec. */
static size_t build(uint8_t *body, size_t body_max, uint8_t op, uint32_t id, size_t n,
		    const struct proto_field *f)
{
	struct proto_msg m;
	struct buf *b = buf_new(0);
	size_t len;

	assert_non_null(b);
	memset(&m, 0, sizeof(m));
	m.op = op;
	m.id = id;
	m.n = n;
	for (size_t i = 0; i < n; i++)
		m.f[i] = f[i];
	assert_int_equal(proto_encode_request(b, &m), P11A_OK);
	len = buf_len(b) - 4;
	assert_true(len <= body_max);
	memcpy(body, buf_data(b) + 4, len);
	buf_free(b);
	return len;
}

/*
 * Dispatches body with no token; expects 0 and exactly one reply frame
 * appended to out, which is read into *rep.
 */
static void dispatch(struct caller *peer, const uint8_t *body, size_t len, struct reply *rep)
{
	struct buf *out = buf_new(0);
	struct buf r;
	const uint8_t *p;
	size_t n;

	assert_non_null(out);
	/* Something already queued: the reply goes after it. */
	assert_int_equal(buf_put(out, "queued", 6), P11A_OK);
	assert_int_equal(front_native_dispatch(NULL, peer, body, len, out), 0);
	assert_true(buf_len(out) >= 6 + 4 + 9);
	assert_memory_equal(buf_data(out), "queued", 6);
	assert_int_equal(proto_frame_len(buf_data(out) + 6), buf_len(out) - 10);

	memset(rep, 0, sizeof(*rep));
	rep->body_len = buf_len(out) - 10;
	assert_true(rep->body_len <= sizeof(rep->body));
	memcpy(rep->body, buf_data(out) + 10, rep->body_len);
	buf_view(&r, rep->body, rep->body_len);
	assert_int_equal(buf_get_u8(&r, &rep->op), P11A_OK);
	assert_int_equal(buf_get_u32(&r, &rep->id), P11A_OK);
	assert_int_equal(buf_get_u32(&r, &rep->status), P11A_OK);
	if (rep->status != P11A_OK) {
		/* An error reply: exactly one string, the message. */
		assert_int_equal(buf_get_string_direct(&r, sizeof(rep->msg) - 1, &p, &n), P11A_OK);
		assert_int_equal(buf_avail(&r), 0);
		assert_null(memchr(p, '\0', n));
		memcpy(rep->msg, p, n);
		rep->msg[n] = '\0';
		assert_true(n > 0);
	}
	buf_free(out);
}

/* Sends a request of opcode op and expects status back, with the same op and id. */
static void expect_status(struct caller *peer, uint8_t op, uint32_t id, size_t n,
			  const struct proto_field *f, uint32_t status, struct reply *rep)
{
	uint8_t body[8192];
	size_t len = build(body, sizeof(body), op, id, n, f);

	dispatch(peer, body, len, rep);
	assert_int_equal(rep->op, op);
	assert_int_equal(rep->id, id);
	if (rep->status != status)
		fail_msg("op %u: status %s (%s), want %s", op, p11a_errname((int)rep->status),
			 rep->msg, p11a_errname((int)status));
}

static void hello(struct caller *peer)
{
	struct proto_field f = proto_u32(P11A_PROTOCOL_VERSION);
	struct reply rep;

	expect_status(peer, PROTO_OP_HELLO, 1, 1, &f, P11A_OK, &rep);
	assert_int_equal(peer->greeted, 1);
}

/* A valid request of each opcode that is not HELLO. */
static size_t sample(uint8_t op, struct proto_field *f)
{
	static const uint8_t digest[32] = {1, 2, 3};

	switch (op) {
	case PROTO_OP_PING:
		f[0] = proto_str("ping", 4);
		return 1;
	case PROTO_OP_LIST:
		return 0;
	case PROTO_OP_PUBKEY:
	case PROTO_OP_KEY_INFO:
		f[0] = proto_key("signer");
		return 1;
	case PROTO_OP_SIGN:
		f[0] = proto_key("signer");
		f[1] = proto_u32(P11A_ALG_ECDSA_SHA256);
		f[2] = proto_u32(0);
		f[3] = proto_str(digest, sizeof(digest));
		return 4;
	case PROTO_OP_VERIFY_HMAC:
		f[0] = proto_key("mac");
		f[1] = proto_u32(P11A_ALG_HMAC_SHA256);
		f[2] = proto_str("data", 4);
		f[3] = proto_str(digest, sizeof(digest));
		return 4;
	case PROTO_OP_DECRYPT:
		f[0] = proto_key("rsa");
		f[1] = proto_u32(P11A_ALG_RSA_OAEP_SHA256);
		f[2] = proto_str(NULL, 0);
		f[3] = proto_str(digest, sizeof(digest));
		return 4;
	case PROTO_OP_UNWRAP:
		f[0] = proto_key("aes");
		f[1] = proto_u32(P11A_ALG_AES_KWP);
		f[2] = proto_u32(32);
		f[3] = proto_str(NULL, 0);
		f[4] = proto_str(digest, sizeof(digest));
		return 5;
	case PROTO_OP_DERIVE:
		f[0] = proto_key("ec");
		f[1] = proto_u32(P11A_ALG_ECDH);
		f[2] = proto_str(digest, sizeof(digest));
		return 3;
	}
	fail_msg("no sample for op %u", op);
	return 0;
}

static void test_before_hello(void **state)
{
	struct caller peer = {.uid = 1000, .gid = 1000, .pid = 1};
	struct proto_field f[5] = {{0}};
	struct reply rep;

	for (uint8_t op = PROTO_OP_PING; op <= PROTO_OP_DERIVE; op++) {
		size_t n = sample(op, f);

		expect_status(&peer, op, 0x1000 + op, n, f, P11A_ERR_VERSION, &rep);
		assert_non_null(strstr(rep.msg, "hello"));
		assert_int_equal(peer.greeted, 0);
	}
}

static void test_hello_current(void **state)
{
	struct caller peer = {0};
	struct proto_field f = proto_u32(P11A_PROTOCOL_VERSION);
	struct proto_msg m;
	struct reply rep;

	expect_status(&peer, PROTO_OP_HELLO, 77, 1, &f, P11A_OK, &rep);
	assert_int_equal(peer.greeted, 1);
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_HELLO, &m), P11A_OK);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.f[0].u32, P11A_PROTOCOL_VERSION);
	assert_true(m.f[1].len >= strlen("p11agentd"));
	assert_memory_equal(m.f[1].p, "p11agentd", strlen("p11agentd"));
	assert_null(memchr(m.f[1].p, '\0', m.f[1].len));

	/* Now other requests are served. */
	f = proto_str("x", 1);
	expect_status(&peer, PROTO_OP_PING, 78, 1, &f, P11A_OK, &rep);
	/* A second HELLO is fine too. */
	f = proto_u32(P11A_PROTOCOL_VERSION);
	expect_status(&peer, PROTO_OP_HELLO, 79, 1, &f, P11A_OK, &rep);
	assert_int_equal(peer.greeted, 1);
}

/* A newer client gets the version this agent speaks. */
static void test_hello_newer_client(void **state)
{
	struct caller peer = {0};
	struct proto_field f = proto_u32(P11A_PROTOCOL_VERSION + 5);
	struct proto_msg m;
	struct reply rep;

	expect_status(&peer, PROTO_OP_HELLO, 1, 1, &f, P11A_OK, &rep);
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_HELLO, &m), P11A_OK);
	assert_int_equal(m.f[0].u32, P11A_PROTOCOL_VERSION);
	assert_int_equal(peer.greeted, 1);
}

/* Version 1 replies had no key version: such a client is told to upgrade. */
static void test_hello_v1(void **state)
{
	struct caller peer = {0};
	struct proto_field f = proto_u32(1);
	struct reply rep;

	expect_status(&peer, PROTO_OP_HELLO, 4, 1, &f, P11A_ERR_VERSION, &rep);
	assert_int_equal(peer.greeted, 0);
	assert_non_null(strstr(rep.msg, "speaks 2"));
}

static void test_hello_v0(void **state)
{
	struct caller peer = {0};
	struct proto_field f = proto_u32(0);
	struct proto_msg m;
	struct reply rep;

	expect_status(&peer, PROTO_OP_HELLO, 5, 1, &f, P11A_ERR_VERSION, &rep);
	assert_int_equal(peer.greeted, 0);
	/* The client can decode it as an error reply, with the message. */
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_HELLO, &m), P11A_OK);
	assert_int_equal(m.status, P11A_ERR_VERSION);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.f[0].len, strlen(rep.msg));
	/* Still not greeted: other requests are refused. */
	f = proto_str("x", 1);
	expect_status(&peer, PROTO_OP_PING, 6, 1, &f, P11A_ERR_VERSION, &rep);
}

static void test_ping_echo(void **state)
{
	static const uint8_t data[] = {0, 1, 2, 0xff, 'p', 'i', 'n', 'g', 0};
	struct caller peer = {0};
	struct proto_field f;
	struct proto_msg m;
	struct reply rep;

	hello(&peer);
	f = proto_str(data, sizeof(data));
	expect_status(&peer, PROTO_OP_PING, 0xfffffffe, 1, &f, P11A_OK, &rep);
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_PING, &m), P11A_OK);
	assert_int_equal(m.id, 0xfffffffe);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.f[0].len, sizeof(data));
	assert_memory_equal(m.f[0].p, data, sizeof(data));

	/* Empty. */
	f = proto_str(NULL, 0);
	expect_status(&peer, PROTO_OP_PING, 0, 1, &f, P11A_OK, &rep);
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_PING, &m), P11A_OK);
	assert_int_equal(m.f[0].len, 0);
}

static void test_no_token(void **state)
{
	struct caller peer = {0};
	struct proto_field f[5] = {{0}};
	struct reply rep;
	struct proto_msg m;

	hello(&peer);
	for (uint8_t op = PROTO_OP_LIST; op <= PROTO_OP_DERIVE; op++) {
		size_t n = sample(op, f);

		if (op == PROTO_OP_PING)
			continue;
		expect_status(&peer, op, 0x2000 + op, n, f, P11A_ERR_TOKEN_UNAVAILABLE, &rep);
		assert_int_equal(proto_decode_reply(rep.body, rep.body_len, op, &m), P11A_OK);
		assert_int_equal(m.status, P11A_ERR_TOKEN_UNAVAILABLE);
	}
	/* PING needs no token. */
	expect_status(&peer, PROTO_OP_PING, 3, sample(PROTO_OP_PING, f), f, P11A_OK, &rep);
}

/*
 * STATUS needs no token: for the agent's own uid (an admin without a
 * policy) it answers the token away and nothing counted; anyone else is
 * DENIED.
 */
static void test_status(void **state)
{
	struct caller admin = {.uid = (int)geteuid()}, other = {.uid = (int)geteuid() + 1};
	struct p11a_status *st = NULL;
	struct proto_msg m;
	struct reply rep;
	struct buf b;

	hello(&admin);
	expect_status(&admin, PROTO_OP_STATUS, 9, 0, NULL, P11A_OK, &rep);
	assert_int_equal(proto_decode_reply(rep.body, rep.body_len, PROTO_OP_STATUS, &m), P11A_OK);
	assert_int_equal(m.n, 1);
	buf_view(&b, m.f[0].p, m.f[0].len);
	assert_int_equal(proto_status_get(&b, &st), P11A_OK);
	assert_int_equal(buf_avail(&b), 0);
	assert_memory_equal(st->agent, "p11agentd ", 10);
	assert_int_equal(st->token_state, P11A_TOKEN_AWAY);
	assert_int_equal(st->n_entries, 0);
	p11a_status_free(st);

	hello(&other);
	expect_status(&other, PROTO_OP_STATUS, 10, 0, NULL, P11A_ERR_DENIED, &rep);
	assert_non_null(strstr(rep.msg, "status is for admins"));
}

static void test_unknown_op(void **state)
{
	static const uint8_t ops[] = {0, PROTO_OP_STATUS + 1, 0x7f, 0xff};
	struct caller peer = {0};
	struct reply rep;

	hello(&peer);
	for (size_t i = 0; i < sizeof(ops); i++) {
		const uint8_t body[] = {ops[i], 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3};

		dispatch(&peer, body, 5, &rep);
		assert_int_equal(rep.op, ops[i]);
		assert_int_equal(rep.id, 0xcafebabe);
		assert_int_equal(rep.status, P11A_ERR_UNKNOWN_OP);
		/* With a body after the header too. */
		dispatch(&peer, body, sizeof(body), &rep);
		assert_int_equal(rep.op, ops[i]);
		assert_int_equal(rep.id, 0xcafebabe);
		assert_int_equal(rep.status, P11A_ERR_UNKNOWN_OP);
	}
	/* The connection goes on. */
	assert_int_equal(peer.greeted, 1);
}

/* A SIGN body with its fields as given, each written raw. */
static size_t sign_body(uint8_t *body, const char *key, size_t key_len, size_t cut)
{
	struct buf *b = buf_new(0);
	size_t len;

	assert_int_equal(buf_put_u8(b, PROTO_OP_SIGN), P11A_OK);
	assert_int_equal(buf_put_u32(b, 0x51), P11A_OK);
	assert_int_equal(buf_put_string(b, key, key_len), P11A_OK);
	assert_int_equal(buf_put_u32(b, P11A_ALG_ECDSA_SHA256), P11A_OK);
	assert_int_equal(buf_put_u32(b, 0), P11A_OK);
	assert_int_equal(buf_put_string(b, "0123456789abcdef0123456789abcdef", 32), P11A_OK);
	len = buf_len(b);
	if (cut < len)
		len = cut;
	memcpy(body, buf_data(b), len);
	buf_free(b);
	return len;
}

static void expect_bad_sign(struct caller *peer, const uint8_t *body, size_t len, const char *field)
{
	struct reply rep;

	dispatch(peer, body, len, &rep);
	assert_int_equal(rep.op, PROTO_OP_SIGN);
	assert_int_equal(rep.id, 0x51);
	if (rep.status != P11A_ERR_BAD_REQUEST)
		fail_msg("%zu bytes: status %s (%s)", len, p11a_errname((int)rep.status), rep.msg);
	assert_non_null(strstr(rep.msg, "sign"));
	if (strstr(rep.msg, field) == NULL)
		fail_msg("%zu bytes: message '%s' does not name '%s'", len, rep.msg, field);
}

static void test_malformed_sign(void **state)
{
	struct caller peer = {0};
	uint8_t body[256];
	size_t full;

	hello(&peer);
	full = sign_body(body, "k1", 2, SIZE_MAX);
	assert_int_equal(full, 5 + 6 + 4 + 4 + 36);
	/* Cut in each field: the message names it. */
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 5), "key");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 10), "key");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 11), "alg");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 14), "alg");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 15), "flags");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, 19), "data");
	expect_bad_sign(&peer, body, sign_body(body, "k1", 2, full - 1), "data");
	/* Bad keys. */
	expect_bad_sign(&peer, body, sign_body(body, "", 0, SIZE_MAX), "key");
	expect_bad_sign(&peer, body, sign_body(body, "k\0", 2, SIZE_MAX), "key");
	/* One byte too many. */
	full = sign_body(body, "k1", 2, SIZE_MAX);
	body[full] = 0;
	expect_bad_sign(&peer, body, full + 1, "trailing");
	assert_int_equal(peer.greeted, 1);
}

/* Less than opcode and id: nothing to answer to, the connection is closed. */
static void test_short_body(void **state)
{
	static const uint8_t body[] = {PROTO_OP_PING, 0, 0, 0, 1};
	struct caller peer = {0};
	struct buf *out = buf_new(0);

	assert_non_null(out);
	for (size_t n = 0; n < PROTO_MIN_BODY; n++) {
		assert_int_equal(front_native_dispatch(NULL, &peer, body, n, out), -1);
		assert_int_equal(buf_len(out), 0);
	}
	hello(&peer);
	for (size_t n = 0; n < PROTO_MIN_BODY; n++) {
		assert_int_equal(front_native_dispatch(NULL, &peer, body, n, out), -1);
		assert_int_equal(buf_len(out), 0);
	}
	assert_int_equal(front_native_dispatch(NULL, &peer, NULL, 0, out), -1);
	assert_int_equal(buf_len(out), 0);
	buf_free(out);
}

/* A malformed HELLO before anything else: a BAD_REQUEST reply, not greeted. */
static void test_malformed_hello(void **state)
{
	static const uint8_t body[] = {PROTO_OP_HELLO, 0, 0, 0, 9, 0, 0};
	struct caller peer = {0};
	struct reply rep;

	dispatch(&peer, body, sizeof(body), &rep);
	assert_int_equal(rep.op, PROTO_OP_HELLO);
	assert_int_equal(rep.id, 9);
	assert_int_equal(rep.status, P11A_ERR_BAD_REQUEST);
	assert_non_null(strstr(rep.msg, "hello"));
	assert_int_equal(peer.greeted, 0);
}

/* A body beyond the frame maximum is never served. */
static void test_oversized_body(void **state)
{
	size_t len = (size_t)P11A_MAX_FRAME + 1;
	uint8_t *body = calloc(1, len);
	struct caller peer = {0};
	struct buf *out = buf_new(0);
	struct buf r;
	uint8_t op;
	uint32_t id, status;

	assert_non_null(body);
	hello(&peer);
	/* A PING, id 3, whose string fills the rest: well formed but too big. */
	body[0] = PROTO_OP_PING;
	body[4] = 3;
	body[5] = (uint8_t)((P11A_MAX_FRAME - 8) >> 24);
	body[6] = (uint8_t)((P11A_MAX_FRAME - 8) >> 16);
	body[7] = (uint8_t)((P11A_MAX_FRAME - 8) >> 8);
	body[8] = (uint8_t)(P11A_MAX_FRAME - 8);
	if (front_native_dispatch(NULL, &peer, body, len, out) == 0) {
		buf_view(&r, buf_data(out) + 4, buf_len(out) - 4);
		assert_int_equal(buf_get_u8(&r, &op), P11A_OK);
		assert_int_equal(buf_get_u32(&r, &id), P11A_OK);
		assert_int_equal(buf_get_u32(&r, &status), P11A_OK);
		assert_int_not_equal(status, P11A_OK);
	}
	buf_free(out);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_before_hello),   cmocka_unit_test(test_hello_current),
	    cmocka_unit_test(test_hello_v1),	   cmocka_unit_test(test_hello_newer_client),
	    cmocka_unit_test(test_hello_v0),	   cmocka_unit_test(test_ping_echo),
	    cmocka_unit_test(test_no_token),	   cmocka_unit_test(test_unknown_op),
	    cmocka_unit_test(test_status),	   cmocka_unit_test(test_malformed_sign),
	    cmocka_unit_test(test_short_body),	   cmocka_unit_test(test_malformed_hello),
	    cmocka_unit_test(test_oversized_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
