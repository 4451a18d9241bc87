/*
 * commands: the p11agent commands that list keys, export public keys, sign
 * and verify, each with its usage text; cli_run() runs the command the
 * parser found in the table (table.c). See commands.h.
 *
 * Every helper here that can fail reports the failure itself (output.h) and
 * returns the exit status, 0 meaning "go on".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "commands.h"
#include "ctx.h"
#include "io.h"
#include "output.h"
#include "pkey.h"
#include "transport.h"
#include "usage.h"

/* Largest signature or MAC file verify reads (RSA-16384 is 2 KiB). */
#define MAX_SIG_FILE (16u * 1024u)
/* Largest message verified locally in one piece (Ed25519). */
#define MAX_ONESHOT (64u * 1024u * 1024u)
/* Bytes of input read before deciding to stream the rest through a hash. */
#define HEAD_LOCAL (64u * 1024u)

const char cli_usage_ping[] = "Usage: p11agent [-S SOCKET] ping\n"
			      "\n"
			      "Checks that the agent answers. Prints \"agent at SOCKET: ok\".\n";

const char cli_exit_ping[] =
    "Exit status: 0 the agent answers; 1 the agent refused (busy, out of memory);\n"
    "2 usage error; 3 agent unreachable, or not one to trust.\n";

const char cli_usage_list[] =
    "Usage: p11agent [-S SOCKET] [--json] list\n"
    "\n"
    "Lists the keys the agent holds, a line a key:\n"
    "  NAME  TYPE  OPS  FINGERPRINT  [VERSION]  [CERT]  URI\n"
    "NAME is the agent's config name for the key, else its label, else id:HEX;\n"
    "TYPE e.g. rsa:2048, ec:P-256, ed25519, hmac:256, aes:256; OPS the operations\n"
    "the key allows; FINGERPRINT the SHA-256 fingerprint of its public key as\n"
    "'ssh-add -l' and 'ssh-keygen -l' print it (SHA256:base64), or '-' for a key\n"
    "with no OpenSSH form (HMAC, AES); VERSION the key's version, shown when a key\n"
    "has been rotated (see 'p11agent versions'); CERT the expiry date of its\n"
    "certificate in the token, or '-', shown when a key has one; URI its pkcs11:\n"
    "URI, which works as KEY.\n"
    "The fingerprints cost one request per key (its public key).\n"
    "With --json: a JSON array of objects with label, id, uri, type, bits, curve,\n"
    "ops, algs, default_alg, sw_algs (those of algs that the agent completes in\n"
    "software), name (the config name), fingerprint (\"\" when none), family (the\n"
    "name its versions share), version, min_version, newest (true or false),\n"
    "created (YYYY-MM-DD) and cert_expiry (YYYY-MM-DDTHH:MM:SSZ); \"\" for a date\n"
    "the token does not hold.\n";

const char cli_usage_pubkey[] =
    "Usage: p11agent [-S SOCKET] pubkey KEY [--format pem|der|ssh]\n"
    "       p11agent [-S SOCKET] pubkey --all [--format pem|ssh]\n"
    "\n"
    "Prints the public key of KEY on stdout:\n"
    "  --format pem   SubjectPublicKeyInfo, PEM (the default)\n"
    "  --format der   SubjectPublicKeyInfo, DER (binary)\n"
    "  --format ssh   an OpenSSH public key line (RSA, ECDSA, Ed25519)\n"
    "  --all          every key 'p11agent list' shows that has a public key, in\n"
    "                 its order, instead of KEY: with --format ssh one line each,\n"
    "                 as 'ssh-add -L' prints them (keys with no OpenSSH form are\n"
    "                 left out); with pem one PEM block each; der is refused\n"
    "\n" CLI_USAGE_KEY;

const char cli_usage_sign[] =
    "Usage: p11agent [-S SOCKET] sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]\n"
    "\n"
    "Signs the bytes of IN (default stdin) with KEY; writes the signature to OUT\n"
    "(default stdout). OUT is written whole or not at all.\n"
    "  --alg ALG      the algorithm (default: the key's own: rsa-pkcs1-sha256 for RSA,\n"
    "                 the curve's hash for ECDSA, ed25519, hmac-sha256)\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the signature file ('-': stdout)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: r||s instead of a DER ECDSA-Sig-Value\n"
    "\n" CLI_USAGE_KEY;

