#include "config.h"
/*
 * conf: p11agentd's settings, from the config file and the command line.
 *
 * One table row per key: its name and the function that checks and stores
 * its value. The file parser only splits lines into key and value and hands
 * them to config_set(), so a flag and a config line go through the same code.
 * Keys of a [key NAME] section have a table of their own, in conf-key.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <p11-kit/uri.h>

#include "conf-impl.h"
#include "log.h"
#include "secret.h"

/* Bounds and defaults of the limits (struct agent_config). */
#define CONF_MAX_CONNECTIONS_MIN 1u
#define CONF_MAX_CONNECTIONS_MAX 65536u
#define CONF_MAX_CONNECTIONS_DEFAULT 10000u
#define CONF_MAX_FRAME_MIN 4096u
#define CONF_MAX_FRAME_MAX (1024u * 1024u) /* also the default */
#define CONF_IDLE_TIMEOUT_MAX 86400u	   /* a day; 0 (the default) is no timeout */
#define CONF_FRAME_TIMEOUT_MAX 3600u
#define CONF_FRAME_TIMEOUT_DEFAULT 30u
#define CONF_DRAIN_TIMEOUT_MAX 300u
#define CONF_DRAIN_TIMEOUT_DEFAULT 5u
#define CONF_CONNS_PER_UID_DEFAULT 64u
#define CONF_REQUEST_MEMORY_MIN 2u /* MiB: a whole frame and its reply */
#define CONF_REQUEST_MEMORY_MAX 65536u
#define CONF_REQUEST_MEMORY_DEFAULT 64u
#define CONF_REQUEST_MEM_UID_DEFAULT 16u
#define CONF_DENIED_PER_UID_MAX 1000000u
#define CONF_DENIED_PER_UID_DEFAULT 20u
#define CONF_BUSY_POLL_MAX 1000u
#define CONF_BUSY_POLL_DEFAULT 50u
#define CONF_WORKERS_MAX 256u /* 0, the default: one per CPU, at least 2 */
#define CONF_CHECKPOINT_MAX 86400u
#define CONF_CHECKPOINT_DEFAULT 60u
/* Longest audit-file path, with its NUL. */
#define CONF_MAX_PATH 4096u

typedef int (*conf_setter)(struct agent_config *cfg, const char *key, const char *value, char *msg,
			   size_t msg_len);

void conf_msg(char *msg, size_t msg_len, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msg_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_len, fmt, ap);
	va_end(ap);
}

/* Strings of cfg may hold a token URI with a pin-value: wipe before freeing. */
void conf_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

/* Replaces *slot with a copy of value. */
int conf_store(char **slot, const char *key, const char *value, char *msg, size_t msg_len)
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
 * with its line. CONF_URI_STRICT: refuse attributes p11-kit does not know for
 * that type (a misspelt "objet=" would otherwise be dropped and match every
 * key).
 */
