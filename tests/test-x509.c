/*
 * test-x509: cli/x509.c and cli/x509name.c, subjects, subjectAltName lists,
 * certificate requests and certificates signed through a callback, here by
 * local OpenSSL keys (RSA-2048, P-256, P-384, P-521, Ed25519) in place of
 * the agent's. What is made is checked with OpenSSL: signatures, a chain
 * through an X509_STORE, the extensions.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../cli/x509.h"
#include "p11agent.h"

#define MSG_LEN 512

/* A local key standing in for an agent key. */
struct test_key {
	const char *name;
	EVP_PKEY *key;
	int sig_nid; /* the signature algorithm its certificates carry */
	struct cli_x509_signer signer;
	p11a_alg alg;
	int fail_with;	     /* the sign callback returns this instead, when not 0 */
	EVP_PKEY *sign_with; /* the key the callback really signs with (a wrong one), or NULL */
};

enum { K_RSA, K_P256, K_P384, K_P521, K_ED25519, N_KEYS };
static struct test_key keys[N_KEYS] = {
    [K_RSA] = {.name = "rsa-2048", .sig_nid = NID_sha256WithRSAEncryption},
    [K_P256] = {.name = "p-256", .sig_nid = NID_ecdsa_with_SHA256},
    [K_P384] = {.name = "p-384", .sig_nid = NID_ecdsa_with_SHA384},
    [K_P521] = {.name = "p-521", .sig_nid = NID_ecdsa_with_SHA512},
    [K_ED25519] = {.name = "ed25519", .sig_nid = NID_ED25519},
};

/* The sign callback: the agent's job, done with the local key. */
static int local_sign(void *arg, const uint8_t *tbs, size_t tbs_len, uint8_t **out_sig,
		      size_t *out_sig_len)
{
	struct test_key *k = arg;
	EVP_PKEY *key = k->sign_with != NULL ? k->sign_with : k->key;
	const char *md = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL;
	size_t len = 0;

	if (k->fail_with != 0) {
		EVP_MD_CTX_free(ctx);
		return k->fail_with;
	}
	switch (k->alg) {
	case P11A_ALG_RSA_PKCS1_SHA256:
	case P11A_ALG_ECDSA_SHA256:
		md = "SHA256";
		break;
	case P11A_ALG_ECDSA_SHA384:
		md = "SHA384";
		break;
	case P11A_ALG_ECDSA_SHA512:
		md = "SHA512";
		break;
	case P11A_ALG_ED25519:
		break;
	default:
		fail_msg("sign callback: unexpected algorithm %d", (int)k->alg);
	}
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &len, tbs, tbs_len), 1);
	assert_non_null(sig = malloc(len));
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, tbs, tbs_len), 1);
	EVP_MD_CTX_free(ctx);
	*out_sig = sig;
	*out_sig_len = len;
	return P11A_OK;
}

static int setup(void **state)
{
	char msg[MSG_LEN];
	size_t i;

	keys[K_RSA].key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	keys[K_P256].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	keys[K_P384].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	keys[K_P521].key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	keys[K_ED25519].key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].key == NULL)
			return -1;
		keys[i].signer.pub = keys[i].key;
		keys[i].signer.sign = local_sign;
		keys[i].signer.arg = &keys[i];
		if (cli_x509_sig_alg(keys[i].key, &keys[i].alg, msg, sizeof(msg)) != P11A_OK)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < N_KEYS; i++)
		EVP_PKEY_free(keys[i].key);
	return 0;
}

static X509_NAME *name_of(const char *text)
{
	X509_NAME *name = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_parse_name(text, &name, msg, sizeof(msg)) != P11A_OK)
		fail_msg("parse_name(%s): %s", text, msg);
	return name;
}

static GENERAL_NAMES *san_of(const char *text)
{
	GENERAL_NAMES *san = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_parse_san(text, &san, msg, sizeof(msg)) != P11A_OK)
		fail_msg("parse_san(%s): %s", text, msg);
	return san;
}

/* name as RFC 4514 writes it (OpenSSL's RFC 2253 form, UTF-8 kept). */
static void assert_name_text(const X509_NAME *name, const char *want)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char buf[1024];
	int n;

	assert_non_null(bio);
	X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(bio, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
	assert_string_equal(buf, want);
}

/* Entry i of name: its short name, value and ASN.1 string type. */
static void assert_entry(const X509_NAME *name, int i, int nid, const char *value, int type)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
	const ASN1_STRING *s;

	assert_non_null(e);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), nid);
	s = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_type(s), type);
	assert_int_equal(ASN1_STRING_length(s), strlen(value));
	assert_memory_equal(ASN1_STRING_get0_data(s), value, strlen(value));
}

static void test_name_good(void **state)
{
	X509_NAME *n;

	/* RFC 4514 order: the last written comes first. */
	n = name_of("CN=foo,O=Bar,C=DE");
	assert_int_equal(X509_NAME_entry_count(n), 3);
	assert_entry(n, 0, NID_countryName, "DE", V_ASN1_PRINTABLESTRING);
	assert_entry(n, 1, NID_organizationName, "Bar", V_ASN1_UTF8STRING);
	assert_entry(n, 2, NID_commonName, "foo", V_ASN1_UTF8STRING);
	assert_name_text(n, "CN=foo,O=Bar,C=DE");
	X509_NAME_free(n);

	/* Escapes, spaces around names and values, any case, UTF-8, hex bytes. */
	n = name_of(" cn = a\\,b\\+c\\=d\\\\e\\ , ou=Gr\xc3\xbc\xc3\x9f"
		    "e,o=caf\\C3\\A9 ,l=\\#1");
	assert_int_equal(X509_NAME_entry_count(n), 4);
	assert_entry(n, 0, NID_localityName, "#1", V_ASN1_UTF8STRING);
	assert_entry(n, 1, NID_organizationName, "caf\xc3\xa9", V_ASN1_UTF8STRING);
	assert_entry(n, 2, NID_organizationalUnitName,
		     "Gr\xc3\xbc\xc3\x9f"
		     "e",
		     V_ASN1_UTF8STRING);
	assert_entry(n, 3, NID_commonName, "a,b+c=d\\e ", V_ASN1_UTF8STRING);
	X509_NAME_free(n);

	/* The other attributes, and an OID. */
	n = name_of("emailAddress=a@b.example,serialNumber=A-1,DC=example,ST=Bayern,"
		    "2.5.4.3=by oid,1.2.3.4=other");
	assert_int_equal(X509_NAME_entry_count(n), 6);
	assert_entry(n, 0, NID_undef, "other", V_ASN1_UTF8STRING);
	assert_entry(n, 1, NID_commonName, "by oid", V_ASN1_UTF8STRING);
	assert_entry(n, 2, NID_stateOrProvinceName, "Bayern", V_ASN1_UTF8STRING);
	assert_entry(n, 3, NID_domainComponent, "example", V_ASN1_IA5STRING);
	assert_entry(n, 4, NID_serialNumber, "A-1", V_ASN1_PRINTABLESTRING);
	assert_entry(n, 5, NID_pkcs9_emailAddress, "a@b.example", V_ASN1_IA5STRING);
	X509_NAME_free(n);

	/* A multi-valued RDN: CN and OU share one. */
	n = name_of("CN=a+OU=b,O=c");
	assert_int_equal(X509_NAME_entry_count(n), 3);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)), 0);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)), 1);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)), 1);
	assert_entry(n, 0, NID_organizationName, "c", V_ASN1_UTF8STRING);
	X509_NAME_free(n);

	/* 64 characters of CN, 64 attributes: the bounds themselves. */
	{
		char text[CLI_X509_TEXT_MAX];
		size_t i, len = 0;

		len += (size_t)snprintf(text, sizeof(text), "CN=");
		for (i = 0; i < 64; i++)
			text[len++] = 'x';
		for (i = 1; i < CLI_X509_MAX_ITEMS; i++)
			len += (size_t)snprintf(text + len, sizeof(text) - len, ",OU=%zu", i);
		n = name_of(text);
		assert_int_equal(X509_NAME_entry_count(n), CLI_X509_MAX_ITEMS);
		X509_NAME_free(n);
	}
}

