/*
 * startup: p11agentd started and stopped as ssh-agent is: the shell lines
 * that tell a shell where the agent listens, -k, the pid file, and the
 * private socket directory used when XDG_RUNTIME_DIR is unset.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef P11A_STARTUP_H
#define P11A_STARTUP_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* The variables the shell lines set (P11AGENT_SOCK is P11A_SOCK_ENV). */
#define STARTUP_PID_ENV "P11AGENT_PID"
/* How long -k waits for the agent to exit after SIGTERM. */
#define STARTUP_KILL_WAIT_MS 10000

/* Exit statuses of p11agentd -k (p11agentd.8); 0 is a stopped agent. */
#define STARTUP_KILL_FAILED 1	  /* SIGTERM failed, or the agent did not exit in time */
#define STARTUP_KILL_BAD_PID 3	  /* P11AGENT_PID is unset or not a process id */
#define STARTUP_KILL_NO_PROCESS 4 /* no process has that id */
#define STARTUP_KILL_NOT_AGENT 5  /* the process is not a p11agentd of the caller's uid */

enum startup_shell {
	STARTUP_SH, /* VAR=value; export VAR; */
	STARTUP_CSH /* setenv VAR value; */
};

/* The syntax ssh-agent picks: csh when $SHELL ends in "csh", sh otherwise. */
enum startup_shell startup_shell_from_env(void);

/*
 * Checks that path can be written as one shell word: returns P11A_OK, or
 * P11A_ERR_INVALID_ARG with a message when it holds a control character (a
 * newline cannot be quoted for csh).
 */
int startup_check_printable(const char *path, char *msg, size_t msg_len);

/*
 * Writes to f the lines that set P11AGENT_SOCK to sock and P11AGENT_PID to
 * pid in the syntax sh, then "echo Agent pid PID;", as ssh-agent does. The
 * socket path is quoted when it needs to be (startup_check_printable first).
 * Returns 0, or -1 when f could not be written.
 */
int startup_print_env(FILE *f, enum startup_shell sh, const char *sock, pid_t pid);

/* Writes the lines that unset both variables and "echo Agent pid PID killed;". */
int startup_print_unset(FILE *f, enum startup_shell sh, pid_t pid);

/*
 * -k: sends SIGTERM to the agent named by P11AGENT_PID once it is sure the
 * process is a p11agentd of the caller's uid, and waits up to
 * STARTUP_KILL_WAIT_MS for it to exit. Returns 0 and the pid in *out_pid, or
 * one of the STARTUP_KILL_ statuses with a message; nothing is signalled
 * unless the checks pass.
 */
int startup_kill(pid_t *out_pid, char *msg, size_t msg_len);

/*
 * path made absolute against the working directory, into out. Returns
 * P11A_OK, or P11A_ERR_INVALID_ARG with a message naming what (the option)
 * when the result does not fit.
 */
int startup_abspath(const char *what, const char *path, char *out, size_t out_len, char *msg,
		    size_t msg_len);

/*
 * Writes pid and a newline to the file at path (absolute), mode 0644: into a
 * new file of a random name beside it (O_EXCL), then renamed over path, so a
 * symbolic link or anything else planted at path is replaced, never written
 * through. Returns P11A_OK, or P11A_ERR_INVALID_ARG with a message naming the
 * file.
 */
int startup_write_pidfile(const char *path, pid_t pid, char *msg, size_t msg_len);

/* Removes the pid file at path if it still holds pid (another agent's stays). */
void startup_remove_pidfile(const char *path, pid_t pid);

/*
 * Makes the agent's own socket directory, as ssh-agent does without a place
 * to put it: $TMPDIR/p11agent-XXXXXX (or /tmp/...) by mkdtemp, mode 0700.
 * Its absolute path goes to out_dir. Returns P11A_OK, or
 * P11A_ERR_INVALID_ARG with a message naming the directory.
 */
int startup_private_dir(char *out_dir, size_t dir_len, char *msg, size_t msg_len);

/*
 * The config file read when --config is not given: for root (the system
 * service) SYSCONFDIR/p11agent/p11agent.conf; for any other uid (a user's
 * agent) $XDG_CONFIG_HOME/p11agent/p11agent.conf, with ~/.config for an
 * unset or relative XDG_CONFIG_HOME. Its path goes to out. Returns 1 when
 * something is there (it is read, and checked, as a --config would be), 0
 * when nothing is (the agent starts without one), -1 when there is no path
 * (no HOME, or too long).
 */
int startup_default_config(char *out, size_t out_len);

#endif
