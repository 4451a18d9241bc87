/*
 * metrics: lock-free counters per key and operation (metrics.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "p11agent.h"

/* Twice the pairs: a probe always ends at the pair or at an empty slot. */
#define SLOTS (2 * METRICS_MAX_PAIRS)

struct pair {
	const void *key;
	const char *op;
	uint32_t hash;
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t latency_sum_us;
	atomic_uint_fast64_t errors[METRICS_CODES];
	atomic_uint_fast64_t buckets[METRICS_BUCKETS];
};

struct metrics {
	struct timespec start;
	atomic_size_t n_pairs;		     /* slots claimed, or about to be */
	struct pair other;		     /* the pairs the table has no room for */
	_Atomic(struct pair *) slots[SLOTS]; /* claimed once, never freed before metrics_free() */
};

static void pair_init(struct pair *p, const void *key, const char *op, uint32_t hash)
{
	p->key = key;
	p->op = op;
	p->hash = hash;
	atomic_init(&p->requests, 0);
	atomic_init(&p->latency_sum_us, 0);
	for (size_t i = 0; i < METRICS_CODES; i++)
		atomic_init(&p->errors[i], 0);
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		atomic_init(&p->buckets[i], 0);
}

int metrics_new(struct metrics **out_m)
{
	struct metrics *m;

	if ((m = malloc(sizeof(*m))) == NULL)
		return P11A_ERR_NOMEM;
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	atomic_init(&m->n_pairs, 0);
	pair_init(&m->other, NULL, METRICS_OTHER_OP, 0);
	for (size_t i = 0; i < SLOTS; i++)
		atomic_init(&m->slots[i], NULL);
	*out_m = m;
	return P11A_OK;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < SLOTS; i++)
		free(atomic_load_explicit(&m->slots[i], memory_order_relaxed));
	free(m);
}

uint64_t metrics_uptime_ms(const struct metrics *m)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)(now.tv_sec - m->start.tv_sec) * 1000u +
	       (uint64_t)((now.tv_nsec - m->start.tv_nsec) / 1000000L);
}

/* FNV-1a of the operation's name, mixed with the key's address. */
static uint32_t pair_hash(const void *key, const char *op)
{
	uint32_t h = 2166136261u;
	uint64_t k = (uint64_t)(uintptr_t)key;

	for (const unsigned char *s = (const unsigned char *)op; *s != '\0'; s++)
		h = (h ^ *s) * 16777619u;
	k = (k >> 4) * 0x9e3779b97f4a7c15u;
	return h ^ (uint32_t)(k >> 32);
}

/* Takes back a claim on a slot that was not used. */
static void unclaim(struct metrics *m, struct pair *fresh)
{
	free(fresh);
	atomic_fetch_sub_explicit(&m->n_pairs, 1, memory_order_relaxed);
}

/*
 * The pair of key and op: found, or made and put in the first empty slot of
 * its probe with a compare-and-swap (a thread that loses the race takes the
 * winner's). When the table is full, or memory is out, the "other" pair.
 */
static struct pair *find(struct metrics *m, const void *key, const char *op)
{
	uint32_t h = pair_hash(key, op);
	struct pair *fresh = NULL, *p;
	size_t i = h & (SLOTS - 1);

	for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		p = atomic_load_explicit(&m->slots[i], memory_order_acquire);
		if (p == NULL) {
			if (fresh == NULL) {
				if (atomic_fetch_add_explicit(&m->n_pairs, 1,
							      memory_order_relaxed) >=
				    METRICS_MAX_PAIRS) {
					unclaim(m, NULL);
					return &m->other;
				}
				if ((fresh = malloc(sizeof(*fresh))) == NULL) {
					unclaim(m, NULL);
					return &m->other;
				}
				pair_init(fresh, key, op, h);
			}
			if (atomic_compare_exchange_strong_explicit(&m->slots[i], &p, fresh,
								    memory_order_acq_rel,
								    memory_order_acquire))
				return fresh;
			/* Another thread took the slot first: p is its pair. */
		}
		if (p->hash == h && p->key == key && strcmp(p->op, op) == 0) {
			if (fresh != NULL)
				unclaim(m, fresh);
			return p;
		}
	}
	if (fresh != NULL)
		unclaim(m, fresh);
	return &m->other;
}

unsigned metrics_bucket(uint64_t us)
{
	unsigned e, b;

	if (us < 8)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us); /* 2^e <= us < 2^(e+1), e >= 3 */
	b = 4u * (e - 1u) + (unsigned)((us >> (e - 2u)) & 3u);
	return b < METRICS_BUCKETS ? b : METRICS_BUCKETS - 1;
}

uint64_t metrics_bucket_max(unsigned b)
{
	unsigned e;

	if (b < 8)
		return b;
	if (b >= METRICS_BUCKETS)
		b = METRICS_BUCKETS - 1;
	e = b / 4u + 1u;
	return ((uint64_t)(5u + b % 4u) << (e - 2u)) - 1u;
}

uint64_t metrics_quantile(const uint64_t counts[METRICS_BUCKETS], double q)
{
	uint64_t n = 0, rank, seen = 0;

	for (unsigned b = 0; b < METRICS_BUCKETS; b++)
		n += counts[b];
	if (n == 0)
		return 0;
	/* ceil(q * n), without a rounding error making 0.99 * 1000 into 991 */
	rank = (uint64_t)(q * (double)n);
	if ((double)rank + 1e-6 < q * (double)n)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned b = 0; b < METRICS_BUCKETS; b++) {
		seen += counts[b];
		if (seen >= rank)
			return metrics_bucket_max(b);
	}
	return metrics_bucket_max(METRICS_BUCKETS - 1);
}

void metrics_record(struct metrics *m, const void *key, const char *op, int status,
		    uint64_t latency_us)
{
	struct pair *p;

	if (m == NULL)
		return;
	p = find(m, key, op);
	atomic_fetch_add_explicit(&p->buckets[metrics_bucket(latency_us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->latency_sum_us, latency_us, memory_order_relaxed);
	if (status != P11A_OK) {
		int code = status > 0 && status < METRICS_CODES ? status : P11A_ERR_INTERNAL;

		atomic_fetch_add_explicit(&p->errors[code], 1, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&p->requests, 1, memory_order_relaxed);
}

static void read_pair(const struct pair *p, struct metrics_pair *out)
{
	uint64_t counts[METRICS_BUCKETS];

	memset(out, 0, sizeof(*out));
	out->key = p->key;
	out->op = p->op;
	out->requests = atomic_load_explicit(&p->requests, memory_order_relaxed);
	out->latency_sum_us = atomic_load_explicit(&p->latency_sum_us, memory_order_relaxed);
	for (size_t i = 1; i < METRICS_CODES; i++)
		out->errors[i] = atomic_load_explicit(&p->errors[i], memory_order_relaxed);
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		counts[i] = atomic_load_explicit(&p->buckets[i], memory_order_relaxed);
	out->latency_p50_us = metrics_quantile(counts, 0.5);
	out->latency_p99_us = metrics_quantile(counts, 0.99);
}

int metrics_next(const struct metrics *m, size_t *i, struct metrics_pair *out)
{
	const struct pair *p;

	while (*i < SLOTS) {
		p = atomic_load_explicit(&m->slots[(*i)++], memory_order_acquire);
		if (p != NULL) {
			read_pair(p, out);
			return 1;
		}
	}
	if (*i == SLOTS) {
		(*i)++;
		if (atomic_load_explicit(&m->other.requests, memory_order_relaxed) > 0) {
			read_pair(&m->other, out);
			return 1;
		}
	}
	return 0;
}
