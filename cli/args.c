/*
 * args: the command line of p11agent. See args.h.
 *
 * Hand-rolled rather than getopt_long: no global state, so that the parser is
 * reentrant, and options are accepted before and after the KEY positional.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"

/* Most positional arguments any command takes (KEY). */
#define MAX_POSITIONAL 1

enum opt_id {
	OPT_SOCKET,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
	OPT_ALG,
	OPT_IN,
	OPT_OUT,
	OPT_SIG,
	OPT_PREHASHED,
	OPT_RAW,
	OPT_FORMAT,
};

#define CMD_BIT(c) (1u << (c))
#define IN_GLOBAL CMD_BIT(CLI_CMD_NONE)
#define IN_ANY_CMD                                                                                 \
	(CMD_BIT(CLI_CMD_PING) | CMD_BIT(CLI_CMD_LIST) | CMD_BIT(CLI_CMD_PUBKEY) |                 \
	 CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY) | CMD_BIT(CLI_CMD_HMAC) |                 \
	 CMD_BIT(CLI_CMD_HELP))

struct opt_def {
	const char *long_name;
	char short_name; /* 0: long form only */
	int has_arg;
	enum opt_id id;
	unsigned scope; /* CMD_BIT()s of the commands that take it; IN_GLOBAL: before one */
};

static const struct opt_def opts[] = {
    {"socket", 'S', 1, OPT_SOCKET, IN_GLOBAL | IN_ANY_CMD},
    {"json", 0, 0, OPT_JSON, IN_GLOBAL | IN_ANY_CMD},
    {"help", 'h', 0, OPT_HELP, IN_GLOBAL | IN_ANY_CMD},
    {"version", 0, 0, OPT_VERSION, IN_GLOBAL},
    {"alg", 0, 1, OPT_ALG, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY) | CMD_BIT(CLI_CMD_HMAC)},
    {"in", 'i', 1, OPT_IN, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY) | CMD_BIT(CLI_CMD_HMAC)},
    {"out", 'o', 1, OPT_OUT, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_HMAC)},
    {"sig", 0, 1, OPT_SIG, CMD_BIT(CLI_CMD_VERIFY)},
    {"prehashed", 0, 0, OPT_PREHASHED, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY)},
    {"raw", 0, 0, OPT_RAW, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY)},
    {"format", 0, 1, OPT_FORMAT, CMD_BIT(CLI_CMD_PUBKEY)},
};

static const struct {
	const char *name;
	enum cli_cmd cmd;
	size_t npos; /* positional arguments it needs */
} cmds[] = {
    {"ping", CLI_CMD_PING, 0}, {"list", CLI_CMD_LIST, 0},     {"pubkey", CLI_CMD_PUBKEY, 1},
    {"sign", CLI_CMD_SIGN, 1}, {"verify", CLI_CMD_VERIFY, 1}, {"hmac", CLI_CMD_HMAC, 1},
    {"help", CLI_CMD_HELP, 0},
};

#define ALG_NAMES                                                                                  \
	"  rsa-pkcs1-sha256, rsa-pkcs1-sha384, rsa-pkcs1-sha512,\n"                                \
	"  rsa-pss-sha256, rsa-pss-sha384, rsa-pss-sha512,\n"                                      \
	"  ecdsa-sha256, ecdsa-sha384, ecdsa-sha512, ed25519,\n"                                   \
	"  hmac-sha256, hmac-sha384, hmac-sha512"

#define KEY_TEXT                                                                                   \
	"KEY is a key's label, id:HEX (its CKA_ID) or a pkcs11: URI as 'p11agent list'\n"          \
	"prints it.\n"

#define EXIT_TEXT                                                                                  \
	"Exit status: 0 ok; 1 signature invalid, or the agent or the token refused;\n"             \
	"2 usage error; 3 agent unreachable; 4 denied by policy; 5 no such key or\n"               \
	"ambiguous key; 6 token unavailable.\n"

