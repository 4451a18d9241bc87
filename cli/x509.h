/*
 * x509: subject names, subjectAltName lists, PKCS#10 certificate requests
 * and X.509 certificates, signed by a key this process does not hold.
 *
 * The bytes to be signed (the request's or the certificate's TBS DER) go to
 * a callback, which has the agent sign them, and the signature comes back
 * into the structure. The signature algorithm follows from the signing key's
 * public key: RSA signs sha256WithRSAEncryption (PKCS#1 v1.5), EC keys on
 * P-256, P-384 and P-521 ecdsa-with-SHA256, -SHA384 and -SHA512, Ed25519
 * keys Ed25519. Everything here is local (OpenSSL only, no agent).
 *
 * Functions return P11A_OK or a p11a_err with a one-line message in msg:
 * P11A_ERR_BAD_INPUT for text, a request or a certificate that is wrong
 * (the message names the bad part), P11A_ERR_NOT_SUPPORTED for a key no
 * algorithm here fits, P11A_ERR_CRYPTO, P11A_ERR_NOMEM. A failure of the
 * sign callback is returned as the callback returned it, msg untouched: the
 * caller, who knows what the callback asked, reports it. Outputs are set
 * only on success.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_X509_H
#define P11AGENT_CLI_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "p11agent.h"

/* Longest subject or subjectAltName text, in bytes. */
#define CLI_X509_TEXT_MAX 4096
/* Most attributes in a subject, most names in a subjectAltName list. */
#define CLI_X509_MAX_ITEMS 64
/* Longest validity, in days (100 years). */
#define CLI_X509_DAYS_MAX 36500
/* Largest certificate request read (PEM or DER). */
#define CLI_X509_CSR_MAX (64u * 1024u)

/*
 * Signs tbs (the DER to be signed, the message itself: the signer hashes it)
 * with the algorithm cli_x509_sig_alg() gives for the signer's key. Returns
 * P11A_OK and sets *out_sig to a malloc'd signature (ECDSA as a DER
 * ECDSA-Sig-Value), which the caller free()s; or any p11a_err, which the
 * functions here return as it is.
 */
typedef int (*cli_x509_sign_fn)(void *arg, const uint8_t *tbs, size_t tbs_len, uint8_t **out_sig,
				size_t *out_sig_len);

/* A key that signs through a callback. */
struct cli_x509_signer {
	EVP_PKEY *pub; /* its public key: the algorithm, and the check of each signature */
	cli_x509_sign_fn sign;
	void *arg; /* passed to sign */
};

/*
 * The algorithm pub's key signs certificates and requests with:
 * P11A_ALG_RSA_PKCS1_SHA256, P11A_ALG_ECDSA_SHA256/384/512 (by curve) or
 * P11A_ALG_ED25519. P11A_ERR_NOT_SUPPORTED for other keys and curves.
 */
int cli_x509_sig_alg(const EVP_PKEY *pub, p11a_alg *out_alg, char *msg, size_t msg_len);

/*
 * Parses a distinguished name written as RFC 4514 writes it,
 * "CN=foo,O=Bar,C=DE": the most specific attribute first (so C=DE comes
 * first in the name itself, as openssl prints it), ',' between attributes,
 * '+' between those of a multi-valued RDN. Attributes: CN, O, OU, C, L, ST,
 * emailAddress, serialNumber, DC (any case), or a dotted OID; values are
 * UTF-8; spaces around names and values are dropped; a backslash escapes
 * one of , = + \ " ; < > # and space, or writes a byte as two hex digits.
 * Each value is checked against its attribute (C: two capital letters;
 * emailAddress, DC: ASCII; serialNumber: PrintableString; lengths as RFC
 * 5280 bounds them). Free *out with X509_NAME_free().
 */
int cli_x509_parse_name(const char *text, X509_NAME **out, char *msg, size_t msg_len);

/*
 * Parses a subjectAltName list, "DNS:a.example,IP:127.0.0.1,IP:::1,
 * email:x@y.example,URI:https://a.example/": items separated by ',' ("\,"
 * and "\\" escape those two), TYPE:VALUE each, TYPE in any case. DNS names
 * are checked as host names (ASCII letters, digits, '-'; a leading "*."
 * wildcard), IP addresses as IPv4 or IPv6, email as local@host, URIs for a
 * scheme and no spaces or non-ASCII. Free *out with GENERAL_NAMES_free().
 */
int cli_x509_parse_san(const char *text, GENERAL_NAMES **out, char *msg, size_t msg_len);

/*
 * Parses an extended key usage list, "serverAuth,clientAuth": purposes
 * separated by ',', each one of serverAuth, clientAuth, codeSigning,
 * emailProtection, timeStamping, OCSPSigning (any case) or a dotted OID;
 * none twice, at most CLI_X509_MAX_ITEMS, and timeStamping alone (RFC
 * 3161). Free *out with EXTENDED_KEY_USAGE_free().
 */
int cli_x509_parse_eku(const char *text, EXTENDED_KEY_USAGE **out, char *msg, size_t msg_len);

