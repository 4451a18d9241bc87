#include "config.h"
/*
 * conf-key: the "[key NAME]" sections of the config file.
 *
 * A section names one key of the token and holds its settings: one table row
 * per key (conf_section_keys), with the function that checks and stores its
 * value in a struct conf_key. A new per-key setting is one row and one setter.
 * conf.c hands every line of an open section to conf_set_section_key().
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-impl.h"
#include "p11agent.h"

typedef int (*conf_key_setter)(struct conf_key *k, const char *key, const char *value, char *msg,
			       size_t msg_len);

static void conf_free_list(char **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/*
 * Splits value at commas into *out_items (copies, blanks around each item
 * trimmed; free with conf_free_list). An empty item, or a blank or control
 * character inside one, is an error.
 */
static int conf_split_list(const char *key, const char *value, char ***out_items, size_t *out_n,
			   char *msg, size_t msg_len)
{
	char *copy, *rest, *item, **items = NULL, **grown;
	const char *c;
	size_t n = 0;
	int ret = -1;

	if ((copy = strdup(value)) == NULL) {
		conf_msg(msg, msg_len, "%s: out of memory", key);
		goto out;
	}
	rest = copy;
	while ((item = strsep(&rest, ",")) != NULL) {
		item = conf_trim(item);
		if (*item == '\0') {
			conf_msg(msg, msg_len, "%s: empty item in the list (expected A, B, ...)",
				 key);
			goto out;
		}
		for (c = item; *c != '\0'; c++) {
			if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c)) {
				conf_msg(msg, msg_len,
					 "%s: blank or control character inside an item "
					 "(items are separated by commas)",
					 key);
				goto out;
			}
		}
		if ((grown = realloc(items, (n + 1) * sizeof(*items))) == NULL) {
			conf_msg(msg, msg_len, "%s: out of memory", key);
			goto out;
		}
		items = grown;
		if ((items[n] = strdup(item)) == NULL) {
			conf_msg(msg, msg_len, "%s: out of memory", key);
			goto out;
		}
		n++;
	}
	*out_items = items;
	*out_n = n;
	items = NULL;
	n = 0;
	ret = 0;
out:
	conf_free_list(items, n);
	free(copy);
	return ret;
}

static int set_key_uri(struct conf_key *k, const char *key, const char *value, char *msg,
		       size_t msg_len)
{
	if (conf_check_uri(key, value, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, CONF_URI_STRICT,
			   "pkcs11:object=LABEL;type=private", msg, msg_len) != 0)
		return -1;
	return conf_store(&k->uri, key, value, msg, msg_len);
}

static int set_key_allow_rsa_pkcs1_decrypt(struct conf_key *k, const char *key, const char *value,
					   char *msg, size_t msg_len)
{
	return conf_parse_bool(key, value, &k->allow_rsa_pkcs1_decrypt, msg, msg_len);
}

/* User and group names are resolved by the policy, when the agent starts. */
static int set_key_allow_users(struct conf_key *k, const char *key, const char *value, char *msg,
			       size_t msg_len)
{
	return conf_split_list(key, value, &k->allow_users, &k->n_allow_users, msg, msg_len);
}

static int set_key_allow_groups(struct conf_key *k, const char *key, const char *value, char *msg,
				size_t msg_len)
{
	return conf_split_list(key, value, &k->allow_groups, &k->n_allow_groups, msg, msg_len);
}

static int set_key_allow_ops(struct conf_key *k, const char *key, const char *value, char *msg,
			     size_t msg_len)
{
	static const struct {
		const char *name;
		uint32_t op;
	} ops[] = {
	    {"sign", P11A_OP_SIGN},	{"decrypt", P11A_OP_DECRYPT}, {"unwrap", P11A_OP_UNWRAP},
	    {"derive", P11A_OP_DERIVE}, {"verify", P11A_OP_VERIFY},
	};
	char shown[CONF_MAX_KEY_ECHO + 8];
	char **items = NULL;
	size_t n = 0, i, j;
	uint32_t mask = 0;
	int ret = -1;

	if (conf_split_list(key, value, &items, &n, msg, msg_len) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(ops) / sizeof(ops[0]); j++)
			if (strcmp(items[i], ops[j].name) == 0)
				break;
		if (j == sizeof(ops) / sizeof(ops[0])) {
			conf_quote_key(items[i], shown, sizeof(shown));
			conf_msg(msg, msg_len,
				 "%s: unknown operation '%s' (expected sign, decrypt, unwrap, "
				 "derive or verify)",
				 key, shown);
			goto out;
		}
		mask |= ops[j].op;
	}
	k->allow_ops = mask;
	ret = 0;
out:
	conf_free_list(items, n);
	return ret;
}

