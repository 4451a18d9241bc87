/*
 * Key management of agent keys (RSA, RSA-PSS, EC, Ed25519). Everything
 * here works on the public key the provider holds and never calls the
 * agent: parameters come from that public key (through the key management
 * of the other providers), and only public keys and domain parameters go
 * in or out. Private keys stay in the token.
 *
 * A key without a reference holds a peer's public key, or only an EC
 * curve: `openssl cms -decrypt` to an EC recipient copies the agent key's
 * curve into a new key of this key management and sets the originator's
 * public key on it (OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "provider.h"

/* The key management's key type, as OpenSSL names it. */
struct kind {
	p11a_key_type type;
	const char *name; /* for the public keys made from imported parameters */
};

static const struct kind rsa_kind = {P11A_KEY_RSA, "RSA"};
static const struct kind rsapss_kind = {P11A_KEY_RSA, "RSA-PSS"};
static const struct kind ec_kind = {P11A_KEY_EC, "EC"};
static const struct kind ed25519_kind = {P11A_KEY_ED25519, "ED25519"};

/* An EC key with only the curve nid, in prov's library context. */
static EVP_PKEY *ec_params_key(struct p11ap_prov *prov, int nid)
{
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(nid),
					     0),
	    OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(prov->libctx, "EC", P11AP_LOCAL_PROPQ);
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEY_PARAMETERS, params) <= 0)
		p11ap_raise(prov, P11AP_R_INTERNAL, "cannot make the parameters of curve %s",
			    OBJ_nid2sn(nid));
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* A public key of type name from params, in prov's library context, or NULL. */
static EVP_PKEY *public_from(struct p11ap_prov *prov, const char *name, const OSSL_PARAM params[])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(prov->libctx, name, P11AP_LOCAL_PROPQ);
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) <= 0)
		p11ap_raise(prov, P11AP_R_BAD_INPUT, "not a valid %s public key", name);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static void *rsa_new(void *provctx)
{
	return p11ap_key_new(provctx, P11A_KEY_RSA);
}

static void *ec_new(void *provctx)
{
	return p11ap_key_new(provctx, P11A_KEY_EC);
}

static void *ed25519_new(void *provctx)
{
	return p11ap_key_new(provctx, P11A_KEY_ED25519);
}

static void key_free(void *keydata)
{
	p11ap_key_free(keydata);
}

/* Takes over the key the store passed by reference (store.c). */
static void *key_load(const void *reference, size_t reference_sz)
{
	struct p11ap_key *key;

	if (reference == NULL || reference_sz != sizeof(key))
		return NULL;
	key = *(struct p11ap_key *const *)reference;
	*(struct p11ap_key **)reference = NULL;
	return key;
}

static int key_has(const void *keydata, int selection)
{
	const struct p11ap_key *key = keydata;

	if (key == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && key->ref == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && key->pub == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && key->type == P11A_KEY_EC &&
	    key->curve_nid == NID_undef)
		return 0;
	return 1;
}

/* Keys match on their public keys (and an EC key's curve). */
static int key_match(const void *keydata1, const void *keydata2, int selection)
{
	const struct p11ap_key *a = keydata1, *b = keydata2;

	if (a->type != b->type)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && a->type == P11A_KEY_EC &&
	    a->curve_nid != b->curve_nid)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
		return a->pub != NULL && b->pub != NULL && EVP_PKEY_eq(a->pub, b->pub) == 1;
	return 1;
}

static void *key_dup(const void *keydata, int selection)
{
	struct p11ap_key *dup = p11ap_key_dup(keydata);

	if (dup == NULL)
		return NULL;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0) {
		free(dup->ref);
		dup->ref = NULL;
	}
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) {
		EVP_PKEY_free(dup->pub);
		dup->pub = NULL;
	}
	return dup;
}

