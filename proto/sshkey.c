/*
 * sshkey: OpenSSH public-key blobs, fingerprints and signature blobs. See
 * sshkey.h.
 *
 * Every byte of a blob is written and read through struct buf. What is read
 * from a peer (a session-bind host key and its signature) is parsed
 * strictly: no trailing bytes, no negative mpint, only uncompressed points,
 * and the sizes OpenSSH itself accepts.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "p11agent.h"
#include "sigfmt.h"
#include "sshkey.h"

/* RSA modulus sizes OpenSSH accepts (SSH_RSA_MINIMUM_MODULUS_SIZE, SSHBUF_MAX_BIGNUM). */
#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 16384
/* Longest field of any curve here (P-521), in bytes. */
#define EC_MAX_FIELD 66
#define ED25519_LEN 32
#define ED25519_SIG_LEN 64

/* The curves OpenSSH names: one row each, used by blobs, signatures and verification. */
static const struct sshkey_curve {
	const char *group;    /* OpenSSL's group name */
	const char *ssh;      /* OpenSSH's curve name */
	const char *key_type; /* the key and signature type */
	size_t field_len;     /* bytes of a coordinate, and of r and s */
	const char *hash;     /* the hash of the signature (RFC 5656 6.2.1) */
} curves[] = {
    {"prime256v1", "nistp256", "ecdsa-sha2-nistp256", 32, "SHA256"},
    {"secp384r1", "nistp384", "ecdsa-sha2-nistp384", 48, "SHA384"},
    {"secp521r1", "nistp521", "ecdsa-sha2-nistp521", 66, "SHA512"},
};
#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

/* The RSA signature types taken (RFC 8332); SHA-1 "ssh-rsa" is not one. */
static const struct {
	const char *name;
	const char *hash;
} rsa_sigs[] = {
    {"rsa-sha2-256", "SHA256"},
    {"rsa-sha2-512", "SHA512"},
};

/* The row of curves[] for an EC pkey, or NULL. */
static const struct sshkey_curve *curve_of_pkey(const EVP_PKEY *pkey)
{
	char group[64];
	size_t i, len = 0;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &len)) {
		ERR_clear_error();
		return NULL;
	}
	for (i = 0; i < N_CURVES; i++) {
		if (strcmp(group, curves[i].group) == 0)
			return &curves[i];
	}
	return NULL;
}

/* The row of curves[] whose key type is name[0..len), or NULL. */
static const struct sshkey_curve *curve_of_type(const uint8_t *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		if (strlen(curves[i].key_type) == len && memcmp(curves[i].key_type, name, len) == 0)
			return &curves[i];
	}
	return NULL;
}

static int is_name(const uint8_t *p, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(p, name, len) == 0;
}

/*
 * An SSH mpint (RFC 4251 5) of the non-negative big-endian p[0..len): leading
 * zero bytes dropped, one 0x00 put back before a set high bit, and zero as
 * the empty string.
 */
static int put_mpint_bytes(struct buf *b, const uint8_t *p, size_t len)
{
	int r;

	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > 0 && (p[0] & 0x80) != 0) {
		if (len > UINT32_MAX - 1)
			return P11A_ERR_TOO_LARGE;
		if ((r = buf_put_u32(b, (uint32_t)(len + 1))) != P11A_OK ||
		    (r = buf_put_u8(b, 0)) != P11A_OK)
			return r;
		return buf_put(b, p, len);
	}
	return buf_put_string(b, p, len);
}

static int put_mpint_bn(struct buf *b, const BIGNUM *bn)
{
	uint8_t *p;
	int n = BN_num_bytes(bn), r;

	if ((p = malloc((size_t)n + 1)) == NULL)
		return P11A_ERR_NOMEM;
	BN_bn2bin(bn, p);
	r = put_mpint_bytes(b, p, (size_t)n);
	free(p);
	return r;
}

/*
 * Reads an mpint that must be non-negative and at most max_len + 1 bytes (a
 * 0x00 before max_len bytes); its magnitude, leading zeros dropped, must fit
 * in max_len. minimal: the mpint must also be the shortest form (a key's
 * blob then has one encoding only, so comparing blobs compares keys).
 * *out_p, *out_len: the magnitude (zero is the empty string).
 */
