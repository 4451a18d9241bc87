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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
};

/* The longest spelling of an option as typed, "--label-hex", and its NUL. */
#define TYPED_MAX 16

const struct cli_option *cli_args_option_at(size_t i)
{
	return i < sizeof(opts) / sizeof(opts[0]) ? &opts[i] : NULL;
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
static uint32_t cmd_opts(const struct cli_command *cmd)
{
	return cmd != NULL ? cmd->opts | CLI_OPTS_COMMON : CLI_OPTS_GLOBAL;
}

static const struct cli_option *opt_by_bit(uint32_t bit)
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
	size_t i, used = 0;
	int n;

	if (out_len == 0)
		return;
	out[0] = '\0';
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An even number of hex digits (none is fine: an empty label). */
static int hex_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (hex_digit(s[i]) < 0)
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
			p[i] = (uint8_t)(hex_digit(a->label[2 * i]) << 4 |
					 hex_digit(a->label[2 * i + 1]));
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
	}
	return 0;
}

/* The CLI_OPT_*s present in a (those the row's required set checks). */
static uint32_t opts_given(const struct cli_args *a)
{
	return (a->sig != NULL ? CLI_OPT_SIG : 0) | (a->peer != NULL ? CLI_OPT_PEER : 0) |
	       (a->key_file != NULL ? CLI_OPT_KEY_FILE : 0) |
	       (a->pubkey != NULL ? CLI_OPT_PUBKEY : 0);
}

/* Checks that hold across options, once they are all read. */
static int check_args(const struct cli_args *a, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(a->alg);
	const char *name = a->cmd->name;
	uint32_t missing = a->cmd->required & ~opts_given(a);
	const struct cli_option *o;

	if (a->key != NULL && a->key[0] == '\0')
		return usage(msg, msg_len, "%s: KEY must not be empty", name);
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
	if (a->all && a->key != NULL)
		return usage(msg, msg_len,
			     "%s: --all takes every key; give either KEY or --all, not both", name);
	if (a->all && a->format == CLI_FORMAT_DER)
		return usage(msg, msg_len,
			     "%s: --all with --format der would run the keys together; use "
			     "--format pem or ssh, or one KEY at a time",
			     name);
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
	want = a.cmd->pos == CLI_POS_NONE ? 0 : 1;

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
	if (npos < want && !a.all) {
		r = usage(msg, msg_len, "%s: missing %s", a.cmd->name, many ? "FILE" : "KEY");
		goto out;
	}
	if (many) {
		for (size_t k = 0; k < npos; k++)
			a.files[k] = pos[k];
		a.n_files = npos;
	} else if (npos > 0) {
		a.key = pos[0];
	}
	r = check_args(&a, msg, msg_len);
out:
	/* On an error too: the caller needs cmd and json to report it. */
	*out = a;
	return r;
}
