/*
 * frameio: the bytes of frames (a u32 big-endian length, then the body) on a
 * stream socket, within deadlines: the agent's server and the client library
 * read and write with these, and nothing else.
 *
 * Receiving waits with SO_RCVTIMEO rather than poll(), so that a frame that
 * is there costs one recv(); the option is set only when the wait changes.
 * Sending does not block: a full socket is waited for with poll() until the
 * deadline, so that a peer that stops reading cannot hold the sender.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_FRAMEIO_H
#define P11AGENT_FRAMEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A deadline that never comes. */
#define FRAMEIO_NO_DEADLINE INT64_MAX

/* Milliseconds on the monotonic clock. */
int64_t frameio_now_ms(void);
/* The deadline ms from now; 0 ms: none (FRAMEIO_NO_DEADLINE). */
int64_t frameio_deadline(unsigned ms);
/* Milliseconds left until deadline_ms, at least 1; 0 when it has passed. */
int frameio_ms_left(int64_t deadline_ms);

/* The receiving side of a socket: fd, and the SO_RCVTIMEO set on it now. */
struct frameio_rx {
	int fd;
	int timeout_ms; /* 0: none */
};

/*
 * Receives once into p (at most len bytes), waiting at most timeout_ms
 * (0: as long as it takes). Returns the byte count, or -1 on end of stream
 * (errno ECONNRESET), an error, or the timeout (errno EAGAIN).
 */
ssize_t frameio_recv_some(struct frameio_rx *rx, uint8_t *p, size_t len, int timeout_ms);
/* Receives exactly len bytes before deadline_ms. 0, or -1 (errno as above). */
int frameio_recv_full(struct frameio_rx *rx, uint8_t *p, size_t len, int64_t deadline_ms);
/*
 * Sends all of p before deadline_ms. 0, or -1 on an error (errno) or when
 * the deadline passed first (errno EAGAIN).
 */
int frameio_send_full(int fd, const uint8_t *p, size_t len, int64_t deadline_ms);

#endif
