/*
 * test-auditverify: the trail check (proto/auditverify.c, proto/auditcp.c)
 * on trails built here: records of an unkeyed SHA-256 chain and checkpoints
 * signed with EC P-256 and Ed25519 keys made here. Offline (with the public
 * key), an intact trail passes; an edited, removed or damaged record, a
 * forged checkpoint, a wrong key and a trail without checkpoints fail and
 * are named; records after the last checkpoint are unconfirmed warnings;
 * and every problem is reported, not only the first.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auditlog.h"
#include "p11agent.h"

#define MAX_LINES 64
#define LINE_MAX_LEN 1024

/* A trail being built: its lines, and the chain's state. */
struct trail {
	char text[MAX_LINES][LINE_MAX_LEN];
	struct auditlog_line l[MAX_LINES];
	size_t n;
	uint64_t seq;	  /* of the last record */
	uint64_t last_cp; /* seq of the last checkpoint, 0 before the first */
};

/* Keys made once for all tests. */
static EVP_PKEY *ec_key, *ec_other, *ed_key;

static int group_setup(void **state)
{
	(void)state;
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return ec_key != NULL && ec_other != NULL && ed_key != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec_other);
	EVP_PKEY_free(ed_key);
	return 0;
}

/* Recomputes the prev and MAC of line i from line i - 1 (what anyone can do unkeyed). */
static void rechain(struct trail *t, size_t i)
{
	struct auditlog_rec rec, before;
	uint8_t prev[AUDITLOG_MAC_LEN] = {0}, mac[AUDITLOG_MAC_LEN];
	char *line = t->text[i];

	assert_int_equal(auditlog_parse(line, strlen(line), &rec), 0);
	if (i > 0 && rec.seq > 1) {
		assert_int_equal(auditlog_parse(t->text[i - 1], strlen(t->text[i - 1]), &before),
				 0);
		memcpy(prev, before.mac, sizeof(prev));
	}
	auditlog_hex(prev, sizeof(prev), line + rec.body_len - 2 * AUDITLOG_MAC_LEN - 1);
	line[rec.body_len - 1] = '"'; /* auditlog_hex's NUL */
	auditlog_sha256(prev, line, rec.body_len, mac);
	auditlog_hex(mac, sizeof(mac), line + rec.body_len + 8);
	line[rec.body_len + 8 + 2 * AUDITLOG_MAC_LEN] = '"';
}

/* Rechains every line from i on. */
static void rechain_from(struct trail *t, size_t i)
{
	for (; i < t->n; i++)
		rechain(t, i);
}

/* Appends a record; its prev and MAC follow the line before. */
static void add(struct trail *t, const char *op, const char *alg, uint64_t input_len,
		const char *sha256_hex, const char *status, const char *detail)
{
	char *line = t->text[t->n];
	int n;

	assert_true(t->n < MAX_LINES);
	n = snprintf(line, LINE_MAX_LEN,
		     "{\"seq\":%zu,\"time\":\"2026-12-05T07:00:00.000000Z\",\"uid\":1000,"
		     "\"gid\":1000,\"pid\":42,\"exe\":\"/usr/bin/p11agent\",\"op\":\"%s\","
		     "\"key\":\"release\",\"key_uri\":null,\"key_ref\":\"release\",\"alg\":\"%s\","
		     "\"input_len\":%llu,\"input_sha256\":\"%s\",\"status\":\"%s\","
		     "\"latency_us\":7,\"detail\":%s,\"chain\":\"sha256\",\"prev\":\"%064d\","
		     "\"mac\":\"%064d\"}",
		     (size_t)++t->seq, op, alg, (unsigned long long)input_len, sha256_hex, status,
		     detail, 0, 0);
	assert_true(n > 0 && n < LINE_MAX_LEN);
	t->n++;
	rechain(t, t->n - 1);
}

static void add_request(struct trail *t, const char *status)
{
	add(t, "sign", "ecdsa-sha256", 32,
	    "abababababababababababababababababababababababababababababababab", status, "null");
}

