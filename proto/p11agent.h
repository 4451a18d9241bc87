/*
 * p11agent.h: the client library of p11agent, libp11agent.
 *
 * A client connects to p11agentd over its Unix socket and asks it to list the
 * keys it holds, export a public key, sign, compute or verify an HMAC,
 * decrypt, unwrap a session key, derive an ECDH shared secret, or check its
 * audit trail. The keys never leave the token; this library never loads a
 * PKCS#11 module.
 *
 * Every fallible function returns a p11a_err (P11A_OK is 0) and writes its
 * outputs only on success. Buffers returned to the caller are freed with
 * p11a_free() (which wipes them), key lists with p11a_keys_free(). After an
 * error, p11a_conn_message() returns the agent's human message, if any.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_H
#define P11AGENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Protocol version spoken by this library. Version 2 added the key
 * lifecycle requests and the key version in every result; the agent speaks
 * only 2.
 */
#define P11A_PROTOCOL_VERSION 2
/* Maximum size of a frame body on the wire: 1 MiB. */
#define P11A_MAX_FRAME (1024u * 1024u)
/* Largest message or digest a request may carry (leaves room for the header). */
#define P11A_MAX_DATA (P11A_MAX_FRAME - 4096u)
/* Environment variable naming the agent's socket, read before the default. */
#define P11A_SOCK_ENV "P11AGENT_SOCK"
/*
 * Environment variable: microseconds (0 to 10000) a connection polls for a
 * reply before sleeping, when its replies have been coming that fast. It
 * lowers one client's latency where waking an idle CPU is slow (virtual
 * machines) and costs throughput when clients outnumber CPUs. Read by
 * p11a_connect(); unset, empty or unreadable means 0, never.
 */
#define P11A_BUSY_POLL_ENV "P11AGENT_BUSY_POLL"
/*
 * Environment variable: seconds (0 to 3600) a connection waits for the agent
 * to accept it, to take a request or to answer one; past it the call fails
 * with P11A_ERR_IO (P11A_ERR_CONNECT while connecting) and a message saying
 * so, so that a stopped or frozen agent never hangs its clients. 0 waits
 * without limit; unset, empty or unreadable means P11A_DEFAULT_TIMEOUT.
 * Read by p11a_connect().
 */
#define P11A_TIMEOUT_ENV "P11AGENT_TIMEOUT"
#define P11A_DEFAULT_TIMEOUT 30
/*
 * Environment variable: the user (name or number) of an agent the caller
 * trusts besides root's and its own, such as a service user that serves a
 * socket-group. p11a_connect() then also accepts a socket of that user's in a
 * directory of that user's, when the directory above it is one that only
 * root or the caller could have made it in (not /tmp).
 */
#define P11A_AGENT_USER_ENV "P11AGENT_AGENT_USER"

/*
 * Error codes. Codes below 64 travel on the wire (the agent's verdict);
 * codes from 64 are local to the client library.
 */
typedef enum {
	P11A_OK = 0,
	P11A_ERR_BAD_REQUEST = 1,   /* malformed frame or field */
	P11A_ERR_UNKNOWN_OP = 2,    /* opcode the agent does not know */
	P11A_ERR_VERSION = 3,	    /* no common protocol version / no hello */
	P11A_ERR_NO_SUCH_KEY = 4,   /* no key matches */
	P11A_ERR_AMBIGUOUS_KEY = 5, /* more than one key matches */
	P11A_ERR_NOT_ALLOWED = 6,   /* the key's attributes forbid the operation */
	P11A_ERR_NOT_SUPPORTED =
	    7,			 /* algorithm not valid for this key, or not offered by the token */
	P11A_ERR_BAD_INPUT = 8,	 /* a field has a wrong value (which and why in the message) */
	P11A_ERR_TOKEN = 9,	 /* the token failed (CKR_ name and function in the message) */
	P11A_ERR_TOO_LARGE = 10, /* message or frame too large */
	P11A_ERR_DENIED = 11,	 /* refused by policy */
	P11A_ERR_TOKEN_UNAVAILABLE = 12, /* the token is away */
	P11A_ERR_INTERNAL = 13,		 /* the agent failed (out of memory, ...) */
	P11A_ERR_BUSY = 14,		 /* the agent is at a limit; retry later */

	P11A_ERR_CONNECT = 64,	   /* cannot reach the agent */
	P11A_ERR_IO = 65,	   /* connection lost */
	P11A_ERR_PROTOCOL = 66,	   /* the agent's reply was malformed */
	P11A_ERR_NOMEM = 67,	   /* out of memory */
	P11A_ERR_INVALID_ARG = 68, /* a caller's argument is wrong */
	P11A_ERR_CRYPTO = 69,	   /* a local OpenSSL operation failed */
	/*
	 * Another user could replace the file, or the agent's socket: its
	 * directory or the socket is not owned by root or the caller, or
	 * others may write the directory (which and how to fix it in the
	 * message).
	 */
	P11A_ERR_UNSAFE_PATH = 70,
} p11a_err;

