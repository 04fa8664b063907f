/* strata stop: stop running containers. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "runtime/runtime.h"

static int run_stop(int argc, char **argv);

ST_COMMAND(stop, "stop|container stop", run_stop,
           "Stop one or more running containers",
           "\nUsage:  strata stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Stop one or more running containers\n\n"
           "Aliases:\n"
           "  strata container stop, strata stop\n\n"
           "Options:\n"
           "  -t, --time int   Seconds to wait before killing the container "
           "(default 10)\n"
           "  -h, --help       Print usage\n");

static int stop_one(st_store *s, const char *name, void *timeout,
                    st_error **err) {
  return st_container_stop(s, name, *(int *)timeout, err);
}

static int run_stop(int argc, char **argv) {
  static const struct option opts[] = {{"time", required_argument, 0, 't'},
                                       {"timeout", required_argument, 0, 't'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int timeout = 10, ch;
  while ((ch = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
    switch (ch) {
    case 't':
      timeout = atoi(optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_stop);
    default:
      return cli_bad_usage("stop", "unknown flag");
    }
  }
  return cli_each("stop", argc, argv, optind, stop_one, &timeout, true);
}
