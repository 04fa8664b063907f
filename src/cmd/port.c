/* strata port: the published ports of a running container. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static int run_port(int argc, char **argv);

ST_COMMAND(port, "port|container port", run_port,
           "List port mappings or a specific mapping for the container",
           "\nUsage:  strata port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n"
           "List port mappings or a specific mapping for the container\n\n"
           "Aliases:\n"
           "  strata container port, strata port\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_port(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    if (ch == 'h')
      return cli_usage(&st_cmd_port);
    return cli_bad_flag("port");
  }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_bad_usage("port",
                         "\"strata port\" requires at least 1 and at most 2 "
                         "arguments.\nUsage:  strata port CONTAINER "
                         "[PRIVATE_PORT[/PROTO]]"),
           1;
  const char *want = optind + 1 < argc ? argv[optind + 1] : NULL;
  char key[64] = "";
  if (want) {
    char *end = NULL;
    long p = strtol(want, &end, 10);
    if (end == want || p <= 0 || p > 65535 ||
        (*end && strcmp(end, "/tcp") && strcmp(end, "/udp")))
      return cli_fail(1, "invalid port (%s): give PORT or PORT/tcp or PORT/udp",
                      want);
    snprintf(key, sizeof(key), "%ld/%s", p, *end ? end + 1 : "tcp");
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  json_t *ports = NULL;
  cleanup_free char *name = NULL;
  if (st_container_ports(s, argv[optind], &ports, &name, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int code = 0;
  const char *k;
  json_t *list;
  bool found = false;
  json_object_foreach(ports, k, list) {
    if (want && strcmp(k, key) != 0)
      continue;
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b) {
      found = true;
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      if (want)
        printf("%s:%s\n", ip ? ip : "", hp ? hp : "");
      else
        printf("%s -> %s:%s\n", k, ip ? ip : "", hp ? hp : "");
    }
  }
  if (want && !found)
    code = cli_fail(1, "No public port '%s' published for %s", key, name);
  json_decref(ports);
  return code;
}
