/*
 * transport: decrypt, unwrap, derive, seal and open. See transport.h.
 *
 * Every buffer that holds a secret (a plaintext, a session key, a shared
 * secret, a key file's bytes, a document) is wiped before it is freed:
 * p11a_free() for what libp11agent returns, cli_data_free() or
 * OPENSSL_cleanse() for the rest. No message quotes a secret.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "envelope.h"
#include "io.h"
#include "output.h"
#include "pkey.h"
#include "transport.h"
#include "usage.h"

/* Largest peer public key file derive reads (a PEM P-521 key is under 300 bytes). */
#define MAX_PEER_FILE (64u * 1024u)

const char cli_usage_decrypt[] =
    "Usage: p11agent [-S SOCKET] decrypt KEY [--alg ALG]\n"
    "        [--label TEXT | --label-hex HEX] [-i IN] [-o OUT]\n"
    "\n"
    "Decrypts IN (default stdin), made with the public key of KEY, inside the\n"
    "token; writes the plaintext to OUT (default stdout).\n"
    "  --alg ALG        rsa-oaep-sha256 (the default); RSA-OAEP uses MGF1 with the\n"
    "                   same hash; rsa-pkcs1 (PKCS#1 v1.5) only where the agent's\n"
    "                   configuration allows it for KEY\n"
    "  --label TEXT     the OAEP label, as text (default: none)\n"
    "  --label-hex HEX  the OAEP label, in hex\n"
    "  -i, --in IN      the ciphertext ('-': stdin)\n"
    "  -o, --out OUT    the plaintext file ('-': stdout)\n"
    "\n" CLI_USAGE_SECRET_OUT CLI_USAGE_KEY;

const char cli_usage_unwrap[] =
    "Usage: p11agent [-S SOCKET] unwrap KEY [--alg ALG]\n"
    "        [--label TEXT | --label-hex HEX] [-i IN] [-o OUT] "
    "[--key-len N]\n"
    "\n"
    "Recovers the session key wrapped in IN (default stdin) with KEY, which stays\n"
    "in the token; writes the session key to OUT (default stdout).\n"
    "  --alg ALG        RSA keys: rsa-oaep-sha256 (the default), RSA-OAEP with\n"
    "                   MGF1 on the same hash; AES keys: aes-kwp (RFC 5649, the\n"
    "                   default) or aes-kw (RFC 3394)\n"
    "  --label TEXT     RSA-OAEP: the label, as text (default: none)\n"
    "  --label-hex HEX  RSA-OAEP: the label, in hex\n"
    "  --key-len N      the session key must be N bytes long (the agent checks it)\n"
    "  -i, --in IN      the wrapped key ('-': stdin)\n"
    "  -o, --out OUT    the session key file ('-': stdout)\n"
    "\n" CLI_USAGE_SECRET_OUT CLI_USAGE_KEY;

const char cli_usage_derive[] =
    "Usage: p11agent [-S SOCKET] derive KEY --peer PEER [-o OUT]\n"
    "\n"
    "ECDH of the EC key KEY (P-256, P-384, P-521) with the peer's public key,\n"
    "inside the token; writes the shared secret Z, the x coordinate with no KDF\n"
    "(as 'openssl pkeyutl -derive' gives it), to OUT (default stdout).\n"
    "  --peer PEER      the peer's public key on KEY's curve: SubjectPublicKeyInfo,\n"
    "                   PEM or DER ('-': stdin)\n"
    "  --alg ALG        the algorithm (default: ecdh)\n"
    "  -o, --out OUT    the shared secret file ('-': stdout)\n"
    "\n" CLI_USAGE_SECRET_OUT CLI_USAGE_KEY;

const char cli_usage_seal[] =
    "Usage: p11agent seal --key-file FILE [--key-id TEXT] [-i IN] [-o OUT]\n"
    "\n"
    "Encrypts IN (default stdin) under the key in FILE, here, without the agent:\n"
    "writes a CMS AuthEnvelopedData (DER) to OUT (default stdout), its content\n"
    "encrypted with AES-256-GCM under a fresh key that the key in FILE wraps\n"
    "(AES key wrap). 'openssl cms -decrypt -inform DER -secretkey HEX' opens it.\n"
    "  --key-file FILE  the key: 16, 24 or 32 raw bytes, in a file that group and\n"
    "                   others cannot read; '-' reads it from stdin (then give -i)\n"
    "  --key-id TEXT    the key identifier written in the envelope\n"
    "                   (default: " CLI_KEY_ID_DEFAULT ")\n"
    "  -i, --in IN      the input file ('-': stdin), at most 256 MiB\n"
    "  -o, --out OUT    the envelope file ('-': stdout)\n";

