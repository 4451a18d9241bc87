/*
 * Connections to the agent: a small pool, fork safety, p11ap_call().
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"

struct p11ap_pool *p11ap_pool_new(void)
{
	return calloc(1, 1);
}

void p11ap_pool_free(struct p11ap_pool *pool)
{
	free(pool);
}
