/*
 * server: the Unix socket, the accept loop, one thread per connection.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "busypoll.h"
#include "frameio.h"
#include "front.h"
#include "log.h"
#include "proto.h"
#include "quota.h"
#include "safepath.h"
#include "secret.h"
#include "server.h"

/* Defaults of struct server_options (p11agent.conf(5) gives the same). */
#define SERVER_MAX_CONNS 1024
#define SERVER_FRAME_TIMEOUT_MS 30000
#define SERVER_DRAIN_MS 5000
#define SERVER_THREAD_STACK (256 * 1024)
#define SERVER_CONNS_PER_UID 64
#define SERVER_REQUEST_MEMORY ((size_t)64 << 20)
#define SERVER_REQUEST_MEM_UID ((size_t)16 << 20)
/* Least request memory, for all and per uid: a whole frame and its length. */
#define SERVER_MIN_MEMORY ((size_t)P11A_MAX_FRAME + 4)
/* A connection's input buffer (on its thread's stack): most frames fit. */
#define SERVER_INBUF 16384
/* Bytes written to the control pipe by the signal handlers. */
/* server_refuse_all(): how long a connection's first request is waited for. */
#define SERVER_REFUSE_WAIT_MS 250
#define SERVER_CTL_STOP 'x'
#define SERVER_CTL_HUP 'h'

struct conn {
	struct server *srv;
	const struct front *front;
	int fd;
	struct caller peer;
	void *state; /* the front's per-connection state */
	struct conn *next, *prev;
};

/* A listening socket and the front that serves it. */
struct listener {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	const struct front *front;
};

struct server {
	struct listener ls[SERVER_MAX_SOCKETS];
	size_t n_ls;
	int has_group; /* socket-group: every socket is made for gid */
	gid_t gid;
	int stop_pipe[2];	   /* SERVER_CTL_* bytes from the signal handlers */
	struct server_options opt; /* socket_group NULL: only server_new uses it */
	struct agent_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct conn *conns; /* live connections */
	unsigned nconns;
	struct quota *quota; /* what each peer uid holds; made by server_run */
	int refuse_code;     /* server_refuse_all(): every connection refused so; 0: served */
	char refuse_why[1024];
};

/*
 * Looks up a group by name, or by number when no group has that name.
 * Returns P11A_OK with *out_gid, or P11A_ERR_INTERNAL with a message.
 */
static int find_group(const char *name, gid_t *out_gid, char *msg, size_t msg_len)
{
	struct group gr, *res = NULL;
	char buf[16384], *end;
	unsigned long n;
	int e;

	e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (e == 0 && res != NULL) {
		*out_gid = res->gr_gid;
		return P11A_OK;
	}
	errno = 0;
	n = strtoul(name, &end, 10);
	if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0 &&
	    n < (unsigned long)(gid_t)-1) {
		*out_gid = (gid_t)n;
		return P11A_OK;
	}
	snprintf(msg, msg_len, "socket-group: no group named '%s'%s%s", name, e != 0 ? ": " : "",
		 e != 0 ? strerror(e) : "");
	return P11A_ERR_INTERNAL;
}

/*
 * The socket's directory: created when missing, mode 0700, or 0710 and of
 * group gid when a socket group is set (its members may reach the socket but
 * not list the directory); its mode and group are set through a descriptor
 * of the new directory, opened without following a symbolic link. New or
 * not, it is then accepted only as a real directory (not a symbolic link)
 * owned by root or the agent's uid that neither group nor others may write,
 * below directories others cannot change either (safepath_check; a sticky
 * one like /tmp will do). That is what makes the socket's setup race-free:
 * no other user can add, rename or remove an entry in the directory, so the
 * socket bound there stays the agent's.
 */