/* A short, stable English description of code. Never NULL. */
const char *p11a_strerror(int code);
/* The code's stable identifier, e.g. "NO_SUCH_KEY". Never NULL. */
const char *p11a_errname(int code);

/* Key types. */
typedef enum {
	P11A_KEY_UNKNOWN = 0,
	P11A_KEY_RSA = 1,
	P11A_KEY_EC = 2, /* P-256, P-384, P-521: curve in p11a_key_info.curve */
	P11A_KEY_ED25519 = 3,
	P11A_KEY_HMAC = 4, /* generic secret or CKK_SHA*_HMAC */
	P11A_KEY_AES = 5,
} p11a_key_type;

/* Operations a key's own attributes allow (bit mask). */
#define P11A_OP_SIGN 0x01u
#define P11A_OP_DECRYPT 0x02u
#define P11A_OP_UNWRAP 0x04u
#define P11A_OP_DERIVE 0x08u
#define P11A_OP_VERIFY 0x10u
#define P11A_OP_WRAP 0x20u /* AES keys (CKA_WRAP); RSA: its public key wraps (keygen) */

/* Algorithms. The numbers travel on the wire; the names are the CLI's. */
typedef enum {
	P11A_ALG_NONE = 0,
	P11A_ALG_RSA_PKCS1_SHA256 = 1,
	P11A_ALG_RSA_PKCS1_SHA384 = 2,
	P11A_ALG_RSA_PKCS1_SHA512 = 3,
	P11A_ALG_RSA_PSS_SHA256 = 4,
	P11A_ALG_RSA_PSS_SHA384 = 5,
	P11A_ALG_RSA_PSS_SHA512 = 6,
	P11A_ALG_ECDSA_SHA256 = 7,
	P11A_ALG_ECDSA_SHA384 = 8,
	P11A_ALG_ECDSA_SHA512 = 9,
	P11A_ALG_ED25519 = 10,
	P11A_ALG_HMAC_SHA256 = 11,
	P11A_ALG_HMAC_SHA384 = 12,
	P11A_ALG_HMAC_SHA512 = 13,
	P11A_ALG_RSA_OAEP_SHA1 = 14, /* decrypt, unwrap: OAEP, MGF1 with the same hash */
	P11A_ALG_RSA_OAEP_SHA256 = 15,
	P11A_ALG_RSA_OAEP_SHA384 = 16,
	P11A_ALG_RSA_OAEP_SHA512 = 17,
	P11A_ALG_RSA_PKCS1 = 18, /* decrypt: PKCS#1 v1.5, only where a key's config allows */
	P11A_ALG_AES_KW = 19,	 /* unwrap: RFC 3394 */
	P11A_ALG_AES_KWP = 20,	 /* unwrap: RFC 5649 */
	P11A_ALG_ECDH = 21,	 /* derive: ECDH, no KDF: the shared secret Z */
} p11a_alg;

/* How an algorithm takes its input. */
typedef enum {
	P11A_INPUT_DIGEST = 1,	/* the client sends the digest (RSA, ECDSA) */
	P11A_INPUT_MESSAGE = 2, /* the client sends the message (Ed25519, HMAC, ciphertexts) */
	P11A_INPUT_PUBKEY = 3,	/* the client sends a peer's public key (ECDH) */
} p11a_input;

/* Static facts about an algorithm. */
struct p11a_alg_info {
	p11a_alg alg;
	const char *name;	/* "rsa-pss-sha256" */
	p11a_key_type key_type; /* the key type it needs */
	const char *hash;	/* OpenSSL digest name ("SHA256"), NULL when none */
	size_t digest_len;	/* digest length in bytes, 0 when no hash */
	p11a_input input;
	uint32_t ops; /* the P11A_OP_* it serves: sign, decrypt, unwrap, derive */
};

/* The algorithm named name, or NULL. */
const struct p11a_alg_info *p11a_alg_by_name(const char *name);
/* The algorithm numbered alg, or NULL. */
const struct p11a_alg_info *p11a_alg_by_id(uint32_t alg);
/* The i-th algorithm of the table (for listing), or NULL past the end. */
const struct p11a_alg_info *p11a_alg_at(size_t i);
/* The name of a key type ("rsa", "ec", "ed25519", "hmac", "aes"). */
const char *p11a_key_type_name(p11a_key_type t);

/* One key as the agent lists it. */
struct p11a_key_info {
	char *label; /* CKA_LABEL, may be "" */
	uint8_t *id; /* CKA_ID bytes */
	size_t id_len;
	char *uri; /* canonical RFC 7512 URI; works as KEY */
	p11a_key_type type;
	uint32_t bits;	   /* modulus / field / key size in bits */
	char *curve;	   /* "P-256", "P-384", "P-521", "ed25519", else "" */
	uint32_t ops;	   /* P11A_OP_* */
	char *algs;	   /* comma-separated algorithm names the agent serves */
	char *default_alg; /* the default signing algorithm for this key, "" if none */
	char *sw_algs;	   /* those of algs the agent completes in software, comma-separated */
	char *name;	   /* the agent's config name for the key ([key NAME]), or "" */
	/*
	 * Versions (p11agent.1, KEY LIFECYCLE). A key's versions share family:
	 * its config name, else its label without the "@N" that versions 2 and
	 * later carry. "FAMILY" names the newest version, "FAMILY@N" version N.
	 */
	char *family;
	uint32_t version;     /* 1 for a key never rotated */
	uint32_t min_version; /* the oldest version that may still be used ([key] min-version) */
	int newest;	      /* 1 when it is the newest version of its family */
	char *created;	      /* "YYYY-MM-DD" (CKA_START_DATE), or "" when the token has none */
	char *cert_expiry;    /* its certificate's notAfter, "YYYY-MM-DDTHH:MM:SSZ", or "" */
};

