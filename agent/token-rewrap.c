/*
 * token-rewrap: a session key wrapped for one key, wrapped again for
 * another, inside the token: C_UnwrapKey with the first into a session
 * object that is sensitive (its value never leaves the token) but
 * extractable (so that it can be wrapped), then C_WrapKey with the second,
 * and the object destroyed on every path. Only what the token does itself:
 * an OAEP hash or label that the agent completes in software for decrypt
 * and unwrap would bring the session key out of the token, so it is refused.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spki.h"
#include "token-impl.h"

/* Largest wrapped key C_WrapKey may give (an RSA-16384 ciphertext). */
#define WRAPPED_MAX 2048
/* Public key objects looked at for the key that wraps (the same CKA_ID). */
#define PUB_MAX 4

/* How one token_rewrap() runs, as rewrap_check() decides. */
struct rewrap {
	const struct p11a_alg_info *info;
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech;
	const struct token_key *from, *to;
	const uint8_t *in;
	size_t in_len;
};

/* The failure of the C_UnwrapKey stage (every one is "unwrap failed"). */
enum stage { STAGE_OTHER, STAGE_UNWRAP };

static int is_oaep(p11a_alg alg)
{
	return alg == P11A_ALG_RSA_OAEP_SHA1 || alg == P11A_ALG_RSA_OAEP_SHA256 ||
	       alg == P11A_ALG_RSA_OAEP_SHA384 || alg == P11A_ALG_RSA_OAEP_SHA512;
}

/* The message for a to key that cannot wrap. */
static int cannot_wrap(const struct token_key *to, char *msg, size_t msg_len)
{
	snprintf(msg, msg_len,
		 "key '%s' cannot wrap (its %s has CKA_WRAP false): make it with --ops "
		 "including wrap or unwrap",
		 token_key_name(to), to->type == P11A_KEY_RSA ? "public key object" : "key");
	return P11A_ERR_NOT_ALLOWED;
}

/* Checks alg and the two keys before the token is called; sets r's mechanism. */
static int rewrap_check(const struct token *tok, struct rewrap *r, p11a_alg alg,
			const uint8_t *label, size_t label_len, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	int ret;

	if (info == NULL || !(is_oaep(alg) || alg == P11A_ALG_AES_KW || alg == P11A_ALG_AES_KWP)) {
		snprintf(msg, msg_len,
			 "algorithm %s: rewrap takes rsa-oaep-sha1/256/384/512, aes-kw or aes-kwp",
			 info != NULL ? info->name : "unknown");
		return P11A_ERR_NOT_SUPPORTED;
	}
	r->info = info;
	if (r->from->type != info->key_type || r->to->type != info->key_type) {
		snprintf(msg, msg_len,
			 "algorithm %s needs two %s keys; key '%s' is %s, key '%s' %s", info->name,
			 p11a_key_type_name(info->key_type), token_key_name(r->from),
			 p11a_key_type_name(r->from->type), token_key_name(r->to),
			 p11a_key_type_name(r->to->type));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!is_oaep(alg) && label_len > 0) {
		snprintf(msg, msg_len, "label: %s takes no label", info->name);
		return P11A_ERR_BAD_INPUT;
	}
	if (r->in_len == 0) {
		snprintf(msg, msg_len, "data: no wrapped key");
		return P11A_ERR_BAD_INPUT;
	}
	if (is_oaep(alg)) {
		if (token_oaep_native_mech(tok, alg, label, label_len, &r->params, &r->mech) != 0) {
			snprintf(msg, msg_len,
				 "the token cannot do %s%s itself; rewrap never brings the session "
				 "key out of the token: use rsa-oaep-sha1 or AES key wrap",
				 info->name, label_len > 0 ? " with a label" : "");
			return P11A_ERR_NOT_SUPPORTED;
		}
	} else {
		r->mech = (CK_MECHANISM){
		    alg == P11A_ALG_AES_KW ? CKM_AES_KEY_WRAP : CKM_AES_KEY_WRAP_PAD, NULL, 0};
	}
	/* The key type, the mechanism, CKA_UNWRAP and the modulus size of from. */
	if ((ret = token_kex_check(tok, r->from, alg, P11A_OP_UNWRAP, msg, msg_len)) != P11A_OK)
		return ret;
	if (r->to->type == P11A_KEY_AES ? !(r->to->ops & P11A_OP_WRAP)
					: !(r->to->pub_ops & P11A_OP_WRAP) || r->to->id_len == 0)
		return cannot_wrap(r->to, msg, msg_len);
	return P11A_OK;
}

