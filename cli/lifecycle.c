/*
 * lifecycle: keygen, rotate, versions, trim, rewrap, reload and cert. See
 * lifecycle.h.
 *
 * Every helper here that can fail reports the failure itself (output.h) and
 * returns the exit status, 0 meaning "go on".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certs.h"
#include "commands.h"
#include "io.h"
#include "lifecycle.h"
#include "output.h"
#include "usage.h"
#include "x509.h"

/* Largest certificate file cert import reads. */
#define MAX_CERT_FILE (64u * 1024u)

#define ADMIN_NOTE                                                                                 \
	"For the agent's admins only (admin-users, admin-groups in p11agent.conf;\n"               \
	"by default the agent's own user); each request is audited.\n"

const char cli_exit_admin[] =
    "Exit status: 0 ok; 1 the agent or the token refused (the message says why);\n"
    "2 usage error; 3 agent unreachable; 4 denied: not one of the agent's admins,\n"
    "or its policy refuses; 5 no such key or ambiguous key; 6 token unavailable.\n";

const char cli_usage_keygen[] =
    "Usage: p11agent [-S SOCKET] [--json] keygen NAME --type TYPE [--ops OPS]\n"
    "\n"
    "Makes a key in the token, labelled NAME, that never leaves it (private or\n"
    "secret parts sensitive and never extractable). Prints its pkcs11: URI; with\n"
    "--json its entry as 'p11agent list --json' prints it.\n"
    "  --type TYPE  rsa:2048, rsa:3072, rsa:4096, ec:P-256, ec:P-384, ec:P-521,\n"
    "               ed25519, hmac:256, hmac:384, hmac:512, aes:128 or aes:256\n"
    "  --ops OPS    what it may do, comma-separated: sign, decrypt, unwrap, derive,\n"
    "               verify, wrap (default: the type's own: sign; HMAC: sign,verify;\n"
    "               AES: unwrap,wrap)\n"
    "NAME is 1 to 64 of A-Z a-z 0-9 . _ - and names no key in the token yet.\n"
    "\n" ADMIN_NOTE;

const char cli_usage_rotate[] =
    "Usage: p11agent [-S SOCKET] [--json] rotate KEY\n"
    "\n"
    "Makes the next version of KEY's family in the token, of the same type, size\n"
    "and usage, labelled NAME@N; from then on NAME signs (and wraps) with it.\n"
    "Prints its pkcs11: URI; with --json its entry as 'p11agent list --json'\n"
    "prints it (\"version\" is N).\n"
    "\n" ADMIN_NOTE "\n" CLI_USAGE_KEY;

const char cli_usage_versions[] =
    "Usage: p11agent [-S SOCKET] [--json] versions KEY\n"
    "\n"
    "Lists the versions of KEY's family, oldest first:\n"
    "  VERSION  CREATED     STATE    URI\n"
    "CREATED is the date the version was made, or '-'. STATE is\n"
    "  newest   NAME signs, computes HMACs and wraps with it\n"
    "  older    at or above the key's min-version: decrypt, unwrap, derive and\n"
    "           HMAC verify by NAME still try it, and NAME@N still works\n"
    "  retired  below min-version: refused, also as NAME@N\n"
    "With --json: a JSON array of entries as 'p11agent list --json' prints them,\n"
    "each with \"state\".\n"
    "\n" ADMIN_NOTE "\n" CLI_USAGE_KEY;

const char cli_usage_trim[] =
    "Usage: p11agent [-S SOCKET] [--json] trim KEY --below N\n"
    "\n"
    "Destroys the versions of KEY's family older than version N (their keys and\n"
    "certificates). Only when the key's [key] section says allow-destroy = yes\n"
    "and N is at most its min-version and its newest version; else denied, and\n"
    "nothing destroyed. Prints \"destroyed K version(s) of KEY below N\"; with\n"
    "--json {\"destroyed\":K}.\n"
    "\n" ADMIN_NOTE "\n" CLI_USAGE_KEY;