static int make_dir(const char *path, int has_group, gid_t gid, char *msg, size_t msg_len)
{
	char dir[PATH_MAX], why[2048];
	char *slash;
	struct stat st;
	int fd = -1, r = P11A_ERR_INTERNAL;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (mkdir(dir, 0700) == 0) {
		errno = 0;
		if (has_group &&
		    ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		     fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
		     fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, 0710) != 0)) {
			snprintf(msg, msg_len,
				 "cannot give the socket directory %s to group %u: %s", dir,
				 (unsigned)gid, errno != 0 ? strerror(errno) : "it is not ours");
			goto out;
		}
	} else if (errno != EEXIST) {
		snprintf(msg, msg_len, "cannot create the socket directory %s: %s", dir,
			 strerror(errno));
		goto out;
	}
	r = safepath_check("socket directory", dir, geteuid(), SAFEPATH_DIR | SAFEPATH_NOFOLLOW,
			   NULL, 0, why, sizeof(why));
	if (r != P11A_OK) {
		snprintf(msg, msg_len,
			 "%s; or remove it (p11agentd creates it) or put the socket in a directory "
			 "of your own",
			 why);
		goto out;
	}
	/* An existing directory is left as it is; say when the group cannot pass it. */
	if (has_group && stat(dir, &st) == 0 && !(st.st_mode & 0001) &&
	    !(st.st_gid == gid && (st.st_mode & 0010)))
		log_warn("socket-group %u cannot reach the socket: %s is mode %04o, group %u",
			 (unsigned)gid, dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
	r = P11A_OK;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Binds fd to sun with the socket's mode and group from the first instant:
 * no chmod or chown by path follows, which a user able to rename a symbolic
 * link over the socket could redirect to another file. The mode comes from
 * the umask (bind makes the socket 0777 less the umask; 0600, or 0660 with a
 * group); the group from this thread's file-system gid, switched to gid
 * around bind (setfsgid changes only the calling thread). An agent that may
 * not switch to gid (not root, and gid only a supplementary group) gets the
 * group from a directory with the setgid bit and group gid, or fails. The
 * directory is private (make_dir), so the socket checked after bind is the
 * one bound.
 */
static int bind_socket(int fd, const struct sockaddr_un *sun, int has_group, gid_t gid, char *msg,
		       size_t msg_len)
{
	mode_t old_mask, want = has_group ? 0660 : 0600;
	gid_t old_fsgid = 0;
	struct stat st;
	int e = 0;

	old_mask = umask(has_group ? 0117 : 0177);
	if (has_group)
		old_fsgid = (gid_t)setfsgid(gid);
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) != 0)
		e = errno;
	if (has_group)
		setfsgid(old_fsgid);
	umask(old_mask);
	if (e != 0) {
		snprintf(msg, msg_len, "cannot bind %s: %s", sun->sun_path, strerror(e));
		return P11A_ERR_INTERNAL;
	}
	if (lstat(sun->sun_path, &st) != 0) {
		snprintf(msg, msg_len, "the socket %s: %s", sun->sun_path, strerror(errno));
		return P11A_ERR_INTERNAL;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != want) {
		snprintf(msg, msg_len, "the socket %s is not the one just made (mode %04o, uid %u)",
			 sun->sun_path, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		unlink(sun->sun_path);
		return P11A_ERR_INTERNAL;
	}
	if (has_group && st.st_gid != gid) {
		snprintf(msg, msg_len,
			 "cannot make the socket %s of group %u: p11agentd (uid %u) may not create "
			 "files of that group; run it as root or with that group as its primary "
			 "group, or give the socket's directory that group and the setgid bit "
			 "(chgrp %u DIR; chmod 2710 DIR)",
			 sun->sun_path, (unsigned)gid, (unsigned)geteuid(), (unsigned)gid);
		unlink(sun->sun_path);
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

/*
 * Copies opt into srv->opt, with the defaults for the zeros that cannot mean
 * anything else, and clamped to what the code allows. No opt: all defaults.
 */
static void set_options(struct server *srv, const struct server_options *opt)
{
	if (opt != NULL)
		srv->opt = *opt;
	else
		srv->opt.drain_ms = SERVER_DRAIN_MS;
	srv->opt.socket_group = NULL;
	if (srv->opt.max_connections == 0)
		srv->opt.max_connections = SERVER_MAX_CONNS;
	if (srv->opt.max_frame == 0 || srv->opt.max_frame > P11A_MAX_FRAME)
		srv->opt.max_frame = P11A_MAX_FRAME;
	if (srv->opt.max_frame < PROTO_MIN_BODY)
		srv->opt.max_frame = PROTO_MIN_BODY;
	if (srv->opt.frame_timeout_ms == 0)
		srv->opt.frame_timeout_ms = SERVER_FRAME_TIMEOUT_MS;
	if (srv->opt.max_conns_per_uid == 0)
		srv->opt.max_conns_per_uid = SERVER_CONNS_PER_UID;
	if (srv->opt.max_request_memory == 0)
		srv->opt.max_request_memory = SERVER_REQUEST_MEMORY;
	if (srv->opt.max_request_mem_uid == 0)
		srv->opt.max_request_mem_uid = SERVER_REQUEST_MEM_UID;
	if (srv->opt.max_request_memory < SERVER_MIN_MEMORY)
		srv->opt.max_request_memory = SERVER_MIN_MEMORY;
	if (srv->opt.max_request_mem_uid < SERVER_MIN_MEMORY)
		srv->opt.max_request_mem_uid = SERVER_MIN_MEMORY;
}

int server_listen(struct server *srv, const char *path, const struct front *front, char *msg,
		  size_t msg_len)
{
	struct listener *l;
	struct sockaddr_un sun;
	int r = P11A_ERR_INTERNAL;

	if (srv->n_ls >= SERVER_MAX_SOCKETS) {
		snprintf(msg, msg_len, "at most %d sockets", SERVER_MAX_SOCKETS);
		return P11A_ERR_INTERNAL;
	}
	l = &srv->ls[srv->n_ls];
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(msg, msg_len, "socket path is longer than %zu bytes: %s",
			 sizeof(sun.sun_path) - 1, path);
		return P11A_ERR_INTERNAL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((r = make_dir(path, srv->has_group, srv->gid, msg, msg_len)) != P11A_OK ||
	    (r = clear_stale(&sun, msg, msg_len)) != P11A_OK)
		return r;
	r = P11A_ERR_INTERNAL;
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(msg, msg_len, "socket: %s", strerror(errno));
		return r;
	}
	if ((r = bind_socket(l->fd, &sun, srv->has_group, srv->gid, msg, msg_len)) != P11A_OK)
		goto fail;
	r = P11A_ERR_INTERNAL;
	if (listen(l->fd, 128) != 0) {
		snprintf(msg, msg_len, "cannot listen on %s: %s", path, strerror(errno));
		unlink(path);
		goto fail;
	}
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->front = front;
	srv->n_ls++;
	return P11A_OK;
fail:
	close(l->fd);
	l->fd = -1;
	return r;
}

int server_new(const struct server_options *opt, struct server **out_srv, char *msg, size_t msg_len)
{
	struct server *srv;
	const char *group = opt != NULL ? opt->socket_group : NULL;
	int r = P11A_ERR_INTERNAL;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return P11A_ERR_NOMEM;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	for (size_t i = 0; i < SERVER_MAX_SOCKETS; i++)
		srv->ls[i].fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	set_options(srv, opt);
	if (group != NULL) {
		if ((r = find_group(group, &srv->gid, msg, msg_len)) != P11A_OK)
			goto out;
		srv->has_group = 1;
	}
	r = P11A_ERR_INTERNAL;
	if (pipe2(srv->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(msg, msg_len, "cannot make the control pipe: %s", strerror(errno));
		goto out;
	}
	*out_srv = srv;
	srv = NULL;
	r = P11A_OK;
out:
	server_close(srv);
	return r;
}

/* An int socket option of fd, or -1. */
static int sockopt_int(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int v;

	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 && len == sizeof(int) ? v : -1;
}

int server_socket_path(int fd, char *out, size_t out_len)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	size_t n;

	memset(&sun, 0, sizeof(sun));
	if (getsockname(fd, (struct sockaddr *)&sun, &len) != 0 || sun.sun_family != AF_UNIX)
		return P11A_ERR_INVALID_ARG;
	n = len > offsetof(struct sockaddr_un, sun_path)
		? len - offsetof(struct sockaddr_un, sun_path)
		: 0;
	if (n > 0 && sun.sun_path[0] == '\0')
		n = 0; /* an abstract address: no path */
	n = strnlen(sun.sun_path, n);
	snprintf(out, out_len, "%.*s", (int)n, sun.sun_path);
	return P11A_OK;
}

int server_adopt(struct server *srv, int fd, const struct front *front, const char *what, char *msg,
		 size_t msg_len)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int flags;

	if (srv->n_ls >= SERVER_MAX_SOCKETS) {
		snprintf(msg, msg_len, "at most %d sockets", SERVER_MAX_SOCKETS);
		return P11A_ERR_INVALID_ARG;
	}
	if (sockopt_int(fd, SO_DOMAIN) != AF_UNIX || sockopt_int(fd, SO_TYPE) != SOCK_STREAM ||
	    server_socket_path(fd, path, sizeof(path)) != P11A_OK) {
		snprintf(msg, msg_len,
			 "%s is not a Unix stream socket (ListenStream= with a path in the "
			 "socket unit)",
			 what);
		return P11A_ERR_INVALID_ARG;
	}
	if (sockopt_int(fd, SO_ACCEPTCONN) != 1) {
		snprintf(msg, msg_len, "%s (%s) is not listening (Accept=no in the socket unit)",
			 what, path[0] != '\0' ? path : "no path");
		return P11A_ERR_INVALID_ARG;
	}
	if ((flags = fcntl(fd, F_GETFD)) < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		snprintf(msg, msg_len, "%s: %s", what, strerror(errno));
		return P11A_ERR_INVALID_ARG;
	}
	srv->ls[srv->n_ls].fd = fd;
	srv->ls[srv->n_ls].path[0] = '\0'; /* not ours to remove */
	srv->ls[srv->n_ls].front = front;
	srv->n_ls++;
	return P11A_OK;
}

