/*
 * table: the commands of p11agent, one row each. A row says everything the
 * parser, the help and the shell completion need; the handler and its usage
 * text live in the handler's file. Adding a command is one row here and its
 * handler.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include "args.h"
#include "audit.h"
#include "commands.h"
#include "certs.h"
#include "http.h"
#include "keyfile.h"
#include "lifecycle.h"
#include "status.h"
#include "transport.h"
#include "usage.h"

/* The options of the commands that read IN and write OUT. */
#define IN_OUT (CLI_OPT_IN | CLI_OPT_OUT)
#define OAEP_LABEL (CLI_OPT_LABEL | CLI_OPT_LABEL_HEX)
/* The options of http-sign and http-verify (RFC 9421) besides -i, -o. */
#define HTTP_SIGN_OPTS                                                                             \
	(CLI_OPT_ALG | CLI_OPT_LABEL | CLI_OPT_COMPONENTS | CLI_OPT_CREATED | CLI_OPT_EXPIRES |    \
	 CLI_OPT_NONCE | CLI_OPT_KEYID | CLI_OPT_TAG | CLI_OPT_ALG_PARAM | CLI_OPT_DIGEST |        \
	 CLI_OPT_REQUEST | CLI_OPT_PRINT_BASE)
#define HTTP_VERIFY_OPTS                                                                           \
	(CLI_OPT_LABEL | CLI_OPT_ALG | CLI_OPT_MAX_AGE | CLI_OPT_REQUIRE | CLI_OPT_AT |            \
	 CLI_OPT_REQUEST)

