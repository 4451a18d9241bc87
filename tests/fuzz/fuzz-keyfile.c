#include "config.h"
/*
 * fuzz-keyfile: the key file decoders (proto/keyfile.c) on hostile bytes,
 * taken both as a DER body (p11a_keyfile_decode_der) and as PEM text
 * (p11a_keyfile_decode).
 *
 * Besides "no crash, no leak", it checks their promises: a failure is
 * P11A_ERR_BAD_INPUT and leaves the outputs alone; a success gives a pkcs11:
 * URI of printable ASCII no longer than a key reference and a non-empty
 * public key, which encode again into a file that decodes to the same; and
 * as only strict DER is taken, a DER body that decodes is exactly what
 * encoding its contents gives.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "p11agent.h"
#include "proto.h"

#include "fuzz.h"

/* What a decoder's outputs hold before it runs: untouched on failure. */
static char sentinel_uri[] = "untouched";
static uint8_t sentinel_spki[] = "untouched";
#define SENTINEL_LEN ((size_t)12345)

/* The DER body of the key file in pem (the encoder's output). */
static void body_of(const char *pem, size_t pem_len, unsigned char **out, long *out_len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	char *name = NULL, *header = NULL;

	FUZZ_CHECK(bio != NULL);
	FUZZ_CHECK(PEM_read_bio(bio, &name, &header, out, out_len) == 1);
	FUZZ_CHECK(strcmp(name, P11A_KEYFILE_PEM_NAME) == 0 && header[0] == '\0');
	OPENSSL_free(name);
	OPENSSL_free(header);
	BIO_free(bio);
}

/*
 * What a successful decode gave: checks it, encodes it again, decodes that.
 * der/der_len: the input when it was a DER body (NULL for PEM text).
 */
static void check_decoded(const char *uri, const uint8_t *spki, size_t spki_len, const uint8_t *der,
			  size_t der_len)
{
	size_t uri_len = strlen(uri), i, pem_len = 0, spki2_len = 0;
	char *pem = NULL, *uri2 = NULL;
	uint8_t *spki2 = NULL;
	unsigned char *body = NULL;
	long body_len = 0;

	FUZZ_CHECK(uri_len > 7 && uri_len <= PROTO_MAX_KEYREF);
	FUZZ_CHECK(strncasecmp(uri, "pkcs11:", 7) == 0);
	for (i = 0; i < uri_len; i++)
		FUZZ_CHECK(uri[i] >= 0x21 && uri[i] <= 0x7e);
	FUZZ_CHECK(spki != NULL && spki_len > 0 && spki[0] == 0x30);

	FUZZ_CHECK(p11a_keyfile_encode(uri, spki, spki_len, &pem, &pem_len) == P11A_OK);
	FUZZ_CHECK(strlen(pem) == pem_len);
	FUZZ_CHECK(p11a_keyfile_decode(pem, pem_len, &uri2, &spki2, &spki2_len) == P11A_OK);
	FUZZ_CHECK(strcmp(uri2, uri) == 0);
	FUZZ_CHECK(spki2_len == spki_len && memcmp(spki2, spki, spki_len) == 0);
	if (der != NULL) {
		body_of(pem, pem_len, &body, &body_len);
		FUZZ_CHECK(body_len > 0 && (size_t)body_len == der_len &&
			   memcmp(body, der, der_len) == 0);
		OPENSSL_free(body);
	}
	p11a_free(uri2, strlen(uri2) + 1);
	p11a_free(spki2, spki2_len);
	p11a_free(pem, pem_len + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = sentinel_uri;
	uint8_t *spki = sentinel_spki;
	size_t spki_len = SENTINEL_LEN;
	int r;

	r = p11a_keyfile_decode_der(data, size, &uri, &spki, &spki_len);
	if (r == P11A_OK) {
		check_decoded(uri, spki, spki_len, data, size);
		p11a_free(uri, strlen(uri) + 1);
		p11a_free(spki, spki_len);
	} else {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT);
		FUZZ_CHECK(uri == sentinel_uri && spki == sentinel_spki &&
			   spki_len == SENTINEL_LEN);
	}

	uri = sentinel_uri;
	spki = sentinel_spki;
	spki_len = SENTINEL_LEN;
	r = p11a_keyfile_decode((const char *)data, size, &uri, &spki, &spki_len);
	if (r == P11A_OK) {
		check_decoded(uri, spki, spki_len, NULL, 0);
		p11a_free(uri, strlen(uri) + 1);
		p11a_free(spki, spki_len);
	} else {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT);
		FUZZ_CHECK(uri == sentinel_uri && spki == sentinel_spki &&
			   spki_len == SENTINEL_LEN);
	}
	return 0;
}
