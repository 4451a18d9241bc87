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

#include "secret.h"

void secret_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		OPENSSL_cleanse(p, len);
}

struct secret *secret_new(size_t len)
{
	struct secret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->p = calloc(1, len + 1)) == NULL) {
		free(s);
		return NULL;
	}
	s->len = len;
	/* Best effort: keep it out of swap. Failure (RLIMIT_MEMLOCK) is not fatal. */
	(void)mlock(s->p, len + 1);
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
	secret_wipe(s->p, s->len + 1);
	(void)munlock(s->p, s->len + 1);
	free(s->p);
	free(s);
}
