/*
 * test-systemd: socket activation and readiness notification (agent/systemd.c),
 * built twice from this file: on libsystemd (test-systemd, when configure found
 * it) and on the agent's own implementation of the two protocols
 * (test-systemd-builtin), which must behave alike. The passed sockets are
 * taken only for this process's LISTEN_PID, with their names, and the
 * variables are gone afterwards either way; malformed variables are refused;
 * notifications reach a datagram socket at a path and at an abstract address,
 * and nothing is sent without NOTIFY_SOCKET.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "p11agent.h"
#include "../agent/systemd.h"

/*
 * Puts n listening Unix stream sockets at descriptors 3 .. 3+n-1, each bound
 * to an abstract address the kernel picks (autobind).
 */
static void pass_sockets(int n)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(fd >= 0);
		assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sa_family_t)), 0);
		assert_int_equal(listen(fd, 1), 0);
		if (fd != 3 + i) {
			assert_int_equal(dup2(fd, 3 + i), 3 + i);
			close(fd);
		}
	}
}

static void close_sockets(int n)
{
	for (int i = 0; i < n; i++)
		close(3 + i);
}

static void set_env(const char *pid, const char *fds, const char *names)
{
	char own[32];

	if (pid != NULL && strcmp(pid, "self") == 0) {
		snprintf(own, sizeof(own), "%ld", (long)getpid());
		pid = own;
	}
	pid != NULL ? setenv("LISTEN_PID", pid, 1) : unsetenv("LISTEN_PID");
	fds != NULL ? setenv("LISTEN_FDS", fds, 1) : unsetenv("LISTEN_FDS");
	names != NULL ? setenv("LISTEN_FDNAMES", names, 1) : unsetenv("LISTEN_FDNAMES");
}

static void assert_env_gone(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static void test_not_activated(void **state)
{
	struct systemd_fd fds[SYSTEMD_MAX_FDS];
	char msg[256];
	size_t n = 99;

	(void)state;
	set_env(NULL, NULL, NULL);
	assert_int_equal(systemd_listen_fds(fds, SYSTEMD_MAX_FDS, &n, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(n, 0);
}

static void test_named(void **state)
{
	struct systemd_fd fds[SYSTEMD_MAX_FDS];
	char msg[256];
	size_t n = 0;

	(void)state;
	pass_sockets(2);
	set_env("self", "2", "agent:ssh");
	assert_int_equal(systemd_listen_fds(fds, SYSTEMD_MAX_FDS, &n, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fds[0].fd, 3);
	assert_string_equal(fds[0].name, "agent");
	assert_int_equal(fds[1].fd, 4);
	assert_string_equal(fds[1].name, "ssh");
	/* Close-on-exec: a program the agent ran would not get them. */
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(4, F_GETFD) & FD_CLOEXEC);
	assert_env_gone();
	close_sockets(2);
}

static void test_unnamed(void **state)
{
	struct systemd_fd fds[SYSTEMD_MAX_FDS];
	char msg[256];
	size_t n = 0;

	(void)state;
	pass_sockets(1);
	set_env("self", "1", NULL);
	assert_int_equal(systemd_listen_fds(fds, SYSTEMD_MAX_FDS, &n, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(n, 1);
	assert_string_equal(fds[0].name, "unknown");
	assert_env_gone();
	close_sockets(1);
}

static void test_other_pid(void **state)
{
	struct systemd_fd fds[SYSTEMD_MAX_FDS];
	char msg[256];
	size_t n = 99;

	(void)state;
	pass_sockets(1);
	set_env("1", "1", "agent");
	assert_int_equal(systemd_listen_fds(fds, SYSTEMD_MAX_FDS, &n, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(n, 0);
	assert_env_gone();
	/* Meant for another process: left as it was. */
	assert_false(fcntl(3, F_GETFD) & FD_CLOEXEC);
	close_sockets(1);
}

static void test_malformed(void **state)
{
	static const char *const cases[][3] = {
	    {"12x", "1", "agent"},     /* LISTEN_PID not a number */
	    {"self", "one", "agent"},  /* LISTEN_FDS not a number */
	    {"self", "-1", "agent"},   /* negative */
	    {"self", "2", "agent"},    /* fewer names */
	    {"self", "1", "agent:ssh"} /* more names */
	};
	struct systemd_fd fds[SYSTEMD_MAX_FDS];
	char msg[256];
	size_t n;

	(void)state;
	pass_sockets(2);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 99;
		msg[0] = '\0';
		set_env(cases[i][0], cases[i][1], cases[i][2]);
		assert_int_equal(systemd_listen_fds(fds, SYSTEMD_MAX_FDS, &n, msg, sizeof(msg)),
				 P11A_ERR_INVALID_ARG);
		assert_int_equal(n, 0);
		assert_non_null(strstr(msg, "socket activation: "));
		assert_env_gone();
	}
	close_sockets(2);
}

static void test_too_many(void **state)
{
	struct systemd_fd fds[2];
	char msg[256];
	size_t n = 99;

	(void)state;
	pass_sockets(3);
	set_env("self", "3", "a:b:c");
	assert_int_equal(systemd_listen_fds(fds, 2, &n, msg, sizeof(msg)), P11A_ERR_INVALID_ARG);
	assert_int_equal(n, 0);
	assert_non_null(strstr(msg, "3 sockets passed, at most 2"));
	assert_env_gone();
	close_sockets(3);
}

/* A datagram socket bound at addr (len bytes), as a service manager's. */
static int listener(const struct sockaddr_un *addr, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (const struct sockaddr *)addr, len), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char got[1024];
	ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);

	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void test_notify_path(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/p11agent-notify.XXXXXX";
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", dir);
	fd = listener(&sun, sizeof(sun));
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);
	assert_int_equal(systemd_notify("READY=1\nSTATUS=serving"), 1);
	expect_datagram(fd, "READY=1\nSTATUS=serving");
	/* A STATUS= text is one line, however it was formatted. */
	assert_int_equal(systemd_status("token %s:\n%d keys", "away", 3), 1);
	expect_datagram(fd, "STATUS=token away: 3 keys");
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(systemd_notify("READY=1"), 0);
	assert_int_equal(recv(fd, dir, 1, MSG_DONTWAIT), -1);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

static void test_notify_abstract(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char name[64];
	size_t len;
	int fd;

	(void)state;
	len = (size_t)snprintf(name, sizeof(name), "@p11agent-test-notify-%ld", (long)getpid());
	memcpy(sun.sun_path, name, len);
	sun.sun_path[0] = '\0';
	fd = listener(&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(systemd_notify("STOPPING=1"), 1);
	expect_datagram(fd, "STOPPING=1");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

static void test_notify_nobody_listens(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", "/nonexistent/p11agent/notify", 1);
	assert_int_equal(systemd_notify("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_activated),
	    cmocka_unit_test(test_named),
	    cmocka_unit_test(test_unnamed),
	    cmocka_unit_test(test_other_pid),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_notify_path),
	    cmocka_unit_test(test_notify_abstract),
	    cmocka_unit_test(test_notify_nobody_listens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
