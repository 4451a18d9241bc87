/*
 * x509: PKCS#10 requests and X.509 certificates signed through a callback,
 * by a key this process does not hold. See x509.h.
 *
 * A request or a certificate is filled in with OpenSSL, its signature
 * AlgorithmIdentifier set for the signing key, its TBS part encoded and
 * handed to the callback, and the signature put in. What was made is then
 * encoded, read back and verified on the signing key's public key, so that
 * what the caller gets is what any verifier will read.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "x509.h"

/* A signature algorithm: the agent's and the AlgorithmIdentifier's. */
struct sig_alg {
	p11a_alg alg;
	int nid;	 /* the AlgorithmIdentifier's algorithm */
	int null_params; /* RSA: NULL parameters; ECDSA, Ed25519: none */
};

/* Room for a name in a message. */
#define NAME_TEXT_MAX 256

static int fail(char *msg, size_t msg_len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a message and returns err; OpenSSL's error queue is emptied. */
static int fail(char *msg, size_t msg_len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return err;
}

/* The subject or issuer name, as RFC 4514 writes it, for a message. */
static const char *name_text(const X509_NAME *name, char *buf, size_t buf_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int n = -1;

	if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_read(bio, buf, (int)buf_len - 1);
	BIO_free(bio);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return n > 0 ? buf : "(empty)";
}

static int key_sig_alg(const EVP_PKEY *pub, struct sig_alg *out, char *msg, size_t msg_len)
{
	char group[64];
	int nid;

	if (EVP_PKEY_is_a(pub, "RSA")) {
		*out = (struct sig_alg){P11A_ALG_RSA_PKCS1_SHA256, NID_sha256WithRSAEncryption, 1};
		return P11A_OK;
	}
	if (EVP_PKEY_is_a(pub, "ED25519")) {
		*out = (struct sig_alg){P11A_ALG_ED25519, NID_ED25519, 0};
		return P11A_OK;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		if (EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL) != 1)
			return fail(msg, msg_len, P11A_ERR_NOT_SUPPORTED,
				    "an EC key without a named curve cannot sign certificates");
		nid = OBJ_txt2nid(group);
		if (nid == NID_X9_62_prime256v1)
			*out = (struct sig_alg){P11A_ALG_ECDSA_SHA256, NID_ecdsa_with_SHA256, 0};
		else if (nid == NID_secp384r1)
			*out = (struct sig_alg){P11A_ALG_ECDSA_SHA384, NID_ecdsa_with_SHA384, 0};
		else if (nid == NID_secp521r1)
			*out = (struct sig_alg){P11A_ALG_ECDSA_SHA512, NID_ecdsa_with_SHA512, 0};
		else
			return fail(msg, msg_len, P11A_ERR_NOT_SUPPORTED,
				    "an EC key on %s cannot sign certificates here: P-256, P-384 "
				    "and P-521 keys can",
				    group);
		return P11A_OK;
	}
	return fail(msg, msg_len, P11A_ERR_NOT_SUPPORTED,
		    "a %s key cannot sign certificates here: RSA, EC (P-256, P-384, P-521) and "
		    "Ed25519 keys can",
		    EVP_PKEY_get0_type_name(pub) != NULL ? EVP_PKEY_get0_type_name(pub) : "such");
}

int cli_x509_sig_alg(const EVP_PKEY *pub, p11a_alg *out_alg, char *msg, size_t msg_len)
{
	struct sig_alg a;
	int r;

	if ((r = key_sig_alg(pub, &a, msg, msg_len)) == P11A_OK)
		*out_alg = a.alg;
	return r;
}

/* Sets algor to a's AlgorithmIdentifier. */
static int set_algor(X509_ALGOR *algor, const struct sig_alg *a)
{
	return X509_ALGOR_set0(algor, OBJ_nid2obj(a->nid),
			       a->null_params ? V_ASN1_NULL : V_ASN1_UNDEF, NULL) == 1;
}