/* parse fails with BAD_INPUT, says needle, leaves *out alone. */
static void name_fails(const char *text, const char *needle)
{
	X509_NAME *sentinel = (X509_NAME *)&sentinel, *n = sentinel;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_parse_name(text, &n, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(n, sentinel);
	if (strstr(msg, needle) == NULL)
		fail_msg("parse_name(%s): message \"%s\" lacks \"%s\"", text, msg, needle);
}

static void test_name_bad(void **state)
{
	char big[CLI_X509_TEXT_MAX + 2];
	size_t len = 0;
	int i;

	name_fails("", "empty subject");
	name_fails("   ", "empty subject");
	name_fails("CN", "'CN': no '=' between");
	name_fails("=foo", "'=foo': no attribute before the '='");
	name_fails("C\\N=foo", "a '\\' in the attribute's name");
	name_fails("CN=ok,XX=1", "'XX=1': unknown attribute 'XX' (known: CN, O, OU, C, L, ST");
	name_fails("SN=x", "unknown attribute 'SN'");
	name_fails("9.9=x", "unknown attribute '9.9'");
	name_fails("CN=", "'CN=': empty value for CN");
	name_fails("CN=  ", "empty value for CN");
	name_fails("CN=a,,O=b", "an empty item after 'CN=a,'");
	name_fails("CN=a,", "the subject ends with a ','");
	name_fails("CN=a+", "the subject ends with a '+'");
	name_fails(",CN=a", "the subject starts with a ','");
	name_fails("C=Germany", "'C=Germany': C is a country code of two capital letters");
	name_fails("C=de", "C is a country code");
	name_fails("CN=foo O=Bar", "'CN=foo O=Bar': '=' inside the value of CN");
	name_fails("CN=a\\qb", "'CN=a\\qb': bad escape '\\q'");
	name_fails("CN=a\\", "a '\\' ends the value");
	name_fails("CN=a\\4", "bad escape '\\4'");
	name_fails("CN=#04024869", "not supported");
	name_fails("CN=a;b", "escape the ';' in the value as '\\;'");
	name_fails("CN=a<b", "escape the '<'");
	name_fails("CN=a\"b", "escape the '\"'");
	name_fails("CN=\\00x", "a control character in the value of CN");
	name_fails("CN=a\tb", "a control character in the value of CN");
	name_fails("CN=a\\C2\\9Bb", "a control character (U+0080 to U+009F) in the value of CN");
	name_fails("O=a\xe2\x80\xae"
		   "b",
		   "a bidirectional formatting character");
	name_fails("1..2=x", "unknown attribute '1..2'");
	name_fails("2.5.4.=x", "unknown attribute '2.5.4.'");
	name_fails("CN=\\FF", "the value of CN is not valid UTF-8");
	name_fails("CN=\xc0\xaf", "not valid UTF-8");	      /* overlong '/' */
	name_fails("CN=\xed\xa0\x80", "not valid UTF-8");     /* a surrogate */
	name_fails("CN=\xf4\x90\x80\x80", "not valid UTF-8"); /* past U+10FFFF */
	name_fails("CN=\xe2\x82", "not valid UTF-8");	      /* cut short */
	name_fails("CN=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		   "CN has at most 64 characters, this one 65");
	name_fails("emailAddress=\xc3\xa9@b.example", "emailAddress takes ASCII characters only");
	name_fails("serialNumber=a_b", "serialNumber takes letters, digits");
	name_fails("2.5.4.6=DEU", "C is a country code"); /* countryName by OID */

	/* Too long, too many. */
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "CN=", 3);
	big[sizeof(big) - 1] = '\0';
	name_fails(big, "the subject is too long (more than 4096 bytes)");
	for (i = 0; i <= CLI_X509_MAX_ITEMS; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%sOU=%d", i ? "," : "", i);
	name_fails(big, "the subject has more than 64 attributes");

	/* A long part is cut in the message. */
	name_fails("XX=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "'XX=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
}

/* Name i of san: its type and bytes. */
static void assert_gen(const GENERAL_NAMES *san, int i, int type, const void *value, size_t len)
{
	const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
	int t;
	const ASN1_STRING *s;

	assert_non_null(g);
	s = GENERAL_NAME_get0_value(g, &t);
	assert_int_equal(t, type);
	assert_int_equal(ASN1_STRING_length(s), len);
	assert_memory_equal(ASN1_STRING_get0_data(s), value, len);
}

static void test_san_good(void **state)
{
	static const uint8_t v4[] = {127, 0, 0, 1};
	static const uint8_t v6[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t v6b[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				      0,    0,	  0,	0,    0, 0, 0, 0x2a};
	GENERAL_NAMES *san;

	san = san_of("DNS:a.example,IP:127.0.0.1,IP:::1,email:x@y.example,"
		     "URI:https://a.example/p?q=1, dns:*.b-c.example ,ip:2001:DB8::2a,"
		     "URI:https://a.example/x\\,y\\\\z,DNS:localhost");
	assert_int_equal(sk_GENERAL_NAME_num(san), 9);
	assert_gen(san, 0, GEN_DNS, "a.example", 9);
	assert_gen(san, 1, GEN_IPADD, v4, 4);
	assert_gen(san, 2, GEN_IPADD, v6, 16);
	assert_gen(san, 3, GEN_EMAIL, "x@y.example", 11);
	assert_gen(san, 4, GEN_URI, "https://a.example/p?q=1", 23);
	assert_gen(san, 5, GEN_DNS, "*.b-c.example", 13);
	assert_gen(san, 6, GEN_IPADD, v6b, 16);
	assert_gen(san, 7, GEN_URI, "https://a.example/x,y\\z", 23);
	assert_gen(san, 8, GEN_DNS, "localhost", 9);
	GENERAL_NAMES_free(san);
}

static void san_fails(const char *text, const char *needle)
{
	GENERAL_NAMES *sentinel = (GENERAL_NAMES *)&sentinel, *san = sentinel;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_parse_san(text, &san, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(san, sentinel);
	if (strstr(msg, needle) == NULL)
		fail_msg("parse_san(%s): message \"%s\" lacks \"%s\"", text, msg, needle);
}

static void test_san_bad(void **state)
{
	char big[CLI_X509_TEXT_MAX];
	size_t len = 0;
	int i;

	san_fails("", "empty subjectAltName list");
	san_fails("a.example", "'a.example': no type: write DNS:, IP:, email: or URI:");
	san_fails("DNS:a,FTP:x", "'FTP:x': unknown type 'FTP' (known: DNS, IP, email, URI)");
	san_fails("DNS:", "'DNS:': no name after the type");
	san_fails("DNS:a..b", "'DNS:a..b': not a DNS name: an empty label");
	san_fails("DNS:a.", "an empty label");
	san_fails("DNS:-a.example", "a label starting with '-'");
	san_fails("DNS:a-.example", "a label ending with '-'");
	san_fails("DNS:a_b.example", "a character other than letters, digits, '-' and '.'");
	san_fails("DNS:b\xc3\xbc"
		  "cher.example",
		  "xn-- (punycode)");
	san_fails("DNS:a.*.example", "a '*' other than a whole first label");
	san_fails("DNS:*", "a '*' other than");
	san_fails("DNS:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.example",
		  "a label longer than 63 characters");
	san_fails("IP:1.2.3", "'IP:1.2.3': not an IPv4 address");
	san_fails("IP:1.2.3.4x", "not an IPv4 address");
	san_fails("IP:[::1]", "without brackets");
	san_fails("IP:a.example", "not an IPv4");
	san_fails("email:nobody", "'email:nobody': not a mail address");
	san_fails("email:a@b@c.example", "not a mail address");
	san_fails("email:@b.example", "not a mail address");
	san_fails("email:a b@c.example", "a space, control or non-ASCII character before the '@'");
	san_fails("email:a@-b", "the host after the '@' has a label starting with '-'");
	san_fails("URI:/relative", "'URI:/relative': not an absolute URI");
	san_fails("URI:https:", "not an absolute URI");
	san_fails("URI:https://a b", "must be percent-encoded");
	san_fails("URI:https://b\xc3\xbc"
		  "cher.example/",
		  "must be percent-encoded");
	san_fails("DNS:a,,DNS:b", "an empty item after 'DNS:a,'");
	san_fails("DNS:a,", "the subjectAltName list ends with a ','");
	san_fails(",DNS:a", "the subjectAltName list starts with a ','");
	san_fails("DNS:a\\x", "a '\\' escapes only ',' and '\\'");
	for (i = 0; i <= CLI_X509_MAX_ITEMS; i++)
		len += (size_t)snprintf(big + len, sizeof(big) - len, "%sDNS:h%d.example",
					i ? "," : "", i);
	san_fails(big, "the subjectAltName list has more than 64 names");
}

static X509_REQ *make_csr(struct test_key *k, const char *subject, const char *san_text)
{
	X509_NAME *name = name_of(subject);
	GENERAL_NAMES *san = san_text != NULL ? san_of(san_text) : NULL;
	X509_REQ *req = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_make_csr(&k->signer, name, san, &req, msg, sizeof(msg)) != P11A_OK)
		fail_msg("make_csr(%s): %s", k->name, msg);
	X509_NAME_free(name);
	GENERAL_NAMES_free(san);
	return req;
}

/* The subjectAltName of a request's extensions, or NULL. */
static GENERAL_NAMES *csr_san(X509_REQ *req)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *san =
	    exts != NULL ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return san;
}

static void test_csr(void **state)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		struct test_key *k = &keys[i];
		X509_REQ *req = make_csr(k, "CN=leaf,O=Example,C=DE", "DNS:leaf.example,IP:::1");
		X509_REQ *back = NULL;
		const X509_ALGOR *alg;
		const ASN1_BIT_STRING *sig;
		const void *pval;
		int ptype;
		GENERAL_NAMES *san;
		char *pem = NULL;
		size_t pem_len = 0;
		uint8_t *der = NULL;
		int der_len;
		char msg[MSG_LEN] = "";

		assert_int_equal(X509_REQ_verify(req, k->key), 1);
		assert_int_equal(X509_REQ_get_version(req), X509_REQ_VERSION_1);
		assert_int_equal(X509_REQ_get_signature_nid(req), k->sig_nid);
		/* RSA: NULL parameters; ECDSA and Ed25519: none (RFC 5758, RFC 8410). */
		X509_REQ_get0_signature(req, &sig, &alg);
		X509_ALGOR_get0(NULL, &ptype, &pval, alg);
		assert_int_equal(ptype, i == K_RSA ? V_ASN1_NULL : V_ASN1_UNDEF);
		assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k->key), 1);
		assert_name_text(X509_REQ_get_subject_name(req), "CN=leaf,O=Example,C=DE");
		assert_non_null(san = csr_san(req));
		assert_int_equal(sk_GENERAL_NAME_num(san), 2);
		GENERAL_NAMES_free(san);

		/* Read back from PEM and from DER. */
		assert_int_equal(cli_x509_csr_pem(req, &pem, &pem_len, msg, sizeof(msg)), P11A_OK);
		assert_int_equal(strlen(pem), pem_len);
		assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));
		assert_int_equal(
		    cli_x509_read_csr((const uint8_t *)pem, pem_len, &back, msg, sizeof(msg)),
		    P11A_OK);
		assert_int_equal(X509_REQ_verify(back, k->key), 1);
		X509_REQ_free(back);
		back = NULL;
		assert_true((der_len = i2d_X509_REQ(req, &der)) > 0);
		assert_int_equal(cli_x509_read_csr(der, (size_t)der_len, &back, msg, sizeof(msg)),
				 P11A_OK);
		X509_REQ_free(back);
		OPENSSL_free(der);
		free(pem);
		X509_REQ_free(req);
	}
	/* No subjectAltName: no extension request. */
	{
		X509_REQ *req = make_csr(&keys[K_P256], "CN=plain", NULL);
		assert_null(csr_san(req));
		X509_REQ_free(req);
	}
}

