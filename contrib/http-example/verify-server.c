/*
 * verify-server: a small HTTP server that accepts only requests signed with
 * RFC 9421 HTTP Message Signatures, the example of contrib/http-example.
 *
 *   p11agent-http-server [-S SOCKET] [--port PORT | --unix PATH] [--count N] KEY
 *
 * It listens on 127.0.0.1:PORT (default 8080; 0: a free port) or on the Unix
 * socket PATH, and prints "listening on ADDRESS" when it is ready. It serves
 * one request at a time, one per connection: at most 1 MiB, a body only with
 * Content-Length, all of it within 10 s. Each request's signature is checked
 * by its own agent (-S SOCKET, else $P11AGENT_SOCK), with KEY, an HMAC key
 * whose secret stays in the agent's token: it must cover @method,
 * @authority, @path, and content-digest when there is a body, and be at most
 * 300 s old. The answer: 200 and which signature verified; 401 and why it
 * did not; 400 when the request is not an HTTP message (p11a_http_length()
 * finds where each ends, as any server reading a stream needs); 413 when it
 * is too large; 503 when the agent cannot check it; 500 when memory runs
 * out. One line per request on stderr.
 *
 * It stops on SIGTERM or SIGINT, or after N connections (requests) with
 * --count N, and exits 0. Exit 1: it could not listen or reach the agent at the start;
 * 2: usage.
 *
 * It links libp11agent only. SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "p11agent.h"

#define MAX_REQUEST (1024u * 1024u) /* bytes: start line, fields and body */
#define READ_TIMEOUT_MS 10000	    /* to read a whole request */
#define MAX_AGE 300		    /* seconds a signature may be old */

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads one request from fd into buf (MAX_REQUEST bytes): the header
 * section, then Content-Length bytes of body (p11a_http_length() says where
 * it ends), within READ_TIMEOUT_MS. Returns its length and sets *out_head
 * to its header section's, or returns 0 and the HTTP status and reason to
 * answer with (status 0: the client went away, or we are stopping; answer
 * nothing).
 */
static size_t read_request(int fd, char *buf, size_t *out_head, int *out_status,
			   const char **out_why)
{
	long long deadline = now_ms() + READ_TIMEOUT_MS;
	size_t len = 0, last = 0, head = 0, total = 0;
	int err;

	*out_status = 0;
	*out_why = "";
	for (;;) {
		if (total == 0) {
			err = p11a_http_length((const uint8_t *)buf, len, last, &head, &total);
			last = len;
			if (err != P11A_OK) {
				*out_status = err == P11A_ERR_BAD_INPUT	  ? 400
					      : err == P11A_ERR_TOO_LARGE ? 413
									  : 500;
				*out_why = p11a_http_message();
				return 0;
			}
			if (total > MAX_REQUEST) {
				*out_status = 413;
				*out_why = "the request is larger than 1 MiB";
				return 0;
			}
		}
		if (total != 0 && len >= total) {
			*out_head = head;
			return total; /* (bytes after it are ignored) */
		}
		if (len == MAX_REQUEST) {
			*out_status = 413;
			*out_why = "the request is larger than 1 MiB";
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		if (left <= 0) {
			*out_status = 408;
			*out_why = "the request did not come whole within 10 s";
			return 0;
		}
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR && !stopping)
			continue;
		if (r < 0)
			return 0;
		if (r == 0)
			continue; /* the deadline, above */
		ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (len > 0) {
				*out_status = 400;
				*out_why =
				    "the request ends before its header section or body does";
			}
			return 0;
		}
		len += (size_t)n;
	}
}

/*
 * Sends the answer: status and one line of text. Logs the request's start
 * line (req, NULL if it could not be read) and the status on stderr.
 */
