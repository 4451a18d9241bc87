#include "config.h"
/*
 * test-codec: frames, requests, replies and key-list entries (proto/codec.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "p11agent.h"
#include "proto.h"

#define N_OPS 22

static const uint8_t der[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
			      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
static const uint8_t digest[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,	 10,  11,
				   12, 13, 14, 15, 16, 17, 18, 19, 20,	 21,  22,
				   23, 24, 25, 26, 27, 0,  0,  0,  0xff, 0xfe};
/* SIGN_BATCH items: count 2, then two 3-byte strings. */
static const uint8_t batch_items[] = {0,   0,	0, 2, 0, 0, 0,	 3,   'a',
				      'b', 'c', 0, 0, 0, 3, 'd', 'e', 'f'};

/* A message of opcode op, id id, with n fields. */
static struct proto_msg mk(uint8_t op, uint32_t id, size_t n, const struct proto_field *f)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.op = op;
	m.id = id;
	m.n = n;
	for (size_t i = 0; i < n; i++)
		m.f[i] = f[i];
	return m;
}

/* A valid request of each opcode, with every field set. */
static struct proto_msg sample_request(uint8_t op)
{
	struct proto_field f[5] = {{0}};

	switch (op) {
	case PROTO_OP_HELLO:
		f[0] = proto_u32(P11A_PROTOCOL_VERSION);
		return mk(op, 1, 1, f);
	case PROTO_OP_PING:
		f[0] = proto_str("p\0ng\xff", 5);
		return mk(op, 2, 1, f);
	case PROTO_OP_LIST:
		return mk(op, 3, 0, f);
	case PROTO_OP_PUBKEY:
		f[0] = proto_key("signer");
		return mk(op, 4, 1, f);
	case PROTO_OP_SIGN:
		f[0] = proto_key("pkcs11:token=demo;object=ec%20key");
		f[1] = proto_u32(P11A_ALG_ECDSA_SHA256);
		f[2] = proto_u32(P11A_SIGN_ECDSA_RAW);
		f[3] = proto_str(digest, sizeof(digest));
		return mk(op, 0xdeadbeef, 4, f);
	case PROTO_OP_VERIFY_HMAC:
		f[0] = proto_key("id:0a0b");
		f[1] = proto_u32(P11A_ALG_HMAC_SHA384);
		f[2] = proto_str("message", 7);
		f[3] = proto_str(digest, sizeof(digest));
		return mk(op, 0xffffffff, 4, f);
	case PROTO_OP_KEY_INFO:
		f[0] = proto_key("k");
		return mk(op, 0, 1, f);
	case PROTO_OP_DECRYPT:
		f[0] = proto_key("rsa");
		f[1] = proto_u32(P11A_ALG_RSA_OAEP_SHA256);
		f[2] = proto_str("label", 5);
		f[3] = proto_str(der, sizeof(der));
		return mk(op, 8, 4, f);
	case PROTO_OP_UNWRAP:
		f[0] = proto_key("aes");
		f[1] = proto_u32(P11A_ALG_AES_KWP);
		f[2] = proto_u32(32);
		f[3] = proto_str(NULL, 0);
		f[4] = proto_str(digest, sizeof(digest));
		return mk(op, 9, 5, f);
	case PROTO_OP_DERIVE:
		f[0] = proto_key("ec");
		f[1] = proto_u32(P11A_ALG_ECDH);
		f[2] = proto_str(der, sizeof(der));
		return mk(op, 10, 3, f);
	case PROTO_OP_AUDIT_VERIFY:
		f[0] = proto_str(digest, sizeof(digest));
		f[1] = proto_cstr("{\"seq\":1,\"chain\":\"hmac-sha256\"");
		f[2] = proto_str(digest, sizeof(digest));
		return mk(op, 12, 3, f);
	case PROTO_OP_SIGN_BATCH:
		f[0] = proto_key("ec256");
		f[1] = proto_u32(P11A_ALG_ECDSA_SHA256);
		f[2] = proto_u32(0);
		f[3] = proto_rest(batch_items, sizeof(batch_items));
		return mk(op, 13, 4, f);
	case PROTO_OP_AUDIT_HEAD:
		return mk(op, 14, 0, f);
	case PROTO_OP_CERT:
		f[0] = proto_key("web-ecdsa");
		return mk(op, 15, 1, f);
	case PROTO_OP_KEYGEN:
		f[0] = proto_key("build-signer");
		f[1] = proto_cstr("ec:P-256");
		f[2] = proto_u32(P11A_OP_SIGN);
		return mk(op, 16, 3, f);
	case PROTO_OP_ROTATE:
	case PROTO_OP_VERSIONS:
		f[0] = proto_key("build-signer");
		return mk(op, 17, 1, f);
	case PROTO_OP_TRIM:
		f[0] = proto_key("build-signer");
		f[1] = proto_u32(3);
		return mk(op, 18, 2, f);
	case PROTO_OP_REWRAP:
		f[0] = proto_key("transport");
		f[1] = proto_u32(P11A_ALG_AES_KWP);
		f[2] = proto_str("", 0);
		f[3] = proto_str(digest, sizeof(digest));
		return mk(op, 19, 4, f);
	case PROTO_OP_CERT_IMPORT:
		f[0] = proto_key("web-ecdsa");
		f[1] = proto_str(der, sizeof(der));
		return mk(op, 20, 2, f);
	case PROTO_OP_RELOAD:
		return mk(op, 21, 0, f);
	case PROTO_OP_STATUS:
		return mk(op, 22, 0, f);
	}
	fail_msg("no sample for op %u", op);
	return mk(0, 0, 0, f);
}

static const uint8_t list_bytes[] = {0, 0, 0, 0}; /* a LIST reply with no key */

/* A valid success reply of each opcode. */
static struct proto_msg sample_reply(uint8_t op)
{
	struct proto_field f[3] = {{0}};

