/*
 * token: the agent's one link to PKCS#11.
 *
 * token_open() loads the module with p11-kit (p11_kit_module_load), calls
 * C_Initialize with CKF_OS_LOCKING_OK, finds the one token matching the RFC
 * 7512 URI (p11_kit_uri_match_token_info), logs in once and indexes the keys:
 * private keys (RSA, EC P-256/P-384/P-521, Ed25519) and secret keys (generic
 * secret and CKK_SHA*_HMAC as HMAC, AES). Handles and public keys are cached;
 * nothing is looked up per request. Requests take a session from a bounded
 * pool, so concurrent requests run concurrently on the token.
 *
 * Functions that can fail return a p11a_err and, on failure, write a human
 * message to msg (for the client; no secrets in it).
 *
 * Open the token after any fork() (daemonizing): p11-kit's managed modules,
 * like most PKCS#11 modules, do not survive into a child process. All other
 * functions may be called from many threads at once, between token_open()
 * and token_close().
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
};

struct token_options {
	const char *module; /* module path (required) */
	const char *uri;    /* token URI; NULL or "pkcs11:" matches any, but only one may match */
	const struct secret *pin; /* user PIN; NULL: no login (or the token needs none) */
	unsigned pool_size;	  /* sessions in the pool; 0 means 8 */
};

/*
 * Opens the token and indexes its keys. On failure msg says why: for a URI
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
 * The algorithms this key serves (its type fits, an RSA modulus is long
 * enough for the encoding, and the token offers the mechanism; CKA_SIGN is
 * not looked at), as p11a_alg values in table order.
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

/* Flags of token_sign(). */
#define TOKEN_SIGN_ECDSA_RAW 0x02u /* same bit as P11A_SIGN_ECDSA_RAW */

/*
 * Signs. For RSA and ECDSA, in is the digest (its length must equal the
 * algorithm's); for Ed25519 and HMAC, the message. ECDSA signatures come back
 * DER unless TOKEN_SIGN_ECDSA_RAW. *out_sig is malloc'd; free() it.
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

/* "CKR_PIN_INCORRECT" for rv, or "CKR_0x%lx". */
const char *token_ckr_name(CK_RV rv);

#endif
