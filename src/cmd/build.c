/* strata build: an image from a Dockerfile, with progress printed the way
 * BuildKit's plain output does (plus why each rebuilt step missed). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/build.h"
#include "build_tty.h"
#include "cli.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int run_build(int argc, char **argv);

ST_COMMAND(
    build, "build|image build|builder build", run_build,
    "Build an image from a Dockerfile",
    "\nUsage:  strata build [OPTIONS] PATH | -\n\n"
    "Build an image from a Dockerfile\n\n"
    "Aliases:\n"
    "  strata image build, strata build, strata builder build\n\n"
    "Options:\n"
    "      --build-arg stringArray   Set build-time variables\n"
    "      --check                   Check the Dockerfile without building "
    "(exit 1\n"
    "                                when a check finds something; "
    "--verbose explains)\n"
    "  -f, --file string             Name of the Dockerfile (default: "
    "\"PATH/Dockerfile\")\n"
    "      --iidfile string          Write the image ID to the file\n"
    "      --label stringArray       Set metadata for an image\n"
    "      --network string          Set the networking mode for the RUN "
    "instructions\n"
    "                                during build (default \"host\"; "
    "\"none\")\n"
    "      --no-cache                Do not use cache when building the "
    "image\n"
    "      --platform string         Set target platform for build (only "
    "the host's)\n"
    "      --progress string         Set type of progress output (\"auto\", "
    "\"plain\",\n"
    "                                \"tty\", \"quiet\") (default \"auto\")\n"
    "      --pull                    Always attempt to pull all referenced "
    "images\n"
    "      --secret stringArray      Secret to expose to the build (format: "
    "\"id=mysecret[,src=/local/secret]\")\n"
    "      --ssh stringArray         SSH agent socket to expose to the build "
    "(format:\n"
    "                                \"default|<id>[=<socket>]\")\n"
    "  -q, --quiet                   Suppress the build output and print "
    "image ID on\n"
    "                                success\n"
    "  -t, --tag stringArray         Name and optionally a tag (format: "
    "\"name:tag\")\n"
    "      --target string           Set the target build stage to build\n"
    "  -h, --help                    Print usage\n");

/* ---- progress ----------------------------------------------------------- */

typedef struct progress {
  FILE *out;
  bool quiet;
  build_tty *tty; /* --progress=tty (or auto on a terminal) */
  int last_step;  /* the step the last lines were about */
  char *tail[6];  /* the last output lines of the running step */
  size_t n_tail;
  char *failed; /* name of the step that failed */
} progress;

static void tail_clear(progress *p) {
  for (size_t i = 0; i < p->n_tail; i++)
    free(p->tail[i]);
  p->n_tail = 0;
}

static void tail_add(progress *p, const char *line) {
  if (p->n_tail == sizeof(p->tail) / sizeof(p->tail[0])) {
    free(p->tail[0]);
    memmove(p->tail, p->tail + 1, (p->n_tail - 1) * sizeof(char *));
    p->n_tail--;
  }
  p->tail[p->n_tail++] = strdup(line);
}

