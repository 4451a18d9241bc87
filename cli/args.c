/*
 * args: the command line of p11agent. See args.h.
 *
 * Hand-rolled rather than getopt_long: no global state, so that the parser is
 * reentrant, and options are accepted before and after the KEY positional.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* Most positional arguments any command takes (audit-verify's FILEs). */
#define MAX_POSITIONAL CLI_MAX_FILES

enum opt_id {
	OPT_SOCKET,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
	OPT_ALG,
	OPT_IN,
	OPT_OUT,
	OPT_SIG,
	OPT_PREHASHED,
	OPT_RAW,
	OPT_FORMAT,
	OPT_LABEL,
	OPT_LABEL_HEX,
	OPT_KEY_LEN,
	OPT_PEER,
	OPT_KEY_FILE,
	OPT_KEY_ID,
	OPT_KEYED,
	OPT_PARTIAL,
	OPT_PUBKEY,
};

#define CMD_BIT(c) (1u << (c))
#define IN_GLOBAL CMD_BIT(CLI_CMD_NONE)
#define IN_ANY_CMD                                                                                 \
	(CMD_BIT(CLI_CMD_PING) | CMD_BIT(CLI_CMD_LIST) | CMD_BIT(CLI_CMD_PUBKEY) |                 \
	 CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY) | CMD_BIT(CLI_CMD_HMAC) |                 \
	 CMD_BIT(CLI_CMD_DECRYPT) | CMD_BIT(CLI_CMD_UNWRAP) | CMD_BIT(CLI_CMD_DERIVE) |            \
	 CMD_BIT(CLI_CMD_SEAL) | CMD_BIT(CLI_CMD_OPEN) | CMD_BIT(CLI_CMD_AUDIT_VERIFY) |           \
	 CMD_BIT(CLI_CMD_HELP))
#define IN_SIGNING (CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY) | CMD_BIT(CLI_CMD_HMAC))
#define IN_KEYX (CMD_BIT(CLI_CMD_DECRYPT) | CMD_BIT(CLI_CMD_UNWRAP) | CMD_BIT(CLI_CMD_DERIVE))
#define IN_ENVELOPE (CMD_BIT(CLI_CMD_SEAL) | CMD_BIT(CLI_CMD_OPEN))
#define IN_OAEP (CMD_BIT(CLI_CMD_DECRYPT) | CMD_BIT(CLI_CMD_UNWRAP))

struct opt_def {
	const char *long_name;
	char short_name; /* 0: long form only */
	int has_arg;
	enum opt_id id;
	unsigned scope; /* CMD_BIT()s of the commands that take it; IN_GLOBAL: before one */
};

static const struct opt_def opts[] = {
    {"socket", 'S', 1, OPT_SOCKET, IN_GLOBAL | IN_ANY_CMD},
    {"json", 0, 0, OPT_JSON, IN_GLOBAL | IN_ANY_CMD},
    {"help", 'h', 0, OPT_HELP, IN_GLOBAL | IN_ANY_CMD},
    {"version", 0, 0, OPT_VERSION, IN_GLOBAL},
    {"alg", 0, 1, OPT_ALG, IN_SIGNING | IN_KEYX},
    {"in", 'i', 1, OPT_IN, IN_SIGNING | IN_OAEP | IN_ENVELOPE},
    {"out", 'o', 1, OPT_OUT, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_HMAC) | IN_KEYX | IN_ENVELOPE},
    {"sig", 0, 1, OPT_SIG, CMD_BIT(CLI_CMD_VERIFY)},
    {"prehashed", 0, 0, OPT_PREHASHED, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY)},
    {"raw", 0, 0, OPT_RAW, CMD_BIT(CLI_CMD_SIGN) | CMD_BIT(CLI_CMD_VERIFY)},
    {"format", 0, 1, OPT_FORMAT, CMD_BIT(CLI_CMD_PUBKEY)},
    {"label", 0, 1, OPT_LABEL, IN_OAEP},
    {"label-hex", 0, 1, OPT_LABEL_HEX, IN_OAEP},
    {"key-len", 0, 1, OPT_KEY_LEN, CMD_BIT(CLI_CMD_UNWRAP)},
    {"peer", 0, 1, OPT_PEER, CMD_BIT(CLI_CMD_DERIVE)},
    {"key-file", 0, 1, OPT_KEY_FILE, IN_ENVELOPE},
    {"key-id", 0, 1, OPT_KEY_ID, CMD_BIT(CLI_CMD_SEAL)},
    {"keyed", 0, 0, OPT_KEYED, CMD_BIT(CLI_CMD_AUDIT_VERIFY)},
    {"partial", 0, 0, OPT_PARTIAL, CMD_BIT(CLI_CMD_AUDIT_VERIFY)},
    {"pubkey", 0, 1, OPT_PUBKEY, CMD_BIT(CLI_CMD_AUDIT_VERIFY)},
};

