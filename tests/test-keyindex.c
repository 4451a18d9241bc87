/*
 * test-keyindex: resolving key references against an index built by hand
 * (no token), the message listing the candidates of an ambiguous one, and
 * the config's [key NAME] sections bound to keys.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p11agent.h"
#include "../agent/keyindex.h"

/* The agent's request handler gives keyindex_find() a message of this size. */
#define HANDLER_MSG_LEN 2048
#define MAX_KEYS 16

struct index {
	struct token_key keys[MAX_KEYS];
	struct token_key *ptrs[MAX_KEYS]; /* what keyindex_find() takes */
	uint8_t ids[MAX_KEYS];
	size_t n;
	CK_TOKEN_INFO tinfo;
};

/*
 * n keys labelled label whose URIs are uri_len bytes long, each one
 * different (its id) and padded in the token part.
 */
static struct index *index_new(size_t n, const char *label, size_t uri_len)
{
	struct index *ix = calloc(1, sizeof(*ix));
	size_t i, len;
	char *uri;

	assert_non_null(ix);
	assert_true(n <= MAX_KEYS);
	for (i = 0; i < n; i++) {
		ix->ids[i] = (uint8_t)(i + 1);
		ix->keys[i].label = strdup(label);
		ix->keys[i].id = &ix->ids[i];
		ix->keys[i].id_len = 1;
		ix->keys[i].klass = CKO_PRIVATE_KEY;
		ix->keys[i].type = P11A_KEY_EC;
		assert_non_null(uri = malloc(uri_len + 1));
		len = (size_t)snprintf(uri, uri_len + 1,
				       "pkcs11:id=%%%02x;object=%s;token=", (unsigned)ix->ids[i],
				       label);
		assert_true(len < uri_len);
		memset(uri + len, 'x', uri_len - len);
		uri[uri_len] = '\0';
		ix->keys[i].uri = uri;
		ix->keys[i].version = 1;
		ix->ptrs[i] = &ix->keys[i];
	}
	ix->n = n;
	return ix;
}

static void index_free(struct index *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++) {
		free(ix->keys[i].label);
		free(ix->keys[i].uri);
		free(ix->keys[i].name);
		free(ix->keys[i].family);
	}
	free(ix);
}

static size_t more_len(size_t n)
{
	return (size_t)snprintf(NULL, 0, "\n(and %zu more)", n);
}

/*
 * Checks an ambiguous-key message written into msg_len bytes: the header,
 * then whole URIs in index order, then "(and N more)" for the rest when
 * they did not all fit, and no more left out than had to be.
 */
static void check_candidates(const struct index *ix, const char *ref, const char *msg,
			     size_t msg_len)
{
	char header[256], trailer[64];
	size_t header_len, used, listed = 0, line, left;
	const char *p = msg, *nl;

	header_len =
	    (size_t)snprintf(header, sizeof(header), "key '%s' matches %zu keys:", ref, ix->n);
	assert_true(strlen(msg) < msg_len);
	if (header_len >= msg_len) {
		/* Not even the header fits: what is there is a part of it, and nothing else. */
		assert_int_equal(strncmp(msg, header, strlen(msg)), 0);
		return;
	}
	assert_int_equal(strncmp(msg, header, header_len), 0);
	p = msg + header_len;
	while (*p == '\n' && listed < ix->n && strncmp(p + 1, "pkcs11:", 7) == 0) {
		nl = strchr(p + 1, '\n');
		line = nl != NULL ? (size_t)(nl - (p + 1)) : strlen(p + 1);
		/* A whole URI, the next in the index. */
		assert_int_equal(line, strlen(ix->keys[listed].uri));
		assert_int_equal(memcmp(p + 1, ix->keys[listed].uri, line), 0);
		p += 1 + line;
		listed++;
	}
	used = (size_t)(p - msg);
	left = ix->n - listed;
	if (left == 0) {
		assert_string_equal(p, "");
		return;
	}
	snprintf(trailer, sizeof(trailer), "\n(and %zu more)", left);
	if (listed == 0 && used + more_len(left) >= msg_len) {
		/* Room for the header only. */
		assert_string_equal(p, "");
		return;
	}
	assert_string_equal(p, trailer);
	/* The next URI, with room for the line after it, did not fit. */
	line = 1 + strlen(ix->keys[listed].uri) + (left > 1 ? more_len(left - 1) : 0);
	assert_true(used + line >= msg_len);
}

