/*
 * test-sshkey: OpenSSH key blobs, fingerprints and signature blobs
 * (proto/sshkey.c).
 *
 * The golden values were written by OpenSSH 9.2 itself: keys made with
 * openssl genpkey, their lines by ssh-keygen -i -m PKCS8 (which does not
 * take Ed25519: that key was made by ssh-keygen -t ed25519, its PEM written
 * from its raw public key), their fingerprints by ssh-keygen -lf, and their
 * signatures by 'ssh-keygen -Y sign -f KEY -n file < msg', msg being
 * sign_msg below.
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "buf.h"
#include "p11agent.h"
#include "sigfmt.h"
#include "sshkey.h"

/* The message the golden SSHSIG signatures are over. */
static const char sign_msg[] = "hello from p11agent\n";

/* RSA-2048 */
static const char rsa_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtd4BG9sdQJV+x1MXZhAS\n"
			      "Xvucsly5nIYOD4yGKvMS5+pAMh4oDlY2rJVHcKCJcJmmTIzazHOUY2jRQNjsMKIM\n"
			      "WqxYdu77YDLEue362ZzP1PjLikXONlNCAPqhHv1EWcM1MfKRj2Hp/SZHcvR0WufX\n"
			      "sGD4dGLCi8TC3JZkY5NOvBzm534/ZnfobpX9SnDbRg1sT1lAM0Taz9Of0qEmIyJR\n"
			      "vPVc4fz6ZfI9h9cMZdovsMc+Xc9V1TeIFD2for8zrEanHXIMNW6IXRZIvXuQm4O7\n"
			      "ieRqu160la5yHb3Yy36a1DCURsdX6NUeEJ6Av+hEZkJacrko4Cbks+hrVD5PSIp4\n"
			      "UwIDAQAB\n"
			      "-----END PUBLIC KEY-----\n";
static const char rsa_ssh[] =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC13gEb2x1AlX7HUxdmEBJe+5yyXLmchg4PjIYq8xLn"
    "6kAyHigOVjaslUdwoIlwmaZMjNrMc5RjaNFA2OwwogxarFh27vtgMsS57frZnM/U+MuKRc42U0IA+qEe"
    "/URZwzUx8pGPYen9Jkdy9HRa59ewYPh0YsKLxMLclmRjk068HObnfj9md+hulf1KcNtGDWxPWUAzRNrP"
    "05/SoSYjIlG89Vzh/Ppl8j2H1wxl2i+wxz5dz1XVN4gUPZ+ivzOsRqcdcgw1bohdFki9e5Cbg7uJ5Gq7"
    "XrSVrnIdvdjLfprUMJRGx1fo1R4QnoC/6ERmQlpyuSjgJuSz6GtUPk9IinhT";
static const char rsa_fp[] = "SHA256:/5aEF1kOa7/wMjuOR1GvF7gOTHMU8d6OkgRpq3zYTd0";
/* ssh-keygen -Y sign -n file over sign_msg */
static const uint8_t rsa_sshsig[] = {
    0x00, 0x00, 0x00, 0x0c, 0x72, 0x73, 0x61, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x2d, 0x35, 0x31, 0x32,
    0x00, 0x00, 0x01, 0x00, 0x6d, 0xca, 0x77, 0x0a, 0x60, 0x6d, 0x14, 0x65, 0x30, 0x9a, 0xd1, 0x11,
    0x57, 0x39, 0x69, 0xa4, 0x98, 0xa7, 0x5d, 0xec, 0x62, 0x8a, 0xf7, 0x74, 0x8c, 0x04, 0x7a, 0xee,
    0xe0, 0xb9, 0x71, 0x64, 0xad, 0x7c, 0x75, 0x73, 0x23, 0x8b, 0xf3, 0x78, 0xac, 0x2a, 0x67, 0x65,
    0x36, 0x74, 0x46, 0xf5, 0xb1, 0x3a, 0x35, 0x6f, 0x40, 0xed, 0x75, 0x89, 0x99, 0x3c, 0xac, 0x00,
    0xa0, 0xa4, 0x41, 0xc0, 0x18, 0x55, 0xc5, 0xe5, 0x21, 0xfa, 0x61, 0xb1, 0x72, 0xd1, 0x62, 0x1f,
    0x9d, 0x33, 0x33, 0x3d, 0xfc, 0xa8, 0xd6, 0x03, 0x3b, 0x4d, 0x76, 0x18, 0x47, 0x68, 0x51, 0x5e,
    0x95, 0x2a, 0xbc, 0xec, 0xe2, 0xa5, 0x14, 0x96, 0xf1, 0xb4, 0xd0, 0x5a, 0x10, 0x03, 0xef, 0x6c,
    0x94, 0xcb, 0x22, 0xaa, 0x1f, 0xc1, 0xe2, 0x7c, 0xda, 0xdb, 0x37, 0xe8, 0xd8, 0x4f, 0xe7, 0xff,
    0xa9, 0x65, 0xca, 0xad, 0x55, 0x53, 0xa5, 0x0e, 0x00, 0x92, 0x70, 0xbd, 0xe6, 0xa1, 0x41, 0xa6,
    0x25, 0x93, 0x45, 0x9f, 0xec, 0x08, 0x9d, 0x2f, 0xf2, 0xd0, 0x1a, 0x1c, 0x61, 0xda, 0xf8, 0xc6,
    0x21, 0xa7, 0x35, 0xda, 0xa7, 0x15, 0x50, 0x94, 0x7d, 0xf2, 0x9b, 0xdf, 0x79, 0x93, 0x48, 0xf6,
    0x41, 0x21, 0xfa, 0x21, 0x06, 0x01, 0x77, 0xf2, 0x64, 0x64, 0xe4, 0xdc, 0x03, 0x17, 0xd9, 0x6a,
    0x82, 0xbe, 0x55, 0x6a, 0x2b, 0xc3, 0xa1, 0x20, 0x8d, 0xcf, 0x96, 0x33, 0x42, 0x1f, 0x6f, 0xa0,
    0xc1, 0x8e, 0xe6, 0x51, 0x66, 0x34, 0x21, 0x98, 0x3c, 0x69, 0x1c, 0xad, 0xee, 0x24, 0xdc, 0x52,
    0xff, 0x83, 0x0a, 0x96, 0xfd, 0xba, 0x93, 0x5b, 0xe8, 0x6e, 0x1b, 0xae, 0xf2, 0x48, 0xb1, 0xcd,
    0x56, 0x8a, 0x18, 0xe1, 0x02, 0x14, 0xd2, 0x17, 0x01, 0xf3, 0xdf, 0xfd, 0x43, 0x69, 0x1d, 0x70,
    0x43, 0xe9, 0x9d, 0x15,
};

