/*
 * io: the CLI's input and output files.
 *
 * Input (-i FILE, or stdin) is read in two steps: a bounded head, then, for
 * inputs that are hashed here, the rest in chunks, so that a large file never
 * sits in memory whole. Output (-o PATH, or stdout) goes where PATH leads,
 * and PATH stays what it was: a regular file is written whole or not at all
 * (a temporary file beside it, renamed over it on success); a device or a
 * FIFO is written into; a symlink is followed to what it points at.
 *
 * Functions return 0, or -1 with a one-line message in msg naming the file.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_IO_H
#define P11AGENT_CLI_IO_H

#include <stddef.h>
#include <stdint.h>

struct cli_input;

/* Opens path for reading; NULL means stdin. Free with cli_input_close(). */
int cli_input_open(const char *path, struct cli_input **out_in, char *msg, size_t msg_len);
/* Closes in (not stdin) and frees it. NULL is a no-op. */
void cli_input_close(struct cli_input *in);
/* "stdin" or the file's path. */
const char *cli_input_name(const struct cli_input *in);

/*
 * Reads up to max bytes. *out_data (free with cli_data_free(*out_data,
 * *out_len); may be NULL when *out_len is 0) gets what was read; *out_more is
 * 1 when the input holds more than max bytes (they stay unread), else 0.
 */
int cli_input_read(struct cli_input *in, size_t max, uint8_t **out_data, size_t *out_len,
		   int *out_more, char *msg, size_t msg_len);

/* Reads the next chunk, up to cap bytes, into buf; *out_n is 0 at the end. */
int cli_input_next(struct cli_input *in, uint8_t *buf, size_t cap, size_t *out_n, char *msg,
		   size_t msg_len);

/* Reads a whole file of at most max bytes (a signature). */
int cli_read_file(const char *path, size_t max, uint8_t **out_data, size_t *out_len, char *msg,
		  size_t msg_len);

/* Wipes and frees data of len bytes. NULL is a no-op. */
void cli_data_free(uint8_t *data, size_t len);

/*
 * Writes data to path (NULL: stdout), by what is there:
 * - /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: written to the
 *   descriptor this process holds, never opened again.
 * - a symlink: followed, link by link, to what it points at, which is then
 *   written as below; the link stays. A dangling link is refused, as cp
 *   refuses it, and so is another user's link in a world-writable sticky
 *   folder (as fs.protected_symlinks).
 * - a regular file, or nothing: data goes to a temporary file in the same
 *   folder, synced, and renamed over it, so a failure leaves the old file as
 *   it was and nothing beside it. An existing file must be writable by this
 *   user; its mode (without set-id bits) is kept, and its owner and group
 *   where this user may give them; other hard links keep the old file. A new
 *   file gets the mode creat() would give.
 * - a character or block device, or a FIFO: opened for writing as it is
 *   (not made, truncated or replaced) and written into; a FIFO waits for a
 *   reader.
 * - a directory or a socket: refused.
 */
int cli_write_output(const char *path, const uint8_t *data, size_t len, char *msg, size_t msg_len);

/*
 * As cli_write_output(), for a secret (a plaintext, a session key, a shared
 * secret): a regular file gets mode 0600, new or replaced, whatever the umask.
 */
int cli_write_secret(const char *path, const uint8_t *data, size_t len, char *msg, size_t msg_len);

/* Most bytes a key file holds (AES-256). */
#define CLI_KEY_FILE_MAX 32

/*
 * Reads a raw symmetric key of 16, 24 or 32 bytes from path ("-": stdin)
 * into out (CLI_KEY_FILE_MAX bytes). A file must be a regular file that
 * neither group nor others may access (as p11agentd's PIN file). The message
 * of a failure names the file, never the key's bytes. out is wiped on failure.
 */
int cli_read_key_file(const char *path, uint8_t *out, size_t *out_len, char *msg, size_t msg_len);

#endif