int conf_check_uri(const char *key, const char *value, P11KitUriType type, int strict,
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
	static const char *const schemes[] = {"file:", "env:", "credential:", "fd:"};
	size_t i, n;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i]);
		if (strncmp(value, schemes[i], n) == 0 && value[n] != '\0')
			break;
	}
	if (i == sizeof(schemes) / sizeof(schemes[0])) {
		conf_msg(msg, msg_len,
			 "%s: expected file:PATH, env:VARIABLE, credential:NAME or fd:N", key);
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

static int set_ssh_socket(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	struct sockaddr_un sa;

	if (strlen(value) >= sizeof(sa.sun_path)) {
		conf_msg(msg, msg_len, "%s: path longer than %zu bytes", key,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	return conf_store(&cfg->ssh_socket, key, value, msg, msg_len);
}

/* Parses yes, true, 1 / no, false, 0 (any case) into *out. */
int conf_parse_bool(const char *key, const char *value, int *out, char *msg, size_t msg_len)
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

/*
 * Parses plain decimal digits (no sign, no blank, no hex) from min to max
 * into *out.
 */
static int conf_parse_uint(const char *key, const char *value, unsigned min, unsigned max,
			   unsigned *out, char *msg, size_t msg_len)
{
	unsigned long n = 0;
	unsigned digits = 1, m;
	const char *p;

	/* No more digits than max has: "0008" is not a pool size. */
	for (m = max; m >= 10; m /= 10)
		digits++;
	for (p = value; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || (size_t)(p - value) >= digits)
			goto bad;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (n < min || n > max)
		goto bad;
	*out = (unsigned)n;
	return 0;
bad:
	conf_msg(msg, msg_len, "%s: expected a number from %u to %u", key, min, max);
	return -1;
}

/* A group name or a numeric gid: printable, no blank, no ':' or ','. */
static int set_socket_group(struct agent_config *cfg, const char *key, const char *value, char *msg,
			    size_t msg_len)
{
	const char *p;

	for (p = value; *p != '\0'; p++) {
		if (!isgraph((unsigned char)*p) || *p == ':' || *p == ',' || p - value >= 64) {
			conf_msg(msg, msg_len, "%s: expected a group name or a numeric gid", key);
			return -1;
		}
	}
	return conf_store(&cfg->socket_group, key, value, msg, msg_len);
}

static int set_allow_root(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	return conf_parse_bool(key, value, &cfg->allow_root, msg, msg_len);
}

/* Names are resolved by the policy, at start and at each reload. */
static int set_admin_users(struct agent_config *cfg, const char *key, const char *value, char *msg,
			   size_t msg_len)
{
	if (conf_check_list(key, value, msg, msg_len) != 0)
		return -1;
	return conf_store(&cfg->admin_users, key, value, msg, msg_len);
}

static int set_admin_groups(struct agent_config *cfg, const char *key, const char *value, char *msg,
			    size_t msg_len)
{
	if (conf_check_list(key, value, msg, msg_len) != 0)
		return -1;
	return conf_store(&cfg->admin_groups, key, value, msg, msg_len);
}

/* Absolute: the daemon runs in "/" and reopens the file on SIGHUP. */
static int set_audit_file(struct agent_config *cfg, const char *key, const char *value, char *msg,
			  size_t msg_len)
{
	if (value[0] != '/' || strlen(value) >= CONF_MAX_PATH) {
		conf_msg(msg, msg_len, "%s: expected an absolute path, shorter than %u bytes", key,
			 CONF_MAX_PATH);
		return -1;
	}
	return conf_store(&cfg->audit_file, key, value, msg, msg_len);
}

static int set_audit_syslog(struct agent_config *cfg, const char *key, const char *value, char *msg,
			    size_t msg_len)
{
	return conf_parse_bool(key, value, &cfg->audit_syslog, msg, msg_len);
}

/* A KEY as the CLI takes it; resolved in the token when the agent starts. */
static int set_audit_key(struct agent_config *cfg, const char *key, const char *value, char *msg,
			 size_t msg_len)
{
	return conf_store(&cfg->audit_key, key, value, msg, msg_len);
}

static int set_audit_sign_key(struct agent_config *cfg, const char *key, const char *value,
			      char *msg, size_t msg_len)
{
	return conf_store(&cfg->audit_sign_key, key, value, msg, msg_len);
}

/* Numbers: set is NULL, the value goes to the unsigned at offset, from min to max. */
#define CONF_NUM(field, min, max) NULL, offsetof(struct agent_config, field), min, max
/* clang-format off */
static const struct {
	const char *name;
	conf_setter set;
	size_t offset;
	unsigned min, max;
} conf_global_keys[] = {
	{"module", set_module, 0, 0, 0},
	{"token", set_token, 0, 0, 0},
	{"pin-source", set_pin_source, 0, 0, 0},
	{"socket", set_socket, 0, 0, 0},
	{"ssh-socket", set_ssh_socket, 0, 0, 0},
	{"foreground", set_foreground, 0, 0, 0},
	{"log-level", set_log_level, 0, 0, 0},
	{"pool-size", CONF_NUM(pool_size, CONF_POOL_MIN, CONF_POOL_MAX)},
	{"socket-group", set_socket_group, 0, 0, 0},
	{"allow-root", set_allow_root, 0, 0, 0},
	{"admin-users", set_admin_users, 0, 0, 0},
	{"admin-groups", set_admin_groups, 0, 0, 0},
	{"audit-file", set_audit_file, 0, 0, 0},
	{"audit-syslog", set_audit_syslog, 0, 0, 0},
	{"audit-key", set_audit_key, 0, 0, 0},
	{"audit-sign-key", set_audit_sign_key, 0, 0, 0},
	{"audit-checkpoint-interval", CONF_NUM(audit_checkpoint_interval, 1,
					       CONF_CHECKPOINT_MAX)},
	{"max-connections", CONF_NUM(max_connections, CONF_MAX_CONNECTIONS_MIN,
				     CONF_MAX_CONNECTIONS_MAX)},
	{"max-frame", CONF_NUM(max_frame, CONF_MAX_FRAME_MIN, CONF_MAX_FRAME_MAX)},
	{"idle-timeout", CONF_NUM(idle_timeout, 0, CONF_IDLE_TIMEOUT_MAX)},
	{"frame-timeout", CONF_NUM(frame_timeout, 1, CONF_FRAME_TIMEOUT_MAX)},
	{"shutdown-timeout", CONF_NUM(drain_timeout, 0, CONF_DRAIN_TIMEOUT_MAX)},
	{"busy-poll", CONF_NUM(busy_poll, 0, CONF_BUSY_POLL_MAX)},
	{"workers", CONF_NUM(workers, 0, CONF_WORKERS_MAX)},
	{"max-connections-per-uid", CONF_NUM(max_conns_per_uid, CONF_MAX_CONNECTIONS_MIN,
					     CONF_MAX_CONNECTIONS_MAX)},
	{"max-request-memory", CONF_NUM(max_request_memory, CONF_REQUEST_MEMORY_MIN,
					CONF_REQUEST_MEMORY_MAX)},
	{"max-request-memory-per-uid", CONF_NUM(max_request_mem_uid, CONF_REQUEST_MEMORY_MIN,
						CONF_REQUEST_MEMORY_MAX)},
	{"max-denied-per-uid", CONF_NUM(max_denied_per_uid, 0, CONF_DENIED_PER_UID_MAX)},
};
/* clang-format on */
#define CONF_N_GLOBAL_KEYS (sizeof(conf_global_keys) / sizeof(conf_global_keys[0]))

/* The string members of struct agent_config: freed by config_clear, copied by conf_copy. */
static const size_t conf_strings[] = {
    offsetof(struct agent_config, module),	   offsetof(struct agent_config, token),
    offsetof(struct agent_config, pin_source),	   offsetof(struct agent_config, socket),
    offsetof(struct agent_config, log_level),	   offsetof(struct agent_config, socket_group),
    offsetof(struct agent_config, audit_file),	   offsetof(struct agent_config, audit_key),
    offsetof(struct agent_config, audit_sign_key), offsetof(struct agent_config, ssh_socket),
    offsetof(struct agent_config, admin_users),	   offsetof(struct agent_config, admin_groups),
};
#define CONF_N_STRINGS (sizeof(conf_strings) / sizeof(conf_strings[0]))

static char **conf_string(struct agent_config *cfg, size_t i)
{
	return (char **)(void *)((char *)cfg + conf_strings[i]);
}

int conf_is_global_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_N_GLOBAL_KEYS; i++)
		if (strcmp(name, conf_global_keys[i].name) == 0)
			return 1;
	return 0;
}

void config_init(struct agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->foreground = 0;
	cfg->pool_size = CONF_POOL_DEFAULT;
	cfg->allow_root = 1;
	cfg->max_connections = CONF_MAX_CONNECTIONS_DEFAULT;
	cfg->max_frame = CONF_MAX_FRAME_MAX;
	cfg->idle_timeout = 0;
	cfg->frame_timeout = CONF_FRAME_TIMEOUT_DEFAULT;
	cfg->drain_timeout = CONF_DRAIN_TIMEOUT_DEFAULT;
	cfg->busy_poll = CONF_BUSY_POLL_DEFAULT;
	cfg->audit_checkpoint_interval = CONF_CHECKPOINT_DEFAULT;
	cfg->max_conns_per_uid = CONF_CONNS_PER_UID_DEFAULT;
	cfg->max_request_memory = CONF_REQUEST_MEMORY_DEFAULT;
	cfg->max_request_mem_uid = CONF_REQUEST_MEM_UID_DEFAULT;
	cfg->max_denied_per_uid = CONF_DENIED_PER_UID_DEFAULT;
}

void config_clear(struct agent_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < CONF_N_STRINGS; i++)
		conf_free_str(*conf_string(cfg, i));
	conf_free_keys(cfg->keys, cfg->n_keys);
	config_init(cfg);
}

