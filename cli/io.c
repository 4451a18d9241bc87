/*
 * io: the CLI's input and output files. See io.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "io.h"

struct cli_input {
	FILE *f;
	const char *name;
	int is_stdin;
};

int cli_input_open(const char *path, struct cli_input **out_in, char *msg, size_t msg_len)
{
	struct cli_input *in;
	struct stat st;

	in = calloc(1, sizeof(*in));
	if (in == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	if (path == NULL) {
		in->f = stdin;
		in->name = "stdin";
		in->is_stdin = 1;
		*out_in = in;
		return 0;
	}
	in->name = path;
	in->f = fopen(path, "rb");
	if (in->f == NULL) {
		snprintf(msg, msg_len, "cannot open %s: %s", path, strerror(errno));
		free(in);
		return -1;
	}
	if (fstat(fileno(in->f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(msg, msg_len, "cannot read %s: it is a directory", path);
		fclose(in->f);
		free(in);
		return -1;
	}
	*out_in = in;
	return 0;
}

void cli_input_close(struct cli_input *in)
{
	if (in == NULL)
		return;
	if (!in->is_stdin && in->f != NULL)
		fclose(in->f);
	free(in);
}

const char *cli_input_name(const struct cli_input *in)
{
	return in->name;
}

void cli_data_free(uint8_t *data, size_t len)
{
	if (data == NULL)
		return;
	OPENSSL_cleanse(data, len);
	free(data);
}

int cli_input_next(struct cli_input *in, uint8_t *buf, size_t cap, size_t *out_n, char *msg,
		   size_t msg_len)
{
	size_t n = fread(buf, 1, cap, in->f);

	if (n < cap && ferror(in->f)) {
		snprintf(msg, msg_len, "cannot read %s: %s", in->name, strerror(errno));
		return -1;
	}
	*out_n = n;
	return 0;
}

int cli_input_read(struct cli_input *in, size_t max, uint8_t **out_data, size_t *out_len,
		   int *out_more, char *msg, size_t msg_len)
{
	uint8_t *data = NULL, *grown;
	size_t len = 0, alloc = 0, n;
	int c, more = 0, r = -1;

	while (len < max) {
		if (len == alloc) {
			/* Grow by doubling, wiping the old copy (an HMAC input may matter). */
			size_t want = alloc == 0 ? 64 * 1024 : alloc * 2;
			if (want > max)
				want = max;
			grown = malloc(want);
			if (grown == NULL) {
				snprintf(msg, msg_len, "out of memory reading %s", in->name);
				goto out;
			}
			if (len > 0)
				memcpy(grown, data, len);
			cli_data_free(data, alloc);
			data = grown;
			alloc = want;
		}
		if (cli_input_next(in, data + len, alloc - len, &n, msg, msg_len) != 0)
			goto out;
		if (n == 0)
			break;
		len += n;
	}
	if (len == max) {
		/* Full: see whether a byte remains, and leave it to be read. */
		c = fgetc(in->f);
		if (c == EOF && ferror(in->f)) {
			snprintf(msg, msg_len, "cannot read %s: %s", in->name, strerror(errno));
			goto out;
		}
		if (c != EOF) {
			ungetc(c, in->f);
			more = 1;
		}
	}
	*out_data = data;
	*out_len = len;
	*out_more = more;
	data = NULL;
	r = 0;
out:
	cli_data_free(data, alloc);
	return r;
}

int cli_read_file(const char *path, size_t max, uint8_t **out_data, size_t *out_len, char *msg,
		  size_t msg_len)
{
	struct cli_input *in = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int more = 0, r = -1;

	if (cli_input_open(path, &in, msg, msg_len) != 0)
		goto out;
	if (cli_input_read(in, max, &data, &len, &more, msg, msg_len) != 0)
		goto out;
	if (more) {
		snprintf(msg, msg_len, "%s is too large (more than %zu bytes)", path, max);
		goto out;
	}
	*out_data = data;
	*out_len = len;
	data = NULL;
	r = 0;
out:
	cli_data_free(data, len);
	cli_input_close(in);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes data to path (NULL: stdout); secret: mode 0600, else as creat() would. */
static int write_output(const char *path, const uint8_t *data, size_t len, int secret, char *msg,
			size_t msg_len)
{
	char *tmp = NULL;
	int fd = -1, r = -1;
	mode_t mask;

	if (path == NULL) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
			snprintf(msg, msg_len, "cannot write to stdout: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* mkstemp makes it 0600: a secret keeps that; others get what creat() would give. */
	mask = umask(0);
	umask(mask);
	if ((!secret && fchmod(fd, 0666 & ~mask) != 0) || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return r;
}

int cli_write_output(const char *path, const uint8_t *data, size_t len, char *msg, size_t msg_len)
{
	return write_output(path, data, len, 0, msg, msg_len);
}

int cli_write_secret(const char *path, const uint8_t *data, size_t len, char *msg, size_t msg_len)
{
	return write_output(path, data, len, 1, msg, msg_len);
}

/* Opens a key file: a regular file that neither group nor others may access. */
static int open_key_file(const char *path, char *msg, size_t msg_len)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msg_len, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, msg_len, "key file %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msg_len,
			 "key file %s: not a regular file (use --key-file - to read a pipe)", path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(msg, msg_len,
			 "key file %s: mode %04o lets group or others at it; chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int cli_read_key_file(const char *path, uint8_t *out, size_t *out_len, char *msg, size_t msg_len)
{
	uint8_t buf[CLI_KEY_FILE_MAX + 1];
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r = -1;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open_key_file(path, msg, msg_len)) < 0)
		goto out;
	/* read(2), not stdio: no copy of the key is left in a FILE buffer. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msg_len, "key file %s: %s", name, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len != 16 && len != 24 && len != 32) {
		snprintf(msg, msg_len, "key file: expected 16, 24 or 32 bytes; %s holds %s%zu",
			 name, len > CLI_KEY_FILE_MAX ? "more than " : "",
			 len > CLI_KEY_FILE_MAX ? (size_t)CLI_KEY_FILE_MAX : len);
		goto out;
	}
	memcpy(out, buf, len);
	*out_len = len;
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r != 0)
		OPENSSL_cleanse(out, CLI_KEY_FILE_MAX);
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return r;
}
