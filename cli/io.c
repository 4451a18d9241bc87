/*
 * io: the CLI's input and output files. See io.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
		if (n == 0)
			errno = EIO;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The most symlinks followed from -o PATH, as the kernel's limit (ELOOP). */
#define MAX_LINK_HOPS 40

/*
 * The descriptor that path names as /dev/stdout, /dev/stderr, /dev/fd/N or
 * /proc/self/fd/N do, or -1. These are written through the descriptor this
 * process already holds: opening them again could fail (a pipe or file of
 * another user), or start a file opened for appending at its beginning.
 */
static int stream_fd(const char *path)
{
	const char *digits = NULL;
	char *end;
	long n;

	if (strcmp(path, "/dev/stdout") == 0)
		return STDOUT_FILENO;
	if (strcmp(path, "/dev/stderr") == 0)
		return STDERR_FILENO;
	if (strncmp(path, "/dev/fd/", 8) == 0)
		digits = path + 8;
	else if (strncmp(path, "/proc/self/fd/", 14) == 0)
		digits = path + 14;
	if (digits == NULL || *digits < '0' || *digits > '9')
		return -1;
	errno = 0;
	n = strtol(digits, &end, 10);
	if (errno != 0 || *end != '\0' || n > INT_MAX)
		return -1;
	return (int)n;
}

/* The folder of path ("." for a bare name), malloc'd; NULL when out of memory. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * Whether the symlink link (lstat in st) may be followed. As the kernel's
 * fs.protected_symlinks: not when it sits in a world-writable sticky folder
 * (/tmp) and belongs neither to this user nor to the folder's owner, so that
 * another user's planted link cannot send the output over a file of ours.
 */
