/* COPY and ADD: a layer written straight from the sources as a tar
 * stream (build/context.h), keyed by the checksum of what it writes.
 * Sources come from the build context, a stage or an image (--from), or
 * here-documents (written to a private directory first). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/add.h"
#include "build/internal.h"
#include "layer/backend.h"
#include "layer/tar.h"
#include "runtime/internal.h"
#include "store/cache.h"
#include "store/layers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

typedef struct copy_prep {
  st_ctx *own;  /* a source root opened for this step (--from, heredocs) */
  st_ctx *ctx;  /* the root sources come from */
  char **paths; /* matched sources */
  size_t n_paths;
  char *dest;
  st_copy_spec spec;
  bool extract; /* ADD of local archives: unpacked at dest */
  int *fds;     /* the archives, open */
  size_t n_fds;
  bool chown;
  st_ignore *exclude; /* --exclude, compiled */
  bool parents;
  size_t *pivots; /* --parents: per path, where its kept part starts */
} copy_prep;

static void prep_free(void *p) {
  copy_prep *c = p;
  if (c == NULL)
    return;
  st_ctx_free(c->own);
  st_ignore_free(c->exclude);
  free(c->pivots);
  for (size_t i = 0; i < c->n_fds; i++)
    close(c->fds[i]);
  free(c->fds);
  for (size_t i = 0; i < c->n_paths; i++)
    free(c->paths[i]);
  free(c->paths);
  free(c->dest);
  free(c);
}

static bool has_glob(const char *s) {
  return strpbrk(s, "*?[") != NULL;
}

