/*
 * front-ssh: the SSH agent protocol (OpenSSH's PROTOCOL.agent) over the
 * operations layer, so that ssh, git and ssh-keygen use token keys with the
 * agent's policy and audit trail. The keys live in the token: requests to
 * add, remove or lock keys get a failure and change nothing.
 *
 * Identities are the keys the caller may sign with on this front, each with
 * its OpenSSH blob (made once, when the token is indexed: token_key.ssh_blob)
 * and its name as comment. A sign request names its key by blob; its data is
 * classified (a userauth request, an SSHSIG blob, or other) so that the
 * policy can hold a key to some logins or namespaces, and the audit record
 * says which.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "front.h"
#include "keyname.h"
#include "log.h"
#include "ssh-msg.h"
#include "sshkey.h"

/* session-bind@openssh.com may be repeated by forwarding hops, this often at most. */
#define SSH_MAX_BINDS 16

/* What one connection has: the host key it is bound to, if any. */
struct ssh_state {
	unsigned binds;
	char host_key[SSHKEY_FP_LEN]; /* the last bound host key's fingerprint, or "" */
	uint8_t *host_blob;	      /* and its blob */
	size_t host_blob_len;
	uint8_t session_id[128]; /* the last bound session's id */
	size_t session_id_len;
};

/*
 * How a key signs here: its type (and curve), the token's algorithm (whose
 * hash, proto/alg.c's, is the data's) and the OpenSSH signature type. RSA
 * signs with the hash the request's flag asks for; SHA-1 "ssh-rsa" has no row.
 */
static const struct ssh_alg {
	p11a_key_type type;
	const char *curve; /* EC: token_key.curve */
	uint32_t rsa_flag; /* RSA: the sign request's flag that asks for it */
	p11a_alg alg;
	const char *sig_type;
} ssh_algs[] = {
    {P11A_KEY_RSA, NULL, SSH_AGENT_RSA_SHA2_512, P11A_ALG_RSA_PKCS1_SHA512, "rsa-sha2-512"},
    {P11A_KEY_RSA, NULL, SSH_AGENT_RSA_SHA2_256, P11A_ALG_RSA_PKCS1_SHA256, "rsa-sha2-256"},
    {P11A_KEY_EC, "P-256", 0, P11A_ALG_ECDSA_SHA256, "ecdsa-sha2-nistp256"},
    {P11A_KEY_EC, "P-384", 0, P11A_ALG_ECDSA_SHA384, "ecdsa-sha2-nistp384"},
    {P11A_KEY_EC, "P-521", 0, P11A_ALG_ECDSA_SHA512, "ecdsa-sha2-nistp521"},
    {P11A_KEY_ED25519, NULL, 0, P11A_ALG_ED25519, "ssh-ed25519"},
};

static void ssh_state_free(void *state)
{
	struct ssh_state *st = state;

	free(st->host_blob);
}

/*
 * The keys the caller may sign with on this front that have an OpenSSH form
 * (RSA, ECDSA P-256/384/521, Ed25519), named as the CLI names them: 'p11agent
 * pubkey --format ssh' prints the same lines.
 */
static int request_identities(struct ops_call *c, struct buf *out)
{
	const struct token_key *key;
	size_t i = 0;
	int rc;

	if ((rc = ops_need_token(c)) != P11A_OK || (rc = sshmsg_identities_begin(out)) != P11A_OK)
		return rc;
	while ((key = ops_next_key(c, &i)) != NULL) {
		char name[256];

		if (key->ssh_blob == NULL)
			continue;
		keyname_format(key->name, key->label, key->id, key->id_len, name, sizeof(name));
		if ((rc = sshmsg_identities_add(out, key->ssh_blob, key->ssh_blob_len, name)) !=
		    P11A_OK)
			return rc;
	}
	return sshmsg_identities_end(out);
}