/* Signs tbs through s: *out_sig is the signature as a BIT STRING. */
static int sign_tbs(const struct cli_x509_signer *s, const uint8_t *tbs, int tbs_len,
		    ASN1_BIT_STRING **out_sig, char *msg, size_t msg_len)
{
	ASN1_BIT_STRING *bits = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int r;

	if ((r = s->sign(s->arg, tbs, (size_t)tbs_len, &sig, &sig_len)) != P11A_OK)
		return r;
	if (sig == NULL || sig_len == 0 || sig_len > INT_MAX) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "the key gave an empty signature");
		goto out;
	}
	if ((bits = ASN1_BIT_STRING_new()) == NULL ||
	    ASN1_BIT_STRING_set(bits, sig, (int)sig_len) != 1) {
		r = fail(msg, msg_len, P11A_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Every bit is used: without saying so, OpenSSL would drop trailing zero bytes. */
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	*out_sig = bits;
	bits = NULL;
	r = P11A_OK;
out:
	ASN1_BIT_STRING_free(bits);
	free(sig);
	return r;
}

int cli_x509_make_csr(const struct cli_x509_signer *key, const X509_NAME *subject,
		      const GENERAL_NAMES *san, X509_REQ **out, char *msg, size_t msg_len)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	X509_REQ *req = NULL, *done = NULL;
	X509_ALGOR *algor = NULL;
	ASN1_BIT_STRING *sig = NULL;
	uint8_t *tbs = NULL, *der = NULL;
	const uint8_t *p;
	struct sig_alg alg;
	int tbs_len, der_len = 0, r;

	if ((r = key_sig_alg(key->pub, &alg, msg, msg_len)) != P11A_OK)
		return r;
	if ((req = X509_REQ_new()) == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, subject) != 1 ||
	    X509_REQ_set_pubkey(req, key->pub) != 1) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot fill in the certificate request");
		goto out;
	}
	if (san != NULL && (X509V3_add1_i2d(&exts, NID_subject_alt_name, (void *)san, 0,
					    X509V3_ADD_DEFAULT) != 1 ||
			    X509_REQ_add_extensions(req, exts) != 1)) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO,
			 "cannot add the subjectAltName to the certificate request");
		goto out;
	}
	if ((algor = X509_ALGOR_new()) == NULL || !set_algor(algor, &alg) ||
	    X509_REQ_set1_signature_algo(req, algor) != 1 ||
	    (tbs_len = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot encode the certificate request");
		goto out;
	}
	if ((r = sign_tbs(key, tbs, tbs_len, &sig, msg, msg_len)) != P11A_OK)
		goto out;
	X509_REQ_set0_signature(req, sig);
	sig = NULL;
	/* Read back what was made, as others will read it. */
	if ((der_len = i2d_X509_REQ(req, &der)) <= 0) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot encode the certificate request");
		goto out;
	}
	p = der;
	if ((done = d2i_X509_REQ(NULL, &p, der_len)) == NULL || p != der + der_len) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot read back the certificate request");
		goto out;
	}
	if (X509_REQ_verify(done, key->pub) != 1) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO,
			 "the key's signature on the certificate request does not verify with "
			 "its public key");
		goto out;
	}
	*out = done;
	done = NULL;
	r = P11A_OK;
out:
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	ASN1_BIT_STRING_free(sig);
	X509_ALGOR_free(algor);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(done);
	X509_REQ_free(req);
	return r;
}

/* Whether in[0..len) holds PEM text: a "-----BEGIN " line somewhere. */
static int looks_pem(const uint8_t *in, size_t len)
{
	static const char begin[] = "-----BEGIN ";

	return len >= sizeof(begin) - 1 && memmem(in, len, begin, sizeof(begin) - 1) != NULL;
}

