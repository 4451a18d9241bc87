/*
 * http: 'p11agent http-sign' and 'p11agent http-verify'. See http.h.
 *
 * Each reads the message (and the request a response answers), then hands
 * it to libp11agent's p11a_http_*(), which do the RFC 9421 work; here are
 * only the files, the defaults the options give and the verdict's words.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "io.h"
#include "output.h"
#include "p11agent.h"
#include "usage.h"

const char cli_usage_http_sign[] =
    "Usage: p11agent [-S SOCKET] http-sign KEY [--alg ALG] [--label L]\n"
    "         [--components LIST] [--created now|T] [--expires T|+S] [--nonce N]\n"
    "         [--keyid ID] [--tag T] [--alg-param] [--digest sha-256|sha-512]\n"
    "         [--request FILE] [--print-base] [-i MSG] [-o OUT]\n"
    "\n"
    "Signs the HTTP/1.1 request or response in MSG (default stdin) with KEY, as an\n"
    "RFC 9421 HTTP Message Signature, and writes MSG to OUT (default stdout) with\n"
    "two field lines added at the end of its header section, in its own line\n"
    "ending: Signature-Input: L=(...);created=... and Signature: L=:BASE64:.\n"
    "  --alg ALG          the algorithm (default: the key's: hmac-sha256 for HMAC,\n"
    "                     rsa-pss-sha512 for RSA, ecdsa-p256-sha256 for P-256,\n"
    "                     ecdsa-p384-sha384 for P-384, ed25519 for Ed25519)\n"
    "  --label L          the signature's label, an RFC 9651 key: a lowercase\n"
    "                     letter or '*', then lowercase letters, digits, '_', '-',\n"
    "                     '.', '*' (default: sig1); one the message has is refused\n"
    "  --components LIST  the components covered, comma-separated, each a name and\n"
    "                     its parameters: @method,@authority,example-dict;sf,\n"
    "                     @query-param;name=\"Pet\" (\"\": none). Default: a request's\n"
    "                     @method,@authority,@path,@query, a response's @status,\n"
    "                     then content-type and content-digest if present\n"
    "  --created now|T    the created parameter, in Unix seconds (default: now)\n"
    "  --expires T|+S     the expires parameter: Unix seconds, or +S seconds after\n"
    "                     created (default: none)\n"
    "  --nonce N          the nonce parameter (default: none)\n"
    "  --keyid ID         the keyid parameter (default: none)\n"
    "  --tag T            the tag parameter (default: none)\n"
    "  --alg-param        also write alg=\"ALG\" in the parameters\n"
    "  --digest sha-256|sha-512\n"
    "                     first add Content-Digest over the body, and cover\n"
    "                     content-digest (a message that has one is refused)\n"
    "  --request FILE     the request a response answers, for components with ;req\n"
    "  --print-base       write the signature base to OUT instead, the exact bytes\n"
    "                     that would be signed, and sign nothing\n"
    "  -i, --in MSG       the message ('-': stdin)\n"
    "  -o, --out OUT      the signed message ('-': stdout)\n"
    "The parameters are written in the order created, expires, nonce, alg, keyid,\n"
    "tag; N, ID and T are printable ASCII.\n"
    "\n" CLI_USAGE_KEY;

const char cli_exit_http_sign[] =
    "Exit status: 0 signed (or the base written); 1 the message is malformed, a\n"
    "covered component is absent or named twice, the base is not ASCII, ALG does\n"
    "not fit the key, a file could not be read or written, or the agent or the\n"
    "token refused; 2 usage error; 3 agent unreachable; 4 denied by policy; 5 no\n"
    "such key or ambiguous key; 6 token unavailable.\n";

const char cli_usage_http_verify[] =
    "Usage: p11agent [-S SOCKET] http-verify KEY [--label L] [--alg ALG]\n"
    "         [--max-age S] [--require LIST] [--at T] [--request FILE] [-i MSG]\n"
    "\n"
    "Checks the RFC 9421 signature labelled L of the HTTP/1.1 request or response\n"
    "in MSG (default stdin) with KEY. Prints \"Verified OK: signature 'L' (ALG)\n"
    "is valid\" and exits 0 when it is valid; prints \"Verification failure:\n"
    "REASON\" and exits 1 when not. HMACs are checked by the agent, inside the\n"
    "token; signatures here, with OpenSSL on the key's public key. When\n"
    "content-digest is covered, the body's digest is checked too. A signature\n"
    "created more than 60 s ahead, or whose expires has passed, is invalid.\n"
    "  --label L          the signature to check (default: the message's only one)\n"
    "  --alg ALG          the algorithm (default: the signature's alg parameter,\n"
    "                     else the key's, as for http-sign); one that disagrees\n"
    "                     with the alg parameter makes the signature invalid\n"
    "  --max-age S        created must be there and at most S seconds old\n"
    "  --require LIST     components that must be covered (as http-sign\n"
    "                     --components writes them)\n"
    "  --at T             check the times as at Unix time T, not the clock\n"
    "  --request FILE     the request a response answers, for components with ;req\n"
    "  -i, --in MSG       the message ('-': stdin)\n"
    "\n" CLI_USAGE_KEY;

const char cli_exit_http_verify[] =
    "Exit status: 0 valid; 1 invalid, the message is malformed, a file could not be\n"
    "read, or the agent or the token refused; 2 usage error; 3 agent unreachable;\n"
    "4 denied by policy; 5 no such key or ambiguous key; 6 token unavailable.\n";

/* The most bytes of a message http-sign and http-verify read (p11a_http_parse()). */
#define MAX_MESSAGE (64u * 1024u * 1024u)

