/*
 * test-provider-threads: the provider in a threaded, forking program that
 * outlives its agent, for tests/test-provider-threads.sh. It links libcrypto
 * only: OSSL_PROVIDER_load() loads the default provider and p11agent.so by
 * its path, and OSSL_STORE opens the keys as p11agent:NAME. Every signature
 * is verified by the default provider with the public key that `p11agent
 * pubkey` exported (a PEM file), never with the agent's key object.
 *
 *   test-provider-threads MODULE NAME=PUBFILE...
 *
 * After loading, it reads commands on stdin, one a line, prints "PASS what"
 * and "FAIL what: why" lines and ends each command's output with "DONE":
 *
 *   threads        8 threads sign at once, each its own messages with every
 *                  key (RSA PKCS#1 and PSS, ECDSA, Ed25519), all verified
 *   fork           a forked child signs and verifies with every key; then
 *                  the parent signs again
 *   sign           one signature with every key, verified
 *   fail SECONDS   a signature must fail, within SECONDS, with an OpenSSL
 *                  error naming the socket ($P11AGENT_SOCK)
 *   quit           frees everything and exits (0 when nothing failed)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#define MAX_KEYS 8
#define NUM_THREADS 8
#define SIGS_PER_THREAD 12

/* One agent key: its name, the provider's key, the exported public key. */
struct key {
	const char *name;
	EVP_PKEY *agent; /* from OSSL_STORE: p11agent:NAME */
	EVP_PKEY *pub;	 /* from the PEM file, in the default provider */
};

/* How a key signs: the digest (NULL for Ed25519) and RSA's padding. */
struct scheme {
	const char *label;
	const char *md;
	int pad; /* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, or 0 */
};

static struct key keys[MAX_KEYS];
static size_t num_keys;
static int failures;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void pass(const char *what)
{
	say("PASS %s", what);
}

static void fail(const char *what, const char *why)
{
	pthread_mutex_lock(&out_lock);
	failures++;
	pthread_mutex_unlock(&out_lock);
	say("FAIL %s: %s", what, why);
}

/* This thread's OpenSSL errors as one line in buf (emptied). */
static void take_errors(char *buf, size_t len)
{
	unsigned long e;
	const char *data;
	int flags;
	size_t used = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0 && used + 1 < len) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%s%s%s", used > 0 ? " | " : "", one,
				     (flags & ERR_TXT_STRING) && data[0] != '\0' ? ": " : "",
				     (flags & ERR_TXT_STRING) ? data : "");
		if (used >= len)
			used = len - 1;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The ways key k signs. */
static size_t schemes_of(const struct key *k, struct scheme out[2])
{
	if (EVP_PKEY_is_a(k->pub, "ED25519")) {
		out[0] = (struct scheme){"ed25519", NULL, 0};
		return 1;
	}
	if (EVP_PKEY_is_a(k->pub, "RSA")) {
		out[0] = (struct scheme){"rsa-pkcs1-sha256", "SHA256", RSA_PKCS1_PADDING};
		out[1] = (struct scheme){"rsa-pss-sha384", "SHA384", RSA_PKCS1_PSS_PADDING};
		return 2;
	}
	out[0] = (struct scheme){"ecdsa-sha256", "SHA256", 0};
	return 1;
}

/*
 * Signs msg with the agent key and verifies the signature with the public
 * key in the default provider. Returns 1 when both work; else 0, with why.
 */
static int sign_verify(const struct key *k, const struct scheme *s, const unsigned char *msg,
		       size_t msg_len, char *why, size_t why_len)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int ok = 0;
	char errs[1024];

	why[0] = '\0';
	if (mctx == NULL || vctx == NULL) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	if (EVP_DigestSignInit_ex(mctx, &pctx, s->md, NULL, NULL, k->agent, NULL) != 1 ||
	    (s->pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, s->pad) != 1) ||
	    EVP_DigestSign(mctx, NULL, &sig_len, msg, msg_len) != 1 ||
	    (sig = OPENSSL_malloc(sig_len)) == NULL ||
	    EVP_DigestSign(mctx, sig, &sig_len, msg, msg_len) != 1) {
		take_errors(errs, sizeof(errs));
		snprintf(why, why_len, "%s with %s: signing failed: %s", s->label, k->name, errs);
		goto out;
	}
	pctx = NULL;
	if (EVP_DigestVerifyInit_ex(vctx, &pctx, s->md, NULL, "provider=default", k->pub, NULL) !=
		1 ||
	    (s->pad != 0 && EVP_PKEY_CTX_set_rsa_padding(pctx, s->pad) != 1) ||
	    EVP_DigestVerify(vctx, sig, sig_len, msg, msg_len) != 1) {
		take_errors(errs, sizeof(errs));
		snprintf(why, why_len, "%s with %s: the default provider does not verify it: %s",
			 s->label, k->name, errs);
		goto out;
	}
	ok = 1;