const char cli_usage_rewrap[] =
    "Usage: p11agent [-S SOCKET] rewrap KEY [--alg ALG]\n"
    "        [--label TEXT | --label-hex HEX] [-i IN] [-o OUT]\n"
    "\n"
    "Takes a session key wrapped in IN (default stdin) for a version of KEY's\n"
    "family and writes it to OUT (default stdout) wrapped the same way for the\n"
    "newest version. The session key never leaves the token. KEY as NAME tries\n"
    "the newest version, then each older one down to min-version; NAME@N names\n"
    "the version it is wrapped for.\n"
    "  --alg ALG        how IN is wrapped, and OUT will be: RSA keys rsa-oaep-*\n"
    "                   (default rsa-oaep-sha256); AES keys aes-kwp (the default)\n"
    "                   or aes-kw\n"
    "  --label TEXT     RSA-OAEP: the label, as text (default: none)\n"
    "  --label-hex HEX  RSA-OAEP: the label, in hex\n"
    "  -i, --in IN      the wrapped key ('-': stdin)\n"
    "  -o, --out OUT    the rewrapped key ('-': stdout); written whole or not at all\n"
    "  --json           also print {\"key\":KEY,\"from_version\":F,\"version\":T,\n"
    "                   \"out\":OUT} on stdout (needs -o OUT)\n"
    "\n" ADMIN_NOTE "\n" CLI_USAGE_KEY;

const char cli_usage_reload[] =
    "Usage: p11agent [-S SOCKET] [--json] reload\n"
    "\n"
    "Makes the agent read its config file again and index the token again, as\n"
    "SIGHUP does. A config with an error is refused whole (the message names the\n"
    "file and line) and the one in force stays. Prints \"reloaded: N keys\"; with\n"
    "--json {\"keys\":N}.\n"
    "\n" ADMIN_NOTE;

const char cli_usage_cert[] =
    "Usage: p11agent [-S SOCKET] [--json] cert KEY [-o OUT]\n"
    "       p11agent [-S SOCKET] [--json] cert import KEY -i FILE\n"
    "       p11agent [-S SOCKET] cert issue CAKEY -i REQ --days N [--ca] [--san LIST]\n"
    "                [--eku LIST] [-o OUT]\n"
    "       p11agent [-S SOCKET] cert issue KEY --self --subject DN --days N [--ca]\n"
    "                [--san LIST] [--eku LIST] [-o OUT]\n"
    "\n"
    "cert KEY prints the X.509 certificate the token holds for KEY (PEM) to OUT\n"
    "(default stdout).\n"
    "cert import KEY stores the certificate in FILE (PEM or DER; '-': stdin) in\n"
    "the token beside KEY, replacing the one there; its public key must be KEY's.\n"
    "Prints \"stored the certificate of KEY (expires YYYY-MM-DD HH:MM:SS UTC)\";\n"
    "with --json {\"key\":KEY,\"expires\":\"YYYY-MM-DDTHH:MM:SSZ\"}. For the\n"
    "agent's admins only.\n"
    "cert issue signs the request REQ (PEM or DER) with CAKEY, or with --self\n"
    "makes KEY's own certificate for the subject DN; the certificate (PEM) goes\n"
    "to OUT (default stdout). The request's subject and subjectAltName must pass\n"
    "the checks --subject and --san make.\n"
    "  -i, --in FILE     import: the certificate; issue: the request\n"
    "  -o, --out OUT     the certificate file ('-': stdout)\n"
    "  --days N          issue: valid for N days from now (1 to 36500), and no\n"
    "                    longer than CAKEY's certificate\n"
    "  --ca              issue: a CA certificate (basicConstraints CA:TRUE)\n"
    "  --self            issue: self-signed by KEY\n"
    "  --subject DN      issue --self: the subject, e.g. \"CN=example.org,O=Example\"\n"
    "  --san LIST        issue: subjectAltName, e.g. DNS:example.org,IP:192.0.2.1;\n"
    "                    replaces the request's, which must pass the same checks\n"
    "  --eku LIST        issue: extendedKeyUsage, e.g. serverAuth,clientAuth\n"
    "                    (also codeSigning, emailProtection, timeStamping,\n"
    "                    OCSPSigning, or a dotted OID); default: none\n"
    "A key named import or issue is given by its URI or id:HEX.\n"
    "\n" CLI_USAGE_KEY;

