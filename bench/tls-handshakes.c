/*
 * tls-handshakes: full TLS handshakes per second against a server, the
 * client half of bench/tls.sh. Each handshake is a new TCP connection and a
 * new session (no resumption, no tickets), checked like a real client does
 * (the server's chain against --cafile), closed with close_notify; the
 * connection counts once the server has closed its side too, so that the
 * server's work for it is done.
 *
 *   tls-handshakes --connect HOST:PORT [--cafile FILE] [--threads N]
 *                  [--seconds S | --count N] [--tls 1.2|1.3] [--json]
 *
 * Prints one line (a table row, or a JSON object with --json): handshakes,
 * seconds, handshakes per second, p50 and p99 latency of a handshake (TCP
 * connect to the end of the handshake), and what the first handshake
 * negotiated: the protocol, the cipher suite and the server's signature
 * scheme. Exit status 0, 1 when a handshake fails (its error on stderr), 2
 * on a usage error.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#include "stats.h"

#define MAX_THREADS 64
#define MSG_LEN 256

struct opts {
	char host[256], port[16];
	const char *cafile;
	unsigned threads;
	double seconds; /* 0 with count */
	unsigned long count;
	int tls_version; /* 0: any, else TLS1_2_VERSION or TLS1_3_VERSION */
	int json;
};

/* What every client thread shares. */
struct shared {
	const struct opts *o;
	SSL_CTX *ctx;
	struct addrinfo *addr;
	uint64_t deadline_ns;  /* --seconds */
	atomic_ulong left;     /* --count: handshakes not yet started */
	char proto[32];	       /* of the first handshake: protocol, */
	char cipher[64];       /* cipher suite */
	char sigalg[64];       /* and the server's signature scheme */
	pthread_mutex_t first; /* guards the three above */
};

struct client {
	struct shared *sh;
	struct stats lat;
	uint64_t done;
	int failed;
	char msg[MSG_LEN];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tls-handshakes --connect HOST:PORT [--cafile FILE] [--threads N]\n"
		   "                      [--seconds S | --count N] [--tls 1.2|1.3] [--json]\n");
}

static int usage_error(const char *what)
{
	fprintf(stderr, "tls-handshakes: %s\n", what);
	usage(stderr);
	return 2;
}

/* Splits HOST:PORT (the last colon). Returns 0 or -1. */
static int parse_hostport(const char *s, struct opts *o)
{
	const char *colon = strrchr(s, ':');
	size_t host_len;

	if (colon == NULL || colon == s || colon[1] == '\0')
		return -1;
	host_len = (size_t)(colon - s);
	if (host_len >= sizeof(o->host) || strlen(colon + 1) >= sizeof(o->port))
		return -1;
	memcpy(o->host, s, host_len);
	o->host[host_len] = '\0';
	strcpy(o->port, colon + 1);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"connect", required_argument, NULL, 'c'},
	    {"cafile", required_argument, NULL, 'C'},
	    {"threads", required_argument, NULL, 't'},
	    {"seconds", required_argument, NULL, 's'},
	    {"count", required_argument, NULL, 'n'},
	    {"tls", required_argument, NULL, 'v'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	unsigned long ul;
	int c, have_connect = 0;

	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->seconds = 3;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_hostport(optarg, o) != 0)
				return usage_error("--connect: expected HOST:PORT");
			have_connect = 1;
			break;
		case 'C':
			o->cafile = optarg;
			break;
		case 't':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || *optarg == '-' || ul < 1 ||
			    ul > MAX_THREADS)
				return usage_error("--threads: expected 1 to 64");
			o->threads = (unsigned)ul;
			break;
		case 's':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->seconds >= 0.01) ||
			    o->seconds > 3600)
				return usage_error("--seconds: expected 0.01 to 3600");
			o->count = 0;
			break;
		case 'n':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || *optarg == '-' || ul < 1 ||
			    ul > 100000000)
				return usage_error("--count: expected 1 to 100000000");
			o->count = ul;
			o->seconds = 0;
			break;
		case 'v':
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = TLS1_3_VERSION;
			else
				return usage_error("--tls: expected 1.2 or 1.3");
			break;
		case 'j':
			o->json = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument");
	if (!have_connect)
		return usage_error("--connect is required");
	return 0;
}

