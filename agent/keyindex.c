/*
 * keyindex: finds the token's keys once, with their attributes, public keys
 * and canonical URIs (keyref.c resolves references against them).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <p11-kit/uri.h>

#include "keyindex.h"
#include "log.h"
#include "proto.h"
#include "spki.h"
#include "sshkey.h"

#ifndef CKK_EC_EDWARDS
#define CKK_EC_EDWARDS 0x40UL
#endif

/* Objects fetched per C_FindObjects call. */
#define FIND_BATCH 64
/* Largest attribute value read (a certificate, at most). */
#define ATTR_MAX (1024u * 1024u)
/* Public-key objects or certificates tried per private key. */
#define CANDIDATES_MAX 8
/*
 * The longest label, id and URI a client takes in a list entry
 * (proto_list_get): a key with a longer one would make the whole list fail.
 */
#define LABEL_MAX PROTO_MAX_KEYREF
#define ID_MAX PROTO_MAX_KEYREF
#define URI_MAX (4 * PROTO_MAX_KEYREF)
/* Bytes of an id shown in a log line. */
#define ID_SHOWN 32

/* What one keyindex_load() works with. */
struct scan {
	CK_FUNCTION_LIST *f;
	CK_SESSION_HANDLE s;
	const CK_TOKEN_INFO *tinfo;
};

/* Index one object: it was taken, left out (not a key the agent serves), or OOM. */
enum { KEY_TAKEN = 0, KEY_SKIPPED = 1, KEY_NOMEM = -1 };

/*
 * Reads attribute type of obj into a malloc'd buffer, with a NUL byte after
 * the value. CKR_ATTRIBUTE_TYPE_INVALID when absent or unavailable.
 */