/* Checks that stdout took everything. */
static int flush_stdout(struct cli_ctx *c)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return cli_reportf(c->a->json, "FILE", CLI_EXIT_FAIL, "cannot write to stdout: %s",
				   strerror(errno));
	return 0;
}

/* A key keygen or rotate made: its URI, or with --json its list entry. */
static int print_made(struct cli_ctx *c, const struct p11a_key_info *k)
{
	char *fp;

	if (c->a->json) {
		fp = cli_key_fingerprint(c, k);
		cli_json_key(stdout, k, fp, NULL);
		fputc('\n', stdout);
		free(fp);
	} else {
		puts(k->uri != NULL ? k->uri : "");
	}
	return flush_stdout(c);
}

int cli_cmd_keygen(struct cli_ctx *c)
{
	struct p11a_key_info *k = NULL;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_keygen(c->conn, c->a->key, c->a->key_type, c->a->ops, &k)) != P11A_OK)
		return cli_fail_agent(c, r, "make the key '%s' (%s)", c->a->key, c->a->key_type);
	ret = print_made(c, k);
	p11a_keys_free(k, 1);
	return ret;
}

int cli_cmd_rotate(struct cli_ctx *c)
{
	struct p11a_key_info *k = NULL;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_rotate(c->conn, c->a->key, &k)) != P11A_OK)
		return cli_fail_agent(c, r, "rotate '%s'", c->a->key);
	ret = print_made(c, k);
	p11a_keys_free(k, 1);
	return ret;
}

/* A version's STATE: newest, older (still tried by NAME) or retired (refused). */
static const char *version_state(const struct p11a_key_info *k)
{
	if (k->newest)
		return "newest";
	return k->version >= k->min_version ? "older" : "retired";
}

static void print_versions(FILE *f, const struct p11a_key_info *keys, size_t n)
{
	size_t i, w_version = strlen("VERSION");
	char version[16];

	for (i = 0; i < n; i++) {
		snprintf(version, sizeof(version), "%u", (unsigned)keys[i].version);
		if (strlen(version) > w_version)
			w_version = strlen(version);
	}
	fprintf(f, "%-*s  %-10s  %-7s  URI\n", (int)w_version, "VERSION", "CREATED", "STATE");
	for (i = 0; i < n; i++) {
		const char *created = keys[i].created;

		fprintf(f, "%-*u  %-10s  %-7s  %s\n", (int)w_version, (unsigned)keys[i].version,
			created != NULL && created[0] != '\0' ? created : "-",
			version_state(&keys[i]), keys[i].uri != NULL ? keys[i].uri : "");
	}
}

int cli_cmd_versions(struct cli_ctx *c)
{
	struct p11a_key_info *keys = NULL;
	size_t n = 0, i;
	char *fp;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_versions(c->conn, c->a->key, &keys, &n)) != P11A_OK)
		return cli_fail_agent(c, r, "list the versions of '%s'", c->a->key);
	if (c->a->json) {
		fputs("[", stdout);
		for (i = 0; i < n; i++) {
			fputs(i == 0 ? "\n  " : ",\n  ", stdout);
			fp = cli_key_fingerprint(c, &keys[i]);
			cli_json_key(stdout, &keys[i], fp, version_state(&keys[i]));
			free(fp);
		}
		fputs(n > 0 ? "\n]\n" : "]\n", stdout);
	} else {
		print_versions(stdout, keys, n);
	}
	ret = flush_stdout(c);
	p11a_keys_free(keys, n);
	return ret;
}