static void find_ambiguous(const struct index *ix, const char *ref, char *msg, size_t msg_len)
{
	const struct token_key *key = NULL;

	memset(msg, 0x55, msg_len);
	if (msg_len > 0)
		msg[0] = '\0';
	assert_int_equal(keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, ref, &key, msg, msg_len),
			 P11A_ERR_AMBIGUOUS_KEY);
	assert_null(key);
}

/* Twelve keys labelled "dup" with 200-byte URIs: more than the handler's message holds. */
static void test_ambiguous_cut_at_whole_lines(void **state)
{
	struct index *ix = index_new(12, "dup", 200);
	char msg[HANDLER_MSG_LEN];

	(void)state;
	find_ambiguous(ix, "dup", msg, sizeof(msg));
	check_candidates(ix, "dup", msg, sizeof(msg));
	/* 2048 bytes hold the header and 9 lines of 201 bytes, with room for the last line. */
	assert_non_null(strstr(msg, "\n(and 3 more)"));
	assert_int_equal(msg[strlen(msg) - 1], ')');
	index_free(ix);
}

static void test_ambiguous_all_listed(void **state)
{
	struct index *ix = index_new(3, "dup", 60);
	char msg[HANDLER_MSG_LEN];
	char want[HANDLER_MSG_LEN];

	(void)state;
	find_ambiguous(ix, "dup", msg, sizeof(msg));
	snprintf(want, sizeof(want), "key 'dup' matches 3 keys:\n%s\n%s\n%s", ix->keys[0].uri,
		 ix->keys[1].uri, ix->keys[2].uri);
	assert_string_equal(msg, want);
	index_free(ix);
}

/* Every message size, around each boundary: whole lines only, and the count right. */
static void test_ambiguous_every_size(void **state)
{
	struct index *ix = index_new(12, "dup", 150);
	size_t msg_len;
	char *msg;

	(void)state;
	assert_non_null(msg = malloc(2 * HANDLER_MSG_LEN));
	for (msg_len = 1; msg_len <= 2 * HANDLER_MSG_LEN; msg_len++) {
		find_ambiguous(ix, "dup", msg, msg_len);
		check_candidates(ix, "dup", msg, msg_len);
	}
	free(msg);
	index_free(ix);
}

/* A URI longer than the whole message: none listed, all counted. */
static void test_ambiguous_uri_longer_than_msg(void **state)
{
	struct index *ix = index_new(2, "dup", 3000);
	char msg[HANDLER_MSG_LEN];

	(void)state;
	find_ambiguous(ix, "dup", msg, sizeof(msg));
	assert_string_equal(msg, "key 'dup' matches 2 keys:\n(and 2 more)");
	index_free(ix);
}

static void test_unique_and_missing(void **state)
{
	struct index *ix = index_new(3, "one", 80);
	const struct token_key *key = NULL;
	char msg[HANDLER_MSG_LEN] = "";

	(void)state;
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "id:02", &key, msg, sizeof(msg)),
	    P11A_OK);
	assert_ptr_equal(key, &ix->keys[1]);
	key = NULL;
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "id:09", &key, msg, sizeof(msg)),
	    P11A_ERR_NO_SUCH_KEY);
	assert_null(key);
	assert_string_equal(msg, "no key matches 'id:09'");
	index_free(ix);
}

/* The keys of ix a filter lets through: their positions, as digits. */
struct only {
	const struct index *ix;
	char set[8];
};