static const struct {
	const char *name;
	enum cli_cmd cmd;
	size_t npos; /* positional arguments it needs (more allowed when many) */
	int many;
} cmds[] = {
    {"ping", CLI_CMD_PING, 0, 0},
    {"list", CLI_CMD_LIST, 0, 0},
    {"pubkey", CLI_CMD_PUBKEY, 1, 0},
    {"sign", CLI_CMD_SIGN, 1, 0},
    {"verify", CLI_CMD_VERIFY, 1, 0},
    {"hmac", CLI_CMD_HMAC, 1, 0},
    {"decrypt", CLI_CMD_DECRYPT, 1, 0},
    {"unwrap", CLI_CMD_UNWRAP, 1, 0},
    {"derive", CLI_CMD_DERIVE, 1, 0},
    {"seal", CLI_CMD_SEAL, 0, 0},
    {"open", CLI_CMD_OPEN, 0, 0},
    {"help", CLI_CMD_HELP, 0, 0},
    {"audit-verify", CLI_CMD_AUDIT_VERIFY, 1, 1},
};

#define ALG_NAMES                                                                                  \
	"  rsa-pkcs1-sha256, rsa-pkcs1-sha384, rsa-pkcs1-sha512,\n"                                \
	"  rsa-pss-sha256, rsa-pss-sha384, rsa-pss-sha512,\n"                                      \
	"  ecdsa-sha256, ecdsa-sha384, ecdsa-sha512, ed25519,\n"                                   \
	"  hmac-sha256, hmac-sha384, hmac-sha512"

#define OAEP_NAMES "rsa-oaep-sha1, rsa-oaep-sha256, rsa-oaep-sha384, rsa-oaep-sha512"

#define KEYX_ALG_NAMES                                                                             \
	"  decrypt: " OAEP_NAMES ",\n"                                                             \
	"           rsa-pkcs1 (where the agent's configuration allows it)\n"                       \
	"  unwrap:  " OAEP_NAMES ",\n"                                                             \
	"           aes-kw, aes-kwp\n"                                                             \
	"  derive:  ecdh"

#define KEY_TEXT                                                                                   \
	"KEY is a key's label, id:HEX (its CKA_ID) or a pkcs11: URI as 'p11agent list'\n"          \
	"prints it.\n"

#define EXIT_TEXT                                                                                  \
	"Exit status: 0 ok; 1 signature invalid, or the agent or the token refused;\n"             \
	"2 usage error; 3 agent unreachable; 4 denied by policy; 5 no such key or\n"               \
	"ambiguous key; 6 token unavailable.\n"

#define SECRET_OUT_TEXT "OUT is written whole or not at all; a file is made with mode 0600.\n"

#define LOCAL_EXIT_TEXT                                                                            \
	"Exit status: 0 ok; 1 the key file, the input or the output is wrong, or the\n"            \
	"envelope does not open or does not authenticate; 2 usage error.\n"

static const char usage_general[] =
    "Usage: p11agent [-S SOCKET] [--json] COMMAND [ARGS]\n"
    "\n"
    "Uses keys held by p11agentd. The keys never leave the token.\n"
    "\n"
    "Commands:\n"
    "  ping                  check that the agent answers\n"
    "  list                  list the keys, a line a key: NAME  TYPE  OPS  URI\n"
    "  pubkey KEY [--format pem|der|ssh]\n"
    "                        print a public key (SubjectPublicKeyInfo PEM by default)\n"
    "  sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]\n"
    "                        sign IN (default stdin), signature to OUT (default stdout)\n"
    "  verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] [--raw]\n"
    "                        check a signature or an HMAC: exit 0 valid, 1 invalid\n"
    "  hmac KEY [--alg ALG] [-i IN] [-o OUT]\n"
    "                        compute an HMAC inside the token\n"
    "  decrypt KEY [--alg ALG] [--label TEXT|--label-hex HEX] [-i IN] [-o OUT]\n"
    "                        decrypt IN with KEY (RSA), plaintext to OUT\n"
    "  unwrap KEY [--alg ALG] [--label TEXT|--label-hex HEX] [-i IN] [-o OUT]\n"
    "         [--key-len N]  recover the session key wrapped in IN (RSA, AES keys)\n"
    "  derive KEY --peer PEER [-o OUT]\n"
    "                        ECDH with the peer's public key: the shared secret\n"
    "  seal --key-file FILE [--key-id TEXT] [-i IN] [-o OUT]\n"
    "                        encrypt IN under the key in FILE (CMS, AES-256-GCM);\n"
    "                        local, needs no agent\n"
    "  open --key-file FILE [-i IN] [-o OUT]\n"
    "                        decrypt what seal made; FILE may be - (stdin); local\n"
    "  audit-verify [--pubkey FILE] [--keyed] [--partial] FILE...\n"
    "                        check the agent's audit trail (FILEs: one chain, oldest\n"
    "                        first); asks the agent for keyed records, or with\n"
    "                        --pubkey checks its signed checkpoints offline\n"
    "  help [COMMAND]        print this help, or a command's\n"
    "\n"
    "Options:\n"
    "  -S, --socket SOCKET   the agent's socket (default: $P11AGENT_SOCK, else\n"
    "                        $XDG_RUNTIME_DIR/p11agent/agent.sock)\n"
    "  --json                machine-readable output (list, and errors on stderr)\n"
    "  -h, --help            print help and exit; 'p11agent COMMAND --help' too\n"
    "  --version             print the version and exit\n"
    "\n" KEY_TEXT "ALG is, for sign, verify and hmac, one of:\n" ALG_NAMES "\n"
    "and for the other commands:\n" KEYX_ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_ping[] = "Usage: p11agent [-S SOCKET] ping\n"
				 "\n"
				 "Checks that the agent answers. Prints \"agent at SOCKET: ok\".\n"
				 "\n" EXIT_TEXT;

