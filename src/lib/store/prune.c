/* `image prune`: select images by the dangling rule (or every unused image),
 * apply Docker's prune filters, delete them in one transaction, sweep. */
#include "store/prune.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ref/ref.h"
#include "store/internal.h"
#include "store/usage.h"
#include "util/cleanup.h"

#define NS_PER_SEC 1000000000LL

/* ---- timestamps (Docker's `until`) ----------------------------------- */

/* Go's time.ParseDuration units, in nanoseconds. */
static double duration_unit(const char *u, size_t n) {
  static const struct {
    const char *name;
    double ns;
  } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
               {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
      return units[i].ns;
  return 0;
}

/* Parses a Go duration ("1h30m", "-1.5h", "90s"); returns 0 and *ns, or -1
 * when s is not one. "0" alone is not a duration for Docker. */
static int parse_duration(const char *s, double *ns) {
  const char *p = s;
  double sign = 1, total = 0;
  if (*p == '-' || *p == '+')
    sign = *p++ == '-' ? -1 : 1;
  if (*p == '\0' || strcmp(s, "0") == 0)
    return -1;
  while (*p) {
    const char *start = p;
    while (isdigit((unsigned char)*p) || *p == '.')
      p++;
    if (p == start)
      return -1;
    char *end = NULL;
    double v = strtod(start, &end);
    if (end != p)
      return -1;
    const char *u = p;
    while (*p && !isdigit((unsigned char)*p) && *p != '.')
      p++;
    double unit = duration_unit(u, (size_t)(p - u));
    if (unit == 0)
      return -1;
    total += v * unit;
  }
  *ns = sign * total;
  return 0;
}

/* Reads exactly n digits into *v; returns the position after, or NULL. */
static const char *digits(const char *p, int n, int *v) {
  *v = 0;
  for (int i = 0; i < n; i++, p++) {
    if (!isdigit((unsigned char)*p))
      return NULL;
    *v = *v * 10 + (*p - '0');
  }
  return p;
}

/* "2006-01-02[T15[:04[:05[.999999999]]]][Z|±07:00]" -> unix ns. */
static int parse_rfc3339(const char *s, int64_t *out) {
  struct tm tm = {0};
  int y, mo, d, frac_ns = 0;
  const char *p = s;
  if (!(p = digits(p, 4, &y)) || *p++ != '-' || !(p = digits(p, 2, &mo)) ||
      *p++ != '-' || !(p = digits(p, 2, &d)))
    return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  if (*p == 'T') {
    if (!(p = digits(p + 1, 2, &tm.tm_hour)))
      return -1;
    if (*p == ':' && !(p = digits(p + 1, 2, &tm.tm_min)))
      return -1;
    if (*p == ':' && !(p = digits(p + 1, 2, &tm.tm_sec)))
      return -1;
    if (*p == '.') {
      int scale = NS_PER_SEC / 10;
      for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
        frac_ns += (*p - '0') * scale;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  time_t t;
  if (*p == '\0') {
    tm.tm_isdst = -1;
    t = mktime(&tm);
  } else if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
    t = timegm(&tm);
  } else if (*p == '+' || *p == '-') {
    int zh, zm, sign = *p == '-' ? -1 : 1;
    const char *q = digits(p + 1, 2, &zh);
    if (!q || *q != ':' || !(q = digits(q + 1, 2, &zm)) || *q != '\0')
      return -1;
    t = timegm(&tm) - sign * (zh * 3600 + zm * 60);
  } else {
    return -1;
  }
  *out = (int64_t)t * NS_PER_SEC + frac_ns;
  return 0;
}

/* "1700000000" or "1700000000.123456789". */
static int parse_unix(const char *s, int64_t *out) {
  const char *p = s;
  int64_t sec = 0, frac = 0, scale = NS_PER_SEC / 10;
  if (!isdigit((unsigned char)*p))
    return -1;
  for (; isdigit((unsigned char)*p); p++) {
    if (sec > (INT64_MAX / NS_PER_SEC) / 10)
      return -1;
    sec = sec * 10 + (*p - '0');
  }
  if (*p == '.')
    for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
      frac += (*p - '0') * scale;
  if (*p != '\0')
    return -1;
  *out = sec * NS_PER_SEC + frac;
  return 0;
}

int st_parse_timestamp(const char *value, int64_t now, int64_t *out,
                       st_error **err) {
  double ns;
  if (parse_duration(value, &ns) == 0) {
    *out = now - (int64_t)llround(ns);
    return 0;
  }
  if (parse_rfc3339(value, out) == 0)
    return 0;
  if (strchr(value, '-') == NULL && parse_unix(value, out) == 0)
    return 0;
  return st_error_set(
      err, EINVAL, "failed to parse value as time or duration: \"%s\"", value);
}

/* ---- filters ------------------------------------------------------------ */

static int cmp_id(const void *a, const void *b) {
  return strcmp(a, b);
}

typedef struct prune_filters {
  bool all;
  /* When set, only these untagged images (sorted) may go: builder prune. */
  char (*only)[ST_DIGEST_LEN];
  size_t n_only;
  bool has_until;
  int64_t until; /* unix ns; images created after it are kept */
  const char **label;
  size_t n_label;
  const char **not_label;
  size_t n_not_label;
} prune_filters;

static void filters_clear(prune_filters *f) {
  free(f->only);
  free(f->label);
  free(f->not_label);
}

static int add_value(const char ***v, size_t *n, const char *value,
                     st_error **err) {
  const char **nv = realloc(*v, (*n + 1) * sizeof(**v));
  if (nv == NULL)
    return st_error_errno(err, ENOMEM, "prune filters");
  nv[(*n)++] = value;
  *v = nv;
  return 0;
}

static int parse_filter(prune_filters *f, const char *filter, int64_t now,
                        st_error **err) {
  const char *eq = strchr(filter, '=');
  if (eq == NULL)
    return st_error_set(err, EINVAL,
                        "bad format of filter (expected name=value)");
  size_t klen = (size_t)(eq - filter);
  const char *value = eq + 1;
  if (klen == 5 && strncmp(filter, "until", 5) == 0) {
    if (f->has_until)
      return st_error_set(err, EINVAL, "more than one until filter specified");
    f->has_until = true;
    return st_parse_timestamp(value, now, &f->until, err);
  }
  if (klen == 5 && strncmp(filter, "label", 5) == 0)
    return add_value(&f->label, &f->n_label, value, err);
  if (klen == 6 && strncmp(filter, "label!", 6) == 0)
    return add_value(&f->not_label, &f->n_not_label, value, err);
  if (klen == 8 && strncmp(filter, "dangling", 8) == 0) {
    if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
      f->all = false;
    else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
      f->all = true;
    else
      return st_error_set(err, EINVAL, "invalid filter 'dangling=%s'", value);
    return 0;
  }
  return st_error_set(err, EINVAL, "invalid filter '%.*s'", (int)klen, filter);
}

static int parse_filters(const st_prune_opts *o, prune_filters *f,
                         st_error **err) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = o->now ? o->now : (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
  f->all = o->all;
  if (o->n_only > 0) {
    f->only = calloc(o->n_only, ST_DIGEST_LEN);
    if (f->only == NULL)
      return st_error_errno(err, ENOMEM, "prune");
    memcpy(f->only, o->only, o->n_only * ST_DIGEST_LEN);
    f->n_only = o->n_only;
    qsort(f->only, f->n_only, ST_DIGEST_LEN, cmp_id);
  }
  for (size_t i = 0; i < o->n_filters; i++)
    if (parse_filter(f, o->filters[i], now, err) < 0)
      return -1;
  return 0;
}

/* Docker's filters.MatchKVList: every "k" or "k=v" of `want` is in labels.
 * No wanted values matches anything; no labels matches nothing. */
static bool labels_match_all(json_t *labels, const char **want, size_t n) {
  if (n == 0)
    return true;
  if (!json_is_object(labels) || json_object_size(labels) == 0)
    return false;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(want[i], '=');
    size_t klen = eq ? (size_t)(eq - want[i]) : strlen(want[i]);
    json_t *v = json_object_getn(labels, want[i], klen);
    if (v == NULL)
      return false;
    if (eq && (!json_is_string(v) || strcmp(json_string_value(v), eq + 1)))
      return false;
  }
  return true;
}

/* Docker's matchLabels: all label= match, and not all label!= match. */
static int labels_pass(st_store *s, const prune_filters *f, const char *id,
                       bool *pass, st_error **err) {
  *pass = true;
  if (f->n_label == 0 && f->n_not_label == 0)
    return 0;
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (st_blob_get(s, id, &data, &len, err) < 0)
    return st_error_wrap(err, "image %s: read config", id);
  json_error_t jerr;
  json_t *config = json_loadb(data, len, 0, &jerr);
  if (config == NULL)
    return st_error_set(err, EIO, "image %s: config is not JSON: %s", id,
                        jerr.text);
  json_t *labels = json_object_get(json_object_get(config, "config"), "Labels");
  *pass = labels_match_all(labels, f->label, f->n_label) &&
          !(f->n_not_label > 0 &&
            labels_match_all(labels, f->not_label, f->n_not_label));
  json_decref(config);
  return 0;
}

/* ---- the set of images the filters allow -------------------------------- */

typedef struct id_set {
  char (*ids)[ST_DIGEST_LEN];
  size_t n;
} id_set;

static bool id_set_has(const id_set *set, const char *id) {
  return set->n > 0 &&
         bsearch(id, set->ids, set->n, ST_DIGEST_LEN, cmp_id) != NULL;
}

static int image_eligible(st_store *s, const prune_filters *f,
                          const st_image *img, bool *ok, st_error **err) {
  *ok = false;
  if (st_image_in_use(s, img->id))
    return 0;
  /* An image without a creation time is never "before" a time (Docker). */
  if (f->has_until &&
      (img->created == 0 || img->created * NS_PER_SEC > f->until))
    return 0;
  return labels_pass(s, f, img->id, ok, err);
}

static int cmp_row_index(const void *a, const void *b, void *arg) {
  const st_image_row *rows = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int c = strcmp(rows[i].img.id, rows[j].img.id);
  return c ? c : (i > j) - (i < j);
}

/* The images (each once, sorted by ID) that pass the filters and that no
 * container uses. */
static int eligible_images(st_store *s, const prune_filters *f,
                           const st_image_row *rows, size_t n, id_set *out,
                           st_error **err) {
  cleanup_free size_t *order = calloc(n ? n : 1, sizeof(*order));
  out->ids = calloc(n ? n : 1, ST_DIGEST_LEN);
  out->n = 0;
  if (order == NULL || out->ids == NULL)
    return st_error_errno(err, ENOMEM, "prune");
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  qsort_r(order, n, sizeof(*order), cmp_row_index, (void *)rows);
  for (size_t k = 0; k < n; k++) {
    const st_image *img = &rows[order[k]].img;
    if (k > 0 && strcmp(rows[order[k - 1]].img.id, img->id) == 0)
      continue;
    /* Without `all`, a tagged image is never removed: skip reading it. */
    if (!f->all && rows[order[k]].name != NULL)
      continue;
    if (f->only && !id_set_has(&(id_set){f->only, f->n_only}, img->id))
      continue;
    bool ok = false;
    if (image_eligible(s, f, img, &ok, err) < 0)
      return -1;
    if (ok)
      memcpy(out->ids[out->n++], img->id, ST_DIGEST_LEN);
  }
  return 0;
}

/* ---- the report --------------------------------------------------------- */

static int report_add(st_prune_report *r, st_prune_kind kind, char *what,
                      st_error **err) {
  if (what == NULL)
    return st_error_errno(err, ENOMEM, "prune");
  st_prune_entry *v =
      realloc(r->entries, (r->n_entries + 1) * sizeof(*r->entries));
  if (v == NULL) {
    free(what);
    return st_error_errno(err, ENOMEM, "prune");
  }
  r->entries = v;
  r->entries[r->n_entries].kind = kind;
  r->entries[r->n_entries++].what = what;
  return 0;
}

void st_prune_report_clear(st_prune_report *r) {
  for (size_t i = 0; i < r->n_entries; i++)
    free(r->entries[i].what);
  free(r->entries);
  free(r->warning);
  memset(r, 0, sizeof(*r));
}

/* ---- deleting one image ------------------------------------------------- */

/* Chain IDs of a layer stack: chain[0] = diff[0], chain[i] =
 * sha256(chain[i-1] + " " + diff[i]); Docker names a freed layer by it. */
static void chain_ids(const st_layer_rec *l, size_t n,
                      char (*chain)[ST_DIGEST_LEN]) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0) {
      memcpy(chain[0], l[0].diff_id, ST_DIGEST_LEN);
      continue;
    }
    char buf[2 * ST_DIGEST_LEN + 1];
    int len = snprintf(buf, sizeof(buf), "%s %s", chain[i - 1], l[i].diff_id);
    st_digest_of(buf, (size_t)len, chain[i]);
  }
}

