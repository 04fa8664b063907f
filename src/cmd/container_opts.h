/* Flags shared by `run` and `create`. */
#ifndef STRATA_CMD_CONTAINER_OPTS_H
#define STRATA_CMD_CONTAINER_OPTS_H

#include <stdbool.h>

#include "cli.h"
#include "runtime/runtime.h"

typedef struct cli_create {
  st_create_opts o;
  bool detach;
  const char *pull;        /* --pull missing|never|always, or NULL */
  const char *detach_keys; /* --detach-keys (run -it), NULL: Docker's */
  /* storage behind o's arrays (argv strings or --env-file lines) */
  char **env, **vols, **tmpfs, **file_lines, **mounts, **volumes_from;
  char **cap_add, **cap_drop, **security_opt;
  char **labels;       /* -l, --label-file */
  char **log_opts;     /* --log-opt */
  const char *cidfile; /* --cidfile */
  int cid_fd;          /* open on it between the two calls below */
  char **net_aliases, **dns, **dns_search, **dns_option, **add_host;
  char **publish;
  size_t n_file_lines;
  bool health_set; /* a --health-* flag was given */
  char **ulimits, **devices, **group_add, **sysctls, **expose;
} cli_create;

/* The --help lines of the flags of runtime/flags.h (run and create). */
#define CLI_NS_FLAGS_HELP                                                      \
  "      --device list         Add a host device to the container\n"           \
  "      --expose list         Expose a port or a range of ports\n"            \
  "      --group-add list      Add additional groups to join\n"                \
  "      --ipc string          IPC mode to use\n"                              \
  "      --pid string          PID namespace to use\n"                         \
  "      --platform string     Set platform if server is multi-platform "      \
  "capable\n"                                                                  \
  "      --sysctl map          Sysctl options (default map[])\n"               \
  "      --ulimit ulimit       Ulimit options (default [])\n"                  \
  "      --uts string          UTS namespace to use\n"

/* Parses create/run flags and IMAGE [COMMAND...]. Returns -1 when the
 * arguments were good, else the exit code to return (0 after --help, 125
 * for a bad flag). allow_detach: -d is accepted (run). */
int cli_create_parse(int argc, char **argv, const char *cmdname,
                     const st_command *cmd, bool allow_detach, cli_create *out);
void cli_create_free(cli_create *c);

/* --cidfile: creates the file (-1) or prints Docker's error and returns
 * 125 (it exists, or cannot be made). Then cli_cidfile_done writes the
 * new container's ID, or removes the file when id is NULL (not made). */
int cli_cidfile_create(cli_create *c);
void cli_cidfile_done(cli_create *c, const char *id);

/* -m/--memory ("memory"), --cpus ("cpus") or --pids-limit ("pids-limit")
 * with run's parsing and messages, into o (update uses them): -1 when the
 * value is good, else the exit code after printing Docker's error. */
int cli_resource_value(const char *flag, const char *value, const char *cmdname,
                       st_create_opts *o);

/* Prints a runtime error and returns Docker's exit code for it. */
int cli_runtime_fail(const st_error *err);

/* Reads an --env-file (one K=V or K per line, # comments and blank lines
 * skipped, leading blanks removed), appending each line (heap) to *lines
 * (which owns them) and to *env, both NULL-terminated vectors. Returns
 * -1 when read, else the exit code `code` after printing Docker's error. */
int cli_read_env_file(const char *path, int code, char ***lines,
                      size_t *n_lines, char ***env, size_t *n_env);

#endif
