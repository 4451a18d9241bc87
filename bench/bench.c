/*
 * p11agent-bench: the same operation on the same key through several paths
 * in one run (the module in-process, p11agentd, another module, the p11agent
 * OpenSSL provider, an SSH agent protocol socket), interleaved,
 * with ops/s, p50 and p99 latency, and each path's ratio to direct.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11agent.h"
#include "pinsrc.h"
#include "report.h"
#include "run.h"
#include "work.h"

#define MAX_PATHS 8
#define MAX_CLIENTS 1024
#define DEFAULT_MSG_LEN 64

struct opts {
	const char *module, *token, *pin_source, *socket, *key, *alg_name, *op_name, *paths;
	const char *provider_module, *ssh_socket;
	unsigned clients, batch, inflight;
	double seconds;
	size_t msg_len;
	int json;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: p11agent-bench --alg ALG [--key KEY] [--op sign|decrypt|unwrap]\n"
		"         [--module PATH --token URI --pin-source file:PATH|env:VAR]\n"
		"         [--socket PATH] [--ssh-socket PATH]\n"
		"         [--paths direct,agent,module:PATH,provider,ssh,ssh:PATH]\n"
		"         [--provider-module PATH] [--clients N] [--seconds S] [--batch N]\n"
		"         [--inflight N] [--msg-len N] [--json]\n"
		"ALG: an algorithm of p11agent: signing or HMAC (ecdsa-sha256, rsa-pkcs1-sha256,\n"
		"     rsa-pss-sha256, ed25519, hmac-sha256, ...), decryption (rsa-oaep-sha256,\n"
		"     ...), unwrapping (aes-kwp, aes-kw; rsa-oaep-* with --op unwrap), or ping\n"
		"     (agent path only).\n"
		"ssh: sign requests to the SSH agent at --ssh-socket (default $SSH_AUTH_SOCK);\n"
		"     ssh:PATH: to the one at PATH. --msg-len bytes of data a request.\n"
		"--inflight N: requests each client of the agent path keeps in flight on its\n"
		"     connection (1 to 64, default 1; signatures and ping, not with --batch);\n"
		"     the other paths keep one per client.\n");
}

static int usage_error(const char *what)
{
	fprintf(stderr, "p11agent-bench: %s\n", what);
	usage(stderr);
	return 2;
}

/* usage_error() with a printf format. */
__attribute__((format(printf, 1, 2))) static int usage_errorf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return usage_error(buf);
}

