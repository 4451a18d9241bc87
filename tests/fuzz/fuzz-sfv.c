#include "config.h"
/*
 * fuzz-sfv: the RFC 9651 structured field parsers (proto/sfv.c) on hostile
 * text, taken as an Item, a List and a Dictionary, and from its start as
 * parameters and as an inner list.
 *
 * Besides "no crash, no leak", it checks their promises: a failure is
 * P11A_ERR_BAD_INPUT and leaves the output alone; whatever parses can be
 * serialized, its serialization is printable ASCII without spaces at either
 * end, parses again as the same kind, and serializes to the same text (the
 * strict form is a fixed point). Parameters and an inner list advance the
 * position only on success, and never past the end.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <string.h>

#include "buf.h"
#include "p11agent.h"
#include "sfv.h"

#include "fuzz.h"

/* Serializations grow at most twice the input (":AA:" to ":AA==:"): this fits a buf. */
#define FUZZ_SFV_MAX_INPUT (256u * 1024u)

enum kind { ITEM, LIST, DICT };

/* Parses s as kind into *it or *l; BAD_INPUT leaves them as they were. */
static int parse(enum kind kind, const char *s, size_t len, struct sfv_item *it, struct sfv_list *l)
{
	struct sfv_item it0;
	struct sfv_list l0;
	int r;

	memset(it, 0x5a, sizeof(*it));
	memset(l, 0x5a, sizeof(*l));
	memcpy(&it0, it, sizeof(it0));
	memcpy(&l0, l, sizeof(l0));
	if (kind == ITEM)
		r = sfv_parse_item(s, len, it);
	else if (kind == LIST)
		r = sfv_parse_list(s, len, l);
	else
		r = sfv_parse_dict(s, len, l);
	if (r != P11A_OK) {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT);
		FUZZ_CHECK(memcmp(it, &it0, sizeof(it0)) == 0 && memcmp(l, &l0, sizeof(l0)) == 0);
	}
	return r;
}

/* Serializes what parse() gave into b (emptied first) and frees it. */
static void serialize(enum kind kind, struct sfv_item *it, struct sfv_list *l, struct buf *b)
{
	buf_reset(b);
	if (kind == ITEM) {
		FUZZ_CHECK(sfv_put_item(b, it) == P11A_OK);
		sfv_item_free(it);
	} else {
		FUZZ_CHECK((kind == LIST ? sfv_put_list(b, l) : sfv_put_dict(b, l)) == P11A_OK);
		sfv_list_free(l);
	}
}

static void check_kind(enum kind kind, const char *s, size_t len, struct buf *first,
		       struct buf *second)
{
	struct sfv_item it;
	struct sfv_list l;
	const uint8_t *p;
	size_t n;

	if (parse(kind, s, len, &it, &l) != P11A_OK)
		return;
	serialize(kind, &it, &l, first);
	p = buf_data(first);
	n = buf_len(first);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(p[i] >= 0x20 && p[i] <= 0x7e);
	FUZZ_CHECK(n == 0 || (p[0] != ' ' && p[n - 1] != ' '));
	FUZZ_CHECK(kind != ITEM || n > 0);

	FUZZ_CHECK(parse(kind, (const char *)p, n, &it, &l) == P11A_OK);
	serialize(kind, &it, &l, second);
	FUZZ_CHECK(buf_len(second) == n);
	FUZZ_CHECK(n == 0 || memcmp(buf_data(second), p, n) == 0);
}

/* Parameters and an inner list from the start of s. */
static void check_from_start(const char *s, size_t len, struct buf *b)
{
	struct sfv_param *params = (struct sfv_param *)s, *params2;
	struct sfv_member m;
	size_t pos = 0, n_params = 12345, pos2, n_params2;
	int r;

	r = sfv_parse_params(s, len, &pos, &params, &n_params);
	if (r == P11A_OK) {
		FUZZ_CHECK(pos <= len && (n_params == 0) == (pos == 0));
		FUZZ_CHECK(n_params <= SFV_MAX_MEMBERS);
		buf_reset(b);
		FUZZ_CHECK(sfv_put_params(b, params, n_params) == P11A_OK);
		pos2 = 0;
		FUZZ_CHECK(sfv_parse_params((const char *)buf_data(b), buf_len(b), &pos2, &params2,
					    &n_params2) == P11A_OK);
		FUZZ_CHECK(pos2 == buf_len(b) && n_params2 == n_params);
		sfv_params_free(params2, n_params2);
		sfv_params_free(params, n_params);
	} else {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT);
		FUZZ_CHECK(pos == 0 && params == (struct sfv_param *)s && n_params == 12345);
	}

	pos = 0;
	r = sfv_parse_inner_list(s, len, &pos, &m);
	if (r == P11A_OK) {
		FUZZ_CHECK(pos >= 2 && pos <= len && m.inner && m.key == NULL);
		buf_reset(b);
		FUZZ_CHECK(sfv_put_member(b, &m) == P11A_OK);
		sfv_member_free(&m);
	} else {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT && pos == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf *first, *second;

	if (size > FUZZ_SFV_MAX_INPUT)
		return 0;
	FUZZ_CHECK((first = buf_new(0)) != NULL && (second = buf_new(0)) != NULL);
	check_kind(ITEM, s, size, first, second);
	check_kind(LIST, s, size, first, second);
	check_kind(DICT, s, size, first, second);
	check_from_start(s, size, first);
	buf_free(first);
	buf_free(second);
	return 0;
}
