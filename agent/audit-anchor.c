/*
 * audit-anchor: what holds the audit trail outside its file.
 *
 * The head: with audit-key and audit-file, the seq and MAC of the last
 * record written are kept in the token, in the data object
 * "p11agent-audit-head" (CKA_VALUE: seq, u64 big-endian, then the 32-byte
 * MAC). It is stored when the run's first record is written, then by this
 * module's thread once a second while records are written, and at a clean
 * stop; requests never wait for it. At start, the file's end must hold the
 * head's record: a file cut short, replaced or removed stops the agent.
 *
 * Checkpoints: with audit-sign-key, every audit-checkpoint-interval seconds
 * (when records were written since the last one) and at a clean stop, the
 * agent writes an "audit-checkpoint" record whose detail holds a signature,
 * made in the token, over
 *     "p11agent audit checkpoint v1 seq=S from=A to=B sha256=HEX\n"
 * S: the checkpoint's own seq; A..B: the records it covers, from the
 * previous checkpoint of this run (or the run's first record) to the one
 * before it; HEX: the SHA-256 of their lines, each with its newline. The
 * public key alone then checks the trail, trusting no agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "audit-impl.h"
#include "log.h"

#define HEAD_LABEL "p11agent-audit-head"
/* How often the thread wakes: the head is at most this late in the token. */
#define TICK_MS 1000u
#define CHECKPOINT_DEFAULT_S 60u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Finds audit-sign-key and checks that it can sign checkpoints. */
static int check_sign_key(struct audit *a, char *msg, size_t msg_len)
{
	static const uint8_t probe[64] = "p11agent audit-sign-key probe";
	const struct token_key *key;
	const struct p11a_alg_info *ai;
	char why[512];
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (a->tok == NULL)
		return audit_fail(msg, msg_len, P11A_ERR_TOKEN_UNAVAILABLE,
				  "audit-sign-key: the token is not available");
	if (token_find_key(a->tok, a->sign_ref, &key, why, sizeof(why)) != P11A_OK)
		return audit_fail(msg, msg_len, P11A_ERR_NO_SUCH_KEY, "audit-sign-key '%s': %s",
				  a->sign_ref, why);
	if ((key->type != P11A_KEY_EC && key->type != P11A_KEY_ED25519) ||
	    !(key->ops & P11A_OP_SIGN))
		return audit_fail(msg, msg_len, P11A_ERR_NOT_SUPPORTED,
				  "audit-sign-key '%s' must be an EC (P-256, P-384, P-521) or "
				  "Ed25519 private key that allows signing (it is %s%s)",
				  a->sign_ref, p11a_key_type_name(key->type),
				  key->ops & P11A_OP_SIGN ? "" : " without CKA_SIGN");
	if (key == a->key)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-sign-key and audit-key must be two keys");
	a->sign_alg = token_key_default_alg(key);
	ai = p11a_alg_by_id(a->sign_alg);
	rc = token_sign(a->tok, key, a->sign_alg, 0, probe,
			ai != NULL && ai->digest_len > 0 ? ai->digest_len : sizeof(probe), &sig,
			&sig_len, why, sizeof(why));
	free(sig);
	if (rc != P11A_OK)
		return audit_fail(msg, msg_len, rc, "audit-sign-key '%s': %s fails: %s",
				  a->sign_ref, ai != NULL ? ai->name : "signing", why);
	a->sign_key = key;
	return P11A_OK;
}

int anchor_open(struct audit *a, const struct agent_config *cfg, char *msg, size_t msg_len)
{
	pthread_condattr_t attr;
	int rc;

	a->anchored = a->key != NULL && a->path != NULL;
	if (cfg->audit_sign_key != NULL) {
		if (a->path == NULL)
			return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
					  "audit-sign-key needs an audit-file: the checkpoints "
					  "sign what the file holds");
		if ((a->sign_ref = strdup(cfg->audit_sign_key)) == NULL)
			return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
		if ((rc = check_sign_key(a, msg, msg_len)) != P11A_OK)
			return rc;
		a->cp_interval = cfg->audit_checkpoint_interval > 0 ? cfg->audit_checkpoint_interval
								    : CHECKPOINT_DEFAULT_S;
		if ((a->cp_hash = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(a->cp_hash, EVP_sha256(), NULL) != 1)
			return audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
					  "cannot start a SHA-256 hash");
	}
	if (pthread_condattr_init(&attr) != 0)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "cannot make a condition");
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	     pthread_cond_init(&a->cond, &attr) == 0;
	pthread_condattr_destroy(&attr);
	if (!rc)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "cannot make a condition");
	a->have_cond = 1;
	return P11A_OK;
}

