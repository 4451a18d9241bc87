/*
 * test-keyfile: the p11agent key file (proto/keyfile.c): round trips for
 * RSA, EC and Ed25519 public keys, and every way a file can be wrong: BER
 * (indefinite or long-form lengths), bytes after the DER, another version,
 * a URI that is not a pkcs11: one, a public key that is not a
 * SubjectPublicKeyInfo, another PEM name, truncated PEM, empty input.
 * Nothing here needs an agent or a token.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "proto.h"

#define URI "pkcs11:token=demo;id=%01;object=web-ecdsa;type=private"
#define PEM_BEGIN "-----BEGIN " P11A_KEYFILE_PEM_NAME "-----\n"
#define PEM_END "-----END " P11A_KEYFILE_PEM_NAME "-----\n"

/* A DER SubjectPublicKeyInfo of a fresh key. */
struct spki {
	uint8_t *der;
	size_t len;
};

/* The public keys of the group: RSA-2048, EC P-256, Ed25519. */
static struct spki rsa, ec, ed;

static void make_spki(struct spki *s, EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	int len;

	assert_non_null(pkey);
	len = i2d_PUBKEY(pkey, &der);
	assert_true(len > 0);
	s->der = der;
	s->len = (size_t)len;
	EVP_PKEY_free(pkey);
}

