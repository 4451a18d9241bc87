/*
 * keyref: resolves key references (a config name, a label, "id:HEX", a
 * "pkcs11:" URI) against the index, and binds the config's [key NAME]
 * sections to indexed keys.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "keyindex.h"

const char *keyindex_quotable(const char *ref)
{
	return strcasestr(ref, "pin-value") != NULL ? "(a URI with a pin-value, not shown)" : ref;
}

/* Parses "id:HEX" into a malloc'd buffer. */
static int parse_hex_id(const char *hex, uint8_t **out, size_t *out_len)
{
	size_t i, len = strlen(hex);
	unsigned int byte;
	uint8_t *id;

	if (len == 0 || len % 2 != 0 || strspn(hex, "0123456789abcdefABCDEF") != len)
		return -1;
	if ((id = malloc(len / 2)) == NULL)
		return -1;
	for (i = 0; i < len / 2; i++) {
		sscanf(hex + 2 * i, "%2x", &byte);
		id[i] = (uint8_t)byte;
	}
	*out = id;
	*out_len = len / 2;
	return 0;
}

uint32_t keyindex_split_version(const char *s, size_t *out_base_len)
{
	const char *at = strrchr(s, '@');
	size_t n = at != NULL ? strlen(at + 1) : 0;
	unsigned long v;

	*out_base_len = strlen(s);
	if (at == NULL || at == s || n < 1 || n > 9 || at[1] == '0' ||
	    strspn(at + 1, "0123456789") != n)
		return 1;
	if ((v = strtoul(at + 1, NULL, 10)) < 1)
		return 1;
	*out_base_len = (size_t)(at - s);
	return (uint32_t)v;
}

const char *keyindex_family(const struct token_key *key)
{
	return key->family != NULL ? key->family : key->label;
}

/*
 * What a reference names: a config name or a family (REF_NAME, REF_FAMILY:
 * base, and one version of it), a CKA_ID, or a URI.
 */
enum ref_kind { REF_NAME, REF_FAMILY, REF_ID, REF_URI };

struct ref {
	enum ref_kind kind;
	const char *given; /* the reference as given */
	char *base;	   /* REF_NAME, REF_FAMILY: the name without "@N" */
	uint32_t version;  /* REF_NAME, REF_FAMILY: the version, 0 until resolved (newest) */
	uint8_t *id;
	size_t id_len;
	P11KitUri *uri;
	const CK_TOKEN_INFO *tinfo;
	int by_family; /* REF_URI: match labels as families (binding: any version) */
};

/* Is key one the caller may know of? */
static int ref_visible(const struct token_key_filter *filter, const struct token_key *key)
{
	return filter == NULL || filter->visible(filter->arg, key);
}

/* Does key belong to what ref names, whatever the version? */
static int ref_names_family(const struct ref *ref, const struct token_key *key)
{
	if (ref->kind == REF_NAME)
		return key->name != NULL && strcmp(key->name, ref->base) == 0;
	return strcmp(keyindex_family(key), ref->base) == 0;
}

static int ref_matches(const struct ref *ref, const struct token_key *key)
{
	CK_OBJECT_CLASS klass = key->klass;
	const char *label = ref->by_family ? keyindex_family(key) : key->label;

	switch (ref->kind) {
	case REF_NAME:
	case REF_FAMILY:
		return ref_names_family(ref, key) && key->version == ref->version;
	case REF_ID:
		return key->id_len == ref->id_len && memcmp(key->id, ref->id, ref->id_len) == 0;
	case REF_URI: {
		CK_ATTRIBUTE attrs[] = {
		    {CKA_CLASS, &klass, sizeof(klass)},
		    {CKA_LABEL, (void *)label, strlen(label)},
		    {CKA_ID, key->id, key->id_len},
		};
		return p11_kit_uri_match_token_info(ref->uri, ref->tinfo) &&
		       p11_kit_uri_match_attributes(ref->uri, attrs, 3);
	}
	}
	return 0;
}

/* Length of "\n(and N more)". */
static size_t more_len(size_t n)
{
	return (size_t)snprintf(NULL, 0, "\n(and %zu more)", n);
}

/*
 * Appends to msg the URIs of the count keys ref matches, one a line, as many
 * whole lines as fit; when one does not, "(and N more)" ends the list. Room
 * for that line is kept while listing, so it always fits after the header.
 */
