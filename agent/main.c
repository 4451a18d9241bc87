/*
 * p11agentd: holds keys in a PKCS#11 token and serves them over a Unix socket.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include "activation.h"
#include "audit.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "pin.h"
#include "policy.h"
#include "proto.h"
#include "ratelimit.h"
#include "reload.h"
#include "safepath.h"
#include "server.h"
#include "startup.h"
#include "systemd.h"
#include "token.h"

/* Exit codes of p11agentd (p11agentd.8). */
#define EXIT_START 1 /* could not start: token, PIN, socket, a file others could change */
#define EXIT_USAGE 2 /* bad command line or config file */
/* The secure heap for secrets: room for hundreds of requests in flight; more spill over. */
#define AGENT_SECRET_HEAP (256 * 1024)

static struct server *the_server;

/* How this p11agentd starts (or, with -k, stops another): the ssh-agent-like part. */
struct start {
	int kill;	 /* -k */
	int shell_given; /* -s or -c */
	enum startup_shell shell;
	char config[PATH_MAX];					  /* --config's real path, or "" */
	const char *pidfile_arg;				  /* --pidfile as given */
	char pidfile[PATH_MAX];					  /* its absolute path, or "" */
	char tmpdir[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* private socket dir, or "" */
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];	  /* absolute */
	char default_config[PATH_MAX]; /* where the config is when --config is not given */
	int config_default;	       /* and it was read from there */
	struct activation act;	       /* the sockets a service manager passed */
	int managed; /* under a service manager: it passed sockets, or waits for READY=1 */
};

/* The name of the native socket's descriptor (FileDescriptorName= in p11agentd.socket). */
#define NATIVE_FD_NAME "agent"

/*
 * The fronts served on sockets of their own beside the native protocol's,
 * each named by a config key (and the flag of the same name). A new front is
 * one row here and one adapter file (front.h).
 */
static const struct extra_front {
	const char *key;     /* the config key and --flag naming its socket */
	const char *fd_name; /* its FileDescriptorName= under socket activation */
	size_t cfg_offset;   /* where struct agent_config keeps that path */
	const struct front *front;
	const char *what; /* for the log */
} extra_fronts[] = {
    {"ssh-socket", "ssh", offsetof(struct agent_config, ssh_socket), &front_ssh,
     "the SSH agent protocol"},
};
#define N_EXTRA_FRONTS (sizeof(extra_fronts) / sizeof(extra_fronts[0]))

/* Only writes to the server's pipe: the server loop does the work (server_run). */
static void on_signal(int sig);

/*
 * SIGTERM, SIGINT and SIGHUP to handler: on_signal while a server runs,
 * SIG_IGN once it stops (a second signal must not reach a server being
 * freed).
 */
static void set_stop_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		server_hup(the_server);
	else
		server_stop(the_server);
}

/*
 * SIGHUP, from server_run()'s thread: reopen the audit file (logrotate),
 * then read the config and index the token again (reload.h).
 */
static void on_hup(void *arg)
{
	struct agent_ctx *ctx = arg;
	size_t n_keys;

	(void)systemd_notify("RELOADING=1");
	if (ctx->audit != NULL) {
		if (audit_reopen(ctx->audit) != P11A_OK)
			log_error("SIGHUP: cannot reopen the audit trail: audited requests are "
				  "refused until a SIGHUP reopens it");
		else
			log_info("SIGHUP: audit trail reopened");
	}
	reload_hup(ctx); /* it logs what it did, or that it follows a key change in progress */
	pthread_rwlock_rdlock(ctx->view);
	n_keys = token_key_count(ctx->tok);
	pthread_rwlock_unlock(ctx->view);
	/* Serving either way: the new config, or the old one (a broken file is refused). */
	(void)systemd_notify("READY=1");
	(void)systemd_status("serving %zu keys", n_keys);
}

/* From server_run()'s thread at SIGTERM or SIGINT, before requests in flight drain. */
static void on_stop(void *arg)
{
	(void)arg;
	(void)systemd_notify("STOPPING=1\nSTATUS=stopping: finishing the requests in flight");
}

