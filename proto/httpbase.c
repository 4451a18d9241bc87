#include "config.h"
/*
 * httpbase: the covered components of an RFC 9421 signature and its
 * signature base (httpbase.h): each component's value in a message, the
 * base's lines, and the inner list of a new signature.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "httpbase.h"
#include "httpmsg.h"
#include "p11agent.h"
#include "sfv.h"

/* ------------------------------------------------------------------------ */
/* Component values */

/* The parts of a request's target (RFC 9112, 3.2). */
struct target {
	char scheme[16];
	const char *authority; /* absolute form only, else NULL */
	size_t authority_len;
	const char *path; /* NULL for the authority and asterisk forms */
	size_t path_len;
	const char *query; /* after '?', NULL when none */
	size_t query_len;
};

static void split_target(const char *t, struct target *out)
{
	const char *p = t, *q, *s;

	memset(out, 0, sizeof(*out));
	strcpy(out->scheme, "https");
	s = strstr(t, "://");
	if (t[0] != '/' && s != NULL && (size_t)(s - t) < sizeof(out->scheme) &&
	    strcspn(t, "/?") > (size_t)(s - t)) {
		size_t i, n = (size_t)(s - t);

		for (i = 0; i < n; i++)
			out->scheme[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
		out->scheme[n] = '\0';
		out->authority = s + 3;
		out->authority_len = strcspn(out->authority, "/?");
		p = out->authority + out->authority_len;
	} else if (t[0] != '/') {
		return; /* authority form (CONNECT) or "*" */
	}
	q = strchr(p, '?');
	out->path = p;
	out->path_len = q != NULL ? (size_t)(q - p) : strlen(p);
	if (q != NULL) {
		out->query = q + 1;
		out->query_len = strlen(q + 1);
	}
}

/* Appends the authority a[0..n), host lowercased and the scheme's default port left out. */
static int put_authority(struct buf *b, const char *scheme, const char *a, size_t n)
{
	const char *colon = NULL;
	size_t i;
	int err = P11A_OK;

	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (close != NULL && (size_t)(close - a) + 1 < n && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(a, ':', n);
	}
	if (colon != NULL && ((strcmp(scheme, "https") == 0 && (size_t)(a + n - colon) == 4 &&
			       memcmp(colon, ":443", 4) == 0) ||
			      (strcmp(scheme, "http") == 0 && (size_t)(a + n - colon) == 3 &&
			       memcmp(colon, ":80", 3) == 0)))
		n = (size_t)(colon - a);
	for (i = 0; i < n && err == P11A_OK; i++)
		err = buf_put_u8(b, (uint8_t)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]));
	return err;
}

/*
 * application/x-www-form-urlencoded: decodes s[0..n) ('+' is a space, %XX a
 * byte) and encodes it again with everything but ALPHA, DIGIT and *-._
 * percent-encoded (RFC 9421, 2.2.8), into out.
 */
static int put_form_reencoded(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	int c, err = P11A_OK;

	for (i = 0; i < n && err == P11A_OK; i++) {
		c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n &&
			   OPENSSL_hexchar2int((unsigned char)s[i + 1]) >= 0 &&
			   OPENSSL_hexchar2int((unsigned char)s[i + 2]) >= 0) {
			c = OPENSSL_hexchar2int((unsigned char)s[i + 1]) << 4 |
			    OPENSSL_hexchar2int((unsigned char)s[i + 2]);
			i += 2;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '*' || c == '-' || c == '.' || c == '_') {
			err = buf_put_u8(out, (uint8_t)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			err = buf_put(out, e, 3);
		}
	}
	return err;
}