static void list_candidates(const struct ref *ref, const struct token_key_filter *filter,
			    struct token_key *const *keys, size_t n, size_t count, char *msg,
			    size_t msg_len)
{
	size_t i, line, listed = 0, used = strnlen(msg, msg_len);

	for (i = 0; i < n && listed < count; i++) {
		if (!ref_matches(ref, keys[i]) || !ref_visible(filter, keys[i]))
			continue;
		line = 1 + strlen(keys[i]->uri);
		if (listed + 1 < count)
			line += more_len(count - listed - 1);
		if (used + line >= msg_len)
			break;
		used += (size_t)snprintf(msg + used, msg_len - used, "\n%s", keys[i]->uri);
		listed++;
	}
	if (listed < count && used + more_len(count - listed) < msg_len)
		snprintf(msg + used, msg_len - used, "\n(and %zu more)", count - listed);
}

/*
 * Parses ref->given into ref: a URI, an id, or else a name or family with
 * an optional "@N" (REF_FAMILY here; the caller tries names first).
 */
static int ref_parse(struct ref *ref, char *msg, size_t msg_len)
{
	const char *shown = keyindex_quotable(ref->given);
	size_t base;
	int r;

	if (strncmp(ref->given, "pkcs11:", strlen("pkcs11:")) == 0) {
		ref->kind = REF_URI;
		if ((ref->uri = p11_kit_uri_new()) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return P11A_ERR_INTERNAL;
		}
		r = p11_kit_uri_parse(ref->given, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, ref->uri);
		if (r != P11_KIT_URI_OK) {
			snprintf(msg, msg_len, "key '%s': not a valid PKCS#11 URI: %s", shown,
				 p11_kit_uri_message(r));
			return P11A_ERR_BAD_INPUT;
		}
		if (p11_kit_uri_any_unrecognized(ref->uri)) {
			snprintf(msg, msg_len,
				 "key '%s': a key URI may only hold token, manufacturer, model, "
				 "serial, object, id and type",
				 shown);
			return P11A_ERR_BAD_INPUT;
		}
	} else if (strncmp(ref->given, "id:", strlen("id:")) == 0) {
		ref->kind = REF_ID;
		if (parse_hex_id(ref->given + strlen("id:"), &ref->id, &ref->id_len) != 0) {
			snprintf(msg, msg_len,
				 "key '%s': the id must be an even number of hex digits", shown);
			return P11A_ERR_BAD_INPUT;
		}
	} else {
		ref->kind = REF_FAMILY;
		ref->version = keyindex_split_version(ref->given, &base);
		/* "NAME" asks for the newest; "NAME@N" for N. */
		if (base == strlen(ref->given))
			ref->version = 0;
		if ((ref->base = strndup(ref->given, base)) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return P11A_ERR_INTERNAL;
		}
	}
	return P11A_OK;
}

/*
 * For a name or family asked without a version: the newest version of it
 * the caller may see, or 0 when it sees none. "NAME@1" is asked for as
 * version 1 of NAME, which is the label NAME.
 */
static uint32_t newest_version(const struct ref *ref, const struct token_key_filter *filter,
			       struct token_key *const *keys, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		if (ref_names_family(ref, keys[i]) && ref_visible(filter, keys[i]) &&
		    keys[i]->version > v)
			v = keys[i]->version;
	return v;
}

/* Counts the keys ref matches that the caller may see; *out_first is the first. */
static size_t count_matches(const struct ref *ref, const struct token_key_filter *filter,
			    struct token_key *const *keys, size_t n,
			    const struct token_key **out_first)
{
	size_t count = 0;

	*out_first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!ref_matches(ref, keys[i]) || !ref_visible(filter, keys[i]))
			continue;
		if (count++ == 0)
			*out_first = keys[i];
	}
	return count;
}

int keyindex_find(struct token_key *const *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_filter *filter, const char *ref_str,
		  const struct token_key **out_key, char *msg, size_t msg_len)
{
	struct ref ref = {REF_FAMILY, ref_str, NULL, 0, NULL, 0, NULL, tinfo, 0};
	const struct token_key *match = NULL;
	const char *shown = keyindex_quotable(ref_str);
	size_t count = 0;
	int ret;

	if ((ret = ref_parse(&ref, msg, msg_len)) != P11A_OK)
		goto out;
	if (ref.kind == REF_FAMILY) {
		/* A config name first (it cannot look like a URI or an id: it has no ':'). */
		uint32_t want = ref.version;

		ref.kind = REF_NAME;
		if (want == 0)
			ref.version = newest_version(&ref, filter, keys, n);
		if (ref.version == 0 ||
		    (count = count_matches(&ref, filter, keys, n, &match)) == 0) {
			ref.kind = REF_FAMILY;
			ref.version = want != 0 ? want : newest_version(&ref, filter, keys, n);
		}
	}
	if (ref.kind != REF_NAME)
		count = count_matches(&ref, filter, keys, n, &match);
	if (count == 0) {
		snprintf(msg, msg_len, "no key matches '%s'", shown);
		ret = P11A_ERR_NO_SUCH_KEY;
		goto out;
	}
	if (count > 1) {
		snprintf(msg, msg_len, "key '%s' matches %zu keys:", shown, count);
		list_candidates(&ref, filter, keys, n, count, msg, msg_len);
		ret = P11A_ERR_AMBIGUOUS_KEY;
		goto out;
	}
	*out_key = match;
	ret = P11A_OK;
out:
	if (ret != P11A_OK)
		match = NULL;
	free(ref.base);
	free(ref.id);
	if (ref.uri != NULL)
		p11_kit_uri_free(ref.uri);
	return ret;
}

