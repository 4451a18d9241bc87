/*
 * keyfile: the p11agent key file (p11agent.h, P11A_KEYFILE_PEM_NAME), a PEM
 * block whose DER body names an agent key and carries its public key:
 *   P11agentKey ::= SEQUENCE { version INTEGER (1), uri UTF8String,
 *                              publicKey SubjectPublicKeyInfo }
 *
 * OpenSSL's ASN.1 templates do the DER and its PEM code the text. Decoding is
 * strict: the body must be exactly what encoding it again gives (DER, not
 * BER, nothing after it), the version 1, the uri a pkcs11: URI of printable
 * ASCII that fits a key reference, and the public key a SubjectPublicKeyInfo.
 * The public key is checked for its form only (an algorithm identifier and a
 * bit string): these functions run inside the OpenSSL provider too, where
 * decoding a key here would call back into OpenSSL's decoders; the provider
 * decodes the key itself, in its own library context.
 *
 * These functions leave OpenSSL's error queue as they found it: their result
 * is the p11a_err they return.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "proto.h"

/* The version this code writes and reads. */
#define KEYFILE_VERSION 1
/* "pkcs11:" */
#define KEYFILE_SCHEME "pkcs11:"
#define KEYFILE_SCHEME_LEN (sizeof(KEYFILE_SCHEME) - 1)
/*
 * Largest DER body: a URI as long as a key reference (4 KiB) and the public
 * key of an RSA-16384 key (about 2 KiB) take less than half of it.
 */
#define KEYFILE_MAX_DER (16u * 1024u)

/* SubjectPublicKeyInfo, its form only: no key is decoded. */
typedef struct {
	X509_ALGOR *algorithm;
	ASN1_BIT_STRING *public_key;
} KEYFILE_SPKI;

typedef struct {
	ASN1_INTEGER *version;
	ASN1_UTF8STRING *uri;
	KEYFILE_SPKI *spki;
} KEYFILE;

