/*
 * token-decrypt: key transport through the token. RSA decryption (OAEP in the token,
 * or raw RSA in the token and OAEP decoding here with oaep.c when it lacks
 * the hash; PKCS#1 v1.5 only where a key's config allows it), unwrapping of
 * session keys (RSA-OAEP, AES-KW, AES-KWP); ECDH (token-derive.c) shares its checks. Unwrapped keys
 * and shared secrets land in session objects that are read and destroyed at once; every buffer that
 * held one is wiped.
 *
 * On the software OAEP path of unwrap the token's C_UnwrapKey is not used:
 * the agent itself enforces the key's CKA_UNWRAP, and the token's
 * CKA_DECRYPT (which raw RSA needs) must be true as well.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyindex.h"
#include "log.h"
#include "oaep.h"
#include "token-impl.h"

/* Largest RSA modulus in bytes (RSA-16384), for a key of unknown size. */
#define MODULUS_MAX 2048

/* The OAEP algorithms; bit i of token.oaep_native is oaep_algs[i]. */
static const struct oaep_alg {
	p11a_alg alg;
	CK_MECHANISM_TYPE hash;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const char *hash_name; /* for messages */
} oaep_algs[] = {
    {P11A_ALG_RSA_OAEP_SHA1, CKM_SHA_1, CKG_MGF1_SHA1, "SHA-1"},
    {P11A_ALG_RSA_OAEP_SHA256, CKM_SHA256, CKG_MGF1_SHA256, "SHA-256"},
    {P11A_ALG_RSA_OAEP_SHA384, CKM_SHA384, CKG_MGF1_SHA384, "SHA-384"},
    {P11A_ALG_RSA_OAEP_SHA512, CKM_SHA512, CKG_MGF1_SHA512, "SHA-512"},
};

#define N_OAEP (sizeof(oaep_algs) / sizeof(oaep_algs[0]))

/* How one request runs, as decrypt_check() decides. */
struct plan {
	const struct p11a_alg_info *info;
	int oaep;      /* index in oaep_algs[], or -1 */
	int software;  /* OAEP decoded here, over CKM_RSA_X_509 */
	unsigned mech; /* M_x of the token mechanism used */
};

static int oaep_index(p11a_alg alg)
{
	size_t i;

	for (i = 0; i < N_OAEP; i++)
		if (oaep_algs[i].alg == alg)
			return (int)i;
	return -1;
}

static void oaep_params(int i, const uint8_t *label, size_t label_len,
			CK_RSA_PKCS_OAEP_PARAMS *params, CK_MECHANISM *mech)
{
	*params = (CK_RSA_PKCS_OAEP_PARAMS){oaep_algs[i].hash, oaep_algs[i].mgf, CKZ_DATA_SPECIFIED,
					    label_len ? (void *)label : NULL, label_len};
	*mech = (CK_MECHANISM){CKM_RSA_PKCS_OAEP, params, sizeof(*params)};
}

/*
 * Does the token do OAEP alg i (with a label, when with_label) right? A round
 * trip: encrypted here with the key's public key, decrypted in the token.
 * Without a public key, what C_DecryptInit takes counts (never a label: a
 * token may take one there and ignore it, as SoftHSM 2.6 does). *s may be
 * replaced by a fresh session; CK_INVALID_HANDLE when that fails.
 */
