/*
 * pin: reads the user PIN from its source. The PIN never reaches argv, a log
 * line or an error message; the caller wipes it with secret_free() after login.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_PIN_H
#define P11AGENT_PIN_H

#include <stddef.h>

#include "secret.h"

/*
 * source is "file:PATH" (refused when group or others may read the file, it
 * is not a regular file, or another user could change it or its directories:
 * safepath_check; one trailing newline is dropped) or "env:VAR"
 * (the variable is cleared after reading) or "credential:NAME" (the file
 * NAME of $CREDENTIALS_DIRECTORY, which systemd's LoadCredential= fills,
 * checked as a PIN file) or "fd:N" (an inherited descriptor, read to its
 * end and closed; not a directory or a character device such as a
 * terminal). A token URI's pin-source attribute
 * may be a plain path or a file: URI ("file:///path"): pass it as it is.
 * Returns P11A_OK and *out_pin, or P11A_ERR_BAD_INPUT with a message naming
 * the source (never the PIN) in msg.
 */
int pin_read(const char *source, struct secret **out_pin, char *msg, size_t msg_len);

#endif
