/*
 * sigfmt: DigestInfo for CKM_RSA_PKCS, and ECDSA r||s <-> DER ECDSA-Sig-Value.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "p11agent.h"
#include "sigfmt.h"

/* Largest half of r||s: P-521 has 66-byte scalars. */
#define ECDSA_MAX_HALF 66

/* DER of DigestInfo up to the digest itself (RFC 8017, section 9.2, note 1). */
static const uint8_t sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t sha384_prefix[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t sha512_prefix[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
					0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const struct {
	const char *hash;
	size_t digest_len;
	const uint8_t *prefix;
	size_t prefix_len;
} digestinfos[] = {
    {"SHA256", 32, sha256_prefix, sizeof(sha256_prefix)},
    {"SHA384", 48, sha384_prefix, sizeof(sha384_prefix)},
    {"SHA512", 64, sha512_prefix, sizeof(sha512_prefix)},
};

int sigfmt_digestinfo(const char *hash, const uint8_t *digest, size_t digest_len, uint8_t *out,
		      size_t *out_len)
{
	size_t i;

	if (hash == NULL || digest == NULL)
		return P11A_ERR_BAD_INPUT;
	for (i = 0; i < sizeof(digestinfos) / sizeof(digestinfos[0]); i++) {
		if (strcasecmp(hash, digestinfos[i].hash) != 0)
			continue;
		if (digest_len != digestinfos[i].digest_len)
			return P11A_ERR_BAD_INPUT;
		memcpy(out, digestinfos[i].prefix, digestinfos[i].prefix_len);
		memcpy(out + digestinfos[i].prefix_len, digest, digest_len);
		*out_len = digestinfos[i].prefix_len + digest_len;
		return P11A_OK;
	}
	return P11A_ERR_BAD_INPUT;
}

int sigfmt_ecdsa_raw_to_der(const uint8_t *raw, size_t raw_len, uint8_t **out_der, size_t *out_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	uint8_t *copy = NULL;
	int der_len, ret = P11A_ERR_INTERNAL;
	size_t half;

	if (raw == NULL || raw_len == 0 || raw_len % 2 != 0 || raw_len > 2 * ECDSA_MAX_HALF)
		return P11A_ERR_BAD_INPUT;
	half = raw_len / 2;

	if ((r = BN_bin2bn(raw, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + half, (int)half, NULL)) == NULL || (sig = ECDSA_SIG_new()) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by sig now */
	if ((der_len = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto out;

	/* Callers free() the result: copy it out of OpenSSL's allocator. */
	if ((copy = malloc((size_t)der_len)) == NULL)
		goto out;
	memcpy(copy, der, (size_t)der_len);
	*out_der = copy;
	*out_len = (size_t)der_len;
	copy = NULL;
	ret = P11A_OK;
out:
	free(copy);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	BN_free(r);
	BN_free(s);
	return ret;
}

int sigfmt_ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t field_len, uint8_t **out_raw,
			    size_t *out_len)
{
	ECDSA_SIG *sig = NULL;
	const unsigned char *p = der;
	unsigned char *reenc = NULL;
	const BIGNUM *r, *s;
	uint8_t *raw = NULL;
	int reenc_len, ret = P11A_ERR_BAD_INPUT;

	if (der == NULL || der_len == 0 || der_len > 1024 || field_len == 0 ||
	    field_len > ECDSA_MAX_HALF)
		return P11A_ERR_BAD_INPUT;
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		goto out;
	/* Nothing after the SEQUENCE, and strict DER: it must encode back to the same bytes. */
	if ((size_t)(p - der) != der_len)
		goto out;
	if ((reenc_len = i2d_ECDSA_SIG(sig, &reenc)) <= 0 || (size_t)reenc_len != der_len ||
	    memcmp(reenc, der, der_len) != 0)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_is_negative(r) || BN_is_negative(s) || (size_t)BN_num_bytes(r) > field_len ||
	    (size_t)BN_num_bytes(s) > field_len)
		goto out;

	if ((raw = malloc(2 * field_len)) == NULL) {
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	if (BN_bn2binpad(r, raw, (int)field_len) < 0 ||
	    BN_bn2binpad(s, raw + field_len, (int)field_len) < 0) {
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	*out_raw = raw;
	*out_len = 2 * field_len;
	raw = NULL;
	ret = P11A_OK;
out:
	free(raw);
	OPENSSL_free(reenc);
	ECDSA_SIG_free(sig);
	return ret;
}
