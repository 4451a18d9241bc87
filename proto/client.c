/*
 * client: libp11agent, the one client API of p11agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "busypoll.h"
#include "conn.h"
#include "frameio.h"
#include "p11agent.h"
#include "proto.h"
#include "safepath.h"
#include "secret.h"

/* Replies slower than this on average (a queue at the agent) are not polled for. */
#define P11A_POLL_MAX_WAIT_US 20000

const char *p11a_default_socket(void)
{
	static _Thread_local char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *env = getenv(P11A_SOCK_ENV);

	if (env != NULL && *env != '\0')
		snprintf(path, sizeof(path), "%s", env);
	else if (proto_default_socket(path, sizeof(path)) != P11A_OK)
		path[0] = '\0';
	return path;
}

/* Why the last p11a_connect() of this thread failed. */
static _Thread_local char connect_message[1024];

const char *p11a_connect_message(void)
{
	return connect_message;
}

const char *p11a_conn_path(const struct p11a_conn *conn)
{
	return conn->path;
}

const char *p11a_conn_message(const struct p11a_conn *conn)
{
	return conn->message != NULL ? conn->message : "";
}

void conn_set_message(struct p11a_conn *conn, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(conn->message);
	conn->message = m;
}

void conn_clear(struct p11a_conn *conn)
{
	free(conn->message);
	conn->message = NULL;
	memset(&conn->result, 0, sizeof(conn->result));
}

/*
 * A key reference the agent will take: 1 to PROTO_MAX_KEYREF bytes (no NUL
 * fits in a C string anyway).
 */
static int check_key(const char *key)
{
	return key != NULL && *key != '\0' && strlen(key) <= PROTO_MAX_KEYREF;
}

/* The message and code for data that no request can carry. */
static int too_large(struct p11a_conn *conn, size_t len)
{
	conn_set_message(conn,
			 "message of %zu bytes is larger than the %u bytes a request may carry",
			 len, (unsigned)P11A_MAX_DATA);
	return P11A_ERR_TOO_LARGE;
}

void p11a_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	secret_wipe(p, len);
	free(p);
}

void conn_drop_reply(struct p11a_conn *conn)
{
	size_t left = conn->rhave - conn->rused;

	if (conn->reply_owned)
		p11a_free(conn->reply, conn->reply_len);
	if (conn->rused > 0) {
		secret_wipe(conn->rbuf, conn->rused);
		if (left > 0) {
			memmove(conn->rbuf, conn->rbuf + conn->rused, left);
			secret_wipe(conn->rbuf + left, conn->rused);
		}
	}
	conn->rhave = left;
	conn->rused = 0;
	conn->reply = NULL;
	conn->reply_len = 0;
	conn->reply_owned = 0;
}

void p11a_close(struct p11a_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->fd >= 0)
		close(conn->fd);
	buf_free(conn->out);
	conn_drop_reply(conn);
	secret_wipe(conn->rbuf, conn->rhave);
	free(conn->message);
	free(conn);
}

/* Sends all of p, within P11AGENT_TIMEOUT. */
static int write_all(struct p11a_conn *conn, const uint8_t *p, size_t len)
{
	if (frameio_send_full(conn->fd, p, len, frameio_deadline(conn->timeout_s * 1000u)) != 0)
		return P11A_ERR_IO;
	return P11A_OK;
}

/*
 * Waits for the first bytes of a reply sent at sent_us. With busy polling on
 * (P11AGENT_BUSY_POLL, limit us) it polls instead of sleeping, because waking
 * a thread whose CPU went idle can cost more than a fast signature itself
 * (virtual machines): for up to limit when replies have been coming within
 * it; for a slower reply (RSA), it first sleeps on a timer until 2 * limit
 * before the reply is due (the timer's wake-up, late by up to the timer slack,
 * then happens before the reply rather than after it; replies vary) and polls
 * from there until limit after it is due (busypoll_recv(): it stops early
 * when another thread takes the CPU); then it sleeps until the reply comes. Off by default: a
 * polling thread looks busy to the scheduler, which then queues other threads behind it, so with
 * more clients than CPUs polling costs throughput (PERFORMANCE.md).
 */
static int first_bytes(struct p11a_conn *conn, int64_t sent_us)
{
	int64_t limit = conn->busy_poll_us, avg = conn->wait_avg, nap;
	struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
	struct timespec ts;
	ssize_t n;

	if (limit > 0 && avg <= P11A_POLL_MAX_WAIT_US) {
		if (avg > 2 * limit) {
			nap = avg - 2 * limit;
			ts.tv_sec = nap / 1000000;
			ts.tv_nsec = (long)(nap % 1000000) * 1000;
			(void)ppoll(&pfd, 1, &ts, NULL); /* a reply, a timeout or a signal: poll */
		}
		n = busypoll_recv(conn->fd, conn->rbuf, CONN_RBUF,
				  sent_us + (avg > limit ? avg + limit : limit));
		if (n > 0) {
			conn->rhave = (size_t)n;
			goto out;
		}
		if (n < 0)
			return P11A_ERR_IO;
	}
	/*
	 * Each wait for the agent is bounded by P11AGENT_TIMEOUT (SO_RCVTIMEO,
	 * set again only after a large reply's read changed it).
	 */
	if ((n = frameio_recv_some(&conn->rx, conn->rbuf, CONN_RBUF,
				   (int)(conn->timeout_s * 1000u))) < 0)
		return P11A_ERR_IO;
	conn->rhave = (size_t)n;
out:
	conn->wait_avg += (busypoll_now_us() - sent_us - conn->wait_avg) / 8;
	return P11A_OK;
}

