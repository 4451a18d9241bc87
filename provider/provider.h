/*
 * The p11agent OpenSSL provider: what its files share.
 *
 * The provider is a client of p11agentd through libp11agent. Keys are agent
 * keys (struct p11ap_key): a reference the agent takes (the key's pkcs11:
 * URI) and the public key, held locally. Every private-key operation is one
 * libp11agent call made through p11ap_call(); public-key work (export,
 * matching, hashing before a signature, a KDF after ECDH) runs locally in
 * the provider's child library context, with algorithms of the other
 * providers only (P11AP_LOCAL_PROPQ), never this one.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_PROVIDER_H
#define P11AGENT_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "p11agent.h"

/* The provider's name, and the property its algorithms carry. */
#define P11AP_NAME "p11agent"
#define P11AP_PROPS "provider=p11agent"
/* Local work (hashes, public keys, KDFs) fetches with this property query. */
#define P11AP_LOCAL_PROPQ "provider!=p11agent"
/* The OSSL_STORE scheme: p11agent:KEY. */
#define P11AP_SCHEME "p11agent"
/* The decoder structure of a key file's DER (decoder.c). */
#define P11AP_KEYFILE_STRUCTURE "p11agent-key"
/* The openssl.cnf parameter naming the agent's socket. */
#define P11AP_PARAM_SOCKET "socket"

struct p11ap_pool;

/* One loaded instance of the provider (its provider context). */
struct p11ap_prov {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx; /* child library context, for local work */
	char *socket;	      /* the openssl.cnf "socket" parameter, or NULL */
	struct p11ap_pool *pool;
	OSSL_FUNC_core_new_error_fn *core_new_error;
	OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
	OSSL_FUNC_core_vset_error_fn *core_vset_error;
};

/* Reasons of the provider's errors (ERR_GET_REASON()); strings in errors.c. */
enum {
	P11AP_R_AGENT = 1,	/* the agent refused or failed: its message follows */
	P11AP_R_CONNECT,	/* cannot reach the agent at the socket */
	P11AP_R_DENIED,		/* the key's policy refuses this uid */
	P11AP_R_NOT_ALLOWED,	/* the operation is not the key's */
	P11AP_R_UNSUPPORTED,	/* a parameter this provider does not serve */
	P11AP_R_BAD_INPUT,	/* a caller's argument is wrong */
	P11AP_R_PRIVATE_EXPORT, /* private keys stay in the token */
	P11AP_R_NOMEM,
	P11AP_R_INTERNAL,
};

/*
 * Puts an error on OpenSSL's error stack, reason one of P11AP_R_*, with a
 * printf-style message; p11ap_raise() records the caller's file, line and
 * function.
 */
#define p11ap_raise(prov, reason, ...)                                                             \
	p11ap_raise_at((prov), __FILE__, __LINE__, __func__, (reason), __VA_ARGS__)
