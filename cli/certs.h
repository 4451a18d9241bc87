/*
 * certs: the p11agent commands that make certificate requests and
 * certificates with agent keys: csr and cert issue.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_CERTS_H
#define P11AGENT_CLI_CERTS_H

#include "ctx.h"

/* cert issue CAKEY -i REQ | cert issue KEY --self: makes a certificate; returns the exit status. */
int cli_cert_issue(struct cli_ctx *c);
/* csr KEY --subject DN: makes a certificate request signed by KEY; returns the exit status. */
int cli_cmd_csr(struct cli_ctx *c);
/* csr's usage text (its row in table.c). */
extern const char cli_usage_csr[];

#endif
