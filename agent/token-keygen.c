/*
 * token-keygen: makes keys in the token. A key type ("rsa:2048", "ec:P-256",
 * "ed25519", "hmac:256", "aes:128", ...) and the operations it may do are
 * checked against one table each; the key is made with C_GenerateKeyPair or
 * C_GenerateKey on a read-write session opened for the call, sensitive and
 * never extractable, with only the usage flags asked for, a fresh random
 * CKA_ID and today's CKA_START_DATE. The index is not touched: the caller
 * indexes the token again.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "proto.h"
#include "token-impl.h"

#ifndef CKK_EC_EDWARDS
#define CKK_EC_EDWARDS 0x40UL
#endif
#ifndef CKM_EC_EDWARDS_KEY_PAIR_GEN
#define CKM_EC_EDWARDS_KEY_PAIR_GEN 0x1055UL
#endif

/* Bytes of a new key's CKA_ID. */
#define ID_LEN 16
/* Random ids drawn before giving up on finding one no object has (each is 128 bits). */
#define ID_TRIES 8
/* Attributes in one generation template, at most. */
#define TMPL_MAX 20
/* The longest label the index takes (keyindex.c leaves out keys with longer ones). */
#define LABEL_MAX PROTO_MAX_KEYREF

/* CKA_EC_PARAMS: the curves' OIDs, DER. */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70}; /* 1.3.101.112 */
/* Ed25519 as tokens that predate the OID in PKCS#11 3.0 name it: PrintableString. */
static const uint8_t str_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
				      'd',  's',  '2', '5', '5', '1', '9'};

/* The key types the agent makes. */
static const struct keygen_type {
	const char *name; /* TYPE, as the caller writes it */
	p11a_key_type type;
	uint32_t bits;	   /* modulus, secret or key bits; the curve's field for EC and Ed25519 */
	const char *curve; /* EC: as the index names it; else "" */
	const uint8_t *params;
	size_t params_len;
} keygen_types[] = {
    {"rsa:2048", P11A_KEY_RSA, 2048, "", NULL, 0},
    {"rsa:3072", P11A_KEY_RSA, 3072, "", NULL, 0},
    {"rsa:4096", P11A_KEY_RSA, 4096, "", NULL, 0},
    {"ec:P-256", P11A_KEY_EC, 256, "P-256", oid_p256, sizeof(oid_p256)},
    {"ec:P-384", P11A_KEY_EC, 384, "P-384", oid_p384, sizeof(oid_p384)},
    {"ec:P-521", P11A_KEY_EC, 521, "P-521", oid_p521, sizeof(oid_p521)},
    {"ed25519", P11A_KEY_ED25519, 255, "", oid_ed25519, sizeof(oid_ed25519)},
    {"hmac:256", P11A_KEY_HMAC, 256, "", NULL, 0},
    {"hmac:384", P11A_KEY_HMAC, 384, "", NULL, 0},
    {"hmac:512", P11A_KEY_HMAC, 512, "", NULL, 0},
    {"aes:128", P11A_KEY_AES, 128, "", NULL, 0},
    {"aes:256", P11A_KEY_AES, 256, "", NULL, 0},
};

#define N_TYPES (sizeof(keygen_types) / sizeof(keygen_types[0]))

/*
 * What each key type may do, and does when the caller asks for nothing. An
 * RSA key's wrap is its public key object's CKA_WRAP. AES keys do not
 * decrypt: the agent serves AES keys for key wrapping only.
 */
static const struct keygen_ops {
	p11a_key_type type;
	uint32_t allowed, defaults;
} keygen_ops[] = {
    {P11A_KEY_RSA, P11A_OP_SIGN | P11A_OP_DECRYPT | P11A_OP_UNWRAP | P11A_OP_WRAP, P11A_OP_SIGN},
    {P11A_KEY_EC, P11A_OP_SIGN | P11A_OP_DERIVE, P11A_OP_SIGN},
    {P11A_KEY_ED25519, P11A_OP_SIGN, P11A_OP_SIGN},
    {P11A_KEY_HMAC, P11A_OP_SIGN | P11A_OP_VERIFY, P11A_OP_SIGN | P11A_OP_VERIFY},
    {P11A_KEY_AES, P11A_OP_UNWRAP | P11A_OP_WRAP, P11A_OP_UNWRAP | P11A_OP_WRAP},
};