/* The token's key whose OpenSSH blob this is, or NULL. */
static const struct token_key *find_blob(struct ops_call *c, const uint8_t *blob, size_t len)
{
	const struct token_key *key;
	size_t i = 0;

	while ((key = ops_next_any_key(c, &i)) != NULL)
		if (key->ssh_blob != NULL && key->ssh_blob_len == len &&
		    memcmp(key->ssh_blob, blob, len) == 0)
			return key;
	return NULL;
}

/* The row key signs with for these flags; SHA-1 "ssh-rsa" is refused. */
static int pick_alg(struct ops_call *c, const struct token_key *key, uint32_t flags,
		    const struct ssh_alg **out)
{
	for (size_t i = 0; i < sizeof(ssh_algs) / sizeof(ssh_algs[0]); i++) {
		const struct ssh_alg *sa = &ssh_algs[i];

		if (sa->type == key->type &&
		    (sa->curve == NULL || strcmp(sa->curve, key->curve) == 0) &&
		    (sa->rsa_flag == 0 || (flags & sa->rsa_flag))) {
			*out = sa;
			return P11A_OK;
		}
	}
	if (key->type == P11A_KEY_RSA)
		return ops_fail(c, P11A_ERR_NOT_SUPPORTED,
				"ssh-rsa (SHA-1) signatures are refused: use rsa-sha2-256 or "
				"rsa-sha2-512");
	return ops_fail(c, P11A_ERR_NOT_SUPPORTED, "this key has no OpenSSH signature");
}

