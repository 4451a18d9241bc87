/*
 * oaep: OAEP decoding in software, over OpenSSL's constant-time routine.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

/* RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in OpenSSL 3 but has no replacement. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "oaep.h"
#include "p11agent.h"

int oaep_decode(const char *hash, const uint8_t *label, size_t label_len, const uint8_t *em,
		size_t em_len, struct secret **out_plain)
{
	struct secret *buf = NULL, *plain;
	const EVP_MD *md;
	int n, ret = P11A_ERR_INTERNAL;

	if (hash == NULL || (md = EVP_get_digestbyname(hash)) == NULL)
		return P11A_ERR_INTERNAL;
	if (em_len == 0 || em_len > INT_MAX || label_len > INT_MAX)
		return P11A_ERR_BAD_INPUT;
	/* The message is shorter than the block: room for any of it. */
	if ((buf = secret_new(em_len)) == NULL)
		return P11A_ERR_INTERNAL;
	n = RSA_padding_check_PKCS1_OAEP_mgf1(buf->p, (int)em_len, em, (int)em_len, (int)em_len,
					      label, (int)label_len, md, md);
	/* Whatever the cause, it stays here: the queue would tell one failure from another. */
	ERR_clear_error();
	if (n < 0) {
		ret = P11A_ERR_BAD_INPUT;
		goto out;
	}
	if ((plain = secret_dup(buf->p, (size_t)n)) == NULL)
		goto out;
	*out_plain = plain;
	ret = P11A_OK;
out:
	secret_free(buf);
	return ret;
}

/* Sets OAEP with hash, MGF1 with hash, and label on an encryption context. */
static int set_oaep(EVP_PKEY_CTX *ctx, const char *hash, const uint8_t *label, size_t label_len)
{
	void *copy;

	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hash, NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hash, NULL) <= 0)
		return -1;
	if (label_len == 0)
		return 0;
	if ((copy = OPENSSL_memdup(label, label_len)) == NULL)
		return -1;
	/* The context owns the copy from here on, if this succeeds. */
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)label_len) <= 0) {
		OPENSSL_free(copy);
		return -1;
	}
	return 0;
}

int oaep_encrypt(const uint8_t *spki, size_t spki_len, const char *hash, const uint8_t *label,
		 size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *ct = NULL;
	size_t ct_len = 0;
	int ret = P11A_ERR_CRYPTO;

	if (spki_len > LONG_MAX || label_len > INT_MAX ||
	    (pkey = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) <= 0 || set_oaep(ctx, hash, label, label_len) != 0 ||
	    EVP_PKEY_encrypt(ctx, NULL, &ct_len, in, in_len) <= 0 ||
	    (ct = malloc(ct_len)) == NULL || EVP_PKEY_encrypt(ctx, ct, &ct_len, in, in_len) <= 0)
		goto out;
	*out = ct;
	*out_len = ct_len;
	ct = NULL;
	ret = P11A_OK;
out:
	free(ct);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return ret;
}