static const char usage_general[] =
    "Usage: p11agent [-S SOCKET] [--json] COMMAND [ARGS]\n"
    "\n"
    "Uses keys held by p11agentd. The keys never leave the token.\n"
    "\n"
    "Commands:\n"
    "  ping                  check that the agent answers\n"
    "  list                  list the keys, a line a key: NAME  TYPE  OPS  URI\n"
    "  pubkey KEY [--format pem|der|ssh]\n"
    "                        print a public key (SubjectPublicKeyInfo PEM by default)\n"
    "  sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]\n"
    "                        sign IN (default stdin), signature to OUT (default stdout)\n"
    "  verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] [--raw]\n"
    "                        check a signature or an HMAC: exit 0 valid, 1 invalid\n"
    "  hmac KEY [--alg ALG] [-i IN] [-o OUT]\n"
    "                        compute an HMAC inside the token\n"
    "  help [COMMAND]        print this help, or a command's\n"
    "\n"
    "Options:\n"
    "  -S, --socket SOCKET   the agent's socket (default: $P11AGENT_SOCK, else\n"
    "                        $XDG_RUNTIME_DIR/p11agent/agent.sock)\n"
    "  --json                machine-readable output (list, and errors on stderr)\n"
    "  -h, --help            print help and exit; 'p11agent COMMAND --help' too\n"
    "  --version             print the version and exit\n"
    "\n" KEY_TEXT "ALG is one of:\n" ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_ping[] = "Usage: p11agent [-S SOCKET] ping\n"
				 "\n"
				 "Checks that the agent answers. Prints \"agent at SOCKET: ok\".\n"
				 "\n" EXIT_TEXT;

static const char usage_list[] =
    "Usage: p11agent [-S SOCKET] [--json] list\n"
    "\n"
    "Lists the keys the agent holds, a line a key: NAME  TYPE  OPS  URI.\n"
    "NAME is the label (id:HEX when it has none), TYPE e.g. rsa:2048, ec:P-256,\n"
    "ed25519, hmac:256, aes:256; OPS the operations the key allows; URI its\n"
    "pkcs11: URI, which works as KEY. With --json: a JSON array of objects with\n"
    "label, id, uri, type, bits, curve, ops, algs and default_alg.\n"
    "\n" EXIT_TEXT;

static const char usage_pubkey[] =
    "Usage: p11agent [-S SOCKET] pubkey KEY [--format pem|der|ssh]\n"
    "\n"
    "Prints the public key of KEY on stdout:\n"
    "  --format pem   SubjectPublicKeyInfo, PEM (the default)\n"
    "  --format der   SubjectPublicKeyInfo, DER (binary)\n"
    "  --format ssh   an OpenSSH public key line (RSA, ECDSA, Ed25519)\n"
    "\n" KEY_TEXT "\n" EXIT_TEXT;

static const char usage_sign[] =
    "Usage: p11agent [-S SOCKET] sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]\n"
    "\n"
    "Signs the bytes of IN (default stdin) with KEY; writes the signature to OUT\n"
    "(default stdout). OUT is written whole or not at all.\n"
    "  --alg ALG      the algorithm (default: the key's own: rsa-pkcs1-sha256 for RSA,\n"
    "                 the curve's hash for ECDSA, ed25519, hmac-sha256)\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the signature file ('-': stdout)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: r||s instead of a DER ECDSA-Sig-Value\n"
    "\n" KEY_TEXT "ALG is one of:\n" ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_verify[] =
    "Usage: p11agent [-S SOCKET] verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] "
    "[--raw]\n"
    "\n"
    "Checks the signature in FILE over the bytes of IN (default stdin). Prints\n"
    "\"Verified OK\" and exits 0 when it is valid, prints \"Verification failure\"\n"
    "and exits 1 when not. Signatures are checked here with OpenSSL on the key's\n"
    "public key; HMACs are checked by the agent, inside the token.\n"
    "  --sig FILE     the signature or HMAC\n"
    "  --alg ALG      the algorithm (default: the key's own)\n"
    "  -i, --in IN    the signed file ('-': stdin)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: FILE holds r||s instead of DER\n"
    "\n" KEY_TEXT "ALG is one of:\n" ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_hmac[] =
    "Usage: p11agent [-S SOCKET] hmac KEY [--alg ALG] [-i IN] [-o OUT]\n"
    "\n"
    "Computes the HMAC of IN (default stdin) with the secret key KEY, inside the\n"
    "token; writes it to OUT (default stdout). Check one with 'p11agent verify'.\n"
    "  --alg ALG      hmac-sha256 (default), hmac-sha384 or hmac-sha512\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the HMAC file ('-': stdout)\n"
    "\n" KEY_TEXT "\n" EXIT_TEXT;

static const char usage_help[] = "Usage: p11agent help [COMMAND]\n"
				 "\n"
				 "Prints the general help, or COMMAND's.\n";

const char *cli_args_usage(enum cli_cmd cmd)
{
	switch (cmd) {
	case CLI_CMD_PING:
		return usage_ping;
	case CLI_CMD_LIST:
		return usage_list;
	case CLI_CMD_PUBKEY:
		return usage_pubkey;
	case CLI_CMD_SIGN:
		return usage_sign;
	case CLI_CMD_VERIFY:
		return usage_verify;
	case CLI_CMD_HMAC:
		return usage_hmac;
	case CLI_CMD_HELP:
		return usage_help;
	case CLI_CMD_NONE:
	case CLI_CMD_VERSION:
		break;
	}
	return usage_general;
}

