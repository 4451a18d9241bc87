/*
 * token-recovery: gets the token back after a fault. A failed call is tried
 * again once, on a new session, after logging in again, or after
 * re-initialising the module (C_Finalize, C_Initialize, the token found again
 * by its URI, a new login with the kept PIN, the keys indexed again and
 * checked against the index). While the token is away, requests fail fast and
 * a thread looks for it with backoff.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include "keyindex.h"
#include "log.h"
#include "token-impl.h"

/* The retry thread's backoff: the first wait, doubled after each miss up to the last. */
#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 30000L
/* The longest a request waits for a re-initialisation in progress. */
#define ENTER_WAIT_MS 2000L
/* Recoveries one request may go through (say, a new session, then re-initialising). */
#define MAX_RECOVERIES 2
/* Exit code when a PIN is refused at a new login (p11agentd's "could not start"). */
#define EXIT_PIN 1

/* What a request is told while the token refused the PIN. */
#define PIN_REFUSED_MSG "the token refused the PIN: " TOKEN_PIN_NOT_RETRIED

/* Tells token_options.on_state, when there is one. */
static void notify_state(const struct token *tok, const char *status)
{
	if (tok->on_state != NULL)
		tok->on_state(status);
}

/*
 * A wrong PIN at a new login, with use held for writing: never tried again.
 * The agent stops; or, with hold_on_refused_pin, the token is held refused
 * (token_enter() says so) and this returns.
 */
static void pin_refused(struct token *tok, const char *why)
{
	if (!tok->hold_on_refused_pin) {
		log_error("token: %s; stopping the agent", why);
		_exit(EXIT_PIN);
	}
	log_error("token: %s; the PIN is not tried again: fix the PIN source, then restart the "
		  "agent",
		  why);
	tok->state = TOKEN_PIN_REFUSED;
	notify_state(tok, "token PIN refused: not tried again; fix the PIN source, then restart");
}

/* Why a request cannot have the token now, into msg. */
static void unavailable(const struct token *tok, char *msg, size_t msg_len)
{
	if (tok->state == TOKEN_PIN_REFUSED)
		snprintf(msg, msg_len, "%s", PIN_REFUSED_MSG);
	else
		snprintf(msg, msg_len,
			 "the token is unavailable (removed?); the agent keeps looking for it");
}

/* What token_recover() does after a failed call. */
enum recovery { R_NONE, R_RETRY, R_REOPEN, R_RELOGIN, R_REINDEX, R_REINIT };

/* Sorts rv, given the recovery that came before in the same request. */
static enum recovery classify(CK_RV rv, int prev)
{
	switch (rv) {
	case CKR_DEVICE_ERROR:
		return prev == R_RETRY ? R_REINIT : R_RETRY;
	case CKR_DEVICE_MEMORY:
		return prev == R_RETRY ? R_NONE : R_RETRY;
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
		/* Again on a new session: the others are likely gone too. */
		return prev == R_REOPEN ? R_REINIT : R_REOPEN;
	case CKR_USER_NOT_LOGGED_IN:
		return prev == R_RELOGIN ? R_NONE : R_RELOGIN;
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
		/* Handles go with a login (SoftHSM drops private ones at C_Logout). */
		return prev == R_REINDEX ? R_REINIT : R_REINDEX;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return R_REINIT;
	default:
		return R_NONE;
	}
}

/* The monotonic time ms milliseconds from now. */
static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int token_recovery_init(struct token *tok, char *msg, size_t msg_len)
{
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;
	int ok;

	atomic_init(&tok->recoveries, 0);
	atomic_init(&tok->recovering, 0);
	/* Writers first: a re-initialisation must not starve behind a stream of requests. */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	tok->have_use = pthread_rwlock_init(&tok->use, &ra) == 0;
	pthread_rwlockattr_destroy(&ra);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ok = pthread_mutex_init(&tok->retry_lock, NULL) == 0;
	if (ok && pthread_cond_init(&tok->retry_cond, &ca) != 0) {
		pthread_mutex_destroy(&tok->retry_lock);
		ok = 0;
	}
	pthread_condattr_destroy(&ca);
	tok->have_retry_lock = ok;
	if (!tok->have_use || !tok->have_retry_lock) {
		snprintf(msg, msg_len, "cannot initialise the token's locks");
		return P11A_ERR_INTERNAL;
	}
	return P11A_OK;
}