/*
 * Signatures that end in zero bytes stay whole (OpenSSL's BIT STRING would
 * drop them unless told every bit is used): Ed25519 requests until one ends
 * in 0x00.
 */
static void test_csr_trailing_zero(void **state)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *alg;
	char subject[32];
	int i;

	for (i = 0; i < 8192; i++) {
		X509_REQ *req;
		int last;

		snprintf(subject, sizeof(subject), "CN=%d", i);
		req = make_csr(&keys[K_ED25519], subject, NULL);
		X509_REQ_get0_signature(req, &sig, &alg);
		assert_int_equal(ASN1_STRING_length(sig), 64);
		last = ASN1_STRING_get0_data(sig)[63];
		assert_int_equal(X509_REQ_verify(req, keys[K_ED25519].key), 1);
		X509_REQ_free(req);
		if (last == 0)
			return;
	}
	fail_msg("no Ed25519 signature ended in a zero byte in %d tries", i);
}

static void csr_fails(const uint8_t *in, size_t len, const char *needle)
{
	X509_REQ *sentinel = (X509_REQ *)&sentinel, *req = sentinel;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_read_csr(in, len, &req, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(req, sentinel);
	if (strstr(msg, needle) == NULL)
		fail_msg("read_csr: message \"%s\" lacks \"%s\"", msg, needle);
}

static X509 *self_signed(struct test_key *k, const char *subject, int ca, const char *san_text,
			 unsigned days)
{
	X509_NAME *name = name_of(subject);
	GENERAL_NAMES *san = san_text != NULL ? san_of(san_text) : NULL;
	struct cli_x509_cert_opts o = {days, ca, san, NULL};
	X509 *x = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_self_sign(&k->signer, name, &o, &x, msg, sizeof(msg)) != P11A_OK)
		fail_msg("self_sign(%s): %s", k->name, msg);
	X509_NAME_free(name);
	GENERAL_NAMES_free(san);
	return x;
}

