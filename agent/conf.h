/*
 * conf: p11agentd's settings, from the config file and the command line.
 *
 * The file holds "key = value" lines; a '#' at the start of a line, or after
 * blank space outside quotes, starts a comment; blank lines are ignored;
 * spaces and tabs around keys and values are trimmed; a value may be put in
 * double quotes (no escapes inside). "[section]" lines are refused for now
 * (reserved for later: [key NAME]). Every command-line flag is also a key:
 * module, token, pin-source, socket, foreground, log-level; plus pool-size.
 * The last of several lines setting a key wins. Errors name the file and the
 * line, and never quote a value (a token URI may hold a pin-value).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CONF_H
#define P11AGENT_CONF_H

#include <stddef.h>

/* Longest line of a config file, in bytes, without its newline. */
#define CONF_MAX_LINE 4096
/* Largest config file read. */
#define CONF_MAX_FILE (1024u * 1024u)
/* Bounds and default of pool-size. */
#define CONF_POOL_MIN 1u
#define CONF_POOL_MAX 256u
#define CONF_POOL_DEFAULT 8u

struct agent_config {
	char *module;	    /* PKCS#11 module path */
	char *token;	    /* RFC 7512 token URI */
	char *pin_source;   /* file:PATH or env:VAR; may be NULL (URI pin-source, or none) */
	char *socket;	    /* socket path; NULL: the default */
	int foreground;	    /* 1: stay in the foreground, log to stderr */
	char *log_level;    /* "error", "warn", "info", "debug" */
	unsigned pool_size; /* PKCS#11 sessions in the pool (default 8) */
};

/* Sets defaults (all strings NULL, foreground 0, pool_size 8). */
void config_init(struct agent_config *cfg);
/* Frees the strings of cfg. */
void config_clear(struct agent_config *cfg);

/*
 * Sets one key of cfg. Returns 0, or -1 with a message ("unknown key 'x'",
 * "foreground: expected yes or no") in msg; cfg is then unchanged.
 */
int config_set(struct agent_config *cfg, const char *key, const char *value, char *msg,
	       size_t msg_len);

/*
 * Reads the file at path into cfg (keys already set are overwritten).
 * Returns 0, or -1 with "PATH:LINE: what is wrong" (or "PATH: why" when the
 * file cannot be read) in msg; on failure cfg is unchanged.
 */
int config_load_file(struct agent_config *cfg, const char *path, char *msg, size_t msg_len);

/* Same as config_load_file, on a string (for tests and fuzzing); name is used in messages. */
int config_load_string(struct agent_config *cfg, const char *name, const char *text, size_t len,
		       char *msg, size_t msg_len);

#endif
