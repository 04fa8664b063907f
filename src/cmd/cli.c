#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "runtime/runtime.h"
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

void cli_debug_sink(const char *msg) {
  cli_log(LOG_DEBUG, "%s", msg);
}

/* An option line's flag part ("  -a, --all", "      --format string"):
 * its length, the text up to two spaces or the end; 0 when the line is
 * not an option's first line. */
static size_t flag_part(const char *l, size_t len) {
  bool opt = (len > 3 && l[0] == ' ' && l[1] == ' ' && l[2] == '-') ||
             (len > 7 && strncmp(l, "      --", 8) == 0);
  if (!opt)
    return 0;
  const char *gap = memmem(l, len, "  ", 2);
  while (gap && gap < l + 6) /* the indentation itself */
    gap = memmem(gap + 1, len - (size_t)(gap + 1 - l), "  ", 2);
  return gap ? (size_t)(gap - l) : len;
}

/* Prints a usage text with its option descriptions in one column (the
 * widest flag part plus two spaces, or the column the text already uses
 * when that is wider), continuation lines under the description. */
static void print_usage_text(FILE *f, const char *u) {
  const char *opts = strstr(u, "\nOptions:\n");
  if (opts == NULL) {
    fputs(u, f);
    return;
  }
  opts += strlen("\nOptions:\n");
  const char *end = strstr(opts, "\n\n");
  end = end ? end + 1 : opts + strlen(opts);
  size_t col = 0;
  for (const char *p = opts; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    size_t fp = flag_part(p, len);
    if (fp > 0 && fp + 2 > col)
      col = fp + 2;
    if (fp > 0 && fp < len) { /* the column this line uses */
      size_t at = fp;
      while (at < len && p[at] == ' ')
        at++;
      if (p == opts && at > col)
        col = at;
    }
    p = eol ? eol + 1 : end;
  }
  fwrite(u, 1, (size_t)(opts - u), f);
  for (const char *p = opts; p < end;) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    size_t fp = flag_part(p, len);
    size_t at = fp;
    while (at < len && p[at] == ' ')
      at++;
    if (fp > 0 && at < len) /* flags, then the description */
      fprintf(f, "%-*.*s%.*s\n", (int)col, (int)fp, p, (int)(len - at), p + at);
    else if (fp == 0 && at < len && len > 0 && p[0] == ' ' && at > 8)
      fprintf(f, "%*s%.*s\n", (int)col, "", (int)(len - at), p + at);
    else
      fprintf(f, "%.*s\n", (int)len, p);
    p = eol ? eol + 1 : end;
  }
  fputs(end, f);
}

