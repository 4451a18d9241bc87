/*
 * spki: public keys as DER SubjectPublicKeyInfo, built with OpenSSL from the
 * pieces a PKCS#11 token gives (RSA modulus and exponent, EC parameters and
 * point, an X.509 certificate). No PKCS#11 calls here.
 *
 * Functions return 0, or -1 when the input is not understood (or on OOM).
 * DER outputs are malloc'd; free() them.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_SPKI_H
#define P11AGENT_SPKI_H

#include <stddef.h>
#include <stdint.h>

#include "p11agent.h"

/* A curve the agent serves. */
struct spki_curve {
	const char *name;   /* "P-256", "P-384", "P-521", "ed25519" */
	const char *group;  /* OpenSSL's name: "prime256v1", ..., "ED25519" */
	p11a_key_type type; /* P11A_KEY_EC or P11A_KEY_ED25519 */
	uint32_t bits;	    /* field size in bits (255 for Ed25519) */
	size_t field_len;   /* bytes of a coordinate or scalar; 32 for Ed25519 */
};

/*
 * The curve named by a CKA_EC_PARAMS value: a DER OBJECT IDENTIFIER, or for
 * Ed25519 the PrintableString "edwards25519" that SoftHSM uses. NULL if the
 * agent does not serve that curve.
 */
const struct spki_curve *spki_curve_from_params(const uint8_t *params, size_t len);

/* SPKI of the RSA key (n, e), big-endian unsigned. */
int spki_from_rsa(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len, uint8_t **out_der,
		  size_t *out_len);

/*
 * SPKI of the key at point on curve. point is a CKA_EC_POINT value: a DER
 * OCTET STRING around the point, or the bare point (uncompressed or
 * compressed for EC, 32 bytes for Ed25519). The point must lie on the curve.
 */
int spki_from_ec_point(const struct spki_curve *curve, const uint8_t *point, size_t point_len,
		       uint8_t **out_der, size_t *out_len);

/*
 * SPKI of the X.509 certificate cert, if its key is of type (and, for EC, on
 * curve; curve may be NULL for RSA).
 */
int spki_from_cert(const uint8_t *cert, size_t cert_len, p11a_key_type type,
		   const struct spki_curve *curve, uint8_t **out_der, size_t *out_len);

/*
 * The DER SubjectPublicKeyInfo of the X.509 certificate cert (whatever its
 * key type), in *out_der (freed with free()). 0, or -1 when cert is not
 * exactly one certificate.
 */
int spki_of_cert(const uint8_t *cert, size_t cert_len, uint8_t **out_der, size_t *out_len);

#endif
