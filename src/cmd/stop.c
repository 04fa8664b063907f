/* strata stop: stop running containers. */
#include <getopt.h> /* optind */

#include "cli.h"
#include "runtime/runtime.h"
#include "store/events.h"

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
  if (st_container_stop(s, name, *(int *)timeout, err) < 0)
    return -1;
  st_event_container(s, name, "stop", NULL, NULL);
  return 0;
}

static int run_stop(int argc, char **argv) {
  int timeout;
  int code = cli_parse_stop_timeout(&st_cmd_stop, "stop", argc, argv, &timeout);
  if (code != CLI_GO_ON)
    return code;
  return cli_each("stop", argc, argv, optind, stop_one, &timeout, true);
}