static int may_follow(const char *link, const struct stat *st, char *msg, size_t msg_len)
{
	struct stat dir_st;
	char *dir = folder_of(link);
	int r = -1;

	if (dir == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (stat(dir, &dir_st) != 0) {
		snprintf(msg, msg_len, "cannot write %s: folder %s: %s", link, dir,
			 strerror(errno));
		goto out;
	}
	if ((dir_st.st_mode & S_ISVTX) != 0 && (dir_st.st_mode & S_IWOTH) != 0 &&
	    st->st_uid != geteuid() && st->st_uid != dir_st.st_uid) {
		snprintf(msg, msg_len,
			 "cannot write %s: it is a symlink of another user (uid %u) in the "
			 "world-writable sticky folder %s, which p11agent does not follow (nor "
			 "does the kernel, with fs.protected_symlinks); remove it or choose "
			 "another path",
			 link, (unsigned)st->st_uid, dir);
		goto out;
	}
	r = 0;
out:
	free(dir);
	return r;
}

/*
 * Follows path while it is a symlink, as open() would, until a standard
 * stream (stream_fd()), something that is not a link, or nothing. On success
 * *out_target (free it) is where the output goes, *out_exists says whether
 * something is there and *out_st (when it does and is not a stream) is its
 * lstat. A dangling link, a loop and a link that may_follow() refuses are
 * errors, with a message naming path.
 */
static int follow_links(const char *path, char **out_target, struct stat *out_st, int *out_exists,
			char *msg, size_t msg_len)
{
	char link[PATH_MAX];
	struct stat st;
	char *cur, *next = NULL, *dir = NULL;
	ssize_t n;
	int hops, exists = 1, r = -1;

	memset(&st, 0, sizeof(st));
	if ((cur = strdup(path)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	for (hops = 0;; hops++) {
		if (stream_fd(cur) >= 0)
			break;
		if (lstat(cur, &st) != 0) {
			if (errno == ENOENT && hops == 0) {
				exists = 0;
				break;
			}
			if (errno == ENOENT)
				snprintf(msg, msg_len,
					 "cannot write %s: it is a symlink to %s, which does not "
					 "exist (as cp, p11agent does not write through a dangling "
					 "symlink); create %s or remove the link",
					 path, cur, cur);
			else
				snprintf(msg, msg_len, "cannot write %s: %s", path,
					 strerror(errno));
			goto out;
		}
		if (!S_ISLNK(st.st_mode))
			break;
		if (hops == MAX_LINK_HOPS) {
			snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(ELOOP));
			goto out;
		}
		if (may_follow(cur, &st, msg, msg_len) != 0)
			goto out;
		n = readlink(cur, link, sizeof(link) - 1);
		if (n < 0) {
			snprintf(msg, msg_len, "cannot write %s: %s: %s", path, cur,
				 strerror(errno));
			goto out;
		}
		link[n] = '\0';
		if (link[0] == '/' || strchr(cur, '/') == NULL) {
			next = strdup(link); /* absolute, or beside a link in "." */
		} else {
			if ((dir = folder_of(cur)) == NULL ||
			    asprintf(&next, "%s/%s", dir, link) < 0)
				next = NULL;
			free(dir);
			dir = NULL;
		}
		if (next == NULL) {
			snprintf(msg, msg_len, "out of memory");
			goto out;
		}
		free(cur);
		cur = next;
		next = NULL;
	}
	*out_target = cur;
	*out_st = st;
	*out_exists = exists;
	cur = NULL;
	r = 0;
out:
	free(cur);
	return r;
}

/* Writes data to fd, a standard stream this process holds, named name. */
static int write_stream(int fd, const char *name, const uint8_t *data, size_t len, char *msg,
			size_t msg_len)
{
	/* Whatever stdio holds for stdout goes first. */
	if (fflush(stdout) != 0 || write_all(fd, data, len) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes data into target, a device or FIFO (lstat in st), as path names it:
 * opened for writing as it is, never made, truncated or replaced.
 */
static int write_into(const char *path, const char *target, const struct stat *st,
		      const uint8_t *data, size_t len, char *msg, size_t msg_len)
{
	struct stat now;
	int fd, r = -1;

	fd = open(target, O_WRONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		snprintf(msg, msg_len, "cannot write %s: it changed while it was opened; try again",
			 path);
		goto out;
	}
	if (write_all(fd, data, len) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r != 0)
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Gives the file fd the owner and group of old where this user may: root
 * may give both, a member of old's group the group alone. Otherwise the file
 * stays this user's, as after mv.
 */
static void keep_owner(int fd, const struct stat *old)
{
	if (old->st_uid == geteuid() && old->st_gid == getegid())
		return;
	if (fchown(fd, old->st_uid, old->st_gid) == 0)
		return;
	if (fchown(fd, (uid_t)-1, old->st_gid) != 0) {
		/* Not a member of the group either: the file stays this user's. */
	}
}

/*
 * Replaces target, a regular file (lstat in old) or nothing (old NULL), as
 * path names it: data goes to a temporary file in target's folder, synced,
 * then renamed over target. A secret gets mode 0600; otherwise an existing
 * file's mode (without set-id bits) is kept, and a new file gets what creat()
 * would give. An existing file's owner and group are kept where this user may
 * give them (root; or the group, for a member of it).
 */
static int replace_file(const char *path, const char *target, const struct stat *old,
			const uint8_t *data, size_t len, int secret, char *msg, size_t msg_len)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, err, r = -1;
	mode_t mode, mask;

	if (old != NULL && faccessat(AT_FDCWD, target, W_OK, AT_EACCESS) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if ((dir = folder_of(target)) == NULL || asprintf(&tmp, "%s.XXXXXX", target) < 0) {
		tmp = NULL;
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		snprintf(msg, msg_len,
			 "cannot write %s: cannot make a temporary file in folder %s (%s)%s", path,
			 dir, strerror(err),
			 err == EACCES || err == EPERM || err == EROFS
			     ? "; a file is written whole beside its old self and renamed over "
			       "it, so choose a folder you may write to"
			     : "");
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (old != NULL)
		keep_owner(fd, old);
	if (secret) {
		mode = 0600;
	} else if (old != NULL) {
		mode = old->st_mode & 0777;
	} else {
		mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(msg, msg_len, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, target) != 0) {
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
	free(dir);
	return r;
}

/* Writes data to path (NULL: stdout) by what is there; secret: see replace_file(). */
static int write_output(const char *path, const uint8_t *data, size_t len, int secret, char *msg,
			size_t msg_len)
{
	char *target = NULL;
	struct stat st;
	int fd, exists = 0, r = -1;

	if (path == NULL)
		return write_stream(STDOUT_FILENO, "to stdout", data, len, msg, msg_len);
	if (follow_links(path, &target, &st, &exists, msg, msg_len) != 0)
		goto out;
	if ((fd = stream_fd(target)) >= 0)
		r = write_stream(fd, path, data, len, msg, msg_len);
	else if (!exists || S_ISREG(st.st_mode))
		r = replace_file(path, target, exists ? &st : NULL, data, len, secret, msg,
				 msg_len);
	else if (S_ISDIR(st.st_mode))
		snprintf(msg, msg_len, "cannot write %s: it is a directory; name a file in it",
			 path);
	else if (S_ISSOCK(st.st_mode))
		snprintf(msg, msg_len, "cannot write %s: it is a socket", path);
	else
		r = write_into(path, target, &st, data, len, msg, msg_len);
out:
	free(target);
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