/* Reports a failure of libp11agent's p11a_http_*(): its reason, its code's exit status. */
static int fail_http(struct cli_ctx *c, int err, const char *what)
{
	return cli_reportf(c->a->json, p11a_errname(err), cli_exit_code(err), "%s%s%s", what,
			   *what != '\0' ? ": " : "", p11a_http_message());
}

/* Reads and parses the message in path (NULL or "-": stdin). */
static int read_message(struct cli_ctx *c, const char *path, struct p11a_http_msg **out)
{
	struct cli_input *in = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0, err, r = 0;

	if (cli_input_open(path, &in, c->msg, sizeof(c->msg)) != 0 ||
	    cli_input_read(in, MAX_MESSAGE, &data, &len, &more, c->msg, sizeof(c->msg)) != 0) {
		r = cli_fail_file(c);
	} else if (more) {
		r = cli_reportf(c->a->json, p11a_errname(P11A_ERR_TOO_LARGE), CLI_EXIT_FAIL,
				"%s is larger than %u MiB", cli_input_name(in), MAX_MESSAGE >> 20);
	} else if ((err = p11a_http_parse(data, len, out)) != P11A_OK) {
		r = fail_http(c, err, cli_input_name(in));
	}
	cli_data_free(data, len);
	cli_input_close(in);
	return r;
}

/* The message (-i) and the request it answers (--request), parsed. */
static int read_messages(struct cli_ctx *c, struct p11a_http_msg **msg, struct p11a_http_msg **req)
{
	int r;

	*msg = *req = NULL;
	if (c->a->request != NULL && strcmp(c->a->request, "-") == 0 &&
	    (c->a->in == NULL || strcmp(c->a->in, "-") == 0))
		return cli_report(c->a->json, "USAGE", CLI_EXIT_USAGE,
				  "--request - and the message cannot both be read from stdin; "
				  "give the message with -i FILE");
	if ((r = read_message(c, c->a->in, msg)) != 0)
		return r;
	if (c->a->request != NULL && (r = read_message(c, c->a->request, req)) != 0) {
		p11a_http_free(*msg);
		*msg = NULL;
	}
	return r;
}

/* Whether LIST names the field content-digest (with any parameters). */
static int lists_digest(const char *list)
{
	const char *p = list;
	size_t n;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ";,");
		if ((n == 14 && strncasecmp(p, "content-digest", 14) == 0) ||
		    (n == 16 && strncasecmp(p, "\"content-digest\"", 16) == 0))
			return 1;
		p = strchr(p, ',');
		if (p == NULL)
			return 0;
		p++;
	}
}

