#include "config.h"
/*
 * fuzz-ssh: the SSH agent protocol's decoders (agent/ssh-msg.c) and the
 * OpenSSH key and signature code under them (proto/sshkey.c), on a frame
 * body as the SSH front hands it over (what follows the u32 length).
 *
 * A sign request's data goes through sshmsg_classify, its key blob through
 * sshkey_from_blob; session-bind@openssh.com's body is decoded and its
 * signature checked. The whole input is classified as signed data too, so
 * that the fuzzer reaches the userauth and SSHSIG parsers directly.
 *
 * Then the same body goes to the SSH front's dispatcher itself (no token,
 * policy or audit), which must answer it with one whole frame or close.
 *
 * Besides "no crash, no leak", it checks their promises: a failure returns
 * its documented code and leaves the outputs alone; what is decoded points
 * inside the input; a userauth or SSHSIG verdict holds printable names; a
 * key blob taken is exactly what sshkey_blob writes of its key.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "p11agent.h"
#include "proto.h"
#include "sshkey.h"
#include "../../agent/front.h"
#include "../../agent/ssh-msg.h"

#include "fuzz.h"

/* Whether p[0..len) lies within data[0..size). */
static int inside(const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
	if (len == 0)
		return 1;
	return p >= data && len <= size && (size_t)(p - data) <= size - len;
}

static void check_name(const char *s)
{
	size_t i, n = strlen(s);

	FUZZ_CHECK(n > 0 && n <= SSHMSG_NAME_MAX);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
}

/* sshkey_from_blob, and on success the round trip through sshkey_blob. */
static void check_key_blob(const uint8_t *blob, size_t len)
{
	EVP_PKEY *pkey = (EVP_PKEY *)&pkey; /* a sentinel */
	uint8_t *again = NULL;
	size_t again_len = 0;
	char type[SSHKEY_TYPE_LEN], msg[256], fp[SSHKEY_FP_LEN];
	int r;

	r = sshkey_from_blob(blob, len, &pkey);
	if (r != P11A_OK) {
		FUZZ_CHECK(r == P11A_ERR_BAD_INPUT || r == P11A_ERR_NOMEM);
		FUZZ_CHECK(pkey == (EVP_PKEY *)&pkey);
		return;
	}
	FUZZ_CHECK(sshkey_blob(pkey, &again, &again_len, type, msg, sizeof(msg)) == P11A_OK);
	FUZZ_CHECK(again_len == len && memcmp(again, blob, len) == 0);
	FUZZ_CHECK(len >= 4 + strlen(type) && memcmp(blob + 4, type, strlen(type)) == 0);
	sshkey_fingerprint(blob, len, fp);
	FUZZ_CHECK(strlen(fp) == SSHKEY_FP_LEN - 1 && strncmp(fp, "SHA256:", 7) == 0);
	free(again);
	EVP_PKEY_free(pkey);
}

static void check_classify(const uint8_t *data, size_t len)
{
	struct sshmsg_signed_data sd;

	sshmsg_classify(data, len, &sd);
	switch (sd.kind) {
	case SSHMSG_DATA_USERAUTH:
		check_name(sd.user);
		FUZZ_CHECK(sd.session_id_len > 0 &&
			   inside(sd.session_id, sd.session_id_len, data, len));
		FUZZ_CHECK(inside(sd.key_blob, sd.key_blob_len, data, len));
		FUZZ_CHECK(sd.host_key == NULL || inside(sd.host_key, sd.host_key_len, data, len));
		FUZZ_CHECK(sd.ns[0] == '\0');
		check_key_blob(sd.key_blob, sd.key_blob_len);
		if (sd.host_key != NULL)
			check_key_blob(sd.host_key, sd.host_key_len);
		break;
	case SSHMSG_DATA_SSHSIG:
		check_name(sd.ns);
		FUZZ_CHECK(strcmp(sd.hash_alg, "sha256") == 0 ||
			   strcmp(sd.hash_alg, "sha512") == 0);
		FUZZ_CHECK(sd.user[0] == '\0' && sd.key_blob == NULL);
		break;
	default:
		FUZZ_CHECK(sd.kind == SSHMSG_DATA_OTHER);
		FUZZ_CHECK(sd.user[0] == '\0' && sd.ns[0] == '\0' && sd.key_blob == NULL);
		break;
	}
}

