#include "config.h"
/*
 * test-policy: who may use which key for what (agent/policy.c), with peers
 * and keys made by hand and the rules loaded from config text.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../agent/conf.h"
#include "../agent/policy.h"

#define AGENT 1000 /* the agent's uid in these tests */

/* A peer with uid, primary gid and up to 3 supplementary groups (-1 ends the list). */
static struct caller mkpeer(int uid, int gid, int g1, int g2, int g3)
{
	struct caller p;
	int g[3] = {g1, g2, g3};

	memset(&p, 0, sizeof(p));
	p.uid = uid;
	p.gid = gid;
	p.pid = 4242;
	for (int i = 0; i < 3 && g[i] >= 0; i++)
		p.groups[p.n_groups++] = (unsigned)g[i];
	return p;
}

/* A key as the token indexes it; name: the config's [key NAME] bound to it, or NULL. */
static struct token_key mkkey(const char *name, const char *label, p11a_key_type type, uint32_t ops)
{
	struct token_key k;

	memset(&k, 0, sizeof(k));
	k.name = (char *)name;
	k.label = (char *)label;
	k.uri = (char *)"pkcs11:object=x;type=private";
	k.type = type;
	k.ops = ops;
	return k;
}

/* A policy from config text; the agent's uid is AGENT. */
static struct policy *mkpolicy(const char *text, int allow_root)
{
	struct agent_config cfg;
	struct policy *p = NULL;
	char msg[512] = "";

	config_init(&cfg);
	if (config_load_string(&cfg, "t.conf", text, strlen(text), msg, sizeof(msg)) != 0)
		fail_msg("config: %s", msg);
	cfg.allow_root = allow_root;
	if (policy_new(&cfg, NULL, AGENT, &p, msg, sizeof(msg)) != P11A_OK)
		fail_msg("policy_new: %s", msg);
	config_clear(&cfg);
	return p;
}

/* policy_check, expecting rc; with DENIED, the message must hold want. */
static void expect(const struct policy *p, struct caller peer, const struct token_key *key,
		   uint32_t op, p11a_alg alg, int rc, const char *want)
{
	char msg[512] = "";
	int got = policy_check(p, &peer, key, op, alg, NULL, msg, sizeof(msg));

	if (got != rc)
		fail_msg("uid %d, key %s, op %u: got %d, expected %d (%s)", peer.uid,
			 key->name != NULL ? key->name : key->label, op, got, rc, msg);
	if (want != NULL && strstr(msg, want) == NULL)
		fail_msg("message '%s' does not hold '%s'", msg, want);
}

static const char rules[] = "[key build]\n"
			    "uri = pkcs11:object=build\n"
			    "allow-users = 2001, 2002\n"
			    "allow-groups = 3001\n"
			    "allow-ops = sign\n"
			    "allow-algs = ecdsa-sha256, ecdsa-sha384\n"
			    "[key users-only]\n"
			    "uri = pkcs11:object=u\n"
			    "allow-users = 2001\n"
			    "[key groups-only]\n"
			    "uri = pkcs11:object=g\n"
			    "allow-groups = 3001, 3002\n"
			    "[key bare]\n"
			    "uri = pkcs11:object=bare\n"
			    "[key hmac]\n"
			    "uri = pkcs11:object=hmac\n"
			    "allow-users = 2001\n"
			    "allow-ops = verify\n"
			    "[key rsa-dec]\n"
			    "uri = pkcs11:object=rsa\n"
			    "allow-users = 2001\n"
			    "allow-ops = decrypt, unwrap\n"
			    "allow-algs = rsa-oaep-sha256\n";

