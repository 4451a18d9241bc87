/*
 * ssh-msg: the SSH agent protocol's messages. See ssh-msg.h.
 *
 * Every field is read through a struct buf view over the frame body; a
 * decoder fills a local copy and hands it over only when the whole message
 * was right.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "p11agent.h"
#include "ssh-msg.h"
#include "sshkey.h"

/* SSH_MSG_USERAUTH_REQUEST (RFC 4252 6). */
#define SSH2_MSG_USERAUTH_REQUEST 50
/* Longest session identifier taken: OpenSSH's agent takes 128 bytes (a hash is 20 to 64). */
#define SSHMSG_MAX_SID 128
/* Longest key or algorithm name read inside signed data. */
#define SSHMSG_MAX_ALG 64

static const char sshsig_magic[6] = {'S', 'S', 'H', 'S', 'I', 'G'};

/* The SSHSIG hashes (PROTOCOL.sshsig) and the length of their output. */
static const struct {
	const char *name;
	size_t len;
} sshsig_hashes[] = {
    {"sha256", 32},
    {"sha512", 64},
};

static int bad(const char **what, const char *part)
{
	if (what != NULL)
		*what = part;
	return P11A_ERR_BAD_REQUEST;
}

/* An extension name: not empty, no NUL (OpenSSH reads it as a C string). */
static int get_name(struct buf *b, const uint8_t **out_p, size_t *out_len)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(b, SSHMSG_NAME_MAX, &p, &len) != P11A_OK || len == 0 ||
	    memchr(p, '\0', len) != NULL)
		return P11A_ERR_BAD_REQUEST;
	*out_p = p;
	*out_len = len;
	return P11A_OK;
}

int sshmsg_decode(const uint8_t *body, size_t len, struct sshmsg_request *out, const char **what)
{
	struct sshmsg_request req;
	struct buf b;

	if (len == 0)
		return bad(what, "an empty message");
	if (len > SSHMSG_MAX_FRAME)
		return bad(what, "a message longer than 256 KiB");
	memset(&req, 0, sizeof(req));
	buf_view(&b, body, len);
	(void)buf_get_u8(&b, &req.type);
	switch (req.type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		if (buf_avail(&b) != 0)
			return bad(what, "bytes after the request identities message");
		break;
	case SSH_AGENTC_SIGN_REQUEST:
		if (buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &req.key_blob, &req.key_blob_len) !=
		    P11A_OK)
			return bad(what, "the sign request's key blob (truncated or too long)");
		if (buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &req.data, &req.data_len) !=
		    P11A_OK)
			return bad(what, "the sign request's data (truncated or too long)");
		if (buf_get_u32(&b, &req.flags) != P11A_OK)
			return bad(what, "the sign request's flags (truncated)");
		if (buf_avail(&b) != 0)
			return bad(what, "bytes after the sign request's flags");
		break;
	case SSH_AGENTC_EXTENSION:
		if (get_name(&b, &req.ext_name, &req.ext_name_len) != P11A_OK)
			return bad(what, "the extension name (truncated, empty, too long or "
					 "with a NUL)");
		req.ext_body = buf_ptr(&b);
		req.ext_body_len = buf_avail(&b);
		break;
	default:
		break;
	}
	*out = req;
	return P11A_OK;
}

int sshmsg_decode_session_bind(const uint8_t *p, size_t len, struct sshmsg_session_bind *out,
			       const char **what)
{
	struct sshmsg_session_bind sb;
	struct buf b;
	uint8_t fwd;

	memset(&sb, 0, sizeof(sb));
	buf_view(&b, p, len);
	if (buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &sb.host_key, &sb.host_key_len) !=
		P11A_OK ||
	    sb.host_key_len == 0)
		return bad(what, "session-bind's host key (empty, truncated or too long)");
	if (buf_get_string_direct(&b, SSHMSG_MAX_SID, &sb.session_id, &sb.session_id_len) !=
		P11A_OK ||
	    sb.session_id_len == 0)
		return bad(what, "session-bind's session id (empty, truncated or longer than 128 "
				 "bytes)");
	if (buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &sb.sig, &sb.sig_len) != P11A_OK ||
	    sb.sig_len == 0)
		return bad(what, "session-bind's signature (empty, truncated or too long)");
	if (buf_get_u8(&b, &fwd) != P11A_OK)
		return bad(what, "session-bind's is_forwarding (missing)");
	if (buf_avail(&b) != 0)
		return bad(what, "bytes after session-bind's is_forwarding");
	/* RFC 4251 5: any non-zero boolean is TRUE. */
	sb.forwarding = fwd != 0;
	*out = sb;
	return P11A_OK;
}

