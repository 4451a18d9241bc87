/*
 * alg: the table of signature algorithms, shared by the agent and clients.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "p11agent.h"

static const struct p11a_alg_info algs[] = {
    {P11A_ALG_RSA_PKCS1_SHA256, "rsa-pkcs1-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PKCS1_SHA384, "rsa-pkcs1-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PKCS1_SHA512, "rsa-pkcs1-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA256, "rsa-pss-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA384, "rsa-pss-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_PSS_SHA512, "rsa-pss-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA256, "ecdsa-sha256", P11A_KEY_EC, "SHA256", 32, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA384, "ecdsa-sha384", P11A_KEY_EC, "SHA384", 48, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ECDSA_SHA512, "ecdsa-sha512", P11A_KEY_EC, "SHA512", 64, P11A_INPUT_DIGEST,
     P11A_OP_SIGN},
    {P11A_ALG_ED25519, "ed25519", P11A_KEY_ED25519, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA256, "hmac-sha256", P11A_KEY_HMAC, "SHA256", 32, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA384, "hmac-sha384", P11A_KEY_HMAC, "SHA384", 48, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_HMAC_SHA512, "hmac-sha512", P11A_KEY_HMAC, "SHA512", 64, P11A_INPUT_MESSAGE,
     P11A_OP_SIGN},
    {P11A_ALG_RSA_OAEP_SHA1, "rsa-oaep-sha1", P11A_KEY_RSA, "SHA1", 20, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA256, "rsa-oaep-sha256", P11A_KEY_RSA, "SHA256", 32, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA384, "rsa-oaep-sha384", P11A_KEY_RSA, "SHA384", 48, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_OAEP_SHA512, "rsa-oaep-sha512", P11A_KEY_RSA, "SHA512", 64, P11A_INPUT_MESSAGE,
     P11A_OP_DECRYPT | P11A_OP_UNWRAP},
    {P11A_ALG_RSA_PKCS1, "rsa-pkcs1", P11A_KEY_RSA, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_DECRYPT},
    {P11A_ALG_AES_KW, "aes-kw", P11A_KEY_AES, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_UNWRAP},
    {P11A_ALG_AES_KWP, "aes-kwp", P11A_KEY_AES, NULL, 0, P11A_INPUT_MESSAGE, P11A_OP_UNWRAP},
    {P11A_ALG_ECDH, "ecdh", P11A_KEY_EC, NULL, 0, P11A_INPUT_PUBKEY, P11A_OP_DERIVE},
};

#define NUM_ALGS (sizeof(algs) / sizeof(algs[0]))

const struct p11a_alg_info *p11a_alg_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NUM_ALGS; i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

const struct p11a_alg_info *p11a_alg_by_id(uint32_t alg)
{
	for (size_t i = 0; i < NUM_ALGS; i++)
		if ((uint32_t)algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

const struct p11a_alg_info *p11a_alg_at(size_t i)
{
	return i < NUM_ALGS ? &algs[i] : NULL;
}

const char *p11a_key_type_name(p11a_key_type t)
{
	switch (t) {
	case P11A_KEY_RSA:
		return "rsa";
	case P11A_KEY_EC:
		return "ec";
	case P11A_KEY_ED25519:
		return "ed25519";
	case P11A_KEY_HMAC:
		return "hmac";
	case P11A_KEY_AES:
		return "aes";
	default:
		return "unknown";
	}
}