/* Async-signal-safe; errno is kept for the interrupted code. */
static void ctl(struct server *srv, char c)
{
	int saved = errno;

	if (srv != NULL && srv->stop_pipe[1] >= 0)
		(void)!write(srv->stop_pipe[1], &c, 1);
	errno = saved;
}

void server_stop(struct server *srv)
{
	ctl(srv, SERVER_CTL_STOP);
}

void server_hup(struct server *srv)
{
	ctl(srv, SERVER_CTL_HUP);
}

/* Closes every listening socket and removes it. */
static void close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->n_ls; i++) {
		if (srv->ls[i].fd >= 0)
			close(srv->ls[i].fd);
		srv->ls[i].fd = -1;
		if (srv->ls[i].path[0] != '\0')
			unlink(srv->ls[i].path);
		srv->ls[i].path[0] = '\0';
	}
}

unsigned server_connections(struct server *srv)
{
	unsigned n;

	pthread_mutex_lock(&srv->lock);
	n = srv->nconns;
	pthread_mutex_unlock(&srv->lock);
	return n;
}

void server_close(struct server *srv)
{
	if (srv == NULL)
		return;
	close_listeners(srv);
	if (srv->stop_pipe[0] >= 0)
		close(srv->stop_pipe[0]);
	if (srv->stop_pipe[1] >= 0)
		close(srv->stop_pipe[1]);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->idle);
	quota_free(srv->quota);
	free(srv);
}

