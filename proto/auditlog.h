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
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_AUDITLOG_H
#define P11AGENT_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

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

/* What auditlog_verify() found. */
struct auditlog_result {
	int intact;	    /* 1: every record checked */
	size_t n_records;   /* records read */
	uint64_t first_seq; /* seq of the first record (> 1: the chain continues an earlier
			       file that was not given) */
	uint64_t last_seq;  /* seq of the last record */
	size_t n_keyed;	    /* records whose MAC the check function confirmed */
	/* When not intact: the first bad record. */
	uint64_t bad_seq;     /* the record that is bad or missing there */
	const char *bad_file; /* where it shows */
	size_t bad_line;
	char what[256]; /* "changed: its MAC does not match its content", ... */
};

/*
 * Verifies lines[0..n) as one chain and reports the first record that was
 * changed, removed, reordered or damaged (a line that is no record).
 * Unkeyed records are checked here; keyed ones with check (NULL: a keyed
 * record cannot be checked, which fails it). require_keyed: an unkeyed record
 * is a failure (a chain rewritten without the key); an unkeyed record after
 * a keyed one always is. Records removed from the end of the trail cannot be
 * told from a trail that ends there.
 * Returns P11A_OK with *out filled (intact or not), or the error of check,
 * or P11A_ERR_NOMEM.
 */
int auditlog_verify(const struct auditlog_line *lines, size_t n, int require_keyed,
		    auditlog_check_fn check, void *arg, struct auditlog_result *out);

#endif