static void test_csr_bad(void **state)
{
	X509_REQ *req = make_csr(&keys[K_P256], "CN=victim", NULL);
	X509 *cert = self_signed(&keys[K_P256], "CN=cert", 0, NULL, 1);
	char *pem = NULL;
	size_t pem_len = 0;
	uint8_t *der = NULL, *p;
	int der_len;
	char msg[MSG_LEN];

	csr_fails((const uint8_t *)"", 0, "empty, not a certificate request");
	csr_fails((const uint8_t *)"garbage", 7, "neither PEM");
	/* A certificate is not a request. */
	assert_int_equal(cli_x509_cert_pem(cert, &pem, &pem_len, msg, sizeof(msg)), P11A_OK);
	csr_fails((const uint8_t *)pem, pem_len,
		  "no certificate request (BEGIN CERTIFICATE REQUEST)");
	assert_true((der_len = i2d_X509(cert, &der)) > 0);
	csr_fails(der, (size_t)der_len, "neither PEM");
	OPENSSL_free(der);
	der = NULL;
	/* A request changed after it was signed: its subject CN=victim becomes CN=victiM. */
	assert_true((der_len = i2d_X509_REQ(req, &der)) > 0);
	assert_non_null(p = memmem(der, (size_t)der_len, "victim", 6));
	p[5] = 'M';
	csr_fails(der, (size_t)der_len, "signature does not verify");
	/* Bytes after the DER. */
	p[5] = 'm';
	{
		uint8_t *longer = malloc((size_t)der_len + 1);
		assert_non_null(longer);
		memcpy(longer, der, (size_t)der_len);
		longer[der_len] = 0;
		csr_fails(longer, (size_t)der_len + 1, "neither PEM");
		free(longer);
	}
	/* Too large. */
	{
		uint8_t *huge = calloc(1, CLI_X509_CSR_MAX + 1);
		assert_non_null(huge);
		csr_fails(huge, CLI_X509_CSR_MAX + 1, "too large");
		free(huge);
	}
	OPENSSL_free(der);
	free(pem);
	X509_free(cert);
	X509_REQ_free(req);
}

/* Whether extension nid of x is there and critical (1), there (0), or absent (-1). */
static int ext_critical(const X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* The SHA-1 of x's public key: the subjectKeyIdentifier wanted. */
static void assert_key_id(X509 *x, const ASN1_OCTET_STRING *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	assert_non_null(id);
	assert_int_equal(X509_pubkey_digest(x, EVP_sha1(), md, &md_len), 1);
	assert_int_equal(ASN1_STRING_length(id), md_len);
	assert_memory_equal(ASN1_STRING_get0_data(id), md, md_len);
}

/* What every certificate made here has; leaf_rsa: an RSA leaf key. */
static void assert_cert(X509 *x, int ca, int rsa_key, unsigned days, int sig_nid)
{
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	uint32_t want_ku;
	int pday = 0, psec = 0;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(x), sig_nid);
	/* A positive serial of at most 128 bits, random (not tiny). */
	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) <= 128 && BN_num_bits(bn) > 64);
	BN_free(bn);
	assert_int_equal(
	    ASN1_TIME_diff(&pday, &psec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(pday, days);
	assert_int_equal(psec, 0);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) <= 0);
	/* basicConstraints and keyUsage critical, the key ids not. */
	assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(ext_critical(x, NID_subject_key_identifier), 0);
	assert_int_equal(ext_critical(x, NID_authority_key_identifier), 0);
	assert_int_equal(X509_check_ca(x) != 0, ca);
	assert_int_equal((X509_get_extension_flags(x) & EXFLAG_CA) != 0, ca);
	want_ku = ca ? KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE
		     : KU_DIGITAL_SIGNATURE | (rsa_key ? KU_KEY_ENCIPHERMENT : 0);
	assert_int_equal(X509_get_key_usage(x), want_ku);
	assert_key_id(x, X509_get0_subject_key_id(x));
}

/* x chains to ca through an X509_STORE holding ca alone, as openssl verify -CAfile does. */
static void assert_chain(X509 *x, X509 *ca)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("chain: %s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

static void test_self_signed(void **state)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		struct test_key *k = &keys[i];
		X509 *ca = self_signed(k, "CN=Test CA,O=Example,C=DE", 1, NULL, 3650);
		X509 *leaf = self_signed(k, "CN=alone", 0, "DNS:alone.example", 30);
		const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(ca);

		assert_cert(ca, 1, i == K_RSA, 3650, k->sig_nid);
		assert_int_equal(X509_verify(ca, k->key), 1);
		assert_int_equal(X509_self_signed(ca, 1), 1);
		assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(ca), X509_get_subject_name(ca)),
				 0);
		assert_name_text(X509_get_subject_name(ca), "CN=Test CA,O=Example,C=DE");
		assert_int_equal(ASN1_OCTET_STRING_cmp(akid, X509_get0_subject_key_id(ca)), 0);
		assert_int_equal(ext_critical(ca, NID_subject_alt_name), -1);
		assert_chain(ca, ca);

		assert_cert(leaf, 0, i == K_RSA, 30, k->sig_nid);
		assert_int_equal(X509_verify(leaf, k->key), 1);
		assert_int_equal(ext_critical(leaf, NID_subject_alt_name), 0);
		X509_free(leaf);
		X509_free(ca);
	}
}

/* The subjectAltName of x as "DNS:a,IP:..." text (OpenSSL's), for comparison. */
static void assert_san_text(X509 *x, const char *want)
{
	X509_EXTENSION *ext = X509_get_ext(x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1));
	BIO *bio = BIO_new(BIO_s_mem());
	char buf[512];
	int n;

	assert_non_null(ext);
	assert_non_null(bio);
	assert_int_equal(X509V3_EXT_print(bio, ext, 0, 0), 1);
	n = BIO_read(bio, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
	assert_string_equal(buf, want);
}

static X509 *issue(struct test_key *ca_key, X509 *ca, X509_REQ *req, int as_ca, const char *san,
		   unsigned days)
{
	GENERAL_NAMES *names = san != NULL ? san_of(san) : NULL;
	struct cli_x509_cert_opts o = {days, as_ca, names, NULL};
	X509 *x = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_issue(&ca_key->signer, ca, req, &o, &x, msg, sizeof(msg)) != P11A_OK)
		fail_msg("issue(%s): %s", ca_key->name, msg);
	GENERAL_NAMES_free(names);
	return x;
}

