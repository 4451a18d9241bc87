#include "config.h"
/*
 * policy: who may use which key for what.
 *
 * One rule per [key NAME] section, sorted by name; a request's key finds its
 * rule by the name the token bound to it (token_key.name), so the rules hold
 * no pointer into the token and survive a re-index of its keys.
 *
 * Decided: the agent's own uid may use every key, whatever allow-users and
 * allow-groups say, but allow-ops and allow-algs bind it too: they say what
 * the key is for, not who may use it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

/* First buffer for getpwnam_r/getgrnam_r, and the most it grows to. */
#define POLICY_NSS_BUF 1024u
#define POLICY_NSS_BUF_MAX (1024u * 1024u)

struct policy_rule {
	char *name; /* [key NAME] */
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;
	int has_who;	/* allow-users or allow-groups given */
	uint32_t ops;	/* allow-ops; 0: every operation */
	uint32_t *algs; /* allow-algs; NULL: every algorithm */
	size_t n_algs;
	int ssh;       /* ssh: offered on the SSH front */
	char **logins; /* ssh-logins, as written */
	size_t n_logins;
	char **ns; /* ssh-namespaces, as written */
	size_t n_ns;
	int allow_destroy; /* allow-destroy: old versions may be destroyed */
};

struct policy {
	uid_t agent_uid;
	int allow_root;
	uid_t *admin_uids; /* admin-users */
	size_t n_admin_uids;
	gid_t *admin_gids; /* admin-groups */
	size_t n_admin_gids;
	struct policy_rule *rules; /* sorted by name */
	size_t n_rules;
};

static void policy_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void policy_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msg_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
}

/* A numeric id: decimal digits only, below (id_t)-1. 1 and *out, or 0. */
static int policy_numeric_id(const char *s, unsigned long *out)
{
	unsigned long n = 0;
	const char *p;

	if (*s == '\0')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > 0xfffffffful / 10)
			return 0;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n >= 0xfffffffful)
		return 0;
	*out = n;
	return 1;
}

/*
 * A user (group 0) or group (group 1) name, or a numeric id, into *out_id.
 * P11A_OK, P11A_ERR_BAD_INPUT (no such name), or P11A_ERR_INTERNAL.
 */
static int policy_resolve(const char *name, int group, unsigned long *out_id)
{
	struct passwd pw, *pw_found = NULL;
	struct group gr, *gr_found = NULL;
	size_t len = POLICY_NSS_BUF;
	char *buf = NULL, *grown;
	int r, rc = P11A_ERR_INTERNAL;

	if (policy_numeric_id(name, out_id))
		return P11A_OK;
	for (;;) {
		if ((grown = realloc(buf, len)) == NULL)
			goto out;
		buf = grown;
		r = group ? getgrnam_r(name, &gr, buf, len, &gr_found)
			  : getpwnam_r(name, &pw, buf, len, &pw_found);
		if (r != ERANGE || len >= POLICY_NSS_BUF_MAX)
			break;
		len *= 2;
	}
	if (pw_found == NULL && gr_found == NULL) {
		rc = r == 0 || r == ENOENT || r == ESRCH ? P11A_ERR_BAD_INPUT : P11A_ERR_INTERNAL;
		goto out;
	}
	*out_id = group ? (unsigned long)gr.gr_gid : (unsigned long)pw.pw_uid;
	rc = P11A_OK;
out:
	free(buf);
	return rc;
}

static int policy_resolve_user(const char *name, uid_t *out_uid)
{
	unsigned long id;
	int rc;

	if ((rc = policy_resolve(name, 0, &id)) == P11A_OK)
		*out_uid = (uid_t)id;
	return rc;
}

