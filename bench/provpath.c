/*
 * provpath: signatures through the p11agent OpenSSL provider.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "provpath.h"

#define PROV_NAME "p11agent"
#define SIG_MAX 1024 /* RSA-8192 */

struct provpath {
	const struct work *w;
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *deflt, *p11agent;
	EVP_PKEY *pkey;
};

struct provpath_client {
	struct provpath *pp;
	EVP_PKEY_CTX *pctx; /* RSA, ECDSA: EVP_PKEY_sign */
	EVP_MD_CTX *mctx;   /* Ed25519: EVP_DigestSign */
	unsigned char sig[SIG_MAX];
};

/* "what: OpenSSL's first error" into msg; OpenSSL's error queue is cleared. */
static void ossl_error(char *msg, size_t msg_len, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(msg, msg_len, "provider path: %s: %s", what, buf);
	} else {
		snprintf(msg, msg_len, "provider path: %s", what);
	}
	ERR_clear_error();
}

/* Loads p11agent.so: from module's folder when given, else OpenSSL's modules folder. */
static OSSL_PROVIDER *load_module(OSSL_LIB_CTX *libctx, const char *module, char *msg,
				  size_t msg_len)
{
	OSSL_PROVIDER *prov;
	const char *slash;
	char *dir = NULL;

	if (module != NULL) {
		slash = strrchr(module, '/');
		if (slash == NULL || strcmp(slash + 1, PROV_NAME ".so") != 0) {
			snprintf(msg, msg_len,
				 "--provider-module: expected the path of p11agent.so, not %s",
				 module);
			return NULL;
		}
		if ((dir = strndup(module, (size_t)(slash - module))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return NULL;
		}
		if (OSSL_PROVIDER_set_default_search_path(libctx, dir[0] ? dir : "/") != 1) {
			free(dir);
			ossl_error(msg, msg_len, "set the provider search path");
			return NULL;
		}
	}
	prov = OSSL_PROVIDER_load(libctx, PROV_NAME);
	if (prov == NULL)
		ossl_error(msg, msg_len, module != NULL ? module : "cannot load p11agent");
	free(dir);
	return prov;
}

/* The private key p11agent:KEY from the provider's store. */
static EVP_PKEY *load_key(OSSL_LIB_CTX *libctx, const char *key, char *msg, size_t msg_len)
{
	OSSL_STORE_CTX *store = NULL;
	OSSL_STORE_INFO *info;
	EVP_PKEY *pkey = NULL;
	char *uri;
	size_t uri_len = strlen(PROV_NAME ":") + strlen(key) + 1;

	if ((uri = malloc(uri_len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return NULL;
	}
	snprintf(uri, uri_len, PROV_NAME ":%s", key);
	store = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
	if (store == NULL || OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY) != 1) {
		ossl_error(msg, msg_len, "OSSL_STORE_open");
		goto out;
	}
	while (pkey == NULL && !OSSL_STORE_eof(store)) {
		if ((info = OSSL_STORE_load(store)) == NULL)
			continue;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			pkey = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	if (pkey == NULL)
		ossl_error(msg, msg_len, "no private key from the store");
out:
	OSSL_STORE_close(store);
	free(uri);
	return pkey;
}

int provpath_open(const char *module, const char *socket, const struct work *w,
		  struct provpath **out, char *msg, size_t msg_len)
{
	struct provpath *pp;

	if (w->op != WORK_SIGN || w->batch != 1 ||
	    (w->alg->key_type != P11A_KEY_RSA && w->alg->key_type != P11A_KEY_EC &&
	     w->alg->key_type != P11A_KEY_ED25519)) {
		snprintf(msg, msg_len,
			 "provider path: single RSA, ECDSA and Ed25519 signatures "
			 "only");
		return -1;
	}
	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	pp->w = w;
	if (socket != NULL && setenv("P11AGENT_SOCK", socket, 1) != 0) {
		snprintf(msg, msg_len, "out of memory");
		goto fail;
	}
	if ((pp->libctx = OSSL_LIB_CTX_new()) == NULL) {
		ossl_error(msg, msg_len, "OSSL_LIB_CTX_new");
		goto fail;
	}
	/* The default provider first, as doc/p11agent-provider.7 says. */
	if ((pp->deflt = OSSL_PROVIDER_load(pp->libctx, "default")) == NULL) {
		ossl_error(msg, msg_len, "cannot load the default provider");
		goto fail;
	}
	if ((pp->p11agent = load_module(pp->libctx, module, msg, msg_len)) == NULL)
		goto fail;
	if ((pp->pkey = load_key(pp->libctx, w->key, msg, msg_len)) == NULL)
		goto fail;
	*out = pp;
	return 0;
fail:
	provpath_close(pp);
	return -1;
}

/* RSA and ECDSA: a context for EVP_PKEY_sign over a digest, with w's padding and hash. */
static int init_pkey_sign(struct provpath_client *c, char *msg, size_t msg_len)
{
	const struct work *w = c->pp->w;
	OSSL_PARAM params[4], *p = params;

	c->pctx = EVP_PKEY_CTX_new_from_pkey(c->pp->libctx, c->pp->pkey, NULL);
	if (c->pctx == NULL || EVP_PKEY_sign_init(c->pctx) != 1) {
		ossl_error(msg, msg_len, "EVP_PKEY_sign_init");
		return -1;
	}
	*p++ =
	    OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, (char *)w->alg->hash, 0);
	if (w->alg->key_type == P11A_KEY_RSA && strncmp(w->alg->name, "rsa-pss", 7) == 0) {
		*p++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE,
							(char *)OSSL_PKEY_RSA_PAD_MODE_PSS, 0);
		*p++ = OSSL_PARAM_construct_utf8_string(
		    OSSL_SIGNATURE_PARAM_PSS_SALTLEN, (char *)OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST, 0);
	} else if (w->alg->key_type == P11A_KEY_RSA) {
		*p++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE,
							(char *)OSSL_PKEY_RSA_PAD_MODE_PKCSV15, 0);
	}
	*p = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(c->pctx, params) != 1) {
		ossl_error(msg, msg_len, "the signature's parameters");
		return -1;
	}
	return 0;
}

