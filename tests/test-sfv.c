#include "config.h"
/*
 * test-sfv: RFC 9651 structured field values (proto/sfv.c): the RFC's own
 * examples and RFC 9421's signature fields parsed and written back in the
 * strict form (proto/sfvput.c), what the parsers give, every kind of bad
 * input refused with the outputs untouched, the limits, and what the
 * serializers refuse.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "p11agent.h"
#include "sfv.h"

enum kind { ITEM, LIST, DICT };

/* Parses in as kind, serializes it; the text as a fresh NUL-terminated string. */
static char *reserialize(enum kind kind, const char *in, size_t in_len)
{
	struct sfv_item it;
	struct sfv_list l;
	struct buf *b = buf_new(0);
	char *s;

	assert_non_null(b);
	if (kind == ITEM) {
		assert_int_equal(sfv_parse_item(in, in_len, &it), P11A_OK);
		assert_int_equal(sfv_put_item(b, &it), P11A_OK);
		sfv_item_free(&it);
	} else {
		if (kind == LIST)
			assert_int_equal(sfv_parse_list(in, in_len, &l), P11A_OK);
		else
			assert_int_equal(sfv_parse_dict(in, in_len, &l), P11A_OK);
		assert_int_equal(kind == LIST ? sfv_put_list(b, &l) : sfv_put_dict(b, &l), P11A_OK);
		sfv_list_free(&l);
	}
	assert_non_null(s = malloc(buf_len(b) + 1));
	if (buf_len(b) > 0)
		memcpy(s, buf_data(b), buf_len(b));
	s[buf_len(b)] = '\0';
	buf_free(b);
	return s;
}

/* in parses as kind and serializes to want; want itself serializes to want. */
static void assert_round(enum kind kind, const char *in, const char *want)
{
	char *got = reserialize(kind, in, strlen(in)), *again;

	if (strcmp(got, want) != 0)
		fail_msg("%s: got [%s], want [%s]", in, got, want);
	again = reserialize(kind, got, strlen(got));
	assert_string_equal(again, want);
	free(got);
	free(again);
}

/* in, len bytes, fails to parse as kind with code, and out is untouched. */
static void assert_refused_n(enum kind kind, const char *in, size_t len, int code)
{
	struct sfv_item it, it0;
	struct sfv_list l, l0;
	int r;

	memset(&it, 0x5a, sizeof(it));
	memset(&l, 0x5a, sizeof(l));
	memcpy(&it0, &it, sizeof(it));
	memcpy(&l0, &l, sizeof(l));
	if (kind == ITEM)
		r = sfv_parse_item(in, len, &it);
	else if (kind == LIST)
		r = sfv_parse_list(in, len, &l);
	else
		r = sfv_parse_dict(in, len, &l);
	if (r != code)
		fail_msg("[%.*s] as %s: %d, want %d", (int)len, in,
			 kind == ITEM	? "item"
			 : kind == LIST ? "list"
					: "dict",
			 r, code);
	assert_memory_equal(&it, &it0, sizeof(it));
	assert_memory_equal(&l, &l0, sizeof(l));
}

static void assert_refused(enum kind kind, const char *in)
{
	assert_refused_n(kind, in, strlen(in), P11A_ERR_BAD_INPUT);
}

/* in parses as an item whose bare item has this type, number and string. */
static void assert_value(const char *in, enum sfv_type type, int64_t num, const char *str,
			 size_t len)
{
	struct sfv_item it;

	assert_int_equal(sfv_parse_item(in, strlen(in), &it), P11A_OK);
	assert_int_equal(it.value.type, type);
	assert_true(it.value.num == num);
	if (str == NULL) {
		assert_null(it.value.str);
	} else {
		assert_int_equal(it.value.len, len);
		assert_memory_equal(it.value.str, str, len);
		assert_int_equal(it.value.str[len], '\0');
	}
	assert_int_equal(it.n_params, 0);
	sfv_item_free(&it);
}

