/*
 * test-ssh-msg: the SSH agent protocol's messages (agent/ssh-msg.c): every
 * request's decoding, truncated and oversized and trailing bytes, session-bind
 * with a real host key signature, what a sign request's data is, and the
 * replies byte by byte.
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

#include "buf.h"
#include "p11agent.h"
#include "sigfmt.h"
#include "../agent/ssh-msg.h"
#include "sshkey.h"

static void put_str(struct buf *b, const char *s)
{
	assert_int_equal(buf_put_cstring(b, s), P11A_OK);
}

static void put_bytes(struct buf *b, const void *p, size_t len)
{
	assert_int_equal(buf_put_string(b, p, len), P11A_OK);
}

static void put_u8(struct buf *b, uint8_t v)
{
	assert_int_equal(buf_put_u8(b, v), P11A_OK);
}

static void put_u32(struct buf *b, uint32_t v)
{
	assert_int_equal(buf_put_u32(b, v), P11A_OK);
}

static struct buf *new_buf(void)
{
	struct buf *b = buf_new(0);

	assert_non_null(b);
	return b;
}

/* Decoding must fail, name a part, and leave *out alone. */
static void expect_bad_decode(const uint8_t *p, size_t len)
{
	struct sshmsg_request req;
	const char *what = NULL;

	memset(&req, 0xa5, sizeof(req));
	assert_int_equal(sshmsg_decode(p, len, &req, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(what);
	assert_true(strlen(what) > 0);
	assert_int_equal(req.type, 0xa5);
}

static void test_decode_request_identities(void **state)
{
	static const uint8_t ok[] = {SSH_AGENTC_REQUEST_IDENTITIES};
	static const uint8_t trailing[] = {SSH_AGENTC_REQUEST_IDENTITIES, 0};
	struct sshmsg_request req;
	const char *what = NULL;

	assert_int_equal(sshmsg_decode(ok, sizeof(ok), &req, &what), P11A_OK);
	assert_int_equal(req.type, SSH_AGENTC_REQUEST_IDENTITIES);
	assert_null(req.key_blob);
	assert_null(req.ext_name);
	expect_bad_decode(trailing, sizeof(trailing));
	expect_bad_decode(ok, 0);
}

/* A sign request's body. */
static struct buf *sign_request(const char *key, const char *data, uint32_t flags)
{
	struct buf *b = new_buf();

	put_u8(b, SSH_AGENTC_SIGN_REQUEST);
	put_str(b, key);
	put_str(b, data);
	put_u32(b, flags);
	return b;
}

static void test_decode_sign_request(void **state)
{
	struct buf *b = sign_request("KEYBLOB", "to be signed", SSH_AGENT_RSA_SHA2_512);
	struct sshmsg_request req;
	const char *what = NULL;
	uint8_t *longer;
	size_t cut, len = buf_len(b);

	assert_int_equal(sshmsg_decode(buf_data(b), len, &req, &what), P11A_OK);
	assert_int_equal(req.type, SSH_AGENTC_SIGN_REQUEST);
	assert_int_equal(req.key_blob_len, 7);
	assert_memory_equal(req.key_blob, "KEYBLOB", 7);
	assert_ptr_equal(req.key_blob, buf_data(b) + 5); /* a view into the body */
	assert_int_equal(req.data_len, 12);
	assert_memory_equal(req.data, "to be signed", 12);
	assert_int_equal(req.flags, SSH_AGENT_RSA_SHA2_512);

	/* Every truncation, and a byte after the flags. */
	for (cut = 0; cut < len; cut++)
		expect_bad_decode(buf_data(b), cut);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, buf_data(b), len);
	longer[len] = 0;
	expect_bad_decode(longer, len + 1);
	free(longer);
	buf_free(b);

	/* Empty key and data are well formed (the front refuses the unknown key). */
	b = sign_request("", "", 0);
	assert_int_equal(sshmsg_decode(buf_data(b), buf_len(b), &req, &what), P11A_OK);
	assert_int_equal(req.key_blob_len, 0);
	assert_int_equal(req.data_len, 0);
	buf_free(b);
}

static void test_decode_oversized_lengths(void **state)
{
	struct buf *b = new_buf();
	uint8_t *big;

	/* A key blob length past the end, and the largest u32. */
	put_u8(b, SSH_AGENTC_SIGN_REQUEST);
	put_u32(b, 100);
	assert_int_equal(buf_put(b, "short", 5), P11A_OK);
	expect_bad_decode(buf_data(b), buf_len(b));
	buf_reset(b);
	put_u8(b, SSH_AGENTC_SIGN_REQUEST);
	put_u32(b, 0xffffffffu);
	put_u32(b, 0);
	put_u32(b, 0);
	expect_bad_decode(buf_data(b), buf_len(b));
	/* The data's length blown up. */
	buf_reset(b);
	put_u8(b, SSH_AGENTC_SIGN_REQUEST);
	put_str(b, "k");
	put_u32(b, 0x7fffffffu);
	put_u32(b, 0);
	expect_bad_decode(buf_data(b), buf_len(b));
	/* An extension name's length blown up. */
	buf_reset(b);
	put_u8(b, SSH_AGENTC_EXTENSION);
	put_u32(b, 0xfffffff0u);
	expect_bad_decode(buf_data(b), buf_len(b));
	buf_free(b);

	/* A body over 256 KiB, whatever it holds. */
	big = calloc(1, SSHMSG_MAX_FRAME + 1);
	assert_non_null(big);
	big[0] = SSH_AGENTC_LOCK;
	expect_bad_decode(big, SSHMSG_MAX_FRAME + 1);
	free(big);
}

static void test_decode_extension(void **state)
{
	struct buf *b = new_buf();
	struct sshmsg_request req;
	const char *what = NULL;
	size_t cut;

	put_u8(b, SSH_AGENTC_EXTENSION);
	put_str(b, "session-bind@openssh.com");
	assert_int_equal(buf_put(b, "\x01\x02\x03", 3), P11A_OK);
	assert_int_equal(sshmsg_decode(buf_data(b), buf_len(b), &req, &what), P11A_OK);
	assert_int_equal(req.type, SSH_AGENTC_EXTENSION);
	assert_int_equal(req.ext_name_len, 24);
	assert_memory_equal(req.ext_name, "session-bind@openssh.com", 24);
	assert_int_equal(req.ext_body_len, 3);
	assert_memory_equal(req.ext_body, "\x01\x02\x03", 3);
	for (cut = 0; cut < 5 + 24; cut++)
		expect_bad_decode(buf_data(b), cut);

	/* "query" and nothing after it. */
	buf_reset(b);
	put_u8(b, SSH_AGENTC_EXTENSION);
	put_str(b, "query");
	assert_int_equal(sshmsg_decode(buf_data(b), buf_len(b), &req, &what), P11A_OK);
	assert_int_equal(req.ext_name_len, 5);
	assert_int_equal(req.ext_body_len, 0);

	/* An empty name, and one with a NUL. */
	buf_reset(b);
	put_u8(b, SSH_AGENTC_EXTENSION);
	put_str(b, "");
	expect_bad_decode(buf_data(b), buf_len(b));
	buf_reset(b);
	put_u8(b, SSH_AGENTC_EXTENSION);
	put_bytes(b, "query\0x", 7);
	expect_bad_decode(buf_data(b), buf_len(b));
	buf_free(b);
}

/* Every other type decodes to its type alone: the front answers it with a failure. */
static void test_decode_other_types(void **state)
{
	static const uint8_t types[] = {
	    SSH_AGENTC_ADD_IDENTITY,
	    SSH_AGENTC_REMOVE_IDENTITY,
	    SSH_AGENTC_REMOVE_ALL_IDENTITIES,
	    SSH_AGENTC_ADD_SMARTCARD_KEY,
	    SSH_AGENTC_REMOVE_SMARTCARD_KEY,
	    SSH_AGENTC_LOCK,
	    SSH_AGENTC_UNLOCK,
	    SSH_AGENTC_ADD_ID_CONSTRAINED,
	    SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED,
	    1, /* SSH_AGENTC_REQUEST_RSA_IDENTITIES of protocol 1 */
	    0,
	    99,
	    255,
	};
	uint8_t body[8] = {0, 0xff, 0xff, 0xff, 0xff, 'x', 'y', 'z'};
	struct sshmsg_request req;
	const char *what = NULL;
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		body[0] = types[i];
		assert_int_equal(sshmsg_decode(body, sizeof(body), &req, &what), P11A_OK);
		assert_int_equal(req.type, types[i]);
		assert_null(req.key_blob);
		assert_null(req.data);
		assert_null(req.ext_name);
		assert_int_equal(sshmsg_decode(body, 1, &req, &what), P11A_OK);
	}
}