/* P-256 */
static const char p256_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEF/ygGHXi+s9H5HHufcjqBNcJtjri\n"
			       "x7ksM55jvOOiJvagtDfGRtMR6rC6jMdgDeayjKdyrJe0L75ZStGYANJhBw==\n"
			       "-----END PUBLIC KEY-----\n";
static const char p256_ssh[] =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBf8oBh1"
    "4vrPR+Rx7n3I6gTXCbY64se5LDOeY7zjoib2oLQ3xkbTEeqwuozHYA3msoyncqyXtC++WUrRmADSYQc=";
static const char p256_fp[] = "SHA256:LK3YaQ/siwmjgkHjHdIIl8SMoL8YZhgjyzOOI3ukkDw";
/* ssh-keygen -Y sign -n file over sign_msg */
static const uint8_t p256_sshsig[] = {
    0x00, 0x00, 0x00, 0x13, 0x65, 0x63, 0x64, 0x73, 0x61, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x2d,
    0x6e, 0x69, 0x73, 0x74, 0x70, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00,
    0x20, 0x5b, 0x57, 0xc3, 0x2c, 0x0e, 0xf4, 0x5d, 0x81, 0x10, 0x8e, 0xfa, 0x47, 0x4e, 0x0e,
    0x77, 0x65, 0xb4, 0x5d, 0xa9, 0x63, 0xb7, 0x98, 0x5e, 0xad, 0x09, 0x2d, 0xc5, 0x28, 0xcd,
    0x7e, 0x66, 0x56, 0x00, 0x00, 0x00, 0x20, 0x1b, 0xb0, 0xc6, 0xe1, 0x74, 0xe8, 0xc4, 0x10,
    0x38, 0xb0, 0x92, 0x71, 0x84, 0x9b, 0xe5, 0x64, 0xf5, 0x18, 0xbf, 0xac, 0x8b, 0x35, 0x42,
    0x0c, 0xb4, 0xf2, 0x57, 0xf4, 0x56, 0xfe, 0xa4, 0x47,
};

/* P-384 */
static const char p384_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEE0NMNoFC7Rtv2cBdAvduhM9HpM3YfGWV\n"
			       "lGUSdm6D4kv16g+L8w/LdO0/jRveZ2p+pYCEbTxF92kaI54giM/szPsDX2lAsPKK\n"
			       "UAEKfayVefq6o0zAgy5k9nMr80zbbjH4\n"
			       "-----END PUBLIC KEY-----\n";
static const char p384_ssh[] =
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBBNDTDaB"
    "Qu0bb9nAXQL3boTPR6TN2HxllZRlEnZug+JL9eoPi/MPy3TtP40b3mdqfqWAhG08RfdpGiOeIIjP7Mz7"
    "A19pQLDyilABCn2slXn6uqNMwIMuZPZzK/NM224x+A==";
static const char p384_fp[] = "SHA256:Lw6nNo8G62p/EaL4opR0SLgkqsVp74fZ6XRx8fQ+HSw";
/* ssh-keygen -Y sign -n file over sign_msg */
static const uint8_t p384_sshsig[] = {
    0x00, 0x00, 0x00, 0x13, 0x65, 0x63, 0x64, 0x73, 0x61, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x2d,
    0x6e, 0x69, 0x73, 0x74, 0x70, 0x33, 0x38, 0x34, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00, 0x00,
    0x31, 0x00, 0xd9, 0x99, 0x46, 0x48, 0x41, 0xd2, 0x37, 0x43, 0x42, 0x8f, 0x44, 0x05, 0x5b,
    0xe2, 0xcb, 0x89, 0x87, 0xd1, 0x4e, 0x95, 0x37, 0x9d, 0x43, 0xc5, 0x40, 0x80, 0xa5, 0xb6,
    0xd0, 0xe7, 0xf8, 0x27, 0xae, 0x9f, 0xb1, 0xf3, 0x94, 0x59, 0xde, 0xe8, 0x7b, 0x8e, 0x3a,
    0x18, 0x6a, 0x50, 0x3d, 0xb4, 0x00, 0x00, 0x00, 0x30, 0x28, 0x15, 0x32, 0x45, 0xa3, 0x5c,
    0xae, 0x79, 0x1b, 0x7f, 0xc7, 0x50, 0x35, 0x23, 0x00, 0x80, 0x1d, 0xc1, 0x13, 0xa2, 0x51,
    0x0b, 0xd7, 0xfd, 0xd1, 0x45, 0x10, 0x52, 0x45, 0x2e, 0x8a, 0xa7, 0xa1, 0xbb, 0x2c, 0x63,
    0x10, 0xe3, 0x5a, 0xcf, 0xed, 0xb2, 0x95, 0x5c, 0xc0, 0x4d, 0x24, 0xb5,
};

