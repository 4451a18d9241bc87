/*
 * output: errors, exit statuses and the key list. See output.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyname.h"
#include "output.h"

int cli_exit_code(int err)
{
	switch (err) {
	case P11A_OK:
		return CLI_EXIT_OK;
	case P11A_ERR_NO_SUCH_KEY:
	case P11A_ERR_AMBIGUOUS_KEY:
		return CLI_EXIT_NO_KEY;
	case P11A_ERR_DENIED:
		return CLI_EXIT_DENIED;
	case P11A_ERR_CONNECT:
	case P11A_ERR_IO:
	case P11A_ERR_PROTOCOL:
	case P11A_ERR_VERSION:	   /* an agent we cannot talk to is as good as none */
	case P11A_ERR_UNSAFE_PATH: /* and so is one we cannot trust */
		return CLI_EXIT_UNREACHABLE;
	case P11A_ERR_TOKEN_UNAVAILABLE:
		return CLI_EXIT_TOKEN;
	default:
		return CLI_EXIT_FAIL;
	}
}

size_t cli_utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or a surrogate */
	return n;
}

void cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', f);
	while (*p != '\0') {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (*p < 0x20) {
				fprintf(f, "\\u%04x", *p);
				break;
			}
			n = cli_utf8_len(p);
			if (n == 0) {
				/* Not UTF-8: JSON cannot carry it; say so with U+FFFD. */
				fputs("\\ufffd", f);
				break;
			}
			fwrite(p, 1, n, f);
			p += n - 1;
			break;
		}
		p++;
	}
	fputc('"', f);
}

void cli_json_result(int json, const char *key, const char *out, const struct p11a_result *res)
{
	if (!json || out == NULL || strcmp(out, "-") == 0 || res == NULL)
		return;
	fputs("{\"key\":", stdout);
	cli_json_string(stdout, key);
	if (res->from_version != 0) /* rewrap */
		printf(",\"from_version\":%u", (unsigned)res->from_version);
	printf(",\"version\":%u,\"out\":", (unsigned)res->version);
	cli_json_string(stdout, out);
	fputs("}\n", stdout);
}

void cli_hex(FILE *f, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

int cli_report(int json, const char *name, int status, const char *msg)
{
	size_t len = strlen(msg);

	fflush(stdout);
	if (json) {
		fputs("{\"error\":", stderr);
		cli_json_string(stderr, name);
		fprintf(stderr, ",\"code\":%d,\"message\":", status);
		cli_json_string(stderr, msg);
		fputs("}\n", stderr);
	} else {
		fprintf(stderr, "p11agent: %s%s", msg, len > 0 && msg[len - 1] == '\n' ? "" : "\n");
	}
	return status;
}

int cli_reportf(int json, const char *name, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_report(json, name, status, msg);
}

/* What to do next, after an error err. Never NULL; may be "". */
static const char *hint(int err)
{
	switch (err) {
	case P11A_ERR_NO_SUCH_KEY:
		return "run 'p11agent list' to see the keys";
	case P11A_ERR_AMBIGUOUS_KEY:
		return "use one of these URIs as KEY";
	case P11A_ERR_NOT_ALLOWED:
		return "'p11agent list --json' shows what each key allows (ops) and serves (algs)";
	case P11A_ERR_NOT_SUPPORTED:
		return "'p11agent list --json' shows each key's type and algorithms";
	case P11A_ERR_TOO_LARGE:
		return "sign a digest instead (--prehashed), or use an RSA or ECDSA key";
	case P11A_ERR_DENIED:
		return "the agent's policy refuses this; ask its administrator";
	case P11A_ERR_TOKEN:
		return "see p11agentd's log";
	case P11A_ERR_TOKEN_UNAVAILABLE:
		return "insert the token, or see p11agentd's log";
	case P11A_ERR_BUSY:
		return "retry later";
	case P11A_ERR_IO:
	case P11A_ERR_INTERNAL:
		return "see p11agentd's log";
	case P11A_ERR_PROTOCOL:
	case P11A_ERR_VERSION:
	case P11A_ERR_UNKNOWN_OP:
		return "are p11agent and p11agentd the same version?";
	default:
		return "";
	}
}

int cli_report_p11a(int json, int err, const struct p11a_conn *conn, const char *path,
		    const char *what)
{
	/* Without a connection, what the agent said when it refused one (p11a_connect()). */
	const char *agent_msg = conn != NULL ? p11a_conn_message(conn) : p11a_connect_message();
	const char *h = hint(err);
	int status = cli_exit_code(err);
	char *msg = NULL;
	int len;

	if (path == NULL)
		path = p11a_default_socket();
	if (err == P11A_ERR_CONNECT) {
		/* p11a_connect() says why and what to do. */
		const char *why = p11a_connect_message();

		if (path[0] == '\0')
			len = asprintf(&msg, "cannot reach the agent: %s",
				       why[0] != '\0' ? why : "no socket to connect to");
		else if (why[0] != '\0')
			len = asprintf(&msg, "cannot reach the agent at %s: %s", path, why);
		else
			len = asprintf(
			    &msg, "cannot reach the agent at %s: is p11agentd running? is %s set?",
			    path, P11A_SOCK_ENV);
	} else if (err == P11A_ERR_UNSAFE_PATH) {
		len = asprintf(&msg, "refusing to talk to the agent at %s: %s", path,
			       p11a_connect_message());
	} else if (err == P11A_ERR_IO || err == P11A_ERR_PROTOCOL || err == P11A_ERR_VERSION) {
		len = asprintf(&msg, "%s: the agent at %s: %s%s%s%s%s", what, path,
			       p11a_strerror(err), agent_msg[0] != '\0' ? ": " : "", agent_msg,
			       h[0] != '\0' ? "; " : "", h);
	} else if (err == P11A_ERR_AMBIGUOUS_KEY) {
		/* The agent's message lists the candidates, one URI a line. */
		const char *m = agent_msg[0] != '\0' ? agent_msg : p11a_strerror(err);
		len =
		    asprintf(&msg, "%s: %s%s%s", what, m, m[strlen(m) - 1] == '\n' ? "" : "\n", h);
	} else {
		len = asprintf(&msg, "%s: %s%s%s", what,
			       agent_msg[0] != '\0' ? agent_msg : p11a_strerror(err),
			       h[0] != '\0' ? "; " : "", h);
	}
	if (len < 0)
		return cli_report(json, p11a_errname(err), status, p11a_strerror(err));
	cli_report(json, p11a_errname(err), status, msg);
	free(msg);
	return status;
}

char *cli_key_name(const struct p11a_key_info *k)
{
	size_t len = keyname_format(k->name, k->label, k->id, k->id_len, NULL, 0);
	char *s = malloc(len + 1);

	if (s != NULL)
		keyname_format(k->name, k->label, k->id, k->id_len, s, len + 1);
	return s;
}

static const struct {
	uint32_t bit;
	const char *name;
} op_names[] = {
    {P11A_OP_SIGN, "sign"},	{P11A_OP_VERIFY, "verify"}, {P11A_OP_DECRYPT, "decrypt"},
    {P11A_OP_UNWRAP, "unwrap"}, {P11A_OP_WRAP, "wrap"},	    {P11A_OP_DERIVE, "derive"},
};

/* The OPS column: "sign,decrypt", or "-". */
static void ops_text(uint32_t ops, char *out, size_t out_len)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if ((ops & op_names[i].bit) == 0)
			continue;
		used += (size_t)snprintf(out + used, out_len - used, "%s%s", used > 0 ? "," : "",
					 op_names[i].name);
		if (used >= out_len)
			break;
	}
	if (out[0] == '\0')
		snprintf(out, out_len, "-");
}