static int group_setup(void **state)
{
	(void)state;
	make_spki(&rsa, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	make_spki(&ec, EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	make_spki(&ed, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	OPENSSL_free(rsa.der);
	OPENSSL_free(ec.der);
	OPENSSL_free(ed.der);
	return 0;
}

/* A DER writer for hand-made files, good and bad. */
struct der {
	uint8_t p[16384];
	size_t len;
};

static void put(struct der *d, const void *p, size_t len)
{
	assert_true(d->len + len <= sizeof(d->p));
	memcpy(d->p + d->len, p, len);
	d->len += len;
}

static void put_byte(struct der *d, uint8_t b)
{
	put(d, &b, 1);
}

/* A DER length: short form below 128, else the fewest bytes. */
static void put_len(struct der *d, size_t len)
{
	if (len < 128) {
		put_byte(d, (uint8_t)len);
	} else if (len < 256) {
		put_byte(d, 0x81);
		put_byte(d, (uint8_t)len);
	} else {
		assert_true(len < 65536);
		put_byte(d, 0x82);
		put_byte(d, (uint8_t)(len >> 8));
		put_byte(d, (uint8_t)len);
	}
}

static void put_tlv(struct der *d, uint8_t tag, const void *p, size_t len)
{
	put_byte(d, tag);
	put_len(d, len);
	put(d, p, len);
}

/* The body of a key file: version's content bytes, uri with tag, spki as given. */
static void body(struct der *inner, const uint8_t *version, size_t version_len, uint8_t uri_tag,
		 const char *uri, const uint8_t *spki, size_t spki_len)
{
	inner->len = 0;
	put_tlv(inner, 0x02, version, version_len);
	put_tlv(inner, uri_tag, uri, strlen(uri));
	put(inner, spki, spki_len);
}

/* SEQUENCE { version, uri, spki } in DER. */
static void keyfile_der(struct der *out, const uint8_t *version, size_t version_len,
			uint8_t uri_tag, const char *uri, const uint8_t *spki, size_t spki_len)
{
	struct der inner;

	body(&inner, version, version_len, uri_tag, uri, spki, spki_len);
	out->len = 0;
	put_tlv(out, 0x30, inner.p, inner.len);
}

static const uint8_t v1[] = {0x01};

/* Decoding der fails with P11A_ERR_BAD_INPUT and leaves the outputs alone. */
static void assert_der_refused(const uint8_t *der, size_t der_len)
{
	char *uri = (char *)"untouched";
	uint8_t *spki = (uint8_t *)"untouched";
	size_t spki_len = 12345;

	assert_int_equal(p11a_keyfile_decode_der(der, der_len, &uri, &spki, &spki_len),
			 P11A_ERR_BAD_INPUT);
	assert_string_equal(uri, "untouched");
	assert_string_equal((const char *)spki, "untouched");
	assert_int_equal(spki_len, 12345);
	/* And the library leaves OpenSSL's error queue as it found it. */
	assert_int_equal(ERR_peek_error(), 0);
}

static void assert_pem_refused(const char *pem, size_t pem_len)
{
	char *uri = (char *)"untouched";
	uint8_t *spki = (uint8_t *)"untouched";
	size_t spki_len = 12345;

	assert_int_equal(p11a_keyfile_decode(pem, pem_len, &uri, &spki, &spki_len),
			 P11A_ERR_BAD_INPUT);
	assert_string_equal(uri, "untouched");
	assert_string_equal((const char *)spki, "untouched");
	assert_int_equal(spki_len, 12345);
	assert_int_equal(ERR_peek_error(), 0);
}

/* PEM text with name around der, made by OpenSSL; free() it. */
static char *pem_of(const char *name, const char *header, const uint8_t *der, size_t der_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *text;
	long len;

	assert_non_null(bio);
	assert_true(PEM_write_bio(bio, name, header, der, (long)der_len) > 0);
	len = BIO_get_mem_data(bio, &data);
	assert_true(len > 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	memcpy(text, data, (size_t)len);
	BIO_free(bio);
	return text;
}

/* Encodes uri and s, decodes the text both ways, checks what comes back. */
static void round_trip(const char *uri, const struct spki *s)
{
	char *pem = NULL, *got_uri = NULL;
	uint8_t *got_spki = NULL;
	size_t pem_len = 0, got_len = 0;
	BIO *bio;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;

	assert_int_equal(p11a_keyfile_encode(uri, s->der, s->len, &pem, &pem_len), P11A_OK);
	assert_int_equal(strlen(pem), pem_len);
	assert_true(strncmp(pem, PEM_BEGIN, strlen(PEM_BEGIN)) == 0);
	assert_true(pem_len > strlen(PEM_END));
	assert_string_equal(pem + pem_len - strlen(PEM_END), PEM_END);

	assert_int_equal(p11a_keyfile_decode(pem, pem_len, &got_uri, &got_spki, &got_len), P11A_OK);
	assert_string_equal(got_uri, uri);
	assert_int_equal(got_len, s->len);
	assert_memory_equal(got_spki, s->der, s->len);
	p11a_free(got_uri, strlen(got_uri) + 1);
	p11a_free(got_spki, got_len);

	/* The DER body, as OpenSSL's PEM reader gives it, decodes the same. */
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	assert_non_null(bio);
	assert_int_equal(PEM_read_bio(bio, &name, &header, &der, &der_len), 1);
	assert_string_equal(name, P11A_KEYFILE_PEM_NAME);
	assert_string_equal(header, "");
	assert_int_equal(
	    p11a_keyfile_decode_der(der, (size_t)der_len, &got_uri, &got_spki, &got_len), P11A_OK);
	assert_string_equal(got_uri, uri);
	assert_memory_equal(got_spki, s->der, s->len);
	p11a_free(got_uri, strlen(got_uri) + 1);
	p11a_free(got_spki, got_len);
	/* It is the structure of p11agent.h, byte for byte. */
	{
		struct der want;

		keyfile_der(&want, v1, sizeof(v1), 0x0c, uri, s->der, s->len);
		assert_int_equal((size_t)der_len, want.len);
		assert_memory_equal(der, want.p, want.len);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	p11a_free(pem, pem_len + 1);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_round_trip(void **state)
{
	char long_uri[PROTO_MAX_KEYREF + 1];

	(void)state;
	round_trip(URI, &rsa);
	round_trip(URI, &ec);
	round_trip(URI, &ed);
	round_trip("pkcs11:object=release%20key%2F2%3Brsa%253072;type=private", &rsa);
	/* URI schemes are case-insensitive. */
	round_trip("PKCS11:object=x", &ec);
	/* The longest URI: as long as a key reference may be. */
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	memcpy(long_uri, "pkcs11:object=", 14);
	long_uri[sizeof(long_uri) - 1] = '\0';
	round_trip(long_uri, &ed);
}

/* Blocks of other names before the key file's are passed over. */
static void test_other_blocks(void **state)
{
	char *key = NULL, *cert, *text, *uri = NULL;
	uint8_t *spki = NULL;
	size_t key_len = 0, spki_len = 0, n;

	(void)state;
	assert_int_equal(p11a_keyfile_encode(URI, ec.der, ec.len, &key, &key_len), P11A_OK);
	cert = pem_of("PUBLIC KEY", "", ed.der, ed.len);
	n = strlen(cert) + key_len + 64;
	text = malloc(n);
	assert_non_null(text);
	snprintf(text, n, "a comment\n%s\nmore words\n%s", cert, key);
	assert_int_equal(p11a_keyfile_decode(text, strlen(text), &uri, &spki, &spki_len), P11A_OK);
	assert_string_equal(uri, URI);
	assert_memory_equal(spki, ec.der, ec.len);
	p11a_free(uri, strlen(uri) + 1);
	p11a_free(spki, spki_len);
	/* Not NUL-terminated: only pem_len bytes are read. */
	assert_int_equal(p11a_keyfile_decode(key, key_len, &uri, &spki, &spki_len), P11A_OK);
	p11a_free(uri, strlen(uri) + 1);
	p11a_free(spki, spki_len);
	free(text);
	free(cert);
	p11a_free(key, key_len + 1);
}

static void test_ber_refused(void **state)
{
	struct der good, inner, bad, spki_ber;

	(void)state;
	keyfile_der(&good, v1, sizeof(v1), 0x0c, URI, ec.der, ec.len);
	{
		char *uri = NULL;
		uint8_t *spki = NULL;
		size_t spki_len = 0;

		assert_int_equal(p11a_keyfile_decode_der(good.p, good.len, &uri, &spki, &spki_len),
				 P11A_OK);
		p11a_free(uri, strlen(uri) + 1);
		p11a_free(spki, spki_len);
	}
	body(&inner, v1, sizeof(v1), 0x0c, URI, ec.der, ec.len);

	/* Indefinite length, with its end-of-contents. */
	bad.len = 0;
	put_byte(&bad, 0x30);
	put_byte(&bad, 0x80);
	put(&bad, inner.p, inner.len);
	put_byte(&bad, 0x00);
	put_byte(&bad, 0x00);
	assert_der_refused(bad.p, bad.len);

	/* A long-form length with a byte more than it needs. */
	bad.len = 0;
	put_byte(&bad, 0x30);
	put_byte(&bad, 0x83);
	put_byte(&bad, 0x00);
	put_byte(&bad, (uint8_t)(inner.len >> 8));
	put_byte(&bad, (uint8_t)inner.len);
	put(&bad, inner.p, inner.len);
	assert_der_refused(bad.p, bad.len);

	/* The version's length in long form. */
	bad.len = 0;
	{
		struct der in2 = {.len = 0};

		put_byte(&in2, 0x02);
		put_byte(&in2, 0x81);
		put_byte(&in2, 0x01);
		put_byte(&in2, 0x01);
		put_tlv(&in2, 0x0c, URI, strlen(URI));
		put(&in2, ec.der, ec.len);
		put_tlv(&bad, 0x30, in2.p, in2.len);
	}
	assert_der_refused(bad.p, bad.len);

	/* The version with a leading zero byte. */
	{
		static const uint8_t v1_padded[] = {0x00, 0x01};

		keyfile_der(&bad, v1_padded, sizeof(v1_padded), 0x0c, URI, ec.der, ec.len);
		assert_der_refused(bad.p, bad.len);
	}

	/* The public key's own length in long form (BER inside). */
	spki_ber.len = 0;
	put_byte(&spki_ber, 0x30);
	put_byte(&spki_ber, 0x82);
	put_byte(&spki_ber, 0x00);
	put_byte(&spki_ber, (uint8_t)(ec.len - 2)); /* P-256: a short-form length of 89 */
	assert_int_equal(ec.der[1], ec.len - 2);
	put(&spki_ber, ec.der + 2, ec.len - 2);
	keyfile_der(&bad, v1, sizeof(v1), 0x0c, URI, spki_ber.p, spki_ber.len);
	assert_der_refused(bad.p, bad.len);
}

static void test_trailing_refused(void **state)
{
	struct der d, inner;
	uint8_t spki_more[512];

	(void)state;
	keyfile_der(&d, v1, sizeof(v1), 0x0c, URI, ed.der, ed.len);
	put_byte(&d, 0x00);
	assert_der_refused(d.p, d.len);
	d.len--;
	put_byte(&d, 0x30); /* the start of another structure */
	assert_der_refused(d.p, d.len);

	/* An extra field inside the SEQUENCE. */
	body(&inner, v1, sizeof(v1), 0x0c, URI, ed.der, ed.len);
	put_tlv(&inner, 0x05, "", 0);
	d.len = 0;
	put_tlv(&d, 0x30, inner.p, inner.len);
	assert_der_refused(d.p, d.len);

	/* An extra byte inside the public key's SEQUENCE. */
	assert_true(ed.len < 126);
	spki_more[0] = 0x30;
	spki_more[1] = (uint8_t)(ed.der[1] + 2);
	memcpy(spki_more + 2, ed.der + 2, ed.len - 2);
	spki_more[ed.len] = 0x05;
	spki_more[ed.len + 1] = 0x00;
	keyfile_der(&d, v1, sizeof(v1), 0x0c, URI, spki_more, ed.len + 2);
	assert_der_refused(d.p, d.len);
}

static void test_version_refused(void **state)
{
	static const uint8_t v0[] = {0x00}, v2[] = {0x02}, vneg[] = {0xff},
			     vbig[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
	struct der d;

	(void)state;
	keyfile_der(&d, v0, sizeof(v0), 0x0c, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	keyfile_der(&d, v2, sizeof(v2), 0x0c, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	keyfile_der(&d, vneg, sizeof(vneg), 0x0c, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	keyfile_der(&d, vbig, sizeof(vbig), 0x0c, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	/* No version at all. */
	d.len = 0;
	{
		struct der inner = {.len = 0};

		put_tlv(&inner, 0x0c, URI, strlen(URI));
		put(&inner, ec.der, ec.len);
		put_tlv(&d, 0x30, inner.p, inner.len);
	}
	assert_der_refused(d.p, d.len);
}

static void test_uri_refused(void **state)
{
	static const char *const bad[] = {
	    "file:/etc/key.pem",
	    "pkcs11",
	    "pkcs11:",
	    "pkcs11 :object=x",
	    "pkcs11:object=web key",
	    "pkcs11:object=x\n",
	    "pkcs11:object=\x7f",
	    "pkcs11:object=\xc3\xa9",
	    " pkcs11:object=x",
	    "p11agent:web-ecdsa",
	    "",
	};
	char long_uri[PROTO_MAX_KEYREF + 2];
	char *pem = (char *)"untouched";
	size_t pem_len = 12345, i;
	struct der d;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		keyfile_der(&d, v1, sizeof(v1), 0x0c, bad[i], ec.der, ec.len);
		assert_der_refused(d.p, d.len);
		assert_int_equal(p11a_keyfile_encode(bad[i], ec.der, ec.len, &pem, &pem_len),
				 P11A_ERR_INVALID_ARG);
	}
	/* One byte longer than a key reference. */
	memset(long_uri, 'a', sizeof(long_uri) - 1);
	memcpy(long_uri, "pkcs11:object=", 14);
	long_uri[sizeof(long_uri) - 1] = '\0';
	keyfile_der(&d, v1, sizeof(v1), 0x0c, long_uri, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	assert_int_equal(p11a_keyfile_encode(long_uri, ec.der, ec.len, &pem, &pem_len),
			 P11A_ERR_INVALID_ARG);
	/* A NUL inside the UTF8String. */
	{
		struct der inner = {.len = 0};

		put_tlv(&inner, 0x02, v1, sizeof(v1));
		put_tlv(&inner, 0x0c, "pkcs11:a\0b", 10);
		put(&inner, ec.der, ec.len);
		d.len = 0;
		put_tlv(&d, 0x30, inner.p, inner.len);
		assert_der_refused(d.p, d.len);
	}
	/* The URI as another string type (IA5String, OCTET STRING). */
	keyfile_der(&d, v1, sizeof(v1), 0x16, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	keyfile_der(&d, v1, sizeof(v1), 0x04, URI, ec.der, ec.len);
	assert_der_refused(d.p, d.len);
	assert_int_equal(p11a_keyfile_encode(NULL, ec.der, ec.len, &pem, &pem_len),
			 P11A_ERR_INVALID_ARG);
	/* Outputs untouched. */
	assert_string_equal(pem, "untouched");
	assert_int_equal(pem_len, 12345);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_spki_refused(void **state)
{
	static const uint8_t not_der[] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t empty_seq[] = {0x30, 0x00};
	/* An AlgorithmIdentifier alone, without the key's bit string. */
	static const uint8_t alg_only[] = {0x30, 0x07, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
	/* An OCTET STRING where the bit string belongs. */
	static const uint8_t octets[] = {0x30, 0x0a, 0x30, 0x05, 0x06, 0x03,
					 0x2b, 0x65, 0x70, 0x04, 0x01, 0x00};
	/* A BIT STRING with non-zero unused bits (not DER). */
	static const uint8_t bits[] = {0x30, 0x0b, 0x30, 0x05, 0x06, 0x03, 0x2b,
				       0x65, 0x70, 0x03, 0x02, 0x01, 0x01};
	static const struct {
		const uint8_t *p;
		size_t len;
	} bad[] = {
	    {not_der, sizeof(not_der)},	  {empty_seq, sizeof(empty_seq)},
	    {alg_only, sizeof(alg_only)}, {octets, sizeof(octets)},
	    {bits, sizeof(bits)},	  {not_der, 0},
	};
	char *pem = (char *)"untouched";
	size_t pem_len = 12345, i;
	struct der d;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		keyfile_der(&d, v1, sizeof(v1), 0x0c, URI, bad[i].p, bad[i].len);
		assert_der_refused(d.p, d.len);
		assert_int_equal(p11a_keyfile_encode(URI, bad[i].p, bad[i].len, &pem, &pem_len),
				 P11A_ERR_INVALID_ARG);
	}
	/* The public key cut short, or with a byte after it. */
	keyfile_der(&d, v1, sizeof(v1), 0x0c, URI, rsa.der, rsa.len - 1);
	assert_der_refused(d.p, d.len);
	{
		uint8_t more[1024];

		assert_true(ec.len + 1 <= sizeof(more));
		memcpy(more, ec.der, ec.len);
		more[ec.len] = 0;
		assert_int_equal(p11a_keyfile_encode(URI, more, ec.len + 1, &pem, &pem_len),
				 P11A_ERR_INVALID_ARG);
		assert_int_equal(p11a_keyfile_encode(URI, ec.der, ec.len - 1, &pem, &pem_len),
				 P11A_ERR_INVALID_ARG);
	}
	assert_int_equal(p11a_keyfile_encode(URI, NULL, 0, &pem, &pem_len), P11A_ERR_INVALID_ARG);
	/* A well-formed public key too large for the file: refused, as decoding would. */
	{
		static uint8_t big[16384];
		size_t n = sizeof(big) - 4 - 4 - 7;

		/* SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING of n - 1 bytes } */
		big[0] = 0x30;
		big[1] = 0x82;
		big[2] = (uint8_t)((n + 4 + 7) >> 8);
		big[3] = (uint8_t)(n + 4 + 7);
		memcpy(big + 4, "\x30\x05\x06\x03\x2b\x65\x70", 7);
		big[11] = 0x03;
		big[12] = 0x82;
		big[13] = (uint8_t)(n >> 8);
		big[14] = (uint8_t)n;
		big[15] = 0x00;
		assert_int_equal(p11a_keyfile_encode(URI, big, sizeof(big), &pem, &pem_len),
				 P11A_ERR_INVALID_ARG);
	}
	assert_string_equal(pem, "untouched");
	assert_int_equal(pem_len, 12345);
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_pem_refused(void **state)
{
	char *good = NULL, *text;
	size_t good_len = 0;
	struct der d;
	char *cut;

	(void)state;
	keyfile_der(&d, v1, sizeof(v1), 0x0c, URI, ec.der, ec.len);

	/* The right body under other names. */
	text = pem_of("PUBLIC KEY", "", d.p, d.len);
	assert_pem_refused(text, strlen(text));
	free(text);
	text = pem_of("PRIVATE KEY", "", d.p, d.len);
	assert_pem_refused(text, strlen(text));
	free(text);
	text = pem_of("P11AGENT KEYS", "", d.p, d.len);
	assert_pem_refused(text, strlen(text));
	free(text);
	text = pem_of("p11agent key", "", d.p, d.len);
	assert_pem_refused(text, strlen(text));
	free(text);

	/* Headers: a key file is never encrypted. */
	text = pem_of(P11A_KEYFILE_PEM_NAME, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n",
		      d.p, d.len);
	assert_pem_refused(text, strlen(text));
	free(text);

	/* Its own name around a body that is not a key file. */
	text = pem_of(P11A_KEYFILE_PEM_NAME, "", ec.der, ec.len);
	assert_pem_refused(text, strlen(text));
	free(text);

	/* Truncated: at every length short of the whole, at most the last newline. */
	assert_int_equal(p11a_keyfile_encode(URI, ec.der, ec.len, &good, &good_len), P11A_OK);
	for (size_t n = 0; n + 1 < good_len; n++) {
		cut = malloc(n + 1);
		assert_non_null(cut);
		memcpy(cut, good, n);
		assert_pem_refused(cut, n);
		free(cut);
	}
	/* A line of the base64 missing. */
	{
		char *copy = strdup(good);
		char *line2, *line3;

		assert_non_null(copy);
		line2 = strchr(copy, '\n') + 1;
		line3 = strchr(line2, '\n') + 1;
		memmove(line2, line3, strlen(line3) + 1);
		assert_pem_refused(copy, strlen(copy));
		free(copy);
	}
	/* Base64 that is not. */
	{
		char *copy = strdup(good);

		assert_non_null(copy);
		copy[strlen(PEM_BEGIN) + 3] = '*';
		assert_pem_refused(copy, strlen(copy));
		free(copy);
	}

	/* Empty, and nothing like PEM. */
	assert_pem_refused("", 0);
	assert_pem_refused("\n", 1);
	assert_pem_refused("hello", 5);
	assert_pem_refused(NULL, 0);
	assert_der_refused(NULL, 0);
	assert_der_refused(d.p, 0);
	assert_der_refused((const uint8_t *)"\x30\x00", 2);
	assert_der_refused((const uint8_t *)"\x30", 1);

	/* Cut DER: at every length short of the whole. */
	for (size_t n = 1; n < d.len; n++)
		assert_der_refused(d.p, n);

	p11a_free(good, good_len + 1);
}

/* Arguments the caller got wrong. */
static void test_invalid_args(void **state)
{
	char *pem = NULL, *uri = NULL;
	uint8_t *spki = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(p11a_keyfile_encode(URI, ec.der, ec.len, NULL, &len),
			 P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_keyfile_encode(URI, ec.der, ec.len, &pem, NULL),
			 P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_keyfile_decode("x", 1, NULL, &spki, &len), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_keyfile_decode("x", 1, &uri, NULL, &len), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_keyfile_decode("x", 1, &uri, &spki, NULL), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_keyfile_decode_der((const uint8_t *)"x", 1, NULL, &spki, &len),
			 P11A_ERR_INVALID_ARG);
	assert_null(pem);
	assert_null(uri);
	assert_null(spki);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	    cmocka_unit_test(test_other_blocks),
	    cmocka_unit_test(test_ber_refused),	    cmocka_unit_test(test_trailing_refused),
	    cmocka_unit_test(test_version_refused), cmocka_unit_test(test_uri_refused),
	    cmocka_unit_test(test_spki_refused),    cmocka_unit_test(test_pem_refused),
	    cmocka_unit_test(test_invalid_args),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