/* --- session-bind ------------------------------------------------------- */

/* A host key's OpenSSH blob, and its signature over sid as an OpenSSH blob. */
static void host_sign(EVP_PKEY *pkey, const char *sig_type, const char *hash, size_t field_len,
		      const uint8_t *sid, size_t sid_len, uint8_t **out_blob, size_t *out_blob_len,
		      uint8_t **out_sig, size_t *out_sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig, *raw = NULL;
	size_t sig_len = 0, raw_len = 0;
	char msg[256];

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, hash, NULL, NULL, pkey, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &sig_len, sid, sid_len), 1);
	sig = malloc(sig_len);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, sid, sid_len), 1);
	EVP_MD_CTX_free(ctx);
	if (field_len > 0) {
		assert_int_equal(sigfmt_ecdsa_der_to_raw(sig, sig_len, field_len, &raw, &raw_len),
				 P11A_OK);
		free(sig);
		sig = raw;
		sig_len = raw_len;
	}
	assert_int_equal(sshkey_sig_blob(sig_type, sig, sig_len, out_sig, out_sig_len), P11A_OK);
	free(sig);
	assert_int_equal(sshkey_blob(pkey, out_blob, out_blob_len, NULL, msg, sizeof(msg)),
			 P11A_OK);
}

static struct buf *session_bind_body(const uint8_t *key, size_t key_len, const uint8_t *sid,
				     size_t sid_len, const uint8_t *sig, size_t sig_len,
				     uint8_t fwd)
{
	struct buf *b = new_buf();

	put_bytes(b, key, key_len);
	put_bytes(b, sid, sid_len);
	put_bytes(b, sig, sig_len);
	put_u8(b, fwd);
	return b;
}

