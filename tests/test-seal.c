/*
 * test-seal: cli/envelope.c, the CMS AuthEnvelopedData of 'p11agent seal'
 * and 'p11agent open', without any agent. (tests/test-cli.sh checks the
 * envelopes against the openssl command line as well.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "../cli/envelope.h"
#include "p11agent.h"

#define MSG_LEN 256

static const uint8_t key32[32] = {
    0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
    0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
};
static const uint8_t id[] = "p11agent";

/* A document of len bytes, the same for the same len. */
static uint8_t *document(size_t len)
{
	uint8_t *p = malloc(len + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8));
	return p;
}

static void seal(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len,
		 uint8_t **out, size_t *out_len)
{
	char msg[MSG_LEN] = "";

	if (cli_seal(key, key_len, id, sizeof(id) - 1, in, in_len, out, out_len, msg,
		     sizeof(msg)) != P11A_OK)
		fail_msg("seal: %s", msg);
	assert_non_null(*out);
}

/* open fails with BAD_INPUT, says needle, and leaves the outputs alone. */
static void open_fails(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len,
		       int want, const char *needle)
{
	uint8_t *out = (uint8_t *)"untouched";
	size_t out_len = 12345;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_open(key, key_len, in, in_len, &out, &out_len, msg, sizeof(msg)),
			 want);
	assert_string_equal((const char *)out, "untouched");
	assert_int_equal(out_len, 12345);
	if (strstr(msg, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void round_trip(size_t key_len, size_t doc_len)
{
	uint8_t *doc = document(doc_len), *env = NULL, *back = NULL;
	size_t env_len = 0, back_len = 0;
	char msg[MSG_LEN] = "";

	seal(key32, key_len, doc, doc_len, &env, &env_len);
	assert_true(env_len > doc_len);
	if (cli_open(key32, key_len, env, env_len, &back, &back_len, msg, sizeof(msg)) != P11A_OK)
		fail_msg("open: %s", msg);
	assert_non_null(back);
	assert_int_equal(back_len, doc_len);
	assert_memory_equal(back, doc, doc_len);
	free(back);
	free(env);
	free(doc);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip(32, 0);
	round_trip(32, 1);
	round_trip(32, 1000);
	round_trip(32, 300 * 1024);
	round_trip(24, 100);
	round_trip(16, 100);
}

/* What seal writes: AuthEnvelopedData, AES-256-GCM, one KEK recipient with our id. */
static void test_structure(void **state)
{
	static const struct {
		size_t key_len;
		int wrap_nid;
	} cases[] = {
	    {16, NID_id_aes128_wrap},
	    {24, NID_id_aes192_wrap},
	    {32, NID_id_aes256_wrap},
	};
	uint8_t *doc = document(100), *env = NULL;
	size_t env_len = 0, i;
	const unsigned char *p;
	CMS_ContentInfo *cms;
	CMS_RecipientInfo *ri;
	X509_ALGOR *alg = NULL;
	ASN1_OCTET_STRING *kid = NULL;
	const ASN1_OBJECT *obj = NULL;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		seal(key32, cases[i].key_len, doc, 100, &env, &env_len);
		p = env;
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)env_len);
		assert_non_null(cms);
		assert_ptr_equal(p, env + env_len);
		assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)),
				 NID_id_smime_ct_authEnvelopedData);
		assert_int_equal(sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms)), 1);
		ri = sk_CMS_RecipientInfo_value(CMS_get0_RecipientInfos(cms), 0);
		assert_int_equal(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_KEK);
		assert_int_equal(CMS_RecipientInfo_kekri_get0_id(ri, &alg, &kid, NULL, NULL, NULL),
				 1);
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
		assert_int_equal(OBJ_obj2nid(obj), cases[i].wrap_nid);
		assert_int_equal(ASN1_STRING_length(kid), sizeof(id) - 1);
		assert_memory_equal(ASN1_STRING_get0_data(kid), id, sizeof(id) - 1);
		CMS_ContentInfo_free(cms);
		free(env);
	}
	free(doc);
}

