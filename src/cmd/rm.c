/* strata rm: remove containers. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static int run_rm(int argc, char **argv);

ST_COMMAND(rm, "rm|container rm|container remove", run_rm,
           "Remove one or more containers",
           "\nUsage:  strata rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Remove one or more containers\n\n"
           "Aliases:\n"
           "  strata container rm, strata container remove, strata rm\n\n"
           "Options:\n"
           "  -f, --force     Force the removal of a running container (uses "
           "SIGKILL)\n"
           "  -v, --volumes   Remove anonymous volumes associated with the "
           "container\n"
           "  -h, --help      Print usage\n");

static int run_rm(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                       {"volumes", no_argument, 0, 'v'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool force = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
    switch (ch) {
    case 'f':
      force = true;
      break;
    case 'v':
      break; /* no anonymous volumes yet */
    case 'h':
      return cli_usage(&st_cmd_rm);
    default:
      return cli_bad_usage("rm", "unknown flag");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("rm", "\"strata rm\" requires at least 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  int code = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    if (st_container_remove(s, argv[i], force, &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else {
      printf("%s\n", argv[i]);
    }
  }
  return code;
}
