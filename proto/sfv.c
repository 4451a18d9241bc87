/*
 * sfv: Structured Field Values for HTTP (RFC 9651): the parsers, what frees
 * their results, look-ups, and the checks of keys, tokens and UTF-8.
 *
 * The parsers walk a cursor over the field value, one function per algorithm
 * of RFC 9651 section 4.2, in the RFC's order; each writes its output only on
 * success and leaves the cursor wherever it failed (the public functions do
 * not hand a failed cursor back). The serializers are in sfvput.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "p11agent.h"
#include "sfv.h"

/* The field value being parsed, and how far the parse has read. */
struct cur {
	const char *s;
	size_t len;
	size_t pos;
};

static int at_end(const struct cur *c)
{
	return c->pos >= c->len;
}

/* The next character, or -1 at the end. */
static int peek(const struct cur *c)
{
	return at_end(c) ? -1 : (unsigned char)c->s[c->pos];
}

static void skip_sp(struct cur *c)
{
	while (peek(c) == ' ')
		c->pos++;
}

/* OWS: spaces and tabs. */
static void skip_ows(struct cur *c)
{
	while (peek(c) == ' ' || peek(c) == '\t')
		c->pos++;
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_lcalpha(int ch)
{
	return ch >= 'a' && ch <= 'z';
}

static int is_alpha(int ch)
{
	return is_lcalpha(ch) || (ch >= 'A' && ch <= 'Z');
}

static int is_key_char(int ch)
{
	return is_lcalpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '*';
}

/* tchar of RFC 9110, and the ':' and '/' that tokens also allow. */
static int is_token_char(int ch)
{
	return is_alpha(ch) || is_digit(ch) ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~:/", ch) != NULL);
}

/* Room for one more element after the n in arr; NULL (arr untouched) when out of memory. */
static void *grow(void *arr, size_t n, size_t *alloc, size_t elem)
{
	size_t nalloc;
	void *p;

	if (n < *alloc)
		return arr;
	nalloc = *alloc == 0 ? 4 : *alloc * 2;
	if ((p = realloc(arr, nalloc * elem)) == NULL)
		return NULL;
	*alloc = nalloc;
	return p;
}

/* A NUL-terminated copy of p[0..len). */
static char *dup_n(const char *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int sfv_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 1;
			cp = p[i] & 0x1fu;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			cp = p[i] & 0x0fu;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			cp = p[i] & 0x07u;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void value_free(struct sfv_value *v)
{
	free(v->str);
	v->str = NULL;
	v->len = 0;
}

void sfv_params_free(struct sfv_param *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(p[i].key);
		value_free(&p[i].value);
	}
	free(p);
}

void sfv_item_free(struct sfv_item *it)
{
	if (it == NULL)
		return;
	value_free(&it->value);
	sfv_params_free(it->params, it->n_params);
	memset(it, 0, sizeof(*it));
}

void sfv_member_free(struct sfv_member *m)
{
	if (m == NULL)
		return;
	free(m->key);
	sfv_item_free(&m->item);
	for (size_t i = 0; i < m->n_items; i++)
		sfv_item_free(&m->items[i]);
	free(m->items);
	sfv_params_free(m->params, m->n_params);
	memset(m, 0, sizeof(*m));
}

void sfv_list_free(struct sfv_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		sfv_member_free(&l->members[i]);
	free(l->members);
	memset(l, 0, sizeof(*l));
}

const struct sfv_member *sfv_dict_get(const struct sfv_list *l, const char *key)
{
	if (l == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (l->members[i].key != NULL && strcmp(l->members[i].key, key) == 0)
			return &l->members[i];
	return NULL;
}

const struct sfv_value *sfv_params_get(const struct sfv_param *p, size_t n, const char *key)
{
	if (p == NULL || key == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i].key != NULL && strcmp(p[i].key, key) == 0)
			return &p[i].value;
	return NULL;
}

int sfv_key_ok(const char *key)
{
	if (key == NULL || !(is_lcalpha((unsigned char)key[0]) || key[0] == '*'))
		return 0;
	for (size_t i = 1; key[i] != '\0'; i++)
		if (!is_key_char((unsigned char)key[i]))
			return 0;
	return 1;
}

int sfv_token_ok(const char *s, size_t len)
{
	if (s == NULL || len == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '*'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Parsing a Key (RFC 9651 section 4.2.3.3). */
static int parse_key(struct cur *c, char **out)
{
	size_t start = c->pos;
	char *key;

	if (!is_lcalpha(peek(c)) && peek(c) != '*')
		return P11A_ERR_BAD_INPUT;
	while (is_key_char(peek(c)))
		c->pos++;
	if ((key = dup_n(c->s + start, c->pos - start)) == NULL)
		return P11A_ERR_NOMEM;
	*out = key;
	return P11A_OK;
}

/*
 * Parsing an Integer or Decimal (4.2.4). A decimal's value is kept times
 * 1000: at most 12 + 3 digits, as an integer's 15, so both fit an int64_t.
 */
static int parse_number(struct cur *c, struct sfv_value *out)
{
	int neg = 0, decimal = 0, ch;
	size_t n_chars = 0, n_frac = 0;
	int64_t ipart = 0, frac = 0;

	if (peek(c) == '-') {
		c->pos++;
		neg = 1;
	}
	if (!is_digit(peek(c)))
		return P11A_ERR_BAD_INPUT;
	while (!at_end(c)) {
		ch = peek(c);
		if (is_digit(ch)) {
			if (decimal) {
				frac = frac * 10 + (ch - '0');
				n_frac++;
			} else {
				ipart = ipart * 10 + (ch - '0');
			}
		} else if (!decimal && ch == '.') {
			if (n_chars > 12)
				return P11A_ERR_BAD_INPUT;
			decimal = 1;
		} else {
			break;
		}
		c->pos++;
		n_chars++;
		if ((!decimal && n_chars > 15) || (decimal && n_chars > 16))
			return P11A_ERR_BAD_INPUT;
	}
	out->str = NULL;
	out->len = 0;
	if (!decimal) {
		out->type = SFV_INTEGER;
		out->num = neg ? -ipart : ipart;
		return P11A_OK;
	}
	if (n_frac == 0 || n_frac > 3)
		return P11A_ERR_BAD_INPUT;
	for (; n_frac < 3; n_frac++)
		frac *= 10;
	out->type = SFV_DECIMAL;
	out->num = neg ? -(ipart * 1000 + frac) : ipart * 1000 + frac;
	return P11A_OK;
}

/*
 * The body of a String (4.2.5) after its opening DQUOTE, up to and past the
 * closing one. Counts the characters into *out_len and, when dst is not
 * NULL, writes them there too.
 */
static int scan_string(struct cur *c, char *dst, size_t *out_len)
{
	size_t n = 0;
	int ch;

	while (!at_end(c)) {
		ch = (unsigned char)c->s[c->pos++];
		if (ch == '\\') {
			if (at_end(c))
				return P11A_ERR_BAD_INPUT;
			ch = (unsigned char)c->s[c->pos++];
			if (ch != '"' && ch != '\\')
				return P11A_ERR_BAD_INPUT;
		} else if (ch == '"') {
			*out_len = n;
			return P11A_OK;
		} else if (ch < 0x20 || ch > 0x7e) {
			return P11A_ERR_BAD_INPUT;
		}
		if (dst != NULL)
			dst[n] = (char)ch;
		n++;
	}
	return P11A_ERR_BAD_INPUT;
}

static int hex_value(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The body of a Display String (4.2.10) after its %", as scan_string does. */
static int scan_display(struct cur *c, char *dst, size_t *out_len)
{
	size_t n = 0;
	int ch, hi, lo;

	while (!at_end(c)) {
		ch = (unsigned char)c->s[c->pos++];
		if (ch < 0x20 || ch > 0x7e)
			return P11A_ERR_BAD_INPUT;
		if (ch == '%') {
			if (c->len - c->pos < 2)
				return P11A_ERR_BAD_INPUT;
			hi = hex_value((unsigned char)c->s[c->pos]);
			lo = hex_value((unsigned char)c->s[c->pos + 1]);
			if (hi < 0 || lo < 0)
				return P11A_ERR_BAD_INPUT;
			c->pos += 2;
			ch = hi << 4 | lo;
		} else if (ch == '"') {
			*out_len = n;
			return P11A_OK;
		}
		if (dst != NULL)
			dst[n] = (char)ch;
		n++;
	}
	return P11A_ERR_BAD_INPUT;
}

/*
 * Parsing a String or a Display String: a first pass checks the text and
 * measures it, a second copies it.
 */
static int parse_quoted(struct cur *c, int display, struct sfv_value *out)
{
	int (*scan)(struct cur *, char *, size_t *) = display ? scan_display : scan_string;
	size_t start, len, len2;
	char *str;
	int r;

	if (display) {
		if (peek(c) != '%' || c->len - c->pos < 2 || c->s[c->pos + 1] != '"')
			return P11A_ERR_BAD_INPUT;
		c->pos += 2;
	} else {
		if (peek(c) != '"')
			return P11A_ERR_BAD_INPUT;
		c->pos++;
	}
	start = c->pos;
	if ((r = scan(c, NULL, &len)) != P11A_OK)
		return r;
	if ((str = malloc(len + 1)) == NULL)
		return P11A_ERR_NOMEM;
	c->pos = start;
	(void)scan(c, str, &len2); /* the same text: the same result */
	str[len] = '\0';
	if (display && !sfv_utf8_ok(str, len)) {
		free(str);
		return P11A_ERR_BAD_INPUT;
	}
	out->type = display ? SFV_DISPLAY : SFV_STRING;
	out->num = 0;
	out->str = str;
	out->len = len;
	return P11A_OK;
}

/* Parsing a Token (4.2.6). */
static int parse_token(struct cur *c, struct sfv_value *out)
{
	size_t start = c->pos;
	char *str;

	if (!is_alpha(peek(c)) && peek(c) != '*')
		return P11A_ERR_BAD_INPUT;
	while (is_token_char(peek(c)))
		c->pos++;
	if ((str = dup_n(c->s + start, c->pos - start)) == NULL)
		return P11A_ERR_NOMEM;
	out->type = SFV_TOKEN;
	out->num = 0;
	out->str = str;
	out->len = c->pos - start;
	return P11A_OK;
}

static int b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (is_digit(ch))
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Parsing a Byte Sequence (4.2.7): standard base64 between colons. As RFC
 * 9651 asks, missing "=" padding and non-zero pad bits are taken; characters
 * outside the alphabet, "=" before the end, too much or too little padding
 * where there is some, and a length no base64 has (4n+1) are refused.
 */
static int parse_bytes(struct cur *c, struct sfv_value *out)
{
	const char *b64, *colon;
	size_t b64_len, n_data, n_pad, i, n = 0;
	uint32_t acc = 0;
	char *bytes;

	if (peek(c) != ':')
		return P11A_ERR_BAD_INPUT;
	c->pos++;
	b64 = c->s + c->pos;
	if ((colon = memchr(b64, ':', c->len - c->pos)) == NULL)
		return P11A_ERR_BAD_INPUT;
	b64_len = (size_t)(colon - b64);
	c->pos += b64_len + 1;
	for (n_data = 0; n_data < b64_len && b64[n_data] != '='; n_data++)
		if (b64_value((unsigned char)b64[n_data]) < 0)
			return P11A_ERR_BAD_INPUT;
	for (n_pad = 0; n_data + n_pad < b64_len; n_pad++)
		if (b64[n_data + n_pad] != '=')
			return P11A_ERR_BAD_INPUT;
	if (n_data % 4 == 1 || (n_pad > 0 && (n_data % 4 == 0 || (n_data + n_pad) % 4 != 0)))
		return P11A_ERR_BAD_INPUT;
	if ((bytes = malloc(n_data / 4 * 3 + 3)) == NULL)
		return P11A_ERR_NOMEM;
	for (i = 0; i < n_data; i++) {
		acc = acc << 6 | (uint32_t)b64_value((unsigned char)b64[i]);
		if (i % 4 == 3) {
			bytes[n++] = (char)(acc >> 16);
			bytes[n++] = (char)(acc >> 8);
			bytes[n++] = (char)acc;
			acc = 0;
		}
	}
	/* The last 2 or 3 characters: 1 or 2 bytes, the pad bits dropped. */
	if (n_data % 4 == 2) {
		bytes[n++] = (char)(acc >> 4);
	} else if (n_data % 4 == 3) {
		bytes[n++] = (char)(acc >> 10);
		bytes[n++] = (char)(acc >> 2);
	}
	bytes[n] = '\0';
	out->type = SFV_BYTES;
	out->num = 0;
	out->str = bytes;
	out->len = n;
	return P11A_OK;
}

/* Parsing a Boolean (4.2.8). */
static int parse_boolean(struct cur *c, struct sfv_value *out)
{
	int ch;

	if (peek(c) != '?')
		return P11A_ERR_BAD_INPUT;
	c->pos++;
	ch = peek(c);
	if (ch != '0' && ch != '1')
		return P11A_ERR_BAD_INPUT;
	c->pos++;
	out->type = SFV_BOOLEAN;
	out->num = ch == '1';
	out->str = NULL;
	out->len = 0;
	return P11A_OK;
}

/* Parsing a Date (4.2.9): "@" and an integer. */
static int parse_date(struct cur *c, struct sfv_value *out)
{
	struct sfv_value v;
	int r;

	if (peek(c) != '@')
		return P11A_ERR_BAD_INPUT;
	c->pos++;
	if ((r = parse_number(c, &v)) != P11A_OK)
		return r;
	if (v.type != SFV_INTEGER)
		return P11A_ERR_BAD_INPUT;
	v.type = SFV_DATE;
	*out = v;
	return P11A_OK;
}

/* Parsing a Bare Item (4.2.3.1). */
static int parse_bare(struct cur *c, struct sfv_value *out)
{
	int ch = peek(c);

	if (ch == '-' || is_digit(ch))
		return parse_number(c, out);
	if (ch == '"')
		return parse_quoted(c, 0, out);
	if (is_alpha(ch) || ch == '*')
		return parse_token(c, out);
	if (ch == ':')
		return parse_bytes(c, out);
	if (ch == '?')
		return parse_boolean(c, out);
	if (ch == '@')
		return parse_date(c, out);
	if (ch == '%')
		return parse_quoted(c, 1, out);
	return P11A_ERR_BAD_INPUT;
}

/* Parsing Parameters (4.2.3.2): a key given again takes the new value in its old place. */
static int parse_params(struct cur *c, struct sfv_param **out, size_t *out_n)
{
	struct sfv_param *p = NULL, *grown;
	struct sfv_value v = {0};
	size_t n = 0, alloc = 0, seen = 0, i;
	char *key = NULL;
	int r;

	while (peek(c) == ';') {
		c->pos++;
		skip_sp(c);
		if (++seen > SFV_MAX_MEMBERS) {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((r = parse_key(c, &key)) != P11A_OK)
			goto out;
		v = (struct sfv_value){.type = SFV_BOOLEAN, .num = 1};
		if (peek(c) == '=') {
			c->pos++;
			if ((r = parse_bare(c, &v)) != P11A_OK)
				goto out;
		}
		for (i = 0; i < n && strcmp(p[i].key, key) != 0; i++)
			;
		if (i < n) {
			value_free(&p[i].value);
			free(key);
		} else {
			if ((grown = grow(p, n, &alloc, sizeof(*p))) == NULL) {
				r = P11A_ERR_NOMEM;
				goto out;
			}
			p = grown;
			p[n++].key = key;
		}
		p[i].value = v;
		key = NULL;
		v = (struct sfv_value){0};
	}
	*out = p;
	*out_n = n;
	p = NULL;
	n = 0;
	r = P11A_OK;
out:
	free(key);
	value_free(&v);
	sfv_params_free(p, n);
	return r;
}

/* Parsing an Item (4.2.3). */
static int parse_item(struct cur *c, struct sfv_item *out)
{
	struct sfv_item it = {0};
	int r;

	if ((r = parse_bare(c, &it.value)) != P11A_OK)
		return r;
	if ((r = parse_params(c, &it.params, &it.n_params)) != P11A_OK) {
		value_free(&it.value);
		return r;
	}
	*out = it;
	return P11A_OK;
}

/* Parsing an Inner List (4.2.1.2). */
static int parse_inner(struct cur *c, struct sfv_member *out)
{
	struct sfv_member m = {.inner = 1};
	struct sfv_item *grown;
	size_t alloc = 0;
	int r = P11A_ERR_BAD_INPUT;

	if (peek(c) != '(')
		return P11A_ERR_BAD_INPUT;
	c->pos++;
	while (!at_end(c)) {
		skip_sp(c);
		if (peek(c) == ')') {
			c->pos++;
			if ((r = parse_params(c, &m.params, &m.n_params)) != P11A_OK)
				goto out;
			*out = m;
			return P11A_OK;
		}
		if (m.n_items >= SFV_MAX_MEMBERS) {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((grown = grow(m.items, m.n_items, &alloc, sizeof(*m.items))) == NULL) {
			r = P11A_ERR_NOMEM;
			goto out;
		}
		m.items = grown;
		if ((r = parse_item(c, &m.items[m.n_items])) != P11A_OK)
			goto out;
		m.n_items++;
		if (peek(c) != ' ' && peek(c) != ')') {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
	}
	r = P11A_ERR_BAD_INPUT; /* no ")" */
out:
	sfv_member_free(&m);
	return r;
}

/* Parsing an Item or Inner List (4.2.1.1). */
static int parse_member(struct cur *c, struct sfv_member *out)
{
	struct sfv_member m = {0};
	int r;

	if (peek(c) == '(')
		return parse_inner(c, out);
	if ((r = parse_item(c, &m.item)) != P11A_OK)
		return r;
	*out = m;
	return P11A_OK;
}

/*
 * After a list or dictionary member: the end, or "," between optional
 * whitespace and another member. *out_more says which.
 */
static int parse_separator(struct cur *c, int *out_more)
{
	skip_ows(c);
	if (at_end(c)) {
		*out_more = 0;
		return P11A_OK;
	}
	if (c->s[c->pos++] != ',')
		return P11A_ERR_BAD_INPUT;
	skip_ows(c);
	if (at_end(c)) /* a trailing comma */
		return P11A_ERR_BAD_INPUT;
	*out_more = 1;
	return P11A_OK;
}

/* Parsing a List (4.2.1). */
static int parse_list(struct cur *c, struct sfv_list *out)
{
	struct sfv_list l = {0};
	struct sfv_member *grown;
	size_t alloc = 0;
	int r, more = !at_end(c);

	while (more) {
		if (l.n >= SFV_MAX_MEMBERS) {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((grown = grow(l.members, l.n, &alloc, sizeof(*l.members))) == NULL) {
			r = P11A_ERR_NOMEM;
			goto out;
		}
		l.members = grown;
		if ((r = parse_member(c, &l.members[l.n])) != P11A_OK)
			goto out;
		l.n++;
		if ((r = parse_separator(c, &more)) != P11A_OK)
			goto out;
	}
	*out = l;
	return P11A_OK;
out:
	sfv_list_free(&l);
	return r;
}

/*
 * Parsing a Dictionary (4.2.2): a key given again takes the new value in its
 * old place; a key without "=" is Boolean true, with parameters.
 */
static int parse_dict(struct cur *c, struct sfv_list *out)
{
	struct sfv_list l = {0};
	struct sfv_member m = {0}, *grown;
	size_t alloc = 0, seen = 0, i;
	char *key = NULL;
	int r, more = !at_end(c);

	while (more) {
		if (++seen > SFV_MAX_MEMBERS) {
			r = P11A_ERR_BAD_INPUT;
			goto out;
		}
		if ((r = parse_key(c, &key)) != P11A_OK)
			goto out;
		if (peek(c) == '=') {
			c->pos++;
			r = parse_member(c, &m);
		} else {
			m.item.value = (struct sfv_value){.type = SFV_BOOLEAN, .num = 1};
			r = parse_params(c, &m.item.params, &m.item.n_params);
		}
		if (r != P11A_OK)
			goto out;
		m.key = key;
		key = NULL;
		for (i = 0; i < l.n && strcmp(l.members[i].key, m.key) != 0; i++)
			;
		if (i < l.n) {
			sfv_member_free(&l.members[i]);
		} else {
			if ((grown = grow(l.members, l.n, &alloc, sizeof(*l.members))) == NULL) {
				r = P11A_ERR_NOMEM;
				goto out;
			}
			l.members = grown;
			l.n++;
		}
		l.members[i] = m;
		memset(&m, 0, sizeof(m));
		if ((r = parse_separator(c, &more)) != P11A_OK)
			goto out;
	}
	*out = l;
	return P11A_OK;
out:
	free(key);
	sfv_member_free(&m);
	sfv_list_free(&l);
	return r;
}

/*
 * Steps 0 and 1 of parsing a field value: ASCII only, leading spaces
 * dropped.
 */
static int field_begin(struct cur *c, const char *s, size_t len)
{
	if (s == NULL && len > 0)
		return P11A_ERR_INVALID_ARG;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] > 0x7f)
			return P11A_ERR_BAD_INPUT;
	c->s = s;
	c->len = len;
	c->pos = 0;
	skip_sp(c);
	return P11A_OK;
}

/* Steps 5 and 6: trailing spaces dropped, then nothing may be left. */
static int field_end(struct cur *c)
{
	skip_sp(c);
	return at_end(c) ? P11A_OK : P11A_ERR_BAD_INPUT;
}

int sfv_parse_item(const char *s, size_t len, struct sfv_item *out)
{
	struct sfv_item it;
	struct cur c;
	int r;

	if (out == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = field_begin(&c, s, len)) != P11A_OK || (r = parse_item(&c, &it)) != P11A_OK)
		return r;
	if ((r = field_end(&c)) != P11A_OK) {
		sfv_item_free(&it);
		return r;
	}
	*out = it;
	return P11A_OK;
}

int sfv_parse_list(const char *s, size_t len, struct sfv_list *out)
{
	struct sfv_list l;
	struct cur c;
	int r;

	if (out == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = field_begin(&c, s, len)) != P11A_OK || (r = parse_list(&c, &l)) != P11A_OK)
		return r;
	if ((r = field_end(&c)) != P11A_OK) {
		sfv_list_free(&l);
		return r;
	}
	*out = l;
	return P11A_OK;
}

int sfv_parse_dict(const char *s, size_t len, struct sfv_list *out)
{
	struct sfv_list l;
	struct cur c;
	int r;

	if (out == NULL)
		return P11A_ERR_INVALID_ARG;
	if ((r = field_begin(&c, s, len)) != P11A_OK || (r = parse_dict(&c, &l)) != P11A_OK)
		return r;
	if ((r = field_end(&c)) != P11A_OK) {
		sfv_list_free(&l);
		return r;
	}
	*out = l;
	return P11A_OK;
}

int sfv_parse_params(const char *s, size_t len, size_t *pos, struct sfv_param **out, size_t *out_n)
{
	struct cur c = {s, len, 0};
	int r;

	if ((s == NULL && len > 0) || pos == NULL || *pos > len || out == NULL || out_n == NULL)
		return P11A_ERR_INVALID_ARG;
	c.pos = *pos;
	if ((r = parse_params(&c, out, out_n)) != P11A_OK)
		return r;
	*pos = c.pos;
	return P11A_OK;
}

int sfv_parse_inner_list(const char *s, size_t len, size_t *pos, struct sfv_member *out)
{
	struct cur c = {s, len, 0};
	int r;

	if ((s == NULL && len > 0) || pos == NULL || *pos > len || out == NULL)
		return P11A_ERR_INVALID_ARG;
	c.pos = *pos;
	if ((r = parse_inner(&c, out)) != P11A_OK)
		return r;
	*pos = c.pos;
	return P11A_OK;
}
