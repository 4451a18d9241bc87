/*
 * sfv: Structured Field Values for HTTP (RFC 9651), parsed and serialized.
 *
 * The parsers follow the algorithms of RFC 9651 section 4.2 step by step and
 * take a field value that is not NUL-terminated (s, len). Every parser
 * returns P11A_OK, P11A_ERR_BAD_INPUT when the text is not a valid structured
 * field (or passes a limit below), or P11A_ERR_NOMEM; it writes its outputs
 * only on success, and leaks nothing on failure. What a parser gives is the
 * caller's, freed with the matching sfv_*_free.
 *
 * The serializers (sfvput.c) write the strict form of RFC 9651 section 4.1
 * to a buf writer (proto/buf.h). Each returns P11A_OK, P11A_ERR_INVALID_ARG
 * when the value cannot be serialized (an integer out of range, a string
 * with a control character, a bad key or token, a display string that is
 * not UTF-8), or the buf's P11A_ERR_TOO_LARGE or P11A_ERR_NOMEM; on failure
 * it has appended nothing to b. They do not look for repeated keys: a
 * dictionary or parameters from the parsers have none.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SFV_H
#define P11AGENT_SFV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Limits of the parsers. A list or dictionary holds at most SFV_MAX_MEMBERS
 * members, an inner list at most SFV_MAX_MEMBERS items, and one item or inner
 * list at most SFV_MAX_MEMBERS parameters; duplicates count as they are read.
 * RFC 9651 asks for at least 1024, 256 and 256.
 */
#define SFV_MAX_MEMBERS 1024
/* Integers and dates: -999,999,999,999,999 to 999,999,999,999,999. */
#define SFV_MAX_INTEGER 999999999999999LL

enum sfv_type {
	SFV_INTEGER,
	SFV_DECIMAL,
	SFV_STRING,
	SFV_TOKEN,
	SFV_BYTES,
	SFV_BOOLEAN,
	SFV_DATE,
	SFV_DISPLAY,
};

/* A bare item. */
struct sfv_value {
	enum sfv_type type;
	/*
	 * INTEGER, BOOLEAN (0 or 1), DATE (seconds since 1970); DECIMAL: the
	 * value times 1000, exact (a decimal has at most 3 fraction digits).
	 */
	int64_t num;
	/*
	 * STRING, TOKEN, DISPLAY (UTF-8), BYTES (the decoded bytes): a
	 * NUL-terminated copy, len bytes long (BYTES and DISPLAY may hold NUL
	 * bytes before it). NULL for the other types.
	 */
	char *str;
	size_t len;
};

struct sfv_param {
	char *key;
	struct sfv_value value;
};

/* An item: a bare item and its parameters, in their order. */
struct sfv_item {
	struct sfv_value value;
	struct sfv_param *params;
	size_t n_params;
};

/* A member of a list or a dictionary: an item or an inner list. */
struct sfv_member {
	char *key;		  /* dictionary members only, else NULL */
	int inner;		  /* 1: an inner list (items, params); 0: item */
	struct sfv_item item;	  /* when !inner */
	struct sfv_item *items;	  /* when inner: its items */
	size_t n_items;		  /* when inner */
	struct sfv_param *params; /* when inner: the inner list's own parameters */
	size_t n_params;	  /* when inner */
};

/* A List, or a Dictionary (each member then has its key), in order. */
struct sfv_list {
	struct sfv_member *members;
	size_t n;
};

/*
 * Parse a whole field value as an Item, a List or a Dictionary (RFC 9651
 * section 4.2): leading and trailing spaces are discarded, and anything else
 * left after the value is an error. An empty List or Dictionary is not an
 * error (n is 0, members NULL); an empty Item is. In a Dictionary (and in
 * any parameters), a key given again replaces the earlier value and keeps
 * the earlier position. A dictionary member without "=" is Boolean true with
 * the parameters that follow its key.
 * Free *out with sfv_item_free or sfv_list_free.
 */
int sfv_parse_item(const char *s, size_t len, struct sfv_item *out);
int sfv_parse_list(const char *s, size_t len, struct sfv_list *out);
int sfv_parse_dict(const char *s, size_t len, struct sfv_list *out);
/*
 * Parses parameters (";key=value" ...) from s[*pos], the text after a bare
 * item or an inner list, and advances *pos past them. No parameter at all is
 * a success: *out NULL, *out_n 0. Free *out with sfv_params_free.
 */
int sfv_parse_params(const char *s, size_t len, size_t *pos, struct sfv_param **out, size_t *out_n);
/*
 * Parses one inner list "(...)" and its parameters from s[*pos], and
 * advances *pos past them. *out becomes an inner-list member without key;
 * free it with sfv_member_free.
 */
int sfv_parse_inner_list(const char *s, size_t len, size_t *pos, struct sfv_member *out);

/*
 * Free what the parsers gave. sfv_item_free, sfv_member_free and
 * sfv_list_free free the contents of *it, *m, *l (not the struct itself,
 * which is the caller's) and zero it; sfv_params_free frees p[0..n) and the
 * array p. NULL is a no-op for all.
 */
void sfv_item_free(struct sfv_item *it);
void sfv_member_free(struct sfv_member *m);
void sfv_list_free(struct sfv_list *l);
void sfv_params_free(struct sfv_param *p, size_t n);

/*
 * Look-ups by key: the dictionary member, or the parameter, whose key is
 * key; NULL when there is none.
 */
const struct sfv_member *sfv_dict_get(const struct sfv_list *l, const char *key);
const struct sfv_value *sfv_params_get(const struct sfv_param *p, size_t n, const char *key);

/*
 * Strict serializations (RFC 9651 section 4.1), appended to b:
 *   sfv_put_value   a bare item: 42, 4.5, 2.0, "a\"b", tok, :AQI=:, ?1, @1659578233, %"%c3%bc"
 *   sfv_put_params  ";key=value" for each parameter, ";key" when it is true
 *   sfv_put_item    a bare item and its parameters
 *   sfv_put_member  a list or dictionary member's value, without its key:
 *                   the item, or "(a b)" and the inner list's parameters
 *   sfv_put_list    the members, separated by ", "
 *   sfv_put_dict    "key=value" for each member, separated by ", ", or the
 *                   key and parameters alone when the value is Boolean true
 * An empty list or dictionary writes nothing (RFC 9651 says to leave such a
 * field out).
 */
int sfv_put_value(struct buf *b, const struct sfv_value *v);
int sfv_put_params(struct buf *b, const struct sfv_param *p, size_t n);
int sfv_put_item(struct buf *b, const struct sfv_item *it);
int sfv_put_member(struct buf *b, const struct sfv_member *m);
int sfv_put_list(struct buf *b, const struct sfv_list *l);
int sfv_put_dict(struct buf *b, const struct sfv_list *l);

/* 1 when key (NUL-terminated) is a valid key: lcalpha or '*' first, then lcalpha DIGIT _ - . *. */
int sfv_key_ok(const char *key);
/* 1 when s[0..len) is a valid token: ALPHA or '*' first, then tchar, ':' or '/'. */
int sfv_token_ok(const char *s, size_t len);
/* 1 when s[0..len) is UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
int sfv_utf8_ok(const char *s, size_t len);

#endif
