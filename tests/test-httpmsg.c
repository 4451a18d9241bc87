#include "config.h"
/*
 * test-httpmsg: HTTP messages and RFC 9421 signature bases in libp11agent
 * (proto/httpmsg.c, proto/httpsig.c), without an agent: parsing, the values
 * of derived and field components as RFC 9421 section 2 gives them, and every
 * error a message or a component list can cause.
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

#include "p11agent.h"

/* Parses text, which must succeed. */
static struct p11a_http_msg *msg(const char *text)
{
	struct p11a_http_msg *m = NULL;
	int err = p11a_http_parse((const uint8_t *)text, strlen(text), &m);

	if (err != P11A_OK)
		fail_msg("parse: %s", p11a_http_message());
	return m;
}

/* The base for components over m (created 1618884473, keyid "k"), or NULL with why. */
static char *base_of(const struct p11a_http_msg *m, const struct p11a_http_msg *req,
		     const char *components, int *out_err)
{
	struct p11a_http_sign_params p = {0};
	char *b = NULL;
	size_t len = 0;

	p.components = components;
	p.created = 1618884473;
	p.keyid = "k";
	*out_err = p11a_http_base(NULL, NULL, m, req, &p, &b, &len);
	if (*out_err == P11A_OK)
		assert_int_equal(strlen(b), len);
	return b;
}

