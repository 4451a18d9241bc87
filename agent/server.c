/*
 * server: the Unix sockets and the accept loop; the connections are the
 * event loop's (eventloop.c), their requests the workers' (workers.c).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "eventloop.h"
#include "frameio.h"
#include "front.h"
#include "log.h"
#include "proto.h"
#include "quota.h"
#include "safepath.h"
#include "server.h"
#include "workers.h"

/* Defaults of struct server_options (p11agent.conf(5) gives the same). */
#define SERVER_MAX_CONNS 10000
#define SERVER_FRAME_TIMEOUT_MS 30000
#define SERVER_DRAIN_MS 5000
#define SERVER_CONNS_PER_UID 64
#define SERVER_REQUEST_MEMORY ((size_t)64 << 20)
#define SERVER_REQUEST_MEM_UID ((size_t)16 << 20)
/* Least request memory, for all and per uid: a whole frame and its length. */
#define SERVER_MIN_MEMORY ((size_t)P11A_MAX_FRAME + 4)
/* server_refuse_all(): how long a connection's first request is waited for. */
#define SERVER_REFUSE_WAIT_MS 250
#define SERVER_CTL_STOP 'x'
#define SERVER_CTL_HUP 'h'

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
	struct quota *quota;	   /* what each peer uid holds; made by server_run */
	struct eventloop *loop;	   /* the connections; made by server_run */
	struct workers *workers;   /* run their requests */
	int refuse_code;	   /* server_refuse_all(): every connection refused so; 0: served */
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
	if (srv->opt.workers == 0)
		srv->opt.workers = workers_default();
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
	return srv->loop != NULL ? eventloop_connections(srv->loop) : 0;
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
	workers_stop(srv->workers);
	eventloop_free(srv->loop);
	quota_free(srv->quota);
	free(srv);
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

void server_refuse_all(struct server *srv, int code, const char *why)
{
	srv->refuse_code = code;
	snprintf(srv->refuse_why, sizeof(srv->refuse_why), "%s", why);
}

static void accept_one(struct server *srv, const struct listener *l)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct caller peer;
	char why[120];
	unsigned report = 0;
	int fd, rc;

	if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0) {
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
		eventloop_refuse(l->front, fd, srv->refuse_code, srv->refuse_why);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		log_warn("SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	/* Any peer that can open the socket is served: the policy decides per key. */
	memset(&peer, 0, sizeof(peer));
	peer.uid = (int)cred.uid;
	peer.gid = (int)cred.gid;
	peer.pid = (int)cred.pid;
	if ((rc = quota_conn_take(srv->quota, peer.uid, frameio_now_ms(), &report)) != P11A_OK) {
		if (rc == P11A_ERR_BUSY && report > 0)
			log_warn("uid %d pid %d: max-connections-per-uid (%u) reached: %u "
				 "connection%s refused",
				 peer.uid, peer.pid, srv->opt.max_conns_per_uid, report,
				 report == 1 ? "" : "s");
		if (rc == P11A_ERR_BUSY)
			snprintf(why, sizeof(why),
				 "too many connections from uid %d (max-connections-per-uid %u); "
				 "try again later",
				 peer.uid, srv->opt.max_conns_per_uid);
		else
			snprintf(why, sizeof(why), "agent out of memory; try again later");
		eventloop_refuse(l->front, fd, P11A_ERR_BUSY, why);
		close(fd);
		return;
	}
	/* Only this thread adds connections: the count cannot pass the limit. */
	if (eventloop_connections(srv->loop) >= srv->opt.max_connections) {
		quota_conn_put(srv->quota, peer.uid);
		log_warn("uid %d pid %d: %u connections already open, refused", peer.uid, peer.pid,
			 srv->opt.max_connections);
		eventloop_refuse(l->front, fd, P11A_ERR_BUSY,
				 "too many connections; try again later");
		close(fd);
		return;
	}
	peer_groups(fd, &peer);
	peer_exe(&peer);
	log_debug("connection from uid %d gid %d pid %d (%s)", peer.uid, peer.gid, peer.pid,
		  peer.exe[0] != '\0' ? peer.exe : "executable unknown");
	if ((rc = eventloop_add(srv->loop, fd, l->front, &peer)) != P11A_OK)
		log_warn("uid %d pid %d: connection not served: %s", peer.uid, peer.pid,
			 p11a_strerror(rc));
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
	struct eventloop_options lopt = {
	    .max_connections = srv->opt.max_connections,
	    .max_frame = srv->opt.max_frame,
	    .idle_timeout_ms = srv->opt.idle_timeout_ms,
	    .frame_timeout_ms = srv->opt.frame_timeout_ms,
	    .busy_poll_us = srv->opt.busy_poll_us,
	    .max_request_memory = srv->opt.max_request_memory,
	    .max_request_mem_uid = srv->opt.max_request_mem_uid,
	};
	struct pollfd pfd[SERVER_MAX_SOCKETS + 1];
	size_t n = srv->n_ls;
	unsigned left;
	char msg[256];

	if (srv->quota == NULL && quota_new(&lim, &srv->quota) != P11A_OK) {
		log_error("out of memory");
		return P11A_ERR_NOMEM;
	}
	lopt.quota = srv->quota;
	if (srv->refuse_code == 0 &&
	    (eventloop_new(&lopt, &srv->loop, msg, sizeof(msg)) != P11A_OK ||
	     workers_start(srv->loop, ctx, srv->opt.workers, &srv->workers, msg, sizeof(msg)) !=
		 P11A_OK)) {
		log_error("%s", msg);
		return P11A_ERR_NOMEM;
	}
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
	if (srv->loop == NULL)
		return P11A_OK;
	/*
	 * Reads end at what each client sent already, whose requests are
	 * answered; one waiting for memory is refused.
	 */
	if ((left = eventloop_drain(srv->loop, srv->opt.drain_ms)) > 0) {
		log_warn("%u connections still busy at shutdown", left);
		return P11A_ERR_BUSY; /* the workers still run: srv stays as it is */
	}
	workers_stop(srv->workers);
	srv->workers = NULL;
	return P11A_OK;
}