static void test_who(void **state)
{
	struct policy *p = mkpolicy(rules, 1);
	struct token_key build = mkkey("build", "b", P11A_KEY_EC, P11A_OP_SIGN);
	struct token_key uonly = mkkey("users-only", "u", P11A_KEY_EC, P11A_OP_SIGN);
	struct token_key gonly = mkkey("groups-only", "g", P11A_KEY_EC, P11A_OP_SIGN);
	p11a_alg es256 = P11A_ALG_ECDSA_SHA256;

	/* The agent's own uid, a listed uid, a listed primary or supplementary group. */
	expect(p, mkpeer(AGENT, AGENT, -1, -1, -1), &build, P11A_OP_SIGN, es256, P11A_OK, NULL);
	expect(p, mkpeer(2001, 100, -1, -1, -1), &build, P11A_OP_SIGN, es256, P11A_OK, NULL);
	expect(p, mkpeer(2002, 100, -1, -1, -1), &build, P11A_OP_SIGN, es256, P11A_OK, NULL);
	expect(p, mkpeer(2500, 3001, -1, -1, -1), &build, P11A_OP_SIGN, es256, P11A_OK, NULL);
	expect(p, mkpeer(2500, 100, 7, 8, 3001), &build, P11A_OP_SIGN, es256, P11A_OK, NULL);
	/* Anyone else, root included, is refused: the rules name the key's users. */
	expect(p, mkpeer(2500, 100, 7, 8, 9), &build, P11A_OP_SIGN, es256, P11A_ERR_DENIED,
	       "uid 2500 is neither in allow-users nor in allow-groups of [key build]");
	expect(p, mkpeer(0, 0, -1, -1, -1), &build, P11A_OP_SIGN, es256, P11A_ERR_DENIED,
	       "uid 0 is neither");
	expect(p, mkpeer(2002, 3002, -1, -1, -1), &uonly, P11A_OP_SIGN, es256, P11A_ERR_DENIED,
	       "uid 2002 is not in allow-users of [key users-only]");
	expect(p, mkpeer(2001, 3002, -1, -1, -1), &uonly, P11A_OP_SIGN, es256, P11A_OK, NULL);
	expect(p, mkpeer(2001, 100, -1, -1, -1), &gonly, P11A_OP_SIGN, es256, P11A_ERR_DENIED,
	       "uid 2001 is in no group of allow-groups of [key groups-only]");
	expect(p, mkpeer(2001, 100, 3002, -1, -1), &gonly, P11A_OP_SIGN, es256, P11A_OK, NULL);
	/* A negative (unknown) uid or gid matches nothing. */
	expect(p, mkpeer(-1, -1, -1, -1, -1), &gonly, P11A_OP_SIGN, es256, P11A_ERR_DENIED, NULL);
	policy_free(p);
}

/* Without allow-users/allow-groups, or without a section: the agent's uid and root. */
static void test_defaults(void **state)
{
	struct policy *p = mkpolicy(rules, 1), *noroot = mkpolicy(rules, 0);
	struct token_key bare = mkkey("bare", "b", P11A_KEY_RSA, P11A_OP_SIGN);
	struct token_key unnamed = mkkey(NULL, "lonely", P11A_KEY_RSA, P11A_OP_SIGN);
	struct token_key stranger = mkkey("not-in-config", "s", P11A_KEY_RSA, P11A_OP_SIGN);
	p11a_alg alg = P11A_ALG_RSA_PKCS1_SHA256;

	expect(p, mkpeer(AGENT, 1, -1, -1, -1), &bare, P11A_OP_SIGN, alg, P11A_OK, NULL);
	expect(p, mkpeer(0, 0, -1, -1, -1), &bare, P11A_OP_SIGN, alg, P11A_OK, NULL);
	expect(p, mkpeer(2001, 3001, -1, -1, -1), &bare, P11A_OP_SIGN, alg, P11A_ERR_DENIED,
	       "uid 2001 may not use [key bare]: it has no allow-users or allow-groups, so only "
	       "the agent's uid and root may");
	expect(p, mkpeer(0, 0, -1, -1, -1), &unnamed, P11A_OP_SIGN, alg, P11A_OK, NULL);
	expect(p, mkpeer(2001, 3001, -1, -1, -1), &unnamed, P11A_OP_SIGN, alg, P11A_ERR_DENIED,
	       "uid 2001 may not use key 'lonely': it has no [key] section, so only the "
	       "agent's uid and root may");
	expect(p, mkpeer(AGENT, 1, -1, -1, -1), &stranger, P11A_OP_DECRYPT, P11A_ALG_RSA_PKCS1,
	       P11A_OK, NULL);
	/* allow-root = no */
	expect(noroot, mkpeer(0, 0, -1, -1, -1), &bare, P11A_OP_SIGN, alg, P11A_ERR_DENIED,
	       "so only the agent's uid may");
	expect(noroot, mkpeer(0, 0, -1, -1, -1), &unnamed, P11A_OP_SIGN, alg, P11A_ERR_DENIED,
	       "no [key] section, so only the agent's uid may");
	expect(noroot, mkpeer(AGENT, 1, -1, -1, -1), &unnamed, P11A_OP_SIGN, alg, P11A_OK, NULL);
	policy_free(p);
	policy_free(noroot);
}

