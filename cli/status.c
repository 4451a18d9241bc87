/*
 * status: p11agent status (status.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "output.h"
#include "status.h"

const char cli_usage_status[] =
    "Usage: p11agent [-S SOCKET] status [--json | --prometheus]\n"
    "\n"
    "Prints the agent's status: its version and uptime, the token (label, serial,\n"
    "state: ready, recovering or away, and how many faults it recovered from),\n"
    "the connections open and the token sessions in use, and per key and\n"
    "operation since the agent started: the requests, their errors by code and\n"
    "their latency p50 and p99 (upper bounds, at most 25% above the true value).\n"
    "  --json        one JSON object\n"
    "  --prometheus  Prometheus's text exposition format, for node_exporter's\n"
    "                textfile collector (metrics named p11agent_*)\n"
    "Each request is counted once it is answered, this one included; requests that\n"
    "named no key the agent knows count under key \"\" (text: '-').\n"
    "\n"
    "For the agent's admins only (admin-users, admin-groups in p11agent.conf;\n"
    "by default the agent's own user); each request is audited.\n";

static const char *state_name(p11a_token_state s)
{
	switch (s) {
	case P11A_TOKEN_READY:
		return "ready";
	case P11A_TOKEN_RECOVERING:
		return "recovering";
	default:
		return "away";
	}
}

static void print_uptime(FILE *f, uint64_t ms)
{
	uint64_t s = ms / 1000;

	fprintf(f, "%llud %02u:%02u:%02u", (unsigned long long)(s / 86400),
		(unsigned)(s / 3600 % 24), (unsigned)(s / 60 % 60), (unsigned)(s % 60));
}

/* --- text --------------------------------------------------------------------------------- */

static int key_width(const struct p11a_status *st)
{
	size_t w = 3;

	for (size_t i = 0; i < st->n_entries; i++) {
		size_t n = strlen(st->entries[i].key) + (st->entries[i].gone ? 7 : 0);

		if (n > w)
			w = n;
	}
	return w > 64 ? 64 : (int)w;
}

