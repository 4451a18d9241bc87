#include "config.h"
/*
 * driver: runs a fuzz target over inputs without libFuzzer, so that the seed
 * corpus is replayed by `make check`.
 *
 *     fuzz-TARGET-driver [FILE|DIR]...
 *
 * Each FILE is one input; each DIR holds one input per file (dot files
 * skipped, in name order); with no argument, stdin is one input. Every input
 * is copied to a buffer of exactly its size, so that a sanitizer sees any
 * read past its end. Exit status: 0 when every input ran, 1 when one could not
 * be read or there was none; a broken invariant aborts.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Inputs larger than this are not read (libFuzzer's own default is far smaller). */
#define DRIVER_MAX_INPUT (4u * 1024u * 1024u)

static size_t n_run;

/* Reads all of fd into a malloc'd buffer of exactly its size. */
static int read_all(int fd, uint8_t **out, size_t *out_len)
{
	uint8_t *p = NULL, *exact;
	size_t len = 0, alloc = 0;
	ssize_t r;

	for (;;) {
		if (len == alloc) {
			uint8_t *grown;

			alloc = alloc == 0 ? 4096 : alloc * 2;
			if (alloc > DRIVER_MAX_INPUT + 1 || (grown = realloc(p, alloc)) == NULL)
				goto fail;
			p = grown;
		}
		r = read(fd, p + len, alloc - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	/* Exact size: one byte more than nothing for an empty input. */
	if ((exact = malloc(len == 0 ? 1 : len)) == NULL)
		goto fail;
	memcpy(exact, p, len);
	free(p);
	*out = exact;
	*out_len = len;
	return 0;
fail:
	free(p);
	return -1;
}

static int run_fd(int fd, const char *name)
{
	uint8_t *data;
	size_t len;

	if (read_all(fd, &data, &len) != 0) {
		fprintf(stderr, "driver: %s: cannot read: %s\n", name,
			errno != 0 ? strerror(errno) : "too large");
		return -1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	n_run++;
	return 0;
}

static int run_file(const char *path)
{
	int fd, ret;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "driver: %s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	ret = run_fd(fd, path);
	close(fd);
	return ret;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	char *sub;
	int n, i, ret = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((n = scandir(path, &names, skip_dot, alphasort)) == -1) {
		fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (asprintf(&sub, "%s/%s", path, names[i]->d_name) < 0) {
			ret = -1;
		} else {
			if (run_file(sub) != 0)
				ret = -1;
			free(sub);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	int i, ret = 0;

	if (argc < 2)
		ret = run_fd(STDIN_FILENO, "stdin");
	for (i = 1; i < argc; i++)
		if (run_path(argv[i]) != 0)
			ret = -1;
	fprintf(stderr, "%s: %zu inputs ran\n", argv[0], n_run);
	/* An empty corpus is a mistake too. */
	return ret == 0 && n_run > 0 ? 0 : 1;
}