int cli_usage(const st_command *cmd) {
  print_usage_text(stdout, cmd->usage);
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

/* The last cli_getopt call, for cli_bad_flag. */
static struct {
  int argc;
  char **argv;
  const char *optstring;
  const struct option *longopts;
  int ret;            /* what cli_getopt returned */
  int longidx;        /* the long option getopt_long matched, or -1 */
  const char *abbrev; /* an abbreviated long flag cli_getopt refused */
} last_opt;

/* The argv element that held the long option getopt_long just matched. */
static const char *matched_long_arg(void) {
  int i = optind - 1;
  if (optarg != NULL && i >= 1 && optarg == last_opt.argv[i])
    i--;
  return last_opt.argv[i];
}

int cli_getopt(int argc, char **argv, const char *optstring,
               const struct option *longopts) {
  opterr = 0;
  last_opt.argc = argc;
  last_opt.argv = argv;
  last_opt.optstring = optstring;
  last_opt.longopts = longopts;
  last_opt.longidx = -1;
  last_opt.abbrev = NULL;
  last_opt.ret =
      getopt_long(argc, argv, optstring, longopts, &last_opt.longidx);
  /* getopt_long takes "--nam" for "--name"; Docker does not. */
  if (last_opt.ret != -1 && last_opt.longidx >= 0) {
    const char *arg = matched_long_arg();
    const char *name = longopts[last_opt.longidx].name;
    size_t n = strcspn(arg + 2, "=");
    if (strlen(name) != n) {
      last_opt.abbrev = arg;
      last_opt.ret = '?';
    }
  }
  return last_opt.ret;
}

/* True when arg is a cluster of short flags ("-x", "-abc"). */
static bool is_short_cluster(const char *arg) {
  return arg[0] == '-' && arg[1] != '-' && arg[1] != '\0';
}

/* The remaining shorthands from c on in the cluster getopt stopped in:
 * "Zq" for Z in "-aZq". When c was the cluster's last letter getopt has
 * moved past it (argv[optind-1]); otherwise it still points at it. */
static const char *short_rest(int c) {
  char **argv = last_opt.argv;
  if (optind >= 1 && optind <= last_opt.argc) {
    const char *prev = argv[optind - 1];
    size_t n = strlen(prev);
    if (is_short_cluster(prev) && (unsigned char)prev[n - 1] == c)
      return prev + n - 1;
  }
  if (optind < last_opt.argc && is_short_cluster(argv[optind])) {
    const char *p = strchr(argv[optind] + 1, c);
    if (p)
      return p;
  }
  return NULL;
}

/* True when c is a short flag of optstring (after its +, - or : prefix). */
static bool is_short_flag(int c) {
  const char *o = last_opt.optstring;
  o += strspn(o, "+-:");
  return c > 0 && c < 256 && c != ':' && strchr(o, c) != NULL;
}

/* The long option named exactly by arg ("--name" or "--name=v"), or NULL. */
static const struct option *long_flag(const char *arg) {
  size_t n = strcspn(arg + 2, "=");
  for (const struct option *o = last_opt.longopts; o && o->name; o++)
    if (strncmp(o->name, arg + 2, n) == 0 && o->name[n] == '\0')
      return o;
  return NULL;
}

/* Reports a long flag getopt_long refused (arg is its argv element):
 * unknown, missing its value, or given a value it does not take. */
static void print_bad_long(const char *arg, int c) {
  size_t n = strcspn(arg, "=");
  const struct option *o = c != 0 ? long_flag(arg) : NULL;
  if (o != NULL && o->flag == NULL && o->val == c) {
    if (arg[n] == '=' && o->has_arg == no_argument) {
      fprintf(stderr,
              "invalid argument \"%s\" for \"%.*s\" flag: the flag takes no "
              "value\n",
              arg + n + 1, (int)n, arg);
      return;
    }
    if (arg[n] == '\0' && o->has_arg == required_argument &&
        optind >= last_opt.argc) {
      fprintf(stderr, "flag needs an argument: %s\n", arg);
      return;
    }
  }
  fprintf(stderr, "unknown flag: %.*s\n", (int)n, arg);
}

/* Prints the first line of cli_bad_flag's report. */
static void print_bad_flag(void) {
  int ret = last_opt.ret;
  if (last_opt.abbrev != NULL) {
    print_bad_long(last_opt.abbrev, 0);
    return;
  }
  bool refused = ret != '?' && ret != ':'; /* known, but the verb refuses */
  if (refused && last_opt.longidx >= 0) {
    fprintf(stderr, "unknown flag: --%s\n",
            last_opt.longopts[last_opt.longidx].name);
    return;
  }
  int c = refused ? ret : optopt;
  const char *prev =
      optind >= 1 && optind <= last_opt.argc ? last_opt.argv[optind - 1] : "";
  /* A long flag's error leaves getopt just past it; a short flag's leaves
   * optopt at a letter of a cluster. */
  const struct option *o = long_flag(prev);
  if (!refused && strncmp(prev, "--", 2) == 0 &&
      (c == 0 || (o != NULL && o->val == c) || short_rest(c) == NULL)) {
    print_bad_long(prev, c);
    return;
  }
  const char *rest = short_rest(c);
  if (rest == NULL)
    fprintf(stderr, "unknown shorthand flag: '%c'\n", c);
  else if (!refused && is_short_flag(c))
    fprintf(stderr, "flag needs an argument: '%c' in -%s\n", c, rest);
  else
    fprintf(stderr, "unknown shorthand flag: '%c' in -%s\n", c, rest);
}

int cli_bad_flag(const char *cmdname) {
  if (last_opt.argv == NULL)
    fputs("unknown flag\n", stderr);
  else
    print_bad_flag();
  fprintf(stderr, "See 'strata %s --help'.\n", cmdname);
  return 1;
}

st_store *cli_start_help_only(const st_command *cmd, const char *cmdname,
                              int argc, char **argv, int nargs, int *code) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (ch) {
    case 'h':
      *code = cli_usage(cmd);
      return NULL;
    default:
      *code = cli_bad_flag(cmdname);
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
  *timeout = ST_STOP_TIMEOUT_UNSET; /* the container's, else 10 */
  while ((ch = cli_getopt(argc, argv, "t:h", opts)) != -1) {
    switch (ch) {
    case 't':
      *timeout = atoi(optarg);
      break;
    case 'h':
      return cli_usage(cmd);
    default:
      return cli_bad_flag(cmdname);
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
