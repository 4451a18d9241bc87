/*
 * sockpath: where the agent listens when nobody says otherwise.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "proto.h"

int proto_default_socket(char *out, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	int n;

	if (dir == NULL || *dir == '\0')
		return P11A_ERR_NOT_SUPPORTED;
	n = snprintf(out, len, "%s/p11agent/agent.sock", dir);
	return n < 0 || (size_t)n >= len ? P11A_ERR_INVALID_ARG : P11A_OK;
}
