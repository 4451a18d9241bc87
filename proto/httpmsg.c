#include "config.h"
/*
 * httpmsg: HTTP/1.1 messages for RFC 9421 (httpmsg.h): parsing, where a
 * message ends in a stream, writing back with fields added, Content-Digest,
 * and the thread's last reason.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "httpmsg.h"
#include "p11agent.h"

static _Thread_local char why[512];

const char *p11a_http_message(void)
{
	return why;
}

int httpmsg_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err;
}

void httpmsg_clear_why(void)
{
	why[0] = '\0';
}

/* RFC 9110 tchar. */
int httpmsg_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

const char *httpmsg_shown(const void *p, size_t n, size_t max, char *out, size_t out_len)
{
	const uint8_t *b = p;
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < n && i < max && used + 5 < out_len; i++) {
		if (b[i] >= 0x20 && b[i] <= 0x7e && b[i] != '\\')
			out[used++] = (char)b[i];
		else
			used += (size_t)snprintf(out + used, out_len - used, "\\x%02x", b[i]);
	}
	if (i < n && used + 4 < out_len) {
		memcpy(out + used, "...", 3);
		used += 3;
	}
	out[used] = '\0';
	return out;
}

static int is_ws(int c)
{
	return c == ' ' || c == '\t';
}

void p11a_http_free(struct p11a_http_msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_fields; i++) {
		free(m->fields[i].name);
		free(m->fields[i].value);
	}
	free(m->fields);
	free(m->method);
	free(m->target);
	free(m->added);
	free(m->raw);
	free(m);
}

const struct httpmsg_field *httpmsg_field(const struct p11a_http_msg *m, const char *name, size_t i,
					  size_t *out_n)
{
	const struct httpmsg_field *found = NULL;
	size_t k, n = 0;

	for (k = 0; k < m->n_fields; k++) {
		if (strcmp(m->fields[k].name, name) != 0)
			continue;
		if (n == i)
			found = &m->fields[k];
		n++;
	}
	if (out_n != NULL)
		*out_n = n;
	return found;
}

int httpmsg_combined(const struct p11a_http_msg *m, const char *name, struct buf *out)
{
	const struct httpmsg_field *f;
	size_t i;
	int err = P11A_OK;

	for (i = 0; (f = httpmsg_field(m, name, i, NULL)) != NULL && err == P11A_OK; i++) {
		if (i > 0)
			err = buf_put(out, ", ", 2);
		if (err == P11A_OK)
			err = buf_put(out, f->value, f->value_len);
	}
	return err;
}

/* One line of the header section: [p, end) without its line ending. */
struct line {
	const uint8_t *p;
	size_t len;
};

/*
 * The line starting at *off; advances *off past its end. 0, or -1 when the
 * data ends before a line feed. A CR is only allowed right before the LF.
 */
static int next_line(const uint8_t *d, size_t len, size_t *off, struct line *out, int *out_crlf)
{
	const uint8_t *lf = memchr(d + *off, '\n', len - *off);
	size_t n;

	if (lf == NULL)
		return -1;
	n = (size_t)(lf - (d + *off));
	out->p = d + *off;
	*out_crlf = n > 0 && out->p[n - 1] == '\r';
	out->len = *out_crlf ? n - 1 : n;
	*off += n + 1;
	return 0;
}

/* "HTTP/1.x", exactly. */
static int is_version(const uint8_t *p, size_t n)
{
	return n == 8 && memcmp(p, "HTTP/1.", 7) == 0 && p[7] >= '0' && p[7] <= '9';
}

