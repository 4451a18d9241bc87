/*
 * status: p11agent status, the agent's state and counters as text, JSON or
 * Prometheus's text exposition format (for node_exporter's textfile
 * collector), for the agent's admins.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_STATUS_H
#define P11AGENT_CLI_STATUS_H

#include "ctx.h"

/* The handler of the table's row (table.c) and its usage text. */
int cli_cmd_status(struct cli_ctx *c);
extern const char cli_usage_status[];

#endif
