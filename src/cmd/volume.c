/* strata volume create|ls|inspect|rm|prune: volumes of the local driver. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt/units.h"
#include "format.h"
#include "runtime/volumes.h"
#include "store/events.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static int run_volume_create(int argc, char **argv);
static int run_volume_ls(int argc, char **argv);
static int run_volume_inspect(int argc, char **argv);
static int run_volume_rm(int argc, char **argv);
static int run_volume_prune(int argc, char **argv);

ST_COMMAND(volume_create, "volume create", run_volume_create, "Create a volume",
           "\nUsage:  strata volume create [OPTIONS] [VOLUME]\n\n"
           "Create a volume\n\n"
           "Options:\n"
           "  -d, --driver string   Specify volume driver name (default "
           "\"local\")\n"
           "      --label list      Set metadata for a volume\n"
           "  -o, --opt map         Set driver specific options (default "
           "map[])\n"
           "      --name string     Specify volume name\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(volume_ls, "volume ls|volume list", run_volume_ls, "List volumes",
           "\nUsage:  strata volume ls [OPTIONS]\n\n"
           "List volumes\n\n"
           "Aliases:\n"
           "  strata volume ls, strata volume list\n\n"
           "Options:\n"
           "  -f, --filter filter   Provide filter values (e.g. "
           "\"dangling=true\")\n" CLI_FORMAT_HELP
           "  -q, --quiet           Only display volume names\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(volume_inspect, "volume inspect", run_volume_inspect,
           "Display detailed information on one or more volumes",
           "\nUsage:  strata volume inspect [OPTIONS] VOLUME [VOLUME...]\n\n"
           "Display detailed information on one or more volumes\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(volume_rm, "volume rm|volume remove", run_volume_rm,
           "Remove one or more volumes",
           "\nUsage:  strata volume rm [OPTIONS] VOLUME [VOLUME...]\n\n"
           "Remove one or more volumes. You cannot remove a volume that is "
           "in use by a container.\n\n"
           "Aliases:\n"
           "  strata volume rm, strata volume remove\n\n"
           "Options:\n"
           "  -f, --force   Force the removal of one or more volumes\n"
           "  -h, --help    Print usage\n");

ST_COMMAND(volume_prune, "volume prune", run_volume_prune,
           "Remove unused local volumes",
           "\nUsage:  strata volume prune [OPTIONS]\n\n"
           "Remove unused local volumes\n\n"
           "Options:\n"
           "  -a, --all             Remove all unused volumes, not just "
           "anonymous ones\n"
           "      --filter filter   Provide filter values (e.g. "
           "\"label=<label>\")\n"
           "  -f, --force           Do not prompt for confirmation\n"
           "  -h, --help            Print usage\n");

static int push(char ***v, size_t *n, char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (nv == NULL)
    return -1;
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

/* ---- create ---------------------------------------------------------------
 */

static int run_volume_create(int argc, char **argv) {
  static const struct option opts[] = {{"driver", required_argument, 0, 'd'},
                                       {"label", required_argument, 0, 'l'},
                                       {"opt", required_argument, 0, 'o'},
                                       {"name", required_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free char **labels = NULL, **vopts = NULL;
  size_t n_labels = 0, n_opts = 0;
  const char *name = NULL, *driver = "local";
  int ch;
  while ((ch = cli_getopt(argc, argv, "d:o:h", opts)) != -1) {
    switch (ch) {
    case 'd':
      driver = optarg;
      break;
    case 'l':
      push(&labels, &n_labels, optarg);
      break;
    case 'o':
      push(&vopts, &n_opts, optarg);
      break;
    case 'n':
      name = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_volume_create);
    default:
      return cli_bad_flag("volume create");
    }
  }
  if (argc - optind > 1)
    return cli_bad_usage("volume create",
                         "\"strata volume create\" requires at most 1 "
                         "argument.\nUsage:  strata volume create [OPTIONS] "
                         "[VOLUME]"),
           1;
  if (optind < argc) {
    if (name && strcmp(name, argv[optind]) != 0)
      return cli_fail(1, "conflicting options: either specify --name or "
                         "provide positional arg, not both");
    name = argv[optind];
  }
  if (strcmp(driver, "local") != 0)
    return cli_fail(1,
                    "error looking up volume plugin %s: plugin \"%s\" not "
                    "found (strata has the local driver only)",
                    driver, driver);
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  cleanup_free char *made = NULL;
  if (st_volume_create(s, name, labels, n_labels, vopts, n_opts, &made, &err) <
      0) {
    cli_print_error(err);
    return 1;
  }
  st_event_emit(s, "volume", "create", made,
                json_pack("{s:s}", "driver", "local"));
  printf("%s\n", made);
  return 0;
}

/* ---- ls ------------------------------------------------------------------ */

static const struct st_header_name volume_headers[] = {
    {"Driver", "DRIVER"}, {"Name", "VOLUME NAME"},
    {"Scope", "SCOPE"},   {"Mountpoint", "MOUNTPOINT"},
    {"Labels", "LABELS"}, {"Links", "LINKS"},
    {"Size", "SIZE"},     {"Availability", "AVAILABILITY"},
    {"Group", "GROUP"},   {"Status", "STATUS"},
    {NULL, NULL}};

/* Docker's .Labels: "k=v,k2=v2", sorted. */
static char *labels_text(json_t *labels) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  const char *k;
  json_t *v;
  st_buf_puts(&b, "");
  json_object_foreach(labels, k, v) st_buf_printf(
      &b, "%s%s=%s", b.len ? "," : "", k, json_string_value(v) ?: "");
  return steal_pointer(&b.data);
}