int cli_cmd_http_sign(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	struct p11a_http_sign_params p = {0};
	struct p11a_http_msg *msg = NULL, *req = NULL;
	char *list = NULL, *base = NULL;
	uint8_t *out = NULL;
	size_t out_len = 0, base_len = 0;
	int err, r;

	if (a->created_set && a->created == 0)
		return cli_report(a->json, "USAGE", CLI_EXIT_USAGE,
				  "--created 0 is not a time a signature is made at");
	if ((r = read_messages(c, &msg, &req)) != 0)
		return r;
	if (a->digest != NULL && (err = p11a_http_add_digest(msg, a->digest)) != P11A_OK) {
		r = fail_http(c, err, "--digest");
		goto out;
	}
	p.label = a->label;
	p.components = a->components;
	if (a->digest != NULL && a->components != NULL && !lists_digest(a->components)) {
		/* The digest is there to be signed: cover it. */
		if (asprintf(&list, "%s%scontent-digest", a->components,
			     *a->components != '\0' ? "," : "") < 0) {
			list = NULL;
			r = cli_fail_agent(c, P11A_ERR_NOMEM, "http-sign");
			goto out;
		}
		p.components = list;
	}
	p.created = a->created_set ? a->created : (int64_t)time(NULL);
	if (a->expires_set)
		p.expires = a->expires_rel ? p.created + a->expires : a->expires;
	p.nonce = a->nonce;
	p.keyid = a->keyid;
	p.tag = a->tag;
	p.alg = a->http_alg;
	p.alg_param = a->alg_param;
	if (a->print_base) {
		if (a->alg_param && a->http_alg == NULL && (r = cli_connect(c)) != 0)
			goto out;
		if ((err = p11a_http_base(c->conn, a->key, msg, req, &p, &base, &base_len)) !=
		    P11A_OK) {
			r = fail_http(c, err, "");
			goto out;
		}
		if (cli_write_output(a->out, (const uint8_t *)base, base_len, c->msg,
				     sizeof(c->msg)) != 0)
			r = cli_fail_file(c);
		goto out;
	}
	if ((r = cli_connect(c)) != 0)
		goto out;
	if ((err = p11a_http_sign(c->conn, a->key, msg, req, &p)) != P11A_OK ||
	    (err = p11a_http_serialize(msg, &out, &out_len)) != P11A_OK) {
		r = fail_http(c, err, "");
		goto out;
	}
	if (cli_write_output(a->out, out, out_len, c->msg, sizeof(c->msg)) != 0)
		r = cli_fail_file(c);
out:
	free(list);
	if (base != NULL)
		p11a_free(base, base_len + 1);
	p11a_free(out, out_len);
	p11a_http_free(msg);
	p11a_http_free(req);
	return r;
}

/* The verdict as one JSON object: valid, the signature's label and parameters, the reason. */
static void print_json_verdict(const struct p11a_http_sig_info *info, int valid)
{
	printf("{\"valid\":%s,\"label\":", valid ? "true" : "false");
	cli_json_string(stdout, info->label);
	if (info->keyid != NULL) {
		printf(",\"keyid\":");
		cli_json_string(stdout, info->keyid);
	}
	if (info->alg != NULL) {
		printf(",\"alg\":");
		cli_json_string(stdout, info->alg);
	}
	if (info->created >= 0)
		printf(",\"created\":%lld", (long long)info->created);
	if (info->expires >= 0)
		printf(",\"expires\":%lld", (long long)info->expires);
	printf(",\"%s\":", valid ? "message" : "reason");
	cli_json_string(stdout, p11a_http_message());
	printf("}\n");
}

int cli_cmd_http_verify(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	struct p11a_http_verify_params p = {0};
	struct p11a_http_msg *msg = NULL, *req = NULL;
	struct p11a_http_sig_info *info = NULL;
	int err, r, valid = 0;

	if (a->at_set && a->at == 0)
		return cli_report(a->json, "USAGE", CLI_EXIT_USAGE,
				  "--at 0 is not a time to check at");
	if ((r = read_messages(c, &msg, &req)) != 0)
		return r;
	if ((err = p11a_http_signature_info(msg, a->label, &info)) != P11A_OK) {
		r = fail_http(c, err, a->in != NULL && strcmp(a->in, "-") != 0 ? a->in : "stdin");
		goto out;
	}
	if ((r = cli_connect(c)) != 0)
		goto out;
	p.label = info->label;
	p.require = a->require;
	p.max_age = a->max_age;
	p.now = a->at_set ? a->at : 0;
	p.alg = a->http_alg;
	if ((err = p11a_http_verify(c->conn, a->key, msg, req, &p, &valid)) != P11A_OK) {
		r = fail_http(c, err, "");
		goto out;
	}
	if (a->json)
		print_json_verdict(info, valid);
	else
		printf("%s: %s\n", valid ? "Verified OK" : "Verification failure",
		       p11a_http_message());
	fflush(stdout);
	r = valid ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	p11a_http_sig_info_free(info);
	p11a_http_free(msg);
	p11a_http_free(req);
	return r;
}