static int get_mpint(struct buf *b, size_t max_len, int minimal, const uint8_t **out_p,
		     size_t *out_len)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(b, max_len + 1, &p, &len) != P11A_OK)
		return P11A_ERR_BAD_INPUT;
	if (len > 0 && (p[0] & 0x80) != 0)
		return P11A_ERR_BAD_INPUT; /* negative */
	if (minimal && len > 0 && p[0] == 0 && (len == 1 || (p[1] & 0x80) == 0))
		return P11A_ERR_BAD_INPUT; /* a 0x00 not needed */
	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > max_len)
		return P11A_ERR_BAD_INPUT;
	*out_p = p;
	*out_len = len;
	return P11A_OK;
}

/* Copies a writer's bytes to a fresh malloc'd block. */
static int take_bytes(const struct buf *b, uint8_t **out, size_t *out_len)
{
	uint8_t *p;
	size_t len = buf_len(b);

	if ((p = malloc(len == 0 ? 1 : len)) == NULL)
		return P11A_ERR_NOMEM;
	memcpy(p, buf_data(b), len);
	*out = p;
	*out_len = len;
	return P11A_OK;
}

static int blob_rsa(EVP_PKEY *pkey, struct buf *b, char *msg, size_t msg_len)
{
	BIGNUM *n = NULL, *e = NULL;
	int r = P11A_ERR_CRYPTO;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
		snprintf(msg, msg_len, "cannot read the RSA public key");
		goto out;
	}
	if ((r = buf_put_cstring(b, "ssh-rsa")) != P11A_OK || (r = put_mpint_bn(b, e)) != P11A_OK ||
	    (r = put_mpint_bn(b, n)) != P11A_OK)
		snprintf(msg, msg_len, "out of memory");
out:
	BN_free(n);
	BN_free(e);
	return r;
}

static int blob_ec(EVP_PKEY *pkey, struct buf *b, const char **type, char *msg, size_t msg_len)
{
	const struct sshkey_curve *c = curve_of_pkey(pkey);
	uint8_t point[1 + 2 * EC_MAX_FIELD];
	size_t len = 0;
	int r;

	if (c == NULL) {
		snprintf(msg, msg_len, "OpenSSH has no name for this key's curve");
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
					     sizeof(point), &len)) {
		snprintf(msg, msg_len, "cannot read the EC public point");
		return P11A_ERR_CRYPTO;
	}
	if ((r = buf_put_cstring(b, c->key_type)) != P11A_OK ||
	    (r = buf_put_cstring(b, c->ssh)) != P11A_OK ||
	    (r = buf_put_string(b, point, len)) != P11A_OK) {
		snprintf(msg, msg_len, "out of memory");
		return r;
	}
	*type = c->key_type;
	return P11A_OK;
}

static int blob_ed25519(EVP_PKEY *pkey, struct buf *b, char *msg, size_t msg_len)
{
	uint8_t raw[ED25519_LEN];
	size_t len = sizeof(raw);
	int r;

	if (!EVP_PKEY_get_raw_public_key(pkey, raw, &len) || len != sizeof(raw)) {
		snprintf(msg, msg_len, "cannot read the Ed25519 public key");
		return P11A_ERR_CRYPTO;
	}
	if ((r = buf_put_cstring(b, "ssh-ed25519")) != P11A_OK ||
	    (r = buf_put_string(b, raw, len)) != P11A_OK)
		snprintf(msg, msg_len, "out of memory");
	return r;
}