/* The value of "@query-param";name=NAME: the only parameter of that name. */
static int put_query_param(struct buf *out, const struct target *t, const char *name)
{
	struct buf *enc = buf_new(0);
	const char *p, *end, *amp, *eq;
	size_t found = 0;
	int err = P11A_OK;

	if (enc == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	p = t->query;
	end = t->query != NULL ? t->query + t->query_len : NULL;
	while (p != NULL && p < end && err == P11A_OK) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		buf_reset(enc);
		if (amp > p && (err = put_form_reencoded(enc, p, (size_t)(eq - p))) == P11A_OK &&
		    buf_len(enc) == strlen(name) &&
		    memcmp(buf_data(enc), name, buf_len(enc)) == 0) {
			if (found++ == 0 && eq < amp)
				err = put_form_reencoded(out, eq + 1, (size_t)(amp - eq - 1));
		}
		p = amp + 1;
	}
	buf_free(enc);
	if (err != P11A_OK)
		return httpmsg_fail(err, "out of memory");
	if (found == 0)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component \"@query-param\";name=\"%s\" is absent: the query "
				    "has no parameter of that name",
				    name);
	if (found > 1)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component \"@query-param\";name=\"%s\" cannot be signed: the "
				    "query has that parameter %zu times (cover @query instead)",
				    name, found);
	return P11A_OK;
}

/* A component identifier as the base writes it, for messages: "@query-param";name="x". */
static void ident_text(const struct sfv_item *it, char *out, size_t out_len)
{
	struct buf *b = buf_new(0);

	out[0] = '\0';
	if (b != NULL && sfv_put_item(b, it) == P11A_OK)
		snprintf(out, out_len, "%.*s", (int)buf_len(b), (const char *)buf_data(b));
	buf_free(b);
}

static int absent(const struct sfv_item *it, const char *why_text)
{
	char id[160];

	ident_text(it, id, sizeof(id));
	return httpmsg_fail(P11A_ERR_BAD_INPUT, "component %s is absent from the message%s", id,
			    why_text);
}

/* The value of a derived component (name starts with '@'). */
static int put_derived(struct buf *out, const struct sfv_item *it, const char *name,
		       const struct p11a_http_msg *m)
{
	const struct httpmsg_field *host;
	const struct sfv_value *qname;
	struct target t;
	size_t n_host = 0;
	int err = P11A_OK;
	char id[160];

	ident_text(it, id, sizeof(id));
	if (strcmp(name, "@status") == 0) {
		char s[4];

		if (m->request)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s is for responses; this message is a "
					    "request",
					    id);
		snprintf(s, sizeof(s), "%03d", m->status);
		return buf_put(out, s, 3);
	}
	if (!m->request)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component %s is a request's; in a response's signature it "
				    "needs the req parameter (and the request)",
				    id);
	if (strcmp(name, "@method") == 0)
		return buf_put(out, m->method, strlen(m->method));
	if (strcmp(name, "@request-target") == 0)
		return buf_put(out, m->target, strlen(m->target));
	split_target(m->target, &t);
	if (strcmp(name, "@scheme") == 0)
		return buf_put(out, t.scheme, strlen(t.scheme));
	if (strcmp(name, "@authority") == 0 || strcmp(name, "@target-uri") == 0) {
		const char *a = t.authority;
		size_t a_len = t.authority_len;

		if (a == NULL) {
			host = httpmsg_field(m, "host", 0, &n_host);
			if (n_host > 1)
				return httpmsg_fail(P11A_ERR_BAD_INPUT,
						    "component %s: the message has %zu Host fields",
						    id, n_host);
			if (host == NULL)
				return absent(it, " (no Host field)");
			a = host->value;
			a_len = host->value_len;
		}
		if (strcmp(name, "@authority") == 0)
			return put_authority(out, t.scheme, a, a_len);
		if (t.path == NULL)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s: the request target '%.60s' is not a "
					    "path or an absolute URI",
					    id, m->target);
		if ((err = buf_put(out, t.scheme, strlen(t.scheme))) == P11A_OK &&
		    (err = buf_put(out, "://", 3)) == P11A_OK &&
		    (err = put_authority(out, t.scheme, a, a_len)) == P11A_OK &&
		    (err = buf_put(out, t.path_len > 0 ? t.path : "/",
				   t.path_len > 0 ? t.path_len : 1)) == P11A_OK &&
		    t.query != NULL && (err = buf_put_u8(out, '?')) == P11A_OK)
			err = buf_put(out, t.query, t.query_len);
		return err;
	}
	if (strcmp(name, "@path") == 0 || strcmp(name, "@query") == 0 ||
	    strcmp(name, "@query-param") == 0) {
		if (t.path == NULL)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s: the request target '%.60s' has no path "
					    "or query",
					    id, m->target);
		if (strcmp(name, "@path") == 0)
			return buf_put(out, t.path_len > 0 ? t.path : "/",
				       t.path_len > 0 ? t.path_len : 1);
		if (strcmp(name, "@query") == 0) {
			if ((err = buf_put_u8(out, '?')) == P11A_OK && t.query != NULL)
				err = buf_put(out, t.query, t.query_len);
			return err;
		}
		qname = sfv_params_get(it->params, it->n_params, "name");
		return put_query_param(out, &t, qname->str);
	}
	return httpmsg_fail(P11A_ERR_BAD_INPUT, "unknown derived component %s", id);
}