/* P-521 */
static const char p521_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			       "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBvCgVwMlHiPT5kdvIwM+0oO0H7h0D\n"
			       "vl2fJR7IrDZRzfg+/QNYjGKN/JU3pb0gtDr1nyz9haNBh3MjDgYLsIKQLHEBwED3\n"
			       "R+Zh4p9+4cHWnWm+DP9sWKbFaqePOcfvmzMIBB3WLtrlbjhqGNLVh8grAhRxuW6z\n"
			       "L7hnLKsQD+5Gyk/i2wo=\n"
			       "-----END PUBLIC KEY-----\n";
static const char p521_ssh[] =
    "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAG8KBXA"
    "yUeI9PmR28jAz7Sg7QfuHQO+XZ8lHsisNlHN+D79A1iMYo38lTelvSC0OvWfLP2Fo0GHcyMOBguwgpAs"
    "cQHAQPdH5mHin37hwdadab4M/2xYpsVqp485x++bMwgEHdYu2uVuOGoY0tWHyCsCFHG5brMvuGcsqxAP"
    "7kbKT+LbCg==";
static const char p521_fp[] = "SHA256:ofcDKlSeob2/KjhFmcR78ifnKoNPKtgo4RXIupKYyvo";
/* ssh-keygen -Y sign -n file over sign_msg */
static const uint8_t p521_sshsig[] = {
    0x00, 0x00, 0x00, 0x13, 0x65, 0x63, 0x64, 0x73, 0x61, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x2d, 0x6e,
    0x69, 0x73, 0x74, 0x70, 0x35, 0x32, 0x31, 0x00, 0x00, 0x00, 0x8c, 0x00, 0x00, 0x00, 0x42, 0x01,
    0x7d, 0x90, 0x15, 0xdc, 0xe8, 0xb5, 0xb8, 0x3f, 0xc8, 0x06, 0x65, 0xa3, 0xbb, 0xd3, 0x49, 0x07,
    0x6c, 0xb3, 0x8b, 0xb4, 0x77, 0xaf, 0x06, 0x4b, 0xe0, 0x2c, 0xba, 0x1b, 0xfa, 0xfb, 0x2c, 0xce,
    0x3a, 0xb2, 0x0a, 0x7e, 0x9e, 0x05, 0x9a, 0x87, 0x0a, 0xd4, 0x7c, 0xb9, 0x31, 0x8e, 0xb6, 0x49,
    0x47, 0xab, 0xbb, 0xda, 0x20, 0xd0, 0x9c, 0x8f, 0x42, 0x44, 0xd2, 0xde, 0x74, 0xd6, 0xd1, 0x08,
    0xd3, 0x00, 0x00, 0x00, 0x42, 0x01, 0x4c, 0x50, 0x9b, 0x04, 0x8f, 0x69, 0x06, 0x22, 0x58, 0x92,
    0x8a, 0x73, 0x21, 0xe5, 0x08, 0xe3, 0x7c, 0x8d, 0x82, 0xdf, 0x21, 0x95, 0xd8, 0xcf, 0x12, 0x05,
    0xd2, 0x7a, 0x11, 0x58, 0xea, 0x07, 0xcd, 0x5d, 0x00, 0x7d, 0x12, 0xff, 0xe1, 0x81, 0x3f, 0x28,
    0x5c, 0x5e, 0x2e, 0x66, 0x56, 0xca, 0x89, 0xb9, 0xc0, 0x75, 0x8b, 0x00, 0x49, 0x51, 0x6a, 0xea,
    0x3b, 0x46, 0xa2, 0xfd, 0xfe, 0xb1, 0x5a,
};

/* Ed25519 */
static const char ed25519_pem[] = "-----BEGIN PUBLIC KEY-----\n"
				  "MCowBQYDK2VwAyEA8CCtfV/uvB5dwfBFWOM2u5zGQuZjR84l/d9IUylutKw=\n"
				  "-----END PUBLIC KEY-----\n";
