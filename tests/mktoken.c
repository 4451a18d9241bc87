/*
 * mktoken: makes the SoftHSM2 token that the integration tests and the
 * quickstart use. The shell tools cannot make everything they need (a generic
 * secret with a known value and CKA_SIGN set, a key pair whose private key may
 * not sign, a known key pair such as the RFC 9421 test keys), so this small
 * program talks PKCS#11 itself, through p11-kit.
 *
 *   mktoken --module PATH --token LABEL --pin-file FILE
 *           [--init --so-pin-file FILE] SPEC...
 *
 * --init initializes the first free slot's token with LABEL and sets the user
 * PIN; PINs are read from files, never from argv. Each SPEC makes one key:
 *
 *   rsa:BITS:LABEL:IDHEX[:FLAGS]
 *   ec:P-256|P-384|P-521:LABEL:IDHEX[:FLAGS]
 *   ed25519:-:LABEL:IDHEX[:FLAGS]
 *   hmac:VALUEHEX:LABEL:IDHEX[:generic|sha256|sha384|sha512]
 *   hmac:random:LABEL:IDHEX      (a generic secret of 32 bytes made in the token)
 *   aes:VALUEHEX:LABEL:IDHEX
 *   cert:DERFILE:LABEL:IDHEX     (an X.509 certificate object, read from a DER file)
 *   pem:PEMFILE:LABEL:IDHEX[:FLAGS]  (a private key read from a PEM file, and its
 *                                     public key)
 *
 * pem: takes RSA keys (PKCS#1 "RSA PRIVATE KEY" or PKCS#8, an RSASSA-PSS
 * PKCS#8 key too: it becomes a plain CKK_RSA key), EC keys on P-256, P-384 and
 * P-521 (SEC 1 or PKCS#8; CKA_EC_PARAMS the curve's OID, CKA_VALUE the private
 * scalar) and Ed25519 keys (CKK_EC_EDWARDS; CKA_EC_PARAMS the OID 1.3.101.112,
 * CKA_VALUE the 32-byte seed). The public key object has the same label and
 * id, with the modulus and exponent or the point (a DER OCTET STRING).
 * PEMFILE may not hold a colon; it is read unencrypted.
 *
 * FLAGS, comma-separated, clear one usage attribute of a private key:
 * nosign (CKA_SIGN), nodecrypt (CKA_DECRYPT, RSA), nounwrap (CKA_UNWRAP, RSA),
 * noderive (CKA_DERIVE, EC). RSA private keys may otherwise sign, decrypt and
 * unwrap; EC keys sign and derive; AES keys encrypt, decrypt, wrap and unwrap.
 *
 * LABEL may be empty (the key is then reachable by id only). Private and
 * secret keys are sensitive and not extractable, imported ones too.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#define MAX_BYTES 512
#define MAX_ATTRS 24

struct keyspec {
	char kind[16];
	char param[2 * MAX_BYTES + 1];
	char label[256];
	unsigned char id[64];
	size_t id_len;
	char opt[64];
};

struct attrs {
	CK_ATTRIBUTE a[MAX_ATTRS];
	CK_ULONG n;
};

static CK_BBOOL ck_true = CK_TRUE;
static CK_BBOOL ck_false = CK_FALSE;

static void attr_add(struct attrs *t, CK_ATTRIBUTE_TYPE type, void *value, CK_ULONG len)
{
	if (t->n >= MAX_ATTRS) {
		fprintf(stderr, "mktoken: too many attributes\n");
		exit(1);
	}
	t->a[t->n].type = type;
	t->a[t->n].pValue = value;
	t->a[t->n].ulValueLen = len;
	t->n++;
}

static void attr_bool(struct attrs *t, CK_ATTRIBUTE_TYPE type, int on)
{
	attr_add(t, type, on ? &ck_true : &ck_false, sizeof(CK_BBOOL));
}

static int hex_decode(const char *hex, unsigned char *out, size_t max, size_t *out_len)
{
	size_t n = strlen(hex), i;

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*out_len = n / 2;
	return 0;
}

/* Reads the first line of path (a PIN) into out; -1 on failure. */
static int read_pin(const char *path, char *out, size_t max)
{
	FILE *f = NULL;
	int ret = -1;
	size_t n;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "mktoken: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fgets(out, (int)max, f) == NULL) {
		fprintf(stderr, "mktoken: %s: empty\n", path);
		goto out;
	}
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "mktoken: %s: empty\n", path);
		goto out;
	}
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	return ret;
}

