/*
 * status: the STATUS reply's body (PROTOCOL.md, STATUS), both ways, and
 * p11a_status_free().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Longest strings a status carries (a key may be named by its URI). */
#define MAX_AGENT 256
#define MAX_TOKEN_FIELD 64
#define MAX_KEY (4 * PROTO_MAX_KEYREF)
#define MAX_OP 64
/* Least bytes of an entry: two empty strings, three u32, four u64. */
#define MIN_ENTRY_LEN (4 + 4 + 4 + 4 + 4 * 8 + 4)
/* Least bytes of an error: u32 code, u64 count. */
#define ERROR_LEN 12
/* Error codes travel below P11A_STATUS_CODES. */
#define MAX_CODE (P11A_STATUS_CODES - 1)

static void entry_clear(struct p11a_status_entry *e)
{
	free(e->key);
	free(e->op);
	free(e->errors);
	memset(e, 0, sizeof(*e));
}

void p11a_status_free(struct p11a_status *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_entries; i++)
		entry_clear(&st->entries[i]);
	free(st->entries);
	free(st->agent);
	free(st->token_label);
	free(st->token_serial);
	free(st);
}

/*
 * s, cut to max bytes: what a decoder takes. A key named by a label longer
 * than any reader wants (a token's CKA_LABEL has no limit) must not make
 * every status unreadable.
 */
static int put_capped(struct buf *b, const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return buf_put_string(b, s, n < max ? n : max);
}

static int put_entry(struct buf *b, const struct p11a_status_entry *e)
{
	int r;

	if ((r = put_capped(b, e->key, MAX_KEY)) != P11A_OK ||
	    (r = buf_put_u32(b, e->version)) != P11A_OK ||
	    (r = buf_put_u32(b, e->gone ? 1 : 0)) != P11A_OK ||
	    (r = put_capped(b, e->op, MAX_OP)) != P11A_OK ||
	    (r = buf_put_u64(b, e->requests)) != P11A_OK ||
	    (r = buf_put_u64(b, e->latency_sum_us)) != P11A_OK ||
	    (r = buf_put_u64(b, e->latency_p50_us)) != P11A_OK ||
	    (r = buf_put_u64(b, e->latency_p99_us)) != P11A_OK ||
	    (r = buf_put_u32(b, (uint32_t)e->n_errors)) != P11A_OK)
		return r;
	for (size_t i = 0; i < e->n_errors; i++)
		if ((r = buf_put_u32(b, e->errors[i].code)) != P11A_OK ||
		    (r = buf_put_u64(b, e->errors[i].count)) != P11A_OK)
			return r;
	return P11A_OK;
}

int proto_status_put(struct buf *b, const struct p11a_status *st)
{
	int r;

	if ((r = put_capped(b, st->agent, MAX_AGENT)) != P11A_OK ||
	    (r = buf_put_u64(b, st->uptime_ms)) != P11A_OK ||
	    (r = put_capped(b, st->token_label, MAX_TOKEN_FIELD)) != P11A_OK ||
	    (r = put_capped(b, st->token_serial, MAX_TOKEN_FIELD)) != P11A_OK ||
	    (r = buf_put_u32(b, (uint32_t)st->token_state)) != P11A_OK ||
	    (r = buf_put_u64(b, st->recoveries)) != P11A_OK ||
	    (r = buf_put_u32(b, st->connections)) != P11A_OK ||
	    (r = buf_put_u32(b, st->sessions_in_use)) != P11A_OK ||
	    (r = buf_put_u32(b, st->sessions)) != P11A_OK ||
	    (r = buf_put_u32(b, (uint32_t)st->n_entries)) != P11A_OK)
		return r;
	for (size_t i = 0; i < st->n_entries; i++)
		if ((r = put_entry(b, &st->entries[i])) != P11A_OK)
			return r;
	return P11A_OK;
}

/* The errors of an entry: codes 1..MAX_CODE, ascending, each with a count of 1 or more. */
static int get_errors(struct buf *b, struct p11a_status_entry *e)
{
	uint32_t n, code, last = 0;
	uint64_t count;

	if (buf_get_u32(b, &n) != P11A_OK || n > MAX_CODE || n > buf_avail(b) / ERROR_LEN)
		return P11A_ERR_PROTOCOL;
	if (n == 0)
		return P11A_OK;
	if ((e->errors = calloc(n, sizeof(*e->errors))) == NULL)
		return P11A_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		if (buf_get_u32(b, &code) != P11A_OK || buf_get_u64(b, &count) != P11A_OK ||
		    code <= last || code > MAX_CODE || count == 0)
			return P11A_ERR_PROTOCOL;
		e->errors[i].code = code;
		e->errors[i].count = count;
		e->n_errors = i + 1;
		last = code;
	}
	return P11A_OK;
}

static int get_entry(struct buf *b, struct p11a_status_entry *e)
{
	uint32_t gone;

	if (buf_get_cstring(b, MAX_KEY, &e->key) != P11A_OK ||
	    buf_get_u32(b, &e->version) != P11A_OK || buf_get_u32(b, &gone) != P11A_OK ||
	    buf_get_cstring(b, MAX_OP, &e->op) != P11A_OK ||
	    buf_get_u64(b, &e->requests) != P11A_OK ||
	    buf_get_u64(b, &e->latency_sum_us) != P11A_OK ||
	    buf_get_u64(b, &e->latency_p50_us) != P11A_OK ||
	    buf_get_u64(b, &e->latency_p99_us) != P11A_OK || gone > 1)
		return P11A_ERR_PROTOCOL;
	e->gone = (int)gone;
	return get_errors(b, e);
}

int proto_status_get(struct buf *b, struct p11a_status **out_st)
{
	struct p11a_status *st;
	uint32_t state, n;
	size_t off = b->off;
	int r = P11A_ERR_PROTOCOL;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return P11A_ERR_NOMEM;
	if (buf_get_cstring(b, MAX_AGENT, &st->agent) != P11A_OK ||
	    buf_get_u64(b, &st->uptime_ms) != P11A_OK ||
	    buf_get_cstring(b, MAX_TOKEN_FIELD, &st->token_label) != P11A_OK ||
	    buf_get_cstring(b, MAX_TOKEN_FIELD, &st->token_serial) != P11A_OK ||
	    buf_get_u32(b, &state) != P11A_OK || buf_get_u64(b, &st->recoveries) != P11A_OK ||
	    buf_get_u32(b, &st->connections) != P11A_OK ||
	    buf_get_u32(b, &st->sessions_in_use) != P11A_OK ||
	    buf_get_u32(b, &st->sessions) != P11A_OK || buf_get_u32(b, &n) != P11A_OK ||
	    state > P11A_TOKEN_AWAY || n > buf_avail(b) / MIN_ENTRY_LEN)
		goto out;
	st->token_state = (p11a_token_state)state;
	if (n > 0 && (st->entries = calloc(n, sizeof(*st->entries))) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		st->n_entries = i + 1;
		if ((r = get_entry(b, &st->entries[i])) != P11A_OK)
			goto out;
	}
	*out_st = st;
	st = NULL;
	r = P11A_OK;
out:
	if (r != P11A_OK)
		b->off = off;
	p11a_status_free(st);
	return r;
}
