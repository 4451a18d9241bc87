#include "config.h"
/*
 * gen-seeds: writes the seed corpus of the fuzz targets.
 *
 *     make tests/fuzz/gen-seeds && tests/fuzz/gen-seeds $(srcdir)/tests/fuzz/corpus
 *
 * The seeds are committed; run this again when the protocol changes. Valid
 * messages are built with the codec itself, so they follow its table; the
 * broken ones are valid ones cut short or with a field's length blown up.
 *   frame/    one frame body each (fuzz-frame): requests and replies of every
 *             opcode, error replies, truncated, oversized, trailing bytes
 *   handler/  a client's byte stream each (fuzz-handler): frames after HELLO
 *   conf/     config files (fuzz-conf)
 *   audit/    audit trails (fuzz-audit): a chain built with auditlog_sha256,
 *             checkpoints, a new chain, and the same damaged, cut and reordered
 *   keyfile/  key files (fuzz-keyfile): PEM made by p11a_keyfile_encode for
 *             RSA, EC and Ed25519 public keys, their DER bodies, a file with
 *             another block before it, and BER, trailing bytes, another
 *             version, a file: URI, another PEM name, truncated PEM
 *   sfv/      structured field values (fuzz-sfv): RFC 9651's examples of each
 *             type, RFC 9421's Signature-Input and Signature, and broken ones
 *   http/     a signature's components on the first line, then an HTTP
 *             message (fuzz-http): RFC 9421's requests and responses, folded
 *             and repeated fields, each kind of request target, broken ones
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auditlog.h"
#include "buf.h"
#include "proto.h"
#include "sshkey.h"

static const char *root;
static int failed;

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
	fprintf(stderr, "gen-seeds: %s\n", what);
	exit(1);
}

static void write_seed(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		die("cannot create a corpus folder");
	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen-seeds: cannot write %s\n", path);
		failed = 1;
	}
}

/* One sample key, as LIST and KEY_INFO replies carry it (two kinds). */
static void put_sample_key(struct buf *b, int i)
{
	static uint8_t id[] = {0x01, 0x02, 0xab};
	static char label0[] = "signer", label1[] = "hmac key", none[] = "";
	static char uri0[] = "pkcs11:token=demo;object=signer;id=%01%02%ab;type=private";
	static char uri1[] = "pkcs11:token=demo;object=hmac%20key;type=secret-key";
	static char algs0[] = "rsa-pkcs1-sha256,rsa-pss-sha256", def0[] = "rsa-pkcs1-sha256";
	static char algs1[] = "hmac-sha256", sw0[] = "rsa-oaep-sha256", name0[] = "release";
	static char date0[] = "2026-12-05", expiry0[] = "2027-12-05T00:00:00Z";
	struct p11a_key_info k = {
	    .label = i == 0 ? label0 : label1,
	    .id = id,
	    .id_len = i == 0 ? sizeof(id) : 0,
	    .uri = i == 0 ? uri0 : uri1,
	    .type = i == 0 ? P11A_KEY_RSA : P11A_KEY_HMAC,
	    .bits = i == 0 ? 2048 : 256,
	    .curve = none,
	    .ops = P11A_OP_SIGN,
	    .algs = i == 0 ? algs0 : algs1,
	    .default_alg = i == 0 ? def0 : algs1,
	    .sw_algs = i == 0 ? sw0 : none,
	    .name = i == 0 ? name0 : none,
	    .family = i == 0 ? name0 : label1,
	    .version = i == 0 ? 2 : 1,
	    .min_version = 1,
	    .newest = 1,
	    .created = i == 0 ? date0 : none,
	    .cert_expiry = i == 0 ? expiry0 : none,
	};

	if (proto_list_put(b, &k) != P11A_OK)
		die("proto_list_put failed");
}

/* A sample request of opcode op, encoded as a whole frame into out. */
static void sample_request(struct buf *out, uint8_t op, uint32_t id)
{
	static const uint8_t digest[32] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t mac[32] = {0x42};
	static const uint8_t batch[4 + 2 * 36] = {0, 0, 0, 2, 0, 0, 0, 32, [40] = 0, 0, 0, 32};
	struct proto_msg m = {.op = op, .id = id};

	switch (op) {
	case PROTO_OP_HELLO:
		m.n = 1;
		m.f[0] = proto_u32(P11A_PROTOCOL_VERSION);
		break;
	case PROTO_OP_PING:
		m.n = 1;
		m.f[0] = proto_cstr("ping?");
		break;
	case PROTO_OP_LIST:
		m.n = 0;
		break;
	case PROTO_OP_PUBKEY:
	case PROTO_OP_KEY_INFO:
	case PROTO_OP_CERT:
		m.n = 1;
		m.f[0] = proto_key("signer");
		break;
	case PROTO_OP_SIGN:
		m.n = 4;
		m.f[0] = proto_key("pkcs11:object=signer;type=private");
		m.f[1] = proto_u32(P11A_ALG_RSA_PKCS1_SHA256);
		m.f[2] = proto_u32(0);
		m.f[3] = proto_str(digest, sizeof(digest));
		break;
	case PROTO_OP_VERIFY_HMAC:
		m.n = 4;
		m.f[0] = proto_key("id:0102ab");
		m.f[1] = proto_u32(P11A_ALG_HMAC_SHA256);
		m.f[2] = proto_cstr("message");
		m.f[3] = proto_str(mac, sizeof(mac));
		break;
	case PROTO_OP_DECRYPT:
		m.n = 4;
		m.f[0] = proto_key("signer");
		m.f[1] = proto_u32(P11A_ALG_RSA_OAEP_SHA256);
		m.f[2] = proto_cstr("label");
		m.f[3] = proto_str(mac, sizeof(mac));
		break;
	case PROTO_OP_UNWRAP:
		m.n = 5;
		m.f[0] = proto_key("kek");
		m.f[1] = proto_u32(P11A_ALG_AES_KWP);
		m.f[2] = proto_u32(32);
		m.f[3] = proto_cstr("");
		m.f[4] = proto_str(mac, sizeof(mac));
		break;
	case PROTO_OP_DERIVE:
		m.n = 3;
		m.f[0] = proto_key("ec");
		m.f[1] = proto_u32(P11A_ALG_ECDH);
		m.f[2] = proto_str(digest, sizeof(digest));
		break;
	case PROTO_OP_AUDIT_VERIFY:
		m.n = 3;
		m.f[0] = proto_str(mac, 32);
		m.f[1] = proto_cstr("{\"seq\":1,\"op\":\"sign\",\"chain\":\"hmac-sha256\"");
		m.f[2] = proto_str(mac, 32);
		break;
	case PROTO_OP_AUDIT_HEAD:
		m.n = 0;
		break;
	case PROTO_OP_SIGN_BATCH:
		/* Two SHA-256 digests: count 2, then two strings of 32 bytes. */
		m.n = 4;
		m.f[0] = proto_key("signer");
		m.f[1] = proto_u32(P11A_ALG_ECDSA_SHA256);
		m.f[2] = proto_u32(0);
		m.f[3] = proto_rest(batch, sizeof(batch));
		break;
	case PROTO_OP_KEYGEN:
		m.n = 3;
		m.f[0] = proto_key("new-key");
		m.f[1] = proto_cstr("ec:P-256");
		m.f[2] = proto_u32(P11A_OP_SIGN);
		break;
	case PROTO_OP_ROTATE:
	case PROTO_OP_VERSIONS:
		m.n = 1;
		m.f[0] = proto_key("release");
		break;
	case PROTO_OP_TRIM:
		m.n = 2;
		m.f[0] = proto_key("release");
		m.f[1] = proto_u32(2);
		break;
	case PROTO_OP_REWRAP:
		m.n = 4;
		m.f[0] = proto_key("kek@1");
		m.f[1] = proto_u32(P11A_ALG_AES_KW);
		m.f[2] = proto_cstr("");
		m.f[3] = proto_str(mac, sizeof(mac));
		break;
	case PROTO_OP_CERT_IMPORT:
		m.n = 2;
		m.f[0] = proto_key("signer");
		m.f[1] = proto_str(digest, sizeof(digest));
		break;
	case PROTO_OP_RELOAD:
	case PROTO_OP_STATUS:
		m.n = 0;
		break;
	default:
		die("no sample request for an opcode: update gen-seeds");
	}
	if (proto_encode_request(out, &m) != P11A_OK)
		die("proto_encode_request failed: update gen-seeds to the protocol table");
}

