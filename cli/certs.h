/*
 * certs: 'p11agent csr' and 'p11agent cert issue', certificate requests and
 * certificates signed by agent keys (cli/x509.c makes them).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_CERTS_H
#define P11AGENT_CLI_CERTS_H

#include "ctx.h"

int cli_cmd_csr(struct cli_ctx *c);    /* csr KEY ... */
int cli_cert_issue(struct cli_ctx *c); /* cert issue ... */

#endif
