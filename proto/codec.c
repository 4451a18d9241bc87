/*
 * codec: frames and messages of the p11agent protocol, table-driven.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const struct proto_op_info ops[] = {
    {PROTO_OP_HELLO, "hello", "u", "us", {"version"}},
    {PROTO_OP_PING, "ping", "s", "s", {"data"}},
    {PROTO_OP_LIST, "list", "", "*", {NULL}},
    {PROTO_OP_PUBKEY, "pubkey", "k", "s", {"key"}},
    {PROTO_OP_SIGN, "sign", "kuus", "su", {"key", "alg", "flags", "data"}},
    {PROTO_OP_VERIFY_HMAC, "verify-hmac", "kuss", "uu", {"key", "alg", "data", "mac"}},
    {PROTO_OP_KEY_INFO, "key-info", "k", "*", {"key"}},
    {PROTO_OP_DECRYPT, "decrypt", "kuss", "su", {"key", "alg", "label", "data"}},
    {PROTO_OP_UNWRAP, "unwrap", "kuuss", "su", {"key", "alg", "key_len", "label", "data"}},
    {PROTO_OP_DERIVE, "derive", "kus", "su", {"key", "alg", "peer"}},
    {PROTO_OP_AUDIT_VERIFY, "audit-verify", "sss", "u", {"prev", "record", "mac"}},
    {PROTO_OP_SIGN_BATCH, "sign-batch", "kuu*", "u*", {"key", "alg", "flags", "items"}},
    {PROTO_OP_AUDIT_HEAD, "audit-head", "", "uus", {NULL}},
    {PROTO_OP_CERT, "cert", "k", "s", {"key"}},
    {PROTO_OP_KEYGEN, "keygen", "ksu", "*", {"key", "type", "ops"}},
    {PROTO_OP_ROTATE, "rotate", "k", "*", {"key"}},
    {PROTO_OP_VERSIONS, "versions", "k", "*", {"key"}},
    {PROTO_OP_TRIM, "trim", "ku", "u", {"key", "below"}},
    {PROTO_OP_REWRAP, "rewrap", "kuss", "suu", {"key", "alg", "label", "data"}},
    {PROTO_OP_CERT_IMPORT, "cert-import", "ks", "u", {"key", "data"}},
    {PROTO_OP_RELOAD, "reload", "", "u", {NULL}},
    {PROTO_OP_STATUS, "status", "", "*", {NULL}},
};

const struct proto_op_info *proto_op_info(uint8_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return &ops[i];
	return NULL;
}

uint32_t proto_frame_len(const uint8_t p[4])
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct proto_field proto_u32(uint32_t v)
{
	struct proto_field f = {.type = 'u', .u32 = v};
	return f;
}

struct proto_field proto_str(const void *p, size_t len)
{
	struct proto_field f = {.type = 's', .p = p, .len = len};
	return f;
}

struct proto_field proto_cstr(const char *s)
{
	return proto_str(s, s == NULL ? 0 : strlen(s));
}

struct proto_field proto_key(const char *s)
{
	struct proto_field f = {
	    .type = 'k', .p = (const uint8_t *)s, .len = s == NULL ? 0 : strlen(s)};
	return f;
}

struct proto_field proto_rest(const void *p, size_t len)
{
	struct proto_field f = {.type = '*', .p = p, .len = len};
	return f;
}

int proto_field_strdup(const struct proto_field *f, char **out_s)
{
	char *s;

	if (f->len > 0 && memchr(f->p, '\0', f->len) != NULL)
		return P11A_ERR_BAD_INPUT;
	if ((s = malloc(f->len + 1)) == NULL)
		return P11A_ERR_NOMEM;
	if (f->len > 0)
		memcpy(s, f->p, f->len);
	s[f->len] = '\0';
	*out_s = s;
	return P11A_OK;
}

/* Reads fields per sig from b into msg. On failure *out_what names the field. */
static int decode_fields(struct buf *b, const char *sig, const char *const *names,
			 struct proto_msg *msg, const char **out_what)
{
	size_t n = 0;