int provpath_client_open(struct provpath *pp, struct provpath_client **out, char *msg,
			 size_t msg_len)
{
	struct provpath_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	c->pp = pp;
	if (pp->w->alg->input == P11A_INPUT_DIGEST) {
		if (init_pkey_sign(c, msg, msg_len) != 0)
			goto fail;
	} else if ((c->mctx = EVP_MD_CTX_new()) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	provpath_client_close(c);
	return -1;
}

int provpath_client_op(struct provpath_client *c, int check, char *msg, size_t msg_len)
{
	const struct work *w = c->pp->w;
	size_t sig_len = sizeof(c->sig);

	if (c->pctx != NULL) {
		if (EVP_PKEY_sign(c->pctx, c->sig, &sig_len, w->in, w->in_len) != 1) {
			ossl_error(msg, msg_len, "EVP_PKEY_sign");
			return -1;
		}
	} else if (EVP_MD_CTX_reset(c->mctx) != 1 ||
		   EVP_DigestSignInit_ex(c->mctx, NULL, NULL, c->pp->libctx, NULL, c->pp->pkey,
					 NULL) != 1 ||
		   EVP_DigestSign(c->mctx, c->sig, &sig_len, w->in, w->in_len) != 1) {
		ossl_error(msg, msg_len, "EVP_DigestSign");
		return -1;
	}
	if (check && sig_len == 0) {
		snprintf(msg, msg_len, "provider path: an empty signature");
		return -1;
	}
	return 0;
}

void provpath_client_close(struct provpath_client *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_CTX_free(c->pctx);
	EVP_MD_CTX_free(c->mctx);
	free(c);
}

void provpath_close(struct provpath *pp)
{
	if (pp == NULL)
		return;
	EVP_PKEY_free(pp->pkey);
	if (pp->p11agent != NULL)
		OSSL_PROVIDER_unload(pp->p11agent);
	if (pp->deflt != NULL)
		OSSL_PROVIDER_unload(pp->deflt);
	OSSL_LIB_CTX_free(pp->libctx);
	free(pp);
}
