/*
 * audit-tail: reads the end of the trail file backwards, one line at a
 * time: its last record at start, and the record the token's head names.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit-impl.h"

/* How much of the file's end is read back at most for one line. */
#define TAIL_MAX (256u * 1024u)
/* How much of it is read at a time. */
#define TAIL_CHUNK (64u * 1024u)
/* Lines read back over a damaged end to find the last intact record. */
#define TAIL_LOOK_BACK 64

/* Reads the trail file backwards, one line at a time. */
struct back_reader {
	int fd;
	off_t start; /* the file offset of buf[0] */
	char *buf;
	size_t len; /* buf[0..len): the part of the file not handed out yet */
};

static int back_open(struct back_reader *r, int fd, char *msg, size_t msg_len, const char *path)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	if (fstat(fd, &st) != 0)
		return audit_fail(msg, msg_len, P11A_ERR_INTERNAL, "audit-file %s: %s", path,
				  strerror(errno));
	r->start = st.st_size;
	return P11A_OK;
}

/*
 * The line before the ones handed out, without its newline: 1 with
 * *out_line (NULL for a line longer than any record: the reader stops
 * there), 0 at the start of the file. *out_newline 0 when it is the file's
 * last line and it lacks its newline.
 */
static int back_line(struct back_reader *r, const char **out_line, size_t *out_len,
		     int *out_newline, char *msg, size_t msg_len, const char *path)
{
	size_t chunk, end, i;
	char *buf;
	ssize_t n;
	int nl;

	for (;;) {
		if (r->len == 0 && r->start == 0)
			return 0;
		nl = r->len > 0 && r->buf[r->len - 1] == '\n';
		end = nl ? r->len - 1 : r->len;
		for (i = end; i > 0 && r->buf[i - 1] != '\n'; i--)
			;
		if (r->len > 0 && (i > 0 || r->start == 0)) {
			*out_line = r->buf + i;
			*out_len = end - i;
			*out_newline = nl;
			r->len = i;
			return 1;
		}
		chunk = r->start < (off_t)TAIL_CHUNK ? (size_t)r->start : TAIL_CHUNK;
		if (r->len + chunk > TAIL_MAX) {
			r->len = 0;
			r->start = 0;
			*out_line = NULL;
			*out_len = 0;
			*out_newline = 1;
			return 1;
		}
		if ((buf = malloc(r->len + chunk)) == NULL)
			return audit_fail(msg, msg_len, -1, "out of memory");
		n = pread(r->fd, buf, chunk, r->start - (off_t)chunk);
		if (n != (ssize_t)chunk) {
			free(buf);
			return audit_fail(msg, msg_len, -1, "audit-file %s: cannot read it: %s",
					  path, n < 0 ? strerror(errno) : "short read");
		}
		if (r->len > 0)
			memcpy(buf + chunk, r->buf, r->len);
		free(r->buf);
		r->buf = buf;
		r->len += chunk;
		r->start -= (off_t)chunk;
	}
}

/* Parses a line back_line() gave; a last line without its newline is damaged. */
static int parse_line(const char *line, size_t len, int newline, struct auditlog_rec *out)
{
	return line != NULL && newline && auditlog_parse(line, len, out) == 0;
}

int audit_read_tail(struct audit *a, struct audit_tail *t, char *msg, size_t msg_len)
{
	struct back_reader r;
	struct auditlog_rec rec;
	const char *line;
	size_t len;
	int nl, k, rc;

	memset(t, 0, sizeof(*t));
	t->newline = 1;
	if ((rc = back_open(&r, a->fd, msg, msg_len, a->path)) != P11A_OK)
		return rc;
	for (int i = 0; i < TAIL_LOOK_BACK; i++) {
		if ((k = back_line(&r, &line, &len, &nl, msg, msg_len, a->path)) < 0) {
			rc = P11A_ERR_INTERNAL;
			goto out;
		}
		if (k == 0)
			break;
		if (i == 0) {
			t->newline = nl;
			t->state = AUDIT_TAIL_DAMAGED;
		}
		if (parse_line(line, len, nl, &rec)) {
			if (i == 0)
				t->state = AUDIT_TAIL_INTACT;
			t->last = rec;
			t->have_last = 1;
			break;
		}
		if (line == NULL)
			break;
	}
	rc = P11A_OK;
out:
	free(r.buf);
	return rc;
}

int audit_find_seq(struct audit *a, uint64_t seq, struct audit_tail *t, char *msg, size_t msg_len)
{
	struct back_reader r;
	struct auditlog_rec rec;
	const char *line;
	size_t len;
	int nl, k, rc, seen = 0;

	t->found = t->all_after = 0;
	if ((rc = back_open(&r, a->fd, msg, msg_len, a->path)) != P11A_OK)
		return rc;
	for (int first = 1;; first = 0) {
		if ((k = back_line(&r, &line, &len, &nl, msg, msg_len, a->path)) < 0) {
			rc = P11A_ERR_INTERNAL;
			goto out;
		}
		if (k == 0) {
			t->all_after = seen;
			break;
		}
		if (!parse_line(line, len, nl, &rec)) {
			if (first && line != NULL)
				continue; /* a damaged last line: a crash in the middle of a write
					   */
			break;
		}
		seen = 1;
		if (rec.seq <= seq) {
			t->found = rec.seq == seq;
			t->found_rec = rec;
			break;
		}
	}
	rc = P11A_OK;
out:
	free(r.buf);
	return rc;
}
