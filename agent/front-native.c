/*
 * front-native: the native protocol (proto/PROTOCOL.md) over the operations
 * layer. A request's fields are decoded once, by name, into struct args;
 * each handler turns them into typed calls of ops.h and encodes the reply.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front.h"
#include "log.h"
#include "proto.h"

#define AGENT_IDENT "p11agentd " PACKAGE_VERSION
/* Requests of one connection in flight at once, after HELLO (PROTOCOL.md). */
#define FRONT_NATIVE_PIPELINE 16

/* A request's fields by the names of the protocol table (proto/codec.c). */
struct args {
	char key[PROTO_MAX_KEYREF + 1]; /* "key": a key reference */
	uint32_t version;		/* "version" */
	p11a_alg alg;			/* "alg": 0 for the key's default */
	uint32_t flags;			/* "flags" */
	uint32_t key_len;		/* "key_len" */
	char type[32];			/* "type": a key type for keygen ("" when too long) */
	uint32_t ops;			/* "ops": P11A_OP_* */
	uint32_t below;			/* "below": trim's bound */
	const struct proto_field *data, *mac, *label, *peer, *items, *prev, *record;
};

/* What a handler sees: the request, and where its reply goes. */
struct req {
	struct ops_call *call;
	struct caller *caller;
	const struct args *a;
	struct proto_msg *out; /* fields of a success reply */
	struct buf *scratch;   /* owns bytes the reply fields point at */
	uint8_t *owned;	       /* a malloc'd reply field, freed after encoding */
	size_t owned_len;
	struct secret *secret; /* a secret reply field, wiped after encoding */
};

typedef int (*handler_fn)(struct req *r);

#define NEEDS_TOKEN 0x01u

struct handler {
	uint8_t op;
	handler_fn fn;
	unsigned flags;
};

/* Fills a from the decoded request in, by field name. */
static void name_fields(const struct proto_msg *in, struct args *a)
{
	const struct proto_op_info *info = proto_op_info(in->op);

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; info != NULL && i < in->n && info->req_fields[i] != NULL; i++) {
		const char *name = info->req_fields[i];
		const struct proto_field *f = &in->f[i];

		if (strcmp(name, "key") == 0) {
			memcpy(a->key, f->p, f->len);
			a->key[f->len] = '\0';
		} else if (strcmp(name, "version") == 0) {
			a->version = f->u32;
		} else if (strcmp(name, "alg") == 0) {
			a->alg = (p11a_alg)f->u32;
		} else if (strcmp(name, "flags") == 0) {
			a->flags = f->u32;
		} else if (strcmp(name, "key_len") == 0) {
			a->key_len = f->u32;
		} else if (strcmp(name, "type") == 0) {
			if (f->len < sizeof(a->type))
				memcpy(a->type, f->p, f->len);
			else
				memcpy(a->type, "(too long)", sizeof("(too long)"));
		} else if (strcmp(name, "ops") == 0) {
			a->ops = f->u32;
		} else if (strcmp(name, "below") == 0) {
			a->below = f->u32;
		} else if (strcmp(name, "data") == 0) {
			a->data = f;
		} else if (strcmp(name, "mac") == 0) {
			a->mac = f;
		} else if (strcmp(name, "label") == 0) {
			a->label = f;
		} else if (strcmp(name, "peer") == 0) {
			a->peer = f;
		} else if (strcmp(name, "items") == 0) {
			a->items = f;
		} else if (strcmp(name, "prev") == 0) {
			a->prev = f;
		} else if (strcmp(name, "record") == 0) {
			a->record = f;
		}
	}
}

static int handle_hello(struct req *r)
{
	if (r->a->version < P11A_PROTOCOL_VERSION)
		return ops_fail(r->call, P11A_ERR_VERSION,
				"client speaks protocol version %u; this agent speaks %u: use the "
				"libp11agent of this release",
				r->a->version, P11A_PROTOCOL_VERSION);
	r->caller->greeted = 1;
	r->out->n = 2;
	r->out->f[0] = proto_u32(P11A_PROTOCOL_VERSION);
	r->out->f[1] = proto_cstr(AGENT_IDENT);
	return P11A_OK;
}

