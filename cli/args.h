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

enum cli_cmd {
	CLI_CMD_NONE = 0, /* no command: general help */
	CLI_CMD_HELP,	  /* print usage of cli_args.help_cmd (CLI_CMD_NONE: general) */
	CLI_CMD_VERSION,
	CLI_CMD_PING,
	CLI_CMD_LIST,
	CLI_CMD_PUBKEY,
	CLI_CMD_SIGN,
	CLI_CMD_VERIFY,
	CLI_CMD_HMAC,
	CLI_CMD_DECRYPT,
	CLI_CMD_UNWRAP,
	CLI_CMD_DERIVE,
	CLI_CMD_SEAL,	      /* local: needs no agent */
	CLI_CMD_OPEN,	      /* local: needs no agent */
	CLI_CMD_AUDIT_VERIFY, /* local, asks the agent for keyed records */
};

enum cli_format {
	CLI_FORMAT_PEM = 0,
	CLI_FORMAT_DER,
	CLI_FORMAT_SSH,
};

struct cli_args {
	enum cli_cmd cmd;
	enum cli_cmd help_cmd;	/* CLI_CMD_HELP: the command whose usage to print */
	const char *socket;	/* -S, NULL: $P11AGENT_SOCK, else the default */
	int json;		/* --json */
	const char *key;	/* KEY positional (pubkey, sign, verify, hmac, decrypt, ...) */
	p11a_alg alg;		/* --alg, P11A_ALG_NONE when absent */
	const char *in;		/* -i, NULL for stdin ("-" too) */
	const char *out;	/* -o, NULL for stdout ("-" too) */
	const char *sig;	/* verify --sig */
	int prehashed;		/* --prehashed */
	int raw;		/* --raw: ECDSA r||s */
	enum cli_format format; /* pubkey --format */
	const char *label; /* decrypt, unwrap: --label TEXT or --label-hex HEX, NULL if absent */
	int label_hex;	   /* label is --label-hex's (its syntax checked); see cli_args_label() */
	size_t key_len;	   /* unwrap --key-len, 0 when absent */
	const char *peer;  /* derive --peer */
	const char *key_file;		  /* seal, open --key-file; "-" is stdin (kept as "-") */
	const char *key_id;		  /* seal --key-id, NULL when absent */
	const char *files[CLI_MAX_FILES]; /* audit-verify FILE..., in order */
	size_t n_files;
	int keyed;	    /* audit-verify --keyed */
	int partial;	    /* audit-verify --partial */
	const char *pubkey; /* audit-verify --pubkey FILE: offline, no agent */
};

/*
 * Parses argv[0..argc) (argv[0] is the program name). Options may come
 * before or after the KEY positional; "--" ends options; "--opt=value" and
 * "--opt value" are both accepted; -S and --json are also accepted after the
 * command. On success returns 0 and fills *out (CLI_CMD_HELP for --help,
 * help and COMMAND --help, CLI_CMD_VERSION for --version). On a usage error
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

/* The usage text of cmd (CLI_CMD_NONE: the general one), ending with a newline. */
const char *cli_args_usage(enum cli_cmd cmd);

/* The command's name ("sign"), or "p11agent" for CLI_CMD_NONE. */
const char *cli_args_cmd_name(enum cli_cmd cmd);

#endif
