/* strata diff: changes to a container's file system. */
#include <getopt.h> /* optind */
#include <stdio.h>

#include "cli.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_diff(int argc, char **argv);

ST_COMMAND(diff, "diff|container diff", run_diff,
           "Inspect changes to files or directories on a container's "
           "filesystem",
           "\nUsage:  strata diff CONTAINER\n\n"
           "Inspect changes to files or directories on a container's "
           "filesystem\n"
           "(A: added, C: changed, D: deleted)\n\n"
           "Aliases:\n"
           "  strata container diff, strata diff\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_diff(int argc, char **argv) {
  int code;
  st_store *s = cli_start_help_only(&st_cmd_diff, "diff", argc, argv, 1, &code);
  if (s == NULL)
    return code;
  cleanup_error st_error *err = NULL;
  st_change *v = NULL;
  size_t n = 0;
  if (st_container_changes(s, argv[optind], &v, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    printf("%c %s\n", st_change_letter(v[i].kind), v[i].path);
  st_changes_free(v, n);
  return 0;
}