/*
 * A connection's input: frames are received into in[], usually a whole frame
 * (or several) in one recv() (frameio.h: the timeout is set only when it
 * changes: the idle timeout between frames, what is left of the frame
 * timeout within a frame).
 */
struct reader {
	struct frameio_rx rx;
	int64_t gap_us; /* moving average: reply sent to next request, in us */
	size_t have;	/* bytes in in[] */
	uint8_t in[SERVER_INBUF];
};

/* Receives into rd->in until it holds want bytes (want <= SERVER_INBUF). */
static int fill(struct reader *rd, size_t want, int64_t deadline_ms)
{
	while (rd->have < want) {
		int left = frameio_ms_left(deadline_ms);
		ssize_t n;

		if (left == 0)
			return -1;
		if ((n = frameio_recv_some(&rd->rx, rd->in + rd->have, sizeof(rd->in) - rd->have,
					   left)) < 0)
			return -1;
		rd->have += (size_t)n;
	}
	return 0;
}

/*
 * Reads the rest of a frame body of len bytes, larger than in[], before the
 * deadline: what in[] holds after the length is its start. The connection
 * holds len bytes of the quota for it (hold_body). On success *out_body is
 * malloc'd; wipe and free it. in[] is left empty.
 */
static int read_big_body(struct reader *rd, uint32_t len, int64_t deadline_ms, uint8_t **out_body)
{
	size_t got = rd->have - 4;
	uint8_t *body;
	int r = -1;

	if ((body = malloc(len)) == NULL)
		return -1;
	memcpy(body, rd->in + 4, got);
	secret_wipe(rd->in, rd->have);
	rd->have = 0;
	if (frameio_recv_full(&rd->rx, body + got, len - got, deadline_ms) != 0)
		goto out;
	got = len;
	*out_body = body;
	body = NULL;
	r = 0;
out:
	if (body != NULL) {
		secret_wipe(body, got);
		free(body);
	}
	return r;
}

/*
 * Just after a reply: when this client's next request has been coming within
 * limit_us, poll for it that long instead of going to sleep. On virtual
 * machines, waking a thread whose CPU went idle costs tens of microseconds,
 * more than an ECDSA signature's whole overhead budget. It yields the CPU
 * between polls and sleeps as soon as another thread took it (the CPU is
 * busy, not going idle: nothing to gain); a client that pauses longer than
 * limit_us is waited for asleep, so an idle connection costs nothing.
 * Returns the bytes received into in[], or 0.
 */
