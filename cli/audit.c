/*
 * audit: audit-verify. See audit.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auditlog.h"
#include "io.h"
#include "output.h"

/* The files of the trail, read whole, and their lines in order. */
struct trail {
	uint8_t *data[CLI_MAX_FILES];
	size_t data_len[CLI_MAX_FILES];
	struct auditlog_line *lines;
	size_t n_lines;
};

static void trail_free(struct trail *t)
{
	for (size_t i = 0; i < CLI_MAX_FILES; i++)
		cli_data_free(t->data[i], t->data_len[i]);
	free(t->lines);
}

/* Appends the lines of data (the last one may lack its newline) to t. */
static int split_lines(struct trail *t, const char *file, const char *data, size_t len)
{
	size_t n = 0, line_no = 0;
	struct auditlog_line *lines;

	for (size_t i = 0; i < len; i++)
		n += data[i] == '\n';
	n += len > 0 && data[len - 1] != '\n';
	if ((lines = realloc(t->lines, (t->n_lines + n + 1) * sizeof(*lines))) == NULL)
		return -1;
	t->lines = lines;
	for (const char *p = data, *end = data + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		lines[t->n_lines].p = p;
		lines[t->n_lines].len = l;
		lines[t->n_lines].file = file;
		lines[t->n_lines].line_no = ++line_no;
		t->n_lines++;
		p += l + 1;
	}
	return 0;
}

/* Reads every FILE into t. */
static int read_trail(struct cli_ctx *c, struct trail *t)
{
	for (size_t i = 0; i < c->a->n_files; i++) {
		const char *file = c->a->files[i];

		if (cli_read_file(file, CLI_AUDIT_MAX_FILE, &t->data[i], &t->data_len[i], c->msg,
				  sizeof(c->msg)) != 0)
			return cli_fail_file(c);
		if (split_lines(t, file, (const char *)t->data[i], t->data_len[i]) != 0)
			return cli_report(c->a->json, "NOMEM", CLI_EXIT_FAIL, "out of memory");
	}
	return 0;
}

/* auditlog_check_fn: asks the agent, connected on first use. */
static int check_keyed(void *arg, const uint8_t prev[AUDITLOG_MAC_LEN], const char *body,
		       size_t body_len, const uint8_t mac[AUDITLOG_MAC_LEN], int *out_valid)
{
	struct cli_ctx *c = arg;
	int r;

	if (c->conn == NULL && (r = p11a_connect(c->a->socket, &c->conn)) != P11A_OK) {
		c->conn = NULL;
		return r;
	}
	return p11a_audit_check(c->conn, prev, AUDITLOG_MAC_LEN, (const uint8_t *)body, body_len,
				mac, AUDITLOG_MAC_LEN, out_valid);
}

/* The head of the agent's keyed chain, asked for before the trail is read. */
struct head {
	int rc; /* P11A_OK when seq and mac are set */
	uint64_t seq;
	uint8_t mac[AUDITLOG_MAC_LEN];
};

/*
 * Asks the agent for its chain's head (kept in the token). Asked before the
 * trail is read, the head can only be behind the trail's end, never ahead
 * of it, even while the agent writes records.
 */
static void fetch_head(struct cli_ctx *c, struct head *h)
{
	memset(h, 0, sizeof(*h));
	if (c->conn == NULL && (h->rc = p11a_connect(c->a->socket, &c->conn)) != P11A_OK) {
		c->conn = NULL;
		return;
	}
	h->rc = p11a_audit_head(c->conn, &h->seq, h->mac);
}

/*
 * A keyed trail that verified must reach the token's head: it must hold
 * record H with the head's MAC. Returns 0, or the exit status of the
 * failure it reported ("truncated", or a record replaced).
 */
