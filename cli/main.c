/*
 * p11agent: the command line of p11agent. Parses argv (args.c), prints help
 * and version here, and hands every other command to cli_run() (commands.c).
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
		if (args.cmd == CLI_CMD_NONE || args.cmd == CLI_CMD_HELP)
			return cli_reportf(args.json, "USAGE", CLI_EXIT_USAGE,
					   "%s\nTry 'p11agent --help'.", msg);
		return cli_reportf(args.json, "USAGE", CLI_EXIT_USAGE,
				   "%s\nTry 'p11agent %s --help'.", msg,
				   cli_args_cmd_name(args.cmd));
	}
	switch (args.cmd) {
	case CLI_CMD_HELP:
		fputs(cli_args_usage(args.help_cmd), stdout);
		return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	case CLI_CMD_VERSION:
		printf("p11agent %s (protocol %d)\n", PACKAGE_VERSION, P11A_PROTOCOL_VERSION);
		return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	default:
		return cli_run(&args);
	}
}
