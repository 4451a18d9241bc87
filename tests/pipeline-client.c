/*
 * pipeline-client: libp11agent's submitted requests (p11a_submit_sign,
 * p11a_submit_ping, p11a_collect), for tests/test-pipeline.sh. Prints
 * "PASS name" / "FAIL name: why" lines.
 *
 * Against p11agentd:
 *   pipeline-client sign SOCKET KEY ALG N DEPTH
 *       submits N signatures of N different messages on one connection,
 *       keeping up to DEPTH in flight, and collects them all: every id comes
 *       back exactly once, every signature verifies with OpenSSL against the
 *       key's public key (HMAC: equals a blocking p11a_sign() of the same
 *       message, made once all are collected), each made by version 1.
 *   pipeline-client bound SOCKET KEY ALG
 *       P11A_MAX_INFLIGHT submitted, one more refused, all collected, then
 *       one more accepted.
 *   pipeline-client mix SOCKET KEY ALG
 *       blocking calls refused while requests are in flight, and served once
 *       they are collected; a collect with none in flight, a submit without
 *       an algorithm, and a request the agent refuses.
 * Against tests/pipeline-fake.py (its MODE of the same name):
 *   pipeline-client reverse SOCKET N
 *       N requests (signatures of prehashed digests, one for the key
 *       "missing", one ping) answered last first: each result is its own
 *       request's.
 *   pipeline-client unknown|twice|refuse|silent|closed SOCKET
 *       a reply for an id not in flight, a reply twice, the agent dropping
 *       the connection with BUSY, and no reply at all (run it with
 *       P11AGENT_TIMEOUT=1): each is an error of the connection, which is
 *       closed, never a result; and (closed) a submit after the agent
 *       closed the connection, which fails with IO and says so.
 * Exit: 0 every check passed, 1 one failed, 2 usage.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "sigcheck.h"

#define MSG_LEN 100
#define MAX_N 1024

static int failed;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
}

__attribute__((format(printf, 2, 3))) static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed = 1;
}

/* check(name, cond, why...): PASS name when cond, else FAIL with why. */
#define check(name, cond, ...)                                                                     \
	do {                                                                                       \
		if (cond)                                                                          \
			pass(name);                                                                \
		else                                                                               \
			fail(name, __VA_ARGS__);                                                   \
	} while (0)

/* Message i: MSG_LEN bytes that differ per i. */
static void make_msg(size_t i, uint8_t *m)
{
	for (size_t j = 0; j < MSG_LEN; j++)
		m[j] = (uint8_t)(i * 31 + j * 7 + 1);
}

static struct p11a_conn *connect_to(const char *sock)
{
	struct p11a_conn *conn = NULL;
	int r;

	if ((r = p11a_connect(sock, &conn)) != P11A_OK) {
		fail("connect", "%s: %s", p11a_errname(r), p11a_connect_message());
		return NULL;
	}
	return conn;
}

/* The key's public key, or NULL (a FAIL line said why). */
static EVP_PKEY *public_key(struct p11a_conn *conn, const char *key)
{
	uint8_t *der = NULL;
	const uint8_t *p;
	size_t der_len = 0;
	EVP_PKEY *pub = NULL;
	int r;

	if ((r = p11a_pubkey(conn, key, &der, &der_len)) != P11A_OK) {
		fail("public key", "%s: %s", p11a_errname(r), p11a_conn_message(conn));
		return NULL;
	}
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)der_len)) == NULL)
		fail("public key", "the agent's public key does not parse");
	p11a_free(der, der_len);
	return pub;
}

/* The index of id in ids[0..n), or n. */
static size_t find_id(const uint32_t *ids, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n && ids[i] != id; i++)
		;
	return i;
}