int sshkey_blob(EVP_PKEY *pkey, uint8_t **out, size_t *out_len, char type[SSHKEY_TYPE_LEN],
		char *msg, size_t msg_len)
{
	struct buf *b = NULL;
	const char *t = NULL;
	int r = P11A_ERR_NOMEM;

	if ((b = buf_new(0)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		t = "ssh-rsa";
		r = blob_rsa(pkey, b, msg, msg_len);
		break;
	case EVP_PKEY_EC:
		r = blob_ec(pkey, b, &t, msg, msg_len);
		break;
	case EVP_PKEY_ED25519:
		t = "ssh-ed25519";
		r = blob_ed25519(pkey, b, msg, msg_len);
		break;
	default:
		snprintf(msg, msg_len, "OpenSSH has no format for this kind of key");
		r = P11A_ERR_NOT_SUPPORTED;
		break;
	}
	if (r != P11A_OK)
		goto out;
	if ((r = take_bytes(b, out, out_len)) != P11A_OK) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (type != NULL)
		snprintf(type, SSHKEY_TYPE_LEN, "%s", t);
out:
	ERR_clear_error();
	buf_free(b);
	/* Only NOT_SUPPORTED, CRYPTO and NOMEM leave here; a full buffer is memory too. */
	return r == P11A_ERR_TOO_LARGE ? P11A_ERR_NOMEM : r;
}

int sshkey_blob_from_spki(const uint8_t *spki, size_t spki_len, uint8_t **out, size_t *out_len,
			  char type[SSHKEY_TYPE_LEN], char *msg, size_t msg_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey = NULL;
	int r;

	if (spki_len == 0 || spki_len > BUF_MAX_SIZE ||
	    (pkey = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL || p != spki + spki_len) {
		ERR_clear_error();
		EVP_PKEY_free(pkey);
		snprintf(msg, msg_len, "OpenSSL cannot read the public key (SubjectPublicKeyInfo)");
		return P11A_ERR_CRYPTO;
	}
	r = sshkey_blob(pkey, out, out_len, type, msg, msg_len);
	EVP_PKEY_free(pkey);
	return r;
}

/* An EVP_PKEY from OSSL_PARAMs built by bld (key type name "RSA", "EC", ...). */
static int pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld, EVP_PKEY **out_pkey)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	int r = P11A_ERR_BAD_INPUT;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	/*
	 * An EC point must be on the curve and not the point at infinity. RSA
	 * is not checked so: OpenSSL's check is SP 800-56B's, which refuses
	 * exponents OpenSSH takes (3, say); rsa_from_blob checks what matters.
	 */
	if (strcmp(name, "EC") == 0 &&
	    ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	     EVP_PKEY_public_check(check) <= 0))
		goto out;
	*out_pkey = pkey;
	pkey = NULL;
	r = P11A_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return r;
}

static int rsa_from_blob(struct buf *b, EVP_PKEY **out_pkey)
{
	const uint8_t *e, *n;
	size_t e_len, n_len;
	BIGNUM *bn_e = NULL, *bn_n = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int r = P11A_ERR_BAD_INPUT;

	if (get_mpint(b, RSA_MAX_BITS / 8, 1, &e, &e_len) != P11A_OK ||
	    get_mpint(b, RSA_MAX_BITS / 8, 1, &n, &n_len) != P11A_OK || buf_avail(b) != 0)
		goto out;
	/*
	 * An even, tiny or huge exponent (over 64 bits: each check with it would
	 * cost as much as the client likes), or a short modulus, is no key
	 * OpenSSH would use.
	 */
	if (e_len == 0 || e_len > 8 || (e[e_len - 1] & 1) == 0 || (e_len == 1 && e[0] < 3) ||
	    n_len < RSA_MIN_BITS / 8 || (n[n_len - 1] & 1) == 0)
		goto out;
	r = P11A_ERR_NOMEM;
	if ((bn_e = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	if (BN_num_bits(bn_n) < RSA_MIN_BITS) {
		r = P11A_ERR_BAD_INPUT;
		goto out;
	}
	r = pkey_fromdata("RSA", bld, out_pkey);
out:
	ERR_clear_error();
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_e);
	BN_free(bn_n);
	return r;
}

static int ec_from_blob(struct buf *b, const struct sshkey_curve *c, EVP_PKEY **out_pkey)
{
	const uint8_t *name, *point;
	size_t name_len, point_len;
	OSSL_PARAM_BLD *bld = NULL;
	int r;

	if (buf_get_string_direct(b, SSHKEY_TYPE_LEN, &name, &name_len) != P11A_OK ||
	    !is_name(name, name_len, c->ssh) ||
	    buf_get_string_direct(b, 1 + 2 * c->field_len, &point, &point_len) != P11A_OK ||
	    buf_avail(b) != 0)
		return P11A_ERR_BAD_INPUT;
	/* Only the uncompressed form, as OpenSSH writes it. */
	if (point_len != 1 + 2 * c->field_len || point[0] != 0x04)
		return P11A_ERR_BAD_INPUT;
	r = P11A_ERR_NOMEM;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len))
		goto out;
	r = pkey_fromdata("EC", bld, out_pkey);
