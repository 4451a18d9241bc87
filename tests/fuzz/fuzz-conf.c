#include "config.h"
/*
 * fuzz-conf: the config file parser on hostile text.
 *
 * Besides "no crash, no leak", it checks the parser's promises: an error
 * message names the file and a line that exists; a failed load leaves the
 * settings (and the [key] list) as they were; a successful one leaves only
 * legal values, and a key list of the input's own unique, well-formed
 * sections that replaced the one before.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../agent/conf.h"

#include "fuzz.h"

#define NAME "fuzz.conf"

/* Checks that cfg holds only values config_set() accepts. */
static void check_legal(const struct agent_config *cfg)
{
	FUZZ_CHECK(cfg->foreground == 0 || cfg->foreground == 1);
	FUZZ_CHECK(cfg->pool_size >= CONF_POOL_MIN && cfg->pool_size <= CONF_POOL_MAX);
	FUZZ_CHECK(cfg->module == NULL || cfg->module[0] != '\0');
	/* URI schemes are case-insensitive (RFC 3986), and p11-kit agrees. */
	FUZZ_CHECK(cfg->token == NULL || strncasecmp(cfg->token, "pkcs11:", 7) == 0);
	FUZZ_CHECK(cfg->pin_source == NULL || strncmp(cfg->pin_source, "file:", 5) == 0 ||
		   strncmp(cfg->pin_source, "env:", 4) == 0 ||
		   strncmp(cfg->pin_source, "credential:", 11) == 0 ||
		   strncmp(cfg->pin_source, "fd:", 3) == 0);
	FUZZ_CHECK(cfg->log_level == NULL || strcmp(cfg->log_level, "error") == 0 ||
		   strcmp(cfg->log_level, "warn") == 0 || strcmp(cfg->log_level, "info") == 0 ||
		   strcmp(cfg->log_level, "debug") == 0);
	FUZZ_CHECK(cfg->n_keys <= CONF_MAX_KEYS);
	FUZZ_CHECK((cfg->n_keys == 0) == (cfg->keys == NULL));
	for (size_t i = 0; i < cfg->n_keys; i++) {
		const struct conf_key *k = &cfg->keys[i];
		size_t n = strlen(k->name);

		FUZZ_CHECK(n >= 1 && n <= CONF_MAX_KEY_NAME);
		FUZZ_CHECK(strspn(k->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789._-") == n);
		/* Without a uri, the section is about the keys labelled NAME and NAME@N. */
		FUZZ_CHECK(k->uri == NULL || strncasecmp(k->uri, "pkcs11:", 7) == 0);
		FUZZ_CHECK(k->allow_rsa_pkcs1_decrypt == 0 || k->allow_rsa_pkcs1_decrypt == 1);
		FUZZ_CHECK(k->allow_destroy == 0 || k->allow_destroy == 1);
		FUZZ_CHECK(k->min_version >= 1 && k->min_version <= CONF_MAX_VERSION);
		/* Made by this load, not left from the one before. */
		FUZZ_CHECK(strncmp(k->where, NAME ":", strlen(NAME ":")) == 0);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(cfg->keys[j].name, k->name) != 0);
	}
}

static const char before[] = "[key before]\nuri = pkcs11:object=before\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char msg[512];
	unsigned long line, lines = 1;
	char *end;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	config_init(&cfg);
	/* Something set beforehand, to see that a failure keeps it. */
	FUZZ_CHECK(config_set(&cfg, "module", "/before.so", msg, sizeof(msg)) == 0);
	FUZZ_CHECK(config_set(&cfg, "pool-size", "3", msg, sizeof(msg)) == 0);
	FUZZ_CHECK(config_load_string(&cfg, "before", before, strlen(before), msg, sizeof(msg)) ==
		   0);

	memset(msg, 0, sizeof(msg));
	if (config_load_string(&cfg, NAME, (const char *)data, size, msg, sizeof(msg)) == 0) {
		check_legal(&cfg);
	} else {
		FUZZ_CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
		FUZZ_CHECK(strncmp(msg, NAME ":", strlen(NAME ":")) == 0);
		line = strtoul(msg + strlen(NAME ":"), &end, 10);
		FUZZ_CHECK(line >= 1 && line <= lines);
		FUZZ_CHECK(strncmp(end, ": ", 2) == 0 && end[2] != '\0');
		FUZZ_CHECK(strcmp(cfg.module, "/before.so") == 0);
		FUZZ_CHECK(cfg.pool_size == 3);
		FUZZ_CHECK(cfg.token == NULL && cfg.socket == NULL && cfg.pin_source == NULL);
		FUZZ_CHECK(cfg.n_keys == 1 && strcmp(cfg.keys[0].name, "before") == 0 &&
			   strcmp(cfg.keys[0].where, "before:1") == 0);
	}
	config_clear(&cfg);
	return 0;
}
