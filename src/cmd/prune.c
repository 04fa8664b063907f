/* strata image prune: remove dangling (or all unused) images. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "fmt/units.h"
#include "store/prune.h"
#include "util/cleanup.h"

static int run_prune(int argc, char **argv);

ST_COMMAND(image_prune, "image prune", run_prune, "Remove unused images",
           "\nUsage:  strata image prune [OPTIONS]\n\n"
           "Remove unused images\n\n"
           "Options:\n"
           "  -a, --all             Remove all unused images, not just "
           "dangling ones\n"
           "      --filter filter   Provide filter values (e.g. "
           "\"until=<timestamp>\")\n"
           "  -f, --force           Do not prompt for confirmation\n"
           "  -h, --help            Print usage\n");

#define DANGLING_WARNING                                                       \
  "WARNING! This will remove all dangling images.\n"                           \
  "Are you sure you want to continue?"
#define ALL_WARNING                                                            \
  "WARNING! This will remove all images without at least one container "       \
  "associated to them.\nAre you sure you want to continue?"

/* Docker's output: "Deleted Images:", one line per entry, a blank line,
 * then the total; only the total when nothing was removed. */
static void print_report(const st_prune_report *r) {
  if (r->n_entries > 0) {
    fputs("Deleted Images:\n", stdout);
    for (size_t i = 0; i < r->n_entries; i++)
      printf("%s: %s\n",
             r->entries[i].kind == ST_PRUNE_UNTAGGED ? "untagged" : "deleted",
             r->entries[i].what);
    fputc('\n', stdout);
  }
  cleanup_free char *size = st_human_size_prec(r->reclaimed, 4);
  printf("Total reclaimed space: %s\n", size ? size : "?");
  if (r->warning)
    cli_log(LOG_WARN, "%s", r->warning);
}

static int run_prune(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                       {"force", no_argument, 0, 'f'},
                                       {"filter", required_argument, 0, 'F'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  st_prune_opts o = {0};
  cleanup_free const char **filters = calloc((size_t)argc, sizeof(char *));
  if (filters == NULL)
    return cli_fail(1, "out of memory");
  bool force = false;
  int c;
  while ((c = cli_getopt(argc, argv, "afh", opts)) != -1) {
    switch (c) {
    case 'a':
      o.all = true;
      break;
    case 'f':
      force = true;
      break;
    case 'F':
      filters[o.n_filters++] = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_image_prune);
    default:
      return cli_bad_flag("image prune");
    }
  }
  if (optind < argc)
    return cli_bad_usage("image prune",
                         "\"strata image prune\" accepts no arguments.\n"
                         "Usage:  strata image prune [OPTIONS]");
  o.filters = filters;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  /* Refusing is not an error, as in Docker: nothing printed, exit 0. */
  if (!force && !cli_confirm(o.all ? ALL_WARNING : DANGLING_WARNING))
    return 0;
  cleanup_error st_error *err = NULL;
  st_prune_report r;
  if (st_image_prune(s, &o, &r, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  print_report(&r);
  st_prune_report_clear(&r);
  return 0;
}
