/*
 * soft: OpenSSL for the benchmark's input and for the software half of OAEP.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

/* RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in OpenSSL 3 but has no replacement. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "soft.h"

int soft_random(uint8_t *p, size_t n)
{
	return n <= INT_MAX && RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

int soft_rsa_spki(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, uint8_t **out,
		  size_t *out_len)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	unsigned char *der = NULL, *p;
	int len, ret = -1;

	if (n_len > INT_MAX || e_len > INT_MAX || (bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(e, (int)e_len, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	if ((len = i2d_PUBKEY(pkey, NULL)) <= 0 || (der = malloc((size_t)len)) == NULL)
		goto out;
	p = der;
	if (i2d_PUBKEY(pkey, &p) != len)
		goto out;
	*out = der;
	*out_len = (size_t)len;
	der = NULL;
	ret = 0;
out:
	free(der);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	ERR_clear_error();
	return ret;
}

int soft_rsa_encrypt(const uint8_t *spki, size_t spki_len, const char *hash, const uint8_t *in,
		     size_t in_len, uint8_t **out, size_t *out_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int ret = -1;

	if (spki_len > LONG_MAX || (pkey = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL ||
	    EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) <= 0)
		goto out;
	if (hash == NULL) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
			goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
		   EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hash, NULL) <= 0 ||
		   EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hash, NULL) <= 0) {
		goto out;
	}
	if (EVP_PKEY_encrypt(ctx, NULL, &ct_len, in, in_len) <= 0 ||
	    (ct = malloc(ct_len)) == NULL || EVP_PKEY_encrypt(ctx, ct, &ct_len, in, in_len) <= 0)
		goto out;
	*out = ct;
	*out_len = ct_len;
	ct = NULL;
	ret = 0;
out:
	free(ct);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}

int soft_oaep_decode(const char *hash, const uint8_t *em, size_t em_len, uint8_t *out,
		     size_t *out_len)
{
	const EVP_MD *md;
	int n;

	if ((md = EVP_get_digestbyname(hash)) == NULL || em_len == 0 || em_len > INT_MAX)
		return -1;
	n = RSA_padding_check_PKCS1_OAEP_mgf1(out, (int)em_len, em, (int)em_len, (int)em_len, NULL,
					      0, md, md);
	ERR_clear_error();
	if (n < 0)
		return -1;
	*out_len = (size_t)n;
	return 0;
}

int soft_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
