/* strata update: the resource limits and restart policy of containers. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "container_opts.h"
#include "runtime/manage.h"
#include "runtime/runtime.h"
#include "store/events.h"

static int run_update(int argc, char **argv);

ST_COMMAND(update, "update|container update", run_update,
           "Update configuration of one or more containers",
           "\nUsage:  strata update [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Update configuration of one or more containers\n\n"
           "Aliases:\n"
           "  strata container update, strata update\n\n"
           "Options:\n"
           "      --cpus decimal        Number of CPUs\n"
           "  -m, --memory bytes        Memory limit\n"
           "      --pids-limit int      Tune container pids limit (set -1 "
           "for unlimited)\n"
           "      --restart string      Restart policy to apply when a "
           "container exits\n"
           "  -h, --help                Print usage\n");

static int update_one(st_store *s, const char *name, void *ctx,
                      st_error **err) {
  if (st_container_update(s, name, ctx, err) < 0)
    return -1;
  st_event_container(s, name, "update", NULL, NULL);
  return 0;
}

static int run_update(int argc, char **argv) {
  enum { OPT_CPUS = 256, OPT_PIDS, OPT_RESTART };
  static const struct option opts[] = {
      {"memory", required_argument, 0, 'm'},
      {"cpus", required_argument, 0, OPT_CPUS},
      {"pids-limit", required_argument, 0, OPT_PIDS},
      {"restart", required_argument, 0, OPT_RESTART},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  st_update_opts u = {0};
  st_create_opts o = {0};
  st_restart_policy rp;
  int ch, code;
  bool any = false; /* a flag was given (Docker counts flags, not values) */
  while ((ch = cli_getopt(argc, argv, "m:h", opts)) != -1) {
    any = true;
    switch (ch) {
    case 'm':
      if ((code = cli_resource_value("memory", optarg, "update", &o)) >= 0)
        return 1;
      u.has_memory = o.memory != 0; /* Docker: 0 leaves it as it is */
      u.memory = o.memory;
      break;
    case OPT_CPUS:
      if ((code = cli_resource_value("cpus", optarg, "update", &o)) >= 0)
        return 1;
      u.has_cpus = o.nano_cpus != 0;
      u.nano_cpus = o.nano_cpus;
      break;
    case OPT_PIDS:
      if ((code = cli_resource_value("pids-limit", optarg, "update", &o)) >= 0)
        return 1;
      u.has_pids = o.pids_limit != 0; /* -1: no limit; 0: as it is */
      u.pids_limit = o.pids_limit > 0 ? o.pids_limit : 0;
      break;
    case OPT_RESTART: {
      cleanup_error st_error *err = NULL;
      if (st_restart_policy_parse(optarg, &rp, &err) < 0) {
        cli_print_error(err);
        return 1;
      }
      u.restart = &rp;
      break;
    }
    case 'h':
      return cli_usage(&st_cmd_update);
    default:
      return cli_bad_flag("update");
    }
  }
  if (optind < argc && !any)
    return cli_fail(1, "You must provide one or more flags when using this "
                       "command.");
  return cli_each("update", argc, argv, optind, update_one, &u, true);
}
