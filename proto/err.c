/*
 * err: names and descriptions of the p11a_err codes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stddef.h>

#include "p11agent.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} errors[] = {
    {P11A_OK, "OK", "success"},
    {P11A_ERR_BAD_REQUEST, "BAD_REQUEST", "malformed request"},
    {P11A_ERR_UNKNOWN_OP, "UNKNOWN_OP", "unknown operation"},
    {P11A_ERR_VERSION, "VERSION", "unsupported protocol version"},
    {P11A_ERR_NO_SUCH_KEY, "NO_SUCH_KEY", "no such key"},
    {P11A_ERR_AMBIGUOUS_KEY, "AMBIGUOUS_KEY", "ambiguous key"},
    {P11A_ERR_NOT_ALLOWED, "NOT_ALLOWED", "operation not allowed for this key"},
    {P11A_ERR_NOT_SUPPORTED, "NOT_SUPPORTED", "algorithm not supported for this key"},
    {P11A_ERR_BAD_INPUT, "BAD_INPUT", "bad input"},
    {P11A_ERR_TOKEN, "TOKEN_ERROR", "token error"},
    {P11A_ERR_TOO_LARGE, "TOO_LARGE", "message too large"},
    {P11A_ERR_DENIED, "DENIED", "denied by policy"},
    {P11A_ERR_TOKEN_UNAVAILABLE, "TOKEN_UNAVAILABLE", "token unavailable"},
    {P11A_ERR_INTERNAL, "INTERNAL", "internal agent error"},
    {P11A_ERR_BUSY, "BUSY", "agent busy"},
    {P11A_ERR_CONNECT, "CONNECT", "cannot connect to the agent"},
    {P11A_ERR_IO, "IO", "connection to the agent lost"},
    {P11A_ERR_PROTOCOL, "PROTOCOL", "malformed reply from the agent"},
    {P11A_ERR_NOMEM, "NOMEM", "out of memory"},
    {P11A_ERR_INVALID_ARG, "INVALID_ARG", "invalid argument"},
    {P11A_ERR_CRYPTO, "CRYPTO", "local cryptographic operation failed"},
    {P11A_ERR_UNSAFE_PATH, "UNSAFE_PATH", "another user could replace the file or socket"},
};

const char *p11a_strerror(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].text;
	return "unknown error";
}

const char *p11a_errname(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].name;
	return "UNKNOWN";
}
