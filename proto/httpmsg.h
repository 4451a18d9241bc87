/*
 * httpmsg: an HTTP/1.1 message as RFC 9421 signs it: its start line, its
 * field lines (names lowercased, values trimmed, obsolete line folding
 * unfolded), and its body; and the same bytes back with field lines added at
 * the end of the header section.
 *
 * The message is kept as read, so that writing it back changes nothing but
 * the lines added. Lines may end in CRLF or in LF alone (a file written by
 * hand); added lines end as the start line does.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_HTTPMSG_H
#define P11AGENT_HTTPMSG_H

#include <stddef.h>
#include <stdint.h>

/* Largest message p11a_http_parse() takes: 64 MiB (the body is only hashed). */
#define HTTPMSG_MAX (64u * 1024u * 1024u)
/* Largest header section, and most field lines. */
#define HTTPMSG_MAX_HEAD (1024u * 1024u)
#define HTTPMSG_MAX_FIELDS 1024u

/* One field line. */
struct httpmsg_field {
	char *name;	  /* lowercased */
	char *value;	  /* leading and trailing whitespace stripped, obs-fold unfolded */
	size_t value_len; /* may hold bytes above 0x7f; never NUL, CR or LF */
};

struct p11a_http_msg {
	uint8_t *raw; /* the message as read */
	size_t raw_len;
	size_t head_end; /* offset of the empty line that ends the header section */
	int crlf;	 /* the start line ends in CRLF */
	int request;	 /* 1: a request; 0: a response */
	char *method;	 /* request: the method, as sent (case-sensitive) */
	char *target;	 /* request: the request target, as sent */
	int status;	 /* response: the status code, 100 to 999 */
	struct httpmsg_field *fields;
	size_t n_fields;
	char *added; /* field lines added since parsing, each ending as the start line does */
	size_t added_len;
	const uint8_t *body; /* into raw */
	size_t body_len;
};

/* The i-th value of the field named name (lowercase), or NULL; *out_n counts them all. */
const struct httpmsg_field *httpmsg_field(const struct p11a_http_msg *m, const char *name, size_t i,
					  size_t *out_n);

struct buf;
/*
 * Appends the values of the fields named name (lowercase) to out, joined by
 * ", " as RFC 9110 (5.3) combines field lines; nothing when there is none.
 * A buf writer's error (TOO_LARGE, NOMEM), without a reason.
 */
int httpmsg_combined(const struct p11a_http_msg *m, const char *name, struct buf *out);

/*
 * Sets the thread's reason (p11a_http_message()) and returns err, for
 * "return httpmsg_fail(...)". httpmsg_clear_why() empties it.
 */
int httpmsg_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void httpmsg_clear_why(void);

/*
 * Up to max bytes of p[0..n) as text fit for a message on a terminal: bytes
 * outside printable ASCII and the backslash as \xHH, "..." when cut. Returns
 * out, always NUL-terminated.
 */
const char *httpmsg_shown(const void *p, size_t n, size_t max, char *out, size_t out_len);

/* 1 when c is an RFC 9110 tchar (a byte of a token: a method, a field name). */
int httpmsg_tchar(int c);

#endif