static const char usage_list[] =
    "Usage: p11agent [-S SOCKET] [--json] list\n"
    "\n"
    "Lists the keys the agent holds, a line a key: NAME  TYPE  OPS  URI.\n"
    "NAME is the agent's config name for the key, else its label, else id:HEX;\n"
    "TYPE e.g. rsa:2048, ec:P-256,\n"
    "ed25519, hmac:256, aes:256; OPS the operations the key allows; URI its\n"
    "pkcs11: URI, which works as KEY. With --json: a JSON array of objects with\n"
    "label, id, uri, type, bits, curve, ops, algs, default_alg, sw_algs (those\n"
    "of algs that the agent completes in software) and name (the config name).\n"
    "\n" EXIT_TEXT;

static const char usage_pubkey[] =
    "Usage: p11agent [-S SOCKET] pubkey KEY [--format pem|der|ssh]\n"
    "\n"
    "Prints the public key of KEY on stdout:\n"
    "  --format pem   SubjectPublicKeyInfo, PEM (the default)\n"
    "  --format der   SubjectPublicKeyInfo, DER (binary)\n"
    "  --format ssh   an OpenSSH public key line (RSA, ECDSA, Ed25519)\n"
    "\n" KEY_TEXT "\n" EXIT_TEXT;

static const char usage_sign[] =
    "Usage: p11agent [-S SOCKET] sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]\n"
    "\n"
    "Signs the bytes of IN (default stdin) with KEY; writes the signature to OUT\n"
    "(default stdout). OUT is written whole or not at all.\n"
    "  --alg ALG      the algorithm (default: the key's own: rsa-pkcs1-sha256 for RSA,\n"
    "                 the curve's hash for ECDSA, ed25519, hmac-sha256)\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the signature file ('-': stdout)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: r||s instead of a DER ECDSA-Sig-Value\n"
    "\n" KEY_TEXT "ALG is one of:\n" ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_verify[] =
    "Usage: p11agent [-S SOCKET] verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] "
    "[--raw]\n"
    "\n"
    "Checks the signature in FILE over the bytes of IN (default stdin). Prints\n"
    "\"Verified OK\" and exits 0 when it is valid, prints \"Verification failure\"\n"
    "and exits 1 when not. Signatures are checked here with OpenSSL on the key's\n"
    "public key; HMACs are checked by the agent, inside the token.\n"
    "  --sig FILE     the signature or HMAC\n"
    "  --alg ALG      the algorithm (default: the key's own)\n"
    "  -i, --in IN    the signed file ('-': stdin)\n"
    "  --prehashed    IN is the digest itself (RSA and ECDSA only)\n"
    "  --raw          ECDSA: FILE holds r||s instead of DER\n"
    "\n" KEY_TEXT "ALG is one of:\n" ALG_NAMES "\n\n" EXIT_TEXT;

static const char usage_hmac[] =
    "Usage: p11agent [-S SOCKET] hmac KEY [--alg ALG] [-i IN] [-o OUT]\n"
    "\n"
    "Computes the HMAC of IN (default stdin) with the secret key KEY, inside the\n"
    "token; writes it to OUT (default stdout). Check one with 'p11agent verify'.\n"
    "  --alg ALG      hmac-sha256 (default), hmac-sha384 or hmac-sha512\n"
    "  -i, --in IN    the input file ('-': stdin)\n"
    "  -o, --out OUT  the HMAC file ('-': stdout)\n"
    "\n" KEY_TEXT "\n" EXIT_TEXT;