/* Appends a checkpoint over the records since the last one, signed with key. */
static void add_checkpoint(struct trail *t, EVP_PKEY *key, const char *alg, const char *md)
{
	struct auditlog_checkpoint cp;
	char msg[AUDITLOG_CHECKPOINT_MSG_MAX], hex[2 * AUDITLOG_MAC_LEN + 1];
	char sig_hex[2 * AUDITLOG_MAX_SIG + 1], detail[700];
	uint8_t sig[AUDITLOG_MAX_SIG];
	size_t sig_len = sizeof(sig), msg_len;
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_MD_CTX *sha = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_non_null(sha);
	memset(&cp, 0, sizeof(cp));
	cp.seq = t->seq + 1;
	cp.from_seq = t->last_cp + 1;
	cp.to_seq = t->seq;
	assert_int_equal(EVP_DigestInit_ex(sha, EVP_sha256(), NULL), 1);
	for (uint64_t s = cp.from_seq; s <= cp.to_seq; s++) {
		assert_int_equal(EVP_DigestUpdate(sha, t->text[s - 1], strlen(t->text[s - 1])), 1);
		assert_int_equal(EVP_DigestUpdate(sha, "\n", 1), 1);
		cp.input_len += strlen(t->text[s - 1]) + 1;
	}
	assert_int_equal(EVP_DigestFinal_ex(sha, cp.sha256, &dlen), 1);
	msg_len = auditlog_checkpoint_message(&cp, msg);
	assert_int_equal(msg_len, strlen(msg));
	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, msg_len),
			 1);
	auditlog_hex(sig, sig_len, sig_hex);
	auditlog_hex(cp.sha256, sizeof(cp.sha256), hex);
	snprintf(detail, sizeof(detail), "{\"from_seq\":%llu,\"to_seq\":%llu,\"sig\":\"%s\"}",
		 (unsigned long long)cp.from_seq, (unsigned long long)cp.to_seq, sig_hex);
	add(t, AUDITLOG_OP_CHECKPOINT, alg, cp.input_len, hex, "OK", detail);
	t->last_cp = cp.seq;
	EVP_MD_CTX_free(ctx);
	EVP_MD_CTX_free(sha);
}

/*
 * The usual trail: records 1..5, checkpoint 6 (over 1..5), records 7..9,
 * checkpoint 10 (over 7..9), then tail more records.
 */
static void make(struct trail *t, EVP_PKEY *key, const char *alg, const char *md, int tail)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 5; i++)
		add_request(t, i == 2 ? "DENIED" : "OK");
	add_checkpoint(t, key, alg, md);
	for (int i = 0; i < 3; i++)
		add_request(t, "OK");
	add_checkpoint(t, key, alg, md);
	for (int i = 0; i < tail; i++)
		add_request(t, "OK");
}

/* The lines of t, for the verifier. */
static void lines_of(struct trail *t)
{
	for (size_t i = 0; i < t->n; i++) {
		t->l[i].p = t->text[i];
		t->l[i].len = strlen(t->text[i]);
		t->l[i].file = "audit.log";
		t->l[i].line_no = i + 1;
	}
}

/* Removes line i, as 'sed Nd' would. */
static void remove_line(struct trail *t, size_t i)
{
	memmove(t->text[i], t->text[i + 1], (t->n - i - 1) * sizeof(t->text[0]));
	t->n--;
}

