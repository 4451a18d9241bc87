/*
 * http: 'p11agent http-sign' and 'p11agent http-verify', HTTP Message
 * Signatures (RFC 9421) over an HTTP/1.1 request or response, with a key the
 * agent holds.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_HTTP_H
#define P11AGENT_CLI_HTTP_H

#include "ctx.h"

/* Each reports its failures itself and returns the exit status (ctx.h). */
int cli_cmd_http_sign(struct cli_ctx *c);
int cli_cmd_http_verify(struct cli_ctx *c);
extern const char cli_usage_http_sign[], cli_usage_http_verify[];
extern const char cli_exit_http_sign[], cli_exit_http_verify[];

#endif