static CK_RV attr_get(const struct scan *sc, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		      uint8_t **out, size_t *out_len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	uint8_t *buf;
	CK_RV rv;

	if ((rv = sc->f->C_GetAttributeValue(sc->s, obj, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	if (a.ulValueLen > ATTR_MAX)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((buf = malloc(a.ulValueLen + 1)) == NULL)
		return CKR_HOST_MEMORY;
	a.pValue = buf;
	if ((rv = sc->f->C_GetAttributeValue(sc->s, obj, &a, 1)) != CKR_OK) {
		free(buf);
		return rv;
	}
	buf[a.ulValueLen] = '\0';
	*out = buf;
	*out_len = a.ulValueLen;
	return CKR_OK;
}

/* Reads a CK_ULONG attribute. Returns 0, or -1 when absent. */
static int attr_ulong(const struct scan *sc, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		      CK_ULONG *out)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};

	if (sc->f->C_GetAttributeValue(sc->s, obj, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
		return -1;
	*out = v;
	return 0;
}

/* A CK_BBOOL attribute; absent counts as false. */
static int attr_bool(const struct scan *sc, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};

	if (sc->f->C_GetAttributeValue(sc->s, obj, &a, 1) != CKR_OK || a.ulValueLen != sizeof(v))
		return 0;
	return v == CK_TRUE;
}

/*
 * Finds up to max objects matching templ. On success *out (malloc'd) holds
 * *out_n handles; on failure *out_fn names the failed function.
 */
static CK_RV find_objects(const struct scan *sc, CK_ATTRIBUTE *templ, CK_ULONG count, size_t max,
			  CK_OBJECT_HANDLE **out, size_t *out_n, const char **out_fn)
{
	CK_OBJECT_HANDLE *handles = NULL, *tmp;
	size_t n = 0, cap = 0;
	CK_ULONG got;
	CK_RV rv;

	if ((rv = sc->f->C_FindObjectsInit(sc->s, templ, count)) != CKR_OK) {
		*out_fn = "C_FindObjectsInit";
		return rv;
	}
	while (n < max) {
		if (cap - n < FIND_BATCH) {
			cap += 4 * FIND_BATCH;
			if ((tmp = realloc(handles, cap * sizeof(*handles))) == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			handles = tmp;
		}
		rv = sc->f->C_FindObjects(sc->s, handles + n, FIND_BATCH, &got);
		if (rv != CKR_OK) {
			*out_fn = "C_FindObjects";
			break;
		}
		if (got == 0)
			break;
		n += got;
	}
	(void)sc->f->C_FindObjectsFinal(sc->s);
	if (rv != CKR_OK) {
		free(handles);
		return rv;
	}
	*out = handles;
	*out_n = n < max ? n : max;
	return CKR_OK;
}

/* SPKI from public-key object pub, when it is of the key's type (and curve). */
static int spki_from_public_object(const struct scan *sc, CK_OBJECT_HANDLE pub,
				   const struct token_key *key, const struct spki_curve *curve,
				   uint8_t **out_der, size_t *out_len)
{
	uint8_t *a = NULL, *b = NULL;
	size_t a_len, b_len;
	int ret = -1;

	if (key->type == P11A_KEY_RSA) {
		if (attr_get(sc, pub, CKA_MODULUS, &a, &a_len) == CKR_OK &&
		    attr_get(sc, pub, CKA_PUBLIC_EXPONENT, &b, &b_len) == CKR_OK)
			ret = spki_from_rsa(a, a_len, b, b_len, out_der, out_len);
	} else {
		if (attr_get(sc, pub, CKA_EC_PARAMS, &a, &a_len) == CKR_OK &&
		    spki_curve_from_params(a, a_len) == curve &&
		    attr_get(sc, pub, CKA_EC_POINT, &b, &b_len) == CKR_OK)
			ret = spki_from_ec_point(curve, b, b_len, out_der, out_len);
	}
	free(a);
	free(b);
	return ret;
}

/* SPKI from the first public-key object or certificate matching templ that fits the key. */
static int spki_from_search(const struct scan *sc, CK_ATTRIBUTE *templ, CK_ULONG count,
			    const struct token_key *key, const struct spki_curve *curve,
			    uint8_t **out_der, size_t *out_len)
{
	CK_OBJECT_HANDLE *found = NULL;
	CK_OBJECT_CLASS klass = *(CK_OBJECT_CLASS *)templ[0].pValue;
	uint8_t *cert;
	size_t i, n = 0, cert_len;
	const char *fn;
	int ret = -1;

	if (find_objects(sc, templ, count, CANDIDATES_MAX, &found, &n, &fn) != CKR_OK)
		return -1;
	for (i = 0; i < n && ret != 0; i++) {
		if (klass == CKO_PUBLIC_KEY) {
			ret = spki_from_public_object(sc, found[i], key, curve, out_der, out_len);
		} else if (attr_get(sc, found[i], CKA_VALUE, &cert, &cert_len) == CKR_OK) {
			ret = spki_from_cert(cert, cert_len, key->type, curve, out_der, out_len);
			free(cert);
		}
	}
	free(found);
	return ret;
}

/*
 * The public key of private key priv. The private key's own public
 * attributes come first when it has them (RSA private keys carry CKA_MODULUS
 * and CKA_PUBLIC_EXPONENT): they cannot belong to another key. Then the
 * public-key object with the same CKA_ID (and label, then id alone; label
 * alone when the key has no id), then an X.509 certificate with the same id.
 */
static int find_spki(const struct scan *sc, CK_OBJECT_HANDLE priv, const struct token_key *key,
		     const struct spki_curve *curve, uint8_t **out_der, size_t *out_len)
{
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, cert_class = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
	CK_KEY_TYPE ck_type = key->ck_type;
	uint8_t *a = NULL, *b = NULL;
	size_t a_len, b_len;
	int ret = -1;

	if (key->type == P11A_KEY_RSA) {
		if (attr_get(sc, priv, CKA_MODULUS, &a, &a_len) == CKR_OK &&
		    attr_get(sc, priv, CKA_PUBLIC_EXPONENT, &b, &b_len) == CKR_OK)
			ret = spki_from_rsa(a, a_len, b, b_len, out_der, out_len);
	} else if (attr_get(sc, priv, CKA_EC_POINT, &a, &a_len) == CKR_OK) {
		ret = spki_from_ec_point(curve, a, a_len, out_der, out_len);
	}
	free(a);
	free(b);
	if (ret == 0)
		return 0;

	CK_ATTRIBUTE by_id_label[] = {
	    {CKA_CLASS, &pub_class, sizeof(pub_class)},
	    {CKA_KEY_TYPE, &ck_type, sizeof(ck_type)},
	    {CKA_ID, key->id, key->id_len},
	    {CKA_LABEL, key->label, strlen(key->label)},
	};
	CK_ATTRIBUTE by_label[] = {
	    {CKA_CLASS, &pub_class, sizeof(pub_class)},
	    {CKA_KEY_TYPE, &ck_type, sizeof(ck_type)},
	    {CKA_LABEL, key->label, strlen(key->label)},
	};
	CK_ATTRIBUTE cert_by_id[] = {
	    {CKA_CLASS, &cert_class, sizeof(cert_class)},
	    {CKA_CERTIFICATE_TYPE, &cert_type, sizeof(cert_type)},
	    {CKA_ID, key->id, key->id_len},
	};

	if (key->id_len > 0) {
		if (spki_from_search(sc, by_id_label, 4, key, curve, out_der, out_len) == 0 ||
		    spki_from_search(sc, by_id_label, 3, key, curve, out_der, out_len) == 0 ||
		    spki_from_search(sc, cert_by_id, 3, key, curve, out_der, out_len) == 0)
			return 0;
	} else if (key->label[0] != '\0') {
		if (spki_from_search(sc, by_label, 3, key, curve, out_der, out_len) == 0)
			return 0;
	}
	return -1;
}

/*
 * The X.509 certificate of key: the first certificate object with the key's
 * CKA_ID (its label when the key has no id) whose public key is the key's
 * own. A certificate for another key is never taken.
 */
static void find_cert(const struct scan *sc, struct token_key *key)
{
	CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
	CK_OBJECT_HANDLE *found = NULL;
	CK_ATTRIBUTE templ[] = {
	    {CKA_CLASS, &cert_class, sizeof(cert_class)},
	    {CKA_CERTIFICATE_TYPE, &cert_type, sizeof(cert_type)},
	    {CKA_ID, key->id, key->id_len},
	};
	uint8_t *cert, *spki;
	size_t i, n = 0, cert_len, spki_len;
	const char *fn;

	if (key->spki == NULL)
		return;
	if (key->id_len == 0) {
		if (key->label[0] == '\0')
			return;
		templ[2] = (CK_ATTRIBUTE){CKA_LABEL, key->label, strlen(key->label)};
	}
	if (find_objects(sc, templ, 3, CANDIDATES_MAX, &found, &n, &fn) != CKR_OK)
		return;
	for (i = 0; i < n && key->cert == NULL; i++) {
		if (attr_get(sc, found[i], CKA_VALUE, &cert, &cert_len) != CKR_OK)
			continue;
		if (spki_of_cert(cert, cert_len, &spki, &spki_len) == 0) {
			if (spki_len == key->spki_len && memcmp(spki, key->spki, spki_len) == 0) {
				key->cert = cert;
				key->cert_len = cert_len;
				cert = NULL;
			}
			free(spki);
		}
		free(cert);
	}
	free(found);
}

/* Key size in bits of a DER SubjectPublicKeyInfo, 0 if unknown. */
static uint32_t spki_bits(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;
	int bits;

	if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
		return 0;
	bits = EVP_PKEY_get_bits(pkey);
	EVP_PKEY_free(pkey);
	return bits > 0 ? (uint32_t)bits : 0;
}

/* The canonical URI of key: the token's attributes, then id, object and type. */
static char *key_uri(const CK_TOKEN_INFO *tinfo, const struct token_key *key)
{
	P11KitUri *uri;
	CK_OBJECT_CLASS klass = key->klass;
	CK_ATTRIBUTE a;
	char *s = NULL;

	if ((uri = p11_kit_uri_new()) == NULL)
		return NULL;
	memcpy(p11_kit_uri_get_token_info(uri), tinfo, sizeof(*tinfo));
	a = (CK_ATTRIBUTE){CKA_CLASS, &klass, sizeof(klass)};
	if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
		goto out;
	if (key->label[0] != '\0') {
		a = (CK_ATTRIBUTE){CKA_LABEL, key->label, strlen(key->label)};
		if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
			goto out;
	}
	if (key->id_len > 0) {
		a = (CK_ATTRIBUTE){CKA_ID, key->id, key->id_len};
		if (p11_kit_uri_set_attribute(uri, &a) != P11_KIT_URI_OK)
			goto out;
	}
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) != P11_KIT_URI_OK)
		s = NULL;
out:
	p11_kit_uri_free(uri);
	return s;
}

/* Key type, and curve, of an object of class klass and PKCS#11 type ck_type; 0 if not served. */
static p11a_key_type classify(const struct scan *sc, CK_OBJECT_HANDLE obj, CK_OBJECT_CLASS klass,
			      CK_KEY_TYPE ck_type, const struct spki_curve **out_curve)
{
	const struct spki_curve *curve;
	uint8_t *params;
	size_t params_len;

	*out_curve = NULL;
	if (klass == CKO_SECRET_KEY) {
		switch (ck_type) {
		case CKK_GENERIC_SECRET:
		case CKK_SHA256_HMAC:
		case CKK_SHA384_HMAC:
		case CKK_SHA512_HMAC:
			return P11A_KEY_HMAC;
		case CKK_AES:
			return P11A_KEY_AES;
		default:
			return P11A_KEY_UNKNOWN;
		}
	}
	if (ck_type == CKK_RSA)
		return P11A_KEY_RSA;
	if (ck_type != CKK_EC && ck_type != CKK_EC_EDWARDS)
		return P11A_KEY_UNKNOWN;
	if (attr_get(sc, obj, CKA_EC_PARAMS, &params, &params_len) != CKR_OK)
		return P11A_KEY_UNKNOWN;
	curve = spki_curve_from_params(params, params_len);
	free(params);
	if (curve == NULL || curve->type != (ck_type == CKK_EC ? P11A_KEY_EC : P11A_KEY_ED25519))
		return P11A_KEY_UNKNOWN;
	*out_curve = curve;
	return curve->type;
}

static void key_clear(struct token_key *key)
{
	free(key->label);
	free(key->id);
	free(key->uri);
	free(key->spki);
	free(key->cert);
	free(key->ssh_blob);
	free(key->name);
	free(key->family);
	memset(key, 0, sizeof(*key));
}

/* The family and version of key, from its label (keyindex_split_version). */
static int set_version(struct token_key *key)
{
	size_t base;

	key->version = keyindex_split_version(key->label, &base);
	key->min_version = 1;
	key->family = strndup(key->label, base);
	return key->family != NULL ? 0 : -1;
}

/* CKA_START_DATE as "YYYY-MM-DD" into key->created, when the token holds a valid one. */
static void set_created(const struct scan *sc, CK_OBJECT_HANDLE obj, struct token_key *key)
{
	CK_DATE d;
	CK_ATTRIBUTE a = {CKA_START_DATE, &d, sizeof(d)};

	key->created[0] = '\0';
	if (sc->f->C_GetAttributeValue(sc->s, obj, &a, 1) != CKR_OK || a.ulValueLen != sizeof(d))
		return;
	for (size_t i = 0; i < 4; i++)
		if (d.year[i] < '0' || d.year[i] > '9' ||
		    (i < 2 &&
		     (d.month[i] < '0' || d.month[i] > '9' || d.day[i] < '0' || d.day[i] > '9')))
			return;
	snprintf(key->created, sizeof(key->created), "%.4s-%.2s-%.2s", (const char *)d.year,
		 (const char *)d.month, (const char *)d.day);
}

/* The certificate's notAfter as "YYYY-MM-DDTHH:MM:SSZ" into key->cert_expiry. */
static void set_cert_expiry(struct token_key *key)
{
	const unsigned char *p = key->cert;
	struct tm tm;
	X509 *x;

	key->cert_expiry[0] = '\0';
	if (key->cert == NULL || (x = d2i_X509(NULL, &p, (long)key->cert_len)) == NULL)
		return;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		strftime(key->cert_expiry, sizeof(key->cert_expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
	X509_free(x);
}

/*
 * Does the public key object beside key (same CKA_ID) allow wrapping? It
 * also gives key its creation date when the private key would not:
 * SoftHSM 2.6 fails C_GetAttributeValue of CKA_START_DATE on a private
 * object (CKR_GENERAL_ERROR), so the agent's keygen dates both.
 */
static uint32_t public_ops(const struct scan *sc, struct token_key *key)
{
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE templ[] = {
	    {CKA_CLASS, &pub_class, sizeof(pub_class)},
	    {CKA_ID, key->id, key->id_len},
	};
	CK_OBJECT_HANDLE *found = NULL;
	size_t n = 0;
	const char *fn;
	uint32_t ops = 0;

	if (key->id_len == 0 ||
	    find_objects(sc, templ, 2, CANDIDATES_MAX, &found, &n, &fn) != CKR_OK)
		return 0;
	if (n >= 1 && attr_bool(sc, found[0], CKA_WRAP))
		ops |= P11A_OP_WRAP;
	if (n >= 1 && key->created[0] == '\0')
		set_created(sc, found[0], key);
	free(found);
	return ops;
}

void keyindex_mark_newest(struct token_key *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		keys[i]->newest = 1;
		for (size_t j = 0; j < n && keys[i]->newest; j++)
			if (keys[j]->version > keys[i]->version &&
			    strcmp(keyindex_family(keys[j]), keyindex_family(keys[i])) == 0)
				keys[i]->newest = 0;
	}
}

/* "id:HEX" of key for a log line (the first ID_SHOWN bytes), or "no id". */
static void key_id_str(const struct token_key *key, char *out, size_t out_len)
{
	size_t i, n = key->id_len < ID_SHOWN ? key->id_len : ID_SHOWN, used;

	if (key->id_len == 0) {
		snprintf(out, out_len, "no id");
		return;
	}
	used = (size_t)snprintf(out, out_len, "id:");
	for (i = 0; i < n && used + 2 < out_len; i++)
		used += (size_t)snprintf(out + used, out_len - used, "%02x", key->id[i]);
	if (n < key->id_len && used < out_len)
		snprintf(out + used, out_len - used, "...");
}

/*
 * Is key too big for a client's list? Then it is left out, with a warning:
 * one such key would make every `list` fail.
 */
static int key_oversized(const struct token_key *key)
{
	char id[3 + 2 * ID_SHOWN + 4];
	const char *what;
	size_t len, max;

	if ((len = strlen(key->label)) > LABEL_MAX) {
		what = "label";
		max = LABEL_MAX;
	} else if ((len = key->id_len) > ID_MAX) {
		what = "id";
		max = ID_MAX;
	} else if (key->uri != NULL && (len = strlen(key->uri)) > URI_MAX) {
		what = "URI";
		max = URI_MAX;
	} else {
		return 0;
	}
	key_id_str(key, id, sizeof(id));
	log_warn("key %s (object handle %lu) left out: its %s is %zu bytes, more than the %zu "
		 "a client takes",
		 id, (unsigned long)key->handle, what, len, max);
	return 1;
}

/*
 * The key's OpenSSH blob, once, at indexing: the SSH front names keys by it
 * in every request. None for a key without a public key or an OpenSSH form.
 */
static void set_ssh_blob(struct token_key *key)
{
	char why[256];

	if (key->spki == NULL ||
	    sshkey_blob_from_spki(key->spki, key->spki_len, &key->ssh_blob, &key->ssh_blob_len,
				  NULL, why, sizeof(why)) != P11A_OK) {
		key->ssh_blob = NULL;
		key->ssh_blob_len = 0;
	}
}

/* Reads object obj of class klass into key. */
static int index_one(const struct scan *sc, CK_OBJECT_HANDLE obj, CK_OBJECT_CLASS klass,
		     struct token_key *key)
{
	const struct spki_curve *curve;
	CK_ULONG ck_type, value_len;
	uint8_t *label;
	size_t len;
	CK_RV rv;

	memset(key, 0, sizeof(*key));
	if (attr_ulong(sc, obj, CKA_KEY_TYPE, &ck_type) != 0)
		return KEY_SKIPPED;
	if ((key->type = classify(sc, obj, klass, ck_type, &curve)) == P11A_KEY_UNKNOWN)
		return KEY_SKIPPED;
	key->klass = klass;
	key->ck_type = ck_type;
	key->handle = obj;
	key->curve = curve != NULL ? curve->name : "";

	rv = attr_get(sc, obj, CKA_LABEL, &label, &len);
	if (rv == CKR_HOST_MEMORY)
		goto nomem;
	key->label = rv == CKR_OK ? (char *)label : strdup("");
	if (key->label == NULL)
		goto nomem;
	rv = attr_get(sc, obj, CKA_ID, &key->id, &key->id_len);
	if (rv == CKR_HOST_MEMORY)
		goto nomem;
	if (rv != CKR_OK || key->id_len == 0) {
		free(key->id);
		key->id = NULL;
		key->id_len = 0;
	}
	if (key_oversized(key)) {
		key_clear(key);
		return KEY_SKIPPED;
	}

	if (attr_bool(sc, obj, CKA_SIGN))
		key->ops |= P11A_OP_SIGN;
	if (attr_bool(sc, obj, CKA_DECRYPT))
		key->ops |= P11A_OP_DECRYPT;
	if (attr_bool(sc, obj, CKA_UNWRAP))
		key->ops |= P11A_OP_UNWRAP;
	if (attr_bool(sc, obj, CKA_DERIVE))
		key->ops |= P11A_OP_DERIVE;
	if (klass == CKO_SECRET_KEY && attr_bool(sc, obj, CKA_VERIFY))
		key->ops |= P11A_OP_VERIFY;
	if (klass == CKO_SECRET_KEY && attr_bool(sc, obj, CKA_WRAP))
		key->ops |= P11A_OP_WRAP;
	if (set_version(key) != 0)
		goto nomem;
	set_created(sc, obj, key);

	if (klass == CKO_SECRET_KEY) {
		if (attr_ulong(sc, obj, CKA_VALUE_LEN, &value_len) == 0 &&
		    value_len < UINT32_MAX / 8)
			key->bits = (uint32_t)value_len * 8;
	} else {
		/* A key with no public key on the token can still sign: keep it, spki NULL. */
		if (find_spki(sc, obj, key, curve, &key->spki, &key->spki_len) != 0) {
			key->spki = NULL;
			key->spki_len = 0;
		}
		find_cert(sc, key);
		set_cert_expiry(key);
		set_ssh_blob(key);
		key->pub_ops = public_ops(sc, key);
		if (curve != NULL)
			key->bits = curve->bits;
		else if (key->spki != NULL)
			key->bits = spki_bits(key->spki, key->spki_len);
	}

	if ((key->uri = key_uri(sc->tinfo, key)) == NULL)
		goto nomem;
	if (key_oversized(key)) {
		key_clear(key);
		return KEY_SKIPPED;
	}
	return KEY_TAKEN;
nomem:
	key_clear(key);
	return KEY_NOMEM;
}

int keyindex_load(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const CK_TOKEN_INFO *tinfo,
		  struct token_key ***out_keys, size_t *out_n, char *msg, size_t msg_len)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_SECRET_KEY};
	struct scan sc = {f, s, tinfo};
	struct token_key **keys = NULL, **tmp;
	CK_OBJECT_HANDLE *found = NULL;
	CK_OBJECT_CLASS klass;
	size_t c, i, n = 0, n_found;
	const char *fn = "C_FindObjects";
	const char *nomem = "out of memory while indexing the keys";
	int r, ret = P11A_ERR_INTERNAL;
	CK_RV rv;

	for (c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
		klass = classes[c];
		CK_ATTRIBUTE templ[] = {{CKA_CLASS, &klass, sizeof(klass)}};

		rv = find_objects(&sc, templ, 1, SIZE_MAX, &found, &n_found, &fn);
		if (rv == CKR_HOST_MEMORY) {
			snprintf(msg, msg_len, "%s", nomem);
			ret = P11A_ERR_INTERNAL;
			goto out;
		}
		if (rv != CKR_OK) {
			snprintf(msg, msg_len, "%s failed: %s", fn, token_ckr_name(rv));
			ret = P11A_ERR_TOKEN;
			goto out;
		}
		if (n_found > 0) {
			if ((tmp = realloc(keys, (n + n_found) * sizeof(*keys))) == NULL) {
				snprintf(msg, msg_len, "%s", nomem);
				ret = P11A_ERR_INTERNAL;
				goto out;
			}
			keys = tmp;
		}
		for (i = 0; i < n_found; i++) {
			/* Each key on its own: the agent keeps it while others come and go. */
			if ((keys[n] = malloc(sizeof(*keys[n]))) == NULL)
				r = KEY_NOMEM;
			else
				r = index_one(&sc, found[i], klass, keys[n]);
			if (r == KEY_NOMEM) {
				free(keys[n]);
				snprintf(msg, msg_len, "%s", nomem);
				ret = P11A_ERR_INTERNAL;
				goto out;
			}
			if (r == KEY_TAKEN)
				n++;
			else
				free(keys[n]);
		}
		free(found);
		found = NULL;
	}
	keyindex_mark_newest(keys, n);
	*out_keys = keys;
	*out_n = n;
	keys = NULL;
	n = 0;
	ret = P11A_OK;
out:
	free(found);
	keyindex_free(keys, n);
	return ret;
}

void keyindex_free_key(struct token_key *key)
{
	if (key == NULL)
		return;
	key_clear(key);
	free(key);
}

void keyindex_free(struct token_key **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		keyindex_free_key(keys[i]);
	free(keys);
}
