/*
 * keyname: a key's name for people.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>

#include "keyname.h"

size_t keyname_format(const char *name, const char *label, const uint8_t *id, size_t id_len,
		      char *out, size_t out_len)
{
	size_t need;

	if (name != NULL && name[0] != '\0')
		return (size_t)snprintf(out, out_len, "%s", name);
	if (label != NULL && label[0] != '\0')
		return (size_t)snprintf(out, out_len, "%s", label);
	need = 3 + 2 * id_len;
	if (out_len > 0)
		snprintf(out, out_len, "id:");
	for (size_t i = 0; i < id_len && 3 + 2 * i + 2 < out_len; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", id[i]);
	return need;
}