/* A sample STATUS body: a key with errors, a request without a key, a key gone. */
static void put_sample_status(struct buf *b)
{
	static struct p11a_status_error errs[] = {{P11A_ERR_NO_SUCH_KEY, 2}, {P11A_ERR_DENIED, 1}};
	static struct p11a_status_entry entries[] = {
	    {.key = (char *)"",
	     .op = (char *)"key-info",
	     .requests = 3,
	     .latency_sum_us = 30,
	     .latency_p50_us = 9,
	     .latency_p99_us = 11,
	     .errors = errs,
	     .n_errors = 2},
	    {.key = (char *)"release",
	     .version = 2,
	     .op = (char *)"sign",
	     .requests = 1000,
	     .latency_sum_us = 700000,
	     .latency_p50_us = 639,
	     .latency_p99_us = 2047},
	    {.key = (char *)"old",
	     .version = 1,
	     .gone = 1,
	     .op = (char *)"decrypt",
	     .requests = 1,
	     .latency_sum_us = 900,
	     .latency_p50_us = 959,
	     .latency_p99_us = 959},
	};
	struct p11a_status st = {
	    .agent = (char *)"p11agentd 0.1.0",
	    .uptime_ms = 3723000,
	    .token_label = (char *)"demo",
	    .token_serial = (char *)"0123456789abcdef",
	    .token_state = P11A_TOKEN_READY,
	    .recoveries = 1,
	    .connections = 2,
	    .sessions_in_use = 1,
	    .sessions = 8,
	    .entries = entries,
	    .n_entries = 3,
	};

	if (proto_status_put(b, &st) != P11A_OK)
		die("proto_status_put failed");
}

