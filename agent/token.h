/*
 * token: the agent's one link to PKCS#11.
 *
 * token_open() loads the module with p11-kit (p11_kit_module_load), calls
 * C_Initialize with CKF_OS_LOCKING_OK, finds the one token matching the RFC
 * 7512 URI (p11_kit_uri_match_token_info), logs in once and indexes the keys:
 * private keys (RSA, EC P-256/P-384/P-521, Ed25519) and secret keys (generic
 * secret and CKK_SHA*_HMAC as HMAC, AES). Handles and public keys are cached;
 * nothing is looked up per request. Requests take a session from a bounded
 * pool, so concurrent requests run concurrently on the token. Which OAEP
 * hashes the token does itself is learnt once, at token_open(), by a round
 * trip with an RSA key; the agent decodes the others over raw RSA.
 *
 * Faults: an operation whose token call fails with a fault is tried again
 * once after the recovery its CK_RV calls for: at once (CKR_DEVICE_ERROR,
 * CKR_DEVICE_MEMORY); on a new session (CKR_SESSION_HANDLE_INVALID,
 * CKR_SESSION_CLOSED); after logging in again and finding the key handles
 * again (CKR_USER_NOT_LOGGED_IN); after finding the handles again
 * (CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID); or after
 * re-initialising the module (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
 * CKR_CRYPTOKI_NOT_INITIALIZED, or a device error or lost session twice in
 * a row): C_Finalize, C_Initialize, the token found again by its URI, a new
 * login, the keys indexed again. A key whose public key (or type, size,
 * use) is not what it was, or that is gone, is refused from then on
 * (P11A_ERR_TOKEN), and logged; key pointers stay valid. While the token is
 * away every operation fails at once with P11A_ERR_TOKEN_UNAVAILABLE, and a
 * thread of the token's looks for it (0.5 s, doubling up to 30 s), logging
 * each try. A wrong or locked PIN at a new login stops the process (exit
 * 1): it is never tried twice. For the new logins, the token keeps a copy
 * of the PIN (struct secret: locked in memory, wiped at token_close()).
 *
 * Functions that can fail return a p11a_err and, on failure, write a human
 * message to msg (for the client; no secrets in it).
 *
 * Open the token after any fork() (daemonizing): p11-kit's managed modules,
 * like most PKCS#11 modules, do not survive into a child process. Bind the
 * config's names (token_bind_names) before serving. All other functions may
 * be called from many threads at once, between token_open() and
 * token_close().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_TOKEN_H
#define P11AGENT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "p11agent.h"
#include "secret.h"

struct token;

struct token_key {
	char *label; /* CKA_LABEL as a C string ("" when absent) */
	uint8_t *id; /* CKA_ID */
	size_t id_len;
	char *uri; /* canonical URI: token attributes + object, id, type */
	p11a_key_type type;
	uint32_t bits;
	const char *curve; /* static: "P-256", "P-384", "P-521", "ed25519" or "" */
	uint32_t ops;	   /* P11A_OP_* from CKA_SIGN, CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE
			      (and CKA_VERIFY for secret keys) */
	CK_OBJECT_CLASS klass;
	CK_KEY_TYPE ck_type;
	CK_OBJECT_HANDLE handle;
	uint8_t *spki; /* DER SubjectPublicKeyInfo; NULL for secret keys, and for a
			  private key whose public key the token does not hold */
	size_t spki_len;
	uint8_t *cert; /* DER X.509 certificate of the key held by the token, or NULL */
	size_t cert_len;
	uint8_t *ssh_blob; /* its OpenSSH public key blob (proto/sshkey.h), made with spki;
			      NULL when it has none (no spki, or no OpenSSH form) */
	size_t ssh_blob_len;
	char *name;	 /* the config's [key NAME] bound to this key, or NULL */
	uint32_t policy; /* TOKEN_POLICY_* from the config */

	/*
	 * Versions. The label of version 1 is the family's name, that of
	 * version N >= 2 "NAME@N" (a label ending in '@' and digits, no leading
	 * zero). keyindex.c sets these; token_bind_names() min_version.
	 */
	char *family;	      /* the label without "@N" */
	uint32_t version;     /* N, 1 for a label without "@N" */
	int newest;	      /* the highest version of its family in the index */
	uint32_t min_version; /* [key] min-version, 1 when none */
	char created[11];     /* CKA_START_DATE "YYYY-MM-DD", or "" */
	char cert_expiry[24]; /* its certificate's notAfter "YYYY-MM-DDTHH:MM:SSZ", or "" */
	uint32_t pub_ops;     /* P11A_OP_WRAP when its public key object may wrap */
	int gone;	      /* removed from the token at a re-index: refused */
};

