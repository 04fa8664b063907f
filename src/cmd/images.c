/* strata images / image ls: list images like `docker images`. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt/table.h"
#include "fmt/units.h"
#include "format.h"
#include "image/image.h"
#include "images_tree.h"
#include "ref/ref.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int run_images(int argc, char **argv);

ST_COMMAND(images, "images|image ls|image list", run_images, "List images",
           "\nUsage:  strata images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
           "List images\n\n"
           "Aliases:\n"
           "  strata image ls, strata image list, strata images\n\n"
           "Options:\n"
           "  -a, --all             Show all images (default hides "
           "intermediate images)\n"
           "      --digests         Show digests\n"
           "  -f, --filter filter   Filter output based on conditions "
           "provided\n" CLI_FORMAT_HELP
           "      --no-trunc        Don't truncate output\n"
           "  -q, --quiet           Only show image IDs\n"
           "      --tree            Show images as a tree of the layers "
           "they share: one\n"
           "                        line per layer (12 hex digits of its "
           "chain ID, its\n"
           "                        size), each image on its top layer "
           "with its shared\n"
           "                        and unique size\n"
           "  -h, --help            Print usage\n");

static const struct st_header_name image_headers[] = {
    {"Repository", "REPOSITORY"},
    {"Tag", "TAG"},
    {"ID", "IMAGE ID"},
    {"Digest", "DIGEST"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"Size", "SIZE"},
    {"Containers", "CONTAINERS"},
    {"SharedSize", "SHARED SIZE"},
    {"UniqueSize", "UNIQUE SIZE"},
    {"VirtualSize", "VIRTUAL SIZE"},
    {NULL, NULL}};

struct image_filters {
  int dangling; /* -1 any, 0 false, 1 true */
  const char **refs;
  size_t n_refs;
  const char **labels;
  size_t n_labels;
  const char *before, *since;
  int64_t before_t, since_t; /* (created, added) bounds, resolved */
  int64_t before_added, since_added;
};

struct images_opts {
  bool all, digests, no_trunc, quiet, tree;
  const char *format;
  struct image_filters f;
};

static int add_filter(struct image_filters *f, const char *spec) {
  const char *eq = strchr(spec, '=');
  if (eq == NULL)
    return cli_fail(1, "bad format of filter (expected name=value): %s", spec);
  size_t klen = (size_t)(eq - spec);
  const char *v = eq + 1;
  if (klen == 8 && strncmp(spec, "dangling", 8) == 0) {
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
      f->dangling = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
      f->dangling = 0;
    else
      return cli_fail(1, "invalid filter 'dangling=%s': use true or false", v);
  } else if (klen == 9 && strncmp(spec, "reference", 9) == 0) {
    f->refs[f->n_refs++] = v;
  } else if (klen == 5 && strncmp(spec, "label", 5) == 0) {
    f->labels[f->n_labels++] = v;
  } else if (klen == 6 && strncmp(spec, "before", 6) == 0) {
    f->before = v;
  } else if (klen == 5 && strncmp(spec, "since", 5) == 0) {
    f->since = v;
  } else {
    return cli_fail(1, "invalid filter '%.*s'", (int)klen, spec);
  }
  return 0;
}

