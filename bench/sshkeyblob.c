/*
 * sshkeyblob: OpenSSH key blobs and signature checks for the ssh path.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "p11agent.h"
#include "sshkeyblob.h"

/* Bounds of what is read from a signature blob. */
#define TYPE_MAX 64
#define SIG_MAX 2048 /* RSA-16384 */

/* The curves with an OpenSSH form: OpenSSL's group name, OpenSSH's, the hash. */
static const struct {
	const char *group, *ssh, *md;
} curves[] = {
    {"prime256v1", "nistp256", "SHA256"},
    {"secp384r1", "nistp384", "SHA384"},
    {"secp521r1", "nistp521", "SHA512"},
};

/* The public key of a DER SubjectPublicKeyInfo, or NULL. */
static EVP_PKEY *spki_key(const uint8_t *spki, size_t spki_len)
{
	const unsigned char *p = spki;

	return spki_len > 0x7fffffff ? NULL : d2i_PUBKEY(NULL, &p, (long)spki_len);
}

/* The curves[] row of an EC key, or -1. */
static int curve_of(EVP_PKEY *pkey)
{
	char group[64];
	size_t i;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   NULL) != 1)
		return -1;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (strcmp(curves[i].group, group) == 0)
			return (int)i;
	}
	return -1;
}

/* An SSH mpint of bn: minimal big-endian bytes, a 0 byte first when the top bit is set. */
static int put_mpint(struct buf *b, const BIGNUM *bn)
{
	uint8_t tmp[SIG_MAX + 1];
	int n = BN_num_bytes(bn);

	if (n < 0 || n > SIG_MAX)
		return -1;
	tmp[0] = 0;
	BN_bn2bin(bn, tmp + 1);
	if (n > 0 && (tmp[1] & 0x80))
		return buf_put_string(b, tmp, (size_t)n + 1) == P11A_OK ? 0 : -1;
	return buf_put_string(b, tmp + 1, (size_t)n) == P11A_OK ? 0 : -1;
}

/* The blob of pkey into b and its type into type; -1 for a key with no OpenSSH form. */
static int put_key(struct buf *b, EVP_PKEY *pkey, char type[SSHKEYBLOB_TYPE_LEN])
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t pub[160];
	size_t pub_len = 0;
	int c, ret = -1;

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
			goto out;
		snprintf(type, SSHKEYBLOB_TYPE_LEN, "ssh-rsa");
		if (buf_put_cstring(b, type) != P11A_OK || put_mpint(b, e) != 0 ||
		    put_mpint(b, n) != 0)
			goto out;
		break;
	case EVP_PKEY_EC:
		if ((c = curve_of(pkey)) < 0 ||
		    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub),
						    &pub_len) != 1 ||
		    pub_len == 0 || pub[0] != 0x04)
			goto out;
		snprintf(type, SSHKEYBLOB_TYPE_LEN, "ecdsa-sha2-%s", curves[c].ssh);
		if (buf_put_cstring(b, type) != P11A_OK ||
		    buf_put_cstring(b, curves[c].ssh) != P11A_OK ||
		    buf_put_string(b, pub, pub_len) != P11A_OK)
			goto out;
		break;
	case EVP_PKEY_ED25519:
		pub_len = sizeof(pub);
		if (EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) != 1)
			goto out;
		snprintf(type, SSHKEYBLOB_TYPE_LEN, "ssh-ed25519");
		if (buf_put_cstring(b, type) != P11A_OK || buf_put_string(b, pub, pub_len) != P11A_OK)
			goto out;
		break;
	default:
		goto out;
	}
	ret = 0;
out:
	BN_free(n);
	BN_free(e);
	return ret;
}