static bool is_url(const char *s) {
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* ADD URL: downloaded into a fresh directory, which becomes the source
 * root, and matched by the file name the URL gives. */
static int fetch_url(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                     const char *url, json_t *inputs, st_error **err) {
  if (in->n_args != 2)
    return st_error_set(err, EINVAL,
                        "ADD with a URL takes exactly one "
                        "source");
  char *tmp;
  cleanup_free char *dir = NULL, *name = NULL;
  static int seq;
  if (st_bprivate_dir(st->b, &tmp, err) < 0)
    return -1;
  if (asprintf(&dir, "%s/url-%d", tmp, ++seq) < 0)
    return st_error_errno(err, ENOMEM, "ADD");
  if (mkdir(dir, 0700) < 0)
    return st_error_errno(err, errno, "mkdir %s", dir);
  if (st_badd_fetch(url, st_df_flag_get(in, "checksum", NULL), dir, &name,
                    err) < 0 ||
      st_ctx_open(dir, NULL, &cp->own, err) < 0)
    return -1;
  cp->ctx = cp->own;
  json_object_set_new(inputs, "url", json_string(url));
  return st_ctx_match(cp->ctx, name, &cp->paths, &cp->n_paths, err);
}

/* ADD of local files: all archives (unpacked) or none (copied). */
static int find_archives(copy_prep *cp, const char *const *words,
                         st_error **err) {
  cp->fds = calloc(cp->n_paths + 1, sizeof(int));
  if (cp->fds == NULL)
    return st_error_errno(err, ENOMEM, "ADD");
  size_t n_archives = 0;
  for (size_t i = 0; i < cp->n_paths; i++) {
    struct stat sb;
    int fd = st_ctx_open_source(cp->ctx, cp->paths[i], &sb, err);
    if (fd < 0)
      return -1;
    if (S_ISREG(sb.st_mode) && st_badd_is_archive(fd)) {
      cp->fds[cp->n_fds++] = fd;
      n_archives++;
    } else {
      close(fd);
    }
  }
  if (n_archives && n_archives != cp->n_paths)
    return st_error_set(err, ENOTSUP,
                        "ADD %s...: mixing tar archives and other sources in "
                        "one ADD is not supported; use one ADD for each",
                        words[0]);
  cp->extract = n_archives > 0;
  return 0;
}

/* Here-document sources: each body becomes a file named after its
 * delimiter in a fresh directory, which is then the step's source root. */
static int heredoc_root(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                        st_error **err) {
  cleanup_free char *dir = NULL;
  char *tmp;
  static int seq;
  if (st_bprivate_dir(st->b, &tmp, err) < 0)
    return -1;
  if (asprintf(&dir, "%s/heredoc-%d", tmp, ++seq) < 0)
    return st_error_errno(err, ENOMEM, "heredoc");
  if (mkdir(dir, 0700) < 0)
    return st_error_errno(err, errno, "mkdir %s", dir);
  for (size_t i = 0; i < in->n_heredocs; i++) {
    const st_df_heredoc *h = &in->heredocs[i];
    cleanup_free char *body = NULL, *path = NULL;
    if (h->expand ? st_bexpand(st, h->content, &body, err) < 0
                  : (body = strdup(h->content)) == NULL)
      return body ? -1 : st_error_errno(err, ENOMEM, "heredoc");
    if (strchr(h->name, '/') || asprintf(&path, "%s/%s", dir, h->name) < 0)
      return st_error_set(err, EINVAL, "bad here-document name %s", h->name);
    cleanup_close int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(body);
    if (fd < 0 || write(fd, body, len) != (ssize_t)len)
      return st_error_errno(err, errno, "write %s", path);
  }
  return st_ctx_open(dir, NULL, &cp->own, err);
}

static int source_root(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                       json_t *inputs, st_error **err) {
  const char *from = st_df_flag_get(in, "from", NULL);
  if (in->n_heredocs) {
    if (heredoc_root(st, in, cp, err) < 0)
      return -1;
    cp->ctx = cp->own;
    return 0;
  }
  if (from == NULL) {
    cp->ctx = st->b->ctx;
    if (cp->ctx == NULL)
      return st_error_set(err, EINVAL, "no build context to copy from");
    return 0;
  }
  cleanup_free char *f = NULL, *root = NULL;
  char id[ST_DIGEST_LEN];
  if (st_bexpand(st, from, &f, err) < 0 ||
      st_bresolve_from(st->b, f, id, err) < 0 ||
      st_bimage_root(st->b, id, &root, err) < 0 ||
      st_ctx_open(root, NULL, &cp->own, err) < 0)
    return -1;
  json_object_set_new(inputs, "from", json_string(id));
  cp->ctx = cp->own;
  return 0;
}

/* --chown: numeric, or names looked up in the image's /etc/passwd and
 * /etc/group. */
static int resolve_chown(st_bstate *st, const char *spec, uid_t *uid,
                         gid_t *gid, st_error **err) {
  char **lower = NULL;
  size_t n = 0;
  if (*st->image && st_image_unpack(st->b->s, st->image, &lower, &n, err) < 0)
    return -1;
  st_user u = {0};
  st_lower_view view;
  int r = st_lower_view_open(lower, n, &view, err);
  if (r == 0) {
    r = st_user_resolve(view.path, n, spec, &u, err);
    st_lower_view_close(&view);
  }
  st_strv_free(lower, n);
  if (r < 0)
    return st_error_wrap(err, "--chown=%s", spec);
  /* Docker: a user without a group gets the GID of the same number */
  *uid = u.uid;
  *gid = strchr(spec, ':') ? u.gid : (gid_t)u.uid;
  free(u.groups);
  free(u.home);
  return 0;
}

/* One --exclude=PATTERN (repeatable): expanded, one line of the pattern
 * text compiled once for the step, and listed in the key's inputs. A '!'
 * exception or an empty pattern would make no sense here: refused. */
static int add_exclude(st_bstate *st, const char *v, st_buf *text,
                       json_t *inputs, st_error **err) {
  cleanup_free char *e = NULL;
  if (st_bexpand(st, v ? v : "", &e, err) < 0)
    return -1;
  if (*e == '\0' || *e == '!' || strchr(e, '\n'))
    return st_error_set(err, EINVAL,
                        "--exclude=%s: give a pattern such as *.md or "
                        "docs/** (no '!' exception)",
                        e);
  json_t *arr = json_object_get(inputs, "exclude");
  if (arr == NULL)
    json_object_set_new(inputs, "exclude", arr = json_array());
  json_array_append_new(arr, json_string(e));
  if (st_buf_puts(text, e) < 0 || st_buf_putc(text, '\n') < 0)
    return st_error_errno(err, ENOMEM, "--exclude");
  return 0;
}

static int parse_flags(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                       json_t *inputs, st_error **err) {
  cp->spec.mode = -1;
  cp->spec.mtime = st->b->epoch;
  cleanup_buf st_buf excl = ST_BUF_INIT;
  for (size_t i = 0; i < in->n_flags; i++) {
    const char *n = in->flags[i].name, *v = in->flags[i].value;
    if (strcmp(n, "chown") == 0) {
      cleanup_free char *e = NULL;
      if (st_bexpand(st, v ? v : "", &e, err) < 0 ||
          resolve_chown(st, e, &cp->spec.uid, &cp->spec.gid, err) < 0)
        return -1;
      json_object_set_new(inputs, "chown", json_string(e));
      cp->chown = true;
    } else if (strcmp(n, "chmod") == 0) {
      char *end;
      long m = v ? strtol(v, &end, 8) : -1;
      if (v == NULL || *v == '\0' || *end || m < 0 || m > 07777)
        return st_error_set(err, EINVAL,
                            "invalid chmod %s: use an octal "
                            "mode such as 0755",
                            v ? v : "");
      cp->spec.mode = (int)m;
      json_object_set_new(inputs, "chmod", json_integer(m));
    } else if (strcmp(n, "exclude") == 0) {
      if (add_exclude(st, v, &excl, inputs, err) < 0)
        return -1;
    } else if (strcmp(n, "parents") == 0) {
      cp->parents = v == NULL || strcmp(v, "true") == 0;
      if (!cp->parents && strcmp(v, "false") != 0)
        return st_error_set(err, EINVAL, "--parents=%s: give true or false", v);
      if (cp->parents)
        json_object_set_new(inputs, "parents", json_true());
    } else if (strcmp(n, "checksum") == 0 && in->kind == ST_DF_ADD &&
               !(in->n_args == 2 && is_url(in->args[0]))) {
      return st_error_set(err, EINVAL,
                          "ADD --checksum is only supported "
                          "for HTTP(S) sources");
    } else if (strcmp(n, "from") && strcmp(n, "link") &&
               !(in->kind == ST_DF_ADD && (strcmp(n, "checksum") == 0 ||
                                           strcmp(n, "keep-git-dir") == 0))) {
      return st_error_set(err, EINVAL, "unknown flag: --%s", n);
    }
  }
  if (excl.len == 0)
    return 0;
  if (st_ignore_compile(excl.data, excl.len, &cp->exclude, err) < 0)
    return st_error_wrap(err, "--exclude");
  cp->spec.exclude = cp->exclude;
  return 0;
}

/* --parents: for the paths one source word matched (from first on), where
 * the part kept under the destination starts: after the word's "/./"
 * pivot when it has one (Docker's rule), else at 0 (the whole path). */
static int set_pivots(copy_prep *cp, const char *word, size_t first,
                      st_error **err) {
  size_t *v = realloc(cp->pivots, (cp->n_paths + 1) * sizeof(*v));
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "COPY --parents");
  cp->pivots = v;
  const char *pv = strstr(word, "/./");
  cleanup_free char *pre = pv ? strndup(word, (size_t)(pv - word)) : NULL;
  cleanup_free char *clean = NULL;
  if (pre) {
    /* the cleaned prefix, as st_ctx_match cleans the paths */
    char *p = pre;
    while (*p == '/')
      p++;
    while (strncmp(p, "./", 2) == 0)
      p += 2;
    clean = strdup(p);
    if (clean == NULL)
      return st_error_errno(err, ENOMEM, "COPY --parents");
    size_t n = strlen(clean);
    while (n > 0 && clean[n - 1] == '/')
      clean[--n] = '\0';
  }
  size_t cl = clean ? strlen(clean) : 0;
  for (size_t i = first; i < cp->n_paths; i++) {
    const char *m = cp->paths[i];
    v[i] = cl && strncmp(m, clean, cl) == 0 && (m[cl] == '/' || !m[cl])
               ? cl + (m[cl] == '/')
               : 0;
  }
  return 0;
}

