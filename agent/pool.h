/*
 * pool: a bounded pool of PKCS#11 sessions on one slot, shared by the
 * threads that serve requests. Each request takes a session, runs one
 * operation on it and puts it back; while all are busy, takers wait.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_POOL_H
#define P11AGENT_POOL_H

#include <stddef.h>

#include <p11-kit/pkcs11.h>

struct pool;

/*
 * Opens one session (CKF_SERIAL_SESSION) on slot, as the pool's own are
 * opened; for a session kept outside the pool (the token's login session).
 * Returns C_OpenSession's CK_RV.
 */
CK_RV pool_open_session(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, CK_SESSION_HANDLE *out);

/*
 * Opens size sessions (CKF_SERIAL_SESSION) on slot. Returns P11A_OK and
 * *out_pool, or P11A_ERR_TOKEN ("C_OpenSession failed: CKR_...") or
 * P11A_ERR_INTERNAL with a message in msg.
 */
int pool_new(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, size_t size, struct pool **out_pool, char *msg,
	     size_t msg_len);
/* Closes the sessions (all must have been put back) and frees. NULL is a no-op. */
void pool_free(struct pool *p);

/*
 * Takes a session, waiting while all are busy. A session closed as broken
 * is replaced here, on demand: P11A_ERR_TOKEN when that C_OpenSession fails,
 * with its CK_RV in *out_rv.
 */
int pool_take(struct pool *p, CK_SESSION_HANDLE *out, CK_RV *out_rv, char *msg, size_t msg_len);
/*
 * Puts s back. broken: an operation may still be active in s, or it is
 * gone; it is closed, and a fresh one opened by a later pool_take().
 */
void pool_put(struct pool *p, CK_SESSION_HANDLE s, int broken);
/* How many sessions requests hold now, and the pool's size. */
void pool_usage(struct pool *p, size_t *out_in_use, size_t *out_size);

#endif