static int handle_ping(struct req *r)
{
	r->out->n = 1;
	r->out->f[0] = *r->a->data;
	return P11A_OK;
}

/* Joins the names of algs[0..n) with commas into out; 0, or -1 when it does not fit. */
static int join_algs(const p11a_alg *algs, size_t n, char *out, size_t out_len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct p11a_alg_info *ai = p11a_alg_by_id(algs[i]);
		int k;

		if (ai == NULL)
			continue;
		k = snprintf(out + used, out_len - used, "%s%s", used ? "," : "", ai->name);
		if (k < 0 || (size_t)k >= out_len - used)
			return -1;
		used += (size_t)k;
	}
	return 0;
}

/* Appends one list entry for key to b. */
static int put_key_entry(struct req *r, const struct token_key *key, struct buf *b)
{
	p11a_alg algs[32], sw[32];
	char names[1024], sw_names[1024];
	size_t n, n_sw = 0;
	const struct p11a_alg_info *dai = p11a_alg_by_id(ops_default_alg(key, 0));
	struct p11a_key_info info = {
	    .label = key->label,
	    .id = key->id,
	    .id_len = key->id_len,
	    .uri = key->uri,
	    .type = key->type,
	    .bits = key->bits,
	    .curve = (char *)key->curve,
	    .ops = key->ops,
	    .algs = names,
	    .default_alg = (char *)(dai != NULL ? dai->name : ""),
	    .sw_algs = sw_names,
	    .name = key->name != NULL ? key->name : (char *)"",
	    .family = key->name != NULL ? key->name : key->family,
	    .version = key->version,
	    .min_version = key->min_version,
	    .newest = key->newest,
	    .created = (char *)key->created,
	    .cert_expiry = (char *)key->cert_expiry,
	};

	n = ops_key_algs(r->call, key, algs, sw, &n_sw, sizeof(algs) / sizeof(algs[0]));
	if (join_algs(algs, n, names, sizeof(names)) != 0 ||
	    join_algs(sw, n_sw, sw_names, sizeof(sw_names)) != 0)
		return P11A_ERR_INTERNAL;
	return proto_list_put(b, &info);
}

static int handle_list(struct req *r)
{
	const struct token_key *key;
	uint32_t shown = 0;
	size_t i = 0;
	int rc;

	/* The count goes first; it is patched once the visible keys are known. */
	if ((rc = buf_put_u32(r->scratch, 0)) != P11A_OK)
		return ops_fail(r->call, rc, "cannot build the key list");
	while ((key = ops_next_key(r->call, &i)) != NULL) {
		if ((rc = put_key_entry(r, key, r->scratch)) != P11A_OK)
			return ops_fail(r->call, rc, "cannot build the key list: %s",
					p11a_strerror(rc));
		shown++;
	}
	if ((rc = buf_poke_u32(r->scratch, 0, shown)) != P11A_OK)
		return ops_fail(r->call, rc, "cannot build the key list");
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

/* One key entry: KEY_INFO, KEYGEN and ROTATE. */
static int reply_key(struct req *r, const struct token_key *key)
{
	int rc;

	if ((rc = put_key_entry(r, key, r->scratch)) != P11A_OK)
		return ops_fail(r->call, rc, "cannot describe the key: %s", p11a_strerror(rc));
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_key_info(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_find_key(r->call, r->a->key, &key)) != P11A_OK)
		return rc;
	return reply_key(r, key);
}