static int probe_one(struct token *tok, const struct token_key *key, CK_SESSION_HANDLE *s, size_t i,
		     int with_label)
{
	static const uint8_t label[] = {'p', '1', '1'}, plain[] = {'p', 'r', 'o', 'b', 'e'};
	uint8_t *ct = NULL, out[MODULUS_MAX];
	size_t ct_len = 0, label_len = with_label ? sizeof(label) : 0;
	CK_ULONG out_len = sizeof(out);
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech;
	int ok = 0;
	CK_RV rv;

	if (key->spki != NULL &&
	    oaep_encrypt(key->spki, key->spki_len, p11a_alg_by_id(oaep_algs[i].alg)->hash, label,
			 label_len, plain, sizeof(plain), &ct, &ct_len) != P11A_OK)
		return 0;
	if (ct == NULL && with_label)
		return 0;
	oaep_params((int)i, label, label_len, &params, &mech);
	if (tok->f->C_DecryptInit(*s, &mech, key->handle) != CKR_OK)
		goto out;
	if (ct == NULL) {
		ok = 1;
		rv = CKR_OPERATION_ACTIVE; /* ended with the session */
	} else {
		rv = tok->f->C_Decrypt(*s, ct, ct_len, out, &out_len);
		ok = rv == CKR_OK && out_len == sizeof(plain) &&
		     memcmp(out, plain, sizeof(plain)) == 0;
	}
	if (rv != CKR_OK) {
		(void)tok->f->C_CloseSession(*s);
		if (pool_open_session(tok->f, tok->slot, s) != CKR_OK)
			*s = CK_INVALID_HANDLE;
	}
out:
	free(ct);
	return ok;
}

/*
 * The key to probe OAEP with: an RSA key that may decrypt, one with a
 * public key first, then the largest (no hash is too long for it).
 */
static const struct token_key *probe_key(const struct token *tok)
{
	const struct token_key *best = NULL, *k;
	size_t i;

	for (i = 0; i < tok->n_keys; i++) {
		k = tok->keys[i];
		if (k->type != P11A_KEY_RSA || !(k->ops & P11A_OP_DECRYPT))
			continue;
		if (best == NULL || (k->spki != NULL && best->spki == NULL) ||
		    ((k->spki != NULL) == (best->spki != NULL) && k->bits > best->bits))
			best = k;
	}
	return best;
}

void token_decrypt_probe(struct token *tok)
{
	const struct token_key *key = probe_key(tok);
	CK_SESSION_HANDLE s;
	size_t i;

	if (!(tok->mechs & (1u << M_RSA_OAEP)))
		return;
	/* Nothing to probe with: SHA-1, which every token with OAEP has. */
	if (key == NULL || pool_open_session(tok->f, tok->slot, &s) != CKR_OK) {
		tok->oaep_native = 1u;
		return;
	}
	for (i = 0; i < N_OAEP && s != CK_INVALID_HANDLE; i++) {
		if (probe_one(tok, key, &s, i, 0))
			tok->oaep_native |= 1u << i;
		if (s != CK_INVALID_HANDLE && probe_one(tok, key, &s, i, 1))
			tok->oaep_native_label |= 1u << i;
	}
	if (s != CK_INVALID_HANDLE)
		(void)tok->f->C_CloseSession(s);
	log_debug("CKM_RSA_PKCS_OAEP: hashes done by the token: 0x%x, with a label: 0x%x "
		  "(bit 0 SHA-1, 1 SHA-256, 2 SHA-384, 3 SHA-512)",
		  tok->oaep_native, tok->oaep_native_label);
}

/* Is the RSA modulus long enough (RFC 8017: OAEP 2 * hash + 2 bytes, PKCS#1 v1.5 11)? */
static int rsa_fits(const struct token_key *key, const struct p11a_alg_info *info)
{
	size_t k = ((size_t)key->bits + 7) / 8;

	if (key->type != P11A_KEY_RSA || key->bits == 0)
		return 1;
	if (info->alg == P11A_ALG_RSA_PKCS1)
		return k >= 11;
	return k >= 2 * info->digest_len + 2;
}

/* The mechanism (M_x) of a key-transport alg other than OAEP, or -1. */
static int alg_mech(p11a_alg alg)
{
	switch (alg) {
	case P11A_ALG_RSA_PKCS1:
		return M_RSA_PKCS;
	case P11A_ALG_AES_KW:
		return M_AES_KW;
	case P11A_ALG_AES_KWP:
		return M_AES_KWP;
	case P11A_ALG_ECDH:
		return M_ECDH;
	default:
		return -1;
	}
}

