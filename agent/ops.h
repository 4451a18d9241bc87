/*
 * ops: the work every request does, once, for every front. A typed call
 * finds the key the caller may see, asks the policy, calls the token; and
 * ops_finish() writes the request's audit record. A front (front-native.c,
 * front-ssh.c) only decodes its wire format into these calls and encodes
 * what they give back: it never reaches the token, the policy or the audit
 * trail itself.
 *
 * One request is one struct ops_call: ops_begin(), any typed calls, then
 * ops_finish() with the status the front will answer, which records it (or
 * counts it, for a flood of refusals: ratelimit.h) before the reply can be
 * sent. A typed call that fails leaves its message in call->msg.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_OPS_H
#define P11AGENT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "caller.h"
#include "conf.h"
#include "proto.h"
#include "purpose.h"
#include "secret.h"
#include "token.h"

#define OPS_MSG_LEN 2048

struct policy;
struct audit;
struct ratelimit;
struct metrics;
struct server;

/*
 * What the operations work with; any member may be NULL (token away, no
 * policy, no audit, every refusal recorded).
 */
struct agent_ctx {
	struct token *tok;
	struct policy *policy;
	struct audit *audit;
	struct ratelimit *ratelimit; /* records of refused requests per uid and second */
	/*
	 * What can change while the agent runs (key lifecycle, reload): the
	 * index of keys, their names, the policy, the config in force. Every
	 * request holds view for reading from its first byte to its reply
	 * (the server takes it around each dispatch: ops_view_enter); a change
	 * holds it for writing. NULL: nothing ever changes (tests).
	 */
	pthread_rwlock_t *view;
	/*
	 * One change at a time (keygen, rotate, trim, cert-import, reload):
	 * taken without a hold on view, before it (reload.h).
	 */
	pthread_mutex_t *change;
	/* A SIGHUP's reload that waits for the change in progress (reload_hup()). */
	atomic_int reload_pending;
	struct agent_config *cfg; /* the config in force; NULL: none */
	const char *config_file;  /* what a reload reads (--config); NULL: none */
	uid_t agent_uid;	  /* the agent's own uid, always an admin */
	struct metrics *metrics;  /* every answered request is counted here (ops_finish) */
	struct server *server;	  /* for the connections open (status) */
};

/* The server holds the view around each request (ctx and its view may be NULL). */
void ops_view_enter(struct agent_ctx *ctx);
void ops_view_leave(struct agent_ctx *ctx);

struct ops_call {
	struct agent_ctx *ctx;
	struct caller *caller;
	const char *op;		       /* the audit record's op ("sign", "list", "ssh-add", ...) */
	const struct purpose *purpose; /* NULL: none (the native protocol) */
	const struct token_key *key;   /* the key used (or the one a hidden reference meant) */
	p11a_alg alg;
	char key_ref[PROTO_MAX_KEYREF + 1]; /* the reference as the audit may show it, or "" */
	const uint8_t *data;		    /* what the audit record hashes, when has_data */
	size_t data_len;
	int has_data;
	int allowed;	/* the policy let the caller use key */
	int by_family;	/* the reference named a key without a version: decrypt, unwrap and
			   HMAC verification may fall back to its older versions */
	int unrecorded; /* an audit check this connection already has in the trail */
	uint64_t start_us;
	char msg[OPS_MSG_LEN]; /* why a call failed */
};

/* Starts a request; ctx may be NULL (no token, policy or audit). */
void ops_begin(struct ops_call *c, struct agent_ctx *ctx, struct caller *caller, const char *op,
	       const struct purpose *purpose);