static void on_event(void *ctx, const st_build_event *ev) {
  progress *p = ctx;
  FILE *o = p->out;
  if (p->tty && ev->kind != ST_BUILD_WARNING) {
    if (ev->kind == ST_BUILD_STEP_START)
      tail_clear(p);
    if (ev->kind == ST_BUILD_STEP_OUTPUT)
      tail_add(p, ev->text);
    if (ev->kind == ST_BUILD_STEP_ERROR) {
      free(p->failed);
      p->failed = strdup(ev->name ? ev->name : "");
    }
    build_tty_event(p->tty, ev);
    return;
  }
  switch (ev->kind) {
  case ST_BUILD_STEP_START:
    tail_clear(p);
    if (!p->quiet)
      fprintf(o, "%s#%d %s\n", p->last_step ? "\n" : "", ev->step, ev->name);
    p->last_step = ev->step;
    break;
  case ST_BUILD_STEP_CACHED:
    if (!p->quiet)
      fprintf(o, "#%d CACHED\n", ev->step);
    break;
  case ST_BUILD_STEP_MISS:
    if (!p->quiet)
      fprintf(o, "#%d cache miss: %s\n", ev->step, ev->text);
    break;
  case ST_BUILD_STEP_OUTPUT:
    tail_add(p, ev->text);
    if (!p->quiet)
      fprintf(o, "#%d %.3f %s\n", ev->step, ev->seconds, ev->text);
    break;
  case ST_BUILD_STEP_INFO:
    if (!p->quiet)
      fprintf(o, "#%d %s\n", ev->step, ev->text);
    break;
  case ST_BUILD_STEP_DONE:
    if (!p->quiet)
      fprintf(o, "#%d DONE %.1fs\n", ev->step, ev->seconds);
    break;
  case ST_BUILD_STEP_ERROR:
    free(p->failed);
    p->failed = strdup(ev->name ? ev->name : "");
    if (!p->quiet)
      fprintf(o, "#%d ERROR: %s\n", ev->step, ev->text);
    break;
  case ST_BUILD_WARNING:
    fprintf(o, "%s[Warning] %s\n", p->quiet ? "" : "\n", ev->text);
    break;
  default:
    break;
  }
  fflush(o);
}

/* BuildKit's failure block: the failed step's last output lines and the
 * Dockerfile lines around the failing one. */
static void print_failure(progress *p, const st_error *err, const char *df,
                          size_t df_len, const char *df_name) {
  FILE *o = p->out;
  if (p->failed) {
    fprintf(o, "------\n > %s:\n", p->failed);
    for (size_t i = 0; i < p->n_tail; i++)
      fprintf(o, "%s\n", p->tail[i] ? p->tail[i] : "");
    fprintf(o, "------\n");
  }
  size_t nl = strlen(df_name);
  const char *m = err ? err->msg : NULL;
  int line = 0;
  if (m && strncmp(m, df_name, nl) == 0 && m[nl] == ':')
    line = atoi(m + nl + 1);
  if (line <= 0 || df == NULL)
    return;
  fprintf(o, "%s:%d\n--------------------\n", df_name, line);
  int n = 1;
  const char *s = df, *end = df + df_len;
  while (s < end) {
    const char *e = memchr(s, '\n', (size_t)(end - s));
    size_t len = e ? (size_t)(e - s) : (size_t)(end - s);
    if (n >= line - 2 && n <= line + 2)
      fprintf(o, " %3d | %s %.*s\n", n, n == line ? ">>>" : "   ", (int)len, s);
    n++;
    s = e ? e + 1 : end;
  }
  fprintf(o, "--------------------\n");
}

/* ---- inputs ------------------------------------------------------------- */

static int read_all(int fd, char **out, size_t *len) {
  st_buf b = ST_BUF_INIT;
  char chunk[65536];
  for (;;) {
    ssize_t k = read(fd, chunk, sizeof(chunk));
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      st_buf_free(&b);
      return -1;
    }
    if (k == 0)
      break;
    if (st_buf_append(&b, chunk, (size_t)k) < 0) {
      st_buf_free(&b);
      return -1;
    }
  }
  *len = b.len;
  *out = b.data ? st_buf_steal(&b) : strdup("");
  return *out ? 0 : -1;
}

static int read_file(const char *path, char **out, size_t *len) {
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  return read_all(fd, out, len);
}

typedef struct inputs {
  char *df, *ignore;
  size_t df_len, ignore_len;
  char *df_name;
} inputs;

static void inputs_clear(inputs *in) {
  free(in->df);
  free(in->ignore);
  free(in->df_name);
}

/* The Dockerfile (-f, else CONTEXT/Dockerfile) and the .dockerignore that
 * goes with it (<Dockerfile>.dockerignore beside it, else
 * CONTEXT/.dockerignore). */
