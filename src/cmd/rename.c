/* strata rename: rename a container. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static int run_rename(int argc, char **argv);

ST_COMMAND(rename, "rename|container rename", run_rename, "Rename a container",
           "\nUsage:  strata rename CONTAINER NEW_NAME\n\n"
           "Rename a container\n\n"
           "Aliases:\n"
           "  strata container rename, strata rename\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_rename(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'h':
      return cli_usage(&st_cmd_rename);
    default:
      return cli_bad_usage("rename", "unknown flag");
    }
  }
  if (argc - optind != 2)
    return cli_bad_usage("rename",
                         "\"strata rename\" requires exactly 2 arguments.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_container c;
  if (st_container_find(s, argv[optind], &c, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int r = st_container_rename(s, c.id, argv[optind + 1], &err);
  st_container_clear(&c);
  if (r < 0) {
    cli_print_error(err);
    return 1;
  }
  return 0;
}
