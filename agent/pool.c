/*
 * pool: PKCS#11 sessions for concurrent requests, under a mutex and a
 * condition variable.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "p11agent.h"
#include "pool.h"
#include "token.h"

struct pool {
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slot;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CK_SESSION_HANDLE *idle; /* a stack of size entries */
	size_t n_idle;
	size_t open; /* idle + in use */
	size_t size; /* most sessions open at once */
	/* Set once initialized: pool_free() then destroys them. */
	int have_lock, have_cond;
};

CK_RV pool_open_session(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, CK_SESSION_HANDLE *out)
{
	return f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, out);
}

int pool_new(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, size_t size, struct pool **out_pool, char *msg,
	     size_t msg_len)
{
	struct pool *p;
	int ret = P11A_ERR_INTERNAL;
	CK_RV rv;

	if (size == 0) {
		snprintf(msg, msg_len, "a session pool needs at least one session");
		return P11A_ERR_BAD_INPUT;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	/* From here on pool_free() takes care of a partial pool. */
	p->f = f;
	p->slot = slot;
	p->size = size;
	if ((p->idle = calloc(size, sizeof(*p->idle))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		snprintf(msg, msg_len, "pthread_mutex_init failed");
		goto out;
	}
	p->have_lock = 1;
	if (pthread_cond_init(&p->cond, NULL) != 0) {
		snprintf(msg, msg_len, "pthread_cond_init failed");
		goto out;
	}
	p->have_cond = 1;
	while (p->open < size) {
		if ((rv = pool_open_session(f, slot, &p->idle[p->n_idle])) != CKR_OK) {
			snprintf(msg, msg_len, "C_OpenSession failed: %s (session %zu of %zu)",
				 token_ckr_name(rv), p->open + 1, size);
			ret = P11A_ERR_TOKEN;
			goto out;
		}
		p->n_idle++;
		p->open++;
	}
	*out_pool = p;
	p = NULL;
	ret = P11A_OK;
out:
	pool_free(p);
	return ret;
}

void pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	while (p->n_idle > 0)
		(void)p->f->C_CloseSession(p->idle[--p->n_idle]);
	if (p->have_cond)
		pthread_cond_destroy(&p->cond);
	if (p->have_lock)
		pthread_mutex_destroy(&p->lock);
	free(p->idle);
	free(p);
}

int pool_take(struct pool *p, CK_SESSION_HANDLE *out, CK_RV *out_rv, char *msg, size_t msg_len)
{
	CK_RV rv;

	pthread_mutex_lock(&p->lock);
	while (p->n_idle == 0 && p->open >= p->size)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->n_idle > 0) {
		*out = p->idle[--p->n_idle];
		pthread_mutex_unlock(&p->lock);
		return P11A_OK;
	}
	/* A broken session was closed: open its replacement, outside the lock. */
	p->open++;
	pthread_mutex_unlock(&p->lock);

	if ((rv = pool_open_session(p->f, p->slot, out)) == CKR_OK)
		return P11A_OK;
	pthread_mutex_lock(&p->lock);
	p->open--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	snprintf(msg, msg_len, "C_OpenSession failed: %s", token_ckr_name(rv));
	*out_rv = rv;
	return P11A_ERR_TOKEN;
}

void pool_put(struct pool *p, CK_SESSION_HANDLE s, int broken)
{
	if (broken)
		(void)p->f->C_CloseSession(s);
	pthread_mutex_lock(&p->lock);
	if (broken)
		p->open--;
	else
		p->idle[p->n_idle++] = s;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void pool_usage(struct pool *p, size_t *out_in_use, size_t *out_size)
{
	pthread_mutex_lock(&p->lock);
	*out_in_use = p->open - p->n_idle;
	*out_size = p->size;
	pthread_mutex_unlock(&p->lock);
}
