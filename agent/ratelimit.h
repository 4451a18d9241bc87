/*
 * ratelimit: at most so many audit records a second, per peer uid, of the
 * requests that use no key: those the agent refuses before any key is used
 * (denied by the policy, malformed, unknown, for a key that does not exist
 * or is hidden, before HELLO, ...) and key lists.
 * Beyond that, such requests are still answered but counted instead of
 * recorded, and one summary record a second per uid says how many were left
 * out: op "audit-suppressed", detail {"uid":U,"suppressed":N}, written by the
 * agent as itself, and the log says "uid U: N more denied or keyless
 * requests suppressed". Requests that use a key are always recorded, and so are all
 * of root's and the agent's own uid's.
 *
 * A uid's second starts at its first refusal; a summary is written when that
 * second is over, by the next refusal of the uid or by a thread of the
 * limiter's own (ratelimit_start), and at the latest by ratelimit_free().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_RATELIMIT_H
#define P11AGENT_RATELIMIT_H

#include <stdint.h>

#include "audit.h"

/* How long the reply to a refused request beyond the limit is held back (caller.h). */
#define RATELIMIT_DELAY_MS 10

struct ratelimit;

/*
 * A limiter of per_sec records a second per uid (at least 1) that writes its
 * summaries to audit; self_uid is the agent's own. P11A_OK, or
 * P11A_ERR_NOMEM.
 */
int ratelimit_new(unsigned per_sec, int self_uid, struct audit *audit, struct ratelimit **out_rl);
/*
 * Starts the thread that writes the summaries that are due. P11A_OK, or
 * P11A_ERR_INTERNAL with a message.
 */
int ratelimit_start(struct ratelimit *rl, char *msg, size_t msg_len);
/*
 * Counts a refused request of uid at now_ms (CLOCK_MONOTONIC). Returns 1
 * when its record is to be written (after a summary that was due, written
 * here), 0 when it is counted instead. A NULL rl returns 1.
 */
int ratelimit_record(struct ratelimit *rl, int uid, int64_t now_ms);
/*
 * Writes the summaries due at now_ms. Returns when the next one is due
 * (CLOCK_MONOTONIC ms), or -1 when none is pending.
 */
int64_t ratelimit_tick(struct ratelimit *rl, int64_t now_ms);
/*
 * Writes every summary still pending, its second over or not (at exit,
 * when requests may still be in flight). NULL is a no-op.
 */
void ratelimit_flush(struct ratelimit *rl);
/* Stops the thread, writes every summary still pending, and frees rl. NULL is a no-op. */
void ratelimit_free(struct ratelimit *rl);

#endif
