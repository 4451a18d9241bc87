/*
 * pin: reads the user PIN from file:PATH, env:VAR, credential:NAME (systemd's
 * $CREDENTIALS_DIRECTORY), fd:N (an inherited descriptor), an absolute path
 * or a file:// URI. Messages never hold the PIN, nor anything that may be
 * the PIN typed where its source belongs: a variable's name, a relative
 * path, a source that is not understood. They name an absolute PIN file's
 * path.
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

#include "p11agent.h"
#include "safepath.h"
#include "secret.h"
#include "pin.h"

/* Longest PIN read (PKCS#11 tokens take far less). */
#define PIN_MAX 256

/* Decodes %XX escapes of a file: URI path into out (at least strlen(in) + 1). */
static int percent_decode(const char *in, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *hi, *lo;

	while (*in != '\0') {
		if (*in != '%') {
			*out++ = *in++;
			continue;
		}
		if (in[1] == '\0' || in[2] == '\0' || (hi = strchr(hex, in[1] | 0x20)) == NULL ||
		    (lo = strchr(hex, in[2] | 0x20)) == NULL)
			return -1;
		*out++ = (char)(((hi - hex) << 4) | (lo - hex));
		if (out[-1] == '\0')
			return -1;
		in += 3;
	}
	*out = '\0';
	return 0;
}

/*
 * Reads the PIN from fd up to its end: one trailing newline (or CR LF) is
 * not part of it. what names the source in messages ("PIN file /path").
 */
static int pin_from_content(int fd, const char *what, struct secret **out_pin, char *msg,
			    size_t msg_len)
{
	char buf[PIN_MAX + 2];
	size_t len = 0;
	ssize_t n;
	int ret = P11A_ERR_BAD_INPUT;

	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msg_len, "%s: %s", what, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* One trailing newline is not part of the PIN. */
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len > PIN_MAX) {
		snprintf(msg, msg_len, "%s: longer than %d bytes", what, PIN_MAX);
		goto out;
	}
	if (len == 0) {
		snprintf(msg, msg_len, "%s: empty", what);
		goto out;
	}
	if ((*out_pin = secret_dup(buf, len)) == NULL) {
		snprintf(msg, msg_len, "%s: out of memory", what);
		ret = P11A_ERR_INTERNAL;
		goto out;
	}
	ret = P11A_OK;
out:
	secret_wipe(buf, sizeof(buf));
	return ret;
}

/*
 * Reads the PIN from the file at path: a regular file, not a symbolic link,
 * that neither group nor others may access, owned by root or the agent's uid
 * in directories no other user may change (safepath_check).
 */
static int pin_from_file(const char *path, struct secret **out_pin, char *msg, size_t msg_len)
{
	char real[PATH_MAX], what[PATH_MAX + 16];
	struct stat st;
	int fd = -1, ret = P11A_ERR_BAD_INPUT;

	/* A path that does not resolve is left to open() to report. */
	ret = safepath_check("PIN file", path, geteuid(), SAFEPATH_NOFOLLOW, real, sizeof(real),
			     msg, msg_len);
	if (ret == P11A_OK)
		path = real;
	else if (ret == P11A_ERR_UNSAFE_PATH) {
		ret = P11A_ERR_BAD_INPUT;
		goto out;
	}
	ret = P11A_ERR_BAD_INPUT;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(msg, msg_len, "PIN file %s: %s", path,
			 errno == ELOOP ? "is a symbolic link (not followed)" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, msg_len, "PIN file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msg_len, "PIN file %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(msg, msg_len,
			 "PIN file %s: mode %04o lets group or others at it; chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		goto out;
	}
	snprintf(what, sizeof(what), "PIN file %s", path);
	ret = pin_from_content(fd, what, out_pin, msg, msg_len);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Reads the PIN from the environment variable name, then wipes and unsets it. */
static int pin_from_env(const char *name, struct secret **out_pin, char *msg, size_t msg_len)
{
	struct secret *pin;
	char *value;
	size_t len;

	/* The name is never shown: env:<the PIN> is an easy mistake to make. */
	if (*name == '\0' || strchr(name, '=') != NULL) {
		snprintf(msg, msg_len, "PIN source env:VAR: '%s' is not a variable name",
			 *name == '\0' ? "" : "(not shown)");
		return P11A_ERR_BAD_INPUT;
	}
	if ((value = getenv(name)) == NULL) {
		snprintf(msg, msg_len,
			 "PIN source env:VAR: the variable is not set in p11agentd's environment "
			 "(its name is not shown, in case it is the PIN itself)");
		return P11A_ERR_BAD_INPUT;
	}
	len = strlen(value);
	if (len == 0 || len > PIN_MAX) {
		unsetenv(name);
		snprintf(msg, msg_len, "PIN source env:VAR: %s",
			 len == 0 ? "the variable is empty" : "the value is too long");
		return P11A_ERR_BAD_INPUT;
	}
	pin = secret_dup(value, len);
	/* The environment's copy is writable memory: leave no PIN behind in it. */
	secret_wipe(value, len);
	unsetenv(name);
	if (pin == NULL) {
		snprintf(msg, msg_len, "PIN source env:VAR: out of memory");
		return P11A_ERR_INTERNAL;
	}
	*out_pin = pin;
	return P11A_OK;
}

/* "file:///path" or "file://localhost/path" to the decoded path. */
static int pin_from_file_uri(const char *source, struct secret **out_pin, char *msg, size_t msg_len)
{
	const char *p = source + strlen("file://");
	char *path = NULL;
	int ret = P11A_ERR_BAD_INPUT;

	if (strncmp(p, "localhost/", strlen("localhost/")) == 0)
		p += strlen("localhost");
	if (*p != '/') {
		snprintf(msg, msg_len,
			 "PIN source file://: only local file: URIs (file:///path) work (the "
			 "source is not shown)");
		goto out;
	}
	if ((path = malloc(strlen(p) + 1)) == NULL) {
		ret = P11A_ERR_INTERNAL;
		snprintf(msg, msg_len, "PIN source file://: out of memory");
		goto out;
	}
	if (percent_decode(p, path) != 0) {
		snprintf(msg, msg_len,
			 "PIN source file://: bad %%-escape in the path (the source is not shown)");
		goto out;
	}
	ret = pin_from_file(path, out_pin, msg, msg_len);
out:
	free(path);
	return ret;
}

/*
 * credential:NAME: the file NAME of the directory systemd gives the service
 * in $CREDENTIALS_DIRECTORY (LoadCredential=, LoadCredentialEncrypted=),
 * checked as any PIN file.
 */
static int pin_from_credential(const char *name, struct secret **out_pin, char *msg, size_t msg_len)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[PATH_MAX];

	if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > NAME_MAX) {
		snprintf(msg, msg_len,
			 "PIN source credential:NAME: NAME must be a file name, without '/' (it "
			 "is not shown, in case it is the PIN itself)");
		return P11A_ERR_BAD_INPUT;
	}
	if (dir == NULL || dir[0] != '/') {
		snprintf(msg, msg_len,
			 "PIN source credential:NAME: CREDENTIALS_DIRECTORY is %s: run p11agentd "
			 "from a systemd unit with LoadCredential=NAME:PATH",
			 dir == NULL ? "not set" : "not an absolute path");
		return P11A_ERR_BAD_INPUT;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(msg, msg_len, "PIN source credential:NAME: the path is too long");
		return P11A_ERR_BAD_INPUT;
	}
	return pin_from_file(path, out_pin, msg, msg_len);
}