static int do_sign(const char *sock, const char *key, const struct p11a_alg_info *ai, size_t n,
		   size_t depth)
{
	static uint32_t ids[MAX_N];
	static uint8_t *sigs[MAX_N], msgs[MAX_N][MSG_LEN];
	static size_t sig_lens[MAX_N];
	struct p11a_conn *conn;
	EVP_PKEY *pub = NULL;
	size_t submitted = 0, collected = 0, most = 0, twice = 0, stray = 0, bad = 0, i;
	size_t wrong_version = 0, differ = 0;
	uint8_t *sig, *one = NULL;
	size_t sig_len, one_len = 0;
	uint32_t id;
	int r, status;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	if (ai->key_type != P11A_KEY_HMAC && (pub = public_key(conn, key)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		make_msg(i, msgs[i]);
	while (collected < n) {
		while (submitted < n && p11a_inflight(conn) < depth) {
			r = p11a_submit_sign(conn, key, ai->alg, 0, msgs[submitted], MSG_LEN,
					     &ids[submitted]);
			if (r != P11A_OK) {
				fail("submit", "request %zu: %s: %s", submitted + 1,
				     p11a_errname(r), p11a_conn_message(conn));
				goto out;
			}
			if (find_id(ids, submitted, ids[submitted]) != submitted)
				twice++;
			submitted++;
		}
		if (p11a_inflight(conn) > most)
			most = p11a_inflight(conn);
		if ((r = p11a_collect(conn, &id, &status, &sig, &sig_len)) != P11A_OK) {
			fail("collect", "after %zu of %zu: %s: %s", collected, n, p11a_errname(r),
			     p11a_conn_message(conn));
			goto out;
		}
		collected++;
		if ((i = find_id(ids, submitted, id)) == submitted) {
			stray++;
		} else if (sigs[i] != NULL) {
			twice++;
		} else if (status != P11A_OK) {
			fail("collect", "request %zu: %s: %s", i + 1, p11a_errname(status),
			     p11a_conn_message(conn));
			goto out;
		} else {
			sigs[i] = sig;
			sig_lens[i] = sig_len;
			sig = NULL;
			if (pub != NULL &&
			    !sigcheck_verify(pub, ai, msgs[i], MSG_LEN, sigs[i], sig_lens[i]))
				bad++;
			if (p11a_last_result(conn)->version != 1)
				wrong_version++;
		}
		p11a_free(sig, sig_len);
	}
	check("submitted with the most in flight", most == depth || (n < depth && most == n),
	      "at most %zu in flight, expected %zu", most, depth);
	check("nothing in flight after the last collect", p11a_inflight(conn) == 0, "%zu left",
	      p11a_inflight(conn));
	check("ids distinct, each collected exactly once", twice == 0 && stray == 0,
	      "%zu ids twice, %zu replies for ids never submitted", twice, stray);
	if (pub != NULL)
		check("every signature verifies with OpenSSL", bad == 0, "%zu of %zu do not", bad,
		      n);
	check("every result made by version 1", wrong_version == 0, "%zu were not", wrong_version);
	if (ai->key_type == P11A_KEY_HMAC) {
		for (i = 0; i < n; i++) {
			if ((r = p11a_sign(conn, key, ai->alg, 0, msgs[i], MSG_LEN, &one,
					   &one_len)) != P11A_OK) {
				fail("blocking sign after collecting", "%s: %s", p11a_errname(r),
				     p11a_conn_message(conn));
				goto out;
			}
			differ += one_len != sig_lens[i] || memcmp(one, sigs[i], one_len) != 0;
			p11a_free(one, one_len);
		}
		check("every MAC equals a blocking p11a_sign of its message", differ == 0,
		      "%zu of %zu differ", differ, n);
	}
	printf("%zu signatures collected\n", collected);
out:
	for (i = 0; i < n; i++)
		p11a_free(sigs[i], sig_lens[i]);
	EVP_PKEY_free(pub);
	p11a_close(conn);
	return failed;
}

/* Collects n replies, each OK; returns how many were not. */
static size_t collect_ok(struct p11a_conn *conn, size_t n)
{
	size_t i, bad = 0;
	uint8_t *out;
	size_t out_len;
	uint32_t id;
	int r, status;

	for (i = 0; i < n; i++) {
		r = p11a_collect(conn, &id, &status, &out, &out_len);
		if (r != P11A_OK)
			return bad + n - i;
		bad += status != P11A_OK;
		p11a_free(out, out_len);
	}
	return bad;
}

static int do_bound(const char *sock, const char *key, const struct p11a_alg_info *ai)
{
	struct p11a_conn *conn;
	uint8_t msg[MSG_LEN];
	size_t i;
	uint32_t id;
	int r = P11A_OK;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	make_msg(0, msg);
	for (i = 0; i < P11A_MAX_INFLIGHT && r == P11A_OK; i++)
		r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	check("bound: P11A_MAX_INFLIGHT submitted", r == P11A_OK && p11a_inflight(conn) == 64,
	      "%s after %zu: %s", p11a_errname(r), i, p11a_conn_message(conn));
	r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	check("bound: one more sign refused with INVALID_ARG", r == P11A_ERR_INVALID_ARG, "got %s",
	      p11a_errname(r));
	check("bound: its message says so",
	      strstr(p11a_conn_message(conn), "64 requests are in flight") != NULL &&
		  strstr(p11a_conn_message(conn), "p11a_collect") != NULL,
	      "message '%s'", p11a_conn_message(conn));
	r = p11a_submit_ping(conn, &id);
	check("bound: one more ping refused", r == P11A_ERR_INVALID_ARG, "got %s", p11a_errname(r));
	check("bound: still 64 in flight", p11a_inflight(conn) == 64, "%zu", p11a_inflight(conn));
	check("bound: all 64 collected, each a signature", collect_ok(conn, 64) == 0,
	      "a collect failed: %s", p11a_conn_message(conn));
	r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	check("bound: a submit after collecting is accepted",
	      r == P11A_OK && collect_ok(conn, 1) == 0, "%s: %s", p11a_errname(r),
	      p11a_conn_message(conn));
	p11a_close(conn);
	return failed;
}

static int do_mix(const char *sock, const char *key, const struct p11a_alg_info *ai)
{
	struct p11a_conn *conn;
	struct p11a_key_info *keys = NULL;
	uint8_t msg[MSG_LEN], *out = NULL;
	size_t out_len = 0, n_keys = 0;
	uint32_t id, id_bad = 0;
	int r, status;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	make_msg(0, msg);
	r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	if (r == P11A_OK)
		r = p11a_submit_ping(conn, &id);
	if (r == P11A_OK)
		r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	check("mix: three submitted", r == P11A_OK, "%s: %s", p11a_errname(r),
	      p11a_conn_message(conn));
	r = p11a_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &out, &out_len);
	check("mix: p11a_sign refused while requests are in flight", r == P11A_ERR_INVALID_ARG,
	      "got %s", p11a_errname(r));
	check("mix: its message says to collect first",
	      strstr(p11a_conn_message(conn), "3 submitted requests are in flight") != NULL &&
		  strstr(p11a_conn_message(conn), "p11a_collect") != NULL,
	      "message '%s'", p11a_conn_message(conn));
	p11a_free(out, out_len);
	out = NULL;
	check("mix: p11a_ping refused", p11a_ping(conn) == P11A_ERR_INVALID_ARG, "not refused");
	check("mix: p11a_list refused",
	      p11a_list(conn, &keys, &n_keys) == P11A_ERR_INVALID_ARG && keys == NULL,
	      "not refused");
	check("mix: the three still in flight", p11a_inflight(conn) == 3, "%zu",
	      p11a_inflight(conn));
	check("mix: the three collected", collect_ok(conn, 3) == 0, "%s", p11a_conn_message(conn));
	r = p11a_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &out, &out_len);
	check("mix: p11a_sign served once all are collected", r == P11A_OK && out_len > 0, "%s: %s",
	      p11a_errname(r), p11a_conn_message(conn));
	p11a_free(out, out_len);
	out = NULL;
	r = p11a_collect(conn, &id, &status, &out, &out_len);
	check("mix: a collect with nothing in flight is INVALID_ARG",
	      r == P11A_ERR_INVALID_ARG && strstr(p11a_conn_message(conn), "nothing") != NULL,
	      "%s: '%s'", p11a_errname(r), p11a_conn_message(conn));
	r = p11a_submit_sign(conn, key, P11A_ALG_NONE, 0, msg, MSG_LEN, &id);
	check("mix: a submit without an algorithm is INVALID_ARG",
	      r == P11A_ERR_INVALID_ARG && p11a_inflight(conn) == 0, "%s", p11a_errname(r));
	r = p11a_submit_sign(conn, "no-such-key", ai->alg, 0, msg, MSG_LEN, &id_bad);
	if (r == P11A_OK)
		r = p11a_submit_sign(conn, key, ai->alg, 0, msg, MSG_LEN, &id);
	check("mix: a sign with a key the agent lacks is submitted", r == P11A_OK, "%s: %s",
	      p11a_errname(r), p11a_conn_message(conn));
	for (int k = 0; k < 2 && r == P11A_OK; k++) {
		if ((r = p11a_collect(conn, &id, &status, &out, &out_len)) != P11A_OK)
			break;
		if (id == id_bad)
			check("mix: its result is NO_SUCH_KEY with the agent's message",
			      status == P11A_ERR_NO_SUCH_KEY && out == NULL &&
				  strstr(p11a_conn_message(conn), "no-such-key") != NULL,
			      "%s: '%s'", p11a_errname(status), p11a_conn_message(conn));
		else
			check("mix: the other request's result is a signature",
			      status == P11A_OK && out_len > 0, "%s", p11a_errname(status));
		p11a_free(out, out_len);
		out = NULL;
	}
	check("mix: both collected, the connection serves on", r == P11A_OK && p11a_ping(conn) == 0,
	      "%s: %s", p11a_errname(r), p11a_conn_message(conn));
	p11a_close(conn);
	return failed;
}

