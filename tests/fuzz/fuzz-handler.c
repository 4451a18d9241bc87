#include "config.h"
/*
 * fuzz-handler: the agent's real request handler on a hostile connection.
 *
 * The input is what a client sends: a stream of frames (u32 length, body).
 * It is cut into frames as the server does (a length over P11A_MAX_FRAME or a
 * truncated frame ends the connection), and each body, copied to a buffer of
 * its exact size, goes to front_native_dispatch() with one peer for the whole
 * stream, so the HELLO state is exercised too. There is no token (tok NULL):
 * everything that needs one must be answered TOKEN_UNAVAILABLE or an error.
 * Each answer must be exactly one well-formed reply frame addressed to the
 * request's opcode and id.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include "buf.h"
#include "proto.h"
#include "../../agent/front.h"
#include "../../agent/log.h"

#include "fuzz.h"

/* Frames handled per input, to keep each run short. */
#define FUZZ_MAX_FRAMES 64

/* Checks out[0..) as one reply frame answering the request body req. */
static void check_reply(const uint8_t *req, size_t req_len, const struct buf *out)
{
	const uint8_t *p = buf_data(out);
	struct proto_msg msg;
	struct buf b;
	uint32_t len, id, status;
	uint8_t op;
	const uint8_t *s;
	size_t s_len;

	FUZZ_CHECK(buf_len(out) >= 4);
	len = proto_frame_len(p);
	FUZZ_CHECK(len <= P11A_MAX_FRAME && (size_t)len == buf_len(out) - 4);

	buf_view(&b, p + 4, len);
	FUZZ_CHECK(buf_get_u8(&b, &op) == P11A_OK && op == req[0]);
	FUZZ_CHECK(buf_get_u32(&b, &id) == P11A_OK);
	FUZZ_CHECK(id == ((uint32_t)req[1] << 24 | (uint32_t)req[2] << 16 | (uint32_t)req[3] << 8 |
			  req[4]));
	FUZZ_CHECK(buf_get_u32(&b, &status) == P11A_OK);
	if (status != P11A_OK) {
		/* An error: one string, the message, and nothing after it. */
		FUZZ_CHECK(status < 64);
		FUZZ_CHECK(buf_get_string_direct(&b, P11A_MAX_FRAME, &s, &s_len) == P11A_OK);
		FUZZ_CHECK(buf_avail(&b) == 0);
	} else {
		/* Without a token, only what needs none can succeed. */
		FUZZ_CHECK(op == PROTO_OP_HELLO || op == PROTO_OP_PING);
	}
	if (proto_op_info(op) != NULL)
		FUZZ_CHECK(proto_decode_reply(p + 4, len, op, &msg) == P11A_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct caller peer = {.uid = 1000, .gid = 1000, .pid = 4242, .greeted = 0};
	struct buf *out;
	uint8_t *body;
	size_t off = 0, before;
	uint32_t len;
	int r;

	log_set_level(LOG_LVL_ERROR);
	out = buf_new(0);
	FUZZ_CHECK(out != NULL);
	for (int n = 0; n < FUZZ_MAX_FRAMES && size - off >= 4; n++) {
		len = proto_frame_len(data + off);
		off += 4;
		if (len > P11A_MAX_FRAME || len > size - off)
			break; /* the server closes the connection */
		if ((body = malloc(len == 0 ? 1 : len)) == NULL)
			break;
		memcpy(body, data + off, len);
		off += len;

		buf_reset(out);
		before = buf_len(out);
		r = front_native_dispatch(NULL, &peer, body, len, out);
		FUZZ_CHECK(r == 0 || r == -1);
		if (len < PROTO_MIN_BODY)
			FUZZ_CHECK(r == -1); /* no request id to answer */
		if (r == 0)
			check_reply(body, len, out);
		else
			FUZZ_CHECK(buf_len(out) == before);
		free(body);
		if (r != 0)
			break;
	}
	buf_free(out);
	return 0;
}