/* Policy bits a key's config section may set (token_bind_names). */
#define TOKEN_POLICY_RSA_PKCS1_DECRYPT 0x01u /* allow-rsa-pkcs1-decrypt = yes */

/* A [key NAME] section of the config, as token_bind_names() takes it. */
struct token_key_binding {
	const char *name;     /* NAME: works as a key reference, before labels */
	const char *uri;      /* pkcs11: URI that must match exactly one key (and so its
				 versions), or NULL: the family of keys labelled NAME, NAME@N */
	uint32_t policy;      /* TOKEN_POLICY_* */
	const char *where;    /* "FILE:LINE" of the section, for messages */
	uint32_t min_version; /* min-version: older versions are refused; 0 or 1: none */
};

struct token_options {
	const char *module; /* module path (required) */
	const char *uri;    /* token URI; NULL or "pkcs11:" matches any, but only one may match */
	const struct secret *pin; /* user PIN (copied); NULL: no login (or the token needs none) */
	const char *pin_source;	  /* where the PIN came from ("file:PATH"), for messages */
	unsigned pool_size;	  /* sessions in the pool; 0 means 8 */
	/*
	 * Told, in a few words, each time the token's state changes after
	 * token_open(): going away, re-initialising, back. From the thread
	 * that saw it; may be NULL.
	 */
	void (*on_state)(const char *status);
	/*
	 * A PIN refused at a new login (after the token came back) stops the
	 * agent (exit 1) unless this is set: under a service manager, which
	 * would start the agent again and the PIN be tried again until the
	 * token locks, the token is held instead. Requests are then answered
	 * P11A_ERR_TOKEN_UNAVAILABLE saying so until the agent is restarted.
	 */
	int hold_on_refused_pin;
};

/* What a client is told after a refused PIN, that the agent holds (hold_on_refused_pin). */
#define TOKEN_PIN_NOT_RETRIED                                                                      \
	"the agent does not try it again; fix the PIN source, then restart the agent"

/*
 * Opens the token and indexes its keys. P11A_ERR_DENIED: the token refused
 * the PIN (tried once, never again). On failure msg says why: for a URI
 * matching no token or several, it lists the tokens seen ("label (manufacturer,
 * serial)"); for a failed call, the PKCS#11 function and the CKR_ name.
 */
int token_open(const struct token_options *opt, struct token **out_tok, char *msg, size_t msg_len);
/* Logs out, closes the sessions, C_Finalize, unloads. NULL is a no-op. */
void token_close(struct token *tok);

size_t token_key_count(const struct token *tok);
const struct token_key *token_key_at(const struct token *tok, size_t i);

/*
 * Resolves a key reference: a label, "id:HEX" (CKA_ID), or a "pkcs11:" URI
 * matched with p11-kit against each key's attributes (and the token's).
 * P11A_ERR_NO_SUCH_KEY, or P11A_ERR_AMBIGUOUS_KEY with a message listing the
 * candidates' URIs, one a line, as many whole ones as msg holds, then "(and N
 * more)" for the rest; P11A_ERR_BAD_INPUT for an unparsable URI or id,
 * or a URI with attributes other than token, manufacturer, model, serial,
 * object, id and type. A ref starting with "id:" is always an id.
 */
int token_find_key(const struct token *tok, const char *ref, const struct token_key **out_key,
		   char *msg, size_t msg_len);

/*
 * Which keys a caller may know exist: visible(arg, key) is 1 for those, 0
 * for the others (the access policy's view of one peer).
 */
struct token_key_filter {
	int (*visible)(void *arg, const struct token_key *key);
	void *arg;
};

/*
 * token_find_key() as seen by a caller who may know only the keys filter
 * lets through (NULL: every key): the others do not exist for it. A
 * reference that names only such keys is P11A_ERR_NO_SUCH_KEY with the same
 * message as a reference that names nothing, and an ambiguity counts and
 * lists only keys it may see, so that no error tells which keys exist.
 */