struct p11a_conn;

/*
 * Connects to the agent at path; NULL path means $P11AGENT_SOCK, else the
 * default $XDG_RUNTIME_DIR/p11agent/agent.sock (without XDG_RUNTIME_DIR there
 * is no default: P11A_ERR_CONNECT, and p11a_connect_message() says to set
 * P11AGENT_SOCK). Performs the version handshake.
 * On success *out_conn is set; free it with p11a_close().
 * Before it connects, it checks that no other user could have put the socket
 * there, as ssh does with its agent's: the socket's directory (symbolic links
 * resolved) must be a directory owned by root or the caller's effective uid
 * that neither group nor others may write, every directory above it owned by
 * root or the caller and not writable by others unless sticky (like /tmp),
 * and the socket a socket owned by root or the caller. With
 * $P11AGENT_AGENT_USER, a directory and socket of that user are accepted too,
 * when the directory above is owned by root or the caller and writable by
 * nobody else (P11A_AGENT_USER_ENV). It then connects to the socket's real
 * path.
 * Returns P11A_ERR_CONNECT when it cannot reach an agent there: nothing at
 * path, a socket nobody listens on (an agent that stopped), a socket or
 * directory this user may not use (the agent's socket-group), or a file that
 * is not a socket; P11A_ERR_UNSAFE_PATH when the check fails or path is a
 * symbolic link; P11A_ERR_VERSION when no common protocol version exists.
 * p11a_connect_message() says which and what to do.
 */
int p11a_connect(const char *path, struct p11a_conn **out_conn);
/*
 * Why the calling thread's last p11a_connect() failed, and what to do, as a
 * sentence to follow the socket's path ("no such file, so no agent listens
 * there; start p11agentd, ... (P11AGENT_SOCK is not set)"), or the agent's
 * message; "" after a success. Thread-local.
 */
const char *p11a_connect_message(void);
/* Closes conn and frees it. NULL is a no-op. */
void p11a_close(struct p11a_conn *conn);
/*
 * The socket path p11a_connect(NULL, ...) would use, in a thread-local
 * buffer; "" when there is none (neither P11AGENT_SOCK nor XDG_RUNTIME_DIR
 * set, or a path too long).
 */
const char *p11a_default_socket(void);
/* The path conn is connected to. */
const char *p11a_conn_path(const struct p11a_conn *conn);
/*
 * The agent's human message for the last error on conn, or "" (owned by
 * conn); after p11a_collect(), the message of the request it collected.
 */
const char *p11a_conn_message(const struct p11a_conn *conn);

/*
 * What the last request on conn said about its result, beside the result:
 * which version of the key made it (sign, sign-batch, verify-hmac, decrypt,
 * unwrap, derive, rewrap, cert-import). Zeroed at each request; valid until
 * the next one. For submitted requests: the one p11a_collect() handed over
 * last, zeroed at each p11a_collect().
 */
struct p11a_result {
	uint32_t version;      /* the key version that made the result; 0: none */
	uint32_t from_version; /* rewrap: the version that unwrapped the input */
};
const struct p11a_result *p11a_last_result(const struct p11a_conn *conn);

/* Round trip: sends data, expects it echoed back. */
int p11a_ping(struct p11a_conn *conn);

/*
 * Lists the keys. On success *out_keys holds *out_n entries; free with
 * p11a_keys_free(*out_keys, *out_n).
 */
int p11a_list(struct p11a_conn *conn, struct p11a_key_info **out_keys, size_t *out_n);
void p11a_keys_free(struct p11a_key_info *keys, size_t n);

/*
 * Describes one key (a label, "id:HEX" or a pkcs11: URI), as p11a_list()
 * would. *out_key is freed with p11a_keys_free(*out_key, 1).
 */
int p11a_describe_key(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_key);

/*
 * Exports the public key of key (a label, "id:HEX" or a pkcs11: URI) as DER
 * SubjectPublicKeyInfo. *out_der is freed with p11a_free().
 */
int p11a_pubkey(struct p11a_conn *conn, const char *key, uint8_t **out_der, size_t *out_len);

/*
 * The X.509 certificate the token holds for key (a certificate object with
 * the key's CKA_ID whose public key is the key's), as DER. When the token
 * holds none, P11A_OK with *out_der NULL and *out_len 0. *out_der is freed
 * with p11a_free().
 */
