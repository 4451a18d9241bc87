/*
 * quota: what each peer uid holds of the agent, against a limit per uid and
 * one for all: connections, and bytes of requests and replies held in
 * memory. Root and the agent's own uid have no per-uid limit (they can stop
 * or trace the agent anyway, and the agent's own batch signers may use every
 * connection); their bytes count towards the limit for all.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_QUOTA_H
#define P11AGENT_QUOTA_H

#include <stddef.h>
#include <stdint.h>

struct quota;

struct quota_limits {
	unsigned conns_per_uid; /* connections one uid may hold at once */
	size_t bytes;		/* bytes all connections may hold together */
	size_t bytes_per_uid;	/* bytes one uid's connections may hold together */
	int self_uid;		/* the agent's own uid: no per-uid limits, as root */
};

/* Which limit refused. */
enum quota_limit {
	QUOTA_PER_UID, /* conns_per_uid or bytes_per_uid */
	QUOTA_ALL,     /* bytes */
	QUOTA_STOPPED, /* quota_stop() was called */
};

/* 1 when uid has no per-uid limits: root and self_uid. */
int quota_exempt(int uid, int self_uid);

/* A new quota with nothing held. P11A_OK, or P11A_ERR_NOMEM. */
int quota_new(const struct quota_limits *lim, struct quota **out_q);
/* Frees q; nothing may be held or waited for any more. NULL is a no-op. */
void quota_free(struct quota *q);

/*
 * Counts one more connection of uid. P11A_OK; P11A_ERR_BUSY when uid holds
 * conns_per_uid already; P11A_ERR_NOMEM. On BUSY, *out_report is how many
 * refusals of uid to log now: the first one, then at most one log line a
 * second with the count since the last (0: say nothing now). now_ms: a
 * monotonic clock in milliseconds.
 */
int quota_conn_take(struct quota *q, int uid, int64_t now_ms, unsigned *out_report);
/* Gives back a connection of uid taken with quota_conn_take(). */
void quota_conn_put(struct quota *q, int uid);

/*
 * Takes len bytes for uid (which holds a connection), waiting for room
 * until deadline_ms on CLOCK_MONOTONIC (a deadline that has passed: no
 * wait). P11A_OK; P11A_ERR_BUSY when there was no room in time, with
 * *out_which the limit that was full and *out_held what uid (QUOTA_PER_UID)
 * or everyone (QUOTA_ALL) held then, or QUOTA_STOPPED; P11A_ERR_NOMEM.
 */
int quota_mem_take(struct quota *q, int uid, size_t len, int64_t deadline_ms,
		   enum quota_limit *out_which, size_t *out_held);
/*
 * Ends every wait in quota_mem_take(), now and later, with P11A_ERR_BUSY and
 * QUOTA_STOPPED (the agent is stopping).
 */
void quota_stop(struct quota *q);
/* Gives back len of the bytes uid took with quota_mem_take(). */
void quota_mem_put(struct quota *q, int uid, size_t len);

/* Bytes uid holds now (uid -1: everyone). */
size_t quota_mem_held(struct quota *q, int uid);

#endif