int token_find_key_for(const struct token *tok, const struct token_key_filter *filter,
		       const char *ref, const struct token_key **out_key, char *msg,
		       size_t msg_len);
/*
 * ref as it may be quoted in a message, a log or the audit trail: itself, or
 * a placeholder when it may carry a PIN (a URI's pin-value, wherever it is).
 */
const char *token_ref_shown(const char *ref);

/*
 * The algorithms this key serves, for any operation (its type fits, an RSA
 * modulus is long enough for the encoding, the token offers the mechanism,
 * or for OAEP the agent completes it over CKM_RSA_X_509; rsa-pkcs1 only with
 * TOKEN_POLICY_RSA_PKCS1_DECRYPT; CKA_SIGN, CKA_DECRYPT etc. are not looked
 * at), as p11a_alg values in table order.
 * Writes at most max; returns how many it wrote.
 */
size_t token_key_algs(const struct token *tok, const struct token_key *key, p11a_alg *out,
		      size_t max);
/*
 * The key's default algorithm: rsa-pkcs1-sha256; ECDSA with the curve's hash;
 * ed25519; hmac-sha256 (hmac-sha384/512 for CKK_SHA384/512_HMAC keys);
 * P11A_ALG_NONE for AES.
 */
p11a_alg token_key_default_alg(const struct token_key *key);
/*
 * The default for an operation (P11A_OP_SIGN as above; P11A_OP_DECRYPT:
 * rsa-oaep-sha256 for RSA; P11A_OP_UNWRAP: rsa-oaep-sha256 for RSA, aes-kwp
 * for AES; P11A_OP_DERIVE: ecdh for EC), or P11A_ALG_NONE.
 */
p11a_alg token_key_default_alg_for(const struct token_key *key, uint32_t op);
/*
 * 1 when the agent completes alg in software for this key: OAEP with a hash
 * the token does not do (probed at token_open()), decoded over raw RSA. An
 * OAEP label the token cannot take goes to software too (SoftHSM 2.6:
 * SHA-1 with a label); this tells the case without a label.
 */
int token_alg_in_software(const struct token *tok, const struct token_key *key, p11a_alg alg);

/*
 * Binds the config's named keys: each binding's URI must match exactly one
 * indexed key, which gets the name and the policy bits; names must be unique
 * and are matched by token_find_key() before labels. On failure msg names
 * the section ("FILE:LINE: key NAME: ...").
 */
int token_bind_names(struct token *tok, const struct token_key_binding *b, size_t n, char *msg,
		     size_t msg_len);

/*
 * Decrypts in with an RSA key. alg: P11A_ALG_RSA_OAEP_* (label is the OAEP
 * label) or P11A_ALG_RSA_PKCS1 (only with TOKEN_POLICY_RSA_PKCS1_DECRYPT, else
 * P11A_ERR_NOT_ALLOWED). Every failure of the decryption itself, OAEP or
 * PKCS#1 v1.5, gives one and the same P11A_ERR_BAD_INPUT "decryption
 * failed", so no reply tells bad padding from any other failure (only a
 * session or token that is gone gives P11A_ERR_TOKEN). OAEP with a hash the
 * token lacks is done as raw RSA in the token (CKM_RSA_X_509) and OAEP
 * decoding with OpenSSL's constant-time routine. Checks first: key type,
 * CKA_DECRYPT, input length = modulus length, label only with OAEP.
 * *out_plain is the plaintext (secret_free() it).
 */
int token_decrypt(struct token *tok, const struct token_key *key, p11a_alg alg,
		  const uint8_t *label, size_t label_len, const uint8_t *in, size_t in_len,
		  struct secret **out_plain, char *msg, size_t msg_len);

/*
 * Unwraps a session key: RSA-OAEP (C_UnwrapKey with CKM_RSA_PKCS_OAEP, or
 * raw RSA + software OAEP when the token lacks the hash) or AES-KW/KWP
 * (C_UnwrapKey with CKM_AES_KEY_WRAP / CKM_AES_KEY_WRAP_PAD) into a session
 * object that is read and destroyed at once. The key must allow CKA_UNWRAP
 * (checked by the agent on the software path, which needs CKA_DECRYPT too).
 * A wrong RSA ciphertext gives "decryption failed" whatever the cause; a
 * wrong AES-wrapped key "unwrap failed: the wrapped key does not
 * authenticate"; a wrapped key of an impossible length says so.
 * key_len: the session key's expected length, 0 for any (else a mismatch is
 * P11A_ERR_BAD_INPUT). *out_key is the session key (secret_free() it).
 */