/* Two seals of the same document differ (fresh content key and IV). */
static void test_fresh(void **state)
{
	uint8_t *doc = document(64), *a = NULL, *b = NULL;
	size_t a_len = 0, b_len = 0;

	(void)state;
	seal(key32, 32, doc, 64, &a, &a_len);
	seal(key32, 32, doc, 64, &b, &b_len);
	assert_int_equal(a_len, b_len);
	assert_true(memcmp(a, b, a_len) != 0);
	free(a);
	free(b);
	free(doc);
}

static void test_tampered(void **state)
{
	uint8_t *doc = document(1000), *env = NULL;
	size_t env_len = 0;

	(void)state;
	seal(key32, 32, doc, 1000, &env, &env_len);
	/* The ciphertext: the end holds the 16-byte tag (04 10 ...) after it. */
	env[env_len - 100] ^= 0x01;
	open_fails(key32, 32, env, env_len, P11A_ERR_BAD_INPUT,
		   "open: the envelope does not authenticate");
	env[env_len - 100] ^= 0x01;
	/* The tag itself. */
	env[env_len - 1] ^= 0x80;
	open_fails(key32, 32, env, env_len, P11A_ERR_BAD_INPUT,
		   "open: the envelope does not authenticate");
	env[env_len - 1] ^= 0x80;
	free(env);
	free(doc);
}

/* The KEK recipient's wrapped key, located by its DER (04 28 + 40 bytes for a 32-byte CEK). */
static void test_wrapped_key_tampered(void **state)
{
	uint8_t *doc = document(10), *env = NULL;
	size_t env_len = 0, i, hit = 0;

	(void)state;
	seal(key32, 32, doc, 10, &env, &env_len);
	for (i = 0; i + 2 < env_len; i++) {
		/* After the id-aes256-wrap OID (60 86 48 01 65 03 04 01 2d): OCTET STRING of 40. */
		if (env[i] == 0x2d && env[i + 1] == 0x04 && env[i + 2] == 0x28) {
			hit = i + 3;
			break;
		}
	}
	assert_true(hit > 0 && hit + 40 < env_len);
	env[hit + 5] ^= 0x10;
	open_fails(key32, 32, env, env_len, P11A_ERR_BAD_INPUT,
		   "open: the key does not open this envelope");
	free(env);
	free(doc);
}

static void test_wrong_key(void **state)
{
	uint8_t *doc = document(100), *env = NULL;
	uint8_t other[32];
	size_t env_len = 0;

	(void)state;
	seal(key32, 32, doc, 100, &env, &env_len);
	memcpy(other, key32, sizeof(other));
	other[31] ^= 0x01;
	open_fails(other, 32, env, env_len, P11A_ERR_BAD_INPUT,
		   "open: the key does not open this envelope");
	/* The right bytes, the wrong length: another wrap algorithm. */
	open_fails(key32, 16, env, env_len, P11A_ERR_BAD_INPUT,
		   "open: the key does not open this envelope");
	free(env);
	free(doc);
}

static void test_bad_key_length(void **state)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	char msg[MSG_LEN];
	static const size_t bad[] = {0, 1, 15, 17, 31, 33, 64};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_seal(key32, bad[i], id, 8, (const uint8_t *)"x", 1, &out,
					  &out_len, msg, sizeof(msg)),
				 P11A_ERR_INVALID_ARG);
		assert_null(out);
		open_fails(key32, bad[i], (const uint8_t *)"x", 1, P11A_ERR_INVALID_ARG,
			   "16, 24 or 32 bytes");
	}
	/* An empty key id is refused too. */
	assert_int_equal(
	    cli_seal(key32, 32, id, 0, (const uint8_t *)"x", 1, &out, &out_len, msg, sizeof(msg)),
	    P11A_ERR_INVALID_ARG);
	assert_null(out);
}

