/*
 * token-objects: a key's objects in the token after it is made: destroying
 * a key with its public key and certificates, storing a certificate beside
 * a key. Both run on a read-write session opened for the call (the pool's
 * sessions are read-only), with the recovery of token_recover(). The index
 * is not touched: the caller indexes the token again.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "token-impl.h"

/* Objects found per C_FindObjects call. */
#define FIND_BATCH 32
/*
 * Rounds of find-and-destroy token_destroy_by_id() makes at most: each
 * destroys a batch, so this bounds it should a token keep finding objects
 * it reports destroyed.
 */
#define DESTROY_ROUNDS 64

CK_RV token_rw_session(struct token *tok, CK_SESSION_HANDLE *out)
{
	return tok->f->C_OpenSession(tok->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				     out);
}

CK_RV token_find_handles(struct token *tok, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
			 CK_OBJECT_HANDLE *out, CK_ULONG max, CK_ULONG *out_n)
{
	CK_ULONG got = 0;
	CK_RV rv, rv2;

	if ((rv = tok->f->C_FindObjectsInit(s, tmpl, n)) != CKR_OK)
		return rv;
	rv = tok->f->C_FindObjects(s, out, max, &got);
	rv2 = tok->f->C_FindObjectsFinal(s);
	if (rv == CKR_OK)
		rv = rv2;
	if (rv != CKR_OK)
		return rv;
	*out_n = got;
	return CKR_OK;
}

CK_RV token_destroy_by_id(struct token *tok, CK_SESSION_HANDLE s, const CK_OBJECT_CLASS *klass,
			  const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE keep,
			  const char **out_fn)
{
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_ID, (void *)id, id_len},
	    {CKA_CLASS, (void *)klass, sizeof(*klass)},
	};
	CK_OBJECT_HANDLE found[FIND_BATCH];
	CK_ULONG i, n, destroyed;
	CK_RV rv;

	for (int round = 0; round < DESTROY_ROUNDS; round++) {
		*out_fn = "C_FindObjects";
		if ((rv = token_find_handles(tok, s, tmpl, klass != NULL ? 2 : 1, found, FIND_BATCH,
					     &n)) != CKR_OK)
			return rv;
		*out_fn = "C_DestroyObject";
		for (i = 0, destroyed = 0; i < n; i++) {
			if (found[i] == keep)
				continue;
			rv = tok->f->C_DestroyObject(s, found[i]);
			if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
				return rv;
			destroyed++;
		}
		if (destroyed == 0)
			break;
	}
	return CKR_OK;
}

/* The message and error for a failed call fn on key's objects. */
static int object_error(const struct token_key *key, const char *what, const char *fn, CK_RV rv,
			char *msg, size_t msg_len)
{
	if (rv == CKR_ACTION_PROHIBITED) {
		snprintf(msg, msg_len, "key '%s': the token refuses to %s (%s: %s)",
			 token_key_name(key), what, fn, token_ckr_name(rv));
		return P11A_ERR_NOT_ALLOWED;
	}
	snprintf(msg, msg_len, "key '%s': cannot %s: %s failed: %s", token_key_name(key), what, fn,
		 token_ckr_name(rv));
	return P11A_ERR_TOKEN;
}

/*
 * Does another private or secret key than key hold key's CKA_ID? Then the
 * public keys and certificates with that id may be that key's, and stay.
 */
static CK_RV id_shared(struct token *tok, CK_SESSION_HANDLE s, const struct token_key *key,
		       int *out_shared)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_SECRET_KEY};
	CK_OBJECT_CLASS klass;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &klass, sizeof(klass)},
	    {CKA_ID, key->id, key->id_len},
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG i, n;
	CK_RV rv;

	*out_shared = 0;
	for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		klass = classes[c];
		if ((rv = token_find_handles(tok, s, tmpl, 2, found, 2, &n)) != CKR_OK)
			return rv;
		for (i = 0; i < n; i++)
			if (found[i] != key->handle)
				*out_shared = 1;
	}
	return CKR_OK;
}

