/*
 * tmpkey: the session objects that C_UnwrapKey and C_DeriveKey make, read
 * and destroyed at once, on every path; what went wrong when they fail.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>

#include "keyindex.h"
#include "token-impl.h"

/* Largest CKA_VALUE read back from an unwrapped or derived key. */
#define VALUE_MAX 4096

static CK_RV make_object(struct token *tok, CK_SESSION_HANDLE s, const struct token_key *key,
			 const struct token_tmpkey *op, CK_OBJECT_HANDLE *out)
{
	CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_GENERIC_SECRET;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE, priv = tok->user ? CK_TRUE : CK_FALSE;
	CK_ULONG value_len = op->value_len;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &klass, sizeof(klass)},
	    {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &no, sizeof(no)},
	    {CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_SENSITIVE, &no, sizeof(no)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	    {CKA_VALUE_LEN, &value_len, sizeof(value_len)},
	};

	if (op->derive)
		return tok->f->C_DeriveKey(s, op->mech, key->handle, t, 7, out);
	return tok->f->C_UnwrapKey(s, op->mech, key->handle, (CK_BYTE_PTR)op->in, op->in_len, t, 6,
				   out);
}

/* CKA_VALUE of obj. */
static CK_RV read_value(struct token *tok, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
			struct secret **out)
{
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	struct secret *v;
	CK_RV rv;

	if ((rv = tok->f->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > VALUE_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((v = secret_new(a.ulValueLen)) == NULL)
		return CKR_HOST_MEMORY;
	a.pValue = v->p;
	if ((rv = tok->f->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK || a.ulValueLen != v->len) {
		secret_free(v);
		return rv != CKR_OK ? rv : CKR_ATTRIBUTE_VALUE_INVALID;
	}
	*out = v;
	return CKR_OK;
}

/* One attempt of token_tmpkey_make(); *fault is the CK_RV of the call that failed. */
static int make_once(struct token *tok, const struct token_key *key, const struct token_tmpkey *op,
		     struct secret **out, CK_RV *out_rv, CK_RV *fault, char *msg, size_t msg_len)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE obj;
	struct secret *v = NULL;
	int ret, broken;
	CK_RV rv;

	if ((ret = pool_take(tok->pool, &s, fault, msg, msg_len)) != P11A_OK)
		return ret;
	if ((rv = make_object(tok, s, key, op, &obj)) != CKR_OK) {
		pool_put(tok->pool, s, 1);
		*out_rv = *fault = rv;
		snprintf(msg, msg_len, "%s failed: %s", op->derive ? "C_DeriveKey" : "C_UnwrapKey",
			 token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	rv = read_value(tok, s, obj, &v);
	broken = tok->f->C_DestroyObject(s, obj) != CKR_OK;
	pool_put(tok->pool, s, broken || rv != CKR_OK);
	if (rv != CKR_OK) {
		*fault = rv;
		snprintf(msg, msg_len, "C_GetAttributeValue(CKA_VALUE) of the new key failed: %s",
			 token_ckr_name(rv));
		return rv == CKR_HOST_MEMORY ? P11A_ERR_INTERNAL : P11A_ERR_TOKEN;
	}
	*out = v;
	return P11A_OK;
}

int token_tmpkey_make(struct token *tok, const struct token_key *key, const struct token_tmpkey *op,
		      struct secret **out, CK_RV *out_rv, char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	CK_RV fault;
	int ret;

	for (;;) {
		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
			return ret;
		*out_rv = fault = CKR_OK;
		ret = make_once(tok, key, op, out, out_rv, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			return ret;
	}
}

/* Does rv say the input was wrong? For RSA, every rv not about the session is taken so. */
static int data_error(CK_RV rv, enum token_blame b)
{
	switch (rv) {
	case CKR_WRAPPED_KEY_INVALID:
	case CKR_WRAPPED_KEY_LEN_RANGE:
	case CKR_ENCRYPTED_DATA_INVALID:
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
	case CKR_DATA_INVALID:
	case CKR_DATA_LEN_RANGE:
	case CKR_FUNCTION_FAILED:
	case CKR_GENERAL_ERROR:
		return b != TOKEN_BLAME_PEER;
	case CKR_ARGUMENTS_BAD:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_DOMAIN_PARAMS_INVALID:
		return b != TOKEN_BLAME_AES;
	default:
		return b == TOKEN_BLAME_RSA && !token_rv_session_lost(rv) &&
		       rv != CKR_HOST_MEMORY && rv != CKR_DEVICE_MEMORY;
	}
}

int token_tmpkey_error(CK_RV rv, const struct token_key *key, enum token_blame b,
		       const char *data_msg, char *msg, size_t msg_len)
{
	char fn_rv[128];

	snprintf(fn_rv, sizeof(fn_rv), "%s", msg);
	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED) {
		snprintf(msg, msg_len, "key '%s': %s", keyindex_key_name(key), fn_rv);
		return P11A_ERR_NOT_ALLOWED;
	}
	if (rv == CKR_MECHANISM_INVALID || rv == CKR_KEY_TYPE_INCONSISTENT ||
	    rv == CKR_KEY_SIZE_RANGE ||
	    (rv == CKR_MECHANISM_PARAM_INVALID && b != TOKEN_BLAME_PEER)) {
		snprintf(msg, msg_len, "%s: the token does not do this algorithm with key '%s'",
			 fn_rv, keyindex_key_name(key));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!data_error(rv, b))
		return P11A_ERR_TOKEN;
	if (b == TOKEN_BLAME_PEER)
		snprintf(msg, msg_len, "%s (%s)", data_msg, fn_rv);
	else
		snprintf(msg, msg_len, "%s", data_msg);
	return P11A_ERR_BAD_INPUT;
}
