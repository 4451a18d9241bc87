/*
 * lifecycle: the p11agent commands that manage keys in the token: keygen,
 * rotate, versions, trim, rewrap, reload and cert (show and import; issue is
 * certs.h's), for the agent's admins.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_LIFECYCLE_H
#define P11AGENT_CLI_LIFECYCLE_H

#include "ctx.h"

/* The handlers of the table's rows (table.c) and their usage texts. */
int cli_cmd_keygen(struct cli_ctx *c);
int cli_cmd_rotate(struct cli_ctx *c);
int cli_cmd_versions(struct cli_ctx *c);
int cli_cmd_trim(struct cli_ctx *c);
int cli_cmd_rewrap(struct cli_ctx *c);
int cli_cmd_reload(struct cli_ctx *c);
int cli_cmd_cert(struct cli_ctx *c);
extern const char cli_usage_keygen[], cli_usage_rotate[], cli_usage_versions[], cli_usage_trim[],
    cli_usage_rewrap[], cli_usage_reload[], cli_usage_cert[];

/* The exit statuses of the admin commands. */
extern const char cli_exit_admin[];

#endif