/* Receives into rbuf until it holds at least want bytes (want <= CONN_RBUF). */
static int fill(struct p11a_conn *conn, size_t want)
{
	while (conn->rhave < want) {
		ssize_t n =
		    frameio_recv_some(&conn->rx, conn->rbuf + conn->rhave, CONN_RBUF - conn->rhave,
				      (int)(conn->timeout_s * 1000u));

		if (n < 0)
			return P11A_ERR_IO;
		conn->rhave += (size_t)n;
	}
	return P11A_OK;
}

/*
 * Reads one reply frame: a small one (most) stays in rbuf, often from one
 * recv(); a larger one is read into a malloc'd body. Sets conn->reply.
 */
static int read_reply(struct p11a_conn *conn, int64_t sent_us)
{
	size_t len, got;
	int r;

	if (conn->rhave == 0 && (r = first_bytes(conn, sent_us)) != P11A_OK)
		return r;
	if ((r = fill(conn, 4)) != P11A_OK)
		return r;
	len = proto_frame_len(conn->rbuf);
	if (len < PROTO_MIN_BODY || len > P11A_MAX_FRAME)
		return P11A_ERR_PROTOCOL;
	if (4 + len <= CONN_RBUF) {
		if ((r = fill(conn, 4 + len)) != P11A_OK)
			return r;
		conn->reply = conn->rbuf + 4;
		conn->reply_len = len;
		conn->rused = 4 + len;
		return P11A_OK;
	}
	/* rbuf is smaller than the frame: all it holds belongs to this frame. */
	if ((conn->reply = malloc(len)) == NULL)
		return P11A_ERR_NOMEM;
	conn->reply_owned = 1;
	conn->reply_len = len;
	got = conn->rhave - 4;
	memcpy(conn->reply, conn->rbuf + 4, got);
	conn->rused = conn->rhave;
	if (frameio_recv_full(&conn->rx, conn->reply + got, len - got,
			      frameio_deadline(conn->timeout_s * 1000u)) != 0)
		return P11A_ERR_IO;
	return P11A_OK;
}

/* After an I/O error: says so when it was the timeout that ended the wait. */
static void note_timeout(struct p11a_conn *conn, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		conn_set_message(conn,
				 "the agent did not answer within %u s: it is stopped, frozen or "
				 "overloaded (" P11A_TIMEOUT_ENV " sets the limit)",
				 conn->timeout_s);
}

void conn_note_result(struct p11a_conn *conn, uint8_t op, const struct proto_msg *rep)
{
	switch (op) {
	case PROTO_OP_SIGN:
	case PROTO_OP_VERIFY_HMAC:
	case PROTO_OP_DECRYPT:
	case PROTO_OP_UNWRAP:
	case PROTO_OP_DERIVE:
		conn->result.version = rep->f[1].u32;
		break;
	case PROTO_OP_SIGN_BATCH:
	case PROTO_OP_CERT_IMPORT:
		conn->result.version = rep->f[0].u32;
		break;
	case PROTO_OP_REWRAP:
		conn->result.from_version = rep->f[1].u32;
		conn->result.version = rep->f[2].u32;
		break;
	default:
		break;
	}
}

void conn_break(struct p11a_conn *conn)
{
	/* No later call may read the rest of a reply, or send after part of a request. */
	secret_wipe(conn->rbuf, conn->rhave);
	conn->rhave = conn->rused = 0;
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = conn->rx.fd = -1;
	conn->n_pending = 0;
}

/* The next request id: never 0 (the agent's id for a refusal), never one in flight. */
static uint32_t next_id(struct p11a_conn *conn)
{
	uint32_t id;
	size_t i;

	for (;;) {
		if ((id = conn->next_id++) == 0)
			continue;
		for (i = 0; i < conn->n_pending && conn->pending[i].id != id; i++)
			;
		if (i == conn->n_pending)
			return id;
	}
}

int conn_send(struct p11a_conn *conn, struct proto_msg *msg)
{
	int r;

	if (conn->fd < 0) {
		conn_set_message(conn, "the connection was closed after an earlier failure: "
				       "connect again (p11a_connect())");
		return P11A_ERR_IO;
	}
	buf_reset(conn->out);
	msg->id = next_id(conn);
	if ((r = proto_encode_request(conn->out, msg)) != P11A_OK)
		return r == P11A_ERR_TOO_LARGE ? P11A_ERR_TOO_LARGE : P11A_ERR_INVALID_ARG;
	if ((r = write_all(conn, buf_data(conn->out), buf_len(conn->out))) != P11A_OK) {
		int err = errno;

		if (err == EPIPE || err == ECONNRESET)
			conn_set_message(conn, "the agent closed the connection before the request "
					       "was sent; see p11agentd's log");
		else if (err != EAGAIN && err != EWOULDBLOCK)
			conn_set_message(conn, "cannot send the request to the agent: %s",
					 strerror(err));
		note_timeout(conn, err);
		conn_break(conn);
		return r;
	}
	buf_reset(conn->out);
	return P11A_OK;
}

int conn_read(struct p11a_conn *conn)
{
	int r;

	if ((r = read_reply(conn, busypoll_now_us())) != P11A_OK) {
		if (r == P11A_ERR_IO)
			note_timeout(conn, errno);
		conn_break(conn);
	}
	return r;
}

/*
 * Sends msg as a request and reads the reply into conn->reply, decoded into
 * *rep. A non-zero status is returned as the error, its message kept.
 * Refused (P11A_ERR_INVALID_ARG, nothing sent) while submitted requests are
 * in flight: their replies come first.
 */