/*
 * The way the token serves info: its mechanism, and for OAEP whether the
 * token does the hash (with a label, when labelled) or the agent decodes
 * over raw RSA. -1 when neither can.
 */
static int plan_path(const struct token *tok, const struct p11a_alg_info *info, int labelled,
		     struct plan *p)
{
	unsigned native;
	int m;

	p->info = info;
	p->oaep = oaep_index(info->alg);
	p->software = 0;
	if (p->oaep >= 0) {
		native = labelled ? tok->oaep_native_label : tok->oaep_native;
		p->software = !(native & (1u << p->oaep));
		p->mech = p->software ? M_RSA_X509 : M_RSA_OAEP;
	} else if ((m = alg_mech(info->alg)) >= 0) {
		p->mech = (unsigned)m;
	} else {
		return -1;
	}
	return (tok->mechs & (1u << p->mech)) ? 0 : -1;
}

int token_decrypt_alg_served(const struct token *tok, const struct token_key *key,
			     const struct p11a_alg_info *info)
{
	struct plan p;

	if (info->key_type != key->type || !rsa_fits(key, info))
		return 0;
	if (info->alg == P11A_ALG_RSA_PKCS1 && !(key->policy & TOKEN_POLICY_RSA_PKCS1_DECRYPT))
		return 0;
	return plan_path(tok, info, 0, &p) == 0;
}

int token_oaep_native_mech(const struct token *tok, p11a_alg alg, const uint8_t *label,
			   size_t label_len, CK_RSA_PKCS_OAEP_PARAMS *params, CK_MECHANISM *mech)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	struct plan p;

	if (info == NULL || oaep_index(alg) < 0 || plan_path(tok, info, label_len > 0, &p) != 0 ||
	    p.software)
		return -1;
	oaep_params(p.oaep, label, label_len, params, mech);
	return 0;
}

int token_alg_in_software(const struct token *tok, const struct token_key *key, p11a_alg alg)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	struct plan p;

	if (info == NULL || oaep_index(alg) < 0 || !token_decrypt_alg_served(tok, key, info))
		return 0;
	return plan_path(tok, info, 0, &p) == 0 && p.software;
}

static const char *op_verb(uint32_t op)
{
	return op == P11A_OP_DECRYPT ? "decrypt" : op == P11A_OP_UNWRAP ? "unwrap" : "derive";
}

static const char *op_noun(uint32_t op)
{
	return op == P11A_OP_DECRYPT  ? "decryption"
	       : op == P11A_OP_UNWRAP ? "unwrapping"
				      : "derivation";
}

static const char *op_attr(uint32_t op)
{
	return op == P11A_OP_DECRYPT  ? "CKA_DECRYPT"
	       : op == P11A_OP_UNWRAP ? "CKA_UNWRAP"
				      : "CKA_DERIVE";
}

/* Why plan_path() found no way: the message for P11A_ERR_NOT_SUPPORTED. */
static void unsupported_msg(const struct p11a_alg_info *info, int labelled, char *msg,
			    size_t msg_len)
{
	int i = oaep_index(info->alg), m = alg_mech(info->alg);

	if (i < 0) {
		snprintf(msg, msg_len, "algorithm %s (%s) is not supported by this token",
			 info->name, m >= 0 ? token_mechs[m].name : "no mechanism");
		return;
	}
	snprintf(msg, msg_len,
		 "algorithm %s is not supported by this token: it has neither CKM_RSA_PKCS_OAEP "
		 "with %s%s nor CKM_RSA_X_509 for the agent to decode OAEP over",
		 info->name, oaep_algs[i].hash_name, labelled ? " and a label" : "");
}

/*
 * Checks that alg serves op, fits key, is allowed by the key's config and
 * attributes, and that the token (or the agent over raw RSA) can run it.
 */