/* OpenSSL's first queued error, or what, into msg; the queue is cleared. */
static void ssl_error(char *msg, size_t msg_len, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(msg, msg_len, "%s: %s", what, buf);
	} else {
		snprintf(msg, msg_len, "%s", what);
	}
	ERR_clear_error();
}

/* The server's signature scheme: "RSA-PSS+SHA256", "ECDSA+SHA256", "ED25519". */
static void sigalg_name(SSL *ssl, char *out, size_t out_len)
{
	const char *type;
	int nid, md;

	if (SSL_get_peer_signature_type_nid(ssl, &nid) != 1) {
		snprintf(out, out_len, "?");
		return;
	}
	switch (nid) {
	case NID_rsassaPss:
		type = "RSA-PSS";
		break;
	case EVP_PKEY_RSA:
		type = "RSA-PKCS1";
		break;
	case EVP_PKEY_EC:
		type = "ECDSA";
		break;
	default:
		type = OBJ_nid2sn(nid);
		break;
	}
	if (SSL_get_peer_signature_nid(ssl, &md) == 1 && md != NID_undef)
		snprintf(out, out_len, "%s+%s", type, OBJ_nid2sn(md));
	else
		snprintf(out, out_len, "%s", type);
}

/* Notes what the first handshake negotiated. */
static void note_first(struct shared *sh, SSL *ssl)
{
	pthread_mutex_lock(&sh->first);
	if (sh->proto[0] == '\0') {
		snprintf(sh->proto, sizeof(sh->proto), "%s", SSL_get_version(ssl));
		snprintf(sh->cipher, sizeof(sh->cipher), "%s", SSL_get_cipher_name(ssl));
		sigalg_name(ssl, sh->sigalg, sizeof(sh->sigalg));
	}
	pthread_mutex_unlock(&sh->first);
}