static int call(struct p11a_conn *conn, struct proto_msg *msg, struct proto_msg *rep)
{
	int r;

	conn_clear(conn);
	conn_drop_reply(conn);
	if (conn->n_pending > 0) {
		conn_set_message(conn,
				 "%zu submitted requests are in flight on this connection: "
				 "collect their replies (p11a_collect()) before a call that waits "
				 "for its own",
				 conn->n_pending);
		return P11A_ERR_INVALID_ARG;
	}
	if ((r = conn_send(conn, msg)) != P11A_OK || (r = conn_read(conn)) != P11A_OK)
		return r;
	if ((r = proto_decode_reply(conn->reply, conn->reply_len, msg->op, rep)) != P11A_OK)
		return r;
	if (rep->id != msg->id && rep->op != 0)
		return P11A_ERR_PROTOCOL;
	if (rep->status != P11A_OK) {
		conn_set_message(conn, "%.*s", (int)rep->f[0].len, (const char *)rep->f[0].p);
		/* Codes this library does not know are reported as they are. */
		return rep->status >= 64 ? P11A_ERR_PROTOCOL : (int)rep->status;
	}
	conn_note_result(conn, msg->op, rep);
	return P11A_OK;
}

const struct p11a_result *p11a_last_result(const struct p11a_conn *conn)
{
	return &conn->result;
}

/* P11AGENT_BUSY_POLL (microseconds, 0 to 10000), else 0. */
static unsigned busy_poll_setting(void)
{
	const char *env = getenv(P11A_BUSY_POLL_ENV);
	char *end;
	unsigned long v;

	if (env == NULL || *env == '\0')
		return 0;
	errno = 0;
	v = strtoul(env, &end, 10);
	if (errno != 0 || *end != '\0' || env[0] < '0' || env[0] > '9' || v > 10000)
		return 0;
	return (unsigned)v;
}

/* P11AGENT_TIMEOUT (seconds, 0 to 3600), else P11A_DEFAULT_TIMEOUT. */
static unsigned timeout_setting(void)
{
	const char *env = getenv(P11A_TIMEOUT_ENV);
	char *end;
	unsigned long v;

	if (env == NULL || *env == '\0')
		return P11A_DEFAULT_TIMEOUT;
	errno = 0;
	v = strtoul(env, &end, 10);
	if (errno != 0 || *end != '\0' || env[0] < '0' || env[0] > '9' || v > 3600)
		return P11A_DEFAULT_TIMEOUT;
	return (unsigned)v;
}

/* Bounds every wait on fd (connect, send, recv) by seconds; 0: no bound. */
static int set_timeouts(int fd, unsigned seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds, .tv_usec = 0};

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

/*
 * The uid $P11AGENT_AGENT_USER names (a user name, or a number), or -1 when it
 * is unset, empty or names nobody.
 */