/* The token's state changes (token_options.on_state): a STATUS= line for systemctl status. */
static void on_token_state(const char *status)
{
	(void)systemd_status("%s", status);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: p11agentd [-s | -c] [--config FILE] [--module PATH] [--token URI]\n"
		"                 [--pin-source file:PATH|env:VAR|credential:NAME|fd:N]\n"
		"                 [--socket PATH]\n"
		"                 [--ssh-socket PATH]\n"
		"                 [--pidfile FILE] [--foreground]\n"
		"                 [--log-level error|warn|info|debug] [--new-audit-chain]\n"
		"       p11agentd [-s | -c] -k\n"
		"       p11agentd --help | --version\n"
		"\n"
		"Started in the background, prints the shell lines that set P11AGENT_SOCK and\n"
		"P11AGENT_PID: eval \"$(p11agentd --config FILE)\". -k stops the agent named by\n"
		"P11AGENT_PID. -s: sh syntax, -c: csh syntax (default: from $SHELL).\n"
		"Without --config: %s/p11agent/p11agent.conf for root,\n"
		"$XDG_CONFIG_HOME/p11agent/p11agent.conf for other users, when it is there.\n"
		"Under systemd (socket activation, NOTIFY_SOCKET) it stays in the foreground.\n"
		"See p11agentd(8) and p11agent.conf(5).\n",
		P11A_SYSCONFDIR);
}

/*
 * Forbids core dumps and ptrace by same-uid processes: the PIN is in here.
 * Makes sure fds 0, 1 and 2 are open, so that no socket or file of ours
 * lands there and is later replaced by /dev/null (ready()) or written to by
 * a stray printf.
 */
static void harden(void)
{
	struct rlimit rl = {0, 0};
	int fd;

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	do {
		fd = open("/dev/null", O_RDWR); /* not CLOEXEC: it may become stdio */
	} while (fd >= 0 && fd <= 2);
	if (fd < 0)
		exit(EXIT_START);
	close(fd);
}

/*
 * Raises the soft limit on open files to what max-connections needs (one fd
 * each, plus the token's and ours), within the hard limit: beyond it, accept
 * would fail with EMFILE before the connection limit says BUSY.
 */
static void raise_nofile(unsigned max_connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("max-connections %u: only %llu open files allowed (ulimit -n)",
			 max_connections, (unsigned long long)rl.rlim_cur);
}

/* Seconds from the config as milliseconds, capped where poll()'s int still holds them. */
static unsigned secs_to_ms(unsigned secs)
{
	return secs > 2000000u ? 2000000000u : secs * 1000u;
}

/*
 * Forks before anything touches the token (never fork after C_Initialize).
 * The parent waits until the child says it is ready, then prints the shell
 * lines that name the socket and the child's pid, and exits 0; or, when the
 * child dies first, exits with its status. Returns in the child with the
 * write end of the ready pipe.
 */
static int daemonize(struct secret **pin, const struct start *st)
{
	int p[2], status;
	pid_t pid;
	char c;

	fflush(NULL); /* nothing buffered is written twice */
	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		fprintf(stderr, "p11agentd: cannot daemonize: %s\n", strerror(errno));
		exit(EXIT_START);
	}
	if (pid > 0) {
		/* The parent only waits: it must not keep a copy of the PIN meanwhile. */
		secret_free(*pin);
		*pin = NULL;
		close(p[1]);
		if (read(p[0], &c, 1) == 1) {
			if (startup_print_env(stdout, st->shell, st->sock, pid) != 0)
				fprintf(stderr,
					"p11agentd: cannot print the shell lines (%s); the agent "
					"runs as pid %ld on %s\n",
					strerror(errno), (long)pid, st->sock);
			exit(0);
		}
		/* The child removes its directory itself, unless it was killed. */
		if (st->tmpdir[0] != '\0')
			(void)rmdir(st->tmpdir);
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			exit(WEXITSTATUS(status));
		exit(EXIT_START);
	}
	close(p[0]);
	(void)setsid();
	return p[1];
}