static int check_head(struct cli_ctx *c, const struct trail *t, const struct auditlog_result *res,
		      const struct head *h)
{
	struct auditlog_rec rec;

	if (res->n_keyed == 0)
		return 0;
	if (h->rc != P11A_OK)
		return cli_fail_agent(c, h->rc, "ask the agent for its audit chain's head");
	if (h->seq > res->last_seq)
		return cli_reportf(c->a->json, "AUDIT", CLI_EXIT_FAIL,
				   "truncated: the token's head is record %llu, the trail ends at "
				   "record %llu (records %llu..%llu are missing)",
				   (unsigned long long)h->seq, (unsigned long long)res->last_seq,
				   (unsigned long long)res->last_seq + 1,
				   (unsigned long long)h->seq);
	for (size_t i = t->n_lines; i-- > 0;) {
		if (auditlog_parse(t->lines[i].p, t->lines[i].len, &rec) != 0 || rec.seq < h->seq)
			break;
		if (rec.seq > h->seq)
			continue;
		if (memcmp(rec.mac, h->mac, AUDITLOG_MAC_LEN) == 0)
			return 0;
		return cli_reportf(c->a->json, "AUDIT", CLI_EXIT_FAIL,
				   "record %llu (line %zu): replaced: it is not the token's head "
				   "(another MAC)",
				   (unsigned long long)h->seq, t->lines[i].line_no);
	}
	/* The head's record is in an earlier file that was not given (--partial). */
	return 0;
}

/* Prints the verdict on an intact trail. */
static void print_intact(struct cli_ctx *c, const struct auditlog_result *res)
{
	if (c->a->json) {
		printf("{\"intact\":true,\"records\":%zu,\"first_seq\":%llu,\"last_seq\":%llu,"
		       "\"keyed\":%zu}\n",
		       res->n_records, (unsigned long long)res->first_seq,
		       (unsigned long long)res->last_seq, res->n_keyed);
		return;
	}
	if (res->n_records == 0) {
		printf("audit trail intact: no records\n");
		return;
	}
	printf("audit trail intact: %zu records, seq %llu to %llu, ", res->n_records,
	       (unsigned long long)res->first_seq, (unsigned long long)res->last_seq);
	if (res->n_keyed == res->n_records)
		printf("keyed (every MAC checked by the agent in the token)\n");
	else if (res->n_keyed == 0)
		printf("unkeyed (SHA-256 chain: it shows careless edits only)\n");
	else
		printf("%zu unkeyed, then %zu keyed (checked by the agent in the token)\n",
		       res->n_records - res->n_keyed, res->n_keyed);
	if (res->first_seq > 1)
		printf("note (--partial): the chain starts at record %llu: the records before it "
		       "are in an earlier file, not checked\n",
		       (unsigned long long)res->first_seq);
}

int cli_cmd_audit_verify(struct cli_ctx *c)
{
	struct trail t;
	struct auditlog_result res;
	struct head head;
	int r, ret;

	memset(&t, 0, sizeof(t));
	fetch_head(c, &head);
	if ((ret = read_trail(c, &t)) != 0)
		goto out;
	r = auditlog_verify(t.lines, t.n_lines, c->a->keyed, check_keyed, c, &res);
	if (r != P11A_OK) {
		ret = r == P11A_ERR_NOMEM
			  ? cli_report(c->a->json, "NOMEM", CLI_EXIT_FAIL, "out of memory")
			  : cli_fail_agent(c, r, "check a keyed audit record");
		goto out;
	}
	if (!res.intact) {
		if (c->a->n_files > 1)
			ret = cli_reportf(
			    c->a->json, "AUDIT", CLI_EXIT_FAIL, "record %llu (line %zu of %s): %s",
			    (unsigned long long)res.bad_seq, res.bad_line, res.bad_file, res.what);
		else
			ret = cli_reportf(c->a->json, "AUDIT", CLI_EXIT_FAIL,
					  "record %llu (line %zu): %s",
					  (unsigned long long)res.bad_seq, res.bad_line, res.what);
		goto out;
	}
	if (res.first_seq > 1 && !c->a->partial) {
		/* Records cut from the start would otherwise go unnoticed. */
		ret =
		    cli_reportf(c->a->json, "AUDIT", CLI_EXIT_FAIL,
				"record 1 (line 1): removed: the trail starts at record %llu; give "
				"the earlier files first, or --partial if they were rotated away",
				(unsigned long long)res.first_seq);
		goto out;
	}
	if ((ret = check_head(c, &t, &res, &head)) != 0)
		goto out;
	print_intact(c, &res);
	ret = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL, "cannot write to stdout: %s",
				  strerror(errno));
out:
	trail_free(&t);
	return ret;
}
