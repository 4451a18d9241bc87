/*
 * agentpath: p11a_sign or p11a_ping on one connection of libp11agent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "agentpath.h"

struct agentpath_client {
	struct p11a_conn *conn;
	const char *key;
	const struct p11a_alg_info *alg; /* NULL: ping */
	uint32_t flags;
	const uint8_t *data;
	size_t data_len;
};

int agentpath_client_open(const char *socket, const char *key, const struct p11a_alg_info *alg,
			  const uint8_t *data, size_t data_len, struct agentpath_client **out,
			  char *msg, size_t msg_len)
{
	struct agentpath_client *c;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return -1;
	}
	if ((rc = p11a_connect(socket, &c->conn)) != P11A_OK) {
		snprintf(msg, msg_len, "agent at %s: %s: %s",
			 socket != NULL ? socket : p11a_default_socket(), p11a_strerror(rc),
			 p11a_connect_message());
		free(c);
		return -1;
	}
	c->key = key;
	c->alg = alg;
	c->flags = alg != NULL && alg->input == P11A_INPUT_DIGEST ? P11A_SIGN_PREHASHED : 0;
	c->data = data;
	c->data_len = data_len;
	*out = c;
	return 0;
}

int agentpath_client_op(struct agentpath_client *c, char *msg, size_t msg_len)
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int rc;

	if (c->alg == NULL)
		rc = p11a_ping(c->conn);
	else
		rc = p11a_sign(c->conn, c->key, c->alg->alg, c->flags, c->data, c->data_len, &sig,
			       &sig_len);
	if (rc != P11A_OK) {
		snprintf(msg, msg_len, "agent: %s%s%s", p11a_strerror(rc),
			 *p11a_conn_message(c->conn) ? ": " : "", p11a_conn_message(c->conn));
		return -1;
	}
	p11a_free(sig, sig_len);
	return 0;
}

void agentpath_client_close(struct agentpath_client *c)
{
	if (c == NULL)
		return;
	p11a_close(c->conn);
	free(c);
}
