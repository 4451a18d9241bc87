/*
 * auditlog: the format of audit trail lines: a record's frame, its fields,
 * its unkeyed MAC. See auditlog.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auditlog.h"
#include "p11agent.h"

#define SEQ_PREFIX "{\"seq\":"
#define MAC_PREFIX ",\"mac\":\""
#define PREV_PREFIX ",\"prev\":\""
#define CHAIN_PREFIX ",\"chain\":\""
#define HEX_LEN (2 * AUDITLOG_MAC_LEN)
/* ,"mac":"HEX"} */
#define MAC_FIELD_LEN (sizeof(MAC_PREFIX) - 1 + HEX_LEN + 2)
/* ,"prev":"HEX" */
#define PREV_FIELD_LEN (sizeof(PREV_PREFIX) - 1 + HEX_LEN + 1)

void auditlog_hex(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* the trail writes lowercase only */
}

int auditlog_unhex(const char *s, size_t len, uint8_t *out, size_t max, size_t *out_len)
{
	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*out_len = len / 2;
	return 0;
}

/* Reads exactly AUDITLOG_MAC_LEN bytes of lowercase hex at s. */
static int unhex_mac(const char *s, uint8_t out[AUDITLOG_MAC_LEN])
{
	size_t n;

	return auditlog_unhex(s, 2 * AUDITLOG_MAC_LEN, out, AUDITLOG_MAC_LEN, &n);
}

/* Does p[0..len) end with the string s? */
static int ends_with(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p + len - n, s, n) == 0;
}

int auditlog_parse(const char *line, size_t len, struct auditlog_rec *out)
{
	struct auditlog_rec r;
	const char *p;
	size_t body_len, rest;
	uint64_t seq = 0;

	memset(&r, 0, sizeof(r));
	if (len < sizeof(SEQ_PREFIX) - 1 + MAC_FIELD_LEN + PREV_FIELD_LEN ||
	    memcmp(line, SEQ_PREFIX, sizeof(SEQ_PREFIX) - 1) != 0)
		return -1;
	/* seq: decimal, no leading zero, no overflow. */
	for (p = line + sizeof(SEQ_PREFIX) - 1; p < line + len && *p >= '0' && *p <= '9'; p++)
		;
	if (auditlog_u64(line + sizeof(SEQ_PREFIX) - 1,
			 (size_t)(p - line) - (sizeof(SEQ_PREFIX) - 1), &seq) != 0 ||
	    seq == 0 || p >= line + len || *p != ',')
		return -1;
	/* ,"mac":"HEX"} at the very end. */
	body_len = len - MAC_FIELD_LEN;
	if (memcmp(line + body_len, MAC_PREFIX, sizeof(MAC_PREFIX) - 1) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0 ||
	    unhex_mac(line + body_len + sizeof(MAC_PREFIX) - 1, r.mac) != 0)
		return -1;
	/* ,"prev":"HEX" ends the body, after ,"chain":"NAME". */
	rest = body_len - PREV_FIELD_LEN;
	if (memcmp(line + rest, PREV_PREFIX, sizeof(PREV_PREFIX) - 1) != 0 ||
	    line[body_len - 1] != '"' ||
	    unhex_mac(line + rest + sizeof(PREV_PREFIX) - 1, r.prev) != 0)
		return -1;
	if (ends_with(line, rest, CHAIN_PREFIX AUDITLOG_CHAIN_KEYED "\""))
		r.keyed = 1;
	else if (!ends_with(line, rest, CHAIN_PREFIX AUDITLOG_CHAIN_UNKEYED "\""))
		return -1;
	r.seq = seq;
	r.body_len = body_len;
	*out = r;
	return 0;
}

void auditlog_sha256(const uint8_t prev[AUDITLOG_MAC_LEN], const char *body, size_t body_len,
		     uint8_t out[AUDITLOG_MAC_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev, AUDITLOG_MAC_LEN) != 1 ||
	    EVP_DigestUpdate(ctx, body, body_len) != 1 || EVP_DigestFinal_ex(ctx, out, &n) != 1)
		memset(out, 0xff, AUDITLOG_MAC_LEN); /* matches no record: it fails closed */
	EVP_MD_CTX_free(ctx);
}

int auditlog_u64(const char *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || (len > 1 && p[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Nesting of objects and arrays a record's value may have. */
#define MAX_DEPTH 4

/*
 * Skips one JSON value at p[*i] (p[0..len)), setting *i past it. The trail's
 * values are strings, numbers, true, false, null and flat objects; arrays
 * and nesting up to MAX_DEPTH are skipped too.
 */
static int skip_value(const char *p, size_t len, size_t *i, int depth)
{
	size_t j = *i;

	if (j >= len || depth > MAX_DEPTH)
		return -1;
	if (p[j] == '"') {
		for (j++; j < len && p[j] != '"'; j++) {
			if (p[j] == '\\' && ++j >= len)
				return -1;
		}
		if (j >= len)
			return -1;
		*i = j + 1;
		return 0;
	}
	if (p[j] == '{' || p[j] == '[') {
		char close = p[j] == '{' ? '}' : ']';

		j++;
		if (j < len && p[j] == close) {
			*i = j + 1;
			return 0;
		}
		for (;;) {
			if (close == '}') {
				if (j >= len || p[j] != '"' ||
				    skip_value(p, len, &j, depth + 1) != 0 || j >= len ||
				    p[j++] != ':')
					return -1;
			}
			if (skip_value(p, len, &j, depth + 1) != 0 || j >= len)
				return -1;
			if (p[j] == close) {
				*i = j + 1;
				return 0;
			}
			if (p[j++] != ',')
				return -1;
		}
	}
	/* A number, true, false or null. */
	while (j < len && ((p[j] >= '0' && p[j] <= '9') || (p[j] >= 'a' && p[j] <= 'z') ||
			   p[j] == '-' || p[j] == '+' || p[j] == '.' || p[j] == 'E'))
		j++;
	if (j == *i)
		return -1;
	*i = j;
	return 0;
}

int auditlog_field(const char *p, size_t len, const char *name, struct auditlog_val *out)
{
	size_t name_len = strlen(name), i = 1, k, v;

	if (len < 2 || p[0] != '{')
		return -1;
	while (i < len && p[i] != '}') {
		k = i;
		if (p[i] != '"' || skip_value(p, len, &i, 1) != 0 || i >= len || p[i++] != ':')
			return -1;
		v = i;
		if (skip_value(p, len, &i, 1) != 0 || i >= len)
			return -1;
		if (v == k + name_len + 3 && memcmp(p + k + 1, name, name_len) == 0) {
			struct auditlog_val val;

			if (p[v] == '"') {
				val.type = AUDITLOG_V_STRING;
				val.p = p + v + 1;
				val.len = i - v - 2;
			} else {
				val.type = p[v] == '{' ? AUDITLOG_V_OBJECT
					   : (i - v == 4 && memcmp(p + v, "null", 4) == 0)
					       ? AUDITLOG_V_NULL
					       : AUDITLOG_V_NUMBER;
				val.p = p + v;
				val.len = i - v;
			}
			*out = val;
			return 0;
		}
		if (p[i] == ',')
			i++;
		else if (p[i] != '}')
			return -1;
	}
	return -1;
}
