/*
 * usage: the help of p11agent, composed from the command table: the general
 * help lists every row; a command's help is its row's usage text, the
 * algorithms --alg takes (from proto's table, or RFC 9421's names for
 * http-sign and http-verify: cli_args_alg_names()) and its exit statuses. The
 * help command itself is here too.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_USAGE_H
#define P11AGENT_CLI_USAGE_H

#include <stddef.h>

#include "args.h"
#include "ctx.h"

/* Pieces of usage text that several commands share. */
#define CLI_USAGE_KEY                                                                              \
	"KEY is a key's name or label (NAME@N: its version N), id:HEX (its CKA_ID) or\n"           \
	"a pkcs11: URI as 'p11agent list' prints it.\n"
#define CLI_USAGE_SECRET_OUT "OUT is written whole or not at all; a file is made with mode 0600.\n"
#define CLI_USAGE_EXIT_AGENT                                                                       \
	"Exit status: 0 ok; 1 signature invalid, or the agent or the token refused;\n"             \
	"2 usage error; 3 agent unreachable; 4 denied by policy; 5 no such key or\n"               \
	"ambiguous key; 6 token unavailable.\n"
#define CLI_USAGE_EXIT_LOCAL                                                                       \
	"Exit status: 0 ok; 1 the key file, the input or the output is wrong, or the\n"            \
	"envelope does not open or does not authenticate; 2 usage error.\n"

/*
 * Writes the help of cmd (NULL: the general help) to out, NUL-terminated.
 * Returns 0, or -1 when it did not fit in out_len (out then holds what fit).
 */
int cli_usage_text(const struct cli_command *cmd, char *out, size_t out_len);

/* help [COMMAND]: prints the help of c->a->help_cmd (NULL: the general help). */
int cli_cmd_help(struct cli_ctx *c);
extern const char cli_usage_help[];

#endif
