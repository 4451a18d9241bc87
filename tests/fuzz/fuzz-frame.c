#include "config.h"
/*
 * fuzz-frame: the wire codec on hostile bytes.
 *
 * The input is one frame body. It goes to proto_decode_request() and to
 * proto_decode_reply() for every opcode; the list entries of a LIST or
 * KEY_INFO reply go to proto_list_get(), a STATUS reply's body to
 * proto_status_get(), and the whole input to proto_list_get(). Beyond
 * "no crash, no leak, no read past the end", it checks that the encoding is
 * canonical: whatever decodes re-encodes to the very same bytes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include "buf.h"
#include "proto.h"

#include "fuzz.h"

/* Opcodes tried as the expected opcode of a reply: all known, and a few not. */
#define FUZZ_MAX_OP 11

/*
 * Reads list entries from b until it fails or max entries; each one must
 * re-encode to the bytes it came from. Returns how many were read.
 */
static size_t list_entries(struct buf *b, size_t max)
{
	struct p11a_key_info k;
	struct buf *again;
	size_t n, start;

	for (n = 0; n < max; n++) {
		start = b->off;
		memset(&k, 0, sizeof(k));
		if (proto_list_get(b, &k) != P11A_OK) {
			FUZZ_CHECK(b->off == start); /* a failed read consumes nothing */
			break;
		}
		FUZZ_CHECK(k.label != NULL && k.uri != NULL && k.curve != NULL && k.algs != NULL &&
			   k.default_alg != NULL && k.id != NULL && k.sw_algs != NULL &&
			   k.name != NULL);
		again = buf_new(0);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(proto_list_put(again, &k) == P11A_OK);
		FUZZ_CHECK(buf_len(again) == b->off - start);
		FUZZ_CHECK(memcmp(buf_data(again), b->data + start, b->off - start) == 0);
		buf_free(again);
		proto_key_info_clear(&k);
	}
	return n;
}

/* The '*' field of a LIST reply: u32 count, then that many entries. */
static void list_reply(const struct proto_field *f)
{
	struct buf b;
	uint32_t count;

	buf_view(&b, f->p, f->len);
	if (buf_get_u32(&b, &count) != P11A_OK)
		return;
	/* Never trust count: each entry is at least 9 fields of 4 bytes. */
	list_entries(&b, count < buf_avail(&b) / 36 + 1 ? count : buf_avail(&b) / 36 + 1);
}

/* The '*' field of a STATUS reply: a status that re-encodes to its bytes. */
static void status_reply(const struct proto_field *f)
{
	struct p11a_status *st = NULL;
	struct buf b, *again;

	buf_view(&b, f->p, f->len);
	if (proto_status_get(&b, &st) != P11A_OK) {
		FUZZ_CHECK(b.off == 0 && st == NULL);
		return;
	}
	FUZZ_CHECK(st->agent != NULL && st->token_label != NULL && st->token_serial != NULL);
	again = buf_new(0);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(proto_status_put(again, st) == P11A_OK);
	FUZZ_CHECK(buf_len(again) == b.off);
	FUZZ_CHECK(memcmp(buf_data(again), f->p, b.off) == 0);
	buf_free(again);
	p11a_status_free(st);
}

/* The encoding of a decoded message equals the body it came from. */
static void check_reencode(const struct proto_msg *msg, const uint8_t *body, size_t len, int reply)
{
	struct buf *out = buf_new(0);
	int r;

	FUZZ_CHECK(out != NULL);
	r = reply ? proto_encode_reply(out, msg) : proto_encode_request(out, msg);
	FUZZ_CHECK(r == P11A_OK);
	FUZZ_CHECK(buf_len(out) == 4 + len);
	FUZZ_CHECK(proto_frame_len(buf_data(out)) == len);
	FUZZ_CHECK(memcmp(buf_data(out) + 4, body, len) == 0);
	buf_free(out);
}

static void request(const uint8_t *data, size_t size)
{
	struct proto_msg msg;
	const char *what = NULL;
	int r;

	r = proto_decode_request(data, size, &msg, &what);
	if (r != P11A_OK) {
		FUZZ_CHECK(what != NULL && what[0] != '\0');
		FUZZ_CHECK(r == P11A_ERR_BAD_REQUEST || r == P11A_ERR_UNKNOWN_OP ||
			   r == P11A_ERR_TOO_LARGE);
		/* With a readable header, the error reply can be addressed. */
		if (size >= PROTO_MIN_BODY && r != P11A_ERR_TOO_LARGE)
			FUZZ_CHECK(msg.op == data[0]);
		return;
	}
	FUZZ_CHECK(proto_op_info(msg.op) != NULL);
	FUZZ_CHECK(msg.n <= PROTO_MAX_FIELDS);
	for (size_t i = 0; i < msg.n; i++) {
		const struct proto_field *f = &msg.f[i];

		if (f->type == 'k')
			FUZZ_CHECK(f->len >= 1 && f->len <= PROTO_MAX_KEYREF &&
				   memchr(f->p, '\0', f->len) == NULL);
		if (f->type != 'u' && f->len > 0)
			FUZZ_CHECK(f->p >= data && f->p + f->len <= data + size);
	}
	check_reencode(&msg, data, size, 0);
}

static void reply(const uint8_t *data, size_t size, uint8_t op)
{
	struct proto_msg msg;

	if (proto_decode_reply(data, size, op, &msg) != P11A_OK)
		return;
	/* Opcode 0 is an error the agent sends before dropping a connection. */
	FUZZ_CHECK(msg.op == op || (msg.op == 0 && msg.status != P11A_OK));
	for (size_t i = 0; i < msg.n; i++)
		if (msg.f[i].type != 'u' && msg.f[i].len > 0)
			FUZZ_CHECK(msg.f[i].p >= data && msg.f[i].p + msg.f[i].len <= data + size);
	check_reencode(&msg, data, size, 1);
	if (msg.status != P11A_OK || msg.n != 1 || msg.f[0].type != '*')
		return;
	if (op == PROTO_OP_LIST) {
		list_reply(&msg.f[0]);
	} else if (op == PROTO_OP_STATUS) {
		status_reply(&msg.f[0]);
	} else if (op == PROTO_OP_KEY_INFO) {
		struct buf b;

		buf_view(&b, msg.f[0].p, msg.f[0].len);
		list_entries(&b, 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;

	request(data, size);
	for (unsigned op = 0; op <= FUZZ_MAX_OP; op++)
		reply(data, size, (uint8_t)op);
	if (size > 0 && data[0] > FUZZ_MAX_OP)
		reply(data, size, data[0]);
	/* The whole input as list entries. */
	buf_view(&b, data, size);
	list_entries(&b, 64);
	if (size >= 4)
		(void)proto_frame_len(data);
	return 0;
}
