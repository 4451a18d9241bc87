/*
 * sshpath: sign requests over an SSH agent protocol socket.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "buf.h"
#include "frameio.h"
#include "p11agent.h"
#include "soft.h"
#include "sshkey.h"
#include "sshpath.h"

/* PROTOCOL.agent's message numbers and sign flags. */
#define SSH_AGENT_FAILURE 5
#define SSH_AGENTC_REQUEST_IDENTITIES 11
#define SSH_AGENT_IDENTITIES_ANSWER 12
#define SSH_AGENTC_SIGN_REQUEST 13
#define SSH_AGENT_SIGN_RESPONSE 14
#define SSH_AGENT_RSA_SHA2_256 2
#define SSH_AGENT_RSA_SHA2_512 4

/* The largest reply read (OpenSSH's agent caps its frames at 256 KiB too). */
#define SSH_FRAME_MAX (256u * 1024u)
#define SSH_BLOB_MAX 16384
#define SSH_COMMENT_MAX 4096
#define SSH_MAX_KEYS 1024

struct sshpath {
	const char *socket;
	const struct work *w;
	EVP_PKEY *pkey; /* the key's public half, to check signatures with */
	uint8_t *data;	/* what every request asks to sign */
	size_t data_len;
	char sig_type[SSHKEY_TYPE_LEN]; /* what the signature must be */
	struct buf *req;		/* the sign request, framed */
};

struct sshpath_client {
	struct sshpath *sp;
	int fd;
	uint8_t *in; /* the reply being read */
	size_t in_alloc;
};