/* Whether an earlier attempt of token_destroy_key() destroyed the key itself. */
struct destroy_state {
	int key_gone;
};

/* One attempt of token_destroy_key(); *fault is the CK_RV of the call that failed. */
static int destroy_once(struct token *tok, const struct token_key *key, struct destroy_state *st,
			CK_RV *fault, char *msg, size_t msg_len)
{
	static const CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, cert_class = CKO_CERTIFICATE;
	CK_SESSION_HANDLE s;
	const char *fn = "C_OpenSession";
	int shared = 0;
	CK_RV rv;

	if ((rv = token_rw_session(tok, &s)) != CKR_OK)
		goto fail;
	if (!st->key_gone) {
		fn = "C_DestroyObject";
		if ((rv = tok->f->C_DestroyObject(s, key->handle)) != CKR_OK)
			goto close;
		st->key_gone = 1;
	}
	if (key->id_len > 0) {
		fn = "C_FindObjects";
		if ((rv = id_shared(tok, s, key, &shared)) != CKR_OK)
			goto close;
		if (!shared && ((rv = token_destroy_by_id(tok, s, &pub_class, key->id, key->id_len,
							  CK_INVALID_HANDLE, &fn)) != CKR_OK ||
				(rv = token_destroy_by_id(tok, s, &cert_class, key->id, key->id_len,
							  CK_INVALID_HANDLE, &fn)) != CKR_OK))
			goto close;
	}
close:
	(void)tok->f->C_CloseSession(s);
	if (rv == CKR_OK)
		return P11A_OK;
fail:
	*fault = rv;
	return object_error(key,
			    st->key_gone ? "destroy its public key or certificates" : "destroy it",
			    fn, rv, msg, msg_len);
}

int token_destroy_key(struct token *tok, const struct token_key *key, char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	struct destroy_state st = {0};
	int ret;
	CK_RV fault;

	for (;;) {
		/* Once destroyed, the key is gone from the token: a re-index refuses it. */
		if ((ret = token_enter(tok, st.key_gone ? NULL : key, &t, msg, msg_len)) != P11A_OK)
			return ret;
		fault = CKR_OK;
		ret = destroy_once(tok, key, &st, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			return ret;
	}
}

/* The attributes of a certificate object that come from the certificate. */
struct cert_parts {
	uint8_t *subject, *issuer, *serial; /* DER Name, Name, INTEGER */
	int subject_len, issuer_len, serial_len;
};

static void cert_parts_free(struct cert_parts *p)
{
	OPENSSL_free(p->subject);
	OPENSSL_free(p->issuer);
	OPENSSL_free(p->serial);
	memset(p, 0, sizeof(*p));
}

/*
 * Parses der, which must be one X.509 certificate and nothing else, whose
 * SubjectPublicKeyInfo is byte for byte key's (as the index compares them
 * when it looks for a key's certificate), into out.
 */
static int cert_parse(const struct token_key *key, const uint8_t *der, size_t der_len,
		      struct cert_parts *out, char *msg, size_t msg_len)
{
	const unsigned char *p = der;
	struct cert_parts parts = {0};
	unsigned char *spki = NULL;
	X509 *x = NULL;
	int spki_len, ret = P11A_ERR_BAD_INPUT;

	if (der_len == 0 || der_len > LONG_MAX || (x = d2i_X509(NULL, &p, (long)der_len)) == NULL ||
	    p != der + der_len) {
		snprintf(msg, msg_len, "certificate: not one DER X.509 certificate");
		goto out;
	}
	if ((spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki)) <= 0) {
		snprintf(msg, msg_len, "certificate: its public key cannot be encoded");
		goto out;
	}
	if (key->spki == NULL || (size_t)spki_len != key->spki_len ||
	    memcmp(spki, key->spki, key->spki_len) != 0) {
		snprintf(
		    msg, msg_len,
		    "the certificate is for another public key than key '%s'%s; nothing stored",
		    token_key_name(key),
		    key->spki == NULL ? " (the token holds no public key for it)" : "");
		goto out;
	}
	ret = P11A_ERR_INTERNAL;
	if ((parts.subject_len = i2d_X509_NAME(X509_get_subject_name(x), &parts.subject)) <= 0 ||
	    (parts.issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &parts.issuer)) <= 0 ||
	    (parts.serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &parts.serial)) <= 0) {
		snprintf(msg, msg_len, "certificate: cannot encode its subject, issuer or serial");
		goto out;
	}
	*out = parts;
	memset(&parts, 0, sizeof(parts));
	ret = P11A_OK;