/* allow-ops and allow-algs bind everyone, the agent's own uid too. */
static void test_ops_and_algs(void **state)
{
	struct policy *p = mkpolicy(rules, 1);
	struct token_key build = mkkey("build", "b", P11A_KEY_EC, P11A_OP_SIGN | P11A_OP_DERIVE);
	struct token_key hmac = mkkey("hmac", "h", P11A_KEY_HMAC, P11A_OP_SIGN | P11A_OP_VERIFY);
	struct token_key rsa =
	    mkkey("rsa-dec", "r", P11A_KEY_RSA, P11A_OP_SIGN | P11A_OP_DECRYPT | P11A_OP_UNWRAP);
	struct caller agent = mkpeer(AGENT, AGENT, -1, -1, -1), u = mkpeer(2001, 100, -1, -1, -1);

	expect(p, u, &build, P11A_OP_DERIVE, P11A_ALG_ECDH, P11A_ERR_DENIED,
	       "operation derive is not in allow-ops of [key build]");
	expect(p, agent, &build, P11A_OP_DERIVE, P11A_ALG_ECDH, P11A_ERR_DENIED,
	       "operation derive is not in allow-ops of [key build]");
	expect(p, u, &build, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA384, P11A_OK, NULL);
	expect(p, u, &build, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA512, P11A_ERR_DENIED,
	       "algorithm ecdsa-sha512 is not in allow-algs of [key build]");
	expect(p, agent, &build, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA512, P11A_ERR_DENIED,
	       "algorithm ecdsa-sha512 is not in allow-algs of [key build]");
	expect(p, u, &build, P11A_OP_SIGN, P11A_ALG_NONE, P11A_ERR_DENIED,
	       "algorithm (none) is not in allow-algs");
	/* Verifying an HMAC is its own operation. */
	expect(p, u, &hmac, P11A_OP_VERIFY, P11A_ALG_HMAC_SHA256, P11A_OK, NULL);
	expect(p, u, &hmac, P11A_OP_SIGN, P11A_ALG_HMAC_SHA256, P11A_ERR_DENIED,
	       "operation sign is not in allow-ops of [key hmac]");
	expect(p, u, &rsa, P11A_OP_DECRYPT, P11A_ALG_RSA_OAEP_SHA256, P11A_OK, NULL);
	expect(p, u, &rsa, P11A_OP_UNWRAP, P11A_ALG_RSA_OAEP_SHA256, P11A_OK, NULL);
	expect(p, u, &rsa, P11A_OP_UNWRAP, P11A_ALG_RSA_OAEP_SHA1, P11A_ERR_DENIED,
	       "algorithm rsa-oaep-sha1 is not in allow-algs of [key rsa-dec]");
	expect(p, u, &rsa, P11A_OP_SIGN, P11A_ALG_RSA_PSS_SHA256, P11A_ERR_DENIED,
	       "operation sign is not in allow-ops of [key rsa-dec]");
	policy_free(p);
}

