/*
 * handlers: the agent's request handlers, dispatched through one table.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <openssl/sha.h>

#include "audit.h"
#include "busypoll.h"
#include "handlers.h"
#include "log.h"
#include "policy.h"
#include "proto.h"
#include "ratelimit.h"

#define MSG_LEN 2048
#define AGENT_IDENT "p11agentd " PACKAGE_VERSION

/* What a handler sees: the request, and where its reply goes. */
struct req {
	struct agent_ctx *ctx;
	struct token *tok;
	struct caller *peer;
	const struct token_key *key;	/* the key the request used, for the audit */
	p11a_alg alg;			/* the algorithm it used, for the audit */
	const struct proto_field *data; /* the field whose hash the audit records */
	const struct proto_msg *in;
	struct proto_msg *out; /* fields of a success reply */
	struct buf *scratch;   /* owns bytes the reply fields point at */
	uint8_t *owned;	       /* a malloc'd reply field, freed after encoding */
	size_t owned_len;
	struct secret *secret; /* a secret reply field, wiped after encoding */
	char *msg;	       /* the human message of an error */
	int unrecorded;	       /* 1: the trail already holds this connection's check */
	int allowed;	       /* the policy let the peer use r->key */
	int suppressed;	       /* a refusal counted, not recorded (ratelimit.h) */
};

typedef int (*handler_fn)(struct req *r);

#define NEEDS_TOKEN 0x01u

struct handler {
	uint8_t op;
	handler_fn fn;
	unsigned flags;
};

static int err(struct req *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int err(struct req *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, MSG_LEN, fmt, ap);
	va_end(ap);
	return code;
}

static int see_key(struct req *r, const struct token_key **out_key);

static int handle_hello(struct req *r)
{
	uint32_t version = r->in->f[0].u32;

	if (version < 1)
		return err(r, P11A_ERR_VERSION,
			   "client speaks protocol version %u; this agent speaks 1 to %u", version,
			   P11A_PROTOCOL_VERSION);
	r->peer->greeted = 1;
	r->out->n = 2;
	r->out->f[0] = proto_u32(version < P11A_PROTOCOL_VERSION ? version : P11A_PROTOCOL_VERSION);
	r->out->f[1] = proto_cstr(AGENT_IDENT);
	return P11A_OK;
}

static int handle_ping(struct req *r)
{
	r->out->n = 1;
	r->out->f[0] = r->in->f[0];
	return P11A_OK;
}

/* How to name a key in a message: its config name, label, else URI. */
static const char *key_name(const struct token_key *key)
{
	if (key->name != NULL)
		return key->name;
	return key->label[0] != '\0' ? key->label : key->uri;
}

/* token_key_filter: the keys the peer of the request may know exist. */
static int peer_sees(void *arg, const struct token_key *key)
{
	const struct req *r = arg;

	return policy_visible(r->ctx->policy, r->peer, key);
}

/*
 * Resolves the key reference in field i. A key the peer may not see does
 * not exist for it: NO_SUCH_KEY, and left out of an ambiguity's list. The
 * audit trail still names the one key such a reference meant (r->key).
 */
static int find_key(struct req *r, size_t i, const struct token_key **out_key)
{
	char ref[PROTO_MAX_KEYREF + 1], why[MSG_LEN];
	const struct proto_field *f = &r->in->f[i];
	const struct token_key_filter seen_by_peer = {peer_sees, r};
	const struct token_key *hidden;
	int rc;

	memcpy(ref, f->p, f->len);
	ref[f->len] = '\0';
	rc = token_find_key_for(r->tok, &seen_by_peer, ref, out_key, r->msg, MSG_LEN);
	if (rc == P11A_ERR_NO_SUCH_KEY &&
	    token_find_key(r->tok, ref, &hidden, why, sizeof(why)) == P11A_OK)
		r->key = hidden;
	return rc;
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
	const struct p11a_alg_info *dai = p11a_alg_by_id(token_key_default_alg(key));
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
	};

	n = token_key_algs(r->tok, key, algs, sizeof(algs) / sizeof(algs[0]));
	for (size_t i = 0; i < n; i++)
		if (token_alg_in_software(r->tok, key, algs[i]))
			sw[n_sw++] = algs[i];
	if (join_algs(algs, n, names, sizeof(names)) != 0 ||
	    join_algs(sw, n_sw, sw_names, sizeof(sw_names)) != 0)
		return P11A_ERR_INTERNAL;
	return proto_list_put(b, &info);
}