/* A stream connection to the Unix socket path; -1 with msg. */
static int ssh_connect(const char *path, char *msg, size_t msg_len)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msg_len, "ssh path: socket %s: path too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(msg, msg_len, "ssh path: socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(msg, msg_len, "ssh path: SSH agent at %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sends the framed request req and reads the reply's body into c->in
 * (*out_len bytes): one send, then reads until the whole frame is in (the
 * agent says nothing before it is asked, so nothing is read past it).
 * Returns 0, or -1 with msg.
 */
static int roundtrip(struct sshpath_client *c, const struct buf *req, size_t *out_len, char *msg,
		     size_t msg_len)
{
	struct frameio_rx rx = {.fd = c->fd, .timeout_ms = 0}; /* no receive timeout is set */
	size_t have = 0, want = 4;
	uint32_t body;
	uint8_t *grown;
	ssize_t n;

	if (frameio_send_full(c->fd, buf_data(req), buf_len(req), FRAMEIO_NO_DEADLINE) != 0) {
		snprintf(msg, msg_len, "ssh path: send to %s: %s", c->sp->socket, strerror(errno));
		return -1;
	}
	while (have < want) {
		if ((n = frameio_recv_some(&rx, c->in + have, c->in_alloc - have, 0)) < 0) {
			snprintf(msg, msg_len, "ssh path: %s: %s", c->sp->socket,
				 errno == ECONNRESET ? "the agent closed the connection"
						     : strerror(errno));
			return -1;
		}
		have += (size_t)n;
		if (want == 4 && have >= 4) {
			body = (uint32_t)c->in[0] << 24 | (uint32_t)c->in[1] << 16 |
			       (uint32_t)c->in[2] << 8 | c->in[3];
			if (body == 0 || body > SSH_FRAME_MAX) {
				snprintf(msg, msg_len, "ssh path: %s: a reply of %u bytes",
					 c->sp->socket, body);
				return -1;
			}
			want = 4 + (size_t)body;
			if (want > c->in_alloc) {
				if ((grown = realloc(c->in, want)) == NULL) {
					snprintf(msg, msg_len, "out of memory");
					return -1;
				}
				c->in = grown;
				c->in_alloc = want;
			}
		}
	}
	if (have != want) {
		snprintf(msg, msg_len, "ssh path: %s: bytes after the reply", c->sp->socket);
		return -1;
	}
	*out_len = want;
	return 0;
}

/* Frames a message: a writer with room for the length, patched by frame_end(). */
static struct buf *frame_start(uint8_t type)
{
	struct buf *b = buf_new(SSH_FRAME_MAX);

	if (b != NULL && (buf_put_u32(b, 0) != P11A_OK || buf_put_u8(b, type) != P11A_OK)) {
		buf_free(b);
		return NULL;
	}
	return b;
}

static int frame_end(struct buf *b)
{
	return buf_poke_u32(b, 0, (uint32_t)(buf_len(b) - 4)) == P11A_OK ? 0 : -1;
}

/* The first string of a key blob (its type) into type; -1 when it is not one. */
static int blob_type(const uint8_t *blob, size_t blob_len, char type[SSHKEY_TYPE_LEN])
{
	struct buf b;
	const uint8_t *t;
	size_t t_len;

	buf_view(&b, blob, blob_len);
	if (buf_get_string_direct(&b, SSHKEY_TYPE_LEN - 1, &t, &t_len) != P11A_OK)
		return -1;
	memcpy(type, t, t_len);
	type[t_len] = '\0';
	return 0;
}

/*
 * The key blob of the benchmark's key among the agent's identities: the one
 * equal to want (when not NULL), else the one whose comment is w->key.
 * *out is malloc'd. Returns 0, or -1 with msg (which lists what the agent
 * holds when none matches).
 */
static int find_identity(struct sshpath_client *c, const uint8_t *want, size_t want_len,
			 uint8_t **out, size_t *out_len, char *msg, size_t msg_len)
{
	const struct sshpath *sp = c->sp;
	struct buf *req, reply;
	const uint8_t *blob, *comment;
	size_t in_len, blob_len, comment_len, seen_len = 0, found_len = 0;
	const uint8_t *found = NULL;
	uint32_t num, i;
	uint8_t type;
	char seen[200] = "";
	int ret = -1, matches = 0;

	if ((req = frame_start(SSH_AGENTC_REQUEST_IDENTITIES)) == NULL || frame_end(req) != 0) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (roundtrip(c, req, &in_len, msg, msg_len) != 0)
		goto out;
	buf_view(&reply, c->in + 4, in_len - 4);
	if (buf_get_u8(&reply, &type) != P11A_OK || type != SSH_AGENT_IDENTITIES_ANSWER ||
	    buf_get_u32(&reply, &num) != P11A_OK || num > SSH_MAX_KEYS) {
		snprintf(msg, msg_len, "ssh path: %s: no identities answer to the request for them",
			 sp->socket);
		goto out;
	}
	for (i = 0; i < num; i++) {
		if (buf_get_string_direct(&reply, SSH_BLOB_MAX, &blob, &blob_len) != P11A_OK ||
		    buf_get_string_direct(&reply, SSH_COMMENT_MAX, &comment, &comment_len) !=
			P11A_OK) {
			snprintf(msg, msg_len, "ssh path: %s: a malformed identities answer",
				 sp->socket);
			goto out;
		}
		if (want != NULL ? blob_len == want_len && memcmp(blob, want, want_len) == 0
				 : comment_len == strlen(sp->w->key) &&
				       memcmp(comment, sp->w->key, comment_len) == 0) {
			matches++;
			found = blob;
			found_len = blob_len;
		}
		if (seen_len < sizeof(seen) - 1)
			seen_len += (size_t)snprintf(
			    seen + seen_len, sizeof(seen) - seen_len, "%s'%.*s'", i ? ", " : "",
			    (int)(comment_len < 40 ? comment_len : 40), (const char *)comment);
	}
	if (matches != 1) {
		snprintf(msg, msg_len, "ssh path: %s: %s key %s among its %u identities%s%s",
			 sp->socket, matches ? "more than one" : "no", sp->w->key, num,
			 want != NULL ? " (compared by public key)"
				      : " (compared by comment: no p11agentd gave the public key)",
			 num ? "; comments: " : "");
		if (num)
			snprintf(msg + strlen(msg), msg_len - strlen(msg), "%s", seen);
		goto out;
	}
	if ((*out = malloc(found_len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	memcpy(*out, found, found_len);
	*out_len = found_len;
	ret = 0;
out:
	buf_free(req);
	return ret;
}

/*
 * The key's DER SubjectPublicKeyInfo from p11agentd into *out (malloc'd), or
 * NULL when no agent answers there (not an error). Returns 0, or -1 with msg.
 */
static int agent_spki(const char *socket, const char *key, uint8_t **out, size_t *out_len,
		      char *msg, size_t msg_len)
{
	struct p11a_conn *conn = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int rc, ret = -1;

	*out = NULL;
	if (p11a_connect(socket, &conn) != P11A_OK) {
		ret = 0;
		goto out;
	}
	if ((rc = p11a_pubkey(conn, key, &der, &der_len)) != P11A_OK) {
		snprintf(msg, msg_len, "ssh path: the public key of %s from p11agentd: %s%s%s", key,
			 p11a_strerror(rc), *p11a_conn_message(conn) ? ": " : "",
			 p11a_conn_message(conn));
		goto out;
	}
	if ((*out = malloc(der_len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	memcpy(*out, der, der_len);
	*out_len = der_len;
	ret = 0;
out:
	p11a_free(der, der_len);
	p11a_close(conn);
	return ret;
}

/*
 * The signature type and flags of w->alg for a key of type key_type, as
 * PROTOCOL.agent fixes them. Returns 0, or -1 with msg.
 */
static int sign_kind(const struct p11a_alg_info *alg, const char *key_type,
		     char sig_type[SSHKEY_TYPE_LEN], uint32_t *out_flags, char *msg, size_t msg_len)
{
	static const struct {
		const char *alg, *key_type, *sig_type;
		uint32_t flags;
	} kinds[] = {
	    {"rsa-pkcs1-sha256", "ssh-rsa", "rsa-sha2-256", SSH_AGENT_RSA_SHA2_256},
	    {"rsa-pkcs1-sha512", "ssh-rsa", "rsa-sha2-512", SSH_AGENT_RSA_SHA2_512},
	    {"ecdsa-sha256", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", 0},
	    {"ecdsa-sha384", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384", 0},
	    {"ecdsa-sha512", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521", 0},
	    {"ed25519", "ssh-ed25519", "ssh-ed25519", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].alg, alg->name) == 0 &&
		    strcmp(kinds[i].key_type, key_type) == 0) {
			snprintf(sig_type, SSHKEY_TYPE_LEN, "%s", kinds[i].sig_type);
			*out_flags = kinds[i].flags;
			return 0;
		}
	}
	snprintf(msg, msg_len,
		 "ssh path: SSH has no %s signature with this %s key (rsa-pkcs1-sha256, -sha512 "
		 "with RSA, ecdsa-sha256/384/512 with nistp256/384/521, ed25519)",
		 alg->name, key_type);
	return -1;
}

int sshpath_open(const char *ssh_socket, const char *agent_socket, const struct work *w,
		 size_t data_len, struct sshpath **out, char *msg, size_t msg_len)
{
	struct sshpath *sp;
	struct sshpath_client *probe = NULL;
	uint8_t *want = NULL, *blob = NULL;
	size_t want_len = 0, blob_len = 0;
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	char key_type[SSHKEY_TYPE_LEN];
	const unsigned char *p;
	uint32_t flags;
	int ret = -1;

	if (ssh_socket == NULL || *ssh_socket == '\0') {
		snprintf(msg, msg_len,
			 "ssh path: no socket: give --ssh-socket or set SSH_AUTH_SOCK");
		return -1;
	}
	if (w->op != WORK_SIGN || w->batch != 1) {
		snprintf(msg, msg_len, "ssh path: single RSA, ECDSA and Ed25519 signatures only");
		return -1;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	sp->socket = ssh_socket;
	sp->w = w;
	if (agent_spki(agent_socket, w->key, &spki, &spki_len, msg, msg_len) != 0)
		goto out;
	if (spki != NULL && sshkey_blob_from_spki(spki, spki_len, &want, &want_len, NULL, msg,
						  msg_len) != P11A_OK) {
		snprintf(msg + strlen(msg), msg_len - strlen(msg), " (key %s)", w->key);
		goto out;
	}
	if (sshpath_client_open(sp, &probe, msg, msg_len) != 0 ||
	    find_identity(probe, want, want_len, &blob, &blob_len, msg, msg_len) != 0)
		goto out;
	/* Found by its comment, the key is the blob's. */
	p = spki;
	if (blob_type(blob, blob_len, key_type) != 0 ||
	    (spki != NULL ? (sp->pkey = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL
			  : sshkey_from_blob(blob, blob_len, &sp->pkey) != P11A_OK)) {
		ERR_clear_error();
		snprintf(msg, msg_len, "ssh path: %s: the key blob of %s cannot be read",
			 ssh_socket, w->key);
		goto out;
	}
	if (sign_kind(w->alg, key_type, sp->sig_type, &flags, msg, msg_len) != 0)
		goto out;
	sp->data_len = data_len;
	if ((sp->data = malloc(data_len)) == NULL ||
	    (sp->req = frame_start(SSH_AGENTC_SIGN_REQUEST)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (soft_random(sp->data, data_len) != 0) {
		snprintf(msg, msg_len, "OpenSSL: no random bytes");
		goto out;
	}
	if (buf_put_string(sp->req, blob, blob_len) != P11A_OK ||
	    buf_put_string(sp->req, sp->data, data_len) != P11A_OK ||
	    buf_put_u32(sp->req, flags) != P11A_OK || frame_end(sp->req) != 0) {
		snprintf(msg, msg_len, "ssh path: the sign request does not fit a frame");
		goto out;
	}
	*out = sp;
	sp = NULL;
	ret = 0;
out:
	sshpath_client_close(probe);
	sshpath_close(sp);
	free(spki);
	free(want);
	free(blob);
	return ret;
}

int sshpath_client_open(struct sshpath *sp, struct sshpath_client **out, char *msg, size_t msg_len)
{
	struct sshpath_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->in = malloc(4096)) == NULL) {
		free(c);
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	c->sp = sp;
	c->in_alloc = 4096;
	if ((c->fd = ssh_connect(sp->socket, msg, msg_len)) < 0) {
		free(c->in);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int sshpath_client_op(struct sshpath_client *c, int check, char *msg, size_t msg_len)
{
	const struct sshpath *sp = c->sp;
	struct buf reply, sig_view;
	const uint8_t *sig, *sig_type;
	size_t in_len, sig_len, sig_type_len;
	uint8_t type = 0;

	if (roundtrip(c, sp->req, &in_len, msg, msg_len) != 0)
		return -1;
	buf_view(&reply, c->in + 4, in_len - 4);
	if (buf_get_u8(&reply, &type) != P11A_OK || type != SSH_AGENT_SIGN_RESPONSE) {
		snprintf(msg, msg_len, "ssh path: %s: %s", sp->socket,
			 type == SSH_AGENT_FAILURE ? "the agent refused to sign (SSH_AGENT_FAILURE)"
						   : "not a sign response");
		return -1;
	}
	if (!check)
		return 0;
	if (buf_get_string_direct(&reply, SSH_FRAME_MAX, &sig, &sig_len) != P11A_OK ||
	    buf_avail(&reply) != 0) {
		snprintf(msg, msg_len, "ssh path: %s: a malformed sign response", sp->socket);
		return -1;
	}
	/* The type first: an RSA signature with the other hash would verify too. */
	buf_view(&sig_view, sig, sig_len);
	if (buf_get_string_direct(&sig_view, SSHKEY_TYPE_LEN, &sig_type, &sig_type_len) !=
		P11A_OK ||
	    sig_type_len != strlen(sp->sig_type) ||
	    memcmp(sig_type, sp->sig_type, sig_type_len) != 0) {
		snprintf(msg, msg_len, "ssh path: %s: not a %s signature", sp->socket,
			 sp->sig_type);
		return -1;
	}
	if (sshkey_verify(sp->pkey, sig, sig_len, sp->data, sp->data_len) != P11A_OK) {
		snprintf(msg, msg_len, "ssh path: %s: the %s signature does not verify with %s",
			 sp->socket, sp->sig_type, sp->w->key);
		return -1;
	}
	return 0;
}

void sshpath_client_close(struct sshpath_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c);
}

void sshpath_close(struct sshpath *sp)
{
	if (sp == NULL)
		return;
	EVP_PKEY_free(sp->pkey);
	free(sp->data);
	buf_free(sp->req);
	free(sp);
}
