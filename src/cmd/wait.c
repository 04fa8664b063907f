/* strata wait: block until containers stop, print their exit codes. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static int run_wait(int argc, char **argv);

ST_COMMAND(wait, "wait|container wait", run_wait,
           "Block until one or more containers stop, then print their exit "
           "codes",
           "\nUsage:  strata wait CONTAINER [CONTAINER...]\n\n"
           "Block until one or more containers stop, then print their exit "
           "codes\n\n"
           "Aliases:\n"
           "  strata container wait, strata wait\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_wait(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
    return ch == 'h' ? cli_usage(&st_cmd_wait)
                     : cli_bad_usage("wait", "unknown flag");
  if (optind >= argc)
    return cli_bad_usage("wait",
                         "\"strata wait\" requires at least 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  int code = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    int status;
    if (st_container_wait(s, argv[i], &status, &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else {
      printf("%d\n", status);
    }
  }
  return code;
}
