/*
 * batch-client: the SIGN_BATCH request from both ends, for tests/test-batch.sh.
 *
 *   batch-client sign SOCKET KEY ALG N
 *       signs N different messages in one p11a_sign_batch() and checks every
 *       signature: with OpenSSL against the key's public half (RSA, ECDSA,
 *       Ed25519), and, where the algorithm is deterministic (HMAC, RSA PKCS#1,
 *       Ed25519), equal to a single p11a_sign() of the same message. Prints
 *       "N signatures verified".
 *   batch-client raw SOCKET KEY ALG CASE
 *       sends one hand-made SIGN_BATCH frame (its own encoder: an independent
 *       reading of PROTOCOL.md) and prints the reply's status name and message,
 *       then "still serving" when a ping on the same connection is answered.
 *       CASE: zero (count 0), over (count P11A_MAX_BATCH + 1), short (count 3,
 *       2 items), trailing (an extra byte after the items), badlen (item 3 of
 *       4 is one byte short of the digest), ok (4 good digests).
 *   batch-client local SOCKET KEY ALG CASE
 *       the library's own refusals: zero (n 0), over (n P11A_MAX_BATCH + 1),
 *       prehashed (P11A_SIGN_PREHASHED with a message algorithm), big (items
 *       that cannot fit a frame). Prints the error name and message.
 * Exit: 0 as expected, 1 a check failed, 2 usage.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11agent.h"
#include "sigcheck.h"

#define MSG_LEN 100

static int fail(const char *what, struct p11a_conn *conn, int r)
{
	fprintf(stderr, "batch-client: %s: %s: %s\n", what, p11a_errname(r),
		conn != NULL ? p11a_conn_message(conn) : "");
	return 1;
}

/* Message i of a batch: MSG_LEN bytes that differ per item. */
static void make_msg(size_t i, uint8_t *m)
{
	for (size_t j = 0; j < MSG_LEN; j++)
		m[j] = (uint8_t)(i * 31 + j * 7 + 1);
}

