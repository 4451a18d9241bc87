/*
 * purpose: what a request's data is for, as a front that can tell says it
 * (the SSH front parses a userauth request or an SSHSIG blob out of the data
 * it is asked to sign). The policy decides by it; the audit trail records it.
 * The native protocol has none (NULL).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_PURPOSE_H
#define P11AGENT_PURPOSE_H

enum purpose_kind {
	PURPOSE_OTHER,	/* nothing the front recognised */
	PURPOSE_LOGIN,	/* an SSH userauth request: login is the remote user name */
	PURPOSE_SSHSIG, /* an SSHSIG signature: ns is its namespace */
};

struct purpose {
	const char *front; /* "ssh" */
	enum purpose_kind kind;
	const char *login;    /* PURPOSE_LOGIN, else NULL */
	const char *ns;	      /* PURPOSE_SSHSIG, else NULL */
	const char *host_key; /* the connection's bound host key ("SHA256:..."), or NULL */
};

#endif