out:
	ERR_clear_error();
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int ed25519_from_blob(struct buf *b, EVP_PKEY **out_pkey)
{
	const uint8_t *raw;
	size_t len;
	EVP_PKEY *pkey;

	if (buf_get_string_direct(b, ED25519_LEN, &raw, &len) != P11A_OK || len != ED25519_LEN ||
	    buf_avail(b) != 0)
		return P11A_ERR_BAD_INPUT;
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len)) == NULL) {
		ERR_clear_error();
		return P11A_ERR_BAD_INPUT;
	}
	*out_pkey = pkey;
	return P11A_OK;
}

int sshkey_from_blob(const uint8_t *blob, size_t len, EVP_PKEY **out_pkey)
{
	struct buf b;
	const uint8_t *type;
	size_t type_len;
	const struct sshkey_curve *c;

	buf_view(&b, blob, len);
	if (buf_get_string_direct(&b, SSHKEY_TYPE_LEN, &type, &type_len) != P11A_OK)
		return P11A_ERR_BAD_INPUT;
	if (is_name(type, type_len, "ssh-rsa"))
		return rsa_from_blob(&b, out_pkey);
	if (is_name(type, type_len, "ssh-ed25519"))
		return ed25519_from_blob(&b, out_pkey);
	if ((c = curve_of_type(type, type_len)) != NULL)
		return ec_from_blob(&b, c, out_pkey);
	return P11A_ERR_BAD_INPUT;
}

void sshkey_fingerprint(const uint8_t *blob, size_t len, char out[SSHKEY_FP_LEN])
{
	uint8_t md[32];
	char b64[48];
	size_t n;

	if (EVP_Digest(blob, len, md, NULL, EVP_sha256(), NULL) != 1) {
		ERR_clear_error();
		out[0] = '\0'; /* documented: OpenSSL could not hash */
		return;
	}
	/* Base64 of 32 bytes is 44 characters, the last one '=': OpenSSH drops it. */
	EVP_EncodeBlock((unsigned char *)b64, md, (int)sizeof(md));
	n = strcspn(b64, "=");
	snprintf(out, SSHKEY_FP_LEN, "SHA256:%.*s", (int)n, b64);
}

int sshkey_sig_blob(const char *sig_type, const uint8_t *sig, size_t sig_len, uint8_t **out,
		    size_t *out_len)
{
	const struct sshkey_curve *c = curve_of_type((const uint8_t *)sig_type, strlen(sig_type));
	struct buf *b = NULL, *inner = NULL;
	size_t i, half;
	int r = P11A_ERR_BAD_INPUT;

	if (c != NULL) {
		half = c->field_len;
		if (sig_len != 2 * half)
			return P11A_ERR_BAD_INPUT;
		/*
		 * A zero r or s is never a valid ECDSA signature (both are in
		 * [1, n-1]): a token that gives one is broken, so it is refused
		 * here rather than sent as an empty mpint for the server to reject.
		 */
		for (i = 0; i < half && sig[i] == 0; i++)
			;
		if (i == half)
			return P11A_ERR_BAD_INPUT;
		for (i = 0; i < half && sig[half + i] == 0; i++)
			;
		if (i == half)
			return P11A_ERR_BAD_INPUT;
	} else if (strcmp(sig_type, "ssh-ed25519") == 0) {
		if (sig_len != ED25519_SIG_LEN)
			return P11A_ERR_BAD_INPUT;
	} else if (strcmp(sig_type, rsa_sigs[0].name) == 0 ||
		   strcmp(sig_type, rsa_sigs[1].name) == 0) {
		if (sig_len == 0 || sig_len > RSA_MAX_BITS / 8)
			return P11A_ERR_BAD_INPUT;
	} else {
		return P11A_ERR_BAD_INPUT;
	}

	r = P11A_ERR_NOMEM;
	if ((b = buf_new(0)) == NULL || buf_put_cstring(b, sig_type) != P11A_OK)
		goto out;
	if (c != NULL) {
		if ((inner = buf_new(0)) == NULL || put_mpint_bytes(inner, sig, half) != P11A_OK ||
		    put_mpint_bytes(inner, sig + half, half) != P11A_OK ||
		    buf_put_string(b, buf_data(inner), buf_len(inner)) != P11A_OK)
			goto out;
	} else if (buf_put_string(b, sig, sig_len) != P11A_OK) {
		goto out;
	}
	r = take_bytes(b, out, out_len);
out:
	buf_free(inner);
	buf_free(b);
	return r;
}

