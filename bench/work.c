/*
 * work: the benchmark's operation, and its input made once at start.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "direct.h"
#include "soft.h"
#include "work.h"

static const char *const op_names[] = {
    [WORK_PING] = "ping",
    [WORK_SIGN] = "sign",
    [WORK_DECRYPT] = "decrypt",
    [WORK_UNWRAP] = "unwrap",
};

const char *work_op_name(enum work_op op)
{
	return (size_t)op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

int work_op_by_name(const char *name, enum work_op *out)
{
	enum work_op op;

	for (op = WORK_SIGN; op <= WORK_UNWRAP; op++) {
		if (strcmp(op_names[op], name) == 0) {
			*out = op;
			return 0;
		}
	}
	return -1;
}

int work_default_op(const struct p11a_alg_info *alg, enum work_op *out)
{
	if (alg->ops & P11A_OP_SIGN)
		*out = WORK_SIGN;
	else if (alg->ops & P11A_OP_DECRYPT)
		*out = WORK_DECRYPT;
	else if (alg->ops & P11A_OP_UNWRAP)
		*out = WORK_UNWRAP;
	else
		return -1;
	return 0;
}

/* The RSA key's public half: from the token through d, else from the agent. */
static int rsa_spki(const struct work *w, struct direct *d, const char *socket, uint8_t **out,
		    size_t *out_len, char *msg, size_t msg_len)
{
	struct p11a_conn *conn = NULL;
	uint8_t *der = NULL, *copy;
	size_t der_len = 0;
	int rc, ret = -1;

	if (d != NULL)
		return direct_rsa_spki(d, out, out_len, msg, msg_len);
	if ((rc = p11a_connect(socket, &conn)) != P11A_OK) {
		snprintf(msg, msg_len, "agent at %s: %s: %s",
			 socket != NULL ? socket : p11a_default_socket(), p11a_strerror(rc),
			 p11a_connect_message());
		goto out;
	}
	if ((rc = p11a_pubkey(conn, w->key, &der, &der_len)) != P11A_OK) {
		snprintf(msg, msg_len, "agent: public key of %s: %s%s%s", w->key, p11a_strerror(rc),
			 *p11a_conn_message(conn) ? ": " : "", p11a_conn_message(conn));
		goto out;
	}
	if ((copy = malloc(der_len)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	memcpy(copy, der, der_len);
	*out = copy;
	*out_len = der_len;
	ret = 0;
out:
	p11a_free(der, der_len);
	p11a_close(conn);
	return ret;
}

/* A random session key, and what the paths get: its RSA ciphertext or its AES-wrapped form. */
static int make_secret_input(struct work *w, struct direct *d, const char *socket, char *msg,
			     size_t msg_len)
{
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	int ret = -1;

	if ((w->plain = malloc(WORK_PLAIN_LEN)) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		goto out;
	}
	w->plain_len = WORK_PLAIN_LEN;
	if (soft_random(w->plain, w->plain_len) != 0) {
		snprintf(msg, msg_len, "OpenSSL: no random bytes");
		goto out;
	}
	if (w->alg->key_type == P11A_KEY_AES) {
		if (d == NULL) {
			snprintf(msg, msg_len,
				 "--alg %s: the input is wrapped in the token: give --module, "
				 "--token and --pin-source",
				 w->alg->name);
			goto out;
		}
		ret = direct_wrap(d, w->plain, w->plain_len, &w->in, &w->in_len, msg, msg_len);
		goto out;
	}
	if (rsa_spki(w, d, socket, &spki, &spki_len, msg, msg_len) != 0)
		goto out;
	/* rsa-pkcs1 has no hash: PKCS#1 v1.5 encryption. */
	if (soft_rsa_encrypt(spki, spki_len, w->alg->hash, w->plain, w->plain_len, &w->in,
			     &w->in_len) != 0) {
		snprintf(msg, msg_len,
			 "--key %s: OpenSSL cannot encrypt with %s under its public key", w->key,
			 w->alg->name);
		goto out;
	}
	ret = 0;
out:
	free(spki);
	return ret;
}

int work_make_input(struct work *w, size_t sign_len, struct direct *d, const char *socket,
		    char *msg, size_t msg_len)
{
	size_t i;

	switch (w->op) {
	case WORK_PING:
		return 0;
	case WORK_SIGN:
		/* RSA and ECDSA sign a digest (no hashing on either side); the others a message. */
		w->in_len = w->alg->input == P11A_INPUT_DIGEST ? w->alg->digest_len : sign_len;
		if ((w->in = malloc(w->in_len + 1)) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			return -1;
		}
		for (i = 0; i < w->in_len; i++)
			w->in[i] = (uint8_t)(0x5a ^ i);
		return 0;
	default:
		return make_secret_input(w, d, socket, msg, msg_len);
	}
}

void work_clear(struct work *w)
{
	free(w->in);
	w->in = NULL;
	w->in_len = 0;
	if (w->plain != NULL)
		explicit_bzero(w->plain, w->plain_len);
	free(w->plain);
	w->plain = NULL;
	w->plain_len = 0;
}