const char *cli_args_cmd_name(enum cli_cmd cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].cmd == cmd)
			return cmds[i].name;
	}
	return "p11agent";
}

static int lookup_cmd(const char *name, enum cli_cmd *out_cmd, size_t *out_npos)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, name) == 0) {
			*out_cmd = cmds[i].cmd;
			if (out_npos != NULL)
				*out_npos = cmds[i].npos;
			return 0;
		}
	}
	return -1;
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

static const struct opt_def *find_long(const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strlen(opts[i].long_name) == name_len &&
		    strncmp(opts[i].long_name, name, name_len) == 0)
			return &opts[i];
	}
	return NULL;
}

static const struct opt_def *find_short(char c)
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
 * next one), advancing *i past it. cmd is the command it follows (CLI_CMD_NONE
 * before the command).
 */
static int read_opt(int argc, char *const argv[], int *i, enum cli_cmd cmd,
		    const struct opt_def **out_def, const char **out_val, char *msg, size_t msg_len)
{
	const char *arg = argv[*i];
	const struct opt_def *def;
	const char *val = NULL;
	const char *eq;
	int next = *i + 1;

	if (arg[1] == '-') {
		eq = strchr(arg + 2, '=');
		def = find_long(arg + 2, eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2));
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '%.*s'",
				     eq != NULL ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (eq != NULL && !def->has_arg)
			return usage(msg, msg_len, "option '--%s' takes no value", def->long_name);
		if (eq != NULL)
			val = eq + 1;
	} else {
		def = find_short(arg[1]);
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '-%c'", arg[1]);
		if (arg[2] != '\0') {
			if (!def->has_arg)
				return usage(msg, msg_len, "unknown option '%s'", arg);
			val = arg + 2;
		}
	}

	if ((def->scope & CMD_BIT(cmd)) == 0) {
		if (cmd == CLI_CMD_NONE)
			return usage(msg, msg_len, "option '--%s' must come after the command",
				     def->long_name);
		return usage(msg, msg_len, "option '--%s' is not valid for '%s'", def->long_name,
			     cli_args_cmd_name(cmd));
	}

	if (def->has_arg && val == NULL) {
		if (next >= argc)
			return usage(msg, msg_len, "option '--%s' needs a value", def->long_name);
		val = argv[next++];
	}

	*out_def = def;
	*out_val = val;
	*i = next;
	return 0;
}

static int parse_alg(const char *name, enum cli_cmd cmd, p11a_alg *out_alg, char *msg,
		     size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_name(name);

	if (info == NULL)
		return usage(msg, msg_len, "unknown algorithm '%s'; valid: %s", name,
			     "rsa-pkcs1-sha256|384|512, rsa-pss-sha256|384|512, "
			     "ecdsa-sha256|384|512, ed25519, hmac-sha256|384|512");
	if (cmd == CLI_CMD_HMAC && info->key_type != P11A_KEY_HMAC)
		return usage(msg, msg_len,
			     "'%s' is not an HMAC algorithm; valid: hmac-sha256, hmac-sha384, "
			     "hmac-sha512",
			     name);
	*out_alg = info->alg;
	return 0;
}

static int parse_format(const char *name, enum cli_format *out_format, char *msg, size_t msg_len)
{
	if (strcmp(name, "pem") == 0)
		*out_format = CLI_FORMAT_PEM;
	else if (strcmp(name, "der") == 0)
		*out_format = CLI_FORMAT_DER;
	else if (strcmp(name, "ssh") == 0)
		*out_format = CLI_FORMAT_SSH;
	else
		return usage(msg, msg_len, "unknown format '%s'; valid: pem, der, ssh", name);
	return 0;
}

/* Stores one option's effect in a. Sets *out_help for --help, *out_version for --version. */
static int apply_opt(struct cli_args *a, const struct opt_def *def, const char *val, int *out_help,
		     int *out_version, char *msg, size_t msg_len)
{
	switch (def->id) {
	case OPT_SOCKET:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--socket' needs a path");
		a->socket = val;
		break;
	case OPT_JSON:
		a->json = 1;
		break;
	case OPT_HELP:
		*out_help = 1;
		break;
	case OPT_VERSION:
		*out_version = 1;
		break;
	case OPT_ALG:
		return parse_alg(val, a->cmd, &a->alg, msg, msg_len);
	case OPT_IN:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--in' needs a file name");
		a->in = strcmp(val, "-") == 0 ? NULL : val;
		break;
	case OPT_OUT:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--out' needs a file name");
		a->out = strcmp(val, "-") == 0 ? NULL : val;
		break;
	case OPT_SIG:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--sig' needs a file name");
		a->sig = val;
		break;
	case OPT_PREHASHED:
		a->prehashed = 1;
		break;
	case OPT_RAW:
		a->raw = 1;
		break;
	case OPT_FORMAT:
		return parse_format(val, &a->format, msg, msg_len);
	}
	return 0;
}

