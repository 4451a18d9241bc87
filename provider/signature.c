/*
 * Signatures by the agent: RSA (PKCS#1 v1.5 and PSS), ECDSA and Ed25519.
 *
 * Plain signing (EVP_PKEY_sign) takes a digest and sends it as is
 * (P11A_SIGN_PREHASHED); DigestSign hashes the message here, in the
 * provider's child library context with the other providers' digests, and
 * sends the digest. Ed25519 signs the message itself, in one call. The
 * context also answers "algorithm-id", the DER AlgorithmIdentifier of the
 * signature, which X.509 and CMS write beside it. There is no verification:
 * the default provider verifies with the public key.
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

/* The digests the agent signs with, and what names them in DER. */
struct sig_digest {
	int nid;
	const char *name; /* OpenSSL's name, as "digest" gives it back */
	size_t len;
	p11a_alg pkcs1, pss, ecdsa;
	uint8_t hash_oid_last;	/* 2.16.840.1.101.3.4.2.x: id-sha256, ... */
	uint8_t rsa_oid_last;	/* 1.2.840.113549.1.1.x: sha256WithRSAEncryption, ... */
	uint8_t ecdsa_oid_last; /* 1.2.840.10045.4.3.x: ecdsa-with-SHA256, ... */
};

static const struct sig_digest digests[] = {
    {NID_sha256, "SHA2-256", 32, P11A_ALG_RSA_PKCS1_SHA256, P11A_ALG_RSA_PSS_SHA256,
     P11A_ALG_ECDSA_SHA256, 1, 11, 2},
    {NID_sha384, "SHA2-384", 48, P11A_ALG_RSA_PKCS1_SHA384, P11A_ALG_RSA_PSS_SHA384,
     P11A_ALG_ECDSA_SHA384, 2, 12, 3},
    {NID_sha512, "SHA2-512", 64, P11A_ALG_RSA_PKCS1_SHA512, P11A_ALG_RSA_PSS_SHA512,
     P11A_ALG_ECDSA_SHA512, 3, 13, 4},
};

#define N_DIGESTS (sizeof(digests) / sizeof(digests[0]))

/* Largest AlgorithmIdentifier made here (RSASSA-PSS with a 2-byte salt: 70). */
#define MAX_AID 96

struct sigctx {
	struct p11ap_prov *prov;
	p11a_key_type type;    /* the key type of the algorithm */
	struct p11ap_key *key; /* borrowed: the EVP_PKEY behind the operation holds it */
	const struct sig_digest *md;
	const struct sig_digest *mgf1; /* NULL: the same as md */
	int pad;		       /* RSA: RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
	int saltlen;		       /* RSA-PSS: RSA_PSS_SALTLEN_* or a length in bytes */
	EVP_MD *evp_md;		       /* DigestSign: the local digest */
	EVP_MD_CTX *mdctx;	       /* DigestSign: the hash so far; NULL otherwise */
	uint8_t aid[MAX_AID];	       /* the last "algorithm-id" asked */
};

static const char *type_name(p11a_key_type type)
{
	switch (type) {
	case P11A_KEY_RSA:
		return "RSA";
	case P11A_KEY_EC:
		return "ECDSA";
	case P11A_KEY_ED25519:
		return "Ed25519";
	default:
		return "?";
	}
}

/* What signs, for messages about its digest. */
static const char *sign_noun(const struct sigctx *ctx)
{
	return ctx->type == P11A_KEY_EC ? "ECDSA" : "RSA signing";
}

/*
 * The table's entry for the digest OpenSSL names name, fetched locally into
 * *out_md (unless NULL); what names its use in the error.
 */
static int find_digest(struct sigctx *ctx, const char *name, const char *what,
		       const struct sig_digest **out, EVP_MD **out_md)
{
	EVP_MD *md = EVP_MD_fetch(ctx->prov->libctx, name, P11AP_LOCAL_PROPQ);
	size_t i;

	if (md == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED, "no digest '%s' here", name);
		return 0;
	}
	for (i = 0; i < N_DIGESTS; i++) {
		if (EVP_MD_get_type(md) == digests[i].nid) {
			*out = &digests[i];
			if (out_md != NULL)
				*out_md = md;
			else
				EVP_MD_free(md);
			return 1;
		}
	}
	EVP_MD_free(md);
	p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
		    "%s by the agent uses SHA-256, SHA-384 or SHA-512, not %s", what, name);
	return 0;
}