/* The TYPE column: "rsa:2048", "ec:P-256", "ed25519", "hmac:256". */
static void type_text(const struct p11a_key_info *k, char *out, size_t out_len)
{
	const char *t = p11a_key_type_name(k->type);

	if (k->type == P11A_KEY_ED25519)
		snprintf(out, out_len, "%s", t);
	else if (k->type == P11A_KEY_EC && k->curve != NULL && k->curve[0] != '\0')
		snprintf(out, out_len, "%s:%s", t, k->curve);
	else if (k->bits > 0)
		snprintf(out, out_len, "%s:%u", t, (unsigned)k->bits);
	else
		snprintf(out, out_len, "%s", t);
}

/* Prints s with control characters shown as '?', padded with spaces to width. */
static void put_cell(FILE *f, const char *s, size_t width)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	for (; n < width; n++)
		fputc(' ', f);
}

/* The FINGERPRINT column of key i: its fingerprint, or "-" when it has none. */
static const char *fp_text(const char *const *fps, size_t i)
{
	return fps != NULL && fps[i] != NULL && fps[i][0] != '\0' ? fps[i] : "-";
}

/* The CERT column: the certificate's expiry date, YYYY-MM-DD, or "-". */
static void cert_text(const struct p11a_key_info *k, char *out, size_t out_len)
{
	if (k->cert_expiry != NULL && strlen(k->cert_expiry) >= 10)
		snprintf(out, out_len, "%.10s", k->cert_expiry);
	else
		snprintf(out, out_len, "-");
}