static const char ed25519_ssh[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAgrX1f7rweXcHwRVjjNrucxkLmY0fOJf3fSFMpbrSs";
static const char ed25519_fp[] = "SHA256:H1667nN033Og0pi/CNxVFr8s5b9OuTRqkyY4hnq++go";
/* ssh-keygen -Y sign -n file over sign_msg */
static const uint8_t ed25519_sshsig[] = {
    0x00, 0x00, 0x00, 0x0b, 0x73, 0x73, 0x68, 0x2d, 0x65, 0x64, 0x32, 0x35, 0x35, 0x31,
    0x39, 0x00, 0x00, 0x00, 0x40, 0xea, 0x04, 0xbe, 0x13, 0x8c, 0xa6, 0xef, 0x49, 0x27,
    0x3d, 0x6e, 0x87, 0xa2, 0x1b, 0xdb, 0xe9, 0x20, 0xee, 0xe0, 0x7d, 0x10, 0xce, 0xfb,
    0x51, 0x92, 0xce, 0x98, 0xdf, 0x0c, 0x88, 0xc2, 0x66, 0x67, 0x46, 0xb4, 0xd3, 0x86,
    0xb1, 0xa8, 0xc6, 0x94, 0xcb, 0x95, 0xd7, 0xe7, 0x9e, 0xc2, 0xaa, 0xcb, 0x22, 0x40,
    0x2c, 0xce, 0xe7, 0x12, 0x3b, 0xb0, 0x84, 0x80, 0x52, 0x13, 0x19, 0x09, 0x0e,
};

struct golden {
	const char *name;
	const char *pem;
	const char *ssh; /* "type base64", as ssh-keygen writes it */
	const char *fp;
	const uint8_t *sshsig; /* the signature blob of the golden SSHSIG */
	size_t sshsig_len;
};

#define GOLDEN(n, k)                                                                               \
	{                                                                                          \
		n, k##_pem, k##_ssh, k##_fp, k##_sshsig, sizeof(k##_sshsig)                        \
	}
static const struct golden goldens[] = {
    GOLDEN("RSA-2048", rsa), GOLDEN("P-256", p256),	 GOLDEN("P-384", p384),
    GOLDEN("P-521", p521),   GOLDEN("Ed25519", ed25519),
};
#define N_GOLDEN (sizeof(goldens) / sizeof(goldens[0]))

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey;

	assert_non_null(bio);
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(pkey);
	return pkey;
}

/* "type base64" of a blob. */
static char *ssh_line(const char *type, const uint8_t *blob, size_t len)
{
	char *line = malloc(strlen(type) + 2 + 4 * ((len + 2) / 3) + 1);
	size_t n;

	assert_non_null(line);
	n = (size_t)sprintf(line, "%s ", type);
	EVP_EncodeBlock((unsigned char *)line + n, blob, (int)len);
	return line;
}

static void test_golden_blobs(void **state)
{
	size_t i, len, der_len, len2;
	uint8_t *blob, *blob2, *der = NULL;
	char type[SSHKEY_TYPE_LEN], fp[SSHKEY_FP_LEN], msg[256], *line;
	EVP_PKEY *pkey, *back;
	int n;

	for (i = 0; i < N_GOLDEN; i++) {
		pkey = pem_key(goldens[i].pem);
		assert_int_equal(sshkey_blob(pkey, &blob, &len, type, msg, sizeof(msg)), P11A_OK);
		line = ssh_line(type, blob, len);
		assert_string_equal(line, goldens[i].ssh);
		sshkey_fingerprint(blob, len, fp);
		assert_string_equal(fp, goldens[i].fp);
		assert_int_equal(strlen(fp), SSHKEY_FP_LEN - 1);

		/* The same from the DER SubjectPublicKeyInfo. */
		n = i2d_PUBKEY(pkey, &der);
		assert_true(n > 0);
		der_len = (size_t)n;
		assert_int_equal(
		    sshkey_blob_from_spki(der, der_len, &blob2, &len2, NULL, msg, sizeof(msg)),
		    P11A_OK);
		assert_int_equal(len2, len);
		assert_memory_equal(blob2, blob, len);

		/* And back: the same key. */
		assert_int_equal(sshkey_from_blob(blob, len, &back), P11A_OK);
		assert_int_equal(EVP_PKEY_eq(back, pkey), 1);

		EVP_PKEY_free(back);
		OPENSSL_free(der);
		der = NULL;
		free(blob2);
		free(line);
		free(blob);
		EVP_PKEY_free(pkey);
	}
}

static void test_blob_not_supported(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	uint8_t *blob = NULL, junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	size_t len = 0;
	char msg[256] = "";

	assert_non_null(pkey);
	assert_int_equal(sshkey_blob(pkey, &blob, &len, NULL, msg, sizeof(msg)),
			 P11A_ERR_NOT_SUPPORTED);
	assert_null(blob);
	assert_true(strstr(msg, "OpenSSH") != NULL);
	assert_non_null(ec);
	assert_int_equal(sshkey_blob(ec, &blob, &len, NULL, msg, sizeof(msg)),
			 P11A_ERR_NOT_SUPPORTED);
	assert_true(strstr(msg, "curve") != NULL);
	assert_int_equal(
	    sshkey_blob_from_spki(junk, sizeof(junk), &blob, &len, NULL, msg, sizeof(msg)),
	    P11A_ERR_CRYPTO);
	assert_null(blob);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(pkey);
}

/* The blob of golden i. */
static uint8_t *golden_blob(size_t i, size_t *out_len)
{
	EVP_PKEY *pkey = pem_key(goldens[i].pem);
	uint8_t *blob;
	char msg[256];

	assert_int_equal(sshkey_blob(pkey, &blob, out_len, NULL, msg, sizeof(msg)), P11A_OK);
	EVP_PKEY_free(pkey);
	return blob;
}

