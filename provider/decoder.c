/*
 * Key files to agent keys. A key file is PEM text whose block
 * P11A_KEYFILE_PEM_NAME holds DER that names an agent key by its pkcs11:
 * URI and carries its public key (p11agent.h), so that a program that only
 * reads a key file (nginx, curl, Python's ssl, PEM_read_bio_PrivateKey())
 * gets the agent key. Two steps, as OpenSSL's decoders go: the PEM decoder
 * takes the block out as DER of structure P11AP_KEYFILE_STRUCTURE (OpenSSL's
 * own PEM decoder drops PEM names it does not know), then one decoder per
 * key type turns that DER into an agent key. Decoding asks nothing of the
 * agent. Anything else is left to the other decoders.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "provider.h"

/* The most DER a key file's block may hold. */
#define KEYFILE_MAX_DER (64 * 1024)

/* A decoder of key files holding keys of one type. */
struct decoder {
	struct p11ap_prov *prov;
	p11a_key_type type;
};

static void *decoder_new(void *provctx, p11a_key_type type)
{
	struct decoder *dec = calloc(1, sizeof(*dec));

	if (dec == NULL)
		return NULL;
	dec->prov = provctx;
	dec->type = type;
	return dec;
}

static void *rsa_decoder_new(void *provctx)
{
	return decoder_new(provctx, P11A_KEY_RSA);
}

static void *ec_decoder_new(void *provctx)
{
	return decoder_new(provctx, P11A_KEY_EC);
}

static void *ed25519_decoder_new(void *provctx)
{
	return decoder_new(provctx, P11A_KEY_ED25519);
}

static void decoder_free(void *ctx)
{
	free(ctx);
}

/* A key file gives a key: private (the agent's) and public. */
static int decoder_does_selection(void *provctx, int selection)
{
	return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

/*
 * All of cin in *out_der (freed with OPENSSL_free()); *out_der NULL when
 * there is more than a key file's block may hold. Returns 0 on a read error.
 */
static int read_der(struct decoder *dec, OSSL_CORE_BIO *cin, unsigned char **out_der,
		    size_t *out_len)
{
	BIO *in = BIO_new_from_core_bio(dec->prov->libctx, cin);
	unsigned char *der = NULL;
	size_t len = 0, n;
	int ok = 0;

	*out_der = NULL;
	if (in == NULL || (der = OPENSSL_malloc(KEYFILE_MAX_DER + 1)) == NULL)
		goto out;
	while (len <= KEYFILE_MAX_DER &&
	       BIO_read_ex(in, der + len, KEYFILE_MAX_DER + 1 - len, &n) && n > 0)
		len += n;
	ok = 1;
	if (len > KEYFILE_MAX_DER)
		goto out;
	*out_der = der;
	*out_len = len;
	der = NULL;
out:
	OPENSSL_free(der);
	BIO_free(in);
	return ok;
}

static int decoder_decode(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *object_cb,
			  void *object_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct decoder *dec = ctx;
	struct p11ap_key *key = NULL;
	unsigned char *der = NULL;
	char *uri = NULL;
	uint8_t *spki = NULL;
	size_t der_len = 0, spki_len = 0;
	int ok = 1;

	if (!read_der(dec, cin, &der, &der_len))
		return 0;
	/* Anything but a key file is another decoder's. */
	if (der == NULL || p11a_keyfile_decode_der(der, der_len, &uri, &spki, &spki_len) != P11A_OK)
		goto out;
	if ((key = p11ap_key_from_spki(dec->prov, uri, spki, spki_len)) == NULL) {
		ok = 0;
		goto out;
	}
	/* A key of another type is another decoder's. */
	if (key->type != dec->type)
		goto out;
	ok = p11ap_key_pass(&key, object_cb, object_cbarg);
out:
	/* Still ours when no key management took it. */
	p11ap_key_free(key);
	p11a_free(uri, uri != NULL ? strlen(uri) : 0);
	p11a_free(spki, spki_len);
	OPENSSL_free(der);
	return ok;
}

/* The PEM decoder: a key file's block, as DER, to the decoders above. */
static void *pem_decoder_new(void *provctx)
{
	return decoder_new(provctx, P11A_KEY_UNKNOWN);
}

static int pem_decoder_decode(void *ctx, OSSL_CORE_BIO *cin, int selection,
			      OSSL_CALLBACK *object_cb, void *object_cbarg,
			      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct decoder *dec = ctx;
	BIO *in = BIO_new_from_core_bio(dec->prov->libctx, cin);
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	int ours, ok = 1;

	if (in == NULL)
		return 0;
	/* Input that is not PEM, or another block, is not an error of ours. */
	ERR_set_mark();
	ours = PEM_read_bio(in, &name, &header, &der, &der_len) > 0 &&
	       strcmp(name, P11A_KEYFILE_PEM_NAME) == 0;
	ERR_pop_to_mark();
	if (ours) {
		OSSL_PARAM params[] = {
		    OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)der_len),
		    OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
						     (char *)P11AP_KEYFILE_STRUCTURE, 0),
		    OSSL_PARAM_END,
		};
		ok = object_cb(params, object_cbarg);
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(in);
	return ok;
}

const OSSL_DISPATCH p11ap_keyfile_pem_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))pem_decoder_new},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))decoder_free},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pem_decoder_decode},
    {0, NULL},
};

#define DECODER_FUNCTIONS(new_fn)                                                                  \
	{OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))new_fn},                                        \
	    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))decoder_free},                             \
	    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))decoder_does_selection},            \
	    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))decoder_decode},                            \
	{                                                                                          \
		0, NULL                                                                            \
	}

const OSSL_DISPATCH p11ap_rsa_keyfile_decoder_functions[] = {DECODER_FUNCTIONS(rsa_decoder_new)};
const OSSL_DISPATCH p11ap_ec_keyfile_decoder_functions[] = {DECODER_FUNCTIONS(ec_decoder_new)};
const OSSL_DISPATCH p11ap_ed25519_keyfile_decoder_functions[] = {
    DECODER_FUNCTIONS(ed25519_decoder_new)};
