/*
 * auditverify: the check of a whole audit trail, every problem reported.
 * See auditlog.h.
 *
 * The lines are read in order. A trail is made of chain segments: each
 * starts at a record of seq 1 (prev zeros), or at the first record given.
 * In a segment, record S follows record S - 1, and its prev is the MAC of
 * S - 1, wherever that record is: so a record out of place is reported once,
 * where the order breaks, and a MAC replaced once, at the record it belongs
 * to. A damaged line (no record) stands for the record expected there; the
 * check goes on at the next record.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auditlog.h"
#include "p11agent.h"

#define OP_NEW_CHAIN "audit-new-chain"

static const uint8_t zero_mac[AUDITLOG_MAC_LEN];

/* A record's place: its segment, its seq, its line; sorted to find a seq. */
struct place {
	size_t seg;
	uint64_t seq;
	size_t idx;
};

/* What the check knows of the lines. */
struct trail {
	const struct auditlog_line *lines;
	size_t n;
	struct auditlog_rec *recs;
	unsigned char *ok;	  /* the line is a record */
	unsigned char *named;	  /* a "reordered" problem already named this line */
	unsigned char *confirmed; /* offline: a checkpoint that holds covers it */
	size_t *seg_of;		  /* the segment of each record */
	struct place *places;	  /* the records, by segment, seq, line */
	size_t n_places;
	size_t *seg_place; /* the first of places[] of each segment, and n_segments + 1 */
	size_t *order;	   /* the line index of each stored problem, to sort them */
};

const char *auditlog_kind_name(enum auditlog_kind kind)
{
	switch (kind) {
	case AUDITLOG_DAMAGED:
		return "damaged";
	case AUDITLOG_CHANGED:
		return "changed";
	case AUDITLOG_REMOVED:
		return "removed";
	case AUDITLOG_REORDERED:
		return "reordered";
	case AUDITLOG_UNCHECKED:
		return "unchecked";
	case AUDITLOG_CHECKPOINT:
		return "checkpoint";
	case AUDITLOG_TRUNCATED:
		return "truncated";
	case AUDITLOG_UNCONFIRMED:
		return "unconfirmed";
	}
	return "unknown";
}

