/*
 * startup: p11agentd started and stopped as ssh-agent is (startup.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "p11agent.h"
#include "startup.h"

/* The name the kernel gives a p11agentd process (/proc/PID/status, Name:). */
#define AGENT_COMM "p11agentd"

enum startup_shell startup_shell_from_env(void)
{
	const char *shell = getenv("SHELL");
	size_t len = shell != NULL ? strlen(shell) : 0;

	return len >= 3 && strcmp(shell + len - 3, "csh") == 0 ? STARTUP_CSH : STARTUP_SH;
}

int startup_check_printable(const char *path, char *msg, size_t msg_len)
{
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(msg, msg_len,
				 "the socket path holds a control character, which the shell "
				 "lines cannot carry: give --socket a plain path");
			return P11A_ERR_INVALID_ARG;
		}
	}
	return P11A_OK;
}

/*
 * Writes s as one shell word: as it is when it holds only characters no shell
 * treats specially, else in single quotes, a quote written as '\'' (and for
 * csh a ! as \!, which csh expands even inside quotes).
 */
static void put_word(FILE *f, enum startup_shell sh, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_./:,+@%=-";

	if (*s != '\0' && strspn(s, plain) == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (*s == '!' && sh == STARTUP_CSH)
			fputs("'\\!'", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* One line that sets name to value (value a shell word, put_word). */
static void put_set(FILE *f, enum startup_shell sh, const char *name, const char *value)
{
	if (sh == STARTUP_CSH) {
		fprintf(f, "setenv %s ", name);
		put_word(f, sh, value);
		fputs(";\n", f);
	} else {
		fprintf(f, "%s=", name);
		put_word(f, sh, value);
		fprintf(f, "; export %s;\n", name);
	}
}

int startup_print_env(FILE *f, enum startup_shell sh, const char *sock, pid_t pid)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", (long)pid);
	put_set(f, sh, P11A_SOCK_ENV, sock);
	put_set(f, sh, STARTUP_PID_ENV, num);
	fprintf(f, "echo Agent pid %ld;\n", (long)pid);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

int startup_print_unset(FILE *f, enum startup_shell sh, pid_t pid)
{
	const char *unset = sh == STARTUP_CSH ? "unsetenv" : "unset";

	fprintf(f, "%s %s;\n%s %s;\necho Agent pid %ld killed;\n", unset, P11A_SOCK_ENV, unset,
		STARTUP_PID_ENV, (long)pid);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

/* P11AGENT_PID as a pid above 1, or 0 with a message. */
static pid_t pid_from_env(char *msg, size_t msg_len)
{
	const char *v = getenv(STARTUP_PID_ENV);
	char shown[40];
	size_t i;
	long n;
	char *end;

	if (v == NULL || *v == '\0') {
		snprintf(msg, msg_len,
			 "%s is not set: it names the agent to stop; it is set by "
			 "eval \"$(p11agentd ...)\"",
			 STARTUP_PID_ENV);
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && *end == '\0' && errno == 0 && n > 1 && n <= INT_MAX)
		return (pid_t)n;
	/* Shown with anything unprintable as '?', and cut short. */
	for (i = 0; v[i] != '\0' && i < sizeof(shown) - 1; i++)
		shown[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	shown[i] = '\0';
	snprintf(msg, msg_len, "%s='%s'%s is not a process id (a number above 1)", STARTUP_PID_ENV,
		 shown, v[i] != '\0' ? "..." : "");
	return 0;
}

/*
 * Reads the Name: and the real and effective Uid: of /proc/PID/status (which
 * any process may read, unlike /proc/PID/exe of an agent that is not
 * dumpable). Returns 0, or -1 with errno (ENOENT: no such process).
 */
static int proc_status(pid_t pid, char *name, size_t name_len, uid_t *ruid, uid_t *euid)
{
	char path[64], line[256];
	unsigned long r, e;
	int have = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Name:\t", 6) == 0) {
			size_t n = strcspn(line + 6, "\n");

			if (n >= name_len)
				n = name_len - 1;
			memcpy(name, line + 6, n);
			name[n] = '\0';
			have |= 1;
		} else if (sscanf(line, "Uid:\t%lu\t%lu", &r, &e) == 2) {
			*ruid = (uid_t)r;
			*euid = (uid_t)e;
			have |= 2;
		}
	}
	fclose(f);
	if (have != 3) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Whether pid has exited (gone, or a zombie waiting to be reaped). */
static int exited(pid_t pid)
{
	char path[64], line[128];
	int zombie = 0;
	FILE *f;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "State:\t", 7) == 0)
			zombie = line[7] == 'Z';
	fclose(f);
	return zombie;
}

/*
 * Waits up to STARTUP_KILL_WAIT_MS for pid to exit: on its pidfd when there
 * is one (readable once the process exits), else by looking every 50 ms.
 */
static int wait_exit(pid_t pid, int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	struct timespec tick = {0, 50 * 1000 * 1000};

	if (pidfd >= 0) {
		int n;

		do
			n = poll(&p, 1, STARTUP_KILL_WAIT_MS);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			return 0;
	}
	for (int waited = 0; waited <= STARTUP_KILL_WAIT_MS; waited += 50) {
		if (exited(pid))
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

int startup_kill(pid_t *out_pid, char *msg, size_t msg_len)
{
	char name[64];
	uid_t ruid, euid, me = getuid();
	pid_t pid;
	int pidfd = -1, r;

	if ((pid = pid_from_env(msg, msg_len)) == 0)
		return STARTUP_KILL_BAD_PID;
		/* A pidfd pins the process: the checks and the signal are about the same one. */
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (proc_status(pid, name, sizeof(name), &ruid, &euid) != 0 || exited(pid)) {
		snprintf(msg, msg_len,
			 "no process %ld (%s=%ld): the agent has stopped already, or the variable "
			 "is stale; nothing was killed",
			 (long)pid, STARTUP_PID_ENV, (long)pid);
		r = STARTUP_KILL_NO_PROCESS;
		goto out;
	}
	if (strcmp(name, AGENT_COMM) != 0) {
		snprintf(msg, msg_len,
			 "process %ld is not a p11agentd (it is '%s'): %s names another program; "
			 "nothing was killed",
			 (long)pid, name, STARTUP_PID_ENV);
		r = STARTUP_KILL_NOT_AGENT;
		goto out;
	}
	if (ruid != me || euid != me) {
		snprintf(msg, msg_len,
			 "process %ld is a p11agentd of uid %lu, not yours (uid %lu): nothing was "
			 "killed",
			 (long)pid, (unsigned long)euid, (unsigned long)me);
		r = STARTUP_KILL_NOT_AGENT;
		goto out;
	}
	r = STARTUP_KILL_FAILED;
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0 ? syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) != 0
		       : kill(pid, SIGTERM) != 0) {
#else
	if (kill(pid, SIGTERM) != 0) {
#endif
		snprintf(msg, msg_len, "cannot send SIGTERM to p11agentd %ld: %s", (long)pid,
			 strerror(errno));
		goto out;
	}
	if (wait_exit(pid, pidfd) != 0) {
		snprintf(msg, msg_len,
			 "p11agentd %ld got SIGTERM but has not exited within %d s (requests still "
			 "running?); try again, or kill -KILL %ld",
			 (long)pid, STARTUP_KILL_WAIT_MS / 1000, (long)pid);
		goto out;
	}
	*out_pid = pid;
	r = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

int startup_abspath(const char *what, const char *path, char *out, size_t out_len, char *msg,
		    size_t msg_len)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, out_len, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(msg, msg_len, "%s %s: cannot tell the working directory: %s", what, path,
			 strerror(errno));
		return P11A_ERR_INVALID_ARG;
	} else
		n = snprintf(out, out_len, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
	if (n < 0 || (size_t)n >= out_len) {
		snprintf(msg, msg_len, "%s %s: the absolute path is longer than %zu bytes", what,
			 path, out_len - 1);
		return P11A_ERR_INVALID_ARG;
	}
	return P11A_OK;
}

int startup_write_pidfile(const char *path, pid_t pid, char *msg, size_t msg_len)
{
	char tmp[PATH_MAX], line[32];
	int fd = -1, r = P11A_ERR_INVALID_ARG, len;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(msg, msg_len, "--pidfile %s: path too long", path);
		return r;
	}
	len = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(msg, msg_len, "--pidfile %s: cannot create a file beside it: %s", path,
			 strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || write(fd, line, (size_t)len) != len || close(fd) != 0) {
		fd = -1;
		snprintf(msg, msg_len, "--pidfile %s: cannot write %s: %s", path, tmp,
			 strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(msg, msg_len, "--pidfile %s: cannot rename %s to it: %s", path, tmp,
			 strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	r = P11A_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	return r;
}

void startup_remove_pidfile(const char *path, pid_t pid)
{
	char buf[32], want[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	snprintf(want, sizeof(want), "%ld\n", (long)pid);
	if (n > 0 && (size_t)n == strlen(want) && memcmp(buf, want, (size_t)n) == 0)
		unlink(path);
}

int startup_private_dir(char *out_dir, size_t dir_len, char *msg, size_t msg_len)
{
	const char *tmpdir = getenv("TMPDIR");
	char tmpl[PATH_MAX];

	if (tmpdir == NULL || tmpdir[0] != '/')
		tmpdir = "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/p11agent-XXXXXX", tmpdir) >= (int)sizeof(tmpl) ||
	    strlen(tmpl) >= dir_len) {
		snprintf(msg, msg_len,
			 "XDG_RUNTIME_DIR is not set and TMPDIR (%s) is too long for a socket "
			 "path: set XDG_RUNTIME_DIR or pass --socket",
			 tmpdir);
		return P11A_ERR_INVALID_ARG;
	}
	if (mkdtemp(tmpl) == NULL) {
		snprintf(msg, msg_len,
			 "XDG_RUNTIME_DIR is not set and no directory can be made in %s: %s; set "
			 "XDG_RUNTIME_DIR or TMPDIR, or pass --socket",
			 tmpdir, strerror(errno));
		return P11A_ERR_INVALID_ARG;
	}
	memcpy(out_dir, tmpl, strlen(tmpl) + 1);
	return P11A_OK;
}

int startup_default_config(char *out, size_t out_len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct stat st;
	int n;

	if (geteuid() == 0)
		n = snprintf(out, out_len, "%s/p11agent/p11agent.conf", P11A_SYSCONFDIR);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, out_len, "%s/p11agent/p11agent.conf", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, out_len, "%s/.config/p11agent/p11agent.conf", home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= out_len) {
		if (out_len > 0)
			out[0] = '\0';
		return -1;
	}
	return lstat(out, &st) == 0;
}
