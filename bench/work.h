/*
 * work: what one timed operation of the benchmark is (ping, a signature or a
 * batch of them, a decryption, an unwrap), and the input it works on, made
 * once at start: the digest or message to sign, or a random session key and
 * its ciphertext (RSA encryption with the key's public half, done here) or
 * wrapped form (AES key wrap, done in the token).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_WORK_H
#define P11AGENT_BENCH_WORK_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

/* Length of the random session key that decrypt and unwrap recover. */
#define WORK_PLAIN_LEN 32

enum work_op {
	WORK_PING,
	WORK_SIGN,    /* sign or HMAC, batch items per operation */
	WORK_DECRYPT, /* RSA-OAEP or RSA PKCS#1 v1.5 decryption */
	WORK_UNWRAP,  /* RSA-OAEP, AES-KW or AES-KWP unwrap into a session object */
};

struct work {
	enum work_op op;
	const struct p11a_alg_info *alg; /* NULL for ping */
	const char *key;		 /* NULL for ping */
	unsigned batch;			 /* items per operation: signatures, else 1 */
	uint8_t *in;			 /* what every operation sends */
	size_t in_len;
	uint8_t *plain; /* decrypt, unwrap: what must come out (a secret) */
	size_t plain_len;
};

struct direct;

/* "ping", "sign", "decrypt", "unwrap". */
const char *work_op_name(enum work_op op);
/*
 * The operation named name ("sign", "decrypt", "unwrap"). Returns 0 and
 * *out, or -1 when there is no such name.
 */
int work_op_by_name(const char *name, enum work_op *out);
/* The operation alg does unless told otherwise: sign, decrypt, else unwrap; -1 for none. */
int work_default_op(const struct p11a_alg_info *alg, enum work_op *out);

/*
 * Makes w->in (and w->plain for decrypt and unwrap) for w->op, w->alg and
 * w->key. sign: a fixed digest (RSA, ECDSA) or a message of sign_len bytes
 * (Ed25519, HMAC). decrypt, unwrap: WORK_PLAIN_LEN random bytes, encrypted
 * with the RSA key's public half (CKA_MODULUS and CKA_PUBLIC_EXPONENT through
 * d, or the agent's p11a_pubkey() at socket when d is NULL), or wrapped in
 * the token under the AES key (d is then required). Returns 0, or -1 with a
 * message in msg (never a secret).
 */
int work_make_input(struct work *w, size_t sign_len, struct direct *d, const char *socket,
		    char *msg, size_t msg_len);

/* Frees w->in and wipes and frees w->plain; w may be reused. */
void work_clear(struct work *w);

#endif
