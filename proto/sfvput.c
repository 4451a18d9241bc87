/*
 * sfvput: the strict serializations of RFC 9651 section 4.1 (structured
 * field values), one function per algorithm, in the RFC's order. The public
 * functions write to a scratch buf and append it to the caller's in one
 * piece.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "p11agent.h"
#include "sfv.h"

/* Serializing a Key (4.1.1.3). */
static int put_key(struct buf *b, const char *key)
{
	if (!sfv_key_ok(key))
		return P11A_ERR_INVALID_ARG;
	return buf_put(b, key, strlen(key));
}

/* Serializing an Integer (4.1.4), the digits of a Date (4.1.10). */
static int put_integer(struct buf *b, int64_t v)
{
	char text[24];
	int n;

	if (v < -SFV_MAX_INTEGER || v > SFV_MAX_INTEGER)
		return P11A_ERR_INVALID_ARG;
	n = snprintf(text, sizeof(text), "%lld", (long long)v);
	return buf_put(b, text, (size_t)n);
}

/*
 * Serializing a Decimal (4.1.5), from thousandths: the integer part, ".",
 * and the fraction without its trailing zeros, but at least one digit.
 */
static int put_decimal(struct buf *b, int64_t v)
{
	char text[32];
	long long a;
	int n;

	if (v < -SFV_MAX_INTEGER || v > SFV_MAX_INTEGER)
		return P11A_ERR_INVALID_ARG;
	a = v < 0 ? -(long long)v : (long long)v;
	n = snprintf(text, sizeof(text), "%s%lld.%03lld", v < 0 ? "-" : "", a / 1000, a % 1000);
	while (text[n - 1] == '0' && text[n - 2] != '.')
		n--;
	return buf_put(b, text, (size_t)n);
}

/* Serializing a String (4.1.6). */
static int put_string(struct buf *b, const char *s, size_t len)
{
	int r;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return P11A_ERR_INVALID_ARG;
	if ((r = buf_put_u8(b, '"')) != P11A_OK)
		return r;
	for (size_t i = 0; i < len; i++) {
		if ((s[i] == '"' || s[i] == '\\') && (r = buf_put_u8(b, '\\')) != P11A_OK)
			return r;
		if ((r = buf_put_u8(b, (uint8_t)s[i])) != P11A_OK)
			return r;
	}
	return buf_put_u8(b, '"');
}

/* Serializing a Token (4.1.7). */
static int put_token(struct buf *b, const char *s, size_t len)
{
	if (!sfv_token_ok(s, len))
		return P11A_ERR_INVALID_ARG;
	return buf_put(b, s, len);
}

/* Serializing a Byte Sequence (4.1.8): standard base64, padded, pad bits zero. */
static int put_bytes(struct buf *b, const char *s, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	char quad[4];
	uint32_t v;
	int r;

	if ((r = buf_put_u8(b, ':')) != P11A_OK)
		return r;
	for (size_t i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		quad[0] = alphabet[v >> 18];
		quad[1] = alphabet[(v >> 12) & 0x3f];
		quad[2] = i + 1 < len ? alphabet[(v >> 6) & 0x3f] : '=';
		quad[3] = i + 2 < len ? alphabet[v & 0x3f] : '=';
		if ((r = buf_put(b, quad, sizeof(quad))) != P11A_OK)
			return r;
	}
	return buf_put_u8(b, ':');
}

/* Serializing a Display String (4.1.11). */
static int put_display(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char esc[3] = {'%', 0, 0};
	int r;

	if (!sfv_utf8_ok(s, len))
		return P11A_ERR_INVALID_ARG;
	if ((r = buf_put(b, "%\"", 2)) != P11A_OK)
		return r;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '%' || p[i] == '"' || p[i] < 0x20 || p[i] > 0x7e) {
			esc[1] = hex[p[i] >> 4];
			esc[2] = hex[p[i] & 0x0f];
			r = buf_put(b, esc, sizeof(esc));
		} else {
			r = buf_put_u8(b, p[i]);
		}
		if (r != P11A_OK)
			return r;
	}
	return buf_put_u8(b, '"');
}

/* Serializing a Bare Item (4.1.3.1). */
static int put_value(struct buf *b, const struct sfv_value *v)
{
	int r;

	switch (v->type) {
	case SFV_INTEGER:
		return put_integer(b, v->num);
	case SFV_DECIMAL:
		return put_decimal(b, v->num);
	case SFV_BOOLEAN:
		if (v->num != 0 && v->num != 1)
			return P11A_ERR_INVALID_ARG;
		return buf_put(b, v->num ? "?1" : "?0", 2);
	case SFV_DATE:
		if ((r = buf_put_u8(b, '@')) != P11A_OK)
			return r;
		return put_integer(b, v->num);
	case SFV_STRING:
	case SFV_TOKEN:
	case SFV_BYTES:
	case SFV_DISPLAY:
		break;
	default:
		return P11A_ERR_INVALID_ARG;
	}
	if (v->str == NULL && v->len > 0)
		return P11A_ERR_INVALID_ARG;
	if (v->type == SFV_STRING)
		return put_string(b, v->str, v->len);
	if (v->type == SFV_TOKEN)
		return put_token(b, v->str, v->len);
	if (v->type == SFV_BYTES)
		return put_bytes(b, v->str, v->len);
	return put_display(b, v->str, v->len);
}