/* Expands the words and matches the sources; the last word is the
 * destination. */
static int match_sources(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                         st_buf *by, json_t *by_inputs, bool *glob,
                         st_error **err) {
  size_t nw = in->n_args;
  if (nw < 2 && in->n_heredocs == 0)
    return st_error_set(err, EINVAL,
                        "%s requires at least two arguments, "
                        "but only one was provided. Destination could not "
                        "be determined.",
                        st_df_kind_name(in->kind));
  for (size_t i = 0; i + 1 < nw; i++) {
    cleanup_free char *w = NULL;
    const char *word = in->args[i];
    if (in->kind == ST_DF_ADD && is_url(word)) {
      st_buf_printf(by, " %s", word);
      return fetch_url(st, in, cp, word, by_inputs, err);
    }
    if (strncmp(word, "<<", 2) == 0) { /* a here-document */
      word += 2 + (word[2] == '-');
      w = strdup(word);
      for (char *q = w; q && *q; q++)
        if (*q == '"' || *q == '\'')
          memmove(q, q + 1, strlen(q));
    } else if (st_bexpand(st, word, &w, err) < 0) {
      return -1;
    }
    if (w == NULL)
      return st_error_errno(err, ENOMEM, "COPY");
    *glob = *glob || has_glob(w);
    st_buf_printf(by, " %s", w);
    size_t first = cp->n_paths;
    if (st_ctx_match(cp->ctx, w, &cp->paths, &cp->n_paths, err) < 0 ||
        (cp->parents && set_pivots(cp, w, first, err) < 0))
      return -1;
  }
  return 0;
}

