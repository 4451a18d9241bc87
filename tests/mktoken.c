/*
 * mktoken: makes the SoftHSM2 token that the integration tests and the
 * quickstart use. The shell tools cannot make everything they need (a generic
 * secret with a known value and CKA_SIGN set, a key pair whose private key may
 * not sign), so this small program talks PKCS#11 itself, through p11-kit.
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
 *
 * FLAGS, comma-separated, clear one usage attribute of a private key:
 * nosign (CKA_SIGN), nodecrypt (CKA_DECRYPT, RSA), nounwrap (CKA_UNWRAP, RSA),
 * noderive (CKA_DERIVE, EC). RSA private keys may otherwise sign, decrypt and
 * unwrap; EC keys sign and derive; AES keys encrypt, decrypt, wrap and unwrap.
 *
 * LABEL may be empty (the key is then reachable by id only). Private and
 * secret keys are sensitive and not extractable.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#define MAX_BYTES 512
#define MAX_ATTRS 20

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
