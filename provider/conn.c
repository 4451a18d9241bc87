/*
 * Connections to the agent: a small pool of idle connections shared by the
 * threads of a process, fork safety, and p11ap_call().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provider.h"

/* Most idle connections kept; more threads at once each get a new one. */
#define POOL_MAX 8

struct p11ap_pool {
	pthread_mutex_t lock;
	pid_t pid; /* the process the idle connections belong to */
	size_t n;
	struct p11a_conn *idle[POOL_MAX];
};

struct p11ap_pool *p11ap_pool_new(void)
{
	struct p11ap_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	if (pthread_mutex_init(&pool->lock, NULL) != 0) {
		free(pool);
		return NULL;
	}
	pool->pid = getpid();
	return pool;
}

void p11ap_pool_free(struct p11ap_pool *pool)
{
	size_t i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->n; i++)
		p11a_close(pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

/*
 * The socket to use and where it comes from: P11AGENT_SOCK, else the
 * provider's "socket" setting, else libp11agent's default ("" when none).
 * *out_path is NULL when p11a_connect(NULL) picks it (P11AGENT_SOCK or the
 * default).
 */
static const char *socket_choice(const struct p11ap_prov *prov, const char **out_path,
				 const char **out_source)
{
	const char *env = getenv(P11A_SOCK_ENV);

	if (env != NULL && env[0] != '\0') {
		*out_path = NULL;
		*out_source = "from " P11A_SOCK_ENV;
		return env;
	}
	if (prov->socket != NULL) {
		*out_path = prov->socket;
		*out_source = "from the 'socket' setting of the provider's section in openssl.cnf";
		return prov->socket;
	}
	*out_path = NULL;
	*out_source = "the default socket: neither " P11A_SOCK_ENV
		      " nor the 'socket' setting of the provider's section in openssl.cnf is set";
	return p11a_default_socket();
}

/* An idle connection to path, or NULL. After a fork, drops the parent's. */
static struct p11a_conn *pool_take(struct p11ap_pool *pool, const char *path)
{
	struct p11a_conn *conn = NULL, *stale[POOL_MAX];
	size_t i, nstale = 0;
	pid_t pid = getpid();

	pthread_mutex_lock(&pool->lock);
	if (pool->pid != pid) {
		/* A forked child: the connections are its parent's. */
		for (i = 0; i < pool->n; i++)
			stale[nstale++] = pool->idle[i];
		pool->n = 0;
		pool->pid = pid;
	}
	while (conn == NULL && pool->n > 0) {
		conn = pool->idle[--pool->n];
		if (strcmp(p11a_conn_path(conn), path) != 0) {
			stale[nstale++] = conn;
			conn = NULL;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	/* Closing a copy of the parent's socket leaves the parent's connection open. */
	for (i = 0; i < nstale; i++)
		p11a_close(stale[i]);
	return conn;
}

/* Keeps conn for the next call, or closes it when the pool is full. */
static void pool_give(struct p11ap_pool *pool, struct p11a_conn *conn)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->pid == getpid() && pool->n < POOL_MAX) {
		pool->idle[pool->n++] = conn;
		conn = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	p11a_close(conn);
}

/*
 * libp11agent's message for a missing socket suggests the CLI's -S: here
 * the socket is P11AGENT_SOCK or the provider's setting.
 */
static void drop_cli_advice(char *msg)
{
	static const char cli[] = "-S or ";
	char *p = strstr(msg, cli);

	if (p != NULL)
		memmove(p, p + strlen(cli), strlen(p + strlen(cli)) + 1);
}

/* A new connection in *out_conn; on failure raises an error naming the socket. */
static int connect_agent(struct p11ap_prov *prov, const char *what, struct p11a_conn **out_conn)
{
	const char *path, *source, *shown = socket_choice(prov, &path, &source);
	char why[1024];
	int rc;

	if ((rc = p11a_connect(path, out_conn)) == P11A_OK)
		return rc;
	snprintf(why, sizeof(why), "%s", p11a_connect_message());
	drop_cli_advice(why);
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "%s", p11a_strerror(rc));
	if (shown[0] == '\0')
		p11ap_raise(prov, P11AP_R_CONNECT, "%s: cannot reach the agent: %s", what, why);
	else if (rc == P11A_ERR_UNSAFE_PATH)
		p11ap_raise(prov, P11AP_R_CONNECT,
			    "%s: refusing to talk to the agent at %s (%s): %s", what, shown, source,
			    why);
	else
		p11ap_raise(prov, P11AP_R_CONNECT, "%s: cannot reach the agent at %s (%s): %s",
			    what, shown, source, why);
	return rc;
}

/*
 * A pooled connection that fails within this many milliseconds was closed
 * by the agent (it restarted, or dropped an idle client): worth one retry
 * on a new connection. One that failed later ran into P11AGENT_TIMEOUT (a
 * frozen agent): a retry would only wait as long again.
 */
#define RETRY_WITHIN_MS 1000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether rc says the connection itself failed, not the request. */
static int conn_failed(int rc)
{
	return rc == P11A_ERR_IO || rc == P11A_ERR_CONNECT || rc == P11A_ERR_PROTOCOL;
}

int p11ap_call(struct p11ap_prov *prov, const char *what, p11ap_call_fn *fn, void *arg)
{
	const char *path, *source, *shown = socket_choice(prov, &path, &source);
	struct p11a_conn *conn = pool_take(prov->pool, shown);
	int rc;

	if (conn != NULL) {
		long long start = now_ms();

		rc = fn(conn, arg);
		if ((rc != P11A_ERR_IO && rc != P11A_ERR_CONNECT) ||
		    now_ms() - start >= RETRY_WITHIN_MS)
			goto out;
		/* The agent restarted, or closed an idle connection: once more, anew. */
		p11a_close(conn);
		conn = NULL;
	}
	if ((rc = connect_agent(prov, what, &conn)) != P11A_OK)
		return rc;
	rc = fn(conn, arg);
out:
	if (rc != P11A_OK)
		p11ap_raise_agent(prov, rc, what, conn);
	if (conn_failed(rc))
		p11a_close(conn);
	else
		pool_give(prov->pool, conn);
	return rc;
}
