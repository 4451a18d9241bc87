/*
 * activation: the sockets a service manager passed, matched to their fronts
 * (activation.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "activation.h"
#include "proto.h"

/* "'agent', 'ssh'": the names a socket may have, for messages. */
static void list_names(const struct activation_name *names, size_t n_names, char *out,
		       size_t out_len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n_names && used < out_len; i++)
		used += (size_t)snprintf(out + used, out_len - used, "%s'%s'", i > 0 ? ", " : "",
					 names[i].name);
}

int activation_take(struct activation *a, const struct activation_name *names, size_t n_names,
		    char *msg, size_t msg_len)
{
	char expected[256];
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = systemd_listen_fds(a->fd, SYSTEMD_MAX_FDS, &a->n, msg, msg_len)) != P11A_OK)
		return rc;
	for (size_t i = 0; i < a->n; i++) {
		const char *name = a->fd[i].name;
		const struct front *f = NULL;

		for (size_t j = 0; j < n_names && f == NULL; j++)
			if (strcmp(name, names[j].name) == 0)
				f = names[j].front;
		if (f == NULL && a->n == 1 && n_names > 0)
			f = names[0].front;
		if (f == NULL) {
			list_names(names, n_names, expected, sizeof(expected));
			snprintf(msg, msg_len,
				 "socket activation: descriptor %d is named '%s': expected %s "
				 "(FileDescriptorName= in the socket units)",
				 a->fd[i].fd, name, expected);
			return P11A_ERR_INVALID_ARG;
		}
		for (size_t j = 0; j < i; j++)
			if (a->front[j] == f) {
				snprintf(msg, msg_len,
					 "socket activation: two descriptors are named '%s'; one "
					 "socket a protocol",
					 name);
				return P11A_ERR_INVALID_ARG;
			}
		a->front[i] = f;
	}
	return P11A_OK;
}

int activation_index(const struct activation *a, const struct front *front)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->front[i] == front)
			return (int)i;
	return -1;
}

int activation_adopt(const struct activation *a, struct server *srv, char *msg, size_t msg_len)
{
	char what[SYSTEMD_NAME_MAX + 32];
	int rc;

	for (size_t i = 0; i < a->n; i++) {
		snprintf(what, sizeof(what), "descriptor %d (%s)", a->fd[i].fd, a->fd[i].name);
		if ((rc = server_adopt(srv, a->fd[i].fd, a->front[i], what, msg, msg_len)) !=
		    P11A_OK)
			return rc;
	}
	return P11A_OK;
}
