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

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit.h"
#include "auditlog.h"
#include "io.h"
#include "output.h"
#include "pkey.h"

const char cli_usage_audit_verify[] =
    "Usage: p11agent [-S SOCKET] [--json] audit-verify [--pubkey FILE] [--keyed] [--partial]\n"
    "        FILE...\n"
    "\n"
    "Checks the agent's audit trail: FILEs are read in order as one chain (after\n"
    "logrotate: the oldest file first). Reports every problem it finds, a line\n"
    "each on stderr, and goes on past a damaged line:\n"
    "  record N (line L): changed|removed|reordered|damaged|checkpoint: ...\n"
    "then prints \"audit trail intact: ...\" and exits 0, or exits 1.\n"
    "Unkeyed records (chain sha256) are checked here; they only show careless\n"
    "edits, since whoever can write the file can recompute them.\n"
    "Keyed records (chain hmac-sha256, the agent's audit-key):\n"
    "  without --pubkey, each MAC is checked by the agent at SOCKET: the result\n"
    "  is only as good as whoever answers on that socket;\n"
    "  with --pubkey FILE, offline, trusting no agent (no socket is used): the\n"
    "  checkpoint records, signed by the agent's audit-sign-key, are verified with\n"
    "  its public key in FILE (PEM, as 'p11agent pubkey KEY' prints it), and each\n"
    "  confirms the records it covers. Records after the last checkpoint are\n"
    "  reported as unconfirmed: a warning, not a failure. A trail with no\n"
    "  checkpoint, a checkpoint whose signature or hash does not hold, or one\n"
    "  whose records are missing, fails.\n"
    "Records removed from the end of the last FILE cannot be told from a trail\n"
    "that ends there, unless a checkpoint or the agent's head says so.\n"
    "  --pubkey FILE    check offline with the audit-sign-key's public key\n"
    "  --partial        accept a trail that starts after record 1 (its earlier\n"
    "                   files were rotated away); else that is a removal\n"
    "  --keyed          every record must be keyed (refuse a chain rewritten\n"
    "                   without the key)\n"
    "With --json: one JSON object on stdout with the verdict and a \"problems\"\n"
    "array.\n";

const char cli_exit_audit_verify[] =
    "Exit status: 0 intact (warnings allowed); 1 a problem was found, or a FILE\n"
    "cannot be read; 2 usage error; 3 agent unreachable (keyed records, without\n"
    "--pubkey); 4 denied by policy.\n";

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
 * A keyed trail must reach the token's head: it must hold record H with the
 * head's MAC. Adds a "truncated" or "replaced" problem to res otherwise.
 * Returns 0, or the exit status of a failure to ask the agent.
 */
static int check_head(struct cli_ctx *c, const struct trail *t, struct auditlog_result *res,
		      const struct head *h)
{
	struct auditlog_rec rec;

	if (res->n_keyed == 0)
		return 0;
	if (h->rc != P11A_OK)
		return cli_fail_agent(c, h->rc, "ask the agent for its audit chain's head");
	if (h->seq > res->last_seq) {
		auditlog_result_add(res, AUDITLOG_TRUNCATED, res->last_seq + 1, NULL,
				    "truncated: the token's head is record %llu, the trail ends "
				    "at record %llu (records %llu..%llu are missing)",
				    (unsigned long long)h->seq, (unsigned long long)res->last_seq,
				    (unsigned long long)res->last_seq + 1,
				    (unsigned long long)h->seq);
		return 0;
	}
	for (size_t i = t->n_lines; i-- > 0;) {
		if (auditlog_parse(t->lines[i].p, t->lines[i].len, &rec) != 0 || rec.seq < h->seq)
			break;
		if (rec.seq > h->seq)
			continue;
		if (memcmp(rec.mac, h->mac, AUDITLOG_MAC_LEN) != 0)
			auditlog_result_add(res, AUDITLOG_CHANGED, h->seq, &t->lines[i],
					    "replaced: it is not the token's head (another MAC)");
		return 0;
	}
	/* The head's record is in an earlier file that was not given (--partial). */
	return 0;
}

/* Most bytes of a --pubkey file. */
#define PUBKEY_MAX (64u * 1024u)