	switch (op) {
	case PROTO_OP_AUDIT_HEAD:
		f[0] = proto_u32(1);
		f[1] = proto_u32(0xfffffffe);
		f[2] = proto_str(digest, sizeof(digest));
		return mk(op, 14, 3, f);
	case PROTO_OP_HELLO:
		f[0] = proto_u32(P11A_PROTOCOL_VERSION);
		f[1] = proto_cstr("p11agentd 0.1.0");
		return mk(op, 1, 2, f);
	case PROTO_OP_PING:
		f[0] = proto_str("p\0ng\xff", 5);
		return mk(op, 2, 1, f);
	case PROTO_OP_LIST:
		f[0] = proto_rest(list_bytes, sizeof(list_bytes));
		return mk(op, 3, 1, f);
	case PROTO_OP_PUBKEY:
		f[0] = proto_str(der, sizeof(der));
		return mk(op, 4, 1, f);
	case PROTO_OP_CERT:
		f[0] = proto_str(der, sizeof(der));
		return mk(op, 15, 1, f);
	case PROTO_OP_SIGN:
		f[0] = proto_str(digest, sizeof(digest));
		f[1] = proto_u32(3);
		return mk(op, 0xdeadbeef, 2, f);
	case PROTO_OP_VERIFY_HMAC:
		f[0] = proto_u32(1);
		f[1] = proto_u32(2);
		return mk(op, 0xffffffff, 2, f);
	case PROTO_OP_REWRAP:
		f[0] = proto_str(digest, sizeof(digest));
		f[1] = proto_u32(1);
		f[2] = proto_u32(2);
		return mk(op, 19, 3, f);
	case PROTO_OP_TRIM:
	case PROTO_OP_CERT_IMPORT:
	case PROTO_OP_RELOAD:
		f[0] = proto_u32(2);
		return mk(op, 20, 1, f);
	case PROTO_OP_KEYGEN:
	case PROTO_OP_ROTATE:
	case PROTO_OP_VERSIONS:
	case PROTO_OP_STATUS:
		f[0] = proto_rest(list_bytes, sizeof(list_bytes));
		return mk(op, 16, 1, f);
	case PROTO_OP_AUDIT_VERIFY:
		f[0] = proto_u32(1);
		return mk(op, 0xffffffff, 1, f);
	case PROTO_OP_KEY_INFO:
		f[0] = proto_rest(der, sizeof(der));
		return mk(op, 0, 1, f);
	case PROTO_OP_SIGN_BATCH:
		f[0] = proto_u32(2);
		f[1] = proto_rest(der, sizeof(der));
		return mk(op, 0, 2, f);
	case PROTO_OP_DECRYPT:
	case PROTO_OP_UNWRAP:
	case PROTO_OP_DERIVE:
		f[0] = proto_str(digest, sizeof(digest));
		f[1] = proto_u32(1);
		return mk(op, 11, 2, f);
	}
	fail_msg("no sample for op %u", op);
	return mk(0, 0, 0, f);
}

/* Checks that decoded matches the message that was encoded. */
static void assert_msg_equal(const struct proto_msg *got, const struct proto_msg *want)
{
	assert_int_equal(got->op, want->op);
	assert_int_equal(got->id, want->id);
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->n, want->n);
	for (size_t i = 0; i < want->n; i++) {
		assert_int_equal(got->f[i].type, want->f[i].type);
		if (want->f[i].type == 'u') {
			assert_int_equal(got->f[i].u32, want->f[i].u32);
		} else {
			assert_int_equal(got->f[i].len, want->f[i].len);
			if (want->f[i].len > 0)
				assert_memory_equal(got->f[i].p, want->f[i].p, want->f[i].len);
		}
	}
}

/*
 * Encodes msg into a fresh buffer, checks the frame's length prefix, and hands
 * back the buffer; *out_body and *out_len are the body within it.
 */
static struct buf *encode(const struct proto_msg *msg, int reply, const uint8_t **out_body,
			  size_t *out_len)
{
	struct buf *b = buf_new(0);

	assert_non_null(b);
	if (reply)
		assert_int_equal(proto_encode_reply(b, msg), P11A_OK);
	else
		assert_int_equal(proto_encode_request(b, msg), P11A_OK);
	assert_true(buf_len(b) >= 4 + PROTO_MIN_BODY);
	assert_int_equal(proto_frame_len(buf_data(b)), buf_len(b) - 4);
	*out_body = buf_data(b) + 4;
	*out_len = buf_len(b) - 4;
	return b;
}

static void test_op_table(void **state)
{
	static const char *const names[] = {
	    "hello",	  "ping",	 "list",   "pubkey", "sign",	     "verify-hmac",
	    "key-info",	  "decrypt",	 "unwrap", "derive", "audit-verify", "sign-batch",
	    "audit-head", "cert",	 "keygen", "rotate", "versions",     "trim",
	    "rewrap",	  "cert-import", "reload", "status"};

	for (uint8_t op = 1; op <= N_OPS; op++) {
		const struct proto_op_info *info = proto_op_info(op);

		assert_non_null(info);
		assert_int_equal(info->op, op);
		assert_string_equal(info->name, names[op - 1]);
		assert_true(strlen(info->req_sig) <= PROTO_MAX_FIELDS);
		assert_true(strlen(info->rep_sig) <= PROTO_MAX_FIELDS);
	}
	assert_null(proto_op_info(0));
	assert_null(proto_op_info(N_OPS + 1));
	assert_null(proto_op_info(255));
}

static void test_frame_len(void **state)
{
	static const uint8_t p[4] = {0x12, 0x34, 0x56, 0x78};
	static const uint8_t q[4] = {0xff, 0xff, 0xff, 0xff};

	assert_int_equal(proto_frame_len(p), 0x12345678u);
	assert_int_equal(proto_frame_len(q), 0xffffffffu);
}

static void test_request_round_trip(void **state)
{
	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_msg in = sample_request(op), out;
		const uint8_t *body;
		const char *what = NULL;
		size_t len;
		struct buf *b = encode(&in, 0, &body, &len);

		assert_int_equal(proto_decode_request(body, len, &out, &what), P11A_OK);
		assert_msg_equal(&out, &in);
		buf_free(b);
	}
}

static void test_reply_round_trip(void **state)
{
	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_msg in = sample_reply(op), out;
		const uint8_t *body;
		size_t len;
		struct buf *b = encode(&in, 1, &body, &len);

		assert_int_equal(proto_decode_reply(body, len, op, &out), P11A_OK);
		assert_msg_equal(&out, &in);
		buf_free(b);
	}
}

