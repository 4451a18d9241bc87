/*
 * audit: 'p11agent audit-verify FILE...', the check of the agent's audit
 * trail (proto/auditlog.h). Unkeyed records are checked here with OpenSSL;
 * keyed ones by the agent, which only confirms or denies each MAC.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_AUDIT_H
#define P11AGENT_CLI_AUDIT_H

#include "ctx.h"

/* Most bytes of one trail file audit-verify reads. */
#define CLI_AUDIT_MAX_FILE (1024u * 1024u * 1024u)

/* Reports its failures itself and returns the exit status (ctx.h). */
int cli_cmd_audit_verify(struct cli_ctx *c);
extern const char cli_usage_audit_verify[], cli_exit_audit_verify[];

#endif