/* token_key_filter over a struct only. */
static int only_some(void *arg, const struct token_key *key)
{
	const struct only *o = arg;

	return strchr(o->set, '0' + (int)(key - o->ix->keys)) != NULL;
}

/*
 * A caller sees only the keys the filter lets through: ambiguity counts and
 * lists those, and a reference to the others (label, id, URI or name) is
 * NO_SUCH_KEY with the message of a key that does not exist.
 */
static void test_filter_hides_keys(void **state)
{
	struct index *ix = index_new(4, "dup", 60);
	/* Key 0 (id 01) has a config name; keys 1 and 3 are visible. */
	const struct token_key_binding b[] = {{"hidden", "pkcs11:id=%01", 0, "a.conf:1", 0}};
	struct only some = {ix, "13"};
	const struct token_key_filter filter = {only_some, &some};
	const struct token_key *key = NULL;
	char msg[HANDLER_MSG_LEN] = "", want[HANDLER_MSG_LEN];

	(void)state;
	assert_int_equal(keyindex_bind(ix->ptrs, ix->n, &ix->tinfo, b, 1, msg, sizeof(msg)),
			 P11A_OK);
	/* Keys 1 and 3 are visible: "dup" matches those two only. */
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, &filter, "dup", &key, msg, sizeof(msg)),
	    P11A_ERR_AMBIGUOUS_KEY);
	snprintf(want, sizeof(want), "key 'dup' matches 2 keys:\n%s\n%s", ix->keys[1].uri,
		 ix->keys[3].uri);
	assert_string_equal(msg, want);
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, &filter, "pkcs11:", &key, msg, sizeof(msg)),
	    P11A_ERR_AMBIGUOUS_KEY);
	assert_null(strstr(msg, ix->keys[0].uri));
	assert_null(strstr(msg, ix->keys[2].uri));
	/* Only one visible key left: it is found. */
	some.set[0] = '3';
	some.set[1] = '\0';
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, &filter, "dup", &key, msg, sizeof(msg)),
	    P11A_OK);
	assert_ptr_equal(key, &ix->keys[3]);
	/* Hidden keys: the same answer as for a key that is not there. */
	key = NULL;
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, &filter, "id:03", &key, msg, sizeof(msg)),
	    P11A_ERR_NO_SUCH_KEY);
	assert_string_equal(msg, "no key matches 'id:03'");
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, &filter, "hidden", &key, msg, sizeof(msg)),
	    P11A_ERR_NO_SUCH_KEY);
	assert_string_equal(msg, "no key matches 'hidden'");
	assert_null(key);
	/* The same name, with every key visible: found. */
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "hidden", &key, msg, sizeof(msg)),
	    P11A_OK);
	assert_ptr_equal(key, &ix->keys[0]);
	index_free(ix);
}

/* A pin-value anywhere in a reference keeps it out of messages. */
static void test_quotable(void **state)
{
	(void)state;
	assert_string_equal(keyindex_quotable("pkcs11:object=a"), "pkcs11:object=a");
	assert_string_equal(keyindex_quotable("pkcs11:object=a?pin-value=1234"),
			    "(a URI with a pin-value, not shown)");
	assert_string_equal(keyindex_quotable("pkcs11:object=a;PIN-VALUE=1234"),
			    "(a URI with a pin-value, not shown)");
}