/* The templates, as OpenSSL lays them out (clang-format would not). */
/* clang-format off */
ASN1_SEQUENCE(KEYFILE_SPKI) = {
	ASN1_SIMPLE(KEYFILE_SPKI, algorithm, X509_ALGOR),
	ASN1_SIMPLE(KEYFILE_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(KEYFILE_SPKI)

ASN1_SEQUENCE(KEYFILE) = {
	ASN1_SIMPLE(KEYFILE, version, ASN1_INTEGER),
	ASN1_SIMPLE(KEYFILE, uri, ASN1_UTF8STRING),
	ASN1_SIMPLE(KEYFILE, spki, KEYFILE_SPKI),
} static_ASN1_SEQUENCE_END(KEYFILE)

static int uri_ok(const char *uri, size_t len);
/* clang-format on */

/*
 * Whether uri[0..len) is a URI this format takes: "pkcs11:" (any case, as
 * URI schemes are) and more, printable ASCII only (RFC 7512 percent-encodes
 * the rest), at most a key reference long.
 */
static int uri_ok(const char *uri, size_t len)
{
	size_t i;

	if (len <= KEYFILE_SCHEME_LEN || len > PROTO_MAX_KEYREF ||
	    strncasecmp(uri, KEYFILE_SCHEME, KEYFILE_SCHEME_LEN) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (uri[i] < 0x21 || uri[i] > 0x7e)
			return 0;
	}
	return 1;
}

/*
 * Decodes der[0..der_len) as item, strictly: it must encode back to exactly
 * those bytes. *out is set only on success. 0 or -1.
 */
static int d2i_strict(const ASN1_ITEM *item, const uint8_t *der, size_t der_len, ASN1_VALUE **out)
{
	const unsigned char *p = der;
	ASN1_VALUE *v = NULL;
	unsigned char *again = NULL;
	int again_len, ret = -1;

	if (der_len == 0 || der_len > KEYFILE_MAX_DER)
		return -1;
	if ((v = ASN1_item_d2i(NULL, &p, (long)der_len, item)) == NULL ||
	    p != der + der_len) /* something after it */
		goto out;
	if ((again_len = ASN1_item_i2d(v, &again, item)) <= 0 || (size_t)again_len != der_len ||
	    memcmp(again, der, der_len) != 0)
		goto out;
	*out = v;
	v = NULL;
	ret = 0;
out:
	OPENSSL_free(again);
	ASN1_item_free(v, item);
	return ret;
}

int p11a_keyfile_encode(const char *uri, const uint8_t *spki, size_t spki_len, char **out,
			size_t *out_len)
{
	ASN1_VALUE *parsed = NULL;
	KEYFILE *kf = NULL;
	unsigned char *der = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	char *text = NULL;
	size_t text_len = 0;
	int der_len, ret = P11A_ERR_INVALID_ARG;

	if (uri == NULL || spki == NULL || out == NULL || out_len == NULL ||
	    !uri_ok(uri, strlen(uri)))
		return P11A_ERR_INVALID_ARG;
	ERR_set_mark();
	if (d2i_strict(ASN1_ITEM_rptr(KEYFILE_SPKI), spki, spki_len, &parsed) != 0)
		goto out;
	ret = P11A_ERR_NOMEM;
	if ((kf = (KEYFILE *)ASN1_item_new(ASN1_ITEM_rptr(KEYFILE))) == NULL ||
	    ASN1_INTEGER_set(kf->version, KEYFILE_VERSION) != 1 ||
	    ASN1_STRING_set(kf->uri, uri, (int)strlen(uri)) != 1)
		goto out;
	/* The parsed public key takes the place of the empty one. */
	ASN1_item_free((ASN1_VALUE *)kf->spki, ASN1_ITEM_rptr(KEYFILE_SPKI));
	kf->spki = (KEYFILE_SPKI *)parsed;
	parsed = NULL;
	if ((der_len = ASN1_item_i2d((ASN1_VALUE *)kf, &der, ASN1_ITEM_rptr(KEYFILE))) <= 0)
		goto out;
	if ((size_t)der_len > KEYFILE_MAX_DER) {
		ret = P11A_ERR_INVALID_ARG; /* more than decoding takes */
		goto out;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio(bio, P11A_KEYFILE_PEM_NAME, "", der, der_len) <= 0 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL)
		goto out;
	text_len = mem->length;
	if ((text = malloc(text_len + 1)) == NULL)
		goto out;
	memcpy(text, mem->data, text_len);
	text[text_len] = '\0';
	*out = text;
	*out_len = text_len;
	ret = P11A_OK;
out:
	BIO_free(bio);
	OPENSSL_free(der);
	ASN1_item_free((ASN1_VALUE *)kf, ASN1_ITEM_rptr(KEYFILE));
	ASN1_item_free(parsed, ASN1_ITEM_rptr(KEYFILE_SPKI));
	ERR_pop_to_mark();
	return ret;
}

int p11a_keyfile_decode_der(const uint8_t *der, size_t der_len, char **out_uri, uint8_t **out_spki,
			    size_t *out_spki_len)
{
	ASN1_VALUE *v = NULL;
	KEYFILE *kf;
	unsigned char *spki_der = NULL;
	char *uri = NULL;
	uint8_t *spki = NULL;
	const char *uri_data;
	size_t uri_len = 0;
	int spki_len = 0, ret = P11A_ERR_BAD_INPUT;
	int64_t version;

	if (out_uri == NULL || out_spki == NULL || out_spki_len == NULL)
		return P11A_ERR_INVALID_ARG;
	if (der == NULL)
		return P11A_ERR_BAD_INPUT;
	ERR_set_mark();
	if (d2i_strict(ASN1_ITEM_rptr(KEYFILE), der, der_len, &v) != 0)
		goto out;
	kf = (KEYFILE *)v;
	if (ASN1_INTEGER_get_int64(&version, kf->version) != 1 || version != KEYFILE_VERSION)
		goto out;
	uri_data = (const char *)ASN1_STRING_get0_data(kf->uri);
	uri_len = (size_t)ASN1_STRING_length(kf->uri);
	if (uri_data == NULL || !uri_ok(uri_data, uri_len))
		goto out;
	/* The SubjectPublicKeyInfo's bytes: those of the input, as the body is DER. */
	if ((spki_len = ASN1_item_i2d((ASN1_VALUE *)kf->spki, &spki_der,
				      ASN1_ITEM_rptr(KEYFILE_SPKI))) <= 0) {
		ret = P11A_ERR_NOMEM;
		goto out;
	}
	ret = P11A_ERR_NOMEM;
	if ((uri = malloc(uri_len + 1)) == NULL || (spki = malloc((size_t)spki_len)) == NULL)
		goto out;
	memcpy(uri, uri_data, uri_len);
	uri[uri_len] = '\0';
	memcpy(spki, spki_der, (size_t)spki_len);
	*out_uri = uri;
	*out_spki = spki;
	*out_spki_len = (size_t)spki_len;
	uri = NULL;
	spki = NULL;
	ret = P11A_OK;
out:
	p11a_free(uri, uri_len + 1);
	p11a_free(spki, (size_t)spki_len);
	OPENSSL_free(spki_der);
	ASN1_item_free(v, ASN1_ITEM_rptr(KEYFILE));
	ERR_pop_to_mark();
	return ret;
}

int p11a_keyfile_decode(const char *pem, size_t pem_len, char **out_uri, uint8_t **out_spki,
			size_t *out_spki_len)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	int ret = P11A_ERR_BAD_INPUT;

	if (out_uri == NULL || out_spki == NULL || out_spki_len == NULL)
		return P11A_ERR_INVALID_ARG;
	if (pem == NULL || pem_len == 0 || pem_len > INT_MAX)
		return P11A_ERR_BAD_INPUT;
	ERR_set_mark();
	if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL) {
		ret = P11A_ERR_NOMEM;
		goto out;
	}
	/* Blocks of other names (a certificate before the key) are passed over. */
	for (;;) {
		if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1)
			goto out; /* no such block, or a broken one */
		if (strcmp(name, P11A_KEYFILE_PEM_NAME) == 0)
			break;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		name = header = NULL;
		der = NULL;
	}
	/* No "Proc-Type:" or other headers: a key file is never encrypted. */
	if (header == NULL || header[0] != '\0' || der_len <= 0)
		goto out;
	ret = p11a_keyfile_decode_der(der, (size_t)der_len, out_uri, out_spki, out_spki_len);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	ERR_pop_to_mark();
	return ret;
}