/* Longest CKA_MODULUS read: RSA-16384. */
#define MODULUS_MAX 2048

/*
 * Whether public key object h on s is to's public key: its modulus and
 * exponent make to's SubjectPublicKeyInfo, which the index took from the
 * private key itself. Anyone who may open the token can make a public
 * object with to's CKA_ID; the session key must not be wrapped for it.
 */
static int is_public_key_of(struct token *tok, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
			    const struct token_key *to)
{
	uint8_t n[MODULUS_MAX], e[16], *spki = NULL;
	CK_ATTRIBUTE a[] = {{CKA_MODULUS, n, sizeof(n)}, {CKA_PUBLIC_EXPONENT, e, sizeof(e)}};
	size_t spki_len = 0;
	int same;

	if (to->spki == NULL || tok->f->C_GetAttributeValue(s, h, a, 2) != CKR_OK ||
	    a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    spki_from_rsa(n, a[0].ulValueLen, e, a[1].ulValueLen, &spki, &spki_len) != 0)
		return 0;
	same = spki_len == to->spki_len && memcmp(spki, to->spki, spki_len) == 0;
	free(spki);
	return same;
}

/*
 * The object that wraps for to on s: the AES key itself, or the RSA key's
 * public key object (CKO_PUBLIC_KEY with its CKA_ID and its public key),
 * which must have CKA_WRAP. P11A_ERR_NOT_ALLOWED when it has none that may
 * wrap.
 */
