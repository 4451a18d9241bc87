/*
 * token-slot: finds the one token a URI names among the module's slots, and
 * logs in to it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "keyindex.h"
#include "log.h"
#include "token-impl.h"

/* The blank-padded PKCS#11 string field f[0..n) as a C string in out. */
static void field_str(const unsigned char *f, size_t n, char *out, size_t out_len)
{
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\0'))
		n--;
	snprintf(out, out_len, "%.*s", (int)n, (const char *)f);
}

/* Appends "label (manufacturer, serial S)" of ti to list. */
static void describe_token(const CK_TOKEN_INFO *ti, char *list, size_t list_len)
{
	char label[33], manuf[33], serial[17];
	size_t used = strlen(list);

	field_str(ti->label, sizeof(ti->label), label, sizeof(label));
	field_str(ti->manufacturerID, sizeof(ti->manufacturerID), manuf, sizeof(manuf));
	field_str(ti->serialNumber, sizeof(ti->serialNumber), serial, sizeof(serial));
	if (used + 1 < list_len)
		snprintf(list + used, list_len - used, "%s%s (%s, serial %s)", used ? ", " : "",
			 label, manuf, serial);
}

int token_select_slot(CK_FUNCTION_LIST *f, const char *uri_str, CK_SLOT_ID *out_slot,
		      CK_TOKEN_INFO *out_ti, char *msg, size_t msg_len)
{
	const char *shown = uri_str != NULL ? keyindex_quotable(uri_str) : "pkcs11:";
	CK_SLOT_ID *slots = NULL, *tmp, slot = 0;
	CK_ULONG i, n_slots = 0;
	CK_TOKEN_INFO ti, match_ti;
	P11KitUri *uri;
	char seen[768] = "";
	size_t matches = 0;
	int r, ret = P11A_ERR_BAD_INPUT;
	CK_RV rv;

	if ((uri = p11_kit_uri_new()) == NULL) {
		snprintf(msg, msg_len, "out of memory");
		return P11A_ERR_INTERNAL;
	}
	if (uri_str != NULL &&
	    (r = p11_kit_uri_parse(uri_str, P11_KIT_URI_FOR_TOKEN, uri)) != P11_KIT_URI_OK) {
		snprintf(msg, msg_len, "token URI '%s': %s", shown, p11_kit_uri_message(r));
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		snprintf(
		    msg, msg_len,
		    "token URI '%s': only token, manufacturer, model and serial select a token",
		    shown);
		goto out;
	}

	for (;;) {
		if ((rv = f->C_GetSlotList(CK_TRUE, NULL, &n_slots)) != CKR_OK)
			break;
		if (n_slots == 0)
			break;
		if ((tmp = realloc(slots, n_slots * sizeof(*slots))) == NULL) {
			snprintf(msg, msg_len, "out of memory");
			ret = P11A_ERR_INTERNAL;
			goto out;
		}
		slots = tmp;
		if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n_slots)) != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		snprintf(msg, msg_len, "C_GetSlotList failed: %s", token_ckr_name(rv));
		ret = P11A_ERR_TOKEN;
		goto out;
	}

	for (i = 0; i < n_slots; i++) {
		/* An uninitialized token (SoftHSM always shows one) holds no keys. */
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		describe_token(&ti, seen, sizeof(seen));
		if (!p11_kit_uri_match_token_info(uri, &ti))
			continue;
		if (matches++ == 0) {
			slot = slots[i];
			match_ti = ti;
		}
	}
	if (matches == 1) {
		*out_slot = slot;
		*out_ti = match_ti;
		ret = P11A_OK;
	} else if (n_slots == 0 || seen[0] == '\0') {
		snprintf(msg, msg_len, "no initialized token is present in the module");
	} else if (matches == 0) {
		snprintf(msg, msg_len, "no token matches '%s'; tokens seen: %s", shown, seen);
	} else {
		snprintf(msg, msg_len,
			 "'%s' matches %zu tokens: %s; name one with token=LABEL or serial=SERIAL",
			 shown, matches, seen);
	}
out:
	free(slots);
	p11_kit_uri_free(uri);
	return ret;
}

int token_login(struct token *tok, char *msg, size_t msg_len)
{
	const char *src = tok->pin_source != NULL ? tok->pin_source : "the pin source";
	CK_RV rv;

	rv = tok->f->C_Login(tok->login_session, CKU_USER, tok->pin->p, tok->pin->len);
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		tok->logged_in = rv == CKR_OK;
		tok->user = 1;
		return P11A_OK;
	}
	/* Never retried: every wrong try counts against the token's retry counter. */
	if (rv == CKR_PIN_INCORRECT)
		snprintf(msg, msg_len,
			 "C_Login failed: CKR_PIN_INCORRECT: the PIN from %s is wrong "
			 "(tried once, not again, to spare the token's retry counter)",
			 src);
	else if (rv == CKR_PIN_LOCKED)
		snprintf(msg, msg_len,
			 "C_Login failed: CKR_PIN_LOCKED: the user PIN is locked (PIN from %s); "
			 "unlock it with the SO PIN",
			 src);
	else
		snprintf(msg, msg_len, "C_Login failed: %s", token_ckr_name(rv));
	return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? P11A_ERR_DENIED : P11A_ERR_TOKEN;
}