/* Splits "kind:param:label:id[:opt]"; the label may be empty. */
static int parse_spec(const char *s, struct keyspec *ks)
{
	char buf[2048], *field[5] = {NULL};
	char *p;
	int n = 0;

	memset(ks, 0, sizeof(*ks));
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	p = buf;
	field[n++] = p;
	while ((p = strchr(p, ':')) != NULL) {
		*p++ = '\0';
		if (n == 5)
			return -1;
		field[n++] = p;
	}
	if (n < 4)
		return -1;
	if (strlen(field[0]) >= sizeof(ks->kind) || strlen(field[1]) >= sizeof(ks->param) ||
	    strlen(field[2]) >= sizeof(ks->label) ||
	    (n == 5 && strlen(field[4]) >= sizeof(ks->opt)))
		return -1;
	strcpy(ks->kind, field[0]);
	strcpy(ks->param, field[1]);
	strcpy(ks->label, field[2]);
	if (n == 5)
		strcpy(ks->opt, field[4]);
	if (hex_decode(field[3], ks->id, sizeof(ks->id), &ks->id_len) != 0)
		return -1;
	return 0;
}

/* Whether flag is one of the comma-separated words of ks->opt. */
static int has_opt(const struct keyspec *ks, const char *flag)
{
	const char *p = ks->opt;
	size_t n = strlen(flag);

	while (*p != '\0') {
		if (strncmp(p, flag, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		if (p == NULL)
			break;
		p++;
	}
	return 0;
}

/* Whether ks->opt holds only the flags of a key pair. */
static int pair_opts_ok(const struct keyspec *ks)
{
	static const char *const flags[] = {"nosign", "nodecrypt", "nounwrap", "noderive"};
	const char *p = ks->opt;
	size_t i, n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
			if (strlen(flags[i]) == n && strncmp(p, flags[i], n) == 0)
				break;
		if (i == sizeof(flags) / sizeof(flags[0]))
			return 0;
		p += n;
		if (*p == ',')
			p++;
	}
	return 1;
}

static void common_attrs(struct attrs *t, CK_OBJECT_CLASS *cls, const struct keyspec *ks)
{
	attr_add(t, CKA_CLASS, cls, sizeof(*cls));
	attr_bool(t, CKA_TOKEN, 1);
	attr_add(t, CKA_ID, (void *)ks->id, ks->id_len);
	if (ks->label[0] != '\0')
		attr_add(t, CKA_LABEL, (void *)ks->label, strlen(ks->label));
}

static CK_RV make_pair(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, const struct keyspec *ks)
{
	/* DER OIDs of the curves; Ed25519 as the printable string SoftHSM knows. */
	static unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	static unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
	static unsigned char p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
	static unsigned char ed25519[] = "\x13\x0c"
					 "edwards25519"; /* PrintableString */
	static unsigned char e65537[] = {0x01, 0x00, 0x01};
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt;
	CK_MECHANISM mech = {0, NULL, 0};
	CK_ULONG bits = 0;
	CK_OBJECT_HANDLE hpub, hpriv;
	struct attrs pub = {.n = 0}, priv = {.n = 0};
	unsigned char *params = NULL;
	size_t params_len = 0;
	int sign = !has_opt(ks, "nosign");

	if (!pair_opts_ok(ks))
		return CKR_ARGUMENTS_BAD;

	if (strcmp(ks->kind, "rsa") == 0) {
		kt = CKK_RSA;
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		bits = strtoul(ks->param, NULL, 10);
		if (bits < 1024 || bits > 8192)
			return CKR_ARGUMENTS_BAD;
	} else if (strcmp(ks->kind, "ec") == 0) {
		kt = CKK_EC;
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		if (strcmp(ks->param, "P-256") == 0) {
			params = p256;
			params_len = sizeof(p256);
		} else if (strcmp(ks->param, "P-384") == 0) {
			params = p384;
			params_len = sizeof(p384);
		} else if (strcmp(ks->param, "P-521") == 0) {
			params = p521;
			params_len = sizeof(p521);
		} else {
			return CKR_ARGUMENTS_BAD;
		}
	} else {
		kt = CKK_EC_EDWARDS;
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		params = ed25519;
		params_len = sizeof(ed25519) - 1;
	}

	common_attrs(&pub, &pub_cls, ks);
	attr_add(&pub, CKA_KEY_TYPE, &kt, sizeof(kt));
	attr_bool(&pub, CKA_VERIFY, 1);
	common_attrs(&priv, &priv_cls, ks);
	attr_add(&priv, CKA_KEY_TYPE, &kt, sizeof(kt));
	attr_bool(&priv, CKA_PRIVATE, 1);
	attr_bool(&priv, CKA_SENSITIVE, 1);
	attr_bool(&priv, CKA_EXTRACTABLE, 0);
	attr_bool(&priv, CKA_SIGN, sign);
	if (kt == CKK_RSA) {
		attr_add(&pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
		attr_add(&pub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
		attr_bool(&pub, CKA_ENCRYPT, 1);
		attr_bool(&pub, CKA_WRAP, 1);
		attr_bool(&priv, CKA_DECRYPT, !has_opt(ks, "nodecrypt"));
		attr_bool(&priv, CKA_UNWRAP, !has_opt(ks, "nounwrap"));
	} else {
		attr_add(&pub, CKA_EC_PARAMS, params, params_len);
		/* SoftHSM defaults these to true; EC keys only sign and derive. */
		attr_bool(&priv, CKA_DECRYPT, 0);
		attr_bool(&priv, CKA_UNWRAP, 0);
		attr_bool(&priv, CKA_DERIVE, kt == CKK_EC && !has_opt(ks, "noderive"));
	}
	return m->C_GenerateKeyPair(s, &mech, pub.a, pub.n, priv.a, priv.n, &hpub, &hpriv);
}

static CK_RV make_secret(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, const struct keyspec *ks)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt;
	CK_OBJECT_HANDLE h;
	struct attrs t = {.n = 0};
	unsigned char value[MAX_BYTES];
	size_t value_len = 0;
	CK_ULONG gen_len = 32;
	CK_MECHANISM gen = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
	int gen_random = strcmp(ks->kind, "hmac") == 0 && strcmp(ks->param, "random") == 0;
	CK_RV rv;

	if (!gen_random && hex_decode(ks->param, value, sizeof(value), &value_len) != 0)
		return CKR_ARGUMENTS_BAD;
	common_attrs(&t, &cls, ks);
	if (strcmp(ks->kind, "aes") == 0) {
		kt = CKK_AES;
		attr_bool(&t, CKA_ENCRYPT, 1);
		attr_bool(&t, CKA_DECRYPT, 1);
		attr_bool(&t, CKA_WRAP, 1);
		attr_bool(&t, CKA_UNWRAP, 1);
		attr_bool(&t, CKA_SIGN, 0);
		attr_bool(&t, CKA_VERIFY, 0);
	} else {
		if (ks->opt[0] == '\0' || strcmp(ks->opt, "generic") == 0)
			kt = CKK_GENERIC_SECRET;
		else if (strcmp(ks->opt, "sha256") == 0)
			kt = CKK_SHA256_HMAC;
		else if (strcmp(ks->opt, "sha384") == 0)
			kt = CKK_SHA384_HMAC;
		else if (strcmp(ks->opt, "sha512") == 0)
			kt = CKK_SHA512_HMAC;
		else
			return CKR_ARGUMENTS_BAD;
		attr_bool(&t, CKA_SIGN, 1);
		attr_bool(&t, CKA_VERIFY, 1);
		attr_bool(&t, CKA_ENCRYPT, 0);
		attr_bool(&t, CKA_DECRYPT, 0);
		attr_bool(&t, CKA_WRAP, 0);
		attr_bool(&t, CKA_UNWRAP, 0);
	}
	attr_add(&t, CKA_KEY_TYPE, &kt, sizeof(kt));
	attr_bool(&t, CKA_PRIVATE, 1);
	attr_bool(&t, CKA_SENSITIVE, 1);
	attr_bool(&t, CKA_EXTRACTABLE, 0);
	if (gen_random) {
		attr_add(&t, CKA_VALUE_LEN, &gen_len, sizeof(gen_len));
		return m->C_GenerateKey(s, &gen, t.a, t.n, &h);
	}
	attr_add(&t, CKA_VALUE, value, value_len);
	rv = m->C_CreateObject(s, t.a, t.n, &h);
	memset(value, 0, sizeof(value));
	return rv;
}

/* The parts of a private key read from a PEM file, as PKCS#11 attributes take them. */
struct pem_parts {
	CK_KEY_TYPE kt;
	unsigned char params[16]; /* CKA_EC_PARAMS */
	size_t params_len;
	unsigned char point[MAX_BYTES]; /* CKA_EC_POINT: a DER OCTET STRING */
	size_t point_len;
	unsigned char value[MAX_BYTES]; /* CKA_VALUE: EC scalar, Ed25519 seed */
	size_t value_len;
	/* RSA: n, e, d, p, q, dp, dq, qinv (CKA_MODULUS ... CKA_COEFFICIENT) */
	unsigned char rsa[8][MAX_BYTES];
	size_t rsa_len[8];
};

/* The BIGNUM parameter name of pkey, big-endian, in out (pad bytes when pad > 0). */
static int bn_param(EVP_PKEY *pkey, const char *name, size_t pad, unsigned char *out,
		    size_t *out_len)
{
	BIGNUM *bn = NULL;
	int n, ret = -1;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		goto out;
	n = pad > 0 ? BN_bn2binpad(bn, out, (int)pad)
		    : (BN_num_bytes(bn) <= MAX_BYTES ? BN_bn2bin(bn, out) : -1);
	if (n <= 0)
		goto out;
	*out_len = (size_t)n;
	ret = 0;
out:
	BN_clear_free(bn);
	return ret;
}

/* The octet string parameter name of pkey in out (at most max bytes). */
static int octet_param(EVP_PKEY *pkey, const char *name, unsigned char *out, size_t max,
		       size_t *out_len)
{
	return EVP_PKEY_get_octet_string_param(pkey, name, out, max, out_len) ? 0 : -1;
}

/* Wraps the len bytes at buf (moved) in a DER OCTET STRING header, in place. */
static int der_octet_string(unsigned char *buf, size_t len, size_t max, size_t *out_len)
{
	size_t hdr = len < 128 ? 2 : 3;

	if (len > 255 || len + hdr > max)
		return -1;
	memmove(buf + hdr, buf, len);
	buf[0] = 0x04;
	if (hdr == 2) {
		buf[1] = (unsigned char)len;
	} else {
		buf[1] = 0x81;
		buf[2] = (unsigned char)len;
	}
	*out_len = len + hdr;
	return 0;
}

/* Reads the parts of the RSA, EC or Ed25519 private key in pkey into out. */
static int pem_parts_get(EVP_PKEY *pkey, struct pem_parts *out)
{
	static const char *const rsa_names[8] = {
	    OSSL_PKEY_PARAM_RSA_N,	   OSSL_PKEY_PARAM_RSA_E,
	    OSSL_PKEY_PARAM_RSA_D,	   OSSL_PKEY_PARAM_RSA_FACTOR1,
	    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
	/* The curves' OIDs, DER, and their field sizes. */
	static const struct {
		const char *group;
		unsigned char oid[10];
		size_t oid_len, field;
	} curves[] = {
	    {"prime256v1", {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 10, 32},
	    {"secp384r1", {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, 7, 48},
	    {"secp521r1", {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23}, 7, 66},
	};
	static const unsigned char ed25519_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70}; /* 1.3.101.112 */
	char group[64];
	size_t i;

	if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) {
		out->kt = CKK_RSA;
		for (i = 0; i < 8; i++)
			if (bn_param(pkey, rsa_names[i], 0, out->rsa[i], &out->rsa_len[i]) != 0)
				return -1;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		out->kt = CKK_EC_EDWARDS;
		memcpy(out->params, ed25519_oid, sizeof(ed25519_oid));
		out->params_len = sizeof(ed25519_oid);
		if (octet_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, out->value, sizeof(out->value),
				&out->value_len) != 0 ||
		    octet_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out->point, sizeof(out->point),
				&out->point_len) != 0)
			return -1;
		return der_octet_string(out->point, out->point_len, sizeof(out->point),
					&out->point_len);
	}
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL))
		return -1;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(group, curves[i].group) == 0)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return -1;
	out->kt = CKK_EC;
	memcpy(out->params, curves[i].oid, curves[i].oid_len);
	out->params_len = curves[i].oid_len;
	if (bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, curves[i].field, out->value,
		     &out->value_len) != 0 ||
	    octet_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, out->point, sizeof(out->point),
			&out->point_len) != 0)
		return -1;
	return der_octet_string(out->point, out->point_len, sizeof(out->point), &out->point_len);
}

