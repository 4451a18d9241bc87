/*
 * ssh-msg: the SSH agent protocol's messages as OpenSSH 9.x speaks them
 * (PROTOCOL.agent; draft-miller-ssh-agent), and what the data of a sign
 * request says it is (a userauth request, an SSHSIG blob). Pure decoding and
 * encoding: no token, no policy, no I/O. A frame body is what follows the
 * frame's u32 length.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SSH_MSG_H
#define P11AGENT_SSH_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Message numbers (draft-miller-ssh-agent 6.1). */
#define SSH_AGENT_FAILURE 5
#define SSH_AGENT_SUCCESS 6
#define SSH_AGENTC_REQUEST_IDENTITIES 11
#define SSH_AGENT_IDENTITIES_ANSWER 12
#define SSH_AGENTC_SIGN_REQUEST 13
#define SSH_AGENT_SIGN_RESPONSE 14
#define SSH_AGENTC_ADD_IDENTITY 17
#define SSH_AGENTC_REMOVE_IDENTITY 18
#define SSH_AGENTC_REMOVE_ALL_IDENTITIES 19
#define SSH_AGENTC_ADD_SMARTCARD_KEY 20
#define SSH_AGENTC_REMOVE_SMARTCARD_KEY 21
#define SSH_AGENTC_LOCK 22
#define SSH_AGENTC_UNLOCK 23
#define SSH_AGENTC_ADD_ID_CONSTRAINED 25
#define SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED 26
#define SSH_AGENTC_EXTENSION 27
#define SSH_AGENT_EXTENSION_FAILURE 28
#define SSH_AGENT_EXTENSION_RESPONSE 29

/* Sign request flags. */
#define SSH_AGENT_RSA_SHA2_256 0x02u
#define SSH_AGENT_RSA_SHA2_512 0x04u

/* Largest frame body the SSH front reads (256 KiB, as OpenSSH's agent). */
#define SSHMSG_MAX_FRAME (256u * 1024u)

/* A decoded request; pointers are views into the body. */
struct sshmsg_request {
	uint8_t type; /* SSH_AGENTC_* (any value: others are answered with a failure) */
	/* SSH_AGENTC_SIGN_REQUEST */
	const uint8_t *key_blob;
	size_t key_blob_len;
	const uint8_t *data;
	size_t data_len;
	uint32_t flags;
	/* SSH_AGENTC_EXTENSION: the name (not NUL-terminated) and the rest of the body */
	const uint8_t *ext_name;
	size_t ext_name_len;
	const uint8_t *ext_body;
	size_t ext_body_len;
};

/*
 * Decodes a frame body. REQUEST_IDENTITIES must have no more bytes;
 * SIGN_REQUEST exactly its three fields; EXTENSION a name, then anything.
 * Other types decode to their type alone (their bodies are not read).
 * P11A_OK, or P11A_ERR_BAD_REQUEST with *what naming the part that is wrong
 * (an empty body, a truncated or oversized string, trailing bytes).
 */
int sshmsg_decode(const uint8_t *body, size_t len, struct sshmsg_request *out, const char **what);

/* session-bind@openssh.com's body (PROTOCOL.agent 1.3). */
struct sshmsg_session_bind {
	const uint8_t *host_key; /* an OpenSSH key blob */
	size_t host_key_len;
	const uint8_t *session_id;
	size_t session_id_len;
	const uint8_t *sig; /* an OpenSSH signature blob */
	size_t sig_len;
	int forwarding; /* the bool is_forwarding */
};

/* P11A_OK, or P11A_ERR_BAD_REQUEST with *what. */
int sshmsg_decode_session_bind(const uint8_t *p, size_t len, struct sshmsg_session_bind *out,
			       const char **what);
/*
 * Checks the host key's signature over the session id (sshkey_verify).
 * P11A_OK; P11A_ERR_BAD_INPUT with a message (malformed key, bad signature,
 * naming the host key's fingerprint); P11A_ERR_NOMEM.
 */
int sshmsg_verify_session_bind(const struct sshmsg_session_bind *sb, char *msg, size_t msg_len)
    __attribute__((warn_unused_result));

/* What the data of a sign request is. */
enum sshmsg_data_kind {
	SSHMSG_DATA_OTHER,    /* neither of these */
	SSHMSG_DATA_USERAUTH, /* an SSH_MSG_USERAUTH_REQUEST "publickey" (RFC 4252 7),
				 or "publickey-hostbound-v00@openssh.com" */
	SSHMSG_DATA_SSHSIG,   /* an SSHSIG signed-data blob (PROTOCOL.sshsig) */
};

#define SSHMSG_NAME_MAX 255 /* longest user name or namespace kept */

struct sshmsg_signed_data {
	enum sshmsg_data_kind kind;
	/* USERAUTH */
	char user[SSHMSG_NAME_MAX + 1]; /* the user name; NUL-free printable ASCII, else OTHER */
	const uint8_t *session_id;
	size_t session_id_len;
	const uint8_t *key_blob; /* the public key the request is for */
	size_t key_blob_len;
	const uint8_t *host_key; /* hostbound: the server's host key blob, else NULL */
	size_t host_key_len;
	/* SSHSIG */
	char ns[SSHMSG_NAME_MAX + 1]; /* the namespace; printable ASCII, else OTHER */
	char hash_alg[16];	      /* "sha256" or "sha512", else OTHER */
};

/*
 * Tells what data is. Strict: a USERAUTH must be exactly the fields of the
 * method (service "ssh-connection", has-signature TRUE) and nothing after;
 * an SSHSIG exactly its five fields with a hash as long as its algorithm's.
 * Anything else, or names too long or not printable, is OTHER.
 */
void sshmsg_classify(const uint8_t *data, size_t len, struct sshmsg_signed_data *out);

/*
 * Reply encoders: each appends one whole frame (u32 length, then the body)
 * to out. P11A_OK, or P11A_ERR_TOO_LARGE / P11A_ERR_NOMEM.
 */
int sshmsg_put_failure(struct buf *out);
int sshmsg_put_success(struct buf *out);
/* SSH_AGENT_EXTENSION_FAILURE: an extension this agent does not know. */
int sshmsg_put_extension_failure(struct buf *out);
/*
 * An identities answer: begin, one add per key (blob, comment), end (which
 * patches the frame length and the count). out must be empty at begin.
 */
int sshmsg_identities_begin(struct buf *out);
int sshmsg_identities_add(struct buf *out, const uint8_t *blob, size_t blob_len,
			  const char *comment);
int sshmsg_identities_end(struct buf *out);
int sshmsg_put_sign_response(struct buf *out, const uint8_t *sig_blob, size_t sig_len);
/*
 * The reply to the "query" extension as OpenSSH's agent (10.3 on) and
 * RFC 9987 write it: SSH_AGENT_EXTENSION_RESPONSE, string "query", then the
 * names (a string each; OpenSSH lists "session-bind@openssh.com" alone, not
 * "query" itself).
 */
int sshmsg_put_query_reply(struct buf *out, const char *const *names, size_t n);

#endif