/* An unsigned number from lo to hi; -1 when s is not one. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long ul;

	errno = 0;
	ul = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || ul < lo || ul > hi)
		return -1;
	*out = ul;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"module", required_argument, NULL, 'm'},
	    {"token", required_argument, NULL, 't'},
	    {"pin-source", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 'S'},
	    {"key", required_argument, NULL, 'k'},
	    {"alg", required_argument, NULL, 'a'},
	    {"op", required_argument, NULL, 'o'},
	    {"paths", required_argument, NULL, 'P'},
	    {"provider-module", required_argument, NULL, 'M'},
	    {"ssh-socket", required_argument, NULL, 'H'},
	    {"clients", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 's'},
	    {"batch", required_argument, NULL, 'b'},
	    {"inflight", required_argument, NULL, 'i'},
	    {"msg-len", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	unsigned long ul;
	int c;

	memset(o, 0, sizeof(*o));
	o->clients = 1;
	o->batch = 1;
	o->inflight = 1;
	o->seconds = 3;
	o->msg_len = DEFAULT_MSG_LEN;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o->module = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'p':
			o->pin_source = optarg;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'a':
			o->alg_name = optarg;
			break;
		case 'o':
			o->op_name = optarg;
			break;
		case 'P':
			o->paths = optarg;
			break;
		case 'M':
			o->provider_module = optarg;
			break;
		case 'H':
			o->ssh_socket = optarg;
			break;
		case 'c':
			if (parse_uint(optarg, 1, MAX_CLIENTS, &ul) != 0)
				return usage_error("--clients: expected 1 to 1024");
			o->clients = (unsigned)ul;
			break;
		case 's':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->seconds >= 0.01) ||
			    o->seconds > 3600)
				return usage_error("--seconds: expected 0.01 to 3600");
			break;
		case 'b':
			if (parse_uint(optarg, 1, P11A_MAX_BATCH, &ul) != 0)
				return usage_error("--batch: expected 1 to P11A_MAX_BATCH (1024)");
			o->batch = (unsigned)ul;
			break;
		case 'i':
			if (parse_uint(optarg, 1, P11A_MAX_INFLIGHT, &ul) != 0)
				return usage_error(
				    "--inflight: expected 1 to P11A_MAX_INFLIGHT (64)");
			o->inflight = (unsigned)ul;
			break;
		case 'l':
			if (parse_uint(optarg, 1, P11A_MAX_DATA, &ul) != 0)
				return usage_error("--msg-len: expected 1 to P11A_MAX_DATA");
			o->msg_len = ul;
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
	if (o->alg_name == NULL)
		return usage_error("--alg is required");
	if (o->ssh_socket == NULL)
		o->ssh_socket = getenv("SSH_AUTH_SOCK");
	return 0;
}

/* What each operation is: w->op, alg, key and batch from the options. Returns 0 or 2. */
static int parse_work(const struct opts *o, struct work *w)
{
	static const uint32_t op_bits[] = {
	    [WORK_SIGN] = P11A_OP_SIGN,
	    [WORK_DECRYPT] = P11A_OP_DECRYPT,
	    [WORK_UNWRAP] = P11A_OP_UNWRAP,
	};

	memset(w, 0, sizeof(*w));
	w->batch = o->batch;
	if (o->inflight > 1 && o->batch > 1)
		return usage_error("--inflight: not with --batch (a batch is already many "
				   "signatures in one request)");
	if (strcmp(o->alg_name, "ping") == 0) {
		w->op = WORK_PING;
		if (o->op_name != NULL)
			return usage_error("--op: not with --alg ping");
		if (o->batch > 1)
			return usage_error("--batch: signing algorithms only, not ping");
		return 0;
	}
	if ((w->alg = p11a_alg_by_name(o->alg_name)) == NULL)
		return usage_error("--alg: no such algorithm");
	if (o->op_name != NULL) {
		if (work_op_by_name(o->op_name, &w->op) != 0)
			return usage_error("--op: expected sign, decrypt or unwrap");
		if (!(w->alg->ops & op_bits[w->op]))
			return usage_errorf("--op: %s does not %s", w->alg->name, o->op_name);
	} else if (work_default_op(w->alg, &w->op) != 0) {
		return usage_errorf("--alg %s: derivation is not benchmarked", w->alg->name);
	}
	if (o->batch > 1 && w->op != WORK_SIGN)
		return usage_errorf("--batch: signing algorithms only, not %s (%s)", w->alg->name,
				    work_op_name(w->op));
	if (o->inflight > 1 && w->op != WORK_SIGN)
		return usage_errorf("--inflight: signing algorithms and ping only, not %s (%s)",
				    w->alg->name, work_op_name(w->op));
	if (w->op == WORK_SIGN && w->alg->input != P11A_INPUT_DIGEST &&
	    (size_t)o->batch * (o->msg_len + 4) > P11A_MAX_DATA)
		return usage_error("--batch times --msg-len: the request would not fit a frame");
	if (o->key == NULL)
		return usage_error("--key is required");
	w->key = o->key;
	return 0;
}

/*
 * Splits o->paths (default "direct,agent"; "agent" for ping) into paths[].
 * names must stay alive as long as paths. Returns 0 or 2 (usage).
 */
static int parse_paths(const struct opts *o, const struct work *w, char *names,
		       struct run_path *paths, size_t *out_num)
{
	size_t n = 0, i;
	char *tok, *save = NULL;
	int ping = w->op == WORK_PING;