int sshmsg_verify_session_bind(const struct sshmsg_session_bind *sb, char *msg, size_t msg_len)
{
	EVP_PKEY *pkey = NULL;
	char fp[SSHKEY_FP_LEN];
	int r;

	if ((r = sshkey_from_blob(sb->host_key, sb->host_key_len, &pkey)) != P11A_OK) {
		snprintf(msg, msg_len,
			 r == P11A_ERR_NOMEM ? "out of memory reading session-bind's host key"
					     : "session-bind's host key is no RSA (1024 bits or "
					       "more), ECDSA or Ed25519 key in OpenSSH form");
		return r == P11A_ERR_NOMEM ? P11A_ERR_NOMEM : P11A_ERR_BAD_INPUT;
	}
	r = sshkey_verify(pkey, sb->sig, sb->sig_len, sb->session_id, sb->session_id_len);
	EVP_PKEY_free(pkey);
	if (r != P11A_OK) {
		sshkey_fingerprint(sb->host_key, sb->host_key_len, fp);
		snprintf(msg, msg_len,
			 r == P11A_ERR_NOMEM
			     ? "out of memory checking session-bind's signature"
			     : "session-bind's signature over the session id is not "
			       "one by host key %s",
			 fp);
		return r == P11A_ERR_NOMEM ? P11A_ERR_NOMEM : P11A_ERR_BAD_INPUT;
	}
	return P11A_OK;
}

/*
 * Copies a string field to out (SSHMSG_NAME_MAX + 1 bytes) when it is 1 to
 * SSHMSG_NAME_MAX printable ASCII characters, so that a policy compares, and
 * an audit record shows, exactly what was signed.
 */
static int get_printable(struct buf *b, char out[SSHMSG_NAME_MAX + 1])
{
	const uint8_t *p;
	size_t len, i;

	if (buf_get_string_direct(b, SSHMSG_NAME_MAX, &p, &len) != P11A_OK || len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	return 1;
}

/* Whether the string field is exactly name. */
static int get_expect(struct buf *b, const char *name)
{
	const uint8_t *p;
	size_t len;

	return buf_get_string_direct(b, SSHMSG_NAME_MAX, &p, &len) == P11A_OK &&
	       len == strlen(name) && memcmp(p, name, len) == 0;
}

static int span_is(const uint8_t *p, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(p, name, len) == 0;
}

/*
 * Whether the public key algorithm pkalg fits the key blob's type: the same
 * name, or for an "ssh-rsa" key one of its signature names (RFC 8332 3).
 */
static int alg_fits_key(const uint8_t *pkalg, size_t pkalg_len, const uint8_t *blob,
			size_t blob_len)
{
	static const char *const plain[] = {"ssh-ed25519", "ecdsa-sha2-nistp256",
					    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"};
	struct buf b;
	const uint8_t *type;
	size_t type_len, i;

	buf_view(&b, blob, blob_len);
	if (buf_get_string_direct(&b, SSHMSG_MAX_ALG, &type, &type_len) != P11A_OK)
		return 0;
	if (span_is(type, type_len, "ssh-rsa"))
		return span_is(pkalg, pkalg_len, "ssh-rsa") ||
		       span_is(pkalg, pkalg_len, "rsa-sha2-256") ||
		       span_is(pkalg, pkalg_len, "rsa-sha2-512");
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (span_is(type, type_len, plain[i]))
			return span_is(pkalg, pkalg_len, plain[i]);
	}
	return 0;
}

/*
 * RFC 4252 7 and OpenSSH's hostbound variant:
 *   string session id, byte 50, string user, string "ssh-connection",
 *   string "publickey" | "publickey-hostbound-v00@openssh.com", bool TRUE,
 *   string algorithm, string key blob [, string server host key blob].
 */
static int classify_userauth(const uint8_t *data, size_t len, struct sshmsg_signed_data *sd)
{
	struct buf b;
	const uint8_t *method, *pkalg;
	size_t method_len, pkalg_len;
	uint8_t type, has_sig;
	int hostbound;

	buf_view(&b, data, len);
	if (buf_get_string_direct(&b, SSHMSG_MAX_SID, &sd->session_id, &sd->session_id_len) !=
		P11A_OK ||
	    sd->session_id_len == 0)
		return 0;
	if (buf_get_u8(&b, &type) != P11A_OK || type != SSH2_MSG_USERAUTH_REQUEST)
		return 0;
	if (!get_printable(&b, sd->user) || !get_expect(&b, "ssh-connection"))
		return 0;
	if (buf_get_string_direct(&b, SSHMSG_NAME_MAX, &method, &method_len) != P11A_OK)
		return 0;
	if (span_is(method, method_len, "publickey"))
		hostbound = 0;
	else if (span_is(method, method_len, "publickey-hostbound-v00@openssh.com"))
		hostbound = 1;
	else
		return 0;
	/* has-signature: TRUE, and only 1 (a boolean OpenSSH writes). */
	if (buf_get_u8(&b, &has_sig) != P11A_OK || has_sig != 1)
		return 0;
	if (buf_get_string_direct(&b, SSHMSG_MAX_ALG, &pkalg, &pkalg_len) != P11A_OK ||
	    buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &sd->key_blob, &sd->key_blob_len) !=
		P11A_OK ||
	    !alg_fits_key(pkalg, pkalg_len, sd->key_blob, sd->key_blob_len))
		return 0;
	if (hostbound && (buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &sd->host_key,
						&sd->host_key_len) != P11A_OK ||
			  sd->host_key_len == 0))
		return 0;
	return buf_avail(&b) == 0;
}