/* Replaces the first from in line i by to, of the same length. */
static void edit(struct trail *t, size_t i, const char *from, const char *to)
{
	char *p = strstr(t->text[i], from);

	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

static void verify(struct trail *t, EVP_PKEY *pubkey, struct auditlog_result *res)
{
	struct auditlog_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.pubkey = pubkey;
	lines_of(t);
	auditlog_result_free(res);
	assert_int_equal(auditlog_verify(t->l, t->n, &opts, res), P11A_OK);
}

/* The stored problem of kind on record seq, or NULL. */
static const struct auditlog_problem *find(const struct auditlog_result *res,
					   enum auditlog_kind kind, uint64_t seq)
{
	for (size_t i = 0; i < res->n_problems; i++)
		if (res->problems[i].kind == kind && res->problems[i].seq == seq)
			return &res->problems[i];
	return NULL;
}

/* Prints the problems, to see why a test failed. */
static void show(const struct auditlog_result *res)
{
	for (size_t i = 0; i < res->n_problems; i++)
		print_message("  record %llu (line %zu): %s\n",
			      (unsigned long long)res->problems[i].seq, res->problems[i].line,
			      res->problems[i].what);
}

static void test_intact_ec(void **state)
{
	struct auditlog_result res = {0};
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 0);
	verify(t, ec_key, &res);
	show(&res);
	assert_true(res.intact);
	assert_int_equal(res.n_records, 10);
	assert_int_equal(res.n_checkpoint_records, 2);
	assert_int_equal(res.n_checkpoints, 2);
	assert_int_equal(res.n_confirmed, 10);
	assert_int_equal(res.n_failures + res.n_warnings, 0);
	assert_int_equal(res.n_segments, 1);
	assert_int_equal(res.segments[0].last_seq, 10);
	auditlog_result_free(&res);
	free(t);
}

static void test_intact_ed25519(void **state)
{
	struct auditlog_result res = {0};
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ed_key, "ed25519", NULL, 0);
	verify(t, ed_key, &res);
	show(&res);
	assert_true(res.intact);
	assert_int_equal(res.n_checkpoints, 2);
	assert_int_equal(res.n_confirmed, 10);
	/* An EC key does not fit Ed25519 checkpoints. */
	verify(t, ec_key, &res);
	assert_false(res.intact);
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 6));
	assert_non_null(strstr(find(&res, AUDITLOG_CHECKPOINT, 6)->what,
			       "alg ed25519 does not fit the public key (an EC key)"));
	auditlog_result_free(&res);
	free(t);
}

/* An edited record inside a checkpoint's span: its MAC, and the checkpoint, fail. */
static void test_edited(void **state)
{
	struct auditlog_result res = {0};
	const struct auditlog_problem *p;
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 0);
	edit(t, 2, "\"DENIED\"", "\"OK\"    ");
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	p = find(&res, AUDITLOG_CHANGED, 3);
	assert_non_null(p);
	assert_int_equal(p->line, 3);
	assert_string_equal(p->what, "changed: its MAC does not match its content");
	p = find(&res, AUDITLOG_CHECKPOINT, 6);
	assert_non_null(p);
	assert_string_equal(p->what, "checkpoint: records 1 to 5 (lines 1 to 5) do not match the "
				     "SHA-256 it signs: a record in them was changed");
	assert_int_equal(res.n_failures, 2);
	/* With every MAC recomputed (the SHA-256 chain cannot tell), the checkpoints still do. */
	rechain_from(t, 2);
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	assert_null(find(&res, AUDITLOG_CHANGED, 3));
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 6));
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 10)); /* its records' MACs changed */
	assert_int_equal(res.n_failures, 2);
	assert_int_equal(res.n_checkpoints, 0);
	auditlog_result_free(&res);
	free(t);
}

static void test_removed(void **state)
{
	struct auditlog_result res = {0};
	const struct auditlog_problem *p;
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 0);
	remove_line(t, 3); /* record 4 */
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	p = find(&res, AUDITLOG_REMOVED, 4);
	assert_non_null(p);
	assert_int_equal(p->line, 4);
	assert_string_equal(p->what, "removed: line 4 holds record 5");
	p = find(&res, AUDITLOG_CHECKPOINT, 6);
	assert_non_null(p);
	assert_non_null(strstr(p->what, "record 4 of its span (records 1 to 5) is not"));
	/* Records 1..5 and 6 are unconfirmed now; 7..10 are. */
	assert_int_equal(res.n_confirmed, 4);
	auditlog_result_free(&res);
	free(t);
}

