/* strata rename: rename a container. */
#include <getopt.h> /* optind */
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
  int code;
  st_store *s =
      cli_start_help_only(&st_cmd_rename, "rename", argc, argv, 2, &code);
  if (s == NULL)
    return code;
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
