/*
 * auditlog: the lines of the agent's audit trail, as p11agentd writes them
 * (agent/audit.c) and 'p11agent audit-verify' checks them.
 *
 * A record is one line of JSON, its fields in a fixed order, ASCII only
 * (every string byte outside 0x20..0x7e is escaped, a byte >= 0x80 as
 * \u00XX). It ends with
 *     ,"chain":"sha256"|"hmac-sha256","prev":"HEX64","mac":"HEX64"}
 * Its body is the line up to (not including) ,"mac": that is what the MAC
 * covers, after the previous record's MAC:
 *     mac = MAC(prev || body)        prev: the 32 raw bytes
 * MAC is SHA-256 (chain "sha256": evident against careless edits only, since
 * anyone can recompute it) or HMAC-SHA256 under a key held in the token
 * (chain "hmac-sha256": only the agent can compute it, and check it).
 * The first record of a chain has seq 1 and prev 32 zero bytes.
 *
 * Keyed records can be checked only by the agent, online; offline, with the
 * public half of the agent's audit-sign-key, checkpoint records (below)
 * confirm the records they cover, and no agent is trusted.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_AUDITLOG_H
#define P11AGENT_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define AUDITLOG_MAC_LEN 32
#define AUDITLOG_CHAIN_UNKEYED "sha256"
#define AUDITLOG_CHAIN_KEYED "hmac-sha256"

/* What auditlog_parse() reads of a line. */
struct auditlog_rec {
	uint64_t seq;
	int keyed; /* 1: chain "hmac-sha256" */
	uint8_t prev[AUDITLOG_MAC_LEN];
	uint8_t mac[AUDITLOG_MAC_LEN];
	size_t body_len; /* the bytes the MAC covers: the line up to ,"mac": */
};

/*
 * Parses the frame of one record line (without its newline): seq, chain,
 * prev, mac. Returns 0, or -1 when the line is not shaped as a record.
 * The MAC is not checked here.
 */
int auditlog_parse(const char *line, size_t len, struct auditlog_rec *out);

/* The unkeyed MAC: SHA-256(prev || body). */
void auditlog_sha256(const uint8_t prev[AUDITLOG_MAC_LEN], const char *body, size_t body_len,
		     uint8_t out[AUDITLOG_MAC_LEN]);

/* Writes len bytes as lowercase hex and a NUL to out (2 * len + 1 bytes). */
void auditlog_hex(const uint8_t *p, size_t len, char *out);

/*
 * A record's field: the value of name in the JSON object text p[0..len) (a
 * record line, or the text of its "detail" object), at the top level of it.
 * Strings give their bytes between the quotes, escapes left as they are;
 * numbers, null and objects give their text. Returns 0 with *out filled, or
 * -1 when the object has no such field or is not shaped as JSON.
 */
enum auditlog_vtype {
	AUDITLOG_V_STRING,
	AUDITLOG_V_NUMBER, /* also true, false */
	AUDITLOG_V_NULL,
	AUDITLOG_V_OBJECT,
};

struct auditlog_val {
	enum auditlog_vtype type;
	const char *p;
	size_t len;
};

int auditlog_field(const char *p, size_t len, const char *name, struct auditlog_val *out);

/*
 * Reads the lowercase hex s[0..len) into out, at most max bytes. Returns 0
 * with *out_len set, or -1 (odd length, too long, not lowercase hex).
 */
int auditlog_unhex(const char *s, size_t len, uint8_t *out, size_t max, size_t *out_len);

/* Reads a decimal u64 (no sign, no leading zero) that is all of p[0..len). */
int auditlog_u64(const char *p, size_t len, uint64_t *out);

