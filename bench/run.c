/*
 * run: one thread per client per slice; each thread times every operation
 * (a request: batch items), from its sending to its reply.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"

struct worker {
	struct run_path *path;
	unsigned client;
	uint64_t deadline_ns;
	struct stats lat;
	uint64_t ops;
	int failed;
	char msg[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The agent path with several requests in flight: each is timed from its
 * submit to its collect. At the deadline no more are submitted, and those
 * still in flight are collected and counted before the slice ends, so that
 * none runs into another path's slice.
 */
static void *pipelined(struct worker *w)
{
	struct agentpath_client *c = w->path->clients[w->client].agent;
	uint64_t ns = 0;
	int rc, drain = 0;

	for (;;) {
		drain = drain || now_ns() >= w->deadline_ns;
		if ((rc = agentpath_client_pipe(c, drain, &ns, w->msg, sizeof(w->msg))) == 0)
			break;
		if (rc < 0) {
			w->failed = 1;
			break;
		}
		if (stats_add(&w->lat, ns) != 0) {
			snprintf(w->msg, sizeof(w->msg), "out of memory");
			w->failed = 1;
			break;
		}
		w->ops++;
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run_path *p = w->path;
	uint64_t start, end;
	int rc;

	if (p->kind == RUN_AGENT && p->inflight > 1)
		return pipelined(w);

	do {
		start = now_ns();
		if (p->kind == RUN_DIRECT)
			rc = direct_client_op(p->clients[w->client].direct, 0, w->msg,
					      sizeof(w->msg));
		else if (p->kind == RUN_AGENT)
			rc = agentpath_client_op(p->clients[w->client].agent, 0, w->msg,
						 sizeof(w->msg));
		else if (p->kind == RUN_PROVIDER)
			rc = provpath_client_op(p->clients[w->client].provider, 0, w->msg,
						sizeof(w->msg));
		else
			rc =
			    sshpath_client_op(p->clients[w->client].ssh, 0, w->msg, sizeof(w->msg));
		end = now_ns();
		if (rc != 0) {
			w->failed = 1;
			break;
		}
		if (stats_add(&w->lat, end - start) != 0) {
			snprintf(w->msg, sizeof(w->msg), "out of memory");
			w->failed = 1;
			break;
		}
		w->ops++;
	} while (end < w->deadline_ns);
	return NULL;
}

/* One slice of one path: num_clients threads until slice_ns has passed. */
static int run_slice(struct run_path *p, struct worker *ws, unsigned num_clients, uint64_t slice_ns,
		     char *msg, size_t msg_len)
{
	pthread_t *tids = NULL;
	uint64_t t0;
	unsigned i, started = 0;
	int ret = -1;

	if ((tids = calloc(num_clients, sizeof(*tids))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	t0 = now_ns();
	for (i = 0; i < num_clients; i++) {
		ws[i].deadline_ns = t0 + slice_ns;
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0) {
			snprintf(msg, msg_len, "cannot start a client thread");
			goto out;
		}
		started++;
	}
	ret = 0;
out:
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (started > 0)
		p->seconds += (double)(now_ns() - t0) / 1e9;
	for (i = 0; i < started; i++) {
		if (ws[i].failed && ret == 0) {
			snprintf(msg, msg_len, "%s path: %s", p->name, ws[i].msg);
			ret = -1;
		}
	}
	free(tids);
	return ret;
}

int run_paths(struct run_path *paths, size_t num_paths, unsigned num_clients, unsigned batch,
	      double seconds, char *msg, size_t msg_len)
{
	struct worker *ws = NULL;
	double done = 0, slice;
	size_t i, j, n = num_paths * num_clients;
	int ret = -1;

	if ((ws = calloc(n, sizeof(*ws))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	for (i = 0; i < num_paths; i++) {
		for (j = 0; j < num_clients; j++) {
			ws[i * num_clients + j].path = &paths[i];
			ws[i * num_clients + j].client = (unsigned)j;
		}
	}
	while (done < seconds) {
		slice = seconds - done < RUN_SLICE_S ? seconds - done : RUN_SLICE_S;
		for (i = 0; i < num_paths; i++) {
			if (run_slice(&paths[i], &ws[i * num_clients], num_clients,
				      (uint64_t)(slice * 1e9), msg, msg_len) != 0)
				goto out;
		}
		done += slice;
	}
	for (i = 0; i < n; i++) {
		if (stats_merge(&ws[i].path->lat, &ws[i].lat) != 0) {
			snprintf(msg, msg_len, "out of memory");
			goto out;
		}
		ws[i].path->ops += ws[i].ops * batch;
	}
	ret = 0;
out:
	for (i = 0; ws != NULL && i < n; i++)
		stats_free(&ws[i].lat);
	free(ws);
	return ret;
}
