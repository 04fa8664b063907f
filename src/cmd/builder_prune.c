/* strata builder prune: forget the build cache. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/build.h"
#include "cli.h"
#include "fmt/units.h"
#include "util/cleanup.h"

static int run_builder_prune(int argc, char **argv);

ST_COMMAND(builder_prune, "builder prune|buildx prune", run_builder_prune,
           "Remove build cache",
           "\nUsage:  strata builder prune [OPTIONS]\n\n"
           "Remove build cache\n\n"
           "Options:\n"
           "  -a, --all             Remove all unused build cache, not just "
           "dangling ones\n"
           "      --filter filter   Provide filter values (e.g. "
           "\"until=24h\")\n"
           "  -f, --force           Do not prompt for confirmation\n"
           "  -h, --help            Print usage\n");

/* "until=24h" / "until=90m" / "until=3600s" -> unix ns; -1 when bad. */
static int64_t parse_until(const char *f) {
  if (strncmp(f, "until=", 6) != 0)
    return -1;
  char *end;
  double v = strtod(f + 6, &end);
  double unit = strcmp(end, "h") == 0   ? 3600
                : strcmp(end, "m") == 0 ? 60
                : strcmp(end, "s") == 0 ? 1
                                        : -1;
  if (end == f + 6 || unit < 0 || v < 0)
    return -1;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec -
         (int64_t)(v * unit * 1e9);
}

static int run_builder_prune(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                       {"force", no_argument, 0, 'f'},
                                       {"filter", required_argument, 0, 'F'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool all = false, force = false;
  int64_t until = 0;
  int c;
  while ((c = cli_getopt(argc, argv, "afh", opts)) != -1) {
    switch (c) {
    case 'a':
      all = true;
      break;
    case 'f':
      force = true;
      break;
    case 'F':
      if ((until = parse_until(optarg)) < 0)
        return cli_bad_usage("builder prune",
                             "invalid filter \"%s\": use until=DURATION "
                             "(e.g. until=24h)",
                             optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_builder_prune);
    default:
      return cli_bad_flag("builder prune");
    }
  }
  if (optind < argc)
    return cli_bad_usage("builder prune",
                         "\"strata builder prune\" accepts no arguments.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  if (!force && !cli_confirm(all ? "WARNING! This will remove all build "
                                   "cache.\nAre you sure you want to "
                                   "continue?"
                                 : "WARNING! This will remove all dangling "
                                   "build cache.\nAre you sure you want to "
                                   "continue?"))
    return 0;
  cleanup_error st_error *err = NULL;
  int64_t n = 0, bytes = 0;
  if (st_build_prune(s, all, until, &n, &bytes, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  cleanup_free char *size = st_human_size_prec(bytes, 4);
  printf("Deleted build cache objects: %lld\nTotal reclaimed space: %s\n",
         (long long)n, size ? size : "?");
  return 0;
}