/* Field names whose structured type RFC 9421 or its neighbours register: the rest are guessed. */
static const struct {
	const char *name;
	int dict;
} sf_types[] = {
    {"signature-input", 1},  {"signature", 1},	 {"accept-signature", 1},
    {"content-digest", 1},   {"repr-digest", 1}, {"want-content-digest", 1},
    {"want-repr-digest", 1}, {"priority", 1},	 {"cache-status", 0},
    {"proxy-status", 0},     {"accept-ch", 0},	 {"cdn-cache-control", 1},
};

/*
 * Strict serialization of value (sf): the field's registered type, else a
 * Dictionary, a List or an Item, the first that parses.
 */
static int put_sf(struct buf *out, const char *field, const char *v, size_t n, const char *id)
{
	struct sfv_list l;
	struct sfv_item it;
	size_t i;
	int kind = -1, err;

	for (i = 0; i < sizeof(sf_types) / sizeof(sf_types[0]); i++) {
		if (strcmp(sf_types[i].name, field) == 0)
			kind = sf_types[i].dict;
	}
	if (kind != 0 && sfv_parse_dict(v, n, &l) == P11A_OK) {
		err = sfv_put_dict(out, &l);
		sfv_list_free(&l);
		return err;
	}
	if (kind != 1 && sfv_parse_list(v, n, &l) == P11A_OK) {
		err = sfv_put_list(out, &l);
		sfv_list_free(&l);
		return err;
	}
	if (kind == -1 && sfv_parse_item(v, n, &it) == P11A_OK) {
		err = sfv_put_item(out, &it);
		sfv_item_free(&it);
		return err;
	}
	return httpmsg_fail(P11A_ERR_BAD_INPUT,
			    "component %s: the field's value is not a structured field%s", id,
			    kind == 1	? " (a Dictionary)"
			    : kind == 0 ? " (a List)"
					: "");
}