/* Resolves before=/since= images to their (created, added) position. */
static int resolve_bound(st_store *s, const char *ref, int64_t *created,
                         int64_t *added) {
  if (ref == NULL)
    return 0;
  cleanup_error st_error *err = NULL;
  st_image img;
  if (st_image_resolve(s, ref, &img, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  *created = img.created;
  *added = img.added;
  st_image_clear(&img);
  return 0;
}

static bool older(int64_t c1, int64_t a1, int64_t c2, int64_t a2) {
  return c1 < c2 || (c1 == c2 && a1 < a2);
}

/* True when every label filter (k, k=v) holds for the image's config. */
static bool labels_match(st_store *s, const char *id,
                         const struct image_filters *f) {
  if (f->n_labels == 0)
    return true;
  json_t *config = NULL;
  cleanup_error st_error *err = NULL;
  if (st_config_load(s, id, &config, &err) < 0)
    return false;
  json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
  bool ok = true;
  for (size_t i = 0; ok && i < f->n_labels; i++) {
    const char *want = f->labels[i];
    const char *eq = strchr(want, '=');
    cleanup_free char *key =
        eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
    const char *have = json_string_value(json_object_get(labels, key));
    ok = have != NULL && (eq == NULL || strcmp(have, eq + 1) == 0);
  }
  json_decref(config);
  return ok;
}

static bool refs_match(const st_image_row *r, const struct image_filters *f) {
  if (f->n_refs == 0)
    return true;
  if (r->name == NULL)
    return false;
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  if (st_ref_split_tag(r->name, &repo, &tag) < 0)
    return false;
  for (size_t i = 0; i < f->n_refs; i++)
    if (st_ref_filter_match(f->refs[i], repo, tag))
      return true;
  return false;
}

static bool row_visible(st_store *s, const st_image_row *r,
                        const struct images_opts *o) {
  const struct image_filters *f = &o->f;
  bool dangling = st_image_row_dangling(r);
  if (!o->all && st_image_row_hidden(r))
    return false; /* an intermediate image, or build cache */
  if (f->dangling == 1 && !dangling)
    return false;
  if (f->dangling == 0 && dangling)
    return false;
  if (f->before &&
      !older(r->img.created, r->img.added, f->before_t, f->before_added))
    return false;
  if (f->since &&
      !older(f->since_t, f->since_added, r->img.created, r->img.added))
    return false;
  return refs_match(r, f) && labels_match(s, r->img.id, f);
}

/* The familiar repository of a row: its tag's, or for an image known only
 * by a repo digest (pulled by digest), that digest's repository, as Docker
 * shows it. NULL for a dangling image. */
static char *row_repo(const st_image_row *r, char **tag) {
  cleanup_free char *repo = NULL;
  *tag = NULL;
  if (r->name && st_ref_split_tag(r->name, &repo, tag) == 0)
    return st_ref_familiar(repo);
  if (r->repo_digest && strchr(r->repo_digest, '@')) {
    repo = strndup(r->repo_digest,
                   (size_t)(strchr(r->repo_digest, '@') - r->repo_digest));
    return repo ? st_ref_familiar(repo) : NULL;
  }
  return NULL;
}

static void put(json_t *o, const char *key, const char *value) {
  json_object_set_new_nocheck(o, key, json_string(value ? value : ""));
}

/* One row as Docker's image summary (keys in Go's sorted-map order).
 * CreatedAt costs a local-time conversion, so it is made only when the
 * format can show it. */
static json_t *row_json(const st_image_row *r, const struct images_opts *o,
                        time_t now, bool want_created_at) {
  cleanup_free char *tag = NULL;
  cleanup_free char *fam = row_repo(r, &tag);
  const char *digest = "<none>";
  if (r->repo_digest && strchr(r->repo_digest, '@'))
    digest = strchr(r->repo_digest, '@') + 1;
  char id[ST_DIGEST_LEN];
  snprintf(id, sizeof(id), "%s",
           o->no_trunc ? r->img.id : st_digest_hex(r->img.id));
  if (!o->no_trunc)
    id[12] = '\0';
  cleanup_free char *since = st_created_since(r->img.created, now);
  cleanup_free char *at =
      want_created_at ? st_format_created_at(r->img.created) : NULL;
  cleanup_free char *size = st_human_size(r->img.size);
  json_t *j = json_object();
  if (j == NULL)
    return NULL;
  put(j, "Containers", "N/A");
  put(j, "CreatedAt", at);
  put(j, "CreatedSince", since);
  put(j, "Digest", digest);
  put(j, "ID", id);
  put(j, "Repository", fam ? fam : "<none>");
  put(j, "SharedSize", "N/A");
  put(j, "Size", size);
  put(j, "Tag", tag ? tag : "<none>");
  put(j, "UniqueSize", "N/A");
  put(j, "VirtualSize", size);
  return j;
}

/* The default table (and -q) without building JSON rows: this is the
 * listing people run most, and with 1,000 images the generic template path
 * costs more than the database query. Same cells as row_json. */
static int print_default(const st_image_row *rows, size_t n, st_store *s,
                         const struct images_opts *o) {
  time_t now = time(NULL);
  st_table *t = o->quiet ? NULL : st_table_new();
  cleanup_buf st_buf out = ST_BUF_INIT;
  if (t)
    st_table_add_line(t, o->digests ? "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\t"
                                      "CREATED\tSIZE"
                                    : "REPOSITORY\tTAG\tIMAGE ID\tCREATED\t"
                                      "SIZE");
  for (size_t i = 0; i < n; i++) {
    const st_image_row *r = &rows[i];
    if (!row_visible(s, r, o))
      continue;
    const char *id = o->no_trunc ? r->img.id : st_digest_hex(r->img.id);
    int idlen = o->no_trunc ? (int)strlen(id) : 12;
    if (t == NULL) {
      st_buf_printf(&out, "%.*s\n", idlen, id);
      continue;
    }
    cleanup_free char *tag = NULL;
    cleanup_free char *fam = row_repo(r, &tag);
    const char *at = r->repo_digest ? strchr(r->repo_digest, '@') : NULL;
    cleanup_free char *since = st_created_since(r->img.created, now);
    cleanup_free char *size = st_human_size(r->img.size);
    st_buf_free(&out);
    st_buf_printf(&out, "%s\t%s\t", fam ? fam : "<none>", tag ? tag : "<none>");
    if (o->digests)
      st_buf_printf(&out, "%s\t", at ? at + 1 : "<none>");
    st_buf_printf(&out, "%.*s\t%s\t%s", idlen, id, since ? since : "",
                  size ? size : "");
    st_table_add_line(t, out.data);
  }
  if (t) {
    cleanup_free char *text = st_table_render(t);
    st_table_free(t);
    if (text)
      fputs(text, stdout);
  } else if (out.data) {
    fputs(out.data, stdout);
  }
  return 0;
}

/* --tree draws every image (-a: intermediate ones too); it does not
 * filter or format. */
static int check_tree_flags(const struct images_opts *o) {
  const char *other = o->quiet     ? "--quiet"
                      : o->format  ? "--format"
                      : o->digests ? "--digests"
                      : o->f.n_refs || o->f.n_labels || o->f.dangling >= 0 ||
                              o->f.before || o->f.since
                          ? "--filter or a REPOSITORY argument"
                          : NULL;
  if (other)
    return cli_fail(1, "--tree cannot be combined with %s", other);
  return 0;
}

static int parse_images_args(int argc, char **argv, struct images_opts *o) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                       {"digests", no_argument, 0, 'D'},
                                       {"filter", required_argument, 0, 'f'},
                                       {"format", required_argument, 0, 'F'},
                                       {"no-trunc", no_argument, 0, 'T'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"tree", no_argument, 0, 'R'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = cli_getopt(argc, argv, "af:qh", opts)) != -1) {
    switch (c) {
    case 'a':
      o->all = true;
      break;
    case 'D':
      o->digests = true;
      break;
    case 'f':
      if (add_filter(&o->f, optarg) != 0)
        return 1;
      break;
    case 'F':
      o->format = optarg;
      break;
    case 'T':
      o->no_trunc = true;
      break;
    case 'q':
      o->quiet = true;
      break;
    case 'R':
      o->tree = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_images) - 1; /* -1: exit 0 */
    default:
      return cli_bad_flag("images");
    }
  }
  if (argc - optind > 1)
    return cli_bad_usage("images", "\"strata images\" accepts at most 1 "
                                   "argument.\nUsage:  strata images "
                                   "[OPTIONS] [REPOSITORY[:TAG]]");
  if (optind < argc)
    o->f.refs[o->f.n_refs++] = argv[optind];
  return o->tree ? check_tree_flags(o) : 0;
}