int cli_cmd_trim(struct cli_ctx *c)
{
	uint32_t destroyed = 0;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	r = p11a_trim(c->conn, c->a->key, c->a->below, &destroyed);
	/* The agent says why it refuses (allow-destroy, min-version): no hint to add. */
	if (r == P11A_ERR_DENIED && p11a_conn_message(c->conn)[0] != '\0')
		return cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r),
				   "trim '%s' below version %u: %s", c->a->key,
				   (unsigned)c->a->below, p11a_conn_message(c->conn));
	if (r != P11A_OK)
		return cli_fail_agent(c, r, "trim '%s' below version %u", c->a->key,
				      (unsigned)c->a->below);
	if (c->a->json)
		printf("{\"destroyed\":%u}\n", (unsigned)destroyed);
	else
		printf("destroyed %u version(s) of %s below %u\n", (unsigned)destroyed, c->a->key,
		       (unsigned)c->a->below);
	return flush_stdout(c);
}

/*
 * Reads all of path (NULL: stdin), 1 to max bytes, for command what. An
 * empty or a larger input is refused here: it is the wrong input.
 */
static int read_input(struct cli_ctx *c, const char *path, size_t max, const char *what,
		      uint8_t **out, size_t *out_len)
{
	struct cli_input *in = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0, ret = 0;

	if (cli_input_open(path, &in, c->msg, sizeof(c->msg)) != 0 ||
	    cli_input_read(in, max, &data, &len, &more, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if (more || len == 0) {
		ret = cli_reportf(c->a->json,
				  p11a_errname(more ? P11A_ERR_TOO_LARGE : P11A_ERR_BAD_INPUT),
				  CLI_EXIT_FAIL, "%s: %s is %s", what, cli_input_name(in),
				  more ? "too large" : "empty");
		goto out;
	}
	*out = data;
	*out_len = len;
	data = NULL;
out:
	cli_data_free(data, len);
	cli_input_close(in);
	return ret;
}

/* The agent's one message for a wrapped key that does not open, whatever the cause. */
static int did_not_open(const char *agent_msg)
{
	return strncmp(agent_msg, "unwrap failed", 13) == 0 ||
	       strncmp(agent_msg, "decryption failed", 17) == 0;
}

int cli_cmd_rewrap(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	uint8_t *data = NULL, *label = NULL, *out = NULL;
	size_t len = 0, label_len = 0, out_len = 0;
	int r, ret;

	if (cli_args_label(a, &label, &label_len) != 0) {
		ret = cli_report(a->json, p11a_errname(P11A_ERR_NOMEM), CLI_EXIT_FAIL,
				 "out of memory");
		goto out;
	}
	if ((ret = read_input(c, a->in, P11A_MAX_DATA, "rewrap", &data, &len)) != 0 ||
	    (ret = cli_connect(c)) != 0)
		goto out;
	r = p11a_rewrap(c->conn, a->key, a->alg, label, label_len, data, len, &out, &out_len);
	if (r == P11A_ERR_BAD_INPUT && did_not_open(p11a_conn_message(c->conn))) {
		/* The same message whatever the cause: no padding oracle; add the next step. */
		ret = cli_reportf(a->json, p11a_errname(r), cli_exit_code(r),
				  "rewrap with '%s': %s: wrong key or version, wrong --alg or "
				  "label, or damaged input; 'p11agent versions %s' shows the "
				  "versions a name tries (newest and older)",
				  a->key, p11a_conn_message(c->conn), a->key);
		goto out;
	}
	if (r != P11A_OK) {
		ret = cli_fail_agent(c, r, "rewrap with '%s'", a->key);
		goto out;
	}
	if (cli_write_output(a->out, out, out_len, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	/* --json needs -o FILE here (the row's flag), so this always prints. */
	cli_json_result(a->json, a->key, a->out, p11a_last_result(c->conn));
	ret = flush_stdout(c);
out:
	p11a_free(out, out_len);
	cli_data_free(label, label_len);
	cli_data_free(data, len);
	return ret;
}

int cli_cmd_reload(struct cli_ctx *c)
{
	uint32_t n = 0;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_reload(c->conn, &n)) != P11A_OK)
		return cli_fail_agent(c, r, "reload");
	if (c->a->json)
		printf("{\"keys\":%u}\n", (unsigned)n);
	else
		printf("reloaded: %u key%s\n", (unsigned)n, n == 1 ? "" : "s");
	return flush_stdout(c);
}

/* cert KEY: the certificate the token holds for KEY, as PEM. */
static int cert_show(struct cli_ctx *c)
{
	uint8_t *der = NULL;
	size_t der_len = 0, pem_len = 0;
	X509 *x = NULL;
	char *pem = NULL;
	int r, ret;

	if ((ret = cli_connect(c)) != 0)
		return ret;
	if ((r = p11a_cert(c->conn, c->a->key, &der, &der_len)) != P11A_OK)
		return cli_fail_agent(c, r, "get the certificate of '%s'", c->a->key);
	if (der == NULL) {
		ret = cli_reportf(c->a->json, "NO_CERTIFICATE", CLI_EXIT_FAIL,
				  "'%s' has no certificate in the token; store one with "
				  "'p11agent cert import %s -i FILE'",
				  c->a->key, c->a->key);
		goto out;
	}
	if (cli_x509_read_cert(der, der_len, &x, c->msg, sizeof(c->msg)) != P11A_OK ||
	    cli_x509_cert_pem(x, &pem, &pem_len, c->msg, sizeof(c->msg)) != P11A_OK) {
		ret = cli_reportf(c->a->json, p11a_errname(P11A_ERR_CRYPTO), CLI_EXIT_FAIL,
				  "the certificate of '%s' from the agent is not one OpenSSL reads",
				  c->a->key);
		goto out;
	}
	if (cli_write_output(c->a->out, (const uint8_t *)pem, pem_len, c->msg, sizeof(c->msg)) !=
	    0) {
		ret = cli_fail_file(c);
		goto out;
	}
	ret = 0;
out:
	free(pem);
	X509_free(x);
	p11a_free(der, der_len);
	return ret;
}

/* A certificate from PEM or DER bytes, or NULL. */
static X509 *read_cert(const uint8_t *data, size_t len)
{
	const unsigned char *p = data;
	BIO *bio;
	X509 *x;

	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		if (p == data + len)
			return x;
		X509_free(x);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return x;
}

/* cert import KEY -i FILE: stores the certificate in FILE beside KEY. */
static int cert_import(struct cli_ctx *c)
{
	const struct cli_args *a = c->a;
	const char *file = a->in != NULL ? a->in : "stdin";
	uint8_t *data = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	struct tm tm;
	char expires[32] = "", when[32];
	int der_len = 0, r, ret;

	if ((ret = read_input(c, a->in, MAX_CERT_FILE, "cert import", &data, &len)) != 0)
		goto out;
	if ((x = read_cert(data, len)) == NULL || (der_len = i2d_X509(x, &der)) <= 0) {
		ret = cli_reportf(a->json, p11a_errname(P11A_ERR_BAD_INPUT), CLI_EXIT_FAIL,
				  "cert import: %s is not an X.509 certificate (PEM or DER)", file);
		goto out;
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((ret = cli_connect(c)) != 0)
		goto out;
	if ((r = p11a_cert_import(c->conn, a->key, der, (size_t)der_len)) != P11A_OK) {
		ret = cli_fail_agent(c, r, "store the certificate in %s for '%s'", file, a->key);
		goto out;
	}
	if (a->json) {
		fputs("{\"key\":", stdout);
		cli_json_string(stdout, a->key);
		fputs(",\"expires\":", stdout);
		cli_json_string(stdout, expires);
		fputs("}\n", stdout);
	} else if (*cli_x509_time_text(X509_get0_notAfter(x), when, sizeof(when)) != '\0') {
		printf("stored the certificate of %s (expires %s)\n", a->key, when);
	} else {
		printf("stored the certificate of %s\n", a->key);
	}
	ret = flush_stdout(c);
out:
	OPENSSL_free(der);
	X509_free(x);
	cli_data_free(data, len);
	return ret;
}

int cli_cmd_cert(struct cli_ctx *c)
{
	switch (c->a->cert_action) {
	case CLI_CERT_IMPORT:
		return cert_import(c);
	case CLI_CERT_ISSUE:
		return cli_cert_issue(c);
	case CLI_CERT_SHOW:
	default:
		return cert_show(c);
	}
}