static void test_visible(void **state)
{
	struct policy *p = mkpolicy(rules, 1), *noroot = mkpolicy(rules, 0);
	struct token_key build = mkkey("build", "b", P11A_KEY_EC, P11A_OP_SIGN);
	struct token_key build_derive = mkkey("build", "b", P11A_KEY_EC, P11A_OP_DERIVE);
	struct token_key rsa = mkkey("rsa-dec", "r", P11A_KEY_RSA, P11A_OP_DECRYPT);
	struct token_key rsa_signonly = mkkey("rsa-dec", "r", P11A_KEY_RSA, P11A_OP_SIGN);
	struct token_key bare = mkkey("bare", "b", P11A_KEY_RSA, P11A_OP_SIGN);
	struct token_key unnamed = mkkey(NULL, "lonely", P11A_KEY_RSA, P11A_OP_SIGN);
	struct caller agent = mkpeer(AGENT, AGENT, -1, -1, -1), root = mkpeer(0, 0, -1, -1, -1);
	struct caller u = mkpeer(2001, 100, -1, -1, -1), g = mkpeer(2600, 100, 3001, -1, -1);
	struct caller other = mkpeer(2700, 100, -1, -1, -1);

	/* The agent's uid sees everything, even keys its rules keep it from using. */
	assert_true(policy_visible(p, &agent, &build));
	assert_true(policy_visible(p, &agent, &build_derive));
	assert_true(policy_visible(p, &agent, &unnamed));
	assert_true(policy_visible(noroot, &agent, &bare));
	/* Others see what they may use for at least one operation. */
	assert_true(policy_visible(p, &u, &build));
	assert_true(policy_visible(p, &g, &build));
	assert_false(policy_visible(p, &other, &build));
	assert_false(policy_visible(p, &u, &build_derive)); /* allow-ops = sign only */
	assert_true(policy_visible(p, &u, &rsa));
	assert_false(policy_visible(p, &u, &rsa_signonly));
	assert_false(policy_visible(p, &u, &bare));
	assert_false(policy_visible(p, &u, &unnamed));
	assert_false(policy_visible(p, &root, &build));
	assert_true(policy_visible(p, &root, &bare));
	assert_true(policy_visible(p, &root, &unnamed));
	assert_false(policy_visible(noroot, &root, &bare));
	assert_false(policy_visible(noroot, &root, &unnamed));
	assert_false(policy_visible(p, NULL, &build));
	assert_false(policy_visible(p, &agent, NULL));
	policy_free(p);
	policy_free(noroot);
}

/* allow-algs that fit no operation of the key hide it. */
static void test_visible_algs(void **state)
{
	struct policy *p = mkpolicy("[key k]\nuri = pkcs11:object=k\nallow-users = 2001\n"
				    "allow-algs = rsa-pss-sha256\n",
				    1);
	struct token_key ec = mkkey("k", "k", P11A_KEY_EC, P11A_OP_SIGN);
	struct token_key rsa = mkkey("k", "k", P11A_KEY_RSA, P11A_OP_SIGN);
	struct token_key rsa_dec = mkkey("k", "k", P11A_KEY_RSA, P11A_OP_DECRYPT);
	struct caller u = mkpeer(2001, 100, -1, -1, -1);

	assert_false(policy_visible(p, &u, &ec));
	assert_true(policy_visible(p, &u, &rsa));
	assert_false(policy_visible(p, &u, &rsa_dec));
	policy_free(p);
}

/* A NULL policy: the agent's uid (geteuid()) and root only. */
static void test_null_policy(void **state)
{
	struct token_key k = mkkey(NULL, "k", P11A_KEY_EC, P11A_OP_SIGN);
	struct caller self = mkpeer((int)geteuid(), 0, -1, -1, -1), root = mkpeer(0, 0, -1, -1, -1);
	int other_uid = geteuid() == 4321 ? 4322 : 4321;
	struct caller other = mkpeer(other_uid, 0, -1, -1, -1);
	char msg[256];

	expect(NULL, self, &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_OK, NULL);
	expect(NULL, root, &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_OK, NULL);
	expect(NULL, other, &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_ERR_DENIED,
	       "no [key] section, so only the agent's uid and root may");
	assert_true(policy_visible(NULL, &self, &k));
	assert_true(policy_visible(NULL, &root, &k));
	assert_false(policy_visible(NULL, &other, &k));
	assert_int_equal(policy_check(NULL, NULL, &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, NULL,
				      msg, sizeof(msg)),
			 P11A_ERR_DENIED);
	policy_free(NULL);
}

