/*
 * mkcompletion: writes the bash completion of p11agent from its command
 * table (table.c) and option table (args.c), so that the completion offers
 * exactly the commands and options the parser takes. The build runs it to
 * make contrib/bash-completion/p11agent; tests/test-completion.sh asks it for
 * the lists it checks the script against.
 *
 *   mkcompletion              the script, on stdout
 *   mkcompletion --commands   every command, a line each
 *   mkcompletion --options CMD  every spelling of CMD's options ("-i", "--in")
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "args.h"

/* Prints the spellings of the options in set, space-separated. */
static void print_opts(uint64_t set, const char *sep)
{
	const struct cli_option *o;
	size_t i;
	int first = 1;

	for (i = 0; (o = cli_args_option_at(i)) != NULL; i++) {
		if ((o->bit & set) == 0)
			continue;
		printf("%s--%s", first ? "" : sep, o->long_name);
		first = 0;
		if (o->short_name != 0)
			printf("%s-%c", sep, o->short_name);
	}
}

/* The words that complete the value of option o of cmd, or NULL for a file name or none. */
static void print_value_case(const struct cli_command *cmd, const struct cli_option *o)
{
	char algs[512];
	const char *t;
	char *p;

	if (o->value == CLI_VALUE_NONE)
		return;
	printf("\t\t");
	if (o->short_name != 0)
		printf("-%c | ", o->short_name);
	printf("--%s)\n", o->long_name);
	switch (o->value) {
	case CLI_VALUE_FILE:
		printf("\t\t\t_p11agent_files\n");
		break;
	case CLI_VALUE_ALG:
		cli_args_alg_names(cmd, algs, sizeof(algs));
		while ((p = strstr(algs, ", ")) != NULL)
			memmove(p, p + 1, strlen(p + 1) + 1);
		printf("\t\t\t_p11agent_words \"%s\"\n", algs);
		break;
	case CLI_VALUE_FORMAT:
		printf("\t\t\t_p11agent_words \"pem der ssh\"\n");
		break;
	case CLI_VALUE_DIGEST:
		printf("\t\t\t_p11agent_words \"sha-256 sha-512\"\n");
		break;
	case CLI_VALUE_KEY_TYPE:
		printf("\t\t\t_p11agent_words \"");
		for (size_t i = 0; (t = cli_args_key_type_at(i)) != NULL; i++)
			printf("%s%s", i > 0 ? " " : "", t);
		printf("\"\n");
		break;
	default:
		printf("\t\t\tCOMPREPLY=()\n");
		break;
	}
	printf("\t\t\treturn\n\t\t\t;;\n");
}

static void print_commands(const char *sep)
{
	for (size_t i = 0; i < cli_n_commands; i++)
		printf("%s%s", i == 0 ? "" : sep, cli_commands[i].name);
}

static void print_script(void)
{
	const struct cli_option *o;
	size_t i, j;

	printf("# bash completion for p11agent(1). Generated from p11agent's command\n"
	       "# table by mkcompletion (cli/mkcompletion.c): do not edit.\n"
	       "# SPDX-License-Identifier: Apache-2.0\n\n");
	printf("_p11agent_words()\n{\n"
	       "\tlocal w\n\tCOMPREPLY=()\n"
	       "\tfor w in $1; do\n"
	       "\t\t[[ $w == \"$cur\"* ]] && COMPREPLY+=(\"$w\")\n"
	       "\tdone\n}\n\n");
	printf("_p11agent_files()\n{\n"
	       "\tcompopt -o filenames 2>/dev/null\n"
	       "\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n}\n\n");
	printf("_p11agent()\n{\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= i\n"
	       "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	       "\tCOMPREPLY=()\n"
	       "\t# The command: the first word that is neither an option nor -S's value.\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tcase ${COMP_WORDS[i]} in\n"
	       "\t\t-S | --socket) ((i++)) ;;\n"
	       "\t\t-*) ;;\n"
	       "\t\t*)\n\t\t\tcmd=${COMP_WORDS[i]}\n\t\t\tbreak\n\t\t\t;;\n"
	       "\t\tesac\n\tdone\n");
	printf("\tcase $cmd in\n");
	/* Before the command: the global options, or the commands. */
	printf("\t'')\n\t\tcase $prev in\n");
	for (i = 0; (o = cli_args_option_at(i)) != NULL; i++) {
		if (o->bit & CLI_OPTS_GLOBAL)
			print_value_case(NULL, o);
	}
	printf("\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\t_p11agent_words \"");
	print_opts(CLI_OPTS_GLOBAL, " ");
	printf("\"\n\t\telse\n\t\t\t_p11agent_words \"");
	print_commands(" ");
	printf("\"\n\t\tfi\n\t\t;;\n");
	for (i = 0; i < cli_n_commands; i++) {
		const struct cli_command *cmd = &cli_commands[i];
		uint64_t set = cmd->opts | CLI_OPTS_COMMON;

		printf("\t%s)\n\t\tcase $prev in\n", cmd->name);
		for (j = 0; (o = cli_args_option_at(j)) != NULL; j++) {
			if (o->bit & set)
				print_value_case(cmd, o);
		}
		printf("\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\t_p11agent_words \"");
		print_opts(set, " ");
		printf("\"\n");
		switch (cmd->pos) {
		case CLI_POS_FILES:
			printf("\t\telse\n\t\t\t_p11agent_files\n");
			break;
		case CLI_POS_COMMAND:
			printf("\t\telse\n\t\t\t_p11agent_words \"");
			print_commands(" ");
			printf("\"\n");
			break;
		case CLI_POS_CERT: /* the action words, right after the command */
			printf("\t\telif [[ $prev == \"$cmd\" ]]; then\n"
			       "\t\t\t_p11agent_words \"%s\"\n",
			       CLI_CERT_ACTIONS);
			break;
		default: /* KEY: names the agent knows, not completed here */
			break;
		}
		printf("\t\tfi\n\t\t;;\n");
	}
	printf("\tesac\n}\n\ncomplete -F _p11agent p11agent\n");
}

int main(int argc, char *argv[])
{
	const struct cli_command *cmd;

	if (argc == 1) {
		print_script();
	} else if (argc == 2 && strcmp(argv[1], "--commands") == 0) {
		print_commands("\n");
		printf("\n");
	} else if (argc == 3 && strcmp(argv[1], "--options") == 0) {
		if ((cmd = cli_command_by_name(argv[2])) == NULL) {
			fprintf(stderr, "mkcompletion: no command '%s'\n", argv[2]);
			return 2;
		}
		print_opts(cmd->opts | CLI_OPTS_COMMON, "\n");
		printf("\n");
	} else {
		fprintf(stderr, "Usage: mkcompletion [--commands | --options COMMAND]\n");
		return 2;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