/* Asserts that covering one component of m gives the base line want. */
static void assert_line(const struct p11a_http_msg *m, const char *component, const char *want)
{
	char *b, *nl;
	int err;

	b = base_of(m, NULL, component, &err);
	if (err != P11A_OK)
		fail_msg("%s: %s", component, p11a_http_message());
	nl = strchr(b, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_string_equal(b, want);
	p11a_free(b, strlen(b));
}

/* Asserts that covering components of m fails with BAD_INPUT and a message holding part. */
static void assert_refused(const struct p11a_http_msg *m, const char *components, const char *part)
{
	char *b;
	int err;

	b = base_of(m, NULL, components, &err);
	assert_null(b);
	assert_int_equal(err, P11A_ERR_BAD_INPUT);
	if (strstr(p11a_http_message(), part) == NULL)
		fail_msg("message '%s' lacks '%s'", p11a_http_message(), part);
}

static const char request[] = "POST /path?param=value HTTP/1.1\r\n"
			      "Host: www.example.com\r\n"
			      "\r\n";

static void test_derived(void **state)
{
	struct p11a_http_msg *m = msg(request);

	(void)state;
	assert_line(m, "@method", "\"@method\": POST");
	assert_line(m, "@target-uri", "\"@target-uri\": https://www.example.com/path?param=value");
	assert_line(m, "@authority", "\"@authority\": www.example.com");
	assert_line(m, "@scheme", "\"@scheme\": https");
	assert_line(m, "@request-target", "\"@request-target\": /path?param=value");
	assert_line(m, "@path", "\"@path\": /path");
	assert_line(m, "@query", "\"@query\": ?param=value");
	assert_line(m, "@query-param;name=\"param\"", "\"@query-param\";name=\"param\": value");
	assert_refused(m, "@status", "for responses");
	p11a_http_free(m);
}

static void test_target_forms(void **state)
{
	struct p11a_http_msg *m;

	(void)state;
	m = msg("GET https://WWW.Example.com:443/path?param=value HTTP/1.1\n\n");
	assert_line(m, "@request-target",
		    "\"@request-target\": https://WWW.Example.com:443/path?param=value");
	assert_line(m, "@authority", "\"@authority\": www.example.com");
	assert_line(m, "@path", "\"@path\": /path");
	p11a_http_free(m);
	m = msg("GET http://example.com:8080 HTTP/1.1\n\n");
	assert_line(m, "@scheme", "\"@scheme\": http");
	assert_line(m, "@authority", "\"@authority\": example.com:8080");
	assert_line(m, "@path", "\"@path\": /");
	assert_line(m, "@query", "\"@query\": ?");
	p11a_http_free(m);
	m = msg("OPTIONS * HTTP/1.1\nHost: www.example.com\n\n");
	assert_line(m, "@request-target", "\"@request-target\": *");
	assert_refused(m, "@path", "has no path");
	p11a_http_free(m);
	m = msg("CONNECT www.example.com:80 HTTP/1.1\nHost: www.example.com\n\n");
	assert_line(m, "@request-target", "\"@request-target\": www.example.com:80");
	p11a_http_free(m);
	m = msg("GET /x HTTP/1.1\nHost: Example.COM:443\n\n");
	assert_line(m, "@authority", "\"@authority\": example.com");
	p11a_http_free(m);
}

/* RFC 9421, 2.2.8: the query parameters, decoded and encoded again. */
static void test_query_param(void **state)
{
	struct p11a_http_msg *m;

	(void)state;
	m = msg("GET /path?param=value&foo=bar&baz=batman&qux= HTTP/1.1\n"
		"Host: www.example.com\n\n");
	assert_line(m, "@query-param;name=\"baz\"", "\"@query-param\";name=\"baz\": batman");
	assert_line(m, "@query-param;name=\"qux\"", "\"@query-param\";name=\"qux\": ");
	assert_refused(m, "@query-param;name=\"nope\"", "no parameter of that name");
	assert_refused(m, "@query-param", "needs its name parameter");
	p11a_http_free(m);
	m = msg("GET /parameters?var=this%20is%20a%20big%0Amultiline%20value&"
		"bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something HTTP/1.1\n"
		"Host: www.example.com\n\n");
	assert_line(m, "@query-param;name=\"var\"",
		    "\"@query-param\";name=\"var\": this%20is%20a%20big%0Amultiline%20value");
	assert_line(m, "@query-param;name=\"bar\"",
		    "\"@query-param\";name=\"bar\": with%20plus%20whitespace");
	assert_line(m, "@query-param;name=\"fa%C3%A7ade%22%3A%20\"",
		    "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\": something");
	p11a_http_free(m);
	m = msg("GET /p?a=1&a=2 HTTP/1.1\nHost: h\n\n");
	assert_refused(m, "@query-param;name=\"a\"", "2 times");
	p11a_http_free(m);
}

/* RFC 9421, 2.1: field values, combined, unfolded, strict and by member. */
static void test_fields(void **state)
{
	struct p11a_http_msg *m;

	(void)state;
	m = msg("GET / HTTP/1.1\r\n"
		"Host: www.example.com\r\n"
		"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n"
		"X-OWS-Header:   Leading and trailing whitespace.   \r\n"
		"X-Obs-Fold-Header: Obsolete\r\n"
		"    line folding.\r\n"
		"Cache-Control: max-age=60\r\n"
		"Cache-Control:    must-revalidate\r\n"
		"Example-Dict:  a=1,    b=2;x=1;y=2,   c=(a   b   c)\r\n"
		"X-Empty-Header: \r\n"
		"Example-Header: value, with, lots\r\n"
		"Example-Header: of, commas\r\n"
		"\r\n");
	assert_line(m, "host", "\"host\": www.example.com");
	assert_line(m, "Date", "\"date\": Tue, 20 Apr 2021 02:07:56 GMT");
	assert_line(m, "x-ows-header", "\"x-ows-header\": Leading and trailing whitespace.");
	assert_line(m, "x-obs-fold-header", "\"x-obs-fold-header\": Obsolete line folding.");
	assert_line(m, "cache-control", "\"cache-control\": max-age=60, must-revalidate");
	assert_line(m, "example-dict", "\"example-dict\": a=1,    b=2;x=1;y=2,   c=(a   b   c)");
	assert_line(m, "example-dict;sf", "\"example-dict\";sf: a=1, b=2;x=1;y=2, c=(a b c)");
	assert_line(m, "example-dict;key=\"a\"", "\"example-dict\";key=\"a\": 1");
	assert_line(m, "example-dict;key=\"b\"", "\"example-dict\";key=\"b\": 2;x=1;y=2");
	assert_line(m, "example-dict;key=\"c\"", "\"example-dict\";key=\"c\": (a b c)");
	assert_line(m, "x-empty-header", "\"x-empty-header\": ");
	assert_line(m, "example-header;bs",
		    "\"example-header\";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:");
	assert_refused(m, "example-dict;key=\"zz\"", "no such member");
	assert_refused(m, "example-dict;bs;sf", "bs does not go with sf");
	assert_refused(m, "date;tr", "not supported");
	assert_refused(m, "date;name=\"x\"", "does not fit");
	assert_refused(m, "content-type", "absent from the message");
	p11a_http_free(m);
}

/* The whole base: lines in order, then the signature parameters. */
static void test_base(void **state)
{
	struct p11a_http_msg *m = msg(request);
	struct p11a_http_sign_params p = {0};
	char *b = NULL;
	size_t len = 0;

	(void)state;
	p.components = "@method, @path,\"host\"";
	p.created = 1618884473;
	p.expires = 1618884773;
	p.nonce = "n\"1";
	p.alg = "ed25519";
	p.alg_param = 1;
	p.keyid = "k";
	p.tag = "t";
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_OK);
	assert_string_equal(b, "\"@method\": POST\n"
			       "\"@path\": /path\n"
			       "\"host\": www.example.com\n"
			       "\"@signature-params\": (\"@method\" \"@path\" \"host\")"
			       ";created=1618884473;expires=1618884773;nonce=\"n\\\"1\""
			       ";alg=\"ed25519\";keyid=\"k\";tag=\"t\"");
	p11a_free(b, len + 1);
	/* Nothing covered, no created. */
	memset(&p, 0, sizeof(p));
	p.components = "";
	p.created = P11A_HTTP_NO_CREATED;
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_OK);
	assert_string_equal(b, "\"@signature-params\": ()");
	p11a_free(b, len + 1);
	/* The default components of a request. */
	p.components = NULL;
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_OK);
	assert_string_equal(b, "\"@method\": POST\n"
			       "\"@authority\": www.example.com\n"
			       "\"@path\": /path\n"
			       "\"@query\": ?param=value\n"
			       "\"@signature-params\": (\"@method\" \"@authority\" \"@path\" "
			       "\"@query\")");
	p11a_free(b, len + 1);
	/* alg_param without alg needs the agent. */
	p.alg_param = 1;
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_ERR_INVALID_ARG);
	p.alg_param = 0;
	p.alg = "rsa-sha1";
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "unknown algorithm"));
	p.alg = NULL;
	p.label = "Sig";
	assert_int_equal(p11a_http_base(NULL, NULL, m, NULL, &p, &b, &len), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "not an RFC 9651 key"));
	p11a_http_free(m);
}

