/*
 * direct: PKCS#11 straight from the benchmark's own process: the ceiling the
 * agent is measured against.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>
#include <p11-kit/pkcs11.h>

#include "direct.h"

#define SIG_MAX 1024
#define IN_MAX (P11A_MAX_DATA + 32)

struct direct {
	CK_FUNCTION_LIST *f;
	int initialized;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE login; /* kept open: the login belongs to the application */
	CK_OBJECT_HANDLE key;
	CK_MECHANISM mech;
	CK_RSA_PKCS_PSS_PARAMS pss;
	uint8_t *in; /* what C_Sign gets: DigestInfo || digest for RSA PKCS#1 */
	size_t in_len;
};

struct direct_client {
	struct direct *d;
	CK_SESSION_HANDLE s;
};

/* DigestInfo prefixes (RFC 8017, 9.2, note 1). */
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
				    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

#define DI(p) (p), sizeof(p)

/* How each algorithm runs on the token: as the agent's token layer does it. */
static const struct alg_mech {
	p11a_alg alg;
	CK_MECHANISM_TYPE mech;
	CK_MECHANISM_TYPE pss_hash; /* PSS: hashAlg (salt: the hash's length) */
	CK_RSA_PKCS_MGF_TYPE pss_mgf;
	const uint8_t *prefix; /* RSA PKCS#1: the DigestInfo before the digest */
	size_t prefix_len;
} alg_mechs[] = {
    {P11A_ALG_RSA_PKCS1_SHA256, CKM_RSA_PKCS, 0, 0, DI(di_sha256)},
    {P11A_ALG_RSA_PKCS1_SHA384, CKM_RSA_PKCS, 0, 0, DI(di_sha384)},
    {P11A_ALG_RSA_PKCS1_SHA512, CKM_RSA_PKCS, 0, 0, DI(di_sha512)},
    {P11A_ALG_RSA_PSS_SHA256, CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, NULL, 0},
    {P11A_ALG_RSA_PSS_SHA384, CKM_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, NULL, 0},
    {P11A_ALG_RSA_PSS_SHA512, CKM_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, NULL, 0},
    {P11A_ALG_ECDSA_SHA256, CKM_ECDSA, 0, 0, NULL, 0},
    {P11A_ALG_ECDSA_SHA384, CKM_ECDSA, 0, 0, NULL, 0},
    {P11A_ALG_ECDSA_SHA512, CKM_ECDSA, 0, 0, NULL, 0},
    {P11A_ALG_ED25519, CKM_EDDSA, 0, 0, NULL, 0},
    {P11A_ALG_HMAC_SHA256, CKM_SHA256_HMAC, 0, 0, NULL, 0},
    {P11A_ALG_HMAC_SHA384, CKM_SHA384_HMAC, 0, 0, NULL, 0},
    {P11A_ALG_HMAC_SHA512, CKM_SHA512_HMAC, 0, 0, NULL, 0},
};

/* Sets d->mech for alg; returns its table row, or NULL when alg is not here. */
static const struct alg_mech *set_mech(struct direct *d, const struct p11a_alg_info *alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_mechs) / sizeof(alg_mechs[0]); i++) {
		if (alg_mechs[i].alg != alg->alg)
			continue;
		memset(&d->mech, 0, sizeof(d->mech));
		d->mech.mechanism = alg_mechs[i].mech;
		if (alg_mechs[i].mech == CKM_RSA_PKCS_PSS) {
			d->pss.hashAlg = alg_mechs[i].pss_hash;
			d->pss.mgf = alg_mechs[i].pss_mgf;
			d->pss.sLen = alg->digest_len;
			d->mech.pParameter = &d->pss;
			d->mech.ulParameterLen = sizeof(d->pss);
		}
		return &alg_mechs[i];
	}
	return NULL;
}