static size_t busy_poll(struct reader *rd, unsigned limit_us, int64_t sent_us)
{
	ssize_t n;

	if (limit_us == 0 || rd->gap_us > (int64_t)limit_us)
		return 0;
	n = busypoll_recv(rd->rx.fd, rd->in, sizeof(rd->in), sent_us + limit_us);
	/* End of stream and errors: the blocking recv() that follows sees them again. */
	return n > 0 ? (size_t)n : 0;
}

/* Folds the gap before this request into the connection's moving average. */
static void note_gap(struct reader *rd, int64_t sent_us)
{
	int64_t gap = busypoll_now_us() - sent_us;

	rd->gap_us += (gap - rd->gap_us) / 8;
}

/* Drops the first used bytes of in[] (a frame answered), wiping them. */
static void consume(struct reader *rd, size_t used)
{
	size_t left = rd->have - used;

	if (left > 0)
		memmove(rd->in, rd->in + used, left);
	secret_wipe(rd->in + left, used);
	rd->have = left;
}

/*
 * Tells a client that is about to be dropped why, in one error frame with
 * opcode 0 and request id 0 (PROTOCOL.md), without waiting for it.
 */
static void refuse(const struct front *front, int fd, int code, const char *why)
{
	struct buf *b = buf_new(0);
	uint8_t sink[4096];

	if (b != NULL && front->refusal(b, code, why) == 0)
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

/* Bytes as whole MiB, rounded up, for messages. */
static size_t mib(size_t bytes)
{
	return (bytes + ((size_t)1 << 20) - 1) >> 20;
}

/* Why a connection cannot have which more bytes, for the client and the log. */
static void memory_full(const struct conn *c, enum quota_limit which, size_t held, char *why,
			size_t why_len)
{
	const struct server_options *opt = &c->srv->opt;

	if (which == QUOTA_STOPPED)
		snprintf(why, why_len, "the agent is stopping");
	else if (which == QUOTA_PER_UID)
		snprintf(why, why_len,
			 "requests of uid %d hold %zu MiB already (max-request-memory-per-uid %zu "
			 "MiB); try again later",
			 c->peer.uid, mib(held), mib(opt->max_request_mem_uid));
	else
		snprintf(why, why_len,
			 "requests hold %zu MiB already (max-request-memory %zu MiB); try again "
			 "later",
			 mib(held), mib(opt->max_request_memory));
}

/*
 * Takes len bytes of the quota for a frame body larger than in[], waiting
 * for room until the frame's deadline; *held counts what the connection
 * holds. When there is no room in time, tells the client BUSY and why;
 * the connection is then closed (the body cannot be skipped unread).
 */
static int hold_body(struct conn *c, size_t *held, size_t len, int64_t deadline_ms)
{
	enum quota_limit which;
	size_t now_held = 0;
	char why[200];

	if (quota_mem_take(c->srv->quota, c->peer.uid, len, deadline_ms, &which, &now_held) ==
	    P11A_OK) {
		*held += len;
		return 0;
	}
	memory_full(c, which, now_held, why, sizeof(why));
	log_info("uid %d pid %d: request of %zu bytes refused, connection closed: %s", c->peer.uid,
		 c->peer.pid, len, why);
	refuse(c->front, c->fd, P11A_ERR_BUSY, why);
	return -1;
}

/*
 * Makes what the connection holds of the quota (*held) match the reply in
 * out, now that the request's body is gone: a reply larger than in[] holds
 * its size until it is written (a client that does not read it is dropped
 * after frame-timeout), a smaller one nothing. A reply that does not fit in
 * what is left, without waiting, becomes a BUSY error reply to the same
 * request. Returns 0, or -1 when the connection must be closed.
 */
static int hold_reply(struct conn *c, size_t *held, struct buf *out)
{
	struct quota *q = c->srv->quota;
	size_t len = buf_len(out), want = len > SERVER_INBUF ? len : 0, now_held = 0;
	enum quota_limit which;
	char why[200];

	if (want <= *held) {
		quota_mem_put(q, c->peer.uid, *held - want);
		*held = want;
		return 0;
	}
	if (quota_mem_take(q, c->peer.uid, want - *held, 0, &which, &now_held) == P11A_OK) {
		*held = want;
		return 0;
	}
	quota_mem_put(q, c->peer.uid, *held);
	*held = 0;
	memory_full(c, which, now_held, why, sizeof(why));
	log_info("uid %d pid %d: reply of %zu bytes dropped: %s", c->peer.uid, c->peer.pid, len,
		 why);
	return c->front->replace_reply(out, P11A_ERR_BUSY, why);
}

/*
 * Takes c off the list. Once the count reaches zero, drain() returns and the
 * server, its quota with it, may be freed at once: what c holds of the quota
 * is given back first, and srv is not touched after the unlock.
 */
static void conn_unlink(struct conn *c)
{
	struct server *srv = c->srv;

	quota_conn_put(srv->quota, c->peer.uid);
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

/*
 * One connection: read a frame, answer it, until the client goes. The
 * protocol is request/reply, so a connection has at most one request in
 * flight: the next frame is not read before the reply is written.
 */
static void *conn_main(void *arg)
{
	struct conn *c = arg;
	const struct server_options *opt = &c->srv->opt;
	uint32_t max_frame =
	    opt->max_frame < c->front->max_frame ? opt->max_frame : c->front->max_frame;
	struct buf *out = buf_new(0);
	struct reader rd = {.rx = {.fd = c->fd}};
	uint8_t *body = NULL, *big = NULL;
	uint32_t len = 0;
	size_t held = 0;		    /* bytes of the server's quota this connection holds */
	int64_t deadline = -1, sent_us = 0; /* sent_us: when the last reply went, 0: none yet */
	int partial = 0;		    /* a frame was started and not finished */
	int big_out = 0;		    /* out grew past in[]'s size for this reply */
	int rc;

	while (out != NULL) {
		/* The first bytes may take idle-timeout; then the frame has a deadline. */
		if (rd.have == 0 && sent_us > 0)
			rd.have = busy_poll(&rd, opt->busy_poll_us, sent_us);
		if (rd.have == 0) {
			ssize_t n = frameio_recv_some(&rd.rx, rd.in, sizeof(rd.in),
						      (int)opt->idle_timeout_ms);

			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					log_info("uid %d pid %d: idle for %u ms, connection closed",
						 c->peer.uid, c->peer.pid, opt->idle_timeout_ms);
				break;
			}
			rd.have = (size_t)n;
		}
		if (sent_us > 0)
			note_gap(&rd, sent_us);
		deadline = frameio_now_ms() + opt->frame_timeout_ms;
		partial = 1;
		if (fill(&rd, 4, deadline) != 0)
			break;
		len = proto_frame_len(rd.in);
		if (len > max_frame || len < c->front->min_frame) {
			char why[80];

			/* Checked before anything is allocated; the stream cannot resync. */
			log_info("uid %d pid %d: frame of %u bytes refused, connection closed",
				 c->peer.uid, c->peer.pid, len);
			snprintf(why, sizeof(why), "frame length out of range: %u to %u bytes",
				 (unsigned)c->front->min_frame, max_frame);
			refuse(c->front, c->fd,
			       len > max_frame ? P11A_ERR_TOO_LARGE : P11A_ERR_BAD_REQUEST, why);
			partial = 0;
			break;
		}
		if (4 + (size_t)len <= sizeof(rd.in)) {
			if (fill(&rd, 4 + (size_t)len, deadline) != 0)
				break;
			body = rd.in + 4;
		} else {
			if (hold_body(c, &held, len, deadline) != 0) {
				partial = 0; /* refused, and logged so */
				break;
			}
			if (read_big_body(&rd, len, deadline, &big) != 0)
				break;
			body = big;
		}
		partial = 0;
		buf_reset(out);
		/* The request sees one view of the keys and policy (ops.h). */
		ops_view_enter(c->srv->ctx);
		rc = c->front->dispatch(c->srv->ctx, &c->peer, c->state, body, len, out);
		ops_view_leave(c->srv->ctx);
		if (rc != 0)
			break;
		if (big != NULL) {
			secret_wipe(big, len);
			free(big);
			big = NULL;
		} else {
			consume(&rd, 4 + (size_t)len);
		}
		body = NULL;
		big_out = buf_len(out) > SERVER_INBUF;
		if (hold_reply(c, &held, out) != 0 ||
		    frameio_send_full(c->fd, buf_data(out), buf_len(out),
				      frameio_now_ms() + opt->frame_timeout_ms) != 0)
			/* A client that does not read its reply is dropped like one that stalls. */
			break;
		sent_us = busypoll_now_us();
		buf_reset(out); /* the reply may be a session key: wipe it now */
		quota_mem_put(c->srv->quota, c->peer.uid, held);
		held = 0;
		if (big_out) {
			/* What a large reply grew is given back, not kept while idle. */
			buf_free(out);
			out = buf_new(0);
		}
	}
	if (partial && frameio_now_ms() >= deadline)
		log_info("uid %d pid %d: frame not complete within %u ms, connection closed",
			 c->peer.uid, c->peer.pid, opt->frame_timeout_ms);
	if (big != NULL) {
		secret_wipe(big, len);
		free(big);
	}
	secret_wipe(rd.in, rd.have);
	buf_free(out);
	quota_mem_put(c->srv->quota, c->peer.uid, held);
	/* Unlink first: once closed, the fd number may be reused by anyone. */
	conn_unlink(c);
	close(c->fd);
	if (c->state != NULL && c->front->state_free != NULL)
		c->front->state_free(c->state);
	free(c->state);
	free(c);
	return NULL;
}

/*
 * The peer's supplementary groups (SO_PEERGROUPS, Linux 4.13), at most
 * CALLER_MAX_GROUPS of them; none where the kernel cannot say.
 */
static void peer_groups(int fd, struct caller *peer)
{
#ifdef SO_PEERGROUPS
	gid_t small[CALLER_MAX_GROUPS], *g = small;
	socklen_t len = sizeof(small);
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) != 0) {
		if (errno != ERANGE || len == 0 || len > 65536 * sizeof(gid_t) ||
		    (g = malloc(len)) == NULL)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) != 0)
			goto out;
	}
	n = (int)(len / sizeof(gid_t));
	if (n > CALLER_MAX_GROUPS) {
		log_info("pid %d is in %d groups: only the first %d are considered", peer->pid, n,
			 CALLER_MAX_GROUPS);
		n = CALLER_MAX_GROUPS;
	}
	for (int i = 0; i < n; i++)
		peer->groups[i] = (unsigned)g[i];
	peer->n_groups = n;