	strcpy(names, o->paths != NULL ? o->paths : ping ? "agent" : "direct,agent");
	for (tok = strtok_r(names, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_PATHS)
			return usage_error("--paths: too many paths");
		memset(&paths[n], 0, sizeof(paths[n]));
		paths[n].name = tok;
		if (strcmp(tok, "direct") == 0) {
			paths[n].kind = RUN_DIRECT;
			paths[n].module = o->module;
		} else if (strcmp(tok, "agent") == 0) {
			paths[n].kind = RUN_AGENT;
			paths[n].inflight = o->inflight;
		} else if (strncmp(tok, "module:", 7) == 0 && tok[7] != '\0') {
			paths[n].kind = RUN_DIRECT;
			paths[n].module = tok + 7;
		} else if (strcmp(tok, "provider") == 0) {
			paths[n].kind = RUN_PROVIDER;
		} else if (strcmp(tok, "ssh") == 0) {
			paths[n].kind = RUN_SSH;
			paths[n].ssh_socket = o->ssh_socket;
			if (o->ssh_socket == NULL || *o->ssh_socket == '\0')
				return usage_error("--paths ssh: give --ssh-socket or set "
						   "SSH_AUTH_SOCK");
		} else if (strncmp(tok, "ssh:", 4) == 0 && tok[4] != '\0') {
			paths[n].kind = RUN_SSH;
			paths[n].ssh_socket = tok + 4;
		} else {
			return usage_error("--paths: expected direct, agent, module:PATH, "
					   "provider, ssh or ssh:PATH");
		}
		for (i = 0; i < n; i++) {
			if (strcmp(paths[i].name, tok) == 0)
				return usage_error("--paths: a path is named twice");
		}
		if (ping && paths[n].kind != RUN_AGENT)
			return usage_error("--alg ping runs on the agent path only");
		if (paths[n].kind == RUN_PROVIDER && !ping &&
		    (w->op != WORK_SIGN || w->batch > 1 ||
		     (w->alg->key_type != P11A_KEY_RSA && w->alg->key_type != P11A_KEY_EC &&
		      w->alg->key_type != P11A_KEY_ED25519)))
			return usage_error("--paths provider: single RSA, ECDSA and Ed25519 "
					   "signatures only");
		if (paths[n].kind == RUN_SSH &&
		    (ping || w->op != WORK_SIGN || w->batch > 1 ||
		     (w->alg->key_type != P11A_KEY_RSA && w->alg->key_type != P11A_KEY_EC &&
		      w->alg->key_type != P11A_KEY_ED25519) ||
		     strncmp(w->alg->name, "rsa-pss", 7) == 0))
			return usage_error("--paths ssh: single RSA PKCS#1, ECDSA and Ed25519 "
					   "signatures only");
		if (paths[n].kind == RUN_DIRECT &&
		    (paths[n].module == NULL || o->token == NULL || o->pin_source == NULL))
			return usage_error("the direct and module: paths need --module (for "
					   "direct), --token and --pin-source");
		n++;
	}
	if (n == 0)
		return usage_error("--paths: no path");
	*out_num = n;
	return 0;
}

/* Puts "NAME path: " before the message of a direct or module: path's failure. */
static void prefix_path(const struct run_path *p, char *msg, size_t msg_len)
{
	size_t name_len = strlen(p->name), pre_len = name_len + sizeof(" path: ") - 1, len;

	if (p->kind != RUN_DIRECT || pre_len >= msg_len)
		return;
	len = strnlen(msg, msg_len - 1);
	if (pre_len + len >= msg_len)
		len = msg_len - 1 - pre_len;
	memmove(msg + pre_len, msg, len);
	memcpy(msg, p->name, name_len);
	memcpy(msg + name_len, " path: ", pre_len - name_len);
	msg[pre_len + len] = '\0';
}

/*
 * Opens the direct and module: paths, and makes the input with the first of
 * them (or with a session of its own on --module when the input is wrapped
 * in the token and no such path runs; or with the agent's public key).
 */
static int open_direct(const struct opts *o, struct work *w, struct run_path *paths,
		       size_t num_paths, char *msg, size_t msg_len)
{
	char pin[BENCH_PIN_MAX + 1];
	struct direct *setup = NULL, *own = NULL;
	size_t pin_len = 0, i;
	int need_token = w->op != WORK_PING && w->alg->key_type == P11A_KEY_AES, ret = -1;

	for (i = 0; i < num_paths; i++)
		need_token |= paths[i].kind == RUN_DIRECT;
	if (need_token && pinsrc_read(o->pin_source, pin, &pin_len, msg, msg_len) != 0)
		goto out;
	for (i = 0; i < num_paths; i++) {
		if (paths[i].kind != RUN_DIRECT)
			continue;
		if (direct_open(paths[i].module, o->token, pin, pin_len, w, &paths[i].d, msg,
				msg_len) != 0) {
			prefix_path(&paths[i], msg, msg_len);
			goto out;
		}
		if (setup == NULL)
			setup = paths[i].d;
	}
	if (setup == NULL && need_token) {
		if (direct_open(o->module, o->token, pin, pin_len, w, &own, msg, msg_len) != 0)
			goto out;
		setup = own;
	}
	if (work_make_input(w, o->msg_len, setup, o->socket, msg, msg_len) != 0)
		goto out;
	ret = 0;
out:
	direct_close(own);
	explicit_bzero(pin, sizeof(pin));
	return ret;
}

