#include "config.h"
/*
 * conf: p11agentd's settings, from the config file and the command line.
 *
 * One table row per key: its name and the function that checks and stores
 * its value. The file parser only splits lines into key and value and hands
 * them to config_set(), so a flag and a config line go through the same code.
 * Keys of a [key NAME] section have a table of their own (conf_section_keys):
 * a new per-key setting is one row and one setter there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include "conf.h"
#include "log.h"
#include "secret.h"

/* Longest key quoted back in "unknown key" messages. */
#define CONF_MAX_KEY_ECHO 64

typedef int (*conf_setter)(struct agent_config *cfg, const char *key, const char *value, char *msg,
			   size_t msg_len);
/* Same, for a key inside a [key NAME] section. */
typedef int (*conf_key_setter)(struct conf_key *k, const char *key, const char *value, char *msg,
			       size_t msg_len);

static void conf_msg(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conf_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msg_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
}

/* Strings of cfg may hold a token URI with a pin-value: wipe before freeing. */
static void conf_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

/* Replaces *slot with a copy of value. */
static int conf_store(char **slot, const char *key, const char *value, char *msg, size_t msg_len)
{
	char *copy;

	if ((copy = strdup(value)) == NULL) {
		conf_msg(msg, msg_len, "%s: out of memory", key);
		return -1;
	}
	conf_free_str(*slot);
	*slot = copy;
	return 0;
}

static int set_module(struct agent_config *cfg, const char *key, const char *value, char *msg,
		      size_t msg_len)
{
	return conf_store(&cfg->module, key, value, msg, msg_len);
}

/*
 * Checks a PKCS#11 URI with p11-kit, so that a bad URI in the file is reported
 * with its line. type: what the URI names (P11_KIT_URI_FOR_*); example: shown
 * in the message. CONF_URI_STRICT: refuse attributes p11-kit does not know
 * for that type (a misspelt "objet=" would otherwise be dropped and match
 * every key).
 */
#define CONF_URI_LAX 0
#define CONF_URI_STRICT 1
static int conf_check_uri(const char *key, const char *value, P11KitUriType type, int strict,
			  const char *example, char *msg, size_t msg_len)
{
	P11KitUri *uri;
	const char *p;
	int rv, unknown;

	/* p11-kit would silently drop them: "token=My Token" would become "MyToken". */
	for (p = value; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			conf_msg(msg, msg_len,
				 "%s: blank or control character inside the URI; "
				 "percent-encode it (a space is %%20)",
				 key);
			return -1;
		}
	}
	if ((uri = p11_kit_uri_new()) == NULL) {
		conf_msg(msg, msg_len, "%s: out of memory", key);
		return -1;
	}
	rv = p11_kit_uri_parse(value, type, uri);
	unknown = p11_kit_uri_any_unrecognized(uri);
	p11_kit_uri_free(uri);
	if (rv != P11_KIT_URI_OK) {
		/* Not the value: a token URI may carry a pin-value. */
		conf_msg(msg, msg_len, "%s: not a PKCS#11 URI (%s); expected e.g. %s", key,
			 p11_kit_uri_message(rv), example);
		return -1;
	}
	if (strict && unknown) {
		conf_msg(msg, msg_len,
			 "%s: unknown or misplaced attribute in the URI (a key's URI takes "
			 "token, manufacturer, serial, model, object, id and type)",
			 key);
		return -1;
	}
	return 0;
}

static int set_token(struct agent_config *cfg, const char *key, const char *value, char *msg,
		     size_t msg_len)
{
	if (conf_check_uri(key, value, P11_KIT_URI_FOR_ANY, CONF_URI_LAX, "pkcs11:token=NAME", msg,
			   msg_len) != 0)
		return -1;
	return conf_store(&cfg->token, key, value, msg, msg_len);
}

