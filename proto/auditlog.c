/*
 * auditlog: audit trail lines and their chain check. See auditlog.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
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

static const uint8_t zero_mac[AUDITLOG_MAC_LEN];

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

/* Reads exactly AUDITLOG_MAC_LEN bytes of lowercase hex at s. */
static int unhex_mac(const char *s, uint8_t out[AUDITLOG_MAC_LEN])
{
	for (size_t i = 0; i < AUDITLOG_MAC_LEN; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
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
	int digits = 0;

	memset(&r, 0, sizeof(r));
	if (len < sizeof(SEQ_PREFIX) - 1 + MAC_FIELD_LEN + PREV_FIELD_LEN ||
	    memcmp(line, SEQ_PREFIX, sizeof(SEQ_PREFIX) - 1) != 0)
		return -1;
	/* seq: decimal, no leading zero, no overflow. */
	for (p = line + sizeof(SEQ_PREFIX) - 1; p < line + len && *p >= '0' && *p <= '9'; p++) {
		if (seq > (UINT64_MAX - 9) / 10 || (digits > 0 && seq == 0))
			return -1;
		seq = seq * 10 + (uint64_t)(*p - '0');
		digits++;
	}
	if (digits == 0 || seq == 0 || p >= line + len || *p != ',')
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

/* Records the first bad record in res. */
static void bad(struct auditlog_result *res, uint64_t seq, const struct auditlog_line *l,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void bad(struct auditlog_result *res, uint64_t seq, const struct auditlog_line *l,
		const char *fmt, ...)
{
	va_list ap;

	res->intact = 0;
	res->bad_seq = seq;
	res->bad_file = l->file;
	res->bad_line = l->line_no;
	va_start(ap, fmt);
	vsnprintf(res->what, sizeof(res->what), fmt, ap);
	va_end(ap);
}

/* Index of the first line from i on that holds record seq, or n. */
static size_t find_seq(const struct auditlog_rec *recs, const int *ok, size_t i, size_t n,
		       uint64_t seq)
{
	for (; i < n; i++)
		if (ok[i] && recs[i].seq == seq)
			return i;
	return n;
}

/* Checks one record's MAC against its own prev and body. */
static int check_mac(const struct auditlog_line *l, const struct auditlog_rec *rec,
		     auditlog_check_fn check, void *arg, int *out_valid)
{
	uint8_t mac[AUDITLOG_MAC_LEN];

	if (rec->keyed) {
		if (check == NULL) {
			*out_valid = 0;
			return P11A_OK;
		}
		return check(arg, rec->prev, l->p, rec->body_len, rec->mac, out_valid);
	}
	auditlog_sha256(rec->prev, l->p, rec->body_len, mac);
	*out_valid = CRYPTO_memcmp(mac, rec->mac, sizeof(mac)) == 0;
	return P11A_OK;
}

int auditlog_verify(const struct auditlog_line *lines, size_t n, int require_keyed,
		    auditlog_check_fn check, void *arg, struct auditlog_result *out)
{
	struct auditlog_result res;
	struct auditlog_rec *recs = NULL;
	int *ok = NULL, seen_keyed = 0, valid, rc;
	uint8_t last_mac[AUDITLOG_MAC_LEN];
	uint64_t exp = 1;
	size_t i, j;

	memset(&res, 0, sizeof(res));
	if ((recs = calloc(n + 1, sizeof(*recs))) == NULL ||
	    (ok = calloc(n + 1, sizeof(*ok))) == NULL) {
		rc = P11A_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		ok[i] = auditlog_parse(lines[i].p, lines[i].len, &recs[i]) == 0;
		/* One keyed record makes the whole trail keyed: the agent never mixes them. */
		if (ok[i] && recs[i].keyed)
			seen_keyed = 1;
	}
	res.intact = 1;
	for (i = 0; i < n && res.intact; i++) {
		const struct auditlog_rec *r = &recs[i];
		const struct auditlog_line *l = &lines[i];

		if (!ok[i]) {
			bad(&res, exp, l, "damaged: the line is not an audit record");
			break;
		}
		if (!r->keyed && (require_keyed || seen_keyed)) {
			bad(&res, r->seq, l,
			    "changed: not keyed (%s), where the chain must be keyed: it was "
			    "rewritten without the audit key",
			    AUDITLOG_CHAIN_UNKEYED);
			break;
		}
		if ((rc = check_mac(l, r, check, arg, &valid)) != P11A_OK)
			goto out;
		if (!valid) {
			bad(&res, r->seq, l,
			    r->keyed && check == NULL
				? "keyed: its MAC can only be checked by the agent"
				: "changed: its MAC does not match its content");
			break;
		}
		if (i == 0) {
			/* A chain starts at 1 from zeros; a later seq continues an earlier file. */
			if (r->seq == 1 &&
			    CRYPTO_memcmp(r->prev, zero_mac, sizeof(zero_mac)) != 0) {
				bad(&res, 1, l, "changed: record 1 does not start a chain");
				break;
			}
			res.first_seq = r->seq;
		} else if (r->seq > exp) {
			j = find_seq(recs, ok, i + 1, n, exp);
			if (j < n)
				bad(&res, exp, l,
				    "reordered: line %zu holds record %llu; record %llu is on line "
				    "%zu%s%s",
				    l->line_no, (unsigned long long)r->seq, (unsigned long long)exp,
				    lines[j].line_no, lines[j].file != l->file ? " of " : "",
				    lines[j].file != l->file ? lines[j].file : "");
			else if (r->seq == exp + 1)
				bad(&res, exp, l, "removed: line %zu holds record %llu", l->line_no,
				    (unsigned long long)r->seq);
			else
				bad(&res, exp, l, "removed: records %llu to %llu are missing",
				    (unsigned long long)exp, (unsigned long long)(r->seq - 1));
			break;
		} else if (r->seq < exp) {
			bad(&res, exp, l,
			    "reordered: line %zu holds record %llu, which belongs before record "
			    "%llu",
			    l->line_no, (unsigned long long)r->seq, (unsigned long long)exp - 1);
			break;
		} else if (CRYPTO_memcmp(r->prev, last_mac, sizeof(last_mac)) != 0) {
			/* Its own MAC covers its prev: the record before it was altered. */
			bad(&res, exp - 1, &lines[i - 1],
			    "changed: record %llu does not chain to it (its MAC was replaced)",
			    (unsigned long long)r->seq);
			break;
		}
		memcpy(last_mac, r->mac, sizeof(last_mac));
		exp = r->seq + 1;
		seen_keyed |= r->keyed;
		res.n_keyed += r->keyed ? 1 : 0;
		res.n_records++;
		res.last_seq = r->seq;
	}
	*out = res;
	rc = P11A_OK;
out:
	free(recs);
	free(ok);
	return rc;
}
