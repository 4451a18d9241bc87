#include "config.h"
/*
 * log: the daemon's one place to report.
 *
 * In the foreground each message is one line on stderr,
 * "p11agentd[PID]: LEVEL: message", written with a single write(2) so that
 * lines from several threads never mix (a line stays under PIPE_BUF). As a
 * daemon, messages go to syslog(3) (identity p11agentd, LOG_PID, LOG_DAEMON).
 * Control characters are replaced, so that a client-supplied string cannot
 * forge a log line.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* Longest message text; longer ones are cut and end in "...". */
#define LOG_MAX_TEXT 2048
#define LOG_IDENT "p11agentd"

static atomic_int log_level_cur = LOG_LVL_INFO;
static atomic_int log_to_syslog = 0;
static atomic_int log_syslog_open = 0;

static const struct {
	const char *name;
	int prio;
} log_levels[] = {
    [LOG_LVL_ERROR] = {"error", LOG_ERR},
    [LOG_LVL_WARN] = {"warn", LOG_WARNING},
    [LOG_LVL_INFO] = {"info", LOG_INFO},
    [LOG_LVL_DEBUG] = {"debug", LOG_DEBUG},
};

int log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcasecmp(s, log_levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_set_level(enum log_level lvl)
{
	if ((int)lvl < LOG_LVL_ERROR)
		lvl = LOG_LVL_ERROR;
	if ((int)lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	atomic_store(&log_level_cur, (int)lvl);
}

void log_set_syslog(int to_syslog)
{
	if (to_syslog && !atomic_exchange(&log_syslog_open, 1))
		openlog(LOG_IDENT, LOG_PID, LOG_DAEMON);
	atomic_store(&log_to_syslog, to_syslog ? 1 : 0);
}

/* Writes all of p[0..len) to fd; gives up quietly (there is nowhere to report). */
static void log_write_all(int fd, const char *p, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = write(fd, p, len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		p += r;
		len -= (size_t)r;
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char text[LOG_MAX_TEXT];
	char line[LOG_MAX_TEXT + 64];
	va_list ap;
	size_t i;
	int n, saved_errno = errno;

	if ((int)lvl < LOG_LVL_ERROR || (int)lvl > LOG_LVL_DEBUG)
		lvl = LOG_LVL_ERROR;
	if ((int)lvl > atomic_load(&log_level_cur))
		goto out;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(text, sizeof(text), "(log message could not be formatted)");
	else if ((size_t)n >= sizeof(text))
		memcpy(text + sizeof(text) - 4, "...", 4);
	for (i = 0; text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f)
			text[i] = c == '\t' ? ' ' : '?';
	}

	if (atomic_load(&log_to_syslog)) {
		syslog(log_levels[lvl].prio, "%s", text);
		goto out;
	}
	n = snprintf(line, sizeof(line), LOG_IDENT "[%ld]: %s: %s\n", (long)getpid(),
		     log_levels[lvl].name, text);
	if (n > 0)
		log_write_all(STDERR_FILENO, line,
			      (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
out:
	errno = saved_errno;
}
