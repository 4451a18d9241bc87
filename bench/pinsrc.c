/*
 * pinsrc: the PIN of the benchmark's direct paths, from a file or a variable.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinsrc.h"

int pinsrc_read(const char *source, char out[BENCH_PIN_MAX + 1], size_t *out_len, char *msg,
		size_t msg_len)
{
	char buf[BENCH_PIN_MAX + 2];
	const char *v;
	FILE *f = NULL;
	size_t n;
	int ret = -1;

	if (strncmp(source, "env:", 4) == 0) {
		if ((v = getenv(source + 4)) == NULL || *v == '\0') {
			snprintf(msg, msg_len, "pin source %s: variable unset or empty", source);
			goto out;
		}
		n = strlen(v);
		if (n > BENCH_PIN_MAX) {
			snprintf(msg, msg_len, "pin source %s: too long", source);
			goto out;
		}
		memcpy(buf, v, n + 1);
	} else if (strncmp(source, "file:", 5) == 0) {
		if ((f = fopen(source + 5, "r")) == NULL) {
			snprintf(msg, msg_len, "pin source %s: %s", source, strerror(errno));
			goto out;
		}
		if (fgets(buf, sizeof(buf), f) == NULL) {
			snprintf(msg, msg_len, "pin source %s: empty", source);
			goto out;
		}
		n = strcspn(buf, "\r\n");
		if (n > BENCH_PIN_MAX) {
			snprintf(msg, msg_len, "pin source %s: too long", source);
			goto out;
		}
		buf[n] = '\0';
	} else {
		snprintf(msg, msg_len, "pin source %s: expected file:PATH or env:VAR", source);
		goto out;
	}
	if (n == 0) {
		snprintf(msg, msg_len, "pin source %s: empty", source);
		goto out;
	}
	memcpy(out, buf, n + 1);
	*out_len = n;
	ret = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	if (f != NULL)
		fclose(f);
	return ret;
}