/*
 * The key a binding's URI names: of the keys it matches (labels read as
 * families), all of one family, the one of its newest version.
 */
static int uri_key(const struct ref *ref, struct token_key *const *keys, size_t n,
		   const struct token_key **out_key, char *msg, size_t msg_len)
{
	const struct token_key *key = NULL;
	size_t j, count = 0, all = 0;
	int several = 0;

	for (j = 0; j < n; j++) {
		if (!ref_matches(ref, keys[j]))
			continue;
		all++;
		if (key != NULL && strcmp(keyindex_family(keys[j]), keyindex_family(key)) != 0)
			several = 1;
		if (key == NULL || keys[j]->version > key->version) {
			key = keys[j];
			count = 1;
		} else if (keys[j]->version == key->version) {
			count++;
		}
	}
	if (key == NULL) {
		snprintf(msg, msg_len, "no key matches '%s'", keyindex_quotable(ref->given));
		return P11A_ERR_NO_SUCH_KEY;
	}
	if (several || count > 1) {
		snprintf(msg, msg_len, "key '%s' matches %zu keys:", keyindex_quotable(ref->given),
			 all);
		list_candidates(ref, NULL, keys, n, all, msg, msg_len);
		return P11A_ERR_AMBIGUOUS_KEY;
	}
	*out_key = key;
	return P11A_OK;
}

/*
 * Resolves binding b[i] to the key it names, *out_k (its index in keys):
 * with a URI, the one key it matches (labels read as families, so that
 * pkcs11:object=NAME still finds NAME@2 once NAME is gone); without, the
 * newest of the family labelled b[i].name. Checks it against b[0..i).
 */
static int bind_one(struct token_key *const *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		    const struct token_key_binding *b, size_t i, const size_t *bound, size_t *out_k,
		    char *msg, size_t msg_len)
{
	struct ref ref = {REF_URI, b[i].uri, NULL, 0, NULL, 0, NULL, tinfo, 1};
	const struct token_key *key = NULL;
	const char *where = b[i].where != NULL ? b[i].where : "config";
	char why[2048] = "";
	size_t j, count = 0;
	int ret;

	for (j = 0; j < i; j++)
		if (strcmp(b[j].name, b[i].name) == 0) {
			snprintf(msg, msg_len, "%s: key %s: the name is taken (by %s)", where,
				 b[i].name, b[j].where != NULL ? b[j].where : "another section");
			return P11A_ERR_BAD_INPUT;
		}
	if (b[i].uri != NULL && strncmp(b[i].uri, "pkcs11:", strlen("pkcs11:")) != 0) {
		snprintf(msg, msg_len, "%s: key %s: uri must be a pkcs11: URI", where, b[i].name);
		return P11A_ERR_BAD_INPUT;
	}
	if (b[i].uri == NULL) {
		ref.kind = REF_FAMILY;
		ref.given = b[i].name;
		ref.base = (char *)b[i].name;
		ref.version = newest_version(&ref, NULL, keys, n);
		/* Names are bound afresh: a key named now still counts by its label. */
		for (j = 0; j < n; j++)
			if (strcmp(keyindex_family(keys[j]), ref.base) == 0 &&
			    keys[j]->version == ref.version && count++ == 0)
				key = keys[j];
		if (count != 1) {
			snprintf(msg, msg_len,
				 count == 0
				     ? "%s: key %s: no key labelled %s (give a uri)"
				     : "%s: key %s: several keys are labelled %s: give a uri",
				 where, b[i].name, b[i].name);
			return count == 0 ? P11A_ERR_NO_SUCH_KEY : P11A_ERR_AMBIGUOUS_KEY;
		}
	} else {
		if ((ret = ref_parse(&ref, why, sizeof(why))) == P11A_OK)
			ret = uri_key(&ref, keys, n, &key, why, sizeof(why));
		if (ref.uri != NULL)
			p11_kit_uri_free(ref.uri);
		free(ref.id);
		free(ref.base);
		if (ret != P11A_OK) {
			snprintf(msg, msg_len, "%s: key %s: %s", where, b[i].name, why);
			return ret;
		}
	}
	for (j = 0; j < n; j++)
		if (keys[j] == key)
			break;
	for (size_t m = 0; m < i; m++)
		if (bound[m] == j) {
			snprintf(msg, msg_len, "%s: key %s: its URI names the key of [key %s] (%s)",
				 where, b[i].name, b[m].name, key->uri);
			return P11A_ERR_BAD_INPUT;
		}
	*out_k = j;
	return P11A_OK;
}