int cli_x509_read_csr(const uint8_t *in, size_t in_len, X509_REQ **out, char *msg, size_t msg_len)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	const uint8_t *p = in;
	BIO *bio = NULL;
	long version;
	int r;

	if (in_len == 0)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT, "empty, not a certificate request");
	if (in_len > CLI_X509_CSR_MAX)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "too large for a certificate request (more than %u bytes)",
			    CLI_X509_CSR_MAX);
	if (looks_pem(in, in_len)) {
		if ((bio = BIO_new_mem_buf(in, (int)in_len)) == NULL) {
			r = fail(msg, msg_len, P11A_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL) {
			r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				 "no certificate request (BEGIN CERTIFICATE REQUEST) among its PEM "
				 "blocks, or a damaged one");
			goto out;
		}
	} else if ((req = d2i_X509_REQ(NULL, &p, (long)in_len)) == NULL || p != in + in_len) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "not a certificate request: neither PEM (BEGIN CERTIFICATE REQUEST) nor "
			 "DER PKCS#10");
		goto out;
	}
	if ((version = X509_REQ_get_version(req)) != X509_REQ_VERSION_1) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "a certificate request of version %ld: PKCS#10 has only version 1 (0)",
			 version + 1);
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "the certificate request's public key cannot be read");
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "the certificate request's signature does not verify: it was not signed "
			 "by the key it holds, or was changed since");
		goto out;
	}
	*out = req;
	req = NULL;
	r = P11A_OK;
out:
	BIO_free(bio);
	X509_REQ_free(req);
	return r;
}

int cli_x509_read_cert(const uint8_t *der, size_t der_len, X509 **out, char *msg, size_t msg_len)
{
	const uint8_t *p = der;
	X509 *cert;

	if (der_len == 0 || der_len > LONG_MAX ||
	    (cert = d2i_X509(NULL, &p, (long)der_len)) == NULL)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT, "not a DER X.509 certificate");
	if (p != der + der_len) {
		X509_free(cert);
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "bytes after the DER X.509 certificate");
	}
	*out = cert;
	return P11A_OK;
}

/* What a certificate is made of, besides cli_x509_cert_opts. */
struct cert_plan {
	const X509_NAME *issuer, *subject;
	EVP_PKEY *pub; /* the subject's public key */
	/* The authorityKeyIdentifier's keyid; NULL: its own subjectKeyIdentifier (self-signed). */
	const ASN1_OCTET_STRING *issuer_key_id;
	const GENERAL_NAMES *san;	/* may be NULL */
	const ASN1_TIME *not_after_max; /* the issuer's notAfter; NULL: self-signed */
};

