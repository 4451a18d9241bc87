/*
 * args: the command line of p11agent. See args.h.
 *
 * Hand-rolled rather than getopt_long: no global state, so that the parser is
 * reentrant, and options are accepted before and after the KEY positional.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "args.h"

/* Most positional arguments any command takes (audit-verify's FILEs). */
#define MAX_POSITIONAL CLI_MAX_FILES

static const struct cli_option opts[] = {
    {"socket", 'S', CLI_OPT_SOCKET, CLI_VALUE_FILE, "SOCKET"},
    {"json", 0, CLI_OPT_JSON, CLI_VALUE_NONE, NULL},
    {"help", 'h', CLI_OPT_HELP, CLI_VALUE_NONE, NULL},
    {"version", 0, CLI_OPT_VERSION, CLI_VALUE_NONE, NULL},
    {"alg", 0, CLI_OPT_ALG, CLI_VALUE_ALG, "ALG"},
    {"in", 'i', CLI_OPT_IN, CLI_VALUE_FILE, "IN"},
    {"out", 'o', CLI_OPT_OUT, CLI_VALUE_FILE, "OUT"},
    {"sig", 0, CLI_OPT_SIG, CLI_VALUE_FILE, "FILE"},
    {"prehashed", 0, CLI_OPT_PREHASHED, CLI_VALUE_NONE, NULL},
    {"raw", 0, CLI_OPT_RAW, CLI_VALUE_NONE, NULL},
    {"format", 0, CLI_OPT_FORMAT, CLI_VALUE_FORMAT, "pem|der|ssh"},
    {"label", 0, CLI_OPT_LABEL, CLI_VALUE_TEXT, "TEXT"},
    {"label-hex", 0, CLI_OPT_LABEL_HEX, CLI_VALUE_TEXT, "HEX"},
    {"key-len", 0, CLI_OPT_KEY_LEN, CLI_VALUE_TEXT, "N"},
    {"peer", 0, CLI_OPT_PEER, CLI_VALUE_FILE, "PEER"},
    {"key-file", 0, CLI_OPT_KEY_FILE, CLI_VALUE_FILE, "FILE"},
    {"key-id", 0, CLI_OPT_KEY_ID, CLI_VALUE_TEXT, "TEXT"},
    {"keyed", 0, CLI_OPT_KEYED, CLI_VALUE_NONE, NULL},
    {"partial", 0, CLI_OPT_PARTIAL, CLI_VALUE_NONE, NULL},
    {"pubkey", 0, CLI_OPT_PUBKEY, CLI_VALUE_FILE, "FILE"},
    {"all", 0, CLI_OPT_ALL, CLI_VALUE_NONE, NULL},
    {"type", 0, CLI_OPT_TYPE, CLI_VALUE_KEY_TYPE, "TYPE"},
    {"ops", 0, CLI_OPT_OPS, CLI_VALUE_TEXT, "OPS"},
    {"below", 0, CLI_OPT_BELOW, CLI_VALUE_TEXT, "N"},
    {"subject", 0, CLI_OPT_SUBJECT, CLI_VALUE_TEXT, "DN"},
    {"san", 0, CLI_OPT_SAN, CLI_VALUE_TEXT, "LIST"},
    {"eku", 0, CLI_OPT_EKU, CLI_VALUE_TEXT, "LIST"},
    {"days", 0, CLI_OPT_DAYS, CLI_VALUE_TEXT, "N"},
    {"ca", 0, CLI_OPT_CA, CLI_VALUE_NONE, NULL},
    {"self", 0, CLI_OPT_SELF, CLI_VALUE_NONE, NULL},
    {"prometheus", 0, CLI_OPT_PROMETHEUS, CLI_VALUE_NONE, NULL},
    {"components", 0, CLI_OPT_COMPONENTS, CLI_VALUE_TEXT, "LIST"},
    {"created", 0, CLI_OPT_CREATED, CLI_VALUE_TEXT, "now|T"},
    {"expires", 0, CLI_OPT_EXPIRES, CLI_VALUE_TEXT, "T|+S"},
    {"nonce", 0, CLI_OPT_NONCE, CLI_VALUE_TEXT, "N"},
    {"keyid", 0, CLI_OPT_KEYID, CLI_VALUE_TEXT, "ID"},
    {"tag", 0, CLI_OPT_TAG, CLI_VALUE_TEXT, "T"},
    {"alg-param", 0, CLI_OPT_ALG_PARAM, CLI_VALUE_NONE, NULL},
    {"digest", 0, CLI_OPT_DIGEST, CLI_VALUE_DIGEST, "sha-256|sha-512"},
    {"request", 0, CLI_OPT_REQUEST, CLI_VALUE_FILE, "FILE"},
    {"print-base", 0, CLI_OPT_PRINT_BASE, CLI_VALUE_NONE, NULL},
    {"max-age", 0, CLI_OPT_MAX_AGE, CLI_VALUE_TEXT, "S"},
    {"require", 0, CLI_OPT_REQUIRE, CLI_VALUE_TEXT, "LIST"},
    {"at", 0, CLI_OPT_AT, CLI_VALUE_TEXT, "T"},
};

