/*
 * commands: the p11agent commands ping, list, pubkey, sign, verify and hmac,
 * each a short flow over libp11agent, io and pkey, and cli_run(), which runs
 * any row of the command table (table.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_COMMANDS_H
#define P11AGENT_CLI_COMMANDS_H

#include "args.h"
#include "ctx.h"

/*
 * Runs the command in args (its row's handler; --version is main's). Reports
 * any error on stderr itself and returns the exit status (see output.h and
 * p11agent.1).
 */
int cli_run(const struct cli_args *args);

/*
 * The OpenSSH fingerprint of k (one pubkey request), as list shows it; ""
 * for a key without one (HMAC, AES) or when it cannot be had. Connected c.
 * Caller frees; NULL when out of memory.
 */
char *cli_key_fingerprint(struct cli_ctx *c, const struct p11a_key_info *k);

/* The handlers of the table's rows (table.c) and their usage texts. */
int cli_cmd_ping(struct cli_ctx *c);
int cli_cmd_list(struct cli_ctx *c);
int cli_cmd_pubkey(struct cli_ctx *c);
int cli_cmd_sign(struct cli_ctx *c);
int cli_cmd_verify(struct cli_ctx *c);
int cli_cmd_hmac(struct cli_ctx *c);
extern const char cli_usage_ping[], cli_exit_ping[], cli_usage_list[], cli_usage_pubkey[],
    cli_usage_sign[], cli_usage_verify[], cli_usage_hmac[];

#endif