void p11ap_raise_at(struct p11ap_prov *prov, const char *file, int line, const char *func,
		    int reason, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/*
 * The error of a libp11agent call that returned rc: "WHAT: VERDICT: the
 * agent's message (agent at SOCKET)", where VERDICT for P11A_ERR_DENIED is
 * "refused by the key's policy". conn may be NULL.
 */
void p11ap_raise_agent(struct p11ap_prov *prov, int rc, const char *what,
		       const struct p11a_conn *conn);
/* The reason strings OpenSSL prints. */
extern const OSSL_ITEM p11ap_reason_strings[];

/* One request to the agent: fn(conn, arg) returns a P11A_* code. */
typedef int p11ap_call_fn(struct p11a_conn *conn, void *arg);
/*
 * Runs fn on a connection to the agent (the environment's P11AGENT_SOCK,
 * else prov->socket, else the default socket), from the provider's small
 * pool or a new one; after a fork the child's first call connects anew. A
 * pooled connection that fails at once with an I/O error (the agent
 * restarted) is replaced and fn run once more; one that failed by
 * P11AGENT_TIMEOUT (a frozen agent) is not. fn may run twice: it must set
 * its outputs only on success. On failure raises an error that names what
 * was asked (what), the socket and the agent's message. Returns fn's code.
 */
int p11ap_call(struct p11ap_prov *prov, const char *what, p11ap_call_fn *fn, void *arg);
struct p11ap_pool *p11ap_pool_new(void);
void p11ap_pool_free(struct p11ap_pool *pool);

/* An agent key: the reference the agent takes, and its public key. */
struct p11ap_key {
	struct p11ap_prov *prov;
	char *ref;	    /* the key's pkcs11: URI; NULL for a public key only (a peer's) */
	p11a_key_type type; /* P11A_KEY_RSA, _EC or _ED25519 */
	uint32_t bits;
	uint32_t ops;  /* P11A_OP_* the key allows; 0 when not asked */
	EVP_PKEY *pub; /* the public key, in prov->libctx; NULL for bare domain parameters */
	int curve_nid; /* EC: the curve (also without pub), else NID_undef */
};

/* A key with no reference and no public key yet (keymgmt's new). */
struct p11ap_key *p11ap_key_new(struct p11ap_prov *prov, p11a_key_type type);
/* Asks the agent for the key named ref (a CLI KEY): its URI and public key. */
struct p11ap_key *p11ap_key_from_agent(struct p11ap_prov *prov, const char *ref);
/* A key from a URI and its DER SubjectPublicKeyInfo, without asking the agent. */
struct p11ap_key *p11ap_key_from_spki(struct p11ap_prov *prov, const char *uri, const uint8_t *spki,
				      size_t spki_len);
/* A copy of key (its public key shared: a key's pub is replaced, never changed). */
/*
 * Hands *keyp to a store's or decoder's object callback by reference, as an
 * OSSL_OBJECT_PKEY of its type; key management's load takes it over and
 * clears *keyp. Returns the callback's result.
 */
int p11ap_key_pass(struct p11ap_key **keyp, OSSL_CALLBACK *cb, void *cbarg);
struct p11ap_key *p11ap_key_dup(const struct p11ap_key *key);
/*
 * Makes pub (RSA, EC on P-256/384/521 or Ed25519, of key's type unless that
 * is P11A_KEY_UNKNOWN) key's public key, taking it over, and sets type, bits
 * and curve_nid from it. Returns 1; 0 with an error raised, pub still the
 * caller's.
 */
int p11ap_key_set_pub(struct p11ap_key *key, EVP_PKEY *pub);
/* The NID of a curve name ("P-256", "prime256v1", ...), or NID_undef. */
int p11ap_curve_nid(const char *name);
/* Whether the agent serves the curve nid (P-256, P-384, P-521). */
int p11ap_curve_supported(int nid);
void p11ap_key_free(struct p11ap_key *key);
/* The OpenSSL key type name ("RSA", "EC", "ED25519"), NULL for others. */
const char *p11ap_key_type_name(p11a_key_type type);

/* The dispatch tables of the algorithms, by file. */
extern const OSSL_DISPATCH p11ap_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH p11ap_rsapss_keymgmt_functions[];
extern const OSSL_DISPATCH p11ap_ec_keymgmt_functions[];
extern const OSSL_DISPATCH p11ap_ed25519_keymgmt_functions[];
extern const OSSL_DISPATCH p11ap_store_functions[];
extern const OSSL_DISPATCH p11ap_keyfile_pem_decoder_functions[];
extern const OSSL_DISPATCH p11ap_rsa_keyfile_decoder_functions[];
extern const OSSL_DISPATCH p11ap_ec_keyfile_decoder_functions[];
extern const OSSL_DISPATCH p11ap_ed25519_keyfile_decoder_functions[];
extern const OSSL_DISPATCH p11ap_rsa_signature_functions[];
extern const OSSL_DISPATCH p11ap_ecdsa_signature_functions[];
extern const OSSL_DISPATCH p11ap_ed25519_signature_functions[];
extern const OSSL_DISPATCH p11ap_rsa_cipher_functions[];
extern const OSSL_DISPATCH p11ap_ecdh_exchange_functions[];

#endif
