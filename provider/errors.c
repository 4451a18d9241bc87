/*
 * The provider's errors on OpenSSL's error stack: the reason strings, and
 * how an error of the agent reads there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "provider.h"

/* (OSSL_ITEM's pointer is not const: the strings are arrays.) */
static char r_agent_text[] = "the agent refused or failed";
static char r_connect_text[] = "cannot reach the agent";
static char r_denied_text[] = "refused by the key's policy";
static char r_not_allowed_text[] = "the key does not allow this operation";
static char r_unsupported_text[] = "not supported by the p11agent provider";
static char r_bad_input_text[] = "bad argument";
static char r_private_export_text[] = "private keys stay in the token";
static char r_nomem_text[] = "out of memory";
static char r_internal_text[] = "internal error";

const OSSL_ITEM p11ap_reason_strings[] = {
    {P11AP_R_AGENT, r_agent_text},
    {P11AP_R_CONNECT, r_connect_text},
    {P11AP_R_DENIED, r_denied_text},
    {P11AP_R_NOT_ALLOWED, r_not_allowed_text},
    {P11AP_R_UNSUPPORTED, r_unsupported_text},
    {P11AP_R_BAD_INPUT, r_bad_input_text},
    {P11AP_R_PRIVATE_EXPORT, r_private_export_text},
    {P11AP_R_NOMEM, r_nomem_text},
    {P11AP_R_INTERNAL, r_internal_text},
    {0, NULL},
};

void p11ap_raise_at(struct p11ap_prov *prov, const char *file, int line, const char *func,
		    int reason, const char *fmt, ...)
{
	va_list ap;

	if (prov == NULL || prov->core_new_error == NULL || prov->core_vset_error == NULL)
		return;
	prov->core_new_error(prov->handle);
	if (prov->core_set_error_debug != NULL)
		prov->core_set_error_debug(prov->handle, file, line, func);
	va_start(ap, fmt);
	prov->core_vset_error(prov->handle, reason, fmt, ap);
	va_end(ap);
}

/* The reason of a libp11agent code. */
static int reason_of(int rc)
{
	switch (rc) {
	case P11A_ERR_DENIED:
		return P11AP_R_DENIED;
	case P11A_ERR_NOT_ALLOWED:
		return P11AP_R_NOT_ALLOWED;
	case P11A_ERR_NOT_SUPPORTED:
	case P11A_ERR_UNKNOWN_OP:
		return P11AP_R_UNSUPPORTED;
	case P11A_ERR_BAD_INPUT:
	case P11A_ERR_INVALID_ARG:
	case P11A_ERR_TOO_LARGE:
		return P11AP_R_BAD_INPUT;
	case P11A_ERR_CONNECT:
	case P11A_ERR_UNSAFE_PATH:
		return P11AP_R_CONNECT;
	case P11A_ERR_NOMEM:
		return P11AP_R_NOMEM;
	default:
		return P11AP_R_AGENT;
	}
}

void p11ap_raise_agent(struct p11ap_prov *prov, int rc, const char *what,
		       const struct p11a_conn *conn)
{
	const char *msg = conn != NULL ? p11a_conn_message(conn) : "";
	const char *path = conn != NULL ? p11a_conn_path(conn) : "";
	const char *verdict =
	    rc == P11A_ERR_DENIED ? "refused by the key's policy" : p11a_strerror(rc);

	if (msg[0] != '\0' && path[0] != '\0')
		p11ap_raise(prov, reason_of(rc), "%s: %s: %s (agent at %s)", what, verdict, msg,
			    path);
	else if (msg[0] != '\0')
		p11ap_raise(prov, reason_of(rc), "%s: %s: %s", what, verdict, msg);
	else if (path[0] != '\0')
		p11ap_raise(prov, reason_of(rc), "%s: %s (agent at %s)", what, verdict, path);
	else
		p11ap_raise(prov, reason_of(rc), "%s: %s", what, verdict);
}