const char cli_usage_open[] =
    "Usage: p11agent open --key-file FILE [-i IN] [-o OUT]\n"
    "\n"
    "Decrypts, here, without the agent, a CMS AuthEnvelopedData (DER) made by\n"
    "'p11agent seal' or by 'openssl cms -encrypt -aes-256-gcm -secretkey HEX\n"
    "-outform DER' under the key in FILE; writes its content to OUT (default\n"
    "stdout) only once the whole envelope authenticates.\n"
    "  --key-file FILE  the key: 16, 24 or 32 raw bytes, in a file that group and\n"
    "                   others cannot read; '-' reads it from stdin, e.g. from\n"
    "                   'p11agent unwrap' through a pipe (then give -i)\n"
    "  -i, --in IN      the envelope ('-': stdin), at most 256 MiB\n"
    "  -o, --out OUT    the content file ('-': stdout)\n"
    "\n" CLI_USAGE_SECRET_OUT;

static int out_of_memory(struct cli_ctx *c)
{
	return cli_report(c->a->json, p11a_errname(P11A_ERR_NOMEM), CLI_EXIT_FAIL, "out of memory");
}

/*
 * Reads all of in, at most max bytes, for command what. An input larger than
 * max, or an empty one unless empty_ok, is refused here: it is the wrong
 * input, whatever the key.
 */