/* The exact bytes of one request and one reply, as PROTOCOL.md gives them. */
static void test_wire_bytes(void **state)
{
	/* clang-format off */
	static const uint8_t want_req[] = {
		0, 0, 0, 25,                     /* body length */
		5,                               /* SIGN */
		0, 0, 0, 7,                      /* id */
		0, 0, 0, 1, 'k',                 /* key */
		0, 0, 0, 7,                      /* alg */
		0, 0, 0, 2,                      /* flags */
		0, 0, 0, 3, 'a', 'b', 'c',       /* data */
	};
	static const uint8_t want_rep[] = {
		0, 0, 0, 16,                     /* body length */
		4,                               /* PUBKEY */
		0, 0, 0, 9,                      /* id */
		0, 0, 0, 4,                      /* status: NO_SUCH_KEY */
		0, 0, 0, 3, 'n', 'o', '!',       /* message */
	};
	/* clang-format on */
	struct proto_field f[4] = {proto_key("k"), proto_u32(7), proto_u32(2), proto_str("abc", 3)};
	struct proto_msg m = mk(PROTO_OP_SIGN, 7, 4, f);
	struct buf *b = buf_new(0);

	assert_int_equal(proto_encode_request(b, &m), P11A_OK);
	assert_int_equal(buf_len(b), sizeof(want_req));
	assert_memory_equal(buf_data(b), want_req, sizeof(want_req));
	buf_reset(b);
	f[0] = proto_cstr("no!");
	m = mk(PROTO_OP_PUBKEY, 9, 1, f);
	m.status = P11A_ERR_NO_SUCH_KEY;
	assert_int_equal(proto_encode_reply(b, &m), P11A_OK);
	assert_int_equal(buf_len(b), sizeof(want_rep));
	assert_memory_equal(buf_data(b), want_rep, sizeof(want_rep));
	buf_free(b);
}

/* Several frames appended to one buffer each carry their own length. */
static void test_frames_appended(void **state)
{
	struct buf *b = buf_new(0);
	struct proto_msg m1 = sample_request(PROTO_OP_SIGN), m2 = sample_request(PROTO_OP_LIST);
	struct proto_msg got;
	const char *what;
	uint32_t len1, len2;

	assert_int_equal(proto_encode_request(b, &m1), P11A_OK);
	assert_int_equal(proto_encode_request(b, &m2), P11A_OK);
	len1 = proto_frame_len(buf_data(b));
	len2 = proto_frame_len(buf_data(b) + 4 + len1);
	assert_int_equal(4 + len1 + 4 + len2, buf_len(b));
	assert_int_equal(len2, PROTO_MIN_BODY);
	assert_int_equal(proto_decode_request(buf_data(b) + 4, len1, &got, &what), P11A_OK);
	assert_msg_equal(&got, &m1);
	assert_int_equal(proto_decode_request(buf_data(b) + 8 + len1, len2, &got, &what), P11A_OK);
	assert_msg_equal(&got, &m2);
	buf_free(b);
}

static void test_zero_length_fields(void **state)
{
	struct proto_field f[4] = {proto_key("k"), proto_u32(0), proto_u32(0), proto_str(NULL, 0)};
	struct proto_msg in = mk(PROTO_OP_SIGN, 1, 4, f), out;
	const uint8_t *body;
	const char *what;
	size_t len;
	struct buf *b = encode(&in, 0, &body, &len);

	assert_int_equal(proto_decode_request(body, len, &out, &what), P11A_OK);
	assert_msg_equal(&out, &in);
	buf_free(b);

	f[0] = proto_str("", 0);
	in = mk(PROTO_OP_PING, 2, 1, f);
	b = encode(&in, 0, &body, &len);
	assert_int_equal(proto_decode_request(body, len, &out, &what), P11A_OK);
	assert_int_equal(out.f[0].len, 0);
	buf_free(b);
}

static void test_decode_empty_and_short_header(void **state)
{
	static const uint8_t four[] = {PROTO_OP_PING, 0, 0, 0};
	struct proto_msg m;
	const char *what = NULL;

	assert_int_equal(proto_decode_request(NULL, 0, &m, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(what);
	assert_non_null(strstr(what, "header"));
	what = NULL;
	assert_int_equal(proto_decode_request(four, 0, &m, &what), P11A_ERR_BAD_REQUEST);
	for (size_t n = 1; n <= sizeof(four); n++) {
		what = NULL;
		assert_int_equal(proto_decode_request(four, n, &m, &what), P11A_ERR_BAD_REQUEST);
		assert_non_null(strstr(what, "header"));
		assert_int_equal(m.id, 0);
		assert_int_equal(m.n, 0);
	}
}

static void test_decode_unknown_op(void **state)
{
	static const uint8_t ops[] = {0, N_OPS + 1, 0x80, 0xff};

	for (size_t i = 0; i < sizeof(ops); i++) {
		/* With and without bytes after the header. */
		const uint8_t body[] = {ops[i], 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb};
		struct proto_msg m;
		const char *what = NULL;

		assert_int_equal(proto_decode_request(body, 5, &m, &what), P11A_ERR_UNKNOWN_OP);
		assert_int_equal(m.op, ops[i]);
		assert_int_equal(m.id, 0x01020304u);
		assert_non_null(what);
		assert_int_equal(proto_decode_request(body, sizeof(body), &m, &what),
				 P11A_ERR_UNKNOWN_OP);
		assert_int_equal(m.op, ops[i]);
		assert_int_equal(m.id, 0x01020304u);
	}
}

/* The field a truncation at body offset off falls in, for the sample SIGN. */
static const char *sign_field_at(size_t off, size_t key_len)
{
	size_t key_end = PROTO_MIN_BODY + 4 + key_len;

	if (off < key_end)
		return "key";
	if (off < key_end + 4)
		return "alg";
	if (off < key_end + 8)
		return "flags";
	return "data";
}

/* Every strict prefix of every request (past the header) is refused. */
static void test_decode_truncated_fields(void **state)
{
	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_msg in = sample_request(op), out;
		const uint8_t *body;
		const char *what;
		size_t len;
		struct buf *b = encode(&in, 0, &body, &len);

		/* SIGN_BATCH's items are the rest of the body: the handler checks them. */
		size_t end = op == PROTO_OP_SIGN_BATCH ? len - sizeof(batch_items) : len;

		for (size_t n = PROTO_MIN_BODY; n < end; n++) {
			/* A copy of exactly n bytes, so that a read past it trips ASan. */
			uint8_t *cut = malloc(n);

			assert_non_null(cut);
			memcpy(cut, body, n);
			what = NULL;
			assert_int_equal(proto_decode_request(cut, n, &out, &what),
					 P11A_ERR_BAD_REQUEST);
			assert_non_null(what);
			/* The header was readable: op and id are there for the reply. */
			assert_int_equal(out.op, op);
			assert_int_equal(out.id, in.id);
			if (op == PROTO_OP_SIGN)
				assert_non_null(strstr(what, sign_field_at(n, in.f[0].len)));
			free(cut);
		}
		buf_free(b);
	}
}

static void test_decode_trailing_bytes(void **state)
{
	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_msg in = sample_request(op), out;
		const uint8_t *body;
		const char *what = NULL;
		size_t len;
		struct buf *b = encode(&in, 0, &body, &len);
		uint8_t *longer;

		if (op == PROTO_OP_SIGN_BATCH) { /* its rest is the handler's to check */
			buf_free(b);
			continue;
		}
		longer = malloc(len + 1);

		assert_non_null(longer);
		memcpy(longer, body, len);
		longer[len] = 0;
		assert_int_equal(proto_decode_request(longer, len + 1, &out, &what),
				 P11A_ERR_BAD_REQUEST);
		assert_non_null(strstr(what, "trailing"));
		assert_int_equal(out.op, op);
		assert_int_equal(out.id, in.id);
		free(longer);
		buf_free(b);
	}
}