/* Checks that hold across options, once they are all read. */
static int check_args(const struct cli_args *a, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(a->alg);
	const char *name = cli_args_cmd_name(a->cmd);

	if (a->key != NULL && a->key[0] == '\0')
		return usage(msg, msg_len, "%s: KEY must not be empty", name);
	if (a->cmd == CLI_CMD_VERIFY && a->sig == NULL)
		return usage(msg, msg_len, "verify: missing --sig FILE");
	if (a->prehashed && info != NULL && info->input != P11A_INPUT_DIGEST)
		return usage(msg, msg_len,
			     "%s: --prehashed needs an RSA or ECDSA algorithm, not '%s'", name,
			     info->name);
	if (a->raw && info != NULL && info->key_type != P11A_KEY_EC)
		return usage(msg, msg_len, "%s: --raw applies to ECDSA only, not '%s'", name,
			     info->name);
	return 0;
}

int cli_args_parse(int argc, char *const argv[], struct cli_args *out, char *msg, size_t msg_len)
{
	struct cli_args a;
	const struct opt_def *def;
	const char *val;
	const char *pos[MAX_POSITIONAL] = {NULL};
	size_t npos = 0, want = 0;
	int i = 1, help = 0, version = 0, opts_done = 0, r;

	memset(&a, 0, sizeof(a));
	if (msg != NULL && msg_len > 0)
		msg[0] = '\0';

	/* Global options, up to the command. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((r = read_opt(argc, argv, &i, CLI_CMD_NONE, &def, &val, msg, msg_len)) != 0 ||
		    (r = apply_opt(&a, def, val, &help, &version, msg, msg_len)) != 0)
			goto out;
	}
	if (version) {
		a.cmd = CLI_CMD_VERSION;
		r = 0;
		goto out;
	}
	if (i >= argc) {
		if (help) {
			a.cmd = CLI_CMD_HELP;
			r = 0;
		} else {
			r = usage(msg, msg_len, "missing COMMAND");
		}
		goto out;
	}
	if (lookup_cmd(argv[i], &a.cmd, &want) != 0) {
		r = usage(msg, msg_len, "unknown command '%s'", argv[i]);
		goto out;
	}
	i++;
	if (help) {
		a.help_cmd = a.cmd == CLI_CMD_HELP ? CLI_CMD_NONE : a.cmd;
		a.cmd = CLI_CMD_HELP;
		r = 0;
		goto out;
	}
	if (a.cmd == CLI_CMD_HELP) {
		/* help [COMMAND]; "help --help" is help's own usage. */
		if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0))
			a.help_cmd = CLI_CMD_HELP;
		else if (i < argc && lookup_cmd(argv[i], &a.help_cmd, NULL) != 0) {
			r = usage(msg, msg_len, "help: unknown command '%s'", argv[i]);
			goto out;
		}
		if (i + 1 < argc) {
			r = usage(msg, msg_len, "help: unexpected argument '%s'", argv[i + 1]);
			goto out;
		}
		r = 0;
		goto out;
	}

	/* The command's options and positionals, in any order. */
	while (i < argc) {
		const char *arg = argv[i];

		if (!opts_done && strcmp(arg, "--") == 0) {
			opts_done = 1;
			i++;
			continue;
		}
		if (!opts_done && arg[0] == '-' && arg[1] != '\0') {
			if ((r = read_opt(argc, argv, &i, a.cmd, &def, &val, msg, msg_len)) != 0 ||
			    (r = apply_opt(&a, def, val, &help, &version, msg, msg_len)) != 0)
				goto out;
			if (help) {
				a.help_cmd = a.cmd;
				a.cmd = CLI_CMD_HELP;
				r = 0;
				goto out;
			}
			continue;
		}
		if (npos >= want) {
			r = usage(msg, msg_len, "%s: unexpected argument '%s'",
				  cli_args_cmd_name(a.cmd), arg);
			goto out;
		}
		pos[npos++] = arg;
		i++;
	}
	if (npos < want) {
		r = usage(msg, msg_len, "%s: missing KEY", cli_args_cmd_name(a.cmd));
		goto out;
	}
	if (want > 0)
		a.key = pos[0];
	r = check_args(&a, msg, msg_len);
out:
	/* On an error too: the caller needs cmd and json to report it. */
	*out = a;
	return r;
}