void token_recovery_free(struct token *tok)
{
	if (tok->have_retry_lock) {
		pthread_mutex_lock(&tok->retry_lock);
		tok->stopping = 1;
		pthread_cond_signal(&tok->retry_cond);
		pthread_mutex_unlock(&tok->retry_lock);
		if (tok->have_retry_thread)
			pthread_join(tok->retry_thread, NULL);
		tok->have_retry_thread = 0;
		pthread_cond_destroy(&tok->retry_cond);
		pthread_mutex_destroy(&tok->retry_lock);
		tok->have_retry_lock = 0;
	}
	if (tok->have_use)
		pthread_rwlock_destroy(&tok->use);
	tok->have_use = 0;
}

int token_enter(struct token *tok, const struct token_key *key, struct token_try *t, char *msg,
		size_t msg_len)
{
	struct timespec until;

	deadline(&until, ENTER_WAIT_MS);
	if (pthread_rwlock_clockrdlock(&tok->use, CLOCK_MONOTONIC, &until) != 0) {
		snprintf(msg, msg_len,
			 "the token is unavailable: the agent is re-initialising it; try again");
		return P11A_ERR_TOKEN_UNAVAILABLE;
	}
	if (tok->state != TOKEN_UP) {
		unavailable(tok, msg, msg_len);
		pthread_rwlock_unlock(&tok->use);
		return P11A_ERR_TOKEN_UNAVAILABLE;
	}
	if (key != NULL && key->gone) {
		pthread_rwlock_unlock(&tok->use);
		snprintf(msg, msg_len,
			 "key '%s' changed or went away on the token: refused; reload the agent "
			 "(p11agent reload, or SIGHUP) to serve the token's keys as they are now",
			 keyindex_key_name(key));
		return P11A_ERR_TOKEN;
	}
	t->gen = tok->gen;
	return P11A_OK;
}

void token_leave(struct token *tok)
{
	pthread_rwlock_unlock(&tok->use);
}

/* Closes what is open of the token and finalizes the module: the token is away. */
static void teardown(struct token *tok)
{
	tok->state = TOKEN_AWAY;
	pool_free(tok->pool);
	tok->pool = NULL;
	if (tok->have_login_session)
		(void)tok->f->C_CloseSession(tok->login_session);
	tok->have_login_session = 0;
	tok->logged_in = tok->user = 0;
	if (tok->initialized)
		(void)tok->f->C_Finalize(NULL);
	tok->initialized = 0;
}

/*
 * Matches the keys found now (by URI) with the index: a key that is the same
 * gets its new handle; one that changed or went is refused, loudly. Keys
 * that were not there at the start are not served. Returns how many differ.
 */
static size_t reconcile(struct token *tok, struct token_key *const *now, size_t n_now)
{
	struct token_key *k;
	const struct token_key *m;
	const char *why;
	size_t i, j, differ = 0;

	for (i = 0; i < tok->n_keys; i++) {
		k = tok->keys[i];
		for (j = 0, m = NULL; j < n_now && m == NULL; j++)
			if (now[j]->klass == k->klass && strcmp(now[j]->uri, k->uri) == 0)
				m = now[j];
		if ((why = token_key_changed(k, m)) != NULL) {
			log_error("token: key '%s' %s since it was indexed: refused until the "
				  "agent reloads",
				  keyindex_key_name(k), why);
			k->gone = 1;
			differ++;
			continue;
		}
		k->handle = m->handle;
	}
	for (j = 0; j < n_now; j++) {
		for (i = 0; i < tok->n_keys; i++)
			if (tok->keys[i]->klass == now[j]->klass &&
			    strcmp(tok->keys[i]->uri, now[j]->uri) == 0)
				break;
		if (i == tok->n_keys) {
			log_error("token: a key the agent has not indexed is on the token: %s: "
				  "not served until the agent reloads",
				  now[j]->uri);
			differ++;
		}
	}
	return differ;
}

/*
 * Indexes the keys again on the login session of the token described by ti,
 * and matches them with the index (reconcile). With use held for writing.
 */
static int reindex_locked(struct token *tok, const CK_TOKEN_INFO *ti, char *msg, size_t msg_len)
{
	struct token_key **keys = NULL;
	size_t n = 0, differ;
	int ret;

	if ((ret = keyindex_load(tok->f, tok->login_session, ti, &keys, &n, msg, msg_len)) !=
	    P11A_OK)
		return ret;
	differ = reconcile(tok, keys, n);
	keyindex_free(keys, n);
	if (differ == 0)
		log_info("token: indexed the keys again: %zu keys unchanged", tok->n_keys);
	else
		log_error("token: indexed the keys again, but they differ from the index in %zu "
			  "places (above): those are refused",
			  differ);
	return P11A_OK;
}