static struct sigctx *newctx(void *provctx, p11a_key_type type)
{
	struct sigctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->prov = provctx;
	ctx->type = type;
	ctx->pad = RSA_PKCS1_PADDING;
	/* As OpenSSL 3.0's RSA signatures: "auto", which signs with the longest salt. */
	ctx->saltlen = RSA_PSS_SALTLEN_AUTO;
	return ctx;
}

static void *rsa_newctx(void *provctx, const char *propq)
{
	return newctx(provctx, P11A_KEY_RSA);
}

static void *ecdsa_newctx(void *provctx, const char *propq)
{
	return newctx(provctx, P11A_KEY_EC);
}

static void *ed25519_newctx(void *provctx, const char *propq)
{
	return newctx(provctx, P11A_KEY_ED25519);
}

static void freectx(void *vctx)
{
	struct sigctx *ctx = vctx;

	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->mdctx);
	EVP_MD_free(ctx->evp_md);
	free(ctx);
}

static void *dupctx(void *vctx)
{
	struct sigctx *ctx = vctx, *dup = malloc(sizeof(*dup));

	if (dup == NULL)
		return NULL;
	*dup = *ctx;
	dup->evp_md = NULL;
	dup->mdctx = NULL;
	if (ctx->evp_md != NULL && EVP_MD_up_ref(ctx->evp_md))
		dup->evp_md = ctx->evp_md;
	if (ctx->mdctx != NULL && ((dup->mdctx = EVP_MD_CTX_new()) == NULL ||
				   !EVP_MD_CTX_copy_ex(dup->mdctx, ctx->mdctx))) {
		freectx(dup);
		return NULL;
	}
	return dup;
}

/* Takes key for the operation when it is an agent key of the context's type. */
static int set_key(struct sigctx *ctx, void *vkey)
{
	struct p11ap_key *key = vkey;

	if (key == NULL) {
		if (ctx->key != NULL)
			return 1; /* re-initialised with the same key */
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "no key to sign with");
		return 0;
	}
	if (key->type != ctx->type) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "%s signatures need a key of type %s",
			    type_name(ctx->type), p11a_key_type_name(ctx->type));
		return 0;
	}
	if (key->ref == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_NOT_ALLOWED,
			    "a public key only: it has no private key in the agent to sign with");
		return 0;
	}
	ctx->key = key;
	return 1;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[]);

static int sign_init(void *vctx, void *key, const OSSL_PARAM params[])
{
	struct sigctx *ctx = vctx;

	EVP_MD_CTX_free(ctx->mdctx);
	ctx->mdctx = NULL;
	return set_key(ctx, key) && set_ctx_params(ctx, params);
}

/* The default digest of DigestSign when the caller names none. */
#define DEFAULT_DIGEST "SHA2-256"

static int digest_sign_init(void *vctx, const char *mdname, void *key, const OSSL_PARAM params[])
{
	struct sigctx *ctx = vctx;
	const struct sig_digest *md = NULL;
	EVP_MD *evp_md = NULL;

	EVP_MD_CTX_free(ctx->mdctx);
	ctx->mdctx = NULL;
	if (!set_key(ctx, key))
		return 0;
	if (mdname == NULL || mdname[0] == '\0')
		mdname = DEFAULT_DIGEST;
	if (!find_digest(ctx, mdname, sign_noun(ctx), &md, &evp_md))
		return 0;
	ctx->md = md;
	EVP_MD_free(ctx->evp_md);
	ctx->evp_md = evp_md;
	if (!set_ctx_params(ctx, params))
		return 0;
	if (ctx->md != md) { /* params named another digest */
		EVP_MD_free(ctx->evp_md);
		ctx->evp_md = EVP_MD_fetch(ctx->prov->libctx, ctx->md->name, P11AP_LOCAL_PROPQ);
	}
	if ((ctx->mdctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex2(ctx->mdctx, ctx->evp_md, NULL)) {
		p11ap_raise(ctx->prov, P11AP_R_INTERNAL, "cannot start a %s hash", ctx->md->name);
		return 0;
	}
	return 1;
}

static int digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
	struct sigctx *ctx = vctx;

	if (ctx->mdctx == NULL)
		return 0;
	return EVP_DigestUpdate(ctx->mdctx, data, len);
}

