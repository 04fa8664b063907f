/* strata restart: stop and start containers again. */
#include <getopt.h> /* optind */

#include "cli.h"
#include "runtime/runtime.h"
#include "store/events.h"

static int run_restart(int argc, char **argv);

ST_COMMAND(restart, "restart|container restart", run_restart,
           "Restart one or more containers",
           "\nUsage:  strata restart [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Restart one or more containers\n\n"
           "Aliases:\n"
           "  strata container restart, strata restart\n\n"
           "Options:\n"
           "  -t, --time int   Seconds to wait before killing the container "
           "(default 10)\n"
           "  -h, --help       Print usage\n");

static int restart_one(st_store *s, const char *name, void *timeout,
                       st_error **err) {
  if (st_container_stop(s, name, *(int *)timeout, err) < 0)
    return -1;
  st_event_container(s, name, "stop", NULL, NULL);
  if (st_container_start_detached(s, name, err) < 0)
    return -1;
  st_event_container(s, name, "restart", NULL, NULL);
  return 0;
}

static int run_restart(int argc, char **argv) {
  int timeout;
  int code =
      cli_parse_stop_timeout(&st_cmd_restart, "restart", argc, argv, &timeout);
  if (code != CLI_GO_ON)
    return code;
  return cli_each("restart", argc, argv, optind, restart_one, &timeout, true);
}
