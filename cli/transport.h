/*
 * transport: the key transport commands. decrypt, unwrap and derive ask the
 * agent for a secret (a plaintext, a session key, a shared secret) and write
 * it out; seal and open are the local, symmetric half of the hybrid flow
 * (envelope.h) and need no agent.
 *
 * Each reports its failures itself and returns the exit status (ctx.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_TRANSPORT_H
#define P11AGENT_CLI_TRANSPORT_H

#include "ctx.h"

/* decrypt and unwrap (c->a->cmd says which: its alg_ops). */
int cli_cmd_decrypt(struct cli_ctx *c);
int cli_cmd_derive(struct cli_ctx *c);
int cli_cmd_seal(struct cli_ctx *c);
int cli_cmd_open(struct cli_ctx *c);
extern const char cli_usage_decrypt[], cli_usage_unwrap[], cli_usage_derive[], cli_usage_seal[],
    cli_usage_open[];

#endif
