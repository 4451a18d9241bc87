#include "config.h"
/*
 * test-buf: the bounded wire buffer (proto/buf.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "p11agent.h"

/* Asserts that b holds exactly want[0..len). */
static void assert_content(const struct buf *b, const void *want, size_t len)
{
	assert_int_equal(buf_len(b), len);
	if (len > 0)
		assert_memory_equal(buf_data(b), want, len);
}

static void test_new_free(void **state)
{
	struct buf *b = buf_new(0);

	assert_non_null(b);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
	buf_free(NULL);
}

static void test_put_get_u8(void **state)
{
	struct buf *b = buf_new(0);
	uint8_t v = 0;

	assert_int_equal(buf_put_u8(b, 0x00), P11A_OK);
	assert_int_equal(buf_put_u8(b, 0x7f), P11A_OK);
	assert_int_equal(buf_put_u8(b, 0xff), P11A_OK);
	assert_content(b, "\x00\x7f\xff", 3);
	assert_int_equal(buf_get_u8(b, &v), P11A_OK);
	assert_int_equal(v, 0x00);
	assert_int_equal(buf_get_u8(b, &v), P11A_OK);
	assert_int_equal(v, 0x7f);
	assert_int_equal(buf_get_u8(b, &v), P11A_OK);
	assert_int_equal(v, 0xff);
	assert_int_equal(buf_avail(b), 0);
	v = 0x42;
	assert_int_equal(buf_get_u8(b, &v), P11A_ERR_BAD_REQUEST);
	assert_int_equal(v, 0x42); /* untouched on failure */
	buf_free(b);
}