int p11a_cert(struct p11a_conn *conn, const char *key, uint8_t **out_der, size_t *out_len);

/* Flags of p11a_sign(). */
#define P11A_SIGN_PREHASHED 0x01u /* data is the digest itself (RSA, ECDSA only) */
#define P11A_SIGN_ECDSA_RAW 0x02u /* ECDSA: return r||s instead of DER */
/*
 * RSA-PSS: the salt length is P11A_SIGN_SALT_LEN(flags) (bits 16-31 of
 * flags) instead of the hash's length; at most the key allows,
 * ceil((bits - 1) / 8) - hash length - 2. Make flags with P11A_SIGN_SALT(n).
 */
#define P11A_SIGN_PSS_SALT 0x04u
#define P11A_SIGN_SALT(n) (P11A_SIGN_PSS_SALT | ((uint32_t)(n)&0xffffu) << 16)
#define P11A_SIGN_SALT_LEN(flags) ((uint32_t)(flags) >> 16)

/*
 * Signs with key. alg may be P11A_ALG_NONE for the key's default.
 * For RSA and ECDSA, data is hashed here (unless P11A_SIGN_PREHASHED) and the
 * digest goes to the agent; for Ed25519 and HMAC the message itself goes.
 * *out_sig is freed with p11a_free().
 */
int p11a_sign(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
	      const uint8_t *data, size_t data_len, uint8_t **out_sig, size_t *out_sig_len);

/* Most items one p11a_sign_batch() request may carry. */
#define P11A_MAX_BATCH 1024u

/* One item of p11a_sign_batch(): data in, signature out. */
struct p11a_sign_item {
	const uint8_t *data; /* as p11a_sign()'s data */
	size_t data_len;
	uint8_t *sig; /* set on success; free with p11a_free(sig, sig_len) */
	size_t sig_len;
};

/*
 * Signs n items (1 to P11A_MAX_BATCH) with key in one round trip, as n calls
 * of p11a_sign() with the same alg and flags would, one audit record for all.
 * The request must fit a frame (for example 1024 SHA-512 digests do).
 * All or nothing: on success every item's sig is set, on failure none is
 * (the agent's message names the item at fault).
 */
int p11a_sign_batch(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		    struct p11a_sign_item *items, size_t n);

/*
 * Pipelining: several requests in flight on one connection (PROTOCOL.md,
 * Pipelining). p11a_submit_sign() and p11a_submit_ping() send a request and
 * return at once with its request id; p11a_collect() waits for the next
 * reply, whichever request it answers (the agent may answer in any order,
 * and runs a connection's requests in any order: a caller that needs one
 * result before the next request collects it first). Every submitted request
 * is collected exactly once; requests that p11a_close() finds in flight are
 * dropped.
 *
 * At most P11A_MAX_INFLIGHT requests are in flight on a connection: one more
 * submit is refused with P11A_ERR_INVALID_ARG, nothing sent. While any are,
 * the blocking calls (p11a_sign(), p11a_ping(), ...) are refused with
 * P11A_ERR_INVALID_ARG, nothing sent: collect first. A reply's wait is
 * bounded by P11AGENT_TIMEOUT as a blocking call's is. Errors that leave the
 * connection out of step with the agent close it, and the requests in flight
 * are lost (p11a_inflight() is 0 then): connect again. A connection is used by
 * one thread at a time, as for every call.
 */
#define P11A_MAX_INFLIGHT 64

/*
 * Sends a SIGN request without waiting for its reply; *out_id is its request
 * id. key, flags and data as for p11a_sign() (data is hashed here for RSA and
 * ECDSA unless P11A_SIGN_PREHASHED), but alg must be given: P11A_ALG_NONE is
 * refused with P11A_ERR_INVALID_ARG, since finding the key's default takes a
 * round trip of its own (p11a_describe_key() gives it). data need not outlive
 * the call. Returns P11A_OK; P11A_ERR_INVALID_ARG (nothing sent) for a wrong
 * argument or when P11A_MAX_INFLIGHT requests are in flight; P11A_ERR_IO when
 * it could not be sent (the connection is closed).
 */
int p11a_submit_sign(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		     const uint8_t *data, size_t data_len, uint32_t *out_id);
/* Sends a PING request without waiting, as p11a_submit_sign() does; its result has no bytes. */
int p11a_submit_ping(struct p11a_conn *conn, uint32_t *out_id);
/* How many submitted requests are in flight on conn: sent and not collected. */
size_t p11a_inflight(const struct p11a_conn *conn);

/*
 * Waits for the next reply to a submitted request and hands over its result.
 * Returns P11A_OK when a reply came: *out_id is the id p11a_submit_*() gave
 * the request, *out_status its result (P11A_OK, or the agent's error, whose
 * message p11a_conn_message() then gives, or P11A_ERR_NOMEM when its result
 * could not be copied), and for a SIGN whose status is P11A_OK *out is the
 * signature (free with p11a_free(*out, *out_len)); otherwise *out is NULL and
 * *out_len 0. p11a_last_result() tells the key version that signed.
 * Any other return collected nothing: P11A_ERR_INVALID_ARG when no request is
 * in flight or an output pointer is NULL (the connection stays as it was);
 * P11A_ERR_IO when the connection failed or the agent did not answer within
 * P11AGENT_TIMEOUT; P11A_ERR_PROTOCOL for a malformed reply or one whose id
 * is not in flight; the agent's code (such as P11A_ERR_BUSY) when it dropped
 * the connection and said why. After those three the connection is closed
 * and every request in flight is lost; p11a_conn_message() says what
 * happened.
 */