out:
	OPENSSL_free(sig);
	EVP_MD_CTX_free(mctx);
	EVP_MD_CTX_free(vctx);
	return ok;
}

/* One signature with every key and scheme; returns how many failed. */
static int sign_all(const char *who, unsigned serial)
{
	struct scheme schemes[2];
	unsigned char msg[64];
	char why[1536], what[128];
	size_t i, j, n;
	int bad = 0;

	for (i = 0; i < num_keys; i++) {
		n = schemes_of(&keys[i], schemes);
		for (j = 0; j < n; j++) {
			int len = snprintf((char *)msg, sizeof(msg), "%s %u %s %s", who, serial,
					   keys[i].name, schemes[j].label);

			if (!sign_verify(&keys[i], &schemes[j], msg, (size_t)len, why,
					 sizeof(why))) {
				snprintf(what, sizeof(what), "%s: %s", who, schemes[j].label);
				fail(what, why);
				bad++;
			}
		}
	}
	return bad;
}

struct worker {
	pthread_t tid;
	unsigned id;
	int bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char who[32];
	unsigned i;

	snprintf(who, sizeof(who), "thread %u", w->id);
	for (i = 0; i < SIGS_PER_THREAD && w->bad == 0; i++)
		w->bad += sign_all(who, i);
	return NULL;
}

static void cmd_threads(void)
{
	struct worker w[NUM_THREADS];
	unsigned i, started = 0, bad = 0;
	double t0 = now();
	char why[128];

	for (i = 0; i < NUM_THREADS; i++) {
		w[i] = (struct worker){.id = i};
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		bad += w[i].bad != 0;
	}
	if (started != NUM_THREADS) {
		snprintf(why, sizeof(why), "only %u threads started", started);
		fail("8 threads", why);
	} else if (bad != 0) {
		snprintf(why, sizeof(why), "%u of %u threads saw a failure", bad, started);
		fail("8 threads sign at once, every signature verified", why);
	} else {
		say("  8 threads x %d rounds x every key: %.2f s", SIGS_PER_THREAD, now() - t0);
		pass("8 threads sign at once, every signature verified");
	}
}

static void cmd_fork(void)
{
	pid_t pid;
	int status;
	char why[128];

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail("fork", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The child's lines go out through the parent's stdout. */
		int bad = sign_all("forked child", 0) + sign_all("forked child", 1);

		fflush(stdout);
		_exit(bad == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid) {
		fail("fork", "waitpid failed");
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, sizeof(why), "the child ended with status 0x%x", status);
		fail("a forked child signs with every key, verified", why);
	} else {
		pass("a forked child signs with every key, verified");
	}
	if (sign_all("parent after the fork", 0) == 0)
		pass("the parent signs on after the fork");
}

static void cmd_sign(void)
{
	static unsigned serial;

	if (sign_all("sign", serial++) == 0)
		pass("every key signs, verified");
}

