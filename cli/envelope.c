/*
 * envelope: CMS AuthEnvelopedData under a caller's key. See envelope.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "envelope.h"
#include "p11agent.h"

static int key_len_ok(size_t key_len)
{
	return key_len == 16 || key_len == 24 || key_len == 32;
}

/*
 * Copies what the memory BIO b holds into a fresh malloc'd buffer (never
 * NULL), then wipes the BIO's copy.
 */
static int take_mem(BIO *b, uint8_t **out, size_t *out_len, char *msg, size_t msg_len)
{
	BUF_MEM *bm = NULL;
	uint8_t *p;

	BIO_get_mem_ptr(b, &bm);
	if (bm == NULL || (p = malloc(bm->length + 1)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_NOMEM;
	}
	if (bm->length > 0)
		memcpy(p, bm->data, bm->length);
	*out = p;
	*out_len = bm->length;
	OPENSSL_cleanse(bm->data, bm->length);
	return P11A_OK;
}

int cli_seal(const uint8_t *key, size_t key_len, const uint8_t *id, size_t id_len,
	     const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, char *msg,
	     size_t msg_len)
{
	CMS_ContentInfo *cms = NULL;
	BIO *bin = NULL, *bout = NULL;
	unsigned char *kek = NULL, *kid = NULL;
	int r = P11A_ERR_CRYPTO;

	if (!key_len_ok(key_len) || id == NULL || id_len == 0) {
		snprintf(msg, msg_len,
			 "seal: the key must be 16, 24 or 32 bytes and the key id "
			 "not empty");
		r = P11A_ERR_INVALID_ARG;
		goto out;
	}
	if (in_len > CLI_ENVELOPE_MAX) {
		snprintf(msg, msg_len, "seal: the input is larger than %u bytes",
			 (unsigned)CLI_ENVELOPE_MAX);
		r = P11A_ERR_TOO_LARGE;
		goto out;
	}
	/* CMS_add0_recipient_key() takes both: they must come from OPENSSL_malloc(). */
	if ((kek = OPENSSL_malloc(key_len)) == NULL || (kid = OPENSSL_malloc(id_len)) == NULL ||
	    (bin = BIO_new_mem_buf(in_len > 0 ? in : (const uint8_t *)"", (int)in_len)) == NULL ||
	    (bout = BIO_new(BIO_s_mem())) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		r = P11A_ERR_NOMEM;
		goto out;
	}
	memcpy(kek, key, key_len);
	memcpy(kid, id, id_len);
	/* Embedded content (not detached), as CMS_encrypt() makes it. */
	if ((cms = CMS_AuthEnvelopedData_create(EVP_aes_256_gcm())) == NULL ||
	    !CMS_set_detached(cms, 0)) {
		snprintf(msg, msg_len, "seal: OpenSSL cannot make an AES-256-GCM envelope");
		goto out;
	}
	/* NID_undef: id-aes128/192/256-wrap, as the key's length says. */
	if (CMS_add0_recipient_key(cms, NID_undef, kek, key_len, kid, id_len, NULL, NULL, NULL) ==
	    NULL) {
		snprintf(msg, msg_len, "seal: OpenSSL cannot add the key's recipient");
		goto out;
	}
	kek = NULL; /* the envelope owns them now, and wipes the key when freed */
	kid = NULL;
	if (!CMS_final(cms, bin, NULL, CMS_BINARY) || i2d_CMS_bio(bout, cms) <= 0) {
		snprintf(msg, msg_len, "seal: OpenSSL cannot encrypt the input");
		goto out;
	}
	r = take_mem(bout, out, out_len, msg, msg_len);
out:
	ERR_clear_error();
	if (kek != NULL)
		OPENSSL_clear_free(kek, key_len);
	OPENSSL_free(kid);
	CMS_ContentInfo_free(cms);
	BIO_free(bin);
	BIO_free(bout);
	return r;
}

int cli_open(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len, uint8_t **out,
	     size_t *out_len, char *msg, size_t msg_len)
{
	CMS_ContentInfo *cms = NULL;
	BIO *bout = NULL;
	BUF_MEM *bm = NULL;
	ASN1_OCTET_STRING **pos;
	const unsigned char *p = in;
	int r = P11A_ERR_BAD_INPUT;

	if (!key_len_ok(key_len)) {
		snprintf(msg, msg_len, "open: the key must be 16, 24 or 32 bytes");
		r = P11A_ERR_INVALID_ARG;
		goto out;
	}
	if (in_len > CLI_ENVELOPE_MAX) {
		snprintf(msg, msg_len, "open: the envelope is larger than %u bytes",
			 (unsigned)CLI_ENVELOPE_MAX);
		r = P11A_ERR_TOO_LARGE;
		goto out;
	}
	if ((bout = BIO_new(BIO_s_secmem())) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		r = P11A_ERR_NOMEM;
		goto out;
	}
	cms = in_len > 0 ? d2i_CMS_ContentInfo(NULL, &p, (long)in_len) : NULL;
	if (cms == NULL || p != in + in_len ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_id_smime_ct_authEnvelopedData) {
		snprintf(msg, msg_len, "open: the input is not a CMS AuthEnvelopedData (DER)");
		goto out;
	}
	pos = CMS_get0_content(cms);
	if (pos == NULL || *pos == NULL) {
		snprintf(msg, msg_len, "open: the envelope holds no content (it is detached)");
		goto out;
	}
	/* No key id: the key is tried on every KEKRecipientInfo; it is lent, not kept. */
	if (!CMS_decrypt_set1_key(cms, (unsigned char *)key, key_len, NULL, 0)) {
		snprintf(msg, msg_len, "open: the key does not open this envelope");
		goto out;
	}
	/* The GCM tag is checked at the end: until then bout holds unchecked bytes. */
	if (!CMS_decrypt(cms, NULL, NULL, NULL, bout, CMS_BINARY)) {
		snprintf(msg, msg_len, "open: the envelope does not authenticate");
		goto out;
	}
	r = take_mem(bout, out, out_len, msg, msg_len);
out:
	ERR_clear_error();
	if (bout != NULL) {
		BIO_get_mem_ptr(bout, &bm);
		if (bm != NULL)
			OPENSSL_cleanse(bm->data, bm->length);
	}
	CMS_ContentInfo_free(cms);
	BIO_free(bout);
	return r;
}
