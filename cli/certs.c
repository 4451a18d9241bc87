/*
 * certs: 'p11agent csr' and 'p11agent cert issue'. See certs.h.
 *
 * The agent describes the key and gives its public key (and, for a CA key,
 * the certificate the token holds for it); x509.c makes the request or the
 * certificate and has the agent sign its TBS bytes through agent_sign();
 * io writes the PEM as every -o is written. The key is asked for by the URI
 * the agent described it with, so that the key that signs is the one whose
 * public key went into the request or the certificate.
 *
 * Every helper here that can fail reports the failure itself (output.h) and
 * returns the exit status, 0 meaning "go on".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "io.h"
#include "output.h"
#include "pkey.h"
#include "usage.h"
#include "x509.h"

const char cli_usage_csr[] =
    "Usage: p11agent [-S SOCKET] csr KEY --subject DN [--san LIST] [-o OUT]\n"
    "\n"
    "Makes a PKCS#10 certificate request for KEY's public key, signed by KEY in\n"
    "the token; writes it (PEM) to OUT (default stdout).\n"
    "  --subject DN   the subject, e.g. \"CN=example.org,O=Example\" (RFC 4514:\n"
    "                 commas between attributes, '\\' before a ',' in a value)\n"
    "  --san LIST     subjectAltName, e.g. DNS:example.org,IP:192.0.2.1\n"
    "  -o, --out OUT  the request file ('-': stdout)\n"
    "\n" CLI_USAGE_KEY;

/* An agent key that signs requests and certificates. */
struct agent_key {
	struct cli_ctx *c;
	const char *name; /* KEY as typed, for messages */
	struct p11a_key_info *info;
	EVP_PKEY *pub;
	p11a_alg alg;
	int agent_failed; /* the last error came from p11a_sign() */
	struct cli_x509_signer signer;
};

/* The sign callback of x509.c: the agent signs tbs (it hashes it, as for 'sign'). */
static int agent_sign(void *arg, const uint8_t *tbs, size_t tbs_len, uint8_t **out_sig,
		      size_t *out_sig_len)
{
	struct agent_key *k = arg;
	uint8_t *sig = NULL, *copy;
	size_t sig_len = 0;
	int r;

	r = p11a_sign(k->c->conn, k->info->uri, k->alg, 0, tbs, tbs_len, &sig, &sig_len);
	if (r != P11A_OK) {
		k->agent_failed = 1;
		return r;
	}
	if ((copy = malloc(sig_len > 0 ? sig_len : 1)) == NULL) {
		p11a_free(sig, sig_len);
		return P11A_ERR_NOMEM;
	}
	memcpy(copy, sig, sig_len);
	p11a_free(sig, sig_len);
	*out_sig = copy;
	*out_sig_len = sig_len;
	return P11A_OK;
}

static void key_free(struct agent_key *k)
{
	EVP_PKEY_free(k->pub);
	p11a_keys_free(k->info, 1);
}

/* Finds key, checks that it can sign certificates, and fetches its public key. */
static int key_load(struct cli_ctx *c, const char *key, struct agent_key *k)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r;

	memset(k, 0, sizeof(*k));
	k->c = c;
	k->name = key;
	if ((r = p11a_describe_key(c->conn, key, &k->info)) != P11A_OK) {
		k->info = NULL;
		return cli_fail_agent(c, r, "find the key '%s'", key);
	}
	if (k->info->type != P11A_KEY_RSA && k->info->type != P11A_KEY_EC &&
	    k->info->type != P11A_KEY_ED25519)
		return cli_reportf(c->a->json, p11a_errname(P11A_ERR_NOT_SUPPORTED),
				   cli_exit_code(P11A_ERR_NOT_SUPPORTED),
				   "'%s' is a secret key (type %s): requests and certificates are "
				   "signed by RSA, EC and Ed25519 keys",
				   key, p11a_key_type_name(k->info->type));
	if (!(k->info->ops & P11A_OP_SIGN))
		return cli_reportf(
		    c->a->json, p11a_errname(P11A_ERR_NOT_ALLOWED),
		    cli_exit_code(P11A_ERR_NOT_ALLOWED),
		    "'%s' may not sign (its token attributes do not allow it), so it "
		    "cannot sign requests or certificates",
		    key);
	if ((r = p11a_pubkey(c->conn, k->info->uri, &der, &der_len)) != P11A_OK)
		return cli_fail_agent(c, r, "export the public key of '%s'", key);
	r = cli_pkey_from_der(der, der_len, &k->pub, c->msg, sizeof(c->msg));
	p11a_free(der, der_len);
	if (r != P11A_OK) {
		k->pub = NULL;
		return cli_fail_local(c, r);
	}
	if ((r = cli_x509_sig_alg(k->pub, &k->alg, c->msg, sizeof(c->msg))) != P11A_OK)
		return cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r), "'%s': %s", key,
				   c->msg);
	k->signer.pub = k->pub;
	k->signer.sign = agent_sign;
	k->signer.arg = k;
	return 0;
}

