/*
 * frameio: frames' bytes on a stream socket, within deadlines.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "frameio.h"

int64_t frameio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t frameio_deadline(unsigned ms)
{
	return ms == 0 ? FRAMEIO_NO_DEADLINE : frameio_now_ms() + ms;
}

int frameio_ms_left(int64_t deadline_ms)
{
	int64_t left;

	if (deadline_ms == FRAMEIO_NO_DEADLINE)
		return INT_MAX;
	left = deadline_ms - frameio_now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Sets SO_RCVTIMEO to ms (0: wait forever) unless it already is. */
static int set_timeout(struct frameio_rx *rx, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (ms == rx->timeout_ms)
		return 0;
	if (setsockopt(rx->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	rx->timeout_ms = ms;
	return 0;
}

ssize_t frameio_recv_some(struct frameio_rx *rx, uint8_t *p, size_t len, int timeout_ms)
{
	ssize_t n;

	if (set_timeout(rx, timeout_ms) != 0)
		return -1;
	do
		n = recv(rx->fd, p, len, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ECONNRESET;
	return n > 0 ? n : -1;
}

int frameio_recv_full(struct frameio_rx *rx, uint8_t *p, size_t len, int64_t deadline_ms)
{
	while (len > 0) {
		int left = frameio_ms_left(deadline_ms);
		ssize_t n;

		if (left == 0) {
			errno = EAGAIN;
			return -1;
		}
		/* No deadline: no timeout either (INT_MAX ms would be one). */
		if ((n = frameio_recv_some(rx, p, len,
					   deadline_ms == FRAMEIO_NO_DEADLINE ? 0 : left)) < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int frameio_send_full(int fd, const uint8_t *p, size_t len, int64_t deadline_ms)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int left;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if ((left = frameio_ms_left(deadline_ms)) == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (poll(&pfd, 1, deadline_ms == FRAMEIO_NO_DEADLINE ? -1 : left) < 0 &&
		    errno != EINTR)
			return -1;
	}
	return 0;
}