/* A response: @status, and request components with req. */
static void test_response(void **state)
{
	struct p11a_http_msg *m = msg("HTTP/1.1 503 Service Unavailable\n"
				      "Content-Type: application/json\n"
				      "\n"
				      "{}");
	struct p11a_http_msg *req = msg(request);
	char *b;
	int err;

	(void)state;
	assert_line(m, "@status", "\"@status\": 503");
	assert_refused(m, "@method", "needs the req parameter");
	assert_refused(m, "@method;req", "give the request");
	b = base_of(m, req, "@status,@method;req,@authority;req,host;req", &err);
	assert_int_equal(err, P11A_OK);
	assert_string_equal(b, "\"@status\": 503\n"
			       "\"@method\";req: POST\n"
			       "\"@authority\";req: www.example.com\n"
			       "\"host\";req: www.example.com\n"
			       "\"@signature-params\": (\"@status\" \"@method\";req "
			       "\"@authority\";req \"host\";req);created=1618884473;keyid=\"k\"");
	p11a_free(b, strlen(b));
	b = base_of(req, NULL, "@method;req", &err);
	assert_null(b);
	assert_int_equal(err, P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "only for the signature of a response"));
	p11a_http_free(m);
	p11a_http_free(req);
}

static void test_component_errors(void **state)
{
	struct p11a_http_msg *m = msg("GET / HTTP/1.1\nHost: h\nX-Bin: caf\xc3\xa9\n\n");

	(void)state;
	assert_refused(m, "@method,@method", "covered twice");
	assert_refused(m, "host,HOST", "covered twice");
	assert_refused(m, "@bogus", "unknown derived component");
	assert_refused(m, "x-bin", "not ASCII");
	assert_line(m, "x-bin;bs", "\"x-bin\";bs: :Y2Fmw6k=:");
	assert_refused(m, "@method,", "ends in a comma");
	assert_refused(m, "@method;sf=", "not a list of component identifiers");
	assert_refused(m, "\"@method", "unterminated quote");
	{
		/* 129 components: one more than a signature may cover. */
		char list[129 * 24];
		size_t used = 0;

		for (int i = 0; i < 129; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%sx-a;key=\"k%d\"", i > 0 ? "," : "", i);
		assert_refused(m, list, "names more than 128 components");
	}
	p11a_http_free(m);
}