static void test_issue(void **state)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		struct test_key *ca_key = &keys[i];
		struct test_key *leaf_key = &keys[(i + 1) % N_KEYS];
		X509 *ca = self_signed(ca_key, "CN=Root,O=Example", 1, NULL, 3650);
		X509_REQ *req = make_csr(leaf_key, "CN=leaf.example,O=Example",
					 "DNS:leaf.example,IP:192.0.2.1");
		X509 *leaf = issue(ca_key, ca, req, 0, NULL, 397);
		X509 *leaf2, *sub;

		assert_cert(leaf, 0, leaf_key == &keys[K_RSA], 397, ca_key->sig_nid);
		assert_int_equal(X509_verify(leaf, ca_key->key), 1);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), leaf_key->key), 1);
		assert_int_equal(
		    X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca)), 0);
		assert_name_text(X509_get_subject_name(leaf), "CN=leaf.example,O=Example");
		assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
						       X509_get0_subject_key_id(ca)),
				 0);
		assert_int_equal(X509_check_issued(ca, leaf), X509_V_OK);
		assert_chain(leaf, ca);
		/* The request's subjectAltName, copied. */
		assert_int_equal(ext_critical(leaf, NID_subject_alt_name), 0);
		assert_san_text(leaf, "DNS:leaf.example, IP Address:192.0.2.1");

		/* --san wins over the request's. */
		leaf2 = issue(ca_key, ca, req, 0, "DNS:other.example", 1);
		assert_san_text(leaf2, "DNS:other.example");
		assert_chain(leaf2, ca);
		/* Two certificates, two serials. */
		assert_int_not_equal(
		    ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf), X509_get0_serialNumber(leaf2)),
		    0);

		/* An intermediate CA, and a chain of three. */
		sub = issue(ca_key, ca, req, 1, NULL, 1000);
		assert_cert(sub, 1, leaf_key == &keys[K_RSA], 1000, ca_key->sig_nid);
		assert_chain(sub, ca);
		{
			struct test_key *k3 = &keys[(i + 2) % N_KEYS];
			X509_REQ *req3 = make_csr(k3, "CN=third", NULL);
			X509 *third = issue(leaf_key, sub, req3, 0, NULL, 10);
			X509_STORE *store = X509_STORE_new();
			X509_STORE_CTX *ctx = X509_STORE_CTX_new();
			STACK_OF(X509) *chain = sk_X509_new_null();

			assert_int_equal(X509_verify(third, leaf_key->key), 1);
			assert_int_equal(ext_critical(third, NID_subject_alt_name), -1);
			assert_int_equal(X509_STORE_add_cert(store, ca), 1);
			assert_int_equal(sk_X509_push(chain, sub), 1);
			assert_int_equal(X509_STORE_CTX_init(ctx, store, third, chain), 1);
			if (X509_verify_cert(ctx) != 1)
				fail_msg("chain of three: %s", X509_verify_cert_error_string(
								   X509_STORE_CTX_get_error(ctx)));
			assert_int_equal(X509_STORE_CTX_get0_chain(ctx) != NULL, 1);
			assert_int_equal(sk_X509_num(X509_STORE_CTX_get0_chain(ctx)), 3);
			sk_X509_free(chain);
			X509_STORE_CTX_free(ctx);
			X509_STORE_free(store);
			X509_free(third);
			X509_REQ_free(req3);
		}
		X509_free(sub);
		X509_free(leaf2);
		X509_free(leaf);
		X509_REQ_free(req);
		X509_free(ca);
	}
}

/* A request with an empty subject: issued only with a subjectAltName, critical then. */
static void test_issue_empty_subject(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Root", 1, NULL, 10);
	X509_NAME *empty = X509_NAME_new();
	struct cli_x509_cert_opts o = {10, 0, NULL, NULL};
	X509_REQ *req = NULL;
	X509 *x = NULL, *sentinel = (X509 *)&sentinel;
	char msg[MSG_LEN] = "";

	assert_non_null(empty);
	assert_int_equal(
	    cli_x509_make_csr(&keys[K_ED25519].signer, empty, NULL, &req, msg, sizeof(msg)),
	    P11A_OK);
	x = sentinel;
	assert_int_equal(cli_x509_issue(&keys[K_P256].signer, ca, req, &o, &x, msg, sizeof(msg)),
			 P11A_ERR_BAD_INPUT);
	assert_ptr_equal(x, sentinel);
	assert_non_null(strstr(msg, "names no one"));
	x = issue(&keys[K_P256], ca, req, 0, "DNS:only.example", 5);
	assert_int_equal(ext_critical(x, NID_subject_alt_name), 1);
	assert_chain(x, ca);
	/* Self-signed needs a subject. */
	o.days = 1;
	X509_free(x);
	x = sentinel;
	assert_int_equal(cli_x509_self_sign(&keys[K_P256].signer, empty, &o, &x, msg, sizeof(msg)),
			 P11A_ERR_BAD_INPUT);
	assert_ptr_equal(x, sentinel);
	X509_REQ_free(req);
	X509_NAME_free(empty);
	X509_free(ca);
}

static void issue_fails(struct test_key *k, X509 *ca, X509_REQ *req, unsigned days, int want,
			const char *needle)
{
	struct cli_x509_cert_opts o = {days, 0, NULL, NULL};
	X509 *sentinel = (X509 *)&sentinel, *x = sentinel;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_issue(&k->signer, ca, req, &o, &x, msg, sizeof(msg)), want);
	assert_ptr_equal(x, sentinel);
	if (needle != NULL && strstr(msg, needle) == NULL)
		fail_msg("issue: message \"%s\" lacks \"%s\"", msg, needle);
}

static void test_issue_refused(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Root", 1, NULL, 10);
	X509 *not_ca = self_signed(&keys[K_P256], "CN=Leaf", 0, NULL, 10);
	X509_REQ *req = make_csr(&keys[K_ED25519], "CN=x", NULL);
	X509_REQ *sentinel = (X509_REQ *)&sentinel, *r2 = sentinel;
	X509_NAME *name = name_of("CN=x");
	char msg[MSG_LEN] = "";

	/* The CA key is not the certificate's. */
	issue_fails(&keys[K_P384], ca, req, 10, P11A_ERR_BAD_INPUT,
		    "the CA's certificate (subject CN=Root) is not the CA key's");
	/* A certificate that is no CA's. */
	issue_fails(&keys[K_P256], not_ca, req, 10, P11A_ERR_BAD_INPUT,
		    "the CA's certificate (subject CN=Leaf) is not a CA certificate");
	/* Days out of bounds. */
	issue_fails(&keys[K_P256], ca, req, 0, P11A_ERR_BAD_INPUT, "it must be 1 to 36500 days");
	issue_fails(&keys[K_P256], ca, req, CLI_X509_DAYS_MAX + 1, P11A_ERR_BAD_INPUT,
		    "it must be 1 to 36500 days");
	/* The agent refuses: its error comes back as it is, the message untouched. */
	keys[K_P256].fail_with = P11A_ERR_DENIED;
	issue_fails(&keys[K_P256], ca, req, 10, P11A_ERR_DENIED, "");
	msg[0] = '\0';
	assert_int_equal(cli_x509_make_csr(&keys[K_P256].signer, name, NULL, &r2, msg, sizeof(msg)),
			 P11A_ERR_DENIED);
	assert_string_equal(msg, "");
	assert_ptr_equal(r2, sentinel);
	keys[K_P256].fail_with = 0;
	/* A signer that signs with another key than it says: caught. */
	keys[K_P256].sign_with = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(keys[K_P256].sign_with);
	issue_fails(&keys[K_P256], ca, req, 10, P11A_ERR_CRYPTO,
		    "does not verify with its public key");
	assert_int_equal(cli_x509_make_csr(&keys[K_P256].signer, name, NULL, &r2, msg, sizeof(msg)),
			 P11A_ERR_CRYPTO);
	assert_ptr_equal(r2, sentinel);
	assert_non_null(strstr(msg, "does not verify with its public key"));
	EVP_PKEY_free(keys[K_P256].sign_with);
	keys[K_P256].sign_with = NULL;

	X509_NAME_free(name);
	X509_REQ_free(req);
	X509_free(not_ca);
	X509_free(ca);
}