static const char usage_decrypt[] =
    "Usage: p11agent [-S SOCKET] decrypt KEY [--alg ALG]\n"
    "        [--label TEXT | --label-hex HEX] [-i IN] [-o OUT]\n"
    "\n"
    "Decrypts IN (default stdin), made with the public key of KEY, inside the\n"
    "token; writes the plaintext to OUT (default stdout).\n"
    "  --alg ALG        rsa-oaep-sha256 (the default), rsa-oaep-sha1, rsa-oaep-sha384\n"
    "                   or rsa-oaep-sha512: RSA-OAEP, MGF1 with the same hash;\n"
    "                   rsa-pkcs1 (PKCS#1 v1.5) only where the agent's configuration\n"
    "                   allows it for KEY\n"
    "  --label TEXT     the OAEP label, as text (default: none)\n"
    "  --label-hex HEX  the OAEP label, in hex\n"
    "  -i, --in IN      the ciphertext ('-': stdin)\n"
    "  -o, --out OUT    the plaintext file ('-': stdout)\n"
    "\n" SECRET_OUT_TEXT KEY_TEXT "\n" EXIT_TEXT;

static const char usage_unwrap[] =
    "Usage: p11agent [-S SOCKET] unwrap KEY [--alg ALG]\n"
    "        [--label TEXT | --label-hex HEX] [-i IN] [-o OUT] "
    "[--key-len N]\n"
    "\n"
    "Recovers the session key wrapped in IN (default stdin) with KEY, which stays\n"
    "in the token; writes the session key to OUT (default stdout).\n"
    "  --alg ALG        RSA keys: rsa-oaep-sha256 (the default), rsa-oaep-sha1,\n"
    "                   rsa-oaep-sha384, rsa-oaep-sha512; AES keys: aes-kwp\n"
    "                   (RFC 5649, the default) or aes-kw (RFC 3394)\n"
    "  --label TEXT     RSA-OAEP: the label, as text (default: none)\n"
    "  --label-hex HEX  RSA-OAEP: the label, in hex\n"
    "  --key-len N      the session key must be N bytes long (the agent checks it)\n"
    "  -i, --in IN      the wrapped key ('-': stdin)\n"
    "  -o, --out OUT    the session key file ('-': stdout)\n"
    "\n" SECRET_OUT_TEXT KEY_TEXT "\n" EXIT_TEXT;

static const char usage_derive[] =
    "Usage: p11agent [-S SOCKET] derive KEY --peer PEER [-o OUT]\n"
    "\n"
    "ECDH of the EC key KEY (P-256, P-384, P-521) with the peer's public key,\n"
    "inside the token; writes the shared secret Z, the x coordinate with no KDF\n"
    "(as 'openssl pkeyutl -derive' gives it), to OUT (default stdout).\n"
    "  --peer PEER      the peer's public key on KEY's curve: SubjectPublicKeyInfo,\n"
    "                   PEM or DER ('-': stdin)\n"
    "  --alg ALG        ecdh (the default and only one)\n"
    "  -o, --out OUT    the shared secret file ('-': stdout)\n"
    "\n" SECRET_OUT_TEXT KEY_TEXT "\n" EXIT_TEXT;

static const char usage_seal[] =
    "Usage: p11agent seal --key-file FILE [--key-id TEXT] [-i IN] [-o OUT]\n"
    "\n"
    "Encrypts IN (default stdin) under the key in FILE, here, without the agent:\n"
    "writes a CMS AuthEnvelopedData (DER) to OUT (default stdout), its content\n"
    "encrypted with AES-256-GCM under a fresh key that the key in FILE wraps\n"
    "(AES key wrap). 'openssl cms -decrypt -inform DER -secretkey HEX' opens it.\n"
    "  --key-file FILE  the key: 16, 24 or 32 raw bytes, in a file that group and\n"
    "                   others cannot read; '-' reads it from stdin (then give -i)\n"
    "  --key-id TEXT    the key identifier written in the envelope\n"
    "                   (default: " CLI_KEY_ID_DEFAULT ")\n"
    "  -i, --in IN      the input file ('-': stdin), at most 256 MiB\n"
    "  -o, --out OUT    the envelope file ('-': stdout)\n"
    "\n" LOCAL_EXIT_TEXT;

static const char usage_open[] =
    "Usage: p11agent open --key-file FILE [-i IN] [-o OUT]\n"
    "\n"
    "Decrypts, here, without the agent, a CMS AuthEnvelopedData (DER) made by\n"
    "'p11agent seal' or by 'openssl cms -encrypt -aes-256-gcm -secretkey HEX\n"
    "-outform DER' under the key in FILE; writes its content to OUT (default\n"
    "stdout) only once the whole envelope authenticates.\n"
    "  --key-file FILE  the key: 16, 24 or 32 raw bytes, in a file that group and\n"
    "                   others cannot read; '-' reads it from stdin, e.g. from\n"
    "                   'p11agent unwrap' through a pipe (then give -i)\n"
    "  -i, --in IN      the envelope ('-': stdin), at most 256 MiB\n"
    "  -o, --out OUT    the content file ('-': stdout)\n"
    "\n" SECRET_OUT_TEXT "\n" LOCAL_EXIT_TEXT;