void anchor_free(struct audit *a)
{
	if (a->have_cond)
		pthread_cond_destroy(&a->cond);
	EVP_MD_CTX_free(a->cp_hash);
	free(a->sign_ref);
}

int anchor_line(struct audit *a, const char *line, size_t len, int begins)
{
	if (a->cp_hash == NULL)
		return 0;
	if (begins) {
		if (EVP_DigestInit_ex(a->cp_hash, EVP_sha256(), NULL) != 1)
			return -1;
		a->cp_from = a->seq;
		a->cp_len = 0;
		/* The run's first record waits for a checkpoint; a checkpoint does not. */
		a->cp_pending = begins == AUDIT_BEGINS_RUN;
	} else {
		a->cp_pending++;
	}
	if (EVP_DigestUpdate(a->cp_hash, line, len) != 1)
		return -1;
	a->cp_len += len;
	return 0;
}

/* "{"from_seq":A,"to_seq":B,"sig":"HEX"}", malloc'd. */
static char *checkpoint_detail(uint64_t from, uint64_t to, const uint8_t *sig, size_t sig_len)
{
	char *hex, *out = NULL;

	if ((hex = malloc(2 * sig_len + 1)) == NULL)
		return NULL;
	auditlog_hex(sig, sig_len, hex);
	if (asprintf(&out, "{\"from_seq\":%llu,\"to_seq\":%llu,\"sig\":\"%s\"}",
		     (unsigned long long)from, (unsigned long long)to, hex) < 0)
		out = NULL;
	free(hex);
	return out;
}

/*
 * Signs the lines since the last checkpoint and writes the checkpoint
 * record (a->lock held); nothing when no record waits for one.
 */
static int checkpoint_locked(struct audit *a, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *ai = p11a_alg_by_id(a->sign_alg);
	const EVP_MD *md = NULL;
	EVP_MD_CTX *copy = NULL;
	struct audit_record rec;
	struct caller self;
	uint8_t digest[32], mdigest[EVP_MAX_MD_SIZE], *sig = NULL;
	const uint8_t *tbs;
	char hex[65], text[256], *detail = NULL;
	unsigned int mlen = 0;
	size_t sig_len = 0, tbs_len;
	int n, rc = P11A_ERR_INTERNAL;

	if (a->sign_key == NULL || a->cp_from == 0 || a->cp_pending == 0)
		return P11A_OK;
	if ((copy = EVP_MD_CTX_new()) == NULL || EVP_MD_CTX_copy_ex(copy, a->cp_hash) != 1 ||
	    EVP_DigestFinal_ex(copy, digest, NULL) != 1) {
		audit_fail(msg, msg_len, rc, "cannot hash the records to sign");
		goto out;
	}
	auditlog_hex(digest, sizeof(digest), hex);
	n = snprintf(text, sizeof(text),
		     "p11agent audit checkpoint v1 seq=%llu from=%llu to=%llu sha256=%s\n",
		     (unsigned long long)a->seq + 1, (unsigned long long)a->cp_from,
		     (unsigned long long)a->seq, hex);
	tbs = (const uint8_t *)text;
	tbs_len = (size_t)n;
	if (a->sign_alg != P11A_ALG_ED25519) {
		/* ECDSA signs the message's digest, with the curve's hash. */
		if (ai == NULL || (md = EVP_get_digestbyname(ai->hash)) == NULL ||
		    EVP_Digest(text, (size_t)n, mdigest, &mlen, md, NULL) != 1) {
			audit_fail(msg, msg_len, rc, "cannot hash the checkpoint to sign");
			goto out;
		}
		tbs = mdigest;
		tbs_len = mlen;
	}
	if ((rc = token_sign(a->tok, a->sign_key, a->sign_alg, 0, tbs, tbs_len, &sig, &sig_len, msg,
			     msg_len)) != P11A_OK)
		goto out;
	if ((detail = checkpoint_detail(a->cp_from, a->seq, sig, sig_len)) == NULL) {
		rc = audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "out of memory");
		goto out;
	}
	audit_self_peer(&self);
	memset(&rec, 0, sizeof(rec));
	rec.peer = &self;
	rec.op = "audit-checkpoint";
	rec.key = a->sign_key;
	rec.alg = ai != NULL ? ai->name : NULL;
	rec.input_len = a->cp_len;
	rec.has_input_hash = 1;
	memcpy(rec.input_sha256, digest, sizeof(digest));
	rec.status = P11A_OK;
	rec.detail = detail;
	rc = audit_write_locked(a, &rec, NULL, AUDIT_BEGINS_CHECKPOINT, msg, msg_len);