/* Reports a failure r of x509.c while making what (signed by k). */
static int x509_failed(struct cli_ctx *c, struct agent_key *k, int r, const char *what)
{
	if (k->agent_failed)
		return cli_fail_agent(c, r, "sign the %s with '%s'", what, k->name);
	return cli_fail_local(c, r);
}

/* Parses --subject and --san, those given; *out_* stay NULL for the others. */
static int parse_names(struct cli_ctx *c, X509_NAME **out_subject, GENERAL_NAMES **out_san)
{
	int r;

	if (c->a->subject != NULL && (r = cli_x509_parse_name(c->a->subject, out_subject, c->msg,
							      sizeof(c->msg))) != P11A_OK)
		return cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r), "--subject: %s",
				   c->msg);
	if (c->a->san != NULL &&
	    (r = cli_x509_parse_san(c->a->san, out_san, c->msg, sizeof(c->msg))) != P11A_OK)
		return cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r), "--san: %s",
				   c->msg);
	return 0;
}

/* Writes PEM text to -o (default stdout). */
static int write_pem(struct cli_ctx *c, const char *pem, size_t pem_len)
{
	if (cli_write_output(c->a->out, (const uint8_t *)pem, pem_len, c->msg, sizeof(c->msg)) != 0)
		return cli_fail_file(c);
	return 0;
}

int cli_cmd_csr(struct cli_ctx *c)
{
	struct agent_key k = {0};
	X509_NAME *subject = NULL;
	GENERAL_NAMES *san = NULL;
	X509_REQ *req = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	int r, ret;

	if ((ret = parse_names(c, &subject, &san)) != 0 || (ret = cli_connect(c)) != 0 ||
	    (ret = key_load(c, c->a->key, &k)) != 0)
		goto out;
	if ((r = cli_x509_make_csr(&k.signer, subject, san, &req, c->msg, sizeof(c->msg))) !=
	    P11A_OK) {
		ret = x509_failed(c, &k, r, "certificate request");
		goto out;
	}
	if ((r = cli_x509_csr_pem(req, &pem, &pem_len, c->msg, sizeof(c->msg))) != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	ret = write_pem(c, pem, pem_len);
out:
	free(pem);
	X509_REQ_free(req);
	GENERAL_NAMES_free(san);
	X509_NAME_free(subject);
	key_free(&k);
	return ret;
}

/* Reads and checks the request of -i (default stdin). */
static int read_request(struct cli_ctx *c, X509_REQ **out)
{
	struct cli_input *in = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0, r, ret = 0;

	if (cli_input_open(c->a->in, &in, c->msg, sizeof(c->msg)) != 0 ||
	    cli_input_read(in, CLI_X509_CSR_MAX, &data, &len, &more, c->msg, sizeof(c->msg)) != 0) {
		ret = cli_fail_file(c);
		goto out;
	}
	if (more) {
		ret = cli_reportf(c->a->json, p11a_errname(P11A_ERR_BAD_INPUT),
				  cli_exit_code(P11A_ERR_BAD_INPUT),
				  "%s: too large for a certificate request (more than %u bytes)",
				  cli_input_name(in), CLI_X509_CSR_MAX);
		goto out;
	}
	if ((r = cli_x509_read_csr(data, len, out, c->msg, sizeof(c->msg))) != P11A_OK)
		ret = cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r), "%s: %s",
				  cli_input_name(in), c->msg);
out:
	cli_data_free(data, len);
	cli_input_close(in);
	return ret;
}