/*
 * ECDSA's inner signature, string(mpint r || mpint s), to the DER OpenSSL
 * verifies. *out_der is NULL (and P11A_OK) when it is malformed.
 */
static int ecdsa_sig_der(const struct sshkey_curve *c, const uint8_t *p, size_t len,
			 uint8_t **out_der, size_t *out_der_len)
{
	struct buf b;
	const uint8_t *r, *s;
	size_t r_len, s_len, half = c->field_len;
	uint8_t raw[2 * EC_MAX_FIELD];
	int rv;

	*out_der = NULL;
	buf_view(&b, p, len);
	if (get_mpint(&b, half, 0, &r, &r_len) != P11A_OK ||
	    get_mpint(&b, half, 0, &s, &s_len) != P11A_OK || buf_avail(&b) != 0)
		return P11A_OK;
	memset(raw, 0, sizeof(raw));
	memcpy(raw + half - r_len, r, r_len);
	memcpy(raw + 2 * half - s_len, s, s_len);
	rv = sigfmt_ecdsa_raw_to_der(raw, 2 * half, out_der, out_der_len);
	if (rv == P11A_ERR_BAD_INPUT) {
		*out_der = NULL;
		return P11A_OK;
	}
	return rv == P11A_OK ? P11A_OK : P11A_ERR_NOMEM;
}

int sshkey_verify(EVP_PKEY *pkey, const uint8_t *sig_blob, size_t sig_len, const uint8_t *data,
		  size_t data_len)
{
	struct buf b;
	const uint8_t *type, *sig;
	size_t type_len, len, i, der_len = 0;
	const struct sshkey_curve *c = NULL;
	const char *hash = NULL;
	uint8_t *der = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r = P11A_ERR_BAD_INPUT;

	buf_view(&b, sig_blob, sig_len);
	if (buf_get_string_direct(&b, SSHKEY_TYPE_LEN, &type, &type_len) != P11A_OK ||
	    buf_get_string_direct(&b, buf_avail(&b), &sig, &len) != P11A_OK || buf_avail(&b) != 0)
		goto out;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		for (i = 0; i < sizeof(rsa_sigs) / sizeof(rsa_sigs[0]); i++) {
			if (is_name(type, type_len, rsa_sigs[i].name))
				hash = rsa_sigs[i].hash;
		}
		if (hash == NULL || len == 0 || len > (size_t)EVP_PKEY_get_size(pkey))
			goto out;
		break;
	case EVP_PKEY_EC:
		if ((c = curve_of_pkey(pkey)) == NULL || !is_name(type, type_len, c->key_type))
			goto out;
		hash = c->hash;
		if ((r = ecdsa_sig_der(c, sig, len, &der, &der_len)) != P11A_OK)
			goto out;
		r = P11A_ERR_BAD_INPUT;
		if (der == NULL)
			goto out;
		sig = der;
		len = der_len;
		break;
	case EVP_PKEY_ED25519:
		if (!is_name(type, type_len, "ssh-ed25519") || len != ED25519_SIG_LEN)
			goto out;
		break;
	default:
		goto out;
	}

	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, hash, NULL, NULL, pkey, NULL) <= 0)
		goto out;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (EVP_DigestVerify(mctx, sig, len, data, data_len) == 1)
		r = P11A_OK;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	free(der);
	return r;
}