/* The key types keygen makes, as the agent names them (PROTOCOL.md, KEYGEN). */
static const char *const key_types[] = {
    "rsa:2048", "rsa:3072", "rsa:4096", "ec:P-256", "ec:P-384", "ec:P-521",
    "ed25519",	"hmac:256", "hmac:384", "hmac:512", "aes:128",	"aes:256",
};

/* The Content-Digest algorithms http-sign --digest writes (RFC 9530). */
static const char *const digest_algs[] = {"sha-256", "sha-512"};

/* The operations keygen --ops names, and their bits. */
static const struct {
	const char *name;
	uint32_t bit;
} op_words[] = {
    {"sign", P11A_OP_SIGN},	{"decrypt", P11A_OP_DECRYPT}, {"unwrap", P11A_OP_UNWRAP},
    {"derive", P11A_OP_DERIVE}, {"verify", P11A_OP_VERIFY},   {"wrap", P11A_OP_WRAP},
};

/* The longest spelling of an option as typed, "--label-hex", and its NUL. */
#define TYPED_MAX 16

const struct cli_option *cli_args_option_at(size_t i)
{
	return i < sizeof(opts) / sizeof(opts[0]) ? &opts[i] : NULL;
}

const char *cli_args_key_type_at(size_t i)
{
	return i < sizeof(key_types) / sizeof(key_types[0]) ? key_types[i] : NULL;
}

const struct cli_command *cli_command_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < cli_n_commands; i++) {
		if (strcmp(cli_commands[i].name, name) == 0)
			return &cli_commands[i];
	}
	return NULL;
}

const char *cli_args_cmd_name(const struct cli_command *cmd)
{
	return cmd != NULL ? cmd->name : "p11agent";
}

/* The options cmd takes after it (NULL: before any command). */
static uint64_t cmd_opts(const struct cli_command *cmd)
{
	return cmd != NULL ? cmd->opts | CLI_OPTS_COMMON : CLI_OPTS_GLOBAL;
}

static const struct cli_option *opt_by_bit(uint64_t bit)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].bit == bit)
			return &opts[i];
	}
	return NULL;
}

/* snprintf into msg; always returns CLI_EXIT_USAGE, for "return usage(...)". */
static int usage(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && msg_len > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, msg_len, fmt, ap);
		va_end(ap);
	}
	return CLI_EXIT_USAGE;
}

static const struct cli_option *find_long(const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strlen(opts[i].long_name) == name_len &&
		    strncmp(opts[i].long_name, name, name_len) == 0)
			return &opts[i];
	}
	return NULL;
}

static const struct cli_option *find_short(char c)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].short_name != 0 && opts[i].short_name == c)
			return &opts[i];
	}
	return NULL;
}

/*
 * Reads the option at argv[*i] (and its value, from "=", the same word or the
 * next one), advancing *i past it. cmd is the command it follows (NULL before
 * the command). typed gets the option as the user spelled it: "-i" or "--in".
 */
static int read_opt(int argc, char *const argv[], int *i, const struct cli_command *cmd,
		    const struct cli_option **out_def, const char **out_val, char typed[TYPED_MAX],
		    char *msg, size_t msg_len)
{
	const char *arg = argv[*i];
	const struct cli_option *def;
	const char *val = NULL;
	const char *eq;
	int next = *i + 1;

	if (arg[1] == '-') {
		eq = strchr(arg + 2, '=');
		def = find_long(arg + 2, eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2));
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '%.*s'",
				     eq != NULL ? (int)(eq - arg) : (int)strlen(arg), arg);
		snprintf(typed, TYPED_MAX, "--%s", def->long_name);
		if (eq != NULL && def->value == CLI_VALUE_NONE)
			return usage(msg, msg_len, "option '%s' takes no value", typed);
		if (eq != NULL)
			val = eq + 1;
	} else {
		def = find_short(arg[1]);
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '-%c'", arg[1]);
		snprintf(typed, TYPED_MAX, "-%c", def->short_name);
		if (arg[2] != '\0') {
			if (def->value == CLI_VALUE_NONE)
				return usage(msg, msg_len, "unknown option '%s'", arg);
			val = arg + 2;
		}
	}

	if ((def->bit & cmd_opts(cmd)) == 0) {
		if (cmd == NULL)
			return usage(msg, msg_len, "option '%s' must come after the command",
				     typed);
		return usage(msg, msg_len, "option '%s' is not valid for '%s'", typed, cmd->name);
	}

	if (def->value != CLI_VALUE_NONE && val == NULL) {
		if (next >= argc)
			return usage(msg, msg_len, "option '%s' needs a value", typed);
		val = argv[next++];
	}

	*out_def = def;
	*out_val = val;
	*i = next;
	return 0;
}

