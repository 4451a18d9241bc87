/*
 * secret: bytes that must not outlive their use.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "secret.h"

void secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

/* The secure heap's size, 0 while there is none. */
static size_t heap_size;

int secret_heap_init(size_t size)
{
#if defined(__SANITIZE_ADDRESS__)
	/* Under ASan, plain heap secrets keep their overflow checks. */
	(void)size;
	return -1;
#else
	switch (CRYPTO_secure_malloc_init(size, SECRET_HEAP_MIN)) {
	case 1:
		heap_size = size;
		return 0;
	case 2:
		/* It works but is not locked (RLIMIT_MEMLOCK): one mlock a secret may still be. */
		CRYPTO_secure_malloc_done();
		return 1;
	default:
		return -1;
	}
#endif
}

struct secret *secret_new(size_t len)
{
	struct secret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->len = len;
	/*
	 * The locked heap while it is less than half full: libcrypto's own
	 * secrets (ECDSA nonces, private keys of an in-process module such as
	 * SoftHSM) come from it too, and fail when it is full, so ours leave
	 * them room. The mark keeps a refusal's error off the caller's queue.
	 */
	if (heap_size > 0 && CRYPTO_secure_used() + len < heap_size / 2) {
		ERR_set_mark();
		s->p = OPENSSL_secure_zalloc(len + 1);
		ERR_pop_to_mark();
		if (s->p != NULL)
			return s;
	}
	if ((s->p = calloc(1, len + 1)) == NULL) {
		free(s);
		return NULL;
	}
	/* Best effort: keep it out of swap. Failure (RLIMIT_MEMLOCK) is not fatal. */
	s->locked = mlock(s->p, len + 1) == 0;
	return s;
}

struct secret *secret_dup(const void *p, size_t len)
{
	struct secret *s;

	if ((s = secret_new(len)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(s->p, p, len);
	return s;
}

void secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	if (CRYPTO_secure_allocated(s->p)) {
		OPENSSL_secure_clear_free(s->p, s->len + 1);
	} else {
		secret_wipe(s->p, s->len + 1);
		/* (munlock may unlock a page another secret shares: the heap avoids that.) */
		if (s->locked)
			(void)munlock(s->p, s->len + 1);
		free(s->p);
	}
	free(s);
}
