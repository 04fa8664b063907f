/* strata system df: disk usage, in the layout of `docker system df`. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errno.h>

#include "build/build.h"
#include "cli.h"
#include "ct_row.h"
#include "fmt/units.h"
#include "format.h"
#include "ref/ref.h"
#include "runtime/runtime.h"
#include "runtime/volumes.h"
#include "store/usage.h"
#include "store/volumes.h"
#include "util/cleanup.h"

static int run_df(int argc, char **argv);

ST_COMMAND(system_df, "system df", run_df, "Show strata disk usage",
           "\nUsage:  strata system df [OPTIONS]\n\n"
           "Show strata disk usage\n\n"
           "Options:\n" CLI_FORMAT_HELP
           "  -v, --verbose         Show detailed information on space "
           "usage\n"
           "  -h, --help            Print usage\n");

static const char summary_table[] =
    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t"
    "{{.Reclaimable}}";
static const struct st_header_name summary_headers[] = {
    {"Type", "TYPE"}, {"TotalCount", "TOTAL"},        {"Active", "ACTIVE"},
    {"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}, {NULL, NULL}};

static const char image_table[] =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
    "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
static const struct st_header_name image_headers[] = {
    {"Repository", "REPOSITORY"},
    {"Tag", "TAG"},
    {"ID", "IMAGE ID"},
    {"Digest", "DIGEST"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"Size", "SIZE"},
    {"SharedSize", "SHARED SIZE"},
    {"UniqueSize", "UNIQUE SIZE"},
    {"Containers", "CONTAINERS"},
    {NULL, NULL}};

static const char container_table[] =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
    "{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
static const struct st_header_name container_headers[] = {
    {"ID", "CONTAINER ID"},
    {"Image", "IMAGE"},
    {"Command", "COMMAND"},
    {"LocalVolumes", "LOCAL VOLUMES"},
    {"Size", "SIZE"},
    {"RunningFor", "CREATED"},
    {"Status", "STATUS"},
    {"Names", "NAMES"},
    {NULL, NULL}};

static const char volume_table[] = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
static const struct st_header_name volume_headers[] = {{"Name", "VOLUME NAME"},
                                                       {"Links", "LINKS"},
                                                       {"Size", "SIZE"},
                                                       {NULL, NULL}};

static const char cache_table[] =
    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t"
    "{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";
static const struct st_header_name cache_headers[] = {
    {"ID", "CACHE ID"},
    {"CacheType", "CACHE TYPE"},
    {"Size", "SIZE"},
    {"CreatedSince", "CREATED"},
    {"LastUsedSince", "LAST USED"},
    {"UsageCount", "USAGE"},
    {"Shared", "SHARED"},
    {NULL, NULL}};

/* json_string of a heap string, which it frees; NULL stays NULL. */
static json_t *take_string(char *s) {
  json_t *j = s ? json_string(s) : NULL;
  free(s);
  return j;
}

static json_t *count_string(int64_t n) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%" PRId64, n);
  return json_string(buf);
}

/* Docker's RECLAIMABLE: "1.2MB (85%)", or just the size when the total is
 * zero. */
static char *reclaimable_string(int64_t reclaimable, int64_t total) {
  cleanup_free char *size = st_human_size_prec(reclaimable, 4);
  char *out = NULL;
  if (size == NULL)
    return NULL;
  if (total <= 0)
    return steal_pointer(&size);
  if (asprintf(&out, "%s (%" PRId64 "%%)", size, reclaimable * 100 / total) < 0)
    return NULL;
  return out;
}

/* One row of the summary; keys in the order Docker's JSON has them. */
static json_t *summary_row(const char *type, int64_t total, int64_t active,
                           int64_t size, int64_t reclaimable) {
  json_t *row = json_object();
  json_object_set_new(row, "Active", count_string(active));
  json_object_set_new(row, "Reclaimable",
                      take_string(reclaimable_string(reclaimable, size)));
  json_object_set_new(row, "Size", take_string(st_human_size_prec(size, 4)));
  json_object_set_new(row, "TotalCount", count_string(total));
  json_object_set_new(row, "Type", json_string(type));
  return row;
}

/* Local Volumes (runtime/volumes.h): the store is open already. */
static void volumes_usage(st_volumes_usage *vu) {
  cleanup_error st_error *err = NULL;
  st_store *s = cli_store();
  if (s == NULL || st_volumes_disk_usage(s, vu, &err) < 0)
    vu->rows = json_array();
}

/* Rows of `-v`: Size as Docker prints it, Links as a string. */
static json_t *volume_rows(void) {
  st_volumes_usage vu;
  volumes_usage(&vu);
  size_t i;
  json_t *r;
  json_array_foreach(vu.rows, i, r) {
    json_object_set_new(
        r, "Links",
        count_string(json_integer_value(json_object_get(r, "Links"))));
    json_object_set_new(r, "Size",
                        take_string(st_human_size(
                            json_integer_value(json_object_get(r, "Size")))));
  }
  return vu.rows;
}

/* The containers as `system df` counts them: each one's writable-layer
 * bytes (Docker's SizeRw); running ones are active, the rest reclaimable. */
