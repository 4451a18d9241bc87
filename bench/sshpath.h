/*
 * sshpath: the benchmark's ssh path: the same signature through an SSH agent
 * protocol socket (OpenSSH's PROTOCOL.agent), as ssh and git ask an agent
 * for one: p11agentd's SSH front, or OpenSSH's own ssh-agent holding the
 * token through its PKCS#11 helper (ssh-add -s). One connection per client
 * thread; the identities are requested once, at open, and every operation
 * is one SSH_AGENTC_SIGN_REQUEST and its SSH_AGENT_SIGN_RESPONSE.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_SSHPATH_H
#define P11AGENT_BENCH_SSHPATH_H

#include <stddef.h>

#include "work.h"

struct sshpath;
struct sshpath_client;

/*
 * Finds w->key among the identities of the SSH agent at ssh_socket and makes
 * the sign request every client sends: data_len random bytes to sign, and
 * the flags of w->alg (rsa-pkcs1-sha256: SSH_AGENT_RSA_SHA2_256,
 * rsa-pkcs1-sha512: SSH_AGENT_RSA_SHA2_512; ECDSA, whose hash the curve
 * fixes, and Ed25519: none). The key is found by its OpenSSH blob, made from
 * the public key p11agentd at agent_socket (NULL: the default socket) gives
 * for w->key; when no agent answers there, by its comment, which must then
 * equal w->key. w must be one signature (no batch) with an RSA, ECDSA or
 * Ed25519 key and outlive the result. Returns 0 and *out, or -1 with a
 * message in msg. Free with sshpath_close().
 */
int sshpath_open(const char *ssh_socket, const char *agent_socket, const struct work *w,
		 size_t data_len, struct sshpath **out, char *msg, size_t msg_len);

/* Connects one client thread to the SSH agent. Returns 0 and *out, or -1 and msg. */
int sshpath_client_open(struct sshpath *sp, struct sshpath_client **out, char *msg, size_t msg_len);

/*
 * One sign request (a round trip). check: the signature must be of the
 * expected type and verify with the key.
 * Returns 0, or -1 with a message in msg (SSH_AGENT_FAILURE too).
 */
int sshpath_client_op(struct sshpath_client *c, int check, char *msg, size_t msg_len);

/* Closes the connection. NULL is a no-op. */
void sshpath_client_close(struct sshpath_client *c);
/* Frees the request and the key. NULL is a no-op. */
void sshpath_close(struct sshpath *sp);

#endif