int p11a_collect(struct p11a_conn *conn, uint32_t *out_id, int *out_status, uint8_t **out,
		 size_t *out_len);

/*
 * Verifies an HMAC inside the token. Returns P11A_OK and sets *out_valid to 1
 * when mac is right for data, 0 when not.
 */
int p11a_verify_hmac(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *data,
		     size_t data_len, const uint8_t *mac, size_t mac_len, int *out_valid);

/*
 * Decrypts in with key. alg: P11A_ALG_RSA_OAEP_* (default OAEP-SHA256 when
 * P11A_ALG_NONE) or P11A_ALG_RSA_PKCS1 (refused unless the key's
 * configuration allows it; every failure of it is one generic error).
 * label is the OAEP label (may be NULL with label_len 0).
 * *out is the plaintext; free it with p11a_free(*out, *out_len), which wipes it.
 */
int p11a_decrypt(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		 size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out,
		 size_t *out_len);

/*
 * Unwraps a wrapped session key with key, which stays in the token. alg:
 * P11A_ALG_RSA_OAEP_* for RSA keys (default OAEP-SHA256), P11A_ALG_AES_KW or
 * P11A_ALG_AES_KWP for AES keys (default KWP). key_len: the expected length
 * of the session key in bytes, checked by the agent; 0 accepts any.
 * *out is the session key; free it with p11a_free(), which wipes it.
 */
int p11a_unwrap(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, size_t key_len, const uint8_t *in, size_t in_len, uint8_t **out,
		size_t *out_len);

/*
 * ECDH with key and a peer's public key (DER SubjectPublicKeyInfo on the
 * key's curve). alg: P11A_ALG_ECDH or P11A_ALG_NONE. *out is the shared
 * secret Z (the x coordinate, field size bytes), as OpenSSL's derive gives
 * it; free it with p11a_free(), which wipes it.
 */
int p11a_derive(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *peer_spki,
		size_t peer_len, uint8_t **out, size_t *out_len);

/* Length of the MACs of the agent's audit chain (HMAC-SHA256). */
#define P11A_AUDIT_MAC_LEN 32

/*
 * Asks the agent whether mac is the MAC of one record of its keyed audit
 * chain: HMAC-SHA256(prev || record) under the agent's audit-key, checked in
 * the token. prev is the previous record's MAC (32 zero bytes for the first
 * record), record the record's line up to, not including, its ,"mac": field
 * (it starts with {"seq":), mac the record's MAC; prev and mac are
 * P11A_AUDIT_MAC_LEN bytes. The agent only confirms or denies: it never
 * gives out a MAC. Returns P11A_OK with *out_valid 1 or 0;
 * P11A_ERR_NOT_SUPPORTED when the agent's chain is not keyed.
 */
int p11a_audit_check(struct p11a_conn *conn, const uint8_t *prev, size_t prev_len,
		     const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		     int *out_valid);

/*
 * Asks the agent for the head of its keyed audit chain, as kept in the
 * token: the seq and MAC (P11A_AUDIT_MAC_LEN bytes, written to out_mac) of
 * the last record it stored there (at most about a second behind the
 * trail's end while records are written). A trail that ends before the head,
 * or holds another MAC at its seq, was cut short or replaced. Returns
 * P11A_OK; P11A_ERR_NOT_SUPPORTED when the agent keeps no head (no audit-key
 * or no audit-file); P11A_ERR_DENIED for a peer that may not check the
 * trail. Outputs are set only on success.
 */
int p11a_audit_head(struct p11a_conn *conn, uint64_t *out_seq, uint8_t out_mac[32]);

/*
 * Key files, for programs that only read a key file (nginx, curl, Python's
 * ssl): PEM text under P11A_KEYFILE_PEM_NAME whose DER body names an agent
 * key by its pkcs11: URI and carries its public key:
 *   P11agentKey ::= SEQUENCE { version INTEGER (1), uri UTF8String,
 *                              publicKey SubjectPublicKeyInfo }
 * OpenSSL with the p11agent provider loaded reads one as the agent key;
 * without it, OpenSSL refuses it as it refuses any unknown PEM.
 */
#define P11A_KEYFILE_PEM_NAME "P11AGENT KEY"
/*
 * Encodes a key file for uri (a pkcs11: URI) and spki (DER
 * SubjectPublicKeyInfo). *out is NUL-terminated PEM text, *out_len its
 * length without the NUL; free it with p11a_free(*out, *out_len + 1).
 * P11A_ERR_INVALID_ARG for a uri that is not a pkcs11: URI or an spki that
 * is not one.
 */
