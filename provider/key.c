/*
 * Agent keys: a reference and a public key.
 * (Scaffolding: this file is being written.)
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>

#include "provider.h"