static int handle_pubkey(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_find_key(r->call, r->a->key, &key)) != P11A_OK)
		return rc;
	if (key->spki == NULL && key->klass == CKO_SECRET_KEY)
		return ops_fail(r->call, P11A_ERR_NOT_SUPPORTED,
				"key '%s' is a secret key (%s): it has no public key",
				token_key_name(key), p11a_key_type_name(key->type));
	if (key->spki == NULL)
		return ops_fail(r->call, P11A_ERR_NOT_SUPPORTED,
				"key '%s': the token holds no public key or certificate for it",
				token_key_name(key));
	r->out->n = 1;
	r->out->f[0] = proto_str(key->spki, key->spki_len);
	return P11A_OK;
}

/*
 * The key's X.509 certificate as the token holds it; an empty string when it
 * holds none (that is not an error: most keys have none).
 */
static int handle_cert(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_find_key(r->call, r->a->key, &key)) != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_str(key->cert, key->cert_len);
	return P11A_OK;
}

/* What SIGN and SIGN_BATCH share: the key and algorithm allowed, the flags known. */
static int sign_request(struct req *r, struct proto_field const *data,
			const struct token_key **out_key, p11a_alg *out_alg)
{
	uint32_t flags = r->a->flags;
	int rc;

	ops_set_data(r->call, data->p, data->len);
	if ((rc = ops_use_key(r->call, r->a->key, NULL, P11A_OP_SIGN, r->a->alg, out_key,
			      out_alg)) != P11A_OK)
		return rc;
	if ((flags & ~(uint32_t)(P11A_SIGN_ECDSA_RAW | P11A_SIGN_PSS_SALT | 0xffff0000u)) ||
	    (!(flags & P11A_SIGN_PSS_SALT) && (flags >> 16) != 0))
		return ops_fail(r->call, P11A_ERR_BAD_INPUT, "flags: unknown bits 0x%x", flags);
	return P11A_OK;
}

static int handle_sign(struct req *r)
{
	const struct token_key *key;
	p11a_alg alg;
	int rc;

	if ((rc = sign_request(r, r->a->data, &key, &alg)) != P11A_OK)
		return rc;
	rc = ops_sign(r->call, key, alg, r->a->flags, r->a->data->p, r->a->data->len, &r->owned,
		      &r->owned_len);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 2;
	r->out->f[0] = proto_str(r->owned, r->owned_len);
	r->out->f[1] = proto_u32(key->version);
	return P11A_OK;
}

/*
 * SIGN_BATCH: items is u32 count (1 to P11A_MAX_BATCH), then count strings,
 * each signed as SIGN would; the reply is u32 count, then the signatures.
 * The key, algorithm, policy and the whole field are checked before the first
 * signature; one audit record covers the batch (its input hash is over the
 * items field). All or nothing. A batch is one request: at SIGTERM it
 * finishes within shutdown-timeout or not at all, like any other.
 */