static int alg_fits(const struct p11a_alg_info *info, const struct cli_command *cmd)
{
	if ((info->ops & cmd->alg_ops) == 0)
		return 0;
	return cmd->alg_key == P11A_KEY_UNKNOWN || info->key_type == cmd->alg_key;
}

/* RSA-OAEP: the algorithms that take a label. */
static int alg_is_oaep(const struct p11a_alg_info *info)
{
	return info->key_type == P11A_KEY_RSA && info->hash != NULL &&
	       (info->ops & (P11A_OP_DECRYPT | P11A_OP_UNWRAP)) != 0;
}

void cli_args_alg_names(const struct cli_command *cmd, char *out, size_t out_len)
{
	const struct p11a_alg_info *info;
	const char *name;
	size_t i, used = 0;
	int n;

	if (out_len == 0)
		return;
	out[0] = '\0';
	if (cmd->flags & CLI_CMD_HTTPSIG) {
		for (i = 0; (name = p11a_http_alg_at(i)) != NULL; i++) {
			n = snprintf(out + used, out_len - used, "%s%s", i > 0 ? ", " : "", name);
			if (n < 0 || (size_t)n >= out_len - used)
				break;
			used += (size_t)n;
		}
		return;
	}
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		if (!alg_fits(info, cmd))
			continue;
		n = snprintf(out + used, out_len - used, "%s%s", used > 0 ? ", " : "", info->name);
		if (n < 0 || (size_t)n >= out_len - used)
			break;
		used += (size_t)n;
	}
}

static int parse_alg(const char *name, const struct cli_command *cmd, p11a_alg *out_alg, char *msg,
		     size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_name(name);
	char valid[384];

	cli_args_alg_names(cmd, valid, sizeof(valid));
	if (info == NULL)
		return usage(msg, msg_len, "unknown algorithm '%s'; valid for %s: %s", name,
			     cmd->name, valid);
	if (!alg_fits(info, cmd)) {
		if (cmd->alg_key != P11A_KEY_UNKNOWN) {
			/* "an HMAC algorithm": the key type's name in capitals. */
			const char *t = p11a_key_type_name(cmd->alg_key);
			char type[16];
			size_t k;

			for (k = 0; t[k] != '\0' && k + 1 < sizeof(type); k++)
				type[k] = (char)toupper((unsigned char)t[k]);
			type[k] = '\0';
			return usage(msg, msg_len, "'%s' is not an %s algorithm; valid: %s", name,
				     type, valid);
		}
		return usage(msg, msg_len, "'%s' cannot %s; valid for %s: %s", name, cmd->name,
			     cmd->name, valid);
	}
	*out_alg = info->alg;
	return 0;
}

/* http-sign, http-verify --alg: an RFC 9421 name. */
static int parse_http_alg(const char *name, const struct cli_command *cmd, const char **out_alg,
			  char *msg, size_t msg_len)
{
	const char *known;
	char valid[256];
	size_t i;

	for (i = 0; (known = p11a_http_alg_at(i)) != NULL; i++) {
		if (strcmp(name, known) == 0) {
			*out_alg = known;
			return 0;
		}
	}
	cli_args_alg_names(cmd, valid, sizeof(valid));
	return usage(msg, msg_len, "--alg: unknown algorithm '%.32s'; valid for %s (RFC 9421): %s",
		     name, cmd->name, valid);
}

/* An even number of hex digits (none is fine: an empty label). */
static int hex_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (OPENSSL_hexchar2int((unsigned char)s[i]) < 0)
			return 0;
	}
	return i % 2 == 0;
}

int cli_args_label(const struct cli_args *a, uint8_t **out, size_t *out_len)
{
	size_t n = a->label != NULL ? strlen(a->label) : 0, i;
	uint8_t *p;

	if (a->label_hex)
		n /= 2;
	if ((p = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (a->label_hex)
			p[i] = (uint8_t)(OPENSSL_hexchar2int((unsigned char)a->label[2 * i]) << 4 |
					 OPENSSL_hexchar2int((unsigned char)a->label[2 * i + 1]));
		else
			p[i] = (uint8_t)a->label[i];
	}
	*out = p;
	*out_len = n;
	return 0;
}

/* --key-len: a decimal number of bytes, 1 to P11A_MAX_DATA. */
static int parse_key_len(const char *typed, const char *val, size_t *out_len, char *msg,
			 size_t msg_len)
{
	size_t n = 0;
	const char *p;

	for (p = val; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			break;
		n = n * 10 + (size_t)(*p - '0');
		if (n > P11A_MAX_DATA)
			return usage(msg, msg_len, "%s: %.32s is too large (at most %u bytes)",
				     typed, val, (unsigned)P11A_MAX_DATA);
	}
	if (*p != '\0' || p == val || n == 0)
		return usage(msg, msg_len, "%s: '%.32s' is not a positive number of bytes", typed,
			     val);
	*out_len = n;
	return 0;
}

static int parse_format(const char *typed, const char *name, enum cli_format *out_format, char *msg,
			size_t msg_len)
{
	if (strcmp(name, "pem") == 0)
		*out_format = CLI_FORMAT_PEM;
	else if (strcmp(name, "der") == 0)
		*out_format = CLI_FORMAT_DER;
	else if (strcmp(name, "ssh") == 0)
		*out_format = CLI_FORMAT_SSH;
	else
		return usage(msg, msg_len, "%s: unknown format '%s'; valid: pem, der, ssh", typed,
			     name);
	return 0;
}

/* The names of the key types, ", "-separated. */
static void key_type_names(char *out, size_t out_len)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		n = snprintf(out + used, out_len - used, "%s%s", i > 0 ? ", " : "", key_types[i]);
		if (n < 0 || (size_t)n >= out_len - used)
			break;
		used += (size_t)n;
	}
}