static int layer_recorded(st_store *s, sqlite3_stmt *st, const char *blob,
                          bool *exists, st_error **err) {
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, blob, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return st_db_error(s, err, "prune");
  *exists = rc == SQLITE_ROW;
  return 0;
}

static int report_untagged(st_store *s, const char *id, st_prune_report *r,
                           st_error **err) {
  char **names[2] = {NULL, NULL};
  size_t n[2] = {0, 0};
  int ret = 0;
  if (st_image_tags(s, id, &names[0], &n[0], err) < 0 ||
      st_image_digests(s, id, &names[1], &n[1], err) < 0)
    ret = -1;
  for (int k = 0; k < 2 && ret == 0; k++)
    for (size_t i = 0; i < n[k] && ret == 0; i++)
      ret = report_add(r, ST_PRUNE_UNTAGGED, st_ref_familiar(names[k][i]), err);
  st_strv_free(names[0], n[0]);
  st_strv_free(names[1], n[1]);
  return ret;
}

/* Deletes image id (inside the caller's transaction) and reports it and
 * the layers only it used. */
static int prune_one(st_store *s, sqlite3_stmt *layer_q, const char *id,
                     st_prune_report *r, st_error **err) {
  st_layer_rec *layers = NULL;
  size_t n = 0;
  if (report_untagged(s, id, r, err) < 0 ||
      st_image_layers(s, id, &layers, &n, err) < 0)
    return -1;
  cleanup_free char(*chain)[ST_DIGEST_LEN] = calloc(n ? n : 1, ST_DIGEST_LEN);
  int ret = -1;
  if (chain == NULL) {
    st_error_errno(err, ENOMEM, "prune");
    goto out;
  }
  chain_ids(layers, n, chain);
  if (st_image_delete(s, id, true, err) < 0 ||
      report_add(r, ST_PRUNE_DELETED, strdup(id), err) < 0)
    goto out;
  r->n_images++;
  for (size_t i = n; i-- > 0;) {
    bool exists = false;
    if (layer_recorded(s, layer_q, layers[i].blob, &exists, err) < 0)
      goto out;
    /* The same blob twice in one image is freed (and counted) once. */
    bool dup = false;
    for (size_t j = i + 1; j < n && !dup; j++)
      dup = strcmp(layers[j].blob, layers[i].blob) == 0;
    if (exists || dup)
      continue;
    if (report_add(r, ST_PRUNE_DELETED, strdup(chain[i]), err) < 0)
      goto out;
    r->reclaimed += layers[i].size;
  }
  ret = 0;
out:
  st_layers_free(layers, n);
  return ret;
}

