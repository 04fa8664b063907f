/* strata network create|ls|inspect|rm|prune. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "net/network.h"
#include "runtime/netrules.h"
#include "store/events.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static int run_network_create(int argc, char **argv);
static int run_network_ls(int argc, char **argv);
static int run_network_inspect(int argc, char **argv);
static int run_network_rm(int argc, char **argv);
static int run_network_prune(int argc, char **argv);

ST_COMMAND(network_create, "network create", run_network_create,
           "Create a network",
           "\nUsage:  strata network create [OPTIONS] NETWORK\n\n"
           "Create a network\n\n"
           "Options:\n"
           "  -d, --driver string   Driver to manage the Network (default "
           "\"bridge\")\n"
           "      --gateway string  IPv4 Gateway for the master subnet\n"
           "      --internal        Restrict external access to the network\n"
           "      --label list      Set metadata on a network\n"
           "      --subnet string   Subnet in CIDR format that represents a "
           "network segment\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(network_ls, "network ls|network list", run_network_ls,
           "List networks",
           "\nUsage:  strata network ls [OPTIONS]\n\n"
           "List networks\n\n"
           "Aliases:\n"
           "  strata network ls, strata network list\n\n"
           "Options:\n"
           "  -f, --filter filter   Provide filter values (e.g. "
           "\"driver=bridge\")\n" CLI_FORMAT_HELP
           "      --no-trunc        Do not truncate the output\n"
           "  -q, --quiet           Only display network IDs\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(network_inspect, "network inspect", run_network_inspect,
           "Display detailed information on one or more networks",
           "\nUsage:  strata network inspect [OPTIONS] NETWORK [NETWORK...]\n\n"
           "Display detailed information on one or more networks\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(network_rm, "network rm|network remove", run_network_rm,
           "Remove one or more networks",
           "\nUsage:  strata network rm NETWORK [NETWORK...]\n\n"
           "Remove one or more networks\n\n"
           "Aliases:\n"
           "  strata network rm, strata network remove\n\n"
           "Options:\n"
           "  -f, --force   Do not error if the network does not exist\n"
           "  -h, --help    Print usage\n");

ST_COMMAND(network_prune, "network prune", run_network_prune,
           "Remove all unused networks",
           "\nUsage:  strata network prune [OPTIONS]\n\n"
           "Remove all unused networks\n\n"
           "Options:\n"
           "  -f, --force   Do not prompt for confirmation\n"
           "  -h, --help    Print usage\n");

static int push(char ***v, size_t *n, char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (nv == NULL)
    return -1;
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

static st_store *store_with_defaults(void) {
  st_store *s = cli_store();
  cleanup_error st_error *err = NULL;
  if (s && st_networks_ensure_default(s, &err) < 0) {
    cli_print_error(err);
    return NULL;
  }
  return s;
}

/* ---- create -------------------------------------------------------------- */

