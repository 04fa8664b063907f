/* strata network connect|disconnect. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "net/network.h"
#include "runtime/runtime.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_network_connect(int argc, char **argv);
static int run_network_disconnect(int argc, char **argv);

ST_COMMAND(network_connect, "network connect", run_network_connect,
           "Connect a container to a network",
           "\nUsage:  strata network connect [OPTIONS] NETWORK CONTAINER\n\n"
           "Connect a container to a network\n\n"
           "Options:\n"
           "      --alias strings   Add network-scoped alias for the "
           "container\n"
           "      --ip string       IPv4 address (e.g., \"172.30.100.104\")\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(network_disconnect, "network disconnect", run_network_disconnect,
           "Disconnect a container from a network",
           "\nUsage:  strata network disconnect [OPTIONS] NETWORK CONTAINER\n\n"
           "Disconnect a container from a network\n\n"
           "Options:\n"
           "  -f, --force   Force the container to disconnect from a network\n"
           "  -h, --help    Print usage\n");

/* Docker's event: the network as actor, the container as an attribute. */
static void emit(st_store *s, const char *action, const char *netref,
                 const char *ctr) {
  st_network n;
  st_error *e = NULL;
  if (st_network_get(s, netref, &n, &e) < 0) {
    st_error_free(e);
    return;
  }
  char id[ST_CONTAINER_ID_LEN] = "";
  st_container c;
  if (st_container_find(s, ctr, &c, &e) == 0) {
    snprintf(id, sizeof(id), "%s", c.id);
    st_container_clear(&c);
  } else {
    st_error_free(e);
  }
  st_event_emit(s, "network", action, n.id,
                json_pack("{s:s, s:s, s:s}", "container", id, "name", n.name,
                          "type", n.driver));
  st_network_clear(&n);
}

static int two_args(const char *cmd, int argc) {
  if (argc - optind == 2)
    return 0;
  cli_bad_usage(cmd,
                "\"strata %s\" requires exactly 2 arguments.\nUsage:  strata "
                "%s [OPTIONS] NETWORK CONTAINER",
                cmd, cmd);
  return -1;
}

static int run_network_connect(int argc, char **argv) {
  static const struct option opts[] = {{"alias", required_argument, 0, 'a'},
                                       {"ip", required_argument, 0, 'i'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  st_net_connect_opts o = {0};
  cleanup_free char **aliases = calloc((size_t)argc + 1, sizeof(char *));
  if (aliases == NULL)
    return cli_fail(1, "out of memory");
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (ch) {
    case 'a':
      aliases[o.n_aliases++] = optarg;
      break;
    case 'i':
      o.ip = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_network_connect);
    default:
      return cli_bad_flag("network connect");
    }
  }
  o.aliases = aliases;
  if (two_args("network connect", argc) < 0)
    return 1;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  if (st_container_net_connect(s, argv[optind + 1], argv[optind], &o, &err) <
      0) {
    cli_print_error(err);
    return 1;
  }
  emit(s, "connect", argv[optind], argv[optind + 1]);
  return 0;
}

static int run_network_disconnect(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool force = false;
  int ch;
  while ((ch = cli_getopt(argc, argv, "fh", opts)) != -1) {
    switch (ch) {
    case 'f':
      force = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_network_disconnect);
    default:
      return cli_bad_flag("network disconnect");
    }
  }
  if (two_args("network disconnect", argc) < 0)
    return 1;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  if (st_container_net_disconnect(s, argv[optind + 1], argv[optind], force,
                                  &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  emit(s, "disconnect", argv[optind], argv[optind + 1]);
  return 0;
}