/*
 * Is other a version of the key at keys[k] (its family, another version)?
 * Keys of the family sharing a version with it are distinct keys that
 * happen to share a label: not its versions.
 */
static int other_version(struct token_key *const *keys, size_t k, const struct token_key *other)
{
	return other != keys[k] && other->version != keys[k]->version &&
	       strcmp(keyindex_family(other), keyindex_family(keys[k])) == 0;
}

int keyindex_bind(struct token_key *const *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_binding *b, size_t n_b, char *msg, size_t msg_len)
{
	size_t *bound = NULL, *owner = NULL;
	char **names = NULL;
	size_t i, j;
	int ret = P11A_ERR_INTERNAL;

	if ((bound = calloc(n_b + 1, sizeof(*bound))) == NULL ||
	    (owner = calloc(n + 1, sizeof(*owner))) == NULL ||
	    (names = calloc(n + 1, sizeof(*names))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	for (i = 0; i < n_b; i++) {
		if (b[i].name == NULL || b[i].name[0] == '\0' || strchr(b[i].name, ':') != NULL) {
			snprintf(msg, msg_len, "%s: a key name must be non-empty, without ':'",
				 b[i].where != NULL ? b[i].where : "config");
			ret = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((ret = bind_one(keys, n, tinfo, b, i, bound, &bound[i], msg, msg_len)) !=
		    P11A_OK)
			goto out;
	}
	/* Which section each key belongs to (1-based; 0: none), its versions with it. */
	for (i = 0; i < n_b; i++) {
		for (j = 0; j < n; j++) {
			if (j != bound[i] && !other_version(keys, bound[i], keys[j]))
				continue;
			if (owner[j] != 0 && owner[j] != i + 1) {
				snprintf(msg, msg_len,
					 "%s: key %s: %s is a version of the key of [key %s] too",
					 b[i].where != NULL ? b[i].where : "config", b[i].name,
					 keys[j]->uri, b[owner[j] - 1].name);
				ret = P11A_ERR_BAD_INPUT;
				goto out;
			}
			owner[j] = i + 1;
			if ((names[j] = strdup(b[i].name)) == NULL) {
				snprintf(msg, msg_len, "out of memory");
				ret = P11A_ERR_INTERNAL;
				goto out;
			}
		}
	}
	/* All resolved: now bind, and unbind the others. */
	for (j = 0; j < n; j++) {
		const struct token_key_binding *bj = owner[j] != 0 ? &b[owner[j] - 1] : NULL;

		free(keys[j]->name);
		keys[j]->name = names[j];
		names[j] = NULL;
		keys[j]->policy = bj != NULL ? bj->policy : 0;
		keys[j]->min_version = bj != NULL && bj->min_version > 1 ? bj->min_version : 1;
	}
	ret = P11A_OK;
out:
	for (j = 0; names != NULL && j < n; j++)
		free(names[j]);
	free(names);
	free(owner);
	free(bound);
	return ret;
}

const char *keyindex_key_name(const struct token_key *key)
{
	if (key->name != NULL)
		return key->name;
	return key->label[0] != '\0' ? key->label : key->uri;
}

const char *keyindex_type_article(const struct token_key *key)
{
	switch (key->type) {
	case P11A_KEY_RSA:
		return "an RSA";
	case P11A_KEY_EC:
		return "an EC";
	case P11A_KEY_ED25519:
		return "an Ed25519";
	case P11A_KEY_AES:
		return "an AES";
	case P11A_KEY_HMAC:
		if (key->ck_type == CKK_SHA256_HMAC)
			return "a CKK_SHA256_HMAC";
		if (key->ck_type == CKK_SHA384_HMAC)
			return "a CKK_SHA384_HMAC";
		if (key->ck_type == CKK_SHA512_HMAC)
			return "a CKK_SHA512_HMAC";
		return "an HMAC";
	default:
		return "this";
	}
}
