/*
 * pkey: local public-key work with OpenSSL. See pkey.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "io.h"
#include "pkey.h"
#include "sigfmt.h"
#include "sshkey.h"

/* Bytes hashed per read when streaming an input. */
#define CHUNK (64 * 1024)

int cli_pkey_from_der(const uint8_t *der, size_t der_len, EVP_PKEY **out_pkey, char *msg,
		      size_t msg_len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
	if (pkey == NULL || p != der + der_len) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		snprintf(msg, msg_len, "the agent sent a public key OpenSSL cannot read");
		return P11A_ERR_PROTOCOL;
	}
	*out_pkey = pkey;
	return P11A_OK;
}

/* Whether der[0..len) is one whole SubjectPublicKeyInfo (its key need not decode). */
static int is_spki(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_PUBKEY *x;
	int ok;

	if (len == 0 || len > LONG_MAX)
		return 0;
	x = d2i_X509_PUBKEY(NULL, &p, (long)len);
	ok = x != NULL && p == der + len;
	X509_PUBKEY_free(x);
	return ok;
}

int cli_pkey_spki_der(const uint8_t *in, size_t in_len, uint8_t **out_der, size_t *out_len)
{
	BIO *bio = NULL;
	unsigned char *pem_der = NULL;
	char *name = NULL;
	const uint8_t *der = in;
	long pem_len = 0;
	size_t len = in_len;
	uint8_t *copy;
	int r = P11A_ERR_BAD_INPUT;

	if (memmem(in, in_len, "-----BEGIN ", 11) != NULL) {
		if (in_len > INT_MAX || (bio = BIO_new_mem_buf(in, (int)in_len)) == NULL) {
			r = P11A_ERR_NOMEM;
			goto out;
		}
		/* The first "PUBLIC KEY" block; blocks of other names are skipped. */
		if (!PEM_bytes_read_bio(&pem_der, &pem_len, &name, PEM_STRING_PUBLIC, bio, NULL,
					NULL))
			goto out;
		der = pem_der;
		len = (size_t)pem_len;
	}
	if (!is_spki(der, len))
		goto out;
	if ((copy = malloc(len)) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, der, len);
	*out_der = copy;
	*out_len = len;
	r = P11A_OK;
out:
	ERR_clear_error();
	OPENSSL_free(pem_der);
	OPENSSL_free(name);
	BIO_free(bio);
	return r;
}

p11a_key_type cli_pkey_type(const EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		return P11A_KEY_RSA;
	case EVP_PKEY_EC:
		return P11A_KEY_EC;
	case EVP_PKEY_ED25519:
		return P11A_KEY_ED25519;
	default:
		return P11A_KEY_UNKNOWN;
	}
}

int cli_pkey_pem(EVP_PKEY *pkey, char **out, size_t *out_len, char *msg, size_t msg_len)
{
	BIO *bio = NULL;
	char *pem = NULL, *p;
	long len;
	int r = P11A_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_PUBKEY(bio, pkey)) {
		snprintf(msg, msg_len, "cannot write the public key as PEM");
		goto out;
	}
	len = BIO_get_mem_data(bio, &p);
	if (len <= 0 || (pem = malloc((size_t)len + 1)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		r = P11A_ERR_NOMEM;
		goto out;
	}
	memcpy(pem, p, (size_t)len);
	pem[len] = '\0';
	*out = pem;
	*out_len = (size_t)len;
	pem = NULL;
	r = P11A_OK;
out:
	ERR_clear_error();
	free(pem);
	BIO_free(bio);
	return r;
}

int cli_pkey_ssh_fingerprint(EVP_PKEY *pkey, char out[CLI_SSH_FP_LEN], char *msg, size_t msg_len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char fp[SSHKEY_FP_LEN];
	int r;

	if ((r = sshkey_blob(pkey, &blob, &blob_len, NULL, msg, msg_len)) != P11A_OK)
		return r;
	sshkey_fingerprint(blob, blob_len, fp);
	free(blob);
	if (fp[0] == '\0') {
		snprintf(msg, msg_len, "cannot hash the public key");
		return P11A_ERR_CRYPTO;
	}
	snprintf(out, CLI_SSH_FP_LEN, "%s", fp);
	return P11A_OK;
}