/* Detaches stdio once ready, and tells the waiting parent. */
static void ready(int ready_fd)
{
	int fd;

	if (ready_fd < 0)
		return;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	log_set_syslog(1);
	(void)!write(ready_fd, "r", 1);
	close(ready_fd);
	(void)!chdir("/");
}

/*
 * The pin-source attribute of the token URI (RFC 7512), or NULL. The caller
 * frees it.
 */
static char *uri_pin_source(const char *uri)
{
	P11KitUri *u;
	const char *src;
	char *out = NULL;

	if (uri == NULL || (u = p11_kit_uri_new()) == NULL)
		return NULL;
	if (p11_kit_uri_parse(uri, P11_KIT_URI_FOR_TOKEN, u) == P11_KIT_URI_OK &&
	    (src = p11_kit_uri_get_pin_source(u)) != NULL)
		out = strdup(src);
	p11_kit_uri_free(u);
	return out;
}

/*
 * The module's real path into out when no other user could change it or its
 * directories (safepath_check); a file name alone is looked for where p11-kit
 * looks. Returns P11A_OK, or P11A_ERR_UNSAFE_PATH or P11A_ERR_INVALID_ARG
 * (no such file) with a message.
 */
static int trust_module(const char *module, char *out, size_t out_len, char *msg, size_t msg_len)
{
	char path[PATH_MAX];

	if (strchr(module, '/') == NULL)
		snprintf(path, sizeof(path), "%s/%s", P11A_P11KIT_MODULE_PATH, module);
	else
		snprintf(path, sizeof(path), "%s", module);
	return safepath_check("PKCS#11 module", path, geteuid(), 0, out, out_len, msg, msg_len);
}

/*
 * Refuses an audit-file whose directory another user could change: returns
 * P11A_ERR_UNSAFE_PATH with a message (P11A_ERR_INVALID_ARG: no such
 * directory, which audit_open() reports).
 */
static int trust_audit_dir(const char *file, char *msg, size_t msg_len)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	if ((slash = strrchr(dir, '/')) == NULL)
		return P11A_OK; /* not absolute: conf.c refuses it */
	slash[slash == dir ? 1 : 0] = '\0';
	return safepath_check("audit-file directory", dir, geteuid(), SAFEPATH_DIR, NULL, 0, msg,
			      msg_len);
}

/*
 * Reports a config_set() error for the option --key: its message starts with
 * the key's name, which is said once.
 */
static void option_error(const char *key, const char *msg)
{
	size_t n = strlen(key);

	if (strncmp(msg, key, n) == 0 && msg[n] == ':')
		fprintf(stderr, "p11agentd: --%s%s\n", key, msg + n);
	else
		fprintf(stderr, "p11agentd: --%s: %s\n", key, msg);
	exit(EXIT_USAGE);
}

/*
 * The long name of the option whose getopt value is val, when it has no
 * short form (getopt_long reports a missing value by val alone); or NULL.
 */
static const char *long_only_name(const struct option *opts, const char *shorts, int val)
{
	if (val == 0 || strchr(shorts, val) != NULL)
		return NULL;
	for (; opts->name != NULL; opts++)
		if (opts->val == val)
			return opts->name;
	return NULL;
}

/*
 * Parses the command line into cfg: --config first, flags then override it.
 * *out_audit_flags: AUDIT_NEW_CHAIN for --new-audit-chain (a flag only, never
 * a config key: each new chain is a deliberate act). The ssh-agent-like
 * flags (-k, -s, -c, --pidfile) go to st, and are not config keys either.
 */
