/*
 * audit: the agent's audit trail. See audit.h; the line format is
 * proto/auditlog.h's.
 *
 * A record's fields, always all of them and in this order:
 *     seq, time (RFC 3339, UTC, microseconds), uid, gid, pid, exe, op, key
 *     (config name, else label), key_uri, key_version (the version of the
 *     key that served the request), key_ref (what the client sent),
 *     alg, input_len, input_sha256, status (the reply's code name),
 *     latency_us, detail (null, or an object on the agent's own records),
 *     chain, prev, mac
 * (null where a request had none). The chain goes on across restarts: at
 * open, the last line of the file gives the last seq and MAC. When that line
 * is damaged (a crash in the middle of a write, an edit), a new chain
 * segment starts (seq 1, prev zeros) with an "audit-restart" record, and
 * audit-verify reports the damage. The unkeyed chain (SHA-256) only shows
 * careless edits: anyone who can write the file can recompute it. With
 * audit-key, the MAC is an HMAC computed in the token.
 *
 * Every start writes one record first: "audit-start", or "audit-restart"
 * after a damaged end, or "audit-new-chain" (--new-audit-chain), whose
 * detail names the previous head. With audit-key and a file, that head is
 * kept in the token too, and checked at start (audit-anchor.c).
 *
 * Records are written under one lock, with one write() each to a file opened
 * O_APPEND (never through a symbolic link; it must be the agent's, writable
 * by no one else), and fdatasync()ed before audit_write() returns. A file
 * that cannot be reopened, or that was removed, takes no more records: the
 * requests they would record are refused until a SIGHUP reopens it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit-impl.h"
#include "log.h"

#define SEQ_PREFIX "{\"seq\":"

int audit_fail(char *msg, size_t msg_len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	return code;
}

/* Writes s as a JSON string (null for NULL); every byte outside 0x20..0x7e is escaped. */
static void put_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* "2024-05-01T12:00:00.123456Z" */
static void put_time(FILE *f)
{
	struct timespec ts;
	struct tm tm;
	char date[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"%s.%06ldZ\"", date, ts.tv_nsec / 1000);
}

/* The key's name in the trail: its config name, else its label. */
static const char *key_name(const struct token_key *key)
{
	if (key == NULL)
		return NULL;
	return key->name != NULL ? key->name : key->label;
}

/*
 * Builds the body of a record (up to, not including, ,"mac":) into a
 * malloc'd string.
 */
static int build_body(const struct audit *a, uint64_t seq, const struct audit_record *rec,
		      char **out_body, size_t *out_len)
{
	const struct caller *peer = rec->peer;
	char hex[2 * AUDITLOG_MAC_LEN + 1];
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&body, &len)) == NULL)
		return P11A_ERR_INTERNAL;
	fprintf(f, SEQ_PREFIX "%llu,\"time\":", (unsigned long long)seq);
	put_time(f);
	fprintf(f, ",\"uid\":%d,\"gid\":%d,\"pid\":%d,\"exe\":", peer->uid, peer->gid, peer->pid);
	put_str(f, peer->exe);
	fputs(",\"op\":", f);
	put_str(f, rec->op);
	fputs(",\"key\":", f);
	put_str(f, key_name(rec->key));
	fputs(",\"key_uri\":", f);
	put_str(f, rec->key != NULL ? rec->key->uri : NULL);
	if (rec->key != NULL)
		fprintf(f, ",\"key_version\":%u", (unsigned)rec->key->version);
	else
		fputs(",\"key_version\":null", f);
	fputs(",\"key_ref\":", f);
	put_str(f, rec->key_ref);
	fputs(",\"alg\":", f);
	put_str(f, rec->alg);
	fprintf(f, ",\"input_len\":%zu,\"input_sha256\":", rec->input_len);
	if (rec->has_input_hash) {
		auditlog_hex(rec->input_sha256, sizeof(rec->input_sha256), hex);
		put_str(f, hex);
	} else {
		fputs("null", f);
	}
	fputs(",\"status\":", f);
	put_str(f, p11a_errname(rec->status));
	fprintf(f, ",\"latency_us\":%llu,\"detail\":", (unsigned long long)rec->latency_us);
	if (rec->detail != NULL) {
		fputs(rec->detail, f);
	} else if (rec->purpose != NULL) {
		fputs("{\"front\":", f);
		put_str(f, rec->purpose->front);
		fputs(",\"login\":", f);
		put_str(f, rec->purpose->login);
		fputs(",\"namespace\":", f);
		put_str(f, rec->purpose->ns);
		fputs(",\"host_key\":", f);
		put_str(f, rec->purpose->host_key);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	auditlog_hex(a->prev, sizeof(a->prev), hex);
	fprintf(f, ",\"chain\":\"%s\",\"prev\":\"%s\"",
		a->key_ref != NULL ? AUDITLOG_CHAIN_KEYED : AUDITLOG_CHAIN_UNKEYED, hex);
	if (fclose(f) != 0 || body == NULL) {
		free(body);
		return P11A_ERR_INTERNAL;
	}
	*out_body = body;
	*out_len = len;
	return P11A_OK;
}