/* The longest signature the key makes. */
static size_t max_sig_len(const struct sigctx *ctx)
{
	const struct p11ap_key *key = ctx->key;
	size_t n;

	if (key->pub != NULL && EVP_PKEY_get_size(key->pub) > 0)
		return (size_t)EVP_PKEY_get_size(key->pub);
	switch (ctx->type) {
	case P11A_KEY_RSA:
		return (key->bits + 7) / 8;
	case P11A_KEY_EC:
		/* SEQUENCE of two INTEGERs, each up to the order's length plus a 0 byte. */
		n = (key->bits + 7) / 8 + 1;
		n = 2 * (n + (n < 128 ? 2 : 3));
		return n + (n < 128 ? 2 : 3);
	default:
		return 64;
	}
}

/* RSA-PSS: the longest salt the key holds with the context's digest. */
static long max_salt(const struct sigctx *ctx)
{
	long em_len = ((long)ctx->key->bits - 1 + 7) / 8;

	return em_len - (long)ctx->md->len - 2;
}

/* RSA-PSS: the salt length in bytes that saltlen means. */
static long salt_len(const struct sigctx *ctx)
{
	switch (ctx->saltlen) {
	case RSA_PSS_SALTLEN_DIGEST:
		return (long)ctx->md->len;
	case RSA_PSS_SALTLEN_AUTO:
	case RSA_PSS_SALTLEN_MAX:
		return max_salt(ctx);
	default:
		return ctx->saltlen;
	}
}

/* One signing request: what p11ap_call() runs. */
struct sign_req {
	const char *ref;
	p11a_alg alg;
	uint32_t flags;
	const uint8_t *data;
	size_t data_len;
	uint8_t *sig;
	size_t sig_len;
};

static int call_sign(struct p11a_conn *conn, void *arg)
{
	struct sign_req *r = arg;

	return p11a_sign(conn, r->ref, r->alg, r->flags, r->data, r->data_len, &r->sig,
			 &r->sig_len);
}

/*
 * The agent's algorithm and flags for the context's settings and a digest
 * of tbs_len bytes: checks what the agent cannot do.
 */
static int choose_alg(struct sigctx *ctx, size_t tbs_len, p11a_alg *out_alg, uint32_t *out_flags)
{
	const struct sig_digest *md = ctx->md;
	const char *mgf1;
	long salt;
	size_t i;

	if (md == NULL && ctx->type == P11A_KEY_EC) {
		/* ECDSA signs any digest: the one its length names. */
		for (i = 0; i < N_DIGESTS && md == NULL; i++)
			if (digests[i].len == tbs_len)
				md = &digests[i];
		if (md == NULL) {
			p11ap_raise(
			    ctx->prov, P11AP_R_UNSUPPORTED,
			    "ECDSA by the agent signs a 32, 48 or 64-byte digest, not %zu bytes",
			    tbs_len);
			return 0;
		}
	}
	if (md == NULL) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "RSA signing by the agent needs the digest named (for example "
			    "-pkeyopt digest:sha256): it signs a DigestInfo, never raw data");
		return 0;
	}
	if (tbs_len != md->len) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT, "a %s digest is %zu bytes, not %zu",
			    md->name, md->len, tbs_len);
		return 0;
	}
	*out_flags = P11A_SIGN_PREHASHED;
	if (ctx->type == P11A_KEY_EC) {
		*out_alg = md->ecdsa;
		return 1;
	}
	if (ctx->pad == RSA_PKCS1_PADDING) {
		*out_alg = md->pkcs1;
		return 1;
	}
	/* PSS */
	if (ctx->mgf1 != NULL && ctx->mgf1 != md) {
		mgf1 = ctx->mgf1->name;
		p11ap_raise(
		    ctx->prov, P11AP_R_UNSUPPORTED,
		    "RSA-PSS by the agent uses MGF1 with the signature's digest (%s), not %s",
		    md->name, mgf1);
		return 0;
	}
	salt = salt_len(ctx);
	if (salt < 0 || salt > 0xffff) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "RSA-PSS: a %d-bit key has no room for a salt with %s", ctx->key->bits,
			    md->name);
		return 0;
	}
	*out_alg = md->pss;
	*out_flags |= P11A_SIGN_SALT(salt);
	return 1;
}