static bool label_matches(json_t *labels, const char *want) {
  const char *eq = strchr(want, '=');
  cleanup_free char *key =
      eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
  json_t *v = key ? json_object_get(labels, key) : NULL;
  return v && (eq == NULL || strcmp(json_string_value(v) ?: "", eq + 1) == 0);
}

typedef struct ls_filter {
  char **v;
  size_t n;
} ls_filter;

/* Docker's volume filters: dangling, name (substring), label, driver. */
static bool keep(st_store *s, const st_volume *v, json_t *labels,
                 const ls_filter *f) {
  for (size_t i = 0; i < f->n; i++) {
    const char *x = f->v[i];
    if (strncmp(x, "dangling=", 9) == 0) {
      bool want = strcmp(x + 9, "true") == 0 || strcmp(x + 9, "1") == 0;
      if ((st_volume_use_count(s, v->name) == 0) != want)
        return false;
    } else if (strncmp(x, "name=", 5) == 0) {
      if (strstr(v->name, x + 5) == NULL)
        return false;
    } else if (strncmp(x, "label=", 6) == 0) {
      if (!label_matches(labels, x + 6))
        return false;
    } else if (strncmp(x, "driver=", 7) == 0) {
      if (strcmp(v->driver, x + 7) != 0)
        return false;
    }
  }
  return true;
}

static int check_filter(const char *x) {
  const char *v = strchr(x, '=');
  if (v == NULL)
    return cli_fail(1, "bad format of filter (expected name=value)");
  if (strncmp(x, "dangling=", 9) == 0 &&
      !(strcmp(v + 1, "true") == 0 || strcmp(v + 1, "false") == 0 ||
        strcmp(v + 1, "1") == 0 || strcmp(v + 1, "0") == 0))
    return cli_fail(1, "invalid filter 'dangling=%s'", v + 1);
  if (strncmp(x, "dangling=", 9) && strncmp(x, "name=", 5) &&
      strncmp(x, "label=", 6) && strncmp(x, "driver=", 7))
    return cli_fail(1, "invalid filter '%.*s'", (int)(v - x), x);
  return -1;
}

static json_t *ls_row(st_store *s, const st_volume *v, json_t *labels) {
  cleanup_free char *dir = st_volume_dir(s, v->name), *mp = NULL;
  cleanup_free char *ltext = labels_text(labels);
  if (dir == NULL || asprintf(&mp, "%s/_data", dir) < 0 || ltext == NULL)
    return NULL;
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                   "Availability", "N/A", "Driver", v->driver, "Group", "N/A",
                   "Labels", ltext, "Links", "N/A", "Mountpoint", mp, "Name",
                   v->name, "Scope", "local", "Size", "N/A", "Status", "N/A");
}