/* ---- the prune ---------------------------------------------------------- */

static bool selected(const prune_filters *f, const id_set *eligible,
                     const st_image_row *row) {
  if (!id_set_has(eligible, row->img.id))
    return false;
  if (f->only) /* still cache (another row names it): kept */
    return row->name == NULL && !row->has_children && !row->build_cache;
  if (f->all)
    return !row->has_children && !row->build_cache;
  return st_image_row_dangling(row);
}

/* One round: deletes every selected image of the current listing. Returns
 * the number deleted, or < 0. */
static int prune_round(st_store *s, const prune_filters *f,
                       const id_set *eligible, sqlite3_stmt *layer_q,
                       st_prune_report *r, st_error **err) {
  st_image_row *rows = NULL;
  size_t n = 0;
  if (st_image_list(s, &rows, &n, err) < 0)
    return -1;
  int deleted = 0;
  for (size_t i = 0; i < n; i++) {
    if (!selected(f, eligible, &rows[i]))
      continue;
    /* A tagged image has one row per tag: delete it at its first. */
    bool done = false;
    for (size_t j = 0; j < i && !done; j++)
      done = strcmp(rows[j].img.id, rows[i].img.id) == 0;
    if (done)
      continue;
    if (prune_one(s, layer_q, rows[i].img.id, r, err) < 0) {
      deleted = -1;
      break;
    }
    deleted++;
  }
  st_image_rows_free(rows, n);
  return deleted;
}