int p11a_keyfile_encode(const char *uri, const uint8_t *spki, size_t spki_len, char **out,
			size_t *out_len);
/*
 * Decodes a key file's DER body (strict DER, nothing after it; version 1; a
 * pkcs11: URI of printable ASCII, at most 4096 bytes; a SubjectPublicKeyInfo,
 * checked for its form, not its key). *out_uri (NUL-terminated) is freed with
 * p11a_free(*out_uri, strlen(*out_uri) + 1), *out_spki with
 * p11a_free(*out_spki, *out_spki_len). P11A_ERR_BAD_INPUT for anything else
 * (P11A_ERR_INVALID_ARG for a NULL output pointer);
 * the outputs are set only on success. OpenSSL's error queue is left as it was.
 */
int p11a_keyfile_decode_der(const uint8_t *der, size_t der_len, char **out_uri, uint8_t **out_spki,
			    size_t *out_spki_len);
/*
 * Decodes the first P11A_KEYFILE_PEM_NAME block of PEM text (pem_len bytes,
 * no NUL needed; blocks of other names before it are passed over; a block
 * with headers is refused), as above.
 */
int p11a_keyfile_decode(const char *pem, size_t pem_len, char **out_uri, uint8_t **out_spki,
			size_t *out_spki_len);

/*
 * Key lifecycle: administrative requests, for the agent's admin-users and
 * admin-groups only (else P11A_ERR_DENIED); each is one audited request.
 *
 * p11a_keygen() makes a key in the token: private (or secret) parts never
 * extractable, label name, a fresh CKA_ID. type is one of "rsa:2048",
 * "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", "ec:P-521", "ed25519",
 * "hmac:256", "hmac:384", "hmac:512", "aes:128", "aes:256"; ops the
 * P11A_OP_*s it may do, 0 for the type's defaults (RSA, EC, Ed25519: sign;
 * HMAC: sign and verify; AES: unwrap and wrap). A name in use is
 * P11A_ERR_BAD_INPUT naming the key. *out_key (free with
 * p11a_keys_free(*out_key, 1)) describes it as p11a_list() would.
 */
int p11a_keygen(struct p11a_conn *conn, const char *name, const char *type, uint32_t ops,
		struct p11a_key_info **out_key);
/* Makes version n+1 of key's family, of the same type and usage; *out_key as p11a_keygen(). */
int p11a_rotate(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_key);
/* The versions of key's family, oldest first (free with p11a_keys_free()). */
int p11a_versions(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_keys,
		  size_t *out_n);
/*
 * Destroys the versions of key's family older than below: only when its
 * [key] section says allow-destroy = yes and below <= its min-version
 * (else P11A_ERR_DENIED, nothing touched). *out_destroyed: how many.
 */
int p11a_trim(struct p11a_conn *conn, const char *key, uint32_t below, uint32_t *out_destroyed);
/*
 * Takes a session key wrapped (alg: RSA-OAEP or AES-KW/KWP, label for OAEP)
 * for an older version of key's family and returns it wrapped the same way
 * for the newest; the session key never leaves the token. *out is freed with
 * p11a_free(); p11a_last_result() says from and to which version.
 */
int p11a_rewrap(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);
/*
 * Stores an X.509 certificate (DER) in the token beside key (its CKA_ID and
 * label), replacing the one there; P11A_ERR_BAD_INPUT when its public key is
 * not the key's.
 */
int p11a_cert_import(struct p11a_conn *conn, const char *key, const uint8_t *der, size_t der_len);
/*
 * Makes the agent read its config again and index the token again (as
 * SIGHUP does). A config with an error is refused whole (P11A_ERR_BAD_INPUT,
 * the message names the file and line) and the old one stays.
 * *out_n_keys: the keys served now.
 */
int p11a_reload(struct p11a_conn *conn, uint32_t *out_n_keys);

/* The token's state in a status. */
typedef enum {
	P11A_TOKEN_READY = 0,	   /* serving */
	P11A_TOKEN_RECOVERING = 1, /* the agent is logging in again or re-initialising it */
	P11A_TOKEN_AWAY = 2,	   /* gone; the agent keeps looking for it */
} p11a_token_state;

/* Error codes a status counts apart: 1 to P11A_STATUS_CODES - 1 (others count as INTERNAL). */
#define P11A_STATUS_CODES 64

/* How many requests of a pair failed with one error code. */
struct p11a_status_error {
	uint32_t code; /* a p11a_err below P11A_STATUS_CODES */
	uint64_t count;
};

/* The counters of one key and operation since the agent started. */
struct p11a_status_entry {
	char *key;	  /* the key as messages name it (config name, label or URI);
			     "" for requests that named no key the agent knows */
	uint32_t version; /* the key's version; 0 with key "" */
	int gone;	  /* 1 when the key has left the token since */
	char *op;	  /* the request, as the audit trail names it ("sign", "decrypt", ...) */
	uint64_t requests;
	uint64_t latency_sum_us;
	/* Quantiles of the latency: upper bounds, at most 25% above (p11agent.1, STATUS). */
	uint64_t latency_p50_us, latency_p99_us;
	struct p11a_status_error *errors; /* by code, ascending; the failed requests */
	size_t n_errors;
};

