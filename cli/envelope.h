/*
 * envelope: the local half of the hybrid flow. seal encrypts a document under
 * a symmetric key, open decrypts it: CMS AuthEnvelopedData (RFC 5083) with
 * AES-256-GCM content encryption and one KEKRecipientInfo, in which the key
 * of the caller (16, 24 or 32 bytes: id-aes128/192/256-wrap, RFC 3394) wraps
 * the random content key. It is what
 *     openssl cms -encrypt -aes-256-gcm -secretkey HEX -secretkeyid ID -binary -outform DER
 * makes, and what openssl cms -decrypt -inform DER -secretkey HEX reads.
 *
 * Pure functions on buffers: no I/O, no printing. They return P11A_OK or a
 * p11a_err with a one-line message in msg (which never holds key material),
 * and write their outputs only on success:
 *   P11A_ERR_INVALID_ARG  the key is not 16, 24 or 32 bytes
 *   P11A_ERR_BAD_INPUT    open: not an AuthEnvelopedData, the key does not
 *                         open it, or it does not authenticate
 *   P11A_ERR_TOO_LARGE    the input is larger than CLI_ENVELOPE_MAX
 *   P11A_ERR_CRYPTO       OpenSSL failed
 *   P11A_ERR_NOMEM        out of memory
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CLI_ENVELOPE_H
#define P11AGENT_CLI_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

/* Largest document seal takes and largest envelope open takes: 256 MiB. */
#define CLI_ENVELOPE_MAX (256u * 1024u * 1024u)

/*
 * Seals in[0..in_len) under key (16, 24 or 32 bytes); id[0..id_len) (at
 * least one byte) becomes the KEKRecipientInfo's keyIdentifier. *out is the
 * DER envelope, malloc'd; free it with free().
 */
int cli_seal(const uint8_t *key, size_t key_len, const uint8_t *id, size_t id_len,
	     const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len, char *msg,
	     size_t msg_len);

/*
 * Opens the DER envelope in[0..in_len) with key, whatever the envelope's key
 * identifier. Nothing of the plaintext is handed out unless the whole
 * envelope authenticates. *out is the plaintext, malloc'd (never NULL, even
 * when *out_len is 0); wipe and free it with cli_data_free() (io.h).
 */
int cli_open(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len, uint8_t **out,
	     size_t *out_len, char *msg, size_t msg_len);

#endif