/* Parameters, as the other providers give them for the public key. */
static int key_get_params(void *keydata, OSSL_PARAM params[])
{
	struct p11ap_key *key = keydata;
	EVP_PKEY *curve;
	int ok;

	if (key->pub != NULL)
		return EVP_PKEY_get_params(key->pub, params);
	if (key->type != P11A_KEY_EC || key->curve_nid == NID_undef)
		return 1;
	if ((curve = ec_params_key(key->prov, key->curve_nid)) == NULL)
		return 0;
	ok = EVP_PKEY_get_params(curve, params);
	EVP_PKEY_free(curve);
	return ok;
}

static const OSSL_PARAM *rsa_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *ec_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

static const OSSL_PARAM *ed25519_gettable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

/* EC: the public key of a key without a reference (a peer's), as a point. */
static int ec_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct p11ap_key *key = keydata;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
	const void *point = NULL;
	size_t point_len = 0;
	EVP_PKEY *pub;

	if (p == NULL)
		return 1;
	if (key->ref != NULL) {
		p11ap_raise(key->prov, P11AP_R_BAD_INPUT,
			    "the public key of the agent key %s cannot be replaced", key->ref);
		return 0;
	}
	if (key->curve_nid == NID_undef) {
		p11ap_raise(key->prov, P11AP_R_BAD_INPUT, "an EC public key without a curve");
		return 0;
	}
	if (!OSSL_PARAM_get_octet_string_ptr(p, &point, &point_len))
		return 0;
	{
		OSSL_PARAM pub_params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)OBJ_nid2sn(key->curve_nid), 0),
		    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, point_len),
		    OSSL_PARAM_END,
		};
		if ((pub = public_from(key->prov, "EC", pub_params)) == NULL)
			return 0;
	}
	if (!p11ap_key_set_pub(key, pub)) {
		EVP_PKEY_free(pub);
		return 0;
	}
	return 1;
}

static const OSSL_PARAM *ec_settable_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	return params;
}

/* Public keys and domain parameters only: private keys stay in the token. */
static int key_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct p11ap_key *key = keydata;
	EVP_PKEY *curve;
	int ok;

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
		p11ap_raise(key->prov, P11AP_R_PRIVATE_EXPORT,
			    "the private key of %s stays in the token: only its public key can be "
			    "exported (openssl pkey -pubout)",
			    key->ref != NULL ? key->ref : "an agent key");
		return 0;
	}
	if (key->pub != NULL)
		return EVP_PKEY_export(key->pub, selection, cb, cbarg);
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 || key->type != P11A_KEY_EC ||
	    key->curve_nid == NID_undef)
		return 0;
	if ((curve = ec_params_key(key->prov, key->curve_nid)) == NULL)
		return 0;
	ok = EVP_PKEY_export(curve, selection, cb, cbarg);
	EVP_PKEY_free(curve);
	return ok;
}

/* Parameter names that carry a private key. */
static int has_private(const OSSL_PARAM params[])
{
	static const char *const names[] = {
	    OSSL_PKEY_PARAM_PRIV_KEY,	      OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_FACTOR1,      OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1,    OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (OSSL_PARAM_locate_const(params, names[i]) != NULL)
			return 1;
	return 0;
}

/* EC: the curve, then the public key if the selection and params hold one. */
static int ec_import_into(struct p11ap_key *key, int selection, const OSSL_PARAM params[])
{
	const OSSL_PARAM *group = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
	const OSSL_PARAM *point = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
	const char *name = NULL;
	EVP_PKEY *pub;
	int nid;

	if (group != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(group, &name))
			return 0;
		if (!p11ap_curve_supported(nid = p11ap_curve_nid(name))) {
			p11ap_raise(key->prov, P11AP_R_UNSUPPORTED,
				    "curve %s: agent keys are on P-256, P-384 or P-521", name);
			return 0;
		}
		key->curve_nid = nid;
	} else if (key->curve_nid == NID_undef) {
		p11ap_raise(key->prov, P11AP_R_UNSUPPORTED,
			    "EC parameters without a named curve (P-256, P-384 or P-521)");
		return 0;
	}
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0 || point == NULL)
		return 1;
	{
		const void *p = NULL;
		size_t len = 0;

		if (!OSSL_PARAM_get_octet_string_ptr(point, &p, &len))
			return 0;
		OSSL_PARAM pub_params[] = {
		    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)OBJ_nid2sn(key->curve_nid), 0),
		    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)p, len),
		    OSSL_PARAM_END,
		};
		if ((pub = public_from(key->prov, "EC", pub_params)) == NULL)
			return 0;
	}
	if (!p11ap_key_set_pub(key, pub)) {
		EVP_PKEY_free(pub);
		return 0;
	}
	return 1;
}