static int parse_start(struct p11a_http_msg *m, const struct line *l)
{
	const uint8_t *p = l->p, *end = l->p + l->len, *sp1, *sp2;
	size_t i;

	for (i = 0; i < l->len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: its start line holds a byte that "
					    "is not printable ASCII (0x%02x)",
					    p[i]);
	}
	sp1 = memchr(p, ' ', l->len);
	if (sp1 == NULL)
		return httpmsg_fail(
		    P11A_ERR_BAD_INPUT,
		    "malformed message: the start line '%.*s' is neither a request "
		    "line (METHOD TARGET HTTP/1.1) nor a status line (HTTP/1.1 CODE "
		    "REASON)",
		    (int)(l->len < 64 ? l->len : 64), (const char *)p);
	if (is_version(p, (size_t)(sp1 - p))) {
		/* A status line: HTTP/1.1 SP 3DIGIT [SP reason]. */
		const uint8_t *c = sp1 + 1;

		if (end - c < 3 || !isdigit(c[0]) || !isdigit(c[1]) || !isdigit(c[2]) ||
		    (end - c > 3 && c[3] != ' ') || c[0] == '0')
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: the status line has no status code "
					    "of three digits");
		m->request = 0;
		m->status = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
		return P11A_OK;
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || !is_version(sp2 + 1, (size_t)(end - sp2 - 1)))
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "malformed message: the request line '%.*s' is not METHOD "
				    "TARGET HTTP/1.x",
				    (int)(l->len < 64 ? l->len : 64), (const char *)p);
	for (i = 0; p + i < sp1; i++) {
		if (!httpmsg_tchar(p[i]))
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: the method '%.*s' is not a token",
					    (int)(sp1 - p), (const char *)p);
	}
	if (sp1 == p)
		return httpmsg_fail(P11A_ERR_BAD_INPUT, "malformed message: the method is empty");
	m->request = 1;
	m->method = strndup((const char *)p, (size_t)(sp1 - p));
	m->target = strndup((const char *)sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if (m->method == NULL || m->target == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	return P11A_OK;
}

/* Appends the field line l (a continuation when it starts with SP or HTAB). */
static int add_line(struct p11a_http_msg *m, const struct line *l, size_t lineno)
{
	const uint8_t *p = l->p, *colon, *v, *e;
	struct httpmsg_field *f, *grown;
	size_t i, n;
	char *joined, shown[200];

	for (i = 0; i < l->len; i++) {
		if (p[i] == '\0' || p[i] == '\r' || (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: field line %zu holds a control "
					    "byte (0x%02x)",
					    lineno, p[i]);
	}
	if (is_ws(p[0])) {
		/* Obsolete line folding: one space instead of the fold. */
		if (m->n_fields == 0)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: line %zu starts with white space "
					    "but follows no field line",
					    lineno);
		f = &m->fields[m->n_fields - 1];
		v = p;
		e = p + l->len;
		while (v < e && is_ws(*v))
			v++;
		while (e > v && is_ws(e[-1]))
			e--;
		if (e == v)
			return P11A_OK;
		n = f->value_len + (f->value_len > 0) + (size_t)(e - v);
		if ((joined = malloc(n + 1)) == NULL)
			return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		memcpy(joined, f->value, f->value_len);
		if (f->value_len > 0)
			joined[f->value_len] = ' ';
		memcpy(joined + n - (size_t)(e - v), v, (size_t)(e - v));
		joined[n] = '\0';
		free(f->value);
		f->value = joined;
		f->value_len = n;
		return P11A_OK;
	}
	colon = memchr(p, ':', l->len);
	if (colon == NULL || colon == p)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "malformed message: field line %zu ('%s') has no name and "
				    "colon",
				    lineno, httpmsg_shown(p, l->len, 40, shown, sizeof(shown)));
	for (i = 0; p + i < colon; i++) {
		if (!httpmsg_tchar(p[i]))
			return httpmsg_fail(
			    P11A_ERR_BAD_INPUT,
			    "malformed message: the field name '%s' on line %zu is not a token%s",
			    httpmsg_shown(p, (size_t)(colon - p), 40, shown, sizeof(shown)), lineno,
			    is_ws(p[i]) ? " (no white space before the colon)" : "");
	}
	if (m->n_fields == HTTPMSG_MAX_FIELDS)
		return httpmsg_fail(P11A_ERR_TOO_LARGE, "the message has more than %u field lines",
				    (unsigned)HTTPMSG_MAX_FIELDS);
	grown = realloc(m->fields, (m->n_fields + 1) * sizeof(*grown));
	if (grown == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	m->fields = grown;
	f = &m->fields[m->n_fields];
	v = colon + 1;
	e = p + l->len;
	while (v < e && is_ws(*v))
		v++;
	while (e > v && is_ws(e[-1]))
		e--;
	f->name = strndup((const char *)p, (size_t)(colon - p));
	f->value = strndup((const char *)v, (size_t)(e - v));
	if (f->name == NULL || f->value == NULL) {
		free(f->name);
		free(f->value);
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	}
	f->value_len = (size_t)(e - v);
	for (i = 0; f->name[i] != '\0'; i++)
		f->name[i] = (char)tolower((unsigned char)f->name[i]);
	m->n_fields++;
	return P11A_OK;
}

static int parse(struct p11a_http_msg *m)
{
	struct line l;
	size_t off = 0, lineno = 1;
	int crlf, err;

	if (next_line(m->raw, m->raw_len, &off, &l, &m->crlf) != 0 || l.len == 0)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    m->raw_len == 0 ? "malformed message: it is empty"
						    : "malformed message: no start line (a request "
						      "line or a status line, then a line feed)");
	if ((err = parse_start(m, &l)) != P11A_OK)
		return err;
	for (;;) {
		size_t start = off;

		lineno++;
		if (off > HTTPMSG_MAX_HEAD)
			return httpmsg_fail(P11A_ERR_TOO_LARGE,
					    "the message's header section passes %u bytes",
					    (unsigned)HTTPMSG_MAX_HEAD);
		if (next_line(m->raw, m->raw_len, &off, &l, &crlf) != 0)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "malformed message: the header section does not end "
					    "(no empty line after the field lines; the message is "
					    "cut short?)");
		if (l.len == 0) {
			m->head_end = start;
			break;
		}
		if ((err = add_line(m, &l, lineno)) != P11A_OK)
			return err;
	}
	m->body = m->raw + off;
	m->body_len = m->raw_len - off;
	if (httpmsg_field(m, "transfer-encoding", 0, NULL) != NULL)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "the message has Transfer-Encoding: a chunked body is not "
				    "supported; send the body with Content-Length");
	return P11A_OK;
}

