/*
 * proto: the p11agent wire codec, shared by the agent and libp11agent.
 *
 * A frame is a u32 big-endian body length, checked against P11A_MAX_FRAME
 * before anything is allocated, then the body. A request body is
 *     u8 opcode, u32 request id, fields per the opcode's request signature;
 * a reply body is
 *     u8 opcode, u32 request id, u32 status,
 *     then fields per the reply signature when status is 0,
 *     else one string: the human message.
 * Signatures are strings of field types, one character a field:
 *     'u'  u32
 *     's'  string: u32 length then bytes (binary)
 *     'k'  key reference: a string of 1..PROTO_MAX_KEYREF bytes, no NUL
 *     '*'  the rest of the body, parsed by the opcode's own code (LIST)
 * See PROTOCOL.md for the bytes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_PROTO_H
#define P11AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "p11agent.h"

#define PROTO_MAX_FIELDS 8
#define PROTO_MAX_KEYREF 4096
/* Smallest legal body: opcode and request id. */
#define PROTO_MIN_BODY 5

enum proto_op {
	PROTO_OP_HELLO = 1,
	PROTO_OP_PING = 2,
	PROTO_OP_LIST = 3,
	PROTO_OP_PUBKEY = 4,
	PROTO_OP_SIGN = 5,
	PROTO_OP_VERIFY_HMAC = 6,
	PROTO_OP_KEY_INFO = 7,
	PROTO_OP_DECRYPT = 8,
	PROTO_OP_UNWRAP = 9,
	PROTO_OP_DERIVE = 10,
	PROTO_OP_AUDIT_VERIFY = 11,
	PROTO_OP_SIGN_BATCH = 12,
	PROTO_OP_AUDIT_HEAD = 13,
	PROTO_OP_CERT = 14,
	/* Key lifecycle (admin only). */
	PROTO_OP_KEYGEN = 15,
	PROTO_OP_ROTATE = 16,
	PROTO_OP_VERSIONS = 17,
	PROTO_OP_TRIM = 18,
	PROTO_OP_REWRAP = 19,
	PROTO_OP_CERT_IMPORT = 20,
	PROTO_OP_RELOAD = 21,
	/* The agent's status and counters (admin only). */
	PROTO_OP_STATUS = 22,
};

struct proto_op_info {
	uint8_t op;
	const char *name;
	const char *req_sig;
	const char *rep_sig;
	const char *req_fields[PROTO_MAX_FIELDS]; /* request field names, for messages */
};

/* The opcode's row of the protocol table, or NULL when unknown. */
const struct proto_op_info *proto_op_info(uint8_t op);

struct proto_field {
	char type;	  /* 'u', 's', 'k', '*' */
	uint32_t u32;	  /* for 'u' */
	const uint8_t *p; /* for 's', 'k', '*': a view into the decoded body */
	size_t len;
};

struct proto_msg {
	uint8_t op;
	uint32_t id;
	uint32_t status; /* replies only */
	size_t n;	 /* number of fields */
	struct proto_field f[PROTO_MAX_FIELDS];
};

/*
 * Decodes a request body. Fields point into body, which must outlive msg.
 * P11A_ERR_TOO_LARGE for a body over P11A_MAX_FRAME,
 * P11A_ERR_BAD_REQUEST on a short or malformed body (msg->op and msg->id are
 * set when at least the header was readable, so that an error reply can be
 * addressed), P11A_ERR_UNKNOWN_OP on an unknown opcode.
 * On failure, *out_what names the field at fault ("key", "data", "truncated header").
 */
int proto_decode_request(const uint8_t *body, size_t len, struct proto_msg *msg,
			 const char **out_what);
/*
 * Decodes a reply body for a request of opcode op. An error reply with
 * opcode 0 (the agent refusing the connection) is accepted for any op.
 */
int proto_decode_reply(const uint8_t *body, size_t len, uint8_t op, struct proto_msg *msg);

/*
 * Appends a whole frame (length and body) to out. The fields of msg must match
 * the opcode's signature; a '*' field's bytes are copied as they are.
 * For an error reply (status != 0) pass one 's' field: the message.
 */
int proto_encode_request(struct buf *out, const struct proto_msg *msg);
int proto_encode_reply(struct buf *out, const struct proto_msg *msg);

/*
 * The agent's default socket: $XDG_RUNTIME_DIR/p11agent/agent.sock.
 * P11A_ERR_NOT_SUPPORTED when XDG_RUNTIME_DIR is unset or empty: there is no
 * default then (p11agentd makes a directory of its own, whose name a client
 * learns from P11AGENT_SOCK). P11A_ERR_INVALID_ARG when it does not fit in
 * len bytes.
 */
int proto_default_socket(char *out, size_t len);

/* Reads the u32 frame length at p[0..4). */
uint32_t proto_frame_len(const uint8_t p[4]);

/* Field constructors. */
struct proto_field proto_u32(uint32_t v);
struct proto_field proto_str(const void *p, size_t len);
struct proto_field proto_cstr(const char *s);
struct proto_field proto_key(const char *s);
struct proto_field proto_rest(const void *p, size_t len);

/* Copies a string field into a fresh NUL-terminated string (refuses NUL). */
int proto_field_strdup(const struct proto_field *f, char **out_s);

/*
 * LIST reply: the '*' field is u32 count, then count entries; KEY_INFO reply:
 * the '*' field is one entry. An entry is
 *     s label, s id, s uri, u type, u bits, s curve, u ops, s algs, s default_alg,
 *     s sw_algs, s name, s family, u version, u min_version, u newest, s created,
 *     s cert_expiry
 * VERSIONS reply: the same as LIST's, the versions of one key, oldest first.
 */
/* Frees the strings of k (as proto_list_get() filled it) and zeroes it. */
void proto_key_info_clear(struct p11a_key_info *k);
int proto_list_put(struct buf *b, const struct p11a_key_info *k);
int proto_list_get(struct buf *b, struct p11a_key_info *out);

/*
 * STATUS reply: the '*' field is the agent's status (PROTOCOL.md, STATUS).
 * proto_status_get() makes *out_st (free with p11a_status_free()); a value
 * outside its range (a state above 2, a flag above 1, an error code outside
 * 1..63 or out of order, a zero count) is P11A_ERR_PROTOCOL, so that a
 * status has one encoding.
 */
int proto_status_put(struct buf *b, const struct p11a_status *st);
int proto_status_get(struct buf *b, struct p11a_status **out_st);

#endif