/* A random positive 128-bit serial number, not 0. */
static int set_serial(X509 *x)
{
	uint8_t b[16];
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1 || (bn = BN_bin2bn(b, sizeof(b), bn)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	ok = (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	     X509_set_serialNumber(x, serial) == 1;
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok;
}

/* The SHA-1 hash of x's public key (RFC 5280, 4.2.1.2, method 1). */
static ASN1_OCTET_STRING *key_id(const X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	ASN1_OCTET_STRING *id;

	if (X509_pubkey_digest(x, EVP_sha1(), md, &md_len) != 1 ||
	    (id = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (ASN1_OCTET_STRING_set(id, md, (int)md_len) != 1) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

/* keyUsage bits (RFC 5280, 4.2.1.3). */
enum {
	KU_BIT_DIGITAL_SIGNATURE = 0,
	KU_BIT_KEY_ENCIPHERMENT = 2,
	KU_BIT_KEY_CERT_SIGN = 5,
	KU_BIT_CRL_SIGN = 6,
};

/* Whether eku is timeStamping alone, which RFC 3161 (2.3) wants critical. */
static int time_stamping(const EXTENDED_KEY_USAGE *eku)
{
	return eku != NULL && sk_ASN1_OBJECT_num(eku) == 1 &&
	       OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_time_stamp;
}

/* Adds the extensions of x, in the order they are listed in x509.h. */
static int add_extensions(X509 *x, const struct cert_plan *p, const struct cli_x509_cert_opts *o)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	ASN1_OCTET_STRING *skid = key_id(x);
	const ASN1_OCTET_STRING *issuer_id = p->issuer_key_id != NULL ? p->issuer_key_id : skid;
	int ok = 0;

	if (bc == NULL || ku == NULL || akid == NULL || skid == NULL)
		goto out;
	bc->ca = o->ca ? 0xff : 0;
	if (o->ca)
		ok = ASN1_BIT_STRING_set_bit(ku, KU_BIT_KEY_CERT_SIGN, 1) &&
		     ASN1_BIT_STRING_set_bit(ku, KU_BIT_CRL_SIGN, 1) &&
		     ASN1_BIT_STRING_set_bit(ku, KU_BIT_DIGITAL_SIGNATURE, 1);
	else
		ok = ASN1_BIT_STRING_set_bit(ku, KU_BIT_DIGITAL_SIGNATURE, 1) &&
		     (!EVP_PKEY_is_a(p->pub, "RSA") || time_stamping(o->eku) ||
		      ASN1_BIT_STRING_set_bit(ku, KU_BIT_KEY_ENCIPHERMENT, 1));
	if (!ok || (akid->keyid = ASN1_OCTET_STRING_dup(issuer_id)) == NULL)
		goto out;
	ok =
	    X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1 &&
	    X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1 &&
	    (o->eku == NULL || X509_add1_ext_i2d(x, NID_ext_key_usage, (void *)o->eku,
						 time_stamping(o->eku), X509V3_ADD_DEFAULT) == 1) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) == 1 &&
	    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1;
	/* With an empty subject the subjectAltName names the subject: critical. */
	if (ok && p->san != NULL)
		ok = X509_add1_ext_i2d(x, NID_subject_alt_name, (void *)p->san,
				       X509_NAME_entry_count(p->subject) == 0,
				       X509V3_ADD_DEFAULT) == 1;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(skid);
	return ok;
}

/*
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
 * signatureValue }, from the signed TBS DER, read as a certificate.
 */
static X509 *assemble(const uint8_t *tbs, int tbs_len, const X509_ALGOR *algor,
		      const ASN1_BIT_STRING *sig)
{
	uint8_t *alg_der = NULL, *sig_der = NULL, *der = NULL, *w;
	const uint8_t *p;
	int alg_len, sig_len, body, total;
	X509 *x = NULL;

	if ((alg_len = i2d_X509_ALGOR(algor, &alg_der)) <= 0 ||
	    (sig_len = i2d_ASN1_BIT_STRING(sig, &sig_der)) <= 0 ||
	    tbs_len > INT_MAX / 2 - alg_len - sig_len)
		goto out;
	body = tbs_len + alg_len + sig_len;
	total = ASN1_object_size(1, body, V_ASN1_SEQUENCE);
	if (total <= 0 || (der = malloc((size_t)total)) == NULL)
		goto out;
	w = der;
	ASN1_put_object(&w, 1, body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(w, tbs, (size_t)tbs_len);
	memcpy(w + tbs_len, alg_der, (size_t)alg_len);
	memcpy(w + tbs_len + alg_len, sig_der, (size_t)sig_len);
	p = der;
	x = d2i_X509(NULL, &p, total);
	if (x != NULL && p != der + total) {
		X509_free(x);
		x = NULL;
	}
out:
	free(der);
	OPENSSL_free(sig_der);
	OPENSSL_free(alg_der);
	return x;
}

/* Makes, signs and checks the certificate of p and o, signed by signer. */
static int make_cert(const struct cli_x509_signer *signer, const struct cert_plan *p,
		     const struct cli_x509_cert_opts *o, X509 **out, char *msg, size_t msg_len)
{
	X509 *x = NULL, *done = NULL;
	X509_ALGOR *algor = NULL;
	ASN1_BIT_STRING *sig = NULL;
	uint8_t *tbs = NULL;
	struct sig_alg alg;
	time_t now = time(NULL);
	int tbs_len, r;

	if (o->days < 1 || o->days > CLI_X509_DAYS_MAX)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "a validity of %u days: it must be 1 to %d days", o->days,
			    CLI_X509_DAYS_MAX);
	if ((r = key_sig_alg(signer->pub, &alg, msg, msg_len)) != P11A_OK)
		return r;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    !set_serial(x) || X509_set_issuer_name(x, p->issuer) != 1 ||
	    X509_set_subject_name(x, p->subject) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)o->days, 0, &now) == NULL ||
	    (p->not_after_max != NULL &&
	     ASN1_TIME_compare(X509_get0_notAfter(x), p->not_after_max) > 0 &&
	     (X509_set1_notAfter(x, p->not_after_max) != 1 ||
	      /* UTCTime until 2049, as RFC 5280 (4.1.2.5) wants, whatever the CA's says. */
	      ASN1_TIME_normalize(X509_getm_notAfter(x)) != 1)) ||
	    X509_set_pubkey(x, p->pub) != 1 || !add_extensions(x, p, o)) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot fill in the certificate");
		goto out;
	}
	/*
	 * The signature algorithm inside the TBS part. OpenSSL has no setter for
	 * it but X509_sign(), which wants a local key: the structure is this
	 * function's own, so it is written through the getter.
	 */
	if (!set_algor((X509_ALGOR *)X509_get0_tbs_sigalg(x), &alg) ||
	    (algor = X509_ALGOR_new()) == NULL || !set_algor(algor, &alg) ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot encode the certificate");
		goto out;
	}
	if ((r = sign_tbs(signer, tbs, tbs_len, &sig, msg, msg_len)) != P11A_OK)
		goto out;
	if ((done = assemble(tbs, tbs_len, algor, sig)) == NULL) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot encode the signed certificate");
		goto out;
	}
	if (X509_verify(done, signer->pub) != 1) {
		r = fail(msg, msg_len, P11A_ERR_CRYPTO,
			 "the key's signature on the certificate does not verify with its public "
			 "key");
		goto out;
	}
	*out = done;
	done = NULL;
	r = P11A_OK;