static void print_text(FILE *f, const struct p11a_status *st)
{
	int w = key_width(st);

	fprintf(f, "agent:        %s\n", st->agent);
	fprintf(f, "uptime:       ");
	print_uptime(f, st->uptime_ms);
	fprintf(f, "\ntoken:        %s", st->token_label[0] != '\0' ? st->token_label : "-");
	if (st->token_serial[0] != '\0')
		fprintf(f, " (serial %s)", st->token_serial);
	fprintf(f, ": %s\n", state_name(st->token_state));
	fprintf(f, "recoveries:   %llu\n", (unsigned long long)st->recoveries);
	fprintf(f, "connections:  %u\n", st->connections);
	fprintf(f, "sessions:     %u of %u in use\n", st->sessions_in_use, st->sessions);
	if (st->n_entries == 0)
		return;
	fprintf(f, "\n%-*s  %7s  %-16s  %9s  %9s  %9s  %s\n", w, "KEY", "VERSION", "OP", "REQUESTS",
		"P50_US", "P99_US", "ERRORS");
	for (size_t i = 0; i < st->n_entries; i++) {
		const struct p11a_status_entry *e = &st->entries[i];
		char key[80], version[16];

		snprintf(key, sizeof(key), "%s%s", e->key[0] != '\0' ? e->key : "-",
			 e->gone ? " (gone)" : "");
		/* A token label can hold anything: no control byte reaches the terminal. */
		for (char *c = key; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		if (e->key[0] != '\0')
			snprintf(version, sizeof(version), "%u", e->version);
		else
			snprintf(version, sizeof(version), "-");
		fprintf(f, "%-*s  %7s  %-16s  %9llu  %9llu  %9llu  ", w, key, version, e->op,
			(unsigned long long)e->requests, (unsigned long long)e->latency_p50_us,
			(unsigned long long)e->latency_p99_us);
		if (e->n_errors == 0)
			fputc('-', f);
		for (size_t j = 0; j < e->n_errors; j++)
			fprintf(f, "%s%s:%llu", j > 0 ? "," : "",
				p11a_errname((int)e->errors[j].code),
				(unsigned long long)e->errors[j].count);
		fputc('\n', f);
	}
}

/* --- JSON --------------------------------------------------------------------------------- */

static void print_json_entry(FILE *f, const struct p11a_status_entry *e)
{
	fputs("{\"key\":", f);
	if (e->key[0] != '\0') {
		cli_json_string(f, e->key);
		fprintf(f, ",\"version\":%u", e->version);
	} else {
		fputs("null,\"version\":null", f);
	}
	fprintf(f, ",\"gone\":%s,\"op\":", e->gone ? "true" : "false");
	cli_json_string(f, e->op);
	fprintf(f, ",\"requests\":%llu,\"errors\":[", (unsigned long long)e->requests);
	for (size_t j = 0; j < e->n_errors; j++) {
		fprintf(f, "%s{\"code\":%u,\"name\":", j > 0 ? "," : "", e->errors[j].code);
		cli_json_string(f, p11a_errname((int)e->errors[j].code));
		fprintf(f, ",\"count\":%llu}", (unsigned long long)e->errors[j].count);
	}
	fprintf(f, "],\"latency_us\":{\"p50\":%llu,\"p99\":%llu,\"sum\":%llu}}",
		(unsigned long long)e->latency_p50_us, (unsigned long long)e->latency_p99_us,
		(unsigned long long)e->latency_sum_us);
}

static void print_json(FILE *f, const struct p11a_status *st)
{
	fputs("{\"agent\":", f);
	cli_json_string(f, st->agent);
	fprintf(f, ",\"uptime_ms\":%llu,\"token\":{\"label\":", (unsigned long long)st->uptime_ms);
	cli_json_string(f, st->token_label);
	fputs(",\"serial\":", f);
	cli_json_string(f, st->token_serial);
	fprintf(f, ",\"state\":\"%s\",\"recoveries\":%llu},", state_name(st->token_state),
		(unsigned long long)st->recoveries);
	fprintf(f, "\"connections\":%u,\"sessions\":{\"in_use\":%u,\"size\":%u},\"requests\":[",
		st->connections, st->sessions_in_use, st->sessions);
	for (size_t i = 0; i < st->n_entries; i++) {
		if (i > 0)
			fputc(',', f);
		print_json_entry(f, &st->entries[i]);
	}
	fputs("]}\n", f);
}

/* --- Prometheus ----------------------------------------------------------------------------- */

/*
 * One series of the per-key metrics: the entries of one key name, version
 * and operation taken together (a key that left the token and one that
 * took its name, or two keys that share a label), so that no series comes
 * twice. Counts add up; a quantile is the larger one, still an upper bound.
 */
struct series {
	const char *key;
	uint32_t version;
	const char *op;
	uint64_t requests, sum_us, p50_us, p99_us;
	uint64_t errors[P11A_STATUS_CODES];
};

static int same_series(const struct series *s, const struct p11a_status_entry *e)
{
	return strcmp(s->key, e->key) == 0 && s->version == e->version && strcmp(s->op, e->op) == 0;
}

/* The entries (sorted by key, version and op, as the agent sends them) as series; *out_n. */
static struct series *make_series(const struct p11a_status *st, size_t *out_n)
{
	struct series *s = calloc(st->n_entries + 1, sizeof(*s));
	size_t n = 0;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < st->n_entries; i++) {
		const struct p11a_status_entry *e = &st->entries[i];
		struct series *cur = NULL;

		for (size_t k = 0; k < n && cur == NULL; k++)
			if (same_series(&s[k], e))
				cur = &s[k];
		if (cur == NULL) {
			cur = &s[n++];
			cur->key = e->key;
			cur->version = e->version;
			cur->op = e->op;
		}
		cur->requests += e->requests;
		cur->sum_us += e->latency_sum_us;
		if (e->latency_p50_us > cur->p50_us)
			cur->p50_us = e->latency_p50_us;
		if (e->latency_p99_us > cur->p99_us)
			cur->p99_us = e->latency_p99_us;
		for (size_t j = 0; j < e->n_errors; j++)
			if (e->errors[j].code < P11A_STATUS_CODES)
				cur->errors[e->errors[j].code] += e->errors[j].count;
	}
	*out_n = n;
	return s;
}

/*
 * A label value, escaped as the exposition format wants (\\, \" and \n);
 * a byte that is not UTF-8 (a token label can hold anything) becomes
 * U+FFFD, since a collector rejects the whole file for one.
 */