static int set_key_allow_algs(struct conf_key *k, const char *key, const char *value, char *msg,
			      size_t msg_len)
{
	const struct p11a_alg_info *ai;
	char shown[CONF_MAX_KEY_ECHO + 8];
	char **items = NULL;
	uint32_t *algs = NULL;
	size_t n = 0, i;
	int ret = -1;

	if (conf_split_list(key, value, &items, &n, msg, msg_len) != 0)
		goto out;
	if ((algs = calloc(n, sizeof(*algs))) == NULL) {
		conf_msg(msg, msg_len, "%s: out of memory", key);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((ai = p11a_alg_by_name(items[i])) == NULL) {
			conf_quote_key(items[i], shown, sizeof(shown));
			conf_msg(msg, msg_len,
				 "%s: unknown algorithm '%s' (names as p11agent list prints "
				 "them, e.g. ecdsa-sha256)",
				 key, shown);
			goto out;
		}
		algs[i] = (uint32_t)ai->alg;
	}
	k->allow_algs = algs;
	k->n_allow_algs = n;
	algs = NULL;
	ret = 0;
out:
	free(algs);
	conf_free_list(items, n);
	return ret;
}

static int set_key_ssh(struct conf_key *k, const char *key, const char *value, char *msg,
		       size_t msg_len)
{
	return conf_parse_bool(key, value, &k->ssh, msg, msg_len);
}

static int set_key_min_version(struct conf_key *k, const char *key, const char *value, char *msg,
			       size_t msg_len)
{
	char *end;
	unsigned long v;

	if (value[0] < '1' || value[0] > '9' || strlen(value) > 9 ||
	    (v = strtoul(value, &end, 10)) > CONF_MAX_VERSION || *end != '\0') {
		conf_msg(msg, msg_len, "%s: expected a version number, 1 to %u", key,
			 CONF_MAX_VERSION);
		return -1;
	}
	k->min_version = (uint32_t)v;
	return 0;
}

static int set_key_allow_destroy(struct conf_key *k, const char *key, const char *value, char *msg,
				 size_t msg_len)
{
	return conf_parse_bool(key, value, &k->allow_destroy, msg, msg_len);
}

int conf_check_list(const char *key, const char *value, char *msg, size_t msg_len)
{
	char **items = NULL;
	size_t n = 0;

	if (conf_split_list(key, value, &items, &n, msg, msg_len) != 0)
		return -1;
	conf_free_list(items, n);
	return 0;
}

/* Remote user names are not looked up: they name accounts on other hosts. */
static int set_key_ssh_logins(struct conf_key *k, const char *key, const char *value, char *msg,
			      size_t msg_len)
{
	return conf_split_list(key, value, &k->ssh_logins, &k->n_ssh_logins, msg, msg_len);
}

static int set_key_ssh_namespaces(struct conf_key *k, const char *key, const char *value, char *msg,
				  size_t msg_len)
{
	return conf_split_list(key, value, &k->ssh_namespaces, &k->n_ssh_namespaces, msg, msg_len);
}

/* Keys of a [key NAME] section. */
/* clang-format off */
static const struct {
	const char *name;
	conf_key_setter set;
} conf_section_keys[] = {
	{"uri", set_key_uri},
	{"allow-rsa-pkcs1-decrypt", set_key_allow_rsa_pkcs1_decrypt},
	{"allow-users", set_key_allow_users},
	{"allow-groups", set_key_allow_groups},
	{"allow-ops", set_key_allow_ops},
	{"allow-algs", set_key_allow_algs},
	{"ssh", set_key_ssh},
	{"ssh-logins", set_key_ssh_logins},
	{"ssh-namespaces", set_key_ssh_namespaces},
	{"min-version", set_key_min_version},
	{"allow-destroy", set_key_allow_destroy},
};
/* clang-format on */
_Static_assert(sizeof(conf_section_keys) / sizeof(conf_section_keys[0]) == CONF_N_SECTION_KEYS,
	       "CONF_N_SECTION_KEYS must count the rows of conf_section_keys");

static const char *conf_section_key_name(size_t i)
{
	return conf_section_keys[i].name;
}

int conf_is_section_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_N_SECTION_KEYS; i++)
		if (strcmp(name, conf_section_keys[i].name) == 0)
			return 1;
	return 0;
}

void conf_free_keys(struct conf_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(keys[i].name);
		conf_free_str(keys[i].uri);
		free(keys[i].where);
		conf_free_list(keys[i].allow_users, keys[i].n_allow_users);
		conf_free_list(keys[i].allow_groups, keys[i].n_allow_groups);
		free(keys[i].allow_algs);
		conf_free_list(keys[i].ssh_logins, keys[i].n_ssh_logins);
		conf_free_list(keys[i].ssh_namespaces, keys[i].n_ssh_namespaces);
	}
	free(keys);
}