static long trusted_agent_uid(void)
{
	const char *env = getenv(P11A_AGENT_USER_ENV);
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long v;

	if (env == NULL || *env == '\0')
		return -1;
	if (getpwnam_r(env, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		return (long)res->pw_uid;
	errno = 0;
	v = strtoul(env, &end, 10);
	if (errno != 0 || *end != '\0' || env[0] < '0' || env[0] > '9' || v >= (uid_t)-1)
		return -1;
	return (long)v;
}

/*
 * A socket directory of the trusted agent user (agent_uid): real is its real
 * path. It must be that user's, a directory that neither group nor others
 * may write, in a directory that only root or uid could have made it in: owned
 * by one of them and writable by nobody else, sticky or not (safepath_check
 * on it). Returns P11A_OK, or P11A_ERR_UNSAFE_PATH.
 */
static int agent_user_dir(const char *real, uid_t uid, long agent_uid)
{
	char parent[PATH_MAX], why[512];
	struct stat st;

	if (agent_uid < 0 || lstat(real, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != (uid_t)agent_uid || (st.st_mode & 0022) != 0)
		return P11A_ERR_UNSAFE_PATH;
	snprintf(parent, sizeof(parent), "%s", real);
	return safepath_check("the directory above the agent's socket directory", dirname(parent),
			      uid, SAFEPATH_DIR, NULL, 0, why, sizeof(why));
}

/*
 * Where the socket path came from, for the message when nothing is there:
 * given (by -S), from P11AGENT_SOCK, or the default.
 */
static void socket_source(int given, char *out, size_t len)
{
	const char *env = getenv(P11A_SOCK_ENV);

	if (env != NULL && *env != '\0')
		snprintf(out, len, "%s is set to %.240s", P11A_SOCK_ENV, env);
	else if (given)
		snprintf(out, len, "%s is not set", P11A_SOCK_ENV);
	else
		snprintf(out, len, "%s is not set: this is the default socket", P11A_SOCK_ENV);
}

/* What advises a user who may not use the socket: the agent's socket-group. */
#define SOCKET_GROUP_ADVICE                                                                        \
	"the agent's socket-group setting (p11agent.conf(5)) lets the members of one group use "   \
	"it: ask whoever runs the agent to add this user to that group, or start an agent of "     \
	"your own"

/*
 * The message for errno e, met reaching the socket: by stat or lstat of the
 * socket's directory dir (dir not NULL), or by connect() to the socket.
 * given: the caller named the path (else it is P11AGENT_SOCK's or the default).
 */
static void unreachable(int e, const char *dir, int given, char *msg, size_t len)
{
	char source[320];

	switch (e) {
	case ENOENT:
		socket_source(given, source, sizeof(source));
		snprintf(msg, len,
			 "no such file, so no agent listens there; start p11agentd, or name its "
			 "socket with -S or %s (%s)",
			 P11A_SOCK_ENV, source);
		break;
	case ECONNREFUSED:
		snprintf(msg, len,
			 "no agent is running there (connection refused): the socket is left from "
			 "an agent that stopped; start p11agentd, which replaces it");
		break;
	case EACCES:
	case EPERM:
		if (dir != NULL)
			snprintf(msg, len,
				 "uid %u may not enter the socket's directory %s (permission "
				 "denied); " SOCKET_GROUP_ADVICE,
				 (unsigned)geteuid(), dir);
		else
			snprintf(
			    msg, len,
			    "the agent's socket is there, but uid %u may not use it (permission "
			    "denied); " SOCKET_GROUP_ADVICE,
			    (unsigned)geteuid());
		break;
	default:
		snprintf(msg, len, "%s: is p11agentd running?", strerror(e));
		break;
	}
}

/* What a file of mode m is, when it is neither a socket nor a link: "a regular file", ... */
static const char *file_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "a file of another kind";
}

/*
 * Checks, as ssh does with its agent's socket, that no other user could have
 * put the socket at path: its directory (symbolic links resolved) is owned by
 * root or us and writable by nobody else, the directories above it are safe
 * (safepath_check), and the socket is a socket of root or ours. Then nobody
 * else can replace it before we connect to its real path, out_real.
 * given: the caller named the path (for the message when nothing is there).
 * Returns P11A_OK; P11A_ERR_CONNECT when there is nothing at path, this user
 * may not reach it, or it is no socket (a symbolic link excepted), with a
 * message that says which and what to do; P11A_ERR_UNSAFE_PATH when another
 * user could have put it there, or it is a symbolic link.
 */
static int check_socket(const char *path, int given, char *out_real, size_t real_len, char *msg,
			size_t msg_len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], real[PATH_MAX];
	const char *base = strrchr(path, '/');
	uid_t uid = geteuid();
	long agent_uid = trusted_agent_uid();
	struct stat st;
	int r, n;

	if (base == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else if (base == path) {
		snprintf(dir, sizeof(dir), "/");
		base++;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
		base++;
	}
	if (stat(dir, &st) != 0) {
		unreachable(errno, dir, given, msg, msg_len);
		return P11A_ERR_CONNECT;
	}
	r = safepath_check("the agent's socket directory", dir, uid, SAFEPATH_DIR, real,
			   sizeof(real), msg, msg_len);
	if (r == P11A_ERR_UNSAFE_PATH && realpath(dir, real) != NULL &&
	    agent_user_dir(real, uid, agent_uid) == P11A_OK)
		r = P11A_OK;
	if (r == P11A_ERR_UNSAFE_PATH) {
		n = (int)strlen(msg);
		snprintf(msg + n, msg_len - (size_t)n,
			 "; or use an agent socket of root's or your own (-S, %s), or set %s to "
			 "the user of an agent you trust",
			 P11A_SOCK_ENV, P11A_AGENT_USER_ENV);
		return r;
	}
	if (r != P11A_OK)
		return P11A_ERR_CONNECT;
	n = snprintf(out_real, real_len, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", base);
	if (n < 0 || (size_t)n >= real_len) {
		snprintf(msg, msg_len, "the socket's real path is longer than %zu bytes: %.900s/%s",
			 real_len - 1, real, base);
		return P11A_ERR_CONNECT;
	}
	if (lstat(out_real, &st) != 0) {
		unreachable(errno, real, given, msg, msg_len);
		return P11A_ERR_CONNECT;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(msg, msg_len,
			 "%s is a symbolic link, not a socket: give the socket's own path",
			 out_real);
		return P11A_ERR_UNSAFE_PATH;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(msg, msg_len,
			 "%s is %s, not a socket; -S or %s must name the socket p11agentd "
			 "listens on",
			 out_real, file_kind(st.st_mode), P11A_SOCK_ENV);
		return P11A_ERR_CONNECT;
	}
	if (st.st_uid != 0 && st.st_uid != uid &&
	    (agent_uid < 0 || st.st_uid != (uid_t)agent_uid)) {
		snprintf(msg, msg_len,
			 "the socket %s is owned by uid %u, not by root or uid %u: another user's "
			 "agent, or one put there by another user; use an agent of root or "
			 "your own, or set %s to the user of an agent you trust",
			 out_real, (unsigned)st.st_uid, (unsigned)uid, P11A_AGENT_USER_ENV);
		return P11A_ERR_UNSAFE_PATH;
	}
	return P11A_OK;
}

int p11a_connect(const char *path, struct p11a_conn **out_conn)
{
	char real[sizeof(((struct sockaddr_un *)0)->sun_path)], why[1024];
	struct p11a_conn *conn;
	struct sockaddr_un sun;
	struct proto_msg msg = {.op = PROTO_OP_HELLO, .n = 1}, rep;
	int r, given = path != NULL;

	connect_message[0] = '\0';
	if (path == NULL && *(path = p11a_default_socket()) == '\0') {
		const char *xdg = getenv("XDG_RUNTIME_DIR");

		snprintf(connect_message, sizeof(connect_message),
			 xdg == NULL || *xdg == '\0'
			     ? "no socket to connect to: " P11A_SOCK_ENV
			       " is not set, nor XDG_RUNTIME_DIR (without it p11agentd makes a "
			       "directory of its own): set " P11A_SOCK_ENV
			       " to the socket p11agentd printed"
			     : "no socket to connect to: $XDG_RUNTIME_DIR/p11agent/agent.sock is "
			       "too long: set " P11A_SOCK_ENV);
		return P11A_ERR_CONNECT;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		return P11A_ERR_NOMEM;
	conn->fd = conn->rx.fd = -1;
	conn->next_id = 1;
	conn->busy_poll_us = busy_poll_setting();
	conn->timeout_s = timeout_setting();
	snprintf(conn->path, sizeof(conn->path), "%s", path);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		conn_set_message(conn, "the socket path is longer than %zu bytes",
				 sizeof(sun.sun_path) - 1);
		r = P11A_ERR_CONNECT;
		goto out;
	}
	if ((conn->out = buf_new(0)) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	if ((r = check_socket(path, given, real, sizeof(real), why, sizeof(why))) != P11A_OK) {
		conn_set_message(conn, "%s", why);
		goto out;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, real, strlen(real) + 1);
	if ((conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    !set_timeouts(conn->fd, conn->timeout_s)) {
		conn_set_message(conn, "cannot make a socket: %s", strerror(errno));
		r = P11A_ERR_CONNECT;
		goto out;
	}
	conn->rx.fd = conn->fd;
	conn->rx.timeout_ms = (int)(conn->timeout_s * 1000u);
	if (connect(conn->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			conn_set_message(
			    conn,
			    "the agent did not accept the connection within %u s: it is "
			    "stopped, frozen or overloaded (" P11A_TIMEOUT_ENV " sets the limit)",
			    conn->timeout_s);
			r = P11A_ERR_CONNECT;
			goto out;
		}
		unreachable(errno, NULL, given, why, sizeof(why));
		conn_set_message(conn, "%s", why);
		r = P11A_ERR_CONNECT;
		goto out;
	}
	msg.f[0] = proto_u32(P11A_PROTOCOL_VERSION);
	if ((r = call(conn, &msg, &rep)) != P11A_OK) {
		if (r == P11A_ERR_IO) {
			if (conn->message == NULL)
				conn_set_message(conn, "the agent closed the connection before it "
						       "answered; see p11agentd's log");
			r = P11A_ERR_CONNECT;
		}
		goto out;
	}
	if (rep.f[0].u32 != P11A_PROTOCOL_VERSION) {
		r = P11A_ERR_VERSION;
		goto out;
	}
	conn_drop_reply(conn);
	*out_conn = conn;
	conn = NULL;
	r = P11A_OK;
out:
	if (conn != NULL)
		snprintf(connect_message, sizeof(connect_message), "%s",
			 conn->message != NULL ? conn->message : p11a_strerror(r));
	p11a_close(conn);
	return r;
}

int p11a_ping(struct p11a_conn *conn)
{
	static const uint8_t probe[] = "p11agent-ping";
	struct proto_msg msg = {.op = PROTO_OP_PING, .n = 1}, rep;
	int r;

	msg.f[0] = proto_str(probe, sizeof(probe) - 1);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	if (rep.f[0].len != sizeof(probe) - 1 || memcmp(rep.f[0].p, probe, rep.f[0].len) != 0)
		r = P11A_ERR_PROTOCOL;
	conn_drop_reply(conn);
	return r;
}

void p11a_keys_free(struct p11a_key_info *keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		proto_key_info_clear(&keys[i]);
	free(keys);
}

/* The smallest list entry: eleven empty strings and six u32 (proto.h). */
#define MIN_ENTRY_LEN 68

/*
 * Reads the '*' field of a LIST or VERSIONS reply: u32 count, then count
 * entries. Drops the reply.
 */
static int take_list(struct p11a_conn *conn, const struct proto_field *f,
		     struct p11a_key_info **out_keys, size_t *out_n)
{
	struct p11a_key_info *keys = NULL;
	struct buf b;
	uint32_t count;
	size_t n = 0;
	int r;

	buf_view(&b, f->p, f->len);
	/* Each entry takes at least MIN_ENTRY_LEN bytes: a count beyond that is a lie. */
	if (buf_get_u32(&b, &count) != P11A_OK || count > buf_avail(&b) / MIN_ENTRY_LEN) {
		r = P11A_ERR_PROTOCOL;
		goto out;
	}
	if ((keys = calloc(count + 1, sizeof(*keys))) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	for (n = 0; n < count; n++)
		if ((r = proto_list_get(&b, &keys[n])) != P11A_OK)
			goto out;
	if (buf_avail(&b) != 0) {
		r = P11A_ERR_PROTOCOL;
		goto out;
	}
	*out_keys = keys;
	*out_n = n;
	keys = NULL;
	r = P11A_OK;
out:
	p11a_keys_free(keys, n);
	conn_drop_reply(conn);
	return r;
}

/* Reads the '*' field of a reply that is one list entry (KEY_INFO, KEYGEN, ROTATE). */
static int take_entry(struct p11a_conn *conn, const struct proto_field *f,
		      struct p11a_key_info **out_key)
{
	struct p11a_key_info *k = NULL;
	struct buf b;
	int r;

	buf_view(&b, f->p, f->len);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	if ((r = proto_list_get(&b, k)) != P11A_OK)
		goto out;
	if (buf_avail(&b) != 0) {
		proto_key_info_clear(k);
		r = P11A_ERR_PROTOCOL;
		goto out;
	}
	*out_key = k;
	k = NULL;
out:
	free(k);
	conn_drop_reply(conn);
	return r;
}

int p11a_list(struct p11a_conn *conn, struct p11a_key_info **out_keys, size_t *out_n)
{
	struct proto_msg msg = {.op = PROTO_OP_LIST, .n = 0}, rep;
	int r;

	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	return take_list(conn, &rep.f[0], out_keys, out_n);
}

int p11a_describe_key(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_key)
{
	struct proto_msg msg = {.op = PROTO_OP_KEY_INFO, .n = 1}, rep;
	int r;

	if (!check_key(key))
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	return take_entry(conn, &rep.f[0], out_key);
}

int conn_take_bytes(const struct proto_field *f, uint8_t **out, size_t *out_len)
{
	uint8_t *p;

	if ((p = malloc(f->len + 1)) == NULL)
		return P11A_ERR_NOMEM;
	if (f->len > 0)
		memcpy(p, f->p, f->len);
	*out = p;
	*out_len = f->len;
	return P11A_OK;
}

int p11a_pubkey(struct p11a_conn *conn, const char *key, uint8_t **out_der, size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_PUBKEY, .n = 1}, rep;
	int r;

	if (!check_key(key))
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	r = conn_take_bytes(&rep.f[0], out_der, out_len);
	conn_drop_reply(conn);
	return r;
}

int p11a_cert(struct p11a_conn *conn, const char *key, uint8_t **out_der, size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_CERT, .n = 1}, rep;
	int r = P11A_OK;

	if (!check_key(key))
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	if (rep.f[0].len == 0) {
		*out_der = NULL;
		*out_len = 0;
	} else {
		r = conn_take_bytes(&rep.f[0], out_der, out_len);
	}
	conn_drop_reply(conn);
	return r;
}

/* The flags of p11a_sign() that travel on the wire. */
#define WIRE_SIGN_FLAGS (P11A_SIGN_ECDSA_RAW | P11A_SIGN_SALT(0xffff))

/* Hashes data with the algorithm's digest into md. */
static int hash(const struct p11a_alg_info *ai, const uint8_t *data, size_t len,
		uint8_t md[EVP_MAX_MD_SIZE], size_t *out_len)
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_get_digestbyname(ai->hash), NULL) != 1 ||
	    n != ai->digest_len)
		return P11A_ERR_CRYPTO;
	*out_len = n;
	return P11A_OK;
}

/*
 * The algorithm a signing request uses: alg, or the key's default when
 * P11A_ALG_NONE (asked of the agent). Checks flags against it.
 */
static int sign_alg(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		    const struct p11a_alg_info **out_ai)
{
	const struct p11a_alg_info *ai = NULL;
	struct p11a_key_info *info = NULL;
	int r;

	if (!check_key(key) ||
	    (flags & ~(P11A_SIGN_PREHASHED | P11A_SIGN_ECDSA_RAW | P11A_SIGN_SALT(0xffff))) ||
	    (!(flags & P11A_SIGN_PSS_SALT) && P11A_SIGN_SALT_LEN(flags) != 0))
		return P11A_ERR_INVALID_ARG;
	if (alg != P11A_ALG_NONE && (ai = p11a_alg_by_id(alg)) == NULL)
		return P11A_ERR_INVALID_ARG;
	if (ai == NULL) {
		/* The key's default decides what the input must be. */
		if ((r = p11a_describe_key(conn, key, &info)) != P11A_OK)
			return r;
		ai = p11a_alg_by_name(info->default_alg);
		p11a_keys_free(info, 1);
		if (ai == NULL) {
			conn_set_message(conn, "key '%s' has no signing algorithm", key);
			return P11A_ERR_NOT_SUPPORTED;
		}
	}
	if (ai->input == P11A_INPUT_MESSAGE && (flags & P11A_SIGN_PREHASHED)) {
		conn_set_message(conn, "%s signs the message itself: --prehashed does not apply",
				 ai->name);
		return P11A_ERR_INVALID_ARG;
	}
	*out_ai = ai;
	return P11A_OK;
}

/*
 * What a signing request carries for data: its digest (RSA, ECDSA, unless
 * prehashed), hashed into md, or the data itself. Sets *out_p, *out_len.
 */
static int sign_input(struct p11a_conn *conn, const struct p11a_alg_info *ai, uint32_t flags,
		      const uint8_t *data, size_t data_len, uint8_t md[EVP_MAX_MD_SIZE],
		      const uint8_t **out_p, size_t *out_len)
{
	int r;

	if (ai->input == P11A_INPUT_DIGEST && !(flags & P11A_SIGN_PREHASHED)) {
		if ((r = hash(ai, data, data_len, md, out_len)) != P11A_OK)
			return r;
		*out_p = md;
		return P11A_OK;
	}
	if (data_len > P11A_MAX_DATA)
		return too_large(conn, data_len);
	*out_p = data;
	*out_len = data_len;
	return P11A_OK;
}

int conn_sign_msg(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		  const uint8_t *data, size_t data_len, uint8_t md[EVP_MAX_MD_SIZE],
		  struct proto_msg *msg)
{
	const struct p11a_alg_info *ai = NULL;
	const uint8_t *in;
	size_t in_len;
	int r;

	if (data == NULL && data_len > 0)
		return P11A_ERR_INVALID_ARG;
	if ((r = sign_alg(conn, key, alg, flags, &ai)) != P11A_OK)
		return r;
	if ((r = sign_input(conn, ai, flags, data, data_len, md, &in, &in_len)) != P11A_OK)
		return r;
	memset(msg, 0, sizeof(*msg));
	msg->op = PROTO_OP_SIGN;
	msg->n = 4;
	msg->f[0] = proto_key(key);
	msg->f[1] = proto_u32((uint32_t)ai->alg);
	msg->f[2] = proto_u32(flags & WIRE_SIGN_FLAGS);
	msg->f[3] = proto_str(in, in_len);
	return P11A_OK;
}

int p11a_sign(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
	      const uint8_t *data, size_t data_len, uint8_t **out_sig, size_t *out_sig_len)
{
	struct proto_msg msg, rep;
	uint8_t md[EVP_MAX_MD_SIZE];
	int r;

	if ((r = conn_sign_msg(conn, key, alg, flags, data, data_len, md, &msg)) != P11A_OK)
		return r;
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	r = conn_take_bytes(&rep.f[0], out_sig, out_sig_len);
	conn_drop_reply(conn);
	return r;
}

/* Frees sigs[0..n) (n signatures and their lengths). */
static void free_sigs(uint8_t **sigs, size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p11a_free(sigs[i], lens[i]);
}

int p11a_sign_batch(struct p11a_conn *conn, const char *key, p11a_alg alg, uint32_t flags,
		    struct p11a_sign_item *items, size_t n)
{
	struct proto_msg msg = {.op = PROTO_OP_SIGN_BATCH, .n = 4}, rep;
	const struct p11a_alg_info *ai = NULL;
	uint8_t md[EVP_MAX_MD_SIZE], **sigs = NULL;
	struct buf *b = NULL, view;
	const uint8_t *in;
	size_t in_len, i, done = 0, *lens = NULL;
	uint32_t count;
	int r;

	if (items == NULL || n == 0 || n > P11A_MAX_BATCH)
		return P11A_ERR_INVALID_ARG;
	for (i = 0; i < n; i++)
		if (items[i].data == NULL && items[i].data_len > 0)
			return P11A_ERR_INVALID_ARG;
	if ((r = sign_alg(conn, key, alg, flags, &ai)) != P11A_OK)
		return r;
	if ((b = buf_new(P11A_MAX_DATA)) == NULL || (sigs = calloc(n, sizeof(*sigs))) == NULL ||
	    (lens = calloc(n, sizeof(*lens))) == NULL) {
		r = P11A_ERR_NOMEM;
		goto out;
	}
	r = buf_put_u32(b, (uint32_t)n);
	for (i = 0; i < n && r == P11A_OK; i++) {
		if ((r = sign_input(conn, ai, flags, items[i].data, items[i].data_len, md, &in,
				    &in_len)) == P11A_OK &&
		    (r = buf_put_string(b, in, in_len)) == P11A_ERR_TOO_LARGE)
			r = too_large(conn, buf_len(b) + in_len);
	}
	if (r != P11A_OK)
		goto out;
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)ai->alg);
	msg.f[2] = proto_u32(flags & WIRE_SIGN_FLAGS);
	msg.f[3] = proto_rest(buf_data(b), buf_len(b));
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		goto out;
	buf_view(&view, rep.f[1].p, rep.f[1].len);
	if (buf_get_u32(&view, &count) != P11A_OK || count != n) {
		r = P11A_ERR_PROTOCOL;
		goto out;
	}
	/* Into sigs first: the caller's items change only once all of them are here. */
	for (done = 0; done < n; done++) {
		struct proto_field f = {.type = 's'};

		if (buf_get_string_direct(&view, P11A_MAX_FRAME, &f.p, &f.len) != P11A_OK) {
			r = P11A_ERR_PROTOCOL;
			goto out;
		}
		if ((r = conn_take_bytes(&f, &sigs[done], &lens[done])) != P11A_OK)
			goto out;
	}
	if (buf_avail(&view) != 0) {
		r = P11A_ERR_PROTOCOL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		items[i].sig = sigs[i];
		items[i].sig_len = lens[i];
	}
	done = 0; /* the caller owns them now */
	r = P11A_OK;
