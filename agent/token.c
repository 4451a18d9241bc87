/*
 * token: loads the PKCS#11 module, selects the token, logs in, keeps a pool
 * of sessions and signs with the indexed keys (keyindex.c). Decrypt and unwrap
 * are in token-decrypt.c, ECDH in token-derive.c, finding the slot and
 * logging in in token-slot.c, fault recovery in token-recovery.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "keyindex.h"
#include "sigfmt.h"
#include "token-impl.h"

/* Default number of sessions in the pool. */
#define POOL_DEFAULT 8
/* Largest signature accepted from the token (RSA-16384 needs 2048 bytes). */
#define SIG_MAX 8192

const struct token_mech token_mechs[M_COUNT] = {
    [M_RSA_PKCS] = {CKM_RSA_PKCS, "CKM_RSA_PKCS"},
    [M_RSA_PSS] = {CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS"},
    [M_ECDSA] = {CKM_ECDSA, "CKM_ECDSA"},
    [M_EDDSA] = {CKM_EDDSA, "CKM_EDDSA"},
    [M_HMAC256] = {CKM_SHA256_HMAC, "CKM_SHA256_HMAC"},
    [M_HMAC384] = {CKM_SHA384_HMAC, "CKM_SHA384_HMAC"},
    [M_HMAC512] = {CKM_SHA512_HMAC, "CKM_SHA512_HMAC"},
    [M_RSA_OAEP] = {CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP"},
    [M_RSA_X509] = {CKM_RSA_X_509, "CKM_RSA_X_509"},
    [M_AES_KW] = {CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP"},
    [M_AES_KWP] = {CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD"},
    [M_ECDH] = {CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"},
};

/* How each signing algorithm runs on the token (token-decrypt.c has the others). */
static const struct alg_mech {
	p11a_alg alg;
	unsigned mech;		      /* index in mechs[] */
	CK_MECHANISM_TYPE pss_hash;   /* PSS: hashAlg */
	CK_RSA_PKCS_MGF_TYPE pss_mgf; /* PSS: mgf */
	CK_KEY_TYPE hmac_type;	      /* HMAC: the one key type that fits besides generic secret */
} alg_mechs[] = {
    {P11A_ALG_RSA_PKCS1_SHA256, M_RSA_PKCS, 0, 0, 0},
    {P11A_ALG_RSA_PKCS1_SHA384, M_RSA_PKCS, 0, 0, 0},
    {P11A_ALG_RSA_PKCS1_SHA512, M_RSA_PKCS, 0, 0, 0},
    {P11A_ALG_RSA_PSS_SHA256, M_RSA_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0},
    {P11A_ALG_RSA_PSS_SHA384, M_RSA_PSS, CKM_SHA384, CKG_MGF1_SHA384, 0},
    {P11A_ALG_RSA_PSS_SHA512, M_RSA_PSS, CKM_SHA512, CKG_MGF1_SHA512, 0},
    {P11A_ALG_ECDSA_SHA256, M_ECDSA, 0, 0, 0},
    {P11A_ALG_ECDSA_SHA384, M_ECDSA, 0, 0, 0},
    {P11A_ALG_ECDSA_SHA512, M_ECDSA, 0, 0, 0},
    {P11A_ALG_ED25519, M_EDDSA, 0, 0, 0},
    {P11A_ALG_HMAC_SHA256, M_HMAC256, 0, 0, CKK_SHA256_HMAC},
    {P11A_ALG_HMAC_SHA384, M_HMAC384, 0, 0, CKK_SHA384_HMAC},
    {P11A_ALG_HMAC_SHA512, M_HMAC512, 0, 0, CKK_SHA512_HMAC},
};

/* Records which of the agent's mechanisms the slot offers. */
static int load_mechanisms(struct token *tok, char *msg, size_t msg_len)
{
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG i, n = 0;
	size_t m;
	CK_RV rv;

	if ((rv = tok->f->C_GetMechanismList(tok->slot, NULL, &n)) == CKR_OK && n > 0) {
		if ((list = calloc(n, sizeof(*list))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return P11A_ERR_INTERNAL;
		}
		rv = tok->f->C_GetMechanismList(tok->slot, list, &n);
	}
	if (rv != CKR_OK) {
		free(list);
		snprintf(msg, msg_len, "C_GetMechanismList failed: %s", token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	for (i = 0; i < n; i++)
		for (m = 0; m < M_COUNT; m++)
			if (list[i] == token_mechs[m].type)
				tok->mechs |= 1u << m;
	free(list);
	for (m = M_HMAC256; m <= M_HMAC512; m++) {
		CK_MECHANISM_INFO info;

		/* For HMAC, sizes are in bytes (PKCS#11 2.40, 2.1.27). */
		if ((tok->mechs & (1u << m)) &&
		    tok->f->C_GetMechanismInfo(tok->slot, token_mechs[m].type, &info) == CKR_OK) {
			tok->hmac_min[m] = info.ulMinKeySize;
			tok->hmac_max[m] = info.ulMaxKeySize;
		}
	}
	return P11A_OK;
}

int token_open(const struct token_options *opt, struct token **out_tok, char *msg, size_t msg_len)
{
	CK_C_INITIALIZE_ARGS args;
	struct token *tok = NULL;
	int ret = P11A_ERR_TOKEN;
	CK_RV rv;

	if (opt == NULL || opt->module == NULL) {
		snprintf(msg, msg_len, "no PKCS#11 module given");
		return P11A_ERR_BAD_INPUT;
	}
	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	if ((ret = token_recovery_init(tok, msg, msg_len)) != P11A_OK)
		goto out;
	ret = P11A_ERR_INTERNAL;
	/* Kept to find the token again and log in again after a fault (secret: mlocked). */
	tok->pool_size = opt->pool_size ? opt->pool_size : POOL_DEFAULT;
	tok->on_state = opt->on_state;
	tok->hold_on_refused_pin = opt->hold_on_refused_pin;
	if ((opt->uri != NULL && (tok->uri = strdup(opt->uri)) == NULL) ||
	    (opt->pin_source != NULL && (tok->pin_source = strdup(opt->pin_source)) == NULL) ||
	    (opt->pin != NULL && (tok->pin = secret_dup(opt->pin->p, opt->pin->len)) == NULL)) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	ret = P11A_ERR_TOKEN;
	if ((tok->f = p11_kit_module_load(opt->module, 0)) == NULL) {
		snprintf(msg, msg_len, "cannot load the PKCS#11 module %s: %s", opt->module,
			 p11_kit_message() != NULL ? p11_kit_message() : "unknown error");
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = tok->f->C_Initialize(&args)) != CKR_OK) {
		snprintf(msg, msg_len, "C_Initialize failed: %s", token_ckr_name(rv));
		goto out;
	}
	tok->initialized = 1;

	if ((ret = token_select_slot(tok->f, opt->uri, &tok->slot, &tok->tinfo, msg, msg_len)) !=
		P11A_OK ||
	    (ret = load_mechanisms(tok, msg, msg_len)) != P11A_OK)
		goto out;
	if ((rv = pool_open_session(tok->f, tok->slot, &tok->login_session)) != CKR_OK) {
		snprintf(msg, msg_len, "C_OpenSession failed: %s", token_ckr_name(rv));
		ret = P11A_ERR_TOKEN;
		goto out;
	}
	tok->have_login_session = 1;
	/* One C_Login: a wrong PIN is never tried again (token_login()). */
	if (tok->pin != NULL && (ret = token_login(tok, msg, msg_len)) != P11A_OK) {
		if (ret != P11A_ERR_DENIED)
			ret = P11A_ERR_TOKEN;
		goto out;
	}
	if ((ret = keyindex_load(tok->f, tok->login_session, &tok->tinfo, &tok->keys, &tok->n_keys,
				 msg, msg_len)) != P11A_OK)
		goto out;
	if ((ret = pool_new(tok->f, tok->slot, tok->pool_size, &tok->pool, msg, msg_len)) !=
	    P11A_OK)
		goto out;
	token_decrypt_probe(tok);
	tok->state = TOKEN_UP;

	*out_tok = tok;
	tok = NULL;
	ret = P11A_OK;
out:
	token_close(tok);
	return ret;
}

void token_close(struct token *tok)
{
	if (tok == NULL)
		return;
	token_recovery_free(tok);
	pool_free(tok->pool);
	if (tok->logged_in)
		(void)tok->f->C_Logout(tok->login_session);
	if (tok->have_login_session)
		(void)tok->f->C_CloseSession(tok->login_session);
	if (tok->initialized)
		(void)tok->f->C_Finalize(NULL);
	if (tok->f != NULL)
		p11_kit_module_release(tok->f);
	keyindex_free(tok->keys, tok->n_keys);
	keyindex_free(tok->retired, tok->n_retired);
	free(tok->uri);
	free(tok->pin_source);
	secret_free(tok->pin);
	free(tok);
}

const char *token_key_name(const struct token_key *key)
{
	if (key->name != NULL)
		return key->name;
	return key->label[0] != '\0' ? key->label : key->uri;
}

size_t token_key_count(const struct token *tok)
{
	return tok->n_keys;
}

const struct token_key *token_key_at(const struct token *tok, size_t i)
{
	return i < tok->n_keys ? tok->keys[i] : NULL;
}

int token_find_key(const struct token *tok, const char *ref, const struct token_key **out_key,
		   char *msg, size_t msg_len)
{
	return token_find_key_for(tok, NULL, ref, out_key, msg, msg_len);
}

int token_find_key_for(const struct token *tok, const struct token_key_filter *filter,
		       const char *ref, const struct token_key **out_key, char *msg, size_t msg_len)
{
	if (ref == NULL) {
		snprintf(msg, msg_len, "no key given");
		return P11A_ERR_BAD_INPUT;
	}
	return keyindex_find(tok->keys, tok->n_keys, &tok->tinfo, filter, ref, out_key, msg,
			     msg_len);
}

const char *token_ref_shown(const char *ref)
{
	return keyindex_quotable(ref);
}

int token_bind_names(struct token *tok, const struct token_key_binding *b, size_t n, char *msg,
		     size_t msg_len)
{
	return keyindex_bind(tok->keys, tok->n_keys, &tok->tinfo, b, n, msg, msg_len);
}

static const struct alg_mech *alg_mech_for(p11a_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_mechs) / sizeof(alg_mechs[0]); i++)
		if (alg_mechs[i].alg == alg)
			return &alg_mechs[i];
	return NULL;
}

/* Does the algorithm fit the key's type (and, for CKK_SHA*_HMAC keys, its hash)? */
static int alg_fits(const struct token_key *key, const struct p11a_alg_info *info,
		    const struct alg_mech *am)
{
	if (info->key_type != key->type)
		return 0;
	if (key->type == P11A_KEY_HMAC && key->ck_type != CKK_GENERIC_SECRET)
		return key->ck_type == am->hmac_type;
	return 1;
}

/*
 * Is the RSA modulus long enough for the encoding (RFC 8017): PKCS#1 v1.5
 * needs DigestInfo + 11 bytes, PSS with a hash-long salt 2 * hash + 2 bytes
 * of a (bits - 1)-bit encoded message. An unknown size passes.
 */
static int rsa_size_fits(const struct token_key *key, const struct p11a_alg_info *info,
			 const struct alg_mech *am)
{
	size_t need;

	if (key->type != P11A_KEY_RSA || key->bits == 0)
		return 1;
	if (am->mech == M_RSA_PSS)
		return ((size_t)key->bits - 1 + 7) / 8 >= 2 * info->digest_len + 2;
	need = 19 + info->digest_len + 11;
	return ((size_t)key->bits + 7) / 8 >= need;
}

/* Does the token take an HMAC key of this size for the mechanism? Unknown sizes pass. */
static int hmac_size_fits(const struct token *tok, const struct token_key *key,
			  const struct alg_mech *am)
{
	CK_ULONG bytes = key->bits / 8;

	if (key->type != P11A_KEY_HMAC || key->bits == 0)
		return 1;
	if (tok->hmac_min[am->mech] != 0 && bytes < tok->hmac_min[am->mech])
		return 0;
	return tok->hmac_max[am->mech] == 0 || bytes <= tok->hmac_max[am->mech];
}

size_t token_key_algs(const struct token *tok, const struct token_key *key, p11a_alg *out,
		      size_t max)
{
	const struct p11a_alg_info *info;
	const struct alg_mech *am;
	size_t i, n = 0;

	for (i = 0; (info = p11a_alg_at(i)) != NULL && n < max; i++) {
		if ((am = alg_mech_for(info->alg)) == NULL) {
			if (token_decrypt_alg_served(tok, key, info))
				out[n++] = info->alg;
			continue;
		}
		if (!alg_fits(key, info, am) || !rsa_size_fits(key, info, am) ||
		    !hmac_size_fits(tok, key, am))
			continue;
		if (tok->mechs & (1u << am->mech))
			out[n++] = info->alg;
	}
	return n;
}

p11a_alg token_key_default_alg(const struct token_key *key)
{
	switch (key->type) {
	case P11A_KEY_RSA:
		return P11A_ALG_RSA_PKCS1_SHA256;
	case P11A_KEY_EC:
		if (key->bits > 384)
			return P11A_ALG_ECDSA_SHA512;
		return key->bits > 256 ? P11A_ALG_ECDSA_SHA384 : P11A_ALG_ECDSA_SHA256;
	case P11A_KEY_ED25519:
		return P11A_ALG_ED25519;
	case P11A_KEY_HMAC:
		if (key->ck_type == CKK_SHA384_HMAC)
			return P11A_ALG_HMAC_SHA384;
		if (key->ck_type == CKK_SHA512_HMAC)
			return P11A_ALG_HMAC_SHA512;
		return P11A_ALG_HMAC_SHA256;
	default:
		return P11A_ALG_NONE;
	}
}

p11a_alg token_key_default_alg_for(const struct token_key *key, uint32_t op)
{
	switch (op) {
	case P11A_OP_SIGN:
		return token_key_default_alg(key);
	case P11A_OP_DECRYPT:
		return key->type == P11A_KEY_RSA ? P11A_ALG_RSA_OAEP_SHA256 : P11A_ALG_NONE;
	case P11A_OP_UNWRAP:
		if (key->type == P11A_KEY_RSA)
			return P11A_ALG_RSA_OAEP_SHA256;
		return key->type == P11A_KEY_AES ? P11A_ALG_AES_KWP : P11A_ALG_NONE;
	case P11A_OP_DERIVE:
		return key->type == P11A_KEY_EC ? P11A_ALG_ECDH : P11A_ALG_NONE;
	default:
		return P11A_ALG_NONE;
	}
}

/*
 * Checks that alg fits key, the token offers its mechanism and the key's
 * attributes allow op (P11A_OP_SIGN or P11A_OP_VERIFY).
 */
static int check_alg(const struct token *tok, const struct token_key *key, p11a_alg alg,
		     uint32_t op, const struct p11a_alg_info **out_info,
		     const struct alg_mech **out_am, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	const struct alg_mech *am = alg_mech_for(alg);

	if (info == NULL) {
		snprintf(msg, msg_len, "algorithm %u is not one the agent knows", (unsigned)alg);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (am == NULL) {
		snprintf(msg, msg_len, "algorithm %s does not sign", info->name);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!alg_fits(key, info, am)) {
		snprintf(msg, msg_len, "algorithm %s does not fit %s key", info->name,
			 keyindex_type_article(key));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!rsa_size_fits(key, info, am)) {
		snprintf(msg, msg_len, "algorithm %s does not fit a %u-bit RSA key", info->name,
			 (unsigned)key->bits);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!(tok->mechs & (1u << am->mech))) {
		snprintf(msg, msg_len, "algorithm %s (%s) is not supported by this token",
			 info->name, token_mechs[am->mech].name);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!hmac_size_fits(tok, key, am)) {
		snprintf(msg, msg_len,
			 "algorithm %s is not supported by this token for a %u-byte key: %s takes "
			 "%lu to %lu bytes",
			 info->name, (unsigned)key->bits / 8, token_mechs[am->mech].name,
			 (unsigned long)tok->hmac_min[am->mech],
			 (unsigned long)tok->hmac_max[am->mech]);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!(key->ops & op)) {
		snprintf(msg, msg_len, "key '%s' does not allow %s (%s is false)",
			 keyindex_key_name(key), op == P11A_OP_SIGN ? "signing" : "verifying",
			 op == P11A_OP_SIGN ? "CKA_SIGN" : "CKA_VERIFY");
		return P11A_ERR_NOT_ALLOWED;
	}
	*out_info = info;
	*out_am = am;
	return P11A_OK;
}

/* The error for a failed C_SignInit / C_VerifyInit / C_DecryptInit. */
static int init_error(CK_RV rv, const char *fn, const struct token_key *key, char *msg,
		      size_t msg_len)
{
	switch (rv) {
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
		snprintf(msg, msg_len, "key '%s': %s failed: %s", keyindex_key_name(key), fn,
			 token_ckr_name(rv));
		return P11A_ERR_NOT_ALLOWED;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_SIZE_RANGE:
		snprintf(msg, msg_len,
			 "%s failed: %s: the token does not do this algorithm with key '%s'", fn,
			 token_ckr_name(rv), keyindex_key_name(key));
		return P11A_ERR_NOT_SUPPORTED;
	default:
		snprintf(msg, msg_len, "%s failed: %s", fn, token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
}

int token_rv_session_lost(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return 1;
	default:
		return 0;
	}
}

int token_op_init(struct token *tok, const struct token_key *key, enum token_op op,
		  CK_MECHANISM *mech, CK_SESSION_HANDLE *out_s, CK_RV *out_rv, char *msg,
		  size_t msg_len)
{
	static const char *const fns[] = {"C_SignInit", "C_VerifyInit", "C_DecryptInit"};
	CK_SESSION_HANDLE s;
	int attempt, ret;
	CK_RV rv = CKR_OK;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((ret = pool_take(tok->pool, &s, out_rv, msg, msg_len)) != P11A_OK)
			return ret;
		if (op == TOKEN_OP_VERIFY)
			rv = tok->f->C_VerifyInit(s, mech, key->handle);
		else if (op == TOKEN_OP_DECRYPT)
			rv = tok->f->C_DecryptInit(s, mech, key->handle);
		else
			rv = tok->f->C_SignInit(s, mech, key->handle);
		if (rv == CKR_OK) {
			*out_s = s;
			return P11A_OK;
		}
		/* Whatever failed, a new session is the safe one to go on with. */
		pool_put(tok->pool, s, 1);
		/* A stale operation: once more here; faults are token_recover()'s. */
		if (rv != CKR_OPERATION_ACTIVE)
			break;
	}
	*out_rv = rv;
	return init_error(rv, fns[op], key, msg, msg_len);
}

/* Room for a signature by key with info: the token may still ask for more. */
static size_t sig_capacity(const struct token_key *key, const struct p11a_alg_info *info)
{
	size_t field = ((size_t)key->bits + 7) / 8;

	switch (key->type) {
	case P11A_KEY_RSA:
		return field > 0 ? field : 1024;
	case P11A_KEY_EC:
		return field > 0 ? 2 * field : 2 * 66;
	case P11A_KEY_ED25519:
		return 64;
	default:
		return info->digest_len > 0 ? info->digest_len : 64;
	}
}

/* C_Sign on a session where C_SignInit succeeded; *out_sig is malloc'd. */
static int run_sign(struct token *tok, CK_SESSION_HANDLE s, const uint8_t *data, size_t data_len,
		    size_t cap, uint8_t **out_sig, size_t *out_len, CK_RV *out_rv, char *msg,
		    size_t msg_len)
{
	static uint8_t empty[1];
	uint8_t *sig = NULL, *tmp;
	CK_ULONG len = cap;
	int broken = 0, ret = P11A_ERR_TOKEN;
	CK_RV rv;

	if ((sig = malloc(cap)) == NULL) {
		/* The operation is active: this session cannot be reused as it is. */
		broken = 1;
		ret = P11A_ERR_INTERNAL;
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	rv = tok->f->C_Sign(s, data_len ? (CK_BYTE_PTR)data : empty, data_len, sig, &len);
	if (rv == CKR_BUFFER_TOO_SMALL && len > cap && len <= SIG_MAX &&
	    (tmp = realloc(sig, len)) != NULL) {
		sig = tmp;
		rv = tok->f->C_Sign(s, data_len ? (CK_BYTE_PTR)data : empty, data_len, sig, &len);
	}
	if (rv != CKR_OK) {
		/* Any failure ends the operation, except a short buffer: to be sure, start over. */
		broken = 1;
		*out_rv = rv;
		snprintf(msg, msg_len, "C_Sign failed: %s", token_ckr_name(rv));
		ret = rv == CKR_DATA_LEN_RANGE ? P11A_ERR_BAD_INPUT : P11A_ERR_TOKEN;
		goto out;
	}
	*out_sig = sig;
	*out_len = len;
	sig = NULL;
	ret = P11A_OK;
out:
	free(sig);
	pool_put(tok->pool, s, broken);
	return ret;
}

/* The longest PSS salt a key of key->bits takes with info's hash (RFC 8017, 9.1.1). */
static size_t pss_salt_max(const struct token_key *key, const struct p11a_alg_info *info)
{
	size_t em_len = ((size_t)key->bits - 1 + 7) / 8;

	if (key->bits < 2 || em_len < info->digest_len + 2)
		return 0;
	return em_len - info->digest_len - 2;
}

int token_sign(struct token *tok, const struct token_key *key, p11a_alg alg, uint32_t flags,
	       const uint8_t *in, size_t in_len, uint8_t **out_sig, size_t *out_len, char *msg,
	       size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	const struct p11a_alg_info *info;
	const struct alg_mech *am;
	uint8_t digestinfo[SIGFMT_DIGESTINFO_MAX];
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech;
	CK_SESSION_HANDLE s;
	const uint8_t *data = in;
	uint8_t *sig = NULL, *der;
	size_t data_len = in_len, sig_len = 0, der_len;
	int ret;
	CK_RV rv;

	if ((ret = check_alg(tok, key, alg, P11A_OP_SIGN, &info, &am, msg, msg_len)) != P11A_OK)
		return ret;
	if (info->input == P11A_INPUT_DIGEST && in_len != info->digest_len) {
		snprintf(msg, msg_len, "data: expected a %zu-byte %.3s-%s digest, got %zu bytes",
			 info->digest_len, info->hash, info->hash + 3, in_len);
		return P11A_ERR_BAD_INPUT;
	}

	if ((flags & TOKEN_SIGN_PSS_SALT) && am->mech != M_RSA_PSS) {
		snprintf(msg, msg_len, "flags: a salt length is for rsa-pss algorithms, not %s",
			 info->name);
		return P11A_ERR_BAD_INPUT;
	}
	mech = (CK_MECHANISM){token_mechs[am->mech].type, NULL, 0};
	if (am->mech == M_RSA_PKCS) {
		if (sigfmt_digestinfo(info->hash, in, in_len, digestinfo, &data_len) != P11A_OK) {
			snprintf(msg, msg_len, "data: cannot build a DigestInfo for %s",
				 info->hash);
			return P11A_ERR_BAD_INPUT;
		}
		data = digestinfo;
	} else if (am->mech == M_RSA_PSS) {
		pss = (CK_RSA_PKCS_PSS_PARAMS){am->pss_hash, am->pss_mgf, info->digest_len};
		if (flags & TOKEN_SIGN_PSS_SALT) {
			size_t max = pss_salt_max(key, info);

			pss.sLen = flags >> 16;
			if (key->bits != 0 && pss.sLen > max) {
				snprintf(
				    msg, msg_len,
				    "flags: a %lu-byte salt does not fit a %u-bit key with %s: "
				    "at most %zu bytes",
				    (unsigned long)pss.sLen, (unsigned)key->bits, info->hash, max);
				return P11A_ERR_BAD_INPUT;
			}
		}
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
	}

	for (;;) {
		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
			return ret;
		rv = CKR_OK;
		if ((ret = token_op_init(tok, key, TOKEN_OP_SIGN, &mech, &s, &rv, msg, msg_len)) ==
		    P11A_OK)
			ret = run_sign(tok, s, data, data_len, sig_capacity(key, info), &sig,
				       &sig_len, &rv, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK)
			break;
		if (!token_recover(tok, &t, rv, &ret, msg, msg_len))
			return ret;
	}

	if (am->mech == M_ECDSA && !(flags & TOKEN_SIGN_ECDSA_RAW)) {
		ret = sigfmt_ecdsa_raw_to_der(sig, sig_len, &der, &der_len);
		free(sig);
		if (ret != P11A_OK) {
			snprintf(msg, msg_len, "C_Sign gave %zu bytes, not an ECDSA r||s", sig_len);
			return P11A_ERR_TOKEN;
		}
		sig = der;
		sig_len = der_len;
	}
	*out_sig = sig;
	*out_len = sig_len;
	return P11A_OK;
}

/* One attempt of token_verify_hmac(); *out_rv is the CK_RV of the call that failed. */
static int verify_once(struct token *tok, const struct token_key *key, CK_MECHANISM *mech,
		       const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
		       int *out_valid, CK_RV *out_rv, char *msg, size_t msg_len)
{
	static uint8_t empty[1];
	CK_SESSION_HANDLE s;
	int ret, answer;
	CK_RV rv;

	if ((ret = token_op_init(tok, key, TOKEN_OP_VERIFY, mech, &s, out_rv, msg, msg_len)) !=
	    P11A_OK)
		return ret;
	rv = tok->f->C_Verify(s, in_len ? (CK_BYTE_PTR)in : empty, in_len,
			      mac_len ? (CK_BYTE_PTR)mac : empty, mac_len);
	answer = rv == CKR_OK || rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE;
	/* C_Verify ends the operation whatever it returns; still, replace the session on errors. */
	pool_put(tok->pool, s, !answer);
	if (answer) {
		*out_valid = rv == CKR_OK;
		return P11A_OK;
	}
	*out_rv = rv;
	snprintf(msg, msg_len, "C_Verify failed: %s", token_ckr_name(rv));
	return rv == CKR_DATA_LEN_RANGE ? P11A_ERR_BAD_INPUT : P11A_ERR_TOKEN;
}

int token_verify_hmac(struct token *tok, const struct token_key *key, p11a_alg alg,
		      const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
		      int *out_valid, char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	const struct p11a_alg_info *info;
	const struct alg_mech *am;
	CK_MECHANISM mech;
	int ret;
	CK_RV rv;

	if ((info = p11a_alg_by_id(alg)) != NULL && info->key_type != P11A_KEY_HMAC) {
		snprintf(msg, msg_len, "algorithm %s is not an HMAC", info->name);
		return P11A_ERR_NOT_SUPPORTED;
	}
	if ((ret = check_alg(tok, key, alg, P11A_OP_VERIFY, &info, &am, msg, msg_len)) != P11A_OK)
		return ret;
	mech = (CK_MECHANISM){token_mechs[am->mech].type, NULL, 0};
	for (;;) {
		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
			return ret;
		rv = CKR_OK;
		ret = verify_once(tok, key, &mech, in, in_len, mac, mac_len, out_valid, &rv, msg,
				  msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, rv, &ret, msg, msg_len))
			return ret;
	}
}
