/*
 * conf-impl: what conf.c (global keys, lines, files) and conf-key.c ([key
 * NAME] sections) share. Private to those two files.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CONF_IMPL_H
#define P11AGENT_CONF_IMPL_H

#include <stddef.h>

#include <p11-kit/uri.h>

#include "conf.h"

/* Longest key quoted back in "unknown key" messages. */
#define CONF_MAX_KEY_ECHO 64
/* How many keys a [key NAME] section knows (rows of conf-key.c's table). */
#define CONF_N_SECTION_KEYS 11

/* What the file parser carries from line to line. */
struct conf_parser {
	struct agent_config *cfg; /* the copy being filled */
	const char *name;	  /* file name, for messages */
	unsigned long lineno;	  /* current line */
	unsigned long err_line;	  /* line an error is reported on */
	size_t keys_alloc;	  /* room in cfg->keys */
	int in_section;		  /* cfg->keys[n_keys - 1] is open */
	unsigned long sec_line;	  /* line of its header */
	/* Line each section key was set on in the open section, 0 if not yet. */
	unsigned long seen[CONF_N_SECTION_KEYS];
};

/* conf.c: helpers of the value parsers. */
void conf_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Wipes and frees s (it may hold a pin-value); NULL is a no-op. */
void conf_free_str(char *s);
/* Replaces *slot with a copy of value; -1 with a message when out of memory. */
int conf_store(char **slot, const char *key, const char *value, char *msg, size_t msg_len);
/* Parses yes, true, 1 / no, false, 0 (any case) into *out. */
int conf_parse_bool(const char *key, const char *value, int *out, char *msg, size_t msg_len);
/*
 * Checks a PKCS#11 URI with p11-kit. type: what the URI names; strict:
 * CONF_URI_STRICT refuses attributes p11-kit does not know for that type;
 * example: shown in the message.
 */
#define CONF_URI_LAX 0
#define CONF_URI_STRICT 1
int conf_check_uri(const char *key, const char *value, P11KitUriType type, int strict,
		   const char *example, char *msg, size_t msg_len);
/* Copies key into out for a message: printable ASCII only, bounded. */
void conf_quote_key(const char *key, char *out, size_t out_len);
/* Trims blanks at both ends of s in place; returns the new start. */
char *conf_trim(char *s);
/* Cuts s at a '#' that starts s or follows a blank. */
void conf_cut_comment(char *s);
/* Writes "a, b or c" of the n names name_at(0..n-1) to out, truncated to out_len. */
void conf_join(char *out, size_t out_len, const char *(*name_at)(size_t i), size_t n);
/* 1 when name is a global key. */
int conf_is_global_key(const char *name);

/* conf-key.c: [key NAME] sections. */
/* 1 when name is a key of a [key NAME] section. */
int conf_is_section_key(const char *name);
/* Parses a section line (trimmed, starting with '['): only "[key NAME]" is one. */
int conf_parse_section(struct conf_parser *p, char *line, char *msg, size_t msg_len);
/* Ends the open section, if any: it must have a uri (else the error is on its header). */
int conf_end_section(struct conf_parser *p, char *msg, size_t msg_len);
/* Sets key inside the open section. */
int conf_set_section_key(struct conf_parser *p, const char *key, const char *value, char *msg,
			 size_t msg_len);
/* Frees n sections and the array. */
void conf_free_keys(struct conf_key *keys, size_t n);
/*
 * Checks value is a comma-separated list of non-empty items (conf-key.c),
 * for a key kept as written: 0, or -1 with a message.
 */
int conf_check_list(const char *key, const char *value, char *msg, size_t msg_len);

#endif