static int handle_list(struct req *r)
{
	size_t n = token_key_count(r->tok);
	uint32_t shown = 0;
	int rc;

	/* The count goes first; it is patched once the visible keys are known. */
	if ((rc = buf_put_u32(r->scratch, 0)) != P11A_OK)
		return err(r, rc, "cannot build the key list");
	for (size_t i = 0; i < n; i++) {
		const struct token_key *key = token_key_at(r->tok, i);

		if (!policy_visible(r->ctx->policy, r->peer, key))
			continue;
		if ((rc = put_key_entry(r, key, r->scratch)) != P11A_OK)
			return err(r, rc, "cannot build the key list: %s", p11a_strerror(rc));
		shown++;
	}
	if ((rc = buf_poke_u32(r->scratch, 0, shown)) != P11A_OK)
		return err(r, rc, "cannot build the key list");
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_key_info(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = see_key(r, &key)) != P11A_OK)
		return rc;
	if ((rc = put_key_entry(r, key, r->scratch)) != P11A_OK)
		return err(r, rc, "cannot describe the key: %s", p11a_strerror(rc));
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_pubkey(struct req *r)
{
	const struct token_key *key;
	int rc;

	if ((rc = see_key(r, &key)) != P11A_OK)
		return rc;
	if (key->spki == NULL && key->klass == CKO_SECRET_KEY)
		return err(r, P11A_ERR_NOT_SUPPORTED,
			   "key '%s' is a secret key (%s): it has no public key", key_name(key),
			   p11a_key_type_name(key->type));
	if (key->spki == NULL)
		return err(r, P11A_ERR_NOT_SUPPORTED,
			   "key '%s': the token holds no public key or certificate for it",
			   key_name(key));
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

	if ((rc = see_key(r, &key)) != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_str(key->cert, key->cert_len);
	return P11A_OK;
}

/* The algorithm in field i, or the key's default when 0. */
static const char *op_name(uint32_t op)
{
	switch (op) {
	case P11A_OP_SIGN:
		return "signing";
	case P11A_OP_DECRYPT:
		return "decryption";
	case P11A_OP_UNWRAP:
		return "unwrapping";
	case P11A_OP_DERIVE:
		return "derivation";
	default:
		return "this operation";
	}
}

/*
 * The algorithm in field i for operation op, or the key's default for it
 * when 0. An algorithm of another operation is refused here.
 */
static int pick_alg(struct req *r, size_t i, const struct token_key *key, uint32_t op,
		    p11a_alg *out_alg)
{
	uint32_t alg = r->in->f[i].u32;
	const struct p11a_alg_info *ai;

	/* Verifying an HMAC takes the signing algorithms. */
	if (op == P11A_OP_VERIFY)
		op = P11A_OP_SIGN;
	if (alg == P11A_ALG_NONE) {
		if ((alg = token_key_default_alg_for(key, op)) == P11A_ALG_NONE)
			return err(r, P11A_ERR_NOT_SUPPORTED,
				   "key '%s' (%s) has no algorithm for %s", key_name(key),
				   p11a_key_type_name(key->type), op_name(op));
	} else if ((ai = p11a_alg_by_id(alg)) == NULL) {
		return err(r, P11A_ERR_BAD_INPUT, "alg: unknown algorithm number %u", alg);
	} else if (!(ai->ops & op)) {
		return err(r, P11A_ERR_NOT_SUPPORTED, "alg: %s is not an algorithm for %s",
			   ai->name, op_name(op));
	}
	*out_alg = (p11a_alg)alg;
	return P11A_OK;
}

/*
 * Is key one of the audit trail's (the key of the chain, the checkpoints'
 * signing key)? Nobody may MAC or sign with them directly.
 */
static int is_audit_key(const struct req *r, const struct token_key *key)
{
	return audit_key(r->ctx->audit) == key || audit_sign_key(r->ctx->audit) == key;
}

/*
 * Resolves the key in field 0, the algorithm in field alg_field for op, and
 * asks the policy whether this peer may; remembers both for the audit.
 */
static int use_key(struct req *r, size_t alg_field, uint32_t op, const struct token_key **out_key,
		   p11a_alg *out_alg)
{
	const struct token_key *key;
	p11a_alg alg = P11A_ALG_NONE;
	int rc;

	if ((rc = find_key(r, 0, &key)) != P11A_OK)
		return rc;
	r->key = key;
	if ((rc = pick_alg(r, alg_field, key, op, &alg)) != P11A_OK)
		return rc;
	r->alg = alg;
	if ((rc = policy_check(r->ctx->policy, r->peer, key, op, alg, r->msg, MSG_LEN)) != P11A_OK)
		return rc;
	if (is_audit_key(r, key))
		return err(r, P11A_ERR_DENIED,
			   "key '%s' keys the audit trail: it serves audit-verify only",
			   key_name(key));
	r->allowed = 1;
	*out_key = key;
	*out_alg = alg;
	return P11A_OK;
}

/* Resolves the key in field 0 for a request that only looks at it (pubkey, key-info). */
static int see_key(struct req *r, const struct token_key **out_key)
{
	const struct token_key *key;
	int rc;

	if ((rc = find_key(r, 0, &key)) != P11A_OK)
		return rc;
	r->key = key;
	r->allowed = 1;
	*out_key = key;
	return P11A_OK;
}

/*
 * What SIGN and SIGN_BATCH share: key in field 0, alg in 1, flags in 2, the
 * data (or items) in 3, which the audit record hashes.
 */
static int sign_request(struct req *r, const struct token_key **out_key, p11a_alg *out_alg)
{
	uint32_t flags = r->in->f[2].u32;
	int rc;

	r->data = &r->in->f[3];
	if ((rc = use_key(r, 1, P11A_OP_SIGN, out_key, out_alg)) != P11A_OK)
		return rc;
	if ((flags & ~(uint32_t)(TOKEN_SIGN_ECDSA_RAW | TOKEN_SIGN_PSS_SALT | 0xffff0000u)) ||
	    (!(flags & TOKEN_SIGN_PSS_SALT) && (flags >> 16) != 0))
		return err(r, P11A_ERR_BAD_INPUT, "flags: unknown bits 0x%x", flags);
	return P11A_OK;
}

static int handle_sign(struct req *r)
{
	const struct token_key *key;
	p11a_alg alg;
	uint32_t flags = r->in->f[2].u32;
	int rc;

	if ((rc = sign_request(r, &key, &alg)) != P11A_OK)
		return rc;
	rc = token_sign(r->tok, key, alg, flags, r->in->f[3].p, r->in->f[3].len, &r->owned,
			&r->owned_len, r->msg, MSG_LEN);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_str(r->owned, r->owned_len);
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
	uint32_t flags = r->in->f[2].u32, count, i;
	uint8_t *sig = NULL;
	size_t item_len, sig_len;
	int rc;

	if ((rc = sign_request(r, &key, &alg)) != P11A_OK)
		return rc;
	/* The whole field first: a malformed batch costs the token nothing. */
	buf_view(&items, r->in->f[3].p, r->in->f[3].len);
	if (buf_get_u32(&items, &count) != P11A_OK || count == 0 || count > P11A_MAX_BATCH)
		return err(r, P11A_ERR_BAD_REQUEST, "items: expected a count of 1 to %u",
			   P11A_MAX_BATCH);
	for (i = 0; i < count; i++) {
		if (buf_get_string_direct(&items, P11A_MAX_FRAME, &item, &item_len) != P11A_OK)
			return err(r, P11A_ERR_BAD_REQUEST, "items: item %u of %u is truncated",
				   i + 1, count);
	}
	if (buf_avail(&items) != 0)
		return err(r, P11A_ERR_BAD_REQUEST, "items: trailing bytes after item %u", count);

	if ((rc = buf_put_u32(r->scratch, count)) != P11A_OK)
		return rc;
	buf_view(&items, r->in->f[3].p, r->in->f[3].len);
	(void)buf_get_u32(&items, &count);
	for (i = 0; i < count; i++) {
		(void)buf_get_string_direct(&items, P11A_MAX_FRAME, &item, &item_len);
		rc = token_sign(r->tok, key, alg, flags, item, item_len, &sig, &sig_len, r->msg,
				MSG_LEN);
		if (rc != P11A_OK) {
			char why[MSG_LEN];

			snprintf(why, sizeof(why), "%s", r->msg);
			return err(r, rc, "item %u of %u: %s", i + 1, count, why);
		}
		rc = buf_put_string(r->scratch, sig, sig_len);
		free(sig);
		sig = NULL;
		if (rc == P11A_ERR_TOO_LARGE)
			return err(r, rc, "the signatures would exceed the 1 MiB frame limit");
		if (rc != P11A_OK)
			return rc;
	}
	r->out->n = 1;
	r->out->f[0] = proto_rest(buf_data(r->scratch), buf_len(r->scratch));
	return P11A_OK;
}

static int handle_verify_hmac(struct req *r)
{
	const struct token_key *key;
	p11a_alg alg;
	int valid = 0, rc;

	r->data = &r->in->f[2];
	if ((rc = use_key(r, 1, P11A_OP_VERIFY, &key, &alg)) != P11A_OK)
		return rc;
	rc = token_verify_hmac(r->tok, key, alg, r->in->f[2].p, r->in->f[2].len, r->in->f[3].p,
			       r->in->f[3].len, &valid, r->msg, MSG_LEN);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32(valid ? 1 : 0);
	return P11A_OK;
}

/* Hands a secret result to the reply; it is wiped after the reply is sent. */
static void reply_secret(struct req *r, struct secret *s)
{
	r->secret = s;
	r->out->n = 1;
	r->out->f[0] = proto_str(s->p, s->len);
}

static int handle_decrypt(struct req *r)
{
	const struct token_key *key;
	struct secret *plain = NULL;
	p11a_alg alg;
	int rc;

	r->data = &r->in->f[3];
	if ((rc = use_key(r, 1, P11A_OP_DECRYPT, &key, &alg)) != P11A_OK)
		return rc;
	if (alg == P11A_ALG_RSA_PKCS1 && r->in->f[2].len > 0)
		return err(r, P11A_ERR_BAD_INPUT, "label: rsa-pkcs1 takes no label");
	rc = token_decrypt(r->tok, key, alg, r->in->f[2].p, r->in->f[2].len, r->in->f[3].p,
			   r->in->f[3].len, &plain, r->msg, MSG_LEN);
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

	r->data = &r->in->f[4];
	if ((rc = use_key(r, 1, P11A_OP_UNWRAP, &key, &alg)) != P11A_OK)
		return rc;
	rc = token_unwrap(r->tok, key, alg, r->in->f[3].p, r->in->f[3].len, r->in->f[2].u32,
			  r->in->f[4].p, r->in->f[4].len, &sk, r->msg, MSG_LEN);
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

	r->data = &r->in->f[2];
	if ((rc = use_key(r, 1, P11A_OP_DERIVE, &key, &alg)) != P11A_OK)
		return rc;
	rc = token_derive(r->tok, key, alg, r->in->f[2].p, r->in->f[2].len, &z, r->msg, MSG_LEN);
	if (rc != P11A_OK)
		return rc;
	reply_secret(r, z);
	return P11A_OK;
}

/*
 * Checks of the trail add one record per connection: the first audit-verify
 * or audit-head; a later one only when it does not succeed (an invalid MAC,
 * an error), so that a check of the whole trail adds one record, not one per
 * record checked, and a failed check is never hidden.
 */
static void record_once(struct req *r, int ok)
{
	if (ok && r->peer->audit_checked)
		r->unrecorded = 1;
	r->peer->audit_checked = 1;
}

/* The audit key, for a peer the policy lets check the trail. */
static int audit_checker(struct req *r, const struct token_key **out_key)
{
	const struct token_key *key;
	int rc;

	if ((key = audit_key(r->ctx->audit)) == NULL)
		return err(r, P11A_ERR_NOT_SUPPORTED,
			   "this agent's audit chain is not keyed (no audit-key)");
	r->key = key;
	r->alg = P11A_ALG_HMAC_SHA256;
	if ((rc = policy_check(r->ctx->policy, r->peer, key, P11A_OP_VERIFY, r->alg, r->msg,
			       MSG_LEN)) != P11A_OK)
		return rc;
	*out_key = key;
	return P11A_OK;
}

/*
 * Confirms or denies one MAC of the keyed audit chain, in the token: the
 * agent never hands out a MAC of the audit key (that would let a client
 * rebuild the chain).
 */
static int handle_audit_verify(struct req *r)
{
	const struct token_key *key;
	int valid = 0, rc;

	r->data = &r->in->f[1];
	if ((rc = audit_checker(r, &key)) != P11A_OK)
		return rc;
	r->allowed = 1;
	rc = audit_check(r->ctx->audit, key, r->in->f[0].p, r->in->f[0].len, r->in->f[1].p,
			 r->in->f[1].len, r->in->f[2].p, r->in->f[2].len, &valid, r->msg, MSG_LEN);
	record_once(r, rc == P11A_OK && valid);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 1;
	r->out->f[0] = proto_u32(valid ? 1 : 0);
	return P11A_OK;
}

/* The chain's head as the token holds it: seq (two u32, high first) and MAC. */
static int handle_audit_head(struct req *r)
{
	const struct token_key *key;
	uint64_t seq = 0;
	int rc;

	if ((rc = audit_checker(r, &key)) != P11A_OK)
		return rc;
	if ((r->owned = malloc(P11A_AUDIT_MAC_LEN)) == NULL)
		return err(r, P11A_ERR_INTERNAL, "out of memory");
	r->owned_len = P11A_AUDIT_MAC_LEN;
	rc = audit_head(r->ctx->audit, &seq, r->owned, r->msg, MSG_LEN);
	record_once(r, rc == P11A_OK);
	if (rc != P11A_OK)
		return rc;
	r->out->n = 3;
	r->out->f[0] = proto_u32((uint32_t)(seq >> 32));
	r->out->f[1] = proto_u32((uint32_t)seq);
	r->out->f[2] = proto_str(r->owned, r->owned_len);
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
};

static const struct handler *handler_for(uint8_t op)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].op == op)
			return &handlers[i];
	return NULL;
}

