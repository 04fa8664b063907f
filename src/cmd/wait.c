/* strata wait: block until containers stop, print their exit codes. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/runtime.h"

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

/* Prints the exit code of the container once it stops. */
static int wait_one(st_store *s, const char *name, void *ctx, st_error **err) {
  int status;
  if (st_container_wait(s, name, &status, err) < 0)
    return -1;
  printf("%d\n", status);
  return 0;
}

static int run_wait(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1)
    return ch == 'h' ? cli_usage(&st_cmd_wait) : cli_bad_flag("wait");
  return cli_each("wait", argc, argv, optind, wait_one, NULL, false);
}