static void expect_bad_bind(const uint8_t *p, size_t len)
{
	struct sshmsg_session_bind sb;
	const char *what = NULL;

	memset(&sb, 0xa5, sizeof(sb));
	assert_int_equal(sshmsg_decode_session_bind(p, len, &sb, &what), P11A_ERR_BAD_REQUEST);
	assert_non_null(what);
	assert_int_equal(sb.forwarding, (int)0xa5a5a5a5);
}

static void test_session_bind_decode(void **state)
{
	uint8_t sid[129], *longer;
	struct buf *b;
	struct sshmsg_session_bind sb;
	const char *what = NULL;
	size_t cut, len;

	memset(sid, 0x5a, sizeof(sid));
	b = session_bind_body((const uint8_t *)"HOSTKEY", 7, sid, 32, (const uint8_t *)"SIG", 3, 0);
	len = buf_len(b);
	assert_int_equal(sshmsg_decode_session_bind(buf_data(b), len, &sb, &what), P11A_OK);
	assert_int_equal(sb.host_key_len, 7);
	assert_memory_equal(sb.host_key, "HOSTKEY", 7);
	assert_int_equal(sb.session_id_len, 32);
	assert_memory_equal(sb.session_id, sid, 32);
	assert_int_equal(sb.sig_len, 3);
	assert_memory_equal(sb.sig, "SIG", 3);
	assert_int_equal(sb.forwarding, 0);
	for (cut = 0; cut < len; cut++)
		expect_bad_bind(buf_data(b), cut);
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, buf_data(b), len);
	longer[len] = 1;
	expect_bad_bind(longer, len + 1);
	free(longer);
	buf_free(b);

	/* Any non-zero boolean is TRUE (RFC 4251 5). */
	b = session_bind_body((const uint8_t *)"K", 1, sid, 20, (const uint8_t *)"S", 1, 2);
	assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what), P11A_OK);
	assert_int_equal(sb.forwarding, 1);
	buf_free(b);

	/* 128 bytes of session id is the most; empty fields are refused. */
	b = session_bind_body((const uint8_t *)"K", 1, sid, 128, (const uint8_t *)"S", 1, 1);
	assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what), P11A_OK);
	buf_free(b);
	b = session_bind_body((const uint8_t *)"K", 1, sid, 129, (const uint8_t *)"S", 1, 1);
	expect_bad_bind(buf_data(b), buf_len(b));
	buf_free(b);
	b = session_bind_body((const uint8_t *)"K", 1, sid, 0, (const uint8_t *)"S", 1, 1);
	expect_bad_bind(buf_data(b), buf_len(b));
	buf_free(b);
	b = session_bind_body((const uint8_t *)"", 0, sid, 32, (const uint8_t *)"S", 1, 1);
	expect_bad_bind(buf_data(b), buf_len(b));
	buf_free(b);
	b = session_bind_body((const uint8_t *)"K", 1, sid, 32, (const uint8_t *)"", 0, 1);
	expect_bad_bind(buf_data(b), buf_len(b));
	buf_free(b);
}

