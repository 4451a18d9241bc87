/*
 * token-reindex: indexes the token's keys again while the agent runs (a
 * reload, a key made or destroyed by the agent), keeping every key that is
 * still there as it is, so that pointers to it stay good, and retiring
 * those that went or changed.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyindex.h"
#include "log.h"
#include "token-impl.h"

const char *token_key_changed(const struct token_key *was, const struct token_key *now)
{
	if (now == NULL)
		return "is gone from the token";
	if (was->spki_len != now->spki_len ||
	    (was->spki_len != 0 && memcmp(was->spki, now->spki, was->spki_len) != 0))
		return "has another public key";
	if (was->klass != now->klass || was->type != now->type || was->ck_type != now->ck_type ||
	    was->bits != now->bits || was->ops != now->ops)
		return "has another type, size or use";
	return NULL;
}

/* The kept key k takes what may change beside it from its new reading m. */
static void refresh(struct token_key *k, struct token_key *m)
{
	uint8_t *cert = k->cert;
	size_t cert_len = k->cert_len;

	k->handle = m->handle;
	k->pub_ops = m->pub_ops;
	memcpy(k->created, m->created, sizeof(k->created));
	memcpy(k->cert_expiry, m->cert_expiry, sizeof(k->cert_expiry));
	/* The certificate: swapped, so that m takes the old one to its grave. */
	k->cert = m->cert;
	k->cert_len = m->cert_len;
	m->cert = cert;
	m->cert_len = cert_len;
}

/* The key of the index that now[j] is again, or NULL. */
static struct token_key *same_key(const struct token *tok, const struct token_key *now)
{
	for (size_t i = 0; i < tok->n_keys; i++) {
		struct token_key *k = tok->keys[i];

		if (!k->gone && k->klass == now->klass && strcmp(k->uri, now->uri) == 0 &&
		    token_key_changed(k, now) == NULL)
			return k;
	}
	return NULL;
}

int token_reindex(struct token *tok, size_t *out_added, size_t *out_removed, char *msg,
		  size_t msg_len)
{
	struct token_key **now = NULL, **next = NULL, **grown, *k;
	size_t n = 0, i, j, added = 0, removed = 0;
	int ret;

	pthread_rwlock_wrlock(&tok->use);
	if (tok->state != TOKEN_UP) {
		pthread_rwlock_unlock(&tok->use);
		snprintf(msg, msg_len,
			 "the token is unavailable (removed?); the agent keeps looking for it");
		return P11A_ERR_TOKEN_UNAVAILABLE;
	}
	if ((ret = keyindex_load(tok->f, tok->login_session, &tok->tinfo, &now, &n, msg,
				 msg_len)) != P11A_OK)
		goto out;
	/* Room for every key to retire first: past this point nothing can fail. */
	grown = realloc(tok->retired, (tok->n_retired + tok->n_keys + 1) * sizeof(*grown));
	if (grown != NULL)
		tok->retired = grown;
	if (grown == NULL || (next = calloc(n + 1, sizeof(*next))) == NULL) {
		snprintf(msg, msg_len, "out of memory while indexing the keys");
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	for (j = 0; j < n; j++) {
		if ((k = same_key(tok, now[j])) != NULL) {
			refresh(k, now[j]);
			keyindex_free_key(now[j]);
		} else {
			k = now[j];
			added++;
		}
		now[j] = NULL;
		next[j] = k;
	}
	for (i = 0; i < tok->n_keys; i++) {
		for (j = 0; j < n && next[j] != tok->keys[i]; j++)
			;
		if (j < n)
			continue;
		/* Kept for the agent's life: a request or the audit trail may hold it. */
		tok->keys[i]->gone = 1;
		tok->retired[tok->n_retired++] = tok->keys[i];
		removed++;
	}
	keyindex_mark_newest(next, n);
	free(tok->keys);
	tok->keys = next;
	tok->n_keys = n;
	next = NULL;
	if (out_added != NULL)
		*out_added = added;
	if (out_removed != NULL)
		*out_removed = removed;
	ret = P11A_OK;
out:
	pthread_rwlock_unlock(&tok->use);
	free(next);
	keyindex_free(now, n);
	return ret;
}