static void answer(int fd, const char *req, int status, const char *fmt, ...)
{
	static const struct {
		int status;
		const char *text;
	} texts[] = {{200, "OK"},
		     {400, "Bad Request"},
		     {401, "Unauthorized"},
		     {408, "Request Timeout"},
		     {413, "Content Too Large"},
		     {500, "Internal Server Error"},
		     {503, "Service Unavailable"}};
	const char *text = "Error";
	char body[1024], out[1400], start[121] = "(unreadable request)";
	va_list ap;
	int n;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].status == status)
			text = texts[i].text;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body) - 1, fmt, ap);
	va_end(ap);
	strcat(body, "\n");
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     status, text, strlen(body), body);
	for (size_t off = 0; n > 0 && off < (size_t)n;) {
		ssize_t w = send(fd, out + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* The start line, printable ASCII only: it is the client's. */
	for (size_t i = 0; req != NULL && i + 1 < sizeof(start); i++) {
		if (req[i] == '\r' || req[i] == '\n') {
			start[i] = '\0';
			break;
		}
		start[i] = req[i] >= ' ' && req[i] <= '~' ? req[i] : '?';
	}
	fprintf(stderr, "p11agent-http-server: %s -> %d %s", start, status, body);
}

/*
 * Checks the request's signature with key, through the agent at sock (NULL:
 * $P11AGENT_SOCK), and answers. A connection for each request: the agent
 * closes idle ones.
 */
static void verify_and_answer(int fd, const char *req, size_t head, size_t len, const char *sock,
			      const char *key)
{
	struct p11a_http_msg *msg = NULL;
	struct p11a_http_verify_params p = {0};
	struct p11a_conn *conn = NULL;
	int err, valid = 0;

	if (p11a_http_parse((const uint8_t *)req, len, &msg) != P11A_OK) {
		answer(fd, req, 400, "Bad request: %s", p11a_http_message());
		return;
	}
	/* A body must be signed too: its Content-Digest covered (and checked). */
	p.require =
	    head < len ? "@method,@authority,@path,content-digest" : "@method,@authority,@path";
	p.max_age = MAX_AGE;
	if ((err = p11a_connect(sock, &conn)) != P11A_OK) {
		answer(fd, req, 503, "Cannot check the signature: the agent is unreachable: %s",
		       p11a_connect_message());
		goto out;
	}
	err = p11a_http_verify(conn, key, msg, NULL, &p, &valid);
	if (err == P11A_OK && valid)
		answer(fd, req, 200, "Verified OK: %s", p11a_http_message());
	else if (err == P11A_OK || err == P11A_ERR_BAD_INPUT) /* none, or a malformed one */
		answer(fd, req, 401, "Verification failure: %s", p11a_http_message());
	else
		answer(fd, req, 503, "Cannot check the signature: %s: %s", p11a_strerror(err),
		       p11a_http_message());
out:
	p11a_close(conn);
	p11a_http_free(msg);
}

/* A socket listening on 127.0.0.1:port, or on the Unix socket path; -1 on failure. */
static int listen_on(const char *path, int port, char *addr, size_t addr_len)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_un un;
	} a = {0};
	socklen_t a_len;
	int fd, one = 1;

	if (path != NULL) {
		if (strlen(path) >= sizeof(a.un.sun_path)) {
			fprintf(stderr, "p11agent-http-server: %s: path too long\n", path);
			return -1;
		}
		a.un.sun_family = AF_UNIX;
		strcpy(a.un.sun_path, path);
		a_len = sizeof(a.un);
		snprintf(addr, addr_len, "%s", path);
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons((uint16_t)port);
		a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a_len = sizeof(a.in);
	}
	fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (path == NULL && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) ||
	    bind(fd, &a.sa, a_len) != 0 || listen(fd, 16) != 0 ||
	    (path == NULL && getsockname(fd, &a.sa, &a_len) != 0)) {
		fprintf(stderr, "p11agent-http-server: cannot listen on %s: %s\n",
			path != NULL ? path : "127.0.0.1", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (path == NULL)
		snprintf(addr, addr_len, "127.0.0.1:%u", (unsigned)ntohs(a.in.sin_port));
	return fd;
}

static int usage(FILE *f, int code)
{
	fprintf(f, "Usage: p11agent-http-server [-S SOCKET] [--port PORT | --unix PATH] "
		   "[--count N] KEY\n");
	return code;
}

/* A number from 0 to max, or -1. */
static long number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 && v <= max ? v : -1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *path = NULL, *key = NULL;
	long port = 8080, count = 0, served = 0;
	struct p11a_conn *conn = NULL;
	struct sigaction sa = {0};
	char addr[128], *buf;
	int lfd;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0)
			return usage(stdout, 0);
		if (opt[0] != '-' && key == NULL) {
			key = opt;
			continue;
		}
		if (val == NULL)
			return usage(stderr, 2);
		if (strcmp(opt, "-S") == 0)
			sock = val;
		else if (strcmp(opt, "--unix") == 0)
			path = val;
		else if (strcmp(opt, "--port") == 0 && (port = number(val, 65535)) >= 0)
			;
		else if (strcmp(opt, "--count") == 0 && (count = number(val, LONG_MAX)) > 0)
			;
		else
			return usage(stderr, 2);
		i++;
	}
	if (key == NULL)
		return usage(stderr, 2);

	/* A server that cannot check signatures is of no use: is the agent there? */
	if (p11a_connect(sock, &conn) != P11A_OK) {
		fprintf(stderr, "p11agent-http-server: cannot reach the agent at %s: %s\n",
			sock != NULL ? sock : p11a_default_socket(), p11a_connect_message());
		return 1;
	}
	p11a_close(conn);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((buf = malloc(MAX_REQUEST)) == NULL) {
		fprintf(stderr, "p11agent-http-server: out of memory\n");
		return 1;
	}
	if ((lfd = listen_on(path, (int)port, addr, sizeof(addr))) < 0) {
		free(buf);
		return 1;
	}
	printf("listening on %s\n", addr);
	fflush(stdout);

	while (!stopping && (count == 0 || served < count)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		const char *why;
		size_t len, head = 0;
		int fd, status;

		/* (A signal just before poll(): noticed within a second.) */
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		len = read_request(fd, buf, &head, &status, &why);
		if (len > 0)
			verify_and_answer(fd, buf, head, len, sock, key);
		else if (status == 400)
			answer(fd, NULL, status, "Bad request: %s", why);
		else if (status != 0)
			answer(fd, NULL, status, "%s", why);
		served++;
		close(fd);
	}
	fprintf(stderr, "p11agent-http-server: stopping after %ld request(s)\n", served);
	close(lfd);
	if (path != NULL)
		unlink(path);
	free(buf);
	return 0;
}
