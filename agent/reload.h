/*
 * reload: the config and the token's keys again while the agent runs.
 *
 * SIGHUP and the RELOAD request read the config file again and index the
 * token again. What a reload applies: the [key NAME] sections (names,
 * policy, min-version, allow-destroy), admin-users, admin-groups and
 * allow-root. Everything else (module, token, sockets, limits, audit) is
 * read at start only. A config with an error is rejected whole: the one in
 * force stays, and the message names the file and line.
 *
 * A change holds ctx->change, then ctx->view for writing while the index
 * and the policy are swapped, so a request sees either the old view or the
 * new one, and requests in flight finish on the one they started with.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_RELOAD_H
#define P11AGENT_RELOAD_H

#include <stddef.h>

#include "conf.h"
#include "ops.h"
#include "token.h"

/* Gives cfg's [key NAME] sections to the token: names, policy bits, min-version. */
int reload_bind(struct token *tok, const struct agent_config *cfg, char *msg, size_t msg_len);

/*
 * Starts and ends a change from a request, which holds the view for
 * reading: the hold is dropped while waiting for ctx->change, and taken
 * again, so that a change never waits on a request that waits on it.
 */
void reload_change_begin(struct agent_ctx *ctx);
void reload_change_end(struct agent_ctx *ctx);

/*
 * SIGHUP's reload, on the thread that accepts connections, which must never
 * wait for a change in progress (an RSA-4096 keygen on a card takes a
 * minute): it reloads at once when no change runs, else marks the reload
 * pending, and the change's reload_change_end() runs it.
 */
void reload_hup(struct agent_ctx *ctx);

/*
 * Indexes the token again and binds the config's names, holding the view
 * for writing: from within a change, by a caller holding it for reading
 * (a request: held_for_reading 1) or not at all (SIGHUP). When the names no
 * longer bind (a key a section names is gone), the index stays as the token
 * is, with the names of the config that could be bound. *out_added and
 * *out_removed (may be NULL) count the keys that came and went.
 */
int reload_index(struct agent_ctx *ctx, int held_for_reading, size_t *out_added,
		 size_t *out_removed, char *msg, size_t msg_len);

/*
 * Reads ctx->config_file again and applies it with a new index (see
 * above), within a change. *out_n_keys: the keys indexed afterwards.
 * Returns P11A_OK, or an error with msg saying why; then nothing changed
 * but the index (keys made or removed by other tools still show).
 */
int reload_config(struct agent_ctx *ctx, int held_for_reading, size_t *out_n_keys, char *msg,
		  size_t msg_len);

#endif