/*
 * Checkpoints. A record of op "audit-checkpoint" signs the records before it
 * with the agent's audit-sign-key (EC or Ed25519): its detail is
 *     {"from_seq":A,"to_seq":B,"sig":"HEX"}
 * with B its own seq - 1; input_len and input_sha256 are the length and
 * SHA-256 of the covered bytes, the complete lines (each with its "\n") of
 * records A..B of the same chain, directly before it. The signature (DER
 * ECDSA over SHA-256/384/512 for alg ecdsa-sha256/384/512, or Ed25519) is
 * over the message AUDITLOG_CHECKPOINT_FORMAT (seq, from, to, lowercase hex
 * SHA-256).
 */
#define AUDITLOG_OP_CHECKPOINT "audit-checkpoint"
#define AUDITLOG_CHECKPOINT_FORMAT                                                                 \
	"p11agent audit checkpoint v1 seq=%llu from=%llu to=%llu sha256=%s\n"
/* Longest checkpoint signature read (DER ECDSA on P-521 takes 139 bytes). */
#define AUDITLOG_MAX_SIG 256
/* Room for the message, its NUL included. */
#define AUDITLOG_CHECKPOINT_MSG_MAX 160

struct auditlog_checkpoint {
	uint64_t seq, from_seq, to_seq;
	uint64_t input_len;
	uint8_t sha256[AUDITLOG_MAC_LEN];
	char alg[16];
	uint8_t sig[AUDITLOG_MAX_SIG];
	size_t sig_len;
};

/* Whether the record line is a checkpoint (its op is "audit-checkpoint"). */
int auditlog_is_checkpoint(const char *line, size_t len);

/*
 * Reads a checkpoint record line. Returns 0 with *out filled, or -1 with a
 * message in msg ("its detail has no sig").
 */
int auditlog_checkpoint_parse(const char *line, size_t len, struct auditlog_checkpoint *out,
			      char *msg, size_t msg_len);

/* Writes the signed message of cp (AUDITLOG_CHECKPOINT_MSG_MAX bytes); returns its length. */
size_t auditlog_checkpoint_message(const struct auditlog_checkpoint *cp, char *out);

/*
 * Verifies cp's signature with pkey, the public half of the audit-sign-key.
 * Returns P11A_OK with *out_valid 1 or 0 (a signature that does not parse is
 * invalid), P11A_ERR_BAD_INPUT with a message when cp's alg does not fit
 * pkey or is unknown, or P11A_ERR_NOMEM.
 */
int auditlog_checkpoint_verify(EVP_PKEY *pkey, const struct auditlog_checkpoint *cp, int *out_valid,
			       char *msg, size_t msg_len) __attribute__((warn_unused_result));

/*
 * Checks a keyed record's MAC (the CLI asks the agent). Returns P11A_OK with
 * *out_valid 1 or 0, or a p11a_err that stops the verification.
 */
typedef int (*auditlog_check_fn)(void *arg, const uint8_t prev[AUDITLOG_MAC_LEN], const char *body,
				 size_t body_len, const uint8_t mac[AUDITLOG_MAC_LEN],
				 int *out_valid);

/* One line of the trail, and where it was read. */
struct auditlog_line {
	const char *p; /* without its newline */
	size_t len;
	const char *file;
	size_t line_no; /* 1-based, within file */
};

/* What is wrong with a trail, or (AUDITLOG_UNCONFIRMED) only worth a warning. */
enum auditlog_kind {
	AUDITLOG_DAMAGED,     /* a line that is no record */
	AUDITLOG_CHANGED,     /* a record's MAC or its link to the next one does not hold */
	AUDITLOG_REMOVED,     /* records are missing */
	AUDITLOG_REORDERED,   /* a record is out of its place */
	AUDITLOG_UNCHECKED,   /* a keyed MAC that nothing could check */
	AUDITLOG_CHECKPOINT,  /* a checkpoint that does not hold, or none at all */
	AUDITLOG_TRUNCATED,   /* records are missing at the end */
	AUDITLOG_UNCONFIRMED, /* a warning: records that no valid checkpoint covers */
};

