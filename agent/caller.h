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

#include <stdatomic.h>

#define CALLER_MAX_GROUPS 64

struct caller {
	int uid, gid, pid; /* SO_PEERCRED at accept */
	/*
	 * Flags set by requests, which may run at once on one connection
	 * (front.h: pipeline): atomic.
	 */
	atomic_int greeted;	   /* HELLO done: the only request allowed before is HELLO */
	atomic_int audit_checked;  /* an audit-verify or audit-head of this connection is
				      in the trail: later ones that succeed are not */
	atomic_uint owed_delay_ms; /* a flood of refusals is slowed, on its own connection:
				      its replies wait this long more (ratelimit.h) */
	unsigned groups[CALLER_MAX_GROUPS]; /* supplementary gids (SO_PEERGROUPS), if known */
	int n_groups;
	char exe[256]; /* the peer's executable (/proc/PID/exe) at accept, or "" */
};

#endif