/* Each malformed message is refused with a message saying what is wrong. */
static void test_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *part;
	} bad[] = {
	    {"", "it is empty"},
	    {"\n\n", "no start line"},
	    {"GET\n\n", "neither a request line"},
	    {"GET / HTTP/2\n\n", "not METHOD TARGET HTTP/1.x"},
	    {"HTTP/1.1 20 OK\n\n", "three digits"},
	    {"GET / HTTP/1.1\nHost h\n\n", "has no name and colon"},
	    {"GET / HTTP/1.1\nHost : h\n\n", "no white space before the colon"},
	    {"GET / HTTP/1.1\nHost: h\n", "does not end"},
	    {"GET / HTTP/1.1\n folded\n\n", "follows no field line"},
	    {"GET / HTTP/1.1\nX: a\rb\n\n", "control byte"},
	    {"GET / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\r\n\r\n", "chunked"},
	};
	struct p11a_http_msg *m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = NULL;
		assert_int_equal(
		    p11a_http_parse((const uint8_t *)bad[i].text, strlen(bad[i].text), &m),
		    P11A_ERR_BAD_INPUT);
		assert_null(m);
		if (strstr(p11a_http_message(), bad[i].part) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, p11a_http_message(),
				 bad[i].part);
	}
}

/* p11a_http_length() on text[0..len): err, and then head and total. */
static void assert_length(const char *text, size_t len, int want_err, size_t want_head,
			  size_t want_total)
{
	size_t head = 99, total = 99;
	int err = p11a_http_length((const uint8_t *)text, len, 0, &head, &total);

	if (err != want_err)
		fail_msg("length of %zu bytes: %s, not %s (%s)", len, p11a_strerror(err),
			 p11a_strerror(want_err), p11a_http_message());
	/* Outputs are written on success only. */
	assert_int_equal(head, want_err == P11A_OK ? want_head : 99);
	assert_int_equal(total, want_err == P11A_OK ? want_total : 99);
}

