/* strata logout: forget registry credentials. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "registry/creds.h"
#include "registry/registry.h"
#include "util/cleanup.h"

static int run_logout(int argc, char **argv);

ST_COMMAND(logout, "logout", run_logout, "Log out from a registry",
           "\nUsage:  strata logout [SERVER]\n\n"
           "Log out from a registry.\n"
           "If no server is specified, the default is docker.io.\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_logout(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (c) {
    case 'h':
      return cli_usage(&st_cmd_logout);
    default:
      return cli_bad_flag("logout");
    }
  }
  if (argc - optind > 1)
    return cli_bad_usage("logout", "\"strata logout\" requires at most 1 "
                                   "argument.\nUsage:  strata logout [SERVER]");
  const char *server = optind < argc ? argv[optind] : "docker.io";
  cleanup_free char *key = st_registry_auth_key(server);
  if (key == NULL)
    return cli_fail(1, "out of memory");
  cleanup_error st_error *err = NULL;
  int r = st_creds_erase(key, &err);
  if (r < 0) {
    cli_print_error(err);
    return 1;
  }
  if (r == 0)
    printf("Not logged in to %s\n", key);
  else
    printf("Removing login credentials for %s\n", key);
  return 0;
}