static int wrapping_handle(struct token *tok, CK_SESSION_HANDLE s, const struct token_key *to,
			   CK_OBJECT_HANDLE *out, CK_RV *fault, char *msg, size_t msg_len)
{
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
	CK_KEY_TYPE rsa = CKK_RSA;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &pub_class, sizeof(pub_class)},
	    {CKA_KEY_TYPE, &rsa, sizeof(rsa)},
	    {CKA_ID, to->id, to->id_len},
	};
	CK_OBJECT_HANDLE found[PUB_MAX];
	CK_BBOOL wrap;
	CK_ATTRIBUTE a = {CKA_WRAP, &wrap, sizeof(wrap)};
	CK_ULONG i, n;
	CK_RV rv;

	if (to->type == P11A_KEY_AES) {
		*out = to->handle;
		return P11A_OK;
	}
	if ((rv = token_find_handles(tok, s, tmpl, 3, found, PUB_MAX, &n)) != CKR_OK) {
		*fault = rv;
		snprintf(msg, msg_len, "key '%s': C_FindObjects (its public key) failed: %s",
			 token_key_name(to), token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	for (i = 0; i < n; i++) {
		wrap = CK_FALSE;
		a.ulValueLen = sizeof(wrap);
		if (tok->f->C_GetAttributeValue(s, found[i], &a, 1) == CKR_OK &&
		    a.ulValueLen == sizeof(wrap) && wrap == CK_TRUE &&
		    is_public_key_of(tok, s, found[i], to)) {
			*out = found[i];
			return P11A_OK;
		}
	}
	return cannot_wrap(to, msg, msg_len);
}

/* Is rv, from C_UnwrapKey, the session's or the token's fault rather than the input's? */
static int unwrap_fault(CK_RV rv)
{
	return token_rv_session_lost(rv) || rv == CKR_HOST_MEMORY || rv == CKR_DEVICE_MEMORY ||
	       rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

/* C_WrapKey of obj with wrapping into a malloc'd *out. */
static CK_RV wrap_key(struct token *tok, CK_SESSION_HANDLE s, CK_MECHANISM *mech,
		      CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE obj, uint8_t **out,
		      size_t *out_len)
{
	CK_ULONG len = WRAPPED_MAX;
	uint8_t *buf;
	CK_RV rv;

	if ((buf = malloc(WRAPPED_MAX)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = tok->f->C_WrapKey(s, mech, wrapping, obj, buf, &len)) != CKR_OK ||
	    len > WRAPPED_MAX) {
		free(buf);
		return rv != CKR_OK ? rv : CKR_BUFFER_TOO_SMALL;
	}
	*out = buf;
	*out_len = len;
	return CKR_OK;
}

/* One attempt of token_rewrap(); *fault is the CK_RV of the call that failed. */
static int rewrap_once(struct token *tok, struct rewrap *r, uint8_t **out, size_t *out_len,
		       enum stage *stage, CK_RV *fault, char *msg, size_t msg_len)
{
	CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE, priv = tok->user ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &no, sizeof(no)},	{CKA_PRIVATE, &priv, sizeof(priv)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &yes, sizeof(yes)},
	};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE wrapping, obj;
	int ret, broken;
	CK_RV rv;

	*stage = STAGE_OTHER;
	if ((ret = pool_take(tok->pool, &s, fault, msg, msg_len)) != P11A_OK)
		return ret;
	if ((ret = wrapping_handle(tok, s, r->to, &wrapping, fault, msg, msg_len)) != P11A_OK) {
		pool_put(tok->pool, s, *fault != CKR_OK);
		return ret;
	}
	rv = tok->f->C_UnwrapKey(s, &r->mech, r->from->handle, (CK_BYTE_PTR)r->in, r->in_len, t,
				 sizeof(t) / sizeof(t[0]), &obj);
	if (rv != CKR_OK) {
		/* A wrapped key that does not open leaves the session as it was. */
		pool_put(tok->pool, s, unwrap_fault(rv));
		*fault = rv;
		*stage = STAGE_UNWRAP;
		snprintf(msg, msg_len, "C_UnwrapKey failed: %s", token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	rv = wrap_key(tok, s, &r->mech, wrapping, obj, out, out_len);
	/* Closing the session destroys its objects, should C_DestroyObject fail. */
	broken = tok->f->C_DestroyObject(s, obj) != CKR_OK;
	pool_put(tok->pool, s, broken || rv != CKR_OK);
	if (rv == CKR_OK)
		return P11A_OK;
	*fault = rv;
	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED)
		return cannot_wrap(r->to, msg, msg_len);
	if (rv == CKR_KEY_SIZE_RANGE || rv == CKR_DATA_LEN_RANGE) {
		snprintf(msg, msg_len, "the session key is too long for key '%s' with %s (%s)",
			 token_key_name(r->to), r->info->name, token_ckr_name(rv));
		return P11A_ERR_BAD_INPUT;
	}
	snprintf(msg, msg_len, "C_WrapKey failed: %s", token_ckr_name(rv));
	return rv == CKR_HOST_MEMORY ? P11A_ERR_INTERNAL : P11A_ERR_TOKEN;
}

int token_rewrap(struct token *tok, const struct token_key *from, const struct token_key *to,
		 p11a_alg alg, const uint8_t *label, size_t label_len, const uint8_t *in,
		 size_t in_len, uint8_t **out, size_t *out_len, char *msg, size_t msg_len)
{
	struct rewrap r = {.from = from, .to = to, .in = in, .in_len = in_len};
	struct token_try t = TOKEN_TRY_INIT;
	enum stage stage = STAGE_OTHER;
	uint8_t *wrapped = NULL;
	size_t wrapped_len = 0;
	CK_RV fault = CKR_OK;
	int ret;

	if ((ret = rewrap_check(tok, &r, alg, label, label_len, msg, msg_len)) != P11A_OK)
		return ret;
	for (;;) {
		if ((ret = token_enter(tok, from, &t, msg, msg_len)) != P11A_OK)
			return ret;
		/* to is used in the same attempt: it must not be refused either. */
		if (to->gone) {
			token_leave(tok);
			snprintf(msg, msg_len,
				 "key '%s' changed or went away on the token since the agent "
				 "indexed it: refused",
				 token_key_name(to));
			return P11A_ERR_TOKEN;
		}
		fault = CKR_OK;
		ret = rewrap_once(tok, &r, &wrapped, &wrapped_len, &stage, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			break;
	}
	/*
	 * Whatever made the unwrap fail, bar a lost session or token, the reply is
	 * the same: no reply tells bad padding from anything else.
	 */
	if (ret == P11A_ERR_TOKEN && stage == STAGE_UNWRAP && !unwrap_fault(fault)) {
		snprintf(msg, msg_len, "unwrap failed");
		return P11A_ERR_BAD_INPUT;
	}
	if (ret != P11A_OK)
		return ret;
	*out = wrapped;
	*out_len = wrapped_len;
	return P11A_OK;
}