/* The value of a field component (sf, key, bs as its parameters say). */
static int put_field(struct buf *out, const struct sfv_item *it, const char *name,
		     const struct p11a_http_msg *m)
{
	const struct httpmsg_field *f;
	const struct sfv_value *key = sfv_params_get(it->params, it->n_params, "key");
	int bs = sfv_params_get(it->params, it->n_params, "bs") != NULL;
	int sf = sfv_params_get(it->params, it->n_params, "sf") != NULL;
	struct buf *joined;
	size_t i, n;
	int err = P11A_OK;
	char id[160];

	ident_text(it, id, sizeof(id));
	if (httpmsg_field(m, name, 0, &n) == NULL)
		return absent(it, "");
	if (bs) {
		for (i = 0; i < n && err == P11A_OK; i++) {
			struct sfv_value v = {SFV_BYTES, 0, NULL, 0};

			f = httpmsg_field(m, name, i, NULL);
			v.str = f->value;
			v.len = f->value_len;
			if (i > 0)
				err = buf_put(out, ", ", 2);
			if (err == P11A_OK)
				err = sfv_put_value(out, &v);
		}
		return err;
	}
	if ((joined = buf_new(0)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	if ((err = httpmsg_combined(m, name, joined)) != P11A_OK) {
		buf_free(joined);
		return httpmsg_fail(err, "component %s: the field is too large", id);
	}
	if (key != NULL) {
		struct sfv_list l;
		const struct sfv_member *mem;

		if (sfv_parse_dict((const char *)buf_data(joined), buf_len(joined), &l) !=
		    P11A_OK) {
			buf_free(joined);
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s: the field is not a Dictionary", id);
		}
		mem = sfv_dict_get(&l, key->str);
		err = mem != NULL ? sfv_put_member(out, mem) : absent(it, " (no such member)");
		sfv_list_free(&l);
	} else if (sf) {
		err = put_sf(out, name, (const char *)buf_data(joined), buf_len(joined), id);
	} else {
		err = buf_put(out, buf_data(joined), buf_len(joined));
	}
	buf_free(joined);
	return err;
}

/*
 * Checks one component identifier: a String naming a derived component or a
 * field (lowercase), with only the parameters that fit it. request: the
 * signature is a request's (req is then refused).
 */
static int check_ident(const struct sfv_item *it, int request)
{
	static const char *const derived[] = {"@method", "@target-uri",	    "@authority",
					      "@scheme", "@request-target", "@path",
					      "@query",	 "@query-param",    "@status"};
	const char *name;
	size_t i;
	int is_derived = 0, has_name = 0;
	char id[160];

	ident_text(it, id, sizeof(id));
	if (it->value.type != SFV_STRING || it->value.len == 0)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component %s is not a component name (a string)", id);
	name = it->value.str;
	if (name[0] == '@') {
		for (i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
			is_derived |= strcmp(name, derived[i]) == 0;
		if (!is_derived)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "unknown derived component %s; RFC 9421 defines "
					    "@method, @target-uri, @authority, @scheme, "
					    "@request-target, @path, @query, @query-param, @status",
					    id);
	} else {
		for (i = 0; name[i] != '\0'; i++) {
			if (!httpmsg_tchar((unsigned char)name[i]) ||
			    (name[i] >= 'A' && name[i] <= 'Z'))
				return httpmsg_fail(P11A_ERR_BAD_INPUT,
						    "component %s is not a lowercase field name",
						    id);
		}
	}
	for (i = 0; i < it->n_params; i++) {
		const struct sfv_param *p = &it->params[i];
		int flag = p->value.type == SFV_BOOLEAN && p->value.num == 1;

		if (strcmp(p->key, "req") == 0 && flag) {
			if (request)
				return httpmsg_fail(
				    P11A_ERR_BAD_INPUT,
				    "component %s: req is only for the signature of "
				    "a response",
				    id);
		} else if (strcmp(p->key, "name") == 0 && p->value.type == SFV_STRING &&
			   strcmp(name, "@query-param") == 0) {
			has_name = 1;
		} else if (!is_derived &&
			   (strcmp(p->key, "sf") == 0 || strcmp(p->key, "bs") == 0) && flag) {
			continue;
		} else if (!is_derived && strcmp(p->key, "key") == 0 &&
			   p->value.type == SFV_STRING) {
			continue;
		} else if (strcmp(p->key, "tr") == 0) {
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s: trailer fields (tr) are not supported",
					    id);
		} else {
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s: parameter %s does not fit it (RFC 9421: "
					    "sf, key=\"...\", bs, req for fields; name=\"...\" for "
					    "@query-param; req)",
					    id, p->key);
		}
	}
	if (strcmp(name, "@query-param") == 0 && !has_name)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component %s needs its name parameter: "
				    "@query-param;name=\"NAME\"",
				    id);
	if (sfv_params_get(it->params, it->n_params, "bs") != NULL &&
	    (sfv_params_get(it->params, it->n_params, "sf") != NULL ||
	     sfv_params_get(it->params, it->n_params, "key") != NULL))
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "component %s: bs does not go with sf or key (RFC 9421, 2.1)",
				    id);
	return P11A_OK;
}