static int load_inputs(const char *context, const char *file, inputs *in) {
  cleanup_free char *path = NULL, *ign = NULL;
  if (file && strcmp(file, "-") == 0) {
    if (read_all(0, &in->df, &in->df_len) < 0)
      return cli_fail(1, "read the Dockerfile from standard input: %s",
                      strerror(errno));
    in->df_name = strdup("Dockerfile");
  } else {
    if (file)
      path = strdup(file);
    else if (asprintf(&path, "%s/Dockerfile", context) < 0)
      path = NULL;
    if (path && file == NULL && access(path, F_OK) < 0) {
      cleanup_free char *lower = NULL;
      if (asprintf(&lower, "%s/dockerfile", context) > 0 &&
          access(lower, F_OK) == 0) {
        free(path);
        path = steal_pointer(&lower);
      }
    }
    if (path == NULL || read_file(path, &in->df, &in->df_len) < 0)
      return cli_fail(1, "failed to read dockerfile: open %s: %s",
                      path ? path : "Dockerfile", strerror(errno));
    const char *base = strrchr(path, '/');
    in->df_name = strdup(base ? base + 1 : path);
    if (asprintf(&ign, "%s.dockerignore", path) > 0 &&
        read_file(ign, &in->ignore, &in->ignore_len) == 0)
      return 0;
  }
  free(ign);
  ign = NULL;
  if (asprintf(&ign, "%s/.dockerignore", context) > 0 &&
      read_file(ign, &in->ignore, &in->ignore_len) < 0 && errno != ENOENT)
    return cli_fail(1, "read %s: %s", ign, strerror(errno));
  return 0;
}

/* ---- flags -------------------------------------------------------------- */

typedef struct args {
  st_build_opts o;
  st_build_secret *secrets;
  st_build_ssh *ssh;
  const char **tags, **build_args, **labels;
  const char *file, *iidfile, *progress;
  bool quiet, check, verbose;
} args;

enum {
  OPT_BUILD_ARG = 256,
  OPT_TARGET,
  OPT_NO_CACHE,
  OPT_PULL,
  OPT_LABEL,
  OPT_IIDFILE,
  OPT_PROGRESS,
  OPT_NETWORK,
  OPT_CHECK,
  OPT_PLATFORM,
  OPT_VERBOSE,
  OPT_SECRET,
  OPT_SSH,
  OPT_IGNORED,
};

/* --secret id=ID[,src=FILE|source=FILE][,env=VAR][,type=file|env]. The
 * strings point into arg (argv), which lives as long as the build. */
static int parse_secret(char *arg, st_build_secret *out) {
  *out = (st_build_secret){0};
  const char *type = NULL;
  for (char *next = arg, *kv; next;) {
    kv = next;
    next = strchr(next, ',');
    if (next)
      *next++ = '\0';
    char *eq = strchr(kv, '=');
    if (eq == NULL)
      return cli_fail(1, "invalid --secret: \"%s\" is not key=value", kv);
    *eq = '\0';
    const char *v = eq + 1;
    if (strcmp(kv, "id") == 0)
      out->id = v;
    else if (strcmp(kv, "src") == 0 || strcmp(kv, "source") == 0)
      out->src = v;
    else if (strcmp(kv, "env") == 0)
      out->env = v;
    else if (strcmp(kv, "type") == 0)
      type = v;
    else
      return cli_fail(1, "invalid --secret: unknown key %s", kv);
  }
  if (out->id == NULL || *out->id == '\0')
    return cli_fail(1, "invalid --secret: id=ID is required");
  if (type && strcmp(type, "env") == 0 && out->src) {
    out->env = out->src;
    out->src = NULL;
  }
  if (out->src == NULL && out->env == NULL && getenv(out->id) == NULL)
    return cli_fail(1, "invalid --secret id=%s: give src=FILE or env=VAR",
                    out->id);
  if (out->src && access(out->src, R_OK) < 0)
    return cli_fail(1, "secret %s: cannot read %s: %s", out->id, out->src,
                    strerror(errno));
  return 0;
}

/* --ssh default|ID[=SOCKET]: an agent socket ("default" alone: the one
 * $SSH_AUTH_SOCK names). Key files (Docker starts an agent holding them)
 * are refused with a hint rather than silently ignored. */
