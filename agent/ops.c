/*
 * ops: find the key, ask the policy, call the token, record the request:
 * once, for every front.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "audit.h"
#include "busypoll.h"
#include "keyindex.h"
#include "log.h"
#include "metrics.h"
#include "ops.h"
#include "policy.h"
#include "ratelimit.h"

void ops_view_enter(struct agent_ctx *ctx)
{
	if (ctx != NULL && ctx->view != NULL)
		pthread_rwlock_rdlock(ctx->view);
}

void ops_view_leave(struct agent_ctx *ctx)
{
	if (ctx != NULL && ctx->view != NULL)
		pthread_rwlock_unlock(ctx->view);
}

void ops_begin(struct ops_call *c, struct agent_ctx *ctx, struct caller *caller, const char *op,
	       const struct purpose *purpose)
{
	static struct agent_ctx none;

	memset(c, 0, sizeof(*c));
	c->ctx = ctx != NULL ? ctx : &none;
	c->caller = caller;
	c->op = op;
	c->purpose = purpose;
	c->start_us = (uint64_t)busypoll_now_us();
}

int ops_fail(struct ops_call *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ops_unrecorded(struct ops_call *c)
{
	c->unrecorded = 1;
}

int ops_need_token(struct ops_call *c)
{
	if (c->ctx->tok == NULL)
		return ops_fail(c, P11A_ERR_TOKEN_UNAVAILABLE, "the token is not available");
	return P11A_OK;
}

/*
 * Is key one of the audit trail's (the key of the chain, the checkpoints'
 * signing key)? Nobody may MAC or sign with them directly.
 */
static int is_audit_key(const struct ops_call *c, const struct token_key *key)
{
	return audit_key(c->ctx->audit) == key || audit_sign_key(c->ctx->audit) == key;
}

/* Does the caller see key, on the call's front? */
static int sees(const struct ops_call *c, const struct token_key *key)
{
	if (!policy_visible(c->ctx->policy, c->caller, key))
		return 0;
	if (c->purpose == NULL)
		return 1;
	/* A front with a purpose signs only: offered are the keys the caller may sign with. */
	return (key->ops & P11A_OP_SIGN) && !is_audit_key(c, key) &&
	       policy_offered(c->ctx->policy, c->caller, key, c->purpose);
}

const struct token_key *ops_next_key(struct ops_call *c, size_t *i)
{
	size_t n = c->ctx->tok != NULL ? token_key_count(c->ctx->tok) : 0;

	while (*i < n) {
		const struct token_key *key = token_key_at(c->ctx->tok, (*i)++);

		if (sees(c, key))
			return key;
	}
	return NULL;
}

const struct token_key *ops_next_any_key(struct ops_call *c, size_t *i)
{
	if (c->ctx->tok == NULL || *i >= token_key_count(c->ctx->tok))
		return NULL;
	return token_key_at(c->ctx->tok, (*i)++);
}

int ops_sees(struct ops_call *c, const struct token_key *key)
{
	return sees(c, key);
}

void ops_note_key(struct ops_call *c, const struct token_key *key)
{
	c->key = key;
}

/* token_key_filter: the keys the caller of the request may know exist. */
static int filter_sees(void *arg, const struct token_key *key)
{
	return sees(arg, key);
}

void ops_note_ref(struct ops_call *c, const char *ref)
{
	char shown[sizeof(c->key_ref)];

	snprintf(shown, sizeof(shown), "%s", ref);
	/* A URI's query part may carry a pin-value: it never reaches the trail. */
	shown[strcspn(shown, "?")] = '\0';
	/* Nor one put in its path, where p11-kit does not look for it. */
	snprintf(c->key_ref, sizeof(c->key_ref), "%s", token_ref_shown(shown));
}

/*
 * Resolves ref as the caller sees the keys. A key it may not see does not
 * exist for it: NO_SUCH_KEY, and left out of an ambiguity's list. The audit
 * trail still names the one key such a reference meant (c->key).
 */
