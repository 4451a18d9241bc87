/*
 * audit-impl: what audit.c (records, the file) and audit-anchor.c (the chain's
 * head in the token, signed checkpoints) share. Not for other modules: they
 * use audit.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_AUDIT_IMPL_H
#define P11AGENT_AUDIT_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "audit.h"
#include "auditlog.h"

/* The token head's value: seq (u64 big-endian) || MAC. */
#define AUDIT_HEAD_LEN (8 + AUDITLOG_MAC_LEN)

struct audit {
	pthread_mutex_t lock;
	char *path; /* audit-file, or NULL */
	int fd;	    /* -1 without a file, or while it cannot be opened */
	int to_syslog;
	struct token *tok;
	char *key_ref; /* audit-key, or NULL: unkeyed */
	/* The audit key, resolved once at open: token key pointers outlive re-indexing. */
	const struct token_key *key;
	uint64_t seq; /* of the last record written */
	uint8_t prev[AUDITLOG_MAC_LEN];
	/*
	 * Why the file takes no records (it could not be reopened, or it was
	 * removed), or "": until a SIGHUP reopens it, every record fails.
	 */
	char broken[512];

	/* audit-anchor.c: the head in the token (keyed chain with a file). */
	int anchored;
	uint64_t head_seq; /* what the token's head holds, once known */
	uint8_t head_mac[AUDITLOG_MAC_LEN];
	int head_known;

	/* audit-anchor.c: checkpoints (audit-sign-key). */
	char *sign_ref;
	const struct token_key *sign_key;
	p11a_alg sign_alg;
	unsigned cp_interval; /* seconds */
	EVP_MD_CTX *cp_hash;  /* SHA-256 of the lines from record cp_from on */
	uint64_t cp_from;     /* 0 before this run's first record */
	uint64_t cp_len;      /* bytes in cp_hash */
	uint64_t cp_pending;  /* records after the last checkpoint (or the run's first record) */
	uint64_t cp_due_ms;   /* monotonic time of the next checkpoint */

	/* audit-anchor.c: the thread that keeps the head and writes checkpoints. */
	pthread_t thread;
	pthread_cond_t cond;
	int have_thread, have_cond, stopping;
};

int audit_fail(char *msg, size_t msg_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Makes, MACs and writes the next record (a->lock held); advances the chain
 * only once it is written. lead: bytes written before the record ("\n" after
 * a damaged last line), or NULL. begins: 0, or the record starts what the
 * next checkpoint covers: AUDIT_BEGINS_RUN (the run's first record),
 * AUDIT_BEGINS_CHECKPOINT.
 */
#define AUDIT_BEGINS_RUN 1
#define AUDIT_BEGINS_CHECKPOINT 2
int audit_write_locked(struct audit *a, const struct audit_record *rec, const char *lead,
		       int begins, char *msg, size_t msg_len);

/* The agent itself, as the peer of the records it writes on its own. */
void audit_self_peer(struct caller *p);

/* What the end of the trail file holds (audit-tail.c). */
enum audit_tail_state { AUDIT_TAIL_EMPTY, AUDIT_TAIL_INTACT, AUDIT_TAIL_DAMAGED };

struct audit_tail {
	enum audit_tail_state state;
	int newline;		  /* 0: the file does not end with a newline */
	int have_last;		  /* 1: last is the file's last intact record */
	struct auditlog_rec last; /* when INTACT, the last line; when DAMAGED, the one before */
	int found;		  /* audit_find_seq: 1 when the record was found, in rec */
	int all_after;		  /* audit_find_seq: every record in the file is after it */
	struct auditlog_rec found_rec;
};

/*
 * What the end of the file holds: its last record, or a damaged line and
 * the last intact record before it (a few dozen lines back at most).
 */
int audit_read_tail(struct audit *a, struct audit_tail *t, char *msg, size_t msg_len);
/*
 * Looks for the record with seq in the file, reading back from its end over
 * records that come after it (and over a damaged last line). Sets t->found
 * (and t->found_rec), or t->all_after when the file's records all come
 * after it (its record is in an earlier, rotated file).
 */
int audit_find_seq(struct audit *a, uint64_t seq, struct audit_tail *t, char *msg, size_t msg_len);

/*
 * audit-anchor.c. anchor_open(): resolves audit-sign-key and sets up the
 * checkpoints (cfg), and whether the head is kept. anchor_check(): at start,
 * compares the file's end (t) with the token's head; P11A_ERR_BAD_INPUT with
 * the gap named when records are missing. *out_have_head, out_seq and out_mac
 * are the token's head (0 when there is none). anchor_started(): after the
 * run's first record: stores the head at once and starts the thread.
 * anchor_stop(): the last checkpoint and head, then stops the thread.
 * anchor_line(): a written line, for the checkpoint's hash (a->lock held).
 */
int anchor_open(struct audit *a, const struct agent_config *cfg, char *msg, size_t msg_len);
int anchor_check(struct audit *a, const struct audit_tail *t, int *out_have_head, uint64_t *out_seq,
		 uint8_t out_mac[AUDITLOG_MAC_LEN], char *msg, size_t msg_len);
int anchor_started(struct audit *a, char *msg, size_t msg_len);
void anchor_stop(struct audit *a);
void anchor_free(struct audit *a);
int anchor_line(struct audit *a, const char *line, size_t len, int begins);

#endif