	for (const char *t = sig; *t != '\0'; t++, n++) {
		struct proto_field *f = &msg->f[n];

		if (n >= PROTO_MAX_FIELDS)
			return P11A_ERR_INTERNAL;
		*out_what = names != NULL && names[n] != NULL ? names[n] : "reply field";
		f->type = *t;
		switch (*t) {
		case 'u':
			if (buf_get_u32(b, &f->u32) != P11A_OK)
				return P11A_ERR_BAD_REQUEST;
			break;
		case 's':
			if (buf_get_string_direct(b, P11A_MAX_FRAME, &f->p, &f->len) != P11A_OK)
				return P11A_ERR_BAD_REQUEST;
			break;
		case 'k':
			if (buf_get_string_direct(b, PROTO_MAX_KEYREF, &f->p, &f->len) != P11A_OK ||
			    f->len == 0 || memchr(f->p, '\0', f->len) != NULL) {
				*out_what = "key: must be 1 to 4096 bytes, no NUL";
				return P11A_ERR_BAD_REQUEST;
			}
			break;
		case '*':
			f->p = buf_ptr(b);
			f->len = buf_avail(b);
			(void)buf_skip(b, f->len);
			break;
		default:
			return P11A_ERR_INTERNAL;
		}
	}
	msg->n = n;
	if (buf_avail(b) != 0) {
		*out_what = "trailing bytes after the last field";
		return P11A_ERR_BAD_REQUEST;
	}
	return P11A_OK;
}

int proto_decode_request(const uint8_t *body, size_t len, struct proto_msg *msg,
			 const char **out_what)
{
	const struct proto_op_info *info;
	struct buf b;
	const char *what = "header";

	memset(msg, 0, sizeof(*msg));
	*out_what = what;
	buf_view(&b, body, len);
	if (len > P11A_MAX_FRAME) {
		*out_what = "frame larger than 1 MiB";
		return P11A_ERR_TOO_LARGE;
	}
	if (buf_get_u8(&b, &msg->op) != P11A_OK || buf_get_u32(&b, &msg->id) != P11A_OK) {
		*out_what = "truncated header";
		return P11A_ERR_BAD_REQUEST;
	}
	if ((info = proto_op_info(msg->op)) == NULL) {
		*out_what = "opcode";
		return P11A_ERR_UNKNOWN_OP;
	}
	return decode_fields(&b, info->req_sig, info->req_fields, msg, out_what);
}

int proto_decode_reply(const uint8_t *body, size_t len, uint8_t op, struct proto_msg *msg)
{
	const struct proto_op_info *info;
	const char *what;
	struct buf b;

	memset(msg, 0, sizeof(*msg));
	buf_view(&b, body, len);
	if ((info = proto_op_info(op)) == NULL)
		return P11A_ERR_INVALID_ARG;
	if (len > P11A_MAX_FRAME || buf_get_u8(&b, &msg->op) != P11A_OK ||
	    buf_get_u32(&b, &msg->id) != P11A_OK || buf_get_u32(&b, &msg->status) != P11A_OK)
		return P11A_ERR_PROTOCOL;
	/* Opcode 0 with an error: the agent drops the connection and says why. */
	if (msg->op != op && !(msg->op == 0 && msg->status != P11A_OK))
		return P11A_ERR_PROTOCOL;
	if (decode_fields(&b, msg->status == P11A_OK ? info->rep_sig : "s", NULL, msg, &what) !=
	    P11A_OK)
		return P11A_ERR_PROTOCOL;
	return P11A_OK;
}

/* Appends the fields of msg, checking them against sig. */
static int encode_fields(struct buf *b, const char *sig, const struct proto_msg *msg)
{
	size_t n = strlen(sig);
	int r;

	if (n != msg->n)
		return P11A_ERR_INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		const struct proto_field *f = &msg->f[i];

		if (f->type != sig[i])
			return P11A_ERR_INVALID_ARG;
		switch (f->type) {
		case 'u':
			r = buf_put_u32(b, f->u32);
			break;
		case 's':
			r = buf_put_string(b, f->p, f->len);
			break;
		case 'k':
			if (f->len == 0 || f->len > PROTO_MAX_KEYREF ||
			    memchr(f->p, '\0', f->len) != NULL)
				return P11A_ERR_INVALID_ARG;
			r = buf_put_string(b, f->p, f->len);
			break;
		case '*':
			r = buf_put(b, f->p, f->len);
			break;
		default:
			return P11A_ERR_INVALID_ARG;
		}
		if (r != P11A_OK)
			return r;
	}
	return P11A_OK;
}

