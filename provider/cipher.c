/*
 * RSA decryption by the agent: RSA-OAEP with SHA-1, SHA-256, SHA-384 or
 * SHA-512 (MGF1 with the same digest), with or without a label, and PKCS#1
 * v1.5, which the agent refuses unless the key's configuration allows it
 * (allow-rsa-pkcs1-decrypt, p11agent.conf(5)). There is no encryption: the
 * default provider encrypts with the public key.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include "provider.h"

/* The OAEP digests the agent decrypts with. */
struct oaep_digest {
	int nid;
	const char *name; /* OpenSSL's name, as "digest" gives it back */
	p11a_alg alg;
};

static const struct oaep_digest digests[] = {
    {NID_sha1, "SHA1", P11A_ALG_RSA_OAEP_SHA1},
    {NID_sha256, "SHA2-256", P11A_ALG_RSA_OAEP_SHA256},
    {NID_sha384, "SHA2-384", P11A_ALG_RSA_OAEP_SHA384},
    {NID_sha512, "SHA2-512", P11A_ALG_RSA_OAEP_SHA512},
};

#define N_DIGESTS (sizeof(digests) / sizeof(digests[0]))

struct cipherctx {
	struct p11ap_prov *prov;
	struct p11ap_key *key; /* borrowed: the EVP_PKEY behind the operation holds it */
	int pad;	       /* RSA_PKCS1_PADDING (OpenSSL's default) or RSA_PKCS1_OAEP_PADDING */
	const struct oaep_digest *md;	/* OAEP; NULL: SHA-1, OpenSSL's default */
	const struct oaep_digest *mgf1; /* NULL: the same as md */
	uint8_t *label;
	size_t label_len;
};

/* The table's entry for the digest OpenSSL names name. */
static int find_digest(struct cipherctx *ctx, const char *name, const struct oaep_digest **out)
{
	EVP_MD *md = EVP_MD_fetch(ctx->prov->libctx, name, P11AP_LOCAL_PROPQ);
	size_t i;
	int nid;

	if (md == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED, "no digest '%s' here", name);
		return 0;
	}
	nid = EVP_MD_get_type(md);
	EVP_MD_free(md);
	for (i = 0; i < N_DIGESTS; i++) {
		if (digests[i].nid == nid) {
			*out = &digests[i];
			return 1;
		}
	}
	p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
		    "RSA-OAEP by the agent uses SHA-1, SHA-256, SHA-384 or SHA-512, not %s", name);
	return 0;
}

static void *newctx(void *provctx)
{
	struct cipherctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->prov = provctx;
	ctx->pad = RSA_PKCS1_PADDING;
	return ctx;
}

static void freectx(void *vctx)
{
	struct cipherctx *ctx = vctx;

	if (ctx == NULL)
		return;
	OPENSSL_clear_free(ctx->label, ctx->label_len);
	free(ctx);
}

static void *dupctx(void *vctx)
{
	struct cipherctx *ctx = vctx, *dup = malloc(sizeof(*dup));

	if (dup == NULL)
		return NULL;
	*dup = *ctx;
	dup->label = NULL;
	if (ctx->label != NULL &&
	    (dup->label = OPENSSL_memdup(ctx->label, ctx->label_len)) == NULL) {
		free(dup);
		return NULL;
	}
	return dup;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int decrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
	struct cipherctx *ctx = vctx;
	struct p11ap_key *key = vkey;

	if (key == NULL || key->type != P11A_KEY_RSA) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "RSA decryption needs an RSA key");
		return 0;
	}
	if (key->ref == NULL) {
		p11ap_raise(
		    ctx->prov, P11AP_R_NOT_ALLOWED,
		    "a public key only: it has no private key in the agent to decrypt with");
		return 0;
	}
	ctx->key = key;
	return set_ctx_params(ctx, params);
}

/* The modulus length in bytes: the longest plaintext there can be. */
static size_t modulus_len(const struct cipherctx *ctx)
{
	if (ctx->key->pub != NULL && EVP_PKEY_get_size(ctx->key->pub) > 0)
		return (size_t)EVP_PKEY_get_size(ctx->key->pub);
	return (ctx->key->bits + 7) / 8;
}

/* One decryption request: what p11ap_call() runs. */
struct decrypt_req {
	const char *ref;
	p11a_alg alg;
	const uint8_t *label;
	size_t label_len;
	const uint8_t *in;
	size_t in_len;
	uint8_t *out;
	size_t out_len;
};

static int call_decrypt(struct p11a_conn *conn, void *arg)
{
	struct decrypt_req *r = arg;

	return p11a_decrypt(conn, r->ref, r->alg, r->label, r->label_len, r->in, r->in_len, &r->out,
			    &r->out_len);
}

/* The agent's algorithm for the context's settings; checks what it cannot do. */
static int choose_alg(struct cipherctx *ctx, p11a_alg *out_alg)
{
	const struct oaep_digest *md = ctx->md != NULL ? ctx->md : &digests[0];

	if (ctx->pad == RSA_PKCS1_PADDING) {
		*out_alg = P11A_ALG_RSA_PKCS1;
		return 1;
	}
	if (ctx->mgf1 != NULL && ctx->mgf1 != md) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
			    "RSA-OAEP by the agent uses MGF1 with the OAEP digest (%s), not %s",
			    md->name, ctx->mgf1->name);
		return 0;
	}
	*out_alg = md->alg;
	return 1;
}