int token_unwrap(struct token *tok, const struct token_key *key, p11a_alg alg, const uint8_t *label,
		 size_t label_len, size_t key_len, const uint8_t *in, size_t in_len,
		 struct secret **out_key, char *msg, size_t msg_len);

/*
 * ECDH (CKM_ECDH1_DERIVE, CKD_NULL) with an EC key and a peer public key
 * given as DER SubjectPublicKeyInfo. A peer key that does not parse, is not
 * on the key's curve, or is not a point on it is P11A_ERR_BAD_INPUT.
 * *out_z is the shared secret Z (field size bytes; secret_free() it).
 */
int token_derive(struct token *tok, const struct token_key *key, p11a_alg alg,
		 const uint8_t *peer_spki, size_t peer_len, struct secret **out_z, char *msg,
		 size_t msg_len);

/* Flags of token_sign(). */
#define TOKEN_SIGN_ECDSA_RAW 0x02u /* same bit as P11A_SIGN_ECDSA_RAW */
#define TOKEN_SIGN_PSS_SALT 0x04u  /* P11A_SIGN_PSS_SALT: salt length in bits 16-31 */

/*
 * Signs. For RSA and ECDSA, in is the digest (its length must equal the
 * algorithm's); for Ed25519 and HMAC, the message. ECDSA signatures come back
 * DER unless TOKEN_SIGN_ECDSA_RAW. RSA-PSS uses a salt as long as the hash, or
 * with TOKEN_SIGN_PSS_SALT the length in flags' bits 16-31. *out_sig is malloc'd; free() it.
 * Errors: P11A_ERR_NOT_SUPPORTED (alg does not fit the key type or the token
 * lacks the mechanism), P11A_ERR_NOT_ALLOWED (CKA_SIGN false),
 * P11A_ERR_BAD_INPUT (wrong digest length), P11A_ERR_TOKEN (CKR_ name and function).
 */
int token_sign(struct token *tok, const struct token_key *key, p11a_alg alg, uint32_t flags,
	       const uint8_t *in, size_t in_len, uint8_t **out_sig, size_t *out_len, char *msg,
	       size_t msg_len);

/*
 * Verifies an HMAC in the token with C_Verify. P11A_OK and *out_valid 1 or 0
 * (CKR_SIGNATURE_INVALID / CKR_SIGNATURE_LEN_RANGE give 0); errors as token_sign.
 */
int token_verify_hmac(struct token *tok, const struct token_key *key, p11a_alg alg,
		      const uint8_t *in, size_t in_len, const uint8_t *mac, size_t mac_len,
		      int *out_valid, char *msg, size_t msg_len);

/*
 * The agent's own data objects in the token (tokdata.c): CKO_DATA with
 * CKA_TOKEN, CKA_PRIVATE and CKA_MODIFIABLE true, CKA_APPLICATION "p11agent"
 * and the given CKA_LABEL, used on a read-write session opened for the call.
 * token_data_get() copies CKA_VALUE into out (out_cap bytes; a longer value
 * is P11A_ERR_BAD_INPUT) and sets *out_found 0 when there is no such object.
 * token_data_put() sets CKA_VALUE, making the object when there is none.
 * Errors: P11A_ERR_TOKEN ("the token's object 'LABEL': C_... failed:
 * CKR_..."), P11A_ERR_TOKEN_UNAVAILABLE.
 */
int token_data_get(struct token *tok, const char *label, uint8_t *out, size_t out_cap,
		   size_t *out_len, int *out_found, char *msg, size_t msg_len);
int token_data_put(struct token *tok, const char *label, const uint8_t *value, size_t value_len,
		   char *msg, size_t msg_len);

/*
 * Indexes the keys again (token-reindex.c): a key that is still there as it
 * was stays the same struct token_key (its certificate, handle and dates
 * refreshed); new keys join; keys that went or changed leave the index, are
 * marked gone and refused, and live on until token_close(). Waits for the
 * requests in the module. The caller must hold every other reader of the
 * index off (the agent's view lock, ops.h) and bind the names again
 * (token_bind_names) afterwards: new keys have none. *out_added and
 * *out_removed (may be NULL) count the keys that came and went.
 */
