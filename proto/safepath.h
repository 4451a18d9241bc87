/*
 * safepath: whether a file or directory, and every directory above it, is
 * safe from other users, as sshd's StrictModes asks of its files.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11A_SAFEPATH_H
#define P11A_SAFEPATH_H

#include <stddef.h>
#include <sys/types.h>

/* The path names a directory (without it: anything but a directory). */
#define SAFEPATH_DIR 1u
/* The path itself must not be a symbolic link (those above it are followed). */
#define SAFEPATH_NOFOLLOW 2u

/*
 * Checks that no user other than root and uid can replace or change what path
 * names. Symbolic links are followed (realpath) and the real path is checked:
 * - the file or directory itself: owned by root or uid, and writable by
 *   neither group nor others;
 * - every directory above it, up to "/": the same, except that a directory
 *   with the sticky bit (like /tmp) may be writable by others, since there
 *   nobody else may rename or remove what root or uid owns. The directory
 *   that holds a file must be private all the same: it is where the file's
 *   name lives.
 * what names the path in messages ("PKCS#11 module", "PIN file").
 * Returns P11A_OK and, when out_real is not NULL, the real path in out_real;
 * P11A_ERR_UNSAFE_PATH, or P11A_ERR_INVALID_ARG when path cannot be resolved,
 * with a message that names the path, the offending component, its owner or
 * mode, and the fix.
 */
int safepath_check(const char *what, const char *path, uid_t uid, unsigned flags, char *out_real,
		   size_t real_len, char *msg, size_t msg_len);

#endif