/* Sends a digest (or Ed25519's message) to the agent; the signature goes to sig. */
static int agent_sign(struct sigctx *ctx, p11a_alg alg, uint32_t flags, unsigned char *sig,
		      size_t *siglen, size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	const struct p11a_alg_info *ai = p11a_alg_by_id(alg);
	struct sign_req r = {ctx->key->ref, alg, flags, tbs, tbslen, NULL, 0};
	char what[64];
	int ok = 0;

	if (sigsize < max_sig_len(ctx) && ctx->type != P11A_KEY_EC) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "a %zu-byte buffer is too small for the signature: %zu bytes", sigsize,
			    max_sig_len(ctx));
		return 0;
	}
	snprintf(what, sizeof(what), "sign (%s)", ai != NULL ? ai->name : "?");
	if (p11ap_call(ctx->prov, what, call_sign, &r) != P11A_OK)
		return 0;
	if (r.sig_len > sigsize) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "a %zu-byte buffer is too small for the signature: %zu bytes", sigsize,
			    r.sig_len);
		goto out;
	}
	memcpy(sig, r.sig, r.sig_len);
	*siglen = r.sig_len;
	ok = 1;
out:
	p11a_free(r.sig, r.sig_len);
	return ok;
}

/* EVP_PKEY_sign: tbs is the digest. */
static int sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *ctx = vctx;
	p11a_alg alg;
	uint32_t flags;

	if (ctx->key == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = max_sig_len(ctx);
		return 1;
	}
	if (!choose_alg(ctx, tbslen, &alg, &flags))
		return 0;
	return agent_sign(ctx, alg, flags, sig, siglen, sigsize, tbs, tbslen);
}

static int digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
	struct sigctx *ctx = vctx;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok;

	if (ctx->key == NULL || ctx->mdctx == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = max_sig_len(ctx);
		return 1;
	}
	if (!EVP_DigestFinal_ex(ctx->mdctx, md, &md_len)) {
		p11ap_raise(ctx->prov, P11AP_R_INTERNAL, "the %s hash failed", ctx->md->name);
		return 0;
	}
	ok = sign(ctx, sig, siglen, sigsize, md, md_len);
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

/* Ed25519: one call over the whole message. */
static int ed25519_digest_sign_init(void *vctx, const char *mdname, void *key,
				    const OSSL_PARAM params[])
{
	struct sigctx *ctx = vctx;

	if (mdname != NULL && mdname[0] != '\0') {
		p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
			    "Ed25519 signs the message itself: no digest (%s) applies", mdname);
		return 0;
	}
	return set_key(ctx, key) && set_ctx_params(ctx, params);
}

static int ed25519_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
			       const unsigned char *tbs, size_t tbslen)
{
	struct sigctx *ctx = vctx;

	if (ctx->key == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = 64;
		return 1;
	}
	return agent_sign(ctx, P11A_ALG_ED25519, 0, sig, siglen, sigsize, tbs, tbslen);
}

/* --- algorithm-id: DER AlgorithmIdentifier ----------------------------------- */