/* Runs the request's handler; returns its status, the message in r->msg. */
static int run(struct req *r, const uint8_t *body, size_t body_len, struct proto_msg *in)
{
	const struct handler *h;
	const struct proto_op_info *info;
	const char *what = "";
	int rc;

	rc = proto_decode_request(body, body_len, in, &what);
	info = proto_op_info(in->op);
	if (rc == P11A_ERR_UNKNOWN_OP)
		return err(r, rc, "unknown opcode %u", in->op);
	if (rc != P11A_OK)
		return err(r, rc, "malformed %s request: %s", info ? info->name : "", what);
	if (!r->peer->greeted && in->op != PROTO_OP_HELLO)
		return err(r, P11A_ERR_VERSION, "the first request must be hello");
	if ((h = handler_for(in->op)) == NULL)
		return err(r, P11A_ERR_UNKNOWN_OP, "opcode %u is not served", in->op);
	if ((h->flags & NEEDS_TOKEN) && r->tok == NULL)
		return err(r, P11A_ERR_TOKEN_UNAVAILABLE, "the token is not available");
	return h->fn(r);
}

/*
 * Records the request in the audit trail; P11A_OK or P11A_ERR_INTERNAL. A
 * request refused before any key was used may be counted instead, beyond
 * max-denied-per-uid a second (ratelimit.h): r->suppressed is then set.
 */
