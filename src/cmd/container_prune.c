/* strata container prune: remove stopped containers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt/units.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_container_prune(int argc, char **argv);

ST_COMMAND(container_prune, "container prune", run_container_prune,
           "Remove all stopped containers",
           "\nUsage:  strata container prune [OPTIONS]\n\n"
           "Remove all stopped containers\n\n"
           "Options:\n"
           "      --filter filter   Provide filter values (e.g. "
           "\"until=<timestamp>\")\n"
           "  -f, --force           Do not prompt for confirmation\n"
           "  -h, --help            Print usage\n");

/* until=<unix seconds | Go duration like 10m, 24h>. */
static int parse_until(const char *v, int64_t *out) {
  char *end;
  double n = strtod(v, &end);
  if (end == v)
    return -1;
  if (*end == '\0') {
    *out = (int64_t)n;
    return 0;
  }
  double mult = strcmp(end, "s") == 0   ? 1
                : strcmp(end, "m") == 0 ? 60
                : strcmp(end, "h") == 0 ? 3600
                                        : -1;
  if (mult < 0)
    return -1;
  *out = (int64_t)time(NULL) - (int64_t)(n * mult);
  return 0;
}

static int run_container_prune(int argc, char **argv) {
  static const struct option opts[] = {{"filter", required_argument, 0, 'F'},
                                       {"force", no_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool force = false;
  int64_t until = 0;
  int ch;
  while ((ch = cli_getopt(argc, argv, "fh", opts)) != -1) {
    switch (ch) {
    case 'F':
      if (strncmp(optarg, "until=", 6) != 0 ||
          parse_until(optarg + 6, &until) < 0)
        return cli_fail(1, "invalid filter '%s'", optarg);
      break;
    case 'f':
      force = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_container_prune);
    default:
      return cli_bad_flag("container prune");
    }
  }
  if (!force && !cli_confirm("WARNING! This will remove all stopped "
                             "containers.\nAre you sure you want to "
                             "continue?"))
    return 0;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char **ids = NULL;
  size_t n = 0;
  int64_t bytes = 0;
  if (st_containers_prune(s, until, &ids, &n, &bytes, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  if (n)
    printf("Deleted Containers:\n");
  for (size_t i = 0; i < n; i++) {
    printf("%s\n", ids[i]);
    free(ids[i]);
  }
  free(ids);
  if (n)
    printf("\n");
  cleanup_free char *size = st_human_size(bytes);
  printf("Total reclaimed space: %s\n", size ? size : "0B");
  return 0;
}