static void parse_args(int argc, char **argv, struct agent_config *cfg, unsigned *out_audit_flags,
		       struct start *st)
{
	static const char shorts[] = "F:m:t:p:S:fl:hVksc";
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'F'},
	    {"module", required_argument, NULL, 'm'},
	    {"token", required_argument, NULL, 't'},
	    {"pin-source", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 'S'},
	    {"ssh-socket", required_argument, NULL, 'H'},
	    {"pidfile", required_argument, NULL, 'P'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"new-audit-chain", no_argument, NULL, 'N'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_file = NULL;
	char msg[4096], real[PATH_MAX];
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (c == 'F')
			config_file = optarg;
		else if (c == 'k')
			st->kill = 1;
		else if (c == 's' || c == 'c') {
			st->shell_given = 1;
			st->shell = c == 's' ? STARTUP_SH : STARTUP_CSH;
		} else if (c == 'P')
			st->pidfile_arg = optarg;
		else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else if (c == 'V') {
			printf("p11agentd %s\n", PACKAGE_VERSION);
			exit(0);
		} else if (c == '?') {
			const char *lng = long_only_name(opts, shorts, optopt);

			if (lng != NULL)
				fprintf(stderr, "p11agentd: option --%s: missing its value\n", lng);
			else if (optopt != 0)
				fprintf(stderr,
					"p11agentd: option -%c: unknown or missing its value\n",
					optopt);
			else
				fprintf(stderr, "p11agentd: unknown option %s\n", argv[optind - 1]);
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "p11agentd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (st->kill)
		return;
	if (config_file == NULL &&
	    startup_default_config(st->default_config, sizeof(st->default_config)) == 1) {
		config_file = st->default_config;
		st->config_default = 1;
	}
	/* A path that does not resolve (or a pipe) is left to config_load_file() to report. */
	if (config_file != NULL) {
		c = safepath_check("config file", config_file, geteuid(), 0, real, sizeof(real),
				   msg, sizeof(msg));
		if (c == P11A_ERR_UNSAFE_PATH) {
			fprintf(stderr, "p11agentd: %s\n", msg);
			exit(EXIT_START);
		}
		if (c == P11A_OK)
			config_file = real;
		/* Read again at each reload, from / once daemonized. */
		if (config_file[0] == '/')
			snprintf(st->config, sizeof(st->config), "%s", config_file);
	}
	if (config_file != NULL && config_load_file(cfg, config_file, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "p11agentd: %s\n", msg);
		exit(EXIT_USAGE);
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		const char *key = NULL, *val = optarg;

		switch (c) {
		case 'm':
			key = "module";
			break;
		case 't':
			key = "token";
			break;
		case 'p':
			key = "pin-source";
			break;
		case 'S':
			key = "socket";
			break;
		case 'H':
			key = "ssh-socket";
			break;
		case 'f':
			key = "foreground";
			val = "yes";
			break;
		case 'l':
			key = "log-level";
			break;
		case 'N':
			*out_audit_flags |= AUDIT_NEW_CHAIN;
			break;
		default:
			break;
		}
		if (key != NULL && config_set(cfg, key, val, msg, sizeof(msg)) != 0)
			option_error(key, msg);
	}
}

/* -k: stops the agent named by P11AGENT_PID and prints the lines that unset the variables. */
static int stop_other(const struct start *st)
{
	char msg[1024];
	pid_t pid;
	int r;

	if ((r = startup_kill(&pid, msg, sizeof(msg))) != 0) {
		fprintf(stderr, "p11agentd: -k: %s\n", msg);
		return r;
	}
	if (startup_print_unset(stdout, st->shell, pid) != 0) {
		fprintf(stderr,
			"p11agentd: -k: agent %ld stopped, but the shell lines could not be "
			"printed: %s\n",
			(long)pid, strerror(errno));
		return STARTUP_KILL_FAILED;
	}
	return 0;
}

/*
 * The sockets the service manager passed (socket activation) into st->act,
 * each matched to its front by name: NATIVE_FD_NAME the native protocol,
 * an extra front's fd_name its own. Exits with a message when they cannot
 * be.
 */
static void take_activated(struct start *st)
{
	struct activation_name names[1 + N_EXTRA_FRONTS] = {{NATIVE_FD_NAME, &front_native}};
	char msg[1024];

	for (size_t i = 0; i < N_EXTRA_FRONTS; i++) {
		names[1 + i].name = extra_fronts[i].fd_name;
		names[1 + i].front = extra_fronts[i].front;
	}
	if (activation_take(&st->act, names, 1 + N_EXTRA_FRONTS, msg, sizeof(msg)) != P11A_OK) {
		fprintf(stderr, "p11agentd: %s\n", msg);
		exit(EXIT_START);
	}
}

/*
 * The socket's absolute path into st->sock: --socket (or socket =), else
 * the default under XDG_RUNTIME_DIR, else a directory of its own made here
 * (st->tmpdir), as ssh-agent does. Exits with a message when there is none.
 */
static void socket_path(const struct agent_config *cfg, struct start *st)
{
	char path[sizeof(st->sock)], msg[1024];
	int r, i;

	if ((i = activation_index(&st->act, &front_native)) >= 0) {
		if (server_socket_path(st->act.fd[i].fd, st->sock, sizeof(st->sock)) != P11A_OK ||
		    st->sock[0] == '\0')
			snprintf(st->sock, sizeof(st->sock), "descriptor %d", st->act.fd[i].fd);
		if (cfg->socket != NULL)
			log_info("socket %s: not made, the service manager passed %s", cfg->socket,
				 st->sock);
		return;
	}
	if (cfg->socket != NULL) {
		if (startup_abspath("--socket", cfg->socket, st->sock, sizeof(st->sock), msg,
				    sizeof(msg)) != P11A_OK)
			goto usage;
		return;
	}
	if ((r = proto_default_socket(path, sizeof(path))) == P11A_OK) {
		if (startup_abspath("the default socket", path, st->sock, sizeof(st->sock), msg,
				    sizeof(msg)) != P11A_OK)
			goto usage;
		return;
	}
	if (r != P11A_ERR_NOT_SUPPORTED) {
		snprintf(msg, sizeof(msg),
			 "the default socket path ($XDG_RUNTIME_DIR/p11agent/agent.sock) is too "
			 "long: pass --socket");
		goto usage;
	}
	if (startup_private_dir(st->tmpdir, sizeof(st->tmpdir), msg, sizeof(msg)) != P11A_OK) {
		fprintf(stderr, "p11agentd: %s\n", msg);
		exit(EXIT_START);
	}
	if (snprintf(st->sock, sizeof(st->sock), "%s/agent.sock", st->tmpdir) >=
	    (int)sizeof(st->sock)) {
		(void)rmdir(st->tmpdir);
		snprintf(msg, sizeof(msg),
			 "XDG_RUNTIME_DIR is not set and %s/agent.sock is too long for a socket: "
			 "set XDG_RUNTIME_DIR, a shorter TMPDIR, or pass --socket",
			 st->tmpdir);
		goto usage;
	}
	log_info("XDG_RUNTIME_DIR is not set: the socket is in a directory of its own, %s",
		 st->tmpdir);
	return;
usage:
	fprintf(stderr, "p11agentd: %s\n", msg);
	exit(EXIT_USAGE);
}

/*
 * Opens the socket of every extra front the config names, made as the main
 * one. A relative path is taken from the directory p11agentd started in.
 */
static int listen_extra(struct server *srv, const struct agent_config *cfg, const struct start *st,
			char *msg, size_t msg_len)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	for (size_t i = 0; i < N_EXTRA_FRONTS; i++) {
		const struct extra_front *x = &extra_fronts[i];
		const char *given =
		    *(char *const *)(const void *)((const char *)cfg + x->cfg_offset);
		int rc;

		if (activation_index(&st->act, x->front) >= 0) {
			log_info("%s from the service manager%s%s%s", x->what,
				 given != NULL ? " (" : "", given != NULL ? given : "",
				 given != NULL ? " is not made)" : "");
			continue;
		}
		if (given == NULL)
			continue;
		if ((rc = startup_abspath(x->key, given, path, sizeof(path), msg, msg_len)) !=
		    P11A_OK)
			return rc;
		if (strcmp(path, st->sock) == 0) {
			snprintf(msg, msg_len,
				 "%s %s: the same path as the main socket; give it one of its own",
				 x->key, path);
			return P11A_ERR_INVALID_ARG;
		}
		if ((rc = server_listen(srv, path, x->front, msg, msg_len)) != P11A_OK)
			return rc;
		log_info("%s on %s", x->what, path);
	}
	return P11A_OK;
}