static int do_sign(struct p11a_conn *conn, const char *key, const struct p11a_alg_info *ai,
		   size_t n)
{
	struct p11a_sign_item *items = calloc(n, sizeof(*items));
	uint8_t *msgs = malloc(n * MSG_LEN), *der = NULL, *one = NULL;
	const uint8_t *p;
	size_t der_len = 0, one_len = 0, i;
	EVP_PKEY *pub = NULL;
	int r, ret = 1;

	if (items == NULL || msgs == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		make_msg(i, msgs + i * MSG_LEN);
		items[i].data = msgs + i * MSG_LEN;
		items[i].data_len = MSG_LEN;
	}
	if ((r = p11a_sign_batch(conn, key, ai->alg, 0, items, n)) != P11A_OK) {
		ret = fail("p11a_sign_batch", conn, r);
		goto out;
	}
	if (ai->key_type != P11A_KEY_HMAC) {
		if ((r = p11a_pubkey(conn, key, &der, &der_len)) != P11A_OK) {
			ret = fail("p11a_pubkey", conn, r);
			goto out;
		}
		p = der;
		if ((pub = d2i_PUBKEY(NULL, &p, (long)der_len)) == NULL) {
			fprintf(stderr, "batch-client: the public key does not parse\n");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		int deterministic = ai->key_type == P11A_KEY_HMAC ||
				    ai->key_type == P11A_KEY_ED25519 ||
				    strncmp(ai->name, "rsa-pkcs1", 9) == 0;

		if (pub != NULL && !sigcheck_verify(pub, ai, items[i].data, MSG_LEN, items[i].sig,
						    items[i].sig_len)) {
			fprintf(stderr, "batch-client: signature %zu of %zu does not verify\n",
				i + 1, n);
			goto out;
		}
		if (!deterministic)
			continue;
		if ((r = p11a_sign(conn, key, ai->alg, 0, items[i].data, MSG_LEN, &one,
				   &one_len)) != P11A_OK) {
			ret = fail("p11a_sign", conn, r);
			goto out;
		}
		if (one_len != items[i].sig_len || memcmp(one, items[i].sig, one_len) != 0) {
			fprintf(stderr, "batch-client: item %zu differs from a single sign\n",
				i + 1);
			goto out;
		}
		p11a_free(one, one_len);
		one = NULL;
	}
	printf("%zu signatures verified\n", n);
	ret = 0;
out:
	for (i = 0; items != NULL && i < n; i++)
		p11a_free(items[i].sig, items[i].sig_len);
	p11a_free(one, one_len);
	p11a_free(der, der_len);
	EVP_PKEY_free(pub);
	free(items);
	free(msgs);
	return ret;
}

/* The hand-made wire side of "raw". */
struct wire {
	uint8_t b[8192];
	size_t len;
};

static void put8(struct wire *w, uint8_t v)
{
	if (w->len < sizeof(w->b))
		w->b[w->len++] = v;
}

static void put32(struct wire *w, uint32_t v)
{
	put8(w, (uint8_t)(v >> 24));
	put8(w, (uint8_t)(v >> 16));
	put8(w, (uint8_t)(v >> 8));
	put8(w, (uint8_t)v);
}

static void putstr(struct wire *w, const void *p, size_t len)
{
	put32(w, (uint32_t)len);
	for (size_t i = 0; i < len; i++)
		put8(w, ((const uint8_t *)p)[i]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int read_n(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Sends body (w holds it from offset 4; the length is filled in here) and
 * reads one reply: its status, and its message when status is not 0.
 */
static int roundtrip(int fd, struct wire *w, uint32_t *status, char *msg, size_t msg_len)
{
	static uint8_t rep[2 * 1024 * 1024];
	uint8_t hdr[4];
	uint32_t len, mlen;

	w->b[0] = (uint8_t)((w->len - 4) >> 24);
	w->b[1] = (uint8_t)((w->len - 4) >> 16);
	w->b[2] = (uint8_t)((w->len - 4) >> 8);
	w->b[3] = (uint8_t)(w->len - 4);
	if (send(fd, w->b, w->len, MSG_NOSIGNAL) != (ssize_t)w->len || read_n(fd, hdr, 4) != 0)
		return -1;
	len = get32(hdr);
	if (len < 9 || len > sizeof(rep) || read_n(fd, rep, len) != 0)
		return -1;
	*status = get32(rep + 5);
	msg[0] = '\0';
	if (*status != 0 && len >= 13) {
		mlen = get32(rep + 9);
		if (mlen > len - 13)
			return -1;
		snprintf(msg, msg_len, "%.*s", (int)mlen, (const char *)rep + 13);
	}
	return 0;
}

static int do_raw(const char *sock, const char *key, const struct p11a_alg_info *ai,
		  const char *kase)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct wire w = {.len = 4};
	uint8_t digest[64];
	uint32_t status, count = 4, items = 4, id = 1;
	char msg[4096];
	size_t dlen = ai->digest_len;
	int fd, ret = 1;

	if (ai->input != P11A_INPUT_DIGEST || strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "batch-client: raw needs a digest algorithm\n");
		return 2;
	}
	strcpy(sun.sun_path, sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror("batch-client: connect");
		goto out;
	}
	/* hello, version 2 */
	put8(&w, 1);
	put32(&w, id++);
	put32(&w, 2);
	if (roundtrip(fd, &w, &status, msg, sizeof(msg)) != 0 || status != 0) {
		fprintf(stderr, "batch-client: hello failed\n");
		goto out;
	}
	if (strcmp(kase, "zero") == 0)
		count = items = 0;
	else if (strcmp(kase, "over") == 0)
		count = items = P11A_MAX_BATCH + 1;
	else if (strcmp(kase, "short") == 0)
		count = 3, items = 2;
	else if (strcmp(kase, "trailing") != 0 && strcmp(kase, "badlen") != 0 &&
		 strcmp(kase, "ok") != 0) {
		fprintf(stderr, "batch-client: unknown case %s\n", kase);
		ret = 2;
		goto out;
	}
	w.len = 4;
	put8(&w, 12); /* SIGN_BATCH */
	put32(&w, id++);
	putstr(&w, key, strlen(key));
	put32(&w, (uint32_t)ai->alg);
	put32(&w, 0);
	put32(&w, count);
	for (uint32_t i = 0; i < items && i < 100; i++) {
		memset(digest, (int)i + 1, sizeof(digest));
		putstr(&w, digest, strcmp(kase, "badlen") == 0 && i == 2 ? dlen - 1 : dlen);
	}
	if (strcmp(kase, "trailing") == 0)
		put8(&w, 0);
	if (roundtrip(fd, &w, &status, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "batch-client: no reply\n");
		goto out;
	}
	printf("%s: %s\n", p11a_errname((int)status), msg);
	w.len = 4;
	put8(&w, 2); /* PING */
	put32(&w, id++);
	putstr(&w, "x", 1);
	if (roundtrip(fd, &w, &status, msg, sizeof(msg)) == 0 && status == 0)
		printf("still serving\n");
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int do_local(struct p11a_conn *conn, const char *key, const struct p11a_alg_info *ai,
		    const char *kase)
{
	static struct p11a_sign_item items[P11A_MAX_BATCH + 1];
	static uint8_t big[P11A_MAX_DATA / 2];
	uint8_t m[MSG_LEN];
	size_t n = 4;
	uint32_t flags = 0;
	int r;

	make_msg(0, m);
	for (size_t i = 0; i <= P11A_MAX_BATCH; i++) {
		items[i].data = m;
		items[i].data_len = sizeof(m);
	}
	if (strcmp(kase, "zero") == 0) {
		n = 0;
	} else if (strcmp(kase, "over") == 0) {
		n = P11A_MAX_BATCH + 1;
	} else if (strcmp(kase, "prehashed") == 0) {
		flags = P11A_SIGN_PREHASHED;
	} else if (strcmp(kase, "big") == 0) {
		for (size_t i = 0; i < 3; i++) {
			items[i].data = big;
			items[i].data_len = sizeof(big);
		}
		n = 3;
	} else {
		fprintf(stderr, "batch-client: unknown case %s\n", kase);
		return 2;
	}
	r = p11a_sign_batch(conn, key, ai->alg, flags, items, n);
	printf("%s: %s\n", p11a_errname(r), p11a_conn_message(conn));
	for (size_t i = 0; i < n; i++) {
		if (items[i].sig != NULL) {
			fprintf(stderr, "batch-client: item %zu has a signature after a failure\n",
				i + 1);
			return 1;
		}
	}
	return r == P11A_OK ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct p11a_alg_info *ai;
	struct p11a_conn *conn = NULL;
	char *end;
	unsigned long n;
	int r, ret;

	if (argc != 6 || (ai = p11a_alg_by_name(argv[4])) == NULL) {
		fprintf(stderr, "usage: batch-client sign|raw|local SOCKET KEY ALG N|CASE\n");
		return 2;
	}
	if (strcmp(argv[1], "raw") == 0)
		return do_raw(argv[2], argv[3], ai, argv[5]);
	if ((r = p11a_connect(argv[2], &conn)) != P11A_OK) {
		fprintf(stderr, "batch-client: connect: %s\n", p11a_connect_message());
		return 1;
	}
	if (strcmp(argv[1], "sign") == 0) {
		errno = 0;
		n = strtoul(argv[5], &end, 10);
		ret = errno != 0 || *end != '\0' || n == 0 || n > P11A_MAX_BATCH
			  ? 2
			  : do_sign(conn, argv[3], ai, n);
	} else if (strcmp(argv[1], "local") == 0) {
		ret = do_local(conn, argv[3], ai, argv[5]);
	} else {
		ret = 2;
	}
	p11a_close(conn);
	return ret;
}