static void expect_bad_blob(const uint8_t *blob, size_t len)
{
	EVP_PKEY *pkey = (EVP_PKEY *)&pkey; /* a sentinel: untouched on failure */

	assert_int_equal(sshkey_from_blob(blob, len, &pkey), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(pkey, (EVP_PKEY *)&pkey);
}

static void test_from_blob_truncated_and_trailing(void **state)
{
	size_t i, len, cut;
	uint8_t *blob, *longer;

	for (i = 0; i < N_GOLDEN; i++) {
		blob = golden_blob(i, &len);
		for (cut = 0; cut < len; cut++)
			expect_bad_blob(blob, cut);
		longer = malloc(len + 1);
		assert_non_null(longer);
		memcpy(longer, blob, len);
		longer[len] = 0;
		expect_bad_blob(longer, len + 1);
		free(longer);
		free(blob);
	}
}

static void put_bytes_string(struct buf *b, const uint8_t *p, size_t len)
{
	assert_int_equal(buf_put_string(b, p, len), P11A_OK);
}

static void put_str(struct buf *b, const char *s)
{
	assert_int_equal(buf_put_cstring(b, s), P11A_OK);
}

/* b = an "ssh-rsa" blob of e and n as they are (no mpint fixing). */
static void put_rsa(struct buf *b, const uint8_t *e, size_t e_len, const uint8_t *n, size_t n_len)
{
	buf_reset(b);
	put_str(b, "ssh-rsa");
	put_bytes_string(b, e, e_len);
	put_bytes_string(b, n, n_len);
}

static void test_from_blob_bad_fields(void **state)
{
	EVP_PKEY *pkey = NULL;
	struct buf *b = buf_new(0);
	uint8_t point[65], raw[32], e[] = {0x01, 0x00, 0x01}, n[256], neg[] = {0x80, 0x01};
	size_t len, i;
	uint8_t *blob;

	assert_non_null(b);
	/* An unknown type, and SHA-1's certificate type. */
	put_str(b, "ssh-dss");
	expect_bad_blob(buf_data(b), buf_len(b));
	buf_reset(b);
	put_str(b, "ssh-rsa-cert-v01@openssh.com");
	expect_bad_blob(buf_data(b), buf_len(b));

	/* P-256's blob with another curve's name inside. */
	blob = golden_blob(1, &len);
	assert_int_equal(len, 4 + 19 + 4 + 8 + 4 + 65);
	memcpy(point, blob + len - 65, 65);
	buf_reset(b);
	put_str(b, "ecdsa-sha2-nistp256");
	put_str(b, "nistp384");
	put_bytes_string(b, point, sizeof(point));
	expect_bad_blob(buf_data(b), buf_len(b));
	/* A compressed point. */
	buf_reset(b);
	put_str(b, "ecdsa-sha2-nistp256");
	put_str(b, "nistp256");
	point[0] = 0x02 | (point[64] & 1);
	put_bytes_string(b, point, 33);
	expect_bad_blob(buf_data(b), buf_len(b));
	/* A point off the curve. */
	memcpy(point, blob + len - 65, 65);
	point[64] ^= 0x01;
	buf_reset(b);
	put_str(b, "ecdsa-sha2-nistp256");
	put_str(b, "nistp256");
	put_bytes_string(b, point, sizeof(point));
	expect_bad_blob(buf_data(b), buf_len(b));
	free(blob);

	/* Ed25519 of 31 bytes. */
	memset(raw, 0x11, sizeof(raw));
	buf_reset(b);
	put_str(b, "ssh-ed25519");
	put_bytes_string(b, raw, 31);
	expect_bad_blob(buf_data(b), buf_len(b));

	/* RSA: a negative modulus, a 512-bit one, a negative exponent, an even one. */
	for (i = 0; i < sizeof(n); i++)
		n[i] = (uint8_t)(0x81 + i);
	n[sizeof(n) - 1] |= 1;
	put_rsa(b, e, sizeof(e), n, sizeof(n)); /* high bit set, no 0x00: negative */
	expect_bad_blob(buf_data(b), buf_len(b));
	n[0] = 0x41; /* from here a positive odd 2047-bit modulus */
	put_rsa(b, e, sizeof(e), n, sizeof(n));
	assert_int_equal(sshkey_from_blob(buf_data(b), buf_len(b), &pkey), P11A_OK);
	EVP_PKEY_free(pkey);
	put_rsa(b, e, sizeof(e), n + sizeof(n) - 64, 64);
	expect_bad_blob(buf_data(b), buf_len(b));
	put_rsa(b, neg, sizeof(neg), n, sizeof(n));
	expect_bad_blob(buf_data(b), buf_len(b));
	e[2] = 0x02;
	put_rsa(b, e, sizeof(e), n, sizeof(n));
	expect_bad_blob(buf_data(b), buf_len(b));
	e[2] = 0x01;
	/* A 0x00 the modulus does not need: two encodings of one key are refused. */
	memmove(n + 1, n, sizeof(n) - 1);
	n[0] = 0x00;
	put_rsa(b, e, sizeof(e), n, sizeof(n));
	expect_bad_blob(buf_data(b), buf_len(b));
	buf_free(b);
}

/* The ECDSA signature blob of r||s on curve type, checked against want (the inner mpints). */
static void check_ecdsa_blob(const char *type, const uint8_t *rs, size_t rs_len,
			     const uint8_t *want_inner, size_t want_len)
{
	uint8_t *blob = NULL;
	size_t len = 0, tlen = strlen(type);

	assert_int_equal(sshkey_sig_blob(type, rs, rs_len, &blob, &len), P11A_OK);
	assert_int_equal(len, 4 + tlen + 4 + want_len);
	assert_int_equal(blob[3], tlen);
	assert_memory_equal(blob + 4, type, tlen);
	assert_int_equal(blob[4 + tlen + 3], want_len);
	assert_memory_equal(blob + 4 + tlen + 4, want_inner, want_len);
	free(blob);
}

static void test_sig_blob_mpint_edges(void **state)
{
	uint8_t rs[132], want[150];
	size_t w;

	/* P-256: r with its high bit set gets a 0x00; s is small and plain. */
	memset(rs, 0x22, 64);
	rs[0] = 0x80;
	w = 0;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 33, want[w++] = 0;
	memcpy(want + w, rs, 32), w += 32;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 32;
	memcpy(want + w, rs + 32, 32), w += 32;
	check_ecdsa_blob("ecdsa-sha2-nistp256", rs, 64, want, w);

	/* Leading zero bytes are dropped: r = 00 00 7f ..., s = 00 80 ... (a 0x00 comes back). */
	rs[0] = 0, rs[1] = 0, rs[2] = 0x7f;
	rs[32] = 0, rs[33] = 0x80;
	w = 0;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 30;
	memcpy(want + w, rs + 2, 30), w += 30;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 32, want[w++] = 0;
	memcpy(want + w, rs + 33, 31), w += 31;
	check_ecdsa_blob("ecdsa-sha2-nistp256", rs, 64, want, w);

	/* P-521: 66-byte halves; a top byte of 0x01 stays as it is, 0x00 goes. */
	memset(rs, 0x33, 132);
	rs[0] = 0x01;
	rs[66] = 0x00, rs[67] = 0x91;
	w = 0;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 66;
	memcpy(want + w, rs, 66), w += 66;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 66, want[w++] = 0;
	memcpy(want + w, rs + 67, 65), w += 65;
	check_ecdsa_blob("ecdsa-sha2-nistp521", rs, 132, want, w);
	rs[0] = 0x00, rs[1] = 0x45;
	w = 0;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 65;
	memcpy(want + w, rs + 1, 65), w += 65;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 66, want[w++] = 0;
	memcpy(want + w, rs + 67, 65), w += 65;
	check_ecdsa_blob("ecdsa-sha2-nistp521", rs, 132, want, w);

	/* P-384: both halves full, no high bit. */
	memset(rs, 0x7f, 96);
	w = 0;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 48;
	memcpy(want + w, rs, 48), w += 48;
	want[w++] = 0, want[w++] = 0, want[w++] = 0, want[w++] = 48;
	memcpy(want + w, rs + 48, 48), w += 48;
	check_ecdsa_blob("ecdsa-sha2-nistp384", rs, 96, want, w);
}

static void expect_bad_sig(const char *type, const uint8_t *sig, size_t len)
{
	uint8_t *blob = (uint8_t *)&blob;
	size_t out_len = 12345;

	assert_int_equal(sshkey_sig_blob(type, sig, len, &blob, &out_len), P11A_ERR_BAD_INPUT);
	assert_ptr_equal(blob, (uint8_t *)&blob);
	assert_int_equal(out_len, 12345);
}

static void test_sig_blob_refused(void **state)
{
	uint8_t rs[132];

	/* A zero r or s: refused, never a valid signature (see sshkey.h). */
	memset(rs, 0, sizeof(rs));
	memset(rs + 32, 0x44, 32);
	expect_bad_sig("ecdsa-sha2-nistp256", rs, 64);
	memset(rs, 0x44, 32);
	memset(rs + 32, 0, 32);
	expect_bad_sig("ecdsa-sha2-nistp256", rs, 64);
	memset(rs, 0, 66);
	memset(rs + 66, 0x01, 66);
	expect_bad_sig("ecdsa-sha2-nistp521", rs, 132);
	/* Wrong lengths. */
	memset(rs, 0x44, sizeof(rs));
	expect_bad_sig("ecdsa-sha2-nistp256", rs, 63);
	expect_bad_sig("ecdsa-sha2-nistp256", rs, 66);
	expect_bad_sig("ecdsa-sha2-nistp384", rs, 64);
	expect_bad_sig("ecdsa-sha2-nistp521", rs, 130);
	expect_bad_sig("ssh-ed25519", rs, 63);
	expect_bad_sig("rsa-sha2-256", rs, 0);
	/* Types not written here: SHA-1 RSA, DSA, a key type for a signature. */
	expect_bad_sig("ssh-rsa", rs, 128);
	expect_bad_sig("ssh-dss", rs, 40);
	expect_bad_sig("ecdsa-sha2-nistp256 ", rs, 64);
	expect_bad_sig("", rs, 64);
}

static void test_sig_blob_plain(void **state)
{
	uint8_t sig[256], *blob;
	size_t len, i;

	for (i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)i;
	assert_int_equal(sshkey_sig_blob("ssh-ed25519", sig, 64, &blob, &len), P11A_OK);
	assert_int_equal(len, 4 + 11 + 4 + 64);
	assert_memory_equal(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x40", 19);
	assert_memory_equal(blob + 19, sig, 64);
	free(blob);
	assert_int_equal(sshkey_sig_blob("rsa-sha2-512", sig, 256, &blob, &len), P11A_OK);
	assert_int_equal(len, 4 + 12 + 4 + 256);
	assert_memory_equal(blob, "\0\0\0\x0crsa-sha2-512\0\0\x01\x00", 20);
	assert_memory_equal(blob + 20, sig, 256);
	free(blob);
}

/* What 'ssh-keygen -Y sign -n file' signed: PROTOCOL.sshsig's signed data. */
static struct buf *sshsig_data(void)
{
	struct buf *b = buf_new(0);
	uint8_t md[64];

	assert_non_null(b);
	assert_int_equal(EVP_Digest(sign_msg, strlen(sign_msg), md, NULL, EVP_sha512(), NULL), 1);
	assert_int_equal(buf_put(b, "SSHSIG", 6), P11A_OK);
	put_str(b, "file");
	put_str(b, "");
	put_str(b, "sha512");
	put_bytes_string(b, md, sizeof(md));
	return b;
}

static void test_verify_ssh_keygen(void **state)
{
	struct buf *data = sshsig_data();
	uint8_t *sig;
	size_t i, j, len;
	EVP_PKEY *pkey, *other;

	for (i = 0; i < N_GOLDEN; i++) {
		pkey = pem_key(goldens[i].pem);
		len = goldens[i].sshsig_len;
		assert_int_equal(
		    sshkey_verify(pkey, goldens[i].sshsig, len, buf_data(data), buf_len(data)),
		    P11A_OK);
		/* Other data: invalid. */
		assert_int_equal(
		    sshkey_verify(pkey, goldens[i].sshsig, len, buf_data(data), buf_len(data) - 1),
		    P11A_ERR_BAD_INPUT);
		/* A flipped bit anywhere after the type name: invalid or malformed. */
		sig = malloc(len + 1);
		assert_non_null(sig);
		for (j = 4 * 8; j < len * 8; j += 7) {
			memcpy(sig, goldens[i].sshsig, len);
			sig[j / 8] ^= (uint8_t)(1u << (j % 8));
			assert_int_equal(
			    sshkey_verify(pkey, sig, len, buf_data(data), buf_len(data)),
			    P11A_ERR_BAD_INPUT);
		}
		/* A trailing byte, and every truncation. */
		memcpy(sig, goldens[i].sshsig, len);
		sig[len] = 0;
		assert_int_equal(sshkey_verify(pkey, sig, len + 1, buf_data(data), buf_len(data)),
				 P11A_ERR_BAD_INPUT);
		for (j = 0; j < len; j++)
			assert_int_equal(sshkey_verify(pkey, sig, j, buf_data(data), buf_len(data)),
					 P11A_ERR_BAD_INPUT);
		/* Another key: wrong type, or another curve, or just another key. */
		for (j = 0; j < N_GOLDEN; j++) {
			if (j == i)
				continue;
			other = pem_key(goldens[j].pem);
			assert_int_equal(sshkey_verify(other, goldens[i].sshsig, len,
						       buf_data(data), buf_len(data)),
					 P11A_ERR_BAD_INPUT);
			EVP_PKEY_free(other);
		}
		free(sig);
		EVP_PKEY_free(pkey);
	}
	buf_free(data);
}

/* RSA: only rsa-sha2-256/512, never SHA-1 "ssh-rsa" even when the bytes are right. */
static void test_verify_rsa_type(void **state)
{
	struct buf *data = sshsig_data();
	size_t len = sizeof(rsa_sshsig);
	uint8_t *sig = malloc(len);
	EVP_PKEY *pkey = pem_key(rsa_pem);

	assert_non_null(sig);
	memcpy(sig, rsa_sshsig, len);
	assert_memory_equal(sig + 4, "rsa-sha2-512", 12);
	memcpy(sig + 4, "rsa-sha2-256", 12); /* the same length: a wrong hash */
	assert_int_equal(sshkey_verify(pkey, sig, len, buf_data(data), buf_len(data)),
			 P11A_ERR_BAD_INPUT);
	memcpy(sig + 4, "ssh-rsa\0\0\0\0\0", 12);
	assert_int_equal(sshkey_verify(pkey, sig, len, buf_data(data), buf_len(data)),
			 P11A_ERR_BAD_INPUT);
	free(sig);
	EVP_PKEY_free(pkey);
	buf_free(data);
}

/* Signs data with OpenSSL, as a token would: r||s for ECDSA. */
static uint8_t *openssl_sign(EVP_PKEY *pkey, const char *hash, size_t field_len,
			     const uint8_t *data, size_t len, size_t *out_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig, *raw;
	size_t sig_len = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, hash, NULL, NULL, pkey, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &sig_len, data, len), 1);
	sig = malloc(sig_len);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, data, len), 1);
	EVP_MD_CTX_free(ctx);
	if (field_len == 0) {
		*out_len = sig_len;
		return sig;
	}
	assert_int_equal(sigfmt_ecdsa_der_to_raw(sig, sig_len, field_len, &raw, out_len), P11A_OK);
	free(sig);
	return raw;
}