out:
	if (g != small)
		free(g);
#else
	(void)fd;
	(void)peer;
#endif
}

/*
 * The peer's executable, for the audit trail: informative only (the pid may
 * be gone or reused). Left "" when /proc does not tell (another user's
 * process, unless the agent is root). A long path is cut, NUL-terminated.
 */
static void peer_exe(struct caller *peer)
{
	char proc[64];
	ssize_t n;

	peer->exe[0] = '\0';
	if (peer->pid <= 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/%d/exe", peer->pid);
	n = readlink(proc, peer->exe, sizeof(peer->exe) - 1);
	peer->exe[n > 0 ? (size_t)n : 0] = '\0';
}

/* Starts conn_main on c with every signal blocked: signals go to the main thread. */
static int start_thread(struct conn *c)
{
	pthread_attr_t attr;
	pthread_t th;
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void server_refuse_all(struct server *srv, int code, const char *why)
{
	srv->refuse_code = code;
	snprintf(srv->refuse_why, sizeof(srv->refuse_why), "%s", why);
}

static void accept_one(struct server *srv, const struct listener *l)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c = NULL;
	char why[120];
	unsigned report = 0;
	int fd, rc;

	if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100 * 1000); /* let connections drain */
		return;
	}
	if (srv->refuse_code != 0) {
		/*
		 * The client's first request is let in first (a short wait, on
		 * the accept loop: nothing is served anyway), so that the close
		 * after the refusal does not reset the connection under it.
		 */
		struct pollfd in = {.fd = fd, .events = POLLIN};

		(void)poll(&in, 1, SERVER_REFUSE_WAIT_MS);
		refuse(l->front, fd, srv->refuse_code, srv->refuse_why);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		goto out;
	}
	/* Any peer that can open the socket is served: the policy decides per key. */
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (l->front->state_size > 0 && (c->state = calloc(1, l->front->state_size)) == NULL))
		goto out;
	c->srv = srv;
	c->front = l->front;
	c->fd = fd;
	c->peer.uid = (int)cred.uid;
	c->peer.gid = (int)cred.gid;
	c->peer.pid = (int)cred.pid;
	if ((rc = quota_conn_take(srv->quota, c->peer.uid, frameio_now_ms(), &report)) != P11A_OK) {
		if (rc == P11A_ERR_BUSY && report > 0)
			log_warn("uid %d pid %d: max-connections-per-uid (%u) reached: %u "
				 "connection%s refused",
				 c->peer.uid, c->peer.pid, srv->opt.max_conns_per_uid, report,
				 report == 1 ? "" : "s");
		if (rc == P11A_ERR_BUSY)
			snprintf(why, sizeof(why),
				 "too many connections from uid %d (max-connections-per-uid %u); "
				 "try again later",
				 c->peer.uid, srv->opt.max_conns_per_uid);
		else
			snprintf(why, sizeof(why), "agent out of memory; try again later");
		refuse(l->front, fd, P11A_ERR_BUSY, why);
		goto out;
	}
	pthread_mutex_lock(&srv->lock);
	if (srv->nconns >= srv->opt.max_connections) {
		pthread_mutex_unlock(&srv->lock);
		quota_conn_put(srv->quota, c->peer.uid);
		log_warn("uid %d pid %d: %u connections already open, refused", (int)cred.uid,
			 (int)cred.pid, srv->opt.max_connections);
		refuse(l->front, fd, P11A_ERR_BUSY, "too many connections; try again later");
		goto out;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	pthread_mutex_unlock(&srv->lock);
	peer_groups(fd, &c->peer);
	peer_exe(&c->peer);
	log_debug("connection from uid %d gid %d pid %d (%s)", c->peer.uid, c->peer.gid,
		  c->peer.pid, c->peer.exe[0] != '\0' ? c->peer.exe : "executable unknown");

	if ((rc = start_thread(c)) == 0)
		return; /* the thread owns c and fd now */
	log_warn("cannot start a connection thread: %s", strerror(rc));
	refuse(l->front, fd, P11A_ERR_BUSY, "agent out of threads; try again later");
	conn_unlink(c);
out:
	close(fd);
	if (c != NULL)
		free(c->state);
	free(c);
}