static int run_network_create(int argc, char **argv) {
  static const struct option opts[] = {{"driver", required_argument, 0, 'd'},
                                       {"gateway", required_argument, 0, 'g'},
                                       {"internal", no_argument, 0, 'i'},
                                       {"label", required_argument, 0, 'l'},
                                       {"subnet", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free char **labels = NULL;
  st_network_spec sp = {0};
  int ch;
  while ((ch = cli_getopt(argc, argv, "d:h", opts)) != -1) {
    switch (ch) {
    case 'd':
      sp.driver = optarg;
      break;
    case 'g':
      sp.gateway = optarg;
      break;
    case 'i':
      sp.internal = true;
      break;
    case 'l':
      push(&labels, &sp.n_labels, optarg);
      break;
    case 's':
      sp.subnet = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_network_create);
    default:
      return cli_bad_flag("network create");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("network create",
                         "\"strata network create\" requires exactly 1 "
                         "argument.\nUsage:  strata network create [OPTIONS] "
                         "NETWORK"),
           1;
  sp.name = argv[optind];
  sp.labels = labels;
  st_store *s = store_with_defaults();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char id[ST_NETWORK_ID_LEN];
  if (st_network_create(s, &sp, id, &err) < 0 ||
      st_net_rules_rebuild(s, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  st_event_emit(s, "network", "create", id,
                json_pack("{s:s, s:s}", "name", sp.name, "type",
                          sp.driver ? sp.driver : "bridge"));
  printf("%s\n", id);
  return 0;
}

/* ---- ls ------------------------------------------------------------------ */

static const struct st_header_name network_headers[] = {
    {"ID", "NETWORK ID"}, {"Name", "NAME"},
    {"Driver", "DRIVER"}, {"Scope", "SCOPE"},
    {"IPv6", "IPV6"},     {"Internal", "INTERNAL"},
    {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"},
    {NULL, NULL}};

static bool label_matches(json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  cleanup_free char *key =
      eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
  json_t *v = key ? json_object_get(labels, key) : NULL;
  return v && (eq == NULL || strcmp(json_string_value(v) ?: "", eq + 1) == 0);
}

/* Docker's network filters: driver, id (prefix), name (substring), label,
 * type (custom|builtin). */
static bool keep(const st_network *n, json_t *labels, char **f, size_t nf) {
  for (size_t i = 0; i < nf; i++) {
    const char *x = f[i];
    if (strncmp(x, "driver=", 7) == 0 && strcmp(n->driver, x + 7) != 0)
      return false;
    if (strncmp(x, "id=", 3) == 0 && strncmp(n->id, x + 3, strlen(x + 3)) != 0)
      return false;
    if (strncmp(x, "name=", 5) == 0 && strstr(n->name, x + 5) == NULL)
      return false;
    if (strncmp(x, "label=", 6) == 0 && !label_matches(labels, x + 6))
      return false;
    if (strncmp(x, "type=", 5) == 0 &&
        st_network_predefined(n->name) != (strcmp(x + 5, "builtin") == 0))
      return false;
  }
  return true;
}

static int check_filter(const char *x) {
  const char *v = strchr(x, '=');
  if (v == NULL)
    return cli_fail(1, "bad format of filter (expected name=value)");
  if (strncmp(x, "driver=", 7) && strncmp(x, "id=", 3) &&
      strncmp(x, "name=", 5) && strncmp(x, "label=", 6) &&
      strncmp(x, "type=", 5))
    return cli_fail(1, "invalid filter '%.*s'", (int)(v - x), x);
  if (strncmp(x, "type=", 5) == 0 && strcmp(v + 1, "custom") &&
      strcmp(v + 1, "builtin"))
    return cli_fail(1, "invalid filter: 'type'='%s'", v + 1);
  return -1;
}

static json_t *ls_row(const st_network *n, json_t *labels, bool no_trunc) {
  cleanup_buf st_buf l = ST_BUF_INIT;
  const char *k;
  json_t *v;
  st_buf_puts(&l, "");
  json_object_foreach(labels, k, v) st_buf_printf(
      &l, "%s%s=%s", l.len ? "," : "", k, json_string_value(v) ?: "");
  char id[ST_NETWORK_ID_LEN];
  snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, n->id);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Name",
                   n->name, "Driver", n->driver, "Scope", "local", "IPv6",
                   "false", "Internal", n->internal ? "true" : "false",
                   "Labels", l.data ? l.data : "");
}

static int run_network_ls(int argc, char **argv) {
  static const struct option opts[] = {{"filter", required_argument, 0, 'f'},
                                       {"format", required_argument, 0, 'F'},
                                       {"no-trunc", no_argument, 0, 'N'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free char **filters = NULL;
  size_t nf = 0;
  const char *format = NULL;
  bool quiet = false, no_trunc = false;
  int ch;
  while ((ch = cli_getopt(argc, argv, "f:qh", opts)) != -1) {
    switch (ch) {
    case 'f': {
      int code = check_filter(optarg);
      if (code >= 0)
        return code;
      push(&filters, &nf, optarg);
      break;
    }
    case 'F':
      format = optarg;
      break;
    case 'N':
      no_trunc = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_network_ls);
    default:
      return cli_bad_flag("network ls");
    }
  }
  if (optind < argc)
    return cli_bad_usage("network ls",
                         "\"strata network ls\" accepts no arguments.\nUsage: "
                         " strata network ls [OPTIONS]"),
           1;
  st_store *s = store_with_defaults();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_network *v = NULL;
  size_t n = 0;
  if (st_network_list(s, &v, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  cleanup_json json_t *rows = json_array();
  for (size_t i = 0; i < n; i++) {
    cleanup_json json_t *labels = json_loads(v[i].labels, 0, NULL);
    if (keep(&v[i], labels, filters, nf))
      json_array_append_new(rows, ls_row(&v[i], labels, no_trunc));
  }
  st_networks_free(v, n);
  return cli_print_rows(quiet ? "{{.ID}}" : format,
                        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                        network_headers, rows);
}

/* ---- inspect ------------------------------------------------------------- */

/* One network for inspect (cli_inspect_each). */
static json_t *network_inspect_get(st_store *s, const char *name,
                                   st_error **err) {
  st_network n;
  if (st_network_get(s, name, &n, err) < 0)
    return NULL;
  json_t *o = st_network_json(s, &n);
  st_network_clear(&n);
  return o;
}

static int run_network_inspect(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *format = NULL;
  int ch;
  while ((ch = cli_getopt(argc, argv, "f:h", opts)) != -1) {
    switch (ch) {
    case 'f':
      format = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_network_inspect);
    default:
      return cli_bad_flag("network inspect");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("network inspect",
                         "\"strata network inspect\" requires at least 1 "
                         "argument.\nUsage:  strata network inspect [OPTIONS] "
                         "NETWORK [NETWORK...]"),
           1;
  st_store *s = store_with_defaults();
  if (s == NULL)
    return 1;
  return cli_inspect_each(s, argv + optind, argc - optind, format,
                          network_inspect_get);
}

/* ---- rm ------------------------------------------------------------------ */

static int rm_one(st_store *s, const char *name, void *ctx, st_error **err) {
  st_error *e = NULL;
  if (st_network_remove(s, name, &e) == 0) {
    st_event_emit(s, "network", "destroy", name,
                  json_pack("{s:s}", "name", name));
    return 0;
  }
  if (*(bool *)ctx && e->code == ENOENT) {
    st_error_free(e);
    return 0;
  }
  *err = e;
  return -1;
}

/* The table follows the networks (their masquerade and isolation rules
 * go with them). */
static int rebuild_rules(st_store *s) {
  cleanup_error st_error *err = NULL;
  if (s && st_net_rules_rebuild(s, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  return 0;
}

static int run_network_rm(int argc, char **argv) {
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
      return cli_usage(&st_cmd_network_rm);
    default:
      return cli_bad_flag("network rm");
    }
  }
  int code = cli_each("network rm", argc, argv, optind, rm_one, &force, true);
  return code | rebuild_rules(cli_store());
}

/* ---- prune --------------------------------------------------------------- */

static int run_network_prune(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                       {"filter", required_argument, 0, 'F'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool force = false;
  int ch;
  while ((ch = cli_getopt(argc, argv, "fh", opts)) != -1) {
    switch (ch) {
    case 'f':
      force = true;
      break;
    case 'F':
      return cli_fail(1, "network prune: --filter is not supported yet");
    case 'h':
      return cli_usage(&st_cmd_network_prune);
    default:
      return cli_bad_flag("network prune");
    }
  }
  if (!force && !cli_confirm("WARNING! This will remove all custom networks "
                             "not used by at least one container.\nAre you "
                             "sure you want to continue?"))
    return 0;
  st_store *s = store_with_defaults();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char **names = NULL;
  size_t n = 0;
  if (st_networks_prune(s, &names, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  if (n)
    printf("Deleted Networks:\n");
  for (size_t i = 0; i < n; i++)
    printf("%s\n", names[i]);
  st_strv_free(names, n);
  return rebuild_rules(s);
}
