/* Cache keys of build steps, and why a step missed.
 *
 * A step's inputs are a JSON object: "instr" (the expanded instruction as
 * history shows it) and, by kind, "args" (build args a RUN sees), "files"
 * (NAME -> content digest of what a COPY writes), "sources" (their
 * checksum), "from" (the image a COPY --from reads). The key is the sha256
 * of that object serialized with sorted keys, "files" left out (the
 * "sources" checksum covers the same records); the object itself is stored
 * with the cache row, so a miss is explained by comparing the new inputs
 * with the previous row's for the same parent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/internal.h"
#include "digest/digest.h"
#include "image/image.h"
#include "store/cache.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define KEY_VERSION "strata-build-cache-v2\n"

int st_bkey(const st_bstep *step, char key[ST_DIGEST_LEN], st_error **err) {
  /* "files" is left out: each line is made of the same records as
   * "sources", their checksum, so it adds nothing to the key, and a warm
   * COPY then need not list its files at all (st_ctx_checksum's memo) */
  json_t *in = step->inputs;
  cleanup_json json_t *copy = NULL;
  if (json_object_get(in, "files") && json_object_get(in, "sources")) {
    if ((copy = json_copy(in)) == NULL)
      return st_error_errno(err, ENOMEM, "cache key");
    json_object_del(copy, "files");
    in = copy;
  }
  cleanup_free char *text = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
  if (text == NULL)
    return st_error_errno(err, ENOMEM, "cache key");
  st_sha256 *h = st_sha256_new();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "cache key");
  st_sha256_update(h, KEY_VERSION, strlen(KEY_VERSION));
  st_sha256_update(h, text, strlen(text));
  st_sha256_final(h, key); /* frees h */
  return 0;
}

/* "VERSION changed: 1.2 -> 1.3", "VERSION added", "VERSION removed". */
static void diff_args(st_buf *out, json_t *now, json_t *before) {
  const char *k;
  json_t *v;
  json_object_foreach(now, k, v) {
    json_t *old = json_object_get(before, k);
    if (old == NULL)
      st_buf_printf(out, "%sbuild arg %s added: %s", out->len ? "; " : "", k,
                    json_string_value(v));
    else if (!json_equal(old, v))
      st_buf_printf(out, "%sbuild arg %s changed: %s -> %s",
                    out->len ? "; " : "", k, json_string_value(old),
                    json_string_value(v));
  }
  json_object_foreach(before, k, v) {
    if (json_object_get(now, k) == NULL)
      st_buf_printf(out, "%sbuild arg %s removed", out->len ? "; " : "", k);
  }
}

/* Two file lines "TYPE MODE SIZE DIGEST" (context.c): what differs. */
static const char *change_kind(const char *a, const char *b) {
  char ta = 0, tb = 0;
  unsigned ma = 0, mb = 0;
  if (a == NULL || b == NULL || sscanf(a, "%c %o", &ta, &ma) != 2 ||
      sscanf(b, "%c %o", &tb, &mb) != 2)
    return "changed";
  if (ta != tb)
    return "changed (type)";
  if (ma != mb)
    return "changed (mode)";
  return tb == 'l' ? "changed (link target)" : "changed (content)";
}

/* Equal, NULL standing for absent. */
static bool same(json_t *a, json_t *b) {
  return (a == NULL && b == NULL) || (a && b && json_equal(a, b));
}

/* "src/main.c changed (content)", "+2 more". */
static void diff_files(st_buf *out, json_t *now, json_t *before) {
  const char *k;
  json_t *v;
  int shown = 0, more = 0;
  json_object_foreach(now, k, v) {
    json_t *old = json_object_get(before, k);
    const char *what = old == NULL ? "added" : NULL;
    if (old && !json_equal(old, v))
      what = change_kind(json_string_value(old), json_string_value(v));
    if (what == NULL)
      continue;
    if (shown < 3)
      st_buf_printf(out, "%s%s %s", out->len ? ", " : "", k, what);
    else
      more++;
    shown++;
  }
  json_object_foreach(before, k, v) {
    if (json_object_get(now, k))
      continue;
    if (shown < 3)
      st_buf_printf(out, "%s%s removed", out->len ? ", " : "", k);
    else
      more++;
    shown++;
  }
  if (more)
    st_buf_printf(out, " (+%d more)", more);
}

static void diff_inputs(st_buf *out, json_t *now, json_t *before) {
  diff_args(out, json_object_get(now, "args"), json_object_get(before, "args"));
  json_t *fn = json_object_get(now, "files"),
         *fb = json_object_get(before, "files");
  if (fn && fb)
    diff_files(out, fn, fb);
  else if (!same(json_object_get(now, "sources"),
                 json_object_get(before, "sources")))
    st_buf_printf(out, "%ssource files changed", out->len ? "; " : "");
  if (!same(json_object_get(now, "from"), json_object_get(before, "from")))
    st_buf_printf(out, "%s--from image changed", out->len ? "; " : "");
  if (!same(json_object_get(now, "chown"), json_object_get(before, "chown")) ||
      !same(json_object_get(now, "chmod"), json_object_get(before, "chmod")))
    st_buf_printf(out, "%s--chown/--chmod changed", out->len ? "; " : "");
  if (!same(json_object_get(now, "mounts"),
            json_object_get(before, "mounts")) ||
      !same(json_object_get(now, "network"),
            json_object_get(before, "network")))
    st_buf_printf(out, "%s--mount/--network changed", out->len ? "; " : "");
}

char *st_bexplain(st_bstate *st, const st_bstep *step) {
  st_cache_entry prev = {0};
  cleanup_buf st_buf out = ST_BUF_INIT;
  int r = st_cache_previous(st->b->s, st->image, step->in->text, &prev, NULL);
  /* a row of another instruction says nothing about this one */
  if (r > 0 && strncasecmp(prev.instr, step->in->text,
                           strcspn(step->in->text, " ")) != 0) {
    st_cache_entry_clear(&prev);
    r = 0;
  }
  if (r <= 0) {
    if (strcmp(st->image, st->base) == 0)
      st_buf_printf(&out, "base image changed: nothing was built on %.19s yet",
                    *st->image ? st->image : "scratch");
    else
      st_buf_puts(&out, "first build of this step");
    return st_buf_steal(&out);
  }
  if (strcmp(prev.instr, step->in->text) != 0) {
    st_buf_printf(&out, "instruction changed (was: %s)", prev.instr);
  } else {
    cleanup_json json_t *before = json_loads(prev.inputs, 0, NULL);
    if (before == NULL)
      st_buf_puts(&out, "inputs changed");
    else
      diff_inputs(&out, step->inputs, before);
    /* the same text expanded differently (an ENV or ARG it uses) */
    if (before && out.len == 0 &&
        !same(json_object_get(step->inputs, "instr"),
              json_object_get(before, "instr")))
      st_buf_printf(&out, "now %s (was: %s)",
                    json_string_value(json_object_get(step->inputs, "instr")),
                    json_string_value(json_object_get(before, "instr")));
    if (out.len == 0)
      st_buf_puts(&out, "inputs changed");
  }
  st_cache_entry_clear(&prev);
  char *s = st_buf_steal(&out);
  return s ? s : strdup("cache miss");
}
