#include "config.h"
/*
 * fuzz-audit: the audit trail check (proto/auditverify.c, auditcp.c and the
 * field reader of auditlog.c) on hostile text, one line per input line,
 * online (no check function: keyed MACs unchecked) and offline (with an EC
 * key made once, which signed none of the checkpoints).
 *
 * Besides "no crash, no leak", it checks the result's promises: intact only
 * without failures, problems stored up to the bound and all counted, places
 * on lines that exist, segments within the lines, and offline no more
 * records confirmed than read.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auditlog.h"
#include "p11agent.h"

#include "fuzz.h"

#define NAME "fuzz.log"
/* Most lines one input is cut into. */
#define MAX_LINES 4096

static EVP_PKEY *key;

static void check_result(const struct auditlog_result *res, const struct auditlog_line *lines,
			 size_t n, int offline)
{
	FUZZ_CHECK(res->intact == (res->n_failures == 0));
	FUZZ_CHECK(res->n_problems <= AUDITLOG_MAX_PROBLEMS);
	FUZZ_CHECK(res->n_problems <= res->n_failures + res->n_warnings);
	FUZZ_CHECK(res->n_problems == AUDITLOG_MAX_PROBLEMS ||
		   res->n_problems == res->n_failures + res->n_warnings);
	FUZZ_CHECK(res->n_records <= n);
	for (size_t i = 0; i < res->n_problems; i++) {
		const struct auditlog_problem *p = &res->problems[i];

		FUZZ_CHECK(p->file == NULL || p->file == lines[0].file);
		FUZZ_CHECK(p->file == NULL || (p->line >= 1 && p->line <= n));
		FUZZ_CHECK(p->warning == (p->kind == AUDITLOG_UNCONFIRMED));
		FUZZ_CHECK(memchr(p->what, '\0', sizeof(p->what)) != NULL);
		/* In line order, those on no line last. */
		if (i > 0 && p->file != NULL)
			FUZZ_CHECK(res->problems[i - 1].file != NULL &&
				   res->problems[i - 1].line <= p->line);
	}
	FUZZ_CHECK((res->n_segments == 0) == (res->n_records == 0));
	for (size_t i = 0; i < res->n_segments; i++) {
		const struct auditlog_segment *s = &res->segments[i];

		FUZZ_CHECK(s->first_idx <= s->last_idx && s->last_idx < n);
		FUZZ_CHECK(i == 0 || res->segments[i - 1].last_idx < s->first_idx);
	}
	FUZZ_CHECK(res->n_checkpoints <= res->n_checkpoint_records);
	FUZZ_CHECK(res->n_confirmed <= res->n_records);
	if (!offline)
		FUZZ_CHECK(res->n_confirmed == 0 && res->n_checkpoints == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct auditlog_line lines[MAX_LINES];
	struct auditlog_result res;
	struct auditlog_opts opts;
	const char *p = (const char *)data, *end = p + size;
	size_t n = 0;

	if (key == NULL && (key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		abort();
	while (p < end && n < MAX_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		lines[n].p = p;
		lines[n].len = len;
		lines[n].file = NAME;
		lines[n].line_no = n + 1;
		n++;
		p += len + 1;
	}
	for (int offline = 0; offline <= 1; offline++) {
		memset(&opts, 0, sizeof(opts));
		opts.pubkey = offline ? key : NULL;
		opts.partial = (size & 1) != 0;
		opts.require_keyed = (size & 2) != 0;
		memset(&res, 0, sizeof(res));
		FUZZ_CHECK(auditlog_verify(lines, n, &opts, &res) == P11A_OK);
		check_result(&res, lines, n, offline);
		auditlog_result_free(&res);
	}
	return 0;
}