/*
 * fd:N: an inherited descriptor, read to its end once and closed, so that
 * no child and no later reader finds the PIN there.
 */
static int pin_from_fd(const char *num, struct secret **out_pin, char *msg, size_t msg_len)
{
	char what[48];
	struct stat st;
	long fd;
	char *end;
	int ret;

	errno = 0;
	fd = strtol(num, &end, 10);
	if (*num < '0' || *num > '9' || *end != '\0' || errno != 0 || fd > INT_MAX) {
		snprintf(msg, msg_len,
			 "PIN source fd:N: N must be a descriptor number (it is not shown, in "
			 "case it is the PIN itself)");
		return P11A_ERR_BAD_INPUT;
	}
	snprintf(what, sizeof(what), "PIN source fd:%ld", fd);
	if (fstat((int)fd, &st) != 0) {
		snprintf(msg, msg_len, "%s: %s", what,
			 errno == EBADF ? "no such open descriptor" : strerror(errno));
		return P11A_ERR_BAD_INPUT;
	}
	if (S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode)) {
		/* A terminal would wait for someone to type; a device is no PIN. */
		snprintf(msg, msg_len, "%s: %s, not a file, pipe or socket", what,
			 S_ISDIR(st.st_mode) ? "a directory" : "a character device");
		ret = P11A_ERR_BAD_INPUT;
	} else {
		ret = pin_from_content((int)fd, what, out_pin, msg, msg_len);
	}
	close((int)fd);
	return ret;
}

int pin_read(const char *source, struct secret **out_pin, char *msg, size_t msg_len)
{
	if (source == NULL) {
		snprintf(msg, msg_len, "no PIN source given");
		return P11A_ERR_BAD_INPUT;
	}
	if (strncmp(source, "file://", strlen("file://")) == 0)
		return pin_from_file_uri(source, out_pin, msg, msg_len);
	if (strncmp(source, "file:", strlen("file:")) == 0 && source[strlen("file:")] == '/')
		return pin_from_file(source + strlen("file:"), out_pin, msg, msg_len);
	if (strncmp(source, "file:", strlen("file:")) == 0 && source[strlen("file:")] != '\0') {
		snprintf(msg, msg_len,
			 "PIN source file:PATH: the path must be absolute (it is not shown, in "
			 "case it is the PIN itself)");
		return P11A_ERR_BAD_INPUT;
	}
	if (strncmp(source, "env:", strlen("env:")) == 0)
		return pin_from_env(source + strlen("env:"), out_pin, msg, msg_len);
	if (strncmp(source, "credential:", strlen("credential:")) == 0)
		return pin_from_credential(source + strlen("credential:"), out_pin, msg, msg_len);
	if (strncmp(source, "fd:", strlen("fd:")) == 0)
		return pin_from_fd(source + strlen("fd:"), out_pin, msg, msg_len);
	if (source[0] == '/')
		return pin_from_file(source, out_pin, msg, msg_len);

	/* Not quoted: a PIN given where its source belongs must not reach a log. */
	snprintf(msg, msg_len,
		 "unknown PIN source (not shown): use file:PATH, env:VAR, credential:NAME, fd:N "
		 "or an absolute path");
	return P11A_ERR_BAD_INPUT;
}