/* Reads the private key in the PEM file ks->param and makes it and its public key. */
static CK_RV make_imported(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, const struct keyspec *ks)
{
	static const CK_ATTRIBUTE_TYPE rsa_types[8] = {
	    CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	    CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,	    CKA_COEFFICIENT};
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE hpub, hpriv;
	struct attrs pub = {.n = 0}, priv = {.n = 0};
	struct pem_parts *parts = NULL;
	EVP_PKEY *pkey = NULL;
	FILE *f = NULL;
	size_t i;
	CK_RV rv = CKR_ARGUMENTS_BAD;

	if (!pair_opts_ok(ks))
		goto out;
	if ((f = fopen(ks->param, "r")) == NULL) {
		fprintf(stderr, "mktoken: cannot open %s: %s\n", ks->param, strerror(errno));
		goto out;
	}
	if ((pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "mktoken: %s holds no unencrypted PEM private key\n", ks->param);
		goto out;
	}
	if ((parts = OPENSSL_zalloc(sizeof(*parts))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (pem_parts_get(pkey, parts) != 0) {
		fprintf(stderr, "mktoken: %s: not an RSA, P-256, P-384, P-521 or Ed25519 key\n",
			ks->param);
		goto out;
	}

	common_attrs(&pub, &pub_cls, ks);
	attr_add(&pub, CKA_KEY_TYPE, &parts->kt, sizeof(parts->kt));
	attr_bool(&pub, CKA_VERIFY, 1);
	common_attrs(&priv, &priv_cls, ks);
	attr_add(&priv, CKA_KEY_TYPE, &parts->kt, sizeof(parts->kt));
	attr_bool(&priv, CKA_PRIVATE, 1);
	attr_bool(&priv, CKA_SENSITIVE, 1);
	attr_bool(&priv, CKA_EXTRACTABLE, 0);
	attr_bool(&priv, CKA_SIGN, !has_opt(ks, "nosign"));
	if (parts->kt == CKK_RSA) {
		attr_bool(&pub, CKA_ENCRYPT, 1);
		attr_bool(&pub, CKA_WRAP, 1);
		attr_add(&pub, CKA_MODULUS, parts->rsa[0], parts->rsa_len[0]);
		attr_add(&pub, CKA_PUBLIC_EXPONENT, parts->rsa[1], parts->rsa_len[1]);
		attr_bool(&priv, CKA_DECRYPT, !has_opt(ks, "nodecrypt"));
		attr_bool(&priv, CKA_UNWRAP, !has_opt(ks, "nounwrap"));
		for (i = 0; i < 8; i++)
			attr_add(&priv, rsa_types[i], parts->rsa[i], parts->rsa_len[i]);
	} else {
		attr_add(&pub, CKA_EC_PARAMS, parts->params, parts->params_len);
		attr_add(&pub, CKA_EC_POINT, parts->point, parts->point_len);
		attr_add(&priv, CKA_EC_PARAMS, parts->params, parts->params_len);
		attr_add(&priv, CKA_VALUE, parts->value, parts->value_len);
		/* SoftHSM defaults these to true; EC keys only sign and derive. */
		attr_bool(&priv, CKA_DECRYPT, 0);
		attr_bool(&priv, CKA_UNWRAP, 0);
		attr_bool(&priv, CKA_DERIVE, parts->kt == CKK_EC && !has_opt(ks, "noderive"));
	}
	if ((rv = m->C_CreateObject(s, pub.a, pub.n, &hpub)) != CKR_OK)
		goto out;
	if ((rv = m->C_CreateObject(s, priv.a, priv.n, &hpriv)) != CKR_OK)
		m->C_DestroyObject(s, hpub);
out:
	OPENSSL_clear_free(parts, sizeof(*parts));
	EVP_PKEY_free(pkey);
	if (f != NULL)
		fclose(f);
	return rv;
}

/* Reads the DER certificate in ks->param into a certificate object. */
static CK_RV make_cert(CK_FUNCTION_LIST *m, CK_SESSION_HANDLE s, const struct keyspec *ks)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_OBJECT_HANDLE h;
	struct attrs t = {.n = 0};
	unsigned char der[16384], *subject = NULL;
	const unsigned char *p = der;
	size_t len;
	int subject_len;
	X509 *x = NULL;
	FILE *f;
	CK_RV rv = CKR_ARGUMENTS_BAD;

	if ((f = fopen(ks->param, "rb")) == NULL) {
		fprintf(stderr, "mktoken: cannot open %s\n", ks->param);
		return CKR_ARGUMENTS_BAD;
	}
	len = fread(der, 1, sizeof(der), f);
	fclose(f);
	if (len == 0 || len == sizeof(der) || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    (subject_len = i2d_X509_NAME(X509_get_subject_name(x), &subject)) <= 0) {
		fprintf(stderr, "mktoken: %s is not one DER certificate\n", ks->param);
		goto out;
	}
	common_attrs(&t, &cls, ks);
	attr_add(&t, CKA_CERTIFICATE_TYPE, &ct, sizeof(ct));
	attr_add(&t, CKA_SUBJECT, subject, (CK_ULONG)subject_len);
	attr_add(&t, CKA_VALUE, der, len);
	rv = m->C_CreateObject(s, t.a, t.n, &h);
out:
	OPENSSL_free(subject);
	X509_free(x);
	return rv;
}

/* Finds the slot whose token is labelled label; free: the first uninitialized one. */
static CK_RV find_slot(CK_FUNCTION_LIST *m, const char *label, int free_slot, CK_SLOT_ID *out_slot)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	char padded[32];
	size_t len = strlen(label);
	CK_RV rv;

	if (len > sizeof(padded))
		return CKR_ARGUMENTS_BAD;
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	if ((rv = m->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		return rv;
	for (i = 0; i < n; i++) {
		if (m->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (free_slot ? !(ti.flags & CKF_TOKEN_INITIALIZED)
			      : ((ti.flags & CKF_TOKEN_INITIALIZED) &&
				 memcmp(ti.label, padded, sizeof(padded)) == 0)) {
			*out_slot = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

static CK_RV init_token(CK_FUNCTION_LIST *m, const char *label, const char *so_pin, const char *pin)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	unsigned char padded[32];
	size_t len = strlen(label);
	CK_RV rv;

	if (len > sizeof(padded))
		return CKR_ARGUMENTS_BAD;
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, len);
	if ((rv = find_slot(m, "", 1, &slot)) != CKR_OK)
		goto out;
	if ((rv = m->C_InitToken(slot, (CK_UTF8CHAR *)so_pin, strlen(so_pin), padded)) != CKR_OK)
		goto out;
	/* SoftHSM renumbers the slot once its token is initialized. */
	if ((rv = find_slot(m, label, 0, &slot)) != CKR_OK)
		goto out;
	if ((rv = m->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
	    CKR_OK)
		goto out;
	if ((rv = m->C_Login(s, CKU_SO, (CK_UTF8CHAR *)so_pin, strlen(so_pin))) != CKR_OK)
		goto out;
	rv = m->C_InitPIN(s, (CK_UTF8CHAR *)pin, strlen(pin));
	m->C_Logout(s);
out:
	if (s != CK_INVALID_HANDLE)
		m->C_CloseSession(s);
	return rv;
}

static void usage(void)
{
	fprintf(stderr, "usage: mktoken --module PATH --token LABEL --pin-file FILE "
			"[--init --so-pin-file FILE] SPEC...\n"
			"  SPEC: rsa:BITS:LABEL:ID[:FLAGS]  ec:P-256|P-384|P-521:LABEL:ID[:FLAGS]\n"
			"        ed25519:-:LABEL:ID[:FLAGS]  "
			"hmac:VALUEHEX|random:LABEL:ID[:generic|sha256|sha384|sha512]\n"
			"        aes:VALUEHEX:LABEL:ID  cert:DERFILE:LABEL:ID\n"
			"        pem:PEMFILE:LABEL:ID[:FLAGS]\n"
			"  FLAGS: comma-separated nosign, nodecrypt, nounwrap, noderive\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *module_path = NULL, *token = NULL, *pin_file = NULL, *so_pin_file = NULL;
	char pin[256] = "", so_pin[256] = "";
	CK_FUNCTION_LIST *m = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID slot;
	struct keyspec ks;
	int init = 0, initialized = 0, ret = 1, i;
	CK_RV rv;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--init") == 0)
			init = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--module") == 0)
			module_path = argv[++i];
		else if (strcmp(argv[i], "--token") == 0)
			token = argv[++i];
		else if (strcmp(argv[i], "--pin-file") == 0)
			pin_file = argv[++i];
		else if (strcmp(argv[i], "--so-pin-file") == 0)
			so_pin_file = argv[++i];
		else
			usage();
	}
	if (module_path == NULL || token == NULL || pin_file == NULL ||
	    (init && so_pin_file == NULL))
		usage();
	if (read_pin(pin_file, pin, sizeof(pin)) != 0)
		goto out;
	if (init && read_pin(so_pin_file, so_pin, sizeof(so_pin)) != 0)
		goto out;

	if ((m = p11_kit_module_load(module_path, 0)) == NULL) {
		fprintf(stderr, "mktoken: cannot load %s: %s\n", module_path, p11_kit_message());
		goto out;
	}
	if ((rv = p11_kit_module_initialize(m)) != CKR_OK) {
		fprintf(stderr, "mktoken: C_Initialize: %s\n", p11_kit_strerror(rv));
		goto out;
	}
	initialized = 1;
	if (init && (rv = init_token(m, token, so_pin, pin)) != CKR_OK) {
		fprintf(stderr, "mktoken: initializing token '%s': %s\n", token,
			p11_kit_strerror(rv));
		goto out;
	}
	if ((rv = find_slot(m, token, 0, &slot)) != CKR_OK) {
		fprintf(stderr, "mktoken: no token labelled '%s'\n", token);
		goto out;
	}
	if ((rv = m->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
	    CKR_OK) {
		fprintf(stderr, "mktoken: C_OpenSession: %s\n", p11_kit_strerror(rv));
		goto out;
	}
	if ((rv = m->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin))) != CKR_OK) {
		fprintf(stderr, "mktoken: C_Login: %s\n", p11_kit_strerror(rv));
		goto out;
	}
	for (; i < argc; i++) {
		if (parse_spec(argv[i], &ks) != 0) {
			fprintf(stderr, "mktoken: bad key spec '%s'\n", argv[i]);
			goto out;
		}
		if (strcmp(ks.kind, "rsa") == 0 || strcmp(ks.kind, "ec") == 0 ||
		    strcmp(ks.kind, "ed25519") == 0)
			rv = make_pair(m, s, &ks);
		else if (strcmp(ks.kind, "hmac") == 0 || strcmp(ks.kind, "aes") == 0)
			rv = make_secret(m, s, &ks);
		else if (strcmp(ks.kind, "cert") == 0)
			rv = make_cert(m, s, &ks);
		else if (strcmp(ks.kind, "pem") == 0)
			rv = make_imported(m, s, &ks);
		else
			rv = CKR_ARGUMENTS_BAD;
		memset(ks.param, 0, sizeof(ks.param));
		if (rv != CKR_OK) {
			fprintf(stderr, "mktoken: making %s key '%s': %s\n", ks.kind, ks.label,
				p11_kit_strerror(rv));
			goto out;
		}
	}
	ret = 0;
out:
	if (s != CK_INVALID_HANDLE) {
		m->C_Logout(s);
		m->C_CloseSession(s);
	}
	if (initialized)
		p11_kit_module_finalize(m);
	if (m != NULL)
		p11_kit_module_release(m);
	memset(pin, 0, sizeof(pin));
	memset(so_pin, 0, sizeof(so_pin));
	return ret;
}
