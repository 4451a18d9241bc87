/*
 * The p11agent: store scheme: p11agent:KEY names an agent key, KEY being
 * anything the CLI takes (a config name, a label, id:HEX or a pkcs11: URI,
 * which the agent percent-decodes). Loading gives the key (by reference,
 * for this provider's key management), then the certificate the token holds
 * for it, if any.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "provider.h"

enum step {
	STEP_KEY,  /* the key comes next */
	STEP_CERT, /* then its certificate */
	STEP_DONE,
};

struct store {
	struct p11ap_prov *prov;
	char *ref;  /* KEY: the URI without "p11agent:" */
	int expect; /* OSSL_STORE_INFO_* wanted, 0 for any */
	enum step step;
};

static void *store_open(void *provctx, const char *uri)
{
	struct p11ap_prov *prov = provctx;
	static const char scheme[] = P11AP_SCHEME ":";
	struct store *st;

	if (strncmp(uri, scheme, sizeof(scheme) - 1) != 0)
		return NULL;
	uri += sizeof(scheme) - 1;
	if (uri[0] == '\0') {
		p11ap_raise(prov, P11AP_R_BAD_INPUT,
			    "p11agent: names no key: write p11agent:KEY (a name, label, id:HEX or "
			    "pkcs11: URI)");
		return NULL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->ref = strdup(uri)) == NULL) {
		free(st);
		p11ap_raise(prov, P11AP_R_NOMEM, "out of memory");
		return NULL;
	}
	st->prov = prov;
	st->step = STEP_KEY;
	return st;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM params[] = {
	    OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
	    OSSL_PARAM_END,
	};
	return params;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
	struct store *st = loaderctx;
	const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);

	if (p != NULL && !OSSL_PARAM_get_int(p, &st->expect))
		return 0;
	return 1;
}

/* Whether the caller wants objects of type info (an OSSL_STORE_INFO_*). */
static int wanted(const struct store *st, int info)
{
	if (st->expect == 0 || st->expect == info)
		return 1;
	/* A key's public half serves one who asks for a public key or parameters. */
	return info == OSSL_STORE_INFO_PKEY &&
	       (st->expect == OSSL_STORE_INFO_PUBKEY || st->expect == OSSL_STORE_INFO_PARAMS);
}

/* Passes the key by reference: key management's load takes it over. */
static int load_key(struct store *st, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
	struct p11ap_key *key = p11ap_key_from_agent(st->prov, st->ref);
	int ok;

	if (key == NULL)
		return 0;
	/* One who asks for a public key or parameters gets only that. */
	if (st->expect == OSSL_STORE_INFO_PUBKEY || st->expect == OSSL_STORE_INFO_PARAMS) {
		free(key->ref);
		key->ref = NULL;
	}
	if (st->expect == OSSL_STORE_INFO_PARAMS) {
		EVP_PKEY_free(key->pub);
		key->pub = NULL;
	}
	ok = p11ap_key_pass(&key, object_cb, object_cbarg);
	/* Still ours when no key management took it. */
	p11ap_key_free(key);
	return ok;
}

/* p11a_cert()'s request. */
struct cert_req {
	const char *ref;
	uint8_t *der;
	size_t der_len;
};

static int cert_fn(struct p11a_conn *conn, void *arg)
{
	struct cert_req *req = arg;

	return p11a_cert(conn, req->ref, &req->der, &req->der_len);
}

/* The certificate the token holds for the key, if any. */
static int load_cert(struct store *st, OSSL_CALLBACK *object_cb, void *object_cbarg)
{
	struct cert_req req = {st->ref, NULL, 0};
	int type = OSSL_OBJECT_CERT, ok;
	char what[512];

	snprintf(what, sizeof(what), "the certificate of the key '%.400s'", st->ref);
	if (p11ap_call(st->prov, what, cert_fn, &req) != P11A_OK)
		return 0;
	if (req.der == NULL)
		return 1;
	{
		OSSL_PARAM params[] = {
		    OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &type),
		    OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
						     (char *)"Certificate", 0),
		    OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, req.der, req.der_len),
		    OSSL_PARAM_END,
		};
		ok = object_cb(params, object_cbarg);
	}
	p11a_free(req.der, req.der_len);
	return ok;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct store *st = loaderctx;
	int ok;

	/* One object a call; a failure ends the store. */
	if (st->step == STEP_KEY) {
		st->step = wanted(st, OSSL_STORE_INFO_CERT) ? STEP_CERT : STEP_DONE;
		if (wanted(st, OSSL_STORE_INFO_PKEY)) {
			if ((ok = load_key(st, object_cb, object_cbarg)) == 0)
				st->step = STEP_DONE;
			return ok;
		}
	}
	if (st->step == STEP_CERT) {
		st->step = STEP_DONE;
		return load_cert(st, object_cb, object_cbarg);
	}
	return 0;
}

static int store_eof(void *loaderctx)
{
	const struct store *st = loaderctx;

	return st->step == STEP_DONE;
}

static int store_close(void *loaderctx)
{
	struct store *st = loaderctx;

	if (st == NULL)
		return 1;
	free(st->ref);
	free(st);
	return 1;
}

const OSSL_DISPATCH p11ap_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close},
    {0, NULL},
};