static int find_key(struct ops_call *c, const char *ref, const struct token_key **out_key)
{
	const struct token_key_filter filter = {filter_sees, c};
	const struct token_key *hidden;
	char why[OPS_MSG_LEN];
	int rc;

	ops_note_ref(c, ref);
	if ((rc = ops_need_token(c)) != P11A_OK)
		return rc;
	rc = token_find_key_for(c->ctx->tok, &filter, ref, out_key, c->msg, sizeof(c->msg));
	if (rc == P11A_ERR_NO_SUCH_KEY &&
	    token_find_key(c->ctx->tok, ref, &hidden, why, sizeof(why)) == P11A_OK)
		c->key = hidden;
	return rc;
}

int ops_find_key(struct ops_call *c, const char *ref, const struct token_key **out_key)
{
	const struct token_key *key;
	int rc;

	if ((rc = find_key(c, ref, &key)) != P11A_OK)
		return rc;
	c->key = key;
	c->allowed = 1;
	*out_key = key;
	return P11A_OK;
}

size_t ops_key_algs(struct ops_call *c, const struct token_key *key, p11a_alg *algs, p11a_alg *sw,
		    size_t *n_sw, size_t max)
{
	size_t n = token_key_algs(c->ctx->tok, key, algs, max);

	*n_sw = 0;
	for (size_t i = 0; i < n; i++)
		if (token_alg_in_software(c->ctx->tok, key, algs[i]))
			sw[(*n_sw)++] = algs[i];
	return n;
}

p11a_alg ops_default_alg(const struct token_key *key, uint32_t op)
{
	return op == 0 ? token_key_default_alg(key) : token_key_default_alg_for(key, op);
}

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
 * The algorithm for op: alg, or the key's default for op when none. An
 * algorithm of another operation is refused here.
 */
static int pick_alg(struct ops_call *c, const struct token_key *key, uint32_t op, p11a_alg alg,
		    p11a_alg *out_alg)
{
	const struct p11a_alg_info *ai;

	/* Verifying an HMAC takes the signing algorithms. */
	if (op == P11A_OP_VERIFY)
		op = P11A_OP_SIGN;
	if (alg == P11A_ALG_NONE) {
		if ((alg = token_key_default_alg_for(key, op)) == P11A_ALG_NONE)
			return ops_fail(
			    c, P11A_ERR_NOT_SUPPORTED, "key '%s' (%s) has no algorithm for %s",
			    token_key_name(key), p11a_key_type_name(key->type), op_name(op));
	} else if ((ai = p11a_alg_by_id(alg)) == NULL) {
		return ops_fail(c, P11A_ERR_BAD_INPUT, "alg: unknown algorithm number %u",
				(unsigned)alg);
	} else if (!(ai->ops & op)) {
		return ops_fail(c, P11A_ERR_NOT_SUPPORTED, "alg: %s is not an algorithm for %s",
				ai->name, op_name(op));
	}
	*out_alg = alg;
	return P11A_OK;
}

/* A reference that names a key without a version: not a URI, an id or NAME@N. */
static int bare_name(const char *ref)
{
	size_t base;

	if (strncmp(ref, "pkcs11:", 7) == 0 || strncmp(ref, "id:", 3) == 0)
		return 0;
	(void)keyindex_split_version(ref, &base);
	return base == strlen(ref);
}

int ops_use_key(struct ops_call *c, const char *ref, const struct token_key *key, uint32_t op,
		p11a_alg alg, const struct token_key **out_key, p11a_alg *out_alg)
{
	int rc;

	if (ref != NULL && (rc = find_key(c, ref, &key)) != P11A_OK)
		return rc;
	if (key == NULL)
		return ops_fail(c, P11A_ERR_INTERNAL, "no key");
	c->key = key;
	c->by_family = ref != NULL && bare_name(ref);
	if ((rc = pick_alg(c, key, op, alg, &alg)) != P11A_OK)
		return rc;
	c->alg = alg;
	if ((rc = policy_check(c->ctx->policy, c->caller, key, op, alg, c->purpose, c->msg,
			       sizeof(c->msg))) != P11A_OK)
		return rc;
	if (is_audit_key(c, key))
		return ops_fail(c, P11A_ERR_DENIED,
				"key '%s' keys the audit trail: it serves audit-verify only",
				token_key_name(key));
	c->allowed = 1;
	*out_key = key;
	*out_alg = alg;
	return P11A_OK;
}

