/*
 * output: what p11agent prints for people and for programs: errors on stderr
 * (one "p11agent: " line, or one JSON object with --json), the key list as a
 * table or a JSON array, and the exit status of every error.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_OUTPUT_H
#define P11AGENT_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "p11agent.h"

/* Exit statuses (p11agent.1, EXIT STATUS). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1	       /* verification failed, or the agent/token refused */
#define CLI_EXIT_UNREACHABLE 3 /* connect, I/O, protocol errors, an unsafe socket */
#define CLI_EXIT_DENIED 4
#define CLI_EXIT_NO_KEY 5 /* no such key, ambiguous key */
#define CLI_EXIT_TOKEN 6  /* token unavailable */

/* The exit status for a p11a_err code. */
int cli_exit_code(int err);

/*
 * Reports an error on stderr and returns the exit status to use.
 * name is the error's stable identifier for --json ("NO_SUCH_KEY", "USAGE",
 * "FILE"); msg may hold several lines. Text: "p11agent: " msg. JSON:
 * {"error":name,"code":status,"message":msg}.
 */
int cli_report(int json, const char *name, int status, const char *msg);

/* printf-style cli_report(). */
int cli_reportf(int json, const char *name, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Reports a libp11agent error err. what says what was being done ("sign with
 * 'mykey'"); the agent's message on conn (may be NULL) and a hint on what to
 * do next are added; path is the socket, for connection errors.
 * Returns cli_exit_code(err).
 */
int cli_report_p11a(int json, int err, const struct p11a_conn *conn, const char *path,
		    const char *what);

/* Writes s as a JSON string, quotes included, escaping what JSON requires. */
void cli_json_string(FILE *f, const char *s);

/*
 * Length of the well-formed UTF-8 sequence at s (1 to 4 bytes; RFC 3629: no
 * overlong forms, surrogates or code points above U+10FFFF), or 0 when the
 * byte at s starts none.
 */
size_t cli_utf8_len(const unsigned char *s);

/*
 * With --json (json != 0) and the result written to a file (out neither
 * NULL nor "-"), prints {"key":KEY,"version":V,"out":OUT} on stdout: which
 * version of key made the result (res, from p11a_last_result()); a rewrap
 * adds "from_version" before "version". Does
 * nothing otherwise, so that stdout holds only the result when it goes there.
 */
void cli_json_result(int json, const char *key, const char *out, const struct p11a_result *res);

/* Writes len bytes as lowercase hex. */
void cli_hex(FILE *f, const uint8_t *p, size_t len);

/* The NAME column of a key: its label, or "id:HEX" when it has none. Caller frees. */
char *cli_key_name(const struct p11a_key_info *k);

/*
 * Writes one key as a JSON object, as 'list --json' prints each key (no
 * newline). fingerprint may be NULL ("" then); state, when not NULL, is
 * added as "state" (versions).
 */
void cli_json_key(FILE *f, const struct p11a_key_info *k, const char *fingerprint,
		  const char *state);

/*
 * Prints the key list: a table (NAME  TYPE  OPS  FINGERPRINT  [VERSION]
 * [CERT]  URI: VERSION when a key has a version above 1, CERT, its
 * certificate's expiry date, when a key has a certificate), or with
 * json a JSON array (a newline after either). fingerprints (may be NULL)
 * holds n OpenSSH fingerprints, NULL or "" for a key without one: "-" in the
 * table, "" in JSON.
 */
void cli_print_keys(FILE *f, const struct p11a_key_info *keys, const char *const *fingerprints,
		    size_t n, int json);

#endif
