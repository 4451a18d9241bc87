/*
 * faultmod: a PKCS#11 module for the tests that wraps a real one (SoftHSM)
 * and makes it fail on command, for the faults SoftHSM cannot make.
 *
 * Environment:
 *   FAULTMOD_MODULE   the module to wrap (required)
 *   FAULTMOD_CONTROL  the control file, re-read whenever it changes (optional)
 *   FAULTMOD_LOG      a file that gets each call's function name, one a line
 *                     (optional; for counting calls)
 *
 * The control file holds one rule a line ('#' starts a comment):
 *   C_Sign CKR_DEVICE_ERROR 1    the next call of C_Sign fails so (N: the next N)
 *   C_Sign CKR_SESSION_CLOSED *  every call fails so, while the line is there
 *   removed                      the token is gone: C_GetSlotList(CK_TRUE) shows
 *                                no slot, calls on a slot return
 *                                CKR_TOKEN_NOT_PRESENT and calls on a session
 *                                CKR_DEVICE_REMOVED, until the line goes
 *   loggedout [N|*]              C_Sign logs the user out (a C_Logout goes to
 *                                the real module) and returns
 *                                CKR_USER_NOT_LOGGED_IN; N defaults to 1
 *   slow C_GenerateKeyPair 3000  every call of the function takes 3000 ms
 *                                more (a slow card), while the line is there
 * Counts are kept in memory: rewriting the file starts them afresh.
 *
 * Every function the agent uses is in the table below and goes through
 * fault() first; the others go straight to the real module.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MAX_RULES 32
#define FOREVER (-1L)

/* What a function works on, which says how it fails while the token is removed. */
enum on { ON_MODULE, ON_SLOT, ON_SESSION };

/* One rule of the control file. */
struct rule {
	char fn[40]; /* "C_Sign", or "loggedout" */
	CK_RV rv;
	long count;   /* calls left to fail, or FOREVER */
	long slow_ms; /* a "slow" rule: the delay of each call; 0: a fault rule */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST wrapped;
static struct rule rules[MAX_RULES];
static size_t n_rules;
static int removed;
static struct stat seen; /* the control file as last read */
static int log_fd = -1;

static const struct {
	const char *name;
	CK_RV rv;
} ckrs[] = {
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
};

/* Parses "CKR_NAME" or a number ("0x30"). */
static int parse_rv(const char *s, CK_RV *out)
{
	char *end;
	size_t i;

	for (i = 0; i < sizeof(ckrs) / sizeof(ckrs[0]); i++)
		if (strcmp(s, ckrs[i].name) == 0) {
			*out = ckrs[i].rv;
			return 0;
		}
	*out = strtoul(s, &end, 0);
	return *end == '\0' && end != s ? 0 : -1;
}

static long parse_count(const char *s)
{
	if (s == NULL || *s == '\0')
		return 1;
	return strcmp(s, "*") == 0 ? FOREVER : strtol(s, NULL, 10);
}

/* Reads the control file again when it changed since last time (under lock). */
static void reload(void)
{
	const char *path = getenv("FAULTMOD_CONTROL");
	char line[256], a[64], b[64], c[64];
	struct stat st;
	FILE *f;
	int k;

	if (path == NULL || stat(path, &st) != 0) {
		memset(&st, 0, sizeof(st));
	} else if (st.st_ino == seen.st_ino && st.st_size == seen.st_size &&
		   st.st_mtim.tv_sec == seen.st_mtim.tv_sec &&
		   st.st_mtim.tv_nsec == seen.st_mtim.tv_nsec) {
		return;
	}
	if (st.st_ino == 0 && seen.st_ino == 0)
		return;
	seen = st;
	n_rules = 0;
	removed = 0;
	if (st.st_ino == 0 || (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL && n_rules < MAX_RULES) {
		struct rule *r = &rules[n_rules];

		a[0] = b[0] = c[0] = '\0';
		if ((k = sscanf(line, "%63s %63s %63s", a, b, c)) < 1 || a[0] == '#')
			continue;
		if (strcmp(a, "removed") == 0) {
			removed = 1;
			continue;
		}
		if (strcmp(a, "slow") == 0) {
			snprintf(r->fn, sizeof(r->fn), "%s", b);
			r->rv = CKR_OK;
			r->count = 0;
			if (k < 3 || (r->slow_ms = strtol(c, NULL, 10)) <= 0) {
				fprintf(stderr, "faultmod: ignoring the rule 'slow %s %s'\n", b, c);
				continue;
			}
			n_rules++;
			continue;
		}
		r->slow_ms = 0;
		snprintf(r->fn, sizeof(r->fn), "%s", a);
		if (strcmp(a, "loggedout") == 0) {
			r->rv = CKR_USER_NOT_LOGGED_IN;
			r->count = parse_count(b);
		} else if (k < 2 || parse_rv(b, &r->rv) != 0) {
			fprintf(stderr, "faultmod: ignoring the rule '%s %s'\n", a, b);
			continue;
		} else {
			r->count = parse_count(c);
		}
		n_rules++;
	}
	fclose(f);
}

/* Takes one call from the rule for fn, if one is armed: 1 and its rv, else 0 (under lock). */
static int take_rule(const char *fn, CK_RV *out_rv)
{
	size_t i;

	for (i = 0; i < n_rules; i++) {
		if (strcmp(rules[i].fn, fn) != 0 || rules[i].count == 0)
			continue;
		if (rules[i].count > 0)
			rules[i].count--;
		*out_rv = rules[i].rv;
		return 1;
	}
	return 0;
}

static void log_call(const char *fn)
{
	const char *path = getenv("FAULTMOD_LOG");
	char line[64];
	int n;

	if (path == NULL)
		return;
	if (log_fd < 0)
		log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	n = snprintf(line, sizeof(line), "%s\n", fn);
	if (log_fd >= 0 && n > 0)
		(void)!write(log_fd, line, (size_t)n);
}

/* The delay of fn's "slow" rule in ms, 0 when none (under lock). */
static long slow_ms(const char *fn)
{
	for (size_t i = 0; i < n_rules; i++)
		if (rules[i].slow_ms > 0 && strcmp(rules[i].fn, fn) == 0)
			return rules[i].slow_ms;
	return 0;
}

/* The fault to inject into this call of fn, or CKR_OK to forward it (after any delay). */
static CK_RV fault(const char *fn, enum on on)
{
	CK_RV rv = CKR_OK;
	long delay;

	pthread_mutex_lock(&lock);
	reload();
	log_call(fn);
	if (removed && on != ON_MODULE)
		rv = on == ON_SLOT ? CKR_TOKEN_NOT_PRESENT : CKR_DEVICE_REMOVED;
	else if (!take_rule(fn, &rv))
		rv = CKR_OK;
	delay = slow_ms(fn);
	pthread_mutex_unlock(&lock);
	if (delay > 0 && rv == CKR_OK)
		usleep((useconds_t)delay * 1000);
	return rv;
}

/* C_GetSlotList: while removed, no slot has a token. */
static CK_RV w_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	CK_RV rv = fault("C_GetSlotList", ON_MODULE);
	int gone;

	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&lock);
	gone = removed;
	pthread_mutex_unlock(&lock);
	if (gone && present) {
		*count = 0;
		return CKR_OK;
	}
	return real->C_GetSlotList(present, list, count);
}