/* Appends tag, a short length and len bytes at out; returns the bytes written. */
static size_t der_tlv(uint8_t *out, uint8_t tag, const uint8_t *content, size_t len)
{
	out[0] = tag;
	out[1] = (uint8_t)len; /* every piece here is shorter than 128 bytes */
	memmove(out + 2, content, len);
	return 2 + len;
}

/* An INTEGER holding n (0 to 65535): returns the bytes written. */
static size_t der_uint(uint8_t *out, unsigned long n)
{
	uint8_t v[3];
	size_t len = 0;

	if (n > 0xff)
		v[len++] = (uint8_t)(n >> 8);
	v[len++] = (uint8_t)n;
	if (v[0] & 0x80) { /* a leading 0, or the high bit would read as a sign */
		memmove(v + 1, v, len);
		v[0] = 0;
		len++;
	}
	return der_tlv(out, 0x02, v, len);
}

/* hashAlgorithm: id-sha256 etc. with NULL parameters, as OpenSSL 3.0 writes them. */
static size_t der_hash_aid(uint8_t *out, const struct sig_digest *md)
{
	uint8_t oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0, 0x05, 0x00};

	oid[10] = md->hash_oid_last;
	return der_tlv(out, 0x30, oid, sizeof(oid));
}

/* RSASSA-PSS with its parameters (RFC 4055): hash, MGF1 with the hash, salt length. */
static size_t der_pss_aid(uint8_t *out, const struct sig_digest *md, long salt)
{
	static const uint8_t pss_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					  0xf7, 0x0d, 0x01, 0x01, 0x0a};
	static const uint8_t mgf1_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
					   0xf7, 0x0d, 0x01, 0x01, 0x08};
	uint8_t hash[16], mgf[40], params[80], body[MAX_AID];
	size_t hash_len, mgf_len, n = 0, m;

	hash_len = der_hash_aid(hash, md);
	n += der_tlv(params + n, 0xa0, hash, hash_len);
	memcpy(mgf, mgf1_oid, sizeof(mgf1_oid));
	memcpy(mgf + sizeof(mgf1_oid), hash, hash_len);
	mgf_len = sizeof(mgf1_oid) + hash_len;
	m = der_tlv(body, 0x30, mgf, mgf_len);
	n += der_tlv(params + n, 0xa1, body, m);
	if (salt != 20) { /* 20 is the DEFAULT, which DER leaves out */
		m = der_uint(body, (unsigned long)salt);
		n += der_tlv(params + n, 0xa2, body, m);
	}
	memcpy(body, pss_oid, sizeof(pss_oid));
	m = sizeof(pss_oid) + der_tlv(body + sizeof(pss_oid), 0x30, params, n);
	return der_tlv(out, 0x30, body, m);
}

/* The context's AlgorithmIdentifier into ctx->aid; 0 when it has none yet. */
static size_t make_aid(struct sigctx *ctx)
{
	uint8_t oid[12] = {0x06}, rsa[13] = {0x06};
	long salt;

	switch (ctx->type) {
	case P11A_KEY_ED25519:
		/* id-Ed25519, no parameters (RFC 8410) */
		oid[1] = 3;
		oid[2] = 0x2b;
		oid[3] = 0x65;
		oid[4] = 0x70;
		return der_tlv(ctx->aid, 0x30, oid, 5);
	case P11A_KEY_EC:
		if (ctx->md == NULL)
			return 0;
		/* ecdsa-with-SHA*, no parameters (RFC 5758) */
		memcpy(oid + 1, "\x08\x2a\x86\x48\xce\x3d\x04\x03", 8);
		oid[9] = ctx->md->ecdsa_oid_last;
		return der_tlv(ctx->aid, 0x30, oid, 10);
	case P11A_KEY_RSA:
		if (ctx->md == NULL || ctx->key == NULL)
			return 0;
		if (ctx->pad == RSA_PKCS1_PSS_PADDING) {
			salt = salt_len(ctx);
			if (salt < 0 || salt > 0xffff)
				return 0;
			return der_pss_aid(ctx->aid, ctx->md, salt);
		}
		/* sha*WithRSAEncryption, NULL parameters (RFC 4055) */
		memcpy(rsa + 1, "\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01", 9);
		rsa[10] = ctx->md->rsa_oid_last;
		rsa[11] = 0x05; /* NULL */
		rsa[12] = 0x00;
		return der_tlv(ctx->aid, 0x30, rsa, 13);
	default:
		return 0;
	}
}