/* The request the fake answers with NO_SUCH_KEY, and the ping, among N. */
#define FAKE_MISSING 2
#define FAKE_PING 4

static int do_reverse(const char *sock, size_t n)
{
	static uint32_t ids[MAX_N];
	uint8_t digests[MAX_N][32], *out = NULL;
	struct p11a_conn *conn;
	size_t i, next = n, wrong = 0, order = 0, out_len = 0;
	uint32_t id;
	int r = P11A_OK, status;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	for (i = 0; i < n && r == P11A_OK; i++) {
		memset(digests[i], (int)(i + 1), sizeof(digests[i]));
		if (i == FAKE_PING)
			r = p11a_submit_ping(conn, &ids[i]);
		else
			r = p11a_submit_sign(conn, i == FAKE_MISSING ? "missing" : "k",
					     P11A_ALG_ECDSA_SHA256, P11A_SIGN_PREHASHED, digests[i],
					     sizeof(digests[i]), &ids[i]);
	}
	check("reverse: all submitted", r == P11A_OK, "%s: %s", p11a_errname(r),
	      p11a_conn_message(conn));
	for (i = 0; i < n && r == P11A_OK; i++) {
		if ((r = p11a_collect(conn, &id, &status, &out, &out_len)) != P11A_OK)
			break;
		size_t k = find_id(ids, n, id);

		/* The fake answers last first. */
		order += k != --next;
		if (k == n)
			wrong++;
		else if (k == FAKE_PING)
			wrong += status != P11A_OK || out != NULL || out_len != 0;
		else if (k == FAKE_MISSING)
			wrong += status != P11A_ERR_NO_SUCH_KEY ||
				 strstr(p11a_conn_message(conn), "missing") == NULL || out != NULL;
		else
			wrong += status != P11A_OK || out_len != 4 + sizeof(digests[k]) ||
				 memcmp(out, "SIG:", 4) != 0 ||
				 memcmp(out + 4, digests[k], sizeof(digests[k])) != 0 ||
				 p11a_last_result(conn)->version != 7;
		p11a_free(out, out_len);
		out = NULL;
	}
	check("reverse: every reply collected", r == P11A_OK && p11a_inflight(conn) == 0, "%s: %s",
	      p11a_errname(r), p11a_conn_message(conn));
	check("reverse: collected in the order the agent answered, last first", order == 0,
	      "%zu out of place", order);
	check("reverse: each result is its own request's (signature, error, ping)", wrong == 0,
	      "%zu wrong", wrong);
	p11a_close(conn);
	return failed;
}