/*
 * The next older version of key that the call may use instead, for an
 * input that did not decrypt, unwrap or verify under key: a reference
 * without a version accepts any version down to min-version. NULL when
 * there is none.
 */
static const struct token_key *older_version(struct ops_call *c, const struct token_key *key,
					     uint32_t op)
{
	const struct token_key *best = NULL, *k;
	char why[OPS_MSG_LEN];
	size_t n, i;

	if (!c->by_family || c->ctx->tok == NULL)
		return NULL;
	n = token_key_count(c->ctx->tok);
	for (i = 0; i < n; i++) {
		k = token_key_at(c->ctx->tok, i);
		if (k == key || k->version >= key->version || k->version < k->min_version ||
		    k->type != key->type || strcmp(keyindex_family(k), keyindex_family(key)) != 0 ||
		    (best != NULL && k->version <= best->version))
			continue;
		if (!sees(c, k) || is_audit_key(c, k) ||
		    policy_check(c->ctx->policy, c->caller, k, op, c->alg, c->purpose, why,
				 sizeof(why)) != P11A_OK)
			continue;
		best = k;
	}
	if (best != NULL) {
		c->key = best;
		log_debug("uid %d: %s with version %u of '%s' failed: trying version %u",
			  c->caller->uid, op_name(op), key->version, token_key_name(key),
			  best->version);
	}
	return best;
}

/*
 * When every version fails, the request fails as the first one did (its
 * message, its key in the trail), not as the oldest.
 */
struct failure {
	const struct token_key *key;
	char msg[OPS_MSG_LEN];
};

static void first_failure(struct ops_call *c, int rc, struct failure *f)
{
	f->key = c->key;
	if (rc != P11A_OK)
		memcpy(f->msg, c->msg, sizeof(f->msg));
}

static int last_failure(struct ops_call *c, int rc, const struct failure *f)
{
	if (rc != P11A_ERR_BAD_INPUT)
		return rc;
	if (c->key != f->key) {
		c->key = f->key;
		memcpy(c->msg, f->msg, sizeof(c->msg));
	}
	/*
	 * Retired versions are never tried, not even to tell why: that would
	 * make them an oracle. The hint depends on the config alone.
	 */
	if (c->by_family && f->key != NULL && f->key->min_version > 1) {
		size_t n = strlen(c->msg);

		snprintf(c->msg + n, sizeof(c->msg) - n,
			 " (versions of '%s' below its min-version %u are retired and were not "
			 "tried)",
			 token_key_name(f->key), f->key->min_version);
	}
	return rc;
}

/* Every token call below is on the key and algorithm ops_use_key() allowed. */
static int allowed(struct ops_call *c, const struct token_key *key, p11a_alg alg)
{
	if (!c->allowed || key != c->key || alg != c->alg)
		return ops_fail(c, P11A_ERR_INTERNAL, "internal error: key not checked");
	return P11A_OK;
}

void ops_set_data(struct ops_call *c, const uint8_t *data, size_t len)
{
	c->data = data;
	c->data_len = len;
	c->has_data = 1;
}

int ops_sign(struct ops_call *c, const struct token_key *key, p11a_alg alg, uint32_t flags,
	     const uint8_t *in, size_t in_len, uint8_t **out_sig, size_t *out_len)
{
	int rc;

	if (!c->has_data)
		ops_set_data(c, in, in_len);
	if ((rc = allowed(c, key, alg)) != P11A_OK)
		return rc;
	return token_sign(c->ctx->tok, key, alg, flags, in, in_len, out_sig, out_len, c->msg,
			  sizeof(c->msg));
}