static int parse_key_type(const char *typed, const char *val, const char **out_type, char *msg,
			  size_t msg_len)
{
	char valid[256];
	size_t i;

	for (i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(val, key_types[i]) == 0) {
			*out_type = key_types[i];
			return 0;
		}
	}
	key_type_names(valid, sizeof(valid));
	return usage(msg, msg_len, "%s: unknown key type '%.32s'; valid: %s", typed, val, valid);
}

/* --ops: a comma-separated list of operation names, at least one. */
static int parse_ops(const char *typed, const char *val, uint32_t *out_ops, char *msg,
		     size_t msg_len)
{
	const char *p = val;
	uint32_t ops = 0;
	size_t n, i;

	for (;;) {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof(op_words) / sizeof(op_words[0]); i++) {
			if (strlen(op_words[i].name) == n && strncmp(p, op_words[i].name, n) == 0)
				break;
		}
		if (i == sizeof(op_words) / sizeof(op_words[0]))
			return usage(msg, msg_len,
				     "%s: unknown operation '%.*s'; valid: sign, decrypt, unwrap, "
				     "derive, verify, wrap, comma-separated",
				     typed, (int)(n < 32 ? n : 32), p);
		ops |= op_words[i].bit;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*out_ops = ops;
	return 0;
}

/* A decimal number from 1 to max. */
static int parse_count(const char *typed, const char *val, uint32_t max, uint32_t *out, char *msg,
		       size_t msg_len)
{
	uint64_t n = 0;
	const char *p;

	for (p = val; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > max)
			return usage(msg, msg_len, "%s: %.32s is too large (at most %u)", typed,
				     val, (unsigned)max);
	}
	if (*p != '\0' || p == val || n == 0)
		return usage(msg, msg_len, "%s: '%.32s' is not a positive number", typed, val);
	*out = (uint32_t)n;
	return 0;
}

/*
 * A time or a number of seconds of http-sign and http-verify: the decimal
 * digits of digits, min to CLI_HTTP_TIME_MAX. Messages quote val (the whole
 * value: digits, or more) and say it is not what.
 */
static int parse_seconds(const char *typed, const char *val, const char *digits, int64_t min,
			 const char *what, int64_t *out, char *msg, size_t msg_len)
{
	int64_t n = 0;
	const char *p;

	for (p = digits; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > CLI_HTTP_TIME_MAX)
			return usage(msg, msg_len, "%s: %.32s is too large (at most %" PRId64 ")",
				     typed, val, CLI_HTTP_TIME_MAX);
	}
	if (*p != '\0' || p == digits || n < min)
		return usage(msg, msg_len, "%s: '%.32s' is not %s", typed, val, what);
	*out = n;
	return 0;
}

/* http-sign --created: "now" or a Unix time. */
static int parse_created(struct cli_args *a, const char *typed, const char *val, char *msg,
			 size_t msg_len)
{
	int64_t t;
	int r;

	if (strcmp(val, "now") == 0) {
		a->created_set = 0;
		a->created = 0;
		return 0;
	}
	r = parse_seconds(typed, val, val, 0, "now or a Unix time in seconds", &t, msg, msg_len);
	if (r != 0)
		return r;
	a->created_set = 1;
	a->created = t;
	return 0;
}

/* http-sign --expires: a Unix time, or "+S": S seconds after created. */
static int parse_expires(struct cli_args *a, const char *typed, const char *val, char *msg,
			 size_t msg_len)
{
	int rel = val[0] == '+';
	int64_t t;
	int r;

	if (rel)
		r = parse_seconds(typed, val, val + 1, 1,
				  "+S, a positive number of seconds after --created", &t, msg,
				  msg_len);
	else
		r = parse_seconds(typed, val, val, 0, "a Unix time in seconds, or +S", &t, msg,
				  msg_len);
	if (r != 0)
		return r;
	a->expires_set = 1;
	a->expires_rel = rel;
	a->expires = t;
	return 0;
}

static int parse_digest(const char *typed, const char *val, const char **out, char *msg,
			size_t msg_len)
{
	size_t i;

	for (i = 0; i < sizeof(digest_algs) / sizeof(digest_algs[0]); i++) {
		if (strcmp(val, digest_algs[i]) == 0) {
			*out = digest_algs[i];
			return 0;
		}
	}
	return usage(msg, msg_len, "%s: unknown digest '%.32s'; valid: sha-256, sha-512", typed,
		     val);
}

