/*
 * direct: PKCS#11 straight from the benchmark's own process: the ceiling the
 * agent is measured against. The module, the login, the key and the client
 * sessions; the operations are in directop.c.
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

#include "direct-impl.h"

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
	case P11A_KEY_AES:
		ok = kt == CKK_AES;
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
		const struct work *w, struct direct **out, char *msg, size_t msg_len)
{
	CK_C_INITIALIZE_ARGS args;
	struct direct *d = NULL;
	CK_OBJECT_CLASS cls;
	CK_RV rv;
	int ret = -1;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	d->login = CK_INVALID_HANDLE;
	d->w = w;
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
	cls = w->alg->key_type == P11A_KEY_HMAC || w->alg->key_type == P11A_KEY_AES
		  ? CKO_SECRET_KEY
		  : CKO_PRIVATE_KEY;
	if (find_key(d, w->key, cls, msg, msg_len) != 0)
		goto out;
	if (check_key_type(d, w->key, w->alg, msg, msg_len) != 0)
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

void direct_client_close(struct direct_client *c)
{
	if (c == NULL)
		return;
	c->d->f->C_CloseSession(c->s);
	explicit_bzero(c, sizeof(*c));
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