/* C_Sign: 'loggedout' drops the login first. */
static CK_RV w_C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
		      CK_ULONG_PTR sig_len)
{
	CK_RV rv = fault("C_Sign", ON_SESSION);
	int logout;

	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&lock);
	logout = take_rule("loggedout", &rv);
	pthread_mutex_unlock(&lock);
	if (logout) {
		(void)real->C_Logout(s);
		return CKR_USER_NOT_LOGGED_IN;
	}
	return real->C_Sign(s, data, data_len, sig, sig_len);
}

/* A wrapper that asks fault() first, then forwards. */
#define WRAP(fn, on, params, args)                                                                 \
	static CK_RV w_##fn params                                                                 \
	{                                                                                          \
		CK_RV rv = fault(#fn, on);                                                         \
		return rv != CKR_OK ? rv : real->fn args;                                          \
	}

/* clang-format off */
WRAP(C_Initialize, ON_MODULE, (CK_VOID_PTR a), (a))
WRAP(C_Finalize, ON_MODULE, (CK_VOID_PTR a), (a))
WRAP(C_GetInfo, ON_MODULE, (CK_INFO_PTR i), (i))
WRAP(C_GetSlotInfo, ON_SLOT, (CK_SLOT_ID id, CK_SLOT_INFO_PTR i), (id, i))
WRAP(C_GetTokenInfo, ON_SLOT, (CK_SLOT_ID id, CK_TOKEN_INFO_PTR i), (id, i))
WRAP(C_GetMechanismList, ON_SLOT, (CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR l, CK_ULONG_PTR n),
     (id, l, n))
WRAP(C_GetMechanismInfo, ON_SLOT, (CK_SLOT_ID id, CK_MECHANISM_TYPE t, CK_MECHANISM_INFO_PTR i),
     (id, t, i))
WRAP(C_OpenSession, ON_SLOT,
     (CK_SLOT_ID id, CK_FLAGS fl, CK_VOID_PTR app, CK_NOTIFY cb, CK_SESSION_HANDLE_PTR s),
     (id, fl, app, cb, s))
WRAP(C_CloseSession, ON_SESSION, (CK_SESSION_HANDLE s), (s))
WRAP(C_CloseAllSessions, ON_SLOT, (CK_SLOT_ID id), (id))
WRAP(C_GetSessionInfo, ON_SESSION, (CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR i), (s, i))
WRAP(C_Login, ON_SESSION, (CK_SESSION_HANDLE s, CK_USER_TYPE u, CK_UTF8CHAR_PTR p, CK_ULONG n),
     (s, u, p, n))
WRAP(C_Logout, ON_SESSION, (CK_SESSION_HANDLE s), (s))
WRAP(C_CreateObject, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o), (s, t, n, o))
WRAP(C_DestroyObject, ON_SESSION, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o), (s, o))
WRAP(C_GetAttributeValue, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, o, t, n))
WRAP(C_FindObjectsInit, ON_SESSION, (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n),
     (s, t, n))
