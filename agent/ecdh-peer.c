/*
 * ecdh-peer: a peer's EC public key for ECDH, checked before the token sees it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "ecdh-peer.h"

static const struct peer_curve {
	const char *name; /* as token_key.curve */
	int nid;
	size_t field_len;
} curves[] = {
    {"P-256", NID_X9_62_prime256v1, 32},
    {"P-384", NID_secp384r1, 48},
    {"P-521", NID_secp521r1, 66},
};

static const struct peer_curve *curve_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].name, name) == 0)
			return &curves[i];
	return NULL;
}

/* How to name the curve nid in a message. */
static const char *curve_name(int nid)
{
	size_t i;
	const char *sn;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].nid == nid)
			return curves[i].name;
	return nid != NID_undef && (sn = OBJ_nid2sn(nid)) != NULL ? sn : "an unknown curve";
}

/* The peer's algorithm and curve, checked against c. */
static int check_params(const X509_PUBKEY *xpk, const struct peer_curve *c, char *msg,
			size_t msg_len)
{
	const ASN1_OBJECT *oid;
	const X509_ALGOR *palg;
	const void *pval;
	int ptype, nid;

	if (X509_PUBKEY_get0_param(NULL, NULL, NULL, (X509_ALGOR **)&palg, xpk) != 1) {
		snprintf(msg, msg_len, "peer: not a DER SubjectPublicKeyInfo");
		return P11A_ERR_BAD_INPUT;
	}
	X509_ALGOR_get0(&oid, &ptype, &pval, palg);
	if ((nid = OBJ_obj2nid(oid)) != NID_X9_62_id_ecPublicKey) {
		snprintf(msg, msg_len, "peer: not an EC public key (%s)",
			 nid != NID_undef ? OBJ_nid2sn(nid) : "unknown algorithm");
		return P11A_ERR_BAD_INPUT;
	}
	if (ptype != V_ASN1_OBJECT) {
		snprintf(msg, msg_len, "peer: the key's curve is not named (explicit parameters)");
		return P11A_ERR_BAD_INPUT;
	}
	if ((nid = OBJ_obj2nid(pval)) != c->nid) {
		snprintf(msg, msg_len, "peer: key is on %s, this key is on %s", curve_name(nid),
			 c->name);
		return P11A_ERR_BAD_INPUT;
	}
	return P11A_OK;
}

/* Writes 04 || X || Y of pkey, each coordinate field_len bytes. */
static int put_point(EVP_PKEY *pkey, size_t field_len, uint8_t *out)
{
	BIGNUM *x = NULL, *y = NULL;
	int ok;

	ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
	     EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
	     BN_bn2binpad(x, out + 1, (int)field_len) == (int)field_len &&
	     BN_bn2binpad(y, out + 1 + field_len, (int)field_len) == (int)field_len;
	out[0] = 0x04;
	BN_free(x);
	BN_free(y);
	return ok ? 0 : -1;
}

int ecdh_peer_point(const char *curve, const uint8_t *spki, size_t spki_len,
		    uint8_t out[ECDH_POINT_MAX], size_t *out_len, char *msg, size_t msg_len)
{
	const struct peer_curve *c = curve != NULL ? curve_by_name(curve) : NULL;
	const unsigned char *p = spki;
	X509_PUBKEY *xpk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey;
	int ret = P11A_ERR_BAD_INPUT;

	if (c == NULL) {
		snprintf(msg, msg_len, "ECDH on curve '%s' is not served", curve ? curve : "");
		return P11A_ERR_INTERNAL;
	}
	/* Parsing keeps a key whose point does not decode: X509_PUBKEY_get0() tells. */
	if (spki_len == 0 || spki_len > LONG_MAX ||
	    (xpk = d2i_X509_PUBKEY(NULL, &p, (long)spki_len)) == NULL || p != spki + spki_len) {
		snprintf(msg, msg_len, "peer: not a DER SubjectPublicKeyInfo");
		goto out;
	}
	if ((ret = check_params(xpk, c, msg, msg_len)) != P11A_OK)
		goto out;
	ret = P11A_ERR_BAD_INPUT;
	if ((pkey = X509_PUBKEY_get0(xpk)) == NULL) {
		snprintf(msg, msg_len, "peer: the point is not on %s", c->name);
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	if (EVP_PKEY_public_check(ctx) != 1) {
		snprintf(msg, msg_len, "peer: the point is not a valid public key on %s", c->name);
		goto out;
	}
	if (put_point(pkey, c->field_len, out) != 0) {
		snprintf(msg, msg_len, "peer: cannot read the point");
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	*out_len = 1 + 2 * c->field_len;
	ret = P11A_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	X509_PUBKEY_free(xpk);
	ERR_clear_error();
	return ret;
}
