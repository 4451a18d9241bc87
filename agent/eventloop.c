/*
 * eventloop: the connections in one epoll set, read and written without
 * blocking (eventloop.h).
 *
 * A connection's state is under its own lock, and every change ends in
 * settle(), which either closes it or asks epoll for what it waits for next:
 * EPOLLOUT while a reply is queued, EPOLLIN while it may have more requests
 * in flight, nothing while its requests run or it waits for memory. Events
 * are one-shot, so one connection is read by one thread at a time, and the
 * kernel's ready list, first in first out, serves the connections in turn.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "busypoll.h"
#include "eventloop.h"
#include "frameio.h"
#include "log.h"
#include "proto.h"
#include "secret.h"

/* Frames up to this size, with their length, are read through a worker's buffer. */
#define LOOP_INBUF 16384
/* Bytes read from one connection per event; then the other connections' turn. */
#define LOOP_READ_BUDGET (64 * 1024)
/* The sweep's period: a quarter of the shortest timeout, within these. */
#define LOOP_TICK_MIN_MS 50
#define LOOP_TICK_MAX_MS 1000
/* epoll data of the two descriptors that are not connections. */
#define LOOP_TAG_WAKE UINT64_MAX
#define LOOP_TAG_TIMER (UINT64_MAX - 1)

struct conn {
	pthread_mutex_t lock;
	uint32_t slot;
	uint32_t gen;  /* bumped at close: events of an earlier connection are stale */
	int fd;	       /* -1: closed (the slot is free once refs is 0) */
	unsigned refs; /* 1 while open, plus 1 per request read and not answered */
	const struct front *front;
	void *state; /* the front's, zeroed at accept */
	struct caller peer;
	unsigned armed;	   /* events asked of epoll and not delivered yet (0: none) */
	unsigned inflight; /* requests read and not answered */
	int eof;	   /* no more requests: the client closed, or the agent stops */
	int dead;	   /* close at once; replies still due are dropped */
	int parked;	   /* a frame larger than LOOP_INBUF waits for memory */
	/* Input: the start of a frame (malloc'd LOOP_INBUF, NULL when empty). */
	uint8_t *in;
	size_t have;
	struct request *big; /* a frame larger than LOOP_INBUF, being received */
	uint32_t big_got;
	int64_t frame_deadline; /* ms: the frame begun must be complete then; 0: none */
	int64_t last_ms;	/* last bytes received or sent, for idle-timeout */
	/* Output: replies the socket did not take yet. */
	struct buf *out;
	size_t out_off;
	size_t out_held; /* quota held for them */
	int64_t write_deadline;
	/* A flood slowed (caller.h: owed_delay_ms): replies wait until then. */
	int64_t held_until_us;
	int on_held; /* on the loop's list of held connections (loop locked) */
	struct conn *held_next;
	/* busy-poll: how soon after a reply the next request comes. */
	int64_t sent_us; /* when the last reply went; 0: measured already */
	int64_t gap_us;	 /* moving average */
	uint32_t next_free;
	struct conn_queue queue; /* the workers' */
};

struct eventloop {
	struct eventloop_options opt;
	int ep, wake_fd, timer_fd;
	pthread_mutex_t lock; /* the slot table, the free list and the count */
	pthread_cond_t none;  /* the count reached 0 */
	struct conn *_Atomic *slots;
	uint32_t n_slots; /* slots made so far, at most opt.max_connections */
	uint32_t free_head;
	unsigned nconns;
	/* The timer: the sweep every tick, and the held connections when due. */
	int64_t tick_us, next_sweep_us;
	int64_t timer_at_us; /* when the timer fires next; INT64_MAX: not set */
	struct conn *held;   /* connections whose replies are held back, one ref each */
};

#define NO_SLOT UINT32_MAX

/* A worker's buffer: most requests are read into it, whole, in one recv(). */
static _Thread_local uint8_t scratch[LOOP_INBUF];

static uint64_t tag(const struct conn *c)
{
	return (uint64_t)c->slot | (uint64_t)c->gen << 32;
}

static void free_request(struct request *req)
{
	secret_wipe(req->body, req->len);
	free(req);
}

static void push(struct request **list, struct request *req)
{
	req->next = NULL;
	while (*list != NULL)
		list = &(*list)->next;
	*list = req;
}

/* Requests a connection may have in flight: its front's, once greeted (native: HELLO). */
static unsigned depth(const struct conn *c)
{
	unsigned n = c->front->pipeline;

	return c->peer.greeted && n > 1 ? n : 1;
}

