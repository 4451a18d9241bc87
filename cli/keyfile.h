/*
 * keyfile: 'p11agent keyfile KEY [-o OUT]', which writes a key file for an
 * agent key (p11a_keyfile_encode()): PEM text that names the key by its
 * pkcs11: URI and carries its public key, for OpenSSL programs that only
 * read a key file and load the p11agent provider.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_KEYFILE_H
#define P11AGENT_CLI_KEYFILE_H

#include "ctx.h"

/* Reports its failures itself and returns the exit status (ctx.h). */
int cli_cmd_keyfile(struct cli_ctx *c);
extern const char cli_usage_keyfile[], cli_exit_keyfile[];

#endif