/*
 * PROTOCOL.sshsig: byte[6] "SSHSIG", string namespace, string reserved,
 * string hash_algorithm, string H(message).
 */
static int classify_sshsig(const uint8_t *data, size_t len, struct sshmsg_signed_data *sd)
{
	struct buf b;
	const uint8_t *reserved, *hash;
	size_t reserved_len, hash_len, i;
	char alg[SSHMSG_NAME_MAX + 1];

	if (len < sizeof(sshsig_magic) || memcmp(data, sshsig_magic, sizeof(sshsig_magic)) != 0)
		return 0;
	buf_view(&b, data + sizeof(sshsig_magic), len - sizeof(sshsig_magic));
	if (!get_printable(&b, sd->ns) ||
	    buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &reserved, &reserved_len) != P11A_OK ||
	    !get_printable(&b, alg) ||
	    buf_get_string_direct(&b, SSHMSG_MAX_FRAME, &hash, &hash_len) != P11A_OK ||
	    buf_avail(&b) != 0)
		return 0;
	for (i = 0; i < sizeof(sshsig_hashes) / sizeof(sshsig_hashes[0]); i++) {
		if (strcmp(alg, sshsig_hashes[i].name) == 0 && hash_len == sshsig_hashes[i].len) {
			snprintf(sd->hash_alg, sizeof(sd->hash_alg), "%s", sshsig_hashes[i].name);
			return 1;
		}
	}
	return 0;
}