/* A PUBKEY request body whose key field is key[0..key_len). */
static size_t pubkey_body(uint8_t *body, const void *key, size_t key_len)
{
	struct buf *b = buf_new(0);
	size_t len;

	assert_int_equal(buf_put_u8(b, PROTO_OP_PUBKEY), P11A_OK);
	assert_int_equal(buf_put_u32(b, 42), P11A_OK);
	assert_int_equal(buf_put_string(b, key, key_len), P11A_OK);
	len = buf_len(b);
	memcpy(body, buf_data(b), len);
	buf_free(b);
	return len;
}

static void test_decode_key_limits(void **state)
{
	uint8_t *key = malloc(PROTO_MAX_KEYREF + 1);
	uint8_t *body = malloc(PROTO_MAX_KEYREF + 64);
	struct proto_msg m;
	const char *what;
	size_t len;

	assert_non_null(key);
	assert_non_null(body);
	memset(key, 'a', PROTO_MAX_KEYREF + 1);

	/* Zero length. */
	what = NULL;
	len = pubkey_body(body, "", 0);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(strstr(what, "key"));
	assert_int_equal(m.id, 42);

	/* 4096 bytes: the largest allowed. */
	len = pubkey_body(body, key, PROTO_MAX_KEYREF);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_OK);
	assert_int_equal(m.f[0].len, PROTO_MAX_KEYREF);

	/* 4097 bytes. */
	what = NULL;
	len = pubkey_body(body, key, PROTO_MAX_KEYREF + 1);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(strstr(what, "key"));

	/* A NUL anywhere. */
	what = NULL;
	len = pubkey_body(body, "ab\0c", 4);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(strstr(what, "key"));
	len = pubkey_body(body, "\0", 1);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_ERR_BAD_REQUEST);
	len = pubkey_body(body, "abc\0", 4);
	assert_int_equal(proto_decode_request(body, len, &m, &what), P11A_ERR_BAD_REQUEST);

	free(key);
	free(body);
}

/* A string length that claims more than the body holds. */
static void test_decode_lying_length(void **state)
{
	static const uint8_t ping[] = {PROTO_OP_PING, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 'x'};
	static const uint8_t key[] = {PROTO_OP_PUBKEY, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 'x'};
	struct proto_msg m;
	const char *what;

	assert_int_equal(proto_decode_request(ping, sizeof(ping), &m, &what), P11A_ERR_BAD_REQUEST);
	assert_int_equal(proto_decode_request(key, sizeof(key), &m, &what), P11A_ERR_BAD_REQUEST);
}

/* Writes a PING header whose string claims str_len bytes into body[0..9). */
static void ping_header(uint8_t *body, uint32_t str_len)
{
	struct buf *w = buf_new(0);

	assert_int_equal(buf_put_u8(w, PROTO_OP_PING), P11A_OK);
	assert_int_equal(buf_put_u32(w, 5), P11A_OK);
	assert_int_equal(buf_put_u32(w, str_len), P11A_OK);
	memcpy(body, buf_data(w), 9);
	buf_free(w);
}

static void test_decode_oversized(void **state)
{
	size_t len = (size_t)P11A_MAX_FRAME + 1;
	uint8_t *body = calloc(1, len);
	struct proto_msg m;
	const char *what = NULL;

	assert_non_null(body);
	/* A PING whose string fills exactly P11A_MAX_FRAME: accepted. */
	ping_header(body, P11A_MAX_FRAME - 9);
	assert_int_equal(proto_decode_request(body, P11A_MAX_FRAME, &m, &what), P11A_OK);
	assert_int_equal(m.id, 5);
	assert_int_equal(m.f[0].len, P11A_MAX_FRAME - 9);

	/* One byte more, well formed otherwise: refused. */
	ping_header(body, P11A_MAX_FRAME - 8);
	what = NULL;
	assert_int_not_equal(proto_decode_request(body, len, &m, &what), P11A_OK);
	assert_non_null(what);
	assert_int_not_equal(proto_decode_reply(body, len, PROTO_OP_PING, &m), P11A_OK);
	free(body);
}

static void test_error_reply(void **state)
{
	static const char text[] = "no key matches 'signer'";

	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_field f = proto_cstr(text);
		struct proto_msg in = mk(op, 100 + op, 1, &f), out;
		const uint8_t *body;
		size_t len;
		struct buf *b;

		in.status = P11A_ERR_NO_SUCH_KEY;
		b = encode(&in, 1, &body, &len);
		assert_int_equal(proto_decode_reply(body, len, op, &out), P11A_OK);
		assert_int_equal(out.status, P11A_ERR_NO_SUCH_KEY);
		assert_int_equal(out.n, 1);
		assert_int_equal(out.f[0].len, strlen(text));
		assert_memory_equal(out.f[0].p, text, strlen(text));
		assert_msg_equal(&out, &in);
		buf_free(b);
	}
}

/* An error reply may answer an opcode the table does not know. */
static void test_error_reply_unknown_op(void **state)
{
	struct proto_field f = proto_cstr("unknown opcode 200");
	struct proto_msg in = mk(200, 5, 1, &f);
	struct buf *b = buf_new(0);
	struct buf r;
	uint8_t op;
	uint32_t id, status;
	const uint8_t *p;
	size_t len;

	in.status = P11A_ERR_UNKNOWN_OP;
	assert_int_equal(proto_encode_reply(b, &in), P11A_OK);
	buf_view(&r, buf_data(b) + 4, buf_len(b) - 4);
	assert_int_equal(buf_get_u8(&r, &op), P11A_OK);
	assert_int_equal(buf_get_u32(&r, &id), P11A_OK);
	assert_int_equal(buf_get_u32(&r, &status), P11A_OK);
	assert_int_equal(buf_get_string_direct(&r, 100, &p, &len), P11A_OK);
	assert_int_equal(op, 200);
	assert_int_equal(id, 5);
	assert_int_equal(status, P11A_ERR_UNKNOWN_OP);
	assert_int_equal(buf_avail(&r), 0);
	buf_free(b);
}