/* The slot whose token matches uri_str. */
static int find_slot(struct direct *d, const char *uri_str, char *msg, size_t msg_len)
{
	P11KitUri *uri = NULL;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i, found = 0;
	CK_TOKEN_INFO ti;
	CK_RV rv;
	int ret = -1;

	if ((uri = p11_kit_uri_new()) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if (p11_kit_uri_parse(uri_str, P11_KIT_URI_FOR_TOKEN, uri) != P11_KIT_URI_OK) {
		snprintf(msg, msg_len, "--token %s: not a pkcs11: token URI", uri_str);
		goto out;
	}
	if ((rv = d->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		snprintf(msg, msg_len, "C_GetSlotList: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	if ((slots = calloc(n + 1, sizeof(*slots))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if ((rv = d->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		snprintf(msg, msg_len, "C_GetSlotList: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (d->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (p11_kit_uri_match_token_info(uri, &ti)) {
			if (found++ == 0)
				d->slot = slots[i];
		}
	}
	if (found != 1) {
		snprintf(msg, msg_len, "--token %s: %s", uri_str,
			 found == 0 ? "no token matches" : "more than one token matches");
		goto out;
	}
	ret = 0;
out:
	free(slots);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return ret;
}

static int hex_decode(const char *hex, uint8_t *out, size_t max, size_t *out_len)
{
	size_t n = strlen(hex), i;
	unsigned int v;

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*out_len = n / 2;
	return 0;
}

/* The one key object that key names, of class cls. */
static int find_key(struct direct *d, const char *key, CK_OBJECT_CLASS cls, char *msg,
		    size_t msg_len)
{
	CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_ULONG nt = 1, found = 0;
	CK_OBJECT_HANDLE h[2];
	P11KitUri *uri = NULL;
	CK_ATTRIBUTE *a;
	uint8_t id[128];
	size_t id_len;
	CK_RV rv;
	int ret = -1, searching = 0;

	if (strncmp(key, "pkcs11:", 7) == 0) {
		if ((uri = p11_kit_uri_new()) == NULL ||
		    p11_kit_uri_parse(key, P11_KIT_URI_FOR_OBJECT, uri) != P11_KIT_URI_OK) {
			snprintf(msg, msg_len, "--key %s: not a pkcs11: object URI", key);
			goto out;
		}
		if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL)
			tmpl[nt++] = *a;
		if ((a = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL)
			tmpl[nt++] = *a;
		if (nt == 1) {
			snprintf(msg, msg_len, "--key %s: the URI names no object or id", key);
			goto out;
		}
	} else if (strncmp(key, "id:", 3) == 0) {
		if (hex_decode(key + 3, id, sizeof(id), &id_len) != 0) {
			snprintf(msg, msg_len, "--key %s: bad hex id", key);
			goto out;
		}
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, id, id_len};
	} else {
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)key, strlen(key)};
	}
	if ((rv = d->f->C_FindObjectsInit(d->login, tmpl, nt)) != CKR_OK) {
		snprintf(msg, msg_len, "C_FindObjectsInit: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	searching = 1;
	if ((rv = d->f->C_FindObjects(d->login, h, 2, &found)) != CKR_OK) {
		snprintf(msg, msg_len, "C_FindObjects: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	if (found != 1) {
		snprintf(msg, msg_len, "--key %s: %s", key,
			 found == 0 ? "no such key" : "more than one key matches");
		goto out;
	}
	d->key = h[0];
	ret = 0;
out:
	if (searching)
		d->f->C_FindObjectsFinal(d->login);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	return ret;
}

/* Refuses a key whose type does not fit alg (the token's error would be vague). */
static int check_key_type(struct direct *d, const char *key, const struct p11a_alg_info *alg,
			  char *msg, size_t msg_len)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof(kt)};
	int ok;

	if (d->f->C_GetAttributeValue(d->login, d->key, &a, 1) != CKR_OK) {
		snprintf(msg, msg_len, "--key %s: cannot read CKA_KEY_TYPE", key);
		return -1;
	}
	switch (alg->key_type) {
	case P11A_KEY_RSA:
		ok = kt == CKK_RSA;
		break;
	case P11A_KEY_EC:
		ok = kt == CKK_EC;
		break;
	case P11A_KEY_ED25519:
		ok = kt == CKK_EC_EDWARDS;
		break;
	default:
		ok = 1; /* HMAC: a secret key of any type; the token decides */
		break;
	}
	if (!ok) {
		snprintf(msg, msg_len, "--key %s: %s needs a key of type %s", key, alg->name,
			 p11a_key_type_name(alg->key_type));
		return -1;
	}
	return 0;
}

int direct_open(const char *module, const char *token_uri, const char *pin, size_t pin_len,
		const char *key, const struct p11a_alg_info *alg, const uint8_t *data,
		size_t data_len, struct direct **out, char *msg, size_t msg_len)
{
	CK_C_INITIALIZE_ARGS args;
	struct direct *d = NULL;
	const struct alg_mech *am;
	CK_RV rv;
	int ret = -1;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	d->login = CK_INVALID_HANDLE;
	if ((am = set_mech(d, alg)) == NULL) {
		snprintf(msg, msg_len, "--alg %s: the direct path does not run it", alg->name);
		goto out;
	}
	if (data_len > IN_MAX - am->prefix_len ||
	    (d->in = malloc(am->prefix_len + data_len)) == NULL) {
		snprintf(msg, msg_len, "input too large, or out of memory");
		goto out;
	}
	if (am->prefix_len > 0)
		memcpy(d->in, am->prefix, am->prefix_len);
	memcpy(d->in + am->prefix_len, data, data_len);
	d->in_len = am->prefix_len + data_len;

	if ((d->f = p11_kit_module_load(module, 0)) == NULL) {
		snprintf(msg, msg_len, "%s: cannot load the module: %s", module,
			 p11_kit_message() ? p11_kit_message() : "unknown error");
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	if ((rv = d->f->C_Initialize(&args)) != CKR_OK) {
		snprintf(msg, msg_len, "%s: C_Initialize: CKR 0x%lx", module, (unsigned long)rv);
		goto out;
	}
	d->initialized = 1;
	if (find_slot(d, token_uri, msg, msg_len) != 0)
		goto out;
	if ((rv = d->f->C_OpenSession(d->slot, CKF_SERIAL_SESSION, NULL, NULL, &d->login)) !=
	    CKR_OK) {
		d->login = CK_INVALID_HANDLE;
		snprintf(msg, msg_len, "C_OpenSession: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	rv = d->f->C_Login(d->login, CKU_USER, (CK_UTF8CHAR *)pin, pin_len);
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		snprintf(msg, msg_len, "C_Login: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	if (find_key(d, key, alg->key_type == P11A_KEY_HMAC ? CKO_SECRET_KEY : CKO_PRIVATE_KEY, msg,
		     msg_len) != 0)
		goto out;
	if (check_key_type(d, key, alg, msg, msg_len) != 0)
		goto out;
	*out = d;
	d = NULL;
	ret = 0;
out:
	direct_close(d);
	return ret;
}

int direct_client_open(struct direct *d, struct direct_client **out, char *msg, size_t msg_len)
{
	struct direct_client *c;
	CK_RV rv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	c->d = d;
	if ((rv = d->f->C_OpenSession(d->slot, CKF_SERIAL_SESSION, NULL, NULL, &c->s)) != CKR_OK) {
		snprintf(msg, msg_len, "C_OpenSession: CKR 0x%lx", (unsigned long)rv);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int direct_client_op(struct direct_client *c, char *msg, size_t msg_len)
{
	struct direct *d = c->d;
	CK_BYTE sig[SIG_MAX];
	CK_ULONG sig_len = sizeof(sig);
	CK_RV rv;

	if ((rv = d->f->C_SignInit(c->s, &d->mech, d->key)) != CKR_OK) {
		snprintf(msg, msg_len, "C_SignInit: CKR 0x%lx", (unsigned long)rv);
		return -1;
	}
	if ((rv = d->f->C_Sign(c->s, d->in, d->in_len, sig, &sig_len)) != CKR_OK) {
		snprintf(msg, msg_len, "C_Sign: CKR 0x%lx", (unsigned long)rv);
		return -1;
	}
	return 0;
}

void direct_client_close(struct direct_client *c)
{
	if (c == NULL)
		return;
	c->d->f->C_CloseSession(c->s);
	free(c);
}

void direct_close(struct direct *d)
{
	if (d == NULL)
		return;
	if (d->login != CK_INVALID_HANDLE) {
		d->f->C_Logout(d->login);
		d->f->C_CloseSession(d->login);
	}
	if (d->initialized)
		d->f->C_Finalize(NULL);
	if (d->f != NULL)
		p11_kit_module_release(d->f);
	free(d->in);
	free(d);
}