void sshmsg_classify(const uint8_t *data, size_t len, struct sshmsg_signed_data *out)
{
	memset(out, 0, sizeof(*out));
	if (classify_userauth(data, len, out)) {
		out->kind = SSHMSG_DATA_USERAUTH;
		return;
	}
	memset(out, 0, sizeof(*out));
	if (classify_sshsig(data, len, out)) {
		out->kind = SSHMSG_DATA_SSHSIG;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->kind = SSHMSG_DATA_OTHER;
}

/*
 * Appends the frame built in f (a u32 placeholder, then the body) to out in
 * one write, so that a failure leaves out as it was. Frees f.
 */
static int put_frame(struct buf *out, struct buf *f, int r)
{
	if (r == P11A_OK && buf_len(f) - 4 > UINT32_MAX)
		r = P11A_ERR_TOO_LARGE;
	if (r == P11A_OK)
		r = buf_poke_u32(f, 0, (uint32_t)(buf_len(f) - 4));
	if (r == P11A_OK)
		r = buf_put(out, buf_data(f), buf_len(f));
	buf_free(f);
	return r;
}

/* A new frame builder holding the u32 placeholder and the message type. */
static int frame_new(uint8_t type, struct buf **out_f)
{
	struct buf *f;

	if ((f = buf_new(0)) == NULL)
		return P11A_ERR_NOMEM;
	if (buf_put_u32(f, 0) != P11A_OK || buf_put_u8(f, type) != P11A_OK) {
		buf_free(f);
		return P11A_ERR_NOMEM;
	}
	*out_f = f;
	return P11A_OK;
}

/* One whole frame holding the single byte type. */
static int put_status(struct buf *out, uint8_t type)
{
	uint8_t frame[5] = {0, 0, 0, 1, type};

	return buf_put(out, frame, sizeof(frame));
}

int sshmsg_put_failure(struct buf *out)
{
	return put_status(out, SSH_AGENT_FAILURE);
}

int sshmsg_put_success(struct buf *out)
{
	return put_status(out, SSH_AGENT_SUCCESS);
}

int sshmsg_put_extension_failure(struct buf *out)
{
	return put_status(out, SSH_AGENT_EXTENSION_FAILURE);
}

/* Offsets in an identities answer: u32 length, byte 12, u32 count, then the keys. */
#define ID_COUNT_OFF 5
#define ID_KEYS_OFF 9

int sshmsg_identities_begin(struct buf *out)
{
	uint8_t head[ID_KEYS_OFF] = {0, 0, 0, 0, SSH_AGENT_IDENTITIES_ANSWER, 0, 0, 0, 0};

	if (buf_len(out) != 0)
		return P11A_ERR_INVALID_ARG;
	return buf_put(out, head, sizeof(head));
}

int sshmsg_identities_add(struct buf *out, const uint8_t *blob, size_t blob_len,
			  const char *comment)
{
	size_t len = comment != NULL ? strlen(comment) : 0, i;
	struct buf *e;
	uint8_t ch;
	int r;

	if (buf_len(out) < ID_KEYS_OFF)
		return P11A_ERR_INVALID_ARG;
	if (len > UINT32_MAX)
		return P11A_ERR_TOO_LARGE;
	if ((e = buf_new(0)) == NULL)
		return P11A_ERR_NOMEM;
	if ((r = buf_put_string(e, blob, blob_len)) != P11A_OK ||
	    (r = buf_put_u32(e, (uint32_t)len)) != P11A_OK)
		goto out;
	/* Control characters become '?', as in 'p11agent pubkey --format ssh'. */
	for (i = 0; i < len; i++) {
		ch = (uint8_t)comment[i];
		if ((r = buf_put_u8(e, ch < 0x20 || ch == 0x7f ? '?' : ch)) != P11A_OK)
			goto out;
	}
	/* One write: a half-written entry would break the count. */
	r = buf_put(out, buf_data(e), buf_len(e));
out:
	buf_free(e);
	return r;
}

int sshmsg_identities_end(struct buf *out)
{
	struct buf v;
	const uint8_t *p;
	size_t len, n = 0;
	int r;

	if (buf_len(out) < ID_KEYS_OFF || buf_len(out) - 4 > UINT32_MAX)
		return P11A_ERR_INVALID_ARG;
	/* The count is that of the (blob, comment) pairs add wrote. */
	buf_view(&v, buf_data(out) + ID_KEYS_OFF, buf_len(out) - ID_KEYS_OFF);
	while (buf_avail(&v) > 0) {
		if (buf_get_string_direct(&v, buf_avail(&v), &p, &len) != P11A_OK ||
		    buf_get_string_direct(&v, buf_avail(&v), &p, &len) != P11A_OK)
			return P11A_ERR_INVALID_ARG;
		n++;
	}
	if ((r = buf_poke_u32(out, 0, (uint32_t)(buf_len(out) - 4))) != P11A_OK)
		return r;
	return buf_poke_u32(out, ID_COUNT_OFF, (uint32_t)n);
}

int sshmsg_put_sign_response(struct buf *out, const uint8_t *sig_blob, size_t sig_len)
{
	struct buf *f;
	int r;

	if ((r = frame_new(SSH_AGENT_SIGN_RESPONSE, &f)) != P11A_OK)
		return r;
	return put_frame(out, f, buf_put_string(f, sig_blob, sig_len));
}

int sshmsg_put_query_reply(struct buf *out, const char *const *names, size_t n)
{
	struct buf *f;
	size_t i;
	int r;

	if ((r = frame_new(SSH_AGENT_EXTENSION_RESPONSE, &f)) != P11A_OK)
		return r;
	r = buf_put_cstring(f, "query");
	for (i = 0; i < n && r == P11A_OK; i++)
		r = buf_put_cstring(f, names[i]);
	return put_frame(out, f, r);
}