int token_reindex(struct token *tok, size_t *out_added, size_t *out_removed, char *msg,
		  size_t msg_len);

/*
 * Key lifecycle in the token (token-keygen.c, token-objects.c,
 * token-rewrap.c). These make or destroy objects on a read-write session;
 * the index learns of it only at the next token_reindex().
 */
struct token_keyspec {
	p11a_key_type type; /* RSA, EC, ED25519, HMAC, AES */
	uint32_t bits;	    /* RSA modulus, HMAC secret, AES key bits; EC: the curve's */
	const char *curve;  /* static "P-256", "P-384", "P-521" for EC, else "" */
	uint32_t ops;	    /* P11A_OP_* it may do */
};
/*
 * Parses TYPE ("rsa:2048|3072|4096", "ec:P-256|P-384|P-521", "ed25519",
 * "hmac:256|384|512", "aes:128|256") and ops (0: the type's defaults: sign;
 * HMAC sign and verify; AES unwrap and wrap) into spec. P11A_ERR_BAD_INPUT
 * with a message listing what is accepted, or naming the op the type cannot do.
 */
int token_keyspec_parse(const char *type, uint32_t ops, struct token_keyspec *spec, char *msg,
			size_t msg_len);
/* The spec of an existing key: its type, size and usage (for rotate). */
void token_keyspec_of(const struct token_key *key, struct token_keyspec *spec);
/*
 * Makes a key as spec says, labelled label: C_GenerateKeyPair (the public
 * key object beside the private one) or C_GenerateKey. Private and secret
 * parts: CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false,
 * only the usage flags spec->ops asks for; CKA_START_DATE today (UTC); a
 * fresh random 16-byte CKA_ID no object of the token has. out_id (16 bytes)
 * receives it.
 */
int token_generate(struct token *tok, const struct token_keyspec *spec, const char *label,
		   uint8_t out_id[16], char *msg, size_t msg_len);
/* Destroys key's objects: the private or secret key, its public key, its certificates. */
int token_destroy_key(struct token *tok, const struct token_key *key, char *msg, size_t msg_len);
/*
 * Stores der (an X.509 certificate whose public key must be key's, else
 * P11A_ERR_BAD_INPUT) as a CKO_CERTIFICATE with key's CKA_ID and label,
 * replacing the certificates with that CKA_ID.
 */
int token_cert_store(struct token *tok, const struct token_key *key, const uint8_t *der,
		     size_t der_len, char *msg, size_t msg_len);
/*
 * Unwraps in with from (alg: RSA-OAEP with label, AES-KW, AES-KWP) into a
 * session object (sensitive, extractable, not a token object) and wraps it
 * with to (RSA: to's public key object) the same way: C_UnwrapKey then
 * C_WrapKey, so the session key never leaves the token; the object is
 * destroyed. A mechanism the token does not do itself (SoftHSM: OAEP other
 * than SHA-1 without a label) is P11A_ERR_NOT_SUPPORTED. A wrong input is
 * P11A_ERR_BAD_INPUT "unwrap failed" whatever the cause. *out is malloc'd.
 */
int token_rewrap(struct token *tok, const struct token_key *from, const struct token_key *to,
		 p11a_alg alg, const uint8_t *label, size_t label_len, const uint8_t *in,
		 size_t in_len, uint8_t **out, size_t *out_len, char *msg, size_t msg_len);

/* What `p11agent status` shows of the token (token-status.c). */
struct token_status {
	char label[33];	 /* CK_TOKEN_INFO's, without the blank padding */
	char serial[17]; /* likewise */
	p11a_token_state state;
	uint64_t recoveries;		  /* faults recovered from, or tried to (token_recover) */
	size_t sessions_in_use, sessions; /* the pool's; 0 while the token is away */
};
/*
 * Reads the token's status without waiting for requests: a recovery under
 * way (or the index held by a re-index for over 100 ms) shows as
 * P11A_TOKEN_RECOVERING.
 */
void token_status(struct token *tok, struct token_status *out);

/* How a key is named in messages: its config name, else its label, else its URI. */
const char *token_key_name(const struct token_key *key);

/* "CKR_PIN_INCORRECT" for rv, or "CKR_0x%lx". */
const char *token_ckr_name(CK_RV rv);

#endif