static int make_dest(st_bstate *st, const st_df_instr *in, copy_prep *cp,
                     bool glob, st_buf *by, st_error **err) {
  cleanup_free char *d = NULL;
  if (st_bexpand(st, in->args[in->n_args - 1], &d, err) < 0)
    return -1;
  size_t len = strlen(d);
  bool slash = len && d[len - 1] == '/';
  bool dot =
      strcmp(d, ".") == 0 || (len >= 2 && strcmp(d + len - 2, "/.") == 0);
  cleanup_free char *abs = st_bjoin_workdir(st, d);
  if (abs == NULL)
    return st_error_errno(err, ENOMEM, "COPY");
  bool root = strcmp(abs, "/") == 0;
  if (asprintf(&cp->dest, "%s%s", abs, (slash || dot) && !root ? "/" : "") < 0)
    return st_error_errno(err, ENOMEM, "COPY");
  st_buf_printf(by, " %s", d);
  cp->spec.dest = cp->dest;
  cp->spec.dest_is_dir =
      slash || dot || root || glob || cp->n_paths > 1 || cp->parents;
  if (!cp->spec.dest_is_dir && cp->n_paths == 1) {
    int isdir = st_bis_dir_in_image(st, abs, err);
    if (isdir < 0)
      return -1;
    cp->spec.dest_is_dir = isdir == 1;
  }
  return 0;
}

/* The files part of the inputs, when it is small enough to keep. */
static void add_files(json_t *inputs, char **files) {
  size_t n = 0;
  while (files && files[n])
    n++;
  if (n == 0 || n > 5000)
    return;
  json_t *obj = json_object();
  for (size_t i = 0; i < n; i++) {
    char *tab = strchr(files[i], '\t');
    if (tab == NULL)
      continue;
    *tab = '\0';
    json_object_set_new(obj, files[i], json_string(tab + 1));
    *tab = '\t';
  }
  json_object_set_new(inputs, "files", obj);
}

/* The checksum and its "files" (on a miss, when the memo gave the sum
 * alone): the sources read again, without the memo. */