static void test_verify_openssl_round_trip(void **state)
{
	static const struct {
		const char *alg, *param, *sig_type, *hash;
		size_t field_len, rounds;
	} cases[] = {
	    {"EC", "P-256", "ecdsa-sha2-nistp256", "SHA256", 32, 48},
	    {"EC", "P-384", "ecdsa-sha2-nistp384", "SHA384", 48, 24},
	    {"EC", "P-521", "ecdsa-sha2-nistp521", "SHA512", 66, 24},
	    {"ED25519", NULL, "ssh-ed25519", NULL, 0, 2},
	    {"RSA", NULL, "rsa-sha2-256", "SHA256", 0, 1},
	    {"RSA", NULL, "rsa-sha2-512", "SHA512", 0, 1},
	};
	static const uint8_t data[] = "session identifier, or anything";
	EVP_PKEY *pkey;
	uint8_t *sig, *blob;
	size_t i, k, sig_len, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(cases[i].alg, "EC") == 0)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", cases[i].param);
		else if (strcmp(cases[i].alg, "RSA") == 0)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		else
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, cases[i].alg);
		assert_non_null(pkey);
		/* Many ECDSA signatures: some have an r or s with its high bit set. */
		for (k = 0; k < cases[i].rounds; k++) {
			sig = openssl_sign(pkey, cases[i].hash, cases[i].field_len, data,
					   sizeof(data), &sig_len);
			assert_int_equal(
			    sshkey_sig_blob(cases[i].sig_type, sig, sig_len, &blob, &len), P11A_OK);
			assert_int_equal(sshkey_verify(pkey, blob, len, data, sizeof(data)),
					 P11A_OK);
			blob[len - 1] ^= 0x01;
			assert_int_equal(sshkey_verify(pkey, blob, len, data, sizeof(data)),
					 P11A_ERR_BAD_INPUT);
			free(blob);
			free(sig);
		}
		EVP_PKEY_free(pkey);
	}
}