/*
 * Every socket the agent serves: those the service manager passed, and the
 * native and extra fronts' of the config that it did not.
 */
static int open_sockets(struct server *srv, const struct agent_config *cfg, const struct start *st,
			char *msg, size_t msg_len)
{
	int rc;

	if ((rc = activation_adopt(&st->act, srv, msg, msg_len)) != P11A_OK ||
	    (activation_index(&st->act, &front_native) < 0 &&
	     (rc = server_listen(srv, st->sock, &front_native, msg, msg_len)) != P11A_OK))
		return rc;
	return listen_extra(srv, cfg, st, msg, msg_len);
}

/*
 * The token refused the PIN at start, under a service manager, which would
 * start the agent again at the next client and the PIN be tried again until
 * the token locks. So the agent holds its sockets without trying the PIN
 * again: every connection is refused with TOKEN_UNAVAILABLE and why, until
 * SIGTERM. Returns the exit status: EXIT_START (it could not start).
 */
static int hold_refused(const struct agent_config *cfg, const struct start *st, const char *why)
{
	struct server_options sopt;
	char msg[1024], text[1536];

	log_error("%s", why);
	memset(&sopt, 0, sizeof(sopt));
	sopt.max_connections = cfg->max_connections;
	sopt.socket_group = cfg->socket_group;
	if (server_new(&sopt, &the_server, msg, sizeof(msg)) != P11A_OK ||
	    open_sockets(the_server, cfg, st, msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		return EXIT_START;
	}
	snprintf(text, sizeof(text),
		 "the token refused the PIN when the agent started (%.600s): %s", why,
		 TOKEN_PIN_NOT_RETRIED);
	server_refuse_all(the_server, P11A_ERR_TOKEN_UNAVAILABLE, text);
	set_stop_signals(on_signal); /* SIGHUP: nothing to reload (no on_hup) */
	log_error("the PIN is not tried again: every client is refused until the agent is "
		  "restarted");
	(void)systemd_notify(
	    "READY=1\nSTATUS=PIN refused: not tried again; fix the PIN source, then restart");
	(void)server_run(the_server, NULL);
	set_stop_signals(SIG_IGN);
	return EXIT_START;
}

/* Removes what start-up made beside the socket: the pid file, the private directory. */
static void remove_startup_files(const struct start *st)
{
	if (st->pidfile[0] != '\0')
		startup_remove_pidfile(st->pidfile, getpid());
	if (st->tmpdir[0] != '\0')
		(void)rmdir(st->tmpdir);
}

int main(int argc, char **argv)
{
	struct agent_config cfg;
	struct token_options topt;
	struct token *tok = NULL;
	struct agent_ctx ctx = {.tok = NULL};
	pthread_rwlockattr_t view_attr;
	pthread_rwlock_t view;
	pthread_mutex_t change = PTHREAD_MUTEX_INITIALIZER;
	struct server_options sopt;
	struct secret *pin = NULL;
	struct sigaction sa;
	struct start st;
	enum log_level lvl = LOG_LVL_INFO;
	char msg[4096], module[PATH_MAX];
	unsigned audit_flags = 0;
	int ready_fd = -1, rc, status = EXIT_START;

	harden();
	memset(&st, 0, sizeof(st));
	config_init(&cfg);
	parse_args(argc, argv, &cfg, &audit_flags, &st);
	/* Before any fork: LISTEN_PID names this process. */
	if (!st.kill)
		take_activated(&st);
	/* A service manager's (it passed sockets, or waits for READY=1): it watches this process.
	 */
	st.managed = systemd_notify_socket_ours() || st.act.n > 0;
	if (st.managed)
		cfg.foreground = 1;
	if (!st.shell_given)
		st.shell = startup_shell_from_env();
	if (st.kill) {
		config_clear(&cfg);
		return stop_other(&st);
	}
	if (cfg.module == NULL) {
		if (st.config[0] == '\0' && st.default_config[0] != '\0')
			fprintf(stderr,
				"p11agentd: no PKCS#11 module: pass --module PATH, or set 'module' "
				"in a config file (--config FILE; without it %s, which is not "
				"there)\n",
				st.default_config);
		else
			fprintf(stderr,
				"p11agentd: no PKCS#11 module: pass --module PATH or set 'module' "
				"in the config file\n");
		exit(EXIT_USAGE);
	}
	if (cfg.log_level != NULL && log_level_parse(cfg.log_level, &lvl) != 0) {
		fprintf(stderr, "p11agentd: log level '%s': expected error, warn, info or debug\n",
			cfg.log_level);
		exit(EXIT_USAGE);
	}
	log_set_level(lvl);
	if (st.config_default)
		log_info("read the default config file %s", st.config);
	if (st.pidfile_arg != NULL &&
	    startup_abspath("--pidfile", st.pidfile_arg, st.pidfile, sizeof(st.pidfile), msg,
			    sizeof(msg)) != P11A_OK) {
		fprintf(stderr, "p11agentd: %s\n", msg);
		exit(EXIT_USAGE);
	}
	socket_path(&cfg, &st);
	if ((!cfg.foreground || st.shell_given) &&
	    startup_check_printable(st.sock, msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* until the server can take it: never a reason to die */

	/*
	 * Nothing another user could change is loaded (the config file was
	 * checked before it was read): the module, the PIN file, the audit
	 * trail's directory.
	 */
	if ((rc = trust_module(cfg.module, module, sizeof(module), msg, sizeof(msg))) ==
		P11A_ERR_UNSAFE_PATH ||
	    (cfg.audit_file != NULL &&
	     trust_audit_dir(cfg.audit_file, msg, sizeof(msg)) == P11A_ERR_UNSAFE_PATH)) {
		log_error("%s", msg);
		goto out;
	}
	if (rc != P11A_OK) /* not found: token_open() says so */
		snprintf(module, sizeof(module), "%s", cfg.module);
	/* Read before forking: an env: source is cleared in both processes. */
	if (cfg.pin_source == NULL)
		cfg.pin_source = uri_pin_source(cfg.token);
	if (cfg.pin_source != NULL && pin_read(cfg.pin_source, &pin, msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}
	if (!cfg.foreground)
		ready_fd = daemonize(&pin, &st);
	/*
	 * Secrets from here on (the token's PIN copy, plaintexts, session keys)
	 * live in one locked heap instead of an mlock/munlock pair each.
	 */
	if ((rc = secret_heap_init(AGENT_SECRET_HEAP)) == 1)
		log_warn("the secure heap cannot be locked in memory (RLIMIT_MEMLOCK under %u "
			 "KiB?): secrets are locked one by one where they can be",
			 (unsigned)(AGENT_SECRET_HEAP / 1024));
	else if (rc != 0)
		log_info("no secure heap: secrets are locked one by one");
	if (metrics_new(&ctx.metrics) != P11A_OK) {
		log_error("out of memory");
		goto out;
	}
	memset(&topt, 0, sizeof(topt));
	topt.module = module;
	topt.uri = cfg.token;
	topt.pin = pin;
	topt.pin_source = cfg.pin_source;
	topt.pool_size = cfg.pool_size;
	topt.on_state = on_token_state;
	topt.hold_on_refused_pin = st.managed;
	rc = token_open(&topt, &tok, msg, sizeof(msg));
	secret_free(pin); /* the token keeps its own locked copy for logging in again */
	pin = NULL;
	if (rc == P11A_ERR_DENIED && st.managed) {
		status = hold_refused(&cfg, &st, msg);
		goto out;
	}
	if (rc != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}
	if (reload_bind(tok, &cfg, msg, sizeof(msg)) != P11A_OK ||
	    policy_new(&cfg, tok, geteuid(), &ctx.policy, msg, sizeof(msg)) != P11A_OK ||
	    audit_open(&cfg, tok, audit_flags, &ctx.audit, msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}
	if (ctx.audit != NULL && cfg.max_denied_per_uid > 0) {
		if (ratelimit_new(cfg.max_denied_per_uid, (int)geteuid(), ctx.audit,
				  &ctx.ratelimit) != P11A_OK) {
			log_error("out of memory");
			goto out;
		}
		if (ratelimit_start(ctx.ratelimit, msg, sizeof(msg)) != P11A_OK) {
			log_error("%s", msg);
			goto out;
		}
	}
	ctx.tok = tok;
	/* A change waits for requests in flight, and new ones wait for it. */
	pthread_rwlockattr_init(&view_attr);
	pthread_rwlockattr_setkind_np(&view_attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&view, &view_attr);
	pthread_rwlockattr_destroy(&view_attr);
	ctx.view = &view;
	ctx.change = &change;
	ctx.cfg = &cfg;
	ctx.config_file = st.config[0] != '\0' ? st.config : NULL;
	ctx.agent_uid = geteuid();
	memset(&sopt, 0, sizeof(sopt));
	sopt.max_connections = cfg.max_connections;
	sopt.max_frame = cfg.max_frame;
	sopt.idle_timeout_ms = secs_to_ms(cfg.idle_timeout);
	sopt.frame_timeout_ms = secs_to_ms(cfg.frame_timeout);
	sopt.drain_ms = secs_to_ms(cfg.drain_timeout);
	sopt.busy_poll_us = cfg.busy_poll;
	sopt.workers = cfg.workers;
	sopt.max_conns_per_uid = cfg.max_conns_per_uid;
	sopt.max_request_memory = (size_t)cfg.max_request_memory << 20;
	sopt.max_request_mem_uid = (size_t)cfg.max_request_mem_uid << 20;
	sopt.socket_group = cfg.socket_group;
	sopt.on_hup = on_hup;
	sopt.on_stop = on_stop;
	sopt.cb_arg = &ctx;
	raise_nofile(cfg.max_connections);
	if (st.act.n > 0 && cfg.socket_group != NULL)
		log_info("socket-group %s: for the sockets the agent makes; the socket units set "
			 "the group of theirs (SocketGroup=)",
			 cfg.socket_group);
	if (server_new(&sopt, &the_server, msg, sizeof(msg)) != P11A_OK ||
	    open_sockets(the_server, &cfg, &st, msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}
	ctx.server = the_server;
	set_stop_signals(on_signal);
	if (token_key_count(tok) == 0)
		log_warn("the token shows no keys: if it needs a login, give a PIN source "
			 "(--pin-source, or pin-source in the token URI)");
	if (st.pidfile[0] != '\0' &&
	    startup_write_pidfile(st.pidfile, getpid(), msg, sizeof(msg)) != P11A_OK) {
		log_error("%s", msg);
		goto out;
	}
	log_info("serving %zu keys on %s", token_key_count(tok), st.sock);
	if (ready_fd < 0 && st.shell_given &&
	    startup_print_env(stdout, st.shell, st.sock, getpid()) != 0)
		log_warn("cannot print the shell lines on standard output: %s", strerror(errno));
	ready(ready_fd);
	ready_fd = -1;
	/* Logged in (when there is a PIN), indexed, listening: a service manager may go on. */
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %zu keys on %s", token_key_count(tok),
		 st.sock);
	if (systemd_notify(msg) < 0)
		log_warn("cannot tell the service manager the agent is ready (NOTIFY_SOCKET)");
	rc = server_run(the_server, &ctx);
	set_stop_signals(SIG_IGN); /* stopping already */
	if (rc == P11A_ERR_BUSY) {
		/* Threads still use the token: do not pull it from under them. */
		log_warn("exiting with requests still in flight");
		ratelimit_flush(ctx.ratelimit);
		remove_startup_files(&st);
		_exit(0);
	}
	if (rc != P11A_OK)
		goto out;
	log_info("stopped");
	status = 0;
out:
	server_close(the_server);
	remove_startup_files(&st);
	ratelimit_free(ctx.ratelimit);
	audit_close(ctx.audit);
	policy_free(ctx.policy);
	token_close(tok);
	metrics_free(ctx.metrics);
	config_clear(&cfg);
	return status;
}