static const char usage_audit_verify[] =
    "Usage: p11agent [-S SOCKET] [--json] audit-verify [--pubkey FILE] [--keyed] [--partial]\n"
    "        FILE...\n"
    "\n"
    "Checks the agent's audit trail: FILEs are read in order as one chain (after\n"
    "logrotate: the oldest file first). Reports every problem it finds, a line\n"
    "each on stderr, and goes on past a damaged line:\n"
    "  record N (line L): changed|removed|reordered|damaged|checkpoint: ...\n"
    "then prints \"audit trail intact: ...\" and exits 0, or exits 1.\n"
    "Unkeyed records (chain sha256) are checked here; they only show careless\n"
    "edits, since whoever can write the file can recompute them.\n"
    "Keyed records (chain hmac-sha256, the agent's audit-key):\n"
    "  without --pubkey, each MAC is checked by the agent at SOCKET: the result\n"
    "  is only as good as whoever answers on that socket;\n"
    "  with --pubkey FILE, offline, trusting no agent (no socket is used): the\n"
    "  checkpoint records, signed by the agent's audit-sign-key, are verified with\n"
    "  its public key in FILE (PEM, as 'p11agent pubkey KEY' prints it), and each\n"
    "  confirms the records it covers. Records after the last checkpoint are\n"
    "  reported as unconfirmed: a warning, not a failure. A trail with no\n"
    "  checkpoint, a checkpoint whose signature or hash does not hold, or one\n"
    "  whose records are missing, fails.\n"
    "Records removed from the end of the last FILE cannot be told from a trail\n"
    "that ends there, unless a checkpoint or the agent's head says so.\n"
    "  --pubkey FILE    check offline with the audit-sign-key's public key\n"
    "  --partial        accept a trail that starts after record 1 (its earlier\n"
    "                   files were rotated away); else that is a removal\n"
    "  --keyed          every record must be keyed (refuse a chain rewritten\n"
    "                   without the key)\n"
    "With --json: one JSON object on stdout with the verdict and a \"problems\"\n"
    "array.\n"
    "\n"
    "Exit status: 0 intact (warnings allowed); 1 a problem was found, or a FILE\n"
    "cannot be read; 2 usage error; 3 agent unreachable (keyed records, without\n"
    "--pubkey); 4 denied by policy.\n";

static const char usage_help[] = "Usage: p11agent help [COMMAND]\n"
				 "\n"
				 "Prints the general help, or COMMAND's.\n";

const char *cli_args_usage(enum cli_cmd cmd)
{
	switch (cmd) {
	case CLI_CMD_PING:
		return usage_ping;
	case CLI_CMD_LIST:
		return usage_list;
	case CLI_CMD_PUBKEY:
		return usage_pubkey;
	case CLI_CMD_SIGN:
		return usage_sign;
	case CLI_CMD_VERIFY:
		return usage_verify;
	case CLI_CMD_HMAC:
		return usage_hmac;
	case CLI_CMD_DECRYPT:
		return usage_decrypt;
	case CLI_CMD_UNWRAP:
		return usage_unwrap;
	case CLI_CMD_DERIVE:
		return usage_derive;
	case CLI_CMD_SEAL:
		return usage_seal;
	case CLI_CMD_OPEN:
		return usage_open;
	case CLI_CMD_AUDIT_VERIFY:
		return usage_audit_verify;
	case CLI_CMD_HELP:
		return usage_help;
	case CLI_CMD_NONE:
	case CLI_CMD_VERSION:
		break;
	}
	return usage_general;
}

const char *cli_args_cmd_name(enum cli_cmd cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].cmd == cmd)
			return cmds[i].name;
	}
	return "p11agent";
}

static int lookup_cmd(const char *name, enum cli_cmd *out_cmd, size_t *out_npos, int *out_many)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].name, name) == 0) {
			*out_cmd = cmds[i].cmd;
			if (out_npos != NULL)
				*out_npos = cmds[i].npos;
			if (out_many != NULL)
				*out_many = cmds[i].many;
			return 0;
		}
	}
	return -1;
}

/* snprintf into msg; always returns CLI_EXIT_USAGE, for "return usage(...)". */
static int usage(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (msg != NULL && msg_len > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, msg_len, fmt, ap);
		va_end(ap);
	}
	return CLI_EXIT_USAGE;
}

static const struct opt_def *find_long(const char *name, size_t name_len)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (strlen(opts[i].long_name) == name_len &&
		    strncmp(opts[i].long_name, name, name_len) == 0)
			return &opts[i];
	}
	return NULL;
}

static const struct opt_def *find_short(char c)
{
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].short_name != 0 && opts[i].short_name == c)
			return &opts[i];
	}
	return NULL;
}

/*
 * Reads the option at argv[*i] (and its value, from "=", the same word or the
 * next one), advancing *i past it. cmd is the command it follows (CLI_CMD_NONE
 * before the command).
 */
