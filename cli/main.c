/*
 * p11agent: the command line of p11agent. Parses argv (args.c) against the
 * command table (table.c), prints the version here, and hands the command,
 * help included, to cli_run() (commands.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "output.h"

int main(int argc, char *argv[])
{
	struct cli_args args;
	char msg[512];
	int r;

	r = cli_args_parse(argc, argv, &args, msg, sizeof(msg));
	if (r != 0) {
		if (args.json)
			return cli_report(1, "USAGE", CLI_EXIT_USAGE, msg);
		if (args.cmd == NULL || args.cmd->pos == CLI_POS_COMMAND)
			return cli_reportf(args.json, "USAGE", CLI_EXIT_USAGE,
					   "%s\nTry 'p11agent --help'.", msg);
		return cli_reportf(args.json, "USAGE", CLI_EXIT_USAGE,
				   "%s\nTry 'p11agent %s --help'.", msg, args.cmd->name);
	}
	if (args.version) {
		printf("p11agent %s (protocol %d)\n", PACKAGE_VERSION, P11A_PROTOCOL_VERSION);
		return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	return cli_run(&args);
}