/* A TCP connection to the server, Nagle off. Returns the socket or -1. */
static int tcp_connect(const struct addrinfo *ai, char *msg, size_t msg_len)
{
	int fd, one = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
		snprintf(msg, msg_len, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(msg, msg_len, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One full handshake, then close_notify and the server's close. *out_ns is
 * the handshake's latency. Returns 0, or -1 with msg.
 */
static int handshake(struct client *c, uint64_t *out_ns)
{
	struct shared *sh = c->sh;
	SSL *ssl = NULL;
	uint64_t t0, t1;
	char buf[256];
	int fd = -1, ret = -1;
	long vr;

	t0 = now_ns();
	if ((fd = tcp_connect(sh->addr, c->msg, sizeof(c->msg))) < 0)
		goto out;
	if ((ssl = SSL_new(sh->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		ssl_error(c->msg, sizeof(c->msg), "SSL_new");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		ssl_error(c->msg, sizeof(c->msg), "handshake");
		goto out;
	}
	t1 = now_ns();
	if (sh->o->cafile != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(c->msg, sizeof(c->msg), "the server's certificate: %s",
			 X509_verify_cert_error_string(vr));
		goto out;
	}
	note_first(sh, ssl);
	/* close_notify, then wait for the server to close (its work is done). */
	if (SSL_shutdown(ssl) == 0) {
		while (SSL_read(ssl, buf, sizeof(buf)) > 0)
			;
	}
	ERR_clear_error();
	*out_ns = t1 - t0;
	ret = 0;
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Is there another handshake to do? */
static int more(struct shared *sh)
{
	unsigned long left;

	if (sh->o->count == 0)
		return now_ns() < sh->deadline_ns;
	left = atomic_load(&sh->left);
	while (left > 0) {
		if (atomic_compare_exchange_weak(&sh->left, &left, left - 1))
			return 1;
	}
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	uint64_t ns;

	while (more(c->sh)) {
		if (handshake(c, &ns) != 0) {
			c->failed = 1;
			break;
		}
		if (stats_add(&c->lat, ns) != 0) {
			snprintf(c->msg, sizeof(c->msg), "out of memory");
			c->failed = 1;
			break;
		}
		c->done++;
	}
	ERR_clear_error();
	return NULL;
}

static SSL_CTX *make_ctx(const struct opts *o, char *msg, size_t msg_len)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_error(msg, msg_len, "SSL_CTX_new");
		return NULL;
	}
	/* Full handshakes only: no session is kept, none offered. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (o->tls_version != 0 && (SSL_CTX_set_min_proto_version(ctx, o->tls_version) != 1 ||
				    SSL_CTX_set_max_proto_version(ctx, o->tls_version) != 1)) {
		ssl_error(msg, msg_len, "--tls");
		goto fail;
	}
	if (o->cafile != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1) {
			ssl_error(msg, msg_len, "--cafile");
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void report(FILE *f, const struct opts *o, const struct shared *sh, struct stats *lat,
		   uint64_t done, double seconds)
{
	double rate = seconds > 0 ? (double)done / seconds : 0;
	double p50 = stats_quantile_us(lat, 0.50), p99 = stats_quantile_us(lat, 0.99);

	if (o->json) {
		/* The strings are OpenSSL's names: no quote or backslash in them. */
		fprintf(f,
			"{\"threads\": %u, \"handshakes\": %llu, \"seconds\": %.3f, "
			"\"handshakes_per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
			"\"protocol\": \"%s\", \"cipher\": \"%s\", \"sigalg\": \"%s\"}\n",
			o->threads, (unsigned long long)done, seconds, rate, p50, p99, sh->proto,
			sh->cipher, sh->sigalg);
		return;
	}
	fprintf(f, "%7s %10s %8s %12s %9s %9s  %s\n", "threads", "handshakes", "seconds",
		"handshakes/s", "p50_us", "p99_us", "negotiated");
	fprintf(f, "%7u %10llu %8.3f %12.1f %9.1f %9.1f  %s %s %s\n", o->threads,
		(unsigned long long)done, seconds, rate, p50, p99, sh->proto, sh->cipher,
		sh->sigalg);
}

int main(int argc, char **argv)
{
	struct addrinfo hints, *ai = NULL;
	struct client *cs = NULL;
	pthread_t tids[MAX_THREADS];
	struct shared sh;
	struct stats all;
	struct opts o;
	char msg[MSG_LEN + 300] = ""; /* host, port and a client's message */
	uint64_t t0, done = 0;
	double seconds;
	unsigned i, started = 0;
	int rc, ret = 1;

	memset(&sh, 0, sizeof(sh));
	memset(&all, 0, sizeof(all));
	pthread_mutex_init(&sh.first, NULL);
	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	sh.o = &o;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(o.host, o.port, &hints, &ai)) != 0) {
		snprintf(msg, sizeof(msg), "%s:%s: %s", o.host, o.port, gai_strerror(rc));
		goto out;
	}
	sh.addr = ai;
	if ((sh.ctx = make_ctx(&o, msg, sizeof(msg))) == NULL)
		goto out;
	if ((cs = calloc(o.threads, sizeof(*cs))) == NULL) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto out;
	}
	atomic_init(&sh.left, o.count);
	t0 = now_ns();
	sh.deadline_ns = t0 + (uint64_t)(o.seconds * 1e9);
	for (i = 0; i < o.threads; i++) {
		cs[i].sh = &sh;
		if (pthread_create(&tids[i], NULL, client_main, &cs[i]) != 0) {
			snprintf(msg, sizeof(msg), "cannot start a client thread");
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	seconds = (double)(now_ns() - t0) / 1e9;
	if (started < o.threads)
		goto out;
	for (i = 0; i < o.threads; i++) {
		if (cs[i].failed) {
			snprintf(msg, sizeof(msg), "%s:%s: %s", o.host, o.port, cs[i].msg);
			goto out;
		}
		if (stats_merge(&all, &cs[i].lat) != 0) {
			snprintf(msg, sizeof(msg), "out of memory");
			goto out;
		}
		done += cs[i].done;
	}
	report(stdout, &o, &sh, &all, done, seconds);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "tls-handshakes: %s\n", msg);
	for (i = 0; cs != NULL && i < o.threads; i++)
		stats_free(&cs[i].lat);
	free(cs);
	stats_free(&all);
	SSL_CTX_free(sh.ctx);
	if (ai != NULL)
		freeaddrinfo(ai);
	pthread_mutex_destroy(&sh.first);
	return ret;
}
