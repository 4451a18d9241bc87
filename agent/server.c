/*
 * server: the Unix socket, the accept loop, one thread per connection.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"
#include "log.h"
#include "proto.h"
#include "secret.h"
#include "server.h"

/* Limits; later made configurable. */
#define SERVER_MAX_CONNS 1024
#define SERVER_THREAD_STACK (256 * 1024)
/* A client that starts a frame must finish it within this many ms. */
#define SERVER_FRAME_TIMEOUT_MS 30000
/* A frame body is read in steps of this size, so memory follows the bytes received. */
#define SERVER_READ_CHUNK (64 * 1024)
/* On shutdown, requests in flight get this long to finish. */
#define SERVER_DRAIN_MS 5000

struct conn {
	struct server *srv;
	int fd;
	struct peer peer;
	struct conn *next, *prev;
};

struct server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	int stop_pipe[2];
	struct token *tok;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct conn *conns; /* live connections */
	unsigned nconns;
};

/* Creates dir mode 0700 when missing; refuses one others may write. */
static int make_dir(const char *path, char *msg, size_t msg_len)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return P11A_OK;
	*slash = '\0';
	if (mkdir(dir, 0700) == 0)
		return P11A_OK;
	if (errno != EEXIST) {
		snprintf(msg, msg_len, "cannot create the socket directory %s: %s", dir,
			 strerror(errno));
		return P11A_ERR_INTERNAL;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(msg, msg_len, "%s is not a directory", dir);
		return P11A_ERR_INTERNAL;
	}
	if ((st.st_mode & 0022) && !(st.st_mode & S_ISVTX)) {
		snprintf(msg, msg_len,
			 "socket directory %s is writable by others: use a private one", dir);
		return P11A_ERR_INTERNAL;
	}
	return P11A_OK;
}

/* Removes a stale socket at path; refuses to replace a live agent's. */
static int clear_stale(const struct sockaddr_un *sun, char *msg, size_t msg_len)
{
	struct stat st;
	int fd, live;

	if (lstat(sun->sun_path, &st) != 0)
		return P11A_OK;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(msg, msg_len, "%s exists and is not a socket", sun->sun_path);
		return P11A_ERR_INTERNAL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return P11A_OK;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		snprintf(msg, msg_len, "an agent is already listening on %s", sun->sun_path);
		return P11A_ERR_INTERNAL;
	}
	unlink(sun->sun_path);
	return P11A_OK;
}

int server_open(const char *path, struct server **out_srv, char *msg, size_t msg_len)
{
	struct server *srv;
	struct sockaddr_un sun;
	mode_t old;
	int r = P11A_ERR_INTERNAL, bound = 0;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return P11A_ERR_NOMEM;
	srv->fd = srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(msg, msg_len, "socket path is longer than %zu bytes: %s",
			 sizeof(sun.sun_path) - 1, path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	if ((r = make_dir(path, msg, msg_len)) != P11A_OK ||
	    (r = clear_stale(&sun, msg, msg_len)) != P11A_OK)
		goto out;
	r = P11A_ERR_INTERNAL;
	if ((srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(msg, msg_len, "socket: %s", strerror(errno));
		goto out;
	}
	old = umask(0177); /* the socket is born 0600 */
	if (bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		snprintf(msg, msg_len, "cannot bind %s: %s", path, strerror(errno));
		goto out;
	}
	umask(old);
	bound = 1;
	if (chmod(path, 0600) != 0 || listen(srv->fd, 128) != 0 ||
	    pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(msg, msg_len, "cannot listen on %s: %s", path, strerror(errno));
		goto out;
	}
	*out_srv = srv;
	srv = NULL;
	r = P11A_OK;
out:
	if (srv != NULL) {
		if (bound)
			unlink(path);
		srv->path[0] = '\0';
		server_close(srv);
	}
	return r;
}

void server_stop(struct server *srv)
{
	char c = 'x';

	if (srv != NULL && srv->stop_pipe[1] >= 0)
		(void)!write(srv->stop_pipe[1], &c, 1);
}

void server_close(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->fd >= 0)
		close(srv->fd);
	if (srv->path[0] != '\0')
		unlink(srv->path);
	if (srv->stop_pipe[0] >= 0)
		close(srv->stop_pipe[0]);
	if (srv->stop_pipe[1] >= 0)
		close(srv->stop_pipe[1]);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->idle);
	free(srv);
}

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads exactly len bytes. deadline_ms < 0: wait as long as it takes (an
 * idle client between frames); else give up at that time on the monotonic
 * clock (a client that started a frame must finish it).
 * Returns 0, or -1 on EOF, error or timeout.
 */
