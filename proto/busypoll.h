/*
 * busypoll: waiting for bytes on a socket without letting the CPU go idle,
 * shared by the agent (a quick client's next request) and libp11agent (a
 * reply). On virtual machines, waking a thread whose CPU went idle costs tens
 * of microseconds, more than a fast signature's whole overhead; a short poll
 * avoids it where the bytes are about to come.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BUSYPOLL_H
#define P11AGENT_BUSYPOLL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A sched_yield() that took longer than this (us) ran another thread. */
#define BUSYPOLL_YIELDED_US 10

/* Microseconds on the monotonic clock. */
int64_t busypoll_now_us(void);

/*
 * Tries to receive into buf until the monotonic clock reaches until_us (at
 * least once), yielding the CPU between tries, and gives up as soon as
 * another thread took the CPU: it is busy then, not going idle, and nothing
 * is gained. Returns the byte count (> 0), 0 when it gave up, -1 on end of
 * stream (errno 0) or an error.
 */
ssize_t busypoll_recv(int fd, void *buf, size_t len, int64_t until_us);

#endif
