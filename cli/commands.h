/*
 * commands: the p11agent commands (ping, list, pubkey, sign, verify, hmac;
 * decrypt, unwrap, derive, seal and open through transport.h), each a short
 * flow over libp11agent, io and pkey.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_COMMANDS_H
#define P11AGENT_CLI_COMMANDS_H

#include "args.h"

/*
 * Runs the command in args (not CLI_CMD_HELP or CLI_CMD_VERSION, which main
 * handles). Reports any error on stderr itself and returns the exit status
 * (see output.h and p11agent.1).
 */
int cli_run(const struct cli_args *args);

#endif
