/*
 * reload: the config and the token's keys again while the agent runs
 * (reload.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "reload.h"
#include "safepath.h"

int reload_bind(struct token *tok, const struct agent_config *cfg, char *msg, size_t msg_len)
{
	struct token_key_binding *b;
	size_t n = cfg != NULL ? cfg->n_keys : 0;
	int r;

	/* No sections: still called, so that names bound before are dropped. */
	if ((b = calloc(n + 1, sizeof(*b))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct conf_key *k = &cfg->keys[i];

		b[i].name = k->name;
		b[i].uri = k->uri;
		b[i].where = k->where;
		b[i].policy = k->allow_rsa_pkcs1_decrypt ? TOKEN_POLICY_RSA_PKCS1_DECRYPT : 0;
		b[i].min_version = k->min_version;
	}
	r = token_bind_names(tok, b, n, msg, msg_len);
	free(b);
	return r;
}

void reload_change_begin(struct agent_ctx *ctx)
{
	if (ctx->change == NULL)
		return;
	ops_view_leave(ctx);
	pthread_mutex_lock(ctx->change);
	ops_view_enter(ctx);
}

/*
 * Runs the pending reloads that nobody else will: after the change lock is
 * released, whoever set reload_pending either finds the lock free here or
 * the holder finds the flag set after its unlock, so no reload is lost.
 */
static void run_pending(struct agent_ctx *ctx, int held_for_reading)
{
	char msg[1024];
	size_t n = 0;

	while (atomic_load(&ctx->reload_pending) && pthread_mutex_trylock(ctx->change) == 0) {
		if (atomic_exchange(&ctx->reload_pending, 0))
			(void)reload_config(ctx, held_for_reading, &n, msg, sizeof(msg)); /* logs */
		pthread_mutex_unlock(ctx->change);
	}
}

void reload_change_end(struct agent_ctx *ctx)
{
	if (ctx->change == NULL)
		return;
	pthread_mutex_unlock(ctx->change);
	run_pending(ctx, 1);
}

void reload_hup(struct agent_ctx *ctx)
{
	char msg[1024];
	size_t n = 0;

	if (ctx->change == NULL) {
		(void)reload_config(ctx, 0, &n, msg, sizeof(msg)); /* logs */
		return;
	}
	atomic_store(&ctx->reload_pending, 1);
	run_pending(ctx, 0);
	if (atomic_load(&ctx->reload_pending))
		log_info("SIGHUP: a key change is in progress; the reload follows it");
}

static void hold_for_writing(struct agent_ctx *ctx, int held_for_reading)
{
	if (ctx->view == NULL)
		return;
	if (held_for_reading)
		pthread_rwlock_unlock(ctx->view);
	pthread_rwlock_wrlock(ctx->view);
}

static void release_writing(struct agent_ctx *ctx, int held_for_reading)
{
	if (ctx->view == NULL)
		return;
	pthread_rwlock_unlock(ctx->view);
	if (held_for_reading)
		pthread_rwlock_rdlock(ctx->view);
}

/* Indexes again and binds cfg's names, the view held for writing. */
static int index_again(struct agent_ctx *ctx, const struct agent_config *cfg, size_t *out_added,
		       size_t *out_removed, char *msg, size_t msg_len)
{
	int rc;

	if ((rc = token_reindex(ctx->tok, out_added, out_removed, msg, msg_len)) != P11A_OK)
		return rc;
	return reload_bind(ctx->tok, cfg, msg, msg_len);
}

int reload_index(struct agent_ctx *ctx, int held_for_reading, size_t *out_added,
		 size_t *out_removed, char *msg, size_t msg_len)
{
	int rc;

	if (ctx->tok == NULL) {
		snprintf(msg, msg_len, "the token is not available");
		return P11A_ERR_TOKEN_UNAVAILABLE;
	}
	hold_for_writing(ctx, held_for_reading);
	rc = index_again(ctx, ctx->cfg, out_added, out_removed, msg, msg_len);
	release_writing(ctx, held_for_reading);
	if (rc != P11A_OK)
		log_error("re-index: %s", msg);
	return rc;
}