/* The operations' names, in the order messages list them. */
static const struct {
	uint32_t op;
	const char *verb;
} op_verbs[] = {
    {P11A_OP_SIGN, "sign"},	{P11A_OP_VERIFY, "verify"}, {P11A_OP_DECRYPT, "decrypt"},
    {P11A_OP_UNWRAP, "unwrap"}, {P11A_OP_WRAP, "wrap"},	    {P11A_OP_DERIVE, "derive"},
};

#define N_OPS (sizeof(op_verbs) / sizeof(op_verbs[0]))

static const struct keygen_ops *ops_of(p11a_key_type type)
{
	for (size_t i = 0; i < sizeof(keygen_ops) / sizeof(keygen_ops[0]); i++)
		if (keygen_ops[i].type == type)
			return &keygen_ops[i];
	return NULL;
}

/* The table's entry for spec (RSA, HMAC, AES by bits; EC by curve), or NULL. */
static const struct keygen_type *type_of_spec(const struct token_keyspec *spec)
{
	const struct keygen_type *kt;

	for (size_t i = 0; i < N_TYPES; i++) {
		kt = &keygen_types[i];
		if (kt->type != spec->type)
			continue;
		if (kt->type == P11A_KEY_ED25519 ||
		    (kt->type == P11A_KEY_EC && spec->curve != NULL &&
		     strcmp(kt->curve, spec->curve) == 0) ||
		    (kt->type != P11A_KEY_EC && kt->bits == spec->bits))
			return kt;
	}
	return NULL;
}

/* "rsa:2048, rsa:3072, ..." into buf. */
static void types_list(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_TYPES && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 keygen_types[i].name);
}

/* "sign, derive" (the verbs of ops) into buf. */
static void ops_list(uint32_t ops, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_OPS && used < len; i++)
		if (ops & op_verbs[i].op)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 op_verbs[i].verb);
}

/* ops for a key of type kt: the defaults for 0, else ops if the type may do them all. */
static int resolve_ops(const struct keygen_type *kt, uint32_t ops, uint32_t *out, char *msg,
		       size_t msg_len)
{
	const struct keygen_ops *o = ops_of(kt->type);
	uint32_t known = 0;
	char may[64];

	for (size_t i = 0; i < N_OPS; i++)
		known |= op_verbs[i].op;
	if (ops & ~known) {
		snprintf(msg, msg_len, "ops: 0x%x holds operations the agent does not know",
			 (unsigned)(ops & ~known));
		return P11A_ERR_BAD_INPUT;
	}
	if (ops == 0) {
		*out = o->defaults;
		return P11A_OK;
	}
	for (size_t i = 0; i < N_OPS; i++) {
		if ((ops & op_verbs[i].op) && !(o->allowed & op_verbs[i].op)) {
			ops_list(o->allowed, may, sizeof(may));
			snprintf(msg, msg_len, "%s keys cannot %s (they may: %s)",
				 p11a_key_type_name(kt->type), op_verbs[i].verb, may);
			return P11A_ERR_BAD_INPUT;
		}
	}
	*out = ops;
	return P11A_OK;
}

int token_keyspec_parse(const char *type, uint32_t ops, struct token_keyspec *spec, char *msg,
			size_t msg_len)
{
	const struct keygen_type *kt = NULL;
	char list[256];
	uint32_t resolved;
	int ret;

	for (size_t i = 0; type != NULL && i < N_TYPES && kt == NULL; i++)
		if (strcmp(type, keygen_types[i].name) == 0)
			kt = &keygen_types[i];
	if (kt == NULL) {
		types_list(list, sizeof(list));
		snprintf(msg, msg_len, "type '%.64s' is not one the agent makes; it makes %s",
			 type != NULL ? type : "", list);
		return P11A_ERR_BAD_INPUT;
	}
	if ((ret = resolve_ops(kt, ops, &resolved, msg, msg_len)) != P11A_OK)
		return ret;
	*spec = (struct token_keyspec){kt->type, kt->bits, kt->curve, resolved};
	return P11A_OK;
}

