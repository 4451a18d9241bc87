/*
 * run: runs the paths of one benchmark interleaved, in slices of at most
 * RUN_SLICE_S seconds per path in turn, until each path has had its seconds,
 * so that machine noise hits all paths alike.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_RUN_H
#define P11AGENT_BENCH_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"
#include "direct.h"
#include "agentpath.h"
#include "provpath.h"
#include "sshpath.h"

#define RUN_SLICE_S 0.2

enum run_kind {
	RUN_DIRECT, /* direct or module:PATH */
	RUN_AGENT,
	RUN_PROVIDER, /* through p11agent.so */
	RUN_SSH,      /* an SSH agent protocol socket */
};

/* One path: set name, kind and clients[] (one open client per thread). */
struct run_path {
	const char *name; /* "direct", "agent", "module:PATH", "provider", "ssh", "ssh:PATH" */
	enum run_kind kind;
	const char *module;	/* RUN_DIRECT: the module's path */
	struct direct *d;	/* RUN_DIRECT: the loaded module */
	int software;		/* RUN_DIRECT: OAEP decoded in software (direct_prepare) */
	struct provpath *pp;	/* RUN_PROVIDER: the providers and the key */
	const char *ssh_socket; /* RUN_SSH: the SSH agent's socket */
	struct sshpath *sp;	/* RUN_SSH: the key and the request */
	unsigned inflight;	/* RUN_AGENT: requests in flight per client (1: one at a time) */
	union {
		struct direct_client *direct;
		struct agentpath_client *agent;
		struct provpath_client *provider;
		struct sshpath_client *ssh;
	} * clients;
	/* Results, filled by run_paths(). */
	struct stats lat; /* per operation (a request of batch items), submit to reply */
	uint64_t ops;	  /* items: operations times batch */
	double seconds;
};

/*
 * Runs every path with num_clients threads for seconds each, interleaved.
 * Each operation does batch items (signatures), counted in ops. Returns 0,
 * or -1 with the first failure in msg (the run stops there).
 */
int run_paths(struct run_path *paths, size_t num_paths, unsigned num_clients, unsigned batch,
	      double seconds, char *msg, size_t msg_len);

#endif