static void vadd(struct auditlog_result *res, enum auditlog_kind kind, uint64_t seq,
		 const struct auditlog_line *l, const char *fmt, va_list ap)
{
	struct auditlog_problem *p;
	int warning = kind == AUDITLOG_UNCONFIRMED;

	if (warning)
		res->n_warnings++;
	else
		res->n_failures++;
	res->intact = res->n_failures == 0;
	if (res->problems == NULL || res->n_problems >= AUDITLOG_MAX_PROBLEMS)
		return;
	p = &res->problems[res->n_problems++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->warning = warning;
	p->seq = seq;
	p->file = l != NULL ? l->file : NULL;
	p->line = l != NULL ? l->line_no : 0;
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
}

void auditlog_result_add(struct auditlog_result *res, enum auditlog_kind kind, uint64_t seq,
			 const struct auditlog_line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(res, kind, seq, l, fmt, ap);
	va_end(ap);
}

/* Adds a problem about line idx (SIZE_MAX: none), keeping its place for the sort. */
static void problem(struct auditlog_result *res, struct trail *t, enum auditlog_kind kind,
		    uint64_t seq, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void problem(struct auditlog_result *res, struct trail *t, enum auditlog_kind kind,
		    uint64_t seq, size_t idx, const char *fmt, ...)
{
	size_t before = res->n_problems;
	va_list ap;

	va_start(ap, fmt);
	vadd(res, kind, seq, idx != SIZE_MAX ? &t->lines[idx] : NULL, fmt, ap);
	va_end(ap);
	if (res->n_problems > before)
		t->order[before] = idx;
}

void auditlog_result_free(struct auditlog_result *res)
{
	if (res == NULL)
		return;
	free(res->problems);
	free(res->segments);
	res->problems = NULL;
	res->segments = NULL;
	res->n_problems = 0;
	res->n_segments = 0;
}

static void trail_free(struct trail *t)
{
	free(t->recs);
	free(t->ok);
	free(t->named);
	free(t->confirmed);
	free(t->seg_of);
	free(t->places);
	free(t->seg_place);
	free(t->order);
}

static int place_cmp(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	if (x->seg != y->seg)
		return x->seg < y->seg ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The line index of the first record seq of segment seg, or SIZE_MAX. */
static size_t find_seq(const struct trail *t, size_t seg, uint64_t seq)
{
	size_t lo = t->seg_place[seg], hi = t->seg_place[seg + 1];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->places[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->seg_place[seg + 1] && t->places[lo].seq == seq ? t->places[lo].idx
								      : SIZE_MAX;
}

/* The file of line j when it is another than line i's, else "". */
static const char *other_file(const struct trail *t, size_t i, size_t j)
{
	return t->lines[j].file != t->lines[i].file ? t->lines[j].file : "";
}

/* Parses the lines and cuts them into segments. */
static int read_lines(struct trail *t, struct auditlog_result *res)
{
	size_t n = t->n, seg = 0, i, k;
	int any = 0;

	if ((t->recs = calloc(n + 1, sizeof(*t->recs))) == NULL ||
	    (t->ok = calloc(n + 1, 1)) == NULL || (t->named = calloc(n + 1, 1)) == NULL ||
	    (t->confirmed = calloc(n + 1, 1)) == NULL ||
	    (t->seg_of = calloc(n + 1, sizeof(*t->seg_of))) == NULL ||
	    (t->places = calloc(n + 1, sizeof(*t->places))) == NULL ||
	    (t->order = calloc(AUDITLOG_MAX_PROBLEMS, sizeof(*t->order))) == NULL ||
	    (res->problems = calloc(AUDITLOG_MAX_PROBLEMS, sizeof(*res->problems))) == NULL)
		return P11A_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		t->ok[i] = auditlog_parse(t->lines[i].p, t->lines[i].len, &t->recs[i]) == 0;
		if (!t->ok[i])
			continue;
		if (any && t->recs[i].seq == 1)
			seg++;
		any = 1;
		t->seg_of[i] = seg;
		t->places[t->n_places].seg = seg;
		t->places[t->n_places].seq = t->recs[i].seq;
		t->places[t->n_places].idx = i;
		t->n_places++;
	}
	res->n_segments = any ? seg + 1 : 0;
	if ((t->seg_place = calloc(res->n_segments + 1, sizeof(*t->seg_place))) == NULL ||
	    (res->segments = calloc(res->n_segments + 1, sizeof(*res->segments))) == NULL)
		return P11A_ERR_NOMEM;
	qsort(t->places, t->n_places, sizeof(*t->places), place_cmp);
	for (k = 0, seg = 0; seg <= res->n_segments; seg++) {
		while (k < t->n_places && t->places[k].seg < seg)
			k++;
		t->seg_place[seg] = k;
	}
	return P11A_OK;
}

/*
 * The first record of a segment that is not the trail's first: a chain that
 * starts again. After a damaged line it is the agent's audit-restart; else
 * it must be an audit-new-chain that names the record before it.
 */
static void check_new_chain(struct auditlog_result *res, struct trail *t, size_t i, size_t prev_i,
			    size_t damaged, uint64_t exp)
{
	const struct auditlog_line *l = &t->lines[i];
	const struct auditlog_segment *before = &res->segments[t->seg_of[i] - 1];
	struct auditlog_val op, detail, v;
	uint8_t mac[AUDITLOG_MAC_LEN];
	uint64_t prev_seq;
	size_t j, n;

	if (damaged > 0)
		return;
	if (auditlog_field(l->p, l->len, "op", &op) != 0 || op.type != AUDITLOG_V_STRING ||
	    op.len != strlen(OP_NEW_CHAIN) || memcmp(op.p, OP_NEW_CHAIN, op.len) != 0) {
		problem(res, t, AUDITLOG_REORDERED, exp, i,
			"reordered: line %zu holds record 1, which belongs before record %llu",
			l->line_no, (unsigned long long)exp - 1);
		return;
	}
	if (auditlog_field(l->p, l->len, "detail", &detail) != 0 ||
	    auditlog_field(detail.p, detail.len, "prev_seq", &v) != 0 ||
	    v.type != AUDITLOG_V_NUMBER || auditlog_u64(v.p, v.len, &prev_seq) != 0 ||
	    auditlog_field(detail.p, detail.len, "prev_mac", &v) != 0 ||
	    v.type != AUDITLOG_V_STRING || v.len != 2 * AUDITLOG_MAC_LEN) {
		problem(res, t, AUDITLOG_CHANGED, 1, i,
			"changed: the new chain on line %zu does not name the record before it",
			l->line_no);
		return;
	}
	if (auditlog_unhex(v.p, v.len, mac, sizeof(mac), &n) != 0)
		n = 0;
	if (prev_seq == before->last_seq + 1) {
		problem(res, t, AUDITLOG_REMOVED, prev_seq, i,
			"removed: record %llu is missing: the new chain on line %zu follows it",
			(unsigned long long)prev_seq, l->line_no);
		return;
	}
	if (prev_seq > before->last_seq) {
		problem(res, t, AUDITLOG_REMOVED, before->last_seq + 1, i,
			"removed: records %llu to %llu are missing: the new chain on line %zu "
			"follows record %llu",
			(unsigned long long)before->last_seq + 1, (unsigned long long)prev_seq,
			l->line_no, (unsigned long long)prev_seq);
		return;
	}
	j = find_seq(t, t->seg_of[prev_i], prev_seq);
	if (n != AUDITLOG_MAC_LEN || j == SIZE_MAX ||
	    CRYPTO_memcmp(t->recs[j].mac, mac, sizeof(mac)) != 0)
		problem(res, t, AUDITLOG_CHANGED, prev_seq, j != SIZE_MAX ? j : i,
			"changed: the new chain on line %zu names record %llu with another MAC",
			l->line_no, (unsigned long long)prev_seq);
}

/* The first record given: a chain's start, or (partial) a later record. */
static void check_first(struct auditlog_result *res, struct trail *t,
			const struct auditlog_opts *opts, size_t i, size_t damaged)
{
	const struct auditlog_rec *r = &t->recs[i];
	const struct auditlog_line *l = &t->lines[i];
	struct auditlog_val op, detail, v;
	uint64_t prev_seq = 0;

	if (opts->partial)
		return;
	if (r->seq > 1 + damaged) {
		problem(
		    res, t, AUDITLOG_REMOVED, 1 + damaged, i,
		    "removed: the trail starts at record %llu; give the earlier files first, or "
		    "--partial if they were rotated away",
		    (unsigned long long)r->seq);
		return;
	}
	/* A new chain the agent was told to start names the head it follows. */
	if (r->seq == 1 && auditlog_field(l->p, l->len, "op", &op) == 0 &&
	    op.type == AUDITLOG_V_STRING && op.len == strlen(OP_NEW_CHAIN) &&
	    memcmp(op.p, OP_NEW_CHAIN, op.len) == 0 &&
	    auditlog_field(l->p, l->len, "detail", &detail) == 0 &&
	    auditlog_field(detail.p, detail.len, "prev_seq", &v) == 0 &&
	    v.type == AUDITLOG_V_NUMBER && auditlog_u64(v.p, v.len, &prev_seq) == 0 && prev_seq > 0)
		problem(res, t, AUDITLOG_REMOVED, 1, i,
			"removed: the trail starts with a new chain after record %llu of an "
			"earlier one; give the earlier files first, or --partial if they were "
			"rotated away",
			(unsigned long long)prev_seq);
}

/* Checks a record's MAC: here (unkeyed), with opts->check (keyed, online), or not (offline). */
static int check_mac(struct auditlog_result *res, struct trail *t, const struct auditlog_opts *opts,
		     size_t i)
{
	const struct auditlog_rec *r = &t->recs[i];
	const struct auditlog_line *l = &t->lines[i];
	uint8_t mac[AUDITLOG_MAC_LEN];
	int valid = 0, rc;

	if (r->keyed) {
		if (opts->pubkey != NULL)
			return P11A_OK; /* checkpoints cover it */
		if (opts->check == NULL) {
			problem(res, t, AUDITLOG_UNCHECKED, r->seq, i,
				"unchecked: a keyed MAC can only be checked by the agent, or "
				"offline by checkpoints");
			return P11A_OK;
		}
		if ((rc = opts->check(opts->arg, r->prev, l->p, r->body_len, r->mac, &valid)) !=
		    P11A_OK)
			return rc;
		res->n_keyed += valid ? 1 : 0;
	} else {
		auditlog_sha256(r->prev, l->p, r->body_len, mac);
		valid = CRYPTO_memcmp(mac, r->mac, sizeof(mac)) == 0;
	}
	if (!valid)
		problem(res, t, AUDITLOG_CHANGED, r->seq, i,
			"changed: its MAC does not match its content");
	return P11A_OK;
}

/* The place of record r in its segment's order: reports what is missing or misplaced. */
static void check_order(struct auditlog_result *res, struct trail *t, size_t i, uint64_t *exp,
			size_t damaged)
{
	const struct auditlog_rec *r = &t->recs[i];
	const struct auditlog_line *l = &t->lines[i];
	uint64_t miss = *exp + damaged;
	size_t j;

	if (r->seq < *exp) {
		if (!t->named[i])
			problem(res, t, AUDITLOG_REORDERED, *exp, i,
				"reordered: line %zu holds record %llu, which belongs before "
				"record %llu",
				l->line_no, (unsigned long long)r->seq,
				(unsigned long long)*exp - 1);
		return;
	}
	/* The damaged lines before it stand for the records up to miss. */
	if (r->seq > miss) {
		j = find_seq(t, t->seg_of[i], miss);
		if (j != SIZE_MAX && j > i) {
			t->named[j] = 1;
			problem(res, t, AUDITLOG_REORDERED, miss, i,
				"reordered: line %zu holds record %llu; record %llu is on line "
				"%zu%s%s",
				l->line_no, (unsigned long long)r->seq, (unsigned long long)miss,
				t->lines[j].line_no, *other_file(t, i, j) != '\0' ? " of " : "",
				other_file(t, i, j));
		} else if (r->seq == miss + 1) {
			problem(res, t, AUDITLOG_REMOVED, miss, i,
				"removed: line %zu holds record %llu", l->line_no,
				(unsigned long long)r->seq);
		} else {
			problem(res, t, AUDITLOG_REMOVED, miss, i,
				"removed: records %llu to %llu are missing",
				(unsigned long long)miss, (unsigned long long)r->seq - 1);
		}
	}
	*exp = r->seq + 1;
}

/* Record r's prev is the MAC of record seq - 1 of its segment, where that one is. */
static void check_link(struct auditlog_result *res, struct trail *t, size_t i)
{
	const struct auditlog_rec *r = &t->recs[i];
	size_t j = find_seq(t, t->seg_of[i], r->seq - 1);

	if (j == SIZE_MAX || CRYPTO_memcmp(r->prev, t->recs[j].mac, AUDITLOG_MAC_LEN) == 0)
		return;
	problem(res, t, AUDITLOG_CHANGED, r->seq - 1, j,
		"changed: record %llu does not chain to it (its MAC was replaced)",
		(unsigned long long)r->seq);
}

/*
 * Offline: the checkpoint on line i. Its span must be the records right
 * before it, in order, their bytes must hash to what it states, and its
 * signature must verify. *last_cp is the seq of the segment's previous
 * checkpoint (a span may not reach back before it), updated.
 */
static int check_checkpoint(struct auditlog_result *res, struct trail *t,
			    const struct auditlog_opts *opts, size_t i, uint64_t *last_cp)
{
	const struct auditlog_rec *r = &t->recs[i];
	const struct auditlog_line *l = &t->lines[i];
	struct auditlog_checkpoint cp;
	uint8_t digest[AUDITLOG_MAC_LEN];
	unsigned int digest_len = 0;
	EVP_MD_CTX *ctx = NULL;
	uint64_t count, k, covered = 0, prev_cp = *last_cp;
	char msg[160];
	int valid = 0, holds = 1, rc;
	size_t first = i, j;

	*last_cp = r->seq;
	if (auditlog_checkpoint_parse(l->p, l->len, &cp, msg, sizeof(msg)) != 0) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i, "checkpoint: %s", msg);
		return P11A_OK;
	}
	rc = auditlog_checkpoint_verify(opts->pubkey, &cp, &valid, msg, sizeof(msg));
	if (rc == P11A_ERR_NOMEM)
		return rc;
	if (rc != P11A_OK) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i, "checkpoint: %s", msg);
		holds = 0;
	} else if (!valid) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i,
			"checkpoint: its signature does not verify with the public key: it was "
			"forged or changed, or another key signed it");
		holds = 0;
	}
	if (cp.seq != r->seq || cp.to_seq + 1 != r->seq || cp.from_seq == 0 ||
	    cp.from_seq > cp.to_seq) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i,
			"checkpoint: its span, records %llu to %llu, does not end right before it",
			(unsigned long long)cp.from_seq, (unsigned long long)cp.to_seq);
		return P11A_OK;
	}
	if (cp.from_seq < prev_cp) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i,
			"checkpoint: its span starts at record %llu, before the previous "
			"checkpoint (record %llu)",
			(unsigned long long)cp.from_seq, (unsigned long long)prev_cp);
		return P11A_OK;
	}
	/* The span: the lines right before it, records to_seq down to from_seq. */
	count = cp.to_seq - cp.from_seq + 1;
	for (k = 0; k < count; k++) {
		uint64_t want = cp.to_seq - k;

		if (first == 0 || !t->ok[first - 1] || t->seg_of[first - 1] != t->seg_of[i] ||
		    t->recs[first - 1].seq != want) {
			problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i,
				"checkpoint: record %llu of its span (records %llu to %llu) is not "
				"%s",
				(unsigned long long)want, (unsigned long long)cp.from_seq,
				(unsigned long long)cp.to_seq,
				first == 0 ? "in the trail"
				: !t->ok[first - 1]
				    ? "there: the line before is damaged"
				    : "on the line before: it was removed or moved");
			return P11A_OK;
		}
		first--;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = P11A_ERR_NOMEM;
		goto out;
	}
	for (j = first; j < i; j++) {
		if (EVP_DigestUpdate(ctx, t->lines[j].p, t->lines[j].len) != 1 ||
		    EVP_DigestUpdate(ctx, "\n", 1) != 1) {
			rc = P11A_ERR_NOMEM;
			goto out;
		}
		covered += t->lines[j].len + 1;
	}
	if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1) {
		rc = P11A_ERR_NOMEM;
		goto out;
	}
	if (covered != cp.input_len || CRYPTO_memcmp(digest, cp.sha256, sizeof(digest)) != 0) {
		problem(res, t, AUDITLOG_CHECKPOINT, r->seq, i,
			"checkpoint: records %llu to %llu (lines %zu to %zu) do not match the "
			"SHA-256 it signs: a record in them was changed",
			(unsigned long long)cp.from_seq, (unsigned long long)cp.to_seq,
			t->lines[first].line_no, t->lines[i - 1].line_no);
		holds = 0;
	}
	if (holds) {
		for (j = first; j <= i; j++)
			t->confirmed[j] = 1;
		res->n_checkpoints++;
	}
	rc = P11A_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Offline: the records that no checkpoint that holds covers, as warnings. */