static void test_reply_wrong_op(void **state)
{
	struct proto_msg in = sample_reply(PROTO_OP_PUBKEY), out;
	const uint8_t *body;
	size_t len;
	struct buf *b = encode(&in, 1, &body, &len);

	assert_int_equal(proto_decode_reply(body, len, PROTO_OP_PING, &out), P11A_ERR_PROTOCOL);
	assert_int_equal(proto_decode_reply(body, len, PROTO_OP_SIGN, &out), P11A_ERR_PROTOCOL);
	assert_int_equal(proto_decode_reply(body, len, 0, &out), P11A_ERR_INVALID_ARG);
	assert_int_equal(proto_decode_reply(body, len, PROTO_OP_PUBKEY, &out), P11A_OK);
	buf_free(b);
}

/* Every strict prefix of every reply, success or error, is a protocol error. */
static void test_reply_truncated(void **state)
{
	for (int err = 0; err <= 1; err++) {
		for (uint8_t op = 1; op <= N_OPS; op++) {
			struct proto_field f = proto_cstr("bad");
			struct proto_msg in = err ? mk(op, 1, 1, &f) : sample_reply(op), out;
			const uint8_t *body;
			size_t len;
			struct buf *b;

			if (err)
				in.status = P11A_ERR_BAD_INPUT;
			b = encode(&in, 1, &body, &len);
			for (size_t n = 0; n < len; n++) {
				uint8_t *cut = malloc(n + 1);

				assert_non_null(cut);
				memcpy(cut, body, n);
				/*
				 * A '*' field takes any rest: only what comes
				 * before it (the header, any u32) can be short.
				 */
				if (!err && in.f[in.n - 1].type == '*' &&
				    n >= PROTO_MIN_BODY + 4 + 4 * (in.n - 1)) {
					free(cut);
					continue;
				}
				assert_int_equal(proto_decode_reply(cut, n, op, &out),
						 P11A_ERR_PROTOCOL);
				free(cut);
			}
			buf_free(b);
		}
	}
}

static void test_reply_trailing_bytes(void **state)
{
	for (uint8_t op = 1; op <= N_OPS; op++) {
		struct proto_msg in = sample_reply(op), out;
		const uint8_t *body;
		size_t len;
		struct buf *b = encode(&in, 1, &body, &len);
		uint8_t *longer = malloc(len + 1);

		assert_non_null(longer);
		memcpy(longer, body, len);
		longer[len] = 'x';
		if (in.f[in.n - 1].type == '*')
			assert_int_equal(proto_decode_reply(longer, len + 1, op, &out), P11A_OK);
		else
			assert_int_equal(proto_decode_reply(longer, len + 1, op, &out),
					 P11A_ERR_PROTOCOL);
		free(longer);
		buf_free(b);
	}
}

/* Encodes msg into a buffer holding a previous frame; expects rc and no change. */
static void expect_encode_fails(const struct proto_msg *msg, int reply, int rc)
{
	struct buf *b = buf_new(0);
	struct proto_msg prev = sample_request(PROTO_OP_PING);
	uint8_t *before;
	size_t before_len;

	assert_int_equal(proto_encode_request(b, &prev), P11A_OK);
	before_len = buf_len(b);
	before = malloc(before_len);
	assert_non_null(before);
	memcpy(before, buf_data(b), before_len);
	if (reply)
		assert_int_equal(proto_encode_reply(b, msg), rc);
	else
		assert_int_equal(proto_encode_request(b, msg), rc);
	assert_int_equal(buf_len(b), before_len);
	assert_memory_equal(buf_data(b), before, before_len);
	free(before);
	buf_free(b);
}