static void test_items(void **state)
{
	assert_value("42", SFV_INTEGER, 42, NULL, 0);
	assert_value("-42", SFV_INTEGER, -42, NULL, 0);
	assert_value("999999999999999", SFV_INTEGER, 999999999999999LL, NULL, 0);
	assert_value("-999999999999999", SFV_INTEGER, -999999999999999LL, NULL, 0);
	assert_value("4.5", SFV_DECIMAL, 4500, NULL, 0);
	assert_value("-01.334", SFV_DECIMAL, -1334, NULL, 0);
	assert_value("999999999999.999", SFV_DECIMAL, 999999999999999LL, NULL, 0);
	assert_value("0.001", SFV_DECIMAL, 1, NULL, 0);
	assert_value("\"hello world\"", SFV_STRING, 0, "hello world", 11);
	assert_value("\"a\\\"b\\\\c\"", SFV_STRING, 0, "a\"b\\c", 5);
	assert_value("\"\"", SFV_STRING, 0, "", 0);
	assert_value("foo123/456", SFV_TOKEN, 0, "foo123/456", 10);
	assert_value("*", SFV_TOKEN, 0, "*", 1);
	assert_value(":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:", SFV_BYTES, 0,
		     "pretend this is binary content.", 31);
	assert_value("::", SFV_BYTES, 0, "", 0);
	assert_value(":AP8Q:", SFV_BYTES, 0, "\x00\xff\x10", 3);
	assert_value("?1", SFV_BOOLEAN, 1, NULL, 0);
	assert_value("?0", SFV_BOOLEAN, 0, NULL, 0);
	assert_value("@1659578233", SFV_DATE, 1659578233, NULL, 0);
	assert_value("@-62135596800", SFV_DATE, -62135596800LL, NULL, 0);
	assert_value("%\"This is intended for display to %c3%bcsers.\"", SFV_DISPLAY, 0,
		     "This is intended for display to \xc3\xbcsers.", 39);
	assert_value("%\"%00\"", SFV_DISPLAY, 0, "\0", 1);
}