/*
 * Checks a subjectAltName that came from elsewhere (a certificate request)
 * as cli_x509_parse_san() checks the text it parses: 1 to
 * CLI_X509_MAX_ITEMS names, each DNS, IP (4 or 16 bytes), email or URI,
 * passing the same checks. P11A_ERR_BAD_INPUT, msg naming the first bad
 * name (its bytes quoted with anything but printable ASCII as '?').
 */
int cli_x509_check_san(const GENERAL_NAMES *names, char *msg, size_t msg_len);

/*
 * Checks a subject that came from elsewhere (a certificate request) as
 * cli_x509_parse_name() checks the text it parses: at most
 * CLI_X509_MAX_ITEMS attributes, each value text (any X.509 string type,
 * read as UTF-8) that passes its attribute's checks (no control
 * characters; C two capital letters; ASCII for emailAddress and DC;
 * RFC 5280's lengths). An empty subject passes. P11A_ERR_BAD_INPUT, msg
 * naming the first bad attribute (its bytes quoted with anything but
 * printable ASCII as '?').
 */
int cli_x509_check_name(const X509_NAME *name, char *msg, size_t msg_len);

/*
 * Makes a PKCS#10 request for key's public key: subject, and san (may be
 * NULL) as a requested subjectAltName extension; signed by key, the
 * signature checked on key->pub. Free *out with X509_REQ_free().
 */
int cli_x509_make_csr(const struct cli_x509_signer *key, const X509_NAME *subject,
		      const GENERAL_NAMES *san, X509_REQ **out, char *msg, size_t msg_len);

/*
 * Reads a certificate request, PEM ("CERTIFICATE REQUEST") or DER, and
 * checks it: version 1, a public key, a self-signature that verifies (else
 * P11A_ERR_BAD_INPUT). Free *out with X509_REQ_free().
 */
int cli_x509_read_csr(const uint8_t *in, size_t in_len, X509_REQ **out, char *msg, size_t msg_len);

/* Reads a DER certificate (nothing after it). Free *out with X509_free(). */
int cli_x509_read_cert(const uint8_t *der, size_t der_len, X509 **out, char *msg, size_t msg_len);

/* What a certificate made here says beyond its names and key. */
struct cli_x509_cert_opts {
	unsigned days;		       /* validity from now, 1 to CLI_X509_DAYS_MAX */
	int ca;			       /* a CA certificate: CA:TRUE, keyCertSign and cRLSign */
	const GENERAL_NAMES *san;      /* the subjectAltName; NULL: issue copies the request's */
	const EXTENDED_KEY_USAGE *eku; /* the extendedKeyUsage; NULL: none */
};

/*
 * Issues a certificate for req (read with cli_x509_read_csr()) signed by ca,
 * whose certificate is ca_cert: issuer ca_cert's subject, a random positive
 * 128-bit serial, valid from now for o->days, version 3, with
 * basicConstraints (critical; CA:TRUE with o->ca, else CA:FALSE), keyUsage
 * (critical; CA: keyCertSign, cRLSign, digitalSignature; else
 * digitalSignature, and keyEncipherment for an RSA key unless o->eku is
 * timeStamping alone), extendedKeyUsage
 * (o->eku when not NULL; critical when it is timeStamping alone, as RFC
 * 3161 asks),
 * subjectKeyIdentifier, authorityKeyIdentifier (ca_cert's
 * subjectKeyIdentifier, else the hash of its key) and subjectAltName
 * (o->san, else the request's, which must pass cli_x509_check_san(); none
 * when neither has one). The request's subject must pass
 * cli_x509_check_name(). Other extensions the request asks for are left
 * out. A certificate does not outlive its issuer: when o->days would take
 * notAfter past ca_cert's, notAfter is ca_cert's (the caller sees it in the
 * certificate). Refused (P11A_ERR_BAD_INPUT): a ca_cert whose key is not
 * ca->pub, that is no CA certificate or has expired; a request with neither
 * subject nor subjectAltName, or with a subject or subjectAltName that
 * fails the checks. The
 * certificate's signature is checked on ca->pub. Free *out with X509_free().
 */
int cli_x509_issue(const struct cli_x509_signer *ca, X509 *ca_cert, X509_REQ *req,
		   const struct cli_x509_cert_opts *o, X509 **out, char *msg, size_t msg_len);

/*
 * Makes a self-signed certificate for key: issuer and subject subject, key
 * key->pub, the rest as cli_x509_issue() (o->san only). Free *out with
 * X509_free().
 */
int cli_x509_self_sign(const struct cli_x509_signer *key, const X509_NAME *subject,
		       const struct cli_x509_cert_opts *o, X509 **out, char *msg, size_t msg_len);

/*
 * t as "2036-12-07 05:10:58 UTC" (as 'cert import' says when a certificate
 * expires) in buf, at least 24 bytes; "" when it cannot be written.
 * Returns buf.
 */
const char *cli_x509_time_text(const ASN1_TIME *t, char *buf, size_t buf_len);

/*
 * PEM text of a request or a certificate. *out is malloc'd and
 * NUL-terminated, *out_len its length without the NUL; free().
 */
int cli_x509_csr_pem(X509_REQ *req, char **out, size_t *out_len, char *msg, size_t msg_len);
int cli_x509_cert_pem(X509 *cert, char **out, size_t *out_len, char *msg, size_t msg_len);

#endif
