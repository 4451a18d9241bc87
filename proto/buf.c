/*
 * buf: the one bounded byte buffer for everything on the wire.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "p11agent.h"
#include "secret.h"

struct buf *buf_new(size_t max)
{
	struct buf *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->max = (max == 0 || max > BUF_MAX_SIZE + 4) ? BUF_MAX_SIZE + 4 : max;
	return b;
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly && b->data != NULL) {
		secret_wipe(b->data, b->alloc);
		free(b->data);
	}
	free(b);
}

void buf_view(struct buf *b, const uint8_t *data, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->data = (uint8_t *)data; /* never written through: readonly */
	b->size = len;
	b->alloc = len;
	b->max = len;
	b->readonly = 1;
}

void buf_reset(struct buf *b)
{
	if (!b->readonly && b->data != NULL)
		secret_wipe(b->data, b->size);
	if (!b->readonly)
		b->size = 0;
	b->off = 0;
}

size_t buf_avail(const struct buf *b)
{
	return b->size - b->off;
}

const uint8_t *buf_ptr(const struct buf *b)
{
	return b->data + b->off;
}

size_t buf_len(const struct buf *b)
{
	return b->size;
}

const uint8_t *buf_data(const struct buf *b)
{
	return b->data;
}

/* Makes room for len more bytes; returns a pointer to them. */
static int buf_reserve(struct buf *b, size_t len, uint8_t **out)
{
	size_t need, nalloc;
	uint8_t *p;

	if (b->readonly)
		return P11A_ERR_INVALID_ARG;
	if (len > b->max - b->size)
		return P11A_ERR_TOO_LARGE;
	need = b->size + len;
	if (need > b->alloc) {
		nalloc = b->alloc < 256 ? 256 : b->alloc;
		while (nalloc < need)
			nalloc *= 2;
		if (nalloc > b->max)
			nalloc = b->max;
		/* Not realloc: the old bytes may be secret, wipe them. */
		if ((p = malloc(nalloc)) == NULL)
			return P11A_ERR_NOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->size);
			secret_wipe(b->data, b->alloc);
			free(b->data);
		}
		b->data = p;
		b->alloc = nalloc;
	}
	*out = b->data + b->size;
	b->size = need;
	return P11A_OK;
}

int buf_put(struct buf *b, const void *p, size_t len)
{
	uint8_t *dst;
	int r;

	/* Nothing to put: a writer that never held a byte has no data to point into. */
	if (len == 0)
		return b->readonly ? P11A_ERR_INVALID_ARG : P11A_OK;
	if ((r = buf_reserve(b, len, &dst)) != P11A_OK)
		return r;
	memcpy(dst, p, len);
	return P11A_OK;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return buf_put(b, x, sizeof(x));
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];

	for (size_t i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	return buf_put(b, x, sizeof(x));
}

int buf_put_string(struct buf *b, const void *p, size_t len)
{
	uint8_t *dst;
	int r;

	if (len > UINT32_MAX || len > b->max)
		return P11A_ERR_TOO_LARGE;
	/* Length and bytes in one reservation: all or nothing. */
	if ((r = buf_reserve(b, 4 + len, &dst)) != P11A_OK)
		return r;
	dst[0] = (uint8_t)(len >> 24);
	dst[1] = (uint8_t)(len >> 16);
	dst[2] = (uint8_t)(len >> 8);
	dst[3] = (uint8_t)len;
	if (len > 0)
		memcpy(dst + 4, p, len);
	return P11A_OK;
}

int buf_put_cstring(struct buf *b, const char *s)
{
	return buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int buf_poke_u32(struct buf *b, size_t off, uint32_t v)
{
	if (b->readonly || off > b->size || b->size - off < 4)
		return P11A_ERR_INVALID_ARG;
	b->data[off] = (uint8_t)(v >> 24);
	b->data[off + 1] = (uint8_t)(v >> 16);
	b->data[off + 2] = (uint8_t)(v >> 8);
	b->data[off + 3] = (uint8_t)v;
	return P11A_OK;
}

int buf_get_u8(struct buf *b, uint8_t *out)
{
	if (buf_avail(b) < 1)
		return P11A_ERR_BAD_REQUEST;
	*out = b->data[b->off++];
	return P11A_OK;
}

int buf_get_u32(struct buf *b, uint32_t *out)
{
	const uint8_t *p;

	if (buf_avail(b) < 4)
		return P11A_ERR_BAD_REQUEST;
	p = b->data + b->off;
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	b->off += 4;
	return P11A_OK;
}

int buf_get_u64(struct buf *b, uint64_t *out)
{
	uint32_t hi, lo;
	size_t off = b->off;

	if (buf_get_u32(b, &hi) != P11A_OK || buf_get_u32(b, &lo) != P11A_OK) {
		b->off = off;
		return P11A_ERR_BAD_REQUEST;
	}
	*out = (uint64_t)hi << 32 | lo;
	return P11A_OK;
}

int buf_get_string_direct(struct buf *b, size_t max_len, const uint8_t **out_p, size_t *out_len)
{
	uint32_t len;
	size_t off = b->off;

	if (buf_get_u32(b, &len) != P11A_OK)
		return P11A_ERR_BAD_REQUEST;
	if (len > max_len || len > buf_avail(b)) {
		b->off = off;
		return P11A_ERR_BAD_REQUEST;
	}
	*out_p = b->data + b->off;
	*out_len = len;
	b->off += len;
	return P11A_OK;
}

int buf_get_cstring(struct buf *b, size_t max_len, char **out_s)
{
	const uint8_t *p;
	size_t len, off = b->off;
	char *s;

	if (buf_get_string_direct(b, max_len, &p, &len) != P11A_OK)
		return P11A_ERR_BAD_REQUEST;
	if (len > 0 && memchr(p, '\0', len) != NULL) {
		b->off = off;
		return P11A_ERR_BAD_REQUEST;
	}
	if ((s = malloc(len + 1)) == NULL) {
		b->off = off;
		return P11A_ERR_NOMEM;
	}
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	*out_s = s;
	return P11A_OK;
}

int buf_skip(struct buf *b, size_t len)
{
	if (len > buf_avail(b))
		return P11A_ERR_BAD_REQUEST;
	b->off += len;
	return P11A_OK;
}