out:
	if (sigs != NULL && lens != NULL)
		free_sigs(sigs, lens, done);
	free(sigs);
	free(lens);
	explicit_bzero(md, sizeof(md));
	buf_free(b);
	conn_drop_reply(conn);
	return r;
}

int p11a_verify_hmac(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *data,
		     size_t data_len, const uint8_t *mac, size_t mac_len, int *out_valid)
{
	struct proto_msg msg = {.op = PROTO_OP_VERIFY_HMAC, .n = 4}, rep;
	int r;

	if (!check_key(key) || (data == NULL && data_len > 0) || (mac == NULL && mac_len > 0))
		return P11A_ERR_INVALID_ARG;
	if (data_len > P11A_MAX_DATA)
		return too_large(conn, data_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)alg);
	msg.f[2] = proto_str(data, data_len);
	msg.f[3] = proto_str(mac, mac_len);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	*out_valid = rep.f[0].u32 == 1;
	conn_drop_reply(conn);
	return P11A_OK;
}

/*
 * Sends a request whose reply is one string of secret bytes (a plaintext, a
 * session key, a shared secret) and hands them over in a fresh buffer. The
 * copy in the reply buffer is wiped with it.
 */
static int call_secret(struct p11a_conn *conn, struct proto_msg *msg, uint8_t **out,
		       size_t *out_len)
{
	struct proto_msg rep;
	int r;

	if ((r = call(conn, msg, &rep)) != P11A_OK)
		return r;
	r = conn_take_bytes(&rep.f[0], out, out_len);
	conn_drop_reply(conn);
	return r;
}