/* A sample success reply for opcode op; scratch holds '*' bytes. */
static void sample_reply(struct buf *out, struct buf *scratch, uint8_t op, uint32_t id)
{
	static const uint8_t spki[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
	static const uint8_t sig[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
	static const uint8_t head_mac[32] = {0x5a};
	struct proto_msg m = {.op = op, .id = id, .status = P11A_OK};

	buf_reset(scratch);
	switch (op) {
	case PROTO_OP_HELLO:
		m.n = 2;
		m.f[0] = proto_u32(P11A_PROTOCOL_VERSION);
		m.f[1] = proto_cstr("p11agentd 0.1.0");
		break;
	case PROTO_OP_PING:
		m.n = 1;
		m.f[0] = proto_cstr("ping?");
		break;
	case PROTO_OP_LIST:
		if (buf_put_u32(scratch, 2) != P11A_OK)
			die("buf_put_u32 failed");
		put_sample_key(scratch, 0);
		put_sample_key(scratch, 1);
		m.n = 1;
		m.f[0] = proto_rest(buf_data(scratch), buf_len(scratch));
		break;
	case PROTO_OP_KEY_INFO:
	case PROTO_OP_KEYGEN:
	case PROTO_OP_ROTATE:
		put_sample_key(scratch, 0);
		m.n = 1;
		m.f[0] = proto_rest(buf_data(scratch), buf_len(scratch));
		break;
	case PROTO_OP_VERSIONS:
		if (buf_put_u32(scratch, 1) != P11A_OK)
			die("buf_put_u32 failed");
		put_sample_key(scratch, 0);
		m.n = 1;
		m.f[0] = proto_rest(buf_data(scratch), buf_len(scratch));
		break;
	case PROTO_OP_SIGN_BATCH:
		if (buf_put_u32(scratch, 2) != P11A_OK ||
		    buf_put_string(scratch, sig, sizeof(sig)) != P11A_OK ||
		    buf_put_string(scratch, sig, sizeof(sig)) != P11A_OK)
			die("buf_put failed");
		m.n = 2;
		m.f[0] = proto_u32(2);
		m.f[1] = proto_rest(buf_data(scratch), buf_len(scratch));
		break;
	case PROTO_OP_PUBKEY:
	case PROTO_OP_CERT:
		m.n = 1;
		m.f[0] = proto_str(spki, sizeof(spki));
		break;
	case PROTO_OP_SIGN:
	case PROTO_OP_DECRYPT:
	case PROTO_OP_UNWRAP:
	case PROTO_OP_DERIVE:
		/* The result, then the key version that made it. */
		m.n = 2;
		m.f[0] = proto_str(sig, sizeof(sig));
		m.f[1] = proto_u32(2);
		break;
	case PROTO_OP_VERIFY_HMAC:
		m.n = 2;
		m.f[0] = proto_u32(1);
		m.f[1] = proto_u32(2);
		break;
	case PROTO_OP_AUDIT_VERIFY:
	case PROTO_OP_TRIM:
	case PROTO_OP_CERT_IMPORT:
	case PROTO_OP_RELOAD:
		m.n = 1;
		m.f[0] = proto_u32(1);
		break;
	case PROTO_OP_REWRAP:
		m.n = 3;
		m.f[0] = proto_str(sig, sizeof(sig));
		m.f[1] = proto_u32(1);
		m.f[2] = proto_u32(2);
		break;
	case PROTO_OP_AUDIT_HEAD:
		m.n = 3;
		m.f[0] = proto_u32(0);
		m.f[1] = proto_u32(42);
		m.f[2] = proto_str(head_mac, sizeof(head_mac));
		break;
	case PROTO_OP_STATUS:
		put_sample_status(scratch);
		m.n = 1;
		m.f[0] = proto_rest(buf_data(scratch), buf_len(scratch));
		break;
	default:
		die("no sample reply for an opcode: update gen-seeds");
	}
	if (proto_encode_reply(out, &m) != P11A_OK)
		die("proto_encode_reply failed: update gen-seeds to the protocol table");
}

static void error_reply(struct buf *out, uint8_t op, uint32_t id, p11a_err code, const char *text)
{
	struct proto_msg m = {.op = op, .id = id, .status = (uint32_t)code, .n = 1};

	m.f[0] = proto_cstr(text);
	if (proto_encode_reply(out, &m) != P11A_OK)
		die("proto_encode_reply failed");
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void gen_frame(struct buf *b, struct buf *scratch)
{
	const struct proto_op_info *info;
	uint8_t tmp[1024];
	char name[128];
	size_t len;

	for (unsigned op = 0; op < 256; op++) {
		if ((info = proto_op_info((uint8_t)op)) == NULL)
			continue;
		buf_reset(b);
		sample_request(b, (uint8_t)op, 7);
		snprintf(name, sizeof(name), "req-%s", info->name);
		write_seed("frame", name, buf_data(b) + 4, buf_len(b) - 4);
		/* Cut short by one byte (drops into the last field or the header). */
		snprintf(name, sizeof(name), "req-%s-truncated", info->name);
		write_seed("frame", name, buf_data(b) + 4, buf_len(b) - 5);

		buf_reset(b);
		sample_reply(b, scratch, (uint8_t)op, 7);
		snprintf(name, sizeof(name), "rep-%s", info->name);
		write_seed("frame", name, buf_data(b) + 4, buf_len(b) - 4);
		snprintf(name, sizeof(name), "rep-%s-truncated", info->name);
		write_seed("frame", name, buf_data(b) + 4, buf_len(b) - 5);

		buf_reset(b);
		error_reply(b, (uint8_t)op, 7, P11A_ERR_NO_SUCH_KEY, "no key matches 'signer'");
		snprintf(name, sizeof(name), "rep-%s-error", info->name);
		write_seed("frame", name, buf_data(b) + 4, buf_len(b) - 4);
	}

	/* SIGN whose key length says 4 GiB - 1; then whose data length does. */
	buf_reset(b);
	sample_request(b, PROTO_OP_SIGN, 9);
	len = buf_len(b) - 4;
	if (len > sizeof(tmp))
		die("sample too long");
	memcpy(tmp, buf_data(b) + 4, len);
	put_be32(tmp + 5, 0xffffffffu);
	write_seed("frame", "req-sign-huge-key-len", tmp, len);
	memcpy(tmp, buf_data(b) + 4, len);
	put_be32(tmp + len - 32 - 4, 0x00100001u); /* just over 1 MiB */
	write_seed("frame", "req-sign-huge-data-len", tmp, len);
	/* A key reference of zero bytes, and one with a NUL inside. */
	buf_reset(b);
	sample_request(b, PROTO_OP_PUBKEY, 9);
	len = buf_len(b) - 4;
	memcpy(tmp, buf_data(b) + 4, len);
	put_be32(tmp + 5, 0);
	write_seed("frame", "req-pubkey-empty-key", tmp, 9);
	tmp[11] = 0;
	put_be32(tmp + 5, 6);
	write_seed("frame", "req-pubkey-nul-in-key", tmp, len);
	/* HELLO with one byte too many. */
	buf_reset(b);
	sample_request(b, PROTO_OP_HELLO, 1);
	len = buf_len(b) - 4;
	memcpy(tmp, buf_data(b) + 4, len);
	tmp[len] = 0x55;
	write_seed("frame", "req-hello-trailing", tmp, len + 1);
	/* An unknown opcode, a bare header, less than a header. */
	memcpy(tmp, "\x7f\x00\x00\x00\x01", 5);
	write_seed("frame", "req-unknown-op", tmp, 5);
	memcpy(tmp, "\x03\x00\x00\x00\x02", 5);
	write_seed("frame", "req-list-header-only", tmp, 5);
	write_seed("frame", "short-header", tmp, 3);
	/* A LIST reply that claims 1000 keys and holds 2. */
	buf_reset(b);
	sample_reply(b, scratch, PROTO_OP_LIST, 3);
	len = buf_len(b) - 4;
	if (len > sizeof(tmp))
		die("sample too long");
	memcpy(tmp, buf_data(b) + 4, len);
	put_be32(tmp + 9, 1000);
	write_seed("frame", "rep-list-count-too-big", tmp, len);
}

static void gen_handler(struct buf *s)
{
	const struct proto_op_info *info;
	char name[128];
	uint8_t raw[16];

	for (unsigned op = 0; op < 256; op++) {
		if ((info = proto_op_info((uint8_t)op)) == NULL)
			continue;
		buf_reset(s);
		sample_request(s, PROTO_OP_HELLO, 1);
		sample_request(s, (uint8_t)op, 2);
		snprintf(name, sizeof(name), "hello-then-%s", info->name);
		write_seed("handler", name, buf_data(s), buf_len(s));
	}
	/* A request before HELLO. */
	buf_reset(s);
	sample_request(s, PROTO_OP_PING, 1);
	sample_request(s, PROTO_OP_HELLO, 2);
	sample_request(s, PROTO_OP_PING, 3);
	write_seed("handler", "ping-before-hello", buf_data(s), buf_len(s));
	/* Pipelined requests, the last one cut short. */
	buf_reset(s);
	sample_request(s, PROTO_OP_HELLO, 1);
	for (uint32_t i = 2; i < 6; i++)
		sample_request(s, PROTO_OP_PING, i);
	sample_request(s, PROTO_OP_SIGN, 6);
	write_seed("handler", "pipelined-last-truncated", buf_data(s), buf_len(s) - 10);
	/* A length over 1 MiB after HELLO; a body shorter than a header. */
	buf_reset(s);
	sample_request(s, PROTO_OP_HELLO, 1);
	put_be32(raw, P11A_MAX_FRAME + 1);
	memcpy(raw + 4, "\x02\x00\x00\x00\x02", 5);
	if (buf_put(s, raw, 9) != P11A_OK)
		die("buf_put failed");
	write_seed("handler", "oversized-length", buf_data(s), buf_len(s));
	buf_reset(s);
	sample_request(s, PROTO_OP_HELLO, 1);
	put_be32(raw, 3);
	memcpy(raw + 4, "\x02\x00\x00", 3);
	if (buf_put(s, raw, 7) != P11A_OK)
		die("buf_put failed");
	write_seed("handler", "short-body", buf_data(s), buf_len(s));
	/* An unknown opcode after HELLO, then a ping that must still be answered. */
	buf_reset(s);
	sample_request(s, PROTO_OP_HELLO, 1);
	put_be32(raw, 5);
	memcpy(raw + 4, "\xee\x00\x00\x00\x02", 5);
	if (buf_put(s, raw, 9) != P11A_OK)
		die("buf_put failed");
	sample_request(s, PROTO_OP_PING, 3);
	write_seed("handler", "unknown-op-then-ping", buf_data(s), buf_len(s));
	/* HELLO with version 0 and with a version from the future. */
	{
		struct proto_msg m = {.op = PROTO_OP_HELLO, .id = 1, .n = 1};

		buf_reset(s);
		m.f[0] = proto_u32(0);
		if (proto_encode_request(s, &m) != P11A_OK)
			die("proto_encode_request failed");
		write_seed("handler", "hello-version-0", buf_data(s), buf_len(s));
		buf_reset(s);
		m.f[0] = proto_u32(99);
		if (proto_encode_request(s, &m) != P11A_OK)
			die("proto_encode_request failed");
		sample_request(s, PROTO_OP_LIST, 2);
		write_seed("handler", "hello-version-99", buf_data(s), buf_len(s));
	}
}

static void gen_conf(void)
{
	static const struct {
		const char *name;
		const char *text;
	} seeds[] = {
	    {"full", "# p11agentd settings\n"
		     "module = /usr/lib/softhsm/libsofthsm2.so\n"
		     "token = pkcs11:token=demo;manufacturer=SoftHSM%20project\n"
		     "pin-source = file:/etc/p11agent/pin\n"
		     "socket = /run/user/1000/p11agent/agent.sock\n"
		     "foreground = yes\n"
		     "log-level = debug\n"
		     "pool-size = 16\n"},
	    {"quoting", "module = \"/opt/my module/lib.so\"  # spaces kept\n"
			"\tsocket\t=\t\"/tmp/#1/agent.sock\"\r\n"
			"pin-source=env:P11AGENT_PIN\n"
			"foreground = false\n"},
	    {"last-wins", "pool-size = 1\npool-size = 256\nlog-level = warn\nlog-level=error"},
	    {"comments-only", "# nothing\n\n   # indented\n\t\n"},
	    {"unknown-key", "colour = blue\n"},
	    {"missing-equal", "module /usr/lib/softhsm/libsofthsm2.so\n"},
	    {"empty-key", " = value\n"},
	    {"empty-value", "module =\n"},
	    {"bad-values", "foreground = maybe\npool-size = 0\nlog-level = loud\n"},
	    {"section", "[key signer]\nallow-uid = 1000\n"},
	    {"sections", "# globals, then one section per key\n"
			 "module = /usr/lib/softhsm/libsofthsm2.so\n"
			 "token = pkcs11:token=demo\n"
			 "\n"
			 "[key server-rsa]\n"
			 "uri = pkcs11:token=demo;object=server-rsa;type=private\n"
			 "allow-rsa-pkcs1-decrypt = yes   # legacy clients\n"
			 "\n"
			 "  [ key\tbuild_signer.v2 ]  # odd spacing\n"
			 "uri = \"pkcs11:object=build%20signer;id=%01%02\"\n"
			 "allow-rsa-pkcs1-decrypt = no\n"
			 "[key K-0]\n"
			 "uri=PKCS11:object=k0\n"},
	    {"section-no-uri", "[key a]\nallow-rsa-pkcs1-decrypt = true\n[key b]\n"
			       "uri = pkcs11:object=b\n"},
	    {"section-dup-name", "[key a]\nuri = pkcs11:object=a\n[key a]\n"
				 "uri = pkcs11:object=b\n"},
	    {"section-unknown", "[foo]\n"},
	    {"section-no-name", "[key]\nuri = pkcs11:object=a\n"},
	    {"section-two-words", "[key a b]\nuri = pkcs11:object=a\n"},
	    {"section-bad-name", "[key a/b]\nuri = pkcs11:object=a\n"},
	    {"section-open-bracket", "[key a\nuri = pkcs11:object=a\n"},
	    {"section-after-bracket", "[key a] b\nuri = pkcs11:object=a\n"},
	    {"section-global-key", "[key a]\nuri = pkcs11:object=a\nsocket = /tmp/s\n"},
	    {"section-key-outside", "uri = pkcs11:object=a\n[key a]\n"},
	    {"section-twice", "[key a]\nuri = pkcs11:object=a\nuri = pkcs11:object=b\n"},
	    {"section-bad-uri", "[key a]\nuri = pkcs11:objet=a;slot-id=1\n"},
	    {"section-uri-blank", "[key a]\nuri = pkcs11:object=My Key\n"},
	    {"section-bad-bool", "[key a]\nuri = pkcs11:object=a\nallow-rsa-pkcs1-decrypt = 2\n"},
	    {"section-long-name",
	     "[key a123456789b123456789c123456789d123456789e123456789f123456789g1234]\n"
	     "uri = pkcs11:object=a\n"},
	    {"open-quote", "module = \"/usr/lib\n"},
	    {"after-quote", "module = \"/usr/lib\" x\n"},
	    {"bad-uri", "token = pkcs11:token=%zz?pin-value=1234\n"},
	    {"bad-pin-source", "pin-source = 1234\n"},
	};
	char line[5000];
	char *many;
	size_t cap = 1025 * 40, len = 0;

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed("conf", seeds[i].name, seeds[i].text, strlen(seeds[i].text));
	/* One [key] section more than allowed (1024). */
	if ((many = malloc(cap)) == NULL)
		die("out of memory");
	for (unsigned i = 0; i < 1025; i++)
		len += (size_t)snprintf(many + len, cap - len, "[key k%u]\nuri=pkcs11:id=%%%02x\n",
					i, i & 0xffu);
	write_seed("conf", "section-too-many", many, len);
	free(many);
	write_seed("conf", "nul-byte", "module = /a\0b\n", 14);
	memset(line, 'x', sizeof(line));
	memcpy(line, "module = /", 10);
	write_seed("conf", "long-line", line, sizeof(line));
}

/* Appends record seq of an unkeyed chain to t (prev: the last MAC, updated). */
static size_t audit_line(char *t, size_t len, size_t cap, uint64_t seq, const char *op,
			 size_t input_len, const char *sha256_hex, const char *detail,
			 uint8_t prev[AUDITLOG_MAC_LEN])
{
	char hex[2 * AUDITLOG_MAC_LEN + 1];
	size_t start = len;
	uint8_t mac[AUDITLOG_MAC_LEN];

	auditlog_hex(prev, AUDITLOG_MAC_LEN, hex);
	len += (size_t)snprintf(
	    t + len, cap - len,
	    "{\"seq\":%llu,\"time\":\"2026-12-05T07:00:00.000000Z\",\"uid\":0,\"gid\":0,"
	    "\"pid\":1,\"exe\":\"/usr/sbin/p11agentd\",\"op\":\"%s\",\"key\":\"k\","
	    "\"key_uri\":null,\"key_version\":2,\"key_ref\":\"a\\\"b\",\"alg\":\"ecdsa-sha256\","
	    "\"input_len\":%zu,"
	    "\"input_sha256\":\"%s\",\"status\":\"OK\",\"latency_us\":1,\"detail\":%s,"
	    "\"chain\":\"sha256\",\"prev\":\"%s\"",
	    (unsigned long long)seq, op, input_len, sha256_hex, detail, hex);
	auditlog_sha256(prev, t + start, len - start, mac);
	auditlog_hex(mac, sizeof(mac), hex);
	len += (size_t)snprintf(t + len, cap - len, ",\"mac\":\"%s\"}\n", hex);
	memcpy(prev, mac, AUDITLOG_MAC_LEN);
	return len;
}

static void gen_audit(void)
{
	static char t[8192], cut[8192];
	uint8_t prev[AUDITLOG_MAC_LEN] = {0}, digest[AUDITLOG_MAC_LEN];
	char detail[512], hex[2 * AUDITLOG_MAC_LEN + 1];
	static const char none[] =
	    "abababababababababababababababababababababababababababababababab";
	/* Deep nesting, then a line cut inside a string. */
	static const char nested[] = "{\"seq\":1,\"detail\":{\"a\":[[[[[[1]]]]]]}}\n{\"\n";
	size_t len = 0, l3, l4;
	unsigned int dlen = 0;

	for (uint64_t seq = 1; seq <= 3; seq++)
		len = audit_line(t, len, sizeof(t), seq, "sign", 32, none, "null", prev);
	/* A checkpoint over 1..3 with the right hash, signed by no key. */
	if (EVP_Digest(t, len, digest, &dlen, EVP_sha256(), NULL) != 1)
		die("sha256");
	auditlog_hex(digest, sizeof(digest), hex);
	snprintf(detail, sizeof(detail),
		 "{\"from_seq\":1,\"to_seq\":3,\"sig\":\"3006020101020101\"}");
	len = audit_line(t, len, sizeof(t), 4, AUDITLOG_OP_CHECKPOINT, len, hex, detail, prev);
	len = audit_line(t, len, sizeof(t), 5, "sign", 32, none, "null", prev);
	auditlog_hex(prev, AUDITLOG_MAC_LEN, hex);
	snprintf(detail, sizeof(detail), "{\"prev_seq\":5,\"prev_mac\":\"%s\"}", hex);
	memset(prev, 0, sizeof(prev));
	len = audit_line(t, len, sizeof(t), 1, "audit-new-chain", 0, none, detail, prev);
	len = audit_line(t, len, sizeof(t), 2, "audit-suppressed", 0, none,
			 "{\"uid\":7,\"suppressed\":3}", prev);
	write_seed("audit", "chain", t, len);
	/* Line 3 damaged, line 4 gone, lines 2 and 3 swapped. */
	l3 = (size_t)(strchr(strchr(t, '\n') + 1, '\n') - t) + 1;
	l4 = (size_t)(strchr(t + l3, '\n') - t) + 1;
	memcpy(cut, t, len);
	cut[l3 + 20] = '\n';
	write_seed("audit", "damaged", cut, len);
	memcpy(cut, t, l4);
	memcpy(cut + l4, strchr(t + l4, '\n') + 1, len - (size_t)(strchr(t + l4, '\n') + 1 - t));
	write_seed("audit", "removed", cut, len - (size_t)(strchr(t + l4, '\n') + 1 - t - l4));
	memcpy(cut, t, len);
	memcpy(cut, t + l3, l4 - l3);
	memcpy(cut + (l4 - l3), t, l3);
	write_seed("audit", "reordered", cut, len);
	write_seed("audit", "nested", nested, sizeof(nested) - 1);
}

/* Fixed public keys (SubjectPublicKeyInfo, hex): RSA-1024, EC P-256, Ed25519. */
static const char *const keyfile_spkis[][2] = {
    {"rsa", "30819f300d06092a864886f70d010101050003818d0030818902818100cacf068564f3e3cfc90ff24ce2f1"
	    "dd3a7d3fb8507ad83bfa04c65f088fb8db09d18bac50e3f6190ed3cd251dbec119e31714bbb7fc68b990"
	    "fdafcddec2702af988535f3d6cf3802912ea2bd4abe45b7cdc361e999870972e203d618c9d270a5c7fe8"
	    "77ed7791325b6e0a22956a2ea9137d0ce844afb1085215ed37a5d19eb9d10203010001"},
    {"ec", "3059301306072a8648ce3d020106082a8648ce3d03010703420004b8d165005c7d7b9de11a996642e3ae"
	   "a6b2b040f8bca6b247c7d9d01ad5cf03a8068b04fc775182e6c7f996a98ae056b7f8a48b05ca03d04243"
	   "0fecf78fb77ad1"},
    {"ed25519", "302a300506032b65700321006ac883c077a5e2adeb94a80e36965cffe31655d454f97165d9b6"
		"247290eecd0b"},
};

#define KEYFILE_URI "pkcs11:token=demo;id=%01;object=web;type=private"

/* The DER body of PEM text (one block), malloc'd. */
static uint8_t *pem_body(const char *pem, size_t pem_len, size_t *out_len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	uint8_t *copy;
	long len = 0;

	if (bio == NULL || PEM_read_bio(bio, &name, &header, &der, &len) != 1 ||
	    (copy = malloc((size_t)len)) == NULL)
		die("cannot read back a key file");
	memcpy(copy, der, (size_t)len);
	*out_len = (size_t)len;
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	return copy;
}

static void gen_keyfile(void)
{
	uint8_t spki[512], *der, bad[1024];
	char *pem, name[64], *text, *other;
	size_t spki_len, pem_len, der_len, i, n, hdr;
	long hex_len, n_other;
	BIO *bio;
	unsigned char *hex;

	for (i = 0; i < sizeof(keyfile_spkis) / sizeof(keyfile_spkis[0]); i++) {
		if ((hex = OPENSSL_hexstr2buf(keyfile_spkis[i][1], &hex_len)) == NULL ||
		    (size_t)hex_len > sizeof(spki))
			die("a bad public key in gen-seeds");
		memcpy(spki, hex, (size_t)hex_len);
		spki_len = (size_t)hex_len;
		OPENSSL_free(hex);
		if (p11a_keyfile_encode(KEYFILE_URI, spki, spki_len, &pem, &pem_len) != P11A_OK)
			die("p11a_keyfile_encode failed");
		snprintf(name, sizeof(name), "pem-%s", keyfile_spkis[i][0]);
		write_seed("keyfile", name, pem, pem_len);
		der = pem_body(pem, pem_len, &der_len);
		snprintf(name, sizeof(name), "der-%s", keyfile_spkis[i][0]);
		write_seed("keyfile", name, der, der_len);
		if (i != 1 || der_len + 8 > sizeof(bad)) {
			free(der);
			p11a_free(pem, pem_len + 1);
			continue;
		}
		/* The EC one, broken in each way the decoders refuse. */
		snprintf(name, sizeof(name), "truncated-pem");
		write_seed("keyfile", name, pem, pem_len / 2);
		memcpy(bad, der, der_len);
		bad[der_len] = 0;
		write_seed("keyfile", "trailing-byte", bad, der_len + 1);
		/* 30 8n LL.. -> 30 80 ... 00 00: indefinite length. */
		hdr = der[1] & 0x80 ? 2 + (size_t)(der[1] & 0x7f) : 2;
		bad[0] = 0x30;
		bad[1] = 0x80;
		memcpy(bad + 2, der + hdr, der_len - hdr);
		bad[2 + der_len - hdr] = 0;
		bad[3 + der_len - hdr] = 0;
		write_seed("keyfile", "ber-indefinite", bad, 4 + der_len - hdr);
		/* The version (02 01 01 after the header): 2. */
		memcpy(bad, der, der_len);
		bad[hdr + 2] = 2;
		write_seed("keyfile", "version-2", bad, der_len);
		free(der);
		p11a_free(pem, pem_len + 1);
		/* Another scheme. */
		if (p11a_keyfile_encode("pkcs11:object=x", spki, spki_len, &pem, &pem_len) !=
		    P11A_OK)
			die("p11a_keyfile_encode failed");
		der = pem_body(pem, pem_len, &der_len);
		for (n = 0; n + 7 <= der_len; n++) {
			if (memcmp(der + n, "pkcs11:", 7) == 0) {
				memcpy(der + n, "file://", 7);
				break;
			}
		}
		write_seed("keyfile", "uri-file", der, der_len);
		free(der);
		/* Another PEM name; another block before the key file. */
		der = pem_body(pem, pem_len, &der_len);
		if ((bio = BIO_new(BIO_s_mem())) == NULL ||
		    PEM_write_bio(bio, "PUBLIC KEY", "", der, (long)der_len) <= 0 ||
		    (n_other = BIO_get_mem_data(bio, &other)) <= 0 ||
		    (text = malloc((size_t)n_other + pem_len)) == NULL)
			die("cannot write PEM");
		write_seed("keyfile", "pem-other-name", other, (size_t)n_other);
		memcpy(text, other, (size_t)n_other);
		memcpy(text + n_other, pem, pem_len);
		write_seed("keyfile", "pem-after-other", text, (size_t)n_other + pem_len);
		BIO_free(bio);
		free(der);
		free(text);
		p11a_free(pem, pem_len + 1);
	}
}

/* Public keys whose OpenSSH blobs the ssh seeds carry. */
static const char ssh_p256_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEF/ygGHXi+s9H5HHufcjqBNcJtjri\n"
    "x7ksM55jvOOiJvagtDfGRtMR6rC6jMdgDeayjKdyrJe0L75ZStGYANJhBw==\n"
    "-----END PUBLIC KEY-----\n";
static const char ssh_rsa_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtd4BG9sdQJV+x1MXZhAS\n"
    "Xvucsly5nIYOD4yGKvMS5+pAMh4oDlY2rJVHcKCJcJmmTIzazHOUY2jRQNjsMKIM\n"
    "WqxYdu77YDLEue362ZzP1PjLikXONlNCAPqhHv1EWcM1MfKRj2Hp/SZHcvR0WufX\n"
    "sGD4dGLCi8TC3JZkY5NOvBzm534/ZnfobpX9SnDbRg1sT1lAM0Taz9Of0qEmIyJR\n"
    "vPVc4fz6ZfI9h9cMZdovsMc+Xc9V1TeIFD2for8zrEanHXIMNW6IXRZIvXuQm4O7\n"
    "ieRqu160la5yHb3Yy36a1DCURsdX6NUeEJ6Av+hEZkJacrko4Cbks+hrVD5PSIp4\n"
    "UwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

/* The OpenSSH blob of pkey, as a string, into b. */
static void put_ssh_blob(struct buf *b, EVP_PKEY *pkey)
{
	uint8_t *blob;
	size_t len;
	char msg[256];

	if (sshkey_blob(pkey, &blob, &len, NULL, msg, sizeof(msg)) != P11A_OK ||
	    buf_put_string(b, blob, len) != P11A_OK)
		die("cannot write an OpenSSH key blob");
	free(blob);
}

static EVP_PKEY *ssh_pem_key(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (pkey == NULL)
		die("cannot read a sample public key");
	return pkey;
}

/* A userauth request's signed data (RFC 4252 7), hostbound when host != NULL. */
static void ssh_userauth(struct buf *d, EVP_PKEY *key, const char *pkalg, EVP_PKEY *host)
{
	static const uint8_t sid[32] = {0x5e, 0x55, 0x10, 0x4e};

	buf_reset(d);
	if (buf_put_string(d, sid, sizeof(sid)) != P11A_OK || buf_put_u8(d, 50) != P11A_OK ||
	    buf_put_cstring(d, "git") != P11A_OK ||
	    buf_put_cstring(d, "ssh-connection") != P11A_OK ||
	    buf_put_cstring(d, host != NULL ? "publickey-hostbound-v00@openssh.com"
					    : "publickey") != P11A_OK ||
	    buf_put_u8(d, 1) != P11A_OK || buf_put_cstring(d, pkalg) != P11A_OK)
		die("out of memory");
	put_ssh_blob(d, key);
	if (host != NULL)
		put_ssh_blob(d, host);
}

/* A sign request for key over data[0..len) into b. */
static void ssh_sign_request(struct buf *b, EVP_PKEY *key, const uint8_t *data, size_t len,
			     uint32_t flags)
{
	buf_reset(b);
	if (buf_put_u8(b, 13) != P11A_OK)
		die("out of memory");
	put_ssh_blob(b, key);
	if (buf_put_string(b, data, len) != P11A_OK || buf_put_u32(b, flags) != P11A_OK)
		die("out of memory");
}

static void gen_ssh(struct buf *b, struct buf *d)
{
	/* A fixed Ed25519 key: its signatures, and so the seeds, are the same every run. */
	static const uint8_t ed_priv[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
					    0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
					    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
					    0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
	static const uint8_t sid[32] = {0x51, 0xd0};
	static const uint8_t other_data[] = "neither a userauth request nor SSHSIG";
	static const uint8_t other_types[] = {17, 18, 19, 20, 21, 22, 23, 25, 26, 1, 99};
	EVP_PKEY *ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ed_priv, 32);
	EVP_PKEY *p256 = ssh_pem_key(ssh_p256_pem), *rsa = ssh_pem_key(ssh_rsa_pem);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64], md[64], *sig_blob, tmp[64];
	size_t sig_len = sizeof(sig), sig_blob_len, len, i;
	char name[64];

	if (ed == NULL || ctx == NULL)
		die("cannot make the sample Ed25519 key");
	write_seed("ssh", "identities", "\x0b", 1);
	write_seed("ssh", "identities-trailing", "\x0b\x00", 2);
	write_seed("ssh", "empty", "", 0);
	for (i = 0; i < sizeof(other_types); i++) {
		tmp[0] = other_types[i];
		memcpy(tmp + 1,
		       "\0\0\0\x03"
		       "abc",
		       7);
		snprintf(name, sizeof(name), "type-%u", other_types[i]);
		write_seed("ssh", name, tmp, 8);
	}

	ssh_userauth(d, ed, "ssh-ed25519", NULL);
	ssh_sign_request(b, ed, buf_data(d), buf_len(d), 0);
	write_seed("ssh", "sign-userauth-ed25519", buf_data(b), buf_len(b));
	write_seed("ssh", "sign-truncated", buf_data(b), buf_len(b) - 3);
	if (buf_put_u8(b, 0) != P11A_OK)
		die("out of memory");
	write_seed("ssh", "sign-trailing", buf_data(b), buf_len(b));
	len = buf_len(b) < sizeof(tmp) ? buf_len(b) : sizeof(tmp);
	memcpy(tmp, buf_data(b), len);
	memset(tmp + 1, 0xff, 4);
	write_seed("ssh", "sign-huge-key-len", tmp, len);
	ssh_userauth(d, ed, "ssh-ed25519", ed);
	ssh_sign_request(b, ed, buf_data(d), buf_len(d), 0);
	write_seed("ssh", "sign-userauth-hostbound", buf_data(b), buf_len(b));
	ssh_userauth(d, p256, "ecdsa-sha2-nistp256", NULL);
	ssh_sign_request(b, p256, buf_data(d), buf_len(d), 0);
	write_seed("ssh", "sign-userauth-p256", buf_data(b), buf_len(b));
	ssh_userauth(d, rsa, "rsa-sha2-512", rsa);
	ssh_sign_request(b, rsa, buf_data(d), buf_len(d), 4);
	write_seed("ssh", "sign-userauth-rsa-hostbound", buf_data(b), buf_len(b));

	/* SSHSIG signed data (PROTOCOL.sshsig). */
	memset(md, 0x42, sizeof(md));
	buf_reset(d);
	if (buf_put(d, "SSHSIG", 6) != P11A_OK || buf_put_cstring(d, "git") != P11A_OK ||
	    buf_put_cstring(d, "") != P11A_OK || buf_put_cstring(d, "sha512") != P11A_OK ||
	    buf_put_string(d, md, 64) != P11A_OK)
		die("out of memory");
	ssh_sign_request(b, ed, buf_data(d), buf_len(d), 0);
	write_seed("ssh", "sign-sshsig", buf_data(b), buf_len(b));
	ssh_sign_request(b, p256, other_data, sizeof(other_data) - 1, 2);
	write_seed("ssh", "sign-other", buf_data(b), buf_len(b));

	/* Extensions: query, session-bind (good, bad signature, trailing), unknown. */
	buf_reset(b);
	if (buf_put_u8(b, 27) != P11A_OK || buf_put_cstring(b, "query") != P11A_OK)
		die("out of memory");
	write_seed("ssh", "ext-query", buf_data(b), buf_len(b));
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, ed) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, sid, sizeof(sid)) != 1 ||
	    sshkey_sig_blob("ssh-ed25519", sig, sig_len, &sig_blob, &sig_blob_len) != P11A_OK)
		die("cannot sign the sample session id");
	for (i = 0; i < 3; i++) {
		buf_reset(b);
		if (buf_put_u8(b, 27) != P11A_OK ||
		    buf_put_cstring(b, "session-bind@openssh.com") != P11A_OK)
			die("out of memory");
		put_ssh_blob(b, ed);
		if (i == 1)
			sig_blob[sig_blob_len - 1] ^= 0x01;
		if (buf_put_string(b, sid, sizeof(sid)) != P11A_OK ||
		    buf_put_string(b, sig_blob, sig_blob_len) != P11A_OK ||
		    buf_put_u8(b, 0) != P11A_OK || (i == 2 && buf_put_u8(b, 0) != P11A_OK))
			die("out of memory");
		if (i == 1)
			sig_blob[sig_blob_len - 1] ^= 0x01;
		write_seed("ssh",
			   i == 0   ? "ext-session-bind"
			   : i == 1 ? "ext-session-bind-bad-sig"
				    : "ext-session-bind-trailing",
			   buf_data(b), buf_len(b));
	}
	buf_reset(b);
	if (buf_put_u8(b, 27) != P11A_OK || buf_put_cstring(b, "unknown@example.com") != P11A_OK ||
	    buf_put(b, "body", 4) != P11A_OK)
		die("out of memory");
	write_seed("ssh", "ext-unknown", buf_data(b), buf_len(b));

	free(sig_blob);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(ed);
}

