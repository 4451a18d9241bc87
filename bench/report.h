/*
 * report: the benchmark's results as a table or as JSON lines.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_REPORT_H
#define P11AGENT_BENCH_REPORT_H

#include <stdio.h>

#include "run.h"

/* What is common to every line of one run. */
struct report_run {
	const char *alg; /* "ecdsa-sha256", "ping" */
	const char *op;	 /* "sign", "decrypt", "unwrap", "ping" */
	const char *key; /* "" for ping */
	unsigned clients;
	unsigned batch;	   /* items per request: ops/s counts items, latencies requests */
	unsigned inflight; /* requests in flight per client on the agent path (others: 1) */
	int json;
};

/*
 * Writes one line per path to f (a header first for the table). The ratio is
 * each path's ops/s over the "direct" path's, when that path ran.
 */
void report_write(FILE *f, const struct report_run *r, struct run_path *paths, size_t num_paths);

#endif
