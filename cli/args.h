/*
 * args: the command line of p11agent, from argv to a struct cli_args.
 *
 * cli_args_parse() is a pure function: no I/O, no global state (no getopt),
 * so that it can be called again and again (the unit tests do). Strings in
 * the result point into argv, which must outlive it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_ARGS_H
#define P11AGENT_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

/* Exit status of a usage error (see p11agent.1, EXIT STATUS). */
#define CLI_EXIT_USAGE 2

/* The key identifier seal writes in an envelope when --key-id is absent. */
#define CLI_KEY_ID_DEFAULT "p11agent"
/* Longest --key-id. */
#define CLI_KEY_ID_MAX 256
/* Most FILEs audit-verify takes. */
#define CLI_MAX_FILES 64
/* Most days a certificate may be valid (cert issue --days): 100 years. */
#define CLI_MAX_DAYS 36500
/*
 * The latest time http-sign and http-verify take (--created, --expires,
 * --at), and the most seconds (--expires +S, --max-age): 9999-12-31T23:59:59Z
 * in Unix seconds, the last second RFC 3339 can write.
 */
#define CLI_HTTP_TIME_MAX INT64_C(253402300799)
/* Longest --nonce, --keyid or --tag (each an RFC 9651 string). */
#define CLI_HTTP_PARAM_MAX 1024
/* Longest http-sign, http-verify --label (an RFC 9651 key). */
#define CLI_HTTP_LABEL_MAX 64

/*
 * The options, as bits of a command's set (struct cli_command.opts): a
 * uint64_t, as more than 32 options exist and C11 enumerators must fit an
 * int.
 */
#define CLI_OPT_SOCKET (UINT64_C(1) << 0)
#define CLI_OPT_JSON (UINT64_C(1) << 1)
#define CLI_OPT_HELP (UINT64_C(1) << 2)
#define CLI_OPT_VERSION (UINT64_C(1) << 3)
#define CLI_OPT_ALG (UINT64_C(1) << 4)
#define CLI_OPT_IN (UINT64_C(1) << 5)
#define CLI_OPT_OUT (UINT64_C(1) << 6)
#define CLI_OPT_SIG (UINT64_C(1) << 7)
#define CLI_OPT_PREHASHED (UINT64_C(1) << 8)
#define CLI_OPT_RAW (UINT64_C(1) << 9)
#define CLI_OPT_FORMAT (UINT64_C(1) << 10)
#define CLI_OPT_LABEL (UINT64_C(1) << 11)
#define CLI_OPT_LABEL_HEX (UINT64_C(1) << 12)
#define CLI_OPT_KEY_LEN (UINT64_C(1) << 13)
#define CLI_OPT_PEER (UINT64_C(1) << 14)
#define CLI_OPT_KEY_FILE (UINT64_C(1) << 15)
#define CLI_OPT_KEY_ID (UINT64_C(1) << 16)
#define CLI_OPT_KEYED (UINT64_C(1) << 17)
#define CLI_OPT_PARTIAL (UINT64_C(1) << 18)
#define CLI_OPT_PUBKEY (UINT64_C(1) << 19)
#define CLI_OPT_ALL (UINT64_C(1) << 20)
#define CLI_OPT_TYPE (UINT64_C(1) << 21)
#define CLI_OPT_OPS (UINT64_C(1) << 22)
#define CLI_OPT_BELOW (UINT64_C(1) << 23)
#define CLI_OPT_SUBJECT (UINT64_C(1) << 24)
#define CLI_OPT_SAN (UINT64_C(1) << 25)
#define CLI_OPT_DAYS (UINT64_C(1) << 26)
#define CLI_OPT_CA (UINT64_C(1) << 27)
#define CLI_OPT_SELF (UINT64_C(1) << 28)
#define CLI_OPT_PROMETHEUS (UINT64_C(1) << 29)
#define CLI_OPT_COMPONENTS (UINT64_C(1) << 30) /* http-sign --components LIST */
#define CLI_OPT_CREATED (UINT64_C(1) << 31)    /* http-sign --created now|T */
#define CLI_OPT_EXPIRES (UINT64_C(1) << 32)    /* http-sign --expires T|+S */
#define CLI_OPT_NONCE (UINT64_C(1) << 33)      /* http-sign --nonce N */
#define CLI_OPT_KEYID (UINT64_C(1) << 34)      /* http-sign --keyid ID */
#define CLI_OPT_TAG (UINT64_C(1) << 35)	       /* http-sign --tag T */
#define CLI_OPT_ALG_PARAM (UINT64_C(1) << 36)  /* http-sign --alg-param */
#define CLI_OPT_DIGEST (UINT64_C(1) << 37)     /* http-sign --digest sha-256|sha-512 */
#define CLI_OPT_REQUEST (UINT64_C(1) << 38)    /* http-sign, http-verify --request FILE */
#define CLI_OPT_PRINT_BASE (UINT64_C(1) << 39) /* http-sign --print-base */
#define CLI_OPT_MAX_AGE (UINT64_C(1) << 40)    /* http-verify --max-age S */
#define CLI_OPT_REQUIRE (UINT64_C(1) << 41)    /* http-verify --require LIST */
#define CLI_OPT_AT (UINT64_C(1) << 42)	       /* http-verify --at T */
#define CLI_OPT_EKU (UINT64_C(1) << 43)	       /* cert issue --eku LIST */