/* A damaged line at record 3 does not hide an edit at record 9. */
static void test_two_problems(void **state)
{
	struct auditlog_result res = {0};
	struct auditlog_opts online;
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 12; i++)
		add_request(t, "OK");
	snprintf(t->text[2], LINE_MAX_LEN, "%s", "{\"seq\":3,\"time\":\"2026-12");
	edit(t, 8, "\"uid\":1000", "\"uid\":1001");
	/* Online (the unkeyed chain is checked here): exactly these two. */
	lines_of(t);
	memset(&online, 0, sizeof(online));
	assert_int_equal(auditlog_verify(t->l, t->n, &online, &res), P11A_OK);
	show(&res);
	assert_false(res.intact);
	assert_int_equal(res.n_failures, 2);
	assert_int_equal(res.n_problems, 2);
	assert_int_equal(res.problems[0].kind, AUDITLOG_DAMAGED);
	assert_int_equal(res.problems[0].seq, 3);
	assert_int_equal(res.problems[0].line, 3);
	assert_string_equal(res.problems[0].what, "damaged: the line is not an audit record");
	assert_int_equal(res.problems[1].kind, AUDITLOG_CHANGED);
	assert_int_equal(res.problems[1].seq, 9);
	assert_int_equal(res.problems[1].line, 9);
	assert_int_equal(res.n_records, 11);
	assert_int_equal(res.last_seq, 12);
	/* Offline, with checkpoints, both are named too. */
	memset(t, 0, sizeof(*t));
	make(t, ec_key, "ecdsa-sha256", "SHA256", 2);
	snprintf(t->text[2], LINE_MAX_LEN, "%s", "{\"seq\":3,\"time\":\"2026-12");
	edit(t, 8, "\"uid\":1000", "\"uid\":1001");
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	assert_non_null(find(&res, AUDITLOG_DAMAGED, 3));
	assert_non_null(find(&res, AUDITLOG_CHANGED, 9));
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 6));
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 10));
	auditlog_result_free(&res);
	free(t);
}

static void test_unconfirmed(void **state)
{
	struct auditlog_result res = {0};
	const struct auditlog_problem *p;
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 2);
	verify(t, ec_key, &res);
	show(&res);
	assert_true(res.intact); /* a warning, not a failure */
	assert_int_equal(res.n_failures, 0);
	assert_int_equal(res.n_warnings, 1);
	assert_int_equal(res.n_confirmed, 10);
	p = find(&res, AUDITLOG_UNCONFIRMED, 11);
	assert_non_null(p);
	assert_true(p->warning);
	assert_int_equal(p->line, 11);
	assert_string_equal(p->what, "unconfirmed: records 11 to 12 after the last checkpoint are "
				     "unconfirmed: no checkpoint signature covers them yet");
	/* What the head comparison needs: the last record of the segment. */
	assert_int_equal(res.n_segments, 1);
	assert_int_equal(res.segments[0].last_seq, 12);
	assert_int_equal(res.segments[0].last_idx, 11);
	assert_int_equal(
	    auditlog_parse(t->text[11], strlen(t->text[11]), &(struct auditlog_rec){0}), 0);
	/* Cut after the first checkpoint: records 7..9 are unconfirmed, 10 is gone. */
	t->n = 9;
	verify(t, ec_key, &res);
	assert_true(res.intact);
	assert_non_null(find(&res, AUDITLOG_UNCONFIRMED, 7));
	auditlog_result_free(&res);
	free(t);
}