typedef struct ct_usage {
  st_container *v;
  size_t n;
  int64_t *rw;
  int64_t active, size, reclaimable;
} ct_usage;

static void ct_usage_clear(ct_usage *cu) {
  st_containers_free(cu->v, cu->n);
  free(cu->rw);
  memset(cu, 0, sizeof(*cu));
}

static int ct_usage_get(st_store *s, ct_usage *cu, st_error **err) {
  memset(cu, 0, sizeof(*cu));
  if (st_container_list(s, &cu->v, &cu->n, err) < 0)
    return -1;
  cu->rw = calloc(cu->n ? cu->n : 1, sizeof(*cu->rw));
  if (cu->rw == NULL) {
    ct_usage_clear(cu);
    return st_error_errno(err, ENOMEM, "system df");
  }
  for (size_t i = 0; i < cu->n; i++) {
    st_container_refresh(s, &cu->v[i]);
    cu->rw[i] = st_container_size_rw(s, cu->v[i].id);
    cu->size += cu->rw[i];
    if (cu->v[i].state == ST_CT_RUNNING)
      cu->active++;
    else
      cu->reclaimable += cu->rw[i];
  }
  return 0;
}

/* `-v` rows: ps's columns (the writable layer's size only: Docker leaves
 * the virtual size out here) plus LocalVolumes. */
static json_t *container_rows(st_store *s, const ct_usage *cu, bool trunc) {
  int64_t now = st_now_ns();
  json_t *rows = json_array();
  for (size_t i = 0; i < cu->n; i++) {
    json_t *r = cli_container_row(s, &cu->v[i], !trunc, false, now);
    if (r == NULL)
      continue;
    json_object_set_new(r, "Size", take_string(st_human_size(cu->rw[i])));
    json_object_set_new(
        r, "LocalVolumes",
        count_string(st_container_volume_count(s, cu->v[i].id)));
    json_array_append_new(rows, r);
  }
  return rows;
}

static int print_summary(const st_usage *u, const ct_usage *cu,
                         const st_build_usage *bu, const char *format) {
  st_volumes_usage vu;
  volumes_usage(&vu);
  json_decref(vu.rows);
  json_t *rows = json_array();
  json_array_append_new(rows, summary_row("Images", (int64_t)u->n_images,
                                          (int64_t)u->active, u->size,
                                          u->reclaimable));
  json_array_append_new(rows,
                        summary_row("Containers", (int64_t)cu->n, cu->active,
                                    cu->size, cu->reclaimable));
  json_array_append_new(rows, summary_row("Local Volumes", vu.total, vu.active,
                                          vu.size, vu.reclaimable));
  /* Docker prints the build cache's reclaimable bytes without a share */
  json_t *cache = summary_row("Build Cache", bu->entries, 0, bu->size, 0);
  json_object_set_new(cache, "Reclaimable",
                      take_string(st_human_size_prec(bu->reclaimable, 4)));
  json_array_append_new(rows, cache);
  int code = cli_print_rows(format, summary_table, summary_headers, rows);
  json_decref(rows);
  return code;
}

static void split_name(const st_image_usage *iu, char **repo, char **tag) {
  *repo = NULL;
  *tag = NULL;
  if (iu->name == NULL || iu->dangling)
    return;
  cleanup_free char *r = NULL;
  if (st_ref_split_tag(iu->name, &r, tag) < 0)
    return;
  *repo = st_ref_familiar(r);
}

static json_t *image_row(const st_image_usage *iu, bool trunc, int64_t now) {
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  split_name(iu, &repo, &tag);
  char id[ST_DIGEST_LEN];
  snprintf(id, sizeof(id), "%s", iu->img.id);
  if (trunc)
    snprintf(id, sizeof(id), "%.12s", st_digest_hex(iu->img.id));
  json_t *row = json_object();
  json_object_set_new(row, "Containers", count_string(iu->containers));
  json_object_set_new(row, "CreatedAt",
                      take_string(st_format_created_at(iu->img.created)));
  json_object_set_new(row, "CreatedSince",
                      take_string(st_created_since(iu->img.created, now)));
  json_object_set_new(row, "Digest", json_string(""));
  json_object_set_new(row, "ID", json_string(id));
  json_object_set_new(row, "Repository", json_string(repo ? repo : "<none>"));
  json_object_set_new(row, "SharedSize",
                      take_string(st_human_size_prec(iu->shared, 4)));
  json_object_set_new(row, "Size", take_string(st_human_size(iu->img.size)));
  json_object_set_new(row, "Tag", json_string(tag ? tag : "<none>"));
  json_object_set_new(
      row, "UniqueSize",
      take_string(st_human_size_prec(iu->img.size - iu->shared, 4)));
  json_object_set_new(row, "VirtualSize",
                      take_string(st_human_size(iu->img.size)));
  return row;
}

static json_t *image_rows(const st_usage *u, bool trunc) {
  int64_t now = (int64_t)time(NULL);
  json_t *rows = json_array();
  for (size_t i = 0; i < u->n_images; i++)
    json_array_append_new(rows, image_row(&u->images[i], trunc, now));
  return rows;
}