static int audit(struct req *r, const struct proto_msg *in, int status, uint64_t start_us)
{
	const struct proto_op_info *info = proto_op_info(in->op);
	const struct p11a_alg_info *ai = p11a_alg_by_id(r->alg);
	char ref[PROTO_MAX_KEYREF + 1] = "";
	struct audit_record rec = {
	    .peer = r->peer,
	    .op = info != NULL ? info->name : "unknown",
	    .key = r->key,
	    .alg = ai != NULL ? ai->name : NULL,
	    .status = status,
	};

	if (r->ctx->audit == NULL || in->op == PROTO_OP_HELLO || in->op == PROTO_OP_PING ||
	    r->unrecorded)
		return P11A_OK;
	/* Requests that use no key (refusals, LIST): a flood of them is counted. */
	if (!r->allowed &&
	    !ratelimit_record(r->ctx->ratelimit, r->peer->uid, busypoll_now_us() / 1000)) {
		r->suppressed = 1;
		return P11A_OK;
	}
	if (info != NULL && in->n > 0 && in->f[0].type == 'k') {
		memcpy(ref, in->f[0].p, in->f[0].len);
		ref[in->f[0].len] = '\0';
		/* A URI's query part may carry a pin-value: it never reaches the trail. */
		ref[strcspn(ref, "?")] = '\0';
		/* Nor one put in its path, where p11-kit does not look for it. */
		rec.key_ref = token_ref_shown(ref);
	}
	if (r->data != NULL) {
		rec.input_len = r->data->len;
		rec.has_input_hash = 1;
		SHA256(r->data->p, r->data->len, rec.input_sha256);
	}
	rec.latency_us = (uint64_t)busypoll_now_us() - start_us;
	return audit_write(r->ctx->audit, &rec);
}

