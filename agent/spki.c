/*
 * spki: SubjectPublicKeyInfo from PKCS#11 pieces, with OpenSSL 3
 * (OSSL_PARAM_BLD + EVP_PKEY_fromdata, then i2d_PUBKEY).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "spki.h"

static const struct spki_curve curves[] = {
    {"P-256", "prime256v1", P11A_KEY_EC, 256, 32},
    {"P-384", "secp384r1", P11A_KEY_EC, 384, 48},
    {"P-521", "secp521r1", P11A_KEY_EC, 521, 66},
    {"ed25519", "ED25519", P11A_KEY_ED25519, 255, 32},
};

#define CURVE_P256 (&curves[0])
#define CURVE_P384 (&curves[1])
#define CURVE_P521 (&curves[2])
#define CURVE_ED25519 (&curves[3])

/* PrintableString "edwards25519", as SoftHSM and OpenSC write Ed25519's CKA_EC_PARAMS. */
static const uint8_t edwards25519_string[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
					      'd',  's',  '2', '5', '5', '1', '9'};
/* GnuPG's OID for Ed25519, 1.3.6.1.4.1.11591.15.1, found on some older tokens. */
static const uint8_t gnupg_ed25519_oid[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
					    0x01, 0xda, 0x47, 0x0f, 0x01};

const struct spki_curve *spki_curve_from_params(const uint8_t *params, size_t len)
{
	const unsigned char *p = params;
	ASN1_OBJECT *oid = NULL;
	const struct spki_curve *curve = NULL;

	if (params == NULL || len == 0 || len > 256)
		return NULL;
	if ((len == sizeof(edwards25519_string) && memcmp(params, edwards25519_string, len) == 0) ||
	    (len == sizeof(gnupg_ed25519_oid) && memcmp(params, gnupg_ed25519_oid, len) == 0))
		return CURVE_ED25519;
	if (params[0] != V_ASN1_OBJECT)
		return NULL;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)len)) == NULL)
		return NULL;
	if (p == params + len) {
		switch (OBJ_obj2nid(oid)) {
		case NID_X9_62_prime256v1:
			curve = CURVE_P256;
			break;
		case NID_secp384r1:
			curve = CURVE_P384;
			break;
		case NID_secp521r1:
			curve = CURVE_P521;
			break;
		case NID_ED25519:
			curve = CURVE_ED25519;
			break;
		default:
			break;
		}
	}
	ASN1_OBJECT_free(oid);
	return curve;
}

/* DER SubjectPublicKeyInfo of pkey into a malloc'd buffer. */
static int pubkey_der(EVP_PKEY *pkey, uint8_t **out_der, size_t *out_len)
{
	unsigned char *der, *p;
	int len;

	if ((len = i2d_PUBKEY(pkey, NULL)) <= 0)
		return -1;
	if ((der = malloc((size_t)len)) == NULL)
		return -1;
	p = der;
	if (i2d_PUBKEY(pkey, &p) != len) {
		free(der);
		return -1;
	}
	*out_der = der;
	*out_len = (size_t)len;
	return 0;
}

/* Builds a public EVP_PKEY of algorithm name from the parameters in bld, and its SPKI. */
static int fromdata_der(const char *name, OSSL_PARAM_BLD *bld, uint8_t **out_der, size_t *out_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	OSSL_PARAM *params = NULL;
	int ret = -1;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ret = pubkey_der(pkey, out_der, out_len);
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ret;
}

int spki_from_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, uint8_t **out_der,
		  size_t *out_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int ret = -1;

	if (n == NULL || e == NULL || n_len == 0 || e_len == 0 || n_len > 2048 || e_len > 2048)
		return -1;
	if ((bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)e_len, NULL)) == NULL)
		goto out;
	if (BN_is_zero(bn_n) || BN_is_zero(bn_e))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		goto out;
	ret = fromdata_der("RSA", bld, out_der, out_len);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return ret;
}

/* Is p[0..len) a bare point of curve: 32 bytes for Ed25519, 04|X|Y or 02/03|X for EC? */
static int is_bare_point(const struct spki_curve *curve, const uint8_t *p, size_t len)
{
	if (curve->type == P11A_KEY_ED25519)
		return len == curve->field_len;
	if (len == 1 + 2 * curve->field_len)
		return p[0] == 0x04;
	if (len == 1 + curve->field_len)
		return p[0] == 0x02 || p[0] == 0x03;
	return 0;
}

int spki_from_ec_point(const struct spki_curve *curve, const uint8_t *point, size_t point_len,
		       uint8_t **out_der, size_t *out_len)
{
	ASN1_OCTET_STRING *os = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	const unsigned char *p = point;
	const uint8_t *bare = NULL;
	size_t bare_len = 0;
	int ret = -1;

	if (curve == NULL || point == NULL || point_len == 0 || point_len > 1024)
		return -1;
	/*
	 * The lengths of the two forms never coincide on one curve, so the
	 * bare form is tried first and the DER form only when it does not fit.
	 */
	if (is_bare_point(curve, point, point_len)) {
		bare = point;
		bare_len = point_len;
	} else if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)point_len)) != NULL &&
		   p == point + point_len &&
		   is_bare_point(curve, ASN1_STRING_get0_data(os),
				 (size_t)ASN1_STRING_length(os))) {
		bare = ASN1_STRING_get0_data(os);
		bare_len = (size_t)ASN1_STRING_length(os);
	} else {
		goto out;
	}

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (curve->type == P11A_KEY_EC &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) != 1)
		goto out;
	if (OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, bare, bare_len) != 1)
		goto out;
	ret = fromdata_der(curve->type == P11A_KEY_EC ? "EC" : "ED25519", bld, out_der, out_len);
out:
	OSSL_PARAM_BLD_free(bld);
	ASN1_OCTET_STRING_free(os);
	return ret;
}

int spki_from_cert(const uint8_t *cert, size_t cert_len, p11a_key_type type,
		   const struct spki_curve *curve, uint8_t **out_der, size_t *out_len)
{
	const unsigned char *p = cert;
	X509 *x509 = NULL;
	EVP_PKEY *pkey;
	char group[64];
	int ret = -1;

	if (cert == NULL || cert_len == 0 || cert_len > 1024 * 1024)
		return -1;
	if ((x509 = d2i_X509(NULL, &p, (long)cert_len)) == NULL)
		goto out;
	if ((pkey = X509_get0_pubkey(x509)) == NULL)
		goto out;
	switch (type) {
	case P11A_KEY_RSA:
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
			goto out;
		break;
	case P11A_KEY_EC:
		if (curve == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
		    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1 ||
		    strcmp(group, curve->group) != 0)
			goto out;
		break;
	case P11A_KEY_ED25519:
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
			goto out;
		break;
	default:
		goto out;
	}
	ret = pubkey_der(pkey, out_der, out_len);
out:
	X509_free(x509);
	return ret;
}

int spki_of_cert(const uint8_t *cert, size_t cert_len, uint8_t **out_der, size_t *out_len)
{
	const unsigned char *p = cert;
	X509 *x509;
	EVP_PKEY *pkey;
	int ret = -1;

	if (cert == NULL || cert_len == 0 || cert_len > 1024 * 1024)
		return -1;
	if ((x509 = d2i_X509(NULL, &p, (long)cert_len)) == NULL)
		return -1;
	if (p == cert + cert_len && (pkey = X509_get0_pubkey(x509)) != NULL)
		ret = pubkey_der(pkey, out_der, out_len);
	X509_free(x509);
	return ret;
}