/* Copies key into out for a message: printable ASCII only, bounded. */
void conf_quote_key(const char *key, char *out, size_t out_len)
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

static const char *conf_global_key_name(size_t i)
{
	return conf_global_keys[i].name;
}

void conf_join(char *out, size_t out_len, const char *(*name_at)(size_t i), size_t n)
{
	size_t i, o = 0;
	int r;

	out[0] = '\0';
	for (i = 0; i < n && o < out_len; i++) {
		r = snprintf(out + o, out_len - o, "%s%s",
			     i == 0	 ? ""
			     : i + 1 < n ? ", "
					 : " or ",
			     name_at(i));
		if (r < 0)
			break;
		o += (size_t)r;
	}
}

int config_set(struct agent_config *cfg, const char *key, const char *value, char *msg,
	       size_t msg_len)
{
	char shown[CONF_MAX_KEY_ECHO + 8], expected[512];
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
		if (conf_global_keys[i].set == NULL)
			return conf_parse_uint(
			    key, value, conf_global_keys[i].min, conf_global_keys[i].max,
			    (unsigned *)(void *)((char *)cfg + conf_global_keys[i].offset), msg,
			    msg_len);
		return conf_global_keys[i].set(cfg, key, value, msg, msg_len);
	}
	conf_quote_key(key, shown, sizeof(shown));
	conf_join(expected, sizeof(expected), conf_global_key_name, CONF_N_GLOBAL_KEYS);
	conf_msg(msg, msg_len, "unknown key '%s' (expected %s)", shown, expected);
	return -1;
}