int handlers_dispatch(struct agent_ctx *ctx, struct caller *peer, const uint8_t *body,
		      size_t body_len, struct buf *out)
{
	struct proto_msg in, rep;
	struct req r;
	char msg[MSG_LEN] = "";
	uint64_t start = (uint64_t)busypoll_now_us();
	static struct agent_ctx none;
	int rc, ret = -1;

	if (ctx == NULL)
		ctx = &none;
	memset(&r, 0, sizeof(r));
	memset(&rep, 0, sizeof(rep));
	r.ctx = ctx;
	r.tok = ctx->tok;
	r.peer = peer;
	r.in = &in;
	r.out = &rep;
	r.msg = msg;
	if ((r.scratch = buf_new(0)) == NULL)
		return -1;
	rc = run(&r, body, body_len, &in);
	if (body_len < PROTO_MIN_BODY)
		goto out; /* no request id to answer to */
	/* Only wire codes go on the wire; local ones (NOMEM...) are the agent's failure. */
	if (rc >= 64)
		rc = err(&r, P11A_ERR_INTERNAL, "internal error: %s", p11a_strerror(rc));
	/* In the trail before the client can see the result. */
	if (audit(&r, &in, rc, start) != P11A_OK && rc == P11A_OK) {
		/* A failed request keeps its own error; a success without a record is refused. */
		log_error("audit record not written: request refused");
		secret_free(r.secret);
		r.secret = NULL;
		rc = err(&r, P11A_ERR_INTERNAL, "the audit trail cannot be written");
	}
	if (r.suppressed) {
		/* A flood of refusals: slow it down, this connection only. */
		struct timespec pause = {.tv_sec = 0, .tv_nsec = RATELIMIT_DELAY_MS * 1000000L};

		nanosleep(&pause, NULL);
	}
	rep.op = in.op;
	rep.id = in.id;
	rep.status = (uint32_t)rc;
	if (rc != P11A_OK) {
		rep.n = 1;
		rep.f[0] = proto_cstr(msg);
	}
	if (proto_encode_reply(out, &rep) != P11A_OK) {
		/* A success reply that does not fit a frame becomes an error reply. */
		if (rc != P11A_OK)
			goto out;
		rc = err(&r, P11A_ERR_TOO_LARGE, "the reply would exceed the 1 MiB frame limit");
		rep.status = (uint32_t)rc;
		rep.n = 1;
		rep.f[0] = proto_cstr(msg);
		if (proto_encode_reply(out, &rep) != P11A_OK)
			goto out;
	}
	ret = 0;
out:
	if (rc != P11A_OK)
		log_debug("request op %u from uid %d pid %d: %s: %s", in.op, peer->uid, peer->pid,
			  p11a_errname(rc), msg);
	free(r.owned);
	secret_free(r.secret);
	buf_free(r.scratch);
	return ret;
}
