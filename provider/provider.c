/*
 * The provider's entry point: OSSL_provider_init, the algorithms it offers
 * and its parameters.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "provider.h"

/*
 * Key management for the key types the agent holds. RSA keys sign PSS too
 * (the token's RSA keys are rsaEncryption keys); "RSA-PSS" is there for
 * keys OpenSSL marks as PSS-only.
 */
static const OSSL_ALGORITHM keymgmts[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11AP_PROPS, p11ap_rsa_keymgmt_functions,
     "p11agent RSA keys"},
    {"RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10", P11AP_PROPS, p11ap_rsapss_keymgmt_functions,
     "p11agent RSA keys for PSS"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", P11AP_PROPS, p11ap_ec_keymgmt_functions,
     "p11agent EC keys"},
    {"ED25519:1.3.101.112", P11AP_PROPS, p11ap_ed25519_keymgmt_functions, "p11agent Ed25519 keys"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signatures[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11AP_PROPS, p11ap_rsa_signature_functions,
     "RSA PKCS#1 v1.5 and PSS by the agent"},
    {"ECDSA", P11AP_PROPS, p11ap_ecdsa_signature_functions, "ECDSA by the agent"},
    {"ED25519:1.3.101.112", P11AP_PROPS, p11ap_ed25519_signature_functions, "Ed25519 by the agent"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM ciphers[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11AP_PROPS, p11ap_rsa_cipher_functions,
     "RSA-OAEP and PKCS#1 v1.5 decryption by the agent"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM exchanges[] = {
    {"ECDH", P11AP_PROPS, p11ap_ecdh_exchange_functions, "ECDH by the agent"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM stores[] = {
    {P11AP_SCHEME, P11AP_PROPS, p11ap_store_functions, "p11agent:KEY names an agent key"},
    {NULL, NULL, NULL, NULL},
};

/*
 * Key files: the "P11AGENT KEY" PEM block to its DER, then that DER to an
 * agent key, one decoder per key type (decoder.c).
 */
#define P11AP_KEYFILE_PROPS P11AP_PROPS ",input=der,structure=" P11AP_KEYFILE_STRUCTURE
static const OSSL_ALGORITHM decoders[] = {
    {"DER", P11AP_PROPS ",input=pem", p11ap_keyfile_pem_decoder_functions,
     "p11agent key files: PEM to DER"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", P11AP_KEYFILE_PROPS,
     p11ap_rsa_keyfile_decoder_functions, "p11agent key files holding RSA keys"},
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", P11AP_KEYFILE_PROPS, p11ap_ec_keyfile_decoder_functions,
     "p11agent key files holding EC keys"},
    {"ED25519:1.3.101.112", P11AP_KEYFILE_PROPS, p11ap_ed25519_keyfile_decoder_functions,
     "p11agent key files holding Ed25519 keys"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *query_operation(void *provctx, int operation_id, int *no_cache)
{
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT:
		return keymgmts;
	case OSSL_OP_SIGNATURE:
		return signatures;
	case OSSL_OP_ASYM_CIPHER:
		return ciphers;
	case OSSL_OP_KEYEXCH:
		return exchanges;
	case OSSL_OP_STORE:
		return stores;
	case OSSL_OP_DECODER:
		return decoders;
	default:
		return NULL;
	}
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
	    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, "p11agent provider: keys held by p11agentd"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_VERSION))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, PACKAGE_STRING))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
	    !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static const OSSL_ITEM *get_reason_strings(void *provctx)
{
	return p11ap_reason_strings;
}

static void teardown(void *provctx)
{
	struct p11ap_prov *prov = provctx;

	if (prov == NULL)
		return;
	p11ap_pool_free(prov->pool);
	OSSL_LIB_CTX_free(prov->libctx);
	free(prov->socket);
	free(prov);
}

static const OSSL_DISPATCH provider_functions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query_operation},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))get_reason_strings},
    {0, NULL},
};

/* The "socket" parameter of the provider's openssl.cnf section, if any. */
static int read_config(struct p11ap_prov *prov, OSSL_FUNC_core_get_params_fn *get_params_fn)
{
	char *socket = NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_ptr(P11AP_PARAM_SOCKET, &socket, 0),
	    OSSL_PARAM_END,
	};

	if (get_params_fn == NULL || !get_params_fn(prov->handle, params))
		return 1;
	if (socket != NULL && socket[0] != '\0' && (prov->socket = strdup(socket)) == NULL)
		return 0;
	return 1;
}

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx);

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
		       const OSSL_DISPATCH **out, void **provctx)
{
	OSSL_FUNC_core_get_params_fn *get_params_fn = NULL;
	struct p11ap_prov *prov = calloc(1, sizeof(*prov));
	const OSSL_DISPATCH *d;

	if (prov == NULL)
		return 0;
	prov->handle = handle;
	for (d = in; d->function_id != 0; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CORE_GET_PARAMS:
			get_params_fn = OSSL_FUNC_core_get_params(d);
			break;
		case OSSL_FUNC_CORE_NEW_ERROR:
			prov->core_new_error = OSSL_FUNC_core_new_error(d);
			break;
		case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
			prov->core_set_error_debug = OSSL_FUNC_core_set_error_debug(d);
			break;
		case OSSL_FUNC_CORE_VSET_ERROR:
			prov->core_vset_error = OSSL_FUNC_core_vset_error(d);
			break;
		default:
			break;
		}
	}
	if (!read_config(prov, get_params_fn) ||
	    (prov->libctx = OSSL_LIB_CTX_new_child(handle, in)) == NULL ||
	    (prov->pool = p11ap_pool_new()) == NULL) {
		teardown(prov);
		return 0;
	}
	*out = provider_functions;
	*provctx = prov;
	return 1;
}
