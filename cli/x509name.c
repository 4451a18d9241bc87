/*
 * x509name: the names and purposes a certificate states, and the checks
 * they pass: the text forms p11agent takes, a subject ("CN=foo,O=Bar,C=DE",
 * RFC 4514), a subjectAltName list ("DNS:a.example,IP:::1") and an extended
 * key usage list ("serverAuth,clientAuth"), parsed into OpenSSL's
 * X509_NAME, GENERAL_NAMES and EXTENDED_KEY_USAGE; and the same checks on a
 * subject and subjectAltName that come from a certificate request. Every
 * error names the part at fault. See x509.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "x509.h"

/* How an attribute's value is checked and encoded. */
enum value_kind {
	KIND_UTF8,	/* UTF8String */
	KIND_PRINTABLE, /* PrintableString */
	KIND_COUNTRY,	/* PrintableString: two capital letters */
	KIND_IA5,	/* IA5String: ASCII */
};

struct attr_type {
	const char *name;
	int nid;
	enum value_kind kind;
	size_t max; /* most characters (RFC 5280's upper bounds) */
};

/* The attributes a subject may name by name. */
static const struct attr_type attr_types[] = {
    {"CN", NID_commonName, KIND_UTF8, 64},
    {"O", NID_organizationName, KIND_UTF8, 64},
    {"OU", NID_organizationalUnitName, KIND_UTF8, 64},
    {"C", NID_countryName, KIND_COUNTRY, 2},
    {"L", NID_localityName, KIND_UTF8, 128},
    {"ST", NID_stateOrProvinceName, KIND_UTF8, 128},
    {"emailAddress", NID_pkcs9_emailAddress, KIND_IA5, 255},
    {"serialNumber", NID_serialNumber, KIND_PRINTABLE, 64},
    {"DC", NID_domainComponent, KIND_IA5, 63},
};
#define KNOWN_ATTRS "CN, O, OU, C, L, ST, emailAddress, serialNumber, DC, or a dotted OID"

/* An attribute given by a dotted OID that is none of the above: UTF8String. */
static const struct attr_type attr_oid = {"", NID_undef, KIND_UTF8, CLI_X509_TEXT_MAX};

/* Bytes of the text quoted in a message. */
#define QUOTE_MAX 48

static int fail(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	return P11A_ERR_BAD_INPUT;
}

static int nomem(char *msg, size_t msg_len)
{
	snprintf(msg, msg_len, "out of memory");
	return P11A_ERR_NOMEM;
}

static int is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int to_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Whether a[0..len) equals the NUL-terminated b, ignoring ASCII case. */
static int equal_nocase(const char *a, size_t len, const char *b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] == '\0' || to_lower((unsigned char)a[i]) != to_lower((unsigned char)b[i]))
			return 0;
	return b[len] == '\0';
}

/*
 * p[0..len) for a message, in buf: control characters as '?', cut after
 * QUOTE_MAX bytes (at a character's start) with "...".
 */
static const char *quote(char *buf, size_t buf_len, const char *p, size_t len)
{
	size_t i, n = len;

	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	if (buf_len < n + 4)
		n = buf_len - 4;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	strcpy(buf + i, n < len ? "..." : "");
	return buf;
}

/*
 * quote() for bytes from a stranger (a certificate request): anything but
 * printable ASCII as '?', so that nothing reaches a terminal raw.
 */
static const char *quote_ascii(char *buf, size_t buf_len, const char *p, size_t len)
{
	size_t i;

	quote(buf, buf_len, p, len);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return buf;
}

/* The last QUOTE_MAX bytes or so of text[0..end), for "after '...'". */
static const char *quote_tail(char *buf, size_t buf_len, const char *text, size_t end)
{
	size_t start = end > QUOTE_MAX ? end - QUOTE_MAX : 0;

	while (start > 0 && ((unsigned char)text[start] & 0xc0) == 0x80)
		start++;
	if (start == 0)
		return quote(buf, buf_len, text, end);
	buf[0] = buf[1] = buf[2] = '.';
	quote(buf + 3, buf_len - 3, text + start, end - start);
	return buf;
}

/*
 * The number of characters of the UTF-8 text s[0..len), or -1 when it is not
 * well-formed (overlong forms, surrogates and code points past U+10FFFF
 * included).
 */
