/*
 * quota: per-uid and global counts of connections and bytes held. See
 * quota.h.
 *
 * One lock guards everything. A uid has an entry while it holds a
 * connection or bytes, or waits for bytes; entries are allocated one by
 * one (their condition variables must not move) and found by a linear
 * search: a machine has few uids that talk to the agent at once. A taker
 * that waits for its uid's share waits on the uid's condition variable, one
 * that waits for the global room on the global one, so that one uid's
 * returns do not wake every other uid's waiters.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "p11agent.h"
#include "quota.h"

struct quota_uid {
	int uid;
	unsigned conns;
	size_t bytes;
	unsigned waiters;    /* threads waiting in quota_mem_take for this uid */
	pthread_cond_t room; /* signalled when this uid gives bytes back */
	unsigned refused;    /* connections refused since the last log line */
	int64_t logged_ms;   /* when the last log line about refusals was due */
	int has_logged;
};

struct quota {
	struct quota_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t room; /* signalled when bytes are given back: the global room */
	unsigned global_waiters;
	int stopped;  /* quota_stop(): no more waiting */
	size_t bytes; /* held by everyone */
	struct quota_uid **uids;
	size_t n_uids, alloc_uids;
};

int quota_exempt(int uid, int self_uid)
{
	return uid == 0 || uid == self_uid;
}

/* Initializes a condition variable that waits on CLOCK_MONOTONIC. */
static int cond_init(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
		     pthread_cond_init(c, &attr) == 0
		 ? 0
		 : -1;
	pthread_condattr_destroy(&attr);
	return rc;
}

int quota_new(const struct quota_limits *lim, struct quota **out_q)
{
	struct quota *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return P11A_ERR_NOMEM;
	q->lim = *lim;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return P11A_ERR_NOMEM;
	}
	if (cond_init(&q->room) != 0) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return P11A_ERR_NOMEM;
	}
	*out_q = q;
	return P11A_OK;
}

void quota_free(struct quota *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n_uids; i++) {
		pthread_cond_destroy(&q->uids[i]->room);
		free(q->uids[i]);
	}
	free(q->uids);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The entry of uid (lock held), made when create is set; NULL when none (or out of memory). */
static struct quota_uid *find(struct quota *q, int uid, int create)
{
	struct quota_uid *e;