/*
 * Re-initialises the module and finds the token again, with use held for
 * writing. On success the token is up again; else it is away.
 */
static int reinit_locked(struct token *tok, char *msg, size_t msg_len)
{
	CK_C_INITIALIZE_ARGS args;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	int ret = P11A_ERR_TOKEN;
	CK_RV rv;

	teardown(tok);
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = tok->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(msg, msg_len, "C_Initialize failed: %s", token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	tok->initialized = rv == CKR_OK;
	if ((ret = token_select_slot(tok->f, tok->uri, &slot, &ti, msg, msg_len)) != P11A_OK)
		return ret;
	tok->slot = slot;
	if ((rv = pool_open_session(tok->f, tok->slot, &tok->login_session)) != CKR_OK) {
		snprintf(msg, msg_len, "C_OpenSession failed: %s", token_ckr_name(rv));
		return P11A_ERR_TOKEN;
	}
	tok->have_login_session = 1;
	if (tok->pin != NULL && (ret = token_login(tok, msg, msg_len)) != P11A_OK) {
		if (ret == P11A_ERR_DENIED)
			pin_refused(tok, msg);
		return ret;
	}
	log_info("token: re-initialised: found the token again%s",
		 tok->pin != NULL ? " and logged in" : "");
	if ((ret = reindex_locked(tok, &ti, msg, msg_len)) != P11A_OK ||
	    (ret = pool_new(tok->f, tok->slot, tok->pool_size, &tok->pool, msg, msg_len)) !=
		P11A_OK)
		return ret;
	tok->state = TOKEN_UP;
	tok->gen++;
	return P11A_OK;
}

static void *retry_main(void *arg);

/* Starts the retry thread unless it runs (with use held for writing). */
static void start_retry(struct token *tok)
{
	sigset_t all, old;
	int r;

	pthread_mutex_lock(&tok->retry_lock);
	if (tok->retry_running)
		tok->retry_again = 1; /* a thread that just found the token must look again */
	if (!tok->retry_running && !tok->stopping) {
		if (tok->have_retry_thread)
			pthread_join(tok->retry_thread, NULL); /* it has ended */
		/* Signals are for the threads that serve. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&tok->retry_thread, NULL, retry_main, tok);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		tok->have_retry_thread = tok->retry_running = r == 0;
		if (r != 0)
			log_error("token: cannot start the thread that looks for the token: %s",
				  strerror(r));
	}
	pthread_mutex_unlock(&tok->retry_lock);
}

/* Looks for the away token with backoff until it is back or the token closes. */
static void *retry_main(void *arg)
{
	struct token *tok = arg;
	long delay = BACKOFF_FIRST_MS;
	unsigned tries = 0;
	struct timespec until;
	char msg[1024];
	int back = 0, refused;

	pthread_mutex_lock(&tok->retry_lock);
	while (!tok->stopping && !back) {
		deadline(&until, delay);
		while (!tok->stopping && pthread_cond_timedwait(&tok->retry_cond, &tok->retry_lock,
								&until) != ETIMEDOUT)
			;
		if (tok->stopping)
			break;
		tok->retry_again = 0;
		pthread_mutex_unlock(&tok->retry_lock);
		tries++;
		atomic_fetch_add(&tok->recovering, 1);
		pthread_rwlock_wrlock(&tok->use);
		back = tok->state == TOKEN_UP || (tok->state == TOKEN_AWAY &&
						  reinit_locked(tok, msg, sizeof(msg)) == P11A_OK);
		refused = tok->state == TOKEN_PIN_REFUSED;
		pthread_rwlock_unlock(&tok->use);
		atomic_fetch_sub(&tok->recovering, 1);
		if (refused) {
			pthread_mutex_lock(&tok->retry_lock);
			break; /* the PIN is not tried again: nothing more to look for */
		}
		if (back) {
			log_info("token: the token is back (try %u); serving again", tries);
			notify_state(tok, "token ready: back after being away");
		} else {
			delay = delay * 2 < BACKOFF_MAX_MS ? delay * 2 : BACKOFF_MAX_MS;
			log_warn("token: still unavailable (try %u: %s); trying again in %ld.%ld s",
				 tries, msg, delay / 1000, delay % 1000 / 100);
		}
		pthread_mutex_lock(&tok->retry_lock);
		if (back && tok->retry_again) {
			/* Lost again between the re-init and here: keep looking. */
			back = 0;
			delay = BACKOFF_FIRST_MS;
		}
	}
	tok->retry_running = 0;
	pthread_mutex_unlock(&tok->retry_lock);
	return NULL;
}

/* Logs a failed call and what the agent does about it. */
static void report(CK_RV rv, const char *msg, const char *what)
{
	const char *name = token_ckr_name(rv);

	if (strstr(msg, name) != NULL)
		log_warn("token: %s: %s", msg, what);
	else
		log_warn("token: %s (%s): %s", msg, name, what);
}

/* R_REINIT, with use held for writing. */
static int reinit_held(struct token *tok, const struct token_try *t, int *ret, char *msg,
		       size_t msg_len)
{
	char why[1024];

	if (tok->gen != t->gen || tok->state != TOKEN_UP) {
		/* Another request got here first. */
		if (tok->state == TOKEN_UP)
			return 1;
	} else {
		notify_state(tok, "token recovering: re-initialising the module");
		if (reinit_locked(tok, why, sizeof(why)) == P11A_OK) {
			notify_state(tok, "token ready: re-initialised");
			return 1;
		}
		if (tok->state != TOKEN_PIN_REFUSED) {
			notify_state(tok, "token away: the agent keeps looking for it");
			log_error("token: unavailable: %s; the agent keeps looking for it (first "
				  "again in %ld.%ld s)",
				  why, BACKOFF_FIRST_MS / 1000, BACKOFF_FIRST_MS % 1000 / 100);
			start_retry(tok);
		}
	}
	*ret = P11A_ERR_TOKEN_UNAVAILABLE;
	unavailable(tok, msg, msg_len);
	return 0;
}

/* R_RELOGIN, with use held for writing: once, with the kept PIN; else re-initialises. */
static int relogin_held(struct token *tok, const struct token_try *t, int *ret, char *msg,
			size_t msg_len)
{
	char why[1024];
	int r;

	if (tok->gen != t->gen || tok->state != TOKEN_UP)
		return reinit_held(tok, t, ret, msg, msg_len);
	if (tok->pin == NULL)
		return 0;
	if ((r = token_login(tok, why, sizeof(why))) == P11A_ERR_DENIED) {
		pin_refused(tok, why);
		*ret = P11A_ERR_TOKEN_UNAVAILABLE;
		unavailable(tok, msg, msg_len);
		return 0;
	}
	if (r == P11A_OK) {
		log_info("token: logged in again");
		/* The key handles may have gone with the login. */
		if (reindex_locked(tok, &tok->tinfo, why, sizeof(why)) == P11A_OK) {
			tok->gen++;
			return 1;
		}
	}
	log_warn("token: %s: re-initialising the module", why);
	return reinit_held(tok, t, ret, msg, msg_len);
}

/* R_REINDEX, with use held for writing: the key handles again; else re-initialises. */
static int reindex_held(struct token *tok, const struct token_try *t, int *ret, char *msg,
			size_t msg_len)
{
	char why[1024];

	if (tok->gen != t->gen || tok->state != TOKEN_UP)
		return reinit_held(tok, t, ret, msg, msg_len);
	if (reindex_locked(tok, &tok->tinfo, why, sizeof(why)) == P11A_OK) {
		tok->gen++;
		return 1;
	}
	log_warn("token: %s: re-initialising the module", why);
	return reinit_held(tok, t, ret, msg, msg_len);
}

int token_recover(struct token *tok, struct token_try *t, CK_RV rv, int *ret, char *msg,
		  size_t msg_len)
{
	enum recovery r = classify(rv, t->prev);
	int again;

	if (r == R_NONE || t->prev == R_REINIT || t->attempts >= MAX_RECOVERIES)
		return 0;
	t->attempts++;
	t->prev = r;
	atomic_fetch_add_explicit(&tok->recoveries, 1, memory_order_relaxed);
	switch (r) {
	case R_RETRY:
		report(rv, msg, "trying the request again once");
		return 1;
	case R_REOPEN:
		report(rv, msg, "the session is gone: trying again on a new session");
		return 1;
	case R_RELOGIN:
		report(rv, msg, "the login is lost: logging in again");
		break;
	case R_REINDEX:
		report(rv, msg, "indexing the keys again");
		break;
	default:
		report(rv, msg, "re-initialising the module and finding the token again");
		break;
	}
	atomic_fetch_add(&tok->recovering, 1);
	pthread_rwlock_wrlock(&tok->use);
	if (r == R_RELOGIN)
		again = relogin_held(tok, t, ret, msg, msg_len);
	else if (r == R_REINDEX)
		again = reindex_held(tok, t, ret, msg, msg_len);
	else
		again = reinit_held(tok, t, ret, msg, msg_len);
	pthread_rwlock_unlock(&tok->use);
	atomic_fetch_sub(&tok->recovering, 1);
	return again;
}