static int policy_resolve_group(const char *name, gid_t *out_gid)
{
	unsigned long id;
	int rc;

	if ((rc = policy_resolve(name, 1, &id)) == P11A_OK)
		*out_gid = (gid_t)id;
	return rc;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Copies the n names of from into *out; on failure nothing is left to free. */
static int copy_names(char *const *from, size_t n, char ***out)
{
	char **names;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((names = calloc(n, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((names[i] = strdup(from[i])) == NULL) {
			free_names(names, i);
			return -1;
		}
	}
	*out = names;
	return 0;
}

static void policy_rule_clear(struct policy_rule *r)
{
	free(r->name);
	free(r->uids);
	free(r->gids);
	free(r->algs);
	free_names(r->logins, r->n_logins);
	free_names(r->ns, r->n_ns);
	memset(r, 0, sizeof(*r));
}

/* Fills r from the section k. */
static int policy_rule_init(struct policy_rule *r, const struct conf_key *k, char *msg,
			    size_t msg_len)
{
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(k->name)) == NULL ||
	    (k->n_allow_users > 0 && (r->uids = calloc(k->n_allow_users, sizeof(uid_t))) == NULL) ||
	    (k->n_allow_groups > 0 &&
	     (r->gids = calloc(k->n_allow_groups, sizeof(gid_t))) == NULL) ||
	    (k->n_allow_algs > 0 && (r->algs = calloc(k->n_allow_algs, sizeof(uint32_t))) == NULL))
		goto nomem;
	for (i = 0; i < k->n_allow_users; i++) {
		if ((rc = policy_resolve_user(k->allow_users[i], &r->uids[i])) != P11A_OK) {
			policy_msg(msg, msg_len, "%s: [key %s]: %s user '%s'", k->where, k->name,
				   rc == P11A_ERR_BAD_INPUT ? "no" : "cannot look up",
				   k->allow_users[i]);
			return rc;
		}
	}
	r->n_uids = k->n_allow_users;
	for (i = 0; i < k->n_allow_groups; i++) {
		if ((rc = policy_resolve_group(k->allow_groups[i], &r->gids[i])) != P11A_OK) {
			policy_msg(msg, msg_len, "%s: [key %s]: %s group '%s'", k->where, k->name,
				   rc == P11A_ERR_BAD_INPUT ? "no" : "cannot look up",
				   k->allow_groups[i]);
			return rc;
		}
	}
	r->n_gids = k->n_allow_groups;
	r->has_who = k->n_allow_users > 0 || k->n_allow_groups > 0;
	r->ops = k->allow_ops;
	if (k->n_allow_algs > 0)
		memcpy(r->algs, k->allow_algs, k->n_allow_algs * sizeof(uint32_t));
	r->n_algs = k->n_allow_algs;
	r->ssh = k->ssh;
	if (copy_names(k->ssh_logins, k->n_ssh_logins, &r->logins) != 0)
		goto nomem;
	r->n_logins = k->n_ssh_logins;
	if (copy_names(k->ssh_namespaces, k->n_ssh_namespaces, &r->ns) != 0)
		goto nomem;
	r->n_ns = k->n_ssh_namespaces;
	r->allow_destroy = k->allow_destroy;
	return P11A_OK;
nomem:
	policy_msg(msg, msg_len, "out of memory");
	return P11A_ERR_INTERNAL;
}

static int policy_rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_rule *)a)->name, ((const struct policy_rule *)b)->name);
}

void policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_rules; i++)
		policy_rule_clear(&p->rules[i]);
	free(p->rules);
	free(p->admin_uids);
	free(p->admin_gids);
	free(p);
}

/*
 * Resolves the comma-separated names of list (admin-users, group: 0;
 * admin-groups, group: 1) into *out_ids (uid_t or gid_t, both id_t wide).
 */