static int read_all(struct cli_ctx *c, struct cli_input *in, size_t max, int empty_ok,
		    const char *what, uint8_t **out, size_t *out_len)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0;

	if (cli_input_read(in, max, &data, &len, &more, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	if (more) {
		cli_data_free(data, len);
		return cli_reportf(
		    c->a->json, p11a_errname(P11A_ERR_TOO_LARGE), cli_exit_code(P11A_ERR_TOO_LARGE),
		    "%s: %s is too large (more than %zu bytes)", what, cli_input_name(in), max);
	}
	if (len == 0 && !empty_ok) {
		cli_data_free(data, len);
		return cli_reportf(c->a->json, p11a_errname(P11A_ERR_BAD_INPUT),
				   cli_exit_code(P11A_ERR_BAD_INPUT), "%s: %s is empty", what,
				   cli_input_name(in));
	}
	*out = data;
	*out_len = len;
	return 0;
}

/* What the agent says of every ciphertext, or AES-wrapped key, that does not open. */
#define RSA_FAILED "decryption failed"
#define AES_FAILED "unwrap failed: the wrapped key does not authenticate"

/*
 * The report of a ciphertext or wrapped key that did not open. The agent
 * gives one message whatever the cause (a wrong key, algorithm or label, or a
 * damaged input), so that no reply is a padding oracle; this adds the next
 * step, which depends only on the algorithm tried: its name, and that --alg
 * picks another. Returns the exit status; -1 when the agent's message is
 * another one.
 */
static int report_not_opened(struct cli_ctx *c, int err, const char *what)
{
	const struct cli_args *a = c->a;
	const char *m = p11a_conn_message(c->conn);
	const struct p11a_alg_info *info;
	const char *tried, *other;
	int rsa;

	if (err != P11A_ERR_BAD_INPUT)
		return -1;
	if (strcmp(m, RSA_FAILED) == 0)
		rsa = 1;
	else if (strcmp(m, AES_FAILED) == 0)
		rsa = 0;
	else
		return -1;
	/* Without --alg the agent used the default: rsa-oaep-sha256, or aes-kwp. */
	info = p11a_alg_by_id(a->alg);
	tried = info != NULL ? info->name : rsa ? "rsa-oaep-sha256" : "aes-kwp";
	if (!rsa)
		return cli_reportf(
		    a->json, p11a_errname(err), cli_exit_code(err),
		    "%s with '%s': unwrap failed with %s: the wrapped key does not "
		    "authenticate (wrong key, wrong --alg or damaged input); try --alg %s",
		    what, a->key, tried, strcmp(tried, "aes-kwp") == 0 ? "aes-kw" : "aes-kwp");
	other = strcmp(tried, "rsa-oaep-sha256") == 0 ? "rsa-oaep-sha1" : "rsa-oaep-sha256";
	return cli_reportf(a->json, p11a_errname(err), cli_exit_code(err),
			   "%s with '%s': decryption failed with %s: wrong key, wrong --alg, %sor "
			   "damaged input; try --alg %s",
			   what, a->key, tried,
			   strncmp(tried, "rsa-oaep", 8) == 0 ? "wrong label " : "", other);
}

int cli_cmd_decrypt(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	const char *what = a->cmd->name;
	struct cli_input *in = NULL;
	uint8_t *data = NULL, *label = NULL, *secret = NULL;
	size_t len = 0, label_len = 0, secret_len = 0;
	int r, ret;

	if (cli_args_label(a, &label, &label_len) != 0) {
		ret = out_of_memory(c);
		goto out;
	}
	if (cli_input_open(a->in, &in, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if ((ret = read_all(c, in, P11A_MAX_DATA, 0, what, &data, &len)) != 0 ||
	    (ret = cli_connect(c)) != 0)
		goto out;
	if (a->cmd->alg_ops == P11A_OP_UNWRAP)
		r = p11a_unwrap(c->conn, a->key, a->alg, label, label_len, a->key_len, data, len,
				&secret, &secret_len);
	else
		r = p11a_decrypt(c->conn, a->key, a->alg, label, label_len, data, len, &secret,
				 &secret_len);
	if (r != P11A_OK) {
		if ((ret = report_not_opened(c, r, what)) < 0)
			ret = cli_fail_agent(c, r, "%s with '%s'", what, a->key);
		goto out;
	}
	if (cli_write_secret(a->out, secret, secret_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	cli_json_result(a->json, a->key, a->out, p11a_last_result(c->conn));
	ret = 0;
out:
	p11a_free(secret, secret_len);
	cli_data_free(label, label_len);
	cli_data_free(data, len);
	cli_input_close(in);
	return ret;
}

int cli_cmd_derive(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	const char *peer = strcmp(a->peer, "-") == 0 ? NULL : a->peer;
	uint8_t *file = NULL, *spki = NULL, *z = NULL;
	size_t file_len = 0, spki_len = 0, z_len = 0;
	int r, ret;

	if (cli_read_file(peer, MAX_PEER_FILE, &file, &file_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	r = cli_pkey_spki_der(file, file_len, &spki, &spki_len);
	if (r == P11A_ERR_NOMEM) {
		ret = out_of_memory(c);
		goto out;
	}
	if (r != P11A_OK) {
		ret = cli_reportf(a->json, p11a_errname(P11A_ERR_BAD_INPUT),
				  cli_exit_code(P11A_ERR_BAD_INPUT),
				  "peer: %s is not a PEM or DER public key", peer ? peer : "stdin");
		goto out;
	}
	if ((ret = cli_connect(c)) != 0)
		goto out;
	if ((r = p11a_derive(c->conn, a->key, a->alg, spki, spki_len, &z, &z_len)) != P11A_OK) {
		ret = cli_fail_agent(c, r, "derive with '%s'", a->key);
		goto out;
	}
	if (cli_write_secret(a->out, z, z_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	cli_json_result(a->json, a->key, a->out, p11a_last_result(c->conn));
	ret = 0;
out:
	p11a_free(z, z_len);
	free(spki);
	cli_data_free(file, file_len);
	return ret;
}

/* Reads the key file and all of the input: what seal and open start with. */
static int read_key_and_input(struct cli_ctx *c, const char *what, uint8_t *key, size_t *key_len,
			      uint8_t **out, size_t *out_len)
{
	struct cli_input *in = NULL;
	int ret;

	if (cli_read_key_file(c->a->key_file, key, key_len, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	if (cli_input_open(c->a->in, &in, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	ret = read_all(c, in, CLI_ENVELOPE_MAX, 1, what, out, out_len);
	cli_input_close(in);
	return ret;
}

int cli_cmd_seal(struct cli_ctx *c)
{
	const char *id = c->a->key_id != NULL ? c->a->key_id : CLI_KEY_ID_DEFAULT;
	uint8_t key[CLI_KEY_FILE_MAX];
	uint8_t *doc = NULL, *env = NULL;
	size_t key_len = 0, doc_len = 0, env_len = 0;
	int r, ret;

	if ((ret = read_key_and_input(c, "seal", key, &key_len, &doc, &doc_len)) != 0)
		goto out;
	r = cli_seal(key, key_len, (const uint8_t *)id, strlen(id), doc, doc_len, &env, &env_len,
		     c->msg, sizeof(c->msg));
	if (r != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	if (cli_write_output(c->a->out, env, env_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(env);
	cli_data_free(doc, doc_len);
	return ret;
}

int cli_cmd_open(struct cli_ctx *c)
{
	uint8_t key[CLI_KEY_FILE_MAX];
	uint8_t *env = NULL, *doc = NULL;
	size_t key_len = 0, env_len = 0, doc_len = 0;
	int r, ret;

	if ((ret = read_key_and_input(c, "open", key, &key_len, &env, &env_len)) != 0)
		goto out;
	/* Nothing comes out unless all of it authenticates; then a file gets mode 0600. */
	r = cli_open(key, key_len, env, env_len, &doc, &doc_len, c->msg, sizeof(c->msg));
	if (r != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	if (cli_write_secret(c->a->out, doc, doc_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	cli_data_free(doc, doc_len);
	cli_data_free(env, env_len);
	return ret;
}