static void report_unconfirmed(struct auditlog_result *res, struct trail *t)
{
	size_t i, start = SIZE_MAX, last = SIZE_MAX, last_cp = SIZE_MAX;

	if (res->n_checkpoint_records == 0) {
		res->n_confirmed = 0;
		problem(res, t, AUDITLOG_CHECKPOINT, res->first_seq, SIZE_MAX,
			"no checkpoint: nothing can be confirmed offline");
		return;
	}
	for (i = 0; i < t->n; i++)
		if (t->ok[i] && t->confirmed[i])
			last_cp = i;
	for (i = 0; i <= t->n; i++) {
		if (i < t->n && t->ok[i] && !t->confirmed[i]) {
			if (start == SIZE_MAX)
				start = i;
			last = i;
			res->n_confirmed--;
			continue;
		}
		if (i < t->n && !t->ok[i])
			continue;
		if (start == SIZE_MAX)
			continue;
		if (last_cp != SIZE_MAX && start > last_cp && start == last)
			problem(res, t, AUDITLOG_UNCONFIRMED, t->recs[start].seq, start,
				"unconfirmed: record %llu after the last checkpoint is "
				"unconfirmed: no checkpoint signature covers it yet",
				(unsigned long long)t->recs[start].seq);
		else if (last_cp != SIZE_MAX && start > last_cp)
			problem(res, t, AUDITLOG_UNCONFIRMED, t->recs[start].seq, start,
				"unconfirmed: records %llu to %llu after the last checkpoint are "
				"unconfirmed: no checkpoint signature covers them yet",
				(unsigned long long)t->recs[start].seq,
				(unsigned long long)t->recs[last].seq);
		else
			problem(res, t, AUDITLOG_UNCONFIRMED, t->recs[start].seq, start,
				"unconfirmed: records %llu to %llu (lines %zu to %zu) are covered "
				"by no checkpoint that holds",
				(unsigned long long)t->recs[start].seq,
				(unsigned long long)t->recs[last].seq, t->lines[start].line_no,
				t->lines[last].line_no);
		start = SIZE_MAX;
	}
}