static long utf8_chars(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	long chars = 0;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			chars++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 3, cp = s[i] & 0x07;
		else
			return -1;
		if (len - i <= n)
			return -1;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += n + 1;
		chars++;
	}
	return chars;
}

/* Whether ch may be in a PrintableString. */
static int is_printable(int ch)
{
	return is_alpha(ch) || is_digit(ch) || (ch != '\0' && strchr(" '()+,-./:=?", ch) != NULL);
}

/*
 * The dotted OID text[0..len) ("2.5.4.3"), or NULL when it is not one.
 * Free it with ASN1_OBJECT_free().
 */
static ASN1_OBJECT *parse_oid(const char *text, size_t len)
{
	char oid[128];
	size_t i;

	int dots = 0;

	/* Digits in two arcs or more, one dot between each (OpenSSL lets "1..2" pass). */
	if (len == 0 || len >= sizeof(oid) || !is_digit((unsigned char)text[0]) ||
	    text[len - 1] == '.')
		return NULL;
	for (i = 0; i < len; i++) {
		if (text[i] == '.' && text[i - 1] != '.')
			dots++;
		else if (!is_digit((unsigned char)text[i]))
			return NULL;
	}
	if (dots == 0)
		return NULL;
	memcpy(oid, text, len);
	oid[len] = '\0';
	return OBJ_txt2obj(oid, 1);
}

/* The attribute of attr_types with nid, or attr_oid (an OID none of them has). */
static const struct attr_type *attr_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(attr_types) / sizeof(attr_types[0]); i++)
		if (nid != NID_undef && attr_types[i].nid == nid)
			return &attr_types[i];
	return &attr_oid;
}

/*
 * The attribute type type[0..len): a name of attr_types, or a dotted OID
 * (*out_obj set, freed by the caller). NULL when it is neither.
 */
static const struct attr_type *find_attr(const char *type, size_t len, ASN1_OBJECT **out_obj)
{
	size_t i;

	for (i = 0; i < sizeof(attr_types) / sizeof(attr_types[0]); i++)
		if (equal_nocase(type, len, attr_types[i].name))
			return &attr_types[i];
	if ((*out_obj = parse_oid(type, len)) == NULL)
		return NULL;
	/* An OID of a named attribute is checked as that attribute. */
	return attr_by_nid(OBJ_obj2nid(*out_obj));
}

/* The characters a subject's value must escape, and what a backslash may escape. */
#define NAME_SPECIALS ",=+\\\"; <>#"

/*
 * Decodes the value of part (quoted as q in messages) from p[0..len) into
 * out (len bytes or more): escapes undone, spaces around it dropped.
 */
static int decode_value(const char *p, size_t len, const char *q, const char *attr, char *out,
			size_t *out_len, char *msg, size_t msg_len)
{
	size_t i = 0, n = 0, keep = 0;
	int hi, lo;

	while (i < len && p[i] == ' ')
		i++;
	if (i < len && p[i] == '#')
		return fail(msg, msg_len,
			    "'%s': a value starting with '#' (BER in hex) is not supported; "
			    "escape the '#' as '\\#'",
			    q);
	for (; i < len; i++) {
		char ch = p[i];

		if (ch == '\\') {
			if (i + 1 >= len)
				return fail(msg, msg_len, "'%s': a '\\' ends the value", q);
			ch = p[++i];
			if (ch != '\0' && strchr(NAME_SPECIALS, ch) != NULL) {
				out[n++] = ch;
			} else if (i + 1 < len &&
				   (hi = OPENSSL_hexchar2int((unsigned char)ch)) >= 0 &&
				   (lo = OPENSSL_hexchar2int((unsigned char)p[i + 1])) >= 0) {
				out[n++] = (char)(hi << 4 | lo);
				i++;
			} else {
				return fail(msg, msg_len,
					    "'%s': bad escape '\\%c': a '\\' escapes one of , = + "
					    "\\ \" ; < > # and space, or writes a byte as two hex "
					    "digits",
					    q, (unsigned char)ch < 0x20 ? '?' : ch);
			}
			keep = n;
			continue;
		}
		if (ch == '=')
			return fail(msg, msg_len,
				    "'%s': '=' inside the value of %s: escape it as '\\=', or put "
				    "the missing ',' before the next attribute",
				    q, attr);
		if (ch == '"' || ch == ';' || ch == '<' || ch == '>')
			return fail(msg, msg_len, "'%s': escape the '%c' in the value as '\\%c'", q,
				    ch, ch);
		out[n++] = ch;
		if (ch != ' ')
			keep = n;
	}
	*out_len = keep;
	return P11A_OK;
}

