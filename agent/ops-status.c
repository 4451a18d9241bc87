/*
 * ops-status: the agent's status for `p11agent status` (ops.h): the token,
 * the connections and sessions in use, and what ctx->metrics counted per
 * key and operation. Admins only, as the key lifecycle.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "ops.h"
#include "policy.h"
#include "server.h"

#define AGENT_IDENT "p11agentd " PACKAGE_VERSION

/* Copies a metrics pair into e, the key named as messages name it. */
static int fill_entry(const struct metrics_pair *p, struct p11a_status_entry *e)
{
	const struct token_key *key = p->key;
	size_t n = 0;

	for (size_t code = 1; code < METRICS_CODES; code++)
		n += p->errors[code] != 0;
	e->key = strdup(key != NULL ? token_key_name(key) : "");
	e->op = strdup(p->op);
	if (n > 0)
		e->errors = calloc(n, sizeof(*e->errors));
	if (e->key == NULL || e->op == NULL || (n > 0 && e->errors == NULL))
		return P11A_ERR_INTERNAL;
	e->version = key != NULL ? key->version : 0;
	e->gone = key != NULL && key->gone;
	e->requests = p->requests;
	e->latency_sum_us = p->latency_sum_us;
	e->latency_p50_us = p->latency_p50_us;
	e->latency_p99_us = p->latency_p99_us;
	for (size_t code = 1; code < METRICS_CODES; code++) {
		if (p->errors[code] == 0)
			continue;
		e->errors[e->n_errors].code = (uint32_t)code;
		e->errors[e->n_errors++].count = p->errors[code];
	}
	return P11A_OK;
}

static int by_key_version_op(const void *a, const void *b)
{
	const struct p11a_status_entry *x = a, *y = b;
	int r;

	if ((r = strcmp(x->key, y->key)) != 0)
		return r;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	if ((r = strcmp(x->op, y->op)) != 0)
		return r;
	return x->gone - y->gone;
}

/* The counters of ctx->metrics into st's entries. */
static int fill_entries(const struct metrics *m, struct p11a_status *st)
{
	struct p11a_status_entry *grown;
	struct metrics_pair p;
	size_t i = 0, cap = 0;
	int rc;

	while (m != NULL && metrics_next(m, &i, &p)) {
		if (st->n_entries == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			if ((grown = realloc(st->entries, cap * sizeof(*grown))) == NULL)
				return P11A_ERR_INTERNAL;
			st->entries = grown;
		}
		memset(&st->entries[st->n_entries], 0, sizeof(*st->entries));
		st->n_entries++;
		if ((rc = fill_entry(&p, &st->entries[st->n_entries - 1])) != P11A_OK)
			return rc;
	}
	if (st->n_entries > 1)
		qsort(st->entries, st->n_entries, sizeof(*st->entries), by_key_version_op);
	return P11A_OK;
}

int ops_status(struct ops_call *c, struct p11a_status **out_st)
{
	struct agent_ctx *ctx = c->ctx;
	struct p11a_status *st;
	struct token_status ts;
	int rc;
	char why[OPS_MSG_LEN];

	if ((rc = policy_admin(ctx->policy, c->caller, why, sizeof(why))) != P11A_OK)
		return ops_fail(c, rc, "the status is for admins: %s", why);
	c->allowed = 1;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return ops_fail(c, P11A_ERR_INTERNAL, "out of memory");
	memset(&ts, 0, sizeof(ts));
	ts.state = P11A_TOKEN_AWAY;
	if (ctx->tok != NULL)
		token_status(ctx->tok, &ts);
	st->agent = strdup(AGENT_IDENT);
	st->token_label = strdup(ts.label);
	st->token_serial = strdup(ts.serial);
	if (st->agent == NULL || st->token_label == NULL || st->token_serial == NULL ||
	    fill_entries(ctx->metrics, st) != P11A_OK) {
		p11a_status_free(st);
		return ops_fail(c, P11A_ERR_INTERNAL, "out of memory");
	}
	st->uptime_ms = ctx->metrics != NULL ? metrics_uptime_ms(ctx->metrics) : 0;
	st->token_state = ts.state;
	st->recoveries = ts.recoveries;
	st->sessions_in_use = (uint32_t)ts.sessions_in_use;
	st->sessions = (uint32_t)ts.sessions;
	st->connections = ctx->server != NULL ? server_connections(ctx->server) : 0;
	*out_st = st;
	return P11A_OK;
}