static void test_session_bind_verify(void **state)
{
	static const struct {
		const char *alg, *param, *sig_type, *hash;
		size_t field_len;
	} hosts[] = {
	    {"ED25519", NULL, "ssh-ed25519", NULL, 0},
	    {"EC", "P-256", "ecdsa-sha2-nistp256", "SHA256", 32},
	    {"EC", "P-521", "ecdsa-sha2-nistp521", "SHA512", 66},
	    {"RSA", NULL, "rsa-sha2-512", "SHA512", 0},
	};
	uint8_t sid[32], *key, *sig, *key2, *sig2;
	size_t i, key_len, sig_len, key2_len, sig2_len;
	EVP_PKEY *pkey, *other;
	struct sshmsg_session_bind sb;
	const char *what = NULL;
	char msg[256], fp[SSHKEY_FP_LEN];
	struct buf *b;

	memset(sid, 0x3c, sizeof(sid));
	other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(other);
	host_sign(other, "ssh-ed25519", NULL, 0, sid, sizeof(sid), &key2, &key2_len, &sig2,
		  &sig2_len);
	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		if (strcmp(hosts[i].alg, "EC") == 0)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", hosts[i].param);
		else if (strcmp(hosts[i].alg, "RSA") == 0)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		else
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, hosts[i].alg);
		assert_non_null(pkey);
		host_sign(pkey, hosts[i].sig_type, hosts[i].hash, hosts[i].field_len, sid,
			  sizeof(sid), &key, &key_len, &sig, &sig_len);

		/* Good. */
		b = session_bind_body(key, key_len, sid, sizeof(sid), sig, sig_len, 0);
		assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what),
				 P11A_OK);
		assert_int_equal(sshmsg_verify_session_bind(&sb, msg, sizeof(msg)), P11A_OK);
		buf_free(b);

		/* A flipped bit in the signature: refused, the message names the key. */
		sig[sig_len - 1] ^= 0x40;
		b = session_bind_body(key, key_len, sid, sizeof(sid), sig, sig_len, 0);
		assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what),
				 P11A_OK);
		msg[0] = '\0';
		assert_int_equal(sshmsg_verify_session_bind(&sb, msg, sizeof(msg)),
				 P11A_ERR_BAD_INPUT);
		sshkey_fingerprint(key, key_len, fp);
		assert_non_null(strstr(msg, fp));
		buf_free(b);
		sig[sig_len - 1] ^= 0x40;

		/* Another session id. */
		sid[0] ^= 1;
		b = session_bind_body(key, key_len, sid, sizeof(sid), sig, sig_len, 0);
		sid[0] ^= 1;
		assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what),
				 P11A_OK);
		assert_int_equal(sshmsg_verify_session_bind(&sb, msg, sizeof(msg)),
				 P11A_ERR_BAD_INPUT);
		buf_free(b);

		/* Another key's signature. */
		b = session_bind_body(key, key_len, sid, sizeof(sid), sig2, sig2_len, 1);
		assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what),
				 P11A_OK);
		assert_int_equal(sshmsg_verify_session_bind(&sb, msg, sizeof(msg)),
				 P11A_ERR_BAD_INPUT);
		buf_free(b);

		/* A host key that is no key. */
		b = session_bind_body(key, key_len - 1, sid, sizeof(sid), sig, sig_len, 0);
		assert_int_equal(sshmsg_decode_session_bind(buf_data(b), buf_len(b), &sb, &what),
				 P11A_OK);
		msg[0] = '\0';
		assert_int_equal(sshmsg_verify_session_bind(&sb, msg, sizeof(msg)),
				 P11A_ERR_BAD_INPUT);
		assert_true(strlen(msg) > 0);
		buf_free(b);

		free(key);
		free(sig);
		EVP_PKEY_free(pkey);
	}
	free(key2);
	free(sig2);
	EVP_PKEY_free(other);
}

/* --- what the data is --------------------------------------------------- */

