/*
 * test-audit: the agent's audit trail writer (agent/audit.c, unkeyed chain)
 * against the verifier (proto/auditlog.c): records as JSON lines, the chain
 * across a restart and a logrotate-style reopen, and the first edited,
 * removed, swapped or damaged record found.
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
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../agent/audit.h"
#include "../agent/conf.h"
#include "../agent/log.h"
#include "auditlog.h"

/* A trail file in its own temporary folder. */
struct fixture {
	char dir[64];
	char path[128];
	char rotated[128];
};

/* A file's lines, for the verifier. */
struct lines {
	char *data;
	size_t len;
	struct auditlog_line l[64];
	size_t n;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s", "/tmp/test-audit.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/audit.log", fx->dir);
	snprintf(fx->rotated, sizeof(fx->rotated), "%s/audit.log.1", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	unlink(fx->rotated);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct audit *open_trail(const char *path)
{
	struct agent_config cfg;
	struct audit *a = NULL;
	char msg[512] = "";

	config_init(&cfg);
	cfg.audit_file = strdup(path);
	assert_non_null(cfg.audit_file);
	if (audit_open(&cfg, NULL, 0, &a, msg, sizeof(msg)) != P11A_OK)
		fail_msg("audit_open: %s", msg);
	config_clear(&cfg);
	assert_non_null(a);
	return a;
}

/* Writes one sign record; ref is what the client sent. */
static void write_sign(struct audit *a, const char *ref, int status)
{
	struct caller peer;
	struct audit_record rec;

	memset(&peer, 0, sizeof(peer));
	peer.uid = 1001;
	peer.gid = 1002;
	peer.pid = 4242;
	snprintf(peer.exe, sizeof(peer.exe), "%s", "/usr/bin/p11agent");
	memset(&rec, 0, sizeof(rec));
	rec.peer = &peer;
	rec.op = "sign";
	rec.key_ref = ref;
	rec.alg = "ecdsa-sha256";
	rec.input_len = 32;
	rec.has_input_hash = 1;
	memset(rec.input_sha256, 0xab, sizeof(rec.input_sha256));
	rec.status = status;
	rec.latency_us = 123;
	assert_int_equal(audit_write(a, &rec), P11A_OK);
}

static void read_lines(const char *path, struct lines *ls)
{
	FILE *f = fopen(path, "rb");
	long size;

	memset(ls, 0, sizeof(*ls));
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	ls->data = malloc((size_t)size + 1);
	assert_non_null(ls->data);
	assert_int_equal(fread(ls->data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	ls->len = (size_t)size;
	for (char *p = ls->data, *end = ls->data + ls->len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		assert_non_null(nl);
		assert_true(ls->n < 64);
		ls->l[ls->n].p = p;
		ls->l[ls->n].len = (size_t)(nl - p);
		ls->l[ls->n].file = path;
		ls->l[ls->n].line_no = ls->n + 1;
		ls->n++;
		p = nl + 1;
	}
}

/* Verifies online with no check function (unkeyed trails); frees the last result. */
static void verify(const struct auditlog_line *l, size_t n, struct auditlog_result *res)
{
	struct auditlog_opts opts;

	memset(&opts, 0, sizeof(opts));
	auditlog_result_free(res);
	assert_int_equal(auditlog_verify(l, n, &opts, res), P11A_OK);
}

/*
 * Makes a trail in fx->path of the start record and n requests, the first
 * one denied (record 2, line 2), and reads it back.
 */
static void make_trail(struct fixture *fx, size_t n, struct lines *ls)
{
	struct audit *a = open_trail(fx->path);

	for (size_t i = 0; i < n; i++)
		write_sign(a, "build-signer", i == 0 ? P11A_ERR_DENIED : P11A_OK);
	audit_close(a);
	read_lines(fx->path, ls);
	assert_int_equal(ls->n, n + 1);
}

static void test_records(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;
	struct auditlog_rec rec;
	struct stat st;
	struct audit *a = open_trail(fx->path);

	write_sign(a, "weird \"ref\"\n\x01\xc3\xa9", P11A_OK);
	write_sign(a, "build-signer", P11A_ERR_DENIED);
	audit_close(a);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_lines(fx->path, &ls);
	assert_int_equal(ls.n, 3);
	/* Every start first names the previous head: none here. */
	assert_true(strncmp(ls.l[0].p, "{\"seq\":1,\"time\":\"", 17) == 0);
	assert_non_null(strstr(ls.l[0].p, "\"op\":\"audit-start\""));
	assert_non_null(strstr(
	    ls.l[0].p, "\"detail\":{\"prev_seq\":0,\"prev_mac\":"
		       "\"0000000000000000000000000000000000000000000000000000000000000000\"},"
		       "\"chain\":\"sha256\",\"prev\":"
		       "\"0000000000000000000000000000000000000000000000000000000000000000\""));
	/* Fixed order, every string escaped, ASCII only. */
	assert_true(strncmp(ls.l[1].p, "{\"seq\":2,\"time\":\"", 17) == 0);
	assert_non_null(strstr(
	    ls.l[1].p, "\"uid\":1001,\"gid\":1002,\"pid\":4242,"
		       "\"exe\":\"/usr/bin/p11agent\",\"op\":\"sign\","
		       "\"key\":null,\"key_uri\":null,\"key_version\":null,"
		       "\"key_ref\":\"weird \\\"ref\\\"\\u000a\\u0001\\u00c3\\u00a9\","
		       "\"alg\":\"ecdsa-sha256\",\"input_len\":32,\"input_sha256\":"
		       "\"abababababababababababababababababababababababababababababababab\","
		       "\"status\":\"OK\",\"latency_us\":123,\"detail\":null,\"chain\":\"sha256\","
		       "\"prev\":\""));
	assert_non_null(strstr(ls.l[2].p, "\"status\":\"DENIED\""));
	for (size_t i = 0; i < ls.len; i++)
		assert_true(ls.data[i] == '\n' || (ls.data[i] >= 0x20 && ls.data[i] < 0x7f));
	/* The time: RFC 3339, UTC, microseconds. */
	assert_int_equal(ls.l[0].p[17 + 26], 'Z');
	assert_int_equal(ls.l[0].p[17 + 19], '.');
	assert_int_equal(auditlog_parse(ls.l[2].p, ls.l[2].len, &rec), 0);
	assert_int_equal(rec.seq, 3);
	assert_int_equal(rec.keyed, 0);
	verify(ls.l, ls.n, &res);
	assert_true(res.intact);
	assert_int_equal(res.n_records, 3);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 3);
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_edited(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;
	char *p;

	make_trail(fx, 4, &ls);
	/* DENIED -> OK in record 2, as a careless editor would. */
	p = strstr((char *)ls.l[1].p, "\"DENIED\"");
	assert_non_null(p);
	memcpy(p, "\"OK\"    ", 8);
	verify(ls.l, ls.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].seq, 2);
	assert_int_equal(res.problems[0].line, 2);
	assert_true(strncmp(res.problems[0].what, "changed", 7) == 0);
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_removed(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;

	make_trail(fx, 5, &ls);
	/* Record 3 goes. */
	memmove(&ls.l[2], &ls.l[3], 3 * sizeof(ls.l[0]));
	ls.n--;
	for (size_t i = 2; i < ls.n; i++)
		ls.l[i].line_no = i + 1;
	verify(ls.l, ls.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].seq, 3);
	assert_int_equal(res.problems[0].line, 3);
	assert_true(strncmp(res.problems[0].what, "removed", 7) == 0);
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_swapped(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;
	struct auditlog_line t;

	make_trail(fx, 5, &ls);
	t = ls.l[1];
	ls.l[1] = ls.l[2];
	ls.l[2] = t;
	ls.l[1].line_no = 2;
	ls.l[2].line_no = 3;
	verify(ls.l, ls.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].seq, 2);
	assert_int_equal(res.problems[0].line, 2);
	assert_true(strncmp(res.problems[0].what, "reordered", 9) == 0);
	auditlog_result_free(&res);
	free(ls.data);
}

/* A MAC replaced by one recomputed over an edited record shows at the next record. */
static void test_recomputed(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct auditlog_rec rec;
	struct lines ls;
	uint8_t mac[AUDITLOG_MAC_LEN];
	char hex[2 * AUDITLOG_MAC_LEN + 1], *p;

	make_trail(fx, 3, &ls);
	p = strstr((char *)ls.l[1].p, "\"DENIED\"");
	memcpy(p, "\"OK\"    ", 8);
	assert_int_equal(auditlog_parse(ls.l[1].p, ls.l[1].len, &rec), 0);
	auditlog_sha256(rec.prev, ls.l[1].p, rec.body_len, mac);
	auditlog_hex(mac, sizeof(mac), hex);
	memcpy((char *)ls.l[1].p + rec.body_len + 8, hex, 2 * AUDITLOG_MAC_LEN);
	verify(ls.l, ls.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].seq, 2);
	assert_true(strncmp(res.problems[0].what, "changed", 7) == 0);
	/* ... unless every later record is recomputed too: unkeyed is only evident. */
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_restart_continues(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;
	struct audit *a;

	struct auditlog_rec last;
	char hex[2 * AUDITLOG_MAC_LEN + 1], want[160];

	make_trail(fx, 2, &ls);
	assert_int_equal(auditlog_parse(ls.l[2].p, ls.l[2].len, &last), 0);
	free(ls.data);
	a = open_trail(fx->path); /* the agent starts again */
	write_sign(a, "k", P11A_OK);
	audit_close(a);
	read_lines(fx->path, &ls);
	assert_int_equal(ls.n, 5);
	/* The start record names the file's last record before it. */
	assert_true(strncmp(ls.l[3].p, "{\"seq\":4,", 9) == 0);
	auditlog_hex(last.mac, sizeof(last.mac), hex);
	snprintf(want, sizeof(want), "\"op\":\"audit-start\"");
	assert_non_null(strstr(ls.l[3].p, want));
	snprintf(want, sizeof(want), "\"detail\":{\"prev_seq\":3,\"prev_mac\":\"%s\"}", hex);
	assert_non_null(strstr(ls.l[3].p, want));
	assert_true(strncmp(ls.l[4].p, "{\"seq\":5,", 9) == 0);
	verify(ls.l, ls.n, &res);
	assert_true(res.intact);
	assert_int_equal(res.last_seq, 5);
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_reopen_rotated(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines old, cur;
	struct auditlog_line all[64];
	struct auditlog_opts partial = {.partial = 1};
	struct audit *a = open_trail(fx->path);

	write_sign(a, "k", P11A_OK);
	write_sign(a, "k", P11A_OK);
	/* logrotate: the file is moved away, then SIGHUP. */
	assert_int_equal(rename(fx->path, fx->rotated), 0);
	assert_int_equal(audit_reopen(a), P11A_OK);
	write_sign(a, "k", P11A_OK);
	write_sign(a, "k", P11A_OK);
	audit_close(a);
	read_lines(fx->rotated, &old);
	read_lines(fx->path, &cur);
	assert_int_equal(old.n, 3);
	assert_int_equal(cur.n, 2);
	assert_true(strncmp(cur.l[0].p, "{\"seq\":4,", 9) == 0);
	/* Both files as one chain. */
	memcpy(all, old.l, old.n * sizeof(all[0]));
	memcpy(all + old.n, cur.l, cur.n * sizeof(all[0]));
	verify(all, old.n + cur.n, &res);
	assert_true(res.intact);
	assert_int_equal(res.n_records, 5);
	/* The new file alone: the records before it are missing ... */
	verify(cur.l, cur.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.n_problems, 1);
	assert_int_equal(res.problems[0].kind, AUDITLOG_REMOVED);
	assert_int_equal(res.problems[0].seq, 1);
	assert_string_equal(res.problems[0].what,
			    "removed: the trail starts at record 4; give the earlier files first, "
			    "or --partial if they were rotated away");
	/* ... unless they were rotated away: intact, continuing an earlier one. */
	auditlog_result_free(&res);
	assert_int_equal(auditlog_verify(cur.l, cur.n, &partial, &res), P11A_OK);
	assert_true(res.intact);
	assert_int_equal(res.first_seq, 4);
	/* In the wrong order: record 1 where 4 should be, reported once. */
	memcpy(all, cur.l, cur.n * sizeof(all[0]));
	memcpy(all + cur.n, old.l, old.n * sizeof(all[0]));
	auditlog_result_free(&res);
	assert_int_equal(auditlog_verify(all, old.n + cur.n, &partial, &res), P11A_OK);
	assert_false(res.intact);
	assert_int_equal(res.n_failures, 1);
	assert_string_equal(res.problems[0].what,
			    "reordered: line 1 holds record 1, which belongs before record 5");
	auditlog_result_free(&res);
	free(old.data);
	free(cur.data);
}

static void test_damaged_tail(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct lines ls;
	struct audit *a;
	FILE *f;

	make_trail(fx, 2, &ls);
	free(ls.data);
	/* A crash in the middle of a write. */
	f = fopen(fx->path, "ab");
	assert_non_null(f);
	fputs("{\"seq\":3,\"time\":\"20", f);
	fclose(f);
	a = open_trail(fx->path);
	write_sign(a, "k", P11A_OK);
	audit_close(a);
	read_lines(fx->path, &ls);
	assert_int_equal(ls.n, 6);
	/* A new segment, saying so, then the chain goes on in it. */
	assert_true(strncmp(ls.l[4].p, "{\"seq\":1,", 9) == 0);
	assert_non_null(strstr(ls.l[4].p, "\"op\":\"audit-restart\""));
	assert_non_null(strstr(ls.l[4].p, "\"detail\":{\"prev_seq\":3,"));
	assert_true(strncmp(ls.l[5].p, "{\"seq\":2,", 9) == 0);
	verify(ls.l, ls.n, &res);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].line, 4);
	assert_int_equal(res.problems[0].seq, 4);
	assert_true(strncmp(res.problems[0].what, "damaged", 7) == 0);
	/* The segment itself verifies. */
	verify(ls.l + 4, 2, &res);
	assert_true(res.intact);
	auditlog_result_free(&res);
	free(ls.data);
}

static void test_keyed_needs_check(void **state)
{
	struct fixture *fx = *state;
	struct auditlog_result res = {0};
	struct auditlog_opts opts = {.require_keyed = 1};
	struct lines ls;

	make_trail(fx, 2, &ls);
	/* An unkeyed chain where a keyed one is required. */
	assert_int_equal(auditlog_verify(ls.l, ls.n, &opts, &res), P11A_OK);
	assert_false(res.intact);
	assert_int_equal(res.problems[0].seq, 1);
	auditlog_result_free(&res);
	free(ls.data);
}

/* Opens the trail as audit_open() would; its error message goes to msg. */
static int try_open(const char *path, char *msg, size_t msg_len)
{
	struct agent_config cfg;
	struct audit *a = NULL;
	int rc;

	config_init(&cfg);
	cfg.audit_file = strdup(path);
	assert_non_null(cfg.audit_file);
	rc = audit_open(&cfg, NULL, 0, &a, msg, msg_len);
	config_clear(&cfg);
	audit_close(a);
	return rc;
}

/* A symbolic link at the trail's path, another's file, a writable one: refused. */
static void test_untrusted_file(void **state)
{
	struct fixture *fx = *state;
	char msg[512] = "", target[160];
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/target", fx->dir);
	fd = open(target, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(target, fx->path), 0);
	assert_int_not_equal(try_open(fx->path, msg, sizeof(msg)), P11A_OK);
	assert_non_null(strstr(msg, "symbolic link"));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(fx->path);

	fd = open(fx->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(fx->path, 0620), 0);
	assert_int_not_equal(try_open(fx->path, msg, sizeof(msg)), P11A_OK);
	assert_non_null(strstr(msg, "chmod go-w"));
	assert_int_equal(chmod(fx->path, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(fx->path, 54401, 54401), 0);
		assert_int_not_equal(try_open(fx->path, msg, sizeof(msg)), P11A_OK);
		assert_non_null(strstr(msg, "owned by uid 54401"));
	}
	unlink(fx->path);
	unlink(target);
}

/*
 * A trail that cannot be reopened at its path, or whose file was removed,
 * takes no records (the requests are refused) until a reopen works.
 */
static void test_gone_file(void **state)
{
	struct fixture *fx = *state;
	struct audit_record rec;
	struct caller peer;
	struct audit *a = open_trail(fx->path);

	memset(&peer, 0, sizeof(peer));
	memset(&rec, 0, sizeof(rec));
	rec.peer = &peer;
	rec.op = "sign";
	write_sign(a, "k", P11A_OK);
	/* Removed: the open file is no longer the trail. */
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(audit_write(a, &rec), P11A_ERR_INTERNAL);
	/* Its folder gone too: the reopen fails, and records still do. */
	assert_int_equal(rmdir(fx->dir), 0);
	assert_int_equal(audit_reopen(a), P11A_ERR_INTERNAL);
	assert_int_equal(audit_write(a, &rec), P11A_ERR_INTERNAL);
	/* Back: the next reopen works, and so do records. */
	assert_int_equal(mkdir(fx->dir, 0700), 0);
	assert_int_equal(audit_reopen(a), P11A_OK);
	write_sign(a, "k", P11A_OK);
	audit_close(a);
}

static void test_parse(void **state)
{
	static const char good[] =
	    "{\"seq\":7,\"op\":\"x\",\"chain\":\"hmac-sha256\",\"prev\":"
	    "\"0101010101010101010101010101010101010101010101010101010101010101\",\"mac\":"
	    "\"0202020202020202020202020202020202020202020202020202020202020202\"}";
	struct auditlog_rec rec;
	char buf[sizeof(good)];

	(void)state;
	assert_int_equal(auditlog_parse(good, strlen(good), &rec), 0);
	assert_int_equal(rec.seq, 7);
	assert_int_equal(rec.keyed, 1);
	assert_int_equal(rec.prev[0], 1);
	assert_int_equal(rec.mac[31], 2);
	assert_int_equal(rec.body_len, strlen(good) - 74);
	/* Every truncation fails. */
	for (size_t n = 0; n < strlen(good); n++)
		assert_int_equal(auditlog_parse(good, n, &rec), -1);
	/* Upper-case hex, a leading zero, seq 0, an unknown chain. */
	memcpy(buf, good, sizeof(good));
	buf[strlen(good) - 3] = 'A';
	assert_int_equal(auditlog_parse(buf, strlen(buf), &rec), -1);
	assert_int_equal(
	    auditlog_parse("{\"seq\":07,\"chain\":\"sha256\",\"prev\":\"00\"}", 40, &rec), -1);
	memcpy(buf, good, sizeof(good));
	buf[7] = '0';
	assert_int_equal(auditlog_parse(buf, strlen(buf), &rec), -1);
	memcpy(buf, good, sizeof(good));
	memcpy(strstr(buf, "hmac-sha256"), "hmac-sha257", 11);
	assert_int_equal(auditlog_parse(buf, strlen(buf), &rec), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swapped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recomputed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_continues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_rotated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keyed_needs_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_untrusted_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gone_file, setup, teardown),
	    cmocka_unit_test(test_parse),
	};

	log_set_level(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