/* An expired CA certificate is refused: made by hand, notAfter in the past. */
static void test_issue_expired_ca(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Old", 1, NULL, 10);
	X509_REQ *req = make_csr(&keys[K_P256], "CN=x", NULL);

	/* Moved into the past and signed again with the same key. */
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(ca), -20, 0, NULL));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(ca), -10, 0, NULL));
	assert_true(X509_sign(ca, keys[K_P256].key, EVP_sha256()) > 0);
	issue_fails(&keys[K_P256], ca, req, 10, P11A_ERR_BAD_INPUT,
		    "the CA's certificate (subject CN=Old) expired (notAfter ");
	X509_REQ_free(req);
	X509_free(ca);
}

/* A certificate ends no later than its CA's: notAfter is capped at the issuer's. */
static void test_issue_capped(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Short", 1, NULL, 10);
	X509_REQ *req = make_csr(&keys[K_ED25519], "CN=x", NULL);
	X509 *longer = issue(&keys[K_P256], ca, req, 0, NULL, 397);
	X509 *shorter = issue(&keys[K_P256], ca, req, 0, NULL, 5);
	int day = 0, sec = 0;

	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(longer), X509_get0_notAfter(ca)), 0);
	assert_chain(longer, ca);
	/* Asked for less than the CA has left: what was asked. */
	assert_int_equal(
	    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(shorter), X509_get0_notAfter(shorter)),
	    1);
	assert_int_equal(day, 5);
	assert_int_equal(sec, 0);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(shorter), X509_get0_notAfter(ca)) < 0);
	X509_free(shorter);
	X509_free(longer);
	/*
	 * A CA whose notAfter is a GeneralizedTime before 2050 (RFC 5280 wants a
	 * UTCTime there): the capped leaf's is a UTCTime all the same.
	 */
	{
		ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_adj(NULL, time(NULL), 10, 0);

		assert_non_null(g);
		assert_int_equal(X509_set1_notAfter(ca, g), 1);
		ASN1_GENERALIZEDTIME_free(g);
		assert_true(X509_sign(ca, keys[K_P256].key, EVP_sha256()) > 0);
		assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(ca)), V_ASN1_GENERALIZEDTIME);
		longer = issue(&keys[K_P256], ca, req, 0, NULL, 397);
		assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(longer)), V_ASN1_UTCTIME);
		assert_int_equal(
		    ASN1_TIME_compare(X509_get0_notAfter(longer), X509_get0_notAfter(ca)), 0);
		X509_free(longer);
	}
	X509_REQ_free(req);
	X509_free(ca);
}

/* A message of a stranger's request's bytes reaches a terminal as printable ASCII only. */
static void assert_printable(const char *msg)
{
	for (size_t i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			fail_msg("byte 0x%02x of \"%s\" reached the message", (unsigned char)msg[i],
				 msg);
}

/* A GENERAL_NAME of type holding the bytes v[0..len): an IA5String, or an OCTET STRING for IP. */
static GENERAL_NAME *raw_name(int type, const char *v, size_t len)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_STRING *s =
	    ASN1_STRING_type_new(type == GEN_IPADD ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);

	assert_non_null(gen);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, v, (int)len), 1);
	GENERAL_NAME_set0_value(gen, type, s);
	return gen;
}

static GENERAL_NAME *other_name(void)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1);
	ASN1_TYPE *value = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();

	assert_non_null(gen);
	assert_non_null(oid);
	assert_non_null(value);
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_set(s, "admin@corp.example", -1), 1);
	ASN1_TYPE_set(value, V_ASN1_UTF8STRING, s);
	assert_int_equal(GENERAL_NAME_set0_othername(gen, oid, value), 1);
	return gen;
}

static GENERAL_NAME *dir_name(void)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();

	assert_non_null(gen);
	GENERAL_NAME_set0_value(gen, GEN_DIRNAME, name_of("CN=someone else"));
	return gen;
}

static GENERAL_NAME *rid_name(void)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.2.3.4", 1);

	assert_non_null(gen);
	assert_non_null(oid);
	GENERAL_NAME_set0_value(gen, GEN_RID, oid);
	return gen;
}

/*
 * A request (made here, signed correctly) whose subjectAltName is good,
 * then gen (taken), is refused with a message holding want; --san
 * replaces the names and then the certificate is issued.
 */
static void csr_san_refused(X509 *ca, GENERAL_NAME *gen, int n_good, const char *want)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	X509_NAME *subject = name_of("CN=asks for names");
	X509_REQ *req = NULL;
	X509 *x;
	char msg[MSG_LEN] = "", text[64];
	int i;

	assert_non_null(names);
	for (i = 0; i < n_good; i++) {
		snprintf(text, sizeof(text), "h%d.example", i);
		assert_true(sk_GENERAL_NAME_push(names, raw_name(GEN_DNS, text, strlen(text))) > 0);
	}
	if (gen != NULL)
		assert_true(sk_GENERAL_NAME_push(names, gen) > 0);
	assert_int_equal(
	    cli_x509_make_csr(&keys[K_ED25519].signer, subject, names, &req, msg, sizeof(msg)),
	    P11A_OK);
	issue_fails(&keys[K_P256], ca, req, 5, P11A_ERR_BAD_INPUT,
		    "the certificate request's subjectAltName: ");
	issue_fails(&keys[K_P256], ca, req, 5, P11A_ERR_BAD_INPUT, want);
	issue_fails(&keys[K_P256], ca, req, 5, P11A_ERR_BAD_INPUT, "--san LIST replaces");
	/* The same names checked alone: the same verdict. */
	assert_int_equal(cli_x509_check_san(names, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_printable(msg);
	x = issue(&keys[K_P256], ca, req, 0, "DNS:replaced.example", 5);
	assert_san_text(x, "DNS:replaced.example");
	X509_free(x);
	X509_REQ_free(req);
	X509_NAME_free(subject);
	GENERAL_NAMES_free(names);
}

/*
 * The names a request asks for pass the checks --san's do: a stranger's
 * request cannot slip a name into the certificate that --san would refuse.
 */
static void test_issue_csr_san_checked(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Root", 1, NULL, 30);
	GENERAL_NAMES *good = san_of("DNS:*.a.example,IP:::1,email:x@a.example,URI:https://a/");
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_check_san(good, msg, sizeof(msg)), P11A_OK);
	GENERAL_NAMES_free(good);

	csr_san_refused(ca, raw_name(GEN_DNS, "bad_name.example", 16), 0,
			"'DNS:bad_name.example': not a DNS name: a character other than");
	csr_san_refused(ca, raw_name(GEN_DNS, "a\0b.example", 11), 1,
			"'DNS:a?b.example': not a DNS name");
	csr_san_refused(ca, raw_name(GEN_DNS, "caf\xc3\xa9.example", 13), 0,
			"'DNS:caf??.example': not a DNS name: a non-ASCII character");
	csr_san_refused(ca, raw_name(GEN_DNS, "*.*.example", 11), 0,
			"a '*' other than a whole first label");
	csr_san_refused(ca, raw_name(GEN_DNS, "", 0), 0, "'DNS:': not a DNS name");
	csr_san_refused(ca, raw_name(GEN_EMAIL, "nobody", 6), 0,
			"'email:nobody': not a mail address");
	csr_san_refused(ca, raw_name(GEN_URI, "no-scheme", 9), 0,
			"'URI:no-scheme': not an absolute URI");
	csr_san_refused(ca, raw_name(GEN_URI, "https://a/\n", 11), 0, "must be percent-encoded");
	csr_san_refused(ca, raw_name(GEN_IPADD, "\x7f\0\0\1\1", 5), 0,
			"name 1 is an IP address of 5 bytes");
	csr_san_refused(ca, other_name(), 0, "name 1 is of type otherName");
	csr_san_refused(ca, dir_name(), 1, "name 2 is of type directoryName");
	csr_san_refused(ca, rid_name(), 2, "name 3 is of type registeredID");
	csr_san_refused(ca, NULL, 0, "it holds no name");
	csr_san_refused(ca, NULL, CLI_X509_MAX_ITEMS + 1, "it holds 65 names, more than 64");
	X509_free(ca);
}