/*
 * What in the UTF-8 s[0..len) would hide or reorder text on a screen: a C1
 * control (U+0080 to U+009F, such as U+009B, a terminal's CSI) or a
 * bidirectional embedding, override or isolate (U+202A to U+202E, U+2066 to
 * U+2069). NULL when none.
 */
static const char *invisible(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f)
			return "a control character (U+0080 to U+009F)";
		if (i + 2 < len && u[i] == 0xe2 &&
		    ((u[i + 1] == 0x80 && u[i + 2] >= 0xaa && u[i + 2] <= 0xae) ||
		     (u[i + 1] == 0x81 && u[i + 2] >= 0xa6 && u[i + 2] <= 0xa9)))
			return "a bidirectional formatting character (U+202A to U+202E, U+2066 "
			       "to U+2069)";
	}
	return NULL;
}

/* Checks value[0..len) of attribute t (named attr) against its type. */
static int check_value(const struct attr_type *t, const char *attr, const char *value, size_t len,
		       const char *q, char *msg, size_t msg_len)
{
	const char *why;
	long chars;
	size_t i;

	if (len == 0)
		return fail(msg, msg_len, "'%s': empty value for %s", q, attr);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];
		if (ch < 0x20 || ch == 0x7f)
			return fail(msg, msg_len, "'%s': a control character in the value of %s", q,
				    attr);
		if (ch >= 0x80 && t->kind != KIND_UTF8)
			return fail(msg, msg_len, "'%s': %s takes ASCII characters only", q, attr);
		if (t->kind == KIND_PRINTABLE && !is_printable(ch))
			return fail(msg, msg_len,
				    "'%s': %s takes letters, digits, spaces and ' ( ) + , - . / : "
				    "= ? only (a PrintableString)",
				    q, attr);
	}
	if (t->kind == KIND_UTF8 && (why = invisible(value, len)) != NULL)
		return fail(msg, msg_len, "'%s': %s in the value of %s", q, why, attr);
	if (t->kind == KIND_COUNTRY &&
	    (len != 2 || value[0] < 'A' || value[0] > 'Z' || value[1] < 'A' || value[1] > 'Z'))
		return fail(msg, msg_len,
			    "'%s': C is a country code of two capital letters (ISO 3166), such as "
			    "DE",
			    q);
	if ((chars = utf8_chars((const unsigned char *)value, len)) < 0)
		return fail(msg, msg_len, "'%s': the value of %s is not valid UTF-8", q, attr);
	if ((size_t)chars > t->max)
		return fail(msg, msg_len, "'%s': %s has at most %zu characters, this one %ld", q,
			    attr, t->max, chars);
	return P11A_OK;
}

static int asn1_type(enum value_kind kind)
{
	switch (kind) {
	case KIND_PRINTABLE:
	case KIND_COUNTRY:
		return V_ASN1_PRINTABLESTRING;
	case KIND_IA5:
		return V_ASN1_IA5STRING;
	default:
		return V_ASN1_UTF8STRING;
	}
}

/* One attribute of a subject, as parsed. */
struct name_attr {
	ASN1_OBJECT *obj; /* for a dotted OID, else NULL */
	const struct attr_type *type;
	char *value;
	size_t value_len;
	int rdn; /* the index of its RDN in the text */
};

/*
 * Parses the attribute p[0..len) ("CN=foo", escapes included) into *a.
 */