static int run_images(int argc, char **argv) {
  cleanup_free const char **refs = calloc((size_t)argc + 1, sizeof(char *));
  cleanup_free const char **labels = calloc((size_t)argc + 1, sizeof(char *));
  struct images_opts o = {
      .f = {.dangling = -1, .refs = refs, .labels = labels}};
  int r = parse_images_args(argc, argv, &o);
  if (r != 0)
    return r < 0 ? 0 : r;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  if (o.tree)
    return images_print_tree(s, o.all, o.no_trunc);
  if (resolve_bound(s, o.f.before, &o.f.before_t, &o.f.before_added) ||
      resolve_bound(s, o.f.since, &o.f.since_t, &o.f.since_added))
    return 1;
  cleanup_error st_error *err = NULL;
  st_image_row *rows = NULL;
  size_t n = 0;
  if (st_image_list(s, &rows, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  if (o.quiet || o.format == NULL || strcmp(o.format, "table") == 0) {
    int code = print_default(rows, n, s, &o);
    st_image_rows_free(rows, n);
    return code;
  }
  json_t *arr = json_array();
  time_t now = time(NULL);
  bool want_at =
      o.format && (strstr(o.format, "CreatedAt") || strstr(o.format, "json"));
  for (size_t i = 0; i < n; i++)
    if (row_visible(s, &rows[i], &o))
      json_array_append_new(arr, row_json(&rows[i], &o, now, want_at));
  st_image_rows_free(rows, n);
  const char *deflt =
      o.digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t"
                  "{{.CreatedSince}}\t{{.Size}}"
                : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t"
                  "{{.CreatedSince}}\t{{.Size}}";
  int code =
      cli_print_rows(o.quiet ? "{{.ID}}" : o.format, deflt, image_headers, arr);
  json_decref(arr);
  return code;
}
