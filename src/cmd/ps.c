/* strata ps: list containers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ct_row.h"
#include "fmt/units.h"
#include "fmt/utf8.h"
#include "format.h"
#include "runtime/filter.h"
#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int run_ps(int argc, char **argv);

ST_COMMAND(ps, "ps|container ls|container list|container ps", run_ps,
           "List containers",
           "\nUsage:  strata ps [OPTIONS]\n\n"
           "List containers\n\n"
           "Aliases:\n"
           "  strata container ls, strata container list, strata container "
           "ps, strata ps\n\n"
           "Options:\n"
           "  -a, --all             Show all containers (default shows just "
           "running)\n"
           "  -f, --filter filter   Filter output based on conditions "
           "provided\n"
           "                        (status, name, id, ancestor, label, "
           "exited, health)\n"
           "      --format string   Format output using a custom template\n"
           "  -n, --last int        Show n last created containers (includes "
           "all states)\n"
           "  -l, --latest          Show the latest created container "
           "(includes all states)\n"
           "      --no-trunc        Don't truncate output\n"
           "  -q, --quiet           Only display container IDs\n"
           "  -s, --size            Display total file sizes\n"
           "  -h, --help            Print usage\n");

static const char default_table[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
    "{{.Ports}}\t{{.Names}}";

static const char size_table[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
    "{{.Ports}}\t{{.Names}}\t{{.Size}}";

static const struct st_header_name headers[] = {{"ID", "CONTAINER ID"},
                                                {"Image", "IMAGE"},
                                                {"Command", "COMMAND"},
                                                {"RunningFor", "CREATED"},
                                                {"CreatedAt", "CREATED AT"},
                                                {"Status", "STATUS"},
                                                {"Ports", "PORTS"},
                                                {"Names", "NAMES"},
                                                {"State", "STATE"},
                                                {"Size", "SIZE"},
                                                {NULL, NULL}};

typedef struct ps_opts {
  bool all, quiet, no_trunc, size;
  const char *format;
  long last; /* -n / -l: the last n created, -1: no limit */
  char **filters;
  size_t n_filters;
} ps_opts;

/* Prints the selected rows; the exit code. */
static int list(st_store *s, const ps_opts *o, st_ct_filter *f) {
  cleanup_error st_error *err = NULL;
  st_container *v = NULL;
  size_t n = 0;
  if (st_container_list(s, &v, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  /* -n/-l and a status filter include every state, as Docker. */
  bool all = o->all || o->last >= 0 || st_ct_filter_has(f, "status");
  int64_t now = st_now_ns();
  /* Docker computes sizes for -s and for a template that uses them */
  bool size = o->size || (o->format && strstr(o->format, ".Size"));
  json_t *rows = json_array();
  long shown = 0;
  for (size_t i = 0; i < n && (o->last < 0 || shown < o->last); i++) {
    st_container_refresh(s, &v[i]);
    if (!all && v[i].state != ST_CT_RUNNING)
      continue;
    if (v[i].auto_remove && v[i].state == ST_CT_EXITED)
      continue; /* removed by the refresh */
    if (!st_ct_filter_match(s, f, &v[i]))
      continue;
    shown++;
    if (o->quiet)
      printf("%.*s\n", o->no_trunc ? 64 : 12, v[i].id);
    else
      json_array_append_new(
          rows, cli_container_row(s, &v[i], o->no_trunc, size, now));
  }
  int code =
      o->quiet ? 0
               : cli_print_rows(o->format, o->size ? size_table : default_table,
                                headers, rows);
  json_decref(rows);
  st_containers_free(v, n);
  return code;
}

static int run_ps(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"no-trunc", no_argument, 0, 'N'},
                                       {"format", required_argument, 0, 'F'},
                                       {"filter", required_argument, 0, 'f'},
                                       {"last", required_argument, 0, 'n'},
                                       {"latest", no_argument, 0, 'l'},
                                       {"size", no_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  ps_opts o = {.last = -1};
  cleanup_free char **filters = calloc((size_t)argc + 1, sizeof(char *));
  if (filters == NULL)
    return cli_fail(1, "out of memory");
  o.filters = filters;
  bool all = false, quiet = false, no_trunc = false, size = false;
  const char *format = NULL;
  char *end = NULL;
  int ch;
  while ((ch = cli_getopt(argc, argv, "aqshf:n:l", opts)) != -1) {
    switch (ch) {
    case 'f':
      filters[o.n_filters++] = optarg;
      break;
    case 'n':
      o.last = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end)
        return cli_bad_usage("ps",
                             "invalid argument \"%s\" for \"-n, "
                             "--last\" flag",
                             optarg);
      break;
    case 'l':
      o.last = 1;
      break;
    case 'a':
      all = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 's':
      size = true;
      break;
    case 'N':
      no_trunc = true;
      break;
    case 'F':
      format = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_ps);
    default:
      return cli_bad_flag("ps");
    }
  }
  o.all = all, o.quiet = quiet, o.no_trunc = no_trunc, o.format = format;
  o.size = size;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_ct_filter *f = NULL;
  if (st_ct_filter_parse(s, o.filters, o.n_filters, &f, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int code = list(s, &o, f);
  st_ct_filter_free(f);
  return code;
}