/* Reads --pubkey FILE: an EC or Ed25519 SubjectPublicKeyInfo, PEM or DER. */
static int read_pubkey(struct cli_ctx *c, EVP_PKEY **out_pkey)
{
	const char *file = c->a->pubkey;
	uint8_t *data = NULL, *der = NULL;
	size_t len = 0, der_len = 0;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;
	int ret, r;

	if (cli_read_file(file, PUBKEY_MAX, &data, &len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if ((r = cli_pkey_spki_der(data, len, &der, &der_len)) != P11A_OK) {
		ret = r == P11A_ERR_NOMEM
			  ? cli_report(c->a->json, "NOMEM", CLI_EXIT_FAIL, "out of memory")
			  : cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL,
					"--pubkey %s: no public key in it; give the PEM that "
					"'p11agent pubkey AUDIT-SIGN-KEY' prints",
					file);
		goto out;
	}
	p = der;
	pkey = d2i_PUBKEY(NULL, &p, (long)der_len);
	ERR_clear_error();
	if (pkey == NULL) {
		ret = cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL,
				  "--pubkey %s: OpenSSL cannot read its public key", file);
		goto out;
	}
	if (cli_pkey_type(pkey) != P11A_KEY_EC && cli_pkey_type(pkey) != P11A_KEY_ED25519) {
		ret = cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL,
				  "--pubkey %s: not an EC or Ed25519 key: checkpoints are signed "
				  "with the agent's audit-sign-key, which is one of those",
				  file);
		goto out;
	}
	*out_pkey = pkey;
	pkey = NULL;
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	free(der);
	cli_data_free(data, len);
	return ret;
}

/* Where a problem shows: "record N (line L)", " of FILE" with several FILEs. */
static void print_place(struct cli_ctx *c, const struct auditlog_problem *p)
{
	if (p->file == NULL)
		return;
	fprintf(stderr, "record %llu (line %zu", (unsigned long long)p->seq, p->line);
	if (c->a->n_files > 1)
		fprintf(stderr, " of %s", p->file);
	fprintf(stderr, "): ");
}

/* Every problem kept: a line each on stderr (text), or a JSON array on stdout. */
static void print_problems(struct cli_ctx *c, const struct auditlog_result *res)
{
	size_t all = res->n_failures + res->n_warnings;

	if (c->a->json) {
		printf("\"problems\":[");
		for (size_t i = 0; i < res->n_problems; i++) {
			const struct auditlog_problem *p = &res->problems[i];

			printf("%s{\"seq\":%llu,\"file\":", i > 0 ? "," : "",
			       (unsigned long long)p->seq);
			if (p->file != NULL)
				cli_json_string(stdout, p->file);
			else
				printf("null");
			printf(",\"line\":%zu,\"kind\":\"%s\",\"warning\":%s,\"message\":", p->line,
			       auditlog_kind_name(p->kind), p->warning ? "true" : "false");
			cli_json_string(stdout, p->what);
			printf("}");
		}
		printf("],\"failures\":%zu,\"warnings\":%zu", res->n_failures, res->n_warnings);
		return;
	}
	for (size_t i = 0; i < res->n_problems; i++) {
		const struct auditlog_problem *p = &res->problems[i];

		fprintf(stderr, "p11agent: %s", p->warning ? "warning: " : "");
		print_place(c, p);
		fprintf(stderr, "%s\n", p->what);
	}
	if (all > res->n_problems)
		fprintf(stderr, "p11agent: ... and %zu more problems (the first %zu are shown)\n",
			all - res->n_problems, res->n_problems);
}

/* The socket whose agent confirmed the keyed MACs, or NULL when none was asked. */
static const char *asked(const struct cli_ctx *c)
{
	return c->conn != NULL ? p11a_conn_path(c->conn) : NULL;
}

/* The verdict's numbers, as the fields of a JSON object. */
static void print_json_fields(const struct cli_ctx *c, const struct auditlog_result *res)
{
	printf("\"intact\":%s,\"records\":%zu,\"first_seq\":%llu,\"last_seq\":%llu,\"keyed\":%zu,"
	       "\"mode\":\"%s\",\"agent\":",
	       res->intact ? "true" : "false", res->n_records, (unsigned long long)res->first_seq,
	       (unsigned long long)res->last_seq, res->n_keyed,
	       c->a->pubkey != NULL ? "offline" : "online");
	if (asked(c) != NULL)
		cli_json_string(stdout, asked(c));
	else
		printf("null");
	printf(",\"checkpoints\":%zu,\"checkpoints_valid\":%zu,\"confirmed\":%zu,",
	       res->n_checkpoint_records, res->n_checkpoints, res->n_confirmed);
}

