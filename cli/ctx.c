/*
 * ctx: a command's context and its failure reports. See ctx.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "ctx.h"
#include "output.h"

int cli_fail_file(struct cli_ctx *c)
{
	return cli_report(c->a->json, "FILE", CLI_EXIT_FAIL, c->msg);
}

int cli_fail_local(struct cli_ctx *c, int err)
{
	return cli_report(c->a->json, p11a_errname(err), cli_exit_code(err), c->msg);
}

int cli_fail_agent(struct cli_ctx *c, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cli_report_p11a(c->a->json, err, c->conn,
			       c->conn != NULL ? p11a_conn_path(c->conn) : c->a->socket, what);
}

int cli_connect(struct cli_ctx *c)
{
	int r;

	if (c->conn != NULL)
		return 0;
	if ((r = p11a_connect(c->a->socket, &c->conn)) != P11A_OK) {
		c->conn = NULL;
		return cli_fail_agent(c, r, "connect");
	}
	return 0;
}