out:
	OPENSSL_free(tbs);
	ASN1_BIT_STRING_free(sig);
	X509_ALGOR_free(algor);
	X509_free(done);
	X509_free(x);
	return r;
}

const char *cli_x509_time_text(const ASN1_TIME *t, char *buf, size_t buf_len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, buf_len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

/* The subjectAltName req asks for, or NULL (*out too) when none. */
static int req_san(X509_REQ *req, GENERAL_NAMES **out, char *msg, size_t msg_len)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *san = NULL;
	int crit = -1, r = P11A_OK;

	if (exts != NULL)
		san = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	/* crit -1: none; -2: more than one; >= 0 with NULL: one that does not decode. */
	if (san == NULL && crit != -1)
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "the certificate request's subjectAltName is %s",
			 crit == -2 ? "there more than once" : "damaged");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	*out = san;
	return r;
}

int cli_x509_issue(const struct cli_x509_signer *ca, X509 *ca_cert, X509_REQ *req,
		   const struct cli_x509_cert_opts *o, X509 **out, char *msg, size_t msg_len)
{
	char name[NAME_TEXT_MAX], when[64], why[256];
	const ASN1_OCTET_STRING *ca_id;
	ASN1_OCTET_STRING *own_id = NULL;
	GENERAL_NAMES *csr_san = NULL;
	EVP_PKEY *ca_key = X509_get0_pubkey(ca_cert);
	struct cert_plan p;
	int r;

	name_text(X509_get_subject_name(ca_cert), name, sizeof(name));
	if (ca_key == NULL || EVP_PKEY_eq(ca_key, ca->pub) != 1)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "the CA's certificate (subject %s) is not the CA key's: its public key "
			    "differs",
			    name);
	/* 1: basicConstraints CA:TRUE; 3, 4, 5 (v1 self-signed, Netscape types) do not do. */
	if (X509_check_ca(ca_cert) != 1)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "the CA's certificate (subject %s) is not a CA certificate: it needs "
			    "basicConstraints CA:TRUE and keyUsage keyCertSign",
			    name);
	if (X509_cmp_current_time(X509_get0_notAfter(ca_cert)) <= 0)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "the CA's certificate (subject %s) expired (notAfter %s)", name,
			    cli_x509_time_text(X509_get0_notAfter(ca_cert), when, sizeof(when)));
	if ((ca_id = X509_get0_subject_key_id(ca_cert)) == NULL &&
	    (ca_id = own_id = key_id(ca_cert)) == NULL)
		return fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot hash the CA's public key");
	p.issuer = X509_get_subject_name(ca_cert);
	p.subject = X509_REQ_get_subject_name(req);
	p.pub = X509_REQ_get0_pubkey(req);
	p.issuer_key_id = ca_id;
	p.san = o->san;
	p.not_after_max = X509_get0_notAfter(ca_cert);
	if (p.pub == NULL) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "the certificate request's public key cannot be read");
		goto out;
	}
	if (cli_x509_check_name(p.subject, why, sizeof(why)) != P11A_OK) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT, "the certificate request's subject: %s",
			 why);
		goto out;
	}
	if (p.san == NULL) {
		if ((r = req_san(req, &csr_san, msg, msg_len)) != P11A_OK)
			goto out;
		if (csr_san != NULL && cli_x509_check_san(csr_san, why, sizeof(why)) != P11A_OK) {
			r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
				 "the certificate request's subjectAltName: %s (--san LIST "
				 "replaces the request's names)",
				 why);
			goto out;
		}
		p.san = csr_san;
	}
	if (X509_NAME_entry_count(p.subject) == 0 &&
	    (p.san == NULL || sk_GENERAL_NAME_num(p.san) == 0)) {
		r = fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			 "the certificate request names no one: an empty subject and no "
			 "subjectAltName (give one with --san)");
		goto out;
	}
	r = make_cert(ca, &p, o, out, msg, msg_len);
