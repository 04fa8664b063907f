/* strata rm: remove containers. */
#include <getopt.h>
#include <stdbool.h>

#include "cli.h"
#include "runtime/runtime.h"

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

typedef struct rm_flags {
  bool force, volumes;
} rm_flags;

static int rm_one(st_store *s, const char *name, void *ctx, st_error **err) {
  const rm_flags *f = ctx;
  return st_container_remove_v(s, name, f->force, f->volumes, err);
}

static int run_rm(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                       {"volumes", no_argument, 0, 'v'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  rm_flags f = {false, false};
  int ch;
  while ((ch = cli_getopt(argc, argv, "fvh", opts)) != -1) {
    switch (ch) {
    case 'f':
      f.force = true;
      break;
    case 'v':
      f.volumes = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_rm);
    default:
      return cli_bad_flag("rm");
    }
  }
  return cli_each("rm", argc, argv, optind, rm_one, &f, true);
}