/* Names bind to one key each, come before labels, and carry the policy. */
static void test_names(void **state)
{
	struct index *ix = index_new(3, "one", 80);
	const struct token_key_binding b[] = {
	    {"srv", "pkcs11:id=%02", TOKEN_POLICY_RSA_PKCS1_DECRYPT, "a.conf:3", 0},
	    {"one", "pkcs11:id=%03", 0, "a.conf:6", 0},
	};
	const struct token_key *key = NULL;
	char msg[HANDLER_MSG_LEN] = "";

	(void)state;
	assert_int_equal(keyindex_bind(ix->ptrs, ix->n, &ix->tinfo, b, 2, msg, sizeof(msg)),
			 P11A_OK);
	assert_string_equal(ix->keys[1].name, "srv");
	assert_int_equal(ix->keys[1].policy, TOKEN_POLICY_RSA_PKCS1_DECRYPT);
	assert_null(ix->keys[0].name);
	assert_int_equal(ix->keys[0].policy, 0);
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "srv", &key, msg, sizeof(msg)),
	    P11A_OK);
	assert_ptr_equal(key, &ix->keys[1]);
	/* "one" is a label of all three and the name of the third: the name wins. */
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "one", &key, msg, sizeof(msg)),
	    P11A_OK);
	assert_ptr_equal(key, &ix->keys[2]);
	assert_string_equal(keyindex_key_name(&ix->keys[1]), "srv");
	assert_string_equal(keyindex_key_name(&ix->keys[0]), "one");
	index_free(ix);
}

/* Binds b, which must fail with code and a message starting with want; nothing is bound. */
static void bind_fails(const struct token_key_binding *b, size_t n_b, int code, const char *want)
{
	struct index *ix = index_new(3, "one", 80);
	char msg[HANDLER_MSG_LEN] = "";
	size_t i;

	assert_int_equal(keyindex_bind(ix->ptrs, ix->n, &ix->tinfo, b, n_b, msg, sizeof(msg)),
			 code);
	assert_int_equal(strncmp(msg, want, strlen(want)), 0);
	for (i = 0; i < ix->n; i++)
		assert_null(ix->keys[i].name);
	index_free(ix);
}

static void test_bind_errors(void **state)
{
	const struct token_key_binding ok = {"a", "pkcs11:id=%01", 0, "x.conf:1", 0};
	struct token_key_binding b[2] = {ok, ok};

	(void)state;
	b[1] = (struct token_key_binding){"b", "pkcs11:object=one", 0, "x.conf:5", 0};
	bind_fails(b, 2, P11A_ERR_AMBIGUOUS_KEY,
		   "x.conf:5: key b: key 'pkcs11:object=one' matches 3 keys:\n");
	b[1] = (struct token_key_binding){"b", "pkcs11:object=two", 0, "x.conf:5", 0};
	bind_fails(b, 2, P11A_ERR_NO_SUCH_KEY,
		   "x.conf:5: key b: no key matches 'pkcs11:object=two'");
	b[1] = (struct token_key_binding){"b", "pkcs11:id=%01", 0, "x.conf:5", 0};
	bind_fails(b, 2, P11A_ERR_BAD_INPUT, "x.conf:5: key b: its URI names the key of [key a]");
	b[1] = (struct token_key_binding){"a", "pkcs11:id=%02", 0, "x.conf:5", 0};
	bind_fails(b, 2, P11A_ERR_BAD_INPUT, "x.conf:5: key a: the name is taken (by x.conf:1)");
	b[1] = (struct token_key_binding){"b", "id:02", 0, "x.conf:5", 0};
	bind_fails(b, 2, P11A_ERR_BAD_INPUT, "x.conf:5: key b: uri must be a pkcs11: URI");
}

/* Relabels key i of ix, with the family and version its label gives. */
static void relabel(struct index *ix, size_t i, const char *label)
{
	struct token_key *k = &ix->keys[i];
	size_t base;

	free(k->label);
	free(k->family);
	assert_non_null(k->label = strdup(label));
	k->version = keyindex_split_version(label, &base);
	assert_non_null(k->family = strndup(label, base));
}

/* Four keys: "v" (version 1), "v@2", "v@3", "w@0" (a label, version 1 of itself). */
static struct index *versioned(void)
{
	struct index *ix = index_new(4, "x", 80);

	relabel(ix, 0, "v");
	relabel(ix, 1, "v@3");
	relabel(ix, 2, "v@2");
	relabel(ix, 3, "w@0");
	keyindex_mark_newest(ix->ptrs, ix->n);
	return ix;
}