/* Loads the providers and the key of each provider path. */
static int open_providers(const struct opts *o, const struct work *w, struct run_path *paths,
			  size_t num_paths, char *msg, size_t msg_len)
{
	size_t i;

	for (i = 0; i < num_paths; i++) {
		if (paths[i].kind == RUN_PROVIDER && provpath_open(o->provider_module, o->socket, w,
								   &paths[i].pp, msg, msg_len) != 0)
			return -1;
	}
	return 0;
}

/* Finds the key at each ssh path's SSH agent and makes its sign request. */
static int open_ssh(const struct opts *o, const struct work *w, struct run_path *paths,
		    size_t num_paths, char *msg, size_t msg_len)
{
	size_t i;

	for (i = 0; i < num_paths; i++) {
		if (paths[i].kind == RUN_SSH &&
		    sshpath_open(paths[i].ssh_socket, o->socket, w, o->msg_len, &paths[i].sp, msg,
				 msg_len) != 0)
			return -1;
	}
	return 0;
}

/* Sets up each direct path's mechanism; says when OAEP is decoded in software. */
static int prepare_direct(const struct work *w, struct run_path *paths, size_t num_paths, char *msg,
			  size_t msg_len)
{
	size_t i;

	for (i = 0; i < num_paths; i++) {
		if (paths[i].kind != RUN_DIRECT)
			continue;
		if (direct_prepare(paths[i].d, &paths[i].software, msg, msg_len) != 0) {
			prefix_path(&paths[i], msg, msg_len);
			return -1;
		}
		if (paths[i].software)
			fprintf(stderr,
				"p11agent-bench: note: %s path: the token does not do %s itself; "
				"raw RSA (CKM_RSA_X_509) in the token and OAEP decoded in "
				"software, as the agent does then\n",
				paths[i].name, w->alg->name);
	}
	return 0;
}

/*
 * Opens one client per thread on every path and checks each one's first
 * result (untimed): a wrong plaintext or key fails the run.
 */