/* The certificate the token holds for the CA key k; refused when there is none. */
static int ca_certificate(struct cli_ctx *c, struct agent_key *k, X509 **out)
{
	uint8_t *der = NULL;
	size_t der_len = 0;
	int r, ret = 0;

	if ((r = p11a_cert(c->conn, k->info->uri, &der, &der_len)) != P11A_OK)
		return cli_fail_agent(c, r, "read the certificate of '%s'", k->name);
	if (der == NULL)
		return cli_reportf(
		    c->a->json, "NO_CERTIFICATE", CLI_EXIT_FAIL,
		    "'%s' has no certificate in the token, and a CA needs one: its subject is the "
		    "issuer of what it signs. Make the CA's certificate first, then store it:\n"
		    "  p11agent cert issue %s --self --ca --subject \"CN=My CA\" --days 3650 -o "
		    "ca.pem\n"
		    "  p11agent cert import %s -i ca.pem",
		    k->name, k->name, k->name);
	if ((r = cli_x509_read_cert(der, der_len, out, c->msg, sizeof(c->msg))) != P11A_OK)
		ret = cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r),
				  "the certificate the token holds for '%s': %s", k->name, c->msg);
	p11a_free(der, der_len);
	return ret;
}

/*
 * Says so when cert ends with the CA's certificate, sooner than --days
 * asked: cli_x509_issue() does not let it outlive its issuer. Told from
 * cert itself: its notAfter is the CA's, and it is valid for less than days.
 */
static void note_capped(const X509 *cert, const X509 *ca_cert, unsigned days)
{
	int day = 0, sec = 0;
	char when[64];

	if (ASN1_TIME_compare(X509_get0_notAfter(cert), X509_get0_notAfter(ca_cert)) == 0 &&
	    ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(cert), X509_get0_notAfter(cert)) == 1 &&
	    (day < (int)days || (day == (int)days && sec < 0)))
		fprintf(stderr,
			"p11agent: note: the certificate ends when the CA's certificate does (%s), "
			"sooner than --days %u: a certificate does not outlive its issuer\n",
			cli_x509_time_text(X509_get0_notAfter(ca_cert), when, sizeof(when)), days);
}

int cli_cert_issue(struct cli_ctx *c)
{
	struct agent_key k = {0};
	struct cli_x509_cert_opts o = {c->a->days, c->a->ca, NULL, NULL};
	EXTENDED_KEY_USAGE *eku = NULL;
	X509_NAME *subject = NULL;
	GENERAL_NAMES *san = NULL;
	X509_REQ *req = NULL;
	X509 *ca_cert = NULL, *cert = NULL;
	char *pem = NULL;
	size_t pem_len = 0;
	int r, ret;

	/* args.c checked the forms: --days in range, -i or --self with --subject. */
	if ((ret = parse_names(c, &subject, &san)) != 0)
		goto out;
	if (c->a->eku != NULL &&
	    (r = cli_x509_parse_eku(c->a->eku, &eku, c->msg, sizeof(c->msg))) != P11A_OK) {
		ret =
		    cli_reportf(c->a->json, p11a_errname(r), cli_exit_code(r), "--eku: %s", c->msg);
		goto out;
	}
	o.san = san;
	o.eku = eku;
	if (!c->a->self && (ret = read_request(c, &req)) != 0)
		goto out;
	if ((ret = cli_connect(c)) != 0 || (ret = key_load(c, c->a->key, &k)) != 0)
		goto out;
	if (c->a->self) {
		r = cli_x509_self_sign(&k.signer, subject, &o, &cert, c->msg, sizeof(c->msg));
	} else {
		if ((ret = ca_certificate(c, &k, &ca_cert)) != 0)
			goto out;
		r = cli_x509_issue(&k.signer, ca_cert, req, &o, &cert, c->msg, sizeof(c->msg));
	}
	if (r != P11A_OK) {
		ret = x509_failed(c, &k, r, "certificate");
		goto out;
	}
	if ((r = cli_x509_cert_pem(cert, &pem, &pem_len, c->msg, sizeof(c->msg))) != P11A_OK) {
		ret = cli_fail_local(c, r);
		goto out;
	}
	/* (Under --json, stderr is for the error object only.) */
	if ((ret = write_pem(c, pem, pem_len)) == 0 && ca_cert != NULL && !c->a->json)
		note_capped(cert, ca_cert, o.days);
out:
	free(pem);
	X509_free(cert);
	X509_free(ca_cert);
	X509_REQ_free(req);
	EXTENDED_KEY_USAGE_free(eku);
	GENERAL_NAMES_free(san);
	X509_NAME_free(subject);
	key_free(&k);
	return ret;
}