static int parse_ssh(char *arg, st_build_ssh *out) {
  *out = (st_build_ssh){.id = arg};
  char *eq = strchr(arg, '=');
  if (eq) {
    *eq = '\0';
    out->socket = eq + 1;
  }
  if (*out->id == '\0')
    return cli_fail(1, "invalid --ssh: give default or ID[=SOCKET]");
  if (out->socket == NULL || *out->socket == '\0')
    out->socket = getenv("SSH_AUTH_SOCK");
  if (out->socket == NULL || *out->socket == '\0')
    return cli_fail(1,
                    "invalid --ssh %s: SSH_AUTH_SOCK is not set; start an "
                    "agent (ssh-agent) or give --ssh %s=SOCKET",
                    out->id, out->id);
  struct stat sb;
  if (stat(out->socket, &sb) < 0)
    return cli_fail(1, "invalid --ssh %s: %s: %s", out->id, out->socket,
                    strerror(errno));
  if (!S_ISSOCK(sb.st_mode))
    return cli_fail(1,
                    "invalid --ssh %s: %s is not an agent socket (strata "
                    "forwards a running ssh-agent; load keys with ssh-add)",
                    out->id, out->socket);
  return 0;
}

static int parse_flag(args *a, int ch, char **tags_out, size_t *nt) {
  switch (ch) {
  case 't':
    a->tags[(*nt)++] = optarg;
    break;
  case 'f':
    a->file = optarg;
    break;
  case 'q':
    a->quiet = true;
    break;
  case OPT_BUILD_ARG:
    a->build_args[a->o.n_build_args++] = optarg;
    break;
  case OPT_TARGET:
    a->o.target = optarg;
    break;
  case OPT_NO_CACHE:
    a->o.no_cache = true;
    break;
  case OPT_PULL:
    a->o.pull = true;
    break;
  case OPT_LABEL:
    a->labels[a->o.n_labels++] = optarg;
    break;
  case OPT_IIDFILE:
    a->iidfile = optarg;
    break;
  case OPT_PROGRESS:
    a->progress = optarg;
    break;
  case OPT_NETWORK:
    a->o.network = optarg;
    break;
  case OPT_CHECK:
    a->check = true;
    break;
  case OPT_VERBOSE:
    a->verbose = true;
    break;
  case OPT_SECRET:
    if (parse_secret(optarg, &a->secrets[a->o.n_secrets]) != 0)
      return -2;
    a->o.n_secrets++;
    break;
  case OPT_SSH:
    if (parse_ssh(optarg, &a->ssh[a->o.n_ssh]) != 0)
      return -2;
    a->o.n_ssh++;
    break;
  case OPT_PLATFORM:
  case OPT_IGNORED:
    break;
  default:
    return -1;
  }
  (void)tags_out;
  return 0;
}

static int parse_args(int argc, char **argv, args *a, size_t *n_tags) {
  static const struct option opts[] = {
      {"tag", required_argument, 0, 't'},
      {"file", required_argument, 0, 'f'},
      {"quiet", no_argument, 0, 'q'},
      {"build-arg", required_argument, 0, OPT_BUILD_ARG},
      {"target", required_argument, 0, OPT_TARGET},
      {"no-cache", no_argument, 0, OPT_NO_CACHE},
      {"pull", no_argument, 0, OPT_PULL},
      {"label", required_argument, 0, OPT_LABEL},
      {"iidfile", required_argument, 0, OPT_IIDFILE},
      {"progress", required_argument, 0, OPT_PROGRESS},
      {"network", required_argument, 0, OPT_NETWORK},
      {"check", no_argument, 0, OPT_CHECK},
      {"verbose", no_argument, 0, OPT_VERBOSE},
      {"secret", required_argument, 0, OPT_SECRET},
      {"ssh", required_argument, 0, OPT_SSH},
      {"platform", required_argument, 0, OPT_PLATFORM},
      {"rm", optional_argument, 0, OPT_IGNORED},
      {"force-rm", optional_argument, 0, OPT_IGNORED},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "t:f:qh", opts)) != -1) {
    if (ch == 'h')
      return 2;
    int r = parse_flag(a, ch, NULL, n_tags);
    if (r < 0)
      return r;
  }
  return 0;
}