/*
 * Reading an ECDSA signature: a 0x00 before an r or s that needs none is
 * taken (OpenSSH takes it too), a longer or negative mpint is not.
 */
static void test_verify_ecdsa_mpint_forms(void **state)
{
	static const uint8_t data[] = "data";
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	struct buf *b = buf_new(0), *inner = buf_new(0);
	uint8_t *rs, r_pad[34];
	size_t rs_len;

	assert_non_null(pkey);
	rs = openssl_sign(pkey, "SHA256", 32, data, sizeof(data), &rs_len);
	/* r and s as 33 bytes each, 00 then their 32, whatever their high bit. */
	r_pad[0] = 0;
	memcpy(r_pad + 1, rs, 32);
	put_bytes_string(inner, r_pad, 33);
	memcpy(r_pad + 1, rs + 32, 32);
	put_bytes_string(inner, r_pad, 33);
	put_str(b, "ecdsa-sha2-nistp256");
	put_bytes_string(b, buf_data(inner), buf_len(inner));
	assert_int_equal(sshkey_verify(pkey, buf_data(b), buf_len(b), data, sizeof(data)), P11A_OK);

	/* Two zeros before a 32-byte r: longer than any P-256 mpint, refused. */
	buf_reset(inner);
	buf_reset(b);
	r_pad[0] = 0, r_pad[1] = 0;
	memcpy(r_pad + 2, rs, 32);
	put_bytes_string(inner, r_pad, 34);
	put_bytes_string(inner, rs + 32, 32);
	put_str(b, "ecdsa-sha2-nistp256");
	put_bytes_string(b, buf_data(inner), buf_len(inner));
	assert_int_equal(sshkey_verify(pkey, buf_data(b), buf_len(b), data, sizeof(data)),
			 P11A_ERR_BAD_INPUT);

	/* s without its 0x00 when its high bit is set is negative: refused. */
	rs[32] |= 0x80;
	buf_reset(inner);
	buf_reset(b);
	put_bytes_string(inner, rs, 32);
	put_bytes_string(inner, rs + 32, 32);
	put_str(b, "ecdsa-sha2-nistp256");
	put_bytes_string(b, buf_data(inner), buf_len(inner));
	assert_int_equal(sshkey_verify(pkey, buf_data(b), buf_len(b), data, sizeof(data)),
			 P11A_ERR_BAD_INPUT);
	free(rs);
	buf_free(inner);
	buf_free(b);
	EVP_PKEY_free(pkey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_blobs),
	    cmocka_unit_test(test_blob_not_supported),
	    cmocka_unit_test(test_from_blob_truncated_and_trailing),
	    cmocka_unit_test(test_from_blob_bad_fields),
	    cmocka_unit_test(test_sig_blob_mpint_edges),
	    cmocka_unit_test(test_sig_blob_refused),
	    cmocka_unit_test(test_sig_blob_plain),
	    cmocka_unit_test(test_verify_ssh_keygen),
	    cmocka_unit_test(test_verify_rsa_type),
	    cmocka_unit_test(test_verify_openssl_round_trip),
	    cmocka_unit_test(test_verify_ecdsa_mpint_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