/* MAC(prev || body): SHA-256, or HMAC-SHA256 with the audit key in the token. */
static int chain_mac(struct audit *a, const uint8_t prev[AUDITLOG_MAC_LEN], const char *body,
		     size_t body_len, uint8_t out[AUDITLOG_MAC_LEN], char *msg, size_t msg_len)
{
	uint8_t *in = NULL, *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (a->key == NULL) {
		auditlog_sha256(prev, body, body_len, out);
		return P11A_OK;
	}
	if ((in = malloc(AUDITLOG_MAC_LEN + body_len)) == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
	memcpy(in, prev, AUDITLOG_MAC_LEN);
	memcpy(in + AUDITLOG_MAC_LEN, body, body_len);
	rc = token_sign(a->tok, a->key, P11A_ALG_HMAC_SHA256, 0, in, AUDITLOG_MAC_LEN + body_len,
			&sig, &sig_len, msg, msg_len);
	if (rc == P11A_OK && sig_len != AUDITLOG_MAC_LEN)
		rc =
		    audit_fail(msg, msg_len, P11A_ERR_TOKEN, "HMAC-SHA256 gave %zu bytes", sig_len);
	if (rc == P11A_OK)
		memcpy(out, sig, AUDITLOG_MAC_LEN);
	free(in);
	free(sig);
	return rc;
}

int audit_write_locked(struct audit *a, const struct audit_record *rec, const char *lead,
		       int begins, char *msg, size_t msg_len)
{
	uint8_t mac[AUDITLOG_MAC_LEN];
	char hex[2 * AUDITLOG_MAC_LEN + 1];
	char *body = NULL, *line = NULL;
	size_t body_len = 0, lead_len = lead != NULL ? strlen(lead) : 0, line_len;
	struct stat st;
	ssize_t n;
	int k, rc;

	if (a->broken[0] != '\0') {
		rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "%s", a->broken);
		goto out;
	}
	if ((rc = build_body(a, a->seq + 1, rec, &body, &body_len)) != P11A_OK) {
		audit_fail(msg, msg_len, rc, "cannot build the record: out of memory");
		goto out;
	}
	if ((rc = chain_mac(a, a->prev, body, body_len, mac, msg, msg_len)) != P11A_OK)
		goto out;
	auditlog_hex(mac, sizeof(mac), hex);
	if ((k = asprintf(&line, "%s%s,\"mac\":\"%s\"}\n", lead != NULL ? lead : "", body, hex)) <
	    0) {
		line = NULL;
		rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
				"cannot build the record: out of memory");
		goto out;
	}
	line_len = (size_t)k;
	if (a->fd >= 0) {
		if (fstat(a->fd, &st) != 0) {
			rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "%s: %s", a->path,
					strerror(errno));
			goto out;
		}
		/* Records written to a removed file would be lost with it. */
		if (st.st_nlink == 0) {
			snprintf(a->broken, sizeof(a->broken),
				 "audit-file %s was removed: audited requests are refused until "
				 "a SIGHUP reopens it",
				 a->path);
			log_error("audit: %s", a->broken);
			rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "%s", a->broken);
			goto out;
		}
		n = write(a->fd, line, line_len);
		if (n != (ssize_t)line_len) {
			rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "%s: %s", a->path,
					n < 0 ? strerror(errno) : "short write");
			/* No half record stays behind to damage the next one. */
			if (n > 0 && ftruncate(a->fd, st.st_size) != 0)
				log_error("audit: %s: cannot remove a partial record: %s", a->path,
					  strerror(errno));
			goto out;
		}
		if (fdatasync(a->fd) != 0) {
			rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "%s: fdatasync: %s",
					a->path, strerror(errno));
			goto out;
		}
	}
	if (a->to_syslog)
		syslog(LOG_AUTHPRIV | LOG_INFO, "%.*s", (int)(line_len - lead_len - 1),
		       line + lead_len);
	a->seq++;
	memcpy(a->prev, mac, sizeof(mac));
	if (anchor_line(a, line + lead_len, line_len - lead_len, begins) != 0)
		log_error("audit: cannot hash record %llu for the next checkpoint: out of memory",
			  (unsigned long long)a->seq);
	rc = P11A_OK;