static int checksum(st_bstate *st, copy_prep *cp, json_t *inputs, bool memo,
                    bool *partial, st_error **err) {
  char sum[ST_DIGEST_LEN];
  char **files = NULL;
  st_ctx_hashes full = st->b->hash_ops;
  bool hashed = cp->ctx == st->b->ctx && st->b->hashes != NULL;
  if (hashed && !memo) {
    full.sum_get = NULL;
    st_ctx_set_hashes(cp->ctx, &full);
  }
  st_filehashes_begin(st->b->hashes);
  int r = st_ctx_checksum(cp->ctx, &cp->spec, sum, &files, err);
  st_filehashes_end(st->b->hashes);
  if (hashed && !memo)
    st_ctx_set_hashes(cp->ctx, &st->b->hash_ops);
  if (r == 0) {
    *partial = files == NULL;
    add_files(inputs, files);
    json_object_set_new(inputs, "sources", json_string(sum));
  }
  for (size_t i = 0; files && files[i]; i++)
    free(files[i]);
  free(files);
  return r;
}

static int complete(st_bstate *st, st_bstep *step, st_error **err) {
  bool partial;
  return checksum(st, step->priv, step->inputs, false, &partial, err);
}

int st_bcopy_prepare(st_bstate *st, st_bstep *step, st_error **err) {
  const st_df_instr *in = step->in;
  copy_prep *cp = calloc(1, sizeof(*cp));
  if (cp == NULL)
    return st_error_errno(err, ENOMEM, "COPY");
  step->priv = cp;
  step->priv_free = prep_free;
  step->layer = step->numbered = true;
  step->inputs = json_object();
  cleanup_buf st_buf by = ST_BUF_INIT;
  st_buf_puts(&by, st_df_kind_name(in->kind));
  bool glob = false;
  if (step->inputs == NULL || parse_flags(st, in, cp, step->inputs, err) < 0 ||
      source_root(st, in, cp, step->inputs, err) < 0 ||
      match_sources(st, in, cp, &by, step->inputs, &glob, err) < 0)
    return -1;
  if (in->kind == ST_DF_ADD && json_object_get(step->inputs, "url") == NULL &&
      in->n_heredocs == 0 &&
      find_archives(cp, (const char *const *)in->args, err) < 0)
    return -1;
  if (cp->extract)
    json_object_set_new(step->inputs, "extract", json_true());
  if (make_dest(st, in, cp, glob || cp->extract, &by, err) < 0)
    return -1;
  cp->spec.srcs = cp->paths;
  cp->spec.n_srcs = cp->n_paths;
  cp->spec.pivots = cp->parents ? cp->pivots : NULL;
  /* shown as written (BuildKit's title); history has no flags */
  step->title = strdup(in->text);
  bool partial = false;
  int r = checksum(st, cp, step->inputs, true, &partial, err);
  if (partial)
    step->complete = complete;
  if (r < 0 || step->title == NULL ||
      asprintf(&step->created_by, "%s # buildkit", by.data) < 0)
    return r < 0 ? -1 : st_error_errno(err, ENOMEM, "COPY");
  json_object_set_new(step->inputs, "instr", json_string(step->created_by));
  return 0;
}

static int produce(void *ctx, int fd, st_error **err) {
  copy_prep *cp = ctx;
  if (!cp->extract)
    return st_ctx_write_tar(cp->ctx, &cp->spec, fd, err);
  st_badd_spec a = {.fds = cp->fds,
                    .names = (const char *const *)cp->paths,
                    .n = cp->n_fds,
                    .dest = cp->dest,
                    .chown = cp->chown,
                    .uid = cp->spec.uid,
                    .gid = cp->spec.gid,
                    .mtime = cp->spec.mtime};
  return st_badd_write(&a, fd, err);
}

int st_bcopy_exec(st_bstate *st, st_bstep *step, st_layer_rec *layer,
                  st_error **err) {
  copy_prep *cp = step->priv;
  return st_layer_import_from(st->b->s, produce, cp, step->title, layer, err);
}
