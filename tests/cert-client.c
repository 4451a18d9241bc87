/*
 * cert-client: the CERT request and RSA-PSS salt lengths, from the library,
 * for tests/test-cert-pss.sh.
 *
 *   cert-client cert SOCKET KEY OUT
 *       writes the DER certificate the agent gives for KEY to OUT, or prints
 *       "no certificate" (and writes nothing) when it gives none.
 *   cert-client pss SOCKET KEY ALG SALT IN OUT
 *       signs the file IN with ALG (an rsa-pss algorithm, or another to see it
 *       refused) and a SALT-byte salt, and writes the signature to OUT.
 * On an error from the agent or the library, prints "ERRNAME: message" and
 * exits 1. Exit: 0 done, 1 refused, 2 usage.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11agent.h"

static int usage(void)
{
	fprintf(stderr, "usage: cert-client cert SOCKET KEY OUT\n"
			"       cert-client pss SOCKET KEY ALG SALT IN OUT\n");
	return 2;
}

static int refused(struct p11a_conn *conn, int r)
{
	printf("%s: %s\n", p11a_errname(r), conn != NULL ? p11a_conn_message(conn) : "");
	return 1;
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int cert(struct p11a_conn *conn, const char *key, const char *out)
{
	uint8_t *der;
	size_t len;
	int r;

	if ((r = p11a_cert(conn, key, &der, &len)) != P11A_OK)
		return refused(conn, r);
	if (len == 0) {
		printf("no certificate\n");
		return 0;
	}
	r = write_file(out, der, len);
	p11a_free(der, len);
	if (r != 0) {
		fprintf(stderr, "cert-client: cannot write %s\n", out);
		return 1;
	}
	printf("%zu bytes\n", len);
	return 0;
}

static int pss(struct p11a_conn *conn, const char *key, char **argv)
{
	const struct p11a_alg_info *ai = p11a_alg_by_name(argv[0]);
	uint8_t data[65536], *sig;
	size_t len, sig_len;
	char *end;
	unsigned long salt = strtoul(argv[1], &end, 10);
	FILE *f;
	int r;

	if (ai == NULL || *end != '\0' || salt > 0xffff)
		return usage();
	if ((f = fopen(argv[2], "rb")) == NULL) {
		fprintf(stderr, "cert-client: cannot open %s\n", argv[2]);
		return 1;
	}
	len = fread(data, 1, sizeof(data), f);
	fclose(f);
	if ((r = p11a_sign(conn, key, ai->alg, P11A_SIGN_SALT(salt), data, len, &sig, &sig_len)) !=
	    P11A_OK)
		return refused(conn, r);
	r = write_file(argv[3], sig, sig_len);
	p11a_free(sig, sig_len);
	if (r != 0) {
		fprintf(stderr, "cert-client: cannot write %s\n", argv[3]);
		return 1;
	}
	printf("%zu-byte signature\n", sig_len);
	return 0;
}

int main(int argc, char **argv)
{
	struct p11a_conn *conn = NULL;
	int r;

	if (argc < 5)
		return usage();
	if (!(strcmp(argv[1], "cert") == 0 && argc == 5) &&
	    !(strcmp(argv[1], "pss") == 0 && argc == 8))
		return usage();
	if ((r = p11a_connect(argv[2], &conn)) != P11A_OK) {
		printf("%s: %s\n", p11a_errname(r), p11a_connect_message());
		return 1;
	}
	if (strcmp(argv[1], "cert") == 0)
		r = cert(conn, argv[3], argv[4]);
	else
		r = pss(conn, argv[3], argv + 4);
	p11a_close(conn);
	return r;
}