out:
	EVP_MD_CTX_free(copy);
	free(sig);
	free(detail);
	return rc;
}

/* Stores seq and mac as the token's head. */
static int store_head(struct audit *a, uint64_t seq, const uint8_t mac[AUDITLOG_MAC_LEN], char *msg,
		      size_t msg_len)
{
	uint8_t v[AUDIT_HEAD_LEN];

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(v + 8, mac, AUDITLOG_MAC_LEN);
	return token_data_put(a->tok, HEAD_LABEL, v, sizeof(v), msg, msg_len);
}

/* The head in the token, when it lags the chain: stored, with a->lock not held. */
static void sync_head(struct audit *a, int *failing)
{
	uint8_t mac[AUDITLOG_MAC_LEN];
	uint64_t seq;
	char msg[512];
	int behind;

	pthread_mutex_lock(&a->lock);
	behind = a->anchored && (!a->head_known || a->head_seq != a->seq ||
				 memcmp(a->head_mac, a->prev, sizeof(mac)) != 0);
	seq = a->seq;
	memcpy(mac, a->prev, sizeof(mac));
	pthread_mutex_unlock(&a->lock);
	if (!behind)
		return;
	if (store_head(a, seq, mac, msg, sizeof(msg)) != P11A_OK) {
		if (!*failing)
			log_error("audit: cannot keep the chain's head in the token: %s; trying "
				  "again every second",
				  msg);
		*failing = 1;
		return;
	}
	if (*failing)
		log_info("audit: the chain's head is kept in the token again (record %llu)",
			 (unsigned long long)seq);
	*failing = 0;
	pthread_mutex_lock(&a->lock);
	a->head_seq = seq;
	memcpy(a->head_mac, mac, sizeof(mac));
	a->head_known = 1;
	pthread_mutex_unlock(&a->lock);
}

/* Writes the checkpoint when it is due (a->lock held). */
static void checkpoint_due(struct audit *a, uint64_t now)
{
	char msg[1024];

	if (a->sign_key == NULL || now < a->cp_due_ms)
		return;
	a->cp_due_ms = now + (uint64_t)a->cp_interval * 1000u;
	if (checkpoint_locked(a, msg, sizeof(msg)) != P11A_OK)
		log_error("audit: checkpoint not written: %s", msg);
}