static uint32_t max_frame(const struct eventloop *loop, const struct conn *c)
{
	return loop->opt.max_frame < c->front->max_frame ? loop->opt.max_frame
							 : c->front->max_frame;
}

void eventloop_refuse(const struct front *front, int fd, int code, const char *why)
{
	struct buf *b = buf_new(0);
	uint8_t sink[4096];

	if (b != NULL && front->refusal(b, code, why) == 0)
		(void)send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(b);
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
}

/* Bytes as whole MiB, rounded up, for messages. */
static size_t mib(size_t bytes)
{
	return (bytes + ((size_t)1 << 20) - 1) >> 20;
}

/* Why a connection cannot have more bytes, for the client and the log. */
static void memory_full(const struct eventloop *loop, const struct conn *c, enum quota_limit which,
			size_t held, char *why, size_t why_len)
{
	if (which == QUOTA_STOPPED)
		snprintf(why, why_len, "the agent is stopping");
	else if (which == QUOTA_PER_UID)
		snprintf(why, why_len,
			 "requests of uid %d hold %zu MiB already (max-request-memory-per-uid %zu "
			 "MiB); try again later",
			 c->peer.uid, mib(held), mib(loop->opt.max_request_mem_uid));
	else
		snprintf(why, why_len,
			 "requests hold %zu MiB already (max-request-memory %zu MiB); try again "
			 "later",
			 mib(held), mib(loop->opt.max_request_memory));
}

/* Frees the front's state of c: only once no request of it runs (it may use it). */
static void free_state(struct conn *c)
{
	if (c->state != NULL && c->front->state_free != NULL)
		c->front->state_free(c->state);
	free(c->state);
	c->state = NULL;
}

/* Gives the slot of a closed connection back once nothing refers to it (c unlocked). */
static void release_slot(struct eventloop *loop, struct conn *c)
{
	free_state(c);
	pthread_mutex_lock(&loop->lock);
	c->next_free = loop->free_head;
	loop->free_head = c->slot;
	pthread_mutex_unlock(&loop->lock);
}

/* Whether c's replies are held back now (c locked). */
static int held(const struct conn *c)
{
	return c->held_until_us != 0 && busypoll_now_us() < c->held_until_us;
}