static int parse_attr(const char *p, size_t len, struct name_attr *a, char *msg, size_t msg_len)
{
	char q[QUOTE_MAX + 8], attr[QUOTE_MAX + 8];
	size_t i = 0, eq, type_start, type_end;
	int r;

	quote(q, sizeof(q), p, len);
	while (i < len && p[i] == ' ')
		i++;
	type_start = i;
	for (eq = i; eq < len && p[eq] != '=' && p[eq] != '\\'; eq++)
		;
	if (eq == len)
		return fail(msg, msg_len, "'%s': no '=' between an attribute and its value", q);
	if (p[eq] == '\\')
		return fail(msg, msg_len, "'%s': a '\\' in the attribute's name", q);
	type_end = eq;
	while (type_end > type_start && p[type_end - 1] == ' ')
		type_end--;
	if (type_end == type_start)
		return fail(msg, msg_len, "'%s': no attribute before the '='", q);
	quote(attr, sizeof(attr), p + type_start, type_end - type_start);
	if ((a->type = find_attr(p + type_start, type_end - type_start, &a->obj)) == NULL)
		return fail(msg, msg_len, "'%s': unknown attribute '%s' (known: " KNOWN_ATTRS ")",
			    q, attr);
	if ((a->value = malloc(len - eq)) == NULL)
		return nomem(msg, msg_len);
	r = decode_value(p + eq + 1, len - eq - 1, q, attr, a->value, &a->value_len, msg, msg_len);
	if (r == P11A_OK)
		r = check_value(a->type, attr, a->value, a->value_len, q, msg, msg_len);
	return r;
}

/* The end of the part of text that starts at start: its first unescaped ',' or '+', or the end. */
static size_t part_end(const char *text, size_t start, size_t len, int with_plus)
{
	size_t i;

	for (i = start; i < len; i++) {
		if (text[i] == '\\' && i + 1 < len)
			i++;
		else if (text[i] == ',' || (with_plus && text[i] == '+'))
			break;
	}
	return i;
}

/* Whether p[0..len) holds only spaces. */
static int blank(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ')
			return 0;
	return 1;
}

/*
 * The part text[pos..end) is blank: says where, for a message. what names
 * the text ("subject").
 */
static int empty_part(const char *text, size_t pos, size_t end, size_t len, const char *what,
		      char *msg, size_t msg_len)
{
	char q[QUOTE_MAX + 8];

	if (blank(text, len))
		return fail(msg, msg_len, "empty %s", what);
	if (pos == 0)
		return fail(msg, msg_len, "the %s starts with a '%c'", what, text[end]);
	if (end == len)
		return fail(msg, msg_len, "the %s ends with a '%c': remove it", what,
			    text[pos - 1]);
	return fail(msg, msg_len, "an empty item after '%s'", quote_tail(q, sizeof(q), text, pos));
}

/* Checks text's length; the caller names what it is. */
static int check_length(const char *text, const char *what, size_t *out_len, char *msg,
			size_t msg_len)
{
	size_t len = strnlen(text, CLI_X509_TEXT_MAX + 1);

	if (len > CLI_X509_TEXT_MAX)
		return fail(msg, msg_len, "the %s is too long (more than %d bytes)", what,
			    CLI_X509_TEXT_MAX);
	*out_len = len;
	return P11A_OK;
}

/* Takes one item p[0..len) of a list (escapes included) into arg. */
typedef int (*list_item_fn)(void *arg, const char *p, size_t len, char *msg, size_t msg_len);

/*
 * Walks text, a list of items separated by ',' (what names it in messages,
 * "subjectAltName list"; items names its entries, "names"): none blank, at
 * most CLI_X509_MAX_ITEMS, each given to item().
 */
static int each_item(const char *text, const char *what, const char *items, list_item_fn item,
		     void *arg, char *msg, size_t msg_len)
{
	size_t len = 0, pos = 0, end, n = 0;
	int r;

	if ((r = check_length(text, what, &len, msg, msg_len)) != P11A_OK)
		return r;
	for (;;) {
		end = part_end(text, pos, len, 0);
		if (blank(text + pos, end - pos))
			return empty_part(text, pos, end, len, what, msg, msg_len);
		if (n++ == CLI_X509_MAX_ITEMS)
			return fail(msg, msg_len, "the %s has more than %d %s", what,
				    CLI_X509_MAX_ITEMS, items);
		if ((r = item(arg, text + pos, end - pos, msg, msg_len)) != P11A_OK)
			return r;
		if (end == len)
			return P11A_OK;
		pos = end + 1;
	}
}

