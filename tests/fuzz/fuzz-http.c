#include "config.h"
/*
 * fuzz-http: the RFC 9421 message reader and signature base (proto/httpmsg.c,
 * proto/httpbase.c) on hostile bytes. The input's first line is a signature's
 * covered components and parameters as a verifier reads them from
 * Signature-Input (an inner list, "(...);created=1"), or else a component
 * list as http-sign --components takes it; the rest is the HTTP message.
 *
 * Besides "no crash, no leak", it checks their promises: a message that
 * parses writes back to exactly its bytes, and again with a field added at
 * the end of its header section; a failure says why; a base is ASCII, one
 * line per covered component and the "@signature-params" line last.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include "buf.h"
#include "httpbase.h"
#include "httpmsg.h"
#include "p11agent.h"
#include "sfv.h"

#include "fuzz.h"

/* Checks a base built for sig over m. */
static void check_base(const struct sfv_member *sig, const struct p11a_http_msg *m)
{
	struct buf *b = buf_new(0);
	size_t i, lines = 0;
	const uint8_t *p;
	int err;

	FUZZ_CHECK(b != NULL);
	err = httpbase_build(sig, m, NULL, b);
	if (err != P11A_OK) {
		FUZZ_CHECK(err == P11A_ERR_BAD_INPUT || err == P11A_ERR_TOO_LARGE ||
			   err == P11A_ERR_NOMEM);
		FUZZ_CHECK(*p11a_http_message() != '\0');
		buf_free(b);
		return;
	}
	p = buf_data(b);
	for (i = 0; i < buf_len(b); i++) {
		FUZZ_CHECK(p[i] == '\n' || p[i] == '\t' || (p[i] >= 0x20 && p[i] <= 0x7e));
		lines += p[i] == '\n';
	}
	FUZZ_CHECK(lines == sig->n_items);
	for (i = buf_len(b); i > 0 && p[i - 1] != '\n'; i--)
		;
	FUZZ_CHECK(buf_len(b) - i > 21 && memcmp(p + i, "\"@signature-params\": ", 21) == 0);
	buf_free(b);
}

/* A message that parsed writes back to its bytes, and takes a field. */
static void check_message(struct p11a_http_msg *m, const uint8_t *data, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;

	FUZZ_CHECK(p11a_http_serialize(m, &out, &out_len) == P11A_OK);
	FUZZ_CHECK(out_len == len && memcmp(out, data, len) == 0);
	free(out); /* p11a_free() is client.c's: not built in */
	FUZZ_CHECK(p11a_http_add_field(m, "X-Fuzz", "1") == P11A_OK);
	FUZZ_CHECK(p11a_http_serialize(m, &out, &out_len) == P11A_OK);
	FUZZ_CHECK(out_len == len + (m->crlf ? 11 : 10));
	FUZZ_CHECK(memcmp(out, data, m->head_end) == 0);
	free(out); /* p11a_free() is client.c's: not built in */
	FUZZ_CHECK(httpmsg_field(m, "x-fuzz", 0, NULL) != NULL);
}

/*
 * Where the message in data ends: the same read at once and in two pieces;
 * once known, its first total bytes parse, with a body of total - head.
 */
static void check_length(const uint8_t *data, size_t len)
{
	size_t head = 7, total = 7, h2 = 0, t2 = 0, half = len / 2;
	struct p11a_http_msg *m = NULL;
	int err = p11a_http_length(data, len, 0, &head, &total), err2;

	if (err != P11A_OK) {
		FUZZ_CHECK(err == P11A_ERR_BAD_INPUT || err == P11A_ERR_TOO_LARGE);
		FUZZ_CHECK(*p11a_http_message() != '\0');
		FUZZ_CHECK(head == 7 && total == 7); /* untouched */
		return;
	}
	FUZZ_CHECK((head == 0) == (total == 0));
	FUZZ_CHECK(head <= len && head <= total);
	/* A server that read half first, then the rest. */
	err2 = p11a_http_length(data, half, 0, &h2, &t2);
	if (err2 == P11A_OK && t2 == 0)
		err2 = p11a_http_length(data, len, half, &h2, &t2);
	FUZZ_CHECK(err2 == P11A_OK && h2 == head && t2 == total);
	if (total == 0 || total > len)
		return;
	err = p11a_http_parse(data, total, &m);
	FUZZ_CHECK(err == P11A_OK);
	FUZZ_CHECK((size_t)(m->body - m->raw) == head && m->body_len == total - head);
	p11a_http_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct p11a_http_msg *m = NULL;
	struct sfv_member sig;
	size_t first = nl != NULL ? (size_t)(nl - data) : size, pos = 0;
	char *list;
	int err;

	if (nl == NULL)
		return 0;
	check_length(nl + 1, size - first - 1);
	err = p11a_http_parse(nl + 1, size - first - 1, &m);
	if (err != P11A_OK) {
		FUZZ_CHECK(m == NULL);
		FUZZ_CHECK(err == P11A_ERR_BAD_INPUT || err == P11A_ERR_TOO_LARGE);
		FUZZ_CHECK(*p11a_http_message() != '\0');
		return 0;
	}
	/* As a verifier reads Signature-Input's member. */
	if (sfv_parse_inner_list((const char *)data, first, &pos, &sig) == P11A_OK) {
		check_base(&sig, m);
		sfv_member_free(&sig);
	}
	/* As http-sign reads --components. */
	list = malloc(first + 1);
	FUZZ_CHECK(list != NULL);
	memcpy(list, data, first);
	list[first] = '\0';
	if (strlen(list) == first && httpbase_list(list, "components", &sig) == P11A_OK) {
		check_base(&sig, m);
		sfv_member_free(&sig);
	}
	free(list);
	check_message(m, nl + 1, size - first - 1);
	p11a_http_free(m);
	return 0;
}