int p11a_http_parse(const uint8_t *data, size_t len, struct p11a_http_msg **out_msg)
{
	struct p11a_http_msg *m;
	int err;

	httpmsg_clear_why();
	if ((data == NULL && len > 0) || out_msg == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	if (len > HTTPMSG_MAX)
		return httpmsg_fail(P11A_ERR_TOO_LARGE, "the message is larger than %u MiB",
				    (unsigned)(HTTPMSG_MAX >> 20));
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->raw = malloc(len + 1)) == NULL) {
		free(m);
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	}
	if (len > 0)
		memcpy(m->raw, data, len);
	m->raw[len] = 0; /* never read as text; keeps the bytes all set */
	m->raw_len = len;
	if ((err = parse(m)) != P11A_OK) {
		p11a_http_free(m);
		return err;
	}
	*out_msg = m;
	return P11A_OK;
}

/*
 * The offset just after the empty line that ends the header section at the
 * start of d[0..len), searched for from a few bytes before from: 0 while it
 * is not all there. An empty first line counts as the end (parsing then
 * says there is no start line).
 */
static size_t head_length(const uint8_t *d, size_t len, size_t from)
{
	const uint8_t *lf;
	size_t i = from > 2 ? from - 2 : 0;

	if (len > 0 && d[0] == '\n')
		return 1;
	if (len > 1 && d[0] == '\r' && d[1] == '\n')
		return 2;
	/* An LF, then an LF or a CR LF: the empty line. */
	while (i < len && (lf = memchr(d + i, '\n', len - i)) != NULL) {
		i = (size_t)(lf - d) + 1;
		if (i < len && d[i] == '\n')
			return i + 1;
		if (i + 1 < len && d[i] == '\r' && d[i + 1] == '\n')
			return i + 2;
	}
	return 0;
}