static void cmd_fail(double bound)
{
	struct scheme schemes[2];
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const char *sock = getenv("P11AGENT_SOCK");
	const struct key *k = &keys[0];
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig);
	char errs[2048], why[2200];
	double t0 = now(), took;
	int rc;

	schemes_of(k, schemes);
	ERR_clear_error();
	rc = mctx != NULL &&
	     EVP_DigestSignInit_ex(mctx, &pctx, schemes[0].md, NULL, NULL, k->agent, NULL) == 1 &&
	     (schemes[0].pad == 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, schemes[0].pad) == 1) &&
	     EVP_DigestSign(mctx, sig, &sig_len, (const unsigned char *)"x", 1) == 1;
	took = now() - t0;
	take_errors(errs, sizeof(errs));
	EVP_MD_CTX_free(mctx);
	say("  after %.2f s: %s", took, errs[0] != '\0' ? errs : "(no error)");
	if (rc) {
		fail("the signature fails", "it worked");
		return;
	}
	pass("the signature fails");
	snprintf(why, sizeof(why), "%.2f s, more than %.0f s", took, bound);
	if (took <= bound)
		pass("it fails within the bound");
	else
		fail("it fails within the bound", why);
	if (errs[0] == '\0')
		fail("an OpenSSL error", "the error queue is empty");
	else if (sock == NULL || strstr(errs, sock) == NULL)
		fail("the error names the socket", sock == NULL ? "P11AGENT_SOCK is unset" : sock);
	else
		pass("the OpenSSL error names the socket");
}

/* Reads NAME=PUBFILE and opens p11agent:NAME. */
static int load_key(const char *arg, struct key *k)
{
	char *name = strdup(arg), *eq = name != NULL ? strchr(name, '=') : NULL;
	char uri[256], errs[1024];
	OSSL_STORE_CTX *store = NULL;
	OSSL_STORE_INFO *info;
	FILE *f = NULL;

	if (eq == NULL) {
		fprintf(stderr, "test-provider-threads: not NAME=PUBFILE: %s\n", arg);
		free(name);
		return 0;
	}
	*eq = '\0';
	k->name = name;
	if ((f = fopen(eq + 1, "r")) == NULL ||
	    (k->pub = PEM_read_PUBKEY_ex(f, NULL, NULL, NULL, NULL, "provider=default")) == NULL) {
		take_errors(errs, sizeof(errs));
		fprintf(stderr, "test-provider-threads: cannot read %s: %s\n", eq + 1, errs);
		goto out;
	}
	snprintf(uri, sizeof(uri), "p11agent:%s", name);
	store = OSSL_STORE_open_ex(uri, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (store != NULL && OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY) == 1) {
		while (k->agent == NULL && !OSSL_STORE_eof(store) &&
		       (info = OSSL_STORE_load(store)) != NULL) {
			if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
				k->agent = OSSL_STORE_INFO_get1_PKEY(info);
			OSSL_STORE_INFO_free(info);
		}
	}
	if (k->agent == NULL) {
		take_errors(errs, sizeof(errs));
		fprintf(stderr, "test-provider-threads: cannot open %s: %s\n", uri, errs);
	}
out:
	if (f != NULL)
		fclose(f);
	OSSL_STORE_close(store);
	return k->agent != NULL;
}

int main(int argc, char **argv)
{
	OSSL_PROVIDER *deflt = NULL, *agent = NULL;
	char line[128], errs[1024];
	int i, ok = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: test-provider-threads MODULE NAME=PUBFILE...\n");
		return 2;
	}
	if ((deflt = OSSL_PROVIDER_load(NULL, "default")) == NULL ||
	    (agent = OSSL_PROVIDER_load(NULL, argv[1])) == NULL) {
		take_errors(errs, sizeof(errs));
		fprintf(stderr, "test-provider-threads: cannot load %s: %s\n", argv[1], errs);
		ok = 0;
	}
	for (i = 2; ok && i < argc && num_keys < MAX_KEYS; i++)
		ok = load_key(argv[i], &keys[num_keys++]);
	say(ok ? "READY" : "FAIL load: see stderr");
	while (ok && fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "threads") == 0)
			cmd_threads();
		else if (strcmp(line, "fork") == 0)
			cmd_fork();
		else if (strcmp(line, "sign") == 0)
			cmd_sign();
		else if (strncmp(line, "fail ", 5) == 0)
			cmd_fail(atof(line + 5));
		else if (strcmp(line, "quit") == 0)
			break;
		else
			fail("command", line);
		say("DONE");
	}
	for (i = 0; i < (int)num_keys; i++) {
		EVP_PKEY_free(keys[i].agent);
		EVP_PKEY_free(keys[i].pub);
		free((char *)keys[i].name);
	}
	OSSL_PROVIDER_unload(agent);
	OSSL_PROVIDER_unload(deflt);
	return ok && failures == 0 ? 0 : 1;
}
