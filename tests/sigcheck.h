/*
 * sigcheck: OpenSSL's verdict on a signature the agent made, for the test
 * clients (tests/batch-client.c, tests/pipeline-client.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_TESTS_SIGCHECK_H
#define P11AGENT_TESTS_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "p11agent.h"

/*
 * 1 when sig is ai's signature of msg (the message, hashed here as ai says;
 * RSA-PSS with a salt as long as the hash) under the public key pub, else 0.
 */
int sigcheck_verify(EVP_PKEY *pub, const struct p11a_alg_info *ai, const uint8_t *msg,
		    size_t msg_len, const uint8_t *sig, size_t sig_len);

#endif
