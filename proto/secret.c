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

int secret_heap_init(size_t size)
{
#if defined(__SANITIZE_ADDRESS__)
	/* Under ASan, plain heap secrets keep their overflow checks. */
	(void)size;
	return 0;
#else
	/* 2: the heap works but could not be locked (RLIMIT_MEMLOCK). */
	return CRYPTO_secure_malloc_init(size, SECRET_HEAP_MIN) != 0 ? 0 : -1;
#endif
}

struct secret *secret_new(size_t len)
{
	struct secret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->len = len;
	/* The locked heap when there is one, and room left in it. */
	if (CRYPTO_secure_malloc_initialized() && (s->p = OPENSSL_secure_zalloc(len + 1)) != NULL)
		return s;
	ERR_clear_error(); /* a full secure heap leaves an error on the queue */
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