const struct cli_command cli_commands[] = {
    {"ping", cli_cmd_ping, CLI_POS_NONE, 0, 0, 0, P11A_KEY_UNKNOWN, "ping",
     "check that the agent answers", cli_usage_ping, cli_exit_ping, 0},
    {"list", cli_cmd_list, CLI_POS_NONE, 0, 0, 0, P11A_KEY_UNKNOWN, "list",
     "list the keys, a line a key:\nNAME  TYPE  OPS  FINGERPRINT  [VERSION]  [CERT]  URI",
     cli_usage_list, CLI_USAGE_EXIT_AGENT, 0},
    {"pubkey", cli_cmd_pubkey, CLI_POS_KEY, CLI_OPT_FORMAT | CLI_OPT_ALL, 0, 0, P11A_KEY_UNKNOWN,
     "pubkey KEY|--all [--format pem|der|ssh]",
     "print a public key (SubjectPublicKeyInfo PEM by default),\nor every key's (--all)",
     cli_usage_pubkey, CLI_USAGE_EXIT_AGENT, 0},
    {"keyfile", cli_cmd_keyfile, CLI_POS_KEY, CLI_OPT_OUT, 0, 0, P11A_KEY_UNKNOWN,
     "keyfile KEY [-o OUT]",
     "write a key file naming KEY, for OpenSSL programs\n(nginx, curl) with the p11agent provider",
     cli_usage_keyfile, cli_exit_keyfile, 0},
    {"sign", cli_cmd_sign, CLI_POS_KEY, CLI_OPT_ALG | IN_OUT | CLI_OPT_PREHASHED | CLI_OPT_RAW, 0,
     P11A_OP_SIGN, P11A_KEY_UNKNOWN, "sign KEY [--alg ALG] [-i IN] [-o OUT] [--prehashed] [--raw]",
     "sign IN (default stdin), signature to OUT (default stdout)", cli_usage_sign,
     CLI_USAGE_EXIT_AGENT, 0},
    {"verify", cli_cmd_verify, CLI_POS_KEY,
     CLI_OPT_SIG | CLI_OPT_ALG | CLI_OPT_IN | CLI_OPT_PREHASHED | CLI_OPT_RAW, CLI_OPT_SIG,
     P11A_OP_SIGN, P11A_KEY_UNKNOWN,
     "verify KEY --sig FILE [--alg ALG] [-i IN] [--prehashed] [--raw]",
     "check a signature or an HMAC: exit 0 valid, 1 invalid", cli_usage_verify,
     CLI_USAGE_EXIT_AGENT, 0},
    {"hmac", cli_cmd_hmac, CLI_POS_KEY, CLI_OPT_ALG | IN_OUT, 0, P11A_OP_SIGN, P11A_KEY_HMAC,
     "hmac KEY [--alg ALG] [-i IN] [-o OUT]", "compute an HMAC inside the token", cli_usage_hmac,
     CLI_USAGE_EXIT_AGENT, 0},
    {"http-sign", cli_cmd_http_sign, CLI_POS_KEY, HTTP_SIGN_OPTS | IN_OUT, 0, 0, P11A_KEY_UNKNOWN,
     "http-sign KEY [--alg ALG] [--label L] ... [-i MSG] [-o OUT]",
     "sign an HTTP message (RFC 9421): MSG (default stdin)\nto OUT with Signature-Input and "
     "Signature added",
     cli_usage_http_sign, cli_exit_http_sign, CLI_CMD_HTTPSIG},
    {"http-verify", cli_cmd_http_verify, CLI_POS_KEY, HTTP_VERIFY_OPTS | CLI_OPT_IN, 0, 0,
     P11A_KEY_UNKNOWN, "http-verify KEY [--label L] [--alg ALG] [--max-age S] ... [-i MSG]",
     "check an HTTP message's signature (RFC 9421):\nexit 0 valid, 1 invalid",
     cli_usage_http_verify, cli_exit_http_verify, CLI_CMD_HTTPSIG},
    {"decrypt", cli_cmd_decrypt, CLI_POS_KEY, CLI_OPT_ALG | OAEP_LABEL | IN_OUT, 0, P11A_OP_DECRYPT,
     P11A_KEY_UNKNOWN, "decrypt KEY [--alg ALG] [--label TEXT|--label-hex HEX] [-i IN] [-o OUT]",
     "decrypt IN with KEY (RSA), plaintext to OUT", cli_usage_decrypt, CLI_USAGE_EXIT_AGENT, 0},
    {"unwrap", cli_cmd_decrypt, CLI_POS_KEY, CLI_OPT_ALG | OAEP_LABEL | IN_OUT | CLI_OPT_KEY_LEN, 0,
     P11A_OP_UNWRAP, P11A_KEY_UNKNOWN,
     "unwrap KEY [--alg ALG] [--label TEXT|--label-hex HEX] [-i IN] [-o OUT] [--key-len N]",
     "recover the session key wrapped in IN (RSA, AES keys)", cli_usage_unwrap,
     CLI_USAGE_EXIT_AGENT, 0},
    {"derive", cli_cmd_derive, CLI_POS_KEY, CLI_OPT_PEER | CLI_OPT_ALG | CLI_OPT_OUT, CLI_OPT_PEER,
     P11A_OP_DERIVE, P11A_KEY_UNKNOWN, "derive KEY --peer PEER [-o OUT]",
     "ECDH with the peer's public key: the shared secret", cli_usage_derive, CLI_USAGE_EXIT_AGENT,
     0},
    {"seal", cli_cmd_seal, CLI_POS_NONE, CLI_OPT_KEY_FILE | CLI_OPT_KEY_ID | IN_OUT,
     CLI_OPT_KEY_FILE, 0, P11A_KEY_UNKNOWN, "seal --key-file FILE [--key-id TEXT] [-i IN] [-o OUT]",
     "encrypt IN under the key in FILE (CMS, AES-256-GCM);\nlocal, needs no agent", cli_usage_seal,
     CLI_USAGE_EXIT_LOCAL, 0},
    {"open", cli_cmd_open, CLI_POS_NONE, CLI_OPT_KEY_FILE | IN_OUT, CLI_OPT_KEY_FILE, 0,
     P11A_KEY_UNKNOWN, "open --key-file FILE [-i IN] [-o OUT]",
     "decrypt what seal made; FILE may be - (stdin); local", cli_usage_open, CLI_USAGE_EXIT_LOCAL,
     0},
    {"audit-verify", cli_cmd_audit_verify, CLI_POS_FILES,
     CLI_OPT_PUBKEY | CLI_OPT_KEYED | CLI_OPT_PARTIAL, 0, 0, P11A_KEY_UNKNOWN,
     "audit-verify [--pubkey FILE] [--keyed] [--partial] FILE...",
     "check the agent's audit trail (FILEs: one chain, oldest\nfirst); asks the agent for "
     "keyed records, or with\n--pubkey checks its signed checkpoints offline",
     cli_usage_audit_verify, cli_exit_audit_verify, 0},
    {"keygen", cli_cmd_keygen, CLI_POS_NAME, CLI_OPT_TYPE | CLI_OPT_OPS, CLI_OPT_TYPE, 0,
     P11A_KEY_UNKNOWN, "keygen NAME --type TYPE [--ops OPS]",
     "make a key in the token (admins); prints its URI", cli_usage_keygen, cli_exit_admin, 0},
    {"rotate", cli_cmd_rotate, CLI_POS_KEY, 0, 0, 0, P11A_KEY_UNKNOWN, "rotate KEY",
     "make the next version of KEY (admins); prints its URI", cli_usage_rotate, cli_exit_admin, 0},
    {"versions", cli_cmd_versions, CLI_POS_KEY, 0, 0, 0, P11A_KEY_UNKNOWN, "versions KEY",
     "list the versions of KEY: newest, older, retired (admins)", cli_usage_versions,
     cli_exit_admin, 0},
    {"trim", cli_cmd_trim, CLI_POS_KEY, CLI_OPT_BELOW, CLI_OPT_BELOW, 0, P11A_KEY_UNKNOWN,
     "trim KEY --below N", "destroy the versions of KEY older than N (admins)", cli_usage_trim,
     cli_exit_admin, 0},
    {"rewrap", cli_cmd_rewrap, CLI_POS_KEY, CLI_OPT_ALG | OAEP_LABEL | IN_OUT, 0, P11A_OP_UNWRAP,
     P11A_KEY_UNKNOWN, "rewrap KEY [--alg ALG] [--label TEXT|--label-hex HEX] [-i IN] [-o OUT]",
     "wrap the session key in IN again for KEY's newest\nversion, inside the token (admins)",
     cli_usage_rewrap, cli_exit_admin, CLI_CMD_JSON_NEEDS_OUT},
    {"cert", cli_cmd_cert, CLI_POS_CERT, CLI_CERT_OPTS, 0, 0, P11A_KEY_UNKNOWN,
     "cert KEY | cert import KEY -i FILE | cert issue KEY ...",
     "print KEY's certificate; import one into the token\n(admins); issue one (CA, --self)",
     cli_usage_cert, CLI_USAGE_EXIT_AGENT, 0},
    {"csr", cli_cmd_csr, CLI_POS_KEY, CLI_OPT_SUBJECT | CLI_OPT_SAN | CLI_OPT_OUT, CLI_OPT_SUBJECT,
     0, P11A_KEY_UNKNOWN, "csr KEY --subject DN [--san LIST] [-o OUT]",
     "make a certificate request signed by KEY", cli_usage_csr, CLI_USAGE_EXIT_AGENT, 0},
    {"reload", cli_cmd_reload, CLI_POS_NONE, 0, 0, 0, P11A_KEY_UNKNOWN, "reload",
     "make the agent read its config and the token again\n(admins)", cli_usage_reload,
     cli_exit_admin, 0},
    {"status", cli_cmd_status, CLI_POS_NONE, CLI_OPT_PROMETHEUS, 0, 0, P11A_KEY_UNKNOWN,
     "status [--json | --prometheus]",
     "the agent's token, connections and counters per key\n(admins; --prometheus for monitoring)",
     cli_usage_status, cli_exit_admin, 0},
    {"help", cli_cmd_help, CLI_POS_COMMAND, 0, 0, 0, P11A_KEY_UNKNOWN, "help [COMMAND]",
     "print this help, or a command's", cli_usage_help, NULL, 0},
};

const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);