/* --- parameters ---------------------------------------------------------------- */

static const struct {
	int pad;
	const char *name;
} pad_names[] = {
    {RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
    {RSA_PKCS1_PSS_PADDING, OSSL_PKEY_RSA_PAD_MODE_PSS},
    {RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE},
    {RSA_X931_PADDING, OSSL_PKEY_RSA_PAD_MODE_X931},
};

static const struct {
	int saltlen;
	const char *name;
} salt_names[] = {
    {RSA_PSS_SALTLEN_DIGEST, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST},
    {RSA_PSS_SALTLEN_MAX, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX},
    {RSA_PSS_SALTLEN_AUTO, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO},
};

static int get_ctx_params(void *vctx, OSSL_PARAM params[])
{
	struct sigctx *ctx = vctx;
	OSSL_PARAM *p;
	size_t i, n;

	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL) {
		n = make_aid(ctx);
		if (n > 0 && !OSSL_PARAM_set_octet_string(p, ctx->aid, n))
			return 0;
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL &&
	    ctx->md != NULL && !OSSL_PARAM_set_utf8_string(p, ctx->md->name))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE)) != NULL &&
	    ctx->md != NULL && !OSSL_PARAM_set_size_t(p, ctx->md->len))
		return 0;
	if (ctx->type != P11A_KEY_RSA)
		return 1;
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, ctx->pad))
				return 0;
		} else {
			for (i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]); i++)
				if (pad_names[i].pad == ctx->pad &&
				    !OSSL_PARAM_set_utf8_string(p, pad_names[i].name))
					return 0;
		}
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
		if (p->data_type == OSSL_PARAM_INTEGER) {
			if (!OSSL_PARAM_set_int(p, ctx->saltlen))
				return 0;
		} else {
			char num[24];
			const char *s = NULL;

			for (i = 0; i < sizeof(salt_names) / sizeof(salt_names[0]); i++)
				if (salt_names[i].saltlen == ctx->saltlen)
					s = salt_names[i].name;
			if (s == NULL) {
				snprintf(num, sizeof(num), "%d", ctx->saltlen);
				s = num;
			}
			if (!OSSL_PARAM_set_utf8_string(p, s))
				return 0;
		}
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
		const struct sig_digest *mgf1 = ctx->mgf1 != NULL ? ctx->mgf1 : ctx->md;

		if (mgf1 != NULL && !OSSL_PARAM_set_utf8_string(p, mgf1->name))
			return 0;
	}
	return 1;
}

static int set_pad(struct sigctx *ctx, const OSSL_PARAM *p)
{
	const char *s = NULL;
	int pad = -1;
	size_t i;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		for (i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]); i++)
			if (strcmp(s, pad_names[i].name) == 0)
				pad = pad_names[i].pad;
	} else if (!OSSL_PARAM_get_int(p, &pad)) {
		return 0;
	}
	if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
		if (s != NULL)
			p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
				    "RSA signatures by the agent are PKCS#1 v1.5 or PSS, not %s",
				    s);
		else
			p11ap_raise(
			    ctx->prov, P11AP_R_UNSUPPORTED,
			    "RSA signatures by the agent are PKCS#1 v1.5 or PSS, not padding "
			    "mode %d",
			    pad);
		return 0;
	}
	ctx->pad = pad;
	return 1;
}