/* Sets c->msg and returns code: for refusals a front decides itself. */
int ops_fail(struct ops_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Records the request with the status the front will answer. Returns
 * status, or P11A_ERR_INTERNAL (c->msg says so) when a success could not be
 * recorded: it must not be answered. A refusal beyond the caller's share of
 * the trail is counted instead, and delayed RATELIMIT_DELAY_MS here. Every
 * request is also counted in ctx->metrics, by its key (c->key, NULL when
 * none), op and the status returned.
 */
int ops_finish(struct ops_call *c, int status);
/* Not in the trail (HELLO, PING): ops_finish() then only counts it and returns status. */
void ops_unrecorded(struct ops_call *c);

/* Keeps the key reference a request named, for the audit (without a PIN it may carry). */
void ops_note_ref(struct ops_call *c, const char *ref);

/* Is the token there? P11A_OK or P11A_ERR_TOKEN_UNAVAILABLE with a message. */
int ops_need_token(struct ops_call *c);

/*
 * The keys the caller may know exist, in the token's order: *i starts at 0.
 * NULL at the end. With c->purpose set, only the keys offered on that front
 * (the SSH front: keys that can sign, that the policy lets the caller sign
 * with there).
 */
const struct token_key *ops_next_key(struct ops_call *c, size_t *i);
/*
 * Every key of the token, in order, *i starting at 0 (NULL at the end): for
 * a front that finds a key by something else than a reference (the SSH
 * front: its blob) and must name in the audit trail a key the caller may
 * not see. ops_sees() says whether ops_next_key() would give it.
 */
const struct token_key *ops_next_any_key(struct ops_call *c, size_t *i);
int ops_sees(struct ops_call *c, const struct token_key *key);
/* Names key in the audit record of a request that may not use it. */
void ops_note_key(struct ops_call *c, const struct token_key *key);

/*
 * Resolves a key reference for a request that only looks at the key (its
 * public key, its certificate, its description). A key the caller may not
 * see does not exist for it (P11A_ERR_NO_SUCH_KEY).
 */
int ops_find_key(struct ops_call *c, const char *ref, const struct token_key **out_key);
/*
 * The algorithms the key serves (token_key_algs) and, in sw, those the
 * agent completes in software; at most max each. Returns how many in algs.
 */
size_t ops_key_algs(struct ops_call *c, const struct token_key *key, p11a_alg *algs, p11a_alg *sw,
		    size_t *n_sw, size_t max);
/* The key's default algorithm for op, or P11A_ALG_NONE. */
p11a_alg ops_default_alg(const struct token_key *key, uint32_t op);

/*
 * Resolves ref (or takes key, when ref is NULL) and the algorithm for op
 * (alg, or the key's default for op when P11A_ALG_NONE), and asks the policy.
 * Audit keys are refused. On success *out_key and *out_alg are what the
 * token calls below take.
 */
int ops_use_key(struct ops_call *c, const char *ref, const struct token_key *key, uint32_t op,
		p11a_alg alg, const struct token_key **out_key, p11a_alg *out_alg);

/* The token calls, on a key ops_use_key() allowed; data is what the audit hashes. */
int ops_sign(struct ops_call *c, const struct token_key *key, p11a_alg alg, uint32_t flags,
	     const uint8_t *in, size_t in_len, uint8_t **out_sig, size_t *out_len);
int ops_verify_hmac(struct ops_call *c, const struct token_key *key, p11a_alg alg,
		    const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
		    int *out_valid);
int ops_decrypt(struct ops_call *c, const struct token_key *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, const uint8_t *in, size_t in_len, struct secret **out_plain);
int ops_unwrap(struct ops_call *c, const struct token_key *key, p11a_alg alg, const uint8_t *label,
	       size_t label_len, size_t key_len, const uint8_t *in, size_t in_len,
	       struct secret **out_key);
int ops_derive(struct ops_call *c, const struct token_key *key, p11a_alg alg,
	       const uint8_t *peer_spki, size_t peer_len, struct secret **out_z);
/* Sets what the audit record hashes (the whole batch of a sign-batch, say). */
void ops_set_data(struct ops_call *c, const uint8_t *data, size_t len);

/*
 * Key lifecycle (ops-lifecycle.c): for admins only (policy_admin), each one
 * request. Each drops the request's hold on the view while the token works
 * and re-indexes under the write hold, so a key pointer taken before is
 * still good but the index may have changed.
 *
 * ops_keygen: makes key name (1 to 64 of A-Za-z0-9._-, not in use) of
 * type (token_keyspec_parse) with ops (0: defaults); *out_key is the new key.
 * ops_rotate: makes the next version of ref's family; *out_key is it.
 * ops_versions: the versions of ref's family, oldest first, in *out (an
 *   array of *out_n keys the caller frees; the keys are the index's).
 * ops_trim: destroys the versions below `below` (allow-destroy, below <= min-version).
 * ops_rewrap: in, wrapped for a version of ref's family (ref NAME@N: that
 *   one; NAME: the newest that unwraps it), wrapped for the newest.
 * ops_cert_import: stores a certificate for ref's key.
 * ops_reload: reads the config again and re-indexes (reload.h).
 */
int ops_keygen(struct ops_call *c, const char *name, const char *type, uint32_t ops,
	       const struct token_key **out_key);
int ops_rotate(struct ops_call *c, const char *ref, const struct token_key **out_key);
int ops_versions(struct ops_call *c, const char *ref, const struct token_key ***out, size_t *out_n);
int ops_trim(struct ops_call *c, const char *ref, uint32_t below, uint32_t *out_n);
int ops_rewrap(struct ops_call *c, const char *ref, p11a_alg alg, const uint8_t *label,
	       size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len,
	       uint32_t *out_from, uint32_t *out_to);
int ops_cert_import(struct ops_call *c, const char *ref, const uint8_t *der, size_t der_len);
int ops_reload(struct ops_call *c, size_t *out_n_keys);

/*
 * The agent's status (ops-status.c), for admins only: the token's state,
 * the connections and sessions in use, and the counters of ctx->metrics,
 * sorted by key, version and operation. *out_st is freed with
 * p11a_status_free().
 */
int ops_status(struct ops_call *c, struct p11a_status **out_st);

/* The keyed audit chain's checks (audit-verify, audit-head). */
int ops_audit_verify(struct ops_call *c, const uint8_t *prev, size_t prev_len,
		     const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		     int *out_valid);
int ops_audit_head(struct ops_call *c, uint64_t *out_seq, uint8_t out_mac[32]);

#endif