/* The value of component it in msg (or req, for req components), appended to out. */
static int put_value(struct buf *out, const struct sfv_item *it, const struct p11a_http_msg *msg,
		     const struct p11a_http_msg *req)
{
	const struct p11a_http_msg *m = msg;
	const char *name = it->value.str;
	char id[160];

	if (sfv_params_get(it->params, it->n_params, "req") != NULL) {
		if (req == NULL) {
			ident_text(it, id, sizeof(id));
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "component %s is the request's: give the request the "
					    "response answers",
					    id);
		}
		if (!req->request)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "the request given for req components is a response");
		m = req;
	}
	return name[0] == '@' ? put_derived(out, it, name, m) : put_field(out, it, name, m);
}

/*
 * The signature base of the inner list sig (covered components and
 * parameters) over msg: a line per component, then "@signature-params".
 */
int httpbase_build(const struct sfv_member *sig, const struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, struct buf *out)
{
	struct buf *ids = buf_new(0);
	size_t i, j, start, *id_off = NULL, *id_len = NULL;
	int err = P11A_OK;
	char id[160];

	if (sig->n_items > P11A_HTTP_MAX_COMPONENTS) {
		err = httpmsg_fail(P11A_ERR_BAD_INPUT,
				   "the signature covers %zu components; at most %u are taken",
				   sig->n_items, (unsigned)P11A_HTTP_MAX_COMPONENTS);
		goto out;
	}
	if (ids == NULL ||
	    (sig->n_items > 0 && ((id_off = calloc(sig->n_items, sizeof(size_t))) == NULL ||
				  (id_len = calloc(sig->n_items, sizeof(size_t))) == NULL))) {
		err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sig->n_items; i++) {
		const struct sfv_item *it = &sig->items[i];

		if ((err = check_ident(it, msg->request)) != P11A_OK)
			goto out;
		id_off[i] = buf_len(ids);
		if ((err = sfv_put_item(ids, it)) != P11A_OK)
			goto nomem;
		id_len[i] = buf_len(ids) - id_off[i];
		for (j = 0; j < i; j++) {
			if (id_len[j] == id_len[i] &&
			    memcmp(buf_data(ids) + id_off[j], buf_data(ids) + id_off[i],
				   id_len[i]) == 0) {
				ident_text(it, id, sizeof(id));
				err = httpmsg_fail(P11A_ERR_BAD_INPUT,
						   "component %s is covered twice", id);
				goto out;
			}
		}
		if ((err = buf_put(out, buf_data(ids) + id_off[i], id_len[i])) != P11A_OK ||
		    (err = buf_put(out, ": ", 2)) != P11A_OK)
			goto nomem;
		start = buf_len(out);
		if ((err = put_value(out, it, msg, req)) != P11A_OK)
			goto out;
		for (j = start; j < buf_len(out); j++) {
			uint8_t c = buf_data(out)[j];

			if (c > 0x7e || (c < 0x20 && c != '\t')) {
				ident_text(it, id, sizeof(id));
				err = httpmsg_fail(P11A_ERR_BAD_INPUT,
						   "component %s: its value holds a byte that is "
						   "not ASCII (0x%02x); a signature base is ASCII "
						   "(cover the field with ;bs)",
						   id, c);
				goto out;
			}
		}
		if ((err = buf_put_u8(out, '\n')) != P11A_OK)
			goto nomem;
	}
	if ((err = buf_put(out, "\"@signature-params\": ", 21)) != P11A_OK ||
	    (err = sfv_put_member(out, sig)) != P11A_OK)
		goto nomem;
	goto out;
nomem:
	err = httpmsg_fail(err, err == P11A_ERR_TOO_LARGE ? "the signature base is too large"
							  : "out of memory");
out:
	free(id_off);
	free(id_len);
	buf_free(ids);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Component lists and signature parameters */

/*
 * Appends list (comma-separated component identifiers, names quoted or not)
 * to t as the items of an inner list: "@method","x";sf -> "@method" "x";sf.
 * Field names are lowercased.
 */
static int put_list_items(struct buf *t, const char *list)
{
	const char *p = list, *e;
	int first = 1, err = P11A_OK, quoted;
	size_t n = 0;
	char shown[200];

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (++n > P11A_HTTP_MAX_COMPONENTS)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "components: the list names more than %u components",
					    (unsigned)P11A_HTTP_MAX_COMPONENTS);
		if (!first && (err = buf_put_u8(t, ' ')) != P11A_OK)
			return err;
		first = 0;
		quoted = *p == '"';
		if (quoted) {
			e = strchr(p + 1, '"');
			if (e == NULL)
				return httpmsg_fail(
				    P11A_ERR_BAD_INPUT, "components: unterminated quote in '%s'",
				    httpmsg_shown(p, strlen(p), 60, shown, sizeof(shown)));
			e++;
			err = buf_put(t, p, (size_t)(e - p));
		} else {
			e = p + strcspn(p, ";, \t");
			if (e == p)
				return httpmsg_fail(
				    P11A_ERR_BAD_INPUT,
				    "components: an empty component name in '%s'",
				    httpmsg_shown(list, strlen(list), 60, shown, sizeof(shown)));
			err = buf_put_u8(t, '"');
			for (const char *c = p; c < e && err == P11A_OK; c++) {
				if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x21 ||
				    (unsigned char)*c > 0x7e)
					return httpmsg_fail(
					    P11A_ERR_BAD_INPUT,
					    "components: '%s' is not a component name",
					    httpmsg_shown(p, (size_t)(e - p), 60, shown,
							  sizeof(shown)));
				err = buf_put_u8(
				    t,
				    (uint8_t)(*c >= 'A' && *c <= 'Z' && *p != '@' ? *c + 32 : *c));
			}
			if (err == P11A_OK)
				err = buf_put_u8(t, '"');
		}
		/* The parameters, as written, up to the next comma outside quotes. */
		for (p = e, quoted = 0; err == P11A_OK && *p != '\0' && (quoted || *p != ',');
		     p++) {
			if (*p == '"' && (p == e || p[-1] != '\\'))
				quoted = !quoted;
			if (!quoted && (*p == ' ' || *p == '\t'))
				continue;
			err = buf_put_u8(t, (uint8_t)*p);
		}
		if (err != P11A_OK)
			return err;
		if (*p == ',') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0')
				return httpmsg_fail(P11A_ERR_BAD_INPUT,
						    "components: the list '%.60s' ends in a comma",
						    list);
		}
	}
	return P11A_OK;
}

