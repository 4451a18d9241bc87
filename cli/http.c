/*
 * http: 'p11agent http-sign' and 'p11agent http-verify'. See http.h.
 *
 * PLACEHOLDER: the usage and exit texts are the real ones; the two handlers
 * only say that the command is not there yet, and are to be replaced by the
 * real ones over p11a_http_*().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include "http.h"
#include "output.h"
#include "usage.h"

const char cli_usage_http_sign[] =
    "Usage: p11agent [-S SOCKET] http-sign KEY [--alg ALG] [--label L]\n"
    "         [--components LIST] [--created now|T] [--expires T|+S] [--nonce N]\n"
    "         [--keyid ID] [--tag T] [--alg-param] [--digest sha-256|sha-512]\n"
    "         [--request FILE] [--print-base] [-i MSG] [-o OUT]\n"
    "\n"
    "Signs the HTTP/1.1 request or response in MSG (default stdin) with KEY, as an\n"
    "RFC 9421 HTTP Message Signature, and writes MSG to OUT (default stdout) with\n"
    "two field lines added at the end of its header section, in its own line\n"
    "ending: Signature-Input: L=(...);created=... and Signature: L=:BASE64:.\n"
    "  --alg ALG          the algorithm (default: the key's: hmac-sha256 for HMAC,\n"
    "                     rsa-pss-sha512 for RSA, ecdsa-p256-sha256 for P-256,\n"
    "                     ecdsa-p384-sha384 for P-384, ed25519 for Ed25519)\n"
    "  --label L          the signature's label, an RFC 9651 key: a lowercase\n"
    "                     letter or '*', then lowercase letters, digits, '_', '-',\n"
    "                     '.', '*' (default: sig1); one the message has is refused\n"
    "  --components LIST  the components covered, comma-separated, each a name and\n"
    "                     its parameters: @method,@authority,example-dict;sf,\n"
    "                     @query-param;name=\"Pet\" (\"\": none). Default: a request's\n"
    "                     @method,@authority,@path,@query, a response's @status,\n"
    "                     then content-type and content-digest if present\n"
    "  --created now|T    the created parameter, in Unix seconds (default: now)\n"
    "  --expires T|+S     the expires parameter: Unix seconds, or +S seconds after\n"
    "                     created (default: none)\n"
    "  --nonce N          the nonce parameter (default: none)\n"
    "  --keyid ID         the keyid parameter (default: none)\n"
    "  --tag T            the tag parameter (default: none)\n"
    "  --alg-param        also write alg=\"ALG\" in the parameters\n"
    "  --digest sha-256|sha-512\n"
    "                     first add Content-Digest over the body, and cover\n"
    "                     content-digest (a message that has one is refused)\n"
    "  --request FILE     the request a response answers, for components with ;req\n"
    "  --print-base       write the signature base to OUT instead, the exact bytes\n"
    "                     that would be signed, and sign nothing\n"
    "  -i, --in MSG       the message ('-': stdin)\n"
    "  -o, --out OUT      the signed message ('-': stdout)\n"
    "The parameters are written in the order created, expires, nonce, alg, keyid,\n"
    "tag; N, ID and T are printable ASCII.\n"
    "\n" CLI_USAGE_KEY;

const char cli_exit_http_sign[] =
    "Exit status: 0 signed (or the base written); 1 the message is malformed, a\n"
    "covered component is absent or named twice, the base is not ASCII, ALG does\n"
    "not fit the key, a file could not be read or written, or the agent or the\n"
    "token refused; 2 usage error; 3 agent unreachable; 4 denied by policy; 5 no\n"
    "such key or ambiguous key; 6 token unavailable.\n";

const char cli_usage_http_verify[] =
    "Usage: p11agent [-S SOCKET] http-verify KEY [--label L] [--alg ALG]\n"
    "         [--max-age S] [--require LIST] [--at T] [--request FILE] [-i MSG]\n"
    "\n"
    "Checks the RFC 9421 signature labelled L of the HTTP/1.1 request or response\n"
    "in MSG (default stdin) with KEY. Prints \"Verified OK: signature 'L'\" and\n"
    "exits 0 when it is valid; prints \"Verification failure: REASON\" and exits 1\n"
    "when not. HMACs are checked by the agent, inside the token; signatures here,\n"
    "with OpenSSL on the key's public key. When content-digest is covered, the\n"
    "body's digest is checked too. A signature created more than 60 s ahead, or\n"
    "whose expires has passed, is invalid.\n"
    "  --label L          the signature to check (default: the message's only one)\n"
    "  --alg ALG          the algorithm (default: the signature's alg parameter,\n"
    "                     else the key's, as for http-sign); one that disagrees\n"
    "                     with the alg parameter makes the signature invalid\n"
    "  --max-age S        created must be there and at most S seconds old\n"
    "  --require LIST     components that must be covered (as http-sign\n"
    "                     --components writes them)\n"
    "  --at T             check the times as at Unix time T, not the clock\n"
    "  --request FILE     the request a response answers, for components with ;req\n"
    "  -i, --in MSG       the message ('-': stdin)\n"
    "\n" CLI_USAGE_KEY;

const char cli_exit_http_verify[] =
    "Exit status: 0 valid; 1 invalid, the message is malformed, a file could not be\n"
    "read, or the agent or the token refused; 2 usage error; 3 agent unreachable;\n"
    "4 denied by policy; 5 no such key or ambiguous key; 6 token unavailable.\n";

/* PLACEHOLDER, to be replaced: signs nothing. */
int cli_cmd_http_sign(struct cli_ctx *c)
{
	return cli_report(c->a->json, "INTERNAL", CLI_EXIT_FAIL, "http-sign: not yet");
}

/* PLACEHOLDER, to be replaced: verifies nothing. */
int cli_cmd_http_verify(struct cli_ctx *c)
{
	return cli_report(c->a->json, "INTERNAL", CLI_EXIT_FAIL, "http-verify: not yet");
}