/* The build cache records, as Docker's `system df -v` shows them. */
static json_t *cache_rows(const st_build_usage *bu, bool trunc) {
  int64_t now = (int64_t)time(NULL);
  json_t *rows = json_array();
  for (int64_t i = 0; i < bu->entries; i++) {
    const st_build_record *r = &bu->records[i];
    int64_t created = r->created / 1000000000, used = r->used / 1000000000;
    char id[65];
    snprintf(id, sizeof(id), trunc ? "%.12s" : "%s", r->id);
    json_t *row = json_object();
    json_object_set_new(row, "ID", json_string(id));
    json_object_set_new(row, "CacheType", json_string(r->type));
    json_object_set_new(row, "Description", json_string(r->description));
    json_object_set_new(row, "Size", take_string(st_human_size(r->size)));
    json_object_set_new(row, "CreatedAt",
                        take_string(st_format_created_at(created)));
    json_object_set_new(row, "CreatedSince",
                        take_string(st_created_since(created, now)));
    json_object_set_new(row, "LastUsedAt",
                        take_string(st_format_created_at(used)));
    json_object_set_new(row, "LastUsedSince",
                        take_string(st_created_since(used, now)));
    json_object_set_new(row, "UsageCount", count_string(r->usage));
    json_object_set_new(row, "InUse", json_string("false"));
    json_object_set_new(row, "Shared",
                        json_string(r->shared ? "true" : "false"));
    json_array_append_new(rows, row);
  }
  return rows;
}

/* The default `-v` layout: one table per kind of object. */
static int print_verbose_tables(st_store *s, const st_usage *u,
                                const ct_usage *cu, const st_build_usage *bu) {
  json_t *images = image_rows(u, true);
  json_t *containers = container_rows(s, cu, true);
  json_t *cache = cache_rows(bu, true);
  fputs("Images space usage:\n\n", stdout);
  int code = cli_print_rows(NULL, image_table, image_headers, images);
  if (code == 0) {
    fputs("\nContainers space usage:\n\n", stdout);
    code = cli_print_rows(NULL, container_table, container_headers, containers);
  }
  if (code == 0) {
    fputs("\nLocal Volumes space usage:\n\n", stdout);
    json_t *vols = volume_rows();
    code = cli_print_rows(NULL, volume_table, volume_headers, vols);
    json_decref(vols);
  }
  if (code == 0) {
    cleanup_free char *total = st_human_size(bu->size);
    printf("\nBuild cache usage: %s\n\n", total ? total : "0B");
    code = cli_print_rows(NULL, cache_table, cache_headers, cache);
  }
  json_decref(images);
  json_decref(containers);
  json_decref(cache);
  return code;
}

/* `-v --format T`: T runs once over {Images, Containers, Volumes,
 * BuildCache}, as in Docker. */
static int print_verbose_template(st_store *s, const st_usage *u,
                                  const ct_usage *cu, const st_build_usage *bu,
                                  const char *format) {
  json_t *dot = json_object();
  json_object_set_new(dot, "Images", image_rows(u, false));
  json_object_set_new(dot, "Containers", container_rows(s, cu, false));
  json_object_set_new(dot, "Volumes", volume_rows());
  json_object_set_new(dot, "BuildCache", cache_rows(bu, false));
  json_t *rows = json_array();
  json_array_append_new(rows, dot);
  int code = cli_print_rows(format, NULL, image_headers, rows);
  json_decref(rows);
  return code;
}

static int run_df(int argc, char **argv) {
  static const struct option opts[] = {{"verbose", no_argument, 0, 'v'},
                                       {"format", required_argument, 0, 'F'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool verbose = false;
  const char *format = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "vh", opts)) != -1) {
    switch (c) {
    case 'v':
      verbose = true;
      break;
    case 'F':
      format = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_system_df);
    default:
      return cli_bad_flag("system df");
    }
  }
  if (optind < argc)
    return cli_bad_usage("system df",
                         "\"strata system df\" accepts no arguments.\n"
                         "Usage:  strata system df [OPTIONS]");
  if (format && format[0] == '\0')
    format = NULL;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_usage u;
  if (st_disk_usage(s, &u, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int code;
  st_build_usage bu = {0};
  if (st_build_usage_get(s, &bu, &err) < 0) {
    st_usage_clear(&u);
    cli_print_error(err);
    return 1;
  }
  ct_usage cu;
  if (ct_usage_get(s, &cu, &err) < 0) {
    st_usage_clear(&u);
    st_build_usage_clear(&bu);
    cli_print_error(err);
    return 1;
  }
  if (!verbose)
    code = print_summary(&u, &cu, &bu, format);
  else if (format == NULL || strcmp(format, "table") == 0)
    code = print_verbose_tables(s, &u, &cu, &bu);
  else
    code = print_verbose_template(s, &u, &cu, &bu, format);
  st_build_usage_clear(&bu);
  ct_usage_clear(&cu);
  st_usage_clear(&u);
  return code;
}