static int same(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/*
 * What the data is for, as the policy and the audit trail see it. A userauth
 * request counts as one only for the key it is signed with, and, on a bound
 * connection, for the bound session and host: else it is other data (which a
 * key held to ssh-logins does not sign).
 */
static void classify(const struct ssh_state *st, const struct sshmsg_request *req,
		     struct sshmsg_signed_data *sd, struct purpose *p)
{
	sshmsg_classify(req->data, req->data_len, sd);
	if (sd->kind == SSHMSG_DATA_USERAUTH &&
	    (!same(sd->key_blob, sd->key_blob_len, req->key_blob, req->key_blob_len) ||
	     (st->binds > 0 &&
	      (!same(sd->session_id, sd->session_id_len, st->session_id, st->session_id_len) ||
	       (sd->host_key != NULL &&
		!same(sd->host_key, sd->host_key_len, st->host_blob, st->host_blob_len))))))
		sd->kind = SSHMSG_DATA_OTHER;
	if (sd->kind == SSHMSG_DATA_USERAUTH) {
		p->kind = PURPOSE_LOGIN;
		p->login = sd->user;
	} else if (sd->kind == SSHMSG_DATA_SSHSIG) {
		p->kind = PURPOSE_SSHSIG;
		p->ns = sd->ns;
	}
}

static int sign_request(struct ops_call *c, const struct sshmsg_request *req, struct buf *out)
{
	const struct token_key *key;
	const struct ssh_alg *sa = NULL;
	const struct p11a_alg_info *ai;
	uint8_t md[EVP_MAX_MD_SIZE], *sig = NULL, *blob = NULL;
	unsigned md_len = 0;
	size_t sig_len = 0, blob_len = 0;
	p11a_alg alg;
	int rc;

	ops_set_data(c, req->data, req->data_len);
	if ((rc = ops_need_token(c)) != P11A_OK)
		return rc;
	if ((key = find_blob(c, req->key_blob, req->key_blob_len)) == NULL || !ops_sees(c, key)) {
		char fp[SSHKEY_FP_LEN];

		/* A key the caller may not use does not exist for it; the trail names it. */
		if (key != NULL)
			ops_note_key(c, key);
		sshkey_fingerprint(req->key_blob, req->key_blob_len, fp);
		return ops_fail(c, P11A_ERR_NO_SUCH_KEY, "no key %s for this caller", fp);
	}
	if ((rc = pick_alg(c, key, req->flags, &sa)) != P11A_OK) {
		ops_note_key(c, key); /* for the audit record */
		return rc;
	}
	if ((rc = ops_use_key(c, NULL, key, P11A_OP_SIGN, sa->alg, &key, &alg)) != P11A_OK)
		return rc;
	if ((ai = p11a_alg_by_id(alg)) != NULL && ai->hash != NULL) {
		if (!EVP_Digest(req->data, req->data_len, md, &md_len,
				EVP_get_digestbyname(ai->hash), NULL))
			return ops_fail(c, P11A_ERR_INTERNAL, "cannot hash the data");
		rc = ops_sign(c, key, alg, P11A_SIGN_ECDSA_RAW, md, md_len, &sig, &sig_len);
	} else {
		rc = ops_sign(c, key, alg, 0, req->data, req->data_len, &sig, &sig_len);
	}
	if (rc == P11A_OK &&
	    (rc = sshkey_sig_blob(sa->sig_type, sig, sig_len, &blob, &blob_len)) != P11A_OK)
		rc = ops_fail(c, P11A_ERR_INTERNAL, "cannot encode the %s signature", sa->sig_type);
	if (rc == P11A_OK)
		rc = sshmsg_put_sign_response(out, blob, blob_len);
	free(sig);
	free(blob);
	return rc;
}

/*
 * session-bind@openssh.com: the host key's signature over the session id,
 * checked. fp (SSHKEY_FP_LEN bytes, the caller's: the audit record reads it
 * after this returns) gets the host key's fingerprint.
 */
static int session_bind(struct ops_call *c, struct ssh_state *st, const struct sshmsg_request *req,
			struct purpose *p, char *fp)
{
	struct sshmsg_session_bind sb;
	const char *what = "";
	uint8_t *blob;
	int rc;

	if (sshmsg_decode_session_bind(req->ext_body, req->ext_body_len, &sb, &what) != P11A_OK)
		return ops_fail(c, P11A_ERR_BAD_REQUEST, "malformed session-bind: %s", what);
	sshkey_fingerprint(sb.host_key, sb.host_key_len, fp);
	p->host_key = fp;
	if (st->binds > 0 && !sb.forwarding)
		return ops_fail(c, P11A_ERR_DENIED,
				"this connection is bound already; only a forwarding hop may bind "
				"it again");
	if (st->binds >= SSH_MAX_BINDS)
		return ops_fail(c, P11A_ERR_DENIED, "more than %d session binds", SSH_MAX_BINDS);
	/* ssh-msg.c takes session ids of at most 128 bytes: session_id[] holds them. */
	if ((rc = sshmsg_verify_session_bind(&sb, c->msg, sizeof(c->msg))) != P11A_OK)
		return rc;
	if ((blob = malloc(sb.host_key_len)) == NULL)
		return ops_fail(c, P11A_ERR_NOMEM, "out of memory");
	memcpy(blob, sb.host_key, sb.host_key_len);
	free(st->host_blob);
	st->host_blob = blob;
	st->host_blob_len = sb.host_key_len;
	memcpy(st->session_id, sb.session_id, sb.session_id_len);
	st->session_id_len = sb.session_id_len;
	st->binds++;
	memcpy(st->host_key, fp, SSHKEY_FP_LEN);
	p->host_key = st->host_key;
	return P11A_OK;
}

static int extension(struct ops_call *c, struct ssh_state *st, const struct sshmsg_request *req,
		     struct purpose *p, char *bind_fp, struct buf *out)
{
	static const char *const served[] = {"session-bind@openssh.com"};
	static const char bind_name[] = "session-bind@openssh.com";
	int rc;

	if (req->ext_name_len == 5 && memcmp(req->ext_name, "query", 5) == 0)
		return sshmsg_put_query_reply(out, served, sizeof(served) / sizeof(served[0]));
	if (req->ext_name_len == sizeof(bind_name) - 1 &&
	    memcmp(req->ext_name, bind_name, sizeof(bind_name) - 1) == 0) {
		c->op = "ssh-session-bind";
		if ((rc = session_bind(c, st, req, p, bind_fp)) != P11A_OK)
			return rc;
		return sshmsg_put_success(out);
	}
	return ops_fail(c, P11A_ERR_NOT_SUPPORTED, "unknown extension '%.*s'",
			(int)(req->ext_name_len < 64 ? req->ext_name_len : 64),
			(const char *)req->ext_name);
}

/* The audit record's op for a message that changes keys, which the token holds. */
static const char *refused_op(uint8_t type)
{
	switch (type) {
	case SSH_AGENTC_ADD_IDENTITY:
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		return "ssh-add";
	case SSH_AGENTC_REMOVE_IDENTITY:
		return "ssh-remove";
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		return "ssh-remove-all";
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
		return "ssh-smartcard";
	case SSH_AGENTC_LOCK:
		return "ssh-lock";
	case SSH_AGENTC_UNLOCK:
		return "ssh-unlock";
	default:
		return NULL;
	}
}

static int ssh_dispatch(struct agent_ctx *ctx, struct caller *caller, void *state,
			const uint8_t *body, size_t body_len, struct buf *out)
{
	struct ssh_state *st = state;
	struct purpose purpose = {.front = "ssh", .kind = PURPOSE_OTHER};
	struct sshmsg_signed_data sd;
	struct sshmsg_request req;
	struct ops_call call;
	const char *what = "", *op;
	char bind_fp[SSHKEY_FP_LEN] = ""; /* outlives the request's audit record */
	int rc;

	purpose.host_key = st->host_key[0] != '\0' ? st->host_key : NULL;
	ops_begin(&call, ctx, caller, "ssh-unknown", &purpose);
	if ((rc = sshmsg_decode(body, body_len, &req, &what)) != P11A_OK) {
		/* The stream may not be what it claims: this connection ends here. */
		ops_fail(&call, rc, "malformed SSH agent message: %s", what);
		call.op = "ssh-malformed";
		(void)ops_finish(&call, rc);
		log_info("uid %d pid %d: %s; connection closed", caller->uid, caller->pid,
			 call.msg);
		return -1;
	}
	switch (req.type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		call.op = "list";
		rc = request_identities(&call, out);
		break;
	case SSH_AGENTC_SIGN_REQUEST:
		call.op = "sign";
		classify(st, &req, &sd, &purpose);
		rc = sign_request(&call, &req, out);
		break;
	case SSH_AGENTC_EXTENSION:
		call.op = "ssh-extension";
		rc = extension(&call, st, &req, &purpose, bind_fp, out);
		break;
	default:
		if ((op = refused_op(req.type)) != NULL) {
			call.op = op;
			rc = ops_fail(&call, P11A_ERR_NOT_SUPPORTED,
				      "the keys live in the token: they cannot be added, removed "
				      "or locked over the SSH agent protocol");
		} else {
			rc = ops_fail(&call, P11A_ERR_UNKNOWN_OP, "unknown SSH agent message %u",
				      req.type);
		}
		break;
	}
	/* In the trail before the client can see the result. */
	rc = ops_finish(&call, rc);
	if (rc != P11A_OK) {
		log_debug("ssh request %u from uid %d pid %d: %s: %s", req.type, caller->uid,
			  caller->pid, p11a_errname(rc), call.msg);
		buf_reset(out);
		return sshmsg_put_failure(out) == P11A_OK ? 0 : -1;
	}
	return 0;
}

/* The SSH agent protocol has no error text: a client about to be dropped gets a failure. */
static int ssh_refusal(struct buf *out, int code, const char *why)
{
	(void)code;
	(void)why;
	return sshmsg_put_failure(out) == P11A_OK ? 0 : -1;
}

static int ssh_replace_reply(struct buf *out, int code, const char *why)
{
	(void)code;
	(void)why;
	buf_reset(out);
	return sshmsg_put_failure(out) == P11A_OK ? 0 : -1;
}

const struct front front_ssh = {
    .name = "ssh",
    .max_frame = SSHMSG_MAX_FRAME,
    .min_frame = 1,
    .state_size = sizeof(struct ssh_state),
    .pipeline = 1, /* PROTOCOL.agent: replies in the order of the requests */
    .dispatch = ssh_dispatch,
    .state_free = ssh_state_free,
    .refusal = ssh_refusal,
    .replace_reply = ssh_replace_reply,
};
