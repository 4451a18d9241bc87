/*
 * agentpath: p11a_ping, p11a_sign, p11a_sign_batch, p11a_decrypt or
 * p11a_unwrap on one connection of libp11agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentpath.h"
#include "soft.h"

struct agentpath_client {
	struct p11a_conn *conn;
	const struct work *w;
	uint32_t flags;		      /* p11a_sign's */
	struct p11a_sign_item *items; /* a batch: w->batch items */
};

int agentpath_client_open(const char *socket, const struct work *w, struct agentpath_client **out,
			  char *msg, size_t msg_len)
{
	struct agentpath_client *c;
	unsigned i;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	c->w = w;
	if (w->op == WORK_SIGN && w->alg->input == P11A_INPUT_DIGEST)
		c->flags = P11A_SIGN_PREHASHED;
	if (w->op == WORK_SIGN && w->batch > 1) {
		if ((c->items = calloc(w->batch, sizeof(*c->items))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			goto fail;
		}
		for (i = 0; i < w->batch; i++) {
			c->items[i].data = w->in;
			c->items[i].data_len = w->in_len;
		}
	}
	if ((rc = p11a_connect(socket, &c->conn)) != P11A_OK) {
		snprintf(msg, msg_len, "agent at %s: %s: %s",
			 socket != NULL ? socket : p11a_default_socket(), p11a_strerror(rc),
			 p11a_connect_message());
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c->items);
	free(c);
	return -1;
}

/*
 * p11a_sign_batch of w->batch items; every signature freed. Returns its
 * p11a_err; *out_empty is set when a signature was empty.
 */
static int sign_batch(struct agentpath_client *c, int *out_empty)
{
	const struct work *w = c->w;
	unsigned i;
	int rc, empty = 0;

	rc = p11a_sign_batch(c->conn, w->key, w->alg->alg, c->flags, c->items, w->batch);
	if (rc != P11A_OK)
		return rc;
	for (i = 0; i < w->batch; i++) {
		empty |= c->items[i].sig_len == 0;
		p11a_free(c->items[i].sig, c->items[i].sig_len);
		c->items[i].sig = NULL;
		c->items[i].sig_len = 0;
	}
	*out_empty = empty;
	return P11A_OK;
}

int agentpath_client_op(struct agentpath_client *c, int check, char *msg, size_t msg_len)
{
	const struct work *w = c->w;
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc, empty = 0;

	switch (w->op) {
	case WORK_PING:
		rc = p11a_ping(c->conn);
		break;
	case WORK_SIGN:
		if (c->items != NULL)
			rc = sign_batch(c, &empty);
		else
			rc = p11a_sign(c->conn, w->key, w->alg->alg, c->flags, w->in, w->in_len,
				       &out, &out_len);
		break;
	case WORK_DECRYPT:
		rc = p11a_decrypt(c->conn, w->key, w->alg->alg, NULL, 0, w->in, w->in_len, &out,
				  &out_len);
		break;
	default:
		rc = p11a_unwrap(c->conn, w->key, w->alg->alg, NULL, 0, w->plain_len, w->in,
				 w->in_len, &out, &out_len);
		break;
	}
	if (rc != P11A_OK) {
		snprintf(msg, msg_len, "agent: %s%s%s", p11a_strerror(rc),
			 *p11a_conn_message(c->conn) ? ": " : "", p11a_conn_message(c->conn));
		return -1;
	}
	rc = 0;
	if (check && w->op == WORK_SIGN && (c->items != NULL ? empty : out_len == 0)) {
		snprintf(msg, msg_len, "agent: an empty signature");
		rc = -1;
	} else if (check && (w->op == WORK_DECRYPT || w->op == WORK_UNWRAP) &&
		   (out_len != w->plain_len || !soft_equal(out, w->plain, out_len))) {
		if (out_len != w->plain_len)
			snprintf(msg, msg_len,
				 "agent: %s with %s gave %zu bytes, expected %zu: a "
				 "wrong result",
				 work_op_name(w->op), w->alg->name, out_len, w->plain_len);
		else
			snprintf(msg, msg_len, "agent: %s with %s gave the wrong %zu bytes",
				 work_op_name(w->op), w->alg->name, out_len);
		rc = -1;
	}
	p11a_free(out, out_len);
	return rc;
}

/* Is name one of the comma-separated names of list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; p != NULL && *p != '\0'; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

int agentpath_alg_in_software(struct agentpath_client *c, char *msg, size_t msg_len)
{
	struct p11a_key_info *info = NULL;
	int rc, ret;

	if ((rc = p11a_describe_key(c->conn, c->w->key, &info)) != P11A_OK) {
		snprintf(msg, msg_len, "agent: key %s: %s%s%s", c->w->key, p11a_strerror(rc),
			 *p11a_conn_message(c->conn) ? ": " : "", p11a_conn_message(c->conn));
		return -1;
	}
	ret = in_list(info->sw_algs, c->w->alg->name);
	p11a_keys_free(info, 1);
	return ret;
}

void agentpath_client_close(struct agentpath_client *c)
{
	if (c == NULL)
		return;
	p11a_close(c->conn);
	free(c->items);
	free(c);
}