/* Where a message ends in a stream: every prefix, pipelining, and each refusal. */
static void test_length(void **state)
{
	static const char *const texts[] = {
	    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
	    "POST /p HTTP/1.1\nHost: h\ncontent-length:  11 \n\nhello world",
	    "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
	};
	static const struct {
		const char *text;
		int err;
		const char *part;
	} bad[] = {
	    {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", P11A_ERR_BAD_INPUT,
	     "Content-Length '1x' is not a number"},
	    {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", P11A_ERR_BAD_INPUT, "not a number"},
	    {"GET / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", P11A_ERR_BAD_INPUT, "not a number"},
	    {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", P11A_ERR_BAD_INPUT,
	     "Content-Length 2 times"},
	    {"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", P11A_ERR_BAD_INPUT,
	     "Content-Length is empty"},
	    {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	     P11A_ERR_TOO_LARGE, "larger than 64 MiB"},
	    {"GET / HTTP/1.1\r\nContent-Length: 67108864\r\n\r\n", P11A_ERR_TOO_LARGE,
	     "larger than 64 MiB"},
	    {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", P11A_ERR_BAD_INPUT, "chunked"},
	    {"hello\r\n\r\n", P11A_ERR_BAD_INPUT, "neither a request line"},
	    {"\r\n\r\n", P11A_ERR_BAD_INPUT, "no start line"},
	    {"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", P11A_ERR_BAD_INPUT, "control byte"},
	};
	char two[256], *big;
	size_t i, len, head, n, total;
	struct p11a_http_msg *m = NULL;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		len = strlen(texts[i]);
		head = len - 11;
		/* Each prefix: nothing to say until the empty line is in. */
		for (n = 0; n <= len; n++)
			assert_length(texts[i], n, P11A_OK, n < head ? 0 : head,
				      n < head ? 0 : len);
		/*
		 * Read a byte, then three, at a time, as a server does: each call
		 * resumes where the last one stopped, until the end is known.
		 */
		for (size_t step = 1; step <= 3; step += 2) {
			size_t last = 0;

			total = 0;
			for (n = step; total == 0 && n <= len + step; last = n, n += step) {
				assert_int_equal(p11a_http_length((const uint8_t *)texts[i],
								  n < len ? n : len, last, &head,
								  &total),
						 P11A_OK);
				if (total == 0)
					assert_true(n < len - 11);
			}
			assert_int_equal(head, len - 11);
			assert_int_equal(total, len);
			/* Found as soon as the empty line was all there. */
			assert_true(last >= len - 11 && last < len - 11 + step);
		}
		assert_int_equal(p11a_http_parse((const uint8_t *)texts[i], len, &m), P11A_OK);
		p11a_http_free(m);
		m = NULL;
	}
	/* No Content-Length: no body. Two requests back to back: the first. */
	assert_length("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 47, P11A_OK, 27,
		      27);
	snprintf(two, sizeof(two), "%s%s", texts[0], texts[1]);
	assert_length(two, strlen(two), P11A_OK, strlen(texts[0]) - 11, strlen(texts[0]));
	/* Exactly 64 MiB in all is fine. */
	snprintf(two, sizeof(two), "GET / HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
		 (size_t)67108864 - 44);
	assert_int_equal(strlen(two), 44);
	assert_length(two, strlen(two), P11A_OK, 44, 67108864);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_length(bad[i].text, strlen(bad[i].text), bad[i].err, 0, 0);
		if (strstr(p11a_http_message(), bad[i].part) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, p11a_http_message(),
				 bad[i].part);
	}
	/*
	 * A header section that never ends: waited for while its empty line
	 * could still start within 1 MiB, as p11a_http_parse() allows, then
	 * refused. One whose CRLF empty line starts at 1 MiB exactly is taken,
	 * as p11a_http_parse() takes it.
	 */
	assert_non_null(big = malloc(1024 * 1024 + 10));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', 1024 * 1024 + 10 - 19);
	memcpy(big + 1024 * 1024 - 2, "\r\n\r\n", 4);
	assert_length(big, 1024 * 1024 + 1, P11A_OK, 0, 0);
	assert_length(big, 1024 * 1024 + 2, P11A_OK, 1024 * 1024 + 2, 1024 * 1024 + 2);
	assert_int_equal(p11a_http_parse((const uint8_t *)big, 1024 * 1024 + 2, &m), P11A_OK);
	p11a_http_free(m);
	m = NULL;
	memset(big + 1024 * 1024 - 2, 'a', 4);
	assert_length(big, 1024 * 1024 + 1, P11A_OK, 0, 0);
	assert_length(big, 1024 * 1024 + 2, P11A_ERR_TOO_LARGE, 0, 0);
	assert_non_null(strstr(p11a_http_message(), "header section passes"));
	free(big);
	/* Invalid arguments. */
	assert_int_equal(p11a_http_length(NULL, 1, 0, &head, &total), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_http_length((const uint8_t *)"x", 1, 0, NULL, &total),
			 P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_http_length((const uint8_t *)"x", 1, 0, &head, NULL),
			 P11A_ERR_INVALID_ARG);
}

