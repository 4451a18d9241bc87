/*
 * activation: the listening sockets a service manager passed (socket
 * activation, systemd.h), each given the front that serves it by the name
 * its socket unit gave it (FileDescriptorName=).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_ACTIVATION_H
#define P11AGENT_ACTIVATION_H

#include <stddef.h>

#include "front.h"
#include "server.h"
#include "systemd.h"

/* A descriptor name and the front that serves a socket of that name. */
struct activation_name {
	const char *name;
	const struct front *front;
};

struct activation {
	struct systemd_fd fd[SYSTEMD_MAX_FDS];
	const struct front *front[SYSTEMD_MAX_FDS];
	size_t n;
};

/*
 * Takes the sockets passed to this process (none when it was not
 * activated) into a, and matches each to its front by its name among
 * names. A single socket of any other name goes to names[0]'s front:
 * without FileDescriptorName= systemd names it after its unit. Returns
 * P11A_OK, or P11A_ERR_INVALID_ARG with a message when the variables are
 * malformed, or a name is unknown or given twice.
 */
int activation_take(struct activation *a, const struct activation_name *names, size_t n_names,
		    char *msg, size_t msg_len);

/* The index in a of the socket passed for front, or -1. */
int activation_index(const struct activation *a, const struct front *front);

/* Hands every passed socket to srv (server_adopt()), for its front. */
int activation_adopt(const struct activation *a, struct server *srv, char *msg, size_t msg_len);

#endif
