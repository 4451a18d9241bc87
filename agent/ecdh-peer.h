/*
 * ecdh-peer: the peer's public key of an ECDH derivation, given as DER
 * SubjectPublicKeyInfo, parsed and checked with OpenSSL. No PKCS#11 here.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_ECDH_PEER_H
#define P11AGENT_ECDH_PEER_H

#include <stddef.h>
#include <stdint.h>

/* Longest uncompressed point: P-521, 1 + 2 * 66 bytes. */
#define ECDH_POINT_MAX 133

/*
 * Checks that spki is an EC public key on curve ("P-256", "P-384", "P-521",
 * as token_key.curve names it) whose point is a valid public key there, and
 * writes the point, uncompressed (04 || X || Y), to out (ECDH_POINT_MAX
 * bytes). Returns P11A_OK; P11A_ERR_BAD_INPUT with msg "peer: ..." for a key
 * that does not parse, of another type or curve, or off the curve;
 * P11A_ERR_INTERNAL when curve is not one of the three, or on OOM.
 */
int ecdh_peer_point(const char *curve, const uint8_t *spki, size_t spki_len,
		    uint8_t out[ECDH_POINT_MAX], size_t *out_len, char *msg, size_t msg_len);

#endif