int cli_x509_parse_name(const char *text, X509_NAME **out, char *msg, size_t msg_len)
{
	struct name_attr attrs[CLI_X509_MAX_ITEMS];
	X509_NAME *name = NULL;
	size_t len = 0, pos = 0, end, n = 0, i;
	int rdn = 0, r, k;

	memset(attrs, 0, sizeof(attrs));
	if ((r = check_length(text, "subject", &len, msg, msg_len)) != P11A_OK)
		goto out;
	for (;;) {
		end = part_end(text, pos, len, 1);
		if (blank(text + pos, end - pos)) {
			r = empty_part(text, pos, end, len, "subject", msg, msg_len);
			goto out;
		}
		if (n == CLI_X509_MAX_ITEMS) {
			r = fail(msg, msg_len, "the subject has more than %d attributes",
				 CLI_X509_MAX_ITEMS);
			goto out;
		}
		attrs[n].rdn = rdn;
		if ((r = parse_attr(text + pos, end - pos, &attrs[n++], msg, msg_len)) != P11A_OK)
			goto out;
		if (end == len)
			break;
		if (text[end] == ',')
			rdn++;
		pos = end + 1;
	}
	/* RFC 4514 writes the last RDN first: add them from the end. */
	if ((name = X509_NAME_new()) == NULL) {
		r = nomem(msg, msg_len);
		goto out;
	}
	for (i = n; i-- > 0;) {
		const struct name_attr *a = &attrs[i];
		/* The first attribute of each RDN added starts it; the others join it. */
		int set = i + 1 < n && attrs[i + 1].rdn == a->rdn ? -1 : 0;
		int type = asn1_type(a->type->kind);

		if (a->obj != NULL)
			k = X509_NAME_add_entry_by_OBJ(name, a->obj, type,
						       (const unsigned char *)a->value,
						       (int)a->value_len, -1, set);
		else
			k = X509_NAME_add_entry_by_NID(name, a->type->nid, type,
						       (const unsigned char *)a->value,
						       (int)a->value_len, -1, set);
		if (k != 1) {
			r = P11A_ERR_CRYPTO;
			snprintf(msg, msg_len, "cannot add %s to the subject",
				 a->obj != NULL ? "an attribute" : a->type->name);
			goto out;
		}
	}
	*out = name;
	name = NULL;
	r = P11A_OK;
out:
	for (i = 0; i < n; i++) {
		ASN1_OBJECT_free(attrs[i].obj);
		free(attrs[i].value);
	}
	X509_NAME_free(name);
	return r;
}

/*
 * Why the host name s[0..len) is not one, or NULL when it is. wildcard: a
 * first label "*" is allowed.
 */
static const char *host_problem(const char *s, size_t len, int wildcard)
{
	size_t i, label = 0;

	if (len > 253)
		return "longer than 253 characters";
	if (wildcard && len > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	for (i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';

		if (ch == '.') {
			if (label == 0)
				return "an empty label (two dots in a row, or a dot at an end)";
			if (label > 63)
				return "a label longer than 63 characters";
			if (s[i - 1] == '-')
				return "a label ending with '-'";
			label = 0;
			continue;
		}
		if ((unsigned char)ch >= 0x80)
			return "a non-ASCII character: write an international name in its "
			       "xn-- (punycode) form";
		if (ch == '*')
			return "a '*' other than a whole first label (\"*.example.com\")";
		if (!is_alpha(ch) && !is_digit(ch) && ch != '-')
			return "a character other than letters, digits, '-' and '.'";
		if (label == 0 && ch == '-')
			return "a label starting with '-'";
		label++;
	}
	return NULL;
}

/* A GENERAL_NAME of type (GEN_DNS, GEN_EMAIL, GEN_URI) holding the IA5String s[0..len). */
static GENERAL_NAME *gen_ia5(int type, const char *s, size_t len)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_IA5STRING *v = ASN1_IA5STRING_new();

	if (gen == NULL || v == NULL || ASN1_STRING_set(v, s, (int)len) != 1) {
		GENERAL_NAME_free(gen);
		ASN1_IA5STRING_free(v);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, type, v);
	return gen;
}

/* An iPAddress GENERAL_NAME of the 4 or 16 bytes at ip. */
static GENERAL_NAME *gen_ip(const unsigned char *ip, size_t len)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();

	if (gen == NULL || v == NULL || ASN1_OCTET_STRING_set(v, ip, (int)len) != 1) {
		GENERAL_NAME_free(gen);
		ASN1_OCTET_STRING_free(v);
		return NULL;
	}
	GENERAL_NAME_set0_value(gen, GEN_IPADD, v);
	return gen;
}

/*
 * Checks the name v[0..len) (quoted as q in a message) of gen_type: GEN_DNS,
 * GEN_EMAIL or GEN_URI, whose names are IA5Strings.
 */