/* Appends u32 length, header and fields; the length is patched at the end. */
static int encode_frame(struct buf *out, const struct proto_msg *msg, int reply)
{
	const struct proto_op_info *info = proto_op_info(msg->op);
	size_t start = buf_len(out);
	const char *sig;
	size_t body_len;
	int r;

	/* An error reply (one string) may answer an opcode the table lacks. */
	if (reply && msg->status != P11A_OK)
		sig = "s";
	else if (info != NULL)
		sig = reply ? info->rep_sig : info->req_sig;
	else
		return P11A_ERR_INVALID_ARG;
	if ((r = buf_put_u32(out, 0)) != P11A_OK || (r = buf_put_u8(out, msg->op)) != P11A_OK ||
	    (r = buf_put_u32(out, msg->id)) != P11A_OK)
		goto out;
	if (reply && (r = buf_put_u32(out, msg->status)) != P11A_OK)
		goto out;
	if ((r = encode_fields(out, sig, msg)) != P11A_OK)
		goto out;
	body_len = buf_len(out) - start - 4;
	if (body_len > P11A_MAX_FRAME) {
		r = P11A_ERR_TOO_LARGE;
		goto out;
	}
	r = buf_poke_u32(out, start, (uint32_t)body_len);
out:
	if (r != P11A_OK) {
		/* Leave out as it was. */
		out->size = start;
	}
	return r;
}

int proto_encode_request(struct buf *out, const struct proto_msg *msg)
{
	return encode_frame(out, msg, 0);
}

int proto_encode_reply(struct buf *out, const struct proto_msg *msg)
{
	return encode_frame(out, msg, 1);
}

void proto_key_info_clear(struct p11a_key_info *k)
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

int proto_list_put(struct buf *b, const struct p11a_key_info *k)
{
	int r;

	if ((r = buf_put_cstring(b, k->label)) != P11A_OK ||
	    (r = buf_put_string(b, k->id, k->id_len)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->uri)) != P11A_OK ||
	    (r = buf_put_u32(b, (uint32_t)k->type)) != P11A_OK ||
	    (r = buf_put_u32(b, k->bits)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->curve)) != P11A_OK ||
	    (r = buf_put_u32(b, k->ops)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->algs)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->default_alg)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->sw_algs)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->name)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->family)) != P11A_OK ||
	    (r = buf_put_u32(b, k->version)) != P11A_OK ||
	    (r = buf_put_u32(b, k->min_version)) != P11A_OK ||
	    (r = buf_put_u32(b, k->newest ? 1 : 0)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->created)) != P11A_OK ||
	    (r = buf_put_cstring(b, k->cert_expiry)) != P11A_OK)
		return r;
	return P11A_OK;
}

int proto_list_get(struct buf *b, struct p11a_key_info *out)
{
	struct p11a_key_info k;
	const uint8_t *id;
	uint32_t type, newest;
	size_t off = b->off;
	int r = P11A_ERR_PROTOCOL;

	memset(&k, 0, sizeof(k));
	if (buf_get_cstring(b, PROTO_MAX_KEYREF, &k.label) != P11A_OK ||
	    buf_get_string_direct(b, PROTO_MAX_KEYREF, &id, &k.id_len) != P11A_OK ||
	    buf_get_cstring(b, 4 * PROTO_MAX_KEYREF, &k.uri) != P11A_OK ||
	    buf_get_u32(b, &type) != P11A_OK || buf_get_u32(b, &k.bits) != P11A_OK ||
	    buf_get_cstring(b, 64, &k.curve) != P11A_OK || buf_get_u32(b, &k.ops) != P11A_OK ||
	    buf_get_cstring(b, PROTO_MAX_KEYREF, &k.algs) != P11A_OK ||
	    buf_get_cstring(b, 64, &k.default_alg) != P11A_OK ||
	    buf_get_cstring(b, PROTO_MAX_KEYREF, &k.sw_algs) != P11A_OK ||
	    buf_get_cstring(b, PROTO_MAX_KEYREF, &k.name) != P11A_OK ||
	    buf_get_cstring(b, PROTO_MAX_KEYREF, &k.family) != P11A_OK ||
	    buf_get_u32(b, &k.version) != P11A_OK || buf_get_u32(b, &k.min_version) != P11A_OK ||
	    buf_get_u32(b, &newest) != P11A_OK || buf_get_cstring(b, 64, &k.created) != P11A_OK ||
	    buf_get_cstring(b, 64, &k.cert_expiry) != P11A_OK)
		goto out;
	if (newest > 1) /* a flag: 0 or 1, so that an entry has one encoding */
		goto out;
	k.type = (p11a_key_type)type;
	k.newest = (int)newest;
	if ((k.id = malloc(k.id_len + 1)) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	if (k.id_len > 0)
		memcpy(k.id, id, k.id_len);
	*out = k;
	memset(&k, 0, sizeof(k));
	r = P11A_OK;
out:
	if (r != P11A_OK)
		b->off = off;
	proto_key_info_clear(&k);
	return r;
}
