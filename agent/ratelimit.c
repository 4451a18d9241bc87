/*
 * ratelimit: records of refused requests, per uid and second. See
 * ratelimit.h.
 *
 * One lock guards the table of uids refused in the last second; the
 * summaries are written under it (the lock order is this lock, then the
 * audit trail's). The thread sleeps while no summary is pending.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "quota.h"
#include "ratelimit.h"

/* The length of a uid's counting window. */
#define RATELIMIT_WINDOW_MS 1000

struct window {
	int uid;
	int64_t start_ms;    /* the uid's first refusal in this window */
	unsigned count;	     /* refusals in this window */
	uint64_t suppressed; /* refusals not recorded, not yet summarized */
};

struct ratelimit {
	unsigned per_sec;
	int self_uid;
	struct audit *audit;
	struct caller self; /* the agent, as the peer of its summary records */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a summary became pending, or stop */
	pthread_t thread;
	int started, stop;
	struct window *w;
	size_t n, alloc;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ratelimit_new(unsigned per_sec, int self_uid, struct audit *audit, struct ratelimit **out_rl)
{
	struct ratelimit *rl;
	pthread_condattr_t attr;
	ssize_t n;

	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return P11A_ERR_NOMEM;
	rl->per_sec = per_sec > 0 ? per_sec : 1;
	rl->self_uid = self_uid;
	rl->audit = audit;
	rl->self.uid = (int)getuid();
	rl->self.gid = (int)getgid();
	rl->self.pid = (int)getpid();
	n = readlink("/proc/self/exe", rl->self.exe, sizeof(rl->self.exe) - 1);
	rl->self.exe[n > 0 ? n : 0] = '\0';
	pthread_mutex_init(&rl->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rl->wake, &attr);
	pthread_condattr_destroy(&attr);
	*out_rl = rl;
	return P11A_OK;
}

/* Writes the summary of w (lock held); 0, or -1 when the trail refused it (w is kept). */
static int summarize(struct ratelimit *rl, struct window *w)
{
	char detail[64];
	struct audit_record rec;

	snprintf(detail, sizeof(detail), "{\"uid\":%d,\"suppressed\":%llu}", w->uid,
		 (unsigned long long)w->suppressed);
	memset(&rec, 0, sizeof(rec));
	rec.peer = &rl->self;
	rec.op = "audit-suppressed";
	rec.status = P11A_OK;
	rec.detail = detail;
	log_warn("uid %d: %llu more denied or keyless requests suppressed", w->uid,
		 (unsigned long long)w->suppressed);
	if (audit_write(rl->audit, &rec) != P11A_OK)
		return -1;
	w->suppressed = 0;
	return 0;
}

/* ratelimit_tick() with the lock held. */
static int64_t tick_locked(struct ratelimit *rl, int64_t now)
{
	int64_t next = -1;
	size_t i = 0;

	while (i < rl->n) {
		struct window *w = &rl->w[i];

		if (now - w->start_ms >= RATELIMIT_WINDOW_MS) {
			if (w->suppressed > 0 && summarize(rl, w) != 0)
				w->start_ms = now; /* the trail failed: try again in a window */
			if (w->suppressed == 0) {
				rl->w[i] = rl->w[--rl->n];
				continue;
			}
		}
		if (w->suppressed > 0 && (next < 0 || w->start_ms + RATELIMIT_WINDOW_MS < next))
			next = w->start_ms + RATELIMIT_WINDOW_MS;
		i++;
	}
	return next;
}

int64_t ratelimit_tick(struct ratelimit *rl, int64_t now)
{
	int64_t next;

	pthread_mutex_lock(&rl->lock);
	next = tick_locked(rl, now);
	pthread_mutex_unlock(&rl->lock);
	return next;
}

void ratelimit_flush(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_lock(&rl->lock);
	for (size_t i = 0; i < rl->n; i++)
		if (rl->w[i].suppressed > 0)
			(void)summarize(rl, &rl->w[i]);
	pthread_mutex_unlock(&rl->lock);
}

int ratelimit_record(struct ratelimit *rl, int uid, int64_t now)
{
	struct window *w = NULL;
	int write = 1;

	if (rl == NULL || quota_exempt(uid, rl->self_uid))
		return 1;
	pthread_mutex_lock(&rl->lock);
	for (size_t i = 0; i < rl->n && w == NULL; i++)
		if (rl->w[i].uid == uid)
			w = &rl->w[i];
	if (w != NULL && now - w->start_ms >= RATELIMIT_WINDOW_MS) {
		/* The window is over: its summary goes before this record. */
		if (w->suppressed == 0 || summarize(rl, w) == 0) {
			w->start_ms = now;
			w->count = 0;
		}
	}
	if (w == NULL) {
		if (rl->n == rl->alloc) {
			size_t n = rl->alloc ? rl->alloc * 2 : 8;
			struct window *bigger = realloc(rl->w, n * sizeof(*bigger));

			if (bigger == NULL)
				goto out; /* out of memory: the record is written */
			rl->w = bigger;
			rl->alloc = n;
		}
		w = &rl->w[rl->n++];
		memset(w, 0, sizeof(*w));
		w->uid = uid;
		w->start_ms = now;
	}
	if (++w->count > rl->per_sec) {
		if (w->suppressed++ == 0)
			pthread_cond_signal(&rl->wake);
		write = 0;
	}
out:
	pthread_mutex_unlock(&rl->lock);
	return write;
}

static void *run(void *arg)
{
	struct ratelimit *rl = arg;

	pthread_mutex_lock(&rl->lock);
	while (!rl->stop) {
		int64_t next = tick_locked(rl, now_ms());

		if (next < 0) {
			pthread_cond_wait(&rl->wake, &rl->lock);
		} else {
			struct timespec until = {.tv_sec = next / 1000,
						 .tv_nsec = (long)(next % 1000) * 1000000};

			pthread_cond_timedwait(&rl->wake, &rl->lock, &until);
		}
	}
	pthread_mutex_unlock(&rl->lock);
	return NULL;
}

int ratelimit_start(struct ratelimit *rl, char *msg, size_t msg_len)
{
	sigset_t all, old;
	int rc;

	/* Signals go to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&rl->thread, NULL, run, rl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(msg, msg_len, "cannot start the audit summary thread: %s", strerror(rc));
		return P11A_ERR_INTERNAL;
	}
	rl->started = 1;
	return P11A_OK;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_lock(&rl->lock);
	rl->stop = 1;
	pthread_cond_signal(&rl->wake);
	pthread_mutex_unlock(&rl->lock);
	if (rl->started)
		pthread_join(rl->thread, NULL);
	ratelimit_flush(rl);
	pthread_cond_destroy(&rl->wake);
	pthread_mutex_destroy(&rl->lock);
	free(rl->w);
	free(rl);
}