/* Once a second: the head into the token, and checkpoints when due. */
static void *anchor_main(void *arg)
{
	struct audit *a = arg;
	struct timespec until;
	uint64_t t;
	int failing = 0;

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		t = now_ms() + TICK_MS;
		until.tv_sec = (time_t)(t / 1000u);
		until.tv_nsec = (long)(t % 1000u) * 1000000L;
		while (!a->stopping &&
		       pthread_cond_timedwait(&a->cond, &a->lock, &until) != ETIMEDOUT)
			;
		if (a->stopping)
			break;
		checkpoint_due(a, now_ms());
		pthread_mutex_unlock(&a->lock);
		sync_head(a, &failing);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int anchor_started(struct audit *a, char *msg, size_t msg_len)
{
	sigset_t all, old;
	char why[512];
	int rc;

	if (a->anchored) {
		if ((rc = store_head(a, a->seq, a->prev, why, sizeof(why))) != P11A_OK)
			return audit_fail(msg, msg_len, rc,
					  "cannot keep the audit chain's head in the token: %s",
					  why);
		a->head_seq = a->seq;
		memcpy(a->head_mac, a->prev, sizeof(a->head_mac));
		a->head_known = 1;
	}
	if (!a->anchored && a->sign_key == NULL)
		return P11A_OK;
	a->cp_due_ms = now_ms() + (uint64_t)a->cp_interval * 1000u;
	/* Signals are for the threads that serve. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, anchor_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL,
				  "cannot start the audit trail's thread: %s", strerror(rc));
	a->have_thread = 1;
	return P11A_OK;
}

void anchor_stop(struct audit *a)
{
	char msg[1024];
	int failing = 1;

	if (!a->have_thread)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->have_thread = 0;
	pthread_mutex_lock(&a->lock);
	if (checkpoint_locked(a, msg, sizeof(msg)) != P11A_OK)
		log_error("audit: the last checkpoint is not written: %s", msg);
	pthread_mutex_unlock(&a->lock);
	sync_head(a, &failing);
}

int anchor_check(struct audit *a, const struct audit_tail *t, int *out_have_head, uint64_t *out_seq,
		 uint8_t out_mac[AUDITLOG_MAC_LEN], char *msg, size_t msg_len)
{
	static const char again[] = "to start a new chain anyway: p11agentd --new-audit-chain";
	uint8_t v[AUDIT_HEAD_LEN];
	struct audit_tail found;
	const struct auditlog_rec *rec = NULL;
	uint64_t h = 0, l;
	size_t len = 0;
	char why[512];
	int have = 0, rc;

	if ((rc = token_data_get(a->tok, HEAD_LABEL, v, sizeof(v), &len, &have, why,
				 sizeof(why))) != P11A_OK)
		return audit_fail(msg, msg_len, rc,
				  "cannot read the audit chain's head from the token: %s", why);
	if (!have)
		return P11A_OK; /* the first keyed start on this token */
	if (len != sizeof(v))
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "the token's audit head (object '%s') holds %zu bytes, not %zu; "
				  "%s",
				  HEAD_LABEL, len, sizeof(v), again);
	for (int i = 0; i < 8; i++)
		h = h << 8 | v[i];
	*out_have_head = 1;
	*out_seq = h;
	memcpy(out_mac, v + 8, AUDITLOG_MAC_LEN);
	if (!t->have_last)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-file %s holds no record, but the token's head is record "
				  "%llu: records 1..%llu are missing (removed or replaced?); %s",
				  a->path, (unsigned long long)h, (unsigned long long)h, again);
	l = t->last.seq;
	if (l < h)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-file %s ends at record %llu but the token's head is "
				  "record %llu: records %llu..%llu are missing (cut short?); %s",
				  a->path, (unsigned long long)l, (unsigned long long)h,
				  (unsigned long long)l + 1, (unsigned long long)h, again);
	if (l == h) {
		rec = &t->last;
	} else {
		if ((rc = audit_find_seq(a, h, &found, why, sizeof(why))) != P11A_OK)
			return audit_fail(msg, msg_len, rc, "%s", why);
		if (found.found) {
			rec = &found.found_rec;
		} else if (found.all_after) {
			log_info("audit: the token's head, record %llu, is in an earlier file than "
				 "%s (rotated)",
				 (unsigned long long)h, a->path);
			return P11A_OK;
		} else {
			return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
					  "audit-file %s does not hold record %llu, the token's "
					  "head (removed?); %s",
					  a->path, (unsigned long long)h, again);
		}
	}
	if (memcmp(rec->mac, out_mac, AUDITLOG_MAC_LEN) != 0)
		return audit_fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				  "audit-file %s: record %llu is not the token's head (another "
				  "MAC: replaced?); %s",
				  a->path, (unsigned long long)h, again);
	return P11A_OK;
}

int audit_head(struct audit *a, uint64_t *out_seq, uint8_t out_mac[32], char *msg, size_t msg_len)
{
	uint8_t v[AUDIT_HEAD_LEN];
	uint64_t h = 0;
	size_t len = 0;
	int have = 0, rc;

	if (a == NULL || !a->anchored)
		return audit_fail(msg, msg_len, P11A_ERR_NOT_SUPPORTED,
				  "this agent keeps no audit head in the token (it needs "
				  "audit-key and audit-file)");
	if ((rc = token_data_get(a->tok, HEAD_LABEL, v, sizeof(v), &len, &have, msg, msg_len)) !=
	    P11A_OK)
		return rc;
	if (!have || len != sizeof(v))
		return audit_fail(msg, msg_len, P11A_ERR_TOKEN,
				  "the token holds no audit head (object '%s')", HEAD_LABEL);
	for (int i = 0; i < 8; i++)
		h = h << 8 | v[i];
	*out_seq = h;
	memcpy(out_mac, v + 8, AUDITLOG_MAC_LEN);
	return P11A_OK;
}

const struct token_key *audit_sign_key(const struct audit *a)
{
	return a != NULL ? a->sign_key : NULL;
}