static void print_table(FILE *f, const struct p11a_key_info *keys, const char *const *fps, size_t n)
{
	size_t i, w_name = 4, w_type = 4, w_ops = 3, w_fp = 1, w_version = 0, w_cert = 0;
	char type[64], ops[64], version[16], cert[16];
	char *name;

	/* VERSION only when a key was rotated, CERT only when a key has a certificate. */
	for (i = 0; i < n; i++) {
		if (keys[i].version > 1)
			w_version = 1;
		if (keys[i].cert_expiry != NULL && keys[i].cert_expiry[0] != '\0')
			w_cert = 10;
	}
	for (i = 0; i < n && w_version > 0; i++) {
		snprintf(version, sizeof(version), "%u", (unsigned)keys[i].version);
		if (strlen(version) > w_version)
			w_version = strlen(version);
	}
	for (i = 0; i < n; i++) {
		name = cli_key_name(&keys[i]);
		type_text(&keys[i], type, sizeof(type));
		ops_text(keys[i].ops, ops, sizeof(ops));
		if (name != NULL && strlen(name) > w_name)
			w_name = strlen(name);
		if (strlen(type) > w_type)
			w_type = strlen(type);
		if (strlen(ops) > w_ops)
			w_ops = strlen(ops);
		if (strlen(fp_text(fps, i)) > w_fp)
			w_fp = strlen(fp_text(fps, i));
		free(name);
	}
	for (i = 0; i < n; i++) {
		name = cli_key_name(&keys[i]);
		type_text(&keys[i], type, sizeof(type));
		ops_text(keys[i].ops, ops, sizeof(ops));
		put_cell(f, name != NULL ? name : "?", w_name + 2);
		put_cell(f, type, w_type + 2);
		put_cell(f, ops, w_ops + 2);
		put_cell(f, fp_text(fps, i), w_fp + 2);
		if (w_version > 0) {
			snprintf(version, sizeof(version), "%u", (unsigned)keys[i].version);
			put_cell(f, version, w_version + 2);
		}
		if (w_cert > 0) {
			cert_text(&keys[i], cert, sizeof(cert));
			put_cell(f, cert, w_cert + 2);
		}
		put_cell(f, keys[i].uri != NULL ? keys[i].uri : "", 0);
		fputc('\n', f);
		free(name);
	}
}

/* Writes a comma-separated list as a JSON array of strings. */
static void json_list(FILE *f, const char *csv)
{
	const char *p = csv != NULL ? csv : "";
	const char *comma;
	char *item;
	int first = 1;

	fputc('[', f);
	while (*p != '\0') {
		comma = strchr(p, ',');
		item = strndup(p, comma != NULL ? (size_t)(comma - p) : strlen(p));
		if (item != NULL && item[0] != '\0') {
			if (!first)
				fputc(',', f);
			cli_json_string(f, item);
			first = 0;
		}
		free(item);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	fputc(']', f);
}

/* A string field of a key: "" when NULL. */
static void json_field(FILE *f, const char *name, const char *value)
{
	fprintf(f, ",\"%s\":", name);
	cli_json_string(f, value != NULL ? value : "");
}

void cli_json_key(FILE *f, const struct p11a_key_info *k, const char *fingerprint,
		  const char *state)
{
	char ops[64];

	fputs("{\"label\":", f);
	cli_json_string(f, k->label != NULL ? k->label : "");
	fputs(",\"id\":\"", f);
	cli_hex(f, k->id, k->id_len);
	fputs("\",\"uri\":", f);
	cli_json_string(f, k->uri != NULL ? k->uri : "");
	fputs(",\"type\":", f);
	cli_json_string(f, p11a_key_type_name(k->type));
	fprintf(f, ",\"bits\":%u,\"curve\":", (unsigned)k->bits);
	cli_json_string(f, k->curve != NULL ? k->curve : "");
	fputs(",\"ops\":", f);
	ops_text(k->ops, ops, sizeof(ops));
	json_list(f, strcmp(ops, "-") == 0 ? "" : ops);
	fputs(",\"algs\":", f);
	json_list(f, k->algs);
	fputs(",\"default_alg\":", f);
	cli_json_string(f, k->default_alg != NULL ? k->default_alg : "");
	fputs(",\"sw_algs\":", f);
	json_list(f, k->sw_algs);
	fputs(",\"name\":", f);
	cli_json_string(f, k->name != NULL ? k->name : "");
	fputs(",\"fingerprint\":", f);
	cli_json_string(f, fingerprint != NULL ? fingerprint : "");
	json_field(f, "family", k->family);
	fprintf(f, ",\"version\":%u,\"min_version\":%u,\"newest\":%s", (unsigned)k->version,
		(unsigned)k->min_version, k->newest ? "true" : "false");
	json_field(f, "created", k->created);
	json_field(f, "cert_expiry", k->cert_expiry);
	if (state != NULL)
		json_field(f, "state", state);
	fputc('}', f);
}

static void print_json(FILE *f, const struct p11a_key_info *keys, const char *const *fps, size_t n)
{
	size_t i;

	fputs("[", f);
	for (i = 0; i < n; i++) {
		fputs(i == 0 ? "\n  " : ",\n  ", f);
		cli_json_key(f, &keys[i], fps != NULL ? fps[i] : NULL, NULL);
	}
	fputs(n > 0 ? "\n]\n" : "]\n", f);
}

void cli_print_keys(FILE *f, const struct p11a_key_info *keys, const char *const *fingerprints,
		    size_t n, int json)
{
	if (json)
		print_json(f, keys, fingerprints, n);
	else
		print_table(f, keys, fingerprints, n);
}
