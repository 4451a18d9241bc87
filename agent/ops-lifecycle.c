/*
 * ops-lifecycle: the key lifecycle requests (ops.h): make, rotate, list
 * the versions of, trim, rewrap for and certify keys in the token, and
 * reload. Admins only (policy_admin), every front alike.
 *
 * Each change runs within reload_change_begin()/end(): one at a time, the
 * token works while other requests go on, and the index is made again
 * under the view's write hold (reload_index), so requests see the keys
 * before or after, never half.
 *
 * Admins manage every key of the token: the lifecycle finds keys without
 * the allow-users filter that hides keys from the users of LIST.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyindex.h"
#include "log.h"
#include "ops.h"
#include "policy.h"
#include "reload.h"

/* Admin or DENIED; the caller's request is then allowed as far as the rate limit goes. */
static int admin(struct ops_call *c)
{
	int rc;

	if ((rc = ops_need_token(c)) != P11A_OK)
		return rc;
	if ((rc = policy_admin(c->ctx->policy, c->caller, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	c->allowed = 1;
	return P11A_OK;
}

/*
 * Starts a change (reload_change_begin()) for an admin. The check comes
 * twice: first so that a refusal never waits, then again once the change
 * is this request's, since a reload while it waited may have taken the
 * caller off admin-users.
 */
static int change_begin(struct ops_call *c)
{
	int rc;

	if ((rc = admin(c)) != P11A_OK)
		return rc;
	reload_change_begin(c->ctx);
	if ((rc = admin(c)) != P11A_OK)
		reload_change_end(c->ctx);
	return rc;
}

/* The key ref names, among all the token's keys (admins see every key). */
static int find_any(struct ops_call *c, const char *ref, const struct token_key **out_key)
{
	int rc;

	ops_note_ref(c, ref);
	rc = token_find_key(c->ctx->tok, ref, out_key, c->msg, sizeof(c->msg));
	if (rc == P11A_OK)
		c->key = *out_key;
	return rc;
}

static int same_family(const struct token_key *a, const struct token_key *b)
{
	return a->klass == b->klass && strcmp(keyindex_family(a), keyindex_family(b)) == 0;
}

/* The newest version of key's family in the index (key itself at worst). */
static const struct token_key *newest_of(struct ops_call *c, const struct token_key *key)
{
	const struct token_key *best = key;
	size_t n = token_key_count(c->ctx->tok);

	for (size_t i = 0; i < n; i++) {
		const struct token_key *k = token_key_at(c->ctx->tok, i);

		if (same_family(k, key) && k->version > best->version)
			best = k;
	}
	return best;
}

/* The private or secret key with CKA_ID id, or NULL. */
static const struct token_key *by_id(struct ops_call *c, const uint8_t id[16])
{
	size_t n = token_key_count(c->ctx->tok);

	for (size_t i = 0; i < n; i++) {
		const struct token_key *k = token_key_at(c->ctx->tok, i);

		if (k->id_len == 16 && memcmp(k->id, id, 16) == 0)
			return k;
	}
	return NULL;
}

/* 1..CONF_MAX_KEY_NAME of A-Za-z0-9._- */
static int good_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CONF_MAX_KEY_NAME)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       n;
}

/* A key that name would clash with: its label, family or config name, or NULL. */
static const struct token_key *name_in_use(struct ops_call *c, const char *name)
{
	size_t n = token_key_count(c->ctx->tok);

	for (size_t i = 0; i < n; i++) {
		const struct token_key *k = token_key_at(c->ctx->tok, i);

		if (strcmp(k->label, name) == 0 || strcmp(keyindex_family(k), name) == 0 ||
		    (k->name != NULL && strcmp(k->name, name) == 0))
			return k;
	}
	return NULL;
}

/* Makes a key labelled label of spec, indexes it and gives it in *out_key. */
static int make_key(struct ops_call *c, const struct token_keyspec *spec, const char *label,
		    const struct token_key **out_key)
{
	uint8_t id[16];
	int rc;

	if ((rc = token_generate(c->ctx->tok, spec, label, id, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	if ((rc = reload_index(c->ctx, 1, NULL, NULL, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	if ((*out_key = by_id(c, id)) == NULL)
		return ops_fail(c, P11A_ERR_TOKEN,
				"key '%s' was made, but the token does not show it when searched",
				label);
	c->key = *out_key;
	log_info("uid %d made key '%s' (%s, %u bits): %s", c->caller->uid, label,
		 p11a_key_type_name(spec->type), (unsigned)spec->bits, (*out_key)->uri);
	return P11A_OK;
}

static int keygen(struct ops_call *c, const char *name, const char *type, uint32_t ops,
		  const struct token_key **out_key)
{
	struct token_keyspec spec;
	const struct token_key *k;
	int rc;

	if (!good_name(name))
		return ops_fail(c, P11A_ERR_BAD_INPUT,
				"key name '%s': expected 1 to %u of A-Z a-z 0-9 . _ -",
				token_ref_shown(name), CONF_MAX_KEY_NAME);
	if ((rc = token_keyspec_parse(type, ops, &spec, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	/* Keys another tool made since the last index count too. */
	if ((rc = reload_index(c->ctx, 1, NULL, NULL, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	if ((k = name_in_use(c, name)) != NULL)
		return ops_fail(c, P11A_ERR_BAD_INPUT, "key name '%s' is in use: %s", name, k->uri);
	return make_key(c, &spec, name, out_key);
}

int ops_keygen(struct ops_call *c, const char *name, const char *type, uint32_t ops,
	       const struct token_key **out_key)
{
	int rc;

	ops_note_ref(c, name);
	if ((rc = change_begin(c)) != P11A_OK)
		return rc;
	rc = keygen(c, name, type, ops, out_key);
	reload_change_end(c->ctx);
	return rc;
}

static int rotate(struct ops_call *c, const char *ref, const struct token_key **out_key)
{
	const struct token_key *key, *newest;
	struct token_keyspec spec;
	char label[CONF_MAX_KEY_NAME + 16];
	int rc;

	/* Versions another tool made or removed since the last index count too. */
	if ((rc = reload_index(c->ctx, 1, NULL, NULL, c->msg, sizeof(c->msg))) != P11A_OK ||
	    (rc = find_any(c, ref, &key)) != P11A_OK)
		return rc;
	newest = newest_of(c, key);
	if (newest->version >= CONF_MAX_VERSION)
		return ops_fail(c, P11A_ERR_BAD_INPUT, "key '%s' is at its last version %u",
				token_key_name(newest), newest->version);
	if (strlen(keyindex_family(newest)) > CONF_MAX_KEY_NAME)
		return ops_fail(c, P11A_ERR_BAD_INPUT,
				"key '%s': its label is longer than %u characters",
				token_key_name(newest), CONF_MAX_KEY_NAME);
	snprintf(label, sizeof(label), "%s@%u", keyindex_family(newest), newest->version + 1);
	token_keyspec_of(newest, &spec);
	return make_key(c, &spec, label, out_key);
}

int ops_rotate(struct ops_call *c, const char *ref, const struct token_key **out_key)
{
	int rc;

	ops_note_ref(c, ref);
	if ((rc = change_begin(c)) != P11A_OK)
		return rc;
	rc = rotate(c, ref, out_key);
	reload_change_end(c->ctx);
	return rc;
}

static int by_version(const void *a, const void *b)
{
	const struct token_key *x = *(const struct token_key *const *)a;
	const struct token_key *y = *(const struct token_key *const *)b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/* The versions of key's family, oldest first; at most max. */
static size_t family_of(struct ops_call *c, const struct token_key *key,
			const struct token_key **out, size_t max)
{
	size_t n = token_key_count(c->ctx->tok), m = 0;

	for (size_t i = 0; i < n && m < max; i++) {
		const struct token_key *k = token_key_at(c->ctx->tok, i);

		if (same_family(k, key))
			out[m++] = k;
	}
	qsort(out, m, sizeof(*out), by_version);
	return m;
}

int ops_versions(struct ops_call *c, const char *ref, const struct token_key ***out, size_t *out_n)
{
	const struct token_key *key, **keys;
	size_t n;
	int rc;

	ops_note_ref(c, ref);
	if ((rc = admin(c)) != P11A_OK || (rc = find_any(c, ref, &key)) != P11A_OK)
		return rc;
	n = token_key_count(c->ctx->tok);
	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL)
		return ops_fail(c, P11A_ERR_INTERNAL, "out of memory");
	*out_n = family_of(c, key, keys, n);
	*out = keys;
	return P11A_OK;
}

static int trim(struct ops_call *c, const char *ref, uint32_t below, uint32_t *out_n)
{
	const struct token_key *key, *newest, **fam;
	size_t n, i;
	uint32_t done = 0;
	int rc;

	/* Fresh handles: nothing is destroyed on an index older than this change. */
	if ((rc = reload_index(c->ctx, 1, NULL, NULL, c->msg, sizeof(c->msg))) != P11A_OK ||
	    (rc = find_any(c, ref, &key)) != P11A_OK)
		return rc;
	newest = newest_of(c, key);
	if (!policy_may_destroy(c->ctx->policy, newest))
		return ops_fail(c, P11A_ERR_DENIED,
				"key '%s': its [key] section does not say allow-destroy = yes: "
				"nothing destroyed",
				token_key_name(newest));
	if (below > newest->min_version)
		return ops_fail(c, P11A_ERR_DENIED,
				"key '%s': --below %u is above its min-version %u: raise "
				"min-version first; nothing destroyed",
				token_key_name(newest), below, newest->min_version);
	if (below > newest->version)
		return ops_fail(c, P11A_ERR_DENIED,
				"key '%s': --below %u would destroy its newest version %u; nothing "
				"destroyed",
				token_key_name(newest), below, newest->version);
	n = token_key_count(c->ctx->tok);
	if ((fam = calloc(n + 1, sizeof(*fam))) == NULL)
		return ops_fail(c, P11A_ERR_INTERNAL, "out of memory");
	n = family_of(c, key, fam, n);
	for (i = 0; i < n && fam[i]->version < below; i++) {
		if ((rc = token_destroy_key(c->ctx->tok, fam[i], c->msg, sizeof(c->msg))) !=
		    P11A_OK)
			break;
		log_info("uid %d destroyed version %u of '%s'", c->caller->uid, fam[i]->version,
			 token_key_name(fam[i]));
		done++;
	}
	free(fam);
	c->key = newest;
	*out_n = done;
	if (done > 0) {
		char why[OPS_MSG_LEN];

		/* A failure after some were destroyed keeps its own message. */
		if (reload_index(c->ctx, 1, NULL, NULL, why, sizeof(why)) != P11A_OK &&
		    rc == P11A_OK)
			rc = ops_fail(c, P11A_ERR_TOKEN, "%s", why);
	}
	return rc;
}

int ops_trim(struct ops_call *c, const char *ref, uint32_t below, uint32_t *out_n)
{
	int rc;

	ops_note_ref(c, ref);
	if ((rc = change_begin(c)) != P11A_OK)
		return rc;
	rc = trim(c, ref, below, out_n);
	reload_change_end(c->ctx);
	return rc;
}

/* The version of newest's family that unwraps in, tried newest first. */
static int rewrap_from(struct ops_call *c, const struct token_key *from,
		       const struct token_key *newest, p11a_alg alg, const uint8_t *label,
		       size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out,
		       size_t *out_len)
{
	const struct token_key **fam;
	char first[OPS_MSG_LEN] = "";
	size_t n, tried = 0;
	int rc = P11A_ERR_BAD_INPUT;

	if (from != NULL) {
		c->key = from;
		return token_rewrap(c->ctx->tok, from, newest, alg, label, label_len, in, in_len,
				    out, out_len, c->msg, sizeof(c->msg));
	}
	n = token_key_count(c->ctx->tok);
	if ((fam = calloc(n + 1, sizeof(*fam))) == NULL)
		return ops_fail(c, P11A_ERR_INTERNAL, "out of memory");
	n = family_of(c, newest, fam, n);
	while (n-- > 0) {
		if (fam[n]->version < newest->min_version)
			break;
		c->key = fam[n];
		rc = token_rewrap(c->ctx->tok, fam[n], newest, alg, label, label_len, in, in_len,
				  out, out_len, c->msg, sizeof(c->msg));
		if (tried++ == 0)
			memcpy(first, c->msg, sizeof(first));
		if (rc != P11A_ERR_BAD_INPUT)
			break;
	}
	free(fam);
	if (tried == 0) /* even the newest is below min-version */
		return ops_fail(c, P11A_ERR_DENIED,
				"key '%s': every version is below min-version %u: nothing to "
				"rewrap from",
				token_key_name(newest), newest->min_version);
	if (rc == P11A_ERR_BAD_INPUT)
		memcpy(c->msg, first, sizeof(c->msg));
	return rc;
}

int ops_rewrap(struct ops_call *c, const char *ref, p11a_alg alg, const uint8_t *label,
	       size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
	       uint32_t *out_from, uint32_t *out_to)
{
	const struct token_key *key, *newest, *from = NULL;
	size_t base;
	int rc;

	ops_set_data(c, in, in_len);
	ops_note_ref(c, ref);
	if ((rc = admin(c)) != P11A_OK || (rc = find_any(c, ref, &key)) != P11A_OK)
		return rc;
	newest = newest_of(c, key);
	/* NAME@N, a URI or an id name one version; NAME the family. */
	(void)keyindex_split_version(ref, &base);
	if (base != strlen(ref) || strncmp(ref, "pkcs11:", 7) == 0 || strncmp(ref, "id:", 3) == 0)
		from = key;
	if (from != NULL && from->version < from->min_version)
		return ops_fail(c, P11A_ERR_DENIED, "key '%s': version %u is below min-version %u",
				token_key_name(from), from->version, from->min_version);
	if (alg == P11A_ALG_NONE)
		alg = ops_default_alg(newest, P11A_OP_UNWRAP);
	c->alg = alg;
	if ((rc = rewrap_from(c, from, newest, alg, label, label_len, in, in_len, out, out_len)) !=
	    P11A_OK)
		return rc;
	*out_from = c->key->version;
	*out_to = newest->version;
	return P11A_OK;
}

int ops_cert_import(struct ops_call *c, const char *ref, const uint8_t *der, size_t der_len)
{
	const struct token_key *key;
	int rc;

	ops_set_data(c, der, der_len);
	ops_note_ref(c, ref);
	if ((rc = change_begin(c)) != P11A_OK)
		return rc;
	if ((rc = find_any(c, ref, &key)) == P11A_OK &&
	    (rc = token_cert_store(c->ctx->tok, key, der, der_len, c->msg, sizeof(c->msg))) ==
		P11A_OK)
		rc = reload_index(c->ctx, 1, NULL, NULL, c->msg, sizeof(c->msg));
	reload_change_end(c->ctx);
	return rc;
}

int ops_reload(struct ops_call *c, size_t *out_n_keys)
{
	int rc;

	if ((rc = change_begin(c)) != P11A_OK)
		return rc;
	rc = reload_config(c->ctx, 1, out_n_keys, c->msg, sizeof(c->msg));
	reload_change_end(c->ctx);
	return rc;
}