/* name with one more attribute nid, of ASN.1 string type, holding v[0..len) as it is. */
static void add_raw(X509_NAME *name, int nid, int type, const char *v, int len)
{
	if (X509_NAME_add_entry_by_NID(name, nid, type, (const unsigned char *)v, len, -1, 0) != 1)
		fail_msg("cannot add attribute %d of %d bytes to a name", nid, len);
}

/* cli_x509_check_name() refuses name (taken) with a message of printable ASCII holding want. */
static void name_refused(X509_NAME *name, const char *want)
{
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_check_name(name, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	if (strstr(msg, want) == NULL)
		fail_msg("check_name: message \"%s\" lacks \"%s\"", msg, want);
	assert_printable(msg);
	X509_NAME_free(name);
}

/*
 * A request (made here, signed correctly) for the subject name (taken) is
 * refused with a message holding want, as cli_x509_check_name() refuses name.
 */
static void csr_subject_refused(X509 *ca, X509_NAME *name, const char *want)
{
	char msg[MSG_LEN] = "";
	X509_REQ *req = NULL;

	if (cli_x509_make_csr(&keys[K_ED25519].signer, name, NULL, &req, msg, sizeof(msg)) !=
	    P11A_OK)
		fail_msg("make_csr for \"%s\": %s", want, msg);
	issue_fails(&keys[K_P256], ca, req, 5, P11A_ERR_BAD_INPUT,
		    "the certificate request's subject: ");
	issue_fails(&keys[K_P256], ca, req, 5, P11A_ERR_BAD_INPUT, want);
	X509_REQ_free(req);
	name_refused(name, want);
}

/* The subject a request asks for passes the checks --subject's text gets. */
static void test_issue_csr_subject_checked(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Root", 1, NULL, 30);
	X509_NAME *name = name_of("CN=caf\xc3\xa9,O=Example,C=DE,emailAddress=a@b.example,DC=ex");
	X509_REQ *req;
	X509 *x;
	char msg[MSG_LEN] = "";
	int i;

	/* Good ones: text of ours, a BMPString, an attribute of no table's. */
	assert_int_equal(cli_x509_check_name(name, msg, sizeof(msg)), P11A_OK);
	X509_NAME_free(name);
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_BMPSTRING, "\0U\0n\0i\0\xe9", 8);
	add_raw(name, NID_givenName, V_ASN1_PRINTABLESTRING, "Ann", 3);
	assert_int_equal(cli_x509_check_name(name, msg, sizeof(msg)), P11A_OK);
	assert_int_equal(
	    cli_x509_make_csr(&keys[K_ED25519].signer, name, NULL, &req, msg, sizeof(msg)),
	    P11A_OK);
	x = issue(&keys[K_P256], ca, req, 0, NULL, 5);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), name), 0);
	X509_free(x);
	X509_REQ_free(req);
	X509_NAME_free(name);

	/* A NUL inside a CN: the old trick against name checks. */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_UTF8STRING, "bank.example\0.evil.example", 26);
	csr_subject_refused(ca, name, "'CN=bank.example?.evil.example': a control character");
	/* A terminal escape. */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_organizationName, V_ASN1_UTF8STRING, "a\x1b[31mb", 7);
	csr_subject_refused(ca, name, "'O=a?[31mb': a control character in the value of O");
	/* A C1 control (CSI), and a right-to-left override, hiding what the name says. */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_UTF8STRING,
		"a\xc2\x9b"
		"31mb",
		7);
	csr_subject_refused(ca, name, "'CN=a??31mb': a control character (U+0080 to U+009F)");
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_organizationName, V_ASN1_UTF8STRING, "Bank \xe2\x80\xaemoc.live", 16);
	csr_subject_refused(ca, name, "a bidirectional formatting character");
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_organizationName, V_ASN1_UTF8STRING, "x\xe2\x81\xa6y", 5);
	csr_subject_refused(ca, name, "a bidirectional formatting character");
	/* Not UTF-8. */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_UTF8STRING, "caf\xe9", 4);
	name_refused(name, "attribute 1 (CN) is not text");
	/* Too long, a bad country, non-ASCII where ASCII is due, an empty value. */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_UTF8STRING,
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 65);
	csr_subject_refused(ca, name, "CN has at most 64 characters, this one 65");
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_UTF8STRING, "ok", 2);
	add_raw(name, NID_countryName, V_ASN1_PRINTABLESTRING, "de", 2);
	csr_subject_refused(ca, name, "'C=de': C is a country code of two capital letters");
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_pkcs9_emailAddress, V_ASN1_UTF8STRING, "\xc3\xa9@b.example", 12);
	csr_subject_refused(ca, name, "'emailAddress=??@b.example': emailAddress takes ASCII");
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_givenName, V_ASN1_UTF8STRING, "", 0);
	csr_subject_refused(ca, name, "'GN=': empty value for GN");
	/* An odd-length BMPString is no text. (OpenSSL will not encode or read either in a
	 * request.) */
	assert_non_null(name = X509_NAME_new());
	add_raw(name, NID_commonName, V_ASN1_BMPSTRING, "\0U", 2);
	assert_int_equal(
	    ASN1_STRING_set(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 0)), "\0U\0", 3), 1);
	name_refused(name, "attribute 1 (CN) is not text");
	/* Too many attributes. */
	assert_non_null(name = X509_NAME_new());
	for (i = 0; i <= CLI_X509_MAX_ITEMS; i++)
		add_raw(name, NID_organizationalUnitName, V_ASN1_UTF8STRING, "u", 1);
	csr_subject_refused(ca, name, "it has 65 attributes, more than 64");
	X509_free(ca);
}