static int check_flags(const args *a) {
  if (a->progress && strcmp(a->progress, "auto") &&
      strcmp(a->progress, "plain") && strcmp(a->progress, "tty") &&
      strcmp(a->progress, "quiet") && strcmp(a->progress, "rawjson"))
    return cli_bad_usage("build",
                         "invalid progress mode \"%s\": use auto, "
                         "plain, tty or quiet",
                         a->progress);
  if (a->o.network && strcmp(a->o.network, "host") &&
      strcmp(a->o.network, "none") && strcmp(a->o.network, "default"))
    return cli_bad_usage("build",
                         "network mode \"%s\" not supported by "
                         "strata build: use host or none",
                         a->o.network);
  return 0;
}

/* `--check`: findings as "Dockerfile:LINE: Rule: message", the
 * explanation under each with --verbose, then Docker's summary line. */
static int print_checks(st_store *s, args *a) {
  cleanup_error st_error *err = NULL;
  st_lint_finding *f = NULL;
  size_t n = 0;
  bool error = false;
  if (st_build_check(s, &a->o, &f, &n, &error, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    printf("%s:%d: %s: %s\n", a->o.dockerfile_name, f[i].line, f[i].rule,
           f[i].message);
    if (a->verbose && f[i].description)
      printf("  %s\n", f[i].description);
    for (const char *p = a->verbose ? f[i].explain : NULL; p && *p;) {
      size_t len = strcspn(p, "\n");
      printf("  %.*s\n", (int)len, p);
      p += len + (p[len] == '\n');
    }
  }
  if (n == 0)
    printf("Check complete, no warnings found.\n");
  else
    printf("Check complete, %zu warning%s been found!\n", n,
           n == 1 ? " has" : "s have");
  st_lint_free(f, n);
  return n ? 1 : 0;
}

static int write_iidfile(const char *path, const char *id) {
  FILE *f = fopen(path, "w");
  if (f == NULL || fputs(id, f) < 0 || fclose(f) != 0)
    return cli_fail(1, "write the image ID to %s: %s", path, strerror(errno));
  return 0;
}

static int do_build(args *a, const char *context, char *stdin_df,
                    size_t stdin_len) {
  inputs in = {0};
  int rc = 0;
  if (stdin_df) { /* `build - < Dockerfile` */
    in.df = stdin_df;
    in.df_len = stdin_len;
    in.df_name = strdup("Dockerfile");
  } else {
    rc = load_inputs(context, a->file, &in);
  }
  if (rc) {
    inputs_clear(&in);
    return rc;
  }
  st_store *s = cli_store();
  if (s == NULL) {
    inputs_clear(&in);
    return 1;
  }
  bool quiet = a->quiet || (a->progress && strcmp(a->progress, "quiet") == 0);
  /* RUN steps put the container's output on fds 1 and 2 for a while: the
   * progress writes to a stream of its own */
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
  FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (out == NULL) {
    inputs_clear(&in);
    return cli_fail(1, "stderr: %s", strerror(errno));
  }
  progress p = {.out = out, .quiet = quiet};
  bool tty = a->progress ? strcmp(a->progress, "tty") == 0
                         : isatty(fd) && getenv("CI") == NULL;
  if (a->progress && strcmp(a->progress, "auto") == 0)
    tty = isatty(fd) && getenv("CI") == NULL;
  if (tty && !quiet)
    p.tty = build_tty_new(out);
  a->o.context = context;
  a->o.dockerfile = in.df;
  a->o.dockerfile_len = in.df_len;
  a->o.dockerfile_name = in.df_name;
  a->o.ignore_text = in.ignore;
  a->o.ignore_len = in.ignore_len;
  a->o.progress = on_event;
  a->o.progress_ctx = &p;
  if (a->o.network && strcmp(a->o.network, "default") == 0)
    a->o.network = NULL;
  if (a->check) {
    rc = print_checks(s, a);
    fclose(out);
    inputs_clear(&in);
    return rc;
  }
  cleanup_error st_error *err = NULL;
  char id[ST_DIGEST_LEN];
  rc = 0;
  int built = st_build(s, &a->o, id, &err);
  if (p.tty) {
    build_tty_finish(p.tty);
    build_tty_free(p.tty);
    p.tty = NULL;
  }
  if (built < 0) {
    print_failure(&p, err, in.df, in.df_len, in.df_name);
    fflush(out);
    cli_print_error(err);
    rc = 1;
  } else {
    if (quiet)
      printf("%s\n", id);
    if (a->iidfile)
      rc = write_iidfile(a->iidfile, id);
  }
  tail_clear(&p);
  free(p.failed);
  fclose(out);
  inputs_clear(&in);
  return rc;
}

/* `build -`: the context (a tar) or the Dockerfile on standard input. */
static int build_stdin(args *a) {
  if (a->file && strcmp(a->file, "-") == 0)
    return cli_fail(1, "invalid argument: can't use stdin for both build "
                       "context and dockerfile");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char *dir = NULL, *df = NULL;
  size_t len = 0;
  if (st_build_stdin(s, 0, &dir, &df, &len, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int r = do_build(a, dir, df, len);
  st_error *ignored = NULL;
  if (st_rm_rf(dir, &ignored) < 0)
    st_error_free(ignored);
  free(dir);
  return r;
}

static int run_build(int argc, char **argv) {
  size_t cap = (size_t)argc + 1;
  cleanup_free const char **tags = calloc(cap, sizeof(char *));
  cleanup_free const char **bargs = calloc(cap, sizeof(char *));
  cleanup_free const char **labels = calloc(cap, sizeof(char *));
  cleanup_free st_build_secret *secrets = calloc(cap, sizeof(*secrets));
  cleanup_free st_build_ssh *ssh = calloc(cap, sizeof(*ssh));
  if (tags == NULL || bargs == NULL || labels == NULL || secrets == NULL ||
      ssh == NULL)
    return cli_fail(1, "out of memory");
  args a = {.tags = tags,
            .build_args = bargs,
            .labels = labels,
            .secrets = secrets,
            .ssh = ssh};
  size_t n_tags = 0;
  int r = parse_args(argc, argv, &a, &n_tags);
  if (r == 2)
    return cli_usage(&st_cmd_build);
  if (r == -2)
    return 1; /* a bad --secret or --ssh, already reported */
  if (r < 0)
    return cli_bad_flag("build");
  if (check_flags(&a))
    return 1;
  if (argc - optind != 1)
    return cli_bad_usage("build", "\"strata build\" requires exactly 1 "
                                  "argument.");
  const char *context = argv[optind];
  cleanup_free char **norm = calloc(n_tags + 1, sizeof(char *));
  cleanup_error st_error *err = NULL;
  for (size_t i = 0; norm && i < n_tags; i++)
    if ((norm[i] = cli_tag_name(tags[i], &err)) == NULL) {
      cli_print_error(err);
      for (size_t k = 0; k < i; k++)
        free(norm[k]);
      return 1;
    }
  a.o.tags = (const char *const *)norm;
  a.o.n_tags = n_tags;
  a.o.build_args = (char *const *)bargs;
  a.o.labels = (char *const *)labels;
  a.o.secrets = secrets;
  a.o.ssh = ssh;
  struct stat sb;
  if (strcmp(context, "-") == 0)
    r = build_stdin(&a);
  else if (stat(context, &sb) < 0 || !S_ISDIR(sb.st_mode))
    r = cli_fail(1,
                 "unable to prepare context: path \"%s\" not found or not "
                 "a directory",
                 context);
  else
    r = do_build(&a, context, NULL, 0);
  for (size_t i = 0; norm && i < n_tags; i++)
    free(norm[i]);
  return r;
}
