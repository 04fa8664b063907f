/* strata start: start stopped containers. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static int run_start(int argc, char **argv);

ST_COMMAND(start, "start|container start", run_start,
           "Start one or more stopped containers",
           "\nUsage:  strata start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Start one or more stopped containers\n\n"
           "Aliases:\n"
           "  strata container start, strata start\n\n"
           "Options:\n"
           "  -a, --attach        Attach STDOUT/STDERR and forward signals\n"
           "  -i, --interactive   Attach container's STDIN\n"
           "  -h, --help          Print usage\n");

static int run_start(int argc, char **argv) {
  static const struct option opts[] = {{"attach", no_argument, 0, 'a'},
                                       {"interactive", no_argument, 0, 'i'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool attach = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "aih", opts, NULL)) != -1) {
    switch (ch) {
    case 'a':
    case 'i':
      attach = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_start);
    default:
      return cli_bad_usage("start", "unknown flag");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("start",
                         "\"strata start\" requires at least 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  int code = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    int status = 0;
    if (attach) {
      if (st_container_run(s, argv[i], &status, &err) < 0)
        return cli_print_error(err), 1;
      code = status;
    } else if (st_container_start_detached(s, argv[i], &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else {
      printf("%s\n", argv[i]);
    }
  }
  return code;
}