static int set_saltlen(struct sigctx *ctx, const OSSL_PARAM *p)
{
	const char *s;
	char *end;
	long n;
	size_t i;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		for (i = 0; i < sizeof(salt_names) / sizeof(salt_names[0]); i++) {
			if (strcmp(s, salt_names[i].name) == 0) {
				ctx->saltlen = salt_names[i].saltlen;
				return 1;
			}
		}
		n = strtol(s, &end, 10);
		if (end == s || *end != '\0')
			n = -100;
	} else {
		int v;

		if (!OSSL_PARAM_get_int(p, &v))
			return 0;
		n = v;
		if (n == RSA_PSS_SALTLEN_DIGEST || n == RSA_PSS_SALTLEN_MAX ||
		    n == RSA_PSS_SALTLEN_AUTO) {
			ctx->saltlen = (int)n;
			return 1;
		}
	}
	if (n < 0 || n > 0xffff) {
		p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
			    "RSA-PSS salt length: digest, max, auto or 0 to 65535 bytes");
		return 0;
	}
	ctx->saltlen = (int)n;
	return 1;
}

static int set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
	struct sigctx *ctx = vctx;
	const struct sig_digest *md;
	const OSSL_PARAM *p;
	const char *s;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (ctx->type == P11A_KEY_ED25519) {
			p11ap_raise(ctx->prov, P11AP_R_UNSUPPORTED,
				    "Ed25519 signs the message itself: no digest (%s) applies", s);
			return 0;
		}
		if (!find_digest(ctx, s, sign_noun(ctx), &md, NULL))
			return 0;
		if (ctx->mdctx != NULL && md != ctx->md) {
			p11ap_raise(ctx->prov, P11AP_R_BAD_INPUT,
				    "the digest cannot change once hashing has begun");
			return 0;
		}
		ctx->md = md;
	}
	if (ctx->type != P11A_KEY_RSA)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL &&
	    !set_pad(ctx, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL &&
	    !set_saltlen(ctx, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (!find_digest(ctx, s, "RSA-PSS's MGF1", &md, NULL))
			return 0;
		ctx->mgf1 = md;
	}
	return 1;
}

static const OSSL_PARAM *gettable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *rsa_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *ed25519_settable_ctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM params[] = {OSSL_PARAM_END};
	return params;
}

#define FN(id, f)                                                                                  \
	{                                                                                          \
		OSSL_FUNC_SIGNATURE_##id, (void (*)(void))(f)                                      \
	}

#define COMMON_FUNCTIONS                                                                           \
	FN(FREECTX, freectx), FN(DUPCTX, dupctx), FN(GET_CTX_PARAMS, get_ctx_params),              \
	    FN(GETTABLE_CTX_PARAMS, gettable_ctx_params), FN(SET_CTX_PARAMS, set_ctx_params)

const OSSL_DISPATCH p11ap_rsa_signature_functions[] = {
    FN(NEWCTX, rsa_newctx),
    FN(SIGN_INIT, sign_init),
    FN(SIGN, sign),
    FN(DIGEST_SIGN_INIT, digest_sign_init),
    FN(DIGEST_SIGN_UPDATE, digest_sign_update),
    FN(DIGEST_SIGN_FINAL, digest_sign_final),
    FN(SETTABLE_CTX_PARAMS, rsa_settable_ctx_params),
    COMMON_FUNCTIONS,
    {0, NULL},
};

const OSSL_DISPATCH p11ap_ecdsa_signature_functions[] = {
    FN(NEWCTX, ecdsa_newctx),
    FN(SIGN_INIT, sign_init),
    FN(SIGN, sign),
    FN(DIGEST_SIGN_INIT, digest_sign_init),
    FN(DIGEST_SIGN_UPDATE, digest_sign_update),
    FN(DIGEST_SIGN_FINAL, digest_sign_final),
    FN(SETTABLE_CTX_PARAMS, ecdsa_settable_ctx_params),
    COMMON_FUNCTIONS,
    {0, NULL},
};

const OSSL_DISPATCH p11ap_ed25519_signature_functions[] = {
    FN(NEWCTX, ed25519_newctx),
    FN(DIGEST_SIGN_INIT, ed25519_digest_sign_init),
    FN(DIGEST_SIGN, ed25519_digest_sign),
    FN(SETTABLE_CTX_PARAMS, ed25519_settable_ctx_params),
    COMMON_FUNCTIONS,
    {0, NULL},
};
