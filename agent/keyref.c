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

enum ref_kind { REF_LABEL, REF_ID, REF_URI };

struct ref {
	enum ref_kind kind;
	const char *label;
	uint8_t *id;
	size_t id_len;
	P11KitUri *uri;
	const CK_TOKEN_INFO *tinfo;
};

/* Is key one the caller may know of? */
static int ref_visible(const struct token_key_filter *filter, const struct token_key *key)
{
	return filter == NULL || filter->visible(filter->arg, key);
}

static int ref_matches(const struct ref *ref, const struct token_key *key)
{
	CK_OBJECT_CLASS klass = key->klass;

	switch (ref->kind) {
	case REF_LABEL:
		return strcmp(key->label, ref->label) == 0;
	case REF_ID:
		return key->id_len == ref->id_len && memcmp(key->id, ref->id, ref->id_len) == 0;
	case REF_URI: {
		CK_ATTRIBUTE attrs[] = {
		    {CKA_CLASS, &klass, sizeof(klass)},
		    {CKA_LABEL, key->label, strlen(key->label)},
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
			    const struct token_key *keys, size_t n, size_t count, char *msg,
			    size_t msg_len)
{
	size_t i, line, listed = 0, used = strnlen(msg, msg_len);

	for (i = 0; i < n && listed < count; i++) {
		if (!ref_matches(ref, &keys[i]) || !ref_visible(filter, &keys[i]))
			continue;
		line = 1 + strlen(keys[i].uri);
		if (listed + 1 < count)
			line += more_len(count - listed - 1);
		if (used + line >= msg_len)
			break;
		used += (size_t)snprintf(msg + used, msg_len - used, "\n%s", keys[i].uri);
		listed++;
	}
	if (listed < count && used + more_len(count - listed) < msg_len)
		snprintf(msg + used, msg_len - used, "\n(and %zu more)", count - listed);
}

/* Parses ref->label (the reference as given) into ref: a URI, an id, or else a label. */
static int ref_parse(struct ref *ref, char *msg, size_t msg_len)
{
	const char *shown = keyindex_quotable(ref->label);
	int r;

	if (strncmp(ref->label, "pkcs11:", strlen("pkcs11:")) == 0) {
		ref->kind = REF_URI;
		if ((ref->uri = p11_kit_uri_new()) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return P11A_ERR_INTERNAL;
		}
		r = p11_kit_uri_parse(ref->label, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, ref->uri);
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
	} else if (strncmp(ref->label, "id:", strlen("id:")) == 0) {
		ref->kind = REF_ID;
		if (parse_hex_id(ref->label + strlen("id:"), &ref->id, &ref->id_len) != 0) {
			snprintf(msg, msg_len,
				 "key '%s': the id must be an even number of hex digits", shown);
			return P11A_ERR_BAD_INPUT;
		}
	}
	return P11A_OK;
}

/* The key bound to name (names are unique), or NULL. */
static const struct token_key *find_by_name(const struct token_key *keys, size_t n,
					    const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (keys[i].name != NULL && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int keyindex_find(const struct token_key *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_filter *filter, const char *ref_str,
		  const struct token_key **out_key, char *msg, size_t msg_len)
{
	struct ref ref = {REF_LABEL, ref_str, NULL, 0, NULL, tinfo};
	const struct token_key *match;
	const char *shown = keyindex_quotable(ref_str);
	size_t i, count = 0;
	int ret;

	/* A config name cannot look like a URI or an id: it has no ':'. */
	if ((match = find_by_name(keys, n, ref_str)) != NULL && ref_visible(filter, match)) {
		*out_key = match;
		return P11A_OK;
	}
	match = NULL;
	if ((ret = ref_parse(&ref, msg, msg_len)) != P11A_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (!ref_matches(&ref, &keys[i]) || !ref_visible(filter, &keys[i]))
			continue;
		if (count++ == 0)
			match = &keys[i];
	}
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
	free(ref.id);
	if (ref.uri != NULL)
		p11_kit_uri_free(ref.uri);
	return ret;
}

/* Resolves binding b[i] to the index of its one key in *out_k, checking it against b[0..i). */
static int bind_one(const struct token_key *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		    const struct token_key_binding *b, size_t i, const size_t *bound, size_t *out_k,
		    char *msg, size_t msg_len)
{
	const struct token_key *key;
	const char *where = b[i].where != NULL ? b[i].where : "config";
	char why[2048];
	size_t j;
	int ret;

	for (j = 0; j < i; j++)
		if (strcmp(b[j].name, b[i].name) == 0) {
			snprintf(msg, msg_len, "%s: key %s: the name is taken (by %s)", where,
				 b[i].name, b[j].where != NULL ? b[j].where : "another section");
			return P11A_ERR_BAD_INPUT;
		}
	if (b[i].uri == NULL || strncmp(b[i].uri, "pkcs11:", strlen("pkcs11:")) != 0) {
		snprintf(msg, msg_len, "%s: key %s: uri must be a pkcs11: URI", where, b[i].name);
		return P11A_ERR_BAD_INPUT;
	}
	if ((ret = keyindex_find(keys, n, tinfo, NULL, b[i].uri, &key, why, sizeof(why))) !=
	    P11A_OK) {
		snprintf(msg, msg_len, "%s: key %s: %s", where, b[i].name, why);
		return ret;
	}
	for (j = 0; j < i; j++)
		if (bound[j] == (size_t)(key - keys)) {
			snprintf(msg, msg_len, "%s: key %s: its URI names the key of [key %s] (%s)",
				 where, b[i].name, b[j].name, key->uri);
			return P11A_ERR_BAD_INPUT;
		}
	*out_k = (size_t)(key - keys);
	return P11A_OK;
}

int keyindex_bind(struct token_key *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_binding *b, size_t n_b, char *msg, size_t msg_len)
{
	size_t *bound = NULL;
	char **names = NULL;
	size_t i;
	int ret = P11A_ERR_INTERNAL;

	if (n_b == 0)
		return P11A_OK;
	if ((bound = calloc(n_b, sizeof(*bound))) == NULL ||
	    (names = calloc(n_b, sizeof(*names))) == NULL) {
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
		if ((names[i] = strdup(b[i].name)) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			ret = P11A_ERR_INTERNAL;
			goto out;
		}
	}
	/* All resolved: now bind. */
	for (i = 0; i < n_b; i++) {
		free(keys[bound[i]].name);
		keys[bound[i]].name = names[i];
		keys[bound[i]].policy = b[i].policy;
		names[i] = NULL;
	}
	ret = P11A_OK;
out:
	for (i = 0; names != NULL && i < n_b; i++)
		free(names[i]);
	free(names);
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