static const struct token_key *find_ok(struct index *ix, const char *ref)
{
	const struct token_key *key = NULL;
	char msg[HANDLER_MSG_LEN] = "";

	if (keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, ref, &key, msg, sizeof(msg)) !=
	    P11A_OK)
		fail_msg("%s: %s", ref, msg);
	return key;
}

static void test_versions(void **state)
{
	struct index *ix = versioned();
	const struct token_key *key = NULL;
	char msg[HANDLER_MSG_LEN] = "";
	size_t base;

	(void)state;
	assert_int_equal(keyindex_split_version("a@12", &base), 12);
	assert_int_equal(base, 1);
	assert_int_equal(keyindex_split_version("a@012", &base), 1);
	assert_int_equal(base, 5);
	assert_int_equal(keyindex_split_version("@2", &base), 1);
	assert_int_equal(keyindex_split_version("a@1234567890", &base), 1);
	assert_int_equal(keyindex_split_version("user@host", &base), 1);
	assert_int_equal(keyindex_split_version("a@1", &base), 1);
	assert_int_equal(base, 1);
	/* "v" is the newest; "v@N" version N; "v@1" the key labelled "v". */
	assert_ptr_equal(find_ok(ix, "v"), &ix->keys[1]);
	assert_ptr_equal(find_ok(ix, "v@3"), &ix->keys[1]);
	assert_ptr_equal(find_ok(ix, "v@2"), &ix->keys[2]);
	assert_ptr_equal(find_ok(ix, "v@1"), &ix->keys[0]);
	assert_ptr_equal(find_ok(ix, "w@0"), &ix->keys[3]);
	assert_true(ix->keys[1].newest && !ix->keys[0].newest && !ix->keys[2].newest);
	assert_int_equal(
	    keyindex_find(ix->ptrs, ix->n, &ix->tinfo, NULL, "v@4", &key, msg, sizeof(msg)),
	    P11A_ERR_NO_SUCH_KEY);
	assert_string_equal(msg, "no key matches 'v@4'");
	/* A URI names one object exactly, its label as it is. */
	assert_ptr_equal(find_ok(ix, "pkcs11:object=v@2"), &ix->keys[2]);
	index_free(ix);
}

/* A section binds a key and its versions: by its name (no uri) or a URI on the family. */
static void test_bind_versions(void **state)
{
	const struct token_key_binding by_name = {"v", NULL, 0, "a.conf:1", 2};
	const struct token_key_binding by_uri = {"signer", "pkcs11:object=v", 0, "a.conf:4", 0};
	struct index *ix = versioned();
	char msg[HANDLER_MSG_LEN] = "";

	(void)state;
	assert_int_equal(keyindex_bind(ix->ptrs, ix->n, &ix->tinfo, &by_name, 1, msg, sizeof(msg)),
			 P11A_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(ix->keys[i].name, "v");
		assert_int_equal(ix->keys[i].min_version, 2);
	}
	assert_null(ix->keys[3].name);
	assert_int_equal(ix->keys[3].min_version, 1);
	/* Bound again by another section: the old name goes. */
	assert_int_equal(keyindex_bind(ix->ptrs, ix->n, &ix->tinfo, &by_uri, 1, msg, sizeof(msg)),
			 P11A_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(ix->keys[i].name, "signer");
		assert_int_equal(ix->keys[i].min_version, 1);
	}
	assert_ptr_equal(find_ok(ix, "signer"), &ix->keys[1]);
	assert_ptr_equal(find_ok(ix, "signer@2"), &ix->keys[2]);
	/* The label still works. */
	assert_ptr_equal(find_ok(ix, "v@1"), &ix->keys[0]);
	index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ambiguous_cut_at_whole_lines),
	    cmocka_unit_test(test_ambiguous_all_listed),
	    cmocka_unit_test(test_ambiguous_every_size),
	    cmocka_unit_test(test_ambiguous_uri_longer_than_msg),
	    cmocka_unit_test(test_unique_and_missing),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_filter_hides_keys),
	    cmocka_unit_test(test_quotable),
	    cmocka_unit_test(test_bind_errors),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_bind_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
