/*
 * keyindex: the token's keys, read once when the agent starts (keyindex.c),
 * and the references that name them (keyref.c).
 *
 * keyindex_load() finds the private keys (RSA, EC on P-256/P-384/P-521,
 * Ed25519) and secret keys (HMAC: generic secret and CKK_SHA*_HMAC; AES),
 * reads their attributes, builds each one's public key and canonical URI.
 * Keys of other types or curves are left out, and so, with a warning in the
 * log, is a key whose label or id is longer than PROTO_MAX_KEYREF bytes or
 * whose URI is longer than 4 * PROTO_MAX_KEYREF: a client could not read a
 * list holding it (proto_list_get). keyindex_find() resolves a
 * reference (config name, label, "id:HEX", "pkcs11:" URI) against the index;
 * keyindex_bind() gives keys the names of the config's [key NAME] sections.
 *
 * Used by token.c only; token.h describes the behaviour callers see.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_KEYINDEX_H
#define P11AGENT_KEYINDEX_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "token.h"

/*
 * Indexes the keys visible on session s of the token described by tinfo.
 * On success *out_keys (free with keyindex_free) holds *out_n keys.
 * Returns P11A_OK, P11A_ERR_TOKEN ("C_FindObjectsInit failed: CKR_...") or
 * P11A_ERR_INTERNAL, with a message in msg.
 */
int keyindex_load(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_TOKEN_INFO *tinfo,
		  struct token_key ***out_keys, size_t *out_n, char *msg, size_t msg_len);

/*
 * The index is an array of pointers to keys allocated one by one: a key
 * outlives any index that drops it (the token keeps it until it closes), so
 * a pointer taken to it stays valid.
 */
/* Frees n keys and the array. NULL is a no-op. */
void keyindex_free(struct token_key **keys, size_t n);
/* Frees one key. NULL is a no-op. */
void keyindex_free_key(struct token_key *key);

/*
 * Versions: "NAME@N" (N decimal, 2 to 999999999, no leading zero) is
 * version N of NAME; anything else is version 1 of itself. Returns the
 * version; *out_base_len is the length of NAME in s.
 */
uint32_t keyindex_split_version(const char *s, size_t *out_base_len);
/* The family of key (its label without "@N"), never NULL. */
const char *keyindex_family(const struct token_key *key);
/* Sets each key's newest: no key of its family has a higher version. */
void keyindex_mark_newest(struct token_key *const *keys, size_t n);

/*
 * token_find_key_for() on the index: a name bound by keyindex_bind() first,
 * then families (labels); "REF@N" names version N, "REF" the newest; only
 * the keys filter lets through (NULL: all) are considered.
 */
int keyindex_find(struct token_key *const *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_filter *filter, const char *ref,
		  const struct token_key **out_key, char *msg, size_t msg_len);

/*
 * token_bind_names() on the index. Nothing is bound unless every binding
 * resolves: each URI to exactly one key (whose other versions it binds
 * too), a binding without a URI to the family of its name, no key twice,
 * no name twice. Keys no binding names lose any name they had.
 */
int keyindex_bind(struct token_key *const *keys, size_t n, const CK_TOKEN_INFO *tinfo,
		  const struct token_key_binding *b, size_t n_b, char *msg, size_t msg_len);

/* How to name key in a message: its config name, else its label, else its URI. */
const char *keyindex_key_name(const struct token_key *key);

/* "an RSA", "an EC", ..., "a CKK_SHA256_HMAC": for "does not fit %s key". */
const char *keyindex_type_article(const struct token_key *key);

/*
 * Is ref fit to quote in a message? Not when it may carry a PIN (a URI's
 * pin-value, in any case, in its path or its query).
 */
const char *keyindex_quotable(const char *ref);

#endif