static int policy_admins(const char *key, const char *list, int group, id_t **out_ids,
			 size_t *out_n, char *msg, size_t msg_len)
{
	char *copy, *item, *save = NULL;
	id_t *ids = NULL, *grown;
	unsigned long id;
	size_t n = 0;
	int rc = P11A_OK;

	*out_ids = NULL;
	*out_n = 0;
	if (list == NULL)
		return P11A_OK;
	if ((copy = strdup(list)) == NULL) {
		policy_msg(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		item += strspn(item, " \t");
		item[strcspn(item, " \t")] = '\0';
		if ((rc = policy_resolve(item, group, &id)) != P11A_OK) {
			policy_msg(msg, msg_len, "%s: %s %s '%s'", key,
				   rc == P11A_ERR_BAD_INPUT ? "no" : "cannot look up",
				   group ? "group" : "user", item);
			break;
		}
		if ((grown = realloc(ids, (n + 1) * sizeof(*ids))) == NULL) {
			policy_msg(msg, msg_len, "out of memory");
			rc = P11A_ERR_INTERNAL;
			break;
		}
		ids = grown;
		ids[n++] = (id_t)id;
	}
	free(copy);
	if (rc != P11A_OK) {
		free(ids);
		return rc;
	}
	*out_ids = ids;
	*out_n = n;
	return P11A_OK;
}

int policy_new(const struct agent_config *cfg, const struct token *tok, uid_t agent_uid,
	       struct policy **out_policy, char *msg, size_t msg_len)
{
	struct policy *p = NULL;
	int rc = P11A_ERR_INTERNAL;

	/* tok is not needed: rules are found by the names the token binds, per request. */
	(void)tok;
	if (cfg == NULL || out_policy == NULL) {
		policy_msg(msg, msg_len, "policy: internal error: missing argument");
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (cfg->n_keys > 0 && (p->rules = calloc(cfg->n_keys, sizeof(*p->rules))) == NULL)) {
		policy_msg(msg, msg_len, "out of memory");
		goto out;
	}
	p->agent_uid = agent_uid;
	p->allow_root = cfg->allow_root;
	_Static_assert(sizeof(uid_t) == sizeof(id_t) && sizeof(gid_t) == sizeof(id_t),
		       "uid_t and gid_t are id_t wide");
	if ((rc = policy_admins("admin-users", cfg->admin_users, 0, (id_t **)&p->admin_uids,
				&p->n_admin_uids, msg, msg_len)) != P11A_OK ||
	    (rc = policy_admins("admin-groups", cfg->admin_groups, 1, (id_t **)&p->admin_gids,
				&p->n_admin_gids, msg, msg_len)) != P11A_OK)
		goto out;
	for (; p->n_rules < cfg->n_keys; p->n_rules++) {
		if ((rc = policy_rule_init(&p->rules[p->n_rules], &cfg->keys[p->n_rules], msg,
					   msg_len)) != P11A_OK) {
			policy_rule_clear(&p->rules[p->n_rules]);
			goto out;
		}
	}
	if (p->n_rules > 1)
		qsort(p->rules, p->n_rules, sizeof(*p->rules), policy_rule_cmp);
	*out_policy = p;
	p = NULL;
	rc = P11A_OK;
out:
	policy_free(p);
	return rc;
}

/* The rule of key's [key NAME] section, or NULL. */
static const struct policy_rule *policy_find(const struct policy *p, const struct token_key *key)
{
	struct policy_rule want;

	if (p == NULL || key->name == NULL || p->n_rules == 0)
		return NULL;
	want.name = key->name;
	return bsearch(&want, p->rules, p->n_rules, sizeof(*p->rules), policy_rule_cmp);
}

/* How a key is named in messages: its config name, else its label, else its URI. */
static const char *policy_key_name(const struct token_key *key)
{
	if (key->name != NULL)
		return key->name;
	if (key->label != NULL && key->label[0] != '\0')
		return key->label;
	return key->uri != NULL ? key->uri : "?";
}

static int policy_in_groups(const struct policy_rule *r, const struct caller *peer)
{
	size_t i;
	int j;

	for (i = 0; i < r->n_gids; i++) {
		if (r->gids[i] == (gid_t)peer->gid)
			return 1;
		for (j = 0; j < peer->n_groups && j < CALLER_MAX_GROUPS; j++)
			if (r->gids[i] == (gid_t)peer->groups[j])
				return 1;
	}
	return 0;
}

/*
 * Is peer among who may use the key (allow-users, allow-groups, or the
 * defaults)? P11A_OK or P11A_ERR_DENIED with the rule that refused.
 */
static int policy_check_who(const struct policy *p, const struct policy_rule *r,
			    const struct caller *peer, const struct token_key *key, char *msg,
			    size_t msg_len)
{
	uid_t agent_uid = p != NULL ? p->agent_uid : geteuid();
	int allow_root = p != NULL ? p->allow_root : 1;
	size_t i;

	if ((uid_t)peer->uid == agent_uid)
		return P11A_OK;
	if (r != NULL && r->has_who) {
		for (i = 0; i < r->n_uids; i++)
			if (r->uids[i] == (uid_t)peer->uid)
				return P11A_OK;
		if (policy_in_groups(r, peer))
			return P11A_OK;
		if (r->n_gids == 0)
			policy_msg(msg, msg_len, "uid %d is not in allow-users of [key %s]",
				   peer->uid, r->name);
		else if (r->n_uids == 0)
			policy_msg(msg, msg_len,
				   "uid %d is in no group of allow-groups of [key %s]", peer->uid,
				   r->name);
		else
			policy_msg(
			    msg, msg_len,
			    "uid %d is neither in allow-users nor in allow-groups of [key %s]",
			    peer->uid, r->name);
		return P11A_ERR_DENIED;
	}
	if (peer->uid == 0 && allow_root)
		return P11A_OK;
	if (r != NULL)
		policy_msg(msg, msg_len,
			   "uid %d may not use [key %s]: it has no allow-users or allow-groups, "
			   "so only the agent's uid%s may",
			   peer->uid, r->name, allow_root ? " and root" : "");
	else
		policy_msg(msg, msg_len,
			   "uid %d may not use key '%s': it has no [key] section, so only the "
			   "agent's uid%s may",
			   peer->uid, policy_key_name(key), allow_root ? " and root" : "");
	return P11A_ERR_DENIED;
}

static const char *policy_op_name(uint32_t op)
{
	switch (op) {
	case P11A_OP_SIGN:
		return "sign";
	case P11A_OP_DECRYPT:
		return "decrypt";
	case P11A_OP_UNWRAP:
		return "unwrap";
	case P11A_OP_DERIVE:
		return "derive";
	case P11A_OP_VERIFY:
		return "verify";
	}
	return "unknown";
}

static int policy_alg_listed(const struct policy_rule *r, uint32_t alg)
{
	size_t i;

	for (i = 0; i < r->n_algs; i++)
		if (r->algs[i] == alg)
			return 1;
	return 0;
}

static int policy_name_listed(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name != NULL && strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/*
 * What the SSH front may sign with r's key: with ssh-logins or
 * ssh-namespaces, only userauth requests and SSHSIG blobs they name.
 */
static int policy_check_purpose(const struct policy_rule *r, const struct purpose *purpose,
				char *msg, size_t msg_len)
{
	if (!r->ssh) {
		policy_msg(msg, msg_len, "[key %s] is not offered on the SSH front (ssh = no)",
			   r->name);
		return P11A_ERR_DENIED;
	}
	if (r->n_logins == 0 && r->n_ns == 0)
		return P11A_OK;
	switch (purpose->kind) {
	case PURPOSE_LOGIN:
		if (policy_name_listed(r->logins, r->n_logins, purpose->login))
			return P11A_OK;
		policy_msg(msg, msg_len,
			   r->n_logins > 0 ? "login '%s' is not in ssh-logins of [key %s]"
					   : "[key %s] signs no logins: it has ssh-namespaces only",
			   r->n_logins > 0 ? purpose->login : r->name, r->name);
		return P11A_ERR_DENIED;
	case PURPOSE_SSHSIG:
		if (policy_name_listed(r->ns, r->n_ns, purpose->ns))
			return P11A_OK;
		policy_msg(msg, msg_len,
			   r->n_ns > 0 ? "namespace '%s' is not in ssh-namespaces of [key %s]"
				       : "[key %s] signs no SSHSIG data: it has ssh-logins only",
			   r->n_ns > 0 ? purpose->ns : r->name, r->name);
		return P11A_ERR_DENIED;
	default:
		policy_msg(msg, msg_len,
			   "[key %s] signs only %s%s%s: the data is neither an SSH login nor an "
			   "SSHSIG signature",
			   r->name, r->n_logins > 0 ? "logins (ssh-logins)" : "",
			   r->n_logins > 0 && r->n_ns > 0 ? " and " : "",
			   r->n_ns > 0 ? "SSHSIG namespaces (ssh-namespaces)" : "");
		return P11A_ERR_DENIED;
	}
}

int policy_check(const struct policy *p, const struct caller *peer, const struct token_key *key,
		 uint32_t op, p11a_alg alg, const struct purpose *purpose, char *msg,
		 size_t msg_len)
{
	const struct policy_rule *r;
	const struct p11a_alg_info *ai;
	int rc;

	if (peer == NULL || key == NULL) {
		policy_msg(msg, msg_len, "policy: internal error: missing argument");
		return P11A_ERR_DENIED;
	}
	r = policy_find(p, key);
	if ((rc = policy_check_who(p, r, peer, key, msg, msg_len)) != P11A_OK)
		return rc;
	if (key->version < key->min_version) {
		policy_msg(msg, msg_len,
			   "version %u of key '%s' is retired: min-version of [key %s] is %u",
			   key->version, policy_key_name(key), policy_key_name(key),
			   key->min_version);
		return P11A_ERR_DENIED;
	}
	if (r == NULL)
		return P11A_OK;
	if (r->ops != 0 && (op & r->ops) != op) {
		policy_msg(msg, msg_len, "operation %s is not in allow-ops of [key %s]",
			   policy_op_name(op), r->name);
		return P11A_ERR_DENIED;
	}
	if (r->algs != NULL && !policy_alg_listed(r, (uint32_t)alg)) {
		ai = p11a_alg_by_id((uint32_t)alg);
		policy_msg(msg, msg_len, "algorithm %s is not in allow-algs of [key %s]",
			   ai != NULL ? ai->name : "(none)", r->name);
		return P11A_ERR_DENIED;
	}
	if (purpose != NULL)
		return policy_check_purpose(r, purpose, msg, msg_len);
	/*
	 * The native protocol signs digests: the agent cannot tell what they
	 * are for, so a key held to some logins or namespaces signs only on the
	 * SSH socket, where it can.
	 */
	if ((op & P11A_OP_SIGN) && (r->n_logins > 0 || r->n_ns > 0)) {
		policy_msg(msg, msg_len,
			   "[key %s] signs only SSH %s over the SSH socket (it has %s): this "
			   "socket cannot tell what a digest is for",
			   r->name, r->n_logins > 0 ? "logins" : "signatures",
			   r->n_logins > 0 && r->n_ns > 0 ? "ssh-logins and ssh-namespaces"
			   : r->n_logins > 0		  ? "ssh-logins"
							  : "ssh-namespaces");
		return P11A_ERR_DENIED;
	}
	return P11A_OK;
}

static int policy_some_alg(const struct policy_rule *r, const struct token_key *key, uint32_t ops);

int policy_offered(const struct policy *p, const struct caller *peer, const struct token_key *key,
		   const struct purpose *purpose)
{
	const struct policy_rule *r;

	(void)purpose; /* the SSH front's: its key settings are the ssh* ones */
	if (peer == NULL || key == NULL || !(key->ops & P11A_OP_SIGN) ||
	    key->version < key->min_version)
		return 0;
	r = policy_find(p, key);
	if (policy_check_who(p, r, peer, key, NULL, 0) != P11A_OK)
		return 0;
	if (r == NULL)
		return 1;
	return r->ssh && (r->ops == 0 || (r->ops & P11A_OP_SIGN)) &&
	       policy_some_alg(r, key, P11A_OP_SIGN);
}

/*
 * May some algorithm of r's allow-algs serve key for one of ops? (Verifying
 * an HMAC takes the signing algorithms.)
 */
static int policy_some_alg(const struct policy_rule *r, const struct token_key *key, uint32_t ops)
{
	const struct p11a_alg_info *ai;
	size_t i;

	if (r->algs == NULL)
		return 1;
	if (ops & P11A_OP_VERIFY)
		ops |= P11A_OP_SIGN;
	for (i = 0; i < r->n_algs; i++) {
		ai = p11a_alg_by_id(r->algs[i]);
		if (ai != NULL && ai->key_type == key->type && (ai->ops & ops) != 0)
			return 1;
	}
	return 0;
}

int policy_visible(const struct policy *p, const struct caller *peer, const struct token_key *key)
{
	const struct policy_rule *r;
	uid_t agent_uid = p != NULL ? p->agent_uid : geteuid();
	uint32_t ops;

	if (peer == NULL || key == NULL)
		return 0;
	if ((uid_t)peer->uid == agent_uid)
		return 1;
	r = policy_find(p, key);
	if (policy_check_who(p, r, peer, key, NULL, 0) != P11A_OK)
		return 0;
	/* At least one operation the key does that the rule allows, with an allowed algorithm. */
	ops = key->ops;
	if (r != NULL && r->ops != 0)
		ops &= r->ops;
	return ops != 0 && (r == NULL || policy_some_alg(r, key, ops));
}

int policy_admin(const struct policy *p, const struct caller *peer, char *msg, size_t msg_len)
{
	uid_t agent_uid = p != NULL ? p->agent_uid : geteuid();
	size_t i;
	int j;

	if (peer == NULL) {
		policy_msg(msg, msg_len, "policy: internal error: missing argument");
		return P11A_ERR_DENIED;
	}
	if ((uid_t)peer->uid == agent_uid)
		return P11A_OK;
	for (i = 0; p != NULL && i < p->n_admin_uids; i++)
		if (p->admin_uids[i] == (uid_t)peer->uid)
			return P11A_OK;
	for (i = 0; p != NULL && i < p->n_admin_gids; i++) {
		if (p->admin_gids[i] == (gid_t)peer->gid)
			return P11A_OK;
		for (j = 0; j < peer->n_groups && j < CALLER_MAX_GROUPS; j++)
			if (p->admin_gids[i] == (gid_t)peer->groups[j])
				return P11A_OK;
	}
	policy_msg(msg, msg_len,
		   "uid %d may not manage keys: only the agent's own uid%s (admin-users, "
		   "admin-groups in the config)",
		   peer->uid,
		   p != NULL && (p->n_admin_uids > 0 || p->n_admin_gids > 0) ? " and the admins"
									     : "");
	return P11A_ERR_DENIED;
}

int policy_may_destroy(const struct policy *p, const struct token_key *key)
{
	const struct policy_rule *r = policy_find(p, key);

	return r != NULL && r->allow_destroy;
}