int ops_verify_hmac(struct ops_call *c, const struct token_key *key, p11a_alg alg,
		    const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
		    int *out_valid)
{
	int rc;

	ops_set_data(c, in, in_len);
	if ((rc = allowed(c, key, alg)) != P11A_OK)
		return rc;
	rc = token_verify_hmac(c->ctx->tok, key, alg, in, in_len, mac, mac_len, out_valid, c->msg,
			       sizeof(c->msg));
	while (rc == P11A_OK && !*out_valid &&
	       (key = older_version(c, key, P11A_OP_VERIFY)) != NULL)
		rc = token_verify_hmac(c->ctx->tok, key, alg, in, in_len, mac, mac_len, out_valid,
				       c->msg, sizeof(c->msg));
	return rc;
}

int ops_decrypt(struct ops_call *c, const struct token_key *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, const uint8_t *in, size_t in_len, struct secret **out_plain)
{
	struct failure f;
	int rc;

	ops_set_data(c, in, in_len);
	if ((rc = allowed(c, key, alg)) != P11A_OK)
		return rc;
	if (alg == P11A_ALG_RSA_PKCS1 && label_len > 0)
		return ops_fail(c, P11A_ERR_BAD_INPUT, "label: rsa-pkcs1 takes no label");
	rc = token_decrypt(c->ctx->tok, key, alg, label, label_len, in, in_len, out_plain, c->msg,
			   sizeof(c->msg));
	/* Every failure of the decryption is this one code: an older version may fit. */
	for (first_failure(c, rc, &f);
	     rc == P11A_ERR_BAD_INPUT && (key = older_version(c, key, P11A_OP_DECRYPT)) != NULL;)
		rc = token_decrypt(c->ctx->tok, key, alg, label, label_len, in, in_len, out_plain,
				   c->msg, sizeof(c->msg));
	return last_failure(c, rc, &f);
}

int ops_unwrap(struct ops_call *c, const struct token_key *key, p11a_alg alg, const uint8_t *label,
	       size_t label_len, size_t key_len, const uint8_t *in, size_t in_len,
	       struct secret **out_key)
{
	struct failure f;
	int rc;

	ops_set_data(c, in, in_len);
	if ((rc = allowed(c, key, alg)) != P11A_OK)
		return rc;
	rc = token_unwrap(c->ctx->tok, key, alg, label, label_len, key_len, in, in_len, out_key,
			  c->msg, sizeof(c->msg));
	for (first_failure(c, rc, &f);
	     rc == P11A_ERR_BAD_INPUT && (key = older_version(c, key, P11A_OP_UNWRAP)) != NULL;)
		rc = token_unwrap(c->ctx->tok, key, alg, label, label_len, key_len, in, in_len,
				  out_key, c->msg, sizeof(c->msg));
	return last_failure(c, rc, &f);
}

int ops_derive(struct ops_call *c, const struct token_key *key, p11a_alg alg,
	       const uint8_t *peer_spki, size_t peer_len, struct secret **out_z)
{
	int rc;

	ops_set_data(c, peer_spki, peer_len);
	if ((rc = allowed(c, key, alg)) != P11A_OK)
		return rc;
	return token_derive(c->ctx->tok, key, alg, peer_spki, peer_len, out_z, c->msg,
			    sizeof(c->msg));
}

/*
 * Checks of the trail add one record per connection: the first audit-verify
 * or audit-head; a later one only when it does not succeed (an invalid MAC,
 * an error), so that a check of the whole trail adds one record, not one per
 * record checked, and a failed check is never hidden.
 */
static void record_once(struct ops_call *c, int ok)
{
	if (ok && c->caller->audit_checked)
		c->unrecorded = 1;
	c->caller->audit_checked = 1;
}