/* Sorts the stored problems by line (those on no line last), keeping their order otherwise. */
static void sort_problems(struct auditlog_result *res, struct trail *t)
{
	for (size_t a = 1; a < res->n_problems; a++) {
		struct auditlog_problem p = res->problems[a];
		size_t o = t->order[a], b = a;

		for (; b > 0 && t->order[b - 1] > o; b--) {
			res->problems[b] = res->problems[b - 1];
			t->order[b] = t->order[b - 1];
		}
		res->problems[b] = p;
		t->order[b] = o;
	}
}

int auditlog_verify(const struct auditlog_line *lines, size_t n, const struct auditlog_opts *opts,
		    struct auditlog_result *out)
{
	struct auditlog_result res;
	struct trail t;
	struct auditlog_segment *seg = NULL;
	uint64_t exp = 1, last_cp = 0;
	size_t i, damaged = 0, prev_i = SIZE_MAX;
	int seen_keyed = 0, rc;

	memset(&res, 0, sizeof(res));
	memset(&t, 0, sizeof(t));
	t.lines = lines;
	t.n = n;
	res.intact = 1;
	if ((rc = read_lines(&t, &res)) != P11A_OK)
		goto out;
	/* One keyed record makes the whole trail keyed: the agent never mixes them. */
	for (i = 0; i < n; i++)
		seen_keyed |= t.ok[i] && t.recs[i].keyed;
	for (i = 0; i < n; i++) {
		const struct auditlog_rec *r = &t.recs[i];

		if (!t.ok[i]) {
			problem(&res, &t, AUDITLOG_DAMAGED, exp + damaged, i,
				"damaged: the line is not an audit record");
			damaged++;
			continue;
		}
		if (seg == NULL || t.seg_of[i] != t.seg_of[prev_i]) {
			seg = &res.segments[t.seg_of[i]];
			seg->first_seq = r->seq;
			seg->first_idx = i;
			if (r->seq == 1 && CRYPTO_memcmp(r->prev, zero_mac, sizeof(zero_mac)) != 0)
				problem(&res, &t, AUDITLOG_CHANGED, 1, i,
					"changed: record 1 does not start a chain");
			if (prev_i == SIZE_MAX) {
				res.first_seq = r->seq;
				check_first(&res, &t, opts, i, damaged);
			} else {
				check_new_chain(&res, &t, i, prev_i, damaged, exp);
			}
			exp = r->seq + 1;
			last_cp = 0;
		} else {
			check_order(&res, &t, i, &exp, damaged);
			check_link(&res, &t, i);
		}
		if (!r->keyed && (opts->require_keyed || seen_keyed))
			problem(&res, &t, AUDITLOG_CHANGED, r->seq, i,
				"changed: not keyed (%s), where the chain must be keyed: it was "
				"rewritten without the audit key",
				AUDITLOG_CHAIN_UNKEYED);
		if ((rc = check_mac(&res, &t, opts, i)) != P11A_OK)
			goto out;
		if (auditlog_is_checkpoint(lines[i].p, lines[i].len)) {
			res.n_checkpoint_records++;
			if (opts->pubkey != NULL &&
			    (rc = check_checkpoint(&res, &t, opts, i, &last_cp)) != P11A_OK)
				goto out;
		}
		seg->last_seq = r->seq;
		memcpy(seg->last_mac, r->mac, sizeof(seg->last_mac));
		seg->keyed = r->keyed;
		seg->last_idx = i;
		res.n_records++;
		res.last_seq = r->seq;
		damaged = 0;
		prev_i = i;
	}
	if (opts->pubkey != NULL) {
		res.n_confirmed = res.n_records;
		report_unconfirmed(&res, &t);
	}
	sort_problems(&res, &t);
	*out = res;
	memset(&res, 0, sizeof(res));
	rc = P11A_OK;
out:
	auditlog_result_free(&res);
	trail_free(&t);
	return rc;
}
