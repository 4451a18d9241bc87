#include "config.h"
/*
 * httpsig: HTTP Message Signatures (RFC 9421) with agent keys: the covered
 * components and their values, the signature base, signing through the agent
 * and verifying (p11agent.h, HTTP Message Signatures).
 *
 * The algorithms and their keys, the Signature-Input and Signature fields,
 * and the checks of a verifier are here; the components and the signature
 * base are httpbase.c's.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "buf.h"
#include "httpbase.h"
#include "httpmsg.h"
#include "p11agent.h"
#include "sfv.h"
#include "sigfmt.h"

/* How far ahead of the clock created may be, for clocks a little apart. */
#define CLOCK_SKEW 60
/* The label p11a_http_sign() takes when none is given. */
#define DEFAULT_LABEL "sig1"

/* The algorithms of RFC 9421, 3.3, and how the agent makes each. */
struct http_alg {
	const char *name;
	const char *curve; /* EC keys: the curve it needs */
	p11a_alg alg;
	uint32_t flags;
};

/* The first algorithm of a key type is its default; the type is proto's table's (alg.c). */
static const struct http_alg algs[] = {
    {"hmac-sha256", NULL, P11A_ALG_HMAC_SHA256, 0},
    {"rsa-pss-sha512", NULL, P11A_ALG_RSA_PSS_SHA512, 0},
    {"rsa-v1_5-sha256", NULL, P11A_ALG_RSA_PKCS1_SHA256, 0},
    {"ecdsa-p256-sha256", "P-256", P11A_ALG_ECDSA_SHA256, P11A_SIGN_ECDSA_RAW},
    {"ecdsa-p384-sha384", "P-384", P11A_ALG_ECDSA_SHA384, P11A_SIGN_ECDSA_RAW},
    {"ed25519", NULL, P11A_ALG_ED25519, 0},
};

const char *p11a_http_alg_at(size_t i)
{
	return i < sizeof(algs) / sizeof(algs[0]) ? algs[i].name : NULL;
}

/* The names of the algorithms, ", "-separated, for messages. */
static const char *alg_names(char *out, size_t out_len)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		n = snprintf(out + used, out_len - used, "%s%s", i > 0 ? ", " : "", algs[i].name);
		if (n < 0 || (size_t)n >= out_len - used)
			break;
		used += (size_t)n;
	}
	return out;
}

/* The key type an algorithm needs. */
static p11a_key_type alg_key_type(const struct http_alg *a)
{
	return p11a_alg_by_id(a->alg)->key_type;
}

static const struct http_alg *alg_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	}
	return NULL;
}

static int alg_fits(const struct http_alg *a, const struct p11a_key_info *k)
{
	return alg_key_type(a) == k->type && (a->curve == NULL || strcmp(a->curve, k->curve) == 0);
}

static const struct http_alg *alg_for_key(const struct p11a_key_info *k)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (alg_fits(&algs[i], k))
			return &algs[i];
	}
	return NULL;
}

/* A key as messages name it: "an RSA key", "an EC P-256 key". */
static void key_kind(const struct p11a_key_info *k, char *out, size_t out_len)
{
	switch (k->type) {
	case P11A_KEY_RSA:
		snprintf(out, out_len, "an RSA key");
		break;
	case P11A_KEY_EC:
		snprintf(out, out_len, "an EC %s key", k->curve);
		break;
	case P11A_KEY_ED25519:
		snprintf(out, out_len, "an Ed25519 key");
		break;
	case P11A_KEY_HMAC:
		snprintf(out, out_len, "an HMAC secret key");
		break;
	case P11A_KEY_AES:
		snprintf(out, out_len, "an AES key");
		break;
	default:
		snprintf(out, out_len, "a key of unknown type");
		break;
	}
}

/*
 * The algorithm to use with key k: name (checked against k) or k's default.
 * P11A_ERR_BAD_INPUT when there is none that fits.
 */