/* The options every command takes, after it as before it. */
#define CLI_OPTS_COMMON (CLI_OPT_SOCKET | CLI_OPT_JSON | CLI_OPT_HELP)
/* The options that may come before the command. */
#define CLI_OPTS_GLOBAL (CLI_OPTS_COMMON | CLI_OPT_VERSION)
/* The options of cert's row: its forms take some each (args.c, check_cert()). */
#define CLI_CERT_OPTS                                                                              \
	(CLI_OPT_IN | CLI_OPT_OUT | CLI_OPT_DAYS | CLI_OPT_CA | CLI_OPT_SELF | CLI_OPT_SUBJECT |   \
	 CLI_OPT_SAN | CLI_OPT_EKU)

/* What an option's value is, for messages and shell completion. */
enum cli_value {
	CLI_VALUE_NONE = 0, /* a flag */
	CLI_VALUE_FILE,	    /* a file name ('-' for stdin or stdout where the text says so) */
	CLI_VALUE_ALG,	    /* an algorithm of proto's table that fits the command; for a
			       CLI_CMD_HTTPSIG command, an RFC 9421 name (p11a_http_alg_at) */
	CLI_VALUE_FORMAT,   /* pem, der or ssh */
	CLI_VALUE_KEY_TYPE, /* keygen --type: one of cli_args_key_type_at() */
	CLI_VALUE_DIGEST,   /* http-sign --digest: sha-256 or sha-512 */
	CLI_VALUE_TEXT,	    /* anything else: a number, a label, hex */
};

/* One option of the command line. */
struct cli_option {
	const char *long_name; /* "in": typed as --in */
	char short_name;       /* 'i', or 0 for the long form only */
	uint64_t bit;	       /* its CLI_OPT_* */
	enum cli_value value;
	const char *metavar; /* the value's name in messages ("FILE"), NULL for a flag */
};

/* The i-th option (for help and completion), or NULL past the end. */
const struct cli_option *cli_args_option_at(size_t i);

/* The i-th key type keygen --type takes ("rsa:2048"), or NULL past the end. */
const char *cli_args_key_type_at(size_t i);

/* The positional arguments a command takes. */
enum cli_pos {
	CLI_POS_NONE = 0,
	CLI_POS_KEY,	 /* one KEY */
	CLI_POS_NAME,	 /* one NAME: a key to make (keygen) */
	CLI_POS_FILES,	 /* FILE..., one to CLI_MAX_FILES */
	CLI_POS_COMMAND, /* an optional command name (help) */
	CLI_POS_CERT,	 /* KEY, or an action word and KEY: "import KEY", "issue KEY" */
};

/* The action words of CLI_POS_CERT, space-separated (for completion). */
#define CLI_CERT_ACTIONS "import issue"

/* What cert does (its positional form). */
enum cli_cert_action {
	CLI_CERT_SHOW = 0, /* cert KEY: print its certificate */
	CLI_CERT_IMPORT,   /* cert import KEY -i FILE: store one in the token */
	CLI_CERT_ISSUE,	   /* cert issue CAKEY -i REQ | cert issue KEY --self: make one */
};