/* Parses the inner list text t[0..n) into out; BAD_INPUT names what. */
static int parse_inner(const struct buf *t, struct sfv_member *out, const char *what)
{
	size_t pos = 0;
	int err;
	char shown[200];

	err = sfv_parse_inner_list((const char *)buf_data(t), buf_len(t), &pos, out);
	if (err == P11A_OK && pos != buf_len(t)) {
		sfv_member_free(out);
		err = P11A_ERR_BAD_INPUT;
	}
	if (err != P11A_OK)
		return httpmsg_fail(
		    err, "%s: '%s' is not a list of component identifiers", what,
		    httpmsg_shown(buf_data(t), buf_len(t), 120, shown, sizeof(shown)));
	return P11A_OK;
}

int httpbase_list(const char *list, const char *what, struct sfv_member *out)
{
	struct buf *t = buf_new(0);
	int err;

	if (t == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	if ((err = buf_put_u8(t, '(')) == P11A_OK && (err = put_list_items(t, list)) == P11A_OK &&
	    (err = buf_put_u8(t, ')')) == P11A_OK)
		err = parse_inner(t, out, what);
	else if (err == P11A_ERR_NOMEM || err == P11A_ERR_TOO_LARGE)
		err = httpmsg_fail(err, "%s: the list is too large", what);
	buf_free(t);
	return err;
}

/* The components a signature covers when none are named (p11agent.1). */
static const char *default_components(const struct p11a_http_msg *m, char *out, size_t out_len)
{
	snprintf(out, out_len, "%s%s%s", m->request ? "@method,@authority,@path,@query" : "@status",
		 httpmsg_field(m, "content-type", 0, NULL) != NULL ? ",content-type" : "",
		 httpmsg_field(m, "content-digest", 0, NULL) != NULL ? ",content-digest" : "");
	return out;
}

/* A string parameter ";key="value"", value printable ASCII. */
static int put_string_param(struct buf *t, const char *key, const char *v)
{
	int err;

	for (const char *c = v; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "the %s holds a byte that is not printable ASCII", key);
	}
	if ((err = buf_put_u8(t, ';')) != P11A_OK ||
	    (err = buf_put(t, key, strlen(key))) != P11A_OK ||
	    (err = buf_put(t, "=\"", 2)) != P11A_OK)
		return err;
	for (const char *c = v; *c != '\0' && err == P11A_OK; c++) {
		if (*c == '"' || *c == '\\')
			err = buf_put_u8(t, '\\');
		if (err == P11A_OK)
			err = buf_put_u8(t, (uint8_t)*c);
	}
	return err == P11A_OK ? buf_put_u8(t, '"') : err;
}