out:
	free(body);
	free(line);
	return rc;
}

int audit_write(struct audit *a, const struct audit_record *rec)
{
	char msg[1024] = "";
	int rc;

	if (a == NULL)
		return P11A_OK;
	pthread_mutex_lock(&a->lock);
	rc = audit_write_locked(a, rec, NULL, 0, msg, sizeof(msg));
	pthread_mutex_unlock(&a->lock);
	if (rc != P11A_OK) {
		log_error("audit: record %llu not written: %s", (unsigned long long)a->seq + 1,
			  msg);
		return P11A_ERR_INTERNAL;
	}
	return P11A_OK;
}

/*
 * Opens the trail file for appending: never through a symbolic link, and
 * only a regular file of the agent's euid that no one else may write. -1
 * with msg on failure.
 */
static int open_file(const char *path, char *msg, size_t msg_len)
{
	struct stat st;
	int fd =
	    open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);

	if (fd < 0 && errno == ELOOP) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
			   "audit-file %s is a symbolic link: the trail is never written through "
			   "one; remove it, or set audit-file to the real file",
			   path);
		return -1;
	}
	if (fd < 0) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "audit-file %s: %s", path,
			   strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "audit-file %s: %s", path,
			   strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
			   "audit-file %s is not a regular file; set audit-file to a file", path);
	} else if (st.st_uid != geteuid()) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
			   "audit-file %s is owned by uid %u, not by the agent's uid %u: chown it "
			   "to uid %u, or move it away",
			   path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid());
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
			   "audit-file %s may be written by others (mode %04o): chmod go-w %s",
			   path, (unsigned)(st.st_mode & 07777), path);
	} else {
		/* Only the open needed not to block (a FIFO); writes do. */
		(void)fcntl(fd, F_SETFL, O_APPEND);
		return fd;
	}
	close(fd);
	return -1;
}

void audit_self_peer(struct caller *p)
{
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->uid = (int)getuid();
	p->gid = (int)getgid();
	p->pid = (int)getpid();
	n = readlink("/proc/self/exe", p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = '\0';
}

/* Finds the audit key and checks that it can key the chain. */
static int check_key(struct audit *a, char *msg, size_t msg_len)
{
	static const uint8_t probe[] = "p11agent audit-key probe";
	const struct token_key *key;
	char why[512];
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (a->tok == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_TOKEN_UNAVAILABLE,
				  "audit-key: the token is not available");
	if (token_find_key(a->tok, a->key_ref, &key, why, sizeof(why)) != P11A_OK)
		return audit_fail(msg, msg_len, P11A_ERR_NO_SUCH_KEY, "audit-key '%s': %s",
				  a->key_ref, why);
	if (key->type != P11A_KEY_HMAC || !(key->ops & P11A_OP_SIGN))
		return audit_fail(
		    msg, msg_len, P11A_ERR_NOT_SUPPORTED,
		    "audit-key '%s' must be an HMAC key that allows signing (it is %s%s)",
		    a->key_ref, p11a_key_type_name(key->type),
		    key->type == P11A_KEY_HMAC ? " without CKA_SIGN" : "");
	if (!(key->ops & P11A_OP_VERIFY))
		log_warn("audit-key '%s' does not allow CKA_VERIFY: audit-verify cannot check the "
			 "trail",
			 a->key_ref);
	rc = token_sign(a->tok, key, P11A_ALG_HMAC_SHA256, 0, probe, sizeof(probe) - 1, &sig,
			&sig_len, why, sizeof(why));
	free(sig);
	if (rc != P11A_OK)
		return audit_fail(msg, msg_len, rc, "audit-key '%s': HMAC-SHA256 fails: %s",
				  a->key_ref, why);
	a->key = key;
	return P11A_OK;
}

/* Refuses a keyed chain on an unkeyed file's end, and the other way round. */
static int check_mix(const struct audit *a, const struct audit_tail *t, char *msg, size_t msg_len)
{
	if (t->state != AUDIT_TAIL_INTACT)
		return P11A_OK;
	if (t->last.keyed && a->key_ref == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-file %s: its chain is keyed: set audit-key, or give a "
				  "new audit-file",
				  a->path);
	/* Keyed records on an unkeyed history would vouch for what anyone can rewrite. */
	if (!t->last.keyed && a->key_ref != NULL)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-file %s: its chain is not keyed: a keyed chain starts in "
				  "a new audit-file",
				  a->path);
	return P11A_OK;
}