/* Fields added go at the end of the header section, in the message's line ending. */
static void test_serialize(void **state)
{
	static const char text[] = "POST /p HTTP/1.1\r\nHost: h\r\n\r\nbody\r\n\r\nmore";
	struct p11a_http_msg *m = msg(text);
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(p11a_http_serialize(m, &out, &len), P11A_OK);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(out, text, len);
	p11a_free(out, len);
	assert_int_equal(p11a_http_add_digest(m, "sha-256"), P11A_OK);
	assert_int_equal(p11a_http_add_field(m, "X-A", "1"), P11A_OK);
	assert_int_equal(p11a_http_add_field(m, "X A", "1"), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_http_add_field(m, "X-B", "a\nb"), P11A_ERR_INVALID_ARG);
	assert_int_equal(p11a_http_add_digest(m, "sha-512"), P11A_ERR_BAD_INPUT);
	assert_int_equal(p11a_http_serialize(m, &out, &len), P11A_OK);
	/* sha-256("body\r\n\r\nmore") */
	assert_string_equal(
	    (char *)out,
	    "POST /p HTTP/1.1\r\nHost: h\r\n"
	    "Content-Digest: sha-256=:5T7TVMsMx5XLTdXdLkxOwbhKexHVp/HVcwA8Uyey73s=:\r\n"
	    "X-A: 1\r\n\r\nbody\r\n\r\nmore");
	p11a_free(out, len);
	assert_line(m, "x-a", "\"x-a\": 1");
	p11a_http_free(m);
	m = msg("HTTP/1.1 200 OK\n\n");
	assert_int_equal(p11a_http_add_field(m, "Signature", ":AA==:"), P11A_OK);
	assert_int_equal(p11a_http_serialize(m, &out, &len), P11A_OK);
	assert_string_equal((char *)out, "HTTP/1.1 200 OK\nSignature: :AA==:\n\n");
	p11a_free(out, len);
	p11a_http_free(m);
}

/* What a signature says of itself, read before checking it. */
static void test_signature_info(void **state)
{
	struct p11a_http_msg *m =
	    msg("GET / HTTP/1.1\n"
		"Host: h\n"
		"Signature-Input: a=(\"@method\");created=1618884473;keyid=\"k1\";alg=\"ed25519\"\n"
		"Signature-Input: b=();expires=1618884999;nonce=\"n\";tag=\"t\"\n"
		"Signature: a=:AAAA:, b=:AQID:\n"
		"\n");
	struct p11a_http_sig_info *info = NULL;

	(void)state;
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "2 signatures (a, b)"));
	assert_int_equal(p11a_http_signature_info(m, "c", &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "no signature labelled 'c' (it has: a, b)"));
	assert_null(info);
	assert_int_equal(p11a_http_signature_info(m, "a", &info), P11A_OK);
	assert_string_equal(info->label, "a");
	assert_string_equal(info->signature_params,
			    "(\"@method\");created=1618884473;keyid=\"k1\";alg=\"ed25519\"");
	assert_int_equal(info->created, 1618884473);
	assert_int_equal(info->expires, -1);
	assert_string_equal(info->keyid, "k1");
	assert_string_equal(info->alg, "ed25519");
	assert_null(info->nonce);
	assert_null(info->tag);
	p11a_http_sig_info_free(info);
	assert_int_equal(p11a_http_signature_info(m, "b", &info), P11A_OK);
	assert_int_equal(info->created, -1);
	assert_int_equal(info->expires, 1618884999);
	assert_string_equal(info->nonce, "n");
	assert_string_equal(info->tag, "t");
	assert_null(info->keyid);
	p11a_http_sig_info_free(info);
	p11a_http_free(m);
	m = msg("GET / HTTP/1.1\nSignature-Input: a=x\nSignature: a=:AA==:\n\n");
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "not a list of components"));
	p11a_http_free(m);
	m = msg("GET / HTTP/1.1\nSignature-Input: a=()\nSignature: a=1\n\n");
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "not a byte sequence"));
	p11a_http_free(m);
	m = msg("GET / HTTP/1.1\nSignature-Input: a=();created=x\nSignature: a=:AA==:\n\n");
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "created parameter is not a time"));
	p11a_http_free(m);
	m = msg("GET / HTTP/1.1\nSignature-Input: (\n\n");
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(
	    strstr(p11a_http_message(), "Signature-Input field is not an RFC 9651 Dictionary"));
	p11a_http_free(m);
	m = msg("GET / HTTP/1.1\n\n");
	assert_int_equal(p11a_http_signature_info(m, NULL, &info), P11A_ERR_BAD_INPUT);
	assert_non_null(strstr(p11a_http_message(), "no Signature-Input field"));
	p11a_http_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_derived),
	    cmocka_unit_test(test_target_forms),
	    cmocka_unit_test(test_query_param),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_base),
	    cmocka_unit_test(test_response),
	    cmocka_unit_test(test_component_errors),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_length),
	    cmocka_unit_test(test_serialize),
	    cmocka_unit_test(test_signature_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