static void gen_sfv(void)
{
	static const struct {
		const char *name;
		const char *text;
	} seeds[] = {
	    {"integer", "42"},
	    {"integer-params", "5; foo=bar"},
	    {"decimal", "-01.334"},
	    {"string", "\"hello \\\"world\\\"\""},
	    {"token", "foo123/456"},
	    {"bytes", ":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:"},
	    {"bytes-unpadded", ":aGVsbG8:"},
	    {"boolean", "?1; a; b=?0"},
	    {"date", "@1659578233"},
	    {"display", "%\"This is intended for display to %c3%bcsers.\""},
	    {"list", "sugar, tea,\trum"},
	    {"list-inner", "(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1, ()"},
	    {"list-params", "abc;a=1;b=2; cde_456, (ghi;jk=4 l);q=\"9\";r=w"},
	    {"dict", "a=1, b=2;x=1;y=2, c=(a b c)"},
	    {"dict-true", "a=?0, b, c; foo=bar"},
	    {"dict-duplicate", "a=1,b=2,a=3"},
	    {"dict-mixed", "en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:, rating=1.5, d=(5 6);valid"},
	    {"signature-input",
	     "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\" \"content-type\" "
	     "\"content-length\");created=1618884475;keyid=\"test-key-ecc-p256\", "
	     "proxy_sig=(\"@method\" \"@authority\" \"@path\" \"content-digest\" "
	     "\"content-type\" \"content-length\" \"forwarded\");created=1618884480;keyid="
	     "\"test-key-rsa\";alg=\"rsa-v1_5-sha256\";expires=1618884540"},
	    {"signature-input-req",
	     "reqres=(\"@status\" \"content-digest\" \"@authority\";req "
	     "\"@query-param\";name=\"Pet\";req \"example-dict\";key=\"a\";sf)"
	     ";created=1618884479;nonce=\"b3k2pp5k7z-50gnwp.yemd\""},
	    {"signature", "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"},
	    {"component", "\"@query-param\";name=\"Pet\""},
	    {"bad-empty-member", "a,,b"},
	    {"bad-trailing-comma", "a=1, "},
	    {"bad-integer-long", "1234567890123456"},
	    {"bad-decimal-long", "1.1234"},
	    {"bad-string-open", "\"abc"},
	    {"bad-string-escape", "\"a\\nb\""},
	    {"bad-padding", ":a=GVsbG8=:"},
	    {"bad-display-utf8", "%\"%ed%a0%80\""},
	    {"bad-key", "A=1"},
	    {"bad-inner-open", "(a b"},
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed("sfv", seeds[i].name, seeds[i].text, strlen(seeds[i].text));
	write_seed("sfv", "bad-non-ascii", "\"caf\xc3\xa9\"", 7);
	write_seed("sfv", "empty", "", 0); /* an empty list and dictionary */
}

/* RFC 9421's test request, with fields for sf, key and bs. */
#define HTTP_REQUEST                                                                               \
	"POST /foo?param=Value&Pet=dog HTTP/1.1\r\n"                                               \
	"Host: example.com\r\n"                                                                    \
	"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n"                                                  \
	"Content-Type: application/json\r\n"                                                       \
	"Example-Dict:  a=1,    b=2;x=1;y=2,   c=(a   b   c)\r\n"                                  \
	"Content-Length: 18\r\n"                                                                   \
	"\r\n"                                                                                     \
	"{\"hello\": \"world\"}"

static void gen_http(void)
{
	static const struct {
		const char *name;
		const char *text;
	} seeds[] = {
	    {"inner-list", "(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-type\")"
			   ";created=1618884473;keyid=\"test-key-rsa-pss\"\n" HTTP_REQUEST},
	    {"list", "@method,@target-uri,example-dict;sf,example-dict;key=\"b\","
		     "@query-param;name=\"Pet\",date;bs\n" HTTP_REQUEST},
	    {"response", "(\"@status\" \"content-type\" \"@method\";req)\n"
			 "HTTP/1.1 503 Service Unavailable\n"
			 "Content-Type: application/json\n"
			 "Content-Length: 2\n"
			 "\n"
			 "{}"},
	    {"folded", "x-obs-fold-header,cache-control,x-empty-header,x-bin;bs\n"
		       "GET / HTTP/1.1\r\n"
		       "Host: www.example.com\r\n"
		       "X-Obs-Fold-Header: Obsolete\r\n"
		       "    line folding.\r\n"
		       "Cache-Control: max-age=60\r\n"
		       "Cache-Control:    must-revalidate\r\n"
		       "X-Empty-Header: \r\n"
		       "X-Bin: caf\xc3\xa9\r\n"
		       "\r\n"},
	    {"absolute", "@target-uri,@authority,@scheme,@request-target,@path,@query\n"
			 "GET http://WWW.Example.com:80/a%20b?x=1&x=2 HTTP/1.1\n\n"},
	    {"asterisk", "@request-target,@path\nOPTIONS * HTTP/1.1\nHost: h\n\n"},
	    {"query-params",
	     "@query-param;name=\"fa%C3%A7ade%22%3A%20\",@query-param;name=\"bar\"\n"
	     "GET /parameters?var=this%20is%20a%20big%0Amultiline%20value&"
	     "bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something HTTP/1.1\n"
	     "Host: www.example.com\n\n"},
	    {"bad-duplicate", "@method,@method\nGET / HTTP/1.1\nHost: h\n\n"},
	    {"bad-no-end", "@method\nGET / HTTP/1.1\nHost: h\n"},
	    {"bad-chunked", "@method\nPOST / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\r\n\r\n"},
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed("http", seeds[i].name, seeds[i].text, strlen(seeds[i].text));
}

int main(int argc, char **argv)
{
	struct buf *b, *scratch;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-seeds CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) == -1 && errno != EEXIST)
		die("cannot create the corpus folder");
	if ((b = buf_new(0)) == NULL || (scratch = buf_new(0)) == NULL)
		die("out of memory");
	gen_frame(b, scratch);
	gen_handler(b);
	gen_conf();
	gen_audit();
	gen_keyfile();
	gen_ssh(b, scratch);
	gen_sfv();
	gen_http();
	buf_free(b);
	buf_free(scratch);
	return failed;
}