/*
 * Starts this run of the trail: checks the file's end against the token's
 * head, picks up the chain (or starts a new one: after a damaged end, or
 * with AUDIT_NEW_CHAIN) and writes the run's first record, naming the
 * previous head.
 */
static int begin(struct audit *a, unsigned flags, char *msg, size_t msg_len)
{
	struct audit_tail t;
	struct audit_record rec;
	struct caller self;
	uint8_t head_mac[AUDITLOG_MAC_LEN] = {0};
	uint64_t head_seq = 0;
	char hex[2 * AUDITLOG_MAC_LEN + 1], detail[160];
	int have_head = 0, rc;

	memset(&t, 0, sizeof(t));
	t.newline = 1;
	if (a->fd >= 0 && (rc = audit_read_tail(a, &t, msg, msg_len)) != P11A_OK)
		return rc;
	if (!(flags & AUDIT_NEW_CHAIN) && (rc = check_mix(a, &t, msg, msg_len)) != P11A_OK)
		return rc;
	if (a->anchored &&
	    (rc = anchor_check(a, &t, &have_head, &head_seq, head_mac, msg, msg_len)) != P11A_OK &&
	    !(flags & AUDIT_NEW_CHAIN))
		return rc;
	/* The chain goes on from the file's last record. */
	if (!(flags & AUDIT_NEW_CHAIN) && t.state == AUDIT_TAIL_INTACT) {
		a->seq = t.last.seq;
		memcpy(a->prev, t.last.mac, sizeof(a->prev));
	}
	/* The previous head: the token's, else the file's last record. */
	if (!have_head && t.have_last) {
		head_seq = t.last.seq;
		memcpy(head_mac, t.last.mac, sizeof(head_mac));
	}
	auditlog_hex(head_mac, sizeof(head_mac), hex);
	snprintf(detail, sizeof(detail), "{\"prev_seq\":%llu,\"prev_mac\":\"%s\"}",
		 (unsigned long long)head_seq, hex);
	audit_self_peer(&self);
	memset(&rec, 0, sizeof(rec));
	rec.peer = &self;
	rec.op = "audit-start";
	rec.status = P11A_OK;
	rec.detail = detail;
	if (flags & AUDIT_NEW_CHAIN) {
		rec.op = "audit-new-chain";
		a->seq = 0;
		memset(a->prev, 0, sizeof(a->prev));
		log_warn("audit: --new-audit-chain: a new chain starts in %s; the previous head "
			 "was record %llu",
			 a->path != NULL ? a->path : "syslog", (unsigned long long)head_seq);
	} else if (t.state == AUDIT_TAIL_DAMAGED) {
		rec.op = "audit-restart";
		log_warn("audit: the last line of %s is damaged: starting a new chain segment",
			 a->path);
	}
	return audit_write_locked(a, &rec, t.newline ? NULL : "\n", AUDIT_BEGINS_RUN, msg, msg_len);
}

void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	anchor_stop(a);
	if (a->fd >= 0)
		close(a->fd);
	anchor_free(a);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a->key_ref);
	free(a);
}

int audit_open(const struct agent_config *cfg, struct token *tok, unsigned flags,
	       struct audit **out_audit, char *msg, size_t msg_len)
{
	struct audit *a = NULL;
	int rc;