static int decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
		   const unsigned char *in, size_t inlen)
{
	struct cipherctx *ctx = vctx;
	struct decrypt_req r = {0};
	const struct p11a_alg_info *ai;
	char what[64];
	int ok = 0;

	if (ctx->key == NULL)
		return 0;
	if (out == NULL) {
		*outlen = modulus_len(ctx);
		return 1;
	}
	r.ref = ctx->key->ref;
	r.label = ctx->label;
	r.label_len = ctx->label_len;
	r.in = in;
	r.in_len = inlen;
	if (!choose_alg(ctx, &r.alg))
		return 0;
	ai = p11a_alg_by_id(r.alg);
	snprintf(what, sizeof(what), "decrypt (%s)", ai != NULL ? ai->name : "?");
	if (p11ap_call(ctx->prov, what, call_decrypt, &r) != P11A_OK)
		return 0;
	if (r.out_len > outsize) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "a %zu-byte buffer is too small for the plaintext: %zu bytes", outsize,
			    r.out_len);
		goto out;
	}
	memcpy(out, r.out, r.out_len);
	*outlen = r.out_len;
	ok = 1;
out:
	p11a_free(r.out, r.out_len);
	return ok;
}

/* --- parameters ---------------------------------------------------------------- */

static const struct {
	int pad;
	const char *name;
} pad_names[] = {
    {RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
    {RSA_PKCS1_OAEP_PADDING, OSSL_PKEY_RSA_PAD_MODE_OAEP},
    {RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE},
    {RSA_X931_PADDING, OSSL_PKEY_RSA_PAD_MODE_X931},
};

#define N_PADS (sizeof(pad_names) / sizeof(pad_names[0]))

static int get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct cipherctx *ctx = vctx;
	const struct oaep_digest *md = ctx->md != NULL ? ctx->md : &digests[0];
	OSSL_PARAM *p;
	size_t i;

	if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, ctx->pad))
				return 0;
		} else {
			for (i = 0; i < N_PADS; i++)
				if (pad_names[i].pad == ctx->pad &&
				    !OSSL_PARAM_set_utf8_string(p, pad_names[i].name))
					return 0;
		}
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, md->name))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, ctx->mgf1 != NULL ? ctx->mgf1->name : md->name))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL &&
	    !OSSL_PARAM_set_octet_ptr(p, ctx->label, ctx->label_len))
		return 0;
	return 1;
}

static int set_pad(struct cipherctx *ctx, const OSSL_PARAM *p)
{
	const char *s = NULL;
	int pad = -1;
	size_t i;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		for (i = 0; i < N_PADS; i++)
			if (strcmp(s, pad_names[i].name) == 0)
				pad = pad_names[i].pad;
	} else if (!OSSL_PARAM_get_int(p, &pad)) {
		return 0;
	}
	if (pad == RSA_PKCS1_WITH_TLS_PADDING) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
			    "TLS's RSA key exchange is not served by the agent: use ECDHE");
		return 0;
	}
	if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_OAEP_PADDING) {
		if (s != NULL)
			p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
				    "RSA decryption by the agent is OAEP or PKCS#1 v1.5, not %s",
				    s);
		else
			p11ap_raise(
			    ctx->prov, P11AP_R_UNSUPPORTED,
			    "RSA decryption by the agent is OAEP or PKCS#1 v1.5, not padding "
			    "mode %d",
			    pad);
		return 0;
	}
	ctx->pad = pad;
	return 1;
}

static int set_label(struct cipherctx *ctx, const OSSL_PARAM *p)
{
	void *label = NULL;
	size_t len = 0;

	if (p->data_size > 0 && !OSSL_PARAM_get_octet_string(p, &label, 0, &len))
		return 0;
	OPENSSL_clear_free(ctx->label, ctx->label_len);
	ctx->label = label;
	ctx->label_len = len;
	return 1;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct cipherctx *ctx = vctx;
	const OSSL_PARAM *p;
	const char *s;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL &&
	    !set_pad(ctx, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
	    (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !find_digest(ctx, s, &ctx->md)))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
	    (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || !find_digest(ctx, s, &ctx->mgf1)))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL &&
	    !set_label(ctx, p))
		return 0;
	/* TLS's RSA key exchange (PKCS#1 v1.5 with the version check): not served. */
	if (OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION) != NULL) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
			    "TLS RSA key exchange is not served by the agent: use ECDHE");
		return 0;
	}
	return 1;
}

static const OSSL_PARAM *gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

#define FN(id, f)                                                                                  \
	{                                                                                          \
		OSSL_FUNC_ASYM_CIPHER_##id, (void (*)(void))(f)                                    \
	}

const OSSL_DISPATCH p11ap_rsa_cipher_functions[] = {
    FN(NEWCTX, newctx),
    FN(DECRYPT_INIT, decrypt_init),
    FN(DECRYPT, decrypt),
    FN(FREECTX, freectx),
    FN(DUPCTX, dupctx),
    FN(GET_CTX_PARAMS, get_ctx_params),
    FN(GETTABLE_CTX_PARAMS, gettable_ctx_params),
    FN(SET_CTX_PARAMS, set_ctx_params),
    FN(SETTABLE_CTX_PARAMS, settable_ctx_params),
    {0, NULL},
};
