/*
 * keyfile-decode: reads a p11agent key file with p11a_keyfile_decode(), as
 * the provider does, for tests/test-keyfile-cli.sh.
 *
 *     keyfile-decode FILE SPKI
 *
 * Prints the key's URI and a newline on stdout and writes its public key
 * (DER SubjectPublicKeyInfo) to the file SPKI. Exit status: 0 done; 1 FILE
 * is not a key file (its error name on stderr) or a file could not be read
 * or written; 2 usage.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11agent.h"

/* Larger than any key file: a test input is never this large. */
#define MAX_FILE (1024u * 1024u)

int main(int argc, char **argv)
{
	FILE *f = NULL;
	char *text = NULL, *uri = NULL;
	uint8_t *spki = NULL;
	size_t len, spki_len = 0;
	int r, written, ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE SPKI\n", argv[0]);
		return 2;
	}
	if ((f = fopen(argv[1], "rb")) == NULL || (text = malloc(MAX_FILE)) == NULL) {
		fprintf(stderr, "keyfile-decode: %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	len = fread(text, 1, MAX_FILE, f);
	if (ferror(f) || len == MAX_FILE) {
		fprintf(stderr, "keyfile-decode: %s: cannot read it whole\n", argv[1]);
		goto out;
	}
	fclose(f);
	f = NULL;
	if ((r = p11a_keyfile_decode(text, len, &uri, &spki, &spki_len)) != P11A_OK) {
		fprintf(stderr, "keyfile-decode: %s: %s (%s)\n", argv[1], p11a_errname(r),
			p11a_strerror(r));
		goto out;
	}
	if ((f = fopen(argv[2], "wb")) == NULL) {
		fprintf(stderr, "keyfile-decode: %s: %s\n", argv[2], strerror(errno));
		goto out;
	}
	written = fwrite(spki, 1, spki_len, f) == spki_len;
	if (fclose(f) != 0)
		written = 0;
	f = NULL;
	if (!written) {
		fprintf(stderr, "keyfile-decode: %s: cannot write it\n", argv[2]);
		goto out;
	}
	printf("%s\n", uri);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	if (f != NULL)
		fclose(f);
	free(text);
	p11a_free(uri, uri != NULL ? strlen(uri) + 1 : 0);
	p11a_free(spki, spki_len);
	return ret;
}