	if (cfg->audit_file == NULL && !cfg->audit_syslog) {
		if (cfg->audit_key != NULL || cfg->audit_sign_key != NULL)
			return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
					  "%s is set, but neither audit-file nor audit-syslog",
					  cfg->audit_key != NULL ? "audit-key" : "audit-sign-key");
		if (flags & AUDIT_NEW_CHAIN)
			return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
					  "--new-audit-chain: there is no audit trail (no "
					  "audit-file, no audit-syslog)");
		*out_audit = NULL;
		return P11A_OK;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
	a->fd = -1;
	a->tok = tok;
	a->to_syslog = cfg->audit_syslog;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "cannot make a lock");
	}
	if ((cfg->audit_file != NULL && (a->path = strdup(cfg->audit_file)) == NULL) ||
	    (cfg->audit_key != NULL && (a->key_ref = strdup(cfg->audit_key)) == NULL)) {
		rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (a->key_ref != NULL && (rc = check_key(a, msg, msg_len)) != P11A_OK)
		goto out;
	if ((rc = anchor_open(a, cfg, msg, msg_len)) != P11A_OK)
		goto out;
	if (a->path != NULL && (a->fd = open_file(a->path, msg, msg_len)) < 0) {
		rc = P11A_ERR_INTERNAL;
		goto out;
	}
	if ((rc = begin(a, flags, msg, msg_len)) != P11A_OK ||
	    (rc = anchor_started(a, msg, msg_len)) != P11A_OK)
		goto out;
	log_info("audit: %s%s%s, %s chain%s%s, next record %llu", a->path != NULL ? a->path : "",
		 a->path != NULL && a->to_syslog ? " and " : "", a->to_syslog ? "syslog" : "",
		 a->key_ref != NULL ? "keyed (HMAC-SHA256 in the token)" : "unkeyed (SHA-256)",
		 a->anchored ? ", head kept in the token" : "",
		 a->sign_key != NULL ? ", signed checkpoints" : "", (unsigned long long)a->seq + 1);
	*out_audit = a;
	a = NULL;
	rc = P11A_OK;
out:
	audit_close(a);
	return rc;
}

int audit_reopen(struct audit *a)
{
	char msg[400];
	int fd, old;

	if (a == NULL || a->path == NULL)
		return P11A_OK;
	if ((fd = open_file(a->path, msg, sizeof(msg))) < 0) {
		/* Records must not go on into a file that is no longer the trail. */
		pthread_mutex_lock(&a->lock);
		old = a->fd;
		a->fd = -1;
		snprintf(a->broken, sizeof(a->broken), "the audit trail cannot be reopened: %.*s",
			 (int)(sizeof(a->broken) - 64), msg);
		pthread_mutex_unlock(&a->lock);
		if (old >= 0)
			close(old);
		log_error("audit: reopen: %s; audited requests are refused until a SIGHUP reopens "
			  "it",
			  msg);
		return P11A_ERR_INTERNAL;
	}
	pthread_mutex_lock(&a->lock);
	old = a->fd;
	a->fd = fd;
	a->broken[0] = '\0';
	pthread_mutex_unlock(&a->lock);
	if (old >= 0)
		close(old);
	log_info("audit: reopened %s; the chain goes on at record %llu", a->path,
		 (unsigned long long)a->seq + 1);
	return P11A_OK;
}

const struct token_key *audit_key(const struct audit *a)
{
	return a != NULL ? a->key : NULL;
}

int audit_check(struct audit *a, const struct token_key *key, const uint8_t *prev, size_t prev_len,
		const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		int *out_valid, char *msg, size_t msg_len)
{
	uint8_t *in = NULL;
	int valid = 0, rc;

	if (prev_len != AUDITLOG_MAC_LEN || mac_len != AUDITLOG_MAC_LEN)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT, "prev and mac must be %d bytes",
				  AUDITLOG_MAC_LEN);
	if (record_len < sizeof(SEQ_PREFIX) - 1 ||
	    memcmp(record, SEQ_PREFIX, sizeof(SEQ_PREFIX) - 1) != 0)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT, "record: not an audit record");
	if ((in = malloc(AUDITLOG_MAC_LEN + record_len)) == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
	memcpy(in, prev, AUDITLOG_MAC_LEN);
	memcpy(in + AUDITLOG_MAC_LEN, record, record_len);
	rc = token_verify_hmac(a->tok, key, P11A_ALG_HMAC_SHA256, in, AUDITLOG_MAC_LEN + record_len,
			       mac, mac_len, &valid, msg, msg_len);
	free(in);
	if (rc != P11A_OK)
		return rc;
	*out_valid = valid;
	return P11A_OK;
}