/* "damaged", "changed", ... */
const char *auditlog_kind_name(enum auditlog_kind kind);

/* Most problems a result keeps; it counts them all. */
#define AUDITLOG_MAX_PROBLEMS 100

struct auditlog_problem {
	enum auditlog_kind kind;
	int warning;	  /* 1: reported, not a failure */
	uint64_t seq;	  /* the record it is about */
	const char *file; /* where it shows; NULL: on no line */
	size_t line;
	char what[256]; /* "changed: its MAC does not match its content", ... */
};

/*
 * A chain segment: the records from one that starts a chain (seq 1, prev
 * zeros; or the first record given) up to the next one that does.
 */
struct auditlog_segment {
	uint64_t first_seq;
	uint64_t last_seq;		    /* of its last line's record */
	uint8_t last_mac[AUDITLOG_MAC_LEN]; /* that record's MAC */
	int keyed;			    /* that record's chain is hmac-sha256 */
	size_t first_idx, last_idx;	    /* their indexes in lines[] */
};

/* What auditlog_verify() found. Free with auditlog_result_free(). */
struct auditlog_result {
	int intact;		     /* 1: no failure (warnings allowed) */
	size_t n_records;	     /* lines that are records */
	uint64_t first_seq;	     /* seq of the first record (> 1: the chain continues an earlier
					file that was not given) */
	uint64_t last_seq;	     /* seq of the last record */
	size_t n_keyed;		     /* keyed records whose MAC the check function confirmed */
	size_t n_checkpoint_records; /* records of op audit-checkpoint */
	size_t n_checkpoints;	     /* offline: checkpoints that hold */
	size_t n_confirmed;	     /* offline: records that a checkpoint that holds covers */
	size_t n_failures, n_warnings;	   /* every problem found */
	struct auditlog_problem *problems; /* the first AUDITLOG_MAX_PROBLEMS, in line order */
	size_t n_problems;
	struct auditlog_segment *segments; /* in line order */
	size_t n_segments;
};

/* How to verify. */
struct auditlog_opts {
	int require_keyed; /* an unkeyed record is a failure (a chain rewritten without the
			      key); an unkeyed record after a keyed one always is */
	int partial;	   /* the trail may start after record 1 (earlier files rotated away) */
	/* Online: keyed MACs are checked with check (the agent). NULL, without pubkey: a
	   keyed record cannot be checked, which fails it. */
	auditlog_check_fn check;
	void *arg;
	/* Offline: the public half of the audit-sign-key. Checkpoints are verified with it,
	   keyed MACs are not checked (checkpoints cover them), records no valid checkpoint
	   covers are warnings, and a trail without a checkpoint fails. */
	EVP_PKEY *pubkey;
};

/*
 * Verifies lines[0..n) as one chain and reports every problem: records
 * changed, removed, reordered or damaged (a line that is no record; the
 * check goes on at the next record), keyed records rewritten unkeyed, and
 * offline the checkpoints that do not hold and the records none covers.
 * Records removed from the end of the trail cannot be told from a trail that
 * ends there, unless a head kept elsewhere says so (auditlog_result_add()).
 * Returns P11A_OK with *out filled (intact or not), or the error of check,
 * or P11A_ERR_NOMEM (then *out is untouched).
 */
int auditlog_verify(const struct auditlog_line *lines, size_t n, const struct auditlog_opts *opts,
		    struct auditlog_result *out);

/*
 * Adds a problem to res (after those auditlog_verify() found): seq, the line
 * l (NULL: none) and a message that starts with the kind's name
 * ("truncated: ..."). An AUDITLOG_UNCONFIRMED problem is a warning; any
 * other makes res not intact.
 */
void auditlog_result_add(struct auditlog_result *res, enum auditlog_kind kind, uint64_t seq,
			 const struct auditlog_line *l, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Frees what res holds (not res). */
void auditlog_result_free(struct auditlog_result *res);

#endif