static int ia5_name_check(int gen_type, const char *v, size_t len, const char *q, char *msg,
			  size_t msg_len)
{
	const char *why, *at;
	size_t i;

	switch (gen_type) {
	case GEN_DNS:
		if ((why = host_problem(v, len, 1)) != NULL)
			return fail(msg, msg_len, "'%s': not a DNS name: %s", q, why);
		break;
	case GEN_EMAIL:
		at = memchr(v, '@', len);
		if (at == NULL || at == v || memchr(at + 1, '@', len - (size_t)(at + 1 - v)))
			return fail(msg, msg_len, "'%s': not a mail address local@host.example", q);
		for (i = 0; i < (size_t)(at - v); i++)
			if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
				return fail(msg, msg_len,
					    "'%s': a space, control or non-ASCII character before "
					    "the '@'",
					    q);
		if ((why = host_problem(at + 1, len - (size_t)(at + 1 - v), 0)) != NULL)
			return fail(msg, msg_len, "'%s': the host after the '@' has %s", q, why);
		break;
	default: /* GEN_URI */
		for (i = 0;
		     i < len &&
		     (is_alpha((unsigned char)v[i]) ||
		      (i > 0 && (is_digit((unsigned char)v[i]) || strchr("+-.", v[i]) != NULL)));
		     i++)
			;
		if (i == 0 || i == len || v[i] != ':' || i + 1 == len)
			return fail(msg, msg_len,
				    "'%s': not an absolute URI (a scheme such as https: and what "
				    "follows it)",
				    q);
		for (i = 0; i < len; i++)
			if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
				return fail(
				    msg, msg_len,
				    "'%s': spaces, control and non-ASCII characters in a URI "
				    "must be percent-encoded",
				    q);
		break;
	}
	return P11A_OK;
}

/* Checks and makes the name v[0..len) of an item "TYPE:v" (quoted as q) of type gen_type. */
static int san_name(int gen_type, const char *v, size_t len, const char *q, GENERAL_NAME **out,
		    char *msg, size_t msg_len)
{
	unsigned char ip[16];
	int r;

	if (gen_type == GEN_IPADD) {
		/* v is NUL-terminated: the caller's copy of the item. */
		if (inet_pton(AF_INET, v, ip) == 1)
			*out = gen_ip(ip, 4);
		else if (inet_pton(AF_INET6, v, ip) == 1)
			*out = gen_ip(ip, 16);
		else
			return fail(msg, msg_len,
				    "'%s': not an IPv4 address (127.0.0.1) or an IPv6 one (::1, "
				    "without brackets)",
				    q);
	} else {
		if ((r = ia5_name_check(gen_type, v, len, q, msg, msg_len)) != P11A_OK)
			return r;
		*out = gen_ia5(gen_type, v, len);
	}
	return *out != NULL ? P11A_OK : nomem(msg, msg_len);
}

/*
 * The item p[0..len) of a subjectAltName list ("DNS:a.example", escapes
 * included), added to the GENERAL_NAMES arg (a list_item_fn).
 */
static int parse_san_item(void *arg, const char *p, size_t len, char *msg, size_t msg_len)
{
	GENERAL_NAMES *names = arg;
	GENERAL_NAME *gen = NULL;
	static const struct {
		const char *name;
		int type;
	} types[] = {{"DNS", GEN_DNS}, {"IP", GEN_IPADD}, {"email", GEN_EMAIL}, {"URI", GEN_URI}};
	char q[QUOTE_MAX + 8], t[QUOTE_MAX + 8];
	char *item;
	size_t i, n = 0, colon, start;
	int r, type = -1;

	quote(q, sizeof(q), p, len);
	if ((item = malloc(len + 1)) == NULL)
		return nomem(msg, msg_len);
	for (i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (i + 1 == len || (p[i + 1] != ',' && p[i + 1] != '\\')) {
				r = fail(msg, msg_len,
					 "'%s': a '\\' escapes only ',' and '\\' in a "
					 "subjectAltName list",
					 q);
				goto out;
			}
			i++;
		}
		item[n++] = p[i];
	}
	while (n > 0 && item[n - 1] == ' ')
		n--;
	item[n] = '\0';
	for (start = 0; item[start] == ' '; start++)
		;
	colon = start;
	while (colon < n && item[colon] != ':')
		colon++;
	if (colon == n) {
		r = fail(msg, msg_len,
			 "'%s': no type: write DNS:, IP:, email: or URI: before the name", q);
		goto out;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (equal_nocase(item + start, colon - start, types[i].name))
			type = types[i].type;
	if (type < 0) {
		r = fail(msg, msg_len, "'%s': unknown type '%s' (known: DNS, IP, email, URI)", q,
			 quote(t, sizeof(t), item + start, colon - start));
		goto out;
	}
	if (colon + 1 == n) {
		r = fail(msg, msg_len, "'%s': no name after the type", q);
		goto out;
	}
	if ((r = san_name(type, item + colon + 1, n - colon - 1, q, &gen, msg, msg_len)) ==
		P11A_OK &&
	    sk_GENERAL_NAME_push(names, gen) <= 0) {
		GENERAL_NAME_free(gen);
		r = nomem(msg, msg_len);
	}
out:
	free(item);
	return r;
}