WRAP(C_FindObjects, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR o, CK_ULONG max, CK_ULONG_PTR n), (s, o, max, n))
WRAP(C_FindObjectsFinal, ON_SESSION, (CK_SESSION_HANDLE s), (s))
WRAP(C_DecryptInit, ON_SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),
     (s, m, k))
WRAP(C_Decrypt, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len),
     (s, in, in_len, out, out_len))
WRAP(C_SignInit, ON_SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),
     (s, m, k))
WRAP(C_VerifyInit, ON_SESSION, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),
     (s, m, k))
WRAP(C_Verify, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_BYTE_PTR d, CK_ULONG d_len, CK_BYTE_PTR sig, CK_ULONG sig_len),
     (s, d, d_len, sig, sig_len))
WRAP(C_UnwrapKey, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k, CK_BYTE_PTR in, CK_ULONG in_len,
      CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR out),
     (s, m, k, in, in_len, t, n, out))
WRAP(C_GenerateKey, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n,
      CK_OBJECT_HANDLE_PTR out),
     (s, m, t, n, out))
WRAP(C_GenerateKeyPair, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,
      CK_ATTRIBUTE_PTR vt, CK_ULONG vn, CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv),
     (s, m, pt, pn, vt, vn, pub, priv))
WRAP(C_DeriveKey, ON_SESSION,
     (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k, CK_ATTRIBUTE_PTR t, CK_ULONG n,
      CK_OBJECT_HANDLE_PTR out),
     (s, m, k, t, n, out))
/* clang-format on */

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);

/* Loads the real module and builds the wrapped function list, once. */
static CK_RV load(void)
{
	const char *path = getenv("FAULTMOD_MODULE");
	CK_C_GetFunctionList get;
	void *dl;

	if (real != NULL)
		return CKR_OK;
	if (path == NULL || (dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "faultmod: cannot load FAULTMOD_MODULE '%s': %s\n",
			path ? path : "(unset)", path ? dlerror() : "set it");
		return CKR_GENERAL_ERROR;
	}
	if ((get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    get(&real) != CKR_OK)
		return CKR_GENERAL_ERROR;
	wrapped = *real;
	wrapped.C_GetFunctionList = C_GetFunctionList;
#define SET(fn) wrapped.fn = w_##fn
	SET(C_Initialize), SET(C_Finalize), SET(C_GetInfo), SET(C_GetSlotList);
	SET(C_GetSlotInfo), SET(C_GetTokenInfo), SET(C_GetMechanismList), SET(C_GetMechanismInfo);
	SET(C_OpenSession), SET(C_CloseSession), SET(C_CloseAllSessions), SET(C_GetSessionInfo);
	SET(C_Login), SET(C_Logout), SET(C_CreateObject), SET(C_DestroyObject);
	SET(C_GetAttributeValue);
	SET(C_FindObjectsInit), SET(C_FindObjects), SET(C_FindObjectsFinal);
	SET(C_DecryptInit), SET(C_Decrypt), SET(C_SignInit), SET(C_Sign);
	SET(C_VerifyInit), SET(C_Verify), SET(C_UnwrapKey), SET(C_DeriveKey);
	SET(C_GenerateKey), SET(C_GenerateKeyPair);
#undef SET
	return CKR_OK;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	CK_RV rv;

	if (out == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&lock);
	rv = load();
	pthread_mutex_unlock(&lock);
	if (rv == CKR_OK)
		*out = &wrapped;
	return rv;
}
