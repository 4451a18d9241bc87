/*
 * pinsrc: reads the user PIN for the benchmark's direct paths from a pin
 * source, "file:PATH" (first line) or "env:VAR". The PIN never comes from argv.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_PINSRC_H
#define P11AGENT_BENCH_PINSRC_H

#include <stddef.h>

/* Longest PIN accepted, in bytes. */
#define BENCH_PIN_MAX 256

/*
 * Reads the PIN named by source into out (NUL-terminated, at most
 * BENCH_PIN_MAX bytes) and its length into *out_len. Returns 0, or -1 with a
 * message in msg (never the PIN). The caller wipes out after use.
 */
int pinsrc_read(const char *source, char out[BENCH_PIN_MAX + 1], size_t *out_len, char *msg,
		size_t msg_len);

#endif
