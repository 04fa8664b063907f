/* strata ps: list containers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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
           "exited)\n"
           "      --format string   Format output using a custom template\n"
           "  -n, --last int        Show n last created containers (includes "
           "all states)\n"
           "  -l, --latest          Show the latest created container "
           "(includes all states)\n"
           "      --no-trunc        Don't truncate output\n"
           "  -q, --quiet           Only display container IDs\n"
           "  -h, --help            Print usage\n");

static const char default_table[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
    "{{.Ports}}\t{{.Names}}";

static const struct st_header_name headers[] = {
    {"ID", "CONTAINER ID"},      {"Image", "IMAGE"},
    {"Command", "COMMAND"},      {"RunningFor", "CREATED"},
    {"CreatedAt", "CREATED AT"}, {"Status", "STATUS"},
    {"Ports", "PORTS"},          {"Names", "NAMES"},
    {"State", "STATE"},          {NULL, NULL}};

static char *status_text(const st_container *c, int64_t now) {
  char *out = NULL;
  switch (c->state) {
  case ST_CT_CREATED:
    return strdup("Created");
  case ST_CT_RUNNING: {
    cleanup_free char *d = st_human_duration((now - c->started) / 1000000000);
    if (asprintf(&out, "Up %s", d ? d : "") < 0)
      return NULL;
    return out;
  }
  case ST_CT_EXITED:
  default: {
    cleanup_free char *d = st_human_duration((now - c->finished) / 1000000000);
    if (asprintf(&out, "Exited (%d) %s ago", c->exit_code, d ? d : "") < 0)
      return NULL;
    return out;
  }
  }
}

/* Appends c to b as Go's strconv.Quote writes it inside a string. */
static void quote_byte(st_buf *b, unsigned char c) {
  static const char esc[] = "\a\b\t\n\v\f\r";
  static const char letter[] = "abtnvfr";
  const char *e = c != 0 ? strchr(esc, c) : NULL;
  if (c == '"' || c == '\\') {
    char two[2] = {'\\', (char)c};
    st_buf_append(b, two, 2);
  } else if (e != NULL) {
    char two[2] = {'\\', letter[e - esc]};
    st_buf_append(b, two, 2);
  } else if (c < 0x20 || c == 0x7f) {
    st_buf_printf(b, "\\x%02x", c);
  } else {
    st_buf_append(b, (const char *)&c, 1);
  }
}

/* Docker's COMMAND column: cut to 20 characters with an ellipsis, then
 * quoted as Go's %q does (inner quotes show as \"). */
static char *command_text(const char *cmd, bool no_trunc) {
  st_buf b = ST_BUF_INIT;
  size_t len = strlen(cmd), end = len, runes = 0;
  for (size_t i = 0; i < len; runes++) {
    uint32_t r;
    size_t step = st_utf8_decode((const unsigned char *)cmd + i, len - i, &r);
    if (runes == 19)
      end = i;
    i += step;
  }
  bool cut = !no_trunc && runes > 20;
  st_buf_append(&b, "\"", 1);
  for (size_t i = 0; i < (cut ? end : len); i++)
    quote_byte(&b, (unsigned char)cmd[i]);
  if (cut)
    st_buf_append(&b, "…", strlen("…"));
  st_buf_append(&b, "\"", 1);
  return st_buf_steal(&b);
}

static json_t *row(st_store *s, const st_container *c, bool no_trunc,
                   int64_t now) {
  cleanup_free char *ports = st_container_ports_text(s, c);
  cleanup_free char *status = status_text(c, now);
  cleanup_free char *cmd = command_text(c->command, no_trunc);
  cleanup_free char *since =
      st_created_since(c->created / 1000000000, now / 1000000000);
  cleanup_free char *at = st_format_created_at(c->created / 1000000000);
  return json_pack("{s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                   c->id, no_trunc ? (size_t)64 : (size_t)12, "Image",
                   c->image_ref, "Command", cmd ? cmd : "", "RunningFor",
                   since ? since : "", "CreatedAt", at ? at : "", "Status",
                   status ? status : "", "Ports", ports ? ports : "", "Names",
                   c->name, "State", st_ct_state_name(c->state));
}

typedef struct ps_opts {
  bool all, quiet, no_trunc;
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
      json_array_append_new(rows, row(s, &v[i], o->no_trunc, now));
  }
  int code =
      o->quiet ? 0 : cli_print_rows(o->format, default_table, headers, rows);
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
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  ps_opts o = {.last = -1};
  cleanup_free char **filters = calloc((size_t)argc + 1, sizeof(char *));
  if (filters == NULL)
    return cli_fail(1, "out of memory");
  o.filters = filters;
  bool all = false, quiet = false, no_trunc = false;
  const char *format = NULL;
  char *end = NULL;
  int ch;
  while ((ch = cli_getopt(argc, argv, "aqhf:n:l", opts)) != -1) {
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
