#include "config.h"
/*
 * conf: p11agentd's settings, from the config file and the command line.
 *
 * One table row per key: its name and the function that checks and stores
 * its value. The file parser only splits lines into key and value and hands
 * them to config_set(), so a flag and a config line go through the same code.
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

/* Checked with p11-kit here so that a bad URI in the file is reported with its line. */
static int set_token(struct agent_config *cfg, const char *key, const char *value, char *msg,
		     size_t msg_len)
{
	P11KitUri *uri;
	const char *p;
	int rv;

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
	rv = p11_kit_uri_parse(value, P11_KIT_URI_FOR_ANY, uri);
	p11_kit_uri_free(uri);
	if (rv != P11_KIT_URI_OK) {
		/* Not the value: a token URI may carry a pin-value. */
		conf_msg(msg, msg_len,
			 "%s: not a PKCS#11 URI (%s); expected e.g. pkcs11:token=NAME", key,
			 p11_kit_uri_message(rv));
		return -1;
	}
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

static int set_foreground(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	static const char *const yes[] = {"yes", "true", "1"};
	static const char *const no[] = {"no", "false", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			cfg->foreground = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			cfg->foreground = 0;
			return 0;
		}
	}
	conf_msg(msg, msg_len, "%s: expected yes or no (or true, false, 1, 0)", key);
	return -1;
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
} conf_keys[] = {
	{"module", set_module},
	{"token", set_token},
	{"pin-source", set_pin_source},
	{"socket", set_socket},
	{"foreground", set_foreground},
	{"log-level", set_log_level},
	{"pool-size", set_pool_size},
};
/* clang-format on */

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
	for (i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		if (strcmp(key, conf_keys[i].name) != 0)
			continue;
		if (value[0] == '\0') {
			conf_msg(msg, msg_len, "%s: empty value", key);
			return -1;
		}
		return conf_keys[i].set(cfg, key, value, msg, msg_len);
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

/* Parses one line (NUL-terminated, no newline, modified in place) into cfg. */
static int conf_parse_line(struct agent_config *cfg, char *line, char *msg, size_t msg_len)
{
	char *key, *value, *eq;

	key = conf_trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	if (*key == '[') {
		conf_msg(msg, msg_len, "sections are not supported yet (only key = value lines)");
		return -1;
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
	return config_set(cfg, key, value, msg, msg_len);
}

/* A deep copy of src into *out (strings duplicated). */
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
	char line[CONF_MAX_LINE + 1];
	char why[256];
	const char *p, *nl;
	size_t left, n;
	unsigned long lineno = 0;
	int ret = -1;

	config_init(&tmp);
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
	for (p = text, left = len; left > 0; p += n, left -= n) {
		lineno++;
		nl = memchr(p, '\n', left);
		n = nl != NULL ? (size_t)(nl - p) : left;
		if (n > CONF_MAX_LINE) {
			conf_msg(msg, msg_len, "%s:%lu: line too long (more than %d bytes)", name,
				 lineno, CONF_MAX_LINE);
			goto out;
		}
		if (memchr(p, '\0', n) != NULL) {
			conf_msg(msg, msg_len, "%s:%lu: NUL byte in the line", name, lineno);
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (conf_parse_line(&tmp, line, why, sizeof(why)) != 0) {
			conf_msg(msg, msg_len, "%s:%lu: %s", name, lineno, why);
			goto out;
		}
		if (nl != NULL)
			n++;
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