static int put_int_param(struct buf *t, const char *key, int64_t v)
{
	char s[48];

	snprintf(s, sizeof(s), ";%s=%lld", key, (long long)v);
	return buf_put(t, s, strlen(s));
}

/*
 * The inner list of a new signature: its covered components and parameters
 * (created, expires, nonce, alg, keyid, tag), parsed.
 */
int httpbase_new_signature(const struct p11a_http_msg *msg, const struct p11a_http_sign_params *p,
			   const char *alg, struct sfv_member *out)
{
	struct buf *t = buf_new(0);
	const char *list = p->components;
	char deflist[128];
	int64_t created = p->created;
	int err;

	if (t == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	if (list == NULL)
		list = default_components(msg, deflist, sizeof(deflist));
	if (created == 0)
		created = (int64_t)time(NULL);
	if (created != P11A_HTTP_NO_CREATED && (created < 0 || created > SFV_MAX_INTEGER)) {
		err = httpmsg_fail(P11A_ERR_BAD_INPUT, "created %lld is not a time",
				   (long long)created);
		goto out;
	}
	if (p->expires < 0 || p->expires > SFV_MAX_INTEGER) {
		err = httpmsg_fail(P11A_ERR_BAD_INPUT, "expires %lld is not a time",
				   (long long)p->expires);
		goto out;
	}
	if ((err = buf_put_u8(t, '(')) != P11A_OK || (err = put_list_items(t, list)) != P11A_OK ||
	    (err = buf_put_u8(t, ')')) != P11A_OK)
		goto out;
	if (created != P11A_HTTP_NO_CREATED && (err = put_int_param(t, "created", created)) != 0)
		goto out;
	if (p->expires != 0 && (err = put_int_param(t, "expires", p->expires)) != 0)
		goto out;
	if (p->nonce != NULL && (err = put_string_param(t, "nonce", p->nonce)) != P11A_OK)
		goto out;
	if (alg != NULL && (err = put_string_param(t, "alg", alg)) != P11A_OK)
		goto out;
	if (p->keyid != NULL && (err = put_string_param(t, "keyid", p->keyid)) != P11A_OK)
		goto out;
	if (p->tag != NULL && (err = put_string_param(t, "tag", p->tag)) != P11A_OK)
		goto out;
	err = parse_inner(t, out, "components");
out:
	if (err == P11A_ERR_NOMEM || err == P11A_ERR_TOO_LARGE)
		err = httpmsg_fail(err, "the component list is too large");
	buf_free(t);
	return err;
}
