/*
 * systemd: socket activation and readiness notification (systemd.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "systemd.h"

/* The unit test builds the fallback even where libsystemd is there. */
#if defined(HAVE_LIBSYSTEMD) && !defined(P11A_SYSTEMD_BUILTIN)
#define USE_LIBSYSTEMD 1
#include <systemd/sd-daemon.h>
#else
#define USE_LIBSYSTEMD 0
#endif

/* The first descriptor passed (SD_LISTEN_FDS_START). */
#define LISTEN_FDS_START 3

static void unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

#if USE_LIBSYSTEMD

int systemd_listen_fds(struct systemd_fd *out, size_t max, size_t *out_n, char *msg, size_t msg_len)
{
	char **names = NULL;
	int n, ret = P11A_OK;

	*out_n = 0;
	n = sd_listen_fds_with_names(1, &names);
	unset_listen_env();
	if (n < 0) {
		snprintf(
		    msg, msg_len,
		    "socket activation: LISTEN_PID, LISTEN_FDS or LISTEN_FDNAMES is malformed: %s",
		    strerror(-n));
		return P11A_ERR_INVALID_ARG;
	}
	if ((size_t)n > max) {
		snprintf(msg, msg_len,
			 "socket activation: %d sockets passed, at most %zu are served", n, max);
		ret = P11A_ERR_INVALID_ARG;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		out[i].fd = LISTEN_FDS_START + i;
		snprintf(out[i].name, sizeof(out[i].name), "%s",
			 names != NULL && names[i] != NULL ? names[i] : "unknown");
	}
	*out_n = (size_t)n;
out:
	if (names != NULL) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return ret;
}

int systemd_notify(const char *state)
{
	int r = sd_notify(0, state);

	return r < 0 ? -1 : r > 0;
}

#else /* the documented protocols, by hand */

/* A decimal number of the environment within [min, max], into *out; -1 when malformed. */
static int env_number(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int systemd_listen_fds(struct systemd_fd *out, size_t max, size_t *out_n, char *msg, size_t msg_len)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	long pid, n;
	size_t i = 0;
	int ret = P11A_ERR_INVALID_ARG;

	*out_n = 0;
	if (pid_s == NULL || fds_s == NULL) {
		ret = P11A_OK;
		goto out;
	}
	if (env_number(pid_s, 1, LONG_MAX, &pid) != 0) {
		snprintf(msg, msg_len, "socket activation: LISTEN_PID is not a process id");
		goto out;
	}
	if ((pid_t)pid != getpid()) {
		ret = P11A_OK; /* meant for another process */
		goto out;
	}
	if (env_number(fds_s, 0, INT_MAX - LISTEN_FDS_START, &n) != 0) {
		snprintf(msg, msg_len, "socket activation: LISTEN_FDS is not a number");
		goto out;
	}
	if ((size_t)n > max) {
		snprintf(msg, msg_len,
			 "socket activation: %ld sockets passed, at most %zu are served", n, max);
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
		int fd = LISTEN_FDS_START + (int)i, flags;
		size_t len = 0;

		if ((flags = fcntl(fd, F_GETFD)) < 0 ||
		    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
			snprintf(msg, msg_len, "socket activation: descriptor %d: %s", fd,
				 strerror(errno));
			goto out;
		}
		out[i].fd = fd;
		if (names != NULL) {
			len = strcspn(names, ":");
			if (len == 0 && names[0] == '\0') {
				snprintf(
				    msg, msg_len,
				    "socket activation: LISTEN_FDNAMES names fewer than the %ld "
				    "descriptors passed",
				    n);
				goto out;
			}
		}
		if (len >= sizeof(out[i].name)) {
			snprintf(msg, msg_len,
				 "socket activation: a name in LISTEN_FDNAMES is too long");
			goto out;
		}
		if (names != NULL) {
			memcpy(out[i].name, names, len);
			out[i].name[len] = '\0';
			names += len + (names[len] == ':');
		} else {
			snprintf(out[i].name, sizeof(out[i].name), "unknown");
		}
	}
	if (names != NULL && *names != '\0') {
		snprintf(msg, msg_len,
			 "socket activation: LISTEN_FDNAMES names more than the %ld descriptors "
			 "passed",
			 n);
		goto out;
	}
	*out_n = (size_t)n;
	ret = P11A_OK;
out:
	unset_listen_env();
	return ret;
}

int systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len, n = strlen(state);
	ssize_t sent;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0'; /* an abstract address */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* Never blocks: a notification is not worth stalling the thread (it may hold the token). */
	sent = sendto(fd, state, n, MSG_NOSIGNAL | MSG_DONTWAIT, (const struct sockaddr *)&sun,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
	return sent == (ssize_t)n ? 1 : -1;
}

#endif

int systemd_status(const char *fmt, ...)
{
	char state[1024];
	va_list ap;

	memcpy(state, "STATUS=", 7);
	va_start(ap, fmt);
	vsnprintf(state + 7, sizeof(state) - 7, fmt, ap);
	va_end(ap);
	/* One line: the protocol is newline-separated assignments. */
	for (char *p = state; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return systemd_notify(state);
}

int systemd_notify_socket_ours(void)
{
	const char *sock = getenv("NOTIFY_SOCKET"), *exec_pid = getenv("SYSTEMD_EXEC_PID");
	char *end;
	long pid;

	if (sock == NULL || *sock == '\0')
		return 0;
	if (exec_pid == NULL)
		return 1;
	errno = 0;
	pid = strtol(exec_pid, &end, 10);
	if (errno == 0 && *end == '\0' && end != exec_pid && (pid_t)pid == getpid())
		return 1;
	unsetenv("NOTIFY_SOCKET");
	return 0;
}