static int handle_sign_batch(struct req *r)
{
	const struct token_key *key;
	const uint8_t *item;
	struct buf items;
	p11a_alg alg;
	uint32_t count, i;
	uint8_t *sig = NULL;
	size_t item_len, sig_len;
	int rc;

	if ((rc = sign_request(r, r->a->items, &key, &alg)) != P11A_OK)
		return rc;
	/* The whole field first: a malformed batch costs the token nothing. */
	buf_view(&items, r->a->items->p, r->a->items->len);
	if (buf_get_u32(&items, &count) != P11A_OK || count == 0 || count > P11A_MAX_BATCH)
		return ops_fail(r->call, P11A_ERR_BAD_REQUEST, "items: expected a count of 1 to %u",
				P11A_MAX_BATCH);
	for (i = 0; i < count; i++) {
		if (buf_get_string_direct(&items, P11A_MAX_FRAME, &item, &item_len) != P11A_OK)
			return ops_fail(r->call, P11A_ERR_BAD_REQUEST,
					"items: item %u of %u is truncated", i + 1, count);
	}
	if (buf_avail(&items) != 0)
		return ops_fail(r->call, P11A_ERR_BAD_REQUEST,
				"items: trailing bytes after item %u", count);

	if ((rc = buf_put_u32(r->scratch, count)) != P11A_OK)
		return rc;
	buf_view(&items, r->a->items->p, r->a->items->len);
	(void)buf_get_u32(&items, &count);
	for (i = 0; i < count; i++) {
		(void)buf_get_string_direct(&items, P11A_MAX_FRAME, &item, &item_len);
		rc = ops_sign(r->call, key, alg, r->a->flags, item, item_len, &sig, &sig_len);
		if (rc != P11A_OK) {
			char why[OPS_MSG_LEN];

			snprintf(why, sizeof(why), "%s", r->call->msg);
			return ops_fail(r->call, rc, "item %u of %u: %s", i + 1, count, why);
		}
		rc = buf_put_string(r->scratch, sig, sig_len);
		free(sig);
		sig = NULL;
		if (rc == P11A_ERR_TOO_LARGE)
			return ops_fail(r->call, rc,
					"the signatures would exceed the 1 MiB frame limit");
		if (rc != P11A_OK)
			return rc;
	}
	r->out->n = 2;
	r->out->f[0] = proto_u32(key->version);
	r->out->f[1] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_verify_hmac(struct req *r)
{
	const struct token_key *key;
	p11a_alg alg;
	int valid = 0, rc;

	ops_set_data(r->call, r->a->data->p, r->a->data->len);
	if ((rc = ops_use_key(r->call, r->a->key, NULL, P11A_OP_VERIFY, r->a->alg, &key, &alg)) !=
	    P11A_OK)
		return rc;
	rc = ops_verify_hmac(r->call, key, alg, r->a->data->p, r->a->data->len, r->a->mac->p,
			     r->a->mac->len, &valid);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 2;
	r->out->f[0] = proto_u32(valid ? 1 : 0);
	r->out->f[1] = proto_u32(r->call->key != NULL ? r->call->key->version : 0);
	return P11A_OK;
}

/*
 * Hands a secret result to the reply; it is wiped after the reply is sent.
 * The version is that of the key that made it (the operations layer may
 * have tried several).
 */
static void reply_secret(struct req *r, struct secret *s)
{
	r->secret = s;
	r->out->n = 2;
	r->out->f[0] = proto_str(s->p, s->len);
	r->out->f[1] = proto_u32(r->call->key != NULL ? r->call->key->version : 0);
}

static int handle_decrypt(struct req *r)
{
	const struct token_key *key;
	struct secret *plain = NULL;
	p11a_alg alg;
	int rc;

	ops_set_data(r->call, r->a->data->p, r->a->data->len);
	if ((rc = ops_use_key(r->call, r->a->key, NULL, P11A_OP_DECRYPT, r->a->alg, &key, &alg)) !=
	    P11A_OK)
		return rc;
	rc = ops_decrypt(r->call, key, alg, r->a->label->p, r->a->label->len, r->a->data->p,
			 r->a->data->len, &plain);
	if (rc != P11A_OK)
		return rc;
	reply_secret(r, plain);
	return P11A_OK;
}

static int handle_unwrap(struct req *r)
{
	const struct token_key *key;
	struct secret *sk = NULL;
	p11a_alg alg;
	int rc;

	ops_set_data(r->call, r->a->data->p, r->a->data->len);
	if ((rc = ops_use_key(r->call, r->a->key, NULL, P11A_OP_UNWRAP, r->a->alg, &key, &alg)) !=
	    P11A_OK)
		return rc;
	rc = ops_unwrap(r->call, key, alg, r->a->label->p, r->a->label->len, r->a->key_len,
			r->a->data->p, r->a->data->len, &sk);
	if (rc != P11A_OK)
		return rc;
	reply_secret(r, sk);
	return P11A_OK;
}

static int handle_derive(struct req *r)
{
	const struct token_key *key;
	struct secret *z = NULL;
	p11a_alg alg;
	int rc;

	ops_set_data(r->call, r->a->peer->p, r->a->peer->len);
	if ((rc = ops_use_key(r->call, r->a->key, NULL, P11A_OP_DERIVE, r->a->alg, &key, &alg)) !=
	    P11A_OK)
		return rc;
	rc = ops_derive(r->call, key, alg, r->a->peer->p, r->a->peer->len, &z);
	if (rc != P11A_OK)
		return rc;
	reply_secret(r, z);
	return P11A_OK;
}

static int handle_audit_verify(struct req *r)
{
	int valid = 0, rc;

	rc = ops_audit_verify(r->call, r->a->prev->p, r->a->prev->len, r->a->record->p,
			      r->a->record->len, r->a->mac->p, r->a->mac->len, &valid);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32(valid ? 1 : 0);
	return P11A_OK;
}

/* The chain's head as the token holds it: seq (two u32, high first) and MAC. */
static int handle_audit_head(struct req *r)
{
	uint64_t seq = 0;
	int rc;

	if ((r->owned = malloc(P11A_AUDIT_MAC_LEN)) == NULL)
		return ops_fail(r->call, P11A_ERR_INTERNAL, "out of memory");
	r->owned_len = P11A_AUDIT_MAC_LEN;
	if ((rc = ops_audit_head(r->call, &seq, r->owned)) != P11A_OK)
		return rc;
	r->out->n = 3;
	r->out->f[0] = proto_u32((uint32_t)(seq >> 32));
	r->out->f[1] = proto_u32((uint32_t)seq);
	r->out->f[2] = proto_str(r->owned, r->owned_len);
	return P11A_OK;
}

static int handle_keygen(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_keygen(r->call, r->a->key, r->a->type, r->a->ops, &key)) != P11A_OK)
		return rc;
	return reply_key(r, key);
}

