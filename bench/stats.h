/*
 * stats: per-operation latencies of one benchmark path, and their
 * percentiles.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_STATS_H
#define P11AGENT_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* A growing array of latencies in nanoseconds. Zero-initialise before use. */
struct stats {
	uint64_t *ns;
	size_t num;
	size_t cap;
};

/* Appends one latency. Returns 0, or -1 when out of memory. */
int stats_add(struct stats *s, uint64_t ns);
/* Moves every sample of from into to (from is emptied). Returns 0 or -1. */
int stats_merge(struct stats *to, struct stats *from);
/*
 * Sorts the samples and returns the q-quantile (0 < q <= 1, nearest rank)
 * in microseconds; 0 when there is no sample.
 */
double stats_quantile_us(struct stats *s, double q);
/* Frees the samples; the struct may be reused. */
void stats_free(struct stats *s);

#endif
