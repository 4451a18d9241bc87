/*
 * ctx: what every p11agent command carries (its arguments, its connection to
 * the agent, a message buffer) and the ways it reports a failure.
 *
 * Every function here that can fail reports the failure itself (output.h)
 * and returns the exit status, 0 meaning "go on".
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_CTX_H
#define P11AGENT_CLI_CTX_H

#include "args.h"
#include "p11agent.h"

struct cli_ctx {
	const struct cli_args *a;
	struct p11a_conn *conn; /* NULL until cli_connect() */
	char msg[1024];		/* the message of the last local failure */
};

/* Reports a local file failure whose message is in c->msg (exit 1). */
int cli_fail_file(struct cli_ctx *c);

/* Reports a p11a_err from local code (pkey, envelope), whose message is in c->msg. */
int cli_fail_local(struct cli_ctx *c, int err);

/* Reports a p11a_err from the agent; fmt says what was being done: "sign with 'mykey'". */
int cli_fail_agent(struct cli_ctx *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Connects to the agent, once. */
int cli_connect(struct cli_ctx *c);

#endif
