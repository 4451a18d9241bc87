/*
 * token-impl: what token.c (module, sessions, signing) and kex.c (decrypt,
 * unwrap, derive) share. Not for other modules: they use token.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_TOKEN_IMPL_H
#define P11AGENT_TOKEN_IMPL_H

#include <p11-kit/pkcs11.h>

#include "pool.h"
#include "token.h"

#ifndef CKM_EDDSA
#define CKM_EDDSA 0x1057UL
#endif
#ifndef CKM_AES_KEY_WRAP
#define CKM_AES_KEY_WRAP 0x2109UL
#endif
#ifndef CKM_AES_KEY_WRAP_PAD
#define CKM_AES_KEY_WRAP_PAD 0x210AUL
#endif
#ifndef CKM_ECDH1_DERIVE
#define CKM_ECDH1_DERIVE 0x1050UL
#endif

/* The mechanisms the agent uses; bit 1 << M_x of token.mechs says the slot offers it. */
enum {
	M_RSA_PKCS,
	M_RSA_PSS,
	M_ECDSA,
	M_EDDSA,
	M_HMAC256,
	M_HMAC384,
	M_HMAC512,
	M_RSA_OAEP,
	M_RSA_X509,
	M_AES_KW,
	M_AES_KWP,
	M_ECDH,
	M_COUNT
};

struct token_mech {
	CK_MECHANISM_TYPE type;
	const char *name; /* "CKM_RSA_PKCS" */
};

/* Indexed by M_x. */
extern const struct token_mech token_mechs[M_COUNT];

struct token {
	CK_FUNCTION_LIST *f;
	int initialized;
	CK_SLOT_ID slot;
	CK_TOKEN_INFO tinfo;
	/* Opened first and kept for the agent's life: it holds the login. */
	CK_SESSION_HANDLE login_session;
	int have_login_session;
	int logged_in;	/* our C_Login succeeded: token_close() logs out */
	int user;	/* the user is logged in (by us or before): objects may be private */
	unsigned mechs; /* bit i: token_mechs[i] offered by the slot */
	/* HMAC mechanisms: key sizes in bytes the token accepts (C_GetMechanismInfo). */
	CK_ULONG hmac_min[M_COUNT], hmac_max[M_COUNT];
	/*
	 * CKM_RSA_PKCS_OAEP hashes the token takes (kex_probe): bit i for the
	 * i-th OAEP algorithm of kex.c, without a label and with one.
	 */
	unsigned oaep_native, oaep_native_label;
	struct token_key *keys;
	size_t n_keys;
	struct pool *pool;
};

/*
 * slot.c: finds the one slot whose token matches uri_str (NULL: any, but
 * only one may match). On failure msg lists the tokens seen.
 */
int token_select_slot(CK_FUNCTION_LIST *f, const char *uri_str, CK_SLOT_ID *out_slot,
		      CK_TOKEN_INFO *out_ti, char *msg, size_t msg_len);

/* Operations token_op_init() starts. */
enum token_op { TOKEN_OP_SIGN, TOKEN_OP_VERIFY, TOKEN_OP_DECRYPT };

/*
 * Takes a session and starts op with mech and key on it (C_SignInit,
 * C_VerifyInit, C_DecryptInit). A session found with a stale operation, or
 * closed under us, is replaced once. On failure: P11A_ERR_NOT_ALLOWED
 * (CKR_KEY_FUNCTION_NOT_PERMITTED), P11A_ERR_NOT_SUPPORTED (mechanism or key
 * type refused), P11A_ERR_TOKEN, with msg naming the function.
 */
int token_op_init(struct token *tok, const struct token_key *key, enum token_op op,
		  CK_MECHANISM *mech, CK_SESSION_HANDLE *out_s, char *msg, size_t msg_len);

/* Is rv a sign that the session (or the login, or the token) is gone, not the data bad? */
int token_rv_session_lost(CK_RV rv);

/*
 * tmpkey.c: what makes a temporary key, a session object {CKO_SECRET_KEY,
 * CKK_GENERIC_SECRET, CKA_TOKEN false, CKA_SENSITIVE false, CKA_EXTRACTABLE
 * true, CKA_PRIVATE true when logged in}: C_UnwrapKey of in with key, or
 * C_DeriveKey (derive 1) of a value_len-byte key.
 */
struct token_tmpkey {
	int derive;
	CK_MECHANISM *mech;
	const uint8_t *in;
	size_t in_len;
	CK_ULONG value_len;
};

/*
 * Runs op into a session object, reads its CKA_VALUE into *out and destroys
 * it (closing the session if C_DestroyObject fails: that destroys it too).
 * When C_UnwrapKey / C_DeriveKey fails, *out_rv is its CK_RV and
 * P11A_ERR_TOKEN is returned with msg "C_UnwrapKey failed: CKR_...", for
 * token_tmpkey_error().
 */
int token_tmpkey_make(struct token *tok, const struct token_key *key, const struct token_tmpkey *op,
		      struct secret **out, CK_RV *out_rv, char *msg, size_t msg_len);

/* Whose input a failed C_UnwrapKey / C_DeriveKey may blame. */
enum token_blame { TOKEN_BLAME_RSA, TOKEN_BLAME_AES, TOKEN_BLAME_PEER };

/*
 * The error for rv from a failed C_UnwrapKey / C_DeriveKey (msg holds
 * "C_UnwrapKey failed: CKR_..."), refined: P11A_ERR_NOT_ALLOWED,
 * P11A_ERR_NOT_SUPPORTED, or P11A_ERR_BAD_INPUT with data_msg when the input
 * is to blame. For RSA that is every failure not about the key, the
 * mechanism or the session, so no reply tells bad padding from anything else.
 */
int token_tmpkey_error(CK_RV rv, const struct token_key *key, enum token_blame b,
		       const char *data_msg, char *msg, size_t msg_len);

/*
 * kex.c: learns which OAEP hashes the token does natively (C_DecryptInit
 * with each on an RSA key that may decrypt). Called once by token_open().
 */
void kex_probe(struct token *tok);

/* kex.c: does the token, or the agent over raw RSA, serve the key-transport alg for key? */
int kex_alg_served(const struct token *tok, const struct token_key *key,
		   const struct p11a_alg_info *info);

#endif