void token_keyspec_of(const struct token_key *key, struct token_keyspec *spec)
{
	const struct keygen_ops *o = ops_of(key->type);

	spec->type = key->type;
	spec->bits = key->bits;
	spec->curve = key->type == P11A_KEY_EC ? key->curve : "";
	spec->ops = (key->ops | key->pub_ops) & (o != NULL ? o->allowed : 0);
}

/* A template being built. */
struct tmpl {
	CK_ATTRIBUTE a[TMPL_MAX];
	CK_ULONG n;
};

static CK_BBOOL ck_true = CK_TRUE, ck_false = CK_FALSE;

static void put(struct tmpl *t, CK_ATTRIBUTE_TYPE type, const void *value, size_t len)
{
	/* The templates below are fixed; TMPL_MAX holds the longest. */
	if (t->n < TMPL_MAX)
		t->a[t->n++] = (CK_ATTRIBUTE){type, (void *)value, len};
}

static void put_bool(struct tmpl *t, CK_ATTRIBUTE_TYPE type, int on)
{
	put(t, type, on ? &ck_true : &ck_false, sizeof(CK_BBOOL));
}

/* Today's date, UTC. */
static void today(CK_DATE *out)
{
	time_t now = time(NULL);
	char buf[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(buf, sizeof(buf), "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	memcpy(out->year, buf, 4);
	memcpy(out->month, buf + 4, 2);
	memcpy(out->day, buf + 6, 2);
}

/* What one token_generate() makes, kept across its attempts. */
struct gen {
	const struct keygen_type *kt;
	uint32_t ops;
	const char *label;
	uint8_t id[ID_LEN];
	int have_id; /* drawn by an earlier attempt, which may have left objects behind */
	CK_DATE date;
	CK_ULONG modulus_bits; /* RSA */
};

/* The private (or secret) part's template: g->ops and nothing more. */
static void private_tmpl(const struct gen *g, CK_OBJECT_CLASS *klass, CK_KEY_TYPE *type,
			 CK_ULONG *value_len, struct tmpl *t)
{
	int secret = *klass == CKO_SECRET_KEY;

	put(t, CKA_CLASS, klass, sizeof(*klass));
	put(t, CKA_KEY_TYPE, type, sizeof(*type));
	put_bool(t, CKA_TOKEN, 1);
	put_bool(t, CKA_PRIVATE, 1);
	put_bool(t, CKA_SENSITIVE, 1);
	put_bool(t, CKA_EXTRACTABLE, 0);
	put(t, CKA_LABEL, g->label, strlen(g->label));
	put(t, CKA_ID, g->id, sizeof(g->id));
	put(t, CKA_START_DATE, &g->date, sizeof(g->date));
	put_bool(t, CKA_SIGN, g->ops & P11A_OP_SIGN);
	put_bool(t, CKA_DECRYPT, g->ops & P11A_OP_DECRYPT);
	put_bool(t, CKA_UNWRAP, g->ops & P11A_OP_UNWRAP);
	put_bool(t, CKA_DERIVE, g->ops & P11A_OP_DERIVE);
	if (secret) {
		put(t, CKA_VALUE_LEN, value_len, sizeof(*value_len));
		put_bool(t, CKA_VERIFY, g->ops & P11A_OP_VERIFY);
		put_bool(t, CKA_WRAP, g->ops & P11A_OP_WRAP);
		put_bool(t, CKA_ENCRYPT, 0);
	} else {
		/* Tokens may default it to true (SoftHSM does): no use was asked for it. */
		put_bool(t, CKA_SIGN_RECOVER, 0);
	}
}

/*
 * The public part's template: it verifies what the private key signs,
 * encrypts what it decrypts, and (RSA) wraps for what it unwraps, or when
 * wrap is asked.
 */
static void public_tmpl(const struct gen *g, CK_OBJECT_CLASS *klass, CK_KEY_TYPE *type,
			const uint8_t *params, size_t params_len, struct tmpl *t)
{
	static const uint8_t f4[] = {0x01, 0x00, 0x01};

	put(t, CKA_CLASS, klass, sizeof(*klass));
	put(t, CKA_KEY_TYPE, type, sizeof(*type));
	put_bool(t, CKA_TOKEN, 1);
	put_bool(t, CKA_PRIVATE, 0);
	put(t, CKA_LABEL, g->label, strlen(g->label));
	put(t, CKA_ID, g->id, sizeof(g->id));
	put(t, CKA_START_DATE, &g->date, sizeof(g->date));
	put_bool(t, CKA_VERIFY, g->ops & P11A_OP_SIGN);
	put_bool(t, CKA_ENCRYPT, g->ops & P11A_OP_DECRYPT);
	put_bool(t, CKA_WRAP,
		 g->kt->type == P11A_KEY_RSA && (g->ops & (P11A_OP_UNWRAP | P11A_OP_WRAP)));
	put_bool(t, CKA_VERIFY_RECOVER, 0);
	if (g->kt->type == P11A_KEY_RSA) {
		put(t, CKA_MODULUS_BITS, &g->modulus_bits, sizeof(g->modulus_bits));
		put(t, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
	} else {
		put(t, CKA_EC_PARAMS, params, params_len);
	}
}

/* Does rv from a generation say the token cannot make this key, rather than that it failed? */
static int rv_unsupported(CK_RV rv)
{
	switch (rv) {
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_SIZE_RANGE:
	case CKR_CURVE_NOT_SUPPORTED:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_TEMPLATE_INCONSISTENT:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_ATTRIBUTE_TYPE_INVALID:
		return 1;
	default:
		return 0;
	}
}

/* C_GenerateKeyPair or C_GenerateKey of g on s; *out_fn names the call. */
static CK_RV generate(struct token *tok, CK_SESSION_HANDLE s, const struct gen *g,
		      const char **out_fn)
{
	CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
	CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
	CK_ULONG value_len = g->kt->bits / 8;
	CK_MECHANISM mech = {0, NULL, 0};
	CK_OBJECT_HANDLE priv, pub;
	struct tmpl pt = {.n = 0}, st = {.n = 0};
	CK_KEY_TYPE type;
	CK_RV rv;

	switch (g->kt->type) {
	case P11A_KEY_HMAC:
	case P11A_KEY_AES:
		*out_fn = "C_GenerateKey";
		type = g->kt->type == P11A_KEY_HMAC ? CKK_GENERIC_SECRET : CKK_AES;
		mech.mechanism =
		    g->kt->type == P11A_KEY_HMAC ? CKM_GENERIC_SECRET_KEY_GEN : CKM_AES_KEY_GEN;
		private_tmpl(g, &secret_class, &type, &value_len, &st);
		return tok->f->C_GenerateKey(s, &mech, st.a, st.n, &priv);
	case P11A_KEY_RSA:
		type = CKK_RSA;
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		break;
	case P11A_KEY_EC:
		type = CKK_EC;
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		break;
	default:
		type = CKK_EC_EDWARDS;
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		break;
	}
	*out_fn = "C_GenerateKeyPair";
	private_tmpl(g, &priv_class, &type, &value_len, &st);
	public_tmpl(g, &pub_class, &type, g->kt->params, g->kt->params_len, &pt);
	rv = tok->f->C_GenerateKeyPair(s, &mech, pt.a, pt.n, st.a, st.n, &pub, &priv);
	if (g->kt->type == P11A_KEY_ED25519 && rv_unsupported(rv) && rv != CKR_MECHANISM_INVALID) {
		/* A token that does not know the OID may know the name (spki.c reads both). */
		pt.n = 0;
		public_tmpl(g, &pub_class, &type, str_ed25519, sizeof(str_ed25519), &pt);
		rv = tok->f->C_GenerateKeyPair(s, &mech, pt.a, pt.n, st.a, st.n, &pub, &priv);
	}
	return rv;
}

/* Draws an id no object of the token has into g->id. */
static int fresh_id(struct token *tok, CK_SESSION_HANDLE s, struct gen *g, CK_RV *out_rv, char *msg,
		    size_t msg_len)
{
	CK_ATTRIBUTE tmpl[] = {{CKA_ID, g->id, sizeof(g->id)}};
	CK_OBJECT_HANDLE found;
	CK_ULONG n;
	CK_RV rv;

	for (int i = 0; i < ID_TRIES; i++) {
		if (RAND_bytes(g->id, sizeof(g->id)) != 1) {
			snprintf(msg, msg_len, "cannot draw a random CKA_ID (RAND_bytes failed)");
			return P11A_ERR_INTERNAL;
		}
		if ((rv = token_find_handles(tok, s, tmpl, 1, &found, 1, &n)) != CKR_OK) {
			*out_rv = rv;
			snprintf(msg, msg_len, "C_FindObjects (CKA_ID) failed: %s",
				 token_ckr_name(rv));
			return P11A_ERR_TOKEN;
		}
		if (n == 0) {
			g->have_id = 1;
			return P11A_OK;
		}
	}
	snprintf(msg, msg_len, "no free CKA_ID in %d random draws", ID_TRIES);
	return P11A_ERR_INTERNAL;
}

/* One attempt of token_generate(); *fault is the CK_RV of the call that failed. */
static int generate_once(struct token *tok, struct gen *g, CK_RV *fault, char *msg, size_t msg_len)
{
	CK_SESSION_HANDLE s;
	const char *fn = "C_OpenSession";
	int ret = P11A_ERR_TOKEN;
	CK_RV rv;

	if (!tok->user) {
		snprintf(msg, msg_len,
			 "the agent is not logged in to the token (it has no PIN): it cannot "
			 "make private keys");
		return P11A_ERR_TOKEN;
	}
	if ((rv = token_rw_session(tok, &s)) != CKR_OK)
		goto fail;
	if (g->have_id) {
		/* The id was free when drawn: whatever has it now, a failed attempt left. */
		if ((rv = token_destroy_by_id(tok, s, NULL, g->id, sizeof(g->id), CK_INVALID_HANDLE,
					      &fn)) != CKR_OK)
			goto close;
	} else if ((ret = fresh_id(tok, s, g, fault, msg, msg_len)) != P11A_OK) {
		(void)tok->f->C_CloseSession(s);
		return ret;
	}
	rv = generate(tok, s, g, &fn);
close:
	(void)tok->f->C_CloseSession(s);
	if (rv == CKR_OK)
		return P11A_OK;
fail:
	*fault = rv;
	if (rv_unsupported(rv)) {
		snprintf(msg, msg_len, "the token cannot make %s keys: %s failed: %s", g->kt->name,
			 fn, token_ckr_name(rv));
		return P11A_ERR_NOT_SUPPORTED;
	}
	snprintf(msg, msg_len, "%s failed: %s", fn, token_ckr_name(rv));
	return P11A_ERR_TOKEN;
}

int token_generate(struct token *tok, const struct token_keyspec *spec, const char *label,
		   uint8_t out_id[16], char *msg, size_t msg_len)
{
	struct token_try t = TOKEN_TRY_INIT;
	struct gen g = {.label = label};
	char list[256];
	int ret;
	CK_RV fault;

	if ((g.kt = type_of_spec(spec)) == NULL) {
		types_list(list, sizeof(list));
		snprintf(msg, msg_len,
			 "the agent does not make %s keys of %u bits%s%s; it makes %s",
			 p11a_key_type_name(spec->type), (unsigned)spec->bits,
			 spec->curve != NULL && spec->curve[0] != '\0' ? " on " : "",
			 spec->curve != NULL ? spec->curve : "", list);
		return P11A_ERR_BAD_INPUT;
	}
	if ((ret = resolve_ops(g.kt, spec->ops, &g.ops, msg, msg_len)) != P11A_OK)
		return ret;
	if (label == NULL || label[0] == '\0' || strlen(label) > LABEL_MAX) {
		snprintf(msg, msg_len, "label: 1 to %d bytes", LABEL_MAX);
		return P11A_ERR_BAD_INPUT;
	}
	g.modulus_bits = g.kt->bits;
	today(&g.date);
	for (;;) {
		if ((ret = token_enter(tok, NULL, &t, msg, msg_len)) != P11A_OK)
			return ret;
		fault = CKR_OK;
		ret = generate_once(tok, &g, &fault, msg, msg_len);
		token_leave(tok);
		if (ret == P11A_OK || !token_recover(tok, &t, fault, &ret, msg, msg_len))
			break;
	}
	if (ret == P11A_OK)
		memcpy(out_id, g.id, sizeof(g.id));
	return ret;
}