	for (size_t i = 0; i < q->n_uids; i++)
		if (q->uids[i]->uid == uid)
			return q->uids[i];
	if (!create)
		return NULL;
	if (q->n_uids == q->alloc_uids) {
		size_t n = q->alloc_uids ? q->alloc_uids * 2 : 8;
		struct quota_uid **bigger = realloc(q->uids, n * sizeof(*bigger));

		if (bigger == NULL)
			return NULL;
		q->uids = bigger;
		q->alloc_uids = n;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if (cond_init(&e->room) != 0) {
		free(e);
		return NULL;
	}
	e->uid = uid;
	q->uids[q->n_uids++] = e;
	return e;
}

/* Drops the entry of a uid that holds and waits for nothing any more (lock held). */
static void forget_if_idle(struct quota *q, struct quota_uid *e)
{
	if (e->conns > 0 || e->bytes > 0 || e->waiters > 0)
		return;
	for (size_t i = 0; i < q->n_uids; i++) {
		if (q->uids[i] == e) {
			q->uids[i] = q->uids[--q->n_uids];
			break;
		}
	}
	pthread_cond_destroy(&e->room);
	free(e);
}

int quota_conn_take(struct quota *q, int uid, int64_t now_ms, unsigned *out_report)
{
	struct quota_uid *e;
	int rc = P11A_OK;

	pthread_mutex_lock(&q->lock);
	if ((e = find(q, uid, 1)) == NULL) {
		rc = P11A_ERR_NOMEM;
		goto out;
	}
	if (!quota_exempt(uid, q->lim.self_uid) && e->conns >= q->lim.conns_per_uid) {
		e->refused++;
		*out_report = 0;
		if (!e->has_logged || now_ms - e->logged_ms >= 1000) {
			*out_report = e->refused;
			e->refused = 0;
			e->logged_ms = now_ms;
			e->has_logged = 1;
		}
		rc = P11A_ERR_BUSY;
		goto out;
	}
	e->conns++;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void quota_conn_put(struct quota *q, int uid)
{
	struct quota_uid *e;

	pthread_mutex_lock(&q->lock);
	if ((e = find(q, uid, 0)) != NULL && e->conns > 0) {
		e->conns--;
		forget_if_idle(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Which limit len more bytes of e would pass (lock held); -1: none. */
static int full(const struct quota *q, const struct quota_uid *e, size_t len)
{
	if (!quota_exempt(e->uid, q->lim.self_uid) &&
	    (len > q->lim.bytes_per_uid || e->bytes > q->lim.bytes_per_uid - len))
		return QUOTA_PER_UID;
	if (len > q->lim.bytes || q->bytes > q->lim.bytes - len)
		return QUOTA_ALL;
	return -1;
}

int quota_mem_take(struct quota *q, int uid, size_t len, int64_t deadline_ms,
		   enum quota_limit *out_which, size_t *out_held)
{
	struct timespec until = {.tv_sec = deadline_ms / 1000,
				 .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
	struct quota_uid *e;
	int which, timed_out = 0;

	pthread_mutex_lock(&q->lock);
	if ((e = find(q, uid, 1)) == NULL) {
		pthread_mutex_unlock(&q->lock);
		return P11A_ERR_NOMEM;
	}
	while ((which = full(q, e, len)) >= 0 && !timed_out) {
		/* More than a limit can ever hold: no use waiting. */
		if (len > q->lim.bytes || (which == QUOTA_PER_UID && len > q->lim.bytes_per_uid))
			break;
		if (q->stopped) {
			which = QUOTA_STOPPED;
			break;
		}
		if (which == QUOTA_PER_UID) {
			e->waiters++;
			timed_out = pthread_cond_timedwait(&e->room, &q->lock, &until) == ETIMEDOUT;
			e->waiters--;
		} else {
			q->global_waiters++;
			timed_out = pthread_cond_timedwait(&q->room, &q->lock, &until) == ETIMEDOUT;
			q->global_waiters--;
		}
	}
	if (which >= 0) {
		*out_which = (enum quota_limit)which;
		*out_held = which == QUOTA_PER_UID ? e->bytes : q->bytes;
		if (q->stopped)
			*out_which = QUOTA_STOPPED;
		forget_if_idle(q, e);
		pthread_mutex_unlock(&q->lock);
		return P11A_ERR_BUSY;
	}
	e->bytes += len;
	q->bytes += len;
	pthread_mutex_unlock(&q->lock);
	return P11A_OK;
}

void quota_stop(struct quota *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = 1;
	pthread_cond_broadcast(&q->room);
	for (size_t i = 0; i < q->n_uids; i++)
		pthread_cond_broadcast(&q->uids[i]->room);
	pthread_mutex_unlock(&q->lock);
}

void quota_mem_put(struct quota *q, int uid, size_t len)
{
	struct quota_uid *e;

	if (len == 0)
		return;
	pthread_mutex_lock(&q->lock);
	if ((e = find(q, uid, 0)) != NULL) {
		len = len < e->bytes ? len : e->bytes;
		e->bytes -= len;
		q->bytes -= len;
		if (e->waiters > 0)
			pthread_cond_broadcast(&e->room);
		if (q->global_waiters > 0)
			pthread_cond_broadcast(&q->room);
		forget_if_idle(q, e);
	}
	pthread_mutex_unlock(&q->lock);
}

size_t quota_mem_held(struct quota *q, int uid)
{
	struct quota_uid *e;
	size_t held = 0;

	pthread_mutex_lock(&q->lock);
	if (uid < 0)
		held = q->bytes;
	else if ((e = find(q, uid, 0)) != NULL)
		held = e->bytes;
	pthread_mutex_unlock(&q->lock);
	return held;
}
