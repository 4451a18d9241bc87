/*
 * httpbase: the covered components of an RFC 9421 signature and its
 * signature base, for httpsig.c.
 *
 * A signature's covered components and parameters are one RFC 9651 inner
 * list (struct sfv_member). A new signature's is written as text and parsed
 * back, so that what is signed, what Signature-Input says and what a
 * verifier reads are one structure, serialized one way.
 *
 * Every function sets the thread's reason (httpmsg_fail()) when it fails.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_HTTPBASE_H
#define P11AGENT_HTTPBASE_H

#include "buf.h"
#include "p11agent.h"
#include "sfv.h"

/*
 * Appends the signature base of sig (covered components and parameters) over
 * msg to out: a line per component, then "@signature-params". req: the
 * request msg answers, for req components, or NULL. P11A_ERR_BAD_INPUT for a
 * component that is malformed, covered twice, absent, or not ASCII.
 */
int httpbase_build(const struct sfv_member *sig, const struct p11a_http_msg *msg,
		   const struct p11a_http_msg *req, struct buf *out);

/*
 * The inner list of a new signature of msg: p's components (its default set
 * when NULL) and parameters, in the order created, expires, nonce, alg (when
 * alg is not NULL), keyid, tag. Free *out with sfv_member_free().
 */
int httpbase_new_signature(const struct p11a_http_msg *msg, const struct p11a_http_sign_params *p,
			   const char *alg, struct sfv_member *out);

/*
 * Parses list (component identifiers, comma-separated, as p11agent.h writes
 * them) into an inner list without parameters; what names it in messages.
 */
int httpbase_list(const char *list, const char *what, struct sfv_member *out);

#endif