static int open_clients(const struct opts *o, const struct work *w, struct run_path *paths,
			size_t num_paths, char *msg, size_t msg_len)
{
	struct run_path *p;
	size_t i;
	unsigned c;
	int rc;

	for (i = 0; i < num_paths; i++) {
		p = &paths[i];
		if ((p->clients = calloc(o->clients, sizeof(*p->clients))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return -1;
		}
		for (c = 0; c < o->clients; c++) {
			if (p->kind == RUN_DIRECT)
				rc = direct_client_open(p->d, &p->clients[c].direct, msg,
							msg_len) != 0 ||
				     direct_client_op(p->clients[c].direct, 1, msg, msg_len) != 0;
			else if (p->kind == RUN_AGENT)
				rc = agentpath_client_open(o->socket, w, p->inflight,
							   &p->clients[c].agent, msg,
							   msg_len) != 0 ||
				     agentpath_client_op(p->clients[c].agent, 1, msg, msg_len) != 0;
			else if (p->kind == RUN_PROVIDER)
				rc = provpath_client_open(p->pp, &p->clients[c].provider, msg,
							  msg_len) != 0 ||
				     provpath_client_op(p->clients[c].provider, 1, msg, msg_len) !=
					 0;
			else
				rc = sshpath_client_open(p->sp, &p->clients[c].ssh, msg, msg_len) !=
					 0 ||
				     sshpath_client_op(p->clients[c].ssh, 1, msg, msg_len) != 0;
			if (rc) {
				prefix_path(p, msg, msg_len);
				return -1;
			}
		}
	}
	return 0;
}

/* Warns when the agent completes OAEP in software and a direct path does not, or the reverse. */
static void compare_plans(const struct work *w, struct run_path *paths, size_t num_paths)
{
	char msg[256];
	size_t i, a;
	int sw;

	if (w->op != WORK_DECRYPT && w->op != WORK_UNWRAP)
		return;
	for (a = 0; a < num_paths && paths[a].kind != RUN_AGENT; a++)
		;
	if (a == num_paths)
		return;
	if ((sw = agentpath_alg_in_software(paths[a].clients[0].agent, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "p11agent-bench: note: %s\n", msg);
		return;
	}
	for (i = 0; i < num_paths; i++) {
		if (paths[i].kind == RUN_DIRECT && paths[i].software != sw)
			fprintf(stderr,
				"p11agent-bench: warning: %s decodes OAEP %s, the agent %s: not "
				"the same work\n",
				paths[i].name, paths[i].software ? "in software" : "in the token",
				sw ? "in software" : "in the token");
	}
}

static void close_paths(struct run_path *paths, size_t num_paths, unsigned clients)
{
	size_t i;
	unsigned c;

	for (i = 0; i < num_paths; i++) {
		for (c = 0; paths[i].clients != NULL && c < clients; c++) {
			if (paths[i].kind == RUN_DIRECT)
				direct_client_close(paths[i].clients[c].direct);
			else if (paths[i].kind == RUN_AGENT)
				agentpath_client_close(paths[i].clients[c].agent);
			else if (paths[i].kind == RUN_PROVIDER)
				provpath_client_close(paths[i].clients[c].provider);
			else
				sshpath_client_close(paths[i].clients[c].ssh);
		}
		free(paths[i].clients);
		direct_close(paths[i].d);
		provpath_close(paths[i].pp);
		sshpath_close(paths[i].sp);
		stats_free(&paths[i].lat);
	}
}

int main(int argc, char **argv)
{
	struct run_path paths[MAX_PATHS];
	struct report_run rep;
	struct work w;
	struct opts o;
	char *names = NULL, msg[512];
	size_t num_paths = 0, i;
	int rc, has_direct = 0, ret = 1;

	memset(&w, 0, sizeof(w));
	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	if ((rc = parse_work(&o, &w)) != 0)
		return rc;
	names = malloc(o.paths != NULL ? strlen(o.paths) + 1 : sizeof("direct,agent"));
	if (names == NULL) {
		fprintf(stderr, "p11agent-bench: out of memory\n");
		return 1;
	}
	if ((rc = parse_paths(&o, &w, names, paths, &num_paths)) != 0) {
		free(names);
		return rc;
	}
	for (i = 0; i < num_paths; i++)
		has_direct |= paths[i].kind == RUN_DIRECT;
	if (w.op != WORK_PING && w.alg->key_type == P11A_KEY_AES && !has_direct &&
	    (o.module == NULL || o.token == NULL || o.pin_source == NULL)) {
		free(names);
		return usage_error("--alg aes-kw, aes-kwp: the input is wrapped in the token: "
				   "--module, --token and --pin-source are needed");
	}
	if (open_direct(&o, &w, paths, num_paths, msg, sizeof(msg)) != 0 ||
	    prepare_direct(&w, paths, num_paths, msg, sizeof(msg)) != 0 ||
	    open_providers(&o, &w, paths, num_paths, msg, sizeof(msg)) != 0 ||
	    open_ssh(&o, &w, paths, num_paths, msg, sizeof(msg)) != 0 ||
	    open_clients(&o, &w, paths, num_paths, msg, sizeof(msg)) != 0)
		goto out;
	compare_plans(&w, paths, num_paths);
	if (run_paths(paths, num_paths, o.clients, w.batch, o.seconds, msg, sizeof(msg)) != 0)
		goto out;
	rep.alg = o.alg_name;
	rep.op = work_op_name(w.op);
	rep.key = w.key != NULL ? w.key : "";
	rep.clients = o.clients;
	rep.batch = w.batch;
	rep.inflight = o.inflight;
	rep.json = o.json;
	report_write(stdout, &rep, paths, num_paths);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "p11agent-bench: %s\n", msg);
	close_paths(paths, num_paths, o.clients);
	work_clear(&w);
	free(names);
	return ret;
}
