/*
 * busypoll: waiting for bytes on a socket without letting the CPU go idle.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include "busypoll.h"

int64_t busypoll_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

ssize_t busypoll_recv(int fd, void *buf, size_t len, int64_t until_us)
{
	int64_t before;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0)
			return n;
		if (n == 0) {
			errno = 0;
			return -1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		before = busypoll_now_us();
		if (before >= until_us)
			return 0;
		sched_yield();
		if (busypoll_now_us() - before > BUSYPOLL_YIELDED_US)
			return 0;
	}
}