static void test_not_an_envelope(void **state)
{
	uint8_t *doc = document(100), *env = NULL, *longer;
	size_t env_len = 0;

	(void)state;
	open_fails(key32, 32, (const uint8_t *)"", 0, P11A_ERR_BAD_INPUT,
		   "not a CMS AuthEnvelopedData");
	open_fails(key32, 32, doc, 100, P11A_ERR_BAD_INPUT, "not a CMS AuthEnvelopedData");
	seal(key32, 32, doc, 100, &env, &env_len);
	/* Truncated, at every length: never a crash, never a plaintext. */
	for (size_t n = 0; n < env_len; n += 7)
		open_fails(key32, 32, env, n, P11A_ERR_BAD_INPUT, "open: ");
	open_fails(key32, 32, env, env_len - 1, P11A_ERR_BAD_INPUT, "open: ");
	/* Trailing bytes after the envelope. */
	longer = malloc(env_len + 1);
	assert_non_null(longer);
	memcpy(longer, env, env_len);
	longer[env_len] = 0;
	open_fails(key32, 32, longer, env_len + 1, P11A_ERR_BAD_INPUT,
		   "not a CMS AuthEnvelopedData");
	free(longer);
	free(env);
	free(doc);
}

/* An EnvelopedData (AES-256-CBC, no authentication) of "hello" under key32, DER. */
static int enveloped_data(unsigned char **out_der)
{
	CMS_ContentInfo *cms;
	BIO *in;
	unsigned char *kek, *kid;
	int der_len;

	cms = CMS_EnvelopedData_create(EVP_aes_256_cbc());
	assert_non_null(cms);
	assert_int_equal(CMS_set_detached(cms, 0), 1);
	kek = OPENSSL_malloc(32);
	kid = OPENSSL_malloc(2);
	assert_non_null(kek);
	assert_non_null(kid);
	memcpy(kek, key32, 32);
	memcpy(kid, "id", 2);
	assert_non_null(CMS_add0_recipient_key(cms, NID_undef, kek, 32, kid, 2, NULL, NULL, NULL));
	in = BIO_new_mem_buf("hello", 5);
	assert_non_null(in);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	der_len = i2d_CMS_ContentInfo(cms, out_der);
	assert_true(der_len > 0);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return der_len;
}

/* A plain EnvelopedData under the same key is refused: it does not authenticate. */
static void test_enveloped_data_refused(void **state)
{
	unsigned char *der = NULL;
	int der_len;

	(void)state;
	der_len = enveloped_data(&der);
	open_fails(key32, 32, der, (size_t)der_len, P11A_ERR_BAD_INPUT,
		   "not a CMS AuthEnvelopedData");
	OPENSSL_free(der);
}

/* An AuthEnvelopedData whose content travels apart (detached) is refused. */
static void test_detached_refused(void **state)
{
	CMS_ContentInfo *cms;
	BIO *in;
	unsigned char *kek, *kid, *der = NULL;
	int der_len;

	(void)state;
	cms = CMS_AuthEnvelopedData_create(EVP_aes_256_gcm());
	assert_non_null(cms);
	assert_int_equal(CMS_set_detached(cms, 1), 1);
	kek = OPENSSL_malloc(32);
	kid = OPENSSL_malloc(2);
	assert_non_null(kek);
	assert_non_null(kid);
	memcpy(kek, key32, 32);
	memcpy(kid, "id", 2);
	assert_non_null(CMS_add0_recipient_key(cms, NID_undef, kek, 32, kid, 2, NULL, NULL, NULL));
	in = BIO_new_mem_buf("hello", 5);
	assert_non_null(in);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	der_len = i2d_CMS_ContentInfo(cms, &der);
	assert_true(der_len > 0);
	open_fails(key32, 32, der, (size_t)der_len, P11A_ERR_BAD_INPUT,
		   "open: the envelope holds no content (it is detached)");
	OPENSSL_free(der);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
}

/* Appends a DER TLV of tag and content to *p (which has room). */
static void put_tlv(uint8_t **p, int tag, const uint8_t *content, size_t len)
{
	uint8_t *q = *p;

	*q++ = (uint8_t)tag;
	if (len < 128) {
		*q++ = (uint8_t)len;
	} else {
		assert_true(len < 65536);
		*q++ = 0x82;
		*q++ = (uint8_t)(len >> 8);
		*q++ = (uint8_t)len;
	}
	if (len > 0)
		memcpy(q, content, len);
	*p = q + len;
}

