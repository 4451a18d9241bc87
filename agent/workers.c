/*
 * workers: the threads that run requests (workers.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busypoll.h"
#include "log.h"
#include "proto.h"
#include "workers.h"

/* A worker's reply buffer grown past this is given back, not kept while idle. */
#define WORKERS_KEEP_BUF 16384

struct workers {
	struct eventloop *loop;
	struct agent_ctx *ctx;
	pthread_mutex_t lock;
	struct conn *first, *last; /* connections with requests waiting, in turn */
	atomic_uint queued;	   /* requests waiting (changed under lock) */
	atomic_uint waiting;	   /* workers in eventloop_wait() */
	atomic_int stop;
	unsigned n; /* threads started */
	pthread_t th[];
};

unsigned workers_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 2 ? 2 : n > 256 ? 256 : (unsigned)n;
}

/* Puts c, which has requests waiting, at the back of the round (w locked). */
static void to_back(struct workers *w, struct conn *c)
{
	struct conn_queue *q = conn_queue(c);

	q->linked = 1;
	q->next = NULL;
	if (w->last != NULL)
		conn_queue(w->last)->next = c;
	else
		w->first = c;
	w->last = c;
}

/*
 * Queues the requests of list, each behind those of its own connection;
 * connections take turns (dequeue), so that one connection's many requests
 * in flight do not hold up the others. When more are queued than this
 * worker will run next, one that waits in the loop is woken for them.
 */
static void enqueue(struct workers *w, struct request *list)
{
	unsigned queued;

	if (list == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	while (list != NULL) {
		struct request *req = list;
		struct conn_queue *q = conn_queue(req->conn);

		list = req->next;
		req->next = NULL;
		*q->tail = req;
		q->tail = &req->next;
		if (!q->linked)
			to_back(w, req->conn);
		atomic_fetch_add(&w->queued, 1);
	}
	queued = atomic_load(&w->queued);
	pthread_mutex_unlock(&w->lock);
	if (queued > 1 && atomic_load(&w->waiting) > 0)
		eventloop_wake(w->loop);
}

/* The first request of the connection whose turn it is; it goes to the back. */
static struct request *dequeue(struct workers *w)
{
	struct request *req = NULL;
	struct conn_queue *q;
	struct conn *c;

	pthread_mutex_lock(&w->lock);
	if ((c = w->first) != NULL) {
		q = conn_queue(c);
		req = q->head;
		if ((q->head = req->next) == NULL)
			q->tail = &q->head;
		req->next = NULL;
		w->first = q->next;
		if (w->first == NULL)
			w->last = NULL;
		q->linked = 0;
		if (q->head != NULL)
			to_back(w, c);
		atomic_fetch_sub(&w->queued, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return req;
}

/*
 * Runs req through its front and answers it; returns when to stop polling
 * for the client's next request (busypoll_now_us(); 0: do not poll).
 */
static int64_t run(struct workers *w, struct request *req, struct buf **out)
{
	struct conn *c = req->conn;
	const struct front *front = conn_front(c);
	struct request *more = NULL;
	unsigned poll_us;
	size_t len;
	int rc;

	if (conn_closed(c)) {
		/* Nobody is there to read the reply: the token is spared the work. */
		eventloop_drop(w->loop, req);
		return 0;
	}
	/* The request sees one view of the keys and policy (ops.h). */
	ops_view_enter(w->ctx);
	rc = front->dispatch(w->ctx, conn_caller(c), conn_state(c), req->body, req->len, *out);
	ops_view_leave(w->ctx);
	len = buf_len(*out);
	poll_us = eventloop_reply(w->loop, req, rc == 0 ? *out : NULL, &more);
	if (len > WORKERS_KEEP_BUF) {
		buf_free(*out);
		*out = buf_new(0);
	}
	enqueue(w, more);
	return poll_us > 0 ? busypoll_now_us() + poll_us : 0;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	struct buf *out = buf_new(0);
	int64_t poll_until = 0;

	while (out != NULL) {
		struct request *req, *got = NULL;

		/*
		 * While requests wait, a worker still looks at the sockets (and
		 * the timer) between two of them, without waiting: a new
		 * client's request then takes its turn among them.
		 */
		if (atomic_load(&w->queued) > 0) {
			(void)eventloop_wait(w->loop, 0, 0, &got);
			enqueue(w, got);
			got = NULL; /* the queue's now */
		}
		if ((req = dequeue(w)) != NULL) {
			poll_until = run(w, req, &out);
			continue;
		}
		if (atomic_load(&w->stop))
			break;
		atomic_fetch_add(&w->waiting, 1);
		(void)eventloop_wait(w->loop, -1, poll_until, &got);
		atomic_fetch_sub(&w->waiting, 1);
		poll_until = 0;
		if (got != NULL && got->next == NULL) {
			/* One request (the usual case): this worker runs it, unqueued. */
			poll_until = run(w, got, &out);
			continue;
		}
		enqueue(w, got);
	}
	if (out == NULL)
		log_error("a worker is out of memory and stops");
	buf_free(out);
	eventloop_wake(w->loop); /* passes the stop on to the next worker */
	return NULL;
}

int workers_start(struct eventloop *loop, struct agent_ctx *ctx, unsigned n, struct workers **out_w,
		  char *msg, size_t msg_len)
{
	struct workers *w;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc = 0;

	if ((w = calloc(1, sizeof(*w) + n * sizeof(pthread_t))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	w->loop = loop;
	w->ctx = ctx;
	pthread_mutex_init(&w->lock, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	while (w->n < n && (rc = pthread_create(&w->th[w->n], &attr, worker_main, w)) == 0)
		w->n++;
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(msg, msg_len, "cannot start worker %u of %u: %s", w->n + 1, n,
			 strerror(rc));
		workers_stop(w);
		return P11A_ERR_INTERNAL;
	}
	*out_w = w;
	return P11A_OK;
}

void workers_stop(struct workers *w)
{
	if (w == NULL)
		return;
	atomic_store(&w->stop, 1);
	eventloop_wake(w->loop);
	for (unsigned i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