out:
	GENERAL_NAMES_free(csr_san);
	ASN1_OCTET_STRING_free(own_id);
	return r;
}

int cli_x509_self_sign(const struct cli_x509_signer *key, const X509_NAME *subject,
		       const struct cli_x509_cert_opts *o, X509 **out, char *msg, size_t msg_len)
{
	struct cert_plan p = {subject, subject, key->pub, NULL, o->san, NULL};

	if (X509_NAME_entry_count(subject) == 0)
		return fail(msg, msg_len, P11A_ERR_BAD_INPUT,
			    "a self-signed certificate needs a subject");
	return make_cert(key, &p, o, out, msg, msg_len);
}

/* The text in bio, as a malloc'd string. */
static int bio_text(BIO *bio, char **out, size_t *out_len, char *msg, size_t msg_len)
{
	char *data = NULL, *text;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0 || data == NULL || (text = malloc((size_t)n + 1)) == NULL)
		return fail(msg, msg_len, P11A_ERR_NOMEM, "out of memory");
	memcpy(text, data, (size_t)n);
	text[n] = '\0';
	*out = text;
	*out_len = (size_t)n;
	return P11A_OK;
}

int cli_x509_csr_pem(X509_REQ *req, char **out, size_t *out_len, char *msg, size_t msg_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r;

	if (bio == NULL || PEM_write_bio_X509_REQ(bio, req) != 1)
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot write the request as PEM");
	else
		r = bio_text(bio, out, out_len, msg, msg_len);
	BIO_free(bio);
	return r;
}

int cli_x509_cert_pem(X509 *cert, char **out, size_t *out_len, char *msg, size_t msg_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int r;

	if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1)
		r = fail(msg, msg_len, P11A_ERR_CRYPTO, "cannot write the certificate as PEM");
	else
		r = bio_text(bio, out, out_len, msg, msg_len);
	BIO_free(bio);
	return r;
}
