/*
 * fuzz.h: what every fuzz target defines, and its one way to fail.
 *
 * Each target is built twice: with libFuzzer (-fsanitize=fuzzer, which brings
 * its own main) when configured with --enable-fuzzing, and with driver.c,
 * which runs it over files so that the seed corpus runs under `make check`.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_FUZZ_H
#define P11AGENT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, and abort so that the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