static int read_opt(int argc, char *const argv[], int *i, enum cli_cmd cmd,
		    const struct opt_def **out_def, const char **out_val, char *msg, size_t msg_len)
{
	const char *arg = argv[*i];
	const struct opt_def *def;
	const char *val = NULL;
	const char *eq;
	int next = *i + 1;

	if (arg[1] == '-') {
		eq = strchr(arg + 2, '=');
		def = find_long(arg + 2, eq != NULL ? (size_t)(eq - arg - 2) : strlen(arg + 2));
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '%.*s'",
				     eq != NULL ? (int)(eq - arg) : (int)strlen(arg), arg);
		if (eq != NULL && !def->has_arg)
			return usage(msg, msg_len, "option '--%s' takes no value", def->long_name);
		if (eq != NULL)
			val = eq + 1;
	} else {
		def = find_short(arg[1]);
		if (def == NULL)
			return usage(msg, msg_len, "unknown option '-%c'", arg[1]);
		if (arg[2] != '\0') {
			if (!def->has_arg)
				return usage(msg, msg_len, "unknown option '%s'", arg);
			val = arg + 2;
		}
	}

	if ((def->scope & CMD_BIT(cmd)) == 0) {
		if (cmd == CLI_CMD_NONE)
			return usage(msg, msg_len, "option '--%s' must come after the command",
				     def->long_name);
		return usage(msg, msg_len, "option '--%s' is not valid for '%s'", def->long_name,
			     cli_args_cmd_name(cmd));
	}

	if (def->has_arg && val == NULL) {
		if (next >= argc)
			return usage(msg, msg_len, "option '--%s' needs a value", def->long_name);
		val = argv[next++];
	}

	*out_def = def;
	*out_val = val;
	*i = next;
	return 0;
}

/* The operation (P11A_OP_*) an algorithm must serve to fit cmd. */
static uint32_t cmd_op(enum cli_cmd cmd)
{
	switch (cmd) {
	case CLI_CMD_DECRYPT:
		return P11A_OP_DECRYPT;
	case CLI_CMD_UNWRAP:
		return P11A_OP_UNWRAP;
	case CLI_CMD_DERIVE:
		return P11A_OP_DERIVE;
	default:
		return P11A_OP_SIGN; /* sign, verify, hmac */
	}
}

static int alg_fits(const struct p11a_alg_info *info, enum cli_cmd cmd)
{
	if ((info->ops & cmd_op(cmd)) == 0)
		return 0;
	return cmd != CLI_CMD_HMAC || info->key_type == P11A_KEY_HMAC;
}

/* RSA-OAEP: the algorithms that take a label. */
static int alg_is_oaep(const struct p11a_alg_info *info)
{
	return info->key_type == P11A_KEY_RSA && info->hash != NULL &&
	       (info->ops & (P11A_OP_DECRYPT | P11A_OP_UNWRAP)) != 0;
}

/* The names of the algorithms that fit cmd, ", "-separated (truncated to out_len). */
static void alg_names(enum cli_cmd cmd, char *out, size_t out_len)
{
	const struct p11a_alg_info *info;
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; (info = p11a_alg_at(i)) != NULL; i++) {
		if (!alg_fits(info, cmd))
			continue;
		n = snprintf(out + used, out_len - used, "%s%s", used > 0 ? ", " : "", info->name);
		if (n < 0 || (size_t)n >= out_len - used)
			break;
		used += (size_t)n;
	}
}

static int parse_alg(const char *name, enum cli_cmd cmd, p11a_alg *out_alg, char *msg,
		     size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_name(name);
	char valid[384];

	alg_names(cmd, valid, sizeof(valid));
	if (info == NULL)
		return usage(msg, msg_len, "unknown algorithm '%s'; valid for %s: %s", name,
			     cli_args_cmd_name(cmd), valid);
	if (!alg_fits(info, cmd)) {
		if (cmd == CLI_CMD_HMAC)
			return usage(msg, msg_len, "'%s' is not an HMAC algorithm; valid: %s", name,
				     valid);
		return usage(msg, msg_len, "'%s' cannot %s; valid for %s: %s", name,
			     cli_args_cmd_name(cmd), cli_args_cmd_name(cmd), valid);
	}
	*out_alg = info->alg;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An even number of hex digits (none is fine: an empty label). */
static int hex_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (hex_digit(s[i]) < 0)
			return 0;
	}
	return i % 2 == 0;
}