struct cli_ctx;

/*
 * One command: a row of cli_commands (table.c). The handler and the usage
 * text live together in the handler's file; the parser, the help and the
 * shell completion read everything else from the row.
 */
struct cli_command {
	const char *name;
	/* Runs the command; reports any error itself, returns the exit status. */
	int (*run)(struct cli_ctx *c);
	enum cli_pos pos;
	uint64_t opts;	       /* the CLI_OPT_*s it takes besides CLI_OPTS_COMMON */
	uint64_t required;     /* those of opts it cannot do without */
	uint32_t alg_ops;      /* --alg: the P11A_OP_* an algorithm must serve */
	p11a_key_type alg_key; /* --alg: the key type it must be for, or P11A_KEY_UNKNOWN */
	const char *synopsis;  /* the general help's line: "sign KEY [--alg ALG] ..." */
	const char *summary;   /* what it does, for the general help ('\n' between lines) */
	const char *usage;     /* its help: "Usage: ...", the options, KEY; before ALG */
	const char *exit_text; /* its exit statuses, after ALG ("Exit status: ..."), or NULL */
	uint32_t flags;	       /* CLI_CMD_* */
};

/* The command writes its data to OUT and, with --json, a summary on stdout: OUT must be a file. */
#define CLI_CMD_JSON_NEEDS_OUT 0x01u
/*
 * An HTTP Message Signatures command (RFC 9421: http-sign, http-verify). Its
 * --alg takes the RFC 9421 names (p11a_http_alg_at(), stored in
 * http_alg), not proto's table (alg_ops and alg_key are unused), and its
 * --label is the signature's label, an RFC 9651 key, not an OAEP label.
 */
#define CLI_CMD_HTTPSIG 0x02u

/* The commands, in the order the help lists them; cli_n_commands rows. */
extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;

/* The command named name, or NULL. */
const struct cli_command *cli_command_by_name(const char *name);

enum cli_format {
	CLI_FORMAT_PEM = 0,
	CLI_FORMAT_DER,
	CLI_FORMAT_SSH,
};

struct cli_args {
	const struct cli_command *cmd;	    /* NULL: none (--version, or a usage error before it) */
	const struct cli_command *help_cmd; /* help: the command whose usage to print, NULL: all */
	int version;			    /* --version */
	const char *socket;		    /* -S, NULL: $P11AGENT_SOCK, else the default */
	int json;			    /* --json */
	const char *key;	/* KEY positional (pubkey, sign, verify, hmac, decrypt, ...) */
	p11a_alg alg;		/* --alg, P11A_ALG_NONE when absent */
	const char *in;		/* -i, NULL for stdin ("-" too) */
	const char *out;	/* -o, NULL for stdout ("-" too) */
	const char *sig;	/* verify --sig */
	int prehashed;		/* --prehashed */
	int raw;		/* --raw: ECDSA r||s */
	enum cli_format format; /* pubkey --format */
	int all;		/* pubkey --all: every key's */
	/*
	 * decrypt, unwrap, rewrap: --label TEXT or --label-hex HEX, the OAEP
	 * label, NULL if absent. http-sign, http-verify: --label L, the
	 * signature's label, an RFC 9651 key (checked: a lowercase letter or
	 * '*', then lowercase letters, digits, '_', '-', '.', '*'; at most
	 * CLI_HTTP_LABEL_MAX bytes), NULL if absent.
	 */
	const char *label;
	int label_hex;	  /* label is --label-hex's (its syntax checked); see cli_args_label() */
	size_t key_len;	  /* unwrap --key-len, 0 when absent */
	const char *peer; /* derive --peer */
	const char *key_file;		  /* seal, open --key-file; "-" is stdin (kept as "-") */
	const char *key_id;		  /* seal --key-id, NULL when absent */
	const char *files[CLI_MAX_FILES]; /* audit-verify FILE..., in order */
	size_t n_files;
	int keyed;	      /* audit-verify --keyed */
	int partial;	      /* audit-verify --partial */
	const char *pubkey;   /* audit-verify --pubkey FILE: offline, no agent */
	const char *key_type; /* keygen --type, one of cli_args_key_type_at(); NULL if absent */
	uint32_t ops;	      /* keygen --ops: P11A_OP_*s, 0 when absent (the type's defaults) */
	uint32_t below;	      /* trim --below N, 0 when absent */
	const char *subject;  /* csr, cert issue --self: --subject DN, NULL if absent */
	const char *san;      /* csr, cert issue: --san LIST, NULL if absent */
	const char *eku;      /* cert issue: --eku LIST, NULL if absent */
	unsigned days;	      /* cert issue --days N (1 to CLI_MAX_DAYS), 0 when absent */
	int ca;		      /* cert issue --ca */
	int self;	      /* cert issue --self */
	enum cli_cert_action cert_action; /* cert: which form */
	int prometheus;			  /* status --prometheus */