static EXTENDED_KEY_USAGE *eku_of(const char *text)
{
	EXTENDED_KEY_USAGE *eku = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_parse_eku(text, &eku, msg, sizeof(msg)) != P11A_OK)
		fail_msg("parse_eku(%s): %s", text, msg);
	return eku;
}

static void eku_bad(const char *text, const char *want)
{
	EXTENDED_KEY_USAGE *sentinel = (EXTENDED_KEY_USAGE *)&sentinel, *eku = sentinel;
	char msg[MSG_LEN] = "";

	assert_int_equal(cli_x509_parse_eku(text, &eku, msg, sizeof(msg)), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(eku, sentinel);
	if (strstr(msg, want) == NULL)
		fail_msg("parse_eku(%s): message \"%s\" lacks \"%s\"", text, msg, want);
}

/* The certificate issued by a CA with eku: what OpenSSL's purpose checks say of it. */
static X509 *issue_eku(X509 *ca, X509_REQ *req, const char *eku_text)
{
	EXTENDED_KEY_USAGE *eku = eku_text != NULL ? eku_of(eku_text) : NULL;
	struct cli_x509_cert_opts o = {30, 0, NULL, eku};
	X509 *x = NULL;
	char msg[MSG_LEN] = "";

	if (cli_x509_issue(&keys[K_P256].signer, ca, req, &o, &x, msg, sizeof(msg)) != P11A_OK)
		fail_msg("issue(--eku %s): %s", eku_text, msg);
	EXTENDED_KEY_USAGE_free(eku);
	assert_chain(x, ca);
	return x;
}

static void test_eku(void **state)
{
	X509 *ca = self_signed(&keys[K_P256], "CN=Root", 1, NULL, 100);
	X509_REQ *req = make_csr(&keys[K_RSA], "CN=www.example", "DNS:www.example");
	EXTENDED_KEY_USAGE *eku = eku_of(" serverAuth , CLIENTAUTH,1.3.6.1.5.5.7.3.3");
	X509 *x;
	char many[1024] = "";
	int i;

	assert_int_equal(sk_ASN1_OBJECT_num(eku), 3);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 2)), NID_code_sign);
	EXTENDED_KEY_USAGE_free(eku);
	/* Any dotted OID, even one that names something else. */
	eku = eku_of("1.2.3.4.5,2.5.4.3");
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_commonName);
	EXTENDED_KEY_USAGE_free(eku);

	eku_bad("", "empty extended key usage list");
	eku_bad("serverAuth,", "ends with a ','");
	eku_bad("serverAuth,,clientAuth", "an empty item after");
	eku_bad("webServer", "'webServer': unknown purpose (known: serverAuth, clientAuth");
	eku_bad("CN", "'CN': unknown purpose");
	eku_bad("1..2", "'1..2': unknown purpose");
	eku_bad("serverAuth,1.3.6.1.5.5.7.3.1",
		"'1.3.6.1.5.5.7.3.1': that purpose is in the list twice");
	eku_bad("timeStamping,codeSigning", "timeStamping goes alone");
	for (i = 0; i <= CLI_X509_MAX_ITEMS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s1.2.3.%d",
			 i > 0 ? "," : "", i);
	eku_bad(many, "more than 64 purposes");

	/* serverAuth: a TLS server's certificate, not a client's. */
	x = issue_eku(ca, req, "serverAuth");
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 0);
	assert_int_equal(ext_critical(x, NID_ext_key_usage), 0);
	X509_free(x);
	x = issue_eku(ca, req, "clientAuth");
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 0);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 1);
	X509_free(x);
	/* timeStamping: critical, as RFC 3161 asks and OpenSSL's TSA check wants. */
	x = issue_eku(ca, req, "timeStamping");
	assert_int_equal(ext_critical(x, NID_ext_key_usage), 1);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_TIMESTAMP_SIGN, 0), 1);
	X509_free(x);
	/* None: no extension, every purpose open. */
	x = issue_eku(ca, req, NULL);
	assert_int_equal(ext_critical(x, NID_ext_key_usage), -1);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 1);
	X509_free(x);
	X509_REQ_free(req);
	X509_free(ca);
}

/* Keys no algorithm here fits. */
static void test_unsupported_keys(void **state)
{
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *k2 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	p11a_alg alg = P11A_ALG_NONE;
	char msg[MSG_LEN] = "";

	assert_non_null(k1);
	assert_non_null(k2);
	assert_int_equal(cli_x509_sig_alg(k1, &alg, msg, sizeof(msg)), P11A_ERR_NOT_SUPPORTED);
	assert_non_null(strstr(msg, "an EC key on secp256k1 cannot sign certificates"));
	assert_int_equal(cli_x509_sig_alg(k2, &alg, msg, sizeof(msg)), P11A_ERR_NOT_SUPPORTED);
	assert_non_null(strstr(msg, "a X25519 key cannot sign certificates"));
	assert_int_equal(alg, P11A_ALG_NONE);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k1);
	{
		p11a_alg want[N_KEYS] = {P11A_ALG_RSA_PKCS1_SHA256, P11A_ALG_ECDSA_SHA256,
					 P11A_ALG_ECDSA_SHA384, P11A_ALG_ECDSA_SHA512,
					 P11A_ALG_ED25519};
		for (size_t i = 0; i < N_KEYS; i++)
			assert_int_equal(keys[i].alg, want[i]);
	}
}

static void test_read_cert(void **state)
{
	X509 *ca = self_signed(&keys[K_ED25519], "CN=R", 1, NULL, 1);
	X509 *back = NULL, *sentinel = (X509 *)&sentinel;
	uint8_t *der = NULL;
	int der_len = i2d_X509(ca, &der);
	char msg[MSG_LEN] = "";

	assert_true(der_len > 0);
	assert_int_equal(cli_x509_read_cert(der, (size_t)der_len, &back, msg, sizeof(msg)),
			 P11A_OK);
	assert_int_equal(X509_cmp(back, ca), 0);
	X509_free(back);
	back = sentinel;
	assert_int_equal(cli_x509_read_cert(der, (size_t)der_len - 1, &back, msg, sizeof(msg)),
			 P11A_ERR_BAD_INPUT);
	assert_ptr_equal(back, sentinel);
	OPENSSL_free(der);
	X509_free(ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_good),
	    cmocka_unit_test(test_name_bad),
	    cmocka_unit_test(test_san_good),
	    cmocka_unit_test(test_san_bad),
	    cmocka_unit_test(test_csr),
	    cmocka_unit_test(test_csr_trailing_zero),
	    cmocka_unit_test(test_csr_bad),
	    cmocka_unit_test(test_self_signed),
	    cmocka_unit_test(test_issue),
	    cmocka_unit_test(test_issue_empty_subject),
	    cmocka_unit_test(test_issue_refused),
	    cmocka_unit_test(test_issue_expired_ca),
	    cmocka_unit_test(test_issue_capped),
	    cmocka_unit_test(test_issue_csr_san_checked),
	    cmocka_unit_test(test_issue_csr_subject_checked),
	    cmocka_unit_test(test_eku),
	    cmocka_unit_test(test_unsupported_keys),
	    cmocka_unit_test(test_read_cert),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