const char cli_usage_verify[] =
    "Usage: p11agent [-S SOCKET] verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] "
    "[--raw]\n"
    "\n"
    "Checks the signature in FILE over the bytes of IN (default stdin). Prints\n"
    "\"Verified OK\" and exits 0 when it is valid, prints \"Verification failure\"\n"
    "and exits 1 when not. Signatures are checked here with OpenSSL on the key's\n"
    "public key; HMACs are checked by the agent, inside the token.\n"
    "  --sig FILE     the signature or HMAC\n"
    "  --alg ALG      the algorithm (default: the key's own)\n"
    "  -i, --in IN    the signed file ('-': stdin)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: FILE holds r||s instead of DER\n"
    "\n" CLI_USAGE_KEY;

const char cli_usage_hmac[] =
    "Usage: p11agent [-S SOCKET] hmac KEY [--alg ALG] [-i IN] [-o OUT]\n"
    "\n"
    "Computes the HMAC of IN (default stdin) with the secret key KEY, inside the\n"
    "token; writes it to OUT (default stdout). Check one with 'p11agent verify'.\n"
    "  --alg ALG      the algorithm (default: hmac-sha256)\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the HMAC file ('-': stdout)\n"
    "\n" CLI_USAGE_KEY;

/*
 * The algorithm to use when --alg is absent: the key's default as the agent
 * describes it. want is the key type the command needs (P11A_KEY_UNKNOWN:
 * any); a key of another type is refused.
 */
static int key_default_alg(struct cli_ctx *c, p11a_key_type want, p11a_alg *out_alg)
{
	struct p11a_key_info *k = NULL;
	const struct p11a_alg_info *info;
	const char *type_name = p11a_key_type_name(want);
	char want_name[16];
	size_t i;
	int r, ret;

	if ((r = p11a_describe_key(c->conn, c->a->key, &k)) != P11A_OK)
		return cli_fail_agent(c, r, "find the key '%s'", c->a->key);
	if (want != P11A_KEY_UNKNOWN && k->type != want) {
		/* "an HMAC key": the type's name in capitals (each takes "an"). */
		for (i = 0; type_name[i] != '\0' && i + 1 < sizeof(want_name); i++)
			want_name[i] = (char)toupper((unsigned char)type_name[i]);
		want_name[i] = '\0';
		ret = cli_reportf(c->a->json, p11a_errname(P11A_ERR_NOT_SUPPORTED),
				  cli_exit_code(P11A_ERR_NOT_SUPPORTED),
				  "'%s' is not an %s key (its type is %s): pick an %s key from "
				  "'p11agent list'",
				  c->a->key, want_name, p11a_key_type_name(k->type), want_name);
		goto out;
	}
	info = k->default_alg != NULL ? p11a_alg_by_name(k->default_alg) : NULL;
	if (info == NULL || info->key_type != k->type) {
		ret = cli_reportf(c->a->json, p11a_errname(P11A_ERR_NOT_SUPPORTED),
				  cli_exit_code(P11A_ERR_NOT_SUPPORTED),
				  "'%s' (type %s) has no default algorithm: pass --alg", c->a->key,
				  p11a_key_type_name(k->type));
		goto out;
	}
	*out_alg = info->alg;
	ret = 0;
out:
	p11a_keys_free(k, 1);
	return ret;
}

/* Fetches and decodes the public key of KEY. */
static int fetch_pubkey(struct cli_ctx *c, EVP_PKEY **out_pkey)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r, ret = 0;

	if ((r = p11a_pubkey(c->conn, c->a->key, &der, &der_len)) != P11A_OK)
		return cli_fail_agent(c, r, "export the public key of '%s'", c->a->key);
	if ((r = cli_pkey_from_der(der, der_len, out_pkey, c->msg, sizeof(c->msg))) != P11A_OK)
		ret = cli_fail_local(c, r);
	p11a_free(der, der_len);
	return ret;
}

int cli_cmd_ping(struct cli_ctx *c)
{
	int r;

	if ((r = cli_connect(c)) != 0)
		return r;
	if ((r = p11a_ping(c->conn)) != P11A_OK)
		return cli_fail_agent(c, r, "ping");
	if (c->a->json) {
		fputs("{\"socket\":", stdout);
		cli_json_string(stdout, p11a_conn_path(c->conn));
		fputs(",\"status\":\"ok\"}\n", stdout);
	} else {
		printf("agent at %s: ok\n", p11a_conn_path(c->conn));
	}
	return 0;
}