/* Sets the timer to fire at at_us, unless it fires sooner already (loop locked). */
static void arm_timer(struct eventloop *loop, int64_t at_us)
{
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (at_us >= loop->timer_at_us)
		return;
	its.it_value.tv_sec = at_us / 1000000;
	its.it_value.tv_nsec = (long)(at_us % 1000000) * 1000;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* zero would disarm it */
	if (timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		loop->timer_at_us = at_us;
}

/* Puts c (locked) on the held list until c->held_until_us; the list holds a reference. */
static void hold(struct eventloop *loop, struct conn *c)
{
	pthread_mutex_lock(&loop->lock);
	if (!c->on_held) {
		c->on_held = 1;
		c->refs++;
		c->held_next = loop->held;
		loop->held = c;
	}
	arm_timer(loop, c->held_until_us);
	pthread_mutex_unlock(&loop->lock);
}

/* Drops a reference (c locked); returns 1 when the slot is to be released after unlocking. */
static int unref(struct conn *c)
{
	return --c->refs == 0 && c->fd < 0;
}

/* Drops the frame c has begun to receive (c->in, c->big), and the quota it holds. */
static void drop_input(struct eventloop *loop, struct conn *c)
{
	if (c->in != NULL) {
		secret_wipe(c->in, c->have);
		free(c->in);
		c->in = NULL;
		c->have = 0;
	}
	if (c->big != NULL) {
		quota_mem_put(loop->opt.quota, c->peer.uid, c->big->held);
		free_request(c->big);
		c->big = NULL;
	}
}

/* Closes c (locked): its socket, buffers and quota; requests in flight keep the slot. */
static void close_conn(struct eventloop *loop, struct conn *c)
{
	(void)epoll_ctl(loop->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->armed = 0;
	drop_input(loop, c);
	buf_free(c->out);
	c->out = NULL;
	quota_mem_put(loop->opt.quota, c->peer.uid, c->out_held);
	c->out_held = 0;
	quota_conn_put(loop->opt.quota, c->peer.uid);
	pthread_mutex_lock(&loop->lock);
	if (--loop->nconns == 0)
		pthread_cond_broadcast(&loop->none);
	pthread_mutex_unlock(&loop->lock);
}

/*
 * After any change to c (locked): closes it when it is done, else asks epoll
 * for what it waits for. Returns 1 when the slot is to be released after
 * unlocking.
 */
static int settle(struct eventloop *loop, struct conn *c)
{
	unsigned want = 0;

	if (c->fd < 0)
		return 0;
	if (c->dead || (c->eof && c->inflight == 0 && c->out == NULL)) {
		close_conn(loop, c);
		return unref(c);
	}
	if (c->out != NULL)
		want = held(c) ? 0 : EPOLLOUT;
	else if (!c->eof && !c->parked && c->inflight < depth(c))
		want = EPOLLIN;
	if (want != 0 && want != c->armed) {
		struct epoll_event ev = {.events = want | EPOLLONESHOT, .data.u64 = tag(c)};

		if (epoll_ctl(loop->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
			log_warn("uid %d pid %d: epoll: %s, connection closed", c->peer.uid,
				 c->peer.pid, strerror(errno));
			close_conn(loop, c);
			return unref(c);
		}
		c->armed = want;
	}
	return 0;
}

/* Sends what c->out holds; 0 when all of it went or the rest must wait, -1 on an error. */
static int flush(struct eventloop *loop, struct conn *c)
{
	while (c->out != NULL && !held(c)) {
		size_t len = buf_len(c->out) - c->out_off;
		ssize_t n =
		    send(c->fd, buf_data(c->out) + c->out_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->last_ms = frameio_now_ms();
		c->out_off += (size_t)n;
		if (c->out_off == buf_len(c->out)) {
			buf_free(c->out); /* wiped: it may have held a session key */
			c->out = NULL;
			c->out_off = 0;
			quota_mem_put(loop->opt.quota, c->peer.uid, c->out_held);
			c->out_held = 0;
			c->write_deadline = 0;
			c->sent_us = busypoll_now_us();
		}
	}
	return 0;
}

/* A request of c for body[0..len), counted in flight; NULL when out of memory. */
static struct request *new_request(struct conn *c, uint32_t len)
{
	struct request *req = malloc(sizeof(*req) + len);

	if (req == NULL)
		return NULL;
	req->conn = c;
	req->next = NULL;
	req->held = 0;
	req->len = len;
	return req;
}

static void started(struct conn *c, struct request *req, struct request **reqs)
{
	c->inflight++;
	c->refs++;
	push(reqs, req);
}

/*
 * Takes the frames that p[0..n) completes, as requests, while c may have
 * more in flight; a frame larger than LOOP_INBUF becomes c->big (or parks c
 * until there is memory for it). Returns the bytes used; the rest is the
 * start of a frame, or of frames not yet allowed to run. -1: c is dead.
 */
static ssize_t take_frames(struct eventloop *loop, struct conn *c, const uint8_t *p, size_t n,
			   struct request **reqs)
{
	size_t used = 0;

	while (c->big == NULL && !c->parked && c->inflight < depth(c) && n - used >= 4) {
		uint32_t len = proto_frame_len(p + used);
		struct request *req;

		if (len > max_frame(loop, c) || len < c->front->min_frame) {
			char why[80];

			/* Checked before anything is allocated; the stream cannot resync. */
			log_info("uid %d pid %d: frame of %u bytes refused, connection closed",
				 c->peer.uid, c->peer.pid, len);
			snprintf(why, sizeof(why), "frame length out of range: %u to %u bytes",
				 (unsigned)c->front->min_frame, max_frame(loop, c));
			eventloop_refuse(c->front, c->fd,
					 len > max_frame(loop, c) ? P11A_ERR_TOO_LARGE
								  : P11A_ERR_BAD_REQUEST,
					 why);
			c->dead = 1;
			return -1;
		}
		if (4 + (size_t)len <= LOOP_INBUF) {
			if (n - used < 4 + (size_t)len)
				break;
			if ((req = new_request(c, len)) == NULL)
				goto nomem;
			memcpy(req->body, p + used + 4, len);
			used += 4 + (size_t)len;
			started(c, req, reqs);
			c->frame_deadline = 0;
			continue;
		}
		/* A large body holds its size of the quota from its length on. */
		{
			enum quota_limit which;
			size_t held = 0, got = n - used - 4;

			if (quota_mem_take(loop->opt.quota, c->peer.uid, len, 0, &which, &held) !=
			    P11A_OK) {
				c->parked = 1;
				break;
			}
			if ((req = new_request(c, len)) == NULL) {
				quota_mem_put(loop->opt.quota, c->peer.uid, len);
				goto nomem;
			}
			req->held = len;
			memcpy(req->body, p + used + 4, got);
			c->big = req;
			c->big_got = (uint32_t)got;
			used = n;
		}
	}
	return (ssize_t)used;
nomem:
	log_warn("uid %d pid %d: out of memory, connection closed", c->peer.uid, c->peer.pid);
	c->dead = 1;
	return -1;
}

/* Receives into c->big; when it is complete, it becomes a request. 0, or -1 (dead or eof). */
static int read_big(struct conn *c, size_t *budget, struct request **reqs)
{
	struct request *req = c->big;
	ssize_t n = recv(c->fd, req->body + c->big_got, req->len - c->big_got, MSG_DONTWAIT);

	if (n <= 0)
		return (int)n; /* 0: end of stream; -1: errno */
	*budget -= (size_t)n < *budget ? (size_t)n : *budget;
	c->big_got += (uint32_t)n;
	if (c->big_got == req->len) {
		c->big = NULL;
		c->frame_deadline = 0;
		started(c, req, reqs);
	}
	return 1;
}

/* Keeps p[used..n) as the start of the next frame in c->in; wipes p[0..n) when p is scratch. */
static int keep_rest(struct conn *c, const uint8_t *p, size_t used, size_t n)
{
	size_t rest = n - used;

	if (p == c->in) {
		if (rest > 0 && used > 0)
			memmove(c->in, c->in + used, rest);
		secret_wipe(c->in + rest, used);
	} else {
		if (rest > 0 && c->in == NULL && (c->in = malloc(LOOP_INBUF)) == NULL) {
			secret_wipe(scratch, n);
			return -1;
		}
		if (rest > 0)
			memcpy(c->in, p + used, rest);
		secret_wipe(scratch, n);
	}
	c->have = rest;
	if (rest == 0 && c->in != NULL) {
		free(c->in); /* an idle connection holds no buffer */
		c->in = NULL;
	}
	return 0;
}

/* Whether the first frame c holds (c->in, c->big) is not complete yet. */
static int partial_frame(const struct conn *c)
{
	if (c->big != NULL)
		return 1;
	if (c->have == 0)
		return 0;
	return c->have < 4 || c->have - 4 < (size_t)proto_frame_len(c->in);
}

/* Folds the wait since the last reply into c's average (busy-poll). */
static void note_gap(struct conn *c)
{
	if (c->sent_us != 0) {
		c->gap_us += (busypoll_now_us() - c->sent_us - c->gap_us) / 8;
		c->sent_us = 0;
	}
}

/*
 * c's I/O (locked): sends what is queued; then, unless replies wait, takes
 * the requests its buffer holds and reads more, within LOOP_READ_BUDGET.
 */
static void pump(struct eventloop *loop, struct conn *c, struct request **reqs)
{
	size_t budget = LOOP_READ_BUDGET;
	ssize_t used;

	if (c->fd < 0 || c->dead)
		return;
	if (flush(loop, c) != 0) {
		c->dead = 1;
		return;
	}
	if (c->out != NULL || c->parked)
		return;
	if (c->have > 0) {
		if ((used = take_frames(loop, c, c->in, c->have, reqs)) < 0 ||
		    keep_rest(c, c->in, (size_t)used, c->have) != 0) {
			c->dead = 1;
			return;
		}
	}
	while (!c->eof && !c->parked && c->inflight < depth(c) && budget > 0) {
		uint8_t *p;
		size_t room, base;
		ssize_t n;

		if (c->big != NULL) {
			int r = read_big(c, &budget, reqs);

			if (r == 0)
				c->eof = 1;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				c->eof = 1;
			if (r <= 0)
				break;
			c->last_ms = frameio_now_ms();
			continue;
		}
		/* Bytes after what c->in holds go on in it; else into the worker's buffer. */
		base = c->have;
		p = base > 0 ? c->in : scratch;
		room = LOOP_INBUF - base;
		n = recv(c->fd, p + base, room, MSG_DONTWAIT);
		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			c->eof = 1; /* a frame begun and never finished is dropped with it */
			break;
		}
		if (n < 0)
			break;
		note_gap(c);
		c->last_ms = frameio_now_ms();
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if ((used = take_frames(loop, c, p, base + (size_t)n, reqs)) < 0)
			return;
		if (keep_rest(c, p, (size_t)used, base + (size_t)n) != 0) {
			c->dead = 1;
			return;
		}
	}
	/*
	 * A frame begun has until its deadline, while the agent reads (or it
	 * waits for memory); one that is whole, or that the agent does not
	 * read on while requests are in flight or a reply waits, is not late.
	 */
	if (!partial_frame(c) || !(c->parked || (c->inflight < depth(c) && c->out == NULL)))
		c->frame_deadline = 0;
	else if (c->frame_deadline == 0)
		c->frame_deadline = frameio_now_ms() + loop->opt.frame_timeout_ms;
	if (c->eof && (c->have > 0 || c->big != NULL)) {
		/* The rest of that frame will not come. */
		drop_input(loop, c);
		c->parked = 0;
	}
}

/* The slot's connection when tag t is its current one, locked; else NULL. */
static struct conn *lock_tag(struct eventloop *loop, uint64_t t)
{
	uint32_t slot = (uint32_t)t, gen = (uint32_t)(t >> 32);
	struct conn *c;

	/* A slot, once made, stays: its pointer is read without the loop's lock. */
	if (slot >= loop->opt.max_connections ||
	    (c = atomic_load_explicit(&loop->slots[slot], memory_order_acquire)) == NULL)
		return NULL;
	pthread_mutex_lock(&c->lock);
	if (c->gen != gen || c->fd < 0) {
		pthread_mutex_unlock(&c->lock);
		return NULL;
	}
	return c;
}

static void unlock_conn(struct eventloop *loop, struct conn *c, int release)
{
	pthread_mutex_unlock(&c->lock);
	if (release)
		release_slot(loop, c);
}

/*
 * The timeouts, and the connections waiting for memory: refused once their
 * frame-timeout has run out (or the agent stops), else tried again.
 */
static void sweep_one(struct eventloop *loop, struct conn *c, int64_t now, struct request **reqs)
{
	const struct eventloop_options *opt = &loop->opt;

	if (c->parked) {
		enum quota_limit which;
		size_t held = 0;
		char why[200];
		uint32_t len = proto_frame_len(c->in);

		if (quota_mem_take(opt->quota, c->peer.uid, len, 0, &which, &held) == P11A_OK) {
			quota_mem_put(opt->quota, c->peer.uid, len); /* take_frames takes it */
			c->parked = 0;
			pump(loop, c, reqs);
		} else if (which == QUOTA_STOPPED || now >= c->frame_deadline) {
			memory_full(loop, c, which, held, why, sizeof(why));
			log_info("uid %d pid %d: request of %u bytes refused, connection closed: "
				 "%s",
				 c->peer.uid, c->peer.pid, len, why);
			eventloop_refuse(c->front, c->fd, P11A_ERR_BUSY, why);
			c->dead = 1;
		}
	} else if (c->out != NULL && now >= c->write_deadline) {
		log_info("uid %d pid %d: reply not read within %u ms, connection closed",
			 c->peer.uid, c->peer.pid, opt->frame_timeout_ms);
		c->dead = 1;
	} else if (c->frame_deadline != 0 && now >= c->frame_deadline) {
		log_info("uid %d pid %d: frame not complete within %u ms, connection closed",
			 c->peer.uid, c->peer.pid, opt->frame_timeout_ms);
		c->dead = 1;
	} else if (opt->idle_timeout_ms > 0 && c->inflight == 0 && c->out == NULL && c->have == 0 &&
		   c->big == NULL && !c->eof && now - c->last_ms >= (int64_t)opt->idle_timeout_ms) {
		log_info("uid %d pid %d: idle for %u ms, connection closed", c->peer.uid,
			 c->peer.pid, opt->idle_timeout_ms);
		c->dead = 1;
	}
}

static void sweep(struct eventloop *loop, struct request **reqs)
{
	int64_t now = frameio_now_ms();
	uint32_t n;

	pthread_mutex_lock(&loop->lock);
	n = loop->n_slots;
	pthread_mutex_unlock(&loop->lock);
	for (uint32_t i = 0; i < n; i++) {
		struct conn *c = loop->slots[i];
		int release;

		pthread_mutex_lock(&c->lock);
		if (c->fd < 0) {
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		sweep_one(loop, c, now, reqs);
		release = settle(loop, c);
		unlock_conn(loop, c, release);
	}
}

/* The timer fired: the sweep when its tick is due, and the held connections that are. */
static void on_timer(struct eventloop *loop, struct request **reqs)
{
	int64_t now = busypoll_now_us();
	struct conn *list, *next;
	int do_sweep;

	pthread_mutex_lock(&loop->lock);
	loop->timer_at_us = INT64_MAX;
	if ((do_sweep = now >= loop->next_sweep_us))
		loop->next_sweep_us = now + loop->tick_us;
	list = loop->held;
	loop->held = NULL;
	for (struct conn *c = list; c != NULL; c = c->held_next)
		c->on_held = 0;
	arm_timer(loop, loop->next_sweep_us);
	pthread_mutex_unlock(&loop->lock);
	for (struct conn *c = list; c != NULL; c = next) {
		int release;

		next = c->held_next;
		pthread_mutex_lock(&c->lock);
		if (c->fd >= 0 && held(c)) {
			hold(loop, c);
		} else if (c->fd >= 0) {
			c->held_until_us = 0;
			pump(loop, c, reqs);
		}
		release = unref(c);
		release |= settle(loop, c);
		unlock_conn(loop, c, release);
	}
	if (do_sweep)
		sweep(loop, reqs);
}

int eventloop_wait(struct eventloop *loop, int timeout_ms, int64_t poll_until_us,
		   struct request **reqs)
{
	struct epoll_event ev;
	struct conn *c;
	uint64_t v;
	int n = 0;

	while (poll_until_us > 0) {
		int64_t before;

		if ((n = epoll_wait(loop->ep, &ev, 1, 0)) != 0)
			break;
		before = busypoll_now_us();
		if (before >= poll_until_us)
			break;
		sched_yield();
		if (busypoll_now_us() - before > BUSYPOLL_YIELDED_US)
			break; /* another thread wanted the CPU: it is not going idle */
	}
	if (n <= 0)
		n = epoll_wait(loop->ep, &ev, 1, timeout_ms);
	if (n <= 0)
		return 0;
	if (ev.data.u64 == LOOP_TAG_WAKE) {
		(void)!read(loop->wake_fd, &v, sizeof(v));
		return 1;
	}
	if (ev.data.u64 == LOOP_TAG_TIMER) {
		if (read(loop->timer_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			on_timer(loop, reqs);
		return 0;
	}
	if ((c = lock_tag(loop, ev.data.u64)) == NULL)
		return 0; /* its connection was closed meanwhile */
	c->armed = 0;
	pump(loop, c, reqs);
	unlock_conn(loop, c, settle(loop, c));
	return 0;
}

void eventloop_wake(struct eventloop *loop)
{
	uint64_t one = 1;

	(void)!write(loop->wake_fd, &one, sizeof(one));
}

/*
 * Makes what c holds of the quota for its queued replies cover len more
 * bytes when the reply is larger than LOOP_INBUF; a reply that does not fit,
 * without waiting, becomes a BUSY error reply to the same request.
 */
static void hold_reply(struct eventloop *loop, struct conn *c, struct buf *out)
{
	size_t len = buf_len(out), held = 0;
	enum quota_limit which;
	char why[200];

	if (len <= LOOP_INBUF)
		return;
	if (quota_mem_take(loop->opt.quota, c->peer.uid, len, 0, &which, &held) == P11A_OK) {
		c->out_held += len;
		return;
	}
	memory_full(loop, c, which, held, why, sizeof(why));
	log_info("uid %d pid %d: reply of %zu bytes dropped: %s", c->peer.uid, c->peer.pid, len,
		 why);
	if (c->front->replace_reply(out, P11A_ERR_BUSY, why) != 0)
		c->dead = 1;
}

/* Sends out now when nothing is queued before it, else queues it. */
static void send_reply(struct eventloop *loop, struct conn *c, struct buf *out)
{
	size_t len = buf_len(out), off = 0;

	if (c->out == NULL && held(c)) {
		if ((c->out = buf_new(0)) == NULL) {
			c->dead = 1;
			return;
		}
		c->out_off = 0;
		c->write_deadline = frameio_now_ms() + loop->opt.frame_timeout_ms;
	} else if (c->out == NULL) {
		ssize_t n = 0;

		do
			n = send(c->fd, buf_data(out), len, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			c->dead = 1;
			return;
		}
		off = n > 0 ? (size_t)n : 0;
		c->last_ms = frameio_now_ms();
		if (off == len) {
			quota_mem_put(loop->opt.quota, c->peer.uid, c->out_held);
			c->out_held = 0;
			c->sent_us = busypoll_now_us();
			return;
		}
		if ((c->out = buf_new(0)) == NULL) {
			c->dead = 1;
			return;
		}
		c->out_off = 0;
		c->write_deadline = frameio_now_ms() + loop->opt.frame_timeout_ms;
	}
	if (buf_put(c->out, buf_data(out) + off, len - off) != P11A_OK)
		c->dead = 1;
}

unsigned eventloop_reply(struct eventloop *loop, struct request *req, struct buf *out,
			 struct request **reqs)
{
	struct conn *c = req->conn;
	unsigned poll_us = 0, owed;
	int release;

	pthread_mutex_lock(&c->lock);
	if (out == NULL)
		c->dead = 1;
	if ((owed = atomic_exchange(&c->peer.owed_delay_ms, 0)) > 0 && c->fd >= 0) {
		int64_t now = busypoll_now_us();

		c->held_until_us =
		    (c->held_until_us > now ? c->held_until_us : now) + (int64_t)owed * 1000;
		hold(loop, c);
	}
	if (c->fd >= 0 && !c->dead) {
		hold_reply(loop, c, out);
		if (!c->dead)
			send_reply(loop, c, out);
	}
	quota_mem_put(loop->opt.quota, c->peer.uid, req->held);
	c->inflight--;
	if (c->fd >= 0 && !c->dead && c->out == NULL &&
	    c->gap_us <= (int64_t)loop->opt.busy_poll_us)
		poll_us = loop->opt.busy_poll_us;
	/* Frames the buffer held while the connection had its fill in flight may run now. */
	if (c->fd >= 0 && c->have > 0)
		pump(loop, c, reqs);
	release = unref(c);
	release |= settle(loop, c);
	unlock_conn(loop, c, release);
	if (out != NULL)
		buf_reset(out);
	free_request(req);
	return poll_us;
}

void eventloop_drop(struct eventloop *loop, struct request *req)
{
	(void)eventloop_reply(loop, req, NULL, NULL);
}

const struct front *conn_front(const struct conn *c)
{
	return c->front;
}

struct caller *conn_caller(struct conn *c)
{
	return &c->peer;
}

void *conn_state(struct conn *c)
{
	return c->state;
}

struct conn_queue *conn_queue(struct conn *c)
{
	return &c->queue;
}

int conn_closed(struct conn *c)
{
	int closed;

	pthread_mutex_lock(&c->lock);
	closed = c->fd < 0 || c->dead;
	pthread_mutex_unlock(&c->lock);
	return closed;
}

/* A free slot (loop locked): one given back, else a new one; NULL when all are taken. */
static struct conn *take_slot(struct eventloop *loop)
{
	struct conn *c;

	if (loop->free_head != NO_SLOT) {
		c = loop->slots[loop->free_head];
		loop->free_head = c->next_free;
		return c;
	}
	if (loop->n_slots >= loop->opt.max_connections || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->fd = -1;
	c->slot = loop->n_slots;
	atomic_store_explicit(&loop->slots[loop->n_slots++], c, memory_order_release);
	return c;
}

int eventloop_add(struct eventloop *loop, int fd, const struct front *front,
		  const struct caller *peer)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};
	void *state = NULL;
	struct conn *c;

	if (front->state_size > 0 && (state = calloc(1, front->state_size)) == NULL) {
		close(fd);
		quota_conn_put(loop->opt.quota, peer->uid);
		return P11A_ERR_NOMEM;
	}
	pthread_mutex_lock(&loop->lock);
	if ((c = take_slot(loop)) != NULL)
		loop->nconns++;
	pthread_mutex_unlock(&loop->lock);
	if (c == NULL) {
		free(state);
		close(fd);
		quota_conn_put(loop->opt.quota, peer->uid);
		return P11A_ERR_BUSY;
	}
	pthread_mutex_lock(&c->lock);
	c->fd = fd;
	c->refs = 1;
	c->front = front;
	c->state = state;
	c->peer = *peer;
	c->inflight = 0;
	c->eof = c->dead = c->parked = 0;
	c->frame_deadline = c->write_deadline = 0;
	c->last_ms = frameio_now_ms();
	c->sent_us = c->gap_us = 0;
	c->out_off = c->out_held = 0;
	c->held_until_us = 0;
	c->queue.head = NULL;
	c->queue.tail = &c->queue.head;
	c->queue.next = NULL;
	c->queue.linked = 0;
	c->armed = EPOLLIN;
	ev.data.u64 = tag(c);
	if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_warn("epoll: %s", strerror(errno));
		c->dead = 1;
		unlock_conn(loop, c, settle(loop, c));
		return P11A_ERR_NOMEM;
	}
	pthread_mutex_unlock(&c->lock);
	return P11A_OK;
}

unsigned eventloop_connections(struct eventloop *loop)
{
	unsigned n;

	pthread_mutex_lock(&loop->lock);
	n = loop->nconns;
	pthread_mutex_unlock(&loop->lock);
	return n;
}

unsigned eventloop_drain(struct eventloop *loop, unsigned ms)
{
	struct timespec until;
	unsigned left;
	uint32_t n;
	int r = 0;

	/* Waits for memory end (the sweep refuses them); reads end at what was sent. */
	quota_stop(loop->opt.quota);
	pthread_mutex_lock(&loop->lock);
	n = loop->n_slots;
	pthread_mutex_unlock(&loop->lock);
	for (uint32_t i = 0; i < n; i++) {
		struct conn *c = loop->slots[i];

		pthread_mutex_lock(&c->lock);
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RD);
		pthread_mutex_unlock(&c->lock);
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&loop->lock);
	while (loop->nconns > 0 && r == 0)
		r = pthread_cond_timedwait(&loop->none, &loop->lock, &until);
	left = loop->nconns;
	pthread_mutex_unlock(&loop->lock);
	return left;
}

/* The sweep's period: a quarter of the shortest timeout, within the bounds. */
static unsigned tick_ms(const struct eventloop_options *opt)
{
	unsigned t = opt->frame_timeout_ms;

	if (opt->idle_timeout_ms > 0 && opt->idle_timeout_ms < t)
		t = opt->idle_timeout_ms;
	t /= 4;
	return t < LOOP_TICK_MIN_MS   ? LOOP_TICK_MIN_MS
	       : t > LOOP_TICK_MAX_MS ? LOOP_TICK_MAX_MS
				      : t;
}

int eventloop_new(const struct eventloop_options *opt, struct eventloop **out_loop, char *msg,
		  size_t msg_len)
{
	struct eventloop *loop;
	struct epoll_event ev = {.events = EPOLLIN};

	if ((loop = calloc(1, sizeof(*loop))) == NULL ||
	    (loop->slots = calloc(opt->max_connections, sizeof(*loop->slots))) == NULL) {
		free(loop);
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_NOMEM;
	}
	loop->opt = *opt;
	loop->free_head = NO_SLOT;
	loop->tick_us = (int64_t)tick_ms(opt) * 1000;
	loop->next_sweep_us = busypoll_now_us() + loop->tick_us;
	loop->timer_at_us = INT64_MAX;
	loop->wake_fd = loop->timer_fd = -1;
	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->none, NULL);
	if ((loop->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    (loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
		snprintf(msg, msg_len, "cannot set up the event loop: %s", strerror(errno));
		goto fail;
	}
	ev.data.u64 = LOOP_TAG_WAKE;
	if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, loop->wake_fd, &ev) != 0)
		goto fail_ctl;
	ev.data.u64 = LOOP_TAG_TIMER;
	if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, loop->timer_fd, &ev) != 0)
		goto fail_ctl;
	arm_timer(loop, loop->next_sweep_us);
	if (loop->timer_at_us == INT64_MAX)
		goto fail_ctl;
	*out_loop = loop;
	return P11A_OK;
fail_ctl:
	snprintf(msg, msg_len, "cannot set up the event loop: %s", strerror(errno));
fail:
	eventloop_free(loop);
	return P11A_ERR_INTERNAL;
}

void eventloop_free(struct eventloop *loop)
{
	if (loop == NULL)
		return;
	for (uint32_t i = 0; i < loop->n_slots; i++) {
		struct conn *c = loop->slots[i];

		if (c->fd >= 0)
			close_conn(loop, c);
		free_state(c);
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
	free(loop->slots);
	if (loop->ep >= 0)
		close(loop->ep);
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->timer_fd >= 0)
		close(loop->timer_fd);
	pthread_mutex_destroy(&loop->lock);
	pthread_cond_destroy(&loop->none);
	free(loop);
}
