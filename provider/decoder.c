/*
 * Key files to agent keys.
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"

const OSSL_DISPATCH p11ap_pem_decoder_functions[] = {{0, NULL}};
