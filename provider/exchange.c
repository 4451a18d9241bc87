/*
 * ECDH by the agent. The agent gets the peer's SubjectPublicKeyInfo and
 * returns the shared secret Z; a KDF asked for (X9.63, as CMS
 * KeyAgreeRecipientInfo does) runs here, in the provider's child library
 * context with the other providers' algorithms. The peer is a key of this
 * provider's key management holding only a public key (OpenSSL imports a
 * peer into the key management of the operation's key).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "provider.h"

struct exchctx {
	struct p11ap_prov *prov;
	struct p11ap_key *key;	/* borrowed: the EVP_PKEY behind the operation holds it */
	struct p11ap_key *peer; /* borrowed, likewise */
	int cofactor_mode;	/* -1: the curve's default; prime curves have cofactor 1 */
	int kdf_x963;		/* 1: X9.63 KDF after ECDH, else Z itself */
	char *kdf_md;		/* the KDF's digest name */
	size_t kdf_outlen;
	uint8_t *kdf_ukm;
	size_t kdf_ukm_len;
};

static void *newctx(void *provctx)
{
	struct exchctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->prov = provctx;
	ctx->cofactor_mode = -1;
	return ctx;
}

static void freectx(void *vctx)
{
	struct exchctx *ctx = vctx;

	if (ctx == NULL)
		return;
	free(ctx->kdf_md);
	OPENSSL_free(ctx->kdf_ukm);
	free(ctx);
}

static void *dupctx(void *vctx)
{
	struct exchctx *ctx = vctx, *dup = malloc(sizeof(*dup));

	if (dup == NULL)
		return NULL;
	*dup = *ctx;
	dup->kdf_md = NULL;
	dup->kdf_ukm = NULL;
	if ((ctx->kdf_md != NULL && (dup->kdf_md = strdup(ctx->kdf_md)) == NULL) ||
	    (ctx->kdf_ukm != NULL &&
	     (dup->kdf_ukm = OPENSSL_memdup(ctx->kdf_ukm, ctx->kdf_ukm_len)) == NULL)) {
		freectx(dup);
		return NULL;
	}
	return dup;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
	struct exchctx *ctx = vctx;
	struct p11ap_key *key = vkey;

	if (key == NULL || key->type != P11A_KEY_EC) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "ECDH needs an EC key");
		return 0;
	}
	if (key->ref == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_NOT_ALLOWED,
			    "a public key only: it has no private key in the agent to derive with");
		return 0;
	}
	ctx->key = key;
	ctx->peer = NULL;
	return set_ctx_params(ctx, params);
}

static int set_peer(void *vctx, void *vpeer)
{
	struct exchctx *ctx = vctx;
	struct p11ap_key *peer = vpeer;

	if (peer == NULL || peer->type != P11A_KEY_EC) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "the ECDH peer must be an EC key");
		return 0;
	}
	if (peer->pub == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "the ECDH peer has domain parameters but no public key");
		return 0;
	}
	if (ctx->key != NULL && peer->curve_nid != NID_undef && ctx->key->curve_nid != NID_undef &&
	    peer->curve_nid != ctx->key->curve_nid) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "the ECDH peer is on %s, the key on %s",
			    OBJ_nid2sn(peer->curve_nid), OBJ_nid2sn(ctx->key->curve_nid));
		return 0;
	}
	ctx->peer = peer;
	return 1;
}

/* The length of Z: the field's size in bytes. */
static size_t z_len(const struct exchctx *ctx)
{
	return (ctx->key->bits + 7) / 8;
}

/* One derivation request: what p11ap_call() runs. */
struct derive_req {
	const char *ref;
	uint8_t *spki;
	size_t spki_len;
	uint8_t *z;
	size_t z_len;
};

static int call_derive(struct p11a_conn *conn, void *arg)
{
	struct derive_req *r = arg;

	return p11a_derive(conn, r->ref, P11A_ALG_ECDH, r->spki, r->spki_len, &r->z, &r->z_len);
}

/* X9.63 KDF over z, into out (ctx->kdf_outlen bytes). */
static int x963(struct exchctx *ctx, const uint8_t *z, size_t len, unsigned char *out)
{
	EVP_KDF *kdf = EVP_KDF_fetch(ctx->prov->libctx, OSSL_KDF_NAME_X963KDF, P11AP_LOCAL_PROPQ);
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[4], *p = params;
	int ok = 0;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, ctx->kdf_md, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, len);
	if (ctx->kdf_ukm != NULL)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx->kdf_ukm,
							 ctx->kdf_ukm_len);
	*p = OSSL_PARAM_construct_end();
	if (kdf == NULL || (kctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(kctx, out, ctx->kdf_outlen, params) <= 0)
		p11ap_raise(ctx->prov, P11AP_R_INTERNAL, "the X9.63 KDF with %s failed",
			    ctx->kdf_md);
	else
		ok = 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok;
}