/* A fixed Ed25519 key blob (any 32 bytes: classify does not decode the point). */
static void put_ed25519_blob(struct buf *b)
{
	struct buf *k = new_buf();
	uint8_t raw[32];

	memset(raw, 0x77, sizeof(raw));
	put_str(k, "ssh-ed25519");
	put_bytes(k, raw, sizeof(raw));
	put_bytes(b, buf_data(k), buf_len(k));
	buf_free(k);
}

struct userauth {
	const char *sid;
	uint8_t msg_type;
	const char *user;
	size_t user_len; /* 0: strlen(user) */
	const char *service;
	const char *method;
	uint8_t has_sig;
	const char *pkalg;
	int host_key; /* append a host key blob */
	int trailing; /* append a byte */
};

static struct buf *userauth_data(const struct userauth *u)
{
	struct buf *b = new_buf();

	put_str(b, u->sid);
	put_u8(b, u->msg_type);
	put_bytes(b, u->user, u->user_len != 0 ? u->user_len : strlen(u->user));
	put_str(b, u->service);
	put_str(b, u->method);
	put_u8(b, u->has_sig);
	put_str(b, u->pkalg);
	put_ed25519_blob(b);
	if (u->host_key)
		put_ed25519_blob(b);
	if (u->trailing)
		put_u8(b, 0);
	return b;
}

static const struct userauth good_userauth = {"0123456789abcdef0123456789abcdef",
					      50,
					      "alice",
					      0,
					      "ssh-connection",
					      "publickey",
					      1,
					      "ssh-ed25519",
					      0,
					      0};

static enum sshmsg_data_kind classify(const struct userauth *u, struct sshmsg_signed_data *sd)
{
	struct buf *b = userauth_data(u);

	sshmsg_classify(buf_data(b), buf_len(b), sd);
	buf_free(b);
	return sd->kind;
}

static void test_classify_userauth(void **state)
{
	struct userauth u = good_userauth;
	struct sshmsg_signed_data sd;
	struct buf *b = userauth_data(&u);
	size_t cut;

	sshmsg_classify(buf_data(b), buf_len(b), &sd);
	assert_int_equal(sd.kind, SSHMSG_DATA_USERAUTH);
	assert_string_equal(sd.user, "alice");
	assert_int_equal(sd.session_id_len, 32);
	assert_memory_equal(sd.session_id, u.sid, 32);
	assert_int_equal(sd.key_blob_len, 4 + 11 + 4 + 32);
	assert_memory_equal(sd.key_blob, "\0\0\0\x0bssh-ed25519", 15);
	assert_null(sd.host_key);
	assert_string_equal(sd.ns, "");
	/* Cut anywhere: not a userauth request. */
	for (cut = 0; cut < buf_len(b); cut++) {
		sshmsg_classify(buf_data(b), cut, &sd);
		assert_int_equal(sd.kind, SSHMSG_DATA_OTHER);
		assert_string_equal(sd.user, "");
	}
	buf_free(b);

	/* Hostbound: the server's host key after the key. */
	u.method = "publickey-hostbound-v00@openssh.com";
	u.host_key = 1;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_USERAUTH);
	assert_string_equal(sd.user, "alice");
	assert_non_null(sd.host_key);
	assert_int_equal(sd.host_key_len, 4 + 11 + 4 + 32);
	/* ... and hostbound without the host key, or publickey with one. */
	u.host_key = 0;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u.method = "publickey";
	u.host_key = 1;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);

	/* RSA keys sign with rsa-sha2-* names; a mismatched algorithm is not this key's. */
	u = good_userauth;
	u.pkalg = "ecdsa-sha2-nistp256";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u.pkalg = "rsa-sha2-256";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
}

static void test_classify_userauth_refused(void **state)
{
	struct userauth u;
	struct sshmsg_signed_data sd;
	char long_user[SSHMSG_NAME_MAX + 2];

	u = good_userauth;
	u.service = "ssh-userauth";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u = good_userauth;
	u.has_sig = 0; /* a query whether the key would do: never signed */
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u.has_sig = 2;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u = good_userauth;
	u.trailing = 1;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u = good_userauth;
	u.user = "al\nice";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	assert_string_equal(sd.user, "");
	u.user = "al\0ice";
	u.user_len = 6;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u.user = "\xc3\xa9lodie"; /* not ASCII */
	u.user_len = 0;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u.user = "";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	memset(long_user, 'a', sizeof(long_user) - 1);
	long_user[sizeof(long_user) - 1] = '\0';
	u.user = long_user;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	long_user[SSHMSG_NAME_MAX] = '\0'; /* 255: the longest kept */
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_USERAUTH);
	assert_int_equal(strlen(sd.user), SSHMSG_NAME_MAX);
	u = good_userauth;
	u.msg_type = 51;
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u = good_userauth;
	u.method = "password";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
	u = good_userauth;
	u.sid = "";
	assert_int_equal(classify(&u, &sd), SSHMSG_DATA_OTHER);
}