/* The audit key, for a caller the policy lets check the trail. */
static int audit_checker(struct ops_call *c, const struct token_key **out_key)
{
	const struct token_key *key;
	int rc;

	if ((rc = ops_need_token(c)) != P11A_OK)
		return rc;
	if ((key = audit_key(c->ctx->audit)) == NULL)
		return ops_fail(c, P11A_ERR_NOT_SUPPORTED,
				"this agent's audit chain is not keyed (no audit-key)");
	c->key = key;
	c->alg = P11A_ALG_HMAC_SHA256;
	if ((rc = policy_check(c->ctx->policy, c->caller, key, P11A_OP_VERIFY, c->alg, NULL, c->msg,
			       sizeof(c->msg))) != P11A_OK)
		return rc;
	*out_key = key;
	return P11A_OK;
}

/*
 * Confirms or denies one MAC of the keyed audit chain, in the token: the
 * agent never hands out a MAC of the audit key (that would let a client
 * rebuild the chain).
 */
int ops_audit_verify(struct ops_call *c, const uint8_t *prev, size_t prev_len,
		     const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		     int *out_valid)
{
	const struct token_key *key;
	int rc;

	ops_set_data(c, record, record_len);
	if ((rc = audit_checker(c, &key)) != P11A_OK)
		return rc;
	c->allowed = 1;
	rc = audit_check(c->ctx->audit, key, prev, prev_len, record, record_len, mac, mac_len,
			 out_valid, c->msg, sizeof(c->msg));
	record_once(c, rc == P11A_OK && *out_valid);
	return rc;
}

int ops_audit_head(struct ops_call *c, uint64_t *out_seq, uint8_t out_mac[32])
{
	const struct token_key *key;
	int rc;

	if ((rc = audit_checker(c, &key)) != P11A_OK)
		return rc;
	rc = audit_head(c->ctx->audit, out_seq, out_mac, c->msg, sizeof(c->msg));
	record_once(c, rc == P11A_OK);
	return rc;
}

/* Records the request in the audit trail: ops_finish() without the counting. */
static int record(struct ops_call *c, int status)
{
	const struct p11a_alg_info *ai = p11a_alg_by_id(c->alg);
	struct audit_record rec = {
	    .peer = c->caller,
	    .op = c->op,
	    .key = c->key,
	    .key_ref = c->key_ref[0] != '\0' ? c->key_ref : NULL,
	    .alg = ai != NULL ? ai->name : NULL,
	    .status = status,
	    .purpose = c->purpose,
	};

	if (c->ctx->audit == NULL || c->unrecorded)
		return status;
	/* Requests that use no key (refusals, list): a flood of them is counted. */
	if (!c->allowed &&
	    !ratelimit_record(c->ctx->ratelimit, c->caller->uid, busypoll_now_us() / 1000)) {
		/*
		 * A flood of refusals: slow it down, this connection only. The
		 * event loop holds its replies back; no worker waits.
		 */
		atomic_fetch_add(&c->caller->owed_delay_ms, RATELIMIT_DELAY_MS);
		return status;
	}
	if (c->has_data) {
		rec.input_len = c->data_len;
		rec.has_input_hash = 1;
		SHA256(c->data, c->data_len, rec.input_sha256);
	}
	rec.latency_us = (uint64_t)busypoll_now_us() - c->start_us;
	if (audit_write(c->ctx->audit, &rec) == P11A_OK || status != P11A_OK)
		return status; /* a failed request keeps its own error */
	/* A success without a record is refused. */
	log_error("audit record not written: request refused");
	return ops_fail(c, P11A_ERR_INTERNAL, "the audit trail cannot be written");
}

int ops_finish(struct ops_call *c, int status)
{
	int rc = record(c, status);

	/* Counted as answered: with the status the client sees. */
	metrics_record(c->ctx->metrics, c->key, c->op, rc,
		       (uint64_t)busypoll_now_us() - c->start_us);
	return rc;
}