static int read_full(int fd, uint8_t *p, size_t len, int64_t deadline_ms)
{
	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline_ms < 0 ? -1 : deadline_ms - now_ms();
		ssize_t n;
		int pr;

		if (deadline_ms >= 0 && left <= 0)
			return -1;
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads a frame body of len bytes before the deadline. The buffer grows with
 * the bytes that actually arrive, so a client announcing 1 MiB and sending
 * little holds little. On success *out_body is malloc'd; wipe and free it.
 */
static int read_body(int fd, uint32_t len, int64_t deadline_ms, uint8_t **out_body)
{
	size_t alloc = len < SERVER_READ_CHUNK ? len : SERVER_READ_CHUNK, got = 0;
	uint8_t *body, *bigger;
	int r = -1;

	if ((body = malloc(alloc)) == NULL)
		return -1;
	while (got < len) {
		if (got == alloc) {
			size_t nalloc = alloc * 2 < len ? alloc * 2 : len;

			/* Not realloc: the bytes may be an HMAC message; wipe the old copy. */
			if ((bigger = malloc(nalloc)) == NULL)
				goto out;
			memcpy(bigger, body, got);
			secret_wipe(body, alloc);
			free(body);
			body = bigger;
			alloc = nalloc;
		}
		if (read_full(fd, body + got, alloc - got, deadline_ms) != 0)
			goto out;
		got = alloc;
	}
	*out_body = body;
	body = NULL;
	r = 0;
out:
	if (body != NULL) {
		secret_wipe(body, alloc);
		free(body);
	}
	return r;
}

static int write_full(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Tells a client that is about to be dropped why, in one error frame with
 * opcode 0 and request id 0 (PROTOCOL.md), without waiting for it.
 */
static void refuse(int fd, int code, const char *why)
{
	struct proto_msg rep = {.op = 0, .id = 0, .status = (uint32_t)code, .n = 1};
	struct buf *b = buf_new(0);

	uint8_t sink[4096];

	rep.f[0] = proto_cstr(why);
	if (b != NULL && proto_encode_reply(b, &rep) == P11A_OK)
		(void)send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(b);
	/*
	 * Closing a Unix socket with unread input resets the peer, which then
	 * loses the error frame: discard what is already queued (bounded).
	 */
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
}

static void conn_unlink(struct conn *c)
{
	struct server *srv = c->srv;

	pthread_mutex_lock(&srv->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (--srv->nconns == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

/* One connection: read a frame, answer it, until the client goes. */
static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct buf *out = buf_new(0);
	uint8_t hdr[4], *body = NULL;
	uint32_t len = 0;
	int64_t deadline;

	while (out != NULL) {
		/* Wait for the first byte as long as it takes; then the frame has a deadline. */
		if (read_full(c->fd, hdr, 1, -1) != 0)
			break;
		deadline = now_ms() + SERVER_FRAME_TIMEOUT_MS;
		if (read_full(c->fd, hdr + 1, sizeof(hdr) - 1, deadline) != 0)
			break;
		len = proto_frame_len(hdr);
		if (len > P11A_MAX_FRAME || len < PROTO_MIN_BODY) {
			/* Checked before anything is allocated; the stream cannot resync. */
			log_info("uid %d pid %d: frame of %u bytes refused, connection closed",
				 c->peer.uid, c->peer.pid, len);
			refuse(c->fd,
			       len > P11A_MAX_FRAME ? P11A_ERR_TOO_LARGE : P11A_ERR_BAD_REQUEST,
			       "frame length out of range: 5 to 1048576 bytes");
			break;
		}
		if (read_body(c->fd, len, deadline, &body) != 0)
			break;
		buf_reset(out);
		if (handlers_dispatch(c->srv->tok, &c->peer, body, len, out) != 0)
			break;
		secret_wipe(body, len);
		free(body);
		body = NULL;
		if (write_full(c->fd, buf_data(out), buf_len(out)) != 0)
			break;
		buf_reset(out); /* the reply may be a session key: wipe it now */
	}
	if (body != NULL) {
		secret_wipe(body, len);
		free(body);
	}
	buf_free(out);
	/* Unlink first: once closed, the fd number may be reused by anyone. */
	conn_unlink(c);
	close(c->fd);
	free(c);
	return NULL;
}

static void accept_one(struct server *srv)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c = NULL;
	pthread_attr_t attr;
	pthread_t th;
	int fd, rc;

	if ((fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100 * 1000); /* let connections drain */
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		goto out;
	}
	/* The socket is 0600; this holds even if someone loosens its mode. */
	if (cred.uid != geteuid() && cred.uid != 0) {
		log_warn("uid %d pid %d: not the agent's user, refused", (int)cred.uid,
			 (int)cred.pid);
		refuse(fd, P11A_ERR_DENIED, "this agent serves only its own user");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->srv = srv;
	c->fd = fd;
	c->peer.uid = (int)cred.uid;
	c->peer.gid = (int)cred.gid;
	c->peer.pid = (int)cred.pid;
	pthread_mutex_lock(&srv->lock);
	if (srv->nconns >= SERVER_MAX_CONNS) {
		pthread_mutex_unlock(&srv->lock);
		log_warn("uid %d pid %d: %d connections already open, refused", (int)cred.uid,
			 (int)cred.pid, SERVER_MAX_CONNS);
		refuse(fd, P11A_ERR_BUSY, "too many connections; try again later");
		goto out;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	pthread_mutex_unlock(&srv->lock);
	log_debug("connection from uid %d gid %d pid %d", c->peer.uid, c->peer.gid, c->peer.pid);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return; /* the thread owns c and fd now */
	log_warn("cannot start a connection thread: %s", strerror(rc));
	refuse(fd, P11A_ERR_BUSY, "agent out of threads; try again later");
	conn_unlink(c);
out:
	close(fd);
	free(c);
}

/* Stops reading from every connection and waits (bounded) for them to end. */
static void drain(struct server *srv)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SERVER_DRAIN_MS / 1000;
	pthread_mutex_lock(&srv->lock);
	/* A read waiting for the next frame sees EOF; a request in flight finishes. */
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RD);
	while (srv->nconns > 0 && r == 0)
		r = pthread_cond_timedwait(&srv->idle, &srv->lock, &until);
	if (srv->nconns > 0)
		log_warn("%u connections still busy at shutdown", srv->nconns);
	pthread_mutex_unlock(&srv->lock);
}

int server_run(struct server *srv, struct token *tok)
{
	struct pollfd pfd[2];

	srv->tok = tok;
	pfd[0].fd = srv->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv->stop_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN)
			accept_one(srv);
	}
	close(srv->fd);
	srv->fd = -1;
	unlink(srv->path);
	srv->path[0] = '\0';
	drain(srv);
	return srv->nconns == 0 ? P11A_OK : P11A_ERR_BUSY;
}
