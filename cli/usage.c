/*
 * usage: the help of p11agent. See usage.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "usage.h"

/* Column of the general help where a command's summary starts. */
#define SUMMARY_COL 24
/* Widest line the algorithm lists are wrapped to. */
#define WRAP_COL 78
/* Room for the help of any command. */
#define USAGE_MAX 8192

const char cli_usage_help[] = "Usage: p11agent help [COMMAND]\n"
			      "\n"
			      "Prints the general help, or COMMAND's.\n";

static const char general_head[] = "Usage: p11agent [-S SOCKET] [--json] COMMAND [ARGS]\n"
				   "\n"
				   "Uses keys held by p11agentd. The keys never leave the token.\n"
				   "\n"
				   "Commands:\n";

static const char general_opts[] =
    "\n"
    "Options:\n"
    "  -S, --socket SOCKET   the agent's socket (default: $P11AGENT_SOCK, else\n"
    "                        $XDG_RUNTIME_DIR/p11agent/agent.sock)\n"
    "  --json                machine-readable output (list, the key lifecycle\n"
    "                        commands, the key version of a result written\n"
    "                        with -o FILE, and errors on stderr)\n"
    "  -h, --help            print help and exit; 'p11agent COMMAND --help' too\n"
    "  --version             print the version and exit\n"
    "\n" CLI_USAGE_KEY;

/* A bounded text being written; full says something did not fit. */
struct text {
	char *p;
	size_t size, used;
	int full;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->used, t->size - t->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->used) {
		t->full = 1;
		t->used = t->size - 1;
		return;
	}
	t->used += (size_t)n;
}

/* The ", "-separated list, wrapped to WRAP_COL, each line indented by two. */
static void put_wrapped(struct text *t, const char *list)
{
	size_t col = 2, n;
	const char *p = list;

	put(t, "  ");
	while (*p != '\0') {
		n = strcspn(p, " ");
		if (col > 2 && col + 1 + n > WRAP_COL) {
			put(t, "\n  ");
			col = 2;
		} else if (col > 2) {
			put(t, " ");
			col++;
		}
		put(t, "%.*s", (int)n, p);
		col += n;
		p += n;
		p += strspn(p, " ");
	}
	put(t, "\n");
}

/* The general help's line(s) for one command: synopsis, then summary in a column. */
static void put_summary(struct text *t, const struct cli_command *cmd)
{
	const char *s = cmd->summary, *nl;
	size_t len = strlen(cmd->synopsis);

	if (len + 2 < SUMMARY_COL)
		put(t, "  %-*s", SUMMARY_COL - 2, cmd->synopsis);
	else
		put(t, "  %s\n%*s", cmd->synopsis, SUMMARY_COL, "");
	while ((nl = strchr(s, '\n')) != NULL) {
		put(t, "%.*s\n%*s", (int)(nl - s), s, SUMMARY_COL, "");
		s = nl + 1;
	}
	put(t, "%s\n", s);
}

/* Whether cmd takes --alg with the algorithms in list. */
static int same_algs(const struct cli_command *cmd, const char *list)
{
	char other[512];

	if ((cmd->opts & CLI_OPT_ALG) == 0)
		return 0;
	cli_args_alg_names(cmd, other, sizeof(other));
	return strcmp(list, other) == 0;
}

/* ALG for every command that takes --alg; commands with the same list share it. */
static void put_general_algs(struct text *t)
{
	char list[512];
	size_t i, j, k, n;

	put(t, "ALG is, ");
	for (i = 0; i < cli_n_commands; i++) {
		if ((cli_commands[i].opts & CLI_OPT_ALG) == 0)
			continue;
		cli_args_alg_names(&cli_commands[i], list, sizeof(list));
		for (j = 0; j < i && !same_algs(&cli_commands[j], list); j++)
			;
		if (j < i)
			continue; /* listed with an earlier command */
		for (n = 0, k = i; k < cli_n_commands; k++)
			n += same_algs(&cli_commands[k], list);
		put(t, "for %s", cli_commands[i].name);
		for (k = i + 1; k < cli_n_commands; k++) {
			if (same_algs(&cli_commands[k], list))
				put(t, --n > 1 ? ", %s" : " and %s", cli_commands[k].name);
		}
		put(t, ":\n");
		put_wrapped(t, list);
	}
}

int cli_usage_text(const struct cli_command *cmd, char *out, size_t out_len)
{
	struct text t = {out, out_len, 0, 0};
	char list[512];
	size_t i;

	if (out_len == 0)
		return -1;
	out[0] = '\0';
	if (cmd == NULL) {
		put(&t, "%s", general_head);
		for (i = 0; i < cli_n_commands; i++)
			put_summary(&t, &cli_commands[i]);
		put(&t, "%s", general_opts);
		put_general_algs(&t);
		put(&t, "\n%s", CLI_USAGE_EXIT_AGENT);
		return t.full ? -1 : 0;
	}
	put(&t, "%s", cmd->usage);
	if (cmd->opts & CLI_OPT_ALG) {
		cli_args_alg_names(cmd, list, sizeof(list));
		put(&t, "ALG is one of:\n");
		put_wrapped(&t, list);
	}
	if (cmd->exit_text != NULL)
		put(&t, "\n%s", cmd->exit_text);
	return t.full ? -1 : 0;
}

int cli_cmd_help(struct cli_ctx *c)
{
	char text[USAGE_MAX];

	if (cli_usage_text(c->a->help_cmd, text, sizeof(text)) != 0)
		return cli_report(c->a->json, "INTERNAL", CLI_EXIT_FAIL,
				  "the help text does not fit its buffer");
	fputs(text, stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