/* Items in the strict form: what goes in, what comes out. */
static void test_item_round_trips(void **state)
{
	static const char *const cases[][2] = {
	    {"42", "42"},
	    {"0002", "2"},
	    {"-0", "0"},
	    {"-999999999999999", "-999999999999999"},
	    {"4.5", "4.5"},
	    {"1.50", "1.5"},
	    {"2.0", "2.0"},
	    {"2.000", "2.0"},
	    {"-01.334", "-1.334"},
	    {"5.230", "5.23"},
	    {"-0.0", "0.0"},
	    {"-0.40", "-0.4"},
	    {"123456789012.345", "123456789012.345"},
	    {"\"hello world\"", "\"hello world\""},
	    {"\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\""},
	    {"\"%\"", "\"%\""},
	    {"foo123/456", "foo123/456"},
	    {"a:b/c!#$%&'*+-.^_`|~", "a:b/c!#$%&'*+-.^_`|~"},
	    {":aGVsbG8=:", ":aGVsbG8=:"},
	    {":aGVsbG8:", ":aGVsbG8=:"}, /* padding synthesized */
	    {":iZ==:", ":iQ==:"},	 /* non-zero pad bits taken, written as zero */
	    {":/+Ah:", ":/+Ah:"},
	    {"?1", "?1"},
	    {"?0", "?0"},
	    {"@1659578233", "@1659578233"},
	    {"@-1", "@-1"},
	    {"%\"This is intended for display to %c3%bcsers.\"",
	     "%\"This is intended for display to %c3%bcsers.\""},
	    {"%\"%25%22\\\"", "%\"%25%22\\\""}, /* a backslash is plain in a display string */
	    {"5; foo=bar", "5;foo=bar"},
	    {"1; a; b=?0", "1;a;b=?0"},
	    {"1;a=?1", "1;a"},
	    {"tok;x=1;y=2;x=3", "tok;x=3;y=2"}, /* the later x, in the earlier place */
	    {"  42  ", "42"},
	    {"\"x\";k=%\"%c3%a9\";d=@0;b=:AA==:;f=-1.5;*=*",
	     "\"x\";k=%\"%c3%a9\";d=@0;b=:AA==:;f=-1.5;*=*"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_round(ITEM, cases[i][0], cases[i][1]);
}

static void test_list_round_trips(void **state)
{
	static const char *const cases[][2] = {
	    {"sugar, tea, rum", "sugar, tea, rum"},
	    {"sugar,tea,   rum", "sugar, tea, rum"},
	    {"a,\tb \t, c", "a, b, c"},
	    {"(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()",
	     "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()"},
	    {"(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1",
	     "(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1"},
	    {"abc;a=1;b=2; cde_456, (ghi;jk=4 l);q=\"9\";r=w",
	     "abc;a=1;b=2;cde_456, (ghi;jk=4 l);q=\"9\";r=w"},
	    {"( 1   2 )", "(1 2)"},
	    {"(  )", "()"},
	    {"?1, ?0", "?1, ?0"}, /* true in a list is ?1 */
	    {"1;a=?1", "1;a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_round(LIST, cases[i][0], cases[i][1]);
}

static void test_dict_round_trips(void **state)
{
	static const char *const cases[][2] = {
	    {"a=1, b=2;x=1;y=2, c=(a b c)", "a=1, b=2;x=1;y=2, c=(a b c)"},
	    {"a=1,b=2", "a=1, b=2"},
	    {"en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:", "en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:"},
	    {"a=?0, b, c; foo=bar", "a=?0, b, c;foo=bar"},
	    {"a=?1, b=?1;x", "a, b;x"},
	    {"rating=1.5, feelings=(joy sadness)", "rating=1.5, feelings=(joy sadness)"},
	    {"a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid", "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid"},
	    {"foo=1,\tbar=2", "foo=1, bar=2"},
	    {"a=1, b=2, a=3", "a=3, b=2"}, /* the later a, in the earlier place */
	    {"a=(1 2), b=2, a", "a, b=2"},
	    {"*x.y_z-1=()", "*x.y_z-1=()"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_round(DICT, cases[i][0], cases[i][1]);
}

/* Signature-Input and Signature of RFC 9421 (examples 2.5, 4.3, B.2.1, B.2.5), unwrapped. */
static void test_httpsig_fields(void **state)
{
	static const char *const fields[] = {
	    "reqres=(\"@status\" \"content-digest\" \"content-type\" \"@authority\";req "
	    "\"@method\";req \"@path\";req \"content-digest\";req);created=1618884479;keyid="
	    "\"test-key-ecc-p256\"",
	    "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" "
	    "\"content-length\");created=1618884475;keyid=\"test-key-ecc-p256\", "
	    "proxy_sig=(\"@method\" \"@authority\" \"@path\" \"content-digest\" "
	    "\"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid="
	    "\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540",
	    "sig-b21=();created=1618884473;keyid=\"test-key-rsa-pss\";nonce="
	    "\"b3k2pp5k7z-50gnwp.yemd\"",
	    "sig-b25=(\"date\" \"@authority\" \"content-type\");created=1618884473;keyid="
	    "\"test-shared-secret\"",
	    "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:",
	    "sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+"
	    "sNalzA8ESSaHD3A==:, proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZx"
	    "P+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11s"
	    "x3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8N"
	    "MaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZ"
	    "HowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:",
	};
	/* Component identifiers, as items. */
	static const char *const components[] = {
	    "\"@query-param\";name=\"Pet\"",
	    "\"example-dict\";key=\"a\";sf",
	    "\"@method\";req",
	    "\"content-digest\";req;bs",
	};
	struct sfv_list l;
	const struct sfv_member *m;
	const struct sfv_value *v;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_round(DICT, fields[i], fields[i]);
	for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		assert_round(ITEM, components[i], components[i]);

	assert_int_equal(sfv_parse_dict(fields[1], strlen(fields[1]), &l), P11A_OK);
	assert_int_equal(l.n, 2);
	assert_null(sfv_dict_get(&l, "sig2"));
	assert_non_null(m = sfv_dict_get(&l, "proxy_sig"));
	assert_ptr_equal(m, &l.members[1]);
	assert_true(m->inner);
	assert_int_equal(m->n_items, 7);
	assert_string_equal(m->items[6].value.str, "forwarded");
	assert_int_equal(m->n_params, 4);
	assert_non_null(v = sfv_params_get(m->params, m->n_params, "expires"));
	assert_int_equal(v->type, SFV_INTEGER);
	assert_true(v->num == 1618884540);
	assert_non_null(v = sfv_params_get(m->params, m->n_params, "alg"));
	assert_int_equal(v->type, SFV_STRING);
	assert_string_equal(v->str, "rsa-v1_5-sha256");
	assert_null(sfv_params_get(m->params, m->n_params, "nonce"));
	sfv_list_free(&l);
	assert_null(l.members);
	assert_int_equal(l.n, 0);
}

/* The inner list of the brief, taken as a List of one member. */
static void test_inner_list_member(void **state)
{
	static const char in[] = "(\"@method\" \"@path\";req \"@query-param\";name=\"Pet\")"
				 ";created=1618884473;keyid=\"k\"";
	struct sfv_list l;
	struct sfv_member *m;
	struct buf *b = buf_new(0);

	assert_int_equal(sfv_parse_list(in, strlen(in), &l), P11A_OK);
	assert_int_equal(l.n, 1);
	m = &l.members[0];
	assert_null(m->key);
	assert_true(m->inner);
	assert_int_equal(m->n_items, 3);
	assert_int_equal(m->items[0].value.type, SFV_STRING);
	assert_string_equal(m->items[0].value.str, "@method");
	assert_int_equal(m->items[0].n_params, 0);
	assert_string_equal(m->items[1].value.str, "@path");
	assert_int_equal(m->items[1].n_params, 1);
	assert_string_equal(m->items[1].params[0].key, "req");
	assert_int_equal(m->items[1].params[0].value.type, SFV_BOOLEAN);
	assert_true(m->items[1].params[0].value.num == 1);
	assert_string_equal(m->items[2].value.str, "@query-param");
	assert_int_equal(m->items[2].n_params, 1);
	assert_string_equal(m->items[2].params[0].key, "name");
	assert_int_equal(m->items[2].params[0].value.type, SFV_STRING);
	assert_string_equal(m->items[2].params[0].value.str, "Pet");
	assert_int_equal(m->n_params, 2);
	assert_string_equal(m->params[0].key, "created");
	assert_int_equal(m->params[0].value.type, SFV_INTEGER);
	assert_true(m->params[0].value.num == 1618884473);
	assert_string_equal(m->params[1].key, "keyid");
	assert_string_equal(m->params[1].value.str, "k");

	assert_int_equal(sfv_put_list(b, &l), P11A_OK);
	assert_int_equal(buf_len(b), strlen(in));
	assert_memory_equal(buf_data(b), in, strlen(in));
	buf_reset(b);
	assert_int_equal(sfv_put_member(b, m), P11A_OK);
	assert_memory_equal(buf_data(b), in, strlen(in));
	sfv_list_free(&l);
	buf_free(b);
}

/* sfv_parse_params and sfv_parse_inner_list from a position, and what they refuse. */
static void test_parse_from_pos(void **state)
{
	static const char params[] = "x;a=1; b ,rest";
	static const char sig[] = "sig1=(\"@method\" \"@path\");created=1 tail";
	struct sfv_param *p = (struct sfv_param *)params;
	struct sfv_member m;
	size_t n = 99, pos = 1;

	assert_int_equal(sfv_parse_params(params, strlen(params), &pos, &p, &n), P11A_OK);
	assert_int_equal(pos, 8);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].key, "a");
	assert_true(p[0].value.num == 1);
	assert_string_equal(p[1].key, "b");
	assert_int_equal(p[1].value.type, SFV_BOOLEAN);
	sfv_params_free(p, n);

	/* No parameter: a success with none. */
	pos = 0;
	assert_int_equal(sfv_parse_params(params, strlen(params), &pos, &p, &n), P11A_OK);
	assert_int_equal(pos, 0);
	assert_null(p);
	assert_int_equal(n, 0);

	/* A bad parameter: nothing moves. */
	pos = 1;
	p = (struct sfv_param *)params;
	n = 99;
	assert_int_equal(sfv_parse_params("x;A=1", 5, &pos, &p, &n), P11A_ERR_BAD_INPUT);
	assert_int_equal(sfv_parse_params("x;a=", 4, &pos, &p, &n), P11A_ERR_BAD_INPUT);
	assert_int_equal(sfv_parse_params("x;", 2, &pos, &p, &n), P11A_ERR_BAD_INPUT);
	assert_int_equal(pos, 1);
	assert_ptr_equal(p, params);
	assert_int_equal(n, 99);
	pos = 6;
	assert_int_equal(sfv_parse_params("x;a=1", 5, &pos, &p, &n), P11A_ERR_INVALID_ARG);

	pos = 5;
	assert_int_equal(sfv_parse_inner_list(sig, strlen(sig), &pos, &m), P11A_OK);
	assert_int_equal(pos, strlen(sig) - 5);
	assert_true(m.inner);
	assert_null(m.key);
	assert_int_equal(m.n_items, 2);
	assert_int_equal(m.n_params, 1);
	sfv_member_free(&m);

	memset(&m, 0x5a, sizeof(m));
	pos = 4; /* at "=" */
	assert_int_equal(sfv_parse_inner_list(sig, strlen(sig), &pos, &m), P11A_ERR_BAD_INPUT);
	pos = 5;
	assert_int_equal(sfv_parse_inner_list(sig, 20, &pos, &m), P11A_ERR_BAD_INPUT);
	assert_int_equal(pos, 5);
	assert_true(m.n_items == (size_t)0x5a5a5a5a5a5a5a5aull);
}

static void test_empty(void **state)
{
	struct sfv_list l;
	struct buf *b = buf_new(0);

	assert_int_equal(sfv_parse_list("", 0, &l), P11A_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(sfv_put_list(b, &l), P11A_OK);
	sfv_list_free(&l);
	assert_int_equal(sfv_parse_dict("   ", 3, &l), P11A_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(sfv_put_dict(b, &l), P11A_OK);
	sfv_list_free(&l);
	assert_int_equal(sfv_parse_list(NULL, 0, &l), P11A_OK);
	sfv_list_free(&l);
	assert_int_equal(buf_len(b), 0);
	assert_refused(ITEM, "");
	assert_refused(ITEM, "   ");
	buf_free(b);

	sfv_item_free(NULL);
	sfv_member_free(NULL);
	sfv_list_free(NULL);
	sfv_params_free(NULL, 0);
}

static void test_bad_items(void **state)
{
	static const char *const bad[] = {
	    /* numbers */
	    "1234567890123456",
	    "-1234567890123456",
	    "-",
	    "-a",
	    "--1",
	    "1.",
	    "1.1234",
	    "1234567890123.1",
	    "1.2.3",
	    "1..2",
	    "+1",
	    ".5",
	    /* strings */
	    "\"abc",
	    "\"",
	    "\"a\\nb\"",
	    "\"a\\",
	    "\"a\tb\"",
	    "\"a\x7f\"",
	    "'a'",
	    /* tokens and other starts */
	    "~tok",
	    "!",
	    "tok tok",
	    "a\"b\"",
	    /* byte sequences */
	    ":aGVsbG8=",
	    ":aGVs bG8=:",
	    ":a=GVsbG8=:",
	    ":=aGVsbG8=:",
	    ":aGVsbG8==:",
	    ":aGVsbG!8=:",
	    ":aGVsbG8=!:",
	    ":aGVsbG8.:",
	    ":_-Ah:",
	    ":a:",
	    ":aGVsbG8===:",
	    ":aG=:",
	    ":aGV==:",
	    ":aGVs\nbG8=:",
	    /* booleans, dates */
	    "?2",
	    "?",
	    "?10",
	    "@1.5",
	    "@",
	    "@a",
	    "@1234567890123456",
	    /* display strings */
	    "%\"abc",
	    "%\"%C3%BC\"",
	    "%\"%c3\"",
	    "%\"%ed%a0%80\"",
	    "%\"%c0%80\"",
	    "%\"%f4%90%80%80\"",
	    "%\"a%g0\"",
	    "%\"a%0\"",
	    "%\"a%\"",
	    "%x",
	    "%",
	    "%\"\t\"",
	    /* parameters */
	    "1;",
	    "1;A=1",
	    "1;a=",
	    "1;1a=2",
	    "1;a=(1)",
	    "1; ;a",
	    "1 ;a",
	    /* trailing garbage, list syntax, whitespace other than SP */
	    "1 2",
	    "1,2",
	    "a, b",
	    "(1 2)",
	    "1\t",
	    "\t1",
	    "1;a=1x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refused(ITEM, bad[i]);
	/* Not ASCII, and an embedded NUL. */
	assert_refused(ITEM, "\"caf\xc3\xa9\"");
	assert_refused(ITEM, "caf\xc3\xa9");
	assert_refused_n(ITEM, "\"a\0b\"", 5, P11A_ERR_BAD_INPUT);
	assert_refused_n(ITEM, "1\0", 2, P11A_ERR_BAD_INPUT);
	assert_refused_n(ITEM, NULL, 3, P11A_ERR_INVALID_ARG);
	/* Cut short at every length: never a read past the end, never a crash. */
	{
		static const char full[] = "%\"%c3%bc\";a=:AQID:;b=\"x\\\"\";c=-1.25;d=@5";
		struct sfv_item it;

		for (size_t n = 0; n < strlen(full); n++) {
			char *cut = malloc(n == 0 ? 1 : n);

			assert_non_null(cut);
			memcpy(cut, full, n);
			if (sfv_parse_item(cut, n, &it) == P11A_OK)
				sfv_item_free(&it);
			free(cut);
		}
		assert_round(ITEM, full, full);
	}
}

static void test_bad_lists(void **state)
{
	static const char *const bad[] = {
	    "a,,b", "a,",     "a, ",	"a,\t",	    ",a",    ",",      "a b",
	    "(a b", "(a,b)",  "(a b)c", "(a b)(c)", "((a))", "(a\tb)", "(a;)",
	    "a;",   "\"x\"a", "(a b",	"(",	    ")",     "a)",     "1.",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refused(LIST, bad[i]);
}

static void test_bad_dicts(void **state)
{
	static const char *const bad[] = {
	    "a=1,,b=2", "a=1,",	       "a=1, ", "A=1",	 "a=",	   "a=1 b=2",
	    "1=a",	"a=(1 2",      "a=1;",	"a==1",	 "a =1",   "a= 1",
	    ",a=1",	"a=1,\"b\"=2", "-a=1",	"a=1,B", "a=(1)x",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refused(DICT, bad[i]);
}

/* A text of n copies of unit between head and tail, with sep between copies. */
static char *repeat(const char *head, const char *unit, const char *sep, const char *tail, size_t n,
		    size_t *out_len)
{
	size_t len = strlen(head) + n * (strlen(unit) + strlen(sep)) + strlen(tail) + 1;
	char *s = malloc(len), *p;

	if (s == NULL) {
		fail_msg("out of memory");
		return NULL;
	}
	p = s + sprintf(s, "%s", head);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i > 0 ? sep : "", unit);
	p += sprintf(p, "%s", tail);
	*out_len = (size_t)(p - s);
	return s;
}

/* At SFV_MAX_MEMBERS: taken; one more: refused. */
static void test_limits(void **state)
{
	struct {
		enum kind kind;
		const char *head, *unit, *sep, *tail;
	} cases[] = {
	    {LIST, "", "1", ", ", ""},	/* list members */
	    {LIST, "(", "1", " ", ")"}, /* inner list items */
	    {ITEM, "1", ";a", "", ""},	/* parameters, even the same key again */
	    {LIST, "()", ";a", "", ""}, /* an inner list's parameters */
	    {DICT, "", "a", ",", ""},	/* dictionary members, even the same key again */
	};
	struct sfv_item it;
	struct sfv_list l;
	size_t len;
	char *s;
	int r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t n = SFV_MAX_MEMBERS; n <= SFV_MAX_MEMBERS + 1; n++) {
			s = repeat(cases[i].head, cases[i].unit, cases[i].sep, cases[i].tail, n,
				   &len);
			if (cases[i].kind == ITEM) {
				r = sfv_parse_item(s, len, &it);
				if (r == P11A_OK)
					sfv_item_free(&it);
			} else {
				r = cases[i].kind == LIST ? sfv_parse_list(s, len, &l)
							  : sfv_parse_dict(s, len, &l);
				if (r == P11A_OK)
					sfv_list_free(&l);
			}
			assert_int_equal(r, n == SFV_MAX_MEMBERS ? P11A_OK : P11A_ERR_BAD_INPUT);
			free(s);
		}
	}
	/* Long strings, tokens and byte sequences are taken (RFC 9651's minimums). */
	s = repeat("\"", "x", "", "\"", 4096, &len);
	assert_round(ITEM, s, s);
	free(s);
	s = repeat("", "t", "", "", 4096, &len);
	assert_round(ITEM, s, s);
	free(s);
	s = repeat(":", "AAAA", "", ":", 16384 / 3 + 1, &len);
	assert_round(ITEM, s, s);
	free(s);
}

/* The value serializers from values made by hand. */
static void test_put_values(void **state)
{
	static const struct {
		struct sfv_value v;
		const char *want;
	} cases[] = {
	    {{SFV_DECIMAL, 2000, NULL, 0}, "2.0"},
	    {{SFV_DECIMAL, 1500, NULL, 0}, "1.5"},
	    {{SFV_DECIMAL, 1230, NULL, 0}, "1.23"},
	    {{SFV_DECIMAL, -5, NULL, 0}, "-0.005"},
	    {{SFV_DECIMAL, 0, NULL, 0}, "0.0"},
	    {{SFV_DECIMAL, 999999999999999LL, NULL, 0}, "999999999999.999"},
	    {{SFV_INTEGER, -999999999999999LL, NULL, 0}, "-999999999999999"},
	    {{SFV_STRING, 0, (char *)"say \"hi\" \\o/", 12}, "\"say \\\"hi\\\" \\\\o/\""},
	    {{SFV_STRING, 0, NULL, 0}, "\"\""},
	    {{SFV_BYTES, 0, (char *)"\x00\xff\x10", 3}, ":AP8Q:"},
	    {{SFV_BYTES, 0, (char *)"a", 1}, ":YQ==:"},
	    {{SFV_BYTES, 0, (char *)"ab", 2}, ":YWI=:"},
	    {{SFV_BYTES, 0, NULL, 0}, "::"},
	    {{SFV_DISPLAY, 0, (char *)"\xc3\xbc%\"\n~", 6}, "%\"%c3%bc%25%22%0a~\""},
	    {{SFV_BOOLEAN, 1, NULL, 0}, "?1"},
	    {{SFV_DATE, -62135596800LL, NULL, 0}, "@-62135596800"},
	    {{SFV_TOKEN, 0, (char *)"*/x", 3}, "*/x"},
	};
	struct buf *b = buf_new(0);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(b);
		assert_int_equal(sfv_put_value(b, &cases[i].v), P11A_OK);
		assert_int_equal(buf_len(b), strlen(cases[i].want));
		assert_memory_equal(buf_data(b), cases[i].want, buf_len(b));
	}
	buf_free(b);
}

/* What cannot be serialized: INVALID_ARG, and b keeps what it had. */
static void test_put_refused(void **state)
{
	static const struct sfv_value bad[] = {
	    {SFV_INTEGER, 1000000000000000LL, NULL, 0},
	    {SFV_INTEGER, -1000000000000000LL, NULL, 0},
	    {SFV_DATE, 1000000000000000LL, NULL, 0},
	    {SFV_DECIMAL, 1000000000000000LL, NULL, 0},
	    {SFV_BOOLEAN, 2, NULL, 0},
	    {SFV_STRING, 0, (char *)"a\nb", 3},
	    {SFV_STRING, 0, (char *)"caf\xc3\xa9", 5},
	    {SFV_STRING, 0, (char *)"a\0b", 3},
	    {SFV_STRING, 0, NULL, 1},
	    {SFV_TOKEN, 0, (char *)"1abc", 4},
	    {SFV_TOKEN, 0, (char *)"", 0},
	    {SFV_TOKEN, 0, (char *)"a b", 3},
	    {SFV_DISPLAY, 0, (char *)"\xff", 1},
	    {SFV_DISPLAY, 0, (char *)"\xed\xa0\x80", 3},
	    {(enum sfv_type)99, 0, NULL, 0},
	};
	struct sfv_param params[] = {{(char *)"ok", {SFV_INTEGER, 1, NULL, 0}},
				     {(char *)"Bad", {SFV_INTEGER, 1, NULL, 0}}};
	struct sfv_item item = {{SFV_INTEGER, 1, NULL, 0}, params, 2};
	struct sfv_member members[] = {
	    {NULL, 0, {{SFV_INTEGER, 1, NULL, 0}, NULL, 0}, NULL, 0, NULL, 0}};
	struct sfv_list dict = {members, 1};
	struct buf *b = buf_new(0);

	assert_int_equal(buf_put(b, "x", 1), P11A_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sfv_put_value(b, &bad[i]), P11A_ERR_INVALID_ARG);
		assert_int_equal(buf_len(b), 1);
	}
	assert_int_equal(sfv_put_item(b, &item), P11A_ERR_INVALID_ARG);
	assert_int_equal(sfv_put_params(b, params, 2), P11A_ERR_INVALID_ARG);
	assert_int_equal(buf_len(b), 1);
	/* A dictionary member needs a key; a list ignores it. */
	assert_int_equal(sfv_put_dict(b, &dict), P11A_ERR_INVALID_ARG);
	assert_int_equal(sfv_put_list(b, &dict), P11A_OK);
	assert_int_equal(buf_len(b), 2);
	members[0].key = (char *)"k";
	assert_int_equal(sfv_put_dict(b, &dict), P11A_OK);
	assert_int_equal(buf_len(b), 5);
	assert_memory_equal(buf_data(b), "x1k=1", 5);
	buf_free(b);
}

static void test_key_ok(void **state)
{
	assert_true(sfv_key_ok("a"));
	assert_true(sfv_key_ok("*"));
	assert_true(sfv_key_ok("sig-b21"));
	assert_true(sfv_key_ok("proxy_sig"));
	assert_true(sfv_key_ok("a.b*c-1_"));
	assert_false(sfv_key_ok(""));
	assert_false(sfv_key_ok(NULL));
	assert_false(sfv_key_ok("Sig"));
	assert_false(sfv_key_ok("sig1A"));
	assert_false(sfv_key_ok("1a"));
	assert_false(sfv_key_ok("_a"));
	assert_false(sfv_key_ok("a b"));
	assert_false(sfv_key_ok("a=b"));
}

static void test_token_utf8_ok(void **state)
{
	assert_true(sfv_token_ok("foo123/456", 10));
	assert_true(sfv_token_ok("*", 1));
	assert_true(sfv_token_ok("Text/HTML:x", 11));
	assert_false(sfv_token_ok("", 0));
	assert_false(sfv_token_ok(NULL, 0));
	assert_false(sfv_token_ok("1a", 2));
	assert_false(sfv_token_ok("a b", 3));
	assert_false(sfv_token_ok("a\0b", 3));
	assert_false(sfv_token_ok("a\"", 2));

	assert_true(sfv_utf8_ok("", 0));
	assert_true(sfv_utf8_ok("a\0b", 3));
	assert_true(
	    sfv_utf8_ok("\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* u-umlaut, euro, emoji */
	assert_true(sfv_utf8_ok("\xf4\x8f\xbf\xbf", 4));	     /* U+10FFFF */
	assert_false(sfv_utf8_ok("\xc3", 1));			     /* cut short */
	assert_false(sfv_utf8_ok("\xc0\x80", 2));		     /* overlong */
	assert_false(sfv_utf8_ok("\xe0\x80\x80", 3));		     /* overlong */
	assert_false(sfv_utf8_ok("\xf0\x80\x80\x80", 4));	     /* overlong */
	assert_false(sfv_utf8_ok("\xed\xa0\x80", 3));		     /* surrogate */
	assert_false(sfv_utf8_ok("\xf4\x90\x80\x80", 4));	     /* past U+10FFFF */
	assert_false(sfv_utf8_ok("\x80", 1));
	assert_false(sfv_utf8_ok("\xff", 1));
	assert_false(sfv_utf8_ok("\xe2\x28\xa1", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_item_round_trips),
	    cmocka_unit_test(test_list_round_trips),
	    cmocka_unit_test(test_dict_round_trips),
	    cmocka_unit_test(test_httpsig_fields),
	    cmocka_unit_test(test_inner_list_member),
	    cmocka_unit_test(test_parse_from_pos),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_bad_items),
	    cmocka_unit_test(test_bad_lists),
	    cmocka_unit_test(test_bad_dicts),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_put_values),
	    cmocka_unit_test(test_put_refused),
	    cmocka_unit_test(test_key_ok),
	    cmocka_unit_test(test_token_utf8_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
