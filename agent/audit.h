/*
 * audit: one record per request, allowed or not, as JSON lines to a file
 * and/or syslog, flushed before the reply is sent. Each record carries a MAC
 * chained over the previous record's; with audit-key the MAC is an HMAC
 * computed in the token, so whoever can edit the file cannot rebuild the
 * chain. Never a PIN, a plaintext, a session key or a shared secret.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_AUDIT_H
#define P11AGENT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "caller.h"
#include "purpose.h"
#include "token.h"

struct audit;

/* What happened in one request, as the handlers saw it. */
struct audit_record {
	const struct caller *peer;
	const char *op;		     /* "sign", "decrypt", ... (the protocol table's name) */
	const struct token_key *key; /* NULL when none was resolved */
	const char *key_ref;	     /* the reference the client sent, or NULL */
	const char *alg;	     /* algorithm name, or NULL */
	size_t input_len;	     /* bytes of the request's data field */
	int has_input_hash;	     /* 1: input_sha256 is set (sign/hmac input; for decrypt,
					unwrap and derive the hash of the ciphertext / peer key) */
	uint8_t input_sha256[32];
	int status; /* the reply's status code */
	uint64_t latency_us;
	/*
	 * The agent's own records (audit-restart, ...) say what they are about
	 * here: a flat JSON object, written as it is; NULL for requests (null).
	 */
	const char *detail;
	/*
	 * A front's purpose (the SSH front's login, namespace, bound host
	 * key): written as the detail {"front":..,"login":..,"namespace":..,
	 * "host_key":..} when detail is NULL; NULL for the native protocol.
	 */
	const struct purpose *purpose;
};

/* audit_open() flags. */
#define AUDIT_NEW_CHAIN 0x01u /* --new-audit-chain: start a new chain, whatever the head */

/*
 * Opens the trail per cfg (audit-file, audit-syslog, audit-key resolved with
 * token_find_key; the key must be an HMAC key that can sign; audit-sign-key,
 * an EC or Ed25519 key that can sign, needs audit-file) and writes this run's
 * first record. With audit-key and audit-file, the file's end must hold the
 * head kept in the token: else P11A_ERR_BAD_INPUT with a message naming the
 * missing records (unless AUDIT_NEW_CHAIN). *out_audit is NULL-safe to use
 * when neither file nor syslog is configured (records are then dropped).
 */
int audit_open(const struct agent_config *cfg, struct token *tok, unsigned flags,
	       struct audit **out_audit, char *msg, size_t msg_len);
/*
 * Appends one record and flushes it (fdatasync for the file). Thread-safe;
 * records are chained in the order they are written. A NULL audit is a no-op.
 * Returns P11A_OK, or P11A_ERR_INTERNAL when the record could not be written.
 */
int audit_write(struct audit *a, const struct audit_record *rec);
/*
 * Reopens the file (SIGHUP, for logrotate): a file moved away is left as it
 * is and a new one is made; the chain goes on from the last record written.
 * Not async-signal-safe: call it from the server loop, not a signal handler.
 * P11A_OK, or P11A_ERR_INTERNAL: the file cannot be opened at its path (gone,
 * a symbolic link, another owner's), and every record fails, so that
 * audited requests are refused, until a later reopen succeeds.
 */
int audit_reopen(struct audit *a);

/*
 * The key of a keyed chain, resolved once by audit_open() (token key
 * pointers stay valid across re-indexing), or NULL when the chain is not
 * keyed or a is NULL.
 */
const struct token_key *audit_key(const struct audit *a);
/*
 * The checkpoints' key (audit-sign-key), or NULL. Like the audit key, it
 * serves the trail only: nobody may sign with it directly.
 */
const struct token_key *audit_sign_key(const struct audit *a);
/*
 * The chain's head as kept in the token (read from it): the seq and MAC of
 * the last record the agent stored there. P11A_ERR_NOT_SUPPORTED when no
 * head is kept (the chain is not keyed, or there is no audit-file); errors
 * as token_data_get().
 */
int audit_head(struct audit *a, uint64_t *out_seq, uint8_t out_mac[32], char *msg, size_t msg_len);
/*
 * Checks a keyed chain's MAC for audit-verify: is mac the HMAC-SHA256 of
 * prev || record under key (from audit_key)? Done in the token with C_Verify:
 * the agent confirms or denies, it never hands out a MAC. record must be a
 * record's body (it starts with {"seq":), prev and mac 32 bytes each, else
 * P11A_ERR_BAD_INPUT. P11A_OK with *out_valid 1 or 0; errors as
 * token_verify_hmac.
 */
int audit_check(struct audit *a, const struct token_key *key, const uint8_t *prev, size_t prev_len,
		const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		int *out_valid, char *msg, size_t msg_len);
/*
 * At a clean stop: writes the last checkpoint (audit-sign-key) and stores the
 * head in the token, then frees. NULL is a no-op.
 */
void audit_close(struct audit *a);

#endif