static int conf_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trims blanks at both ends of s in place; returns the new start. */
char *conf_trim(char *s)
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
void conf_cut_comment(char *s)
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

/* Parses one line (NUL-terminated, no newline, modified in place). */
static int conf_parse_line(struct conf_parser *p, char *line, char *msg, size_t msg_len)
{
	char *key, *value, *eq;

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
	if (conf_is_section_key(key)) {
		conf_msg(msg, msg_len, "'%s' belongs in a [key NAME] section", key);
		return -1;
	}
	return config_set(p->cfg, key, value, msg, msg_len);
}

/* A deep copy of src's global keys into *out; the key list is not copied (a load replaces it). */
static int conf_copy(const struct agent_config *src, struct agent_config *out)
{
	struct agent_config tmp;
	const char *from;
	size_t i;
	int ret = -1;

	/* Numbers and flags as they are; then every string copied, the keys none. */
	tmp = *src;
	for (i = 0; i < CONF_N_STRINGS; i++)
		*conf_string(&tmp, i) = NULL;
	tmp.keys = NULL;
	tmp.n_keys = 0;
	for (i = 0; i < CONF_N_STRINGS; i++) {
		from = *(char *const *)(const void *)((const char *)src + conf_strings[i]);
		if (from != NULL && (*conf_string(&tmp, i) = strdup(from)) == NULL)
			goto out;
	}
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
