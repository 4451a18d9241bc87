/*
 * systemd: what p11agentd takes from a service manager and tells it. The
 * listening sockets it passes (socket activation: LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES) and the readiness notifications it reads (Type=notify:
 * READY=1, STATUS=..., RELOADING=1, STOPPING=1 on $NOTIFY_SOCKET). With
 * libsystemd at build time its sd_listen_fds_with_names() and sd_notify()
 * do the work; without it, a small implementation of the same two
 * documented protocols (sd_listen_fds(3), sd_notify(3)).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SYSTEMD_H
#define P11AGENT_SYSTEMD_H

#include <stddef.h>

/* Most sockets taken from the service manager. */
#define SYSTEMD_MAX_FDS 4
/* The longest descriptor name kept (FileDescriptorName= allows 255). */
#define SYSTEMD_NAME_MAX 256

struct systemd_fd {
	int fd;
	char name[SYSTEMD_NAME_MAX]; /* FileDescriptorName=, or "unknown" */
};

/*
 * The sockets passed to this process, from descriptor 3 on, each made
 * close-on-exec. None (*out_n 0) when LISTEN_FDS is unset, or when
 * LISTEN_PID names another process (the descriptors were meant for a
 * parent: none is touched). The three variables are removed from the
 * environment in every case. Returns P11A_OK, or
 * P11A_ERR_INVALID_ARG with a message when they are malformed or pass more
 * than max descriptors.
 */
int systemd_listen_fds(struct systemd_fd *out, size_t max, size_t *out_n, char *msg,
		       size_t msg_len);

/*
 * Whether $NOTIFY_SOCKET names this process's service manager: it is set,
 * and SYSTEMD_EXEC_PID (which systemd sets for the process it started) is
 * unset or names this process. Otherwise, a NOTIFY_SOCKET inherited from a
 * service this process was merely started from is removed from the
 * environment, so that nothing is told to that service's manager. Call
 * before any fork. Returns 1 or 0.
 */
int systemd_notify_socket_ours(void);

/*
 * Sends state (lines such as "READY=1\nSTATUS=serving") to the service
 * manager when $NOTIFY_SOCKET names one; nothing otherwise. Returns 1 when
 * it was sent, 0 when there is no manager to tell, -1 when sending failed.
 */
int systemd_notify(const char *state);

/* systemd_notify() of "STATUS=" and the formatted text. */
int systemd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