static int decrypt_check(const struct token *tok, const struct token_key *key, p11a_alg alg,
			 uint32_t op, int labelled, struct plan *out, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	struct plan p;

	if (info == NULL) {
		snprintf(msg, msg_len, "algorithm %u is not one the agent knows", (unsigned)alg);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!(info->ops & op)) {
		snprintf(msg, msg_len, "algorithm %s does not %s", info->name, op_verb(op));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (info->key_type != key->type) {
		snprintf(msg, msg_len, "algorithm %s does not fit %s key", info->name,
			 keyindex_type_article(key));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!rsa_fits(key, info)) {
		snprintf(msg, msg_len, "algorithm %s does not fit a %u-bit RSA key", info->name,
			 (unsigned)key->bits);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (alg == P11A_ALG_RSA_PKCS1 && !(key->policy & TOKEN_POLICY_RSA_PKCS1_DECRYPT)) {
		snprintf(msg, msg_len,
			 "key '%s': rsa-pkcs1 decryption is a padding oracle, refused unless the "
			 "key's [key NAME] section says allow-rsa-pkcs1-decrypt = yes",
			 keyindex_key_name(key));
		return P11A_ERR_NOT_ALLOWED;
	}
	if (plan_path(tok, info, labelled, &p) != 0) {
		unsupported_msg(info, labelled, msg, msg_len);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!(key->ops & op)) {
		snprintf(msg, msg_len, "key '%s' does not allow %s (%s is false)",
			 keyindex_key_name(key), op_noun(op), op_attr(op));
		return P11A_ERR_NOT_ALLOWED;
	}
	if (p.software && !(key->ops & P11A_OP_DECRYPT)) {
		snprintf(msg, msg_len,
			 "key '%s': the token lacks %s OAEP%s, which the agent completes over raw "
			 "RSA; that needs CKA_DECRYPT, false on this key",
			 keyindex_key_name(key), oaep_algs[p.oaep].hash_name,
			 labelled ? " with a label" : "");
		return P11A_ERR_NOT_ALLOWED;
	}
	*out = p;
	return P11A_OK;
}

/* The modulus length k the RSA ciphertext in must have (in_len if the key's size is unknown). */
static int rsa_check_len(const struct token_key *key, size_t in_len, size_t *out_k, char *msg,
			 size_t msg_len)
{
	size_t k = key->bits != 0 ? ((size_t)key->bits + 7) / 8 : in_len;

	if (in_len != k || k == 0 || k > MODULUS_MAX) {
		snprintf(msg, msg_len, "data: expected %zu bytes (the modulus length), got %zu", k,
			 in_len);
		return P11A_ERR_BAD_INPUT;
	}
	*out_k = k;
	return P11A_OK;
}

/* One attempt of rsa_decrypt() into buf; *fault is the CK_RV of the call that failed. */
static int decrypt_once(struct token *tok, const struct token_key *key, CK_MECHANISM *mech,
			const uint8_t *in, size_t k, struct secret *buf, CK_ULONG *out_len,
			CK_RV *fault, char *msg, size_t msg_len)
{
	CK_SESSION_HANDLE s;
	CK_ULONG len = k;
	int ret;
	CK_RV rv;

	if ((ret = token_op_init(tok, key, TOKEN_OP_DECRYPT, mech, &s, fault, msg, msg_len)) !=
	    P11A_OK)
		return ret;
	rv = tok->f->C_Decrypt(s, (CK_BYTE_PTR)in, k, buf->p, &len);
	/* A failure ends the operation; a short buffer (it cannot be) would not: close. */
	pool_put(tok->pool, s, rv != CKR_OK);
	if (rv == CKR_OK && len <= k) {
		*out_len = len;
		return P11A_OK;
	}
	*fault = rv;
	if (token_rv_session_lost(rv)) {
		snprintf(msg, msg_len, "C_Decrypt failed: %s", token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	snprintf(msg, msg_len, "decryption failed");
	return P11A_ERR_BAD_INPUT;
}

/*
 * C_Decrypt of in (k bytes) with mech; *out is what the token gives. Every
 * failure of C_Decrypt, except a lost session, is P11A_ERR_BAD_INPUT
 * "decryption failed": no reply tells bad padding from anything else.
 */
static int rsa_decrypt(struct token *tok, const struct token_key *key, CK_MECHANISM *mech,
		       const uint8_t *in, size_t k, struct secret **out, char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	struct secret *buf;
	CK_ULONG len = 0;
	CK_RV fault;
	int ret;

	if ((buf = secret_new(k)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	for (;;) {
		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
			goto out;
		fault = CKR_OK;
		ret = decrypt_once(tok, key, mech, in, k, buf, &len, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			break;
	}
	if (ret != P11A_OK)
		goto out;
	if ((*out = secret_dup(buf->p, len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	ret = P11A_OK;
out:
	secret_free(buf);
	return ret;
}

/* Raw RSA in the token, OAEP decoding here. */
static int rsa_decrypt_sw(struct token *tok, const struct token_key *key, const struct plan *p,
			  const uint8_t *label, size_t label_len, const uint8_t *in, size_t k,
			  struct secret **out, char *msg, size_t msg_len)
{
	CK_MECHANISM mech = {CKM_RSA_X_509, NULL, 0};
	struct secret *raw = NULL, *em = NULL;
	int ret;

	if ((ret = rsa_decrypt(tok, key, &mech, in, k, &raw, msg, msg_len)) != P11A_OK)
		return ret;
	/* A token may leave out leading zero bytes: OAEP decodes the whole k-byte block. */
	if ((em = secret_new(k)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	memcpy(em->p + (k - raw->len), raw->p, raw->len);
	ret = oaep_decode(p->info->hash, label, label_len, em->p, k, out);
	if (ret == P11A_ERR_BAD_INPUT)
		snprintf(msg, msg_len, "decryption failed");
	else if (ret != P11A_OK)
		snprintf(msg, msg_len, "OAEP decoding with %s is not available",
			 oaep_algs[p->oaep].hash_name);
out:
	secret_free(raw);
	secret_free(em);
	return ret;
}

int token_decrypt(struct token *tok, const struct token_key *key, p11a_alg alg,
		  const uint8_t *label, size_t label_len, const uint8_t *in, size_t in_len,
		  struct secret **out_plain, char *msg, size_t msg_len)
{
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
	struct plan p;
	size_t k;
	int ret;

	if ((ret = decrypt_check(tok, key, alg, P11A_OP_DECRYPT, label_len > 0, &p, msg,
				 msg_len)) != P11A_OK)
		return ret;
	if (p.oaep < 0 && label_len > 0) {
		snprintf(msg, msg_len, "label: %s takes no label", p.info->name);
		return P11A_ERR_BAD_INPUT;
	}
	if ((ret = rsa_check_len(key, in_len, &k, msg, msg_len)) != P11A_OK)
		return ret;
	if (p.software)
		return rsa_decrypt_sw(tok, key, &p, label, label_len, in, k, out_plain, msg,
				      msg_len);
	if (p.oaep >= 0)
		oaep_params(p.oaep, label, label_len, &params, &mech);
	return rsa_decrypt(tok, key, &mech, in, k, out_plain, msg, msg_len);
}

/* Checks an AES-wrapped key's length: RFC 3394 wraps 16 bytes or more, RFC 5649 1 or more. */
static int aes_check_len(p11a_alg alg, size_t in_len, char *msg, size_t msg_len)
{
	size_t min = alg == P11A_ALG_AES_KW ? 24 : 16;

	if (in_len % 8 == 0 && in_len >= min)
		return P11A_OK;
	snprintf(msg, msg_len,
		 "data: a key wrapped with %s is a multiple of 8 bytes, at least %zu; got %zu "
		 "(truncated?)",
		 alg == P11A_ALG_AES_KW ? "aes-kw" : "aes-kwp", min, in_len);
	return P11A_ERR_BAD_INPUT;
}

/* C_UnwrapKey with the AES key. */
static int unwrap_aes(struct token *tok, const struct token_key *key, const struct plan *p,
		      const uint8_t *in, size_t in_len, struct secret **out, char *msg,
		      size_t msg_len)
{
	CK_MECHANISM mech = {token_mechs[p->mech].type, NULL, 0};
	struct token_tmpkey op = {0, &mech, in, in_len, 0};
	CK_RV rv = CKR_OK;
	int ret;

	if ((ret = aes_check_len(p->info->alg, in_len, msg, msg_len)) != P11A_OK)
		return ret;
	ret = token_tmpkey_make(tok, key, &op, out, &rv, msg, msg_len);
	if (ret == P11A_ERR_TOKEN && rv != CKR_OK)
		ret = token_tmpkey_error(rv, key, TOKEN_BLAME_AES,
					 "unwrap failed: the wrapped key does not authenticate",
					 msg, msg_len);
	return ret;
}

/* C_UnwrapKey with the RSA key and OAEP, or raw RSA and OAEP decoding here. */
static int unwrap_rsa(struct token *tok, const struct token_key *key, const struct plan *p,
		      const uint8_t *label, size_t label_len, const uint8_t *in, size_t in_len,
		      struct secret **out, char *msg, size_t msg_len)
{
	CK_RSA_PKCS_OAEP_PARAMS params;
	CK_MECHANISM mech;
	struct token_tmpkey op = {0, &mech, in, in_len, 0};
	CK_RV rv = CKR_OK;
	size_t k;
	int ret;

	if ((ret = rsa_check_len(key, in_len, &k, msg, msg_len)) != P11A_OK)
		return ret;
	if (p->software)
		return rsa_decrypt_sw(tok, key, p, label, label_len, in, k, out, msg, msg_len);
	oaep_params(p->oaep, label, label_len, &params, &mech);
	ret = token_tmpkey_make(tok, key, &op, out, &rv, msg, msg_len);
	if (ret == P11A_ERR_TOKEN && rv != CKR_OK)
		ret =
		    token_tmpkey_error(rv, key, TOKEN_BLAME_RSA, "decryption failed", msg, msg_len);
	return ret;
}

int token_unwrap(struct token *tok, const struct token_key *key, p11a_alg alg, const uint8_t *label,
		 size_t label_len, size_t key_len, const uint8_t *in, size_t in_len,
		 struct secret **out_key, char *msg, size_t msg_len)
{
	struct secret *sk = NULL;
	struct plan p;
	int ret;

	if ((ret = decrypt_check(tok, key, alg, P11A_OP_UNWRAP, label_len > 0, &p, msg, msg_len)) !=
	    P11A_OK)
		return ret;
	if (p.oaep < 0 && label_len > 0) {
		snprintf(msg, msg_len, "label: %s takes no label", p.info->name);
		return P11A_ERR_BAD_INPUT;
	}
	if (p.oaep >= 0)
		ret = unwrap_rsa(tok, key, &p, label, label_len, in, in_len, &sk, msg, msg_len);
	else
		ret = unwrap_aes(tok, key, &p, in, in_len, &sk, msg, msg_len);
	if (ret != P11A_OK)
		return ret;
	if (key_len != 0 && sk->len != key_len) {
		snprintf(msg, msg_len, "the session key is %zu bytes, expected %zu", sk->len,
			 key_len);
		secret_free(sk);
		return P11A_ERR_BAD_INPUT;
	}
	*out_key = sk;
	return P11A_OK;
}

int token_kex_check(const struct token *tok, const struct token_key *key, p11a_alg alg, uint32_t op,
		    char *msg, size_t msg_len)
{
	struct plan p;

	return decrypt_check(tok, key, alg, op, 0, &p, msg, msg_len);
}