/*
 * --nonce, --keyid, --tag: the value of an RFC 9651 string, 1 to
 * CLI_HTTP_PARAM_MAX bytes of printable ASCII (0x20 to 0x7E).
 */
static int sf_string_value(const char *typed, const char *val, const char **out, char *msg,
			   size_t msg_len)
{
	size_t i;

	if (*val == '\0')
		return usage(msg, msg_len, "option '%s' needs a value", typed);
	for (i = 0; val[i] != '\0'; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c < 0x20 || c > 0x7e)
			return usage(msg, msg_len,
				     "%s: byte 0x%02x at offset %zu is not printable ASCII (an "
				     "RFC 9651 string holds 0x20 to 0x7E only)",
				     typed, c, i);
	}
	if (i > CLI_HTTP_PARAM_MAX)
		return usage(msg, msg_len, "%s: longer than %d bytes", typed, CLI_HTTP_PARAM_MAX);
	*out = val;
	return 0;
}

/*
 * http-sign, http-verify --label: the signature's label, an RFC 9651 key
 * (section 3.1.2): a lowercase letter or '*', then lowercase letters,
 * digits, '_', '-', '.' or '*'; at most CLI_HTTP_LABEL_MAX bytes here.
 */
static int sf_key_value(const char *typed, const char *val, const char **out, char *msg,
			size_t msg_len)
{
	static const char why[] = "a lowercase letter or '*' first, then lowercase letters, "
				  "digits, '_', '-', '.' or '*'";
	size_t i;

	if (*val == '\0')
		return usage(msg, msg_len, "option '%s' needs a value", typed);
	for (i = 0; val[i] != '\0'; i++) {
		char c = val[i];
		int ok = (c >= 'a' && c <= 'z') || c == '*' ||
			 (i > 0 && ((c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'));

		if (!ok)
			return usage(msg, msg_len,
				     "%s: '%.64s' is not a signature label (an RFC 9651 key: %s)",
				     typed, val, why);
	}
	if (i > CLI_HTTP_LABEL_MAX)
		return usage(msg, msg_len, "%s: a signature label is at most %d bytes", typed,
			     CLI_HTTP_LABEL_MAX);
	*out = val;
	return 0;
}

/* A text option's value: not empty. */
static int text_value(const char *typed, const char *val, const char **out, char *msg,
		      size_t msg_len)
{
	if (*val == '\0')
		return usage(msg, msg_len, "option '%s' needs a value", typed);
	*out = val;
	return 0;
}

/* A file option's value: not empty; "-" (stdin or stdout) is NULL when dash_null. */
static int file_value(const char *typed, const char *val, int dash_null, const char **out,
		      char *msg, size_t msg_len)
{
	if (*val == '\0')
		return usage(msg, msg_len, "option '%s' needs a file name", typed);
	*out = dash_null && strcmp(val, "-") == 0 ? NULL : val;
	return 0;
}

/* Stores one option's effect in a. typed is the option as the user spelled it. */
static int apply_opt(struct cli_args *a, const struct cli_option *def, const char *typed,
		     const char *val, int *out_help, char *msg, size_t msg_len)
{
	switch (def->bit) {
	case CLI_OPT_SOCKET:
		if (*val == '\0')
			return usage(msg, msg_len, "option '%s' needs a path", typed);
		a->socket = val;
		break;
	case CLI_OPT_JSON:
		a->json = 1;
		break;
	case CLI_OPT_HELP:
		*out_help = 1;
		break;
	case CLI_OPT_VERSION:
		a->version = 1;
		break;
	case CLI_OPT_ALG:
		if (a->cmd->flags & CLI_CMD_HTTPSIG)
			return parse_http_alg(val, a->cmd, &a->http_alg, msg, msg_len);
		return parse_alg(val, a->cmd, &a->alg, msg, msg_len);
	case CLI_OPT_IN:
		return file_value(typed, val, 1, &a->in, msg, msg_len);
	case CLI_OPT_OUT:
		return file_value(typed, val, 1, &a->out, msg, msg_len);
	case CLI_OPT_SIG:
		return file_value(typed, val, 0, &a->sig, msg, msg_len);
	case CLI_OPT_PREHASHED:
		a->prehashed = 1;
		break;
	case CLI_OPT_RAW:
		a->raw = 1;
		break;
	case CLI_OPT_FORMAT:
		return parse_format(typed, val, &a->format, msg, msg_len);
	case CLI_OPT_LABEL:
	case CLI_OPT_LABEL_HEX:
		/* http-sign, http-verify: the signature's label; else the OAEP label. */
		if (a->cmd->flags & CLI_CMD_HTTPSIG)
			return sf_key_value(typed, val, &a->label, msg, msg_len);
		if (a->label != NULL && a->label_hex != (def->bit == CLI_OPT_LABEL_HEX))
			return usage(msg, msg_len, "--label and --label-hex exclude each other");
		if (def->bit == CLI_OPT_LABEL_HEX && !hex_ok(val))
			return usage(msg, msg_len,
				     "--label-hex: '%.64s' is not an even number of hex digits",
				     val);
		a->label = val;
		a->label_hex = def->bit == CLI_OPT_LABEL_HEX;
		break;
	case CLI_OPT_KEY_LEN:
		return parse_key_len(typed, val, &a->key_len, msg, msg_len);
	case CLI_OPT_PEER:
		return file_value(typed, val, 0, &a->peer, msg, msg_len);
	case CLI_OPT_KEY_FILE:
		return file_value(typed, val, 0, &a->key_file, msg, msg_len);
	case CLI_OPT_KEY_ID:
		if (*val == '\0' || strlen(val) > CLI_KEY_ID_MAX)
			return usage(msg, msg_len, "--key-id: give 1 to %d characters",
				     CLI_KEY_ID_MAX);
		a->key_id = val;
		break;
	case CLI_OPT_KEYED:
		a->keyed = 1;
		break;
	case CLI_OPT_PARTIAL:
		a->partial = 1;
		break;
	case CLI_OPT_PUBKEY:
		return file_value(typed, val, 0, &a->pubkey, msg, msg_len);
	case CLI_OPT_ALL:
		a->all = 1;
		break;
	case CLI_OPT_TYPE:
		return parse_key_type(typed, val, &a->key_type, msg, msg_len);
	case CLI_OPT_OPS:
		return parse_ops(typed, val, &a->ops, msg, msg_len);
	case CLI_OPT_BELOW:
		return parse_count(typed, val, UINT32_MAX, &a->below, msg, msg_len);
	case CLI_OPT_SUBJECT:
		return text_value(typed, val, &a->subject, msg, msg_len);
	case CLI_OPT_SAN:
		return text_value(typed, val, &a->san, msg, msg_len);
	case CLI_OPT_EKU:
		return text_value(typed, val, &a->eku, msg, msg_len);
	case CLI_OPT_DAYS: {
		uint32_t days;
		int r = parse_count(typed, val, CLI_MAX_DAYS, &days, msg, msg_len);

		if (r == 0)
			a->days = days;
		return r;
	}
	case CLI_OPT_CA:
		a->ca = 1;
		break;
	case CLI_OPT_SELF:
		a->self = 1;
		break;
	case CLI_OPT_PROMETHEUS:
		a->prometheus = 1;
		break;
	case CLI_OPT_COMPONENTS:
		a->components = val; /* "" is a list too: it covers nothing */
		break;
	case CLI_OPT_CREATED:
		return parse_created(a, typed, val, msg, msg_len);
	case CLI_OPT_EXPIRES:
		return parse_expires(a, typed, val, msg, msg_len);
	case CLI_OPT_NONCE:
		return sf_string_value(typed, val, &a->nonce, msg, msg_len);
	case CLI_OPT_KEYID:
		return sf_string_value(typed, val, &a->keyid, msg, msg_len);
	case CLI_OPT_TAG:
		return sf_string_value(typed, val, &a->tag, msg, msg_len);
	case CLI_OPT_ALG_PARAM:
		a->alg_param = 1;
		break;
	case CLI_OPT_DIGEST:
		return parse_digest(typed, val, &a->digest, msg, msg_len);
	case CLI_OPT_REQUEST:
		return file_value(typed, val, 0, &a->request, msg, msg_len);
	case CLI_OPT_PRINT_BASE:
		a->print_base = 1;
		break;
	case CLI_OPT_MAX_AGE:
		return parse_seconds(typed, val, val, 1, "a positive number of seconds",
				     &a->max_age, msg, msg_len);
	case CLI_OPT_REQUIRE:
		return text_value(typed, val, &a->require, msg, msg_len);
	case CLI_OPT_AT: {
		int r = parse_seconds(typed, val, val, 0, "a Unix time in seconds", &a->at, msg,
				      msg_len);

		if (r == 0)
			a->at_set = 1;
		return r;
	}
	}
	return 0;
}

/* The options each form of cert takes, of those its row (CLI_CERT_OPTS) has. */
#define CERT_SHOW_OPTS CLI_OPT_OUT
#define CERT_IMPORT_OPTS CLI_OPT_IN
#define CERT_ISSUE_OPTS CLI_CERT_OPTS

/* cert's forms: the options each takes and needs. given: the options typed. */
static int check_cert(const struct cli_args *a, uint64_t given, char *msg, size_t msg_len)
{
	static const char *const names[] = {"cert", "cert import", "cert issue"};
	static const uint64_t takes[] = {CERT_SHOW_OPTS, CERT_IMPORT_OPTS, CERT_ISSUE_OPTS};
	const char *name = names[a->cert_action];
	uint64_t extra = given & CLI_CERT_OPTS & ~takes[a->cert_action];
	const struct cli_option *o;

	if (extra != 0 && (o = opt_by_bit(extra & -extra)) != NULL)
		return usage(msg, msg_len, "%s: option '--%s' does not apply to it", name,
			     o->long_name);
	switch (a->cert_action) {
	case CLI_CERT_SHOW:
		break;
	case CLI_CERT_IMPORT:
		if ((given & CLI_OPT_IN) == 0)
			return usage(msg, msg_len,
				     "cert import: missing -i FILE (the certificate, PEM or DER)");
		break;
	case CLI_CERT_ISSUE:
		if ((given & CLI_OPT_DAYS) == 0)
			return usage(msg, msg_len, "cert issue: missing --days N");
		if (a->self) {
			if (given & CLI_OPT_IN)
				return usage(msg, msg_len,
					     "cert issue --self: -i does not apply (the key "
					     "certifies itself; no request is read)");
			if (a->subject == NULL)
				return usage(msg, msg_len,
					     "cert issue --self: missing --subject DN");
		} else {
			if ((given & CLI_OPT_IN) == 0)
				return usage(msg, msg_len,
					     "cert issue: missing -i REQ (a CSR), or --self");
			if (a->subject != NULL)
				return usage(msg, msg_len,
					     "cert issue: --subject applies to --self only (the "
					     "request names its subject)");
		}
		break;
	}
	return 0;
}

/* Checks that hold across options, once they are all read. given: the options typed. */
static int check_args(const struct cli_args *a, uint64_t given, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(a->alg);
	const char *name = a->cmd->name;
	uint64_t missing = a->cmd->required & ~given;
	const struct cli_option *o;
	int r;

	if (a->key != NULL && a->key[0] == '\0')
		return usage(msg, msg_len, "%s: %s must not be empty", name,
			     a->cmd->pos == CLI_POS_NAME ? "NAME" : "KEY");
	if (missing != 0 && (o = opt_by_bit(missing & -missing)) != NULL)
		return usage(msg, msg_len, "%s: missing --%s %s", name, o->long_name,
			     o->metavar != NULL ? o->metavar : "");
	if (a->prehashed && info != NULL && info->input != P11A_INPUT_DIGEST)
		return usage(msg, msg_len,
			     "%s: --prehashed needs an RSA or ECDSA algorithm, not '%s'", name,
			     info->name);
	if (a->raw && info != NULL && info->key_type != P11A_KEY_EC)
		return usage(msg, msg_len, "%s: --raw applies to ECDSA only, not '%s'", name,
			     info->name);
	if (a->label != NULL && info != NULL && !alg_is_oaep(info))
		return usage(msg, msg_len, "%s: --label%s applies to RSA-OAEP only, not '%s'", name,
			     a->label_hex ? "-hex" : "", info->name);
	if (a->key_file != NULL && strcmp(a->key_file, "-") == 0 && a->in == NULL)
		return usage(msg, msg_len,
			     "%s: --key-file - reads the key from stdin: give the input with -i "
			     "FILE",
			     name);
	if (a->request != NULL && strcmp(a->request, "-") == 0 && a->in == NULL)
		return usage(msg, msg_len,
			     "%s: --request - reads the request from stdin: give the message with "
			     "-i FILE",
			     name);
	if (a->all && a->key != NULL)
		return usage(msg, msg_len,
			     "%s: --all takes every key; give either KEY or --all, not both", name);
	if (a->all && a->format == CLI_FORMAT_DER)
		return usage(msg, msg_len,
			     "%s: --all with --format der would run the keys together; use "
			     "--format pem or ssh, or one KEY at a time",
			     name);
	if (a->json && a->prometheus)
		return usage(msg, msg_len, "%s: --json and --prometheus exclude each other", name);
	if (a->cmd->pos == CLI_POS_CERT && (r = check_cert(a, given, msg, msg_len)) != 0)
		return r;
	/* The bytes go to OUT and the --json summary to stdout: OUT must be a file. */
	if (a->json && (a->cmd->flags & CLI_CMD_JSON_NEEDS_OUT) && a->out == NULL)
		return usage(msg, msg_len,
			     "%s: --json prints a summary on stdout: give -o OUT for the "
			     "rewrapped key",
			     name);
	return 0;
}

/*
 * cert's positionals: "KEY", "import KEY" or "issue KEY". A lone action word
 * is that action without its KEY (a key so named is given by URI or id:HEX).
 */
static int cert_form(const char *const pos[], size_t npos, struct cli_args *a, char *msg,
		     size_t msg_len)
{
	static const struct {
		const char *word;
		enum cli_cert_action action;
	} actions[] = {{"import", CLI_CERT_IMPORT}, {"issue", CLI_CERT_ISSUE}};
	size_t i;

	if (npos == 0)
		return usage(msg, msg_len, "cert: missing KEY (or import KEY, issue KEY)");
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(pos[0], actions[i].word) == 0)
			break;
	}
	if (npos == 1 && i < sizeof(actions) / sizeof(actions[0]))
		return usage(msg, msg_len, "cert %s: missing KEY", pos[0]);
	if (npos == 1) {
		a->cert_action = CLI_CERT_SHOW;
		a->key = pos[0];
		return 0;
	}
	if (i == sizeof(actions) / sizeof(actions[0]))
		return usage(msg, msg_len,
			     "cert: unknown action '%.32s'; valid: import, issue (or KEY alone)",
			     pos[0]);
	a->cert_action = actions[i].action;
	a->key = pos[1];
	return 0;
}

/* help [COMMAND]: sets help_cmd from the one positional, if any. */
static int parse_help(int argc, char *const argv[], int i, struct cli_args *a, char *msg,
		      size_t msg_len)
{
	/* "help --help" is help's own usage. */
	if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0))
		a->help_cmd = a->cmd;
	else if (i < argc && (a->help_cmd = cli_command_by_name(argv[i])) == NULL)
		return usage(msg, msg_len, "help: unknown command '%s'", argv[i]);
	if (i + 1 < argc)
		return usage(msg, msg_len, "help: unexpected argument '%s'", argv[i + 1]);
	return 0;
}