/* A checkpoint signature changed, and the chain after it recomputed. */
static void test_forged_signature(void **state)
{
	struct auditlog_result res = {0};
	const struct auditlog_problem *p;
	struct trail *t = malloc(sizeof(*t));
	char *sig;

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 0);
	sig = strstr(t->text[5], "\"sig\":\"");
	assert_non_null(sig);
	sig += 7 + 20;
	*sig = *sig == '0' ? '1' : '0';
	rechain_from(t, 5);
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	/* The signature, and the span of checkpoint 10, whose records' MACs were recomputed. */
	assert_int_equal(res.n_failures, 2);
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 10));
	p = find(&res, AUDITLOG_CHECKPOINT, 6);
	assert_non_null(p);
	assert_int_equal(p->line, 6);
	assert_non_null(strstr(p->what, "its signature does not verify with the public key"));
	/* Records 1..6 are left unconfirmed. */
	assert_non_null(find(&res, AUDITLOG_UNCONFIRMED, 1));
	auditlog_result_free(&res);
	free(t);
}

static void test_wrong_key(void **state)
{
	struct auditlog_result res = {0};
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	make(t, ec_key, "ecdsa-sha256", "SHA256", 0);
	verify(t, ec_other, &res);
	show(&res);
	assert_false(res.intact);
	assert_int_equal(res.n_checkpoints, 0);
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 6));
	assert_non_null(find(&res, AUDITLOG_CHECKPOINT, 10));
	assert_int_equal(res.n_confirmed, 0);
	/* An Ed25519 key does not fit ECDSA checkpoints. */
	verify(t, ed_key, &res);
	assert_false(res.intact);
	assert_non_null(strstr(find(&res, AUDITLOG_CHECKPOINT, 6)->what,
			       "alg ecdsa-sha256 does not fit the public key (an Ed25519 key)"));
	auditlog_result_free(&res);
	free(t);
}

static void test_no_checkpoint(void **state)
{
	struct auditlog_result res = {0};
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 4; i++)
		add_request(t, "OK");
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	assert_int_equal(res.n_failures, 1);
	assert_int_equal(res.problems[0].kind, AUDITLOG_CHECKPOINT);
	assert_null(res.problems[0].file);
	assert_string_equal(res.problems[0].what,
			    "no checkpoint: nothing can be confirmed offline");
	assert_int_equal(res.n_confirmed, 0);
	/* Online, the same trail is intact. */
	verify(t, NULL, &res);
	assert_true(res.intact);
	auditlog_result_free(&res);
	free(t);
}

/* A checkpoint whose span is not right before it, or reaches back past the last one. */
static void test_bad_span(void **state)
{
	struct auditlog_result res = {0};
	struct trail *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 3; i++)
		add_request(t, "OK");
	add_checkpoint(t, ec_key, "ecdsa-sha256", "SHA256"); /* 4 over 1..3 */
	add_request(t, "OK");
	t->last_cp = 1; /* 6 over 2..5: before checkpoint 4 */
	add_checkpoint(t, ec_key, "ecdsa-sha256", "SHA256");
	verify(t, ec_key, &res);
	show(&res);
	assert_false(res.intact);
	assert_int_equal(res.n_failures, 1);
	assert_non_null(strstr(find(&res, AUDITLOG_CHECKPOINT, 6)->what,
			       "its span starts at record 2, before the previous checkpoint"));
	auditlog_result_free(&res);
	free(t);
}

