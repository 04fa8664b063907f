/* strata pull: download an image from a registry. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "registry/progress.h"
#include "registry/registry.h"
#include "util/cleanup.h"

static int run_pull(int argc, char **argv);

ST_COMMAND(pull, "pull|image pull", run_pull,
           "Download an image from a registry",
           "\nUsage:  strata pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
           "Download an image from a registry\n\n"
           "Aliases:\n"
           "  strata image pull, strata pull\n\n"
           "Options:\n"
           "      --max-concurrent-downloads int   Parallel layer downloads "
           "(default 3)\n"
           "      --platform string                Set platform if server is "
           "multi-platform capable\n"
           "  -q, --quiet                          Suppress verbose output\n"
           "      --tls-verify                     Require HTTPS and verify "
           "certificates (default true)\n"
           "  -h, --help                           Print usage\n");

/* Per-layer lines; on a terminal each layer keeps its line and is redrawn
 * in place, as Docker does. */
typedef struct printer {
  bool tty;
  char ids[256][13];
  size_t n;
} printer;

static size_t line_of(printer *p, const char *digest) {
  char id[13];
  snprintf(id, sizeof(id), "%.12s", digest + 7);
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->ids[i], id) == 0)
      return i;
  if (p->n == sizeof(p->ids) / sizeof(p->ids[0]))
    return p->n - 1;
  memcpy(p->ids[p->n], id, sizeof(id));
  if (p->tty)
    fputc('\n', stdout);
  return p->n++;
}

static void on_event(void *ctx, const st_reg_event *ev) {
  printer *p = ctx;
  if (ev->kind == ST_REG_PULLING_FROM) {
    printf("%s: Pulling from %s\n", ev->text, ev->repo);
    fflush(stdout);
    return;
  }
  char buf[160];
  if (ev->digest == NULL ||
      st_reg_event_status(ev, p->tty, buf, sizeof(buf)) == NULL)
    return;
  if (!p->tty) {
    if (st_reg_event_is_milestone(ev))
      printf("%.12s: %s\n", ev->digest + 7, buf);
    fflush(stdout);
    return;
  }
  size_t i = line_of(p, ev->digest);
  size_t up = p->n - i;
  printf("\033[%zuA\r\033[2K%.12s: %s\033[%zuB\r", up, ev->digest + 7, buf, up);
  fflush(stdout);
}

static int parse_bool(const char *s, bool *out) {
  if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
    *out = true;
    return 0;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
    *out = false;
    return 0;
  }
  return -1;
}

static int run_pull(int argc, char **argv) {
  static const struct option opts[] = {
      {"all-tags", no_argument, 0, 'a'},
      {"quiet", no_argument, 0, 'q'},
      {"platform", required_argument, 0, 'P'},
      {"tls-verify", optional_argument, 0, 'T'},
      {"max-concurrent-downloads", required_argument, 0, 'M'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  st_reg_opts o = {0};
  bool quiet = false, verify = true;
  int c;
  while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
    switch (c) {
    case 'a':
      return cli_fail(1, "pull --all-tags is not supported yet");
    case 'q':
      quiet = true;
      break;
    case 'P':
      o.platform = optarg;
      break;
    case 'T':
      if (parse_bool(optarg, &verify) < 0)
        return cli_bad_usage("pull",
                             "invalid argument \"%s\" for "
                             "\"--tls-verify\" flag",
                             optarg);
      break;
    case 'M':
      o.max_concurrent = atoi(optarg);
      if (o.max_concurrent <= 0)
        return cli_bad_usage("pull",
                             "invalid argument \"%s\" for "
                             "\"--max-concurrent-downloads\" flag",
                             optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_pull);
    default:
      return cli_bad_usage("pull", "unknown flag");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("pull", "\"strata pull\" requires exactly 1 "
                                 "argument.\nUsage:  strata pull [OPTIONS] "
                                 "NAME[:TAG|@DIGEST]");
  o.tls_insecure = !verify;
  printer p = {.tty = isatty(STDOUT_FILENO) == 1};
  if (!quiet) {
    o.progress = on_event;
    o.progress_ctx = &p;
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_pull_result r;
  if (st_registry_pull(s, argv[optind], &o, &r, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  if (quiet) {
    printf("%s\n", r.name);
  } else {
    cleanup_free char *fam = cli_familiar(r.name);
    printf("Digest: %s\n", r.digest);
    printf("Status: %s for %s\n",
           r.up_to_date ? "Image is up to date" : "Downloaded newer image",
           fam ? fam : r.name);
    printf("%s\n", r.name);
  }
  st_pull_result_clear(&r);
  return 0;
}
