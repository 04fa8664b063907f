/* strata pause / unpause: freeze and thaw every process of containers. */
#include <getopt.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "store/events.h"

static int run_pause(int argc, char **argv);
static int run_unpause(int argc, char **argv);

ST_COMMAND(pause, "pause|container pause", run_pause,
           "Pause all processes within one or more containers",
           "\nUsage:  strata pause CONTAINER [CONTAINER...]\n\n"
           "Pause all processes within one or more containers\n\n"
           "Aliases:\n"
           "  strata container pause, strata pause\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

ST_COMMAND(unpause, "unpause|container unpause", run_unpause,
           "Unpause all processes within one or more containers",
           "\nUsage:  strata unpause CONTAINER [CONTAINER...]\n\n"
           "Unpause all processes within one or more containers\n\n"
           "Aliases:\n"
           "  strata container unpause, strata unpause\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int pause_one(st_store *s, const char *name, void *ctx, st_error **err) {
  (void)ctx;
  if (st_container_pause(s, name, err) < 0)
    return -1;
  st_event_container(s, name, "pause", NULL, NULL);
  return 0;
}

static int unpause_one(st_store *s, const char *name, void *ctx,
                       st_error **err) {
  (void)ctx;
  if (st_container_unpause(s, name, err) < 0)
    return -1;
  st_event_container(s, name, "unpause", NULL, NULL);
  return 0;
}

static int run_either(int argc, char **argv, const st_command *cmd,
                      const char *name, cli_each_fn fn) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (ch) {
    case 'h':
      return cli_usage(cmd);
    default:
      return cli_bad_flag(name);
    }
  }
  return cli_each(name, argc, argv, optind, fn, NULL, true);
}

static int run_pause(int argc, char **argv) {
  return run_either(argc, argv, &st_cmd_pause, "pause", pause_one);
}

static int run_unpause(int argc, char **argv) {
  return run_either(argc, argv, &st_cmd_unpause, "unpause", unpause_one);
}