static struct buf *sshsig_data(const char *ns, const char *hash_alg, size_t hash_len, int trailing)
{
	struct buf *b = new_buf();
	uint8_t h[64];

	memset(h, 0x42, sizeof(h));
	assert_int_equal(buf_put(b, "SSHSIG", 6), P11A_OK);
	put_str(b, ns);
	put_str(b, "");
	put_str(b, hash_alg);
	put_bytes(b, h, hash_len);
	if (trailing)
		put_u8(b, 0);
	return b;
}

static enum sshmsg_data_kind classify_sshsig(const char *ns, const char *alg, size_t len,
					     int trailing, struct sshmsg_signed_data *sd)
{
	struct buf *b = sshsig_data(ns, alg, len, trailing);

	sshmsg_classify(buf_data(b), buf_len(b), sd);
	buf_free(b);
	return sd->kind;
}

static void test_classify_sshsig(void **state)
{
	struct sshmsg_signed_data sd;
	struct buf *b = sshsig_data("git", "sha512", 64, 0);
	size_t cut;

	sshmsg_classify(buf_data(b), buf_len(b), &sd);
	assert_int_equal(sd.kind, SSHMSG_DATA_SSHSIG);
	assert_string_equal(sd.ns, "git");
	assert_string_equal(sd.hash_alg, "sha512");
	assert_string_equal(sd.user, "");
	for (cut = 0; cut < buf_len(b); cut++) {
		sshmsg_classify(buf_data(b), cut, &sd);
		assert_int_equal(sd.kind, SSHMSG_DATA_OTHER);
	}
	buf_free(b);

	assert_int_equal(classify_sshsig("file", "sha256", 32, 0, &sd), SSHMSG_DATA_SSHSIG);
	assert_string_equal(sd.hash_alg, "sha256");
	assert_int_equal(classify_sshsig("file", "sha256", 64, 0, &sd), SSHMSG_DATA_OTHER);
	assert_int_equal(classify_sshsig("file", "sha512", 32, 0, &sd), SSHMSG_DATA_OTHER);
	assert_int_equal(classify_sshsig("file", "sha1", 20, 0, &sd), SSHMSG_DATA_OTHER);
	assert_int_equal(classify_sshsig("file", "sha512", 64, 1, &sd), SSHMSG_DATA_OTHER);
	assert_int_equal(classify_sshsig("", "sha512", 64, 0, &sd), SSHMSG_DATA_OTHER);
	assert_int_equal(classify_sshsig("gi\tt", "sha512", 64, 0, &sd), SSHMSG_DATA_OTHER);
	assert_string_equal(sd.ns, "");

	/* Another magic. */
	b = sshsig_data("git", "sha512", 64, 0);
	sshmsg_classify(buf_data(b) + 1, buf_len(b) - 1, &sd);
	assert_int_equal(sd.kind, SSHMSG_DATA_OTHER);
	buf_free(b);
	sshmsg_classify((const uint8_t *)"", 0, &sd);
	assert_int_equal(sd.kind, SSHMSG_DATA_OTHER);
}

/* --- replies ------------------------------------------------------------ */

static void expect_bytes(struct buf *b, const void *want, size_t len)
{
	assert_int_equal(buf_len(b), len);
	assert_memory_equal(buf_data(b), want, len);
}