	/* http-sign and http-verify (RFC 9421); the label is in label above. */
	const char *http_alg;	/* --alg: one of p11a_http_alg_at(), NULL when absent */
	const char *components; /* http-sign --components LIST as typed, NULL when absent
				   (the default set); "" covers nothing */
	int created_set;	/* http-sign --created T given; 0: absent or "now" (the clock) */
	int64_t created;	/* --created T: Unix seconds, 0..CLI_HTTP_TIME_MAX; 0 unless set */
	int expires_set;	/* http-sign --expires given; 0: no expires parameter */
	int expires_rel;	/* --expires +S: expires is seconds after created, not a time */
	int64_t expires;	/* --expires T: Unix seconds 0..CLI_HTTP_TIME_MAX; +S: S,
				   1..CLI_HTTP_TIME_MAX; 0 unless set */
	const char *nonce;	/* http-sign --nonce N, NULL when absent */
	const char *keyid;	/* http-sign --keyid ID, NULL when absent */
	const char *tag;	/* http-sign --tag T, NULL when absent; nonce, keyid and tag
				   are 1..CLI_HTTP_PARAM_MAX bytes of printable ASCII */
	int alg_param;		/* http-sign --alg-param: write alg="ALG" in the parameters */
	const char *digest;	/* http-sign --digest: "sha-256" or "sha-512", NULL when absent */
	const char *request;	/* http-sign, http-verify --request FILE ("-": stdin, kept
				   as "-"), NULL when absent */
	int print_base;		/* http-sign --print-base: write the signature base, sign nothing */
	int64_t max_age;	/* http-verify --max-age S: 1..CLI_HTTP_TIME_MAX, 0 when absent */
	int at_set;		/* http-verify --at T given; 0: the clock */
	int64_t at;		/* --at T: Unix seconds 0..CLI_HTTP_TIME_MAX; 0 unless set */
	const char *require;	/* http-verify --require LIST as typed (not empty), NULL when
				   absent */
};

/*
 * Parses argv[0..argc) (argv[0] is the program name). Options may come
 * before or after the KEY positional; "--" ends options; "--opt=value" and
 * "--opt value" are both accepted; -S and --json are also accepted after the
 * command. On success returns 0 and fills *out (the help command, with
 * help_cmd, for --help, help and COMMAND --help; version set and no command
 * for --version). On a usage error
 * returns CLI_EXIT_USAGE, writes a one-line message (without "p11agent: ")
 * to msg, and leaves *out with at least the command and json fields set so
 * that the caller can print the right usage.
 */
int cli_args_parse(int argc, char *const argv[], struct cli_args *out, char *msg, size_t msg_len);

/*
 * The OAEP label a asks for: the bytes of --label TEXT, or those --label-hex
 * HEX spells; none (length 0) without either. *out is malloc'd, never NULL;
 * free() it. Returns 0, or -1 when out of memory.
 */
int cli_args_label(const struct cli_args *a, uint8_t **out, size_t *out_len);

/* The command's name ("sign"), or "p11agent" for NULL. */
const char *cli_args_cmd_name(const struct cli_command *cmd);

/*
 * The names of the algorithms --alg takes for cmd, ", "-separated, in the
 * order of proto's table (for a CLI_CMD_HTTPSIG command, the RFC 9421 names
 * of p11a_http_alg_at()); truncated to out_len.
 */
void cli_args_alg_names(const struct cli_command *cmd, char *out, size_t out_len);

#endif
