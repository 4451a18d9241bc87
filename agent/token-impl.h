/*
 * token-impl: what token.c (module, sessions, signing), token-decrypt.c
 * (decrypt, unwrap), token-derive.c (ECDH), token-slot.c and token-recovery.c
 * share. Not for other modules: they use token.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_TOKEN_IMPL_H
#define P11AGENT_TOKEN_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

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

/*
 * Is the token there (TOKEN_UP), away while the agent tries to find it again
 * (TOKEN_AWAY), or held after it refused the PIN, which is never tried again
 * (TOKEN_PIN_REFUSED: token_options.hold_on_refused_pin)?
 */
enum token_state { TOKEN_UP, TOKEN_AWAY, TOKEN_PIN_REFUSED };

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
	 * CKM_RSA_PKCS_OAEP hashes the token takes (token_decrypt_probe): bit i for the
	 * i-th OAEP algorithm of token-decrypt.c, without a label and with one.
	 */
	unsigned oaep_native, oaep_native_label;
	/*
	 * The index: pointers to keys allocated one by one. A key lives until
	 * token_close(), whatever the index does: handlers hold key pointers
	 * across a request, the audit trail for the agent's life. A
	 * re-initialisation updates each key's handle, or marks it gone; a
	 * re-index (token_reindex) replaces the array, keeping the keys that
	 * are still there and moving the others to retired.
	 */
	struct token_key **keys;
	size_t n_keys;
	struct token_key **retired; /* keys no index holds any more, freed at close */
	size_t n_retired;
	struct pool *pool; /* NULL while the token is away */

	/* What finding the token again takes (token-slot.c, token-recovery.c). */
	char *uri;	    /* the token URI, or NULL */
	char *pin_source;   /* where the PIN came from, for messages, or NULL */
	struct secret *pin; /* the user PIN, kept (mlocked) to log in again; NULL: no login */
	size_t pool_size;

	/*
	 * Recovery (token-recovery.c). Requests hold use for reading while they touch
	 * the module; a re-initialisation holds it for writing (writers
	 * first), so it waits for requests in flight. state and gen change
	 * only under the write lock.
	 */
	pthread_rwlock_t use;
	int have_use;
	void (*on_state)(const char *status); /* token_options.on_state */
	int hold_on_refused_pin;	      /* token_options.hold_on_refused_pin */
	enum token_state state;
	unsigned long gen; /* bumped by each login again or re-initialisation */
	/* The thread that tries to find an away token again, with backoff. */
	pthread_mutex_t retry_lock;
	pthread_cond_t retry_cond;
	pthread_t retry_thread;
	int have_retry_lock, have_retry_thread, retry_running, stopping;
	int retry_again; /* the token went away again while the thread was finishing */
	/* What status shows (token-status.c): recoveries begun, and those under way. */
	atomic_ulong recoveries;
	atomic_int recovering;
};

/*
 * token-slot.c: finds the one slot whose token matches uri_str (NULL: any, but
 * only one may match). On failure msg lists the tokens seen.
 */
int token_select_slot(CK_FUNCTION_LIST *f, const char *uri_str, CK_SLOT_ID *out_slot,
		      CK_TOKEN_INFO *out_ti, char *msg, size_t msg_len);

/*
 * token-slot.c: logs the user in on the login session with tok->pin, once. A wrong
 * or locked PIN is never tried again: P11A_ERR_TOKEN with a message naming
 * the pin source.
 */
int token_login(struct token *tok, char *msg, size_t msg_len);

/*
 * token-recovery.c: fault recovery. Each operation runs as
 *
 *	struct token_try t = TOKEN_TRY_INIT;
 *	for (;;) {
 *		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
 *			return ret;
 *		ret = one_attempt(..., &rv, msg, msg_len);
 *		token_leave(tok);
 *		if (ret == P11A_OK || !token_recover(tok, &t, rv, &ret, msg, msg_len))
 *			return ret;
 *	}
 *
 * where rv is the CK_RV of the PKCS#11 call that failed (CKR_OK when the
 * failure was not the token's), and a failed call on a session has put the
 * session back as broken.
 */
struct token_try {
	int attempts;
	int prev;	   /* the recovery done after the previous attempt */
	unsigned long gen; /* tok->gen when the attempt started */
};
/* clang-format off */
#define TOKEN_TRY_INIT {0, 0, 0}
/* clang-format on */

/* Initialises the recovery's locks (token_open). */
int token_recovery_init(struct token *tok, char *msg, size_t msg_len);
/* Stops the retry thread and destroys the locks (token_close). */
void token_recovery_free(struct token *tok);
/*
 * Takes the token for an operation with key (NULL: none): fails fast with
 * P11A_ERR_TOKEN_UNAVAILABLE while the token is away (or a re-initialisation
 * takes longer than a request may wait), P11A_ERR_TOKEN for a refused key.
 * On P11A_OK, token_leave() must follow.
 */
