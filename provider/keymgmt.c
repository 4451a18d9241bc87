/*
 * Key management of agent keys.
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"

const OSSL_DISPATCH p11ap_rsa_keymgmt_functions[] = {{0, NULL}};
const OSSL_DISPATCH p11ap_rsapss_keymgmt_functions[] = {{0, NULL}};
const OSSL_DISPATCH p11ap_ec_keymgmt_functions[] = {{0, NULL}};
const OSSL_DISPATCH p11ap_ed25519_keymgmt_functions[] = {{0, NULL}};