/* Reads the TLV at *p: its content and the whole of it; advances *p past it. */
static void get_tlv(const uint8_t **p, size_t avail, const uint8_t **out_content,
		    size_t *out_content_len, const uint8_t **out_whole, size_t *out_whole_len)
{
	const unsigned char *q = *p;
	long len = 0;
	int tag = 0, cls = 0;

	assert_int_equal(ASN1_get_object(&q, &len, &tag, &cls, (long)avail) & 0x80, 0);
	*out_content = q;
	*out_content_len = (size_t)len;
	*out_whole = *p;
	*out_whole_len = (size_t)(q - *p) + (size_t)len;
	*p = q + len;
}

/*
 * An AuthEnvelopedData whose content is AES-CBC (no tag to check), forged
 * from an EnvelopedData: version 0, its recipient and its encrypted content,
 * and a made-up MAC. OpenSSL must refuse it, else open would hand out bytes
 * that nothing authenticated.
 */
static void test_forged_cbc_refused(void **state)
{
	static const uint8_t oid_auth_env[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
					       0x01, 0x09, 0x10, 0x01, 0x17};
	static const uint8_t zero = 0, mac[16] = {0};
	unsigned char *der = NULL;
	const uint8_t *p, *ci, *ctx0, *ed, *whole, *ris, *eci, *skip;
	size_t ci_len, ctx0_len, ed_len, whole_len, ris_len, eci_len, skip_len, n;
	uint8_t body[4096], inner[4096], outer[4096], *w;
	int der_len;

	(void)state;
	der_len = enveloped_data(&der);
	assert_true(der_len < 3000);
	/* ContentInfo { contentType, [0] EXPLICIT EnvelopedData { version, ris, eci } } */
	p = der;
	get_tlv(&p, (size_t)der_len, &ci, &ci_len, &whole, &whole_len);
	p = ci;
	get_tlv(&p, ci_len, &skip, &skip_len, &whole, &whole_len); /* contentType */
	get_tlv(&p, ci_len - whole_len, &ctx0, &ctx0_len, &whole, &whole_len);
	p = ctx0;
	get_tlv(&p, ctx0_len, &ed, &ed_len, &whole, &whole_len);
	p = ed;
	get_tlv(&p, ed_len, &skip, &skip_len, &whole, &whole_len); /* version */
	n = ed_len - whole_len;
	get_tlv(&p, n, &skip, &skip_len, &ris, &ris_len);
	n -= ris_len;
	get_tlv(&p, n, &skip, &skip_len, &eci, &eci_len);

	/* AuthEnvelopedData { version 0, ris, eci, mac } */
	w = body;
	put_tlv(&w, 0x02, &zero, 1);
	memcpy(w, ris, ris_len);
	w += ris_len;
	memcpy(w, eci, eci_len);
	w += eci_len;
	put_tlv(&w, 0x04, mac, sizeof(mac));
	n = (size_t)(w - body);
	w = inner;
	put_tlv(&w, 0x30, body, n);
	n = (size_t)(w - inner);
	w = body;
	put_tlv(&w, 0xa0, inner, n);
	n = (size_t)(w - body);
	w = inner;
	put_tlv(&w, 0x06, oid_auth_env, sizeof(oid_auth_env));
	memcpy(w, body, n);
	w += n;
	n = (size_t)(w - inner);
	w = outer;
	put_tlv(&w, 0x30, inner, n);

	/* It parses as an AuthEnvelopedData, and the key unwraps its content key... */
	{
		const unsigned char *q = outer;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)(w - outer));
		assert_non_null(cms);
		assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)),
				 NID_id_smime_ct_authEnvelopedData);
		assert_int_equal(CMS_decrypt_set1_key(cms, (unsigned char *)key32, 32, NULL, 0), 1);
		CMS_ContentInfo_free(cms);
	}
	/* ...but nothing authenticates it. */
	open_fails(key32, 32, outer, (size_t)(w - outer), P11A_ERR_BAD_INPUT,
		   "open: the envelope does not authenticate");
	OPENSSL_free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_fresh),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_wrapped_key_tampered),
	    cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_bad_key_length),
	    cmocka_unit_test(test_not_an_envelope),
	    cmocka_unit_test(test_enveloped_data_refused),
	    cmocka_unit_test(test_forged_cbc_refused),
	    cmocka_unit_test(test_detached_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