static int pick_alg(const struct p11a_key_info *k, const char *keyname, const char *name,
		    const struct http_alg **out)
{
	const struct http_alg *a;
	char kind[64], names[128];

	key_kind(k, kind, sizeof(kind));
	if (name != NULL) {
		if ((a = alg_by_name(name)) == NULL)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "unknown algorithm '%.40s'; valid: %s", name,
					    alg_names(names, sizeof(names)));
		if (!alg_fits(a, k))
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "algorithm %s does not fit key '%s', %s", a->name,
					    keyname, kind);
	} else if ((a = alg_for_key(k)) == NULL) {
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "key '%s' is %s: no RFC 9421 algorithm signs with it", keyname,
				    kind);
	}
	*out = a;
	return P11A_OK;
}

/* Describes key and picks the algorithm name or its default. */
static int key_alg(struct p11a_conn *conn, const char *key, const char *name,
		   const struct http_alg **out)
{
	struct p11a_key_info *k = NULL;
	int err;

	if (conn == NULL || key == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG,
				    "finding the key's algorithm needs the agent and the key");
	if ((err = p11a_describe_key(conn, key, &k)) != P11A_OK)
		return httpmsg_fail(err, "describe key '%s': %s%s%s", key, p11a_strerror(err),
				    *p11a_conn_message(conn) != '\0' ? ": " : "",
				    p11a_conn_message(conn));
	err = pick_alg(k, key, name, out);
	p11a_keys_free(k, 1);
	return err;
}

/* Builds the base for p; *out_alg (may be NULL) the algorithm when conn and key were asked. */
static int base_for(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		    const struct p11a_http_msg *req, const struct p11a_http_sign_params *p,
		    const struct http_alg **out_alg, struct sfv_member *inner, struct buf *base)
{
	const struct http_alg *a = NULL;
	char names[128];
	int err;

	if (p->alg != NULL && (a = alg_by_name(p->alg)) == NULL)
		return httpmsg_fail(P11A_ERR_BAD_INPUT, "unknown algorithm '%.40s'; valid: %s",
				    p->alg, alg_names(names, sizeof(names)));
	if (out_alg != NULL || (p->alg_param && p->alg == NULL)) {
		if ((err = key_alg(conn, key, p->alg, &a)) != P11A_OK)
			return err;
	}
	if (p->label != NULL && !sfv_key_ok(p->label))
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "the label '%.40s' is not an RFC 9651 key (a lowercase letter "
				    "or '*', then lowercase letters, digits, _ - . *)",
				    p->label);
	if ((err = httpbase_new_signature(msg, p, p->alg_param ? a->name : NULL, inner)) != P11A_OK)
		return err;
	if ((err = httpbase_build(inner, msg, req, base)) != P11A_OK) {
		sfv_member_free(inner);
		return err;
	}
	if (out_alg != NULL)
		*out_alg = a;
	return P11A_OK;
}

