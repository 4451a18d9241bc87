/*
 * conf: p11agentd's settings, from the config file and the command line.
 *
 * The file holds "key = value" lines; a '#' at the start of a line, or after
 * blank space outside quotes, starts a comment; blank lines are ignored;
 * spaces and tabs around keys and values are trimmed; a value may be put in
 * double quotes (no escapes inside). Every command-line flag is also a key:
 * module, token, pin-source, socket, foreground, log-level; plus pool-size.
 * The last of several lines setting a key wins. Errors name the file and the
 * line, and never quote a value (a token URI may hold a pin-value).
 *
 * Those global keys come first. A line "[key NAME]" opens a section that
 * names one key of the token and holds its settings (struct conf_key); every
 * line after it, up to the next "[key NAME]", belongs to it. Inside a section
 * only section keys are allowed, each at most once; a global key there is an
 * error, and so is any other "[...]" line.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11AGENT_CONF_H
#define P11AGENT_CONF_H

#include <stddef.h>
#include <stdint.h>

/* Longest line of a config file, in bytes, without its newline. */
#define CONF_MAX_LINE 4096
/* Largest config file read. */
#define CONF_MAX_FILE (1024u * 1024u)
/* Bounds and default of pool-size. */
#define CONF_POOL_MIN 1u
#define CONF_POOL_MAX 256u
#define CONF_POOL_DEFAULT 8u
/* Largest min-version. */
#define CONF_MAX_VERSION 999999999u
/* Most [key NAME] sections in one file; longest NAME, in bytes. */
#define CONF_MAX_KEYS 1024u
#define CONF_MAX_KEY_NAME 64u

struct agent_config {
	char *module;	       /* PKCS#11 module path */
	char *token;	       /* RFC 7512 token URI */
	char *pin_source;      /* file:PATH or env:VAR; may be NULL (URI pin-source, or none) */
	char *socket;	       /* socket path; NULL: the default */
	char *ssh_socket;      /* ssh-socket: the SSH agent protocol's socket; NULL: none */
	int foreground;	       /* 1: stay in the foreground, log to stderr */
	char *log_level;       /* "error", "warn", "info", "debug" */
	unsigned pool_size;    /* PKCS#11 sessions in the pool (default 8) */
	struct conf_key *keys; /* [key NAME] sections, in file order */
	size_t n_keys;

	/* Access (issue 4). */
	char *socket_group; /* socket-group: the socket becomes 0660 for it; NULL: 0600 */
	int allow_root;	    /* allow-root: root may use keys without a policy (default 1) */

	/* Audit (issue 4). */
	char *audit_file;     /* audit-file: JSON lines appended here; NULL: none */
	int audit_syslog;     /* audit-syslog: yes also sends each record to syslog */
	char *audit_key;      /* audit-key: a KEY (name, label, id:, URI) of an HMAC key
				 in the token that keys the chain; NULL: unkeyed chain */
	char *audit_sign_key; /* audit-sign-key: a KEY of an EC or Ed25519 key that signs
				 checkpoints; NULL: none */
	unsigned audit_checkpoint_interval; /* audit-checkpoint-interval: seconds (default
					       60, 1..86400) */

	/* Limits (issue 4), each with a safe default. */
	unsigned max_connections; /* max-connections (default 10000, 1..65536) */
	unsigned max_frame;	  /* max-frame: bytes of a frame body (default and most 1 MiB,
				     least 4096) */
	unsigned idle_timeout;	  /* idle-timeout: seconds a connection may sit between
				     frames, 0 = forever (default 0) */
	unsigned frame_timeout;	  /* frame-timeout: seconds to finish a started frame
				     (default 30, 1..3600) */
	unsigned drain_timeout;	  /* shutdown-timeout: seconds requests in flight get at
				     SIGTERM (default 5) */