/* A new chain the agent starts names the record before it; a cut shows. */
static void test_new_chain(void **state)
{
	struct auditlog_result res = {0};
	struct auditlog_opts opts = {0};
	struct auditlog_rec last;
	struct trail *t = malloc(sizeof(*t));
	char detail[256], hex[2 * AUDITLOG_MAC_LEN + 1];

	(void)state;
	assert_non_null(t);
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < 4; i++)
		add_request(t, "OK");
	assert_int_equal(auditlog_parse(t->text[3], strlen(t->text[3]), &last), 0);
	auditlog_hex(last.mac, sizeof(last.mac), hex);
	snprintf(detail, sizeof(detail), "{\"prev_seq\":4,\"prev_mac\":\"%s\"}", hex);
	t->seq = 0;
	add(t, "audit-new-chain", "none", 0, "", "OK", detail);
	add_request(t, "OK");
	verify(t, NULL, &res);
	show(&res);
	assert_true(res.intact);
	assert_int_equal(res.n_segments, 2);
	assert_int_equal(res.segments[0].last_seq, 4);
	assert_int_equal(res.segments[1].first_seq, 1);
	assert_int_equal(res.segments[1].first_idx, 4);
	assert_int_equal(res.segments[1].last_seq, 2);
	/* The new chain's file alone: the earlier chain is not given. */
	auditlog_result_free(&res);
	assert_int_equal(auditlog_verify(t->l + 4, 2, &opts, &res), P11A_OK);
	assert_false(res.intact);
	assert_string_equal(res.problems[0].what,
			    "removed: the trail starts with a new chain after record 4 of an "
			    "earlier one; give the earlier files first, or --partial if they were "
			    "rotated away");
	opts.partial = 1;
	auditlog_result_free(&res);
	assert_int_equal(auditlog_verify(t->l + 4, 2, &opts, &res), P11A_OK);
	assert_true(res.intact);
	/* Record 4 cut: the new chain names it. */
	remove_line(t, 3);
	verify(t, NULL, &res);
	show(&res);
	assert_false(res.intact);
	assert_int_equal(res.n_failures, 1);
	assert_int_equal(res.problems[0].seq, 4);
	assert_string_equal(res.problems[0].what,
			    "removed: record 4 is missing: the new chain on line 4 follows it");
	auditlog_result_free(&res);
	free(t);
}

/* Field lookup is not fooled by a field's text inside a string. */
static void test_field(void **state)
{
	static const char line[] =
	    "{\"seq\":1,\"exe\":\"x\\\",\\\"op\\\":\\\"audit-checkpoint\",\"op\":\"sign\","
	    "\"n\":[1,{\"a\":2}],\"detail\":{\"from_seq\":3,\"sig\":\"ab\"},\"z\":null}";
	struct auditlog_val v, d;
	uint64_t u;

	(void)state;
	assert_int_equal(auditlog_field(line, strlen(line), "op", &v), 0);
	assert_int_equal(v.type, AUDITLOG_V_STRING);
	assert_int_equal(v.len, 4);
	assert_memory_equal(v.p, "sign", 4);
	assert_false(auditlog_is_checkpoint(line, strlen(line)));
	assert_int_equal(auditlog_field(line, strlen(line), "detail", &d), 0);
	assert_int_equal(d.type, AUDITLOG_V_OBJECT);
	assert_int_equal(auditlog_field(d.p, d.len, "from_seq", &v), 0);
	assert_int_equal(auditlog_u64(v.p, v.len, &u), 0);
	assert_int_equal(u, 3);
	assert_int_equal(auditlog_field(line, strlen(line), "z", &v), 0);
	assert_int_equal(v.type, AUDITLOG_V_NULL);
	assert_int_equal(auditlog_field(line, strlen(line), "from_seq", &v), -1);
	/* Every truncation fails or finds less, never reads past the end. */
	for (size_t n = 0; n < strlen(line); n++)
		(void)auditlog_field(line, n, "z", &v);
	assert_int_equal(auditlog_u64("007", 3, &u), -1);
	assert_int_equal(auditlog_u64("18446744073709551616", 20, &u), -1);
	assert_int_equal(auditlog_u64("18446744073709551615", 20, &u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_intact_ec),	     cmocka_unit_test(test_intact_ed25519),
	    cmocka_unit_test(test_edited),	     cmocka_unit_test(test_removed),
	    cmocka_unit_test(test_two_problems),     cmocka_unit_test(test_unconfirmed),
	    cmocka_unit_test(test_forged_signature), cmocka_unit_test(test_wrong_key),
	    cmocka_unit_test(test_no_checkpoint),    cmocka_unit_test(test_bad_span),
	    cmocka_unit_test(test_new_chain),	     cmocka_unit_test(test_field),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