static void test_put_status(void **state)
{
	struct buf *b = new_buf();

	assert_int_equal(sshmsg_put_failure(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x01\x05", 5);
	buf_reset(b);
	assert_int_equal(sshmsg_put_success(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x01\x06", 5);
	buf_reset(b);
	assert_int_equal(sshmsg_put_extension_failure(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x01\x1c", 5);
	/* Appended, not overwritten. */
	assert_int_equal(sshmsg_put_failure(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x01\x1c\0\0\0\x01\x05", 10);
	buf_free(b);
}

static void test_put_identities(void **state)
{
	static const uint8_t want[] = {
	    0,	 0,   0,   33,	SSH_AGENT_IDENTITIES_ANSWER,
	    0,	 0,   0,   2,	0,
	    0,	 0,   3,   'K', 'E',
	    'Y', 0,   0,   0,	5,
	    'f', 'i', 'r', 's', 't',
	    0,	 0,   0,   1,	'Z',
	    0,	 0,   0,   3,	'a',
	    '?', 'b',
	};
	struct buf *b = new_buf();

	assert_int_equal(sshmsg_identities_begin(b), P11A_OK);
	assert_int_equal(sshmsg_identities_end(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x05\x0c\0\0\0\0", 9);
	/* begin wants an empty buffer. */
	assert_int_equal(sshmsg_identities_begin(b), P11A_ERR_INVALID_ARG);
	buf_reset(b);

	assert_int_equal(sshmsg_identities_begin(b), P11A_OK);
	assert_int_equal(sshmsg_identities_add(b, (const uint8_t *)"KEY", 3, "first"), P11A_OK);
	/* A control character in a comment becomes '?', as the CLI prints it. */
	assert_int_equal(sshmsg_identities_add(b, (const uint8_t *)"Z", 1,
					       "a\x1b"
					       "b"),
			 P11A_OK);
	assert_int_equal(sshmsg_identities_end(b), P11A_OK);
	expect_bytes(b, want, sizeof(want));
	buf_free(b);

	/* A buffer too small: the entry is not half-written. */
	b = buf_new(9 + 10);
	assert_non_null(b);
	assert_int_equal(sshmsg_identities_begin(b), P11A_OK);
	assert_int_equal(sshmsg_identities_add(b, (const uint8_t *)"KEY", 3, "first"),
			 P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_len(b), 9);
	assert_int_equal(sshmsg_identities_end(b), P11A_OK);
	expect_bytes(b, "\0\0\0\x05\x0c\0\0\0\0", 9);
	buf_free(b);
}

static void test_put_sign_response(void **state)
{
	static const uint8_t want[] = {0,   0,	 0,   9,  SSH_AGENT_SIGN_RESPONSE, 0, 0, 0, 4,
				       'S', 'I', 'G', '!'};
	struct buf *b = new_buf();

	assert_int_equal(sshmsg_put_sign_response(b, (const uint8_t *)"SIG!", 4), P11A_OK);
	expect_bytes(b, want, sizeof(want));
	buf_free(b);
	b = buf_new(8);
	assert_non_null(b);
	assert_int_equal(sshmsg_put_sign_response(b, (const uint8_t *)"SIG!", 4),
			 P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_len(b), 0);
	buf_free(b);
}

static void test_put_query_reply(void **state)
{
	static const char *const names[] = {"session-bind@openssh.com"};
	static const uint8_t want[] = {
	    0,	 0,   0,   38,	SSH_AGENT_EXTENSION_RESPONSE,
	    0,	 0,   0,   5,	'q',
	    'u', 'e', 'r', 'y', 0,
	    0,	 0,   24,  's', 'e',
	    's', 's', 'i', 'o', 'n',
	    '-', 'b', 'i', 'n', 'd',
	    '@', 'o', 'p', 'e', 'n',
	    's', 's', 'h', '.', 'c',
	    'o', 'm',
	};
	struct buf *b = new_buf();

	assert_int_equal(sshmsg_put_query_reply(b, names, 1), P11A_OK);
	expect_bytes(b, want, sizeof(want));
	buf_reset(b);
	assert_int_equal(sshmsg_put_query_reply(b, NULL, 0), P11A_OK);
	expect_bytes(b, "\0\0\0\x0a\x1d\0\0\0\x05query", 14);
	buf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_request_identities),
	    cmocka_unit_test(test_decode_sign_request),
	    cmocka_unit_test(test_decode_oversized_lengths),
	    cmocka_unit_test(test_decode_extension),
	    cmocka_unit_test(test_decode_other_types),
	    cmocka_unit_test(test_session_bind_decode),
	    cmocka_unit_test(test_session_bind_verify),
	    cmocka_unit_test(test_classify_userauth),
	    cmocka_unit_test(test_classify_userauth_refused),
	    cmocka_unit_test(test_classify_sshsig),
	    cmocka_unit_test(test_put_status),
	    cmocka_unit_test(test_put_identities),
	    cmocka_unit_test(test_put_sign_response),
	    cmocka_unit_test(test_put_query_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