/* The help command's row: the one that takes a command name. */
static const struct cli_command *help_command(void)
{
	size_t i;

	for (i = 0; i < cli_n_commands; i++) {
		if (cli_commands[i].pos == CLI_POS_COMMAND)
			return &cli_commands[i];
	}
	return NULL;
}

int cli_args_parse(int argc, char *const argv[], struct cli_args *out, char *msg, size_t msg_len)
{
	struct cli_args a;
	const struct cli_option *def;
	const char *val;
	const char *pos[MAX_POSITIONAL] = {NULL};
	char typed[TYPED_MAX];
	size_t npos = 0, want;
	uint64_t given = 0;
	int i = 1, help = 0, opts_done = 0, many, r;

	memset(&a, 0, sizeof(a));
	if (msg != NULL && msg_len > 0)
		msg[0] = '\0';

	/* Global options, up to the command. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((r = read_opt(argc, argv, &i, NULL, &def, &val, typed, msg, msg_len)) != 0 ||
		    (r = apply_opt(&a, def, typed, val, &help, msg, msg_len)) != 0)
			goto out;
	}
	if (a.version) {
		r = 0;
		goto out;
	}
	if (i >= argc) {
		if (help) {
			a.cmd = help_command();
			r = 0;
		} else {
			r = usage(msg, msg_len, "missing COMMAND");
		}
		goto out;
	}
	if ((a.cmd = cli_command_by_name(argv[i])) == NULL) {
		r = usage(msg, msg_len, "unknown command '%s'", argv[i]);
		goto out;
	}
	i++;
	if (help) {
		a.help_cmd = a.cmd->pos == CLI_POS_COMMAND ? NULL : a.cmd;
		a.cmd = help_command();
		r = 0;
		goto out;
	}
	if (a.cmd->pos == CLI_POS_COMMAND) {
		r = parse_help(argc, argv, i, &a, msg, msg_len);
		goto out;
	}
	many = a.cmd->pos == CLI_POS_FILES;
	want = a.cmd->pos == CLI_POS_NONE ? 0 : a.cmd->pos == CLI_POS_CERT ? 2 : 1;

	/* The command's options and positionals, in any order. */
	while (i < argc) {
		const char *arg = argv[i];

		if (!opts_done && strcmp(arg, "--") == 0) {
			opts_done = 1;
			i++;
			continue;
		}
		if (!opts_done && arg[0] == '-' && arg[1] != '\0') {
			if ((r = read_opt(argc, argv, &i, a.cmd, &def, &val, typed, msg,
					  msg_len)) != 0 ||
			    (r = apply_opt(&a, def, typed, val, &help, msg, msg_len)) != 0)
				goto out;
			given |= def->bit;
			if (help) {
				a.help_cmd = a.cmd;
				a.cmd = help_command();
				r = 0;
				goto out;
			}
			continue;
		}
		if (npos >= (many ? (size_t)MAX_POSITIONAL : want)) {
			if (many)
				r = usage(msg, msg_len, "%s: at most %d files", a.cmd->name,
					  MAX_POSITIONAL);
			else
				r = usage(msg, msg_len, "%s: unexpected argument '%s'", a.cmd->name,
					  arg);
			goto out;
		}
		pos[npos++] = arg;
		i++;
	}
	if (a.cmd->pos == CLI_POS_CERT) {
		if ((r = cert_form(pos, npos, &a, msg, msg_len)) != 0)
			goto out;
	} else if (npos < want && !a.all) {
		r = usage(msg, msg_len, "%s: missing %s", a.cmd->name,
			  many			       ? "FILE"
			  : a.cmd->pos == CLI_POS_NAME ? "NAME"
						       : "KEY");
		goto out;
	} else if (many) {
		for (size_t k = 0; k < npos; k++)
			a.files[k] = pos[k];
		a.n_files = npos;
	} else if (npos > 0) {
		a.key = pos[0];
	}
	r = check_args(&a, given, msg, msg_len);
out:
	/* On an error too: the caller needs cmd and json to report it. */
	*out = a;
	return r;
}
