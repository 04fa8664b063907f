/* Shared pieces of the command-line front end. Only src/cmd and
 * src/strata.c print; the library returns errors and data. */
#ifndef STRATA_CMD_CLI_H
#define STRATA_CMD_CLI_H

#include <stdbool.h>

#include "util/error.h"

/* A command registers itself with ST_COMMAND; the dispatcher finds it by
 * any of its '|'-separated names ("images|image ls|image list"). */
typedef struct st_command {
  const char *names;
  int (*run)(int argc, char **argv); /* returns the process exit code */
  const char *summary;               /* one line for `strata --help` */
  const char *usage;                 /* full --help text */
} st_command;

#define ST_COMMAND(id, ...)                                                    \
  __attribute__((                                                              \
      used, section("strata_cmds"),                                            \
      aligned(sizeof(void *)))) static const st_command st_cmd_##id = {        \
      __VA_ARGS__}

enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct st_store;

struct cli_globals {
  const char *root; /* --root, $STRATA_ROOT, or the default */
  int log_level;
};
extern struct cli_globals cli;

/* Opens the store at cli.root; on failure prints the error and returns
 * NULL. The store stays open until exit. */
struct st_store *cli_store(void);

/* Prints "Error: <message>" to stderr. */
void cli_print_error(const st_error *err);

/* Prints "Error: <fmt...>" to stderr and returns exit code 1 (or 125 for
 * commands that use it). */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The library's debug sink (util/log.h): cli_log at debug level. */
void cli_debug_sink(const char *msg);
void cli_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints cmd's usage to stdout (help) and returns 0. */
int cli_usage(const st_command *cmd);
/* Reports a bad flag in Docker's words and returns 125... Docker exits 125
 * for flag errors of `run`, 1 elsewhere; both print "See 'strata X --help'." */
int cli_bad_usage(const char *cmdname, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct option;

/* getopt_long for the commands: getopt prints nothing (opterr = 0), and
 * the call is remembered so that cli_bad_flag can name the flag at fault. */
int cli_getopt(int argc, char **argv, const char *optstring,
               const struct option *longopts);

/* Reports the flag of the last cli_getopt call in Docker's words, on
 * stderr: "unknown flag: --x", "unknown shorthand flag: 'x' in -xy" or
 * "flag needs an argument: --x" / "flag needs an argument: 'x' in -x",
 * then "See 'strata CMDNAME --help'.". A flag that cli_getopt returned
 * (one the command knows but refuses, as create does -d) is reported as
 * unknown. Returns 1, the exit code of every command but run and create
 * (which return 125). */
int cli_bad_flag(const char *cmdname);

/* The start of a verb whose only option is -h/--help and that takes
 * exactly nargs operands (diff, rename): parses argv, then opens the store.
 * Returns the store, the operands being at argv[optind..]; or NULL with
 * *code set to the exit code to return at once: 0 after printing the usage
 * of cmd, 1 after Docker's usage error (unknown flag, or "\"strata NAME\"
 * requires exactly 1 argument.") or when the store did not open. */
struct st_store *cli_start_help_only(const st_command *cmd, const char *cmdname,
                                     int argc, char **argv, int nargs,
                                     int *code);

/* cli_parse_stop_timeout returns this when parsing is done and the verb
 * goes on with its operands at argv[optind..]. */
enum { CLI_GO_ON = -1 };

/* Parses the flags of stop and restart: -t/--time/--timeout SECONDS (into
 * *timeout; 10 when absent) and -h/--help. Returns CLI_GO_ON, or the exit
 * code to return at once: 0 after printing the usage of cmd, 1 for an
 * unknown flag. */
int cli_parse_stop_timeout(const st_command *cmd, const char *cmdname, int argc,
                           char **argv, int *timeout);

/* Asks "msg [y/N] " on stderr and reads stdin; true when the answer is y. */
bool cli_confirm(const char *msg);

/* One step of a verb that takes NAME... (stop, kill, rm, ...): acts on name
 * and returns 0, or < 0 with *err set. It may print its own result. */
typedef int (*cli_each_fn)(struct st_store *s, const char *name, void *ctx,
                           st_error **err);

/* The loop of such verbs: with no name in argv[first..] reports Docker's
 * "\"strata CMD\" requires at least 1 argument." usage error; otherwise
 * opens the store and calls fn(store, name, ctx) for each name in order,
 * printing the name on success when print_name and "Error: ..." on failure,
 * and going on with the next name either way.
 *
 * Returns the exit code: 0 when every call succeeded, 1 when one failed,
 * the store did not open or no name was given. */
int cli_each(const char *cmdname, int argc, char **argv, int first,
             cli_each_fn fn, void *ctx, bool print_name);

/* Parses a reference that names a tag to create ("busybox", "x:v1"):
 * returns the normalized "docker.io/library/busybox:latest" (malloc) or
 * NULL after setting *err (digest references are refused). */
char *cli_tag_name(const char *ref, st_error **err);

/* Docker's short form of a normalized name ("busybox:latest"). */
char *cli_familiar(const char *normalized);

#endif