int p11a_http_length(const uint8_t *data, size_t len, size_t last_len, size_t *out_head,
		     size_t *out_total)
{
	struct p11a_http_msg *m = NULL;
	const struct httpmsg_field *f;
	size_t head, body = 0, n = 0, i;
	char shown[80];
	int err;

	httpmsg_clear_why();
	if ((data == NULL && len > 0) || out_head == NULL || out_total == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	/*
	 * p11a_http_parse() takes an empty line that starts at HTTPMSG_MAX_HEAD at
	 * the latest, so the header section ends by HTTPMSG_MAX_HEAD + 2 (CRLF).
	 */
	head = head_length(data, len < HTTPMSG_MAX_HEAD + 2 ? len : HTTPMSG_MAX_HEAD + 2,
			   last_len < len ? last_len : 0);
	if (head == 0) {
		if (len >= HTTPMSG_MAX_HEAD + 2)
			return httpmsg_fail(P11A_ERR_TOO_LARGE,
					    "the message's header section passes %u bytes",
					    (unsigned)HTTPMSG_MAX_HEAD);
		*out_head = 0;
		*out_total = 0;
		return P11A_OK; /* not all there yet */
	}
	/* The header section, read as p11a_http_parse() reads it: its refusals are the same. */
	if ((err = p11a_http_parse(data, head, &m)) != P11A_OK)
		return err;
	f = httpmsg_field(m, "content-length", 0, &n);
	if (n > 1) {
		err = httpmsg_fail(P11A_ERR_BAD_INPUT,
				   "the message has Content-Length %zu times: it cannot tell where "
				   "the body ends",
				   n);
		goto out;
	}
	for (i = 0; f != NULL && i < f->value_len; i++) {
		if (f->value[i] < '0' || f->value[i] > '9') {
			err = httpmsg_fail(
			    P11A_ERR_BAD_INPUT, "the message's Content-Length '%s' is not a number",
			    httpmsg_shown(f->value, f->value_len, 40, shown, sizeof(shown)));
			goto out;
		}
		if (body > (HTTPMSG_MAX - head) / 10 ||
		    (body = body * 10 + (size_t)(f->value[i] - '0')) > HTTPMSG_MAX - head) {
			err = httpmsg_fail(P11A_ERR_TOO_LARGE,
					   "the message is larger than %u MiB (its Content-Length)",
					   (unsigned)(HTTPMSG_MAX >> 20));
			goto out;
		}
	}
	if (f != NULL && f->value_len == 0) {
		err = httpmsg_fail(P11A_ERR_BAD_INPUT, "the message's Content-Length is empty");
		goto out;
	}
	*out_head = head;
	*out_total = head + body;
	err = P11A_OK;
out:
	p11a_http_free(m);
	return err;
}

int p11a_http_serialize(const struct p11a_http_msg *m, uint8_t **out, size_t *out_len)
{
	size_t n;
	uint8_t *p;

	httpmsg_clear_why();
	if (m == NULL || out == NULL || out_len == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	n = m->raw_len + m->added_len;
	if ((p = malloc(n + 1)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	memcpy(p, m->raw, m->head_end);
	if (m->added_len > 0)
		memcpy(p + m->head_end, m->added, m->added_len);
	memcpy(p + m->head_end + m->added_len, m->raw + m->head_end, m->raw_len - m->head_end);
	p[n] = '\0';
	*out = p;
	*out_len = n;
	return P11A_OK;
}

int p11a_http_add_field(struct p11a_http_msg *m, const char *name, const char *value)
{
	size_t nl, vl, i, add;
	char *grown;
	struct line l;
	int err;

	httpmsg_clear_why();
	if (m == NULL || name == NULL || value == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	nl = strlen(name);
	vl = strlen(value);
	for (i = 0; i < nl; i++) {
		if (!httpmsg_tchar((unsigned char)name[i]))
			break;
	}
	if (nl == 0 || i < nl)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "the field name '%.40s' is not a token",
				    name);
	for (i = 0; i < vl; i++) {
		if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
			return httpmsg_fail(P11A_ERR_INVALID_ARG,
					    "the value of field %s is not printable ASCII", name);
	}
	add = nl + 2 + vl + (m->crlf ? 2 : 1);
	/* What is written must be read again: the limits of parsing hold. */
	if (m->n_fields == HTTPMSG_MAX_FIELDS)
		return httpmsg_fail(P11A_ERR_TOO_LARGE,
				    "the message has %u field lines already: %s would pass the "
				    "most a message may have",
				    (unsigned)HTTPMSG_MAX_FIELDS, name);
	if (m->head_end + m->added_len + add > HTTPMSG_MAX_HEAD)
		return httpmsg_fail(P11A_ERR_TOO_LARGE,
				    "%s would take the header section past %u bytes", name,
				    (unsigned)HTTPMSG_MAX_HEAD);
	if (m->raw_len + m->added_len + add > HTTPMSG_MAX)
		return httpmsg_fail(P11A_ERR_TOO_LARGE, "%s would take the message past %u MiB",
				    name, (unsigned)(HTTPMSG_MAX >> 20));
	if ((grown = realloc(m->added, m->added_len + add + 1)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	m->added = grown;
	snprintf(m->added + m->added_len, add + 1, "%s: %s%s", name, value,
		 m->crlf ? "\r\n" : "\n");
	l.p = (const uint8_t *)m->added + m->added_len;
	l.len = nl + 2 + vl;
	if ((err = add_line(m, &l, 0)) != P11A_OK)
		return err;
	m->added_len += add;
	return P11A_OK;
}

int p11a_http_add_digest(struct p11a_http_msg *m, const char *alg)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1], value[sizeof(b64) + 16];
	const EVP_MD *type;

	httpmsg_clear_why();
	if (m == NULL || alg == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	if (strcmp(alg, "sha-256") == 0)
		type = EVP_sha256();
	else if (strcmp(alg, "sha-512") == 0)
		type = EVP_sha512();
	else
		return httpmsg_fail(P11A_ERR_INVALID_ARG,
				    "unknown digest '%.32s'; valid: sha-256, sha-512", alg);
	if (httpmsg_field(m, "content-digest", 0, NULL) != NULL)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "the message has a Content-Digest field already");
	if (EVP_Digest(m->body, m->body_len, md, &md_len, type, NULL) != 1)
		return httpmsg_fail(P11A_ERR_CRYPTO, "OpenSSL could not hash the body");
	EVP_EncodeBlock((unsigned char *)b64, md, (int)md_len);
	snprintf(value, sizeof(value), "%s=:%s:", alg, b64);
	return p11a_http_add_field(m, "Content-Digest", value);
}
