/*
 * directop: the direct path's operations, each as the agent's token layer
 * runs the same request (agent/token.c, agent/token-decrypt.c, agent/tmpkey.c):
 * C_SignInit and C_Sign with the same mechanism and parameters; C_Decrypt
 * with CKM_RSA_PKCS_OAEP, or with CKM_RSA_X_509 and OAEP decoded here when
 * the token lacks the hash; C_UnwrapKey into the same session-object
 * template, its CKA_VALUE read (length, then value) and the object
 * destroyed. And the two token jobs that make the input: the RSA public
 * key, and the AES-wrapped session key.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "direct-impl.h"
#include "sigfmt.h"
#include "soft.h"

/* How each algorithm runs on the token: as the agent's token layer does it. */
static const struct alg_mech {
	p11a_alg alg;
	CK_MECHANISM_TYPE mech;
	CK_MECHANISM_TYPE hash; /* PSS: hashAlg (salt: the hash's length); OAEP: hashAlg */
	CK_RSA_PKCS_MGF_TYPE mgf;
	int digestinfo; /* RSA PKCS#1 signing: the input is DigestInfo(digest) */
} alg_mechs[] = {
    {P11A_ALG_RSA_PKCS1_SHA256, CKM_RSA_PKCS, 0, 0, 1},
    {P11A_ALG_RSA_PKCS1_SHA384, CKM_RSA_PKCS, 0, 0, 1},
    {P11A_ALG_RSA_PKCS1_SHA512, CKM_RSA_PKCS, 0, 0, 1},
    {P11A_ALG_RSA_PSS_SHA256, CKM_RSA_PKCS_PSS, CKM_SHA256, CKG_MGF1_SHA256, 0},
    {P11A_ALG_RSA_PSS_SHA384, CKM_RSA_PKCS_PSS, CKM_SHA384, CKG_MGF1_SHA384, 0},
    {P11A_ALG_RSA_PSS_SHA512, CKM_RSA_PKCS_PSS, CKM_SHA512, CKG_MGF1_SHA512, 0},
    {P11A_ALG_ECDSA_SHA256, CKM_ECDSA, 0, 0, 0},
    {P11A_ALG_ECDSA_SHA384, CKM_ECDSA, 0, 0, 0},
    {P11A_ALG_ECDSA_SHA512, CKM_ECDSA, 0, 0, 0},
    {P11A_ALG_ED25519, CKM_EDDSA, 0, 0, 0},
    {P11A_ALG_HMAC_SHA256, CKM_SHA256_HMAC, 0, 0, 0},
    {P11A_ALG_HMAC_SHA384, CKM_SHA384_HMAC, 0, 0, 0},
    {P11A_ALG_HMAC_SHA512, CKM_SHA512_HMAC, 0, 0, 0},
    {P11A_ALG_RSA_OAEP_SHA1, CKM_RSA_PKCS_OAEP, CKM_SHA_1, CKG_MGF1_SHA1, 0},
    {P11A_ALG_RSA_OAEP_SHA256, CKM_RSA_PKCS_OAEP, CKM_SHA256, CKG_MGF1_SHA256, 0},
    {P11A_ALG_RSA_OAEP_SHA384, CKM_RSA_PKCS_OAEP, CKM_SHA384, CKG_MGF1_SHA384, 0},
    {P11A_ALG_RSA_OAEP_SHA512, CKM_RSA_PKCS_OAEP, CKM_SHA512, CKG_MGF1_SHA512, 0},
    {P11A_ALG_RSA_PKCS1, CKM_RSA_PKCS, 0, 0, 0},
    {P11A_ALG_AES_KW, CKM_AES_KEY_WRAP, 0, 0, 0},
    {P11A_ALG_AES_KWP, CKM_AES_KEY_WRAP_PAD, 0, 0, 0},
};

static const struct alg_mech *find_mech(p11a_alg alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_mechs) / sizeof(alg_mechs[0]); i++)
		if (alg_mechs[i].alg == alg)
			return &alg_mechs[i];
	return NULL;
}

/* Sets d->mech (and its parameters) for the row am; raw RSA instead of OAEP when software. */
static void set_mech(struct direct *d, const struct alg_mech *am, int software)
{
	memset(&d->mech, 0, sizeof(d->mech));
	memset(&d->params, 0, sizeof(d->params));
	d->software = software;
	d->mech.mechanism = software ? CKM_RSA_X_509 : am->mech;
	if (software)
		return;
	if (am->mech == CKM_RSA_PKCS_PSS) {
		d->params.pss.hashAlg = am->hash;
		d->params.pss.mgf = am->mgf;
		d->params.pss.sLen = d->w->alg->digest_len;
		d->mech.pParameter = &d->params.pss;
		d->mech.ulParameterLen = sizeof(d->params.pss);
	} else if (am->mech == CKM_RSA_PKCS_OAEP) {
		/* No label: the agent's parameters for a request without one (token-decrypt.c). */
		d->params.oaep.hashAlg = am->hash;
		d->params.oaep.mgf = am->mgf;
		d->params.oaep.source = CKZ_DATA_SPECIFIED;
		d->mech.pParameter = &d->params.oaep;
		d->mech.ulParameterLen = sizeof(d->params.oaep);
	}
}