int cli_args_label(const struct cli_args *a, uint8_t **out, size_t *out_len)
{
	size_t n = a->label != NULL ? strlen(a->label) : 0, i;
	uint8_t *p;

	if (a->label_hex)
		n /= 2;
	if ((p = malloc(n + 1)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (a->label_hex)
			p[i] = (uint8_t)(hex_digit(a->label[2 * i]) << 4 |
					 hex_digit(a->label[2 * i + 1]));
		else
			p[i] = (uint8_t)a->label[i];
	}
	*out = p;
	*out_len = n;
	return 0;
}

/* --key-len: a decimal number of bytes, 1 to P11A_MAX_DATA. */
static int parse_key_len(const char *val, size_t *out_len, char *msg, size_t msg_len)
{
	size_t n = 0;
	const char *p;

	for (p = val; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			break;
		n = n * 10 + (size_t)(*p - '0');
		if (n > P11A_MAX_DATA)
			return usage(msg, msg_len,
				     "--key-len: %.32s is too large (at most %u bytes)", val,
				     (unsigned)P11A_MAX_DATA);
	}
	if (*p != '\0' || p == val || n == 0)
		return usage(msg, msg_len, "--key-len: '%.32s' is not a positive number of bytes",
			     val);
	*out_len = n;
	return 0;
}

static int parse_format(const char *name, enum cli_format *out_format, char *msg, size_t msg_len)
{
	if (strcmp(name, "pem") == 0)
		*out_format = CLI_FORMAT_PEM;
	else if (strcmp(name, "der") == 0)
		*out_format = CLI_FORMAT_DER;
	else if (strcmp(name, "ssh") == 0)
		*out_format = CLI_FORMAT_SSH;
	else
		return usage(msg, msg_len, "unknown format '%s'; valid: pem, der, ssh", name);
	return 0;
}

/* Stores one option's effect in a. Sets *out_help for --help, *out_version for --version. */
static int apply_opt(struct cli_args *a, const struct opt_def *def, const char *val, int *out_help,
		     int *out_version, char *msg, size_t msg_len)
{
	switch (def->id) {
	case OPT_SOCKET:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--socket' needs a path");
		a->socket = val;
		break;
	case OPT_JSON:
		a->json = 1;
		break;
	case OPT_HELP:
		*out_help = 1;
		break;
	case OPT_VERSION:
		*out_version = 1;
		break;
	case OPT_ALG:
		return parse_alg(val, a->cmd, &a->alg, msg, msg_len);
	case OPT_IN:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--in' needs a file name");
		a->in = strcmp(val, "-") == 0 ? NULL : val;
		break;
	case OPT_OUT:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--out' needs a file name");
		a->out = strcmp(val, "-") == 0 ? NULL : val;
		break;
	case OPT_SIG:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--sig' needs a file name");
		a->sig = val;
		break;
	case OPT_PREHASHED:
		a->prehashed = 1;
		break;
	case OPT_RAW:
		a->raw = 1;
		break;
	case OPT_FORMAT:
		return parse_format(val, &a->format, msg, msg_len);
	case OPT_LABEL:
	case OPT_LABEL_HEX:
		if (a->label != NULL && a->label_hex != (def->id == OPT_LABEL_HEX))
			return usage(msg, msg_len, "--label and --label-hex exclude each other");
		if (def->id == OPT_LABEL_HEX && !hex_ok(val))
			return usage(msg, msg_len,
				     "--label-hex: '%.64s' is not an even number of hex digits",
				     val);
		a->label = val;
		a->label_hex = def->id == OPT_LABEL_HEX;
		break;
	case OPT_KEY_LEN:
		return parse_key_len(val, &a->key_len, msg, msg_len);
	case OPT_PEER:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--peer' needs a file name");
		a->peer = val;
		break;
	case OPT_KEY_FILE:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--key-file' needs a file name");
		a->key_file = val;
		break;
	case OPT_KEY_ID:
		if (*val == '\0' || strlen(val) > CLI_KEY_ID_MAX)
			return usage(msg, msg_len, "--key-id: give 1 to %d characters",
				     CLI_KEY_ID_MAX);
		a->key_id = val;
		break;
	case OPT_KEYED:
		a->keyed = 1;
		break;
	case OPT_PARTIAL:
		a->partial = 1;
		break;
	case OPT_PUBKEY:
		if (*val == '\0')
			return usage(msg, msg_len, "option '--pubkey' needs a file name");
		a->pubkey = val;
		break;
	}
	return 0;
}

/* Checks that hold across options, once they are all read. */
static int check_args(const struct cli_args *a, char *msg, size_t msg_len)
{
	const struct p11a_alg_info *info = p11a_alg_by_id(a->alg);
	const char *name = cli_args_cmd_name(a->cmd);

	if (a->key != NULL && a->key[0] == '\0')
		return usage(msg, msg_len, "%s: KEY must not be empty", name);
	if (a->cmd == CLI_CMD_VERIFY && a->sig == NULL)
		return usage(msg, msg_len, "verify: missing --sig FILE");
	if (a->prehashed && info != NULL && info->input != P11A_INPUT_DIGEST)
		return usage(msg, msg_len,
			     "%s: --prehashed needs an RSA or ECDSA algorithm, not '%s'", name,
			     info->name);
	if (a->raw && info != NULL && info->key_type != P11A_KEY_EC)
		return usage(msg, msg_len, "%s: --raw applies to ECDSA only, not '%s'", name,
			     info->name);
	if (a->label != NULL && info != NULL && !alg_is_oaep(info))
		return usage(msg, msg_len, "%s: --label%s applies to RSA-OAEP only, not '%s'", name,
			     a->label_hex ? "-hex" : "", info->name);
	if (a->cmd == CLI_CMD_DERIVE && a->peer == NULL)
		return usage(msg, msg_len, "derive: missing --peer PEER");
	if ((a->cmd == CLI_CMD_SEAL || a->cmd == CLI_CMD_OPEN) && a->key_file == NULL)
		return usage(msg, msg_len, "%s: missing --key-file FILE", name);
	if (a->key_file != NULL && strcmp(a->key_file, "-") == 0 && a->in == NULL)
		return usage(msg, msg_len,
			     "%s: --key-file - reads the key from stdin: give the input with -i "
			     "FILE",
			     name);
	return 0;
}

int cli_args_parse(int argc, char *const argv[], struct cli_args *out, char *msg, size_t msg_len)
{
	struct cli_args a;
	const struct opt_def *def;
	const char *val;
	const char *pos[MAX_POSITIONAL] = {NULL};
	size_t npos = 0, want = 0;
	int i = 1, help = 0, version = 0, opts_done = 0, many = 0, r;

	memset(&a, 0, sizeof(a));
	if (msg != NULL && msg_len > 0)
		msg[0] = '\0';

	/* Global options, up to the command. */
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if ((r = read_opt(argc, argv, &i, CLI_CMD_NONE, &def, &val, msg, msg_len)) != 0 ||
		    (r = apply_opt(&a, def, val, &help, &version, msg, msg_len)) != 0)
			goto out;
	}
	if (version) {
		a.cmd = CLI_CMD_VERSION;
		r = 0;
		goto out;
	}
	if (i >= argc) {
		if (help) {
			a.cmd = CLI_CMD_HELP;
			r = 0;
		} else {
			r = usage(msg, msg_len, "missing COMMAND");
		}
		goto out;
	}
	if (lookup_cmd(argv[i], &a.cmd, &want, &many) != 0) {
		r = usage(msg, msg_len, "unknown command '%s'", argv[i]);
		goto out;
	}
	i++;
	if (help) {
		a.help_cmd = a.cmd == CLI_CMD_HELP ? CLI_CMD_NONE : a.cmd;
		a.cmd = CLI_CMD_HELP;
		r = 0;
		goto out;
	}
	if (a.cmd == CLI_CMD_HELP) {
		/* help [COMMAND]; "help --help" is help's own usage. */
		if (i < argc && (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0))
			a.help_cmd = CLI_CMD_HELP;
		else if (i < argc && lookup_cmd(argv[i], &a.help_cmd, NULL, NULL) != 0) {
			r = usage(msg, msg_len, "help: unknown command '%s'", argv[i]);
			goto out;
		}
		if (i + 1 < argc) {
			r = usage(msg, msg_len, "help: unexpected argument '%s'", argv[i + 1]);
			goto out;
		}
		r = 0;
		goto out;
	}

	/* The command's options and positionals, in any order. */
	while (i < argc) {
		const char *arg = argv[i];

		if (!opts_done && strcmp(arg, "--") == 0) {
			opts_done = 1;
			i++;
			continue;
		}
		if (!opts_done && arg[0] == '-' && arg[1] != '\0') {
			if ((r = read_opt(argc, argv, &i, a.cmd, &def, &val, msg, msg_len)) != 0 ||
			    (r = apply_opt(&a, def, val, &help, &version, msg, msg_len)) != 0)
				goto out;
			if (help) {
				a.help_cmd = a.cmd;
				a.cmd = CLI_CMD_HELP;
				r = 0;
				goto out;
			}
			continue;
		}
		if (npos >= (many ? (size_t)MAX_POSITIONAL : want)) {
			if (many)
				r = usage(msg, msg_len, "%s: at most %d files",
					  cli_args_cmd_name(a.cmd), MAX_POSITIONAL);
			else
				r = usage(msg, msg_len, "%s: unexpected argument '%s'",
					  cli_args_cmd_name(a.cmd), arg);
			goto out;
		}
		pos[npos++] = arg;
		i++;
	}
	if (npos < want) {
		r = usage(msg, msg_len, "%s: missing %s", cli_args_cmd_name(a.cmd),
			  many ? "FILE" : "KEY");
		goto out;
	}
	if (many) {
		for (size_t k = 0; k < npos; k++)
			a.files[k] = pos[k];
		a.n_files = npos;
	} else if (want > 0) {
		a.key = pos[0];
	}
	r = check_args(&a, msg, msg_len);
out:
	/* On an error too: the caller needs cmd and json to report it. */
	*out = a;
	return r;
}