static int import_into(struct p11ap_key *key, const struct kind *kind, int selection,
		       const OSSL_PARAM params[])
{
	const char *pub_name =
	    kind->type == P11A_KEY_RSA ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_PUB_KEY;
	EVP_PKEY *pub;

	if (has_private(params) || selection == OSSL_KEYMGMT_SELECT_PRIVATE_KEY) {
		p11ap_raise(key->prov, P11AP_R_PRIVATE_EXPORT,
			    "a private key cannot be imported: the p11agent provider uses keys "
			    "that stay in the agent's token");
		return 0;
	}
	if (kind->type == P11A_KEY_EC)
		return ec_import_into(key, selection, params);
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0 ||
	    OSSL_PARAM_locate_const(params, pub_name) == NULL)
		return 1;
	if ((pub = public_from(key->prov, kind->name, params)) == NULL)
		return 0;
	if (!p11ap_key_set_pub(key, pub)) {
		EVP_PKEY_free(pub);
		return 0;
	}
	return 1;
}

static int rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	return import_into(keydata, &rsa_kind, selection, params);
}

static int rsapss_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	return import_into(keydata, &rsapss_kind, selection, params);
}

static int ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	return import_into(keydata, &ec_kind, selection, params);
}

static int ed25519_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	return import_into(keydata, &ed25519_kind, selection, params);
}

static const OSSL_PARAM *rsa_io_types(int selection)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	    OSSL_PARAM_END,
	};
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? params : NULL;
}

static const OSSL_PARAM *ec_io_types(int selection)
{
	static const OSSL_PARAM domain[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_END,
	};
	static const OSSL_PARAM both[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
		return both;
	return (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 ? domain : NULL;
}

static const OSSL_PARAM *ed25519_io_types(int selection)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	    OSSL_PARAM_END,
	};
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 ? params : NULL;
}

/* EC keys sign with ECDSA and agree keys with ECDH. */
static const char *ec_query_operation_name(int operation_id)
{
	switch (operation_id) {
	case OSSL_OP_SIGNATURE:
		return "ECDSA";
	case OSSL_OP_KEYEXCH:
		return "ECDH";
	default:
		return NULL;
	}
}

static const char *rsa_query_operation_name(int operation_id)
{
	return "RSA";
}

static const char *ed25519_query_operation_name(int operation_id)
{
	return "ED25519";
}

/* The functions every key type shares. */
#define COMMON_FUNCTIONS                                                                           \
	{OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))key_free},                                        \
	    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))key_load},                                    \
	    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))key_has},                                      \
	    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))key_match},                                  \
	    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))key_dup},                                      \
	    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))key_get_params},                        \
	{                                                                                          \
		OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))key_export                               \
	}

const OSSL_DISPATCH p11ap_rsa_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))rsa_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_io_types},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_io_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {0, NULL},
};

const OSSL_DISPATCH p11ap_rsapss_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))rsapss_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_io_types},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_io_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))rsa_query_operation_name},
    {0, NULL},
};

const OSSL_DISPATCH p11ap_ec_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ec_gettable_params},
    {OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))ec_set_params},
    {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))ec_settable_params},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))ec_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_io_types},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_io_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_query_operation_name},
    {0, NULL},
};

const OSSL_DISPATCH p11ap_ed25519_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ed25519_new},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ed25519_gettable_params},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))ed25519_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ed25519_io_types},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ed25519_io_types},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ed25519_query_operation_name},
    {0, NULL},
};
