/*
 * sshkeyblob: the OpenSSH forms the benchmark's ssh path needs, over
 * OpenSSL: the public-key blob of a DER SubjectPublicKeyInfo (to find the
 * benchmark's key among an SSH agent's identities) and the check of a
 * signature blob an SSH agent returns (RFC 4253 6.6, RFC 5656 3.1, RFC 8332,
 * RFC 8709). RSA, ECDSA on nistp256/384/521 and Ed25519. These are the
 * bench's own small copies of what proto/sshkey.h declares
 * (sshkey_blob_from_spki, sshkey_verify), which the bench uses instead once
 * proto/sshkey.c is built into libp11a-common.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_BENCH_SSHKEYBLOB_H
#define P11AGENT_BENCH_SSHKEYBLOB_H

#include <stddef.h>
#include <stdint.h>

/* Longest key or signature type name here ("ecdsa-sha2-nistp256"), with its NUL. */
#define SSHKEYBLOB_TYPE_LEN 32

/*
 * The OpenSSH key blob of the public key spki (DER SubjectPublicKeyInfo) and
 * its type ("ssh-rsa", "ecdsa-sha2-nistp256", ..., "ssh-ed25519"). *out is
 * malloc'd; free() it. Returns 0, or -1 with a message in msg (no OpenSSH
 * form for this key, or OpenSSL failed).
 */
int sshkeyblob_from_spki(const uint8_t *spki, size_t spki_len, uint8_t **out, size_t *out_len,
			 char type[SSHKEYBLOB_TYPE_LEN], char *msg, size_t msg_len);

/*
 * Checks sig_blob (string(type) || string(signature), as an SSH agent's sign
 * response holds it) over data with the public key spki: the type must be
 * want_type and the signature valid. Returns 0, or -1 with a message in msg.
 */
int sshkeyblob_verify(const uint8_t *spki, size_t spki_len, const char *want_type,
		      const uint8_t *sig_blob, size_t sig_len, const uint8_t *data,
		      size_t data_len, char *msg, size_t msg_len);

#endif
