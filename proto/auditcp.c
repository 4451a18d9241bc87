/*
 * auditcp: the audit trail's checkpoints, records that sign the records
 * before them with the agent's audit-sign-key: read one, rebuild its signed
 * message, verify its signature. See auditlog.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "auditlog.h"
#include "p11agent.h"

/* The signing algorithms of checkpoints, and the key type each needs. */
static const struct {
	const char *name;
	const char *md; /* NULL: Ed25519 signs the message itself */
	int pkey_id;
} cp_algs[] = {
    {"ecdsa-sha256", "SHA256", EVP_PKEY_EC},
    {"ecdsa-sha384", "SHA384", EVP_PKEY_EC},
    {"ecdsa-sha512", "SHA512", EVP_PKEY_EC},
    {"ed25519", NULL, EVP_PKEY_ED25519},
};

static int fail(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A string field's lowercase hex, at most max bytes. */
static int unhex(const struct auditlog_val *v, uint8_t *out, size_t max, size_t *out_len)
{
	return v->type == AUDITLOG_V_STRING ? auditlog_unhex(v->p, v->len, out, max, out_len) : -1;
}

/* A number field of the object p[0..len). */
static int u64_field(const char *p, size_t len, const char *name, uint64_t *out)
{
	struct auditlog_val v;

	return auditlog_field(p, len, name, &v) == 0 && v.type == AUDITLOG_V_NUMBER
		   ? auditlog_u64(v.p, v.len, out)
		   : -1;
}

/* Whether the string field name of p[0..len) is s. */
static int field_is(const char *p, size_t len, const char *name, const char *s)
{
	struct auditlog_val v;

	return auditlog_field(p, len, name, &v) == 0 && v.type == AUDITLOG_V_STRING &&
	       v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

int auditlog_is_checkpoint(const char *line, size_t len)
{
	return field_is(line, len, "op", AUDITLOG_OP_CHECKPOINT);
}

int auditlog_checkpoint_parse(const char *line, size_t len, struct auditlog_checkpoint *out,
			      char *msg, size_t msg_len)
{
	struct auditlog_checkpoint cp;
	struct auditlog_val v, detail;
	size_t n;

	memset(&cp, 0, sizeof(cp));
	if (u64_field(line, len, "seq", &cp.seq) != 0)
		return fail(msg, msg_len, "it has no seq");
	if (auditlog_field(line, len, "alg", &v) != 0 || v.type != AUDITLOG_V_STRING ||
	    v.len >= sizeof(cp.alg))
		return fail(msg, msg_len, "it has no alg of a signature");
	memcpy(cp.alg, v.p, v.len);
	if (!field_is(line, len, "status", "OK"))
		return fail(msg, msg_len, "its status is not OK");
	if (u64_field(line, len, "input_len", &cp.input_len) != 0)
		return fail(msg, msg_len, "it has no input_len");
	if (auditlog_field(line, len, "input_sha256", &v) != 0 ||
	    unhex(&v, cp.sha256, sizeof(cp.sha256), &n) != 0 || n != sizeof(cp.sha256))
		return fail(msg, msg_len, "it has no input_sha256");
	if (auditlog_field(line, len, "detail", &detail) != 0 || detail.type != AUDITLOG_V_OBJECT)
		return fail(msg, msg_len, "it has no detail");
	if (u64_field(detail.p, detail.len, "from_seq", &cp.from_seq) != 0 ||
	    u64_field(detail.p, detail.len, "to_seq", &cp.to_seq) != 0)
		return fail(msg, msg_len, "its detail has no from_seq or to_seq");
	if (auditlog_field(detail.p, detail.len, "sig", &v) != 0 ||
	    unhex(&v, cp.sig, sizeof(cp.sig), &cp.sig_len) != 0 || cp.sig_len == 0)
		return fail(msg, msg_len, "its detail has no sig");
	*out = cp;
	return 0;
}

size_t auditlog_checkpoint_message(const struct auditlog_checkpoint *cp, char *out)
{
	char hex[2 * AUDITLOG_MAC_LEN + 1];
	int n;

	auditlog_hex(cp->sha256, sizeof(cp->sha256), hex);
	n = snprintf(out, AUDITLOG_CHECKPOINT_MSG_MAX, AUDITLOG_CHECKPOINT_FORMAT,
		     (unsigned long long)cp->seq, (unsigned long long)cp->from_seq,
		     (unsigned long long)cp->to_seq, hex);
	return n > 0 ? (size_t)n : 0;
}

int auditlog_checkpoint_verify(EVP_PKEY *pkey, const struct auditlog_checkpoint *cp, int *out_valid,
			       char *msg, size_t msg_len)
{
	char m[AUDITLOG_CHECKPOINT_MSG_MAX];
	EVP_MD_CTX *ctx = NULL;
	size_t i, m_len;
	int rc = P11A_ERR_BAD_INPUT, ok;

	for (i = 0; i < sizeof(cp_algs) / sizeof(cp_algs[0]); i++)
		if (strcmp(cp->alg, cp_algs[i].name) == 0)
			break;
	if (i == sizeof(cp_algs) / sizeof(cp_algs[0])) {
		snprintf(msg, msg_len, "its alg %s is no checkpoint signature", cp->alg);
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != cp_algs[i].pkey_id) {
		snprintf(msg, msg_len, "its alg %s does not fit the public key (%s)", cp->alg,
			 EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC	  ? "an EC key"
			 : EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 ? "an Ed25519 key"
									  : "another type");
		goto out;
	}
	m_len = auditlog_checkpoint_message(cp, m);
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = P11A_ERR_NOMEM;
		goto out;
	}
	ok = EVP_DigestVerifyInit_ex(ctx, NULL, cp_algs[i].md, NULL, NULL, pkey, NULL) == 1 &&
	     EVP_DigestVerify(ctx, cp->sig, cp->sig_len, (const unsigned char *)m, m_len) == 1;
	ERR_clear_error();
	*out_valid = ok;
	rc = P11A_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
