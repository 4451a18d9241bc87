/*
 * tokdata: the agent's own data objects in the token (CKO_DATA, CKA_TOKEN,
 * CKA_PRIVATE, CKA_APPLICATION "p11agent", found by CKA_LABEL), read and
 * written on a read-write session of their own, so that the session pool
 * stays read-only. Faults are recovered from as for any other operation.
 *
 * Tokens may keep CKA_VALUE read-only (SoftHSM does), so a new value is a
 * new object, and the old ones are destroyed after it is made: a crash in
 * between leaves two, which the next write clears; a read takes the first
 * one found.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "token-impl.h"

#define DATA_APPLICATION "p11agent"

/* Most objects of one label found (and replaced) at once. */
#define DATA_MAX_FOUND 8

/* Finds the data objects labelled label: *out_n of them (0 when there is none). */
static CK_RV find_objects(struct token *tok, CK_SESSION_HANDLE s, const char *label,
			  CK_OBJECT_HANDLE out_objs[DATA_MAX_FOUND], CK_ULONG *out_n)
{
	CK_OBJECT_CLASS klass = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &klass, sizeof(klass)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_APPLICATION, (void *)DATA_APPLICATION, sizeof(DATA_APPLICATION) - 1},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_ULONG n = 0;
	CK_RV rv, rv2;

	if ((rv = tok->f->C_FindObjectsInit(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]))) != CKR_OK)
		return rv;
	rv = tok->f->C_FindObjects(s, out_objs, DATA_MAX_FOUND, &n);
	rv2 = tok->f->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv != CKR_OK)
		return rv;
	*out_n = n;
	return CKR_OK;
}

/* One attempt of token_data_get() or token_data_put() (value != NULL) on a new session. */
static int data_once(struct token *tok, const char *label, const uint8_t *value, size_t value_len,
		     uint8_t *out, size_t out_cap, size_t *out_len, int *out_found, CK_RV *out_rv,
		     char *msg, size_t msg_len)
{
	CK_OBJECT_CLASS klass = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &klass, sizeof(klass)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_MODIFIABLE, &yes, sizeof(yes)},
	    {CKA_APPLICATION, (void *)DATA_APPLICATION, sizeof(DATA_APPLICATION) - 1},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_VALUE, (void *)value, value_len},
	};
	CK_ATTRIBUTE get = {CKA_VALUE, out, out_cap};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE objs[DATA_MAX_FOUND], obj;
	CK_ULONG found = 0;
	const char *fn = "C_OpenSession";
	int ret = P11A_ERR_TOKEN;
	CK_RV rv;

	rv = tok->f->C_OpenSession(tok->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK)
		goto fail;
	fn = "C_FindObjects";
	if ((rv = find_objects(tok, s, label, objs, &found)) != CKR_OK)
		goto close;
	if (value == NULL) {
		fn = "C_GetAttributeValue";
		if (found > 0 && (rv = tok->f->C_GetAttributeValue(s, objs[0], &get, 1)) != CKR_OK)
			goto close;
		*out_found = found > 0;
		*out_len = found > 0 ? get.ulValueLen : 0;
	} else {
		fn = "C_CreateObject";
		rv = tok->f->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &obj);
		/* The new value is stored: an old one left behind goes at the next write. */
		for (CK_ULONG i = 0; rv == CKR_OK && i < found; i++)
			(void)tok->f->C_DestroyObject(s, objs[i]);
	}
close:
	(void)tok->f->C_CloseSession(s);
	if (rv == CKR_OK)
		return P11A_OK;
	if (rv == CKR_BUFFER_TOO_SMALL) {
		snprintf(msg, msg_len, "the token's object '%s' holds more than %zu bytes", label,
			 out_cap);
		return P11A_ERR_BAD_INPUT;
	}
fail:
	*out_rv = rv;
	snprintf(msg, msg_len, "the token's object '%s': %s failed: %s", label, fn,
		 token_ckr_name(rv));
	return ret;
}

/* token_data_get() and token_data_put(), with the recovery of token_recover(). */
static int data_op(struct token *tok, const char *label, const uint8_t *value, size_t value_len,
		   uint8_t *out, size_t out_cap, size_t *out_len, int *out_found, char *msg,
		   size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	int ret;
	CK_RV rv;

	for (;;) {
		if ((ret = token_enter(tok, NULL, &t, msg, msg_len)) != P11A_OK)
			return ret;
		rv = CKR_OK;
		ret = data_once(tok, label, value, value_len, out, out_cap, out_len, out_found, &rv,
				msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, rv, &ret, msg, msg_len))
			return ret;
	}
}

int token_data_get(struct token *tok, const char *label, uint8_t *out, size_t out_cap,
		   size_t *out_len, int *out_found, char *msg, size_t msg_len)
{
	int found = 0, ret;
	size_t len = 0;

	ret = data_op(tok, label, NULL, 0, out, out_cap, &len, &found, msg, msg_len);
	if (ret != P11A_OK)
		return ret;
	*out_found = found;
	*out_len = len;
	return P11A_OK;
}

int token_data_put(struct token *tok, const char *label, const uint8_t *value, size_t value_len,
		   char *msg, size_t msg_len)
{
	static const uint8_t empty[1];

	return data_op(tok, label, value_len > 0 ? value : empty, value_len, NULL, 0, NULL, NULL,
		       msg, msg_len);
}
