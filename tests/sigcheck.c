/*
 * sigcheck: OpenSSL's verdict on a signature the agent made.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <string.h>

#include <openssl/rsa.h>

#include "sigcheck.h"

int sigcheck_verify(EVP_PKEY *pub, const struct p11a_alg_info *ai, const uint8_t *msg,
		    size_t msg_len, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (md == NULL || EVP_DigestVerifyInit(
			      md, &pctx, ai->hash != NULL ? EVP_get_digestbyname(ai->hash) : NULL,
			      NULL, pub) != 1)
		goto out;
	if (strncmp(ai->name, "rsa-pss", 7) == 0 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	ok = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;
out:
	EVP_MD_CTX_free(md);
	return ok;
}