static int handle_rotate(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_rotate(r->call, r->a->key, &key)) != P11A_OK)
		return rc;
	return reply_key(r, key);
}

/* VERSIONS: a list (LIST's format) of the versions, oldest first. */
static int handle_versions(struct req *r)
{
	const struct token_key **keys = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = ops_versions(r->call, r->a->key, &keys, &n)) == P11A_OK &&
	    (rc = buf_put_u32(r->scratch, (uint32_t)n)) != P11A_OK)
		rc = ops_fail(r->call, rc, "cannot build the list of versions");
	for (i = 0; rc == P11A_OK && i < n; i++)
		if ((rc = put_key_entry(r, keys[i], r->scratch)) != P11A_OK)
			rc = ops_fail(r->call, rc, "cannot build the list of versions: %s",
				      p11a_strerror(rc));
	free(keys);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_trim(struct req *r)
{
	uint32_t n = 0;
	int rc;

	if ((rc = ops_trim(r->call, r->a->key, r->a->below, &n)) != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32(n);
	return P11A_OK;
}

static int handle_rewrap(struct req *r)
{
	uint32_t from = 0, to = 0;
	int rc;

	rc = ops_rewrap(r->call, r->a->key, r->a->alg, r->a->label->p, r->a->label->len,
			r->a->data->p, r->a->data->len, &r->owned, &r->owned_len, &from, &to);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 3;
	r->out->f[0] = proto_str(r->owned, r->owned_len);
	r->out->f[1] = proto_u32(from);
	r->out->f[2] = proto_u32(to);
	return P11A_OK;
}

static int handle_cert_import(struct req *r)
{
	int rc;

	if ((rc = ops_cert_import(r->call, r->a->key, r->a->data->p, r->a->data->len)) != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32(r->call->key != NULL ? r->call->key->version : 0);
	return P11A_OK;
}

static int handle_reload(struct req *r)
{
	size_t n = 0;
	int rc;

	if ((rc = ops_reload(r->call, &n)) != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32((uint32_t)n);
	return P11A_OK;
}

/* STATUS: the agent's status and counters (proto_status_put()). */
static int handle_status(struct req *r)
{
	struct p11a_status *st = NULL;
	int rc;

	if ((rc = ops_status(r->call, &st)) != P11A_OK)
		return rc;
	rc = proto_status_put(r->scratch, st);
	p11a_status_free(st);
	if (rc != P11A_OK)
		return ops_fail(r->call, rc == P11A_ERR_TOO_LARGE ? rc : P11A_ERR_INTERNAL,
				"cannot build the status: %s", p11a_strerror(rc));
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static const struct handler handlers[] = {
    {PROTO_OP_HELLO, handle_hello, 0},
    {PROTO_OP_PING, handle_ping, 0},
    {PROTO_OP_LIST, handle_list, NEEDS_TOKEN},
    {PROTO_OP_PUBKEY, handle_pubkey, NEEDS_TOKEN},
    {PROTO_OP_SIGN, handle_sign, NEEDS_TOKEN},
    {PROTO_OP_VERIFY_HMAC, handle_verify_hmac, NEEDS_TOKEN},
    {PROTO_OP_KEY_INFO, handle_key_info, NEEDS_TOKEN},
    {PROTO_OP_DECRYPT, handle_decrypt, NEEDS_TOKEN},
    {PROTO_OP_UNWRAP, handle_unwrap, NEEDS_TOKEN},
    {PROTO_OP_DERIVE, handle_derive, NEEDS_TOKEN},
    {PROTO_OP_AUDIT_VERIFY, handle_audit_verify, NEEDS_TOKEN},
    {PROTO_OP_SIGN_BATCH, handle_sign_batch, NEEDS_TOKEN},
    {PROTO_OP_AUDIT_HEAD, handle_audit_head, NEEDS_TOKEN},
    {PROTO_OP_CERT, handle_cert, NEEDS_TOKEN},
    {PROTO_OP_KEYGEN, handle_keygen, NEEDS_TOKEN},
    {PROTO_OP_ROTATE, handle_rotate, NEEDS_TOKEN},
    {PROTO_OP_VERSIONS, handle_versions, NEEDS_TOKEN},
    {PROTO_OP_TRIM, handle_trim, NEEDS_TOKEN},
    {PROTO_OP_REWRAP, handle_rewrap, NEEDS_TOKEN},
    {PROTO_OP_CERT_IMPORT, handle_cert_import, NEEDS_TOKEN},
    {PROTO_OP_RELOAD, handle_reload, NEEDS_TOKEN},
    {PROTO_OP_STATUS, handle_status, 0},
};

static const struct handler *handler_for(uint8_t op)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].op == op)
			return &handlers[i];
	return NULL;
}

/* Decodes the request and runs its handler; returns its status, the message in r->call. */
static int run(struct req *r, const uint8_t *body, size_t body_len, struct proto_msg *in,
	       struct args *a)
{
	const struct handler *h;
	const struct proto_op_info *info;
	const char *what = "";
	int rc;

	rc = proto_decode_request(body, body_len, in, &what);
	info = proto_op_info(in->op);
	r->call->op = info != NULL ? info->name : "unknown";
	/* HELLO and PING are not requests of the trail. */
	if (in->op == PROTO_OP_HELLO || in->op == PROTO_OP_PING)
		ops_unrecorded(r->call);
	if (rc == P11A_ERR_UNKNOWN_OP)
		return ops_fail(r->call, rc, "unknown opcode %u", in->op);
	if (rc != P11A_OK)
		return ops_fail(r->call, rc, "malformed %s request: %s", info ? info->name : "",
				what);
	name_fields(in, a);
	if (a->key[0] != '\0')
		ops_note_ref(r->call, a->key);
	if (!r->caller->greeted && in->op != PROTO_OP_HELLO)
		return ops_fail(r->call, P11A_ERR_VERSION, "the first request must be hello");
	if ((h = handler_for(in->op)) == NULL)
		return ops_fail(r->call, P11A_ERR_UNKNOWN_OP, "opcode %u is not served", in->op);
	if ((h->flags & NEEDS_TOKEN) && (rc = ops_need_token(r->call)) != P11A_OK)
		return rc;
	return h->fn(r);
}

int front_native_dispatch(struct agent_ctx *ctx, struct caller *caller, const uint8_t *body,
			  size_t body_len, struct buf *out)
{
	struct proto_msg in, rep;
	struct ops_call call;
	struct args a;
	struct req r;
	int rc, ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&rep, 0, sizeof(rep));
	memset(&in, 0, sizeof(in));
	memset(&a, 0, sizeof(a));
	ops_begin(&call, ctx, caller, "unknown", NULL);
	r.call = &call;
	r.caller = caller;
	r.a = &a;
	r.out = &rep;
	if ((r.scratch = buf_new(0)) == NULL)
		return -1;
	rc = run(&r, body, body_len, &in, &a);
	if (body_len < PROTO_MIN_BODY)
		goto out; /* no request id to answer to */
	/* Only wire codes go on the wire; local ones (NOMEM...) are the agent's failure. */
	if (rc >= 64)
		rc = ops_fail(&call, P11A_ERR_INTERNAL, "internal error: %s", p11a_strerror(rc));
	/* In the trail before the client can see the result. */
	if ((rc = ops_finish(&call, rc)) != P11A_OK) {
		secret_free(r.secret);
		r.secret = NULL;
	}
	rep.op = in.op;
	rep.id = in.id;
	rep.status = (uint32_t)rc;
	if (rc != P11A_OK) {
		rep.n = 1;
		rep.f[0] = proto_cstr(call.msg);
	}
	if (proto_encode_reply(out, &rep) != P11A_OK) {
		/* A success reply that does not fit a frame becomes an error reply. */
		if (rc != P11A_OK)
			goto out;
		rc = ops_fail(&call, P11A_ERR_TOO_LARGE,
			      "the reply would exceed the 1 MiB frame limit");
		rep.status = (uint32_t)rc;
		rep.n = 1;
		rep.f[0] = proto_cstr(call.msg);
		if (proto_encode_reply(out, &rep) != P11A_OK)
			goto out;
	}
	ret = 0;
out:
	if (rc != P11A_OK)
		log_debug("request op %u from uid %d pid %d: %s: %s", in.op, caller->uid,
			  caller->pid, p11a_errname(rc), call.msg);
	free(r.owned);
	secret_free(r.secret);
	buf_free(r.scratch);
	return ret;
}

