#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "store/store.h"

struct cli_globals cli = {NULL, LOG_WARN};

static st_store *opened;

static void close_store(void) {
  st_store_close(opened);
  opened = NULL;
}

st_store *cli_store(void) {
  if (opened)
    return opened;
  cleanup_error st_error *err = NULL;
  if (st_store_open(cli.root, &opened, &err) < 0) {
    cli_print_error(err);
    return NULL;
  }
  atexit(close_store);
  return opened;
}

void cli_print_error(const st_error *err) {
  fprintf(stderr, "Error: %s\n", err && err->msg ? err->msg : "unknown error");
}

int cli_fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("Error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return code;
}

void cli_log(int level, const char *fmt, ...) {
  static const char *names[] = {"error", "warning", "info", "debug"};
  if (level > cli.log_level)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "strata: %s: ", names[level]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_usage(const st_command *cmd) {
  fputs(cmd->usage, stdout);
  return 0;
}

int cli_bad_usage(const char *cmdname, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("Error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nSee 'strata %s --help'.\n", cmdname);
  return 1;
}

st_store *cli_start_help_only(const st_command *cmd, const char *cmdname,
                              int argc, char **argv, int nargs, int *code) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'h':
      *code = cli_usage(cmd);
      return NULL;
    default:
      *code = cli_bad_usage(cmdname, "unknown flag");
      return NULL;
    }
  }
  if (argc - optind != nargs) {
    *code =
        cli_bad_usage(cmdname, "\"strata %s\" requires exactly %d %s.", cmdname,
                      nargs, nargs == 1 ? "argument" : "arguments");
    return NULL;
  }
  *code = 1;
  return cli_store();
}

int cli_parse_stop_timeout(const st_command *cmd, const char *cmdname, int argc,
                           char **argv, int *timeout) {
  static const struct option opts[] = {{"time", required_argument, 0, 't'},
                                       {"timeout", required_argument, 0, 't'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  *timeout = 10;
  while ((ch = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
    switch (ch) {
    case 't':
      *timeout = atoi(optarg);
      break;
    case 'h':
      return cli_usage(cmd);
    default:
      return cli_bad_usage(cmdname, "unknown flag");
    }
  }
  return CLI_GO_ON;
}

int cli_each(const char *cmdname, int argc, char **argv, int first,
             cli_each_fn fn, void *ctx, bool print_name) {
  if (first >= argc)
    return cli_bad_usage(cmdname, "\"strata %s\" requires at least 1 argument.",
                         cmdname);
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  int code = 0;
  for (int i = first; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    if (fn(s, argv[i], ctx, &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else if (print_name) {
      printf("%s\n", argv[i]);
    }
  }
  return code;
}

bool cli_confirm(const char *msg) {
  fprintf(stderr, "%s [y/N] ", msg);
  fflush(stderr);
  char line[64];
  if (fgets(line, sizeof(line), stdin) == NULL)
    return false;
  return line[0] == 'y' || line[0] == 'Y';
}

char *cli_tag_name(const char *ref, st_error **err) {
  st_ref r = {0};
  if (st_ref_parse(ref, &r, err) < 0)
    return NULL;
  char *full = NULL;
  if (r.digest) {
    st_error_set(err, EINVAL,
                 "refusing to create a tag with a digest reference: \"%s\"",
                 ref);
  } else if ((full = st_ref_full(&r)) == NULL) {
    st_error_errno(err, ENOMEM, "tag %s", ref);
  }
  st_ref_clear(&r);
  return full;
}

char *cli_familiar(const char *normalized) {
  return st_ref_familiar(normalized);
}