/* Names are resolved at policy_new; unknown ones name the section. */
static void test_resolve(void **state)
{
	struct agent_config cfg;
	struct policy *p = NULL;
	struct passwd *pw = getpwuid(0);
	struct group *gr = getgrgid(0);
	char text[512], msg[512] = "";
	struct token_key k = mkkey("k", "k", P11A_KEY_EC, P11A_OP_SIGN);

	/* Root's own names (whatever they are here) resolve to 0. */
	if (pw == NULL || gr == NULL)
		skip();
	snprintf(text, sizeof(text),
		 "[key k]\nuri = pkcs11:object=k\nallow-users = %s\nallow-groups = %s\n",
		 pw->pw_name, gr->gr_name);
	p = mkpolicy(text, 0);
	expect(p, mkpeer(0, 77, -1, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_OK,
	       NULL);
	expect(p, mkpeer(55, 0, -1, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_OK,
	       NULL);
	expect(p, mkpeer(55, 77, -1, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256,
	       P11A_ERR_DENIED, NULL);
	policy_free(p);

	config_init(&cfg);
	assert_int_equal(config_load_string(&cfg, "t.conf",
					    "\n[key a]\nuri = pkcs11:object=a\n[key b]\n"
					    "uri = pkcs11:object=b\nallow-users = 12, "
					    "p11a-no-such-user-xq\n",
					    strlen("\n[key a]\nuri = pkcs11:object=a\n[key b]\n"
						   "uri = pkcs11:object=b\nallow-users = 12, "
						   "p11a-no-such-user-xq\n"),
					    msg, sizeof(msg)),
			 0);
	p = (struct policy *)&cfg; /* must stay untouched on failure */
	assert_int_not_equal(policy_new(&cfg, NULL, AGENT, &p, msg, sizeof(msg)), P11A_OK);
	assert_ptr_equal(p, &cfg);
	assert_string_equal(msg, "t.conf:4: [key b]: no user 'p11a-no-such-user-xq'");
	config_clear(&cfg);

	config_init(&cfg);
	assert_int_equal(config_load_string(&cfg, "u.conf",
					    "[key g]\nuri = pkcs11:object=g\n"
					    "allow-groups = p11a-no-such-group-xq\n",
					    strlen("[key g]\nuri = pkcs11:object=g\n"
						   "allow-groups = p11a-no-such-group-xq\n"),
					    msg, sizeof(msg)),
			 0);
	assert_int_not_equal(policy_new(&cfg, NULL, AGENT, &p, msg, sizeof(msg)), P11A_OK);
	assert_string_equal(msg, "u.conf:1: [key g]: no group 'p11a-no-such-group-xq'");
	config_clear(&cfg);

	/* Numeric ids need no entry in the user database; out of range they are names. */
	p = mkpolicy("[key k]\nuri = pkcs11:object=k\nallow-users = 4000000000\n"
		     "allow-groups = 0000123\n",
		     1);
	expect(p, mkpeer((int)4000000000u, 1, -1, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256,
	       P11A_OK, NULL);
	expect(p, mkpeer(9, 1, 123, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256, P11A_OK,
	       NULL);
	policy_free(p);
	config_init(&cfg);
	assert_int_equal(config_load_string(&cfg, "v.conf",
					    "[key k]\nuri = pkcs11:object=k\n"
					    "allow-users = 4294967295\n",
					    strlen("[key k]\nuri = pkcs11:object=k\n"
						   "allow-users = 4294967295\n"),
					    msg, sizeof(msg)),
			 0);
	assert_int_not_equal(policy_new(&cfg, NULL, AGENT, &p, msg, sizeof(msg)), P11A_OK);
	assert_string_equal(msg, "v.conf:1: [key k]: no user '4294967295'");
	config_clear(&cfg);
}

/* Many sections: each key finds its own rule. */
static void test_many_rules(void **state)
{
	size_t cap = 200 * 96, len = 0;
	char *text = malloc(cap), name[32];
	struct policy *p;
	struct token_key k;
	int i;

	assert_non_null(text);
	for (i = 199; i >= 0; i--)
		len += (size_t)snprintf(text + len, cap - len,
					"[key k%d]\nuri = pkcs11:object=k%d\nallow-users = %d\n", i,
					i, 5000 + i);
	p = mkpolicy(text, 1);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		k = mkkey(name, name, P11A_KEY_EC, P11A_OP_SIGN);
		expect(p, mkpeer(5000 + i, 1, -1, -1, -1), &k, P11A_OP_SIGN, P11A_ALG_ECDSA_SHA256,
		       P11A_OK, NULL);
		expect(p, mkpeer(5000 + (i + 1) % 200, 1, -1, -1, -1), &k, P11A_OP_SIGN,
		       P11A_ALG_ECDSA_SHA256, P11A_ERR_DENIED, "is not in allow-users");
	}
	policy_free(p);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_who),		 cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_ops_and_algs), cmocka_unit_test(test_visible),
	    cmocka_unit_test(test_visible_algs), cmocka_unit_test(test_null_policy),
	    cmocka_unit_test(test_resolve),	 cmocka_unit_test(test_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
