/*
 * metrics: what the agent counts for `p11agent status`: per key and
 * operation, the requests, their errors by protocol code, and a histogram
 * of their latencies, since the agent started.
 *
 * Recording (metrics_record(), on every request's path) takes no lock: a
 * (key, operation) pair finds its counters in a fixed open-addressing table
 * whose slots are claimed once, with a compare-and-swap, and never freed;
 * the counters are C11 atomics added to with relaxed order. A key is its
 * struct token_key's address, which a key keeps for the agent's life (a
 * re-index keeps the keys that are still there: token.h), so the counts of
 * a key that survives a reload go on. Reading (metrics_next()) sees each
 * counter on its own: a status taken while requests run may be off by the
 * requests in flight, never by more.
 *
 * Latencies, in microseconds, fall into METRICS_BUCKETS log-scale buckets:
 * one per microsecond below 8 us, then four per doubling (each bucket at
 * most 25% wider than its lowest value), up to 2^33 us (about 2.4 hours),
 * where the last bucket takes everything longer. A quantile is the largest
 * value its bucket holds: never below the true value, at most 25% above it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_METRICS_H
#define P11AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

#define METRICS_BUCKETS 128
/* Error codes counted apart: the wire's, 1 to 63; others count as INTERNAL (p11agent.h). */
#define METRICS_CODES P11A_STATUS_CODES
/* Most (key, operation) pairs counted apart; later ones count in one "other" pair. */
#define METRICS_MAX_PAIRS 4096
/* The operation name of that pair. */
#define METRICS_OTHER_OP "other"

struct metrics;

/* Makes the counters, all zero, and notes the start (CLOCK_MONOTONIC). P11A_OK or P11A_ERR_NOMEM.
 */
int metrics_new(struct metrics **out_m);
/* Frees m. NULL is a no-op. */
void metrics_free(struct metrics *m);

/*
 * Counts one answered request: key (an address that names the key for the
 * agent's life; NULL: the request named none), op (a name that lives as
 * long as m: the protocol table's), its status (P11A_OK or an error code)
 * and its latency. m NULL is a no-op. Lock-free.
 */
void metrics_record(struct metrics *m, const void *key, const char *op, int status,
		    uint64_t latency_us);

/* Milliseconds since metrics_new(). */
uint64_t metrics_uptime_ms(const struct metrics *m);

/* One (key, operation) pair as read. */
struct metrics_pair {
	const void *key; /* as given to metrics_record() */
	const char *op;
	uint64_t requests;
	uint64_t errors[METRICS_CODES]; /* by code; errors[0] is always 0 */
	uint64_t latency_sum_us;
	uint64_t latency_p50_us; /* 0 when no request was timed */
	uint64_t latency_p99_us;
};

/*
 * Reads the next pair, *i starting at 0: 1 and *out, or 0 at the end. The
 * order is the table's, not the order of first use.
 */
int metrics_next(const struct metrics *m, size_t *i, struct metrics_pair *out);

/*
 * The histogram, for the tests and the documentation: the bucket of a
 * latency, the largest latency a bucket holds, and the q-quantile (0 < q <=
 * 1) of counts (METRICS_BUCKETS of them): the largest value of the bucket
 * that holds the ceil(q * n)-th smallest of the n latencies; 0 when n is 0.
 */
unsigned metrics_bucket(uint64_t latency_us);
uint64_t metrics_bucket_max(unsigned bucket);
uint64_t metrics_quantile(const uint64_t counts[METRICS_BUCKETS], double q);

#endif
