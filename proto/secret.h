/*
 * secret: bytes that must not outlive their use (a PIN, a session key).
 * secret_free() wipes them. Locked in memory where the system allows: in
 * OpenSSL's secure heap (mlocked once, kept out of core dumps) once
 * secret_heap_init() has made one, else each in its own mlock()ed allocation.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SECRET_H
#define P11AGENT_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct secret {
	uint8_t *p;
	size_t len;
	int locked; /* outside the secure heap: mlock() succeeded */
};

/* Smallest block of the secure heap. */
#define SECRET_HEAP_MIN 32

/*
 * Makes the process's secure heap of size bytes (a power of two) for the
 * secrets made after it; once per process, after any fork (locks are not
 * inherited). Our secrets take at most half of it: libcrypto's own (and an
 * in-process PKCS#11 module's) use it too. 0: made and locked; 1: it could
 * not be locked (RLIMIT_MEMLOCK), so none was kept; -1: none (also under
 * ASan). Without one, each secret is mlock()ed on its own, where it can be.
 */
int secret_heap_init(size_t size);

/* A zeroed secret of len bytes (plus a NUL byte after them). NULL on OOM. */
struct secret *secret_new(size_t len);
/* A secret holding a copy of p[0..len). NULL on OOM. */
struct secret *secret_dup(const void *p, size_t len);
/* Wipes and frees s. NULL is a no-op. */
void secret_free(struct secret *s);
/* Wipes len bytes at p in a way the compiler keeps. */
void secret_wipe(void *p, size_t len);

#endif