static int is_true(const struct sfv_value *v)
{
	return v->type == SFV_BOOLEAN && v->num == 1;
}

/* Serializing Parameters (4.1.1.2): a true parameter is its key alone. */
static int put_params(struct buf *b, const struct sfv_param *p, size_t n)
{
	int r;

	if (p == NULL && n > 0)
		return P11A_ERR_INVALID_ARG;
	for (size_t i = 0; i < n; i++) {
		if ((r = buf_put_u8(b, ';')) != P11A_OK || (r = put_key(b, p[i].key)) != P11A_OK)
			return r;
		if (is_true(&p[i].value))
			continue;
		if ((r = buf_put_u8(b, '=')) != P11A_OK ||
		    (r = put_value(b, &p[i].value)) != P11A_OK)
			return r;
	}
	return P11A_OK;
}

/* Serializing an Item (4.1.3). */
static int put_item(struct buf *b, const struct sfv_item *it)
{
	int r;

	if ((r = put_value(b, &it->value)) != P11A_OK)
		return r;
	return put_params(b, it->params, it->n_params);
}

/* A member's value: Serializing an Inner List (4.1.1.1) or an Item. */
static int put_member(struct buf *b, const struct sfv_member *m)
{
	int r;

	if (!m->inner)
		return put_item(b, &m->item);
	if (m->items == NULL && m->n_items > 0)
		return P11A_ERR_INVALID_ARG;
	if ((r = buf_put_u8(b, '(')) != P11A_OK)
		return r;
	for (size_t i = 0; i < m->n_items; i++) {
		if (i > 0 && (r = buf_put_u8(b, ' ')) != P11A_OK)
			return r;
		if ((r = put_item(b, &m->items[i])) != P11A_OK)
			return r;
	}
	if ((r = buf_put_u8(b, ')')) != P11A_OK)
		return r;
	return put_params(b, m->params, m->n_params);
}

/* Serializing a List (4.1.1) or a Dictionary (4.1.2). */
static int put_members(struct buf *b, const struct sfv_list *l, int dict)
{
	const struct sfv_member *m;
	int r;

	if (l->members == NULL && l->n > 0)
		return P11A_ERR_INVALID_ARG;
	for (size_t i = 0; i < l->n; i++) {
		m = &l->members[i];
		if (i > 0 && (r = buf_put(b, ", ", 2)) != P11A_OK)
			return r;
		if (dict) {
			if ((r = put_key(b, m->key)) != P11A_OK)
				return r;
			if (!m->inner && is_true(&m->item.value)) {
				r = put_params(b, m->item.params, m->item.n_params);
				if (r != P11A_OK)
					return r;
				continue;
			}
			if ((r = buf_put_u8(b, '=')) != P11A_OK)
				return r;
		}
		if ((r = put_member(b, m)) != P11A_OK)
			return r;
	}
	return P11A_OK;
}

/*
 * The public serializers write to a scratch buf, then append it to b in one
 * piece: on failure b is as it was. Nothing to append (an empty list) is not
 * put at all: an empty buf has no data pointer to add to.
 */
static int commit(struct buf *b, struct buf *tmp, int r)
{
	if (r == P11A_OK && buf_len(tmp) > 0)
		r = buf_put(b, buf_data(tmp), buf_len(tmp));
	buf_free(tmp);
	return r;
}

int sfv_put_value(struct buf *b, const struct sfv_value *v)
{
	struct buf *tmp;

	if (b == NULL || v == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_value(tmp, v));
}

int sfv_put_params(struct buf *b, const struct sfv_param *p, size_t n)
{
	struct buf *tmp;

	if (b == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_params(tmp, p, n));
}

int sfv_put_item(struct buf *b, const struct sfv_item *it)
{
	struct buf *tmp;

	if (b == NULL || it == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_item(tmp, it));
}

int sfv_put_member(struct buf *b, const struct sfv_member *m)
{
	struct buf *tmp;

	if (b == NULL || m == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_member(tmp, m));
}

int sfv_put_list(struct buf *b, const struct sfv_list *l)
{
	struct buf *tmp;

	if (b == NULL || l == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_members(tmp, l, 0));
}

int sfv_put_dict(struct buf *b, const struct sfv_list *l)
{
	struct buf *tmp;

	if (b == NULL || l == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((tmp = buf_new(b->max)) == NULL)
		return P11A_ERR_NOMEM;
	return commit(b, tmp, put_members(tmp, l, 1));
}