int p11a_http_base(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, const struct p11a_http_sign_params *p,
		   char **out_base, size_t *out_len)
{
	struct sfv_member inner;
	struct buf *base;
	char *s;
	int err;

	httpmsg_clear_why();
	if (msg == NULL || p == NULL || out_base == NULL || out_len == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	if ((base = buf_new(0)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	if ((err = base_for(conn, key, msg, req, p, NULL, &inner, base)) == P11A_OK) {
		sfv_member_free(&inner);
		if ((s = malloc(buf_len(base) + 1)) == NULL) {
			err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		} else {
			memcpy(s, buf_data(base), buf_len(base));
			s[buf_len(base)] = '\0';
			*out_base = s;
			*out_len = buf_len(base);
		}
	}
	buf_free(base);
	return err;
}

/*
 * The combined value of the signature fields of m, parsed as Dictionaries.
 * A message without them gives empty ones.
 */
static int sig_fields(const struct p11a_http_msg *m, struct sfv_list *input, struct sfv_list *sigs)
{
	static const char *const names[2] = {"signature-input", "signature"};
	struct sfv_list *out[2] = {input, sigs};
	struct buf *j;
	size_t k;
	int err = P11A_OK;

	memset(input, 0, sizeof(*input));
	memset(sigs, 0, sizeof(*sigs));
	if ((j = buf_new(0)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	for (k = 0; k < 2 && err == P11A_OK; k++) {
		buf_reset(j);
		err = httpmsg_combined(m, names[k], j);
		if (err == P11A_OK && buf_len(j) > 0 &&
		    sfv_parse_dict((const char *)buf_data(j), buf_len(j), out[k]) != P11A_OK)
			err = httpmsg_fail(P11A_ERR_BAD_INPUT,
					   "the message's %s field is not an RFC 9651 Dictionary "
					   "(RFC 9421, 4), or holds more than %u members, items or "
					   "parameters",
					   k == 0 ? "Signature-Input" : "Signature",
					   (unsigned)SFV_MAX_MEMBERS);
	}
	buf_free(j);
	if (err != P11A_OK) {
		sfv_list_free(input);
		sfv_list_free(sigs);
	}
	return err;
}

int p11a_http_sign(struct p11a_conn *conn, const char *key, struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, const struct p11a_http_sign_params *p)
{
	struct sfv_list input, sigs;
	struct sfv_member inner;
	const struct http_alg *a = NULL;
	const char *label;
	struct buf *base = NULL, *field = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int err;

	httpmsg_clear_why();
	if (conn == NULL || key == NULL || msg == NULL || p == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	label = p->label != NULL ? p->label : DEFAULT_LABEL;
	if ((err = sig_fields(msg, &input, &sigs)) != P11A_OK)
		return err;
	if (sfv_dict_get(&input, label) != NULL || sfv_dict_get(&sigs, label) != NULL)
		err = httpmsg_fail(P11A_ERR_BAD_INPUT,
				   "the message has a signature labelled '%s' already; choose "
				   "another label",
				   label);
	sfv_list_free(&input);
	sfv_list_free(&sigs);
	if (err != P11A_OK)
		return err;
	if ((base = buf_new(0)) == NULL || (field = buf_new(0)) == NULL) {
		err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((err = base_for(conn, key, msg, req, p, &a, &inner, base)) != P11A_OK)
		goto out;
	err = p11a_sign(conn, key, a->alg, a->flags, buf_data(base), buf_len(base), &sig, &sig_len);
	if (err != P11A_OK) {
		err = httpmsg_fail(err, "sign with '%s': %s%s%s", key, p11a_strerror(err),
				   *p11a_conn_message(conn) != '\0' ? ": " : "",
				   p11a_conn_message(conn));
	} else {
		struct sfv_value v = {SFV_BYTES, 0, (char *)sig, sig_len};

		if ((err = buf_put(field, label, strlen(label))) == P11A_OK &&
		    (err = buf_put_u8(field, '=')) == P11A_OK &&
		    (err = sfv_put_member(field, &inner)) == P11A_OK &&
		    (err = buf_put_u8(field, '\0')) == P11A_OK)
			err = p11a_http_add_field(msg, "Signature-Input",
						  (const char *)buf_data(field));
		buf_reset(field);
		if (err == P11A_OK && (err = buf_put(field, label, strlen(label))) == P11A_OK &&
		    (err = buf_put_u8(field, '=')) == P11A_OK &&
		    (err = sfv_put_value(field, &v)) == P11A_OK &&
		    (err = buf_put_u8(field, '\0')) == P11A_OK)
			err = p11a_http_add_field(msg, "Signature", (const char *)buf_data(field));
		if (err != P11A_OK && *p11a_http_message() == '\0')
			err = httpmsg_fail(err, "out of memory");
	}
	sfv_member_free(&inner);
out:
	p11a_free(sig, sig_len);
	buf_free(base);
	buf_free(field);
	return err;
}

/* ------------------------------------------------------------------------ */
/* Verifying */

/* Checks sig over base with the public key spki (DER), as algorithm a says. */
static int verify_public(const struct http_alg *a, const uint8_t *spki, size_t spki_len,
			 const uint8_t *base, size_t base_len, const uint8_t *sig, size_t sig_len,
			 int *out_valid)
{
	const unsigned char *p = spki;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = p11a_alg_by_id(a->alg)->hash; /* NULL: Ed25519 hashes itself */
	uint8_t *der = NULL;
	size_t der_len = 0;
	int err = P11A_OK, rc;

	if (pkey == NULL || ctx == NULL) {
		err = httpmsg_fail(P11A_ERR_CRYPTO, "OpenSSL could not read the key's public key");
		goto out;
	}
	if (a->flags & P11A_SIGN_ECDSA_RAW) {
		/* RFC 9421 writes r||s; OpenSSL checks DER. */
		if (sig_len != (strcmp(a->curve, "P-256") == 0 ? 64u : 96u)) {
			*out_valid = 0;
			httpmsg_fail(P11A_OK, "signature mismatch (%zu bytes, not r||s of %s)",
				     sig_len, a->curve);
			goto out;
		}
		if ((err = sigfmt_ecdsa_raw_to_der(sig, sig_len, &der, &der_len)) != P11A_OK) {
			err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
			goto out;
		}
		sig = der;
		sig_len = der_len;
	}
	if (EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) != 1 ||
	    (a->alg == P11A_ALG_RSA_PSS_SHA512 &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 64) != 1 ||
	      EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA512", NULL) != 1))) {
		err =
		    httpmsg_fail(P11A_ERR_CRYPTO, "OpenSSL cannot check %s with this key", a->name);
		goto out;
	}
	rc = EVP_DigestVerify(ctx, sig, sig_len, base, base_len);
	*out_valid = rc == 1;
	if (rc != 1)
		httpmsg_fail(P11A_OK, "signature mismatch");
out:
	ERR_clear_error();
	free(der);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return err;
}

/* The reason a check failed: sets *valid to 0 and the thread's reason. */
static int invalid(int *valid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int invalid(int *valid, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	*valid = 0;
	return httpmsg_fail(P11A_OK, "%s", text);
}

/*
 * Checks a covered Content-Digest against the body of m: every sha-256 and
 * sha-512 digest in it must match, and one must be there.
 */
static int check_digest(const struct p11a_http_msg *m, int *valid)
{
	struct sfv_list l;
	struct buf *j = buf_new(0);
	size_t i, known = 0;
	int err = P11A_OK;

	if (j == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	err = httpmsg_combined(m, "content-digest", j);
	if (err != P11A_OK || sfv_parse_dict((const char *)buf_data(j), buf_len(j), &l) != 0) {
		buf_free(j);
		return invalid(valid, "the Content-Digest field is not a Dictionary");
	}
	buf_free(j);
	for (i = 0; i < l.n && *valid; i++) {
		const struct sfv_member *mem = &l.members[i];
		const EVP_MD *md = strcmp(mem->key, "sha-256") == 0   ? EVP_sha256()
				   : strcmp(mem->key, "sha-512") == 0 ? EVP_sha512()
								      : NULL;
		unsigned char d[EVP_MAX_MD_SIZE];
		unsigned int d_len = 0;

		if (md == NULL)
			continue;
		known++;
		if (mem->inner || mem->item.value.type != SFV_BYTES)
			invalid(valid, "the Content-Digest %s is not a byte sequence", mem->key);
		else if (EVP_Digest(m->body, m->body_len, d, &d_len, md, NULL) != 1)
			err = httpmsg_fail(P11A_ERR_CRYPTO, "OpenSSL could not hash the body");
		else if (mem->item.value.len != d_len ||
			 CRYPTO_memcmp(mem->item.value.str, d, d_len) != 0)
			invalid(valid,
				"content digest mismatch: the body's %s is not the one "
				"Content-Digest gives (the body changed)",
				mem->key);
	}
	if (err == P11A_OK && *valid && known == 0)
		invalid(valid,
			"the Content-Digest field has no sha-256 or sha-512 digest to check");
	sfv_list_free(&l);
	return err;
}

/* The labels of input, ", "-separated, for a message. */
static void label_names(const struct sfv_list *input, char *out, size_t out_len)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; i < input->n; i++) {
		n = snprintf(out + used, out_len - used, "%s%s", i > 0 ? ", " : "",
			     input->members[i].key);
		if (n < 0 || (size_t)n >= out_len - used)
			break;
		used += (size_t)n;
	}
}

/*
 * The signature labelled *label (NULL: the message's only one) in the
 * message's Signature-Input (input) and Signature (sigs); *label becomes its
 * label. BAD_INPUT when there is no such signature or it is malformed.
 */
static int pick_signature(const struct sfv_list *input, const struct sfv_list *sigs,
			  const char **label, const struct sfv_member **out_sig,
			  const struct sfv_member **out_value)
{
	const struct sfv_member *sig, *value;
	char names[256];

	if (input->n == 0)
		return httpmsg_fail(P11A_ERR_BAD_INPUT, "the message has no Signature-Input field");
	if (*label == NULL) {
		if (input->n > 1) {
			label_names(input, names, sizeof(names));
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "the message has %zu signatures (%s): choose one by "
					    "its label",
					    input->n, names);
		}
		*label = input->members[0].key;
	}
	if ((sig = sfv_dict_get(input, *label)) == NULL) {
		label_names(input, names, sizeof(names));
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "the message has no signature labelled '%.40s' (it has: %s)",
				    *label, names);
	}
	if (!sig->inner)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    "Signature-Input '%s' is not a list of components", *label);
	value = sfv_dict_get(sigs, *label);
	if (value == NULL || value->inner || value->item.value.type != SFV_BYTES)
		return httpmsg_fail(P11A_ERR_BAD_INPUT,
				    value == NULL ? "the message's Signature field has no '%s'"
						  : "Signature '%s' is not a byte sequence",
				    *label);
	*out_sig = sig;
	*out_value = value;
	return P11A_OK;
}

/* Checks that sig covers each component of the list require. */
static int check_required(const char *require, const struct sfv_member *sig, int *valid)
{
	struct buf *a = buf_new(0), *b = buf_new(0);
	struct sfv_member req;
	size_t i, k;
	int err, found;

	if (a == NULL || b == NULL) {
		err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((err = httpbase_list(require, "required components", &req)) != P11A_OK)
		goto out;
	for (i = 0; i < req.n_items && *valid; i++) {
		buf_reset(a);
		if ((err = sfv_put_item(a, &req.items[i])) != P11A_OK)
			break;
		for (k = 0, found = 0; k < sig->n_items && !found; k++) {
			buf_reset(b);
			if ((err = sfv_put_item(b, &sig->items[k])) != P11A_OK)
				break;
			found = buf_len(a) == buf_len(b) &&
				memcmp(buf_data(a), buf_data(b), buf_len(a)) == 0;
		}
		if (!found)
			invalid(valid, "component %.*s is not covered, and it is required",
				(int)buf_len(a), (const char *)buf_data(a));
	}
	sfv_member_free(&req);
out:
	buf_free(a);
	buf_free(b);
	return err;
}

/* created, expires and alg, from the signature's parameters; BAD_INPUT when of a wrong type. */
struct sig_params {
	int64_t created, expires; /* -1: absent */
	const char *alg, *keyid;  /* NULL: absent */
};

static int read_params(const struct sfv_member *sig, const char *label, struct sig_params *out)
{
	static const char *const ints[] = {"created", "expires"};
	static const char *const strs[] = {"nonce", "alg", "keyid", "tag"};
	const struct sfv_value *v;
	size_t i;

	out->created = out->expires = -1;
	out->alg = out->keyid = NULL;
	for (i = 0; i < 2; i++) {
		if ((v = sfv_params_get(sig->params, sig->n_params, ints[i])) == NULL)
			continue;
		if (v->type != SFV_INTEGER || v->num < 0)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "signature '%s': its %s parameter is not a time", label,
					    ints[i]);
		*(i == 0 ? &out->created : &out->expires) = v->num;
	}
	for (i = 0; i < 4; i++) {
		if ((v = sfv_params_get(sig->params, sig->n_params, strs[i])) == NULL)
			continue;
		if (v->type != SFV_STRING)
			return httpmsg_fail(P11A_ERR_BAD_INPUT,
					    "signature '%s': its %s parameter is not a string",
					    label, strs[i]);
		if (i == 1)
			out->alg = v->str;
		else if (i == 2)
			out->keyid = v->str;
	}
	return P11A_OK;
}

/* Checks sig with key: in the token for an HMAC, here with the public key otherwise. */
static int check_signature(struct p11a_conn *conn, const char *key, const struct http_alg *a,
			   const struct buf *base, const struct sfv_value *sig, int *valid)
{
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int err;

	if (alg_key_type(a) == P11A_KEY_HMAC) {
		err = p11a_verify_hmac(conn, key, a->alg, buf_data(base), buf_len(base),
				       (const uint8_t *)sig->str, sig->len, valid);
		if (err != P11A_OK)
			return httpmsg_fail(
			    err, "verify with '%s': %s%s%s", key, p11a_strerror(err),
			    *p11a_conn_message(conn) != '\0' ? ": " : "", p11a_conn_message(conn));
		if (!*valid)
			httpmsg_fail(P11A_OK, "signature mismatch");
		return P11A_OK;
	}
	if ((err = p11a_pubkey(conn, key, &spki, &spki_len)) != P11A_OK)
		return httpmsg_fail(err, "public key of '%s': %s%s%s", key, p11a_strerror(err),
				    *p11a_conn_message(conn) != '\0' ? ": " : "",
				    p11a_conn_message(conn));
	err = verify_public(a, spki, spki_len, buf_data(base), buf_len(base),
			    (const uint8_t *)sig->str, sig->len, valid);
	p11a_free(spki, spki_len);
	return err;
}

/* Whether the signature covers the field content-digest of m (req: of the request). */
static int covers_digest(const struct sfv_member *sig, int req)
{
	size_t i;

	for (i = 0; i < sig->n_items; i++) {
		const struct sfv_item *it = &sig->items[i];

		if (it->value.type == SFV_STRING && strcmp(it->value.str, "content-digest") == 0 &&
		    (sfv_params_get(it->params, it->n_params, "req") != NULL) == req)
			return 1;
	}
	return 0;
}

static int verify(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		  const struct p11a_http_msg *req, const struct p11a_http_verify_params *p,
		  const struct sfv_list *input, const struct sfv_list *sigs, int *valid)
{
	const struct sfv_member *sig, *value;
	const struct http_alg *a;
	struct sig_params sp;
	struct buf *base;
	const char *label = p->label, *alg_name;
	int64_t now = p->now != 0 ? p->now : (int64_t)time(NULL);
	int err;

	if ((err = pick_signature(input, sigs, &label, &sig, &value)) != P11A_OK)
		return err;
	if ((err = read_params(sig, label, &sp)) != P11A_OK)
		return err;
	alg_name = p->alg != NULL ? p->alg : sp.alg;
	if (p->alg != NULL && sp.alg != NULL && strcmp(p->alg, sp.alg) != 0)
		return invalid(valid, "the signature says alg=\"%.40s\", not %s", sp.alg, p->alg);
	if ((err = key_alg(conn, key, alg_name, &a)) != P11A_OK) {
		if (err != P11A_ERR_BAD_INPUT || sp.alg == NULL || p->alg != NULL)
			return err;
		/* An alg parameter that does not fit the key: not this key's signature. */
		return invalid(valid, "%s", p11a_http_message());
	}
	if ((base = buf_new(0)) == NULL)
		return httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
	err = httpbase_build(sig, msg, req, base);
	if (err == P11A_ERR_BAD_INPUT) {
		/* The message lacks what the signature covers: not valid. */
		invalid(valid, "%s", p11a_http_message());
		err = P11A_OK;
		goto out;
	}
	if (err != P11A_OK)
		goto out;
	if ((err = check_signature(conn, key, a, base, &value->item.value, valid)) != P11A_OK ||
	    !*valid)
		goto out;
	if (p->require != NULL &&
	    ((err = check_required(p->require, sig, valid)) != P11A_OK || !*valid))
		goto out;
	if (sp.expires >= 0 && sp.expires <= now) {
		invalid(valid, "expired at %lld (%lld s ago)", (long long)sp.expires,
			(long long)(now - sp.expires));
		goto out;
	}
	if (sp.created >= 0 && sp.created > now + CLOCK_SKEW) {
		invalid(valid, "created %lld is %lld s in the future", (long long)sp.created,
			(long long)(sp.created - now));
		goto out;
	}
	if (p->max_age > 0) {
		if (sp.created < 0) {
			invalid(valid, "no created parameter, so its age cannot be checked");
			goto out;
		}
		if (now - sp.created > p->max_age) {
			invalid(
			    valid,
			    "created %lld is older than the maximum age of %lld s (it is %lld s "
			    "old)",
			    (long long)sp.created, (long long)p->max_age,
			    (long long)(now - sp.created));
			goto out;
		}
	}
	if (covers_digest(sig, 0) && ((err = check_digest(msg, valid)) != P11A_OK || !*valid))
		goto out;
	if (req != NULL && covers_digest(sig, 1) &&
	    ((err = check_digest(req, valid)) != P11A_OK || !*valid))
		goto out;
	*valid = 1;
	httpmsg_fail(P11A_OK, "signature '%s' (%s%s%s) is valid", label, a->name,
		     sp.keyid != NULL ? ", keyid " : "", sp.keyid != NULL ? sp.keyid : "");
out:
	buf_free(base);
	return err;
}

int p11a_http_verify(struct p11a_conn *conn, const char *key, const struct p11a_http_msg *msg,
		     const struct p11a_http_msg *req, const struct p11a_http_verify_params *p,
		     int *out_valid)
{
	struct sfv_list input, sigs;
	int err, valid = 0;

	httpmsg_clear_why();
	if (conn == NULL || key == NULL || msg == NULL || p == NULL || out_valid == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	if (p->max_age < 0)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "max_age is negative");
	if ((err = sig_fields(msg, &input, &sigs)) != P11A_OK)
		return err;
	err = verify(conn, key, msg, req, p, &input, &sigs, &valid);
	sfv_list_free(&input);
	sfv_list_free(&sigs);
	if (err == P11A_OK)
		*out_valid = valid;
	return err;
}

void p11a_http_sig_info_free(struct p11a_http_sig_info *info)
{
	if (info == NULL)
		return;
	free(info->label);
	free(info->signature_params);
	free(info->nonce);
	free(info->alg);
	free(info->keyid);
	free(info->tag);
	free(info);
}

/* A copy of the string parameter key of sig, or NULL; *failed when out of memory. */
static char *param_copy(const struct sfv_member *sig, const char *key, int *failed)
{
	const struct sfv_value *v = sfv_params_get(sig->params, sig->n_params, key);
	char *s;

	if (v == NULL || v->type != SFV_STRING)
		return NULL;
	if ((s = strdup(v->str)) == NULL)
		*failed = 1;
	return s;
}

int p11a_http_signature_info(const struct p11a_http_msg *msg, const char *label,
			     struct p11a_http_sig_info **out_info)
{
	struct sfv_list input, sigs;
	const struct sfv_member *sig, *value;
	struct p11a_http_sig_info *info = NULL;
	struct sig_params sp;
	struct buf *b = NULL;
	int err, failed = 0;

	httpmsg_clear_why();
	if (msg == NULL || out_info == NULL)
		return httpmsg_fail(P11A_ERR_INVALID_ARG, "invalid argument");
	if ((err = sig_fields(msg, &input, &sigs)) != P11A_OK)
		return err;
	if ((err = pick_signature(&input, &sigs, &label, &sig, &value)) != P11A_OK ||
	    (err = read_params(sig, label, &sp)) != P11A_OK)
		goto out;
	if ((info = calloc(1, sizeof(*info))) == NULL || (b = buf_new(0)) == NULL ||
	    sfv_put_member(b, sig) != P11A_OK || buf_put_u8(b, '\0') != P11A_OK ||
	    (info->label = strdup(label)) == NULL ||
	    (info->signature_params = strdup((const char *)buf_data(b))) == NULL)
		failed = 1;
	if (info != NULL) {
		info->created = sp.created;
		info->expires = sp.expires;
		info->nonce = param_copy(sig, "nonce", &failed);
		info->alg = param_copy(sig, "alg", &failed);
		info->keyid = param_copy(sig, "keyid", &failed);
		info->tag = param_copy(sig, "tag", &failed);
	}
	if (failed) {
		err = httpmsg_fail(P11A_ERR_NOMEM, "out of memory");
		goto out;
	}
	*out_info = info;
	info = NULL;
out:
	p11a_http_sig_info_free(info);
	buf_free(b);
	sfv_list_free(&input);
	sfv_list_free(&sigs);
	return err;
}
