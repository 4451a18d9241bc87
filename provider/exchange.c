/*
 * ECDH by the agent.
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"

const OSSL_DISPATCH p11ap_ecdh_exchange_functions[] = {{0, NULL}};
