/*
 * direct-impl: what direct.c (module, login, key, sessions) and directop.c
 * (the mechanisms and the operations) share. Others use direct.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_DIRECT_IMPL_H
#define P11AGENT_BENCH_DIRECT_IMPL_H

#include <p11-kit/pkcs11.h>

#include "direct.h"

/* Largest result of one operation: a signature (RSA-16384), a plaintext, a key value. */
#define DIRECT_OUT_MAX 8192

struct direct {
	CK_FUNCTION_LIST *f;
	int initialized;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE login; /* kept open: the login belongs to the application */
	CK_OBJECT_HANDLE key;
	const struct work *w;
	/* Set by direct_prepare(). */
	int prepared;
	CK_MECHANISM mech;
	union {
		CK_RSA_PKCS_PSS_PARAMS pss;
		CK_RSA_PKCS_OAEP_PARAMS oaep;
	} params;
	int software; /* OAEP: raw RSA in the token, decoded here (soft.c) */
	uint8_t *in;  /* sign: what C_Sign gets (DigestInfo || digest for RSA PKCS#1) */
	size_t in_len;
};

struct direct_client {
	struct direct *d;
	CK_SESSION_HANDLE s;
	uint8_t out[DIRECT_OUT_MAX]; /* results, wiped after each decrypt or unwrap */
	uint8_t em[DIRECT_OUT_MAX];  /* OAEP in software: the raw RSA block */
};

#endif
