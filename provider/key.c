/*
 * Agent keys: the reference the agent takes and the public key, held
 * locally in the provider's child library context.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "provider.h"

struct p11ap_key *p11ap_key_new(struct p11ap_prov *prov, p11a_key_type type)
{
	struct p11ap_key *key = calloc(1, sizeof(*key));

	if (key == NULL)
		return NULL;
	key->prov = prov;
	key->type = type;
	key->curve_nid = NID_undef;
	return key;
}

void p11ap_key_free(struct p11ap_key *key)
{
	if (key == NULL)
		return;
	free(key->ref);
	EVP_PKEY_free(key->pub);
	free(key);
}

const char *p11ap_key_type_name(p11a_key_type type)
{
	switch (type) {
	case P11A_KEY_RSA:
		return "RSA";
	case P11A_KEY_EC:
		return "EC";
	case P11A_KEY_ED25519:
		return "ED25519";
	default:
		return NULL;
	}
}

int p11ap_curve_supported(int nid)
{
	return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1;
}

int p11ap_curve_nid(const char *name)
{
	int nid;

	if (name == NULL)
		return NID_undef;
	if ((nid = EC_curve_nist2nid(name)) == NID_undef && (nid = OBJ_sn2nid(name)) == NID_undef)
		nid = OBJ_ln2nid(name);
	return nid;
}

int p11ap_key_set_pub(struct p11ap_key *key, EVP_PKEY *pub)
{
	char group[64];
	p11a_key_type type;
	int nid = NID_undef;

	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		type = P11A_KEY_RSA;
		break;
	case EVP_PKEY_EC:
		type = P11A_KEY_EC;
		if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL) ||
		    !p11ap_curve_supported(nid = p11ap_curve_nid(group))) {
			p11ap_raise(key->prov, P11AP_R_UNSUPPORTED,
				    "an EC key on a curve other than P-256, P-384 or P-521");
			return 0;
		}
		break;
	case EVP_PKEY_ED25519:
		type = P11A_KEY_ED25519;
		break;
	default:
		p11ap_raise(key->prov, P11AP_R_UNSUPPORTED,
			    "a %s key: agent keys are RSA, EC (P-256, P-384, P-521) or Ed25519",
			    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)));
		return 0;
	}
	if (key->type != P11A_KEY_UNKNOWN && key->type != type) {
		p11ap_raise(key->prov, P11AP_R_BAD_INPUT, "a %s public key for a %s key",
			    p11ap_key_type_name(type), p11ap_key_type_name(key->type));
		return 0;
	}
	EVP_PKEY_free(key->pub);
	key->pub = pub;
	key->type = type;
	key->bits = (uint32_t)EVP_PKEY_get_bits(pub);
	key->curve_nid = nid;
	return 1;
}

struct p11ap_key *p11ap_key_from_spki(struct p11ap_prov *prov, const char *uri, const uint8_t *spki,
				      size_t spki_len)
{
	struct p11ap_key *key = p11ap_key_new(prov, P11A_KEY_UNKNOWN);
	const unsigned char *p = spki;
	EVP_PKEY *pub = NULL;

	if (key == NULL || (uri != NULL && (key->ref = strdup(uri)) == NULL)) {
		p11ap_raise(prov, P11AP_R_NOMEM, "out of memory");
		goto fail;
	}
	if (spki_len > LONG_MAX ||
	    (pub = d2i_PUBKEY_ex(NULL, &p, (long)spki_len, prov->libctx, P11AP_LOCAL_PROPQ)) ==
		NULL ||
	    p != spki + spki_len) {
		p11ap_raise(prov, P11AP_R_INTERNAL,
			    "the public key of %s is not a SubjectPublicKeyInfo",
			    uri != NULL ? uri : "a key");
		goto fail;
	}
	if (!p11ap_key_set_pub(key, pub))
		goto fail;
	return key;
fail:
	EVP_PKEY_free(pub);
	p11ap_key_free(key);
	return NULL;
}

/* p11ap_key_from_agent's request: the key's description and its public key. */
struct describe {
	const char *ref;
	struct p11a_key_info *info;
	uint8_t *spki;
	size_t spki_len;
};

static int describe_fn(struct p11a_conn *conn, void *arg)
{
	struct describe *d = arg;
	int rc;

	/* (A second run, after a failed first: p11ap_call() retries.) */
	if (d->info != NULL) {
		p11a_keys_free(d->info, 1);
		d->info = NULL;
	}
	if ((rc = p11a_describe_key(conn, d->ref, &d->info)) != P11A_OK)
		return rc;
	return p11a_pubkey(conn, d->info->uri, &d->spki, &d->spki_len);
}

struct p11ap_key *p11ap_key_from_agent(struct p11ap_prov *prov, const char *ref)
{
	struct describe d = {ref, NULL, NULL, 0};
	struct p11ap_key *key = NULL;
	char what[512];

	snprintf(what, sizeof(what), "load the key '%.400s'", ref);
	if (p11ap_call(prov, what, describe_fn, &d) != P11A_OK)
		goto out;
	if (p11ap_key_type_name(d.info->type) == NULL) {
		p11ap_raise(prov, P11AP_R_UNSUPPORTED,
			    "%s: a %s key: OpenSSL programs use RSA, EC and Ed25519 agent keys",
			    what, p11a_key_type_name(d.info->type));
		goto out;
	}
	if ((key = p11ap_key_from_spki(prov, d.info->uri, d.spki, d.spki_len)) != NULL)
		key->ops = d.info->ops;
out:
	if (d.info != NULL)
		p11a_keys_free(d.info, 1);
	p11a_free(d.spki, d.spki_len);
	return key;
}

struct p11ap_key *p11ap_key_dup(const struct p11ap_key *key)
{
	struct p11ap_key *dup = p11ap_key_new(key->prov, key->type);

	if (dup == NULL)
		return NULL;
	if (key->ref != NULL && (dup->ref = strdup(key->ref)) == NULL) {
		p11ap_key_free(dup);
		return NULL;
	}
	if (key->pub != NULL && !EVP_PKEY_up_ref(key->pub)) {
		p11ap_key_free(dup);
		return NULL;
	}
	dup->pub = key->pub;
	dup->bits = key->bits;
	dup->ops = key->ops;
	dup->curve_nid = key->curve_nid;
	return dup;
}

int p11ap_key_pass(struct p11ap_key **keyp, OSSL_CALLBACK *cb, void *cbarg)
{
	struct p11ap_key *key = *keyp;
	int type = OSSL_OBJECT_PKEY;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
	    OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
					     (char *)p11ap_key_type_name(key->type), 0),
	    OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_REFERENCE, keyp, sizeof(*keyp)),
	    OSSL_PARAM_END,
	};

	return cb(params, cbarg);
}
