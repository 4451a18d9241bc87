/*
 * agentpath: p11a_ping, p11a_sign, p11a_sign_batch, p11a_decrypt or
 * p11a_unwrap on one connection of libp11agent; or pings and signatures
 * submitted several at a time and collected as they come.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentpath.h"
#include "soft.h"

/* A request in flight: its id and when it was submitted. */
struct agentpath_sent {
	uint32_t id;
	uint64_t ns;
};

struct agentpath_client {
	struct p11a_conn *conn;
	const struct work *w;
	uint32_t flags;		      /* p11a_sign's */
	struct p11a_sign_item *items; /* a batch: w->batch items */
	unsigned inflight;	      /* requests agentpath_client_pipe() keeps in flight */
	struct agentpath_sent sent[P11A_MAX_INFLIGHT];
	size_t n_sent;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The message for a failure rc of the library on c's connection. */
static void agent_error(struct agentpath_client *c, int rc, char *msg, size_t msg_len)
{
	snprintf(msg, msg_len, "agent: %s%s%s", p11a_strerror(rc),
		 *p11a_conn_message(c->conn) ? ": " : "", p11a_conn_message(c->conn));
}

int agentpath_client_open(const char *socket, const struct work *w, unsigned inflight,
			  struct agentpath_client **out, char *msg, size_t msg_len)
{
	struct agentpath_client *c;
	unsigned i;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	c->w = w;
	c->inflight = inflight;
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
		agent_error(c, rc, msg, msg_len);
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

int agentpath_client_pipe(struct agentpath_client *c, int drain, uint64_t *out_ns, char *msg,
			  size_t msg_len)
{
	const struct work *w = c->w;
	uint8_t *out = NULL;
	size_t out_len = 0, i;
	uint32_t id;
	int rc, status;

	while (!drain && c->n_sent < c->inflight) {
		c->sent[c->n_sent].ns = now_ns();
		if (w->op == WORK_PING)
			rc = p11a_submit_ping(c->conn, &id);
		else
			rc = p11a_submit_sign(c->conn, w->key, w->alg->alg, c->flags, w->in,
					      w->in_len, &id);
		if (rc != P11A_OK) {
			agent_error(c, rc, msg, msg_len);
			return -1;
		}
		c->sent[c->n_sent++].id = id;
	}
	if (c->n_sent == 0)
		return 0;
	if ((rc = p11a_collect(c->conn, &id, &status, &out, &out_len)) != P11A_OK) {
		agent_error(c, rc, msg, msg_len);
		return -1;
	}
	p11a_free(out, out_len);
	if (status != P11A_OK) {
		agent_error(c, status, msg, msg_len);
		return -1;
	}
	/* p11a_collect() hands over only ids in flight: one of ours. */
	for (i = 0; i < c->n_sent && c->sent[i].id != id; i++)
		;
	if (i == c->n_sent) {
		snprintf(msg, msg_len, "agent: a reply for request %u, never sent", (unsigned)id);
		return -1;
	}
	*out_ns = now_ns() - c->sent[i].ns;
	c->sent[i] = c->sent[--c->n_sent];
	return 1;
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