/* The CKA_* boolean attr of the key; -1 when it cannot be read. */
static int key_flag(struct direct *d, CK_ATTRIBUTE_TYPE attr)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {attr, &v, sizeof(v)};

	if (d->f->C_GetAttributeValue(d->login, d->key, &a, 1) != CKR_OK)
		return -1;
	return v == CK_TRUE;
}

int direct_rsa_spki(struct direct *d, uint8_t **out, size_t *out_len, char *msg, size_t msg_len)
{
	CK_ATTRIBUTE a[2] = {{CKA_MODULUS, NULL, 0}, {CKA_PUBLIC_EXPONENT, NULL, 0}};
	CK_RV rv;
	int ret = -1;

	if ((rv = d->f->C_GetAttributeValue(d->login, d->key, a, 2)) != CKR_OK ||
	    a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION || a[0].ulValueLen == 0 ||
	    a[0].ulValueLen > DIRECT_OUT_MAX || a[1].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a[1].ulValueLen == 0 || a[1].ulValueLen > DIRECT_OUT_MAX) {
		snprintf(msg, msg_len,
			 "--key %s: cannot read CKA_MODULUS and CKA_PUBLIC_EXPONENT of the private "
			 "key (CKR 0x%lx): the benchmark encrypts its input with them",
			 d->w->key, (unsigned long)rv);
		goto out;
	}
	if ((a[0].pValue = malloc(a[0].ulValueLen)) == NULL ||
	    (a[1].pValue = malloc(a[1].ulValueLen)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	if ((rv = d->f->C_GetAttributeValue(d->login, d->key, a, 2)) != CKR_OK) {
		snprintf(msg, msg_len, "--key %s: C_GetAttributeValue(CKA_MODULUS): CKR 0x%lx",
			 d->w->key, (unsigned long)rv);
		goto out;
	}
	if (soft_rsa_spki(a[0].pValue, a[0].ulValueLen, a[1].pValue, a[1].ulValueLen, out,
			  out_len) != 0) {
		snprintf(msg, msg_len, "--key %s: OpenSSL refuses its RSA public key", d->w->key);
		goto out;
	}
	ret = 0;
out:
	free(a[0].pValue);
	free(a[1].pValue);
	return ret;
}

/* C_WrapKey of a session generic secret holding plain; *out_len is plain's wrapped length. */
static CK_RV wrap_object(struct direct *d, CK_MECHANISM *mech, const uint8_t *plain,
			 size_t plain_len, uint8_t *out, CK_ULONG *out_len)
{
	CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_GENERIC_SECRET;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &klass, sizeof(klass)},	  {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &no, sizeof(no)},	  {CKA_SENSITIVE, &no, sizeof(no)},
	    {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_VALUE, (void *)plain, plain_len},
	};
	CK_OBJECT_HANDLE obj;
	CK_RV rv;

	if ((rv = d->f->C_CreateObject(d->login, t, sizeof(t) / sizeof(t[0]), &obj)) != CKR_OK)
		return rv;
	rv = d->f->C_WrapKey(d->login, mech, d->key, obj, out, out_len);
	d->f->C_DestroyObject(d->login, obj);
	return rv;
}