/* Prints the verdict on an intact trail (text; its warnings are on stderr already). */
static void print_intact(struct cli_ctx *c, const struct auditlog_result *res)
{
	const char *agent = asked(c);

	if (res->n_records == 0) {
		printf("audit trail intact: no records\n");
		return;
	}
	printf("audit trail intact: %zu records, seq %llu to %llu, ", res->n_records,
	       (unsigned long long)res->first_seq, (unsigned long long)res->last_seq);
	if (c->a->pubkey != NULL) {
		printf("checked offline with the public key in %s (no agent asked): %zu confirmed "
		       "by %zu checkpoint%s\n",
		       c->a->pubkey, res->n_confirmed, res->n_checkpoints,
		       res->n_checkpoints == 1 ? "" : "s");
		if (res->n_confirmed < res->n_records)
			printf("warning: %zu records are unconfirmed (listed on stderr): not a "
			       "failure, but no checkpoint signature vouches for them\n",
			       res->n_records - res->n_confirmed);
	} else if (res->n_keyed == res->n_records) {
		printf("keyed: every MAC confirmed by the agent at %s\n", agent);
	} else if (res->n_keyed == 0) {
		printf("unkeyed (SHA-256 chain: it shows careless edits only)\n");
	} else {
		printf("%zu unkeyed, then %zu keyed (confirmed by the agent at %s)\n",
		       res->n_records - res->n_keyed, res->n_keyed, agent);
	}
	if (c->a->pubkey == NULL && res->n_keyed > 0)
		printf("note: this trusts whoever answers at %s; 'audit-verify --pubkey FILE' "
		       "checks the signed checkpoints offline, trusting no agent\n",
		       agent);
	if (c->a->pubkey == NULL && res->n_checkpoint_records > 0)
		printf("note: %zu checkpoint%s not checked: give --pubkey FILE to check them\n",
		       res->n_checkpoint_records, res->n_checkpoint_records == 1 ? "" : "s");
	if (res->first_seq > 1)
		printf("note (--partial): the chain starts at record %llu: the records before it "
		       "are in an earlier file, not checked\n",
		       (unsigned long long)res->first_seq);
}

int cli_cmd_audit_verify(struct cli_ctx *c)
{
	struct trail t;
	struct auditlog_result res;
	struct auditlog_opts opts;
	struct head head;
	EVP_PKEY *pkey = NULL;
	int r, ret;

	memset(&t, 0, sizeof(t));
	memset(&res, 0, sizeof(res));
	memset(&head, 0, sizeof(head));
	/* Online only: offline, no socket is used at all. */
	if (c->a->pubkey == NULL)
		fetch_head(c, &head);
	if ((ret = read_trail(c, &t)) != 0)
		goto out;
	if (c->a->pubkey != NULL && (ret = read_pubkey(c, &pkey)) != 0)
		goto out;
	memset(&opts, 0, sizeof(opts));
	opts.require_keyed = c->a->keyed;
	opts.partial = c->a->partial;
	/* Offline, no socket is used: the checkpoints vouch for the keyed records. */
	opts.check = pkey == NULL ? check_keyed : NULL;
	opts.arg = c;
	opts.pubkey = pkey;
	r = auditlog_verify(t.lines, t.n_lines, &opts, &res);
	if (r != P11A_OK) {
		ret = r == P11A_ERR_NOMEM
			  ? cli_report(c->a->json, "NOMEM", CLI_EXIT_FAIL, "out of memory")
			  : cli_fail_agent(c, r, "check a keyed audit record");
		goto out;
	}
	if (pkey == NULL && (ret = check_head(c, &t, &res, &head)) != 0)
		goto out;
	if (c->a->json) {
		printf("{");
		print_json_fields(c, &res);
		print_problems(c, &res);
		printf("}\n");
	} else {
		print_problems(c, &res);
		if (res.intact)
			print_intact(c, &res);
	}
	ret = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL, "cannot write to stdout: %s",
				  strerror(errno));
	else if (!res.intact)
		ret = cli_reportf(c->a->json, "AUDIT", CLI_EXIT_FAIL,
				  "audit trail NOT intact: %zu problem%s in %zu records%s",
				  res.n_failures, res.n_failures == 1 ? "" : "s", res.n_records,
				  res.n_warnings > 0 ? ", and warnings" : "");
out:
	auditlog_result_free(&res);
	EVP_PKEY_free(pkey);
	trail_free(&t);
	return ret;
}