int cli_x509_parse_san(const char *text, GENERAL_NAMES **out, char *msg, size_t msg_len)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	int r;

	if (names == NULL)
		return nomem(msg, msg_len);
	r = each_item(text, "subjectAltName list", "names", parse_san_item, names, msg, msg_len);
	if (r != P11A_OK) {
		GENERAL_NAMES_free(names);
		return r;
	}
	*out = names;
	return P11A_OK;
}

/* The purposes --eku names (RFC 5280, 4.2.1.12), as OpenSSL's short names. */
static const struct {
	const char *name;
	int nid;
} eku_purposes[] = {
    {"serverAuth", NID_server_auth},  {"clientAuth", NID_client_auth},
    {"codeSigning", NID_code_sign},   {"emailProtection", NID_email_protect},
    {"timeStamping", NID_time_stamp}, {"OCSPSigning", NID_OCSP_sign},
};
/* The purpose p[0..len) (quoted as q): a name of eku_purposes, or a dotted OID. */
static int purpose_of(const char *p, size_t len, const char *q, ASN1_OBJECT **out, char *msg,
		      size_t msg_len)
{
	char known[256] = "";
	size_t i;

	for (i = 0; i < sizeof(eku_purposes) / sizeof(eku_purposes[0]); i++)
		if (equal_nocase(p, len, eku_purposes[i].name)) {
			*out = OBJ_nid2obj(eku_purposes[i].nid);
			return *out != NULL ? P11A_OK : nomem(msg, msg_len);
		}
	if ((*out = parse_oid(p, len)) != NULL)
		return P11A_OK;
	for (i = 0; i < sizeof(eku_purposes) / sizeof(eku_purposes[0]); i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s, ",
			 eku_purposes[i].name);
	return fail(msg, msg_len, "'%s': unknown purpose (known: %sor a dotted OID)", q, known);
}

/*
 * The item p[0..len) of an extended key usage list, spaces around it
 * dropped, added to the EXTENDED_KEY_USAGE arg unless it is there already
 * (a list_item_fn).
 */
static int parse_purpose(void *arg, const char *p, size_t len, char *msg, size_t msg_len)
{
	EXTENDED_KEY_USAGE *eku = arg;
	ASN1_OBJECT *obj = NULL;
	char q[QUOTE_MAX + 8];
	int r, i;

	while (*p == ' ') {
		p++;
		len--;
	}
	while (p[len - 1] == ' ')
		len--;
	quote(q, sizeof(q), p, len);
	if ((r = purpose_of(p, len, q, &obj, msg, msg_len)) != P11A_OK)
		return r;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), obj) == 0) {
			ASN1_OBJECT_free(obj);
			return fail(msg, msg_len, "'%s': that purpose is in the list twice", q);
		}
	if (sk_ASN1_OBJECT_push(eku, obj) <= 0) {
		ASN1_OBJECT_free(obj);
		return nomem(msg, msg_len);
	}
	return P11A_OK;
}

int cli_x509_parse_eku(const char *text, EXTENDED_KEY_USAGE **out, char *msg, size_t msg_len)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int r, i;

	if (eku == NULL)
		return nomem(msg, msg_len);
	r = each_item(text, "extended key usage list", "purposes", parse_purpose, eku, msg,
		      msg_len);
	/* RFC 3161, 2.3: a time-stamping certificate has that purpose alone. */
	for (i = 0; r == P11A_OK && i < sk_ASN1_OBJECT_num(eku); i++)
		if (OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == NID_time_stamp &&
		    sk_ASN1_OBJECT_num(eku) > 1)
			r = fail(msg, msg_len,
				 "timeStamping goes alone: a time-stamping certificate has no "
				 "other purpose (RFC 3161)");
	if (r != P11A_OK) {
		sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
		return r;
	}
	*out = eku;
	return P11A_OK;
}