static int prune_tx(st_store *s, const prune_filters *f, st_prune_report *r,
                    st_error **err) {
  st_image_row *rows = NULL;
  size_t n = 0;
  id_set eligible = {NULL, 0};
  cleanup_stmt sqlite3_stmt *layer_q = NULL;
  int ret = -1;
  if (st_db_prepare(s, "SELECT 1 FROM layers WHERE blob = ?", &layer_q, err) <
          0 ||
      st_image_list(s, &rows, &n, err) < 0)
    goto out;
  if (eligible_images(s, f, rows, n, &eligible, err) < 0)
    goto out;
  /* Removing a child can leave its parent dangling (or childless, for
   * `all`): go round until nothing more is selected. */
  int k;
  while ((k = prune_round(s, f, &eligible, layer_q, r, err)) > 0)
    ;
  ret = k < 0 ? -1 : 0;
out:
  st_image_rows_free(rows, n);
  free(eligible.ids);
  return ret;
}

int st_image_prune(st_store *s, const st_prune_opts *o, st_prune_report *r,
                   st_error **err) {
  memset(r, 0, sizeof(*r));
  prune_filters f = {0};
  if (parse_filters(o, &f, err) < 0) {
    filters_clear(&f);
    return -1;
  }
  if (st_tx_begin(s, err) < 0) {
    filters_clear(&f);
    return st_error_wrap(err, "prune images");
  }
  int ret = prune_tx(s, &f, r, err);
  filters_clear(&f);
  if (ret < 0 || st_tx_commit(s, err) < 0) {
    if (ret < 0)
      st_tx_rollback(s);
    st_prune_report_clear(r);
    return st_error_wrap(err, "prune images");
  }
  st_error *gc_err = NULL;
  if (st_store_gc(s, &gc_err) < 0) {
    if (asprintf(&r->warning,
                 "removing unreferenced blobs: %s (the next prune retries)",
                 gc_err && gc_err->msg ? gc_err->msg : "failed") < 0)
      r->warning = NULL;
    st_error_free(gc_err);
  }
  return 0;
}