/*
 * Stops reading from every connection and waits (bounded) for them to end.
 * Returns how many are still busy.
 */
static unsigned drain(struct server *srv)
{
	struct timespec until;
	unsigned left;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += srv->opt.drain_ms / 1000;
	until.tv_nsec += (long)(srv->opt.drain_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&srv->lock);
	/*
	 * A read waiting for the next frame sees EOF; a request in flight
	 * finishes, and so do requests already received into its buffer; one
	 * waiting for memory is refused.
	 */
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RD);
	quota_stop(srv->quota);
	while (srv->nconns > 0 && r == 0)
		r = pthread_cond_timedwait(&srv->idle, &srv->lock, &until);
	if ((left = srv->nconns) > 0)
		log_warn("%u connections still busy at shutdown", left);
	pthread_mutex_unlock(&srv->lock);
	return left;
}

/*
 * Reads what the signal handlers wrote: runs on_hup for a SERVER_CTL_HUP.
 * Returns 1 when a SERVER_CTL_STOP was among them.
 */
static int read_ctl(struct server *srv)
{
	char cmd[16];
	ssize_t n;
	int stop = 0, hup = 0;

	while ((n = read(srv->stop_pipe[0], cmd, sizeof(cmd))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			stop |= cmd[i] == SERVER_CTL_STOP;
			hup |= cmd[i] == SERVER_CTL_HUP;
		}
	}
	if (hup && srv->opt.on_hup != NULL)
		srv->opt.on_hup(srv->opt.cb_arg);
	return stop;
}

int server_run(struct server *srv, struct agent_ctx *ctx)
{
	struct quota_limits lim = {
	    .conns_per_uid = srv->opt.max_conns_per_uid,
	    .bytes = srv->opt.max_request_memory,
	    .bytes_per_uid = srv->opt.max_request_mem_uid,
	    .self_uid = (int)geteuid(),
	};
	struct pollfd pfd[SERVER_MAX_SOCKETS + 1];
	size_t n = srv->n_ls;

	if (srv->quota == NULL && quota_new(&lim, &srv->quota) != P11A_OK) {
		log_error("out of memory");
		return P11A_ERR_NOMEM;
	}
	srv->ctx = ctx;
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = srv->ls[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[n].fd = srv->stop_pipe[0];
	pfd[n].events = POLLIN;
	for (;;) {
		if (poll(pfd, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[n].revents && read_ctl(srv)) {
			if (srv->opt.on_stop != NULL)
				srv->opt.on_stop(srv->opt.cb_arg);
			break;
		}
		for (size_t i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(srv, &srv->ls[i]);
	}
	close_listeners(srv);
	return drain(srv) == 0 ? P11A_OK : P11A_ERR_BUSY;
}