struct p11a_status {
	char *agent;	    /* "p11agentd VERSION" */
	uint64_t uptime_ms; /* since the agent started */
	char *token_label;  /* the token's label and serial number, without padding */
	char *token_serial;
	p11a_token_state token_state;
	uint64_t recoveries;		   /* faults the agent recovered from, or tried to */
	uint32_t connections;		   /* open now, this one included */
	uint32_t sessions_in_use;	   /* PKCS#11 sessions of the pool in use now */
	uint32_t sessions;		   /* the pool's size */
	struct p11a_status_entry *entries; /* one per key and operation used since the start */
	size_t n_entries;
};

/*
 * The agent's status: an admin request (else P11A_ERR_DENIED), audited as
 * the others. *out_status is freed with p11a_status_free().
 */
int p11a_status(struct p11a_conn *conn, struct p11a_status **out_status);
/* Frees a status. NULL is a no-op. */
void p11a_status_free(struct p11a_status *st);

/*
 * HTTP Message Signatures (RFC 9421): sign an HTTP/1.1 request or response
 * with an agent key, or verify one, the key never leaving the token (an HMAC
 * is checked inside it). p11a_http(3) tells the rules; in short:
 *
 * Algorithms, by their RFC 9421 names: "hmac-sha256", "rsa-pss-sha512",
 * "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ecdsa-p384-sha384" (r||s),
 * "ed25519". Without one, the key's type decides: HMAC hmac-sha256, RSA
 * rsa-pss-sha512, EC P-256 and P-384 their ECDSA, Ed25519 ed25519.
 *
 * Components are written as a list, comma-separated, each a component name
 * and its parameters as RFC 9421 writes them, the name quoted or not:
 * "@method,@authority,content-type,example-dict;sf,@query-param;name=\"Pet\"".
 * Derived: @method, @target-uri, @authority, @scheme, @request-target,
 * @path, @query, @query-param (with name), @status. Fields by name
 * (lowercased), with the parameters sf (strict structured serialization:
 * the field's known type, else a Dictionary, List or Item, the first that
 * parses), key="member" (one Dictionary member), bs (each line as a Byte
 * Sequence) and req (from the request a response answers). A request's
 * @target-uri and @scheme take https unless its request target is absolute.
 * A signature covers at most P11A_HTTP_MAX_COMPONENTS components.
 *
 * Every function returns a p11a_err; p11a_http_message() says why it failed,
 * or why a signature is not valid, as one line.
 */

/*
 * The i-th algorithm name of RFC 9421 these functions take ("hmac-sha256",
 * ...), in the order above; NULL past the end.
 */
const char *p11a_http_alg_at(size_t i);

/* Most components one signature may cover (a bound on a verifier's work). */
#define P11A_HTTP_MAX_COMPONENTS 128

/* An HTTP/1.1 message, parsed. */
struct p11a_http_msg;

/*
 * Parses an HTTP/1.1 request or response: start line, field lines, an empty
 * line, and the body (the rest; at most 64 MiB in all). Lines end in CRLF or
 * LF. Obsolete line folding is unfolded; a message with Transfer-Encoding
 * (a chunked body) is refused. P11A_ERR_BAD_INPUT when it is not a message
 * (p11a_http_message() says where); free *out_msg with p11a_http_free().
 */
int p11a_http_parse(const uint8_t *data, size_t len, struct p11a_http_msg **out_msg);
/*
 * Where the message at the start of data[0..len) ends, for a server reading
 * one from a stream: P11A_OK with *out_head and *out_total 0 while its
 * header section is not all there; then P11A_OK with *out_head the header
 * section's length (its empty line included) and *out_total that plus
 * Content-Length (no Content-Length: no body, as for a request; a response
 * that runs to the end of the connection is not told apart). Once
 * len >= *out_total, p11a_http_parse(data, *out_total) reads the message.
 * last_len is len at the previous call for the same message, which found
 * no end yet (0 the first time): the search for the header section's end
 * resumes there, so that a message read in small pieces costs time linear
 * in its length. Once *out_total is known there is no need to call again. Refused as
 * p11a_http_parse() refuses a header section, and P11A_ERR_BAD_INPUT for a
 * repeated, empty or non-numeric Content-Length, P11A_ERR_TOO_LARGE past
 * 64 MiB in all or a header section past 1 MiB without its end
 * (P11A_ERR_INVALID_ARG, P11A_ERR_NOMEM as usual). The outputs are written
 * only on P11A_OK.
 */
int p11a_http_length(const uint8_t *data, size_t len, size_t last_len, size_t *out_head,
		     size_t *out_total);
/* Frees a message. NULL is a no-op. */
void p11a_http_free(struct p11a_http_msg *msg);
/*
 * The message's bytes as parsed, with the field lines added since at the end
 * of its header section. *out is freed with p11a_free().
 */
