/*
 * token-status: what `p11agent status` shows of the token (token.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "token-impl.h"

/* The longest status waits for a re-index or a recovery that holds the token. */
#define STATUS_WAIT_MS 100L

/* A blank-padded CK_TOKEN_INFO field, without its padding, into out (len + 1 bytes). */
static void unpad(char *out, const CK_UTF8CHAR *field, size_t len)
{
	while (len > 0 && (field[len - 1] == ' ' || field[len - 1] == '\0'))
		len--;
	memcpy(out, field, len);
	out[len] = '\0';
}

void token_status(struct token *tok, struct token_status *out)
{
	struct timespec until;

	memset(out, 0, sizeof(*out));
	out->recoveries = atomic_load_explicit(&tok->recoveries, memory_order_relaxed);
	out->state = P11A_TOKEN_RECOVERING;
	if (atomic_load(&tok->recovering) > 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += STATUS_WAIT_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_rwlock_clockrdlock(&tok->use, CLOCK_MONOTONIC, &until) != 0)
		return;
	/* Under the lock: a re-initialisation rewrites tinfo. */
	unpad(out->label, tok->tinfo.label, sizeof(tok->tinfo.label));
	unpad(out->serial, tok->tinfo.serialNumber, sizeof(tok->tinfo.serialNumber));
	out->state = tok->state == TOKEN_UP ? P11A_TOKEN_READY : P11A_TOKEN_AWAY;
	if (tok->pool != NULL)
		pool_usage(tok->pool, &out->sessions_in_use, &out->sessions);
	pthread_rwlock_unlock(&tok->use);
}