static void test_encode_mismatch(void **state)
{
	struct proto_field f[PROTO_MAX_FIELDS] = {{0}};
	struct proto_msg m;
	char *long_key = malloc(PROTO_MAX_KEYREF + 2);

	assert_non_null(long_key);
	memset(long_key, 'a', PROTO_MAX_KEYREF + 1);
	long_key[PROTO_MAX_KEYREF + 1] = '\0';

	/* Too few and too many fields. */
	m = sample_request(PROTO_OP_SIGN);
	m.n = 3;
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	m = sample_request(PROTO_OP_SIGN);
	m.n = 5;
	m.f[4] = proto_u32(0);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	m = sample_request(PROTO_OP_LIST);
	m.n = 1;
	m.f[0] = proto_u32(0);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);

	/* A field of the wrong type at each position of SIGN. */
	for (size_t i = 0; i < 4; i++) {
		m = sample_request(PROTO_OP_SIGN);
		m.f[i] = m.f[i].type == 'u' ? proto_str("x", 1) : proto_u32(1);
		expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	}
	/* 's' where 'k' is expected, and the reverse. */
	f[0] = proto_str("signer", 6);
	m = mk(PROTO_OP_PUBKEY, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	f[0] = proto_key("abc");
	m = mk(PROTO_OP_PING, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	/* Bad type characters. */
	f[0] = proto_u32(1);
	f[0].type = 'x';
	m = mk(PROTO_OP_HELLO, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);

	/* Keys the decoder would refuse. */
	f[0] = proto_key("");
	m = mk(PROTO_OP_PUBKEY, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	f[0] = proto_key(NULL);
	m = mk(PROTO_OP_PUBKEY, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	f[0] = proto_key(long_key);
	m = mk(PROTO_OP_PUBKEY, 1, 1, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	long_key[PROTO_MAX_KEYREF] = '\0';
	f[0] = proto_key(long_key); /* 4096: fine */
	m = mk(PROTO_OP_PUBKEY, 1, 1, f);
	{
		struct buf *b = buf_new(0);

		assert_int_equal(proto_encode_request(b, &m), P11A_OK);
		buf_free(b);
	}

	/* Unknown opcodes: a request, and a success reply. */
	m = mk(0, 1, 0, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	m = mk(N_OPS + 1, 1, 0, f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
	expect_encode_fails(&m, 1, P11A_ERR_INVALID_ARG);

	/* Replies: success fields of a request, and malformed error replies. */
	m = sample_request(PROTO_OP_SIGN);
	expect_encode_fails(&m, 1, P11A_ERR_INVALID_ARG);
	m = sample_reply(PROTO_OP_HELLO);
	m.status = P11A_ERR_VERSION; /* an error takes one string, not "us" */
	expect_encode_fails(&m, 1, P11A_ERR_INVALID_ARG);
	f[0] = proto_u32(3);
	m = mk(PROTO_OP_PING, 1, 1, f);
	m.status = P11A_ERR_BAD_INPUT;
	expect_encode_fails(&m, 1, P11A_ERR_INVALID_ARG);
	m = mk(PROTO_OP_PING, 1, 0, f);
	m.status = P11A_ERR_BAD_INPUT;
	expect_encode_fails(&m, 1, P11A_ERR_INVALID_ARG);

	free(long_key);
}

/*
 * A 'k' field is "1..PROTO_MAX_KEYREF bytes, no NUL" (proto.h): the encoder
 * must not emit a key the decoder refuses.
 */
static void test_encode_key_with_nul(void **state)
{
	struct proto_field f = proto_str("ab\0c", 4);
	struct proto_msg m;

	f.type = 'k';
	m = mk(PROTO_OP_PUBKEY, 1, 1, &f);
	expect_encode_fails(&m, 0, P11A_ERR_INVALID_ARG);
}

static void test_encode_too_large(void **state)
{
	size_t data_len = P11A_MAX_FRAME - 9; /* op, id, string length: 9 */
	uint8_t *data = calloc(1, data_len + 1);
	struct proto_field f = proto_str(data, data_len);
	struct proto_msg m = mk(PROTO_OP_PING, 1, 1, &f);
	struct buf *b = buf_new(0);

	assert_non_null(data);
	/* A body of exactly P11A_MAX_FRAME bytes fits. */
	assert_int_equal(proto_encode_request(b, &m), P11A_OK);
	assert_int_equal(proto_frame_len(buf_data(b)), P11A_MAX_FRAME);
	assert_int_equal(buf_len(b), P11A_MAX_FRAME + 4);
	buf_free(b);

	/* One byte more does not, and leaves the buffer as it was. */
	f = proto_str(data, data_len + 1);
	m = mk(PROTO_OP_PING, 1, 1, &f);
	expect_encode_fails(&m, 0, P11A_ERR_TOO_LARGE);
	expect_encode_fails(&m, 1, P11A_ERR_TOO_LARGE);

	/* A small writer: the frame does not fit its maximum. */
	b = buf_new(16);
	f = proto_str(data, 8);
	m = mk(PROTO_OP_PING, 1, 1, &f);
	assert_int_equal(buf_put_u8(b, 0xee), P11A_OK);
	assert_int_equal(proto_encode_request(b, &m), P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_len(b), 1);
	assert_int_equal(buf_data(b)[0], 0xee);
	buf_free(b);
	free(data);
}

static void test_field_strdup(void **state)
{
	struct proto_field f = proto_str("abc", 3);
	char *s = NULL;

	assert_int_equal(proto_field_strdup(&f, &s), P11A_OK);
	assert_string_equal(s, "abc");
	free(s);
	s = NULL;
	f = proto_str(NULL, 0);
	assert_int_equal(proto_field_strdup(&f, &s), P11A_OK);
	assert_string_equal(s, "");
	free(s);
	s = NULL;
	f = proto_str("a\0c", 3);
	assert_int_not_equal(proto_field_strdup(&f, &s), P11A_OK);
	assert_null(s);
}

static void test_field_constructors(void **state)
{
	struct proto_field f;

	f = proto_u32(7);
	assert_int_equal(f.type, 'u');
	assert_int_equal(f.u32, 7);
	f = proto_cstr("abc");
	assert_int_equal(f.type, 's');
	assert_int_equal(f.len, 3);
	f = proto_cstr(NULL);
	assert_int_equal(f.type, 's');
	assert_int_equal(f.len, 0);
	f = proto_key("abcd");
	assert_int_equal(f.type, 'k');
	assert_int_equal(f.len, 4);
	f = proto_rest(der, sizeof(der));
	assert_int_equal(f.type, '*');
	assert_ptr_equal(f.p, der);
	assert_int_equal(f.len, sizeof(der));
}

static const uint8_t key_id[] = {0x01, 0x00, 0xab};

static struct p11a_key_info sample_key(void)
{
	struct p11a_key_info k = {
	    .label = (char *)"signer",
	    .id = (uint8_t *)key_id,
	    .id_len = sizeof(key_id),
	    .uri = (char *)"pkcs11:token=demo;id=%01%00%ab;object=signer;type=private",
	    .type = P11A_KEY_EC,
	    .bits = 256,
	    .curve = (char *)"P-256",
	    .ops = P11A_OP_SIGN | P11A_OP_DERIVE,
	    .algs = (char *)"ecdsa-sha256,ecdsa-sha384,ecdsa-sha512",
	    .default_alg = (char *)"ecdsa-sha256",
	    .sw_algs = (char *)"",
	    .name = (char *)"web-signer",
	    .family = (char *)"web-signer",
	    .version = 3,
	    .min_version = 2,
	    .newest = 1,
	    .created = (char *)"2026-12-06",
	    .cert_expiry = (char *)"2027-12-06T10:00:00Z",
	};
	return k;
}

static void key_clear(struct p11a_key_info *k)
{
	free(k->label);
	free(k->id);
	free(k->uri);
	free(k->curve);
	free(k->algs);
	free(k->default_alg);
	free(k->sw_algs);
	free(k->name);
	free(k->family);
	free(k->created);
	free(k->cert_expiry);
	memset(k, 0, sizeof(*k));
}

static void assert_key_equal(const struct p11a_key_info *got, const struct p11a_key_info *want)
{
	assert_string_equal(got->label, want->label != NULL ? want->label : "");
	assert_int_equal(got->id_len, want->id_len);
	assert_non_null(got->id);
	if (want->id_len > 0)
		assert_memory_equal(got->id, want->id, want->id_len);
	assert_string_equal(got->uri, want->uri != NULL ? want->uri : "");
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->bits, want->bits);
	assert_string_equal(got->curve, want->curve != NULL ? want->curve : "");
	assert_int_equal(got->ops, want->ops);
	assert_string_equal(got->algs, want->algs != NULL ? want->algs : "");
	assert_string_equal(got->default_alg, want->default_alg != NULL ? want->default_alg : "");
	assert_string_equal(got->sw_algs, want->sw_algs != NULL ? want->sw_algs : "");
	assert_string_equal(got->name, want->name != NULL ? want->name : "");
	assert_string_equal(got->family, want->family != NULL ? want->family : "");
	assert_int_equal(got->version, want->version);
	assert_int_equal(got->min_version, want->min_version);
	assert_int_equal(got->newest, want->newest);
	assert_string_equal(got->created, want->created != NULL ? want->created : "");
	assert_string_equal(got->cert_expiry, want->cert_expiry != NULL ? want->cert_expiry : "");
}

static void test_list_round_trip(void **state)
{
	struct p11a_key_info k1 = sample_key(), k2, got;
	struct buf *b = buf_new(0);

	memset(&k2, 0, sizeof(k2)); /* NULL strings go out as "" */
	k2.type = P11A_KEY_HMAC;
	k2.bits = 256;
	assert_int_equal(proto_list_put(b, &k1), P11A_OK);
	assert_int_equal(proto_list_put(b, &k2), P11A_OK);
	assert_int_equal(proto_list_get(b, &got), P11A_OK);
	assert_key_equal(&got, &k1);
	key_clear(&got);
	/* The smallest entry: eleven empty strings and six u32, 68 bytes. */
	assert_int_equal(buf_avail(b), 68);
	assert_int_equal(proto_list_get(b, &got), P11A_OK);
	assert_key_equal(&got, &k2);
	assert_string_equal(got.label, "");
	key_clear(&got);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

/* Every strict prefix of an entry is refused, the offset and output untouched. */
static void test_list_truncated(void **state)
{
	struct p11a_key_info k = sample_key(), got;
	struct buf *b = buf_new(0), v;

	assert_int_equal(proto_list_put(b, &k), P11A_OK);
	for (size_t n = 0; n < buf_len(b); n++) {
		uint8_t *cut = malloc(n + 1);

		assert_non_null(cut);
		memcpy(cut, buf_data(b), n);
		buf_view(&v, cut, n);
		memset(&got, 0x5a, sizeof(got));
		assert_int_equal(proto_list_get(&v, &got), P11A_ERR_PROTOCOL);
		assert_int_equal(v.off, 0);
		assert_int_equal(got.bits, 0x5a5a5a5a);
		free(cut);
	}
	buf_free(b);
}

/* Entries with a NUL in a string, or a curve too long to be one, are refused. */
static void test_list_bad_entries(void **state)
{
	struct p11a_key_info k = sample_key(), got;
	char curve[80];
	struct buf *b = buf_new(0);

	/* A NUL inside the label. */
	assert_int_equal(buf_put_string(b, "a\0b", 3), P11A_OK);
	assert_int_equal(buf_put_string(b, "", 0), P11A_OK);
	assert_int_equal(buf_put_cstring(b, "pkcs11:"), P11A_OK);
	assert_int_equal(buf_put_u32(b, 1), P11A_OK);
	assert_int_equal(buf_put_u32(b, 2048), P11A_OK);
	assert_int_equal(buf_put_cstring(b, ""), P11A_OK);
	assert_int_equal(buf_put_u32(b, 1), P11A_OK);
	assert_int_equal(buf_put_cstring(b, ""), P11A_OK);
	assert_int_equal(buf_put_cstring(b, ""), P11A_OK);
	assert_int_equal(proto_list_get(b, &got), P11A_ERR_PROTOCOL);
	assert_int_equal(b->off, 0);
	buf_free(b);

	/* A curve name of 65 bytes. */
	memset(curve, 'c', 65);
	curve[65] = '\0';
	k.curve = curve;
	b = buf_new(0);
	assert_int_equal(proto_list_put(b, &k), P11A_OK);
	assert_int_equal(proto_list_get(b, &got), P11A_ERR_PROTOCOL);
	assert_int_equal(b->off, 0);
	buf_free(b);
}

/* A status of two entries, one with two error codes. */
static struct p11a_status *sample_status(void)
{
	static struct p11a_status_error errs[] = {{P11A_ERR_NO_SUCH_KEY, 2}, {P11A_ERR_DENIED, 1}};
	static struct p11a_status_entry entries[] = {
	    {.key = (char *)"",
	     .op = (char *)"key-info",
	     .requests = 3,
	     .latency_sum_us = 30,
	     .latency_p50_us = 9,
	     .latency_p99_us = 11,
	     .errors = errs,
	     .n_errors = 2},
	    {.key = (char *)"release",
	     .version = 2,
	     .gone = 1,
	     .op = (char *)"sign",
	     .requests = 1ull << 40,
	     .latency_sum_us = 1ull << 50,
	     .latency_p50_us = 639,
	     .latency_p99_us = 2047},
	};
	static struct p11a_status st = {
	    .agent = (char *)"p11agentd 0.1.0",
	    .uptime_ms = 123456789012ull,
	    .token_label = (char *)"test token",
	    .token_serial = (char *)"0123456789abcdef",
	    .token_state = P11A_TOKEN_RECOVERING,
	    .recoveries = 5,
	    .connections = 3,
	    .sessions_in_use = 1,
	    .sessions = 8,
	    .entries = entries,
	    .n_entries = 2,
	};
	return &st;
}

static void test_status_round_trip(void **state)
{
	const struct p11a_status *in = sample_status();
	struct p11a_status *out = NULL;
	struct buf *b = buf_new(0), *again = buf_new(0);
	struct buf v;

	assert_int_equal(proto_status_put(b, in), P11A_OK);
	buf_view(&v, buf_data(b), buf_len(b));
	assert_int_equal(proto_status_get(&v, &out), P11A_OK);
	assert_int_equal(buf_avail(&v), 0);
	assert_string_equal(out->agent, in->agent);
	assert_int_equal(out->uptime_ms, in->uptime_ms);
	assert_string_equal(out->token_label, in->token_label);
	assert_string_equal(out->token_serial, in->token_serial);
	assert_int_equal(out->token_state, P11A_TOKEN_RECOVERING);
	assert_int_equal(out->recoveries, 5);
	assert_int_equal(out->connections, 3);
	assert_int_equal(out->sessions_in_use, 1);
	assert_int_equal(out->sessions, 8);
	assert_int_equal(out->n_entries, 2);
	assert_string_equal(out->entries[0].key, "");
	assert_string_equal(out->entries[0].op, "key-info");
	assert_int_equal(out->entries[0].n_errors, 2);
	assert_int_equal(out->entries[0].errors[1].code, P11A_ERR_DENIED);
	assert_int_equal(out->entries[0].errors[0].count, 2);
	assert_string_equal(out->entries[1].key, "release");
	assert_int_equal(out->entries[1].version, 2);
	assert_int_equal(out->entries[1].gone, 1);
	assert_int_equal(out->entries[1].requests, 1ull << 40);
	assert_int_equal(out->entries[1].latency_sum_us, 1ull << 50);
	assert_int_equal(out->entries[1].latency_p99_us, 2047);
	assert_null(out->entries[1].errors);
	/* Canonical: what decodes encodes to the same bytes. */
	assert_int_equal(proto_status_put(again, out), P11A_OK);
	assert_int_equal(buf_len(again), buf_len(b));
	assert_memory_equal(buf_data(again), buf_data(b), buf_len(b));
	p11a_status_free(out);
	p11a_status_free(NULL);
	buf_free(again);
	buf_free(b);
}

/*
 * A key named by a label longer than a reader takes (a token's CKA_LABEL has
 * no limit), and an agent string as long: cut to what the decoder takes, so
 * that the status stays readable.
 */
static void test_status_long_names(void **state)
{
	struct p11a_status st = *sample_status();
	struct p11a_status_entry e = sample_status()->entries[1];
	struct p11a_status *out = NULL;
	struct buf *b = buf_new(0);
	char *long_key = malloc(100000), *long_agent = malloc(1000);
	struct buf v;

	assert_non_null(long_key);
	assert_non_null(long_agent);
	memset(long_key, 'k', 99999);
	long_key[99999] = '\0';
	memset(long_agent, 'a', 999);
	long_agent[999] = '\0';
	e.key = long_key;
	st.entries = &e;
	st.n_entries = 1;
	st.agent = long_agent;
	assert_int_equal(proto_status_put(b, &st), P11A_OK);
	buf_view(&v, buf_data(b), buf_len(b));
	assert_int_equal(proto_status_get(&v, &out), P11A_OK);
	assert_int_equal(strlen(out->entries[0].key), 4 * PROTO_MAX_KEYREF);
	assert_memory_equal(out->entries[0].key, long_key, 4 * PROTO_MAX_KEYREF);
	assert_int_equal(strlen(out->agent), 256);
	assert_int_equal(out->entries[0].requests, e.requests);
	p11a_status_free(out);
	buf_free(b);
	free(long_key);
	free(long_agent);
}

/* Cut short anywhere: refused, nothing consumed, nothing handed out. */
static void test_status_truncated(void **state)
{
	struct p11a_status *out = NULL;
	struct buf *b = buf_new(0);
	struct buf v;

	assert_int_equal(proto_status_put(b, sample_status()), P11A_OK);
	for (size_t len = 0; len < buf_len(b); len++) {
		buf_view(&v, buf_data(b), len);
		assert_int_equal(proto_status_get(&v, &out), P11A_ERR_PROTOCOL);
		assert_int_equal(v.off, 0);
		assert_null(out);
	}
	buf_free(b);
}

/* Values outside their range: each refused, so that a status has one encoding. */
static void test_status_bad_values(void **state)
{
	struct p11a_status st = *sample_status(), *out = NULL;
	struct p11a_status_entry e[2];
	struct p11a_status_error errs[2];
	struct buf *b;
	struct buf v;

	for (int t = 0; t < 6; t++) {
		st = *sample_status();
		memcpy(e, st.entries, sizeof(e));
		memcpy(errs, st.entries[0].errors, sizeof(errs));
		st.entries = e;
		e[0].errors = errs;
		switch (t) {
		case 0:
			st.token_state = (p11a_token_state)3;
			break;
		case 1:
			e[1].gone = 2;
			break;
		case 2: /* codes out of order */
			errs[0].code = P11A_ERR_DENIED;
			errs[1].code = P11A_ERR_NO_SUCH_KEY;
			break;
		case 3:
			errs[1].code = 64;
			break;
		case 4:
			errs[0].count = 0;
			break;
		case 5:
			errs[0].code = 0;
			break;
		}
		b = buf_new(0);
		/* put writes what it is given: a flag is 0 or 1, so gone 2 is forged after. */
		assert_int_equal(proto_status_put(b, &st), P11A_OK);
		if (t == 1) {
			/* The last entry's gone flag: before op ("sign"), four u64, n_errors. */
			uint8_t *raw = (uint8_t *)buf_data(b);
			size_t at = buf_len(b) - 4 - 8 * 4 - (4 + 4) - 4;

			assert_int_equal(raw[at + 3], 1);
			raw[at + 3] = 2;
		}
		buf_view(&v, buf_data(b), buf_len(b));
		if (proto_status_get(&v, &out) != P11A_ERR_PROTOCOL)
			fail_msg("bad value %d was taken", t);
		assert_null(out);
		buf_free(b);
	}
	/* A count of entries the bytes cannot hold: refused before any allocation. */
	b = buf_new(0);
	st = *sample_status();
	st.n_entries = 0;
	assert_int_equal(proto_status_put(b, &st), P11A_OK);
	((uint8_t *)buf_data(b))[buf_len(b) - 4] = 0x7f;
	buf_view(&v, buf_data(b), buf_len(b));
	assert_int_equal(proto_status_get(&v, &out), P11A_ERR_PROTOCOL);
	buf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_op_table),
	    cmocka_unit_test(test_frame_len),
	    cmocka_unit_test(test_request_round_trip),
	    cmocka_unit_test(test_reply_round_trip),
	    cmocka_unit_test(test_wire_bytes),
	    cmocka_unit_test(test_frames_appended),
	    cmocka_unit_test(test_zero_length_fields),
	    cmocka_unit_test(test_decode_empty_and_short_header),
	    cmocka_unit_test(test_decode_unknown_op),
	    cmocka_unit_test(test_decode_truncated_fields),
	    cmocka_unit_test(test_decode_trailing_bytes),
	    cmocka_unit_test(test_decode_key_limits),
	    cmocka_unit_test(test_decode_lying_length),
	    cmocka_unit_test(test_decode_oversized),
	    cmocka_unit_test(test_error_reply),
	    cmocka_unit_test(test_error_reply_unknown_op),
	    cmocka_unit_test(test_reply_wrong_op),
	    cmocka_unit_test(test_reply_truncated),
	    cmocka_unit_test(test_reply_trailing_bytes),
	    cmocka_unit_test(test_encode_mismatch),
	    cmocka_unit_test(test_encode_key_with_nul),
	    cmocka_unit_test(test_encode_too_large),
	    cmocka_unit_test(test_field_strdup),
	    cmocka_unit_test(test_field_constructors),
	    cmocka_unit_test(test_list_round_trip),
	    cmocka_unit_test(test_list_truncated),
	    cmocka_unit_test(test_list_bad_entries),
	    cmocka_unit_test(test_status_round_trip),
	    cmocka_unit_test(test_status_long_names),
	    cmocka_unit_test(test_status_truncated),
	    cmocka_unit_test(test_status_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
