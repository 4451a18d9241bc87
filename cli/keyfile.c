/*
 * keyfile: 'p11agent keyfile KEY [-o OUT]'. See keyfile.h.
 *
 * The agent describes the key (its canonical URI and type) and gives its
 * public key; libp11agent encodes the file; io writes it as every -o is
 * written. The file holds no secret, so it gets the mode any new file gets.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "io.h"
#include "keyfile.h"
#include "output.h"
#include "usage.h"

const char cli_usage_keyfile[] =
    "Usage: p11agent [-S SOCKET] keyfile KEY [-o OUT]\n"
    "\n"
    "Writes a key file for KEY to OUT (default stdout): PEM text (\"BEGIN P11AGENT\n"
    "KEY\") that names the key by its pkcs11: URI and carries its public key.\n"
    "OpenSSL programs that read a key file (nginx, curl, Python's ssl) then use\n"
    "the key in the token when openssl.cnf loads the p11agent provider (see\n"
    "p11agent-provider(7)); without the provider OpenSSL refuses the file as it\n"
    "refuses any PEM it does not know. The file holds no secret: a new one gets\n"
    "mode 0666 less the umask (0644 usually). RSA, EC and Ed25519 keys only.\n"
    "  -o, --out OUT  the key file ('-': stdout); written whole or not at all\n"
    "\n" CLI_USAGE_KEY;

const char cli_exit_keyfile[] =
    "Exit status: 0 written; 1 the key has no key file (an HMAC or AES key), the\n"
    "agent or the token refused, or OUT could not be written; 2 usage error;\n"
    "3 agent unreachable; 4 denied by policy; 5 no such key or ambiguous key;\n"
    "6 token unavailable.\n";

/* Whether the provider can use keys of type t: those with a public key. */
static int provider_type(p11a_key_type t)
{
	return t == P11A_KEY_RSA || t == P11A_KEY_EC || t == P11A_KEY_ED25519;
}

int cli_cmd_keyfile(struct cli_ctx *c)
{
	struct p11a_key_info *k = NULL;
	uint8_t *spki = NULL;
	char *text = NULL;
	size_t spki_len = 0, text_len = 0;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		goto out;
	if ((r = p11a_describe_key(c->conn, c->a->key, &k)) != P11A_OK) {
		ret = cli_fail_agent(c, r, "find the key '%s'", c->a->key);
		goto out;
	}
	if (!provider_type(k->type)) {
		ret =
		    cli_reportf(c->a->json, p11a_errname(P11A_ERR_NOT_SUPPORTED),
				cli_exit_code(P11A_ERR_NOT_SUPPORTED),
				"'%s' is a secret key (type %s) that OpenSSL programs cannot use "
				"through the provider: key files are for RSA, EC and Ed25519 keys",
				c->a->key, p11a_key_type_name(k->type));
		goto out;
	}
	/* The key the file names is the one described: ask by its URI. */
	if ((r = p11a_pubkey(c->conn, k->uri, &spki, &spki_len)) != P11A_OK) {
		ret = cli_fail_agent(c, r, "export the public key of '%s'", c->a->key);
		goto out;
	}
	if ((r = p11a_keyfile_encode(k->uri, spki, spki_len, &text, &text_len)) != P11A_OK) {
		ret = cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r),
				  "cannot write a key file for '%s': %s (its URI %s, a public key "
				  "of %zu bytes)",
				  c->a->key, p11a_strerror(r), k->uri, spki_len);
		goto out;
	}
	if (cli_write_output(c->a->out, (const uint8_t *)text, text_len, c->msg, sizeof(c->msg)) !=
	    0) {
		ret = cli_fail_file(c);
		goto out;
	}
	ret = 0;
out:
	p11a_free(text, text_len + 1);
	p11a_free(spki, spki_len);
	p11a_keys_free(k, 1);
	return ret;
}
