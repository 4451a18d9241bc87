/*
 * policy: who may use which key for what.
 *
 * Built once at start from the config's [key NAME] sections (allow-users,
 * allow-groups, allow-ops, allow-algs) and the token's bound names. A key
 * without allow-users/allow-groups (or without a section) is usable only by
 * the agent's own uid, and by root unless allow-root = no. The agent's own
 * uid always sees every key and its public key.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_POLICY_H
#define P11AGENT_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "caller.h"
#include "purpose.h"
#include "token.h"

struct policy;

/*
 * Resolves users and groups (names with getpwnam/getgrnam, or numeric ids)
 * and remembers each named key's rules. agent_uid is the agent's own uid.
 * Unknown user or group: an error naming the section ("FILE:LINE: [key
 * NAME]: no user 'x'").
 */
int policy_new(const struct agent_config *cfg, const struct token *tok, uid_t agent_uid,
	       struct policy **out_policy, char *msg, size_t msg_len);
void policy_free(struct policy *p);

/*
 * May peer use key for op (P11A_OP_*) with alg, for purpose (NULL: the
 * native protocol)? P11A_OK, or P11A_ERR_DENIED with a message saying which
 * rule refused ("uid 1001 is not in allow-users of [key build-signer]"). A
 * NULL policy allows only the agent's own uid (geteuid()) and root.
 *
 * A version of a key below its min-version is refused for everything.
 * On the SSH front (purpose->front "ssh"), a key with ssh = no is refused;
 * a key with ssh-logins or ssh-namespaces signs only a userauth request for
 * one of those logins, or an SSHSIG blob of one of those namespaces.
 */
int policy_check(const struct policy *p, const struct caller *peer, const struct token_key *key,
		 uint32_t op, p11a_alg alg, const struct purpose *purpose, char *msg,
		 size_t msg_len);

/*
 * Is key offered to peer on purpose's front at all: may it sign with it
 * there, for some purpose (ssh = yes, allow-ops has sign)? 1 or 0.
 */
int policy_offered(const struct policy *p, const struct caller *peer, const struct token_key *key,
		   const struct purpose *purpose);

/*
 * May peer manage keys (make, rotate, trim, certify, reload)? The agent's
 * own uid always; else the uids of admin-users and the members of
 * admin-groups. P11A_OK or P11A_ERR_DENIED with a message.
 */
int policy_admin(const struct policy *p, const struct caller *peer, char *msg, size_t msg_len);

/* Does key's [key NAME] section say allow-destroy = yes? 1 or 0. */
int policy_may_destroy(const struct policy *p, const struct token_key *key);

/* Does peer see key in LIST (and may it read its public key)? 1 or 0. */
int policy_visible(const struct policy *p, const struct caller *peer, const struct token_key *key);

#endif