static void check_session_bind(const uint8_t *p, size_t len)
{
	struct sshmsg_session_bind sb;
	const char *what = NULL;
	char msg[256];
	int r;

	memset(&sb, 0xa5, sizeof(sb));
	r = sshmsg_decode_session_bind(p, len, &sb, &what);
	if (r != P11A_OK) {
		FUZZ_CHECK(r == P11A_ERR_BAD_REQUEST && what != NULL && what[0] != '\0');
		FUZZ_CHECK(sb.forwarding == (int)0xa5a5a5a5);
		return;
	}
	FUZZ_CHECK(inside(sb.host_key, sb.host_key_len, p, len));
	FUZZ_CHECK(inside(sb.session_id, sb.session_id_len, p, len));
	FUZZ_CHECK(inside(sb.sig, sb.sig_len, p, len));
	FUZZ_CHECK(sb.forwarding == 0 || sb.forwarding == 1);
	check_key_blob(sb.host_key, sb.host_key_len);
	msg[0] = '\0';
	r = sshmsg_verify_session_bind(&sb, msg, sizeof(msg));
	FUZZ_CHECK(r == P11A_OK ||
		   ((r == P11A_ERR_BAD_INPUT || r == P11A_ERR_NOMEM) && msg[0] != '\0'));
}

/* The front answers a request with exactly one frame, or closes the connection. */
static void check_front(const uint8_t *data, size_t size)
{
	struct caller caller = {.uid = 1000, .gid = 1000, .pid = 1};
	struct buf *out = buf_new(0);
	void *state = calloc(1, front_ssh.state_size);
	int r;

	if (out == NULL || state == NULL)
		goto out;
	r = front_ssh.dispatch(NULL, &caller, state, data, size, out);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0)
		FUZZ_CHECK(buf_len(out) >= 5 && proto_frame_len(buf_data(out)) == buf_len(out) - 4);
	front_ssh.state_free(state);
out:
	free(state);
	buf_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshmsg_request req;
	const char *what = NULL;
	int r;

	check_classify(data, size);
	check_front(data, size);

	memset(&req, 0xa5, sizeof(req));
	r = sshmsg_decode(data, size, &req, &what);
	if (r != P11A_OK) {
		FUZZ_CHECK(r == P11A_ERR_BAD_REQUEST && what != NULL && what[0] != '\0');
		FUZZ_CHECK(req.type == 0xa5);
		return 0;
	}
	FUZZ_CHECK(size > 0 && req.type == data[0]);
	switch (req.type) {
	case SSH_AGENTC_SIGN_REQUEST:
		FUZZ_CHECK(inside(req.key_blob, req.key_blob_len, data, size));
		FUZZ_CHECK(inside(req.data, req.data_len, data, size));
		FUZZ_CHECK(5 + req.key_blob_len + 4 + req.data_len + 4 == size);
		check_classify(req.data, req.data_len);
		check_key_blob(req.key_blob, req.key_blob_len);
		break;
	case SSH_AGENTC_EXTENSION:
		FUZZ_CHECK(req.ext_name_len > 0 &&
			   inside(req.ext_name, req.ext_name_len, data, size));
		FUZZ_CHECK(inside(req.ext_body, req.ext_body_len, data, size));
		FUZZ_CHECK(memchr(req.ext_name, '\0', req.ext_name_len) == NULL);
		if (req.ext_name_len == 24 &&
		    memcmp(req.ext_name, "session-bind@openssh.com", 24) == 0)
			check_session_bind(req.ext_body, req.ext_body_len);
		break;
	case SSH_AGENTC_REQUEST_IDENTITIES:
		FUZZ_CHECK(size == 1);
		break;
	default:
		FUZZ_CHECK(req.key_blob == NULL && req.data == NULL && req.ext_name == NULL);
		break;
	}
	return 0;
}