static int native_dispatch(struct agent_ctx *ctx, struct caller *caller, void *state,
			   const uint8_t *body, size_t body_len, struct buf *out)
{
	(void)state;
	return front_native_dispatch(ctx, caller, body, body_len, out);
}

/* An error frame with opcode 0 and request id 0 (PROTOCOL.md): the connection ends. */
static int native_refusal(struct buf *out, int code, const char *why)
{
	struct proto_msg rep = {.op = 0, .id = 0, .status = (uint32_t)code, .n = 1};

	rep.f[0] = proto_cstr(why);
	return proto_encode_reply(out, &rep) == P11A_OK ? 0 : -1;
}

static int native_replace_reply(struct buf *out, int code, const char *why)
{
	struct proto_msg rep = {.status = (uint32_t)code, .n = 1};
	struct buf view;

	buf_view(&view, buf_data(out), buf_len(out));
	if (buf_skip(&view, 4) != P11A_OK || buf_get_u8(&view, &rep.op) != P11A_OK ||
	    buf_get_u32(&view, &rep.id) != P11A_OK)
		return -1;
	buf_reset(out); /* wiped: it may hold a session key */
	rep.f[0] = proto_cstr(why);
	return proto_encode_reply(out, &rep) == P11A_OK ? 0 : -1;
}

const struct front front_native = {
    .name = "native",
    .max_frame = P11A_MAX_FRAME,
    .min_frame = PROTO_MIN_BODY,
    .state_size = 0,
    .pipeline = FRONT_NATIVE_PIPELINE,
    .dispatch = native_dispatch,
    .refusal = native_refusal,
    .replace_reply = native_replace_reply,
};
