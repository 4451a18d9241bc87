/*
 * safepath: whether a file or directory, and every directory above it, is
 * safe from other users.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p11agent.h"
#include "safepath.h"

/*
 * Checks one component of the real path: comp, whose stat is st. sticky_ok:
 * comp is a directory above the checked one, where the sticky bit protects
 * entries of root and uid from others. resolved: path has symbolic links (or
 * "." and "..") that realpath resolved, so messages say comp is in its real
 * path.
 */
static int check_component(const char *what, const char *path, const char *comp,
			   const struct stat *st, uid_t uid, int sticky_ok, int resolved, char *msg,
			   size_t msg_len)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	const char *sep = resolved ? " (in its real path)" : "";

	if (st->st_uid != 0 && st->st_uid != uid) {
		snprintf(msg, msg_len,
			 "%s %s: %s%s is owned by uid %u, not by root or uid %u: chown %u %s", what,
			 path, comp, sep, (unsigned)st->st_uid, (unsigned)uid, (unsigned)uid, comp);
		return P11A_ERR_UNSAFE_PATH;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    !(sticky_ok && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0)) {
		snprintf(msg, msg_len, "%s %s: %s%s is mode %04o, writable by %s: chmod go-w %s",
			 what, path, comp, sep, mode,
			 (st->st_mode & S_IWOTH) != 0 ? "others" : "its group", comp);
		return P11A_ERR_UNSAFE_PATH;
	}
	return P11A_OK;
}

int safepath_check(const char *what, const char *path, uid_t uid, unsigned flags, char *out_real,
		   size_t real_len, char *msg, size_t msg_len)
{
	char *real = NULL, *slash, cur[PATH_MAX];
	struct stat st;
	int r = P11A_ERR_INVALID_ARG, is_dir = (flags & SAFEPATH_DIR) != 0, sticky_ok;

	if ((flags & SAFEPATH_NOFOLLOW) != 0) {
		/* lstat("link/") would follow the link: look at the name without its slashes. */
		snprintf(cur, sizeof(cur), "%s", path);
		for (slash = cur + strlen(cur); slash > cur + 1 && slash[-1] == '/'; slash--)
			slash[-1] = '\0';
		if (lstat(cur, &st) != 0) {
			snprintf(msg, msg_len, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			snprintf(msg, msg_len,
				 "%s %s: is a symbolic link, which p11agent does not follow here: "
				 "give the real %s",
				 what, path, is_dir ? "directory" : "file");
			r = P11A_ERR_UNSAFE_PATH;
			goto out;
		}
	}
	if ((real = realpath(path, NULL)) == NULL) {
		snprintf(msg, msg_len, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (lstat(real, &st) != 0) {
		snprintf(msg, msg_len, "%s %s: %s", what, real, strerror(errno));
		goto out;
	}
	if (is_dir != (S_ISDIR(st.st_mode) != 0)) {
		snprintf(msg, msg_len, "%s %s: %s a directory", what, path, is_dir ? "not" : "is");
		goto out;
	}
	if (out_real != NULL && strlen(real) >= real_len) {
		snprintf(msg, msg_len, "%s %s: its real path is too long", what, path);
		goto out;
	}
	/* The path itself, then each directory above it up to "/". */
	snprintf(cur, sizeof(cur), "%s", real);
	sticky_ok = 0;
	for (;;) {
		if ((r = check_component(what, path, cur, &st, uid, sticky_ok,
					 strcmp(path, real) != 0, msg, msg_len)) != P11A_OK)
			goto out;
		if (strcmp(cur, "/") == 0)
			break;
		/* A file's own directory holds its name: no sticky exception there. */
		sticky_ok = is_dir || strcmp(cur, real) != 0;
		slash = strrchr(cur, '/');
		if (slash == cur)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lstat(cur, &st) != 0) {
			snprintf(msg, msg_len, "%s %s: %s: %s", what, path, cur, strerror(errno));
			r = P11A_ERR_INVALID_ARG;
			goto out;
		}
	}
	if (out_real != NULL)
		memcpy(out_real, real, strlen(real) + 1);
	r = P11A_OK;
out:
	free(real);
	return r;
}