/* Whether keys of type t have a public key (and so maybe an OpenSSH form). */
static int has_pubkey(p11a_key_type t)
{
	return t == P11A_KEY_RSA || t == P11A_KEY_EC || t == P11A_KEY_ED25519;
}

/*
 * The public key of the key at uri, as OpenSSL's; *out_err is the agent's
 * p11a_err when it came from there (0 for a local failure). The caller
 * reports: list shows '-' for a key it cannot fingerprint.
 */
static int key_pkey(struct cli_ctx *c, const char *uri, EVP_PKEY **out_pkey)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r;

	if ((r = p11a_pubkey(c->conn, uri, &der, &der_len)) != P11A_OK)
		return r;
	r = cli_pkey_from_der(der, der_len, out_pkey, c->msg, sizeof(c->msg));
	p11a_free(der, der_len);
	return r;
}

char *cli_key_fingerprint(struct cli_ctx *c, const struct p11a_key_info *k)
{
	char fp[CLI_SSH_FP_LEN];
	EVP_PKEY *pkey = NULL;

	fp[0] = '\0';
	if (has_pubkey(k->type) && k->uri != NULL && key_pkey(c, k->uri, &pkey) == P11A_OK &&
	    cli_pkey_ssh_fingerprint(pkey, fp, c->msg, sizeof(c->msg)) != P11A_OK)
		fp[0] = '\0';
	EVP_PKEY_free(pkey);
	return strdup(fp);
}

/*
 * The OpenSSH fingerprint of every key that has one (one pubkey request per
 * key), else "": fps[i] is malloc'd, fps too; free with free_fps().
 */