int sshkeyblob_from_spki(const uint8_t *spki, size_t spki_len, uint8_t **out, size_t *out_len,
			 char type[SSHKEYBLOB_TYPE_LEN], char *msg, size_t msg_len)
{
	EVP_PKEY *pkey = NULL;
	struct buf *b = NULL;
	char t[SSHKEYBLOB_TYPE_LEN];
	uint8_t *copy;
	int ret = -1;

	if ((pkey = spki_key(spki, spki_len)) == NULL) {
		snprintf(msg, msg_len, "ssh path: OpenSSL cannot read the key's public half");
		goto out;
	}
	if ((b = buf_new(0)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (put_key(b, pkey, t) != 0) {
		snprintf(msg, msg_len,
			 "ssh path: the key has no OpenSSH form (RSA, ECDSA P-256/384/521 and "
			 "Ed25519 have)");
		goto out;
	}
	if ((copy = malloc(buf_len(b))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	memcpy(copy, buf_data(b), buf_len(b));
	*out = copy;
	*out_len = buf_len(b);
	memcpy(type, t, sizeof(t));
	ret = 0;
out:
	buf_free(b);
	EVP_PKEY_free(pkey);
	return ret;
}

/* An SSH mpint as a BIGNUM (positive: no sign bit set), or NULL. */
static BIGNUM *get_mpint(struct buf *b)
{
	const uint8_t *p;
	size_t n;

	if (buf_get_string_direct(b, SIG_MAX, &p, &n) != P11A_OK || (n > 0 && (p[0] & 0x80)))
		return NULL;
	return BN_bin2bn(p, (int)n, NULL);
}

/* ECDSA's string(mpint r || mpint s) as the DER ECDSA-Sig-Value OpenSSL checks. *out malloc'd. */
static int ecdsa_der(const uint8_t *sig, size_t sig_len, uint8_t **out, size_t *out_len)
{
	struct buf b;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int len, ret = -1;

	buf_view(&b, sig, sig_len);
	if ((r = get_mpint(&b)) == NULL || (s = get_mpint(&b)) == NULL || buf_avail(&b) != 0 ||
	    (es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if ((len = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	*out = der;
	*out_len = (size_t)len;
	der = NULL;
	ret = 0;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return ret;
}

int sshkeyblob_verify(const uint8_t *spki, size_t spki_len, const char *want_type,
		      const uint8_t *sig_blob, size_t sig_len, const uint8_t *data,
		      size_t data_len, char *msg, size_t msg_len)
{
	struct buf b;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *mctx = NULL;
	const uint8_t *t, *sig;
	uint8_t *der = NULL;
	size_t t_len, s_len, der_len;
	const char *md = NULL;
	int c, ret = -1;

	buf_view(&b, sig_blob, sig_len);
	if (buf_get_string_direct(&b, TYPE_MAX, &t, &t_len) != P11A_OK ||
	    buf_get_string_direct(&b, SIG_MAX, &sig, &s_len) != P11A_OK || buf_avail(&b) != 0) {
		snprintf(msg, msg_len, "ssh path: a malformed signature blob (%zu bytes)", sig_len);
		goto out;
	}
	if (t_len != strlen(want_type) || memcmp(t, want_type, t_len) != 0) {
		snprintf(msg, msg_len, "ssh path: a signature of type '%.*s', expected %s",
			 (int)t_len, (const char *)t, want_type);
		goto out;
	}
	if ((pkey = spki_key(spki, spki_len)) == NULL || (mctx = EVP_MD_CTX_new()) == NULL) {
		snprintf(msg, msg_len, "ssh path: OpenSSL cannot read the key's public half");
		goto out;
	}
	if (strcmp(want_type, "rsa-sha2-256") == 0) {
		md = "SHA256";
	} else if (strcmp(want_type, "rsa-sha2-512") == 0) {
		md = "SHA512";
	} else if (strncmp(want_type, "ecdsa-", 6) == 0) {
		if ((c = curve_of(pkey)) < 0 || ecdsa_der(sig, s_len, &der, &der_len) != 0) {
			snprintf(msg, msg_len, "ssh path: a malformed ECDSA signature");
			goto out;
		}
		md = curves[c].md;
		sig = der;
		s_len = der_len;
	}
	if (EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestVerify(mctx, sig, s_len, data, data_len) != 1) {
		snprintf(msg, msg_len, "ssh path: the %s signature does not verify with the key",
			 want_type);
		goto out;
	}
	ret = 0;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);
	return ret;
}
