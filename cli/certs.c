/*
 * certs: csr and cert issue. See certs.h.
 *
 * Not built yet: both report so and fail.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include "certs.h"
#include "output.h"

int cli_cert_issue(struct cli_ctx *c)
{
	return cli_report(c->a->json, "NOT_SUPPORTED", CLI_EXIT_FAIL, "cert issue: not built yet");
}

int cli_cmd_csr(struct cli_ctx *c)
{
	return cli_report(c->a->json, "NOT_SUPPORTED", CLI_EXIT_FAIL, "csr: not built yet");
}
