/*
 * log: the daemon's one place to report. Library code never prints; the
 * agent logs once, with the function and the cause. Never a PIN or a secret.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_LOG_H
#define P11AGENT_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* Parses "error", "warn", "info", "debug". Returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level lvl);
/* to_syslog: 1 sends lines to syslog (daemon mode), 0 to stderr. */
void log_set_syslog(int to_syslog);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
