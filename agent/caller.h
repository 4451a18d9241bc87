/*
 * caller: the client at the other end of a connection, as the kernel names
 * it at accept (SO_PEERCRED, SO_PEERGROUPS, /proc/PID/exe), and what its
 * connection has done so far. The policy decides by it; the audit trail
 * records it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CALLER_H
#define P11AGENT_CALLER_H

#define CALLER_MAX_GROUPS 64

struct caller {
	int uid, gid, pid; /* SO_PEERCRED at accept */
	int greeted;	   /* HELLO done: the only request allowed before is HELLO */
	int audit_checked; /* an audit-verify or audit-head of this connection is
			      in the trail: later ones that succeed are not */
	unsigned groups[CALLER_MAX_GROUPS]; /* supplementary gids (SO_PEERGROUPS), if known */
	int n_groups;
	char exe[256]; /* the peer's executable (/proc/PID/exe) at accept, or "" */
};

#endif
