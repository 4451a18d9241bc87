/*
 * buf: the one bounded byte buffer for everything on the wire.
 *
 * A buf is either a growable writer (buf_new) capped at a hard maximum, or a
 * read-only view over bytes someone else owns (buf_view). Every getter checks
 * the remaining length first, returns a P11A_ERR_* code and writes its output
 * only on success. No length read from the wire is trusted.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BUF_H
#define P11AGENT_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Hard ceiling of any buffer, and so of any frame body: 1 MiB. */
#define BUF_MAX_SIZE (1024u * 1024u)

struct buf {
	uint8_t *data; /* owned when !readonly */
	size_t size;   /* bytes written */
	size_t off;    /* read position */
	size_t alloc;  /* bytes allocated */
	size_t max;    /* hard maximum of size */
	int readonly;  /* a view: never written, never freed */
};

/* A writer that may grow up to max bytes (0 = BUF_MAX_SIZE). Returns NULL on OOM. */
struct buf *buf_new(size_t max);
/* Frees b, wiping its contents first. NULL is a no-op. */
void buf_free(struct buf *b);
/* Initialises a read-only view over data[0..len). Never fails. */
void buf_view(struct buf *b, const uint8_t *data, size_t len);
/* Empties a writer (wiping old bytes) and rewinds. */
void buf_reset(struct buf *b);

/* Bytes not yet read. */
size_t buf_avail(const struct buf *b);
/* Pointer to the unread bytes. */
const uint8_t *buf_ptr(const struct buf *b);
/* Total bytes written (the whole content). */
size_t buf_len(const struct buf *b);
const uint8_t *buf_data(const struct buf *b);

/* Writers: P11A_OK, P11A_ERR_TOO_LARGE when max would be passed, P11A_ERR_NOMEM. */
int buf_put(struct buf *b, const void *p, size_t len);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
/* A string: u32 length, then the bytes. */
int buf_put_string(struct buf *b, const void *p, size_t len);
int buf_put_cstring(struct buf *b, const char *s);
/* Overwrites 4 bytes at offset off (for back-patching a frame length). */
int buf_poke_u32(struct buf *b, size_t off, uint32_t v);

/* Readers: P11A_OK, or P11A_ERR_BAD_REQUEST when the buffer is short. */
int buf_get_u8(struct buf *b, uint8_t *out);
int buf_get_u32(struct buf *b, uint32_t *out);
int buf_get_u64(struct buf *b, uint64_t *out);
/* Points *out_p into b at a string's bytes (no copy), with max_len bound. */
int buf_get_string_direct(struct buf *b, size_t max_len, const uint8_t **out_p, size_t *out_len);
/* As above, but copies to a fresh NUL-terminated C string; refuses embedded NUL. */
int buf_get_cstring(struct buf *b, size_t max_len, char **out_s);
/* Skips len bytes. */
int buf_skip(struct buf *b, size_t len);

#endif
