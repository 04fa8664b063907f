/* strata diff: changes to a container's file system. */
#include <getopt.h>
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
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'h':
      return cli_usage(&st_cmd_diff);
    default:
      return cli_bad_usage("diff", "unknown flag");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("diff",
                         "\"strata diff\" requires exactly 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
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