int direct_wrap(struct direct *d, const uint8_t *plain, size_t plain_len, uint8_t **out,
		size_t *out_len, char *msg, size_t msg_len)
{
	const struct alg_mech *am = find_mech(d->w->alg->alg);
	CK_MECHANISM mech = {am != NULL ? am->mech : 0, NULL, 0};
	uint8_t buf[DIRECT_OUT_MAX];
	CK_ULONG len = sizeof(buf);
	int wrap = key_flag(d, CKA_WRAP), encrypt = key_flag(d, CKA_ENCRYPT);
	const char *fn = wrap == 1 ? "C_WrapKey" : "C_Encrypt";
	CK_RV rv;

	if (am == NULL || d->w->alg->key_type != P11A_KEY_AES) {
		snprintf(msg, msg_len, "--alg %s: not an AES key wrap", d->w->alg->name);
		return -1;
	}
	if (wrap != 1 && encrypt != 1) {
		snprintf(msg, msg_len,
			 "--key %s: cannot make the benchmark's input, a random %zu-byte key "
			 "wrapped with %s in the token: the key lacks CKA_WRAP (and CKA_ENCRYPT)",
			 d->w->key, plain_len, d->w->alg->name);
		return -1;
	}
	if (wrap == 1) {
		rv = wrap_object(d, &mech, plain, plain_len, buf, &len);
	} else if ((rv = d->f->C_EncryptInit(d->login, &mech, d->key)) == CKR_OK) {
		rv = d->f->C_Encrypt(d->login, (CK_BYTE_PTR)plain, plain_len, buf, &len);
	}
	if (rv != CKR_OK) {
		snprintf(msg, msg_len,
			 "--key %s: cannot make the benchmark's input, a random key wrapped with "
			 "%s in the token: %s: CKR 0x%lx",
			 d->w->key, d->w->alg->name, fn, (unsigned long)rv);
		return -1;
	}
	if ((*out = malloc(len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	memcpy(*out, buf, len);
	*out_len = len;
	return 0;
}

/* The sign input: DigestInfo(digest) for RSA PKCS#1 (as the agent builds it), else w->in. */
static int prepare_sign(struct direct *d, const struct alg_mech *am, char *msg, size_t msg_len)
{
	const struct work *w = d->w;

	if ((d->in = malloc(SIGFMT_DIGESTINFO_MAX + w->in_len + 1)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	if (!am->digestinfo) {
		memcpy(d->in, w->in, w->in_len);
		d->in_len = w->in_len;
		return 0;
	}
	if (sigfmt_digestinfo(w->alg->hash, w->in, w->in_len, d->in, &d->in_len) != P11A_OK) {
		snprintf(msg, msg_len, "cannot build a DigestInfo for %s", w->alg->hash);
		return -1;
	}
	return 0;
}

/* One round trip of the input with mech set as software says; 0 when it came out right. */
static int try_plan(struct direct *d, const struct alg_mech *am, int software, char *msg,
		    size_t msg_len)
{
	struct direct_client *c = NULL;
	int ret;

	set_mech(d, am, software);
	if ((ret = direct_client_open(d, &c, msg, msg_len)) == 0)
		ret = direct_client_op(c, 1, msg, msg_len);
	direct_client_close(c);
	return ret;
}

int direct_prepare(struct direct *d, int *out_software, char *msg, size_t msg_len)
{
	const struct alg_mech *am = find_mech(d->w->alg->alg);
	char native_msg[256];

	if (am == NULL) {
		snprintf(msg, msg_len, "--alg %s: the direct path does not run it",
			 d->w->alg->name);
		return -1;
	}
	if (d->w->op == WORK_SIGN && prepare_sign(d, am, msg, msg_len) != 0)
		return -1;
	d->prepared = 1;
	*out_software = 0;
	if (am->mech != CKM_RSA_PKCS_OAEP) {
		set_mech(d, am, 0);
		return 0;
	}
	/*
	 * As the agent's probe (token-decrypt.c): the token's own OAEP when a round trip
	 * comes out right, else raw RSA here and OAEP decoding in software.
	 */
	if (try_plan(d, am, 0, native_msg, sizeof(native_msg)) == 0)
		return 0;
	if (try_plan(d, am, 1, msg, msg_len) == 0) {
		*out_software = 1;
		return 0;
	}
	snprintf(msg + strlen(msg), msg_len - strlen(msg),
		 " (over CKM_RSA_X_509; with CKM_RSA_PKCS_OAEP: %s)", native_msg);
	return -1;
}

/* Did the operation give plain? For decrypt and unwrap. */
static int check_plain(struct direct_client *c, const uint8_t *got, size_t got_len, char *msg,
		       size_t msg_len)
{
	const struct work *w = c->d->w;

	if (got_len == w->plain_len && soft_equal(got, w->plain, got_len))
		return 0;
	if (got_len != w->plain_len)
		snprintf(msg, msg_len, "%s with %s gave %zu bytes, expected %zu: a wrong result",
			 work_op_name(w->op), w->alg->name, got_len, w->plain_len);
	else
		snprintf(msg, msg_len, "%s with %s gave the wrong %zu bytes", work_op_name(w->op),
			 w->alg->name, got_len);
	return -1;
}

static int op_sign(struct direct_client *c, int check, char *msg, size_t msg_len)
{
	struct direct *d = c->d;
	CK_ULONG sig_len;
	unsigned i;
	CK_RV rv;

	for (i = 0; i < d->w->batch; i++) {
		sig_len = sizeof(c->out);
		if ((rv = d->f->C_SignInit(c->s, &d->mech, d->key)) != CKR_OK) {
			snprintf(msg, msg_len, "C_SignInit: CKR 0x%lx", (unsigned long)rv);
			return -1;
		}
		if ((rv = d->f->C_Sign(c->s, d->in, d->in_len, c->out, &sig_len)) != CKR_OK) {
			snprintf(msg, msg_len, "C_Sign: CKR 0x%lx", (unsigned long)rv);
			return -1;
		}
		if (check && sig_len == 0) {
			snprintf(msg, msg_len, "C_Sign gave an empty signature");
			return -1;
		}
	}
	return 0;
}

/* C_Decrypt of the input into c->out; raw RSA and OAEP decoding when d->software. */
static int op_decrypt(struct direct_client *c, int check, char *msg, size_t msg_len)
{
	struct direct *d = c->d;
	const struct work *w = d->w;
	CK_ULONG len = w->in_len;
	size_t plain_len;
	int ret = -1;
	CK_RV rv;

	if (w->in_len > sizeof(c->out)) {
		snprintf(msg, msg_len, "ciphertext too large");
		return -1;
	}
	if ((rv = d->f->C_DecryptInit(c->s, &d->mech, d->key)) != CKR_OK) {
		snprintf(msg, msg_len, "C_DecryptInit: CKR 0x%lx", (unsigned long)rv);
		return -1;
	}
	rv = d->f->C_Decrypt(c->s, w->in, w->in_len, d->software ? c->em : c->out, &len);
	if (rv != CKR_OK || len > w->in_len) {
		snprintf(msg, msg_len, "C_Decrypt: CKR 0x%lx", (unsigned long)rv);
		goto out;
	}
	plain_len = len;
	if (d->software) {
		/* A token may leave out leading zero bytes: OAEP decodes the whole block. */
		memmove(c->em + (w->in_len - len), c->em, len);
		memset(c->em, 0, w->in_len - len);
		if (soft_oaep_decode(w->alg->hash, c->em, w->in_len, c->out, &plain_len) != 0) {
			snprintf(msg, msg_len, "OAEP decoding failed");
			goto out;
		}
	}
	ret = check ? check_plain(c, c->out, plain_len, msg, msg_len) : 0;
out:
	explicit_bzero(c->out, w->in_len);
	if (d->software)
		explicit_bzero(c->em, w->in_len);
	return ret;
}

/* C_UnwrapKey into the agent's template (tmpkey.c), CKA_VALUE read, the object destroyed. */
static int op_unwrap(struct direct_client *c, int check, char *msg, size_t msg_len)
{
	struct direct *d = c->d;
	const struct work *w = d->w;
	CK_OBJECT_CLASS klass = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_GENERIC_SECRET;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &klass, sizeof(klass)}, {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &no, sizeof(no)},	{CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &no, sizeof(no)},	{CKA_EXTRACTABLE, &yes, sizeof(yes)},
	};
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	CK_OBJECT_HANDLE obj;
	size_t value_len = 0; /* what to wipe */
	int ret = -1;
	CK_RV rv;

	if (d->software) /* the agent decrypts then, with the same raw RSA */
		return op_decrypt(c, check, msg, msg_len);
	if ((rv = d->f->C_UnwrapKey(c->s, &d->mech, d->key, w->in, w->in_len, t,
				    sizeof(t) / sizeof(t[0]), &obj)) != CKR_OK) {
		snprintf(msg, msg_len, "C_UnwrapKey: CKR 0x%lx", (unsigned long)rv);
		return -1;
	}
	if ((rv = d->f->C_GetAttributeValue(c->s, obj, &a, 1)) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > sizeof(c->out)) {
		snprintf(msg, msg_len, "C_GetAttributeValue(CKA_VALUE) of the new key: CKR 0x%lx",
			 (unsigned long)rv);
		goto out;
	}
	a.pValue = c->out;
	value_len = a.ulValueLen;
	if ((rv = d->f->C_GetAttributeValue(c->s, obj, &a, 1)) != CKR_OK ||
	    a.ulValueLen > value_len) {
		snprintf(msg, msg_len, "C_GetAttributeValue(CKA_VALUE) of the new key: CKR 0x%lx",
			 (unsigned long)rv);
		goto out;
	}
	ret = check ? check_plain(c, c->out, a.ulValueLen, msg, msg_len) : 0;
out:
	if ((rv = d->f->C_DestroyObject(c->s, obj)) != CKR_OK && ret == 0) {
		snprintf(msg, msg_len, "C_DestroyObject: CKR 0x%lx", (unsigned long)rv);
		ret = -1;
	}
	explicit_bzero(c->out, value_len);
	return ret;
}

int direct_client_op(struct direct_client *c, int check, char *msg, size_t msg_len)
{
	if (!c->d->prepared) {
		snprintf(msg, msg_len, "internal error: direct path not prepared");
		return -1;
	}
	switch (c->d->w->op) {
	case WORK_SIGN:
		return op_sign(c, check, msg, msg_len);
	case WORK_DECRYPT:
		return op_decrypt(c, check, msg, msg_len);
	case WORK_UNWRAP:
		return op_unwrap(c, check, msg, msg_len);
	default:
		snprintf(msg, msg_len, "%s: not on the direct path", work_op_name(c->d->w->op));
		return -1;
	}
}