static char **key_fingerprints(struct cli_ctx *c, const struct p11a_key_info *keys, size_t n)
{
	char **fps = calloc(n > 0 ? n : 1, sizeof(*fps));
	size_t i;

	if (fps == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		fps[i] = cli_key_fingerprint(c, &keys[i]);
	return fps;
}

static void free_fps(char **fps, size_t n)
{
	if (fps == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(fps[i]);
	free(fps);
}

int cli_cmd_list(struct cli_ctx *c)
{
	struct p11a_key_info *keys = NULL;
	char **fps = NULL;
	size_t n = 0;
	int r, ret;

	if ((r = cli_connect(c)) != 0)
		return r;
	if ((r = p11a_list(c->conn, &keys, &n)) != P11A_OK)
		return cli_fail_agent(c, r, "list the keys");
	fps = key_fingerprints(c, keys, n);
	cli_print_keys(stdout, keys, (const char *const *)fps, n, c->a->json);
	ret = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL, "cannot write to stdout: %s",
				  strerror(errno));
	free_fps(fps, n);
	p11a_keys_free(keys, n);
	return ret;
}

/* The comment of an OpenSSH line: the key's name as list shows it, else KEY as typed. */
static char *ssh_comment(struct cli_ctx *c)
{
	struct p11a_key_info *k = NULL;
	char *name = NULL;

	if (p11a_describe_key(c->conn, c->a->key, &k) == P11A_OK)
		name = cli_key_name(k);
	p11a_keys_free(k, 1);
	return name != NULL ? name : strdup(c->a->key);
}

/* pem or ssh text of pkey (comment for ssh); *out malloc'd. */
static int pubkey_text(struct cli_ctx *c, EVP_PKEY *pkey, const char *comment, char **out,
		       size_t *out_len)
{
	if (c->a->format == CLI_FORMAT_SSH)
		return cli_pkey_ssh(pkey, comment, out, out_len, c->msg, sizeof(c->msg));
	return cli_pkey_pem(pkey, out, out_len, c->msg, sizeof(c->msg));
}

/*
 * pubkey --all: every listed key that has a public key, in list's order; with
 * --format ssh those with an OpenSSH form, as 'ssh-add -L' prints them.
 */
static int pubkey_all(struct cli_ctx *c)
{
	struct p11a_key_info *keys = NULL;
	EVP_PKEY *pkey = NULL;
	char *text = NULL, *name = NULL;
	size_t n = 0, text_len = 0, i;
	int r, ret = 0;

	if ((r = p11a_list(c->conn, &keys, &n)) != P11A_OK)
		return cli_fail_agent(c, r, "list the keys");
	for (i = 0; i < n && ret == 0; i++) {
		if (!has_pubkey(keys[i].type))
			continue;
		if ((r = key_pkey(c, keys[i].uri, &pkey)) != P11A_OK) {
			ret = r < P11A_ERR_CONNECT ? cli_fail_agent(c, r,
								    "export the public key of "
								    "'%s'",
								    keys[i].uri)
						   : cli_fail_local(c, r);
			break;
		}
		name = cli_key_name(&keys[i]);
		r = pubkey_text(c, pkey, name, &text, &text_len);
		if (r == P11A_OK)
			r = cli_write_output(NULL, (const uint8_t *)text, text_len, c->msg,
					     sizeof(c->msg));
		else if (r == P11A_ERR_NOT_SUPPORTED && c->a->format == CLI_FORMAT_SSH)
			r = P11A_OK; /* no OpenSSH form: left out, as ssh-add -L would */
		else
			ret = cli_fail_local(c, r);
		if (ret == 0 && r != P11A_OK)
			ret = cli_fail_file(c);
		free(text);
		free(name);
		EVP_PKEY_free(pkey);
		text = NULL;
		name = NULL;
		pkey = NULL;
	}
	p11a_keys_free(keys, n);
	return ret;
}

int cli_cmd_pubkey(struct cli_ctx *c)
{
	EVP_PKEY *pkey = NULL;
	uint8_t *der = NULL;
	char *text = NULL, *comment = NULL;
	size_t der_len = 0, text_len = 0;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		goto out;
	if (c->a->all) {
		ret = pubkey_all(c);
		goto out;
	}
	if ((r = p11a_pubkey(c->conn, c->a->key, &der, &der_len)) != P11A_OK) {
		ret = cli_fail_agent(c, r, "export the public key of '%s'", c->a->key);
		goto out;
	}
	if ((r = cli_pkey_from_der(der, der_len, &pkey, c->msg, sizeof(c->msg))) != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	r = P11A_OK;
	if (c->a->format == CLI_FORMAT_SSH)
		comment = ssh_comment(c);
	if (c->a->format != CLI_FORMAT_DER)
		r = pubkey_text(c, pkey, comment, &text, &text_len);
	if (r != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	if (text != NULL)
		r = cli_write_output(NULL, (const uint8_t *)text, text_len, c->msg, sizeof(c->msg));
	else
		r = cli_write_output(NULL, der, der_len, c->msg, sizeof(c->msg));
	ret = r != 0 ? cli_fail_file(c) : 0;
out:
	free(comment);
	free(text);
	EVP_PKEY_free(pkey);
	p11a_free(der, der_len);
	return ret;
}

/* Reads a --prehashed input: the digest, at most CLI_MAX_DIGEST bytes. */
static int read_digest(struct cli_ctx *c, struct cli_input *in, const struct p11a_alg_info *info,
		       uint8_t **out, size_t *out_len)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0;

	if (cli_input_read(in, CLI_MAX_DIGEST, &data, &len, &more, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	if (more || len == 0 || (info != NULL && len != info->digest_len)) {
		cli_data_free(data, len);
		if (info != NULL)
			return cli_reportf(
			    c->a->json, p11a_errname(P11A_ERR_BAD_INPUT), CLI_EXIT_FAIL,
			    "--prehashed: %s wants the %zu-byte %s digest; %s holds %s%zu "
			    "bytes",
			    info->name, info->digest_len, info->hash, cli_input_name(in),
			    more ? "more than " : "", len);
		return cli_reportf(
		    c->a->json, p11a_errname(P11A_ERR_BAD_INPUT), CLI_EXIT_FAIL,
		    "--prehashed: %s must hold the digest itself (32, 48 or 64 bytes); "
		    "it holds %s%zu bytes",
		    cli_input_name(in), more ? "more than " : "", len);
	}
	*out = data;
	*out_len = len;
	return 0;
}

static int too_large(struct cli_ctx *c, const struct p11a_alg_info *info, const char *in_name)
{
	int hmac = info != NULL && info->key_type == P11A_KEY_HMAC;

	return cli_reportf(
	    c->a->json, p11a_errname(P11A_ERR_TOO_LARGE), cli_exit_code(P11A_ERR_TOO_LARGE),
	    "input too large: %s takes the message itself, at most %u bytes, and %s "
	    "holds more%s",
	    info != NULL ? info->name : "this key's algorithm", (unsigned)P11A_MAX_DATA, in_name,
	    hmac ? "" : "; sign large files with an RSA or ECDSA key");
}

/* --prehashed and --raw against the algorithm finally chosen. */
static int check_flags(struct cli_ctx *c, const struct p11a_alg_info *info)
{
	if (c->a->prehashed && info->input != P11A_INPUT_DIGEST)
		return cli_reportf(c->a->json, "USAGE", CLI_EXIT_USAGE,
				   "--prehashed needs an RSA or ECDSA algorithm; '%s' uses %s",
				   c->a->key, info->name);
	if (c->a->raw && info->key_type != P11A_KEY_EC)
		return cli_reportf(c->a->json, "USAGE", CLI_EXIT_USAGE,
				   "--raw applies to ECDSA only; '%s' uses %s", c->a->key,
				   info->name);
	return 0;
}

/*
 * Signs for sign and hmac: the input goes to the agent as it is when it fits
 * in a request (the library hashes it for RSA and ECDSA); a larger input is
 * hashed here, streaming, and its digest signed (RSA and ECDSA only).
 */
static int sign_input(struct cli_ctx *c, p11a_alg alg, uint32_t flags)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	struct cli_input *in = NULL;
	uint8_t *data = NULL, *sig = NULL;
	uint8_t digest[CLI_MAX_DIGEST];
	const uint8_t *tbs;
	size_t len = 0, sig_len = 0, tbs_len;
	int more = 0, r, ret;

	if (cli_input_open(c->a->in, &in, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if ((ret = cli_connect(c)) != 0)
		goto out;
	if (flags & P11A_SIGN_PREHASHED) {
		if ((ret = read_digest(c, in, info, &data, &len)) != 0)
			goto out;
	} else if (cli_input_read(in, P11A_MAX_DATA, &data, &len, &more, c->msg, sizeof(c->msg)) !=
		   0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if (more) {
		if (alg == P11A_ALG_NONE) {
			if ((ret = key_default_alg(c, P11A_KEY_UNKNOWN, &alg)) != 0)
				goto out;
			info = p11a_alg_by_id(alg);
		}
		if (info == NULL || info->input != P11A_INPUT_DIGEST) {
			ret = too_large(c, info, cli_input_name(in));
			goto out;
		}
		r = cli_digest_input(info->hash, data, len, in, digest, &tbs_len, c->msg,
				     sizeof(c->msg));
		if (r != P11A_OK) {
			ret = cli_fail_local(c, r);
			goto out;
		}
		tbs = digest;
		flags |= P11A_SIGN_PREHASHED;
	} else {
		tbs = data != NULL ? data : (const uint8_t *)""; /* empty input */
		tbs_len = len;
	}
	r = p11a_sign(c->conn, c->a->key, alg, flags, tbs, tbs_len, &sig, &sig_len);
	if (r != P11A_OK) {
		ret = cli_fail_agent(c, r, "%s with '%s'", c->a->cmd->name, c->a->key);
		goto out;
	}
	if (cli_write_output(c->a->out, sig, sig_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	cli_json_result(c->a->json, c->a->key, c->a->out, p11a_last_result(c->conn));
	ret = 0;
out:
	p11a_free(sig, sig_len);
	cli_data_free(data, len);
	cli_input_close(in);
	return ret;
}

int cli_cmd_sign(struct cli_ctx *c)
{
	p11a_alg alg = c->a->alg;
	uint32_t flags = 0;
	int r;

	if (c->a->prehashed)
		flags |= P11A_SIGN_PREHASHED;
	if (c->a->raw)
		flags |= P11A_SIGN_ECDSA_RAW;
	if (flags != 0 && alg == P11A_ALG_NONE) {
		/* The flags must suit the key's default algorithm: learn it first. */
		if ((r = cli_connect(c)) != 0 ||
		    (r = key_default_alg(c, P11A_KEY_UNKNOWN, &alg)) != 0 ||
		    (r = check_flags(c, p11a_alg_by_id(alg))) != 0)
			return r;
	}
	return sign_input(c, alg, flags);
}

int cli_cmd_hmac(struct cli_ctx *c)
{
	p11a_alg alg = c->a->alg;
	int r;

	if (alg == P11A_ALG_NONE) {
		if ((r = cli_connect(c)) != 0 || (r = key_default_alg(c, P11A_KEY_HMAC, &alg)) != 0)
			return r;
	}
	return sign_input(c, alg, 0);
}

/* Prints the verdict and returns the exit status. */
static int verdict(int valid)
{
	puts(valid ? "Verified OK" : "Verification failure");
	fflush(stdout);
	return valid ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* HMAC: the agent checks mac inside the token. */
static int verify_hmac(struct cli_ctx *c, p11a_alg alg, struct cli_input *in, const uint8_t *mac,
		       size_t mac_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0, valid = 0, r, ret;

	if ((ret = check_flags(c, info)) != 0)
		return ret;
	if (cli_input_read(in, P11A_MAX_DATA, &data, &len, &more, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	if (more) {
		ret = too_large(c, info, cli_input_name(in));
		goto out;
	}
	r = p11a_verify_hmac(c->conn, c->a->key, alg, data, len, mac, mac_len, &valid);
	if (r != P11A_OK) {
		ret = cli_fail_agent(c, r, "verify with '%s'", c->a->key);
		goto out;
	}
	ret = verdict(valid);
out:
	cli_data_free(data, len);
	return ret;
}

/*
 * RSA, ECDSA, Ed25519: checked here, with OpenSSL, on the public key. RSA
 * and ECDSA verify a digest: --prehashed gives it, else the input is hashed
 * here, streaming; Ed25519 takes the whole message.
 */
static int verify_local(struct cli_ctx *c, EVP_PKEY *pkey, p11a_alg alg, struct cli_input *in,
			const uint8_t *sig, size_t sig_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(alg);
	uint8_t *data = NULL;
	uint8_t digest[CLI_MAX_DIGEST];
	const uint8_t *tbs;
	size_t len = 0, tbs_len;
	int more = 0, valid = 0, r, ret;

	if ((ret = check_flags(c, info)) != 0)
		return ret;
	if (c->a->prehashed) {
		if ((ret = read_digest(c, in, info, &data, &len)) != 0)
			return ret;
	} else {
		/* Ed25519 needs the whole message; the others hash the rest after the head. */
		size_t head = info->input == P11A_INPUT_MESSAGE ? MAX_ONESHOT : HEAD_LOCAL;
		if (cli_input_read(in, head, &data, &len, &more, c->msg, sizeof(c->msg)) != 0)
			return cli_fail_file(c);
		if (more && info->input == P11A_INPUT_MESSAGE) {
			ret =
			    cli_reportf(c->a->json, p11a_errname(P11A_ERR_TOO_LARGE), CLI_EXIT_FAIL,
					"input too large: %s verifies at most %u bytes here",
					info->name, (unsigned)MAX_ONESHOT);
			goto out;
		}
	}
	tbs = data;
	tbs_len = len;
	if (!c->a->prehashed && info->input == P11A_INPUT_DIGEST) {
		r = cli_digest_input(info->hash, data, len, in, digest, &tbs_len, c->msg,
				     sizeof(c->msg));
		if (r != P11A_OK) {
			ret = cli_fail_local(c, r);
			goto out;
		}
		tbs = digest;
	}
	r = cli_pkey_verify(pkey, info, c->a->raw, sig, sig_len, tbs, tbs_len, &valid, c->msg,
			    sizeof(c->msg));
	if (r != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	ret = verdict(valid);
out:
	cli_data_free(data, len);
	return ret;
}

int cli_cmd_verify(struct cli_ctx *c)
{
	const struct p11a_alg_info *info;
	struct cli_input *in = NULL;
	EVP_PKEY *pkey = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	p11a_alg alg = c->a->alg;
	int ret;

	if (cli_read_file(c->a->sig, MAX_SIG_FILE, &sig, &sig_len, c->msg, sizeof(c->msg)) != 0 ||
	    cli_input_open(c->a->in, &in, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if ((ret = cli_connect(c)) != 0)
		goto out;
	if (alg == P11A_ALG_NONE && (ret = key_default_alg(c, P11A_KEY_UNKNOWN, &alg)) != 0)
		goto out;
	info = p11a_alg_by_id(alg);
	if (info->key_type == P11A_KEY_HMAC) {
		ret = verify_hmac(c, alg, in, sig, sig_len);
		goto out;
	}
	if ((ret = fetch_pubkey(c, &pkey)) != 0)
		goto out;
	ret = verify_local(c, pkey, alg, in, sig, sig_len);
out:
	EVP_PKEY_free(pkey);
	cli_data_free(sig, sig_len);
	cli_input_close(in);
	return ret;
}

int cli_run(const struct cli_args *args)
{
	struct cli_ctx c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.a = args;
	if (args->cmd == NULL || args->cmd->run == NULL)
		return cli_report(args->json, "USAGE", CLI_EXIT_USAGE, "no command to run");
	ret = args->cmd->run(&c);
	p11a_close(c.conn);
	return ret;
}