/* A NAME of [key NAME]: 1..64 of A-Z a-z 0-9 . _ - (ASCII, whatever the locale). */
static int conf_valid_name(const char *name)
{
	size_t n;
	char c;

	for (n = 0; (c = name[n]) != '\0'; n++) {
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= CONF_MAX_KEY_NAME;
}

int conf_end_section(struct conf_parser *p, char *msg, size_t msg_len)
{
	const struct conf_key *k;

	if (!p->in_section)
		return 0;
	k = &p->cfg->keys[p->cfg->n_keys - 1];
	(void)k; /* without a uri, the section names the keys labelled NAME (and NAME@N) */
	p->in_section = 0;
	return 0;
}

/* Appends a section named name to cfg->keys and opens it. */
static int conf_add_section(struct conf_parser *p, const char *name, char *msg, size_t msg_len)
{
	struct agent_config *cfg = p->cfg;
	struct conf_key *k, *grown;
	size_t i, next;

	for (i = 0; i < cfg->n_keys; i++) {
		if (strcmp(cfg->keys[i].name, name) == 0) {
			conf_msg(msg, msg_len, "[key %s] already defined at %s", name,
				 cfg->keys[i].where);
			return -1;
		}
	}
	if (cfg->n_keys >= CONF_MAX_KEYS) {
		conf_msg(msg, msg_len, "too many [key] sections (at most %u)", CONF_MAX_KEYS);
		return -1;
	}
	if (cfg->n_keys == p->keys_alloc) {
		next = p->keys_alloc == 0 ? 8 : p->keys_alloc * 2;
		if ((grown = realloc(cfg->keys, next * sizeof(*grown))) == NULL) {
			conf_msg(msg, msg_len, "out of memory");
			return -1;
		}
		cfg->keys = grown;
		p->keys_alloc = next;
	}
	k = &cfg->keys[cfg->n_keys];
	memset(k, 0, sizeof(*k));
	k->ssh = 1;
	k->min_version = 1;
	if ((k->name = strdup(name)) == NULL ||
	    asprintf(&k->where, "%s:%lu", p->name, p->lineno) < 0) {
		free(k->name);
		conf_msg(msg, msg_len, "out of memory");
		return -1;
	}
	cfg->n_keys++;
	p->in_section = 1;
	p->sec_line = p->lineno;
	memset(p->seen, 0, sizeof(p->seen));
	return 0;
}

int conf_parse_section(struct conf_parser *p, char *line, char *msg, size_t msg_len)
{
	char shown[CONF_MAX_KEY_ECHO + 8];
	char *s, *end, *name;
	size_t n;

	conf_cut_comment(line);
	if ((end = strchr(line, ']')) == NULL) {
		conf_msg(msg, msg_len, "missing ']' (expected [key NAME])");
		return -1;
	}
	*end = '\0';
	if (*conf_trim(end + 1) != '\0') {
		conf_msg(msg, msg_len, "unexpected text after ']'");
		return -1;
	}
	s = conf_trim(line + 1);
	n = strcspn(s, " \t\r\f\v");
	if (n != 3 || strncmp(s, "key", 3) != 0) {
		conf_quote_key(s, shown, sizeof(shown));
		conf_msg(msg, msg_len, "unknown section '[%s]' (expected [key NAME])", shown);
		return -1;
	}
	name = conf_trim(s + 3);
	if (*name == '\0') {
		conf_msg(msg, msg_len, "[key] without a name (expected [key NAME])");
		return -1;
	}
	if (!conf_valid_name(name)) {
		conf_quote_key(name, shown, sizeof(shown));
		conf_msg(msg, msg_len,
			 "bad key name '%s': expected 1 to %u of A-Z, a-z, 0-9, '.', '_', '-'",
			 shown, CONF_MAX_KEY_NAME);
		return -1;
	}
	return conf_add_section(p, name, msg, msg_len);
}

int conf_set_section_key(struct conf_parser *p, const char *key, const char *value, char *msg,
			 size_t msg_len)
{
	struct conf_key *k = &p->cfg->keys[p->cfg->n_keys - 1];
	char shown[CONF_MAX_KEY_ECHO + 8], expected[256];
	size_t i;

	for (i = 0; i < CONF_N_SECTION_KEYS; i++) {
		if (strcmp(key, conf_section_keys[i].name) != 0)
			continue;
		if (value[0] == '\0') {
			conf_msg(msg, msg_len, "%s: empty value", key);
			return -1;
		}
		if (p->seen[i] != 0) {
			conf_msg(msg, msg_len, "'%s' set twice in [key %s] (first on line %lu)",
				 key, k->name, p->seen[i]);
			return -1;
		}
		if (conf_section_keys[i].set(k, key, value, msg, msg_len) != 0)
			return -1;
		p->seen[i] = p->lineno;
		return 0;
	}
	if (conf_is_global_key(key)) {
		conf_msg(msg, msg_len, "'%s' belongs before the first [key] section", key);
		return -1;
	}
	conf_join(expected, sizeof(expected), conf_section_key_name, CONF_N_SECTION_KEYS);
	conf_quote_key(key, shown, sizeof(shown));
	conf_msg(msg, msg_len, "unknown key '%s' in [key %s] (expected %s)", shown, k->name,
		 expected);
	return -1;
}