int p11a_decrypt(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		 size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_DECRYPT, .n = 4};

	if (!check_key(key) || (label == NULL && label_len > 0) || (in == NULL && in_len > 0))
		return P11A_ERR_INVALID_ARG;
	if (in_len + label_len > P11A_MAX_DATA)
		return too_large(conn, in_len + label_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)alg);
	msg.f[2] = proto_str(label, label_len);
	msg.f[3] = proto_str(in, in_len);
	return call_secret(conn, &msg, out, out_len);
}

int p11a_unwrap(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, size_t key_len, const uint8_t *in, size_t in_len, uint8_t **out,
		size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_UNWRAP, .n = 5};

	if (!check_key(key) || (label == NULL && label_len > 0) || (in == NULL && in_len > 0) ||
	    key_len > UINT32_MAX)
		return P11A_ERR_INVALID_ARG;
	if (in_len + label_len > P11A_MAX_DATA)
		return too_large(conn, in_len + label_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)alg);
	msg.f[2] = proto_u32((uint32_t)key_len);
	msg.f[3] = proto_str(label, label_len);
	msg.f[4] = proto_str(in, in_len);
	return call_secret(conn, &msg, out, out_len);
}

int p11a_derive(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *peer_spki,
		size_t peer_len, uint8_t **out, size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_DERIVE, .n = 3};

	if (!check_key(key) || peer_spki == NULL || peer_len == 0)
		return P11A_ERR_INVALID_ARG;
	if (peer_len > P11A_MAX_DATA)
		return too_large(conn, peer_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)alg);
	msg.f[2] = proto_str(peer_spki, peer_len);
	return call_secret(conn, &msg, out, out_len);
}