/* The names of GENERAL_NAME's types, by GEN_ number (RFC 5280, 4.2.1.6). */
static const char *const gen_type_names[] = {
    "otherName",    "email", "DNS", "x400Address",  "directoryName",
    "ediPartyName", "URI",   "IP",  "registeredID",
};

int cli_x509_check_san(const GENERAL_NAMES *names, char *msg, size_t msg_len)
{
	char item[QUOTE_MAX + 32], q[QUOTE_MAX + 8];
	int i, type, n = sk_GENERAL_NAME_num(names);
	const ASN1_STRING *v;

	if (n <= 0)
		return fail(msg, msg_len, "it holds no name (RFC 5280 asks for at least one)");
	if (n > CLI_X509_MAX_ITEMS)
		return fail(msg, msg_len, "it holds %d names, more than %d", n, CLI_X509_MAX_ITEMS);
	for (i = 0; i < n; i++) {
		v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &type);
		if (type < 0 || (size_t)type >= sizeof(gen_type_names) / sizeof(gen_type_names[0]))
			return fail(msg, msg_len, "name %d is of an unknown type", i + 1);
		if (type != GEN_DNS && type != GEN_EMAIL && type != GEN_URI && type != GEN_IPADD)
			return fail(msg, msg_len,
				    "name %d is of type %s: only DNS, IP, email and URI names are "
				    "issued",
				    i + 1, gen_type_names[type]);
		if (type == GEN_IPADD) {
			if (ASN1_STRING_length(v) != 4 && ASN1_STRING_length(v) != 16)
				return fail(msg, msg_len,
					    "name %d is an IP address of %d bytes: an IPv4 "
					    "address has 4, an IPv6 one 16",
					    i + 1, ASN1_STRING_length(v));
			continue;
		}
		quote_ascii(q, sizeof(q), (const char *)ASN1_STRING_get0_data(v),
			    (size_t)ASN1_STRING_length(v));
		snprintf(item, sizeof(item), "%s:%s", gen_type_names[type], q);
		if (ia5_name_check(type, (const char *)ASN1_STRING_get0_data(v),
				   (size_t)ASN1_STRING_length(v), item, msg, msg_len) != P11A_OK)
			return P11A_ERR_BAD_INPUT;
	}
	return P11A_OK;
}

int cli_x509_check_name(const X509_NAME *name, char *msg, size_t msg_len)
{
	char oid[128], item[QUOTE_MAX + sizeof(oid) + 8], q[QUOTE_MAX + 8];
	const struct attr_type *t;
	const X509_NAME_ENTRY *e;
	const ASN1_OBJECT *obj;
	const char *attr;
	unsigned char *value;
	int i, nid, len, r, n = X509_NAME_entry_count(name);

	if (n > CLI_X509_MAX_ITEMS)
		return fail(msg, msg_len, "it has %d attributes, more than %d", n,
			    CLI_X509_MAX_ITEMS);
	for (i = 0; i < n; i++) {
		e = X509_NAME_get_entry(name, i);
		obj = X509_NAME_ENTRY_get_object(e);
		nid = OBJ_obj2nid(obj);
		t = attr_by_nid(nid);
		attr = t != &attr_oid ? t->name : nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
		if (attr == NULL) {
			if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
				snprintf(oid, sizeof(oid), "?");
			attr = oid;
		}
		value = NULL;
		if ((len = ASN1_STRING_to_UTF8(&value, X509_NAME_ENTRY_get_data(e))) < 0) {
			ERR_clear_error();
			return fail(msg, msg_len,
				    "attribute %d (%s) is not text in a string type X.509 knows",
				    i + 1, attr);
		}
		snprintf(item, sizeof(item), "%s=%s", attr,
			 quote_ascii(q, sizeof(q), (const char *)value, (size_t)len));
		r = check_value(t, attr, (const char *)value, (size_t)len, item, msg, msg_len);
		OPENSSL_free(value);
		if (r != P11A_OK)
			return r;
	}
	return P11A_OK;
}