/* A connection error from a collect: no result, nothing in flight, the connection closed. */
static void check_broken(const char *mode, struct p11a_conn *conn, int r, int want,
			 const char *message)
{
	char name[128];

	snprintf(name, sizeof(name), "%s: collect fails with %s", mode, p11a_errname(want));
	check(name, r == want, "got %s: %s", p11a_errname(r), p11a_conn_message(conn));
	snprintf(name, sizeof(name), "%s: the message says '%s'", mode, message);
	check(name, strstr(p11a_conn_message(conn), message) != NULL, "message '%s'",
	      p11a_conn_message(conn));
	snprintf(name, sizeof(name), "%s: nothing in flight after it", mode);
	check(name, p11a_inflight(conn) == 0, "%zu", p11a_inflight(conn));
	snprintf(name, sizeof(name), "%s: the connection is closed", mode);
	check(name, p11a_ping(conn) == P11A_ERR_IO, "a ping did not fail with IO");
}

static int do_fake(const char *sock, const char *mode)
{
	static const uint8_t digest[32] = {1};
	struct p11a_conn *conn;
	uint8_t *out = NULL;
	size_t out_len = 0;
	uint32_t id, id1 = 0, id2 = 0;
	struct timespec t0, t1;
	int r, status;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	r = p11a_submit_sign(conn, "k", P11A_ALG_ECDSA_SHA256, P11A_SIGN_PREHASHED, digest,
			     sizeof(digest), &id1);
	if (r == P11A_OK)
		r = p11a_submit_sign(conn, "k", P11A_ALG_ECDSA_SHA256, P11A_SIGN_PREHASHED, digest,
				     sizeof(digest), &id2);
	if (r != P11A_OK) {
		fail("submit", "%s: %s", p11a_errname(r), p11a_conn_message(conn));
		p11a_close(conn);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(mode, "twice") == 0) {
		r = p11a_collect(conn, &id, &status, &out, &out_len);
		check("twice: the first reply is collected",
		      r == P11A_OK && id == id1 && status == P11A_OK, "%s: %s", p11a_errname(r),
		      p11a_conn_message(conn));
		p11a_free(out, out_len);
		out = NULL;
	}
	r = p11a_collect(conn, &id, &status, &out, &out_len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (out != NULL)
		fail(mode, "a collect that failed handed over a result");
	if (strcmp(mode, "unknown") == 0 || strcmp(mode, "twice") == 0)
		check_broken(mode, conn, r, P11A_ERR_PROTOCOL, "which is not in flight");
	else if (strcmp(mode, "refuse") == 0)
		check_broken(mode, conn, r, P11A_ERR_BUSY, "too many requests for this uid");
	else {
		check_broken(mode, conn, r, P11A_ERR_IO, "did not answer within 1 s");
		check("silent: the wait ended within 5 s", t1.tv_sec - t0.tv_sec < 5, "%ld s",
		      (long)(t1.tv_sec - t0.tv_sec));
	}
	p11a_close(conn);
	return failed;
}

/* The agent closed the connection before a submit: it fails with IO and says so. */
static int do_closed(const char *sock)
{
	static const uint8_t digest[32] = {1};
	char marker[4200];
	struct p11a_conn *conn;
	uint32_t id = 0;
	int r, i;

	if ((conn = connect_to(sock)) == NULL)
		return 1;
	snprintf(marker, sizeof(marker), "%s.closed", sock);
	for (i = 0; i < 1000 && access(marker, F_OK) != 0; i++)
		usleep(10000);
	check("closed: the fake closed the connection", i < 1000, "no %s after 10 s", marker);
	r = p11a_submit_sign(conn, "k", P11A_ALG_ECDSA_SHA256, P11A_SIGN_PREHASHED, digest,
			     sizeof(digest), &id);
	check("closed: submit fails with IO", r == P11A_ERR_IO, "%s", p11a_errname(r));
	check("closed: the message says the agent closed the connection",
	      strstr(p11a_conn_message(conn),
		     "closed the connection before the request was sent") != NULL,
	      "message '%s'", p11a_conn_message(conn));
	check("closed: nothing in flight", p11a_inflight(conn) == 0, "%zu", p11a_inflight(conn));
	p11a_close(conn);
	return failed;
}

static int usage(void)
{
	fprintf(stderr, "usage: pipeline-client sign SOCKET KEY ALG N DEPTH\n"
			"       pipeline-client bound|mix SOCKET KEY ALG\n"
			"       pipeline-client reverse SOCKET N\n"
			"       pipeline-client unknown|twice|refuse|silent|closed SOCKET\n");
	return 2;
}

int main(int argc, char **argv)
{
	const struct p11a_alg_info *ai = NULL;
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long n, depth;

	if (argc >= 5 && (ai = p11a_alg_by_name(argv[4])) == NULL)
		return usage();
	if (strcmp(mode, "sign") == 0 && argc == 7) {
		n = strtoul(argv[5], NULL, 10);
		depth = strtoul(argv[6], NULL, 10);
		if (n < 1 || n > MAX_N || depth < 1 || depth > P11A_MAX_INFLIGHT)
			return usage();
		return do_sign(argv[2], argv[3], ai, n, depth);
	}
	if (strcmp(mode, "bound") == 0 && argc == 5)
		return do_bound(argv[2], argv[3], ai);
	if (strcmp(mode, "mix") == 0 && argc == 5)
		return do_mix(argv[2], argv[3], ai);
	if (strcmp(mode, "reverse") == 0 && argc == 4) {
		n = strtoul(argv[3], NULL, 10);
		if (n <= FAKE_PING || n > P11A_MAX_INFLIGHT)
			return usage();
		return do_reverse(argv[2], n);
	}
	if ((strcmp(mode, "unknown") == 0 || strcmp(mode, "twice") == 0 ||
	     strcmp(mode, "refuse") == 0 || strcmp(mode, "silent") == 0) &&
	    argc == 3)
		return do_fake(argv[2], mode);
	if (strcmp(mode, "closed") == 0 && argc == 3)
		return do_closed(argv[2]);
	return usage();
}