static int set_pin_source(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	if ((strncmp(value, "file:", 5) != 0 || value[5] == '\0') &&
	    (strncmp(value, "env:", 4) != 0 || value[4] == '\0')) {
		conf_msg(msg, msg_len, "%s: expected file:PATH or env:VARIABLE", key);
		return -1;
	}
	return conf_store(&cfg->pin_source, key, value, msg, msg_len);
}

static int set_socket(struct agent_config *cfg, const char *key, const char *value, char *msg,
		      size_t msg_len)
{
	struct sockaddr_un sa;

	if (strlen(value) >= sizeof(sa.sun_path)) {
		conf_msg(msg, msg_len, "%s: path longer than %zu bytes", key,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	return conf_store(&cfg->socket, key, value, msg, msg_len);
}

/* Parses yes, true, 1 / no, false, 0 (any case) into *out. */
static int conf_parse_bool(const char *key, const char *value, int *out, char *msg, size_t msg_len)
{
	static const char *const yes[] = {"yes", "true", "1"};
	static const char *const no[] = {"no", "false", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	conf_msg(msg, msg_len, "%s: expected yes or no (or true, false, 1, 0)", key);
	return -1;
}

static int set_foreground(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	return conf_parse_bool(key, value, &cfg->foreground, msg, msg_len);
}

static int set_log_level(struct agent_config *cfg, const char *key, const char *value, char *msg,
			 size_t msg_len)
{
	enum log_level lvl;
	char *p;

	if (log_level_parse(value, &lvl) != 0) {
		conf_msg(msg, msg_len, "%s: expected error, warn, info or debug", key);
		return -1;
	}
	if (conf_store(&cfg->log_level, key, value, msg, msg_len) != 0)
		return -1;
	/* Stored by its own name: "WARN" becomes "warn". */
	for (p = cfg->log_level; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int set_pool_size(struct agent_config *cfg, const char *key, const char *value, char *msg,
			 size_t msg_len)
{
	unsigned long n = 0;
	const char *p;

	/* Plain decimal digits only: no sign, no blank, no hex, at most 3 digits. */
	for (p = value; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - value >= 3)
			goto bad;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < CONF_POOL_MIN || n > CONF_POOL_MAX)
		goto bad;
	cfg->pool_size = (unsigned)n;
	return 0;
bad:
	conf_msg(msg, msg_len, "%s: expected a number from %u to %u", key, CONF_POOL_MIN,
		 CONF_POOL_MAX);
	return -1;
}

/* clang-format off */
static const struct {
	const char *name;
	conf_setter set;
} conf_global_keys[] = {
	{"module", set_module},
	{"token", set_token},
	{"pin-source", set_pin_source},
	{"socket", set_socket},
	{"foreground", set_foreground},
	{"log-level", set_log_level},
	{"pool-size", set_pool_size},
};
/* clang-format on */
#define CONF_N_GLOBAL_KEYS (sizeof(conf_global_keys) / sizeof(conf_global_keys[0]))

static int set_key_uri(struct conf_key *k, const char *key, const char *value, char *msg,
		       size_t msg_len)
{
	if (conf_check_uri(key, value, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, CONF_URI_STRICT,
			   "pkcs11:object=LABEL;type=private", msg, msg_len) != 0)
		return -1;
	return conf_store(&k->uri, key, value, msg, msg_len);
}

static int set_key_allow_rsa_pkcs1_decrypt(struct conf_key *k, const char *key, const char *value,
					   char *msg, size_t msg_len)
{
	return conf_parse_bool(key, value, &k->allow_rsa_pkcs1_decrypt, msg, msg_len);
}

/* Keys of a [key NAME] section. */
/* clang-format off */
static const struct {
	const char *name;
	conf_key_setter set;
} conf_section_keys[] = {
	{"uri", set_key_uri},
	{"allow-rsa-pkcs1-decrypt", set_key_allow_rsa_pkcs1_decrypt},
};
/* clang-format on */
#define CONF_N_SECTION_KEYS (sizeof(conf_section_keys) / sizeof(conf_section_keys[0]))

static void conf_free_keys(struct conf_key *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(keys[i].name);
		conf_free_str(keys[i].uri);
		free(keys[i].where);
	}
	free(keys);
}

void config_init(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->foreground = 0;
	cfg->pool_size = CONF_POOL_DEFAULT;
}

void config_clear(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	conf_free_str(cfg->module);
	conf_free_str(cfg->token);
	conf_free_str(cfg->pin_source);
	conf_free_str(cfg->socket);
	conf_free_str(cfg->log_level);
	conf_free_keys(cfg->keys, cfg->n_keys);
	config_init(cfg);
}

/* Copies key into out for a message: printable ASCII only, bounded. */
static void conf_quote_key(const char *key, char *out, size_t out_len)
{
	size_t i, o = 0;

	for (i = 0; key[i] != '\0' && o + 4 < out_len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i >= CONF_MAX_KEY_ECHO) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[o] = '\0';
}

int config_set(struct agent_config *cfg, const char *key, const char *value, char *msg,
	       size_t msg_len)
{
	char shown[CONF_MAX_KEY_ECHO + 8];
	size_t i;

	if (cfg == NULL || key == NULL || value == NULL) {
		conf_msg(msg, msg_len, "internal error: missing argument");
		return -1;
	}
	for (i = 0; i < CONF_N_GLOBAL_KEYS; i++) {
		if (strcmp(key, conf_global_keys[i].name) != 0)
			continue;
		if (value[0] == '\0') {
			conf_msg(msg, msg_len, "%s: empty value", key);
			return -1;
		}
		return conf_global_keys[i].set(cfg, key, value, msg, msg_len);
	}
	conf_quote_key(key, shown, sizeof(shown));
	conf_msg(msg, msg_len,
		 "unknown key '%s' (expected module, token, pin-source, socket, foreground, "
		 "log-level or pool-size)",
		 shown);
	return -1;
}

static int conf_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims blanks at both ends of s in place; returns the new start. */
static char *conf_trim(char *s)
{
	size_t n;

	while (conf_is_blank(*s))
		s++;
	n = strlen(s);
	while (n > 0 && conf_is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Cuts s at a '#' that starts s or follows a blank. */
static void conf_cut_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || conf_is_blank(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/*
 * Splits the text after '=' into *out_value (in place). On error, a message
 * (without line) goes to msg.
 */
static int conf_parse_value(char *s, char **out_value, char *msg, size_t msg_len)
{
	char *end;

	while (conf_is_blank(*s))
		s++;
	if (*s != '"') {
		conf_cut_comment(s);
		*out_value = conf_trim(s);
		return 0;
	}
	s++;
	if ((end = strchr(s, '"')) == NULL) {
		conf_msg(msg, msg_len, "missing closing double quote");
		return -1;
	}
	*end = '\0';
	conf_cut_comment(end + 1);
	if (*conf_trim(end + 1) != '\0') {
		conf_msg(msg, msg_len, "unexpected text after the closing double quote");
		return -1;
	}
	*out_value = s;
	return 0;
}

/* What the file parser carries from line to line. */
struct conf_parser {
	struct agent_config *cfg; /* the copy being filled */
	const char *name;	  /* file name, for messages */
	unsigned long lineno;	  /* current line */
	unsigned long err_line;	  /* line an error is reported on */
	size_t keys_alloc;	  /* room in cfg->keys */
	int in_section;		  /* cfg->keys[n_keys - 1] is open */
	unsigned long sec_line;	  /* line of its header */
	/* Line each section key was set on in the open section, 0 if not yet. */
	unsigned long seen[CONF_N_SECTION_KEYS];
};

/* A NAME of [key NAME]: 1..64 of A-Z a-z 0-9 . _ - (ASCII, whatever the locale). */
static int conf_valid_name(const char *name)
{
	size_t n;
	char c;

	for (n = 0; (c = name[n]) != '\0'; n++) {
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= CONF_MAX_KEY_NAME;
}

/* Ends the open section, if any: it must have a uri (else the error is on its header). */
static int conf_end_section(struct conf_parser *p, char *msg, size_t msg_len)
{
	const struct conf_key *k;

	if (!p->in_section)
		return 0;
	k = &p->cfg->keys[p->cfg->n_keys - 1];
	if (k->uri == NULL) {
		p->err_line = p->sec_line;
		conf_msg(msg, msg_len, "[key %s] has no uri", k->name);
		return -1;
	}
	p->in_section = 0;
	return 0;
}

/* Appends a section named name to cfg->keys and opens it. */
static int conf_add_section(struct conf_parser *p, const char *name, char *msg, size_t msg_len)
{
	struct agent_config *cfg = p->cfg;
	struct conf_key *k, *grown;
	size_t i, next;

	for (i = 0; i < cfg->n_keys; i++) {
		if (strcmp(cfg->keys[i].name, name) == 0) {
			conf_msg(msg, msg_len, "[key %s] already defined at %s", name,
				 cfg->keys[i].where);
			return -1;
		}
	}
	if (cfg->n_keys >= CONF_MAX_KEYS) {
		conf_msg(msg, msg_len, "too many [key] sections (at most %u)", CONF_MAX_KEYS);
		return -1;
	}
	if (cfg->n_keys == p->keys_alloc) {
		next = p->keys_alloc == 0 ? 8 : p->keys_alloc * 2;
		if ((grown = realloc(cfg->keys, next * sizeof(*grown))) == NULL) {
			conf_msg(msg, msg_len, "out of memory");
			return -1;
		}
		cfg->keys = grown;
		p->keys_alloc = next;
	}
	k = &cfg->keys[cfg->n_keys];
	memset(k, 0, sizeof(*k));
	if ((k->name = strdup(name)) == NULL ||
	    asprintf(&k->where, "%s:%lu", p->name, p->lineno) < 0) {
		free(k->name);
		conf_msg(msg, msg_len, "out of memory");
		return -1;
	}
	cfg->n_keys++;
	p->in_section = 1;
	p->sec_line = p->lineno;
	memset(p->seen, 0, sizeof(p->seen));
	return 0;
}

/* Parses a section line (trimmed, starting with '['): only "[key NAME]" is one. */
static int conf_parse_section(struct conf_parser *p, char *line, char *msg, size_t msg_len)
{
	char shown[CONF_MAX_KEY_ECHO + 8];
	char *s, *end, *name;
	size_t n;

	conf_cut_comment(line);
	if ((end = strchr(line, ']')) == NULL) {
		conf_msg(msg, msg_len, "missing ']' (expected [key NAME])");
		return -1;
	}
	*end = '\0';
	if (*conf_trim(end + 1) != '\0') {
		conf_msg(msg, msg_len, "unexpected text after ']'");
		return -1;
	}
	s = conf_trim(line + 1);
	n = strcspn(s, " \t\r\f\v");
	if (n != 3 || strncmp(s, "key", 3) != 0) {
		conf_quote_key(s, shown, sizeof(shown));
		conf_msg(msg, msg_len, "unknown section '[%s]' (expected [key NAME])", shown);
		return -1;
	}
	name = conf_trim(s + 3);
	if (*name == '\0') {
		conf_msg(msg, msg_len, "[key] without a name (expected [key NAME])");
		return -1;
	}
	if (!conf_valid_name(name)) {
		conf_quote_key(name, shown, sizeof(shown));
		conf_msg(msg, msg_len,
			 "bad key name '%s': expected 1 to %u of A-Z, a-z, 0-9, '.', '_', '-'",
			 shown, CONF_MAX_KEY_NAME);
		return -1;
	}
	return conf_add_section(p, name, msg, msg_len);
}

/* Sets key inside the open section. */
static int conf_set_section_key(struct conf_parser *p, const char *key, const char *value,
				char *msg, size_t msg_len)
{
	struct conf_key *k = &p->cfg->keys[p->cfg->n_keys - 1];
	char shown[CONF_MAX_KEY_ECHO + 8], expected[256];
	size_t i, o = 0;

	for (i = 0; i < CONF_N_SECTION_KEYS; i++) {
		if (strcmp(key, conf_section_keys[i].name) != 0)
			continue;
		if (value[0] == '\0') {
			conf_msg(msg, msg_len, "%s: empty value", key);
			return -1;
		}
		if (p->seen[i] != 0) {
			conf_msg(msg, msg_len, "'%s' set twice in [key %s] (first on line %lu)",
				 key, k->name, p->seen[i]);
			return -1;
		}
		if (conf_section_keys[i].set(k, key, value, msg, msg_len) != 0)
			return -1;
		p->seen[i] = p->lineno;
		return 0;
	}
	for (i = 0; i < CONF_N_GLOBAL_KEYS; i++) {
		if (strcmp(key, conf_global_keys[i].name) == 0) {
			conf_msg(msg, msg_len, "'%s' belongs before the first [key] section", key);
			return -1;
		}
	}
	/* "uri, a-b or c-d", from the table. */
	expected[0] = '\0';
	for (i = 0; i < CONF_N_SECTION_KEYS && o < sizeof(expected); i++) {
		const char *sep = i == 0 ? "" : i + 1 < CONF_N_SECTION_KEYS ? ", " : " or ";
		int r = snprintf(expected + o, sizeof(expected) - o, "%s%s", sep,
				 conf_section_keys[i].name);

		if (r < 0)
			break;
		o += (size_t)r;
	}
	conf_quote_key(key, shown, sizeof(shown));
	conf_msg(msg, msg_len, "unknown key '%s' in [key %s] (expected %s)", shown, k->name,
		 expected);
	return -1;
}

/* Parses one line (NUL-terminated, no newline, modified in place). */
static int conf_parse_line(struct conf_parser *p, char *line, char *msg, size_t msg_len)
{
	char *key, *value, *eq;
	size_t i;

	key = conf_trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	if (*key == '[') {
		if (conf_end_section(p, msg, msg_len) != 0)
			return -1;
		return conf_parse_section(p, key, msg, msg_len);
	}
	if ((eq = strchr(key, '=')) == NULL) {
		conf_msg(msg, msg_len, "missing '=' (expected key = value)");
		return -1;
	}
	*eq = '\0';
	key = conf_trim(key);
	if (*key == '\0') {
		conf_msg(msg, msg_len, "missing key before '='");
		return -1;
	}
	if (conf_parse_value(eq + 1, &value, msg, msg_len) != 0)
		return -1;
	if (p->in_section)
		return conf_set_section_key(p, key, value, msg, msg_len);
	for (i = 0; i < CONF_N_SECTION_KEYS; i++) {
		if (strcmp(key, conf_section_keys[i].name) == 0) {
			conf_msg(msg, msg_len, "'%s' belongs in a [key NAME] section", key);
			return -1;
		}
	}
	return config_set(p->cfg, key, value, msg, msg_len);
}

/* A deep copy of src's global keys into *out; the key list is not copied (a load replaces it). */
static int conf_copy(const struct agent_config *src, struct agent_config *out)
{
	struct agent_config tmp;
	int ret = -1;

	config_init(&tmp);
	tmp.foreground = src->foreground;
	tmp.pool_size = src->pool_size;
	if ((src->module != NULL && (tmp.module = strdup(src->module)) == NULL) ||
	    (src->token != NULL && (tmp.token = strdup(src->token)) == NULL) ||
	    (src->pin_source != NULL && (tmp.pin_source = strdup(src->pin_source)) == NULL) ||
	    (src->socket != NULL && (tmp.socket = strdup(src->socket)) == NULL) ||
	    (src->log_level != NULL && (tmp.log_level = strdup(src->log_level)) == NULL))
		goto out;
	*out = tmp;
	config_init(&tmp);
	ret = 0;
out:
	config_clear(&tmp);
	return ret;
}

int config_load_string(struct agent_config *cfg, const char *name, const char *text, size_t len,
		       char *msg, size_t msg_len)
{
	struct agent_config tmp;
	struct conf_parser p;
	char line[CONF_MAX_LINE + 1];
	char why[512];
	const char *s, *nl;
	size_t left, n;
	int ret = -1;

	config_init(&tmp);
	memset(&p, 0, sizeof(p));
	if (name == NULL)
		name = "(config)";
	if (cfg == NULL || (text == NULL && len != 0)) {
		conf_msg(msg, msg_len, "%s: internal error: missing argument", name);
		goto out;
	}
	if (conf_copy(cfg, &tmp) != 0) {
		conf_msg(msg, msg_len, "%s: out of memory", name);
		goto out;
	}
	p.cfg = &tmp;
	p.name = name;
	for (s = text, left = len; left > 0; s += n, left -= n) {
		p.lineno++;
		nl = memchr(s, '\n', left);
		n = nl != NULL ? (size_t)(nl - s) : left;
		if (n > CONF_MAX_LINE) {
			conf_msg(msg, msg_len, "%s:%lu: line too long (more than %d bytes)", name,
				 p.lineno, CONF_MAX_LINE);
			goto out;
		}
		if (memchr(s, '\0', n) != NULL) {
			conf_msg(msg, msg_len, "%s:%lu: NUL byte in the line", name, p.lineno);
			goto out;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		p.err_line = p.lineno;
		if (conf_parse_line(&p, line, why, sizeof(why)) != 0) {
			conf_msg(msg, msg_len, "%s:%lu: %s", name, p.err_line, why);
			goto out;
		}
		if (nl != NULL)
			n++;
	}
	if (conf_end_section(&p, why, sizeof(why)) != 0) {
		conf_msg(msg, msg_len, "%s:%lu: %s", name, p.err_line, why);
		goto out;
	}
	config_clear(cfg);
	*cfg = tmp;
	config_init(&tmp);
	ret = 0;
out:
	secret_wipe(line, sizeof(line));
	config_clear(&tmp);
	return ret;
}

int config_load_file(struct agent_config *cfg, const char *path, char *msg, size_t msg_len)
{
	uint8_t *text = NULL;
	size_t len = 0, alloc = 0;
	ssize_t r;
	int fd = -1, ret = -1;

	if (cfg == NULL || path == NULL) {
		conf_msg(msg, msg_len, "internal error: missing argument");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		conf_msg(msg, msg_len, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	/* Read in bounded steps: the file may be a pipe, or grow while read. */
	for (;;) {
		if (len == alloc) {
			size_t next = alloc == 0 ? 4096 : alloc * 2;
			uint8_t *grown;

			if (next > CONF_MAX_FILE + 1)
				next = CONF_MAX_FILE + 1;
			if (next == alloc) {
				conf_msg(msg, msg_len, "%s: file too large (more than %u bytes)",
					 path, CONF_MAX_FILE);
				goto out;
			}
			if ((grown = malloc(next)) == NULL) {
				conf_msg(msg, msg_len, "%s: out of memory", path);
				goto out;
			}
			if (text != NULL) {
				memcpy(grown, text, len);
				secret_wipe(text, alloc);
				free(text);
			}
			text = grown;
			alloc = next;
		}
		r = read(fd, text + len, alloc - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			conf_msg(msg, msg_len, "%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONF_MAX_FILE) {
		conf_msg(msg, msg_len, "%s: file too large (more than %u bytes)", path,
			 CONF_MAX_FILE);
		goto out;
	}
	ret = config_load_string(cfg, path, (const char *)text, len, msg, msg_len);
out:
	if (text != NULL) {
		secret_wipe(text, alloc);
		free(text);
	}
	if (fd != -1)
		close(fd);
	return ret;
}
