/*
 * keyname: how a key is named to people, the same in the CLI's output and
 * in the comments of the agent's SSH identities: its config name, else its
 * label, else "id:HEX" of its CKA_ID.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_KEYNAME_H
#define P11AGENT_KEYNAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the name to out (NUL-terminated, cut to out_len - 1 bytes); name
 * and label may be NULL or "". Returns the length of the whole name (as
 * snprintf: out was too small when it is >= out_len).
 */
size_t keyname_format(const char *name, const char *label, const uint8_t *id, size_t id_len,
		      char *out, size_t out_len);

#endif