static int run_volume_ls(int argc, char **argv) {
  static const struct option opts[] = {{"filter", required_argument, 0, 'f'},
                                       {"format", required_argument, 0, 'F'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free char **filters = NULL;
  ls_filter f = {0};
  const char *format = NULL;
  bool quiet = false;
  int ch;
  while ((ch = cli_getopt(argc, argv, "f:qh", opts)) != -1) {
    switch (ch) {
    case 'f': {
      int code = check_filter(optarg);
      if (code >= 0)
        return code;
      push(&filters, &f.n, optarg);
      break;
    }
    case 'F':
      format = optarg;
      break;
    case 'q':
      quiet = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_volume_ls);
    default:
      return cli_bad_flag("volume ls");
    }
  }
  f.v = filters;
  if (optind < argc)
    return cli_bad_usage("volume ls",
                         "\"strata volume ls\" accepts no arguments.\nUsage:  "
                         "strata volume ls [OPTIONS]"),
           1;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_volume *v = NULL;
  size_t n = 0;
  if (st_volume_list(s, &v, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  cleanup_json json_t *rows = json_array();
  for (size_t i = 0; i < n; i++) {
    cleanup_json json_t *labels = json_loads(v[i].labels, 0, NULL);
    if (keep(s, &v[i], labels, &f))
      json_array_append_new(rows, ls_row(s, &v[i], labels));
  }
  st_volumes_free(v, n);
  return cli_print_rows(quiet ? "{{.Name}}" : format,
                        "table {{.Driver}}\t{{.Name}}", volume_headers, rows);
}

/* ---- inspect ------------------------------------------------------------- */

/* One volume for inspect (cli_inspect_each). */
static json_t *volume_inspect_get(st_store *s, const char *name,
                                  st_error **err) {
  st_volume v;
  if (st_volume_get(s, name, &v, err) < 0)
    return NULL;
  json_t *o = st_volume_json(s, &v);
  st_volume_clear(&v);
  return o;
}

static int run_volume_inspect(int argc, char **argv) {
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
      return cli_usage(&st_cmd_volume_inspect);
    default:
      return cli_bad_flag("volume inspect");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("volume inspect",
                         "\"strata volume inspect\" requires at least 1 "
                         "argument.\nUsage:  strata volume inspect [OPTIONS] "
                         "VOLUME [VOLUME...]"),
           1;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  return cli_inspect_each(s, argv + optind, argc - optind, format,
                          volume_inspect_get);
}

/* ---- rm ------------------------------------------------------------------ */

static int rm_one(st_store *s, const char *name, void *ctx, st_error **err) {
  st_error *e = NULL;
  if (st_volume_remove(s, name, &e) == 0) {
    st_event_emit(s, "volume", "destroy", name,
                  json_pack("{s:s}", "driver", "local"));
    return 0;
  }
  if (*(bool *)ctx && e->code == ENOENT) { /* -f: a missing one is fine */
    st_error_free(e);
    return 0;
  }
  *err = e;
  return -1;
}

static int run_volume_rm(int argc, char **argv) {
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
      return cli_usage(&st_cmd_volume_rm);
    default:
      return cli_bad_flag("volume rm");
    }
  }
  return cli_each("volume rm", argc, argv, optind, rm_one, &force, true);
}

/* ---- prune --------------------------------------------------------------- */

static int run_volume_prune(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                       {"filter", required_argument, 0, 'F'},
                                       {"force", no_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool all = false, force = false;
  cleanup_free char **filters = NULL;
  size_t n_filters = 0;
  int ch;
  while ((ch = cli_getopt(argc, argv, "afh", opts)) != -1) {
    switch (ch) {
    case 'a':
      all = true;
      break;
    case 'F':
      push(&filters, &n_filters, optarg);
      break;
    case 'f':
      force = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_volume_prune);
    default:
      return cli_bad_flag("volume prune");
    }
  }
  if (!force && !cli_confirm(all ? "WARNING! This will remove all local "
                                   "volumes not used by at least one "
                                   "container.\nAre you sure you want to "
                                   "continue?"
                                 : "WARNING! This will remove anonymous local "
                                   "volumes not used by at least one "
                                   "container.\nAre you sure you want to "
                                   "continue?"))
    return 0;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char **names = NULL;
  size_t n = 0;
  int64_t bytes = 0;
  if (st_volumes_prune(s, all, filters, n_filters, &names, &n, &bytes, &err) <
      0) {
    cli_print_error(err);
    return 1;
  }
  if (n)
    printf("Deleted Volumes:\n");
  for (size_t i = 0; i < n; i++) {
    printf("%s\n", names[i]);
    st_event_emit(s, "volume", "destroy", names[i],
                  json_pack("{s:s}", "driver", "local"));
  }
  st_strv_free(names, n);
  if (n)
    printf("\n");
  cleanup_free char *size = st_human_size(bytes);
  printf("Total reclaimed space: %s\n", size ? size : "0B");
  return 0;
}
