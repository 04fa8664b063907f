/* strata push: upload an image to a registry. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pull_progress.h"
#include "registry/progress.h"
#include "registry/registry.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_push(int argc, char **argv);

ST_COMMAND(push, "push|image push", run_push, "Upload an image to a registry",
           "\nUsage:  strata push [OPTIONS] NAME[:TAG]\n\n"
           "Upload an image to a registry\n\n"
           "Aliases:\n"
           "  strata image push, strata push\n\n"
           "Options:\n"
           "      --compression-format string   Compression for uncompressed "
           "layers: gzip or zstd (default \"gzip\")\n"
           "      --max-concurrent-uploads int  Layers uploaded at once "
           "(default 3, or\n"
           "                                    max-concurrent-uploads in "
           "daemon.json)\n"
           "  -q, --quiet                       Suppress verbose output\n"
           "      --tls-verify                  Require HTTPS and verify "
           "certificates (default true)\n"
           "  -h, --help                        Print usage\n");

/* Docker's push output: on a terminal each layer keeps its line, redrawn
 * in place as its state changes (as pull's); otherwise one line for each
 * state a layer reaches. */
static void on_event(void *ctx, const st_reg_event *ev) {
  cli_pull_printer *p = ctx;
  if (ev->kind == ST_REG_PUSH_REFERS) {
    printf("The push refers to repository [%s]\n", ev->repo);
    fflush(stdout);
    return;
  }
  if (p->tty) {
    cli_pull_on_event(p, ev);
    return;
  }
  char buf[160];
  if (ev->digest == NULL || !st_reg_event_is_milestone(ev) ||
      st_reg_event_status(ev, false, buf, sizeof(buf)) == NULL)
    return;
  printf("%.12s: %s\n", ev->digest + 7, buf);
  fflush(stdout);
}

static int run_push(int argc, char **argv) {
  static const struct option opts[] = {
      {"compression-format", required_argument, 0, 'C'},
      {"max-concurrent-uploads", required_argument, 0, 'M'},
      {"quiet", no_argument, 0, 'q'},
      {"tls-verify", optional_argument, 0, 'T'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  st_reg_opts o = {0};
  bool quiet = false;
  int c;
  while ((c = cli_getopt(argc, argv, "qh", opts)) != -1) {
    switch (c) {
    case 'C':
      if (strcmp(optarg, "gzip") != 0 && strcmp(optarg, "zstd") != 0)
        return cli_bad_usage("push",
                             "invalid argument \"%s\" for "
                             "\"--compression-format\" flag: gzip "
                             "or zstd",
                             optarg);
      o.compression = optarg;
      break;
    case 'M': {
      char *end = NULL;
      long n = strtol(optarg, &end, 10);
      if (end == optarg || *end != '\0' || n <= 0 || n > 1000)
        return cli_bad_usage("push",
                             "invalid argument \"%s\" for "
                             "\"--max-concurrent-uploads\" flag: a positive "
                             "integer",
                             optarg);
      o.max_concurrent = (int)n;
      break;
    }
    case 'q':
      quiet = true;
      break;
    case 'T':
      if (optarg && strcmp(optarg, "false") == 0)
        o.tls_insecure = true;
      else if (optarg && strcmp(optarg, "true") != 0)
        return cli_bad_usage("push",
                             "invalid argument \"%s\" for "
                             "\"--tls-verify\" flag",
                             optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_push);
    default:
      return cli_bad_flag("push");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("push", "\"strata push\" requires exactly 1 "
                                 "argument.\nUsage:  strata push [OPTIONS] "
                                 "NAME[:TAG]");
  cli_pull_printer printer;
  cli_pull_printer_init(&printer, stdout);
  if (!quiet) {
    o.progress = on_event;
    o.progress_ctx = &printer;
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_push_result r;
  if (st_registry_push(s, argv[optind], &o, &r, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  st_event_image(s, "push", argv[optind], argv[optind]);
  if (quiet)
    printf("%s:%s\n", r.repo, r.tag);
  else
    printf("%s: digest: %s size: %lld\n", r.tag, r.digest, (long long)r.size);
  st_push_result_clear(&r);
  return 0;
}