int p11a_http_serialize(const struct p11a_http_msg *msg, uint8_t **out, size_t *out_len);
/* Adds the field line "name: value" (name a token; value printable ASCII). */
int p11a_http_add_field(struct p11a_http_msg *msg, const char *name, const char *value);
/*
 * Adds a Content-Digest field (RFC 9530) over the body: alg "sha-256" or
 * "sha-512". A message that has one already is refused (P11A_ERR_BAD_INPUT).
 */
int p11a_http_add_digest(struct p11a_http_msg *msg, const char *alg);

/* p11a_http_sign_params.created: no created parameter. */
#define P11A_HTTP_NO_CREATED INT64_MIN

/* What to sign and how. A zeroed struct is a signature "sig1" over nothing, created now. */
struct p11a_http_sign_params {
	const char *label; /* the signature's label, an RFC 9651 key; NULL: "sig1" */
	/*
	 * The covered components (see above); "": none. NULL: a request's
	 * @method, @authority, @path, @query, a response's @status, then
	 * content-type and content-digest when the message has them.
	 */
	const char *components;
	int64_t created;   /* Unix time; 0: now; P11A_HTTP_NO_CREATED: none */
	int64_t expires;   /* Unix time; 0: none */
	const char *nonce; /* printable ASCII, or NULL: none */
	const char *keyid; /* printable ASCII, or NULL: none */
	const char *tag;   /* printable ASCII, or NULL: none */
	const char *alg;   /* an algorithm's name; NULL: the key's type decides */
	int alg_param;	   /* 1: write the alg parameter too */
};

/*
 * The signature base (RFC 9421, 2.5) that signing msg with params p would
 * sign: ASCII, lines ending in LF, the last ("@signature-params") without.
 * req is the request a response answers, for components with req (else
 * NULL). conn and key are needed only to find the key's algorithm (alg_param
 * without alg); they may be NULL otherwise. *out_base is NUL-terminated;
 * free it with p11a_free(*out_base, *out_len + 1). P11A_ERR_BAD_INPUT for a
 * component that is malformed, repeated, absent from the message, or whose
 * value is not ASCII (cover it with bs).
 */
int p11a_http_base(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, const struct p11a_http_sign_params *p,
		   char **out_base, size_t *out_len);
/*
 * Signs msg with key through the agent and adds the Signature-Input and
 * Signature field lines for p->label (refused when the message has a
 * signature of that label already). The signature parameters are written in
 * the order created, expires, nonce, alg, keyid, tag.
 */
int p11a_http_sign(struct p11a_conn *conn, const char *key, struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, const struct p11a_http_sign_params *p);

/* What to check. A zeroed struct checks the only signature, against the clock. */
struct p11a_http_verify_params {
	const char *label;   /* the signature to check; NULL: the message's only one */
	const char *require; /* components that must be covered (as above); NULL: none */
	int64_t max_age;     /* seconds created may be old (then it must be there); 0: any */
	int64_t now;	     /* the time to check against, Unix; 0: the clock */
	const char *alg;     /* the algorithm; NULL: the signature's alg, else the key's */
};

/*
 * Verifies a signature of msg with key: an HMAC inside the token, other
 * signatures here with the key's public key. Returns P11A_OK with *out_valid
 * 1 when the signature is valid: it covers the required components, its
 * created is not older than max_age nor more than 60 s ahead, it has not
 * expired, and a covered Content-Digest matches the body. *out_valid 0 when
 * it is not, p11a_http_message() saying why. Other returns are errors: a
 * message with no such signature or a malformed one is P11A_ERR_BAD_INPUT.
 */
int p11a_http_verify(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		     const struct p11a_http_msg *req, const struct p11a_http_verify_params *p,
		     int *out_valid);

/* What a message's signature says of itself: its Signature-Input member. */
struct p11a_http_sig_info {
	char *label;		/* its label */
	char *signature_params; /* the member's value: ("@method" ...);created=... */
	int64_t created;	/* Unix time; -1 when absent */
	int64_t expires;	/* Unix time; -1 when absent */
	char *nonce;		/* NULL when absent */
	char *alg;		/* NULL when absent */
	char *keyid;		/* NULL when absent */
	char *tag;		/* NULL when absent */
};

/*
 * Reads the signature labelled label (NULL: the message's only one) without
 * checking it, so that a verifier may choose the key by its keyid first.
 * P11A_ERR_BAD_INPUT when there is no such signature or its fields are
 * malformed. Free *out_info with p11a_http_sig_info_free().
 */
int p11a_http_signature_info(const struct p11a_http_msg *msg, const char *label,
			     struct p11a_http_sig_info **out_info);
/* Frees what p11a_http_signature_info() gave. NULL is a no-op. */
void p11a_http_sig_info_free(struct p11a_http_sig_info *info);

/*
 * Why the calling thread's last p11a_http_* call failed, or why the
 * signature it checked is not valid, as one line; what it checked when
 * valid ("signature 'sig1' ..."). Thread-local; "" before any.
 */
const char *p11a_http_message(void);

/* Wipes and frees a buffer returned by this library. NULL is a no-op. */
void p11a_free(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