out:
	cert_parts_free(&parts);
	OPENSSL_free(spki);
	X509_free(x);
	return ret;
}

/*
 * One attempt of token_cert_store(). The new certificate is made before the
 * old ones go, so that a failure leaves the old one in place: at worst both
 * stay, and the next store clears the old.
 */
static int store_once(struct token *tok, const struct token_key *key, const uint8_t *der,
		      size_t der_len, const struct cert_parts *parts, CK_RV *fault, char *msg,
		      size_t msg_len)
{
	static const CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, (void *)&cert_class, sizeof(cert_class)},
	    {CKA_CERTIFICATE_TYPE, &cert_type, sizeof(cert_type)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_LABEL, key->label, strlen(key->label)},
	    {CKA_ID, key->id, key->id_len},
	    {CKA_SUBJECT, parts->subject, (CK_ULONG)parts->subject_len},
	    {CKA_ISSUER, parts->issuer, (CK_ULONG)parts->issuer_len},
	    {CKA_SERIAL_NUMBER, parts->serial, (CK_ULONG)parts->serial_len},
	    {CKA_VALUE, (void *)der, der_len},
	};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert;
	const char *fn = "C_OpenSession";
	int shared = 0;
	CK_RV rv;

	if ((rv = token_rw_session(tok, &s)) != CKR_OK)
		goto fail;
	fn = "C_FindObjects";
	if ((rv = id_shared(tok, s, key, &shared)) == CKR_OK && shared) {
		/* Replacing "the" certificate of that CKA_ID could remove another key's. */
		(void)tok->f->C_CloseSession(s);
		snprintf(msg, msg_len,
			 "key '%s' shares its CKA_ID with another key: a certificate stored under "
			 "it would belong to both; nothing stored",
			 token_key_name(key));
		return P11A_ERR_NOT_SUPPORTED;
	}
	if (rv == CKR_OK) {
		fn = "C_CreateObject";
		rv = tok->f->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &cert);
		if (rv == CKR_OK)
			rv = token_destroy_by_id(tok, s, &cert_class, key->id, key->id_len, cert,
						 &fn);
	}
	(void)tok->f->C_CloseSession(s);
	if (rv == CKR_OK)
		return P11A_OK;
fail:
	*fault = rv;
	return object_error(key, "store its certificate", fn, rv, msg, msg_len);
}

int token_cert_store(struct token *tok, const struct token_key *key, const uint8_t *der,
		     size_t der_len, char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	struct cert_parts parts = {0};
	int ret;
	CK_RV fault;

	if ((ret = cert_parse(key, der, der_len, &parts, msg, msg_len)) != P11A_OK)
		return ret;
	if (key->id_len == 0) {
		/* The index ties a certificate to its key by CKA_ID. */
		snprintf(msg, msg_len, "key '%s' has no CKA_ID to store a certificate under",
			 token_key_name(key));
		ret = P11A_ERR_NOT_SUPPORTED;
		goto out;
	}
	for (;;) {
		if ((ret = token_enter(tok, key, &t, msg, msg_len)) != P11A_OK)
			goto out;
		fault = CKR_OK;
		ret = store_once(tok, key, der, der_len, &parts, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			goto out;
	}
out:
	cert_parts_free(&parts);
	return ret;
}
