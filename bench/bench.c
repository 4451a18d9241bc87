/*
 * p11agent-bench: the same operation on the same key through several paths
 * in one run (the module in-process, p11agentd, another module), interleaved,
 * with ops/s, p50 and p99 latency, and each path's ratio to direct.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11agent.h"
#include "pinsrc.h"
#include "report.h"
#include "run.h"

#define MAX_PATHS 8
#define MAX_CLIENTS 1024
#define DEFAULT_MSG_LEN 64

struct opts {
	const char *module, *token, *pin_source, *socket, *key, *alg_name, *paths;
	unsigned clients;
	double seconds;
	size_t msg_len;
	int json;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: p11agent-bench --alg ALG [--key KEY] [--module PATH --token URI\n"
		   "         --pin-source file:PATH|env:VAR] [--socket PATH]\n"
		   "         [--paths direct,agent,module:PATH] [--clients N] [--seconds S]\n"
		   "         [--msg-len N] [--json]\n"
		   "ALG: a signing or HMAC algorithm of p11agent (ecdsa-sha256, rsa-pkcs1-sha256,\n"
		   "     rsa-pss-sha256, ed25519, hmac-sha256, ...) or ping (agent path only).\n");
}

static int usage_error(const char *what)
{
	fprintf(stderr, "p11agent-bench: %s\n", what);
	usage(stderr);
	return 2;
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
	    {"paths", required_argument, NULL, 'P'},
	    {"clients", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 's'},
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
		case 'P':
			o->paths = optarg;
			break;
		case 'c':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || ul < 1 || ul > MAX_CLIENTS)
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
		case 'l':
			errno = 0;
			ul = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || ul < 1 || ul > P11A_MAX_DATA)
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
	return 0;
}

/*
 * Splits o->paths (default "direct,agent"; "agent" for ping) into paths[].
 * names must stay alive as long as paths. Returns 0 or 2 (usage).
 */
static int parse_paths(const struct opts *o, int ping, char *names, struct run_path *paths,
		       size_t *out_num)
{
	size_t n = 0, i;
	char *tok, *save = NULL;

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
		} else if (strncmp(tok, "module:", 7) == 0 && tok[7] != '\0') {
			paths[n].kind = RUN_DIRECT;
			paths[n].module = tok + 7;
		} else {
			return usage_error("--paths: expected direct, agent or module:PATH");
		}
		for (i = 0; i < n; i++) {
			if (strcmp(paths[i].name, tok) == 0)
				return usage_error("--paths: a path is named twice");
		}
		if (ping && paths[n].kind != RUN_AGENT)
			return usage_error("--alg ping runs on the agent path only");
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

/* Loads the modules and opens one client per thread on every path. */
static int open_paths(const struct opts *o, const struct p11a_alg_info *alg, const uint8_t *data,
		      size_t data_len, struct run_path *paths, size_t num_paths, char *msg,
		      size_t msg_len)
{
	char pin[BENCH_PIN_MAX + 1];
	size_t pin_len = 0, i;
	unsigned c;
	int have_pin = 0, ret = -1;

	for (i = 0; i < num_paths; i++) {
		struct run_path *p = &paths[i];

		if ((p->clients = calloc(o->clients, sizeof(*p->clients))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			goto out;
		}
		if (p->kind == RUN_DIRECT) {
			if (!have_pin &&
			    pinsrc_read(o->pin_source, pin, &pin_len, msg, msg_len) != 0)
				goto out;
			have_pin = 1;
			if (direct_open(p->module, o->token, pin, pin_len, o->key, alg, data,
					data_len, &p->d, msg, msg_len) != 0)
				goto out;
		}
		for (c = 0; c < o->clients; c++) {
			if (p->kind == RUN_DIRECT) {
				if (direct_client_open(p->d, &p->clients[c].direct, msg, msg_len) !=
				    0)
					goto out;
			} else if (agentpath_client_open(o->socket, o->key, alg, data, data_len,
							 &p->clients[c].agent, msg, msg_len) != 0) {
				goto out;
			}
		}
	}
	ret = 0;
out:
	explicit_bzero(pin, sizeof(pin));
	return ret;
}

static void close_paths(struct run_path *paths, size_t num_paths, unsigned clients)
{
	size_t i;
	unsigned c;

	for (i = 0; i < num_paths; i++) {
		for (c = 0; paths[i].clients != NULL && c < clients; c++) {
			if (paths[i].kind == RUN_DIRECT)
				direct_client_close(paths[i].clients[c].direct);
			else
				agentpath_client_close(paths[i].clients[c].agent);
		}
		free(paths[i].clients);
		direct_close(paths[i].d);
		stats_free(&paths[i].lat);
	}
}

int main(int argc, char **argv)
{
	struct run_path paths[MAX_PATHS];
	const struct p11a_alg_info *alg = NULL;
	struct report_run rep;
	struct opts o;
	char *names = NULL, msg[512];
	uint8_t *data = NULL;
	size_t num_paths = 0, data_len = 0, i;
	int ping, rc, ret = 1;

	if ((rc = parse_opts(argc, argv, &o)) != 0)
		return rc;
	ping = strcmp(o.alg_name, "ping") == 0;
	if (!ping) {
		alg = p11a_alg_by_name(o.alg_name);
		if (alg == NULL || !(alg->ops & P11A_OP_SIGN))
			return usage_error("--alg: not a signing or HMAC algorithm (decrypt and "
					   "unwrap are not benchmarked yet)");
		if (o.key == NULL)
			return usage_error("--key is required");
	}
	names = malloc(o.paths != NULL ? strlen(o.paths) + 1 : sizeof("direct,agent"));
	if (names == NULL) {
		fprintf(stderr, "p11agent-bench: out of memory\n");
		return 1;
	}
	if ((rc = parse_paths(&o, ping, names, paths, &num_paths)) != 0) {
		free(names);
		return rc;
	}
	/* RSA and ECDSA sign a digest (no hashing on either side); the others a message. */
	data_len = alg == NULL ? 0 : alg->input == P11A_INPUT_DIGEST ? alg->digest_len : o.msg_len;
	if ((data = malloc(data_len + 1)) == NULL) {
		snprintf(msg, sizeof(msg), "out of memory");
		goto out;
	}
	for (i = 0; i < data_len; i++)
		data[i] = (uint8_t)(0x5a ^ i);
	if (open_paths(&o, alg, data, data_len, paths, num_paths, msg, sizeof(msg)) != 0)
		goto out;
	if (run_paths(paths, num_paths, o.clients, o.seconds, msg, sizeof(msg)) != 0)
		goto out;
	rep.alg = o.alg_name;
	rep.key = ping ? "" : o.key;
	rep.clients = o.clients;
	rep.json = o.json;
	report_write(stdout, &rep, paths, num_paths);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "p11agent-bench: %s\n", msg);
	close_paths(paths, num_paths, o.clients);
	free(data);
	free(names);
	return ret;
}
