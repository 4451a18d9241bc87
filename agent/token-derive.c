/*
 * token-derive: ECDH in the token (CKM_ECDH1_DERIVE, no KDF). The peer's key
 * is checked first (ecdh-peer.c); the shared secret lands in a session
 * object that is read and destroyed at once (tmpkey.c).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecdh-peer.h"
#include "token-impl.h"

int token_derive(struct token *tok, const struct token_key *key, p11a_alg alg,
		 const uint8_t *peer_spki, size_t peer_len, struct secret **out_z, char *msg,
		 size_t msg_len)
{
	uint8_t point[ECDH_POINT_MAX];
	size_t point_len, field_len = ((size_t)key->bits + 7) / 8;
	CK_ECDH1_DERIVE_PARAMS params;
	CK_MECHANISM mech = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
	struct token_tmpkey op = {1, &mech, NULL, 0, field_len};
	struct secret *z = NULL;
	CK_RV rv = CKR_OK;
	int ret;

	if ((ret = token_kex_check(tok, key, alg, P11A_OP_DERIVE, msg, msg_len)) != P11A_OK)
		return ret;
	if ((ret = ecdh_peer_point(key->curve, peer_spki, peer_len, point, &point_len, msg,
				   msg_len)) != P11A_OK)
		return ret;
	params = (CK_ECDH1_DERIVE_PARAMS){CKD_NULL, 0, NULL, point_len, point};
	ret = token_tmpkey_make(tok, key, &op, &z, &rv, msg, msg_len);
	if (ret == P11A_ERR_TOKEN && rv != CKR_OK)
		return token_tmpkey_error(rv, key, TOKEN_BLAME_PEER,
					  "peer: the token refused the point", msg, msg_len);
	if (ret != P11A_OK)
		return ret;
	if (z->len != field_len) {
		snprintf(msg, msg_len, "C_DeriveKey gave %zu bytes, not the %zu of %s", z->len,
			 field_len, key->curve);
		secret_free(z);
		return P11A_ERR_TOKEN;
	}
	*out_z = z;
	return P11A_OK;
}