static void test_put_get_u32(void **state)
{
	struct buf *b = buf_new(0);
	uint32_t v = 0;

	assert_int_equal(buf_put_u32(b, 0x01020304u), P11A_OK);
	assert_int_equal(buf_put_u32(b, 0xffffffffu), P11A_OK);
	assert_int_equal(buf_put_u32(b, 0), P11A_OK);
	assert_content(b, "\x01\x02\x03\x04\xff\xff\xff\xff\x00\x00\x00\x00", 12);
	assert_int_equal(buf_get_u32(b, &v), P11A_OK);
	assert_int_equal(v, 0x01020304u);
	assert_int_equal(buf_get_u32(b, &v), P11A_OK);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(buf_get_u32(b, &v), P11A_OK);
	assert_int_equal(v, 0);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

static void test_put_get_u64(void **state)
{
	struct buf *b = buf_new(0);
	uint64_t v = 0;

	assert_int_equal(buf_put_u64(b, 0x0102030405060708ull), P11A_OK);
	assert_int_equal(buf_put_u64(b, UINT64_MAX), P11A_OK);
	assert_content(b, "\x01\x02\x03\x04\x05\x06\x07\x08\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	assert_int_equal(buf_get_u64(b, &v), P11A_OK);
	assert_int_equal(v, 0x0102030405060708ull);
	assert_int_equal(buf_get_u64(b, &v), P11A_OK);
	assert_true(v == UINT64_MAX);
	buf_free(b);
}

static void test_put_get_bytes(void **state)
{
	struct buf *b = buf_new(0);

	assert_int_equal(buf_put(b, "abc", 3), P11A_OK);
	assert_int_equal(buf_put(b, NULL, 0), P11A_OK);
	assert_int_equal(buf_put(b, "de", 2), P11A_OK);
	assert_content(b, "abcde", 5);
	assert_int_equal(buf_avail(b), 5);
	assert_memory_equal(buf_ptr(b), "abcde", 5);
	assert_int_equal(buf_skip(b, 2), P11A_OK);
	assert_int_equal(buf_avail(b), 3);
	assert_memory_equal(buf_ptr(b), "cde", 3);
	assert_int_equal(buf_skip(b, 4), P11A_ERR_BAD_REQUEST);
	assert_int_equal(buf_avail(b), 3);
	assert_int_equal(buf_skip(b, 3), P11A_OK);
	assert_int_equal(buf_avail(b), 0);
	assert_int_equal(buf_skip(b, 0), P11A_OK);
	assert_int_equal(buf_skip(b, 1), P11A_ERR_BAD_REQUEST);
	buf_free(b);
}

static void test_put_get_string(void **state)
{
	struct buf *b = buf_new(0);
	const uint8_t *p = NULL;
	size_t len = 99;

	assert_int_equal(buf_put_string(b, "hello", 5), P11A_OK);
	assert_int_equal(buf_put_string(b, "a\0b", 3), P11A_OK); /* binary: NUL is fine */
	assert_content(b, "\x00\x00\x00\x05hello\x00\x00\x00\003a\0b", 16);
	assert_int_equal(buf_get_string_direct(b, 5, &p, &len), P11A_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello", 5);
	/* Points into the buffer, no copy. */
	assert_ptr_equal(p, buf_data(b) + 4);
	assert_int_equal(buf_get_string_direct(b, 100, &p, &len), P11A_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "a\0b", 3);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

static void test_put_get_cstring(void **state)
{
	struct buf *b = buf_new(0);
	char *s = NULL;

	assert_int_equal(buf_put_cstring(b, "key-1"), P11A_OK);
	assert_int_equal(buf_put_cstring(b, ""), P11A_OK);
	assert_int_equal(buf_put_cstring(b, NULL), P11A_OK); /* NULL is "" */
	assert_content(b, "\x00\x00\x00\x05key-1\x00\x00\x00\x00\x00\x00\x00\x00", 17);
	assert_int_equal(buf_get_cstring(b, 64, &s), P11A_OK);
	assert_string_equal(s, "key-1");
	free(s);
	s = NULL;
	assert_int_equal(buf_get_cstring(b, 64, &s), P11A_OK);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	s = NULL;
	assert_int_equal(buf_get_cstring(b, 0, &s), P11A_OK); /* max 0 allows "" */
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

static void test_zero_length_string(void **state)
{
	struct buf *b = buf_new(0);
	const uint8_t *p = NULL;
	size_t len = 99;

	assert_int_equal(buf_put_string(b, NULL, 0), P11A_OK);
	assert_content(b, "\x00\x00\x00\x00", 4);
	assert_int_equal(buf_get_string_direct(b, 0, &p, &len), P11A_OK);
	assert_int_equal(len, 0);
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

/* Every getter on every truncation of a buffer: BAD_REQUEST, offset unchanged. */
static void test_truncated_reads(void **state)
{
	static const uint8_t full[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
	struct buf b;
	uint8_t u8 = 0x5a;
	uint32_t u32 = 0x5a5a5a5a;
	uint64_t u64 = 0x5a5a5a5a5a5a5a5aull;
	const uint8_t *p = (const uint8_t *)"sentinel";
	size_t len = 77;
	char *s = (char *)"sentinel";

	for (size_t n = 0; n < sizeof(full); n++) {
		buf_view(&b, full, n);
		if (n < 1)
			assert_int_equal(buf_get_u8(&b, &u8), P11A_ERR_BAD_REQUEST);
		if (n < 4)
			assert_int_equal(buf_get_u32(&b, &u32), P11A_ERR_BAD_REQUEST);
		if (n < 8)
			assert_int_equal(buf_get_u64(&b, &u64), P11A_ERR_BAD_REQUEST);
		assert_int_equal(buf_get_string_direct(&b, 100, &p, &len), P11A_ERR_BAD_REQUEST);
		assert_int_equal(buf_get_cstring(&b, 100, &s), P11A_ERR_BAD_REQUEST);
		assert_int_equal(buf_avail(&b), n);
		assert_int_equal(b.off, 0);
	}
	/* Outputs untouched. */
	assert_int_equal(u8, 0x5a);
	assert_int_equal(u32, 0x5a5a5a5a);
	assert_true(u64 == 0x5a5a5a5a5a5a5a5aull);
	assert_int_equal(len, 77);
	assert_string_equal((const char *)p, "sentinel");
	assert_string_equal(s, "sentinel");

	/* After a partial read: a truncated read keeps the current offset. */
	buf_view(&b, full, 7);
	assert_int_equal(buf_get_u8(&b, &u8), P11A_OK);
	assert_int_equal(buf_get_u64(&b, &u64), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 1);
	assert_int_equal(buf_get_u32(&b, &u32), P11A_OK);
	assert_int_equal(u32, 0x000005 << 8 | 'h');
	assert_int_equal(buf_get_u32(&b, &u32), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 5);
}

static void test_string_too_long_for_max(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
	struct buf b;
	const uint8_t *p;
	size_t len;
	char *s;

	buf_view(&b, wire, sizeof(wire));
	assert_int_equal(buf_get_string_direct(&b, 4, &p, &len), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_cstring(&b, 4, &s), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_string_direct(&b, 5, &p, &len), P11A_OK);
	assert_int_equal(len, 5);
}

static void test_string_longer_than_remaining(void **state)
{
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'x', 'y'};
	static const uint8_t over[] = {0, 0, 0, 3, 'x', 'y'};
	struct buf b;
	const uint8_t *p;
	size_t len;
	char *s;

	buf_view(&b, huge, sizeof(huge));
	assert_int_equal(buf_get_string_direct(&b, SIZE_MAX, &p, &len), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_cstring(&b, SIZE_MAX, &s), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);

	buf_view(&b, over, sizeof(over));
	assert_int_equal(buf_get_string_direct(&b, SIZE_MAX, &p, &len), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_get_cstring(&b, SIZE_MAX, &s), P11A_ERR_BAD_REQUEST);
	assert_int_equal(b.off, 0);
}

static void test_cstring_embedded_nul(void **state)
{
	static const uint8_t mid[] = {0, 0, 0, 3, 'a', 0, 'b'};
	static const uint8_t end[] = {0, 0, 0, 2, 'a', 0};
	static const uint8_t only[] = {0, 0, 0, 1, 0};
	const uint8_t *cases[] = {mid, end, only};
	const size_t lens[] = {sizeof(mid), sizeof(end), sizeof(only)};
	char *s = NULL;
	struct buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_view(&b, cases[i], lens[i]);
		assert_int_equal(buf_get_cstring(&b, 100, &s), P11A_ERR_BAD_REQUEST);
		assert_null(s);
		assert_int_equal(b.off, 0);
	}
}

static void test_writer_max(void **state)
{
	struct buf *b = buf_new(6);

	assert_int_equal(buf_put(b, "abcd", 4), P11A_OK);
	assert_int_equal(buf_put(b, "xyz", 3), P11A_ERR_TOO_LARGE);
	assert_content(b, "abcd", 4);
	assert_int_equal(buf_put_u32(b, 1), P11A_ERR_TOO_LARGE);
	assert_content(b, "abcd", 4);
	assert_int_equal(buf_put_u64(b, 1), P11A_ERR_TOO_LARGE);
	assert_content(b, "abcd", 4);
	assert_int_equal(buf_put_string(b, "", 0), P11A_ERR_TOO_LARGE);
	assert_content(b, "abcd", 4);
	assert_int_equal(buf_put_u8(b, 'e'), P11A_OK);
	assert_int_equal(buf_put_u8(b, 'f'), P11A_OK);
	assert_content(b, "abcdef", 6);
	assert_int_equal(buf_put_u8(b, 'g'), P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_put(b, NULL, 0), P11A_OK); /* nothing more: fits */
	assert_content(b, "abcdef", 6);
	buf_free(b);
}

/*
 * A write that would pass max changes nothing, even when its first part
 * would fit: a u64 whose high half fits, a string whose length prefix fits.
 */
static void test_writer_max_atomic(void **state)
{
	struct buf *b = buf_new(10);

	assert_int_equal(buf_put_u32(b, 0x11111111), P11A_OK);
	assert_int_equal(buf_put_u64(b, 0x2222222233333333ull), P11A_ERR_TOO_LARGE);
	assert_content(b, "\x11\x11\x11\x11", 4);
	assert_int_equal(buf_put_string(b, "abc", 3), P11A_ERR_TOO_LARGE);
	assert_content(b, "\x11\x11\x11\x11", 4);
	assert_int_equal(buf_put_cstring(b, "abc"), P11A_ERR_TOO_LARGE);
	assert_content(b, "\x11\x11\x11\x11", 4);
	/* Exactly at the limit is fine. */
	assert_int_equal(buf_put_string(b, "ab", 2), P11A_OK);
	assert_content(b, "\x11\x11\x11\x11\x00\x00\x00\002ab", 10);
	buf_free(b);
}

/* buf_new(0) and oversized maxima are capped at BUF_MAX_SIZE plus a frame length. */
static void test_default_max(void **state)
{
	struct buf *b = buf_new(0);
	uint8_t *big = calloc(1, BUF_MAX_SIZE + 4);

	assert_non_null(big);
	assert_int_equal(buf_put(b, big, BUF_MAX_SIZE + 4), P11A_OK);
	assert_int_equal(buf_put_u8(b, 0), P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_len(b), BUF_MAX_SIZE + 4);
	buf_free(b);

	b = buf_new(SIZE_MAX);
	assert_int_equal(buf_put(b, big, BUF_MAX_SIZE + 4), P11A_OK);
	assert_int_equal(buf_put_u8(b, 0), P11A_ERR_TOO_LARGE);
	buf_free(b);

	/* A string longer than the maximum is refused before anything is written. */
	b = buf_new(0);
	assert_int_equal(buf_put_string(b, big, BUF_MAX_SIZE + 1), P11A_ERR_TOO_LARGE);
	assert_int_equal(buf_len(b), 0);
	buf_free(b);
	free(big);
}

static void test_view_readonly(void **state)
{
	static const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t copy[sizeof(data)];
	struct buf b;
	uint32_t v;

	memcpy(copy, data, sizeof(data));
	buf_view(&b, copy, sizeof(copy));
	assert_int_equal(buf_len(&b), sizeof(copy));
	assert_int_equal(buf_avail(&b), sizeof(copy));
	assert_ptr_equal(buf_data(&b), copy);
	assert_int_not_equal(buf_put(&b, "x", 1), P11A_OK);
	assert_int_not_equal(buf_put(&b, NULL, 0), P11A_OK);
	assert_int_not_equal(buf_put_u8(&b, 9), P11A_OK);
	assert_int_not_equal(buf_put_u32(&b, 9), P11A_OK);
	assert_int_not_equal(buf_put_u64(&b, 9), P11A_OK);
	assert_int_not_equal(buf_put_string(&b, "x", 1), P11A_OK);
	assert_int_not_equal(buf_put_string(&b, "0123456789", 10), P11A_OK);
	assert_int_not_equal(buf_put_cstring(&b, "x"), P11A_OK);
	assert_int_not_equal(buf_poke_u32(&b, 0, 0xdeadbeef), P11A_OK);
	assert_int_equal(buf_len(&b), sizeof(copy));
	assert_memory_equal(copy, data, sizeof(data));

	assert_int_equal(buf_get_u32(&b, &v), P11A_OK);
	assert_int_equal(v, 0x01020304);
	/* Reset rewinds a view, and writes nothing. */
	buf_reset(&b);
	assert_int_equal(buf_avail(&b), sizeof(copy));
	assert_memory_equal(copy, data, sizeof(data));

	/* An empty view. */
	buf_view(&b, NULL, 0);
	assert_int_equal(buf_avail(&b), 0);
	assert_int_equal(buf_get_u8(&b, (uint8_t *)copy), P11A_ERR_BAD_REQUEST);
	assert_int_not_equal(buf_put_u8(&b, 1), P11A_OK);
}

static void test_poke(void **state)
{
	struct buf *b = buf_new(0);

	assert_int_equal(buf_poke_u32(b, 0, 1), P11A_ERR_INVALID_ARG); /* empty */
	assert_int_equal(buf_put(b, "\0\0\0\0\0\0", 6), P11A_OK);
	assert_int_equal(buf_poke_u32(b, 0, 0x01020304), P11A_OK);
	assert_content(b, "\x01\x02\x03\x04\x00\x00", 6);
	assert_int_equal(buf_poke_u32(b, 2, 0xa1b2c3d4), P11A_OK);
	assert_content(b, "\x01\x02\xa1\xb2\xc3\xd4", 6);
	assert_int_equal(buf_poke_u32(b, 3, 0), P11A_ERR_INVALID_ARG);
	assert_int_equal(buf_poke_u32(b, 6, 0), P11A_ERR_INVALID_ARG);
	assert_int_equal(buf_poke_u32(b, 7, 0), P11A_ERR_INVALID_ARG);
	assert_int_equal(buf_poke_u32(b, SIZE_MAX, 0), P11A_ERR_INVALID_ARG);
	assert_int_equal(buf_poke_u32(b, SIZE_MAX - 2, 0), P11A_ERR_INVALID_ARG);
	assert_content(b, "\x01\x02\xa1\xb2\xc3\xd4", 6);
	buf_free(b);
}

static void test_growth(void **state)
{
	struct buf *b = buf_new(0);
	uint32_t v;

	/* Many small puts: the buffer grows past several reallocations. */
	for (uint32_t i = 0; i < 100000; i++)
		assert_int_equal(buf_put_u32(b, i * 2654435761u), P11A_OK);
	assert_int_equal(buf_len(b), 400000);
	for (uint32_t i = 0; i < 100000; i++) {
		assert_int_equal(buf_get_u32(b, &v), P11A_OK);
		assert_int_equal(v, i * 2654435761u);
	}
	assert_int_equal(buf_avail(b), 0);
	buf_free(b);
}

static void test_reset(void **state)
{
	struct buf *b = buf_new(8);
	uint8_t v;

	assert_int_equal(buf_put(b, "abcdefgh", 8), P11A_OK);
	assert_int_equal(buf_get_u8(b, &v), P11A_OK);
	buf_reset(b);
	assert_int_equal(buf_len(b), 0);
	assert_int_equal(buf_avail(b), 0);
	/* All of max is available again. */
	assert_int_equal(buf_put(b, "12345678", 8), P11A_OK);
	assert_content(b, "12345678", 8);
	assert_int_equal(buf_get_u8(b, &v), P11A_OK);
	assert_int_equal(v, '1');
	buf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_free),
	    cmocka_unit_test(test_put_get_u8),
	    cmocka_unit_test(test_put_get_u32),
	    cmocka_unit_test(test_put_get_u64),
	    cmocka_unit_test(test_put_get_bytes),
	    cmocka_unit_test(test_put_get_string),
	    cmocka_unit_test(test_put_get_cstring),
	    cmocka_unit_test(test_zero_length_string),
	    cmocka_unit_test(test_truncated_reads),
	    cmocka_unit_test(test_string_too_long_for_max),
	    cmocka_unit_test(test_string_longer_than_remaining),
	    cmocka_unit_test(test_cstring_embedded_nul),
	    cmocka_unit_test(test_writer_max),
	    cmocka_unit_test(test_writer_max_atomic),
	    cmocka_unit_test(test_default_max),
	    cmocka_unit_test(test_view_readonly),
	    cmocka_unit_test(test_poke),
	    cmocka_unit_test(test_growth),
	    cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