int cli_pkey_ssh(EVP_PKEY *pkey, const char *comment, char **out, size_t *out_len, char *msg,
		 size_t msg_len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char type[SSHKEY_TYPE_LEN];
	char *line = NULL, *p;
	size_t b64_len, clen = comment != NULL ? strlen(comment) : 0, i;
	int r;

	if ((r = sshkey_blob(pkey, &blob, &blob_len, type, msg, msg_len)) != P11A_OK)
		goto out;
	b64_len = 4 * ((blob_len + 2) / 3);
	/* "type base64 comment\n" */
	line = malloc(strlen(type) + 1 + b64_len + 1 + clen + 2);
	if (line == NULL) {
		snprintf(msg, msg_len, "out of memory");
		r = P11A_ERR_NOMEM;
		goto out;
	}
	p = line + sprintf(line, "%s ", type);
	p += EVP_EncodeBlock((unsigned char *)p, blob, (int)blob_len);
	if (clen > 0) {
		*p++ = ' ';
		for (i = 0; i < clen; i++) {
			unsigned char ch = (unsigned char)comment[i];
			*p++ = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
	}
	*p++ = '\n';
	*p = '\0';
	*out = line;
	*out_len = (size_t)(p - line);
	line = NULL;
	r = P11A_OK;
out:
	free(line);
	free(blob);
	return r;
}

static int fetch_md(const char *hash, EVP_MD **out_md, char *msg, size_t msg_len)
{
	EVP_MD *md = EVP_MD_fetch(NULL, hash, NULL);

	if (md == NULL) {
		ERR_clear_error();
		snprintf(msg, msg_len, "OpenSSL offers no %s", hash);
		return P11A_ERR_CRYPTO;
	}
	*out_md = md;
	return P11A_OK;
}

int cli_digest_input(const char *hash, const uint8_t *head, size_t head_len, struct cli_input *in,
		     uint8_t *out, size_t *out_len, char *msg, size_t msg_len)
{
	EVP_MD *md = NULL;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *chunk = NULL;
	unsigned int len = 0;
	size_t n;
	int r;

	if ((r = fetch_md(hash, &md, msg, msg_len)) != P11A_OK)
		goto out;
	r = P11A_ERR_NOMEM;
	if ((ctx = EVP_MD_CTX_new()) == NULL || (chunk = malloc(CHUNK)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	r = P11A_ERR_CRYPTO;
	if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, head, head_len)) {
		snprintf(msg, msg_len, "cannot hash with %s", hash);
		goto out;
	}
	for (;;) {
		if (cli_input_next(in, chunk, CHUNK, &n, msg, msg_len) != 0) {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, chunk, n)) {
			snprintf(msg, msg_len, "cannot hash with %s", hash);
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, out, &len)) {
		snprintf(msg, msg_len, "cannot hash with %s", hash);
		goto out;
	}
	*out_len = len;
	r = P11A_OK;
out:
	ERR_clear_error();
	free(chunk);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return r;
}

/* RSA padding for alg on a verify context (PKCS#1 v1.5, or PSS with salt = hash length). */
static int set_padding(EVP_PKEY_CTX *pctx, const struct p11a_alg_info *alg, const EVP_MD *md)
{
	int pss = alg->alg == P11A_ALG_RSA_PSS_SHA256 || alg->alg == P11A_ALG_RSA_PSS_SHA384 ||
		  alg->alg == P11A_ALG_RSA_PSS_SHA512;

	if (alg->key_type != P11A_KEY_RSA)
		return 1;
	if (!pss)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
}

/*
 * ECDSA r||s to DER (free() *out_der). A raw signature of the wrong length
 * for the key is not an error: *out_der stays NULL and the signature is
 * simply invalid.
 */
static int ecdsa_raw_to_der(const EVP_PKEY *pkey, const uint8_t *raw, size_t raw_len,
			    uint8_t **out_der, size_t *out_len)
{
	size_t half = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	int r;

	*out_der = NULL;
	if (raw_len != 2 * half)
		return P11A_OK;
	r = sigfmt_ecdsa_raw_to_der(raw, raw_len, out_der, out_len);
	if (r == P11A_ERR_BAD_INPUT)
		return P11A_OK; /* a length sigfmt does not take: still just invalid */
	return r == P11A_OK ? P11A_OK : P11A_ERR_NOMEM;
}

int cli_pkey_verify(EVP_PKEY *pkey, const struct p11a_alg_info *alg, int raw, const uint8_t *sig,
		    size_t sig_len, const uint8_t *tbs, size_t tbs_len, int *out_valid, char *msg,
		    size_t msg_len)
{
	EVP_MD *md = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	p11a_key_type type = cli_pkey_type(pkey);
	int rv, r = P11A_ERR_CRYPTO;

	if (alg->key_type != type) {
		snprintf(msg, msg_len, "%s needs a key of type %s; this key is of type %s",
			 alg->name, p11a_key_type_name(alg->key_type), p11a_key_type_name(type));
		r = P11A_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (raw && type == P11A_KEY_EC) {
		if ((r = ecdsa_raw_to_der(pkey, sig, sig_len, &der, &der_len)) != P11A_OK) {
			snprintf(msg, msg_len, "out of memory");
			goto out;
		}
		if (der == NULL) {
			*out_valid = 0; /* not even the right length */
			r = P11A_OK;
			goto out;
		}
		sig = der;
		sig_len = der_len;
		r = P11A_ERR_CRYPTO;
	}

	if (type == P11A_KEY_ED25519) {
		/* Pure Ed25519 needs the whole message at once: the caller read it all. */
		if ((mctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) <= 0) {
			snprintf(msg, msg_len, "OpenSSL cannot verify %s", alg->name);
			goto out;
		}
		rv = EVP_DigestVerify(mctx, sig, sig_len, tbs, tbs_len);
	} else {
		if ((r = fetch_md(alg->hash, &md, msg, msg_len)) != P11A_OK)
			goto out;
		r = P11A_ERR_CRYPTO;
		if (tbs_len != alg->digest_len) {
			snprintf(msg, msg_len, "%s wants a %zu-byte %s digest, not %zu bytes",
				 alg->name, alg->digest_len, alg->hash, tbs_len);
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
		    EVP_PKEY_verify_init(pctx) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0 || !set_padding(pctx, alg, md)) {
			snprintf(msg, msg_len, "OpenSSL cannot verify %s", alg->name);
			goto out;
		}
		rv = EVP_PKEY_verify(pctx, sig, sig_len, tbs, tbs_len);
	}
	*out_valid = rv == 1;
	r = P11A_OK;
out:
	ERR_clear_error();
	free(der);
	EVP_PKEY_CTX_free(pctx);
	EVP_MD_CTX_free(mctx);
	EVP_MD_free(md);
	return r;
}