static int derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
	struct exchctx *ctx = vctx;
	struct derive_req r = {0};
	unsigned char *der = NULL;
	int n, ok = 0;

	if (ctx->key == NULL || ctx->peer == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "ECDH needs a key and a peer");
		return 0;
	}
	if (ctx->kdf_x963 && (ctx->kdf_md == NULL || ctx->kdf_outlen == 0)) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "the X9.63 KDF needs kdf-digest and kdf-outlen");
		return 0;
	}
	if (secret == NULL) {
		*secretlen = ctx->kdf_x963 ? ctx->kdf_outlen : z_len(ctx);
		return 1;
	}
	if (ctx->kdf_x963 && outlen < ctx->kdf_outlen) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "a %zu-byte buffer is too small for the %zu-byte key", outlen,
			    ctx->kdf_outlen);
		return 0;
	}
	if ((n = i2d_PUBKEY(ctx->peer->pub, &der)) <= 0) {
		p11ap_raise(ctx->prov, P11AP_R_INTERNAL, "cannot encode the peer's public key");
		return 0;
	}
	r.ref = ctx->key->ref;
	r.spki = der;
	r.spki_len = (size_t)n;
	if (p11ap_call(ctx->prov, "derive (ecdh)", call_derive, &r) != P11A_OK)
		goto out;
	if (ctx->kdf_x963) {
		if (!x963(ctx, r.z, r.z_len, secret))
			goto out;
		*secretlen = ctx->kdf_outlen;
	} else {
		/* As OpenSSL's ECDH: a shorter buffer takes Z's first bytes. */
		*secretlen = outlen < r.z_len ? outlen : r.z_len;
		memcpy(secret, r.z, *secretlen);
	}
	ok = 1;
out:
	p11a_free(r.z, r.z_len);
	OPENSSL_free(der);
	return ok;
}

/* --- parameters ---------------------------------------------------------------- */

static int get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct exchctx *ctx = vctx;
	OSSL_PARAM *p;
	int mode = ctx->cofactor_mode < 0 ? 0 : ctx->cofactor_mode;

	if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) != NULL &&
	    !OSSL_PARAM_set_int(p, mode))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, ctx->kdf_x963 ? OSSL_KDF_NAME_X963KDF : ""))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, ctx->kdf_md != NULL ? ctx->kdf_md : ""))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) != NULL &&
	    !OSSL_PARAM_set_size_t(p, ctx->kdf_outlen))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) != NULL &&
	    !OSSL_PARAM_set_octet_ptr(p, ctx->kdf_ukm, ctx->kdf_ukm_len))
		return 0;
	return 1;
}

static int set_kdf_type(struct exchctx *ctx, const OSSL_PARAM *p)
{
	const char *s;

	if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
		return 0;
	if (s[0] == '\0') {
		ctx->kdf_x963 = 0;
		return 1;
	}
	if (strcasecmp(s, OSSL_KDF_NAME_X963KDF) == 0) {
		ctx->kdf_x963 = 1;
		return 1;
	}
	p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED, "ECDH's KDF is X963KDF or none, not %s", s);
	return 0;
}

static int set_kdf_digest(struct exchctx *ctx, const OSSL_PARAM *p)
{
	const char *s;
	EVP_MD *md;
	char *name;

	if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
		return 0;
	if ((md = EVP_MD_fetch(ctx->prov->libctx, s, P11AP_LOCAL_PROPQ)) == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED, "no digest '%s' here", s);
		return 0;
	}
	EVP_MD_free(md);
	if ((name = strdup(s)) == NULL)
		return 0;
	free(ctx->kdf_md);
	ctx->kdf_md = name;
	return 1;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct exchctx *ctx = vctx;
	const OSSL_PARAM *p;
	void *ukm = NULL;
	size_t len = 0;
	int mode;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) !=
	    NULL) {
		/* The agent's curves (P-256, P-384, P-521) have cofactor 1: both modes agree. */
		if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1)
			return 0;
		ctx->cofactor_mode = mode;
	}
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != NULL &&
	    !set_kdf_type(ctx, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) != NULL &&
	    !set_kdf_digest(ctx, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) != NULL &&
	    !OSSL_PARAM_get_size_t(p, &ctx->kdf_outlen))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) != NULL) {
		if (p->data_size > 0 && !OSSL_PARAM_get_octet_string(p, &ukm, 0, &len))
			return 0;
		OPENSSL_free(ctx->kdf_ukm);
		ctx->kdf_ukm = ukm;
		ctx->kdf_ukm_len = len;
	}
	return 1;
}

static const OSSL_PARAM *gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
	    OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
	    OSSL_PARAM_octet_ptr(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, NULL, 0),
	    OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
	    OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

#define FN(id, f)                                                                                  \
	{                                                                                          \
		OSSL_FUNC_KEYEXCH_##id, (void (*)(void))(f)                                        \
	}

const OSSL_DISPATCH p11ap_ecdh_exchange_functions[] = {
    FN(NEWCTX, newctx),
    FN(INIT, init),
    FN(SET_PEER, set_peer),
    FN(DERIVE, derive),
    FN(FREECTX, freectx),
    FN(DUPCTX, dupctx),
    FN(GET_CTX_PARAMS, get_ctx_params),
    FN(GETTABLE_CTX_PARAMS, gettable_ctx_params),
    FN(SET_CTX_PARAMS, set_ctx_params),
    FN(SETTABLE_CTX_PARAMS, settable_ctx_params),
    {0, NULL},
};