int p11a_audit_check(struct p11a_conn *conn, const uint8_t *prev, size_t prev_len,
		     const uint8_t *record, size_t record_len, const uint8_t *mac, size_t mac_len,
		     int *out_valid)
{
	struct proto_msg msg = {.op = PROTO_OP_AUDIT_VERIFY, .n = 3}, rep;
	int r;

	if (prev == NULL || prev_len != P11A_AUDIT_MAC_LEN || mac == NULL ||
	    mac_len != P11A_AUDIT_MAC_LEN || record == NULL || record_len == 0)
		return P11A_ERR_INVALID_ARG;
	if (record_len > P11A_MAX_DATA)
		return too_large(conn, record_len);
	msg.f[0] = proto_str(prev, prev_len);
	msg.f[1] = proto_str(record, record_len);
	msg.f[2] = proto_str(mac, mac_len);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	*out_valid = rep.f[0].u32 == 1;
	conn_drop_reply(conn);
	return P11A_OK;
}

int p11a_audit_head(struct p11a_conn *conn, uint64_t *out_seq, uint8_t out_mac[32])
{
	struct proto_msg msg = {.op = PROTO_OP_AUDIT_HEAD, .n = 0}, rep;
	int r;

	if (out_seq == NULL || out_mac == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	if (rep.f[2].len != P11A_AUDIT_MAC_LEN) {
		conn_drop_reply(conn);
		return P11A_ERR_PROTOCOL;
	}
	*out_seq = (uint64_t)rep.f[0].u32 << 32 | rep.f[1].u32;
	memcpy(out_mac, rep.f[2].p, P11A_AUDIT_MAC_LEN);
	conn_drop_reply(conn);
	return P11A_OK;
}

/* The types p11a_keygen() takes (p11agent.h). */
static const char *const keygen_types[] = {
    "rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", "ec:P-521",
    "ed25519",	"hmac:256", "hmac:384", "hmac:512", "aes:128",	"aes:256",
};

static int keygen_type_ok(const char *type)
{
	if (type == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(keygen_types) / sizeof(keygen_types[0]); i++)
		if (strcmp(type, keygen_types[i]) == 0)
			return 1;
	return 0;
}

/* Every P11A_OP_* bit. */
#define ALL_OPS                                                                                    \
	(P11A_OP_SIGN | P11A_OP_DECRYPT | P11A_OP_UNWRAP | P11A_OP_DERIVE | P11A_OP_VERIFY |       \
	 P11A_OP_WRAP)

int p11a_keygen(struct p11a_conn *conn, const char *name, const char *type, uint32_t ops,
		struct p11a_key_info **out_key)
{
	struct proto_msg msg = {.op = PROTO_OP_KEYGEN, .n = 3}, rep;
	int r;

	if (!check_key(name) || !keygen_type_ok(type) || (ops & ~ALL_OPS) != 0 || out_key == NULL)
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(name);
	msg.f[1] = proto_cstr(type);
	msg.f[2] = proto_u32(ops);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	return take_entry(conn, &rep.f[0], out_key);
}

int p11a_rotate(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_key)
{
	struct proto_msg msg = {.op = PROTO_OP_ROTATE, .n = 1}, rep;
	int r;

	if (!check_key(key) || out_key == NULL)
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	return take_entry(conn, &rep.f[0], out_key);
}

int p11a_versions(struct p11a_conn *conn, const char *key, struct p11a_key_info **out_keys,
		  size_t *out_n)
{
	struct proto_msg msg = {.op = PROTO_OP_VERSIONS, .n = 1}, rep;
	int r;

	if (!check_key(key) || out_keys == NULL || out_n == NULL)
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	return take_list(conn, &rep.f[0], out_keys, out_n);
}

int p11a_trim(struct p11a_conn *conn, const char *key, uint32_t below, uint32_t *out_destroyed)
{
	struct proto_msg msg = {.op = PROTO_OP_TRIM, .n = 2}, rep;
	int r;

	if (!check_key(key) || below < 1 || out_destroyed == NULL)
		return P11A_ERR_INVALID_ARG;
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32(below);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	*out_destroyed = rep.f[0].u32;
	conn_drop_reply(conn);
	return P11A_OK;
}

int p11a_rewrap(struct p11a_conn *conn, const char *key, p11a_alg alg, const uint8_t *label,
		size_t label_len, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	struct proto_msg msg = {.op = PROTO_OP_REWRAP, .n = 4};

	if (!check_key(key) || (label == NULL && label_len > 0) || in == NULL || in_len == 0 ||
	    out == NULL || out_len == NULL)
		return P11A_ERR_INVALID_ARG;
	if (in_len + label_len > P11A_MAX_DATA)
		return too_large(conn, in_len + label_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_u32((uint32_t)alg);
	msg.f[2] = proto_str(label, label_len);
	msg.f[3] = proto_str(in, in_len);
	/* A wrapped key is no secret, but the reply's bytes are wiped all the same. */
	return call_secret(conn, &msg, out, out_len);
}

int p11a_cert_import(struct p11a_conn *conn, const char *key, const uint8_t *der, size_t der_len)
{
	struct proto_msg msg = {.op = PROTO_OP_CERT_IMPORT, .n = 2}, rep;
	int r;

	if (!check_key(key) || der == NULL || der_len == 0)
		return P11A_ERR_INVALID_ARG;
	if (der_len > P11A_MAX_DATA)
		return too_large(conn, der_len);
	msg.f[0] = proto_key(key);
	msg.f[1] = proto_str(der, der_len);
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	conn_drop_reply(conn);
	return P11A_OK;
}

int p11a_reload(struct p11a_conn *conn, uint32_t *out_n_keys)
{
	struct proto_msg msg = {.op = PROTO_OP_RELOAD, .n = 0}, rep;
	int r;

	if (out_n_keys == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	*out_n_keys = rep.f[0].u32;
	conn_drop_reply(conn);
	return P11A_OK;
}

int p11a_status(struct p11a_conn *conn, struct p11a_status **out_status)
{
	struct proto_msg msg = {.op = PROTO_OP_STATUS, .n = 0}, rep;
	struct p11a_status *st = NULL;
	struct buf b;
	int r;

	if (out_status == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = call(conn, &msg, &rep)) != P11A_OK)
		return r;
	buf_view(&b, rep.f[0].p, rep.f[0].len);
	if ((r = proto_status_get(&b, &st)) == P11A_OK && buf_avail(&b) != 0)
		r = P11A_ERR_PROTOCOL;
	conn_drop_reply(conn);
	if (r != P11A_OK) {
		p11a_status_free(st);
		return r;
	}
	*out_status = st;
	return P11A_OK;
}