/* Swaps what a reload applies between the config in force and the new one. */
static void swap_reloaded(struct agent_config *a, struct agent_config *b)
{
	struct agent_config t = *a;

	a->keys = b->keys;
	a->n_keys = b->n_keys;
	a->admin_users = b->admin_users;
	a->admin_groups = b->admin_groups;
	a->allow_root = b->allow_root;
	b->keys = t.keys;
	b->n_keys = t.n_keys;
	b->admin_users = t.admin_users;
	b->admin_groups = t.admin_groups;
	b->allow_root = t.allow_root;
}

/* Reads the config file into *out (safe path first). */
static int read_config(const char *file, struct agent_config *out, char *msg, size_t msg_len)
{
	char real[PATH_MAX];
	int rc;

	/* As at start, a path that does not resolve is left to config_load_file(). */
	rc = safepath_check("config file", file, geteuid(), 0, real, sizeof(real), msg, msg_len);
	if (rc == P11A_ERR_UNSAFE_PATH)
		return P11A_ERR_BAD_INPUT; /* UNSAFE_PATH would read as the socket's */
	config_init(out);
	if (config_load_file(out, rc == P11A_OK ? real : file, msg, msg_len) != 0) {
		config_clear(out);
		return P11A_ERR_BAD_INPUT;
	}
	return P11A_OK;
}

int reload_config(struct agent_ctx *ctx, int held_for_reading, size_t *out_n_keys, char *msg,
		  size_t msg_len)
{
	struct agent_config fresh, *cfg = ctx->cfg;
	struct policy *pol = NULL, *old;
	size_t added = 0, removed = 0;
	char why[1024];
	int rc;

	if (ctx->tok == NULL) {
		snprintf(msg, msg_len, "the token is not available");
		return P11A_ERR_TOKEN_UNAVAILABLE;
	}
	if (ctx->config_file == NULL || cfg == NULL) {
		/* No config file: the token's keys only. */
		if ((rc = reload_index(ctx, held_for_reading, NULL, NULL, msg, msg_len)) != P11A_OK)
			return rc;
		*out_n_keys = token_key_count(ctx->tok);
		log_info("reload: the token indexed again (no config file); %zu keys", *out_n_keys);
		return P11A_OK;
	}
	if ((rc = read_config(ctx->config_file, &fresh, msg, msg_len)) != P11A_OK)
		goto rejected;
	if ((rc = policy_new(&fresh, ctx->tok, ctx->agent_uid, &pol, msg, msg_len)) != P11A_OK) {
		config_clear(&fresh);
		goto rejected;
	}
	hold_for_writing(ctx, held_for_reading);
	rc = index_again(ctx, &fresh, &added, &removed, msg, msg_len);
	if (rc != P11A_OK) {
		/* The old names again, on the new index: the old policy stays. */
		if (rc != P11A_ERR_TOKEN_UNAVAILABLE &&
		    reload_bind(ctx->tok, cfg, why, sizeof(why)) != P11A_OK)
			log_error("reload: the config in force no longer binds either: %s", why);
		release_writing(ctx, held_for_reading);
		policy_free(pol);
		config_clear(&fresh);
		goto rejected;
	}
	old = ctx->policy;
	ctx->policy = pol;
	swap_reloaded(cfg, &fresh);
	*out_n_keys = token_key_count(ctx->tok);
	release_writing(ctx, held_for_reading);
	policy_free(old);
	config_clear(&fresh);
	log_info("reload: %s read again; %zu keys (%zu new, %zu gone)", ctx->config_file,
		 *out_n_keys, added, removed);
	return P11A_OK;
rejected:
	log_error("reload rejected, the config in force stays: %s", msg);
	/* A section that names no key, or several, is an error of the config. */
	if (rc == P11A_ERR_NO_SUCH_KEY || rc == P11A_ERR_AMBIGUOUS_KEY)
		rc = P11A_ERR_BAD_INPUT;
	return rc;
}