int token_enter(struct token *tok, const struct token_key *key, struct token_try *t, char *msg,
		size_t msg_len);
void token_leave(struct token *tok);
/*
 * After a failed attempt: sorts rv (retry once; a new session; log in
 * again; re-initialise the module; or nothing to do), does the recovery and
 * returns 1 when the operation should run again. 0 leaves *ret and msg as
 * the attempt set them, or sets P11A_ERR_TOKEN_UNAVAILABLE when the token
 * is away. Call without the token taken. A wrong PIN at a new login stops
 * the agent (exit 1).
 */
int token_recover(struct token *tok, struct token_try *t, CK_RV rv, int *ret, char *msg,
		  size_t msg_len);

/* Operations token_op_init() starts. */
enum token_op { TOKEN_OP_SIGN, TOKEN_OP_VERIFY, TOKEN_OP_DECRYPT };

/*
 * Takes a session and starts op with mech and key on it (C_SignInit,
 * C_VerifyInit, C_DecryptInit). A session found with a stale operation is
 * replaced once; one that is gone is put back broken, for token_recover().
 * On failure *out_rv is the failed call's CK_RV, and: P11A_ERR_NOT_ALLOWED
 * (CKR_KEY_FUNCTION_NOT_PERMITTED), P11A_ERR_NOT_SUPPORTED (mechanism or key
 * type refused), P11A_ERR_TOKEN, with msg naming the function.
 */
int token_op_init(struct token *tok, const struct token_key *key, enum token_op op,
		  CK_MECHANISM *mech, CK_SESSION_HANDLE *out_s, CK_RV *out_rv, char *msg,
		  size_t msg_len);

/*
 * token-reindex.c: how the key found now (NULL: gone) differs from the one
 * indexed, as a phrase ("has another public key"); NULL if it does not.
 */
const char *token_key_changed(const struct token_key *was, const struct token_key *now);

/* Is rv a sign that the session (or the login, or the token) is gone, not the data bad? */
int token_rv_session_lost(CK_RV rv);

/*
 * token-objects.c: opens a read-write session on the token's slot, for one
 * call that makes or destroys token objects (the pool's sessions are
 * read-only). Returns C_OpenSession's CK_RV.
 */
CK_RV token_rw_session(struct token *tok, CK_SESSION_HANDLE *out);

/*
 * token-objects.c: the objects on s matching tmpl (n attributes), at most
 * max of them: their handles in out, their number in *out_n. Returns the
 * CK_RV of the C_FindObjects* call that failed, or CKR_OK.
 */
CK_RV token_find_handles(struct token *tok, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
			 CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *out_n);

/*
 * token-objects.c: destroys every object on s with CKA_ID id and, when klass
 * is not NULL, of class *klass, except the object keep (CK_INVALID_HANDLE:
 * none). An object already gone (CKR_OBJECT_HANDLE_INVALID) counts as
 * destroyed. Returns the CK_RV of the call that failed, or CKR_OK; *out_fn
 * names that call.
 */
CK_RV token_destroy_by_id(struct token *tok, CK_SESSION_HANDLE s, const CK_OBJECT_CLASS *klass,
			  const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE keep,
			  const char **out_fn);

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
 * token_tmpkey_error(). Faults are recovered from (token_recover()), and the
 * operation tried again.
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
 * token-decrypt.c: learns which OAEP hashes the token does natively (C_DecryptInit
 * with each on an RSA key that may decrypt). Called once by token_open().
 */
void token_decrypt_probe(struct token *tok);

/*
 * token-decrypt.c: does the token, or the agent over raw RSA, serve the
 * key-transport alg for key?
 */
int token_decrypt_alg_served(const struct token *tok, const struct token_key *key,
			     const struct p11a_alg_info *info);
/*
 * token-decrypt.c: the CKM_RSA_PKCS_OAEP mechanism for alg with label (params
 * holds its parameters and must outlive mech) when the token does that hash,
 * with or without a label as asked, itself (token_decrypt_probe). -1 when alg
 * is not OAEP or only the agent's decoding over raw RSA could serve it.
 */
int token_oaep_native_mech(const struct token *tok, p11a_alg alg, const uint8_t *label,
			   size_t label_len, CK_RSA_PKCS_OAEP_PARAMS *params, CK_MECHANISM *mech);

/*
 * token-decrypt.c: the checks every key-transport operation (op: decrypt,
 * unwrap, derive) makes before the token is called: the key's type and
 * CKA_ flag, the algorithm, the token's mechanism. P11A_OK or an error with msg.
 */
int token_kex_check(const struct token *tok, const struct token_key *key, p11a_alg alg, uint32_t op,
		    char *msg, size_t msg_len);

#endif