static void label_value(FILE *f, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	fputc('"', f);
	while (*p != '\0') {
		size_t n = cli_utf8_len(p);

		if (n == 0) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

/* key="...",version="...",op="..." of a series (version "" for requests without a key). */
static void series_labels(FILE *f, const struct series *s)
{
	fputs("key=", f);
	label_value(f, s->key);
	if (s->key[0] != '\0')
		fprintf(f, ",version=\"%u\"", s->version);
	else
		fputs(",version=\"\"", f);
	fputs(",op=", f);
	label_value(f, s->op);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void print_seconds(FILE *f, uint64_t us)
{
	fprintf(f, "%llu.%06llu\n", (unsigned long long)(us / 1000000u),
		(unsigned long long)(us % 1000000u));
}

static void prometheus_series(FILE *f, const struct series *s, size_t n)
{
	family(f, "p11agent_requests_total", "counter",
	       "Requests answered since the agent started, by key, version and operation.");
	for (size_t i = 0; i < n; i++) {
		fputs("p11agent_requests_total{", f);
		series_labels(f, &s[i]);
		fprintf(f, "} %llu\n", (unsigned long long)s[i].requests);
	}
	family(f, "p11agent_errors_total", "counter",
	       "Requests that failed since the agent started, by key, version, operation and "
	       "error code.");
	for (size_t i = 0; i < n; i++)
		for (int code = 1; code < P11A_STATUS_CODES; code++) {
			if (s[i].errors[code] == 0)
				continue;
			fputs("p11agent_errors_total{", f);
			series_labels(f, &s[i]);
			fputs(",code=", f);
			label_value(f, p11a_errname(code));
			fprintf(f, "} %llu\n", (unsigned long long)s[i].errors[code]);
		}
	family(f, "p11agent_request_duration_seconds", "summary",
	       "Request latency in the agent since it started; quantiles are upper bounds, at "
	       "most 25% above.");
	for (size_t i = 0; i < n; i++) {
		static const char *const q[] = {"0.5", "0.99"};
		const uint64_t v[] = {s[i].p50_us, s[i].p99_us};

		for (size_t k = 0; k < 2; k++) {
			fputs("p11agent_request_duration_seconds{", f);
			series_labels(f, &s[i]);
			fprintf(f, ",quantile=\"%s\"} ", q[k]);
			print_seconds(f, v[k]);
		}
		fputs("p11agent_request_duration_seconds_sum{", f);
		series_labels(f, &s[i]);
		fputs("} ", f);
		print_seconds(f, s[i].sum_us);
		fputs("p11agent_request_duration_seconds_count{", f);
		series_labels(f, &s[i]);
		fprintf(f, "} %llu\n", (unsigned long long)s[i].requests);
	}
}

/* The text exposition of st on f; -1 when out of memory (nothing printed then). */
static int print_prometheus(FILE *f, const struct p11a_status *st)
{
	static const p11a_token_state states[] = {P11A_TOKEN_READY, P11A_TOKEN_RECOVERING,
						  P11A_TOKEN_AWAY};
	const char *version = strchr(st->agent, ' ');
	struct series *s;
	size_t n = 0;

	if ((s = make_series(st, &n)) == NULL)
		return -1;
	family(f, "p11agent_info", "gauge", "The agent's version.");
	fputs("p11agent_info{version=", f);
	label_value(f, version != NULL ? version + 1 : st->agent);
	fputs("} 1\n", f);
	family(f, "p11agent_uptime_seconds", "gauge", "Seconds since the agent started.");
	fprintf(f, "p11agent_uptime_seconds %llu.%03llu\n",
		(unsigned long long)(st->uptime_ms / 1000u),
		(unsigned long long)(st->uptime_ms % 1000u));
	family(f, "p11agent_token_info", "gauge", "The token the agent serves.");
	fputs("p11agent_token_info{label=", f);
	label_value(f, st->token_label);
	fputs(",serial=", f);
	label_value(f, st->token_serial);
	fputs("} 1\n", f);
	family(f, "p11agent_token_state", "gauge",
	       "The token's state: 1 for the one it is in (ready, recovering, away).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		fprintf(f, "p11agent_token_state{state=\"%s\"} %d\n", state_name(states[i]),
			st->token_state == states[i]);
	family(f, "p11agent_token_recoveries_total", "counter",
	       "Token faults the agent recovered from, or tried to.");
	fprintf(f, "p11agent_token_recoveries_total %llu\n", (unsigned long long)st->recoveries);
	family(f, "p11agent_connections", "gauge", "Client connections open.");
	fprintf(f, "p11agent_connections %u\n", st->connections);
	family(f, "p11agent_sessions_in_use", "gauge", "PKCS#11 sessions requests hold now.");
	fprintf(f, "p11agent_sessions_in_use %u\n", st->sessions_in_use);
	family(f, "p11agent_sessions", "gauge", "PKCS#11 sessions of the agent's pool.");
	fprintf(f, "p11agent_sessions %u\n", st->sessions);
	prometheus_series(f, s, n);
	free(s);
	return 0;
}

int cli_cmd_status(struct cli_ctx *c)
{
	struct p11a_status *st = NULL;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_status(c->conn, &st)) != P11A_OK)
		return cli_fail_agent(c, r, "status");
	if (c->a->json)
		print_json(stdout, st);
	else if (c->a->prometheus)
		r = print_prometheus(stdout, st);
	else
		print_text(stdout, st);
	p11a_status_free(st);
	if (r != 0)
		return cli_reportf(c->a->json, "NOMEM", CLI_EXIT_FAIL, "status: out of memory");
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL, "cannot write to stdout: %s",
				   strerror(errno));
	return 0;
}