	/*
	 * Shares per peer uid (root and the agent's own uid have none), each
	 * with a safe default.
	 */
	unsigned max_conns_per_uid;   /* max-connections-per-uid (default 64, 1..65536) */
	unsigned max_request_memory;  /* max-request-memory: MiB of requests and replies
					 held for all clients (default 64, 2..65536) */
	unsigned max_request_mem_uid; /* max-request-memory-per-uid: the same for one uid
					 (default 16, 2..65536) */
	unsigned max_denied_per_uid;  /* max-denied-per-uid: audit records a second of one
					 uid's refused requests (default 20, 0..1000000;
					 0: no limit) */

	/*
	 * Key lifecycle (issue 13): who may make, rotate, destroy and certify
	 * keys and reload the agent. Comma-separated user (group) names or
	 * numeric ids, resolved by the policy; NULL: only the agent's own uid.
	 */
	char *admin_users;  /* admin-users */
	char *admin_groups; /* admin-groups */

	/* Speed (issue 5). */
	unsigned busy_poll; /* busy-poll: microseconds to poll for a quick client's next
			       request before sleeping (default 50, 0..1000; 0: never) */
	/* Scale (issue 15). */
	unsigned workers; /* workers: threads that run requests (0, the default: one per
			     CPU, at least 2; 1..256) */
};

/*
 * A "[key NAME]" section: NAME is 1..64 characters of [A-Za-z0-9._-], unique
 * in the file (case matters). Keys inside it: uri (a pkcs11: URI of an
 * object on a token, checked with p11-kit; no blanks, no unknown attributes;
 * without it the section names the keys labelled NAME and NAME@N),
 * allow-rsa-pkcs1-decrypt (yes/no, default no), allow-users, allow-ops, ...
 * (one row each in conf-key.c's section table).
 */
struct conf_key {
	char *name;
	char *uri;
	int allow_rsa_pkcs1_decrypt; /* 0 or 1 */
	char *where;		     /* "FILE:LINE" of the section header */

	/* Policy (issue 4); a list key given twice is an error. */
	char **allow_users; /* allow-users: user names or numeric uids, as written */
	size_t n_allow_users;
	char **allow_groups; /* allow-groups: group names or numeric gids, as written */
	size_t n_allow_groups;
	uint32_t allow_ops;   /* allow-ops: P11A_OP_* mask (sign, decrypt, unwrap, derive,
				 verify); 0 when absent = every operation */
	uint32_t *allow_algs; /* allow-algs: p11a_alg values; NULL when absent = every alg */
	size_t n_allow_algs;

	/* The SSH front (issue 12). */
	int ssh;	   /* ssh: offered on the SSH front (default 1) */
	char **ssh_logins; /* ssh-logins: remote user names a userauth may carry */
	size_t n_ssh_logins;
	char **ssh_namespaces; /* ssh-namespaces: SSHSIG namespaces a signature may be for */
	size_t n_ssh_namespaces;

	/* Versions (issue 13). */
	uint32_t min_version; /* min-version: older versions are refused (default 1) */
	int allow_destroy;    /* allow-destroy: trim may destroy old versions (default no) */
};

/* Sets defaults (all strings NULL, foreground 0, pool_size 8, no keys). */
void config_init(struct agent_config *cfg);
/* Frees the strings and the key list of cfg, and sets the defaults again. */
void config_clear(struct agent_config *cfg);

/*
 * Sets one key of cfg. Returns 0, or -1 with a message ("unknown key 'x'",
 * "foreground: expected yes or no") in msg; cfg is then unchanged.
 */
int config_set(struct agent_config *cfg, const char *key, const char *value, char *msg,
	       size_t msg_len);

/*
 * Reads the file at path into cfg. Global keys the file sets overwrite those
 * already set; the others stay. The key list is not merged: cfg->keys becomes
 * the file's [key NAME] sections (none if it has none), so after several loads
 * it is the last file's. Returns 0, or -1 with "PATH:LINE: what is wrong" (or
 * "PATH: why" when the file cannot be read) in msg; on failure cfg is
 * unchanged.
 */
int config_load_file(struct agent_config *cfg, const char *path, char *msg, size_t msg_len);

/* Same as config_load_file, on a string (for tests and fuzzing); name is used in messages. */
int config_load_string(struct agent_config *cfg, const char *name, const char *text, size_t len,
		       char *msg, size_t msg_len);

#endif
