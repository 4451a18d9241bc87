/*
 * report: ops/s, p50 and p99 latency and the ratio to direct, per path.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <string.h>

#include "report.h"

/* s as a JSON string, quotes included. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void report_write(FILE *f, const struct report_run *r, struct run_path *paths, size_t num_paths)
{
	double direct = 0, ops_s, p50, p99;
	int w = 6; /* width of the path column */
	unsigned inflight;
	size_t i;

	for (i = 0; i < num_paths; i++) {
		if ((int)strlen(paths[i].name) > w)
			w = (int)strlen(paths[i].name);
		if (strcmp(paths[i].name, "direct") == 0 && paths[i].seconds > 0)
			direct = (double)paths[i].ops / paths[i].seconds;
	}
	if (!r->json)
		fprintf(f, "%-*s %-16s %-7s %7s %5s %8s %10s %9s %9s %8s\n", w, "path", "alg", "op",
			"clients", "batch", "inflight", "ops/s", "p50_us", "p99_us", "ratio");
	for (i = 0; i < num_paths; i++) {
		ops_s = paths[i].seconds > 0 ? (double)paths[i].ops / paths[i].seconds : 0;
		p50 = stats_quantile_us(&paths[i].lat, 0.50);
		p99 = stats_quantile_us(&paths[i].lat, 0.99);
		/* Only the agent path keeps several requests in flight. */
		inflight = paths[i].kind == RUN_AGENT ? r->inflight : 1;
		if (!r->json) {
			fprintf(f, "%-*s %-16s %-7s %7u %5u %8u %10.1f %9.1f %9.1f ", w,
				paths[i].name, r->alg, r->op, r->clients, r->batch, inflight, ops_s,
				p50, p99);
			if (direct > 0)
				fprintf(f, "%7.3fx\n", ops_s / direct);
			else
				fprintf(f, "%8s\n", "-");
			continue;
		}
		fputs("{\"path\": ", f);
		json_string(f, paths[i].name);
		fputs(", \"alg\": ", f);
		json_string(f, r->alg);
		fputs(", \"op\": ", f);
		json_string(f, r->op);
		fputs(", \"key\": ", f);
		json_string(f, r->key);
		fprintf(f,
			", \"clients\": %u, \"ops_per_s\": %.1f, \"batch\": %u, \"inflight\": %u, "
			"\"p50_us\": %.1f, \"p99_us\": %.1f, \"ratio_to_direct\": ",
			r->clients, ops_s, r->batch, inflight, p50, p99);
		if (direct > 0)
			fprintf(f, "%.3f}\n", ops_s / direct);
		else
			fputs("null}\n", f);
	}
	fflush(f);
}
