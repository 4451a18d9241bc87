/*
 * The provider's errors on OpenSSL's error stack.
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"

const OSSL_ITEM p11ap_reason_strings[] = {{0, NULL}};
