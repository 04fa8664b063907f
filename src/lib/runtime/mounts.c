/* -v, --mount, --volumes-from and the image's VOLUME list, with Docker's
 * syntax and messages, turned into OCI mounts and volume records. */
#include "runtime/mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "runtime/internal.h"
#include "runtime/volumes.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

typedef enum mtype { MT_BIND, MT_VOLUME, MT_TMPFS } mtype;

/* One mount asked for, before it is resolved. */
typedef struct mspec {
  mtype type;
  char *source; /* host path, volume name, or NULL (anonymous) */
  char *dest;
  char **labels, **opts; /* --mount volume-label=, volume-opt= (K=V) */
  size_t n_labels, n_opts;
  bool ro, nocopy, from_mount, anonymous_ok;
  const char *propagation; /* NULL: rprivate */
  int64_t tmpfs_size;      /* 0: none */
  long tmpfs_mode;         /* -1: none */
} mspec;

static void mspec_clear(mspec *m) {
  free(m->source);
  free(m->dest);
  st_strv_free(m->labels, m->n_labels);
  st_strv_free(m->opts, m->n_opts);
}

static int push_kv(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (nv == NULL)
    return -1;
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return -1;
  nv[++*n] = NULL;
  return 0;
}

static const char *const propagations[] = {
    "private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};

static bool in_list(const char *const *list, const char *s) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

/* Docker's ValidMountMode: comma-separated, at most one of each kind. */
static int parse_mode(const char *mode, mspec *m, st_error **err) {
  static const char *const labels[] = {"z", "Z", NULL};
  static const char *const consistency[] = {"consistent", "cached", "delegated",
                                            NULL};
  cleanup_free char *dup = strdup(mode);
  int rw = 0, lab = 0, prop = 0, cons = 0, copy = 0;
  for (char *t = dup, *c; t; t = c) {
    c = strchr(t, ',');
    if (c)
      *c++ = '\0';
    if (strcmp(t, "ro") == 0 || strcmp(t, "rw") == 0) {
      m->ro = strcmp(t, "ro") == 0;
      rw++;
    } else if (in_list(labels, t)) {
      lab++;
    } else if (in_list(propagations, t)) {
      for (size_t i = 0; propagations[i]; i++)
        if (strcmp(propagations[i], t) == 0)
          m->propagation = propagations[i];
      prop++;
    } else if (in_list(consistency, t)) {
      cons++;
    } else if (strcmp(t, "nocopy") == 0) {
      m->nocopy = true;
      copy++;
    } else {
      rw = 2;
    }
  }
  if (dup == NULL || rw > 1 || lab > 1 || prop > 1 || cons > 1 || copy > 1)
    return st_error_set(err, EINVAL, "invalid mode: %s", mode);
  return 0;
}

static int check_dest(const char *spec, const char *kind, const char *dest,
                      st_error **err) {
  if (dest == NULL || *dest == '\0')
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"%s\": field Target "
                        "must not be empty",
                        kind);
  if (dest[0] != '/')
    return st_error_set(err, EINVAL,
                        "invalid volume specification: '%s': invalid mount "
                        "config for type \"%s\": invalid mount path: '%s' "
                        "mount path must be absolute",
                        spec, kind, dest);
  if (strcmp(dest, "/") == 0)
    return st_error_set(err, EINVAL,
                        "invalid specification: destination can't be '/'");
  return 0;
}

/* -v [SRC:]DEST[:MODE] (Docker's Linux parser). */
static int parse_v(const char *spec, mspec *m, st_error **err) {
  cleanup_free char *dup = strdup(spec);
  char *part[4] = {0};
  size_t n = 0;
  for (char *t = dup, *c; t && n < 4; t = c) {
    c = strchr(t, ':');
    if (c)
      *c++ = '\0';
    part[n++] = t;
    if (c == NULL)
      break;
  }
  size_t colons = 0;
  for (const char *p = spec; *p; p++)
    colons += *p == ':';
  if (dup == NULL || n == 0 || colons > 2 || *part[0] == '\0')
    return st_error_set(err, EINVAL, "invalid volume specification: '%s'",
                        spec);
  const char *src = NULL, *dest = part[0], *mode = NULL;
  mspec probe = {0};
  st_error *e = NULL;
  if (n == 2 && parse_mode(part[1], &probe, &e) == 0) {
    mode = part[1];
  } else if (n >= 2) {
    src = part[0];
    dest = part[1];
    mode = n == 3 ? part[2] : NULL;
  }
  st_error_free(e);
  if (mode && parse_mode(mode, m, err) < 0)
    return -1;
  m->type = src && src[0] == '/' ? MT_BIND : MT_VOLUME;
  if (check_dest(spec, m->type == MT_BIND ? "bind" : "volume", dest, err) < 0)
    return -1;
  m->source = src ? strdup(src) : NULL;
  m->dest = strdup(dest);
  return 0;
}

static int parse_bool(const char *key, const char *v, bool *out,
                      st_error **err) {
  if (v == NULL || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
      strcmp(v, "t") == 0)
    *out = true;
  else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
           strcmp(v, "f") == 0)
    *out = false;
  else
    return st_error_set(err, EINVAL, "invalid value for %s: %s", key, v);
  return 0;
}

static int mount_field(mspec *m, char *f, char **type, int *used,
                       st_error **err) {
  char *eq = strchr(f, '=');
  char *v = eq ? eq + 1 : NULL;
  if (eq)
    *eq = '\0';
  for (char *p = f; *p; p++)
    *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
  if (!eq && strcmp(f, "readonly") && strcmp(f, "ro") &&
      strcmp(f, "volume-nocopy") && strcmp(f, "bind-nonrecursive"))
    return st_error_set(err, EINVAL,
                        "invalid field '%s' must be a key=value "
                        "pair",
                        f);
  if (strcmp(f, "type") == 0) {
    free(*type);
    *type = strdup(v);
  } else if (strcmp(f, "source") == 0 || strcmp(f, "src") == 0) {
    free(m->source);
    m->source = strdup(v);
  } else if (strcmp(f, "target") == 0 || strcmp(f, "dst") == 0 ||
             strcmp(f, "destination") == 0) {
    free(m->dest);
    m->dest = strdup(v);
  } else if (strcmp(f, "readonly") == 0 || strcmp(f, "ro") == 0) {
    return parse_bool(f, v, &m->ro, err);
  } else if (strcmp(f, "consistency") == 0) {
  } else if (strcmp(f, "bind-propagation") == 0) {
    *used |= 1;
    m->propagation = NULL;
    for (size_t i = 0; propagations[i]; i++)
      if (strcmp(propagations[i], v) == 0)
        m->propagation = propagations[i];
    if (m->propagation == NULL)
      return st_error_set(err, EINVAL, "invalid value for %s: %s", f, v);
  } else if (strcmp(f, "bind-nonrecursive") == 0) {
    *used |= 1;
  } else if (strcmp(f, "volume-nocopy") == 0) {
    *used |= 2;
    return parse_bool(f, v, &m->nocopy, err);
  } else if (strcmp(f, "volume-label") == 0) {
    *used |= 2;
    if (push_kv(&m->labels, &m->n_labels, v) < 0)
      return st_error_errno(err, ENOMEM, "mount");
  } else if (strcmp(f, "volume-opt") == 0) {
    *used |= 2;
    if (strchr(v, '=') == NULL)
      return st_error_set(err, EINVAL, "invalid value for %s: %s", f, v);
    if (push_kv(&m->opts, &m->n_opts, v) < 0)
      return st_error_errno(err, ENOMEM, "mount");
  } else if (strcmp(f, "volume-driver") == 0) {
    *used |= 2;
    if (strcmp(v, "local") != 0)
      return st_error_set(err, EINVAL,
                          "error looking up volume plugin %s: plugin \"%s\" "
                          "not found (strata has the local driver only)",
                          v, v);
  } else if (strcmp(f, "tmpfs-size") == 0 || strcmp(f, "tmpfs-mode") == 0) {
    *used |= 4;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, f[6] == 'm' ? 8 : 10);
    int64_t mult = 1;
    if (f[6] == 's' && end && *end) {
      const char *u = strchr("kmg", *end | 32);
      mult = u ? (int64_t)1 << (10 * (1 + (u - "kmg"))) : 0;
      end += u != NULL;
      end += u && (*end | 32) == 'b';
    }
    if (errno || end == v || *end || n < 0 || mult == 0)
      return st_error_set(err, EINVAL, "invalid value for %s: %s", f, v);
    if (f[6] == 'm')
      m->tmpfs_mode = (long)n;
    else
      m->tmpfs_size = n * mult;
  } else {
    return st_error_set(err, EINVAL, "unexpected key '%s' in '%s=%s'", f, f, v);
  }
  return 0;
}

/* --mount: Docker's CSV of key=value fields, then the daemon's checks. */
static int parse_mount(const char *spec, mspec *m, st_error **err) {
  cleanup_free char *dup = strdup(spec), *type = NULL;
  int used = 0;
  m->from_mount = true;
  m->tmpfs_mode = -1;
  for (char *t = dup, *c; t; t = c) {
    c = strchr(t, ',');
    if (c)
      *c++ = '\0';
    if (mount_field(m, t, &type, &used, err) < 0)
      return st_error_wrap(err, "invalid argument \"%s\" for \"--mount\" flag",
                           spec);
  }
  const char *ty = type ? type : "volume";
  static const char *const kinds[] = {"bind", "volume", "tmpfs"};
  static const char *const opt_kind[] = {"bind", "volume", "tmpfs"};
  for (int i = 0; i < 3; i++)
    if ((used & (1 << i)) && strcmp(ty, opt_kind[i]) != 0)
      return st_error_set(err, EINVAL,
                          "invalid argument \"%s\" for \"--mount\" flag: "
                          "cannot mix '%s-*' options with mount type '%s'",
                          spec, opt_kind[i], ty);
  m->type = strcmp(ty, kinds[0]) == 0   ? MT_BIND
            : strcmp(ty, kinds[1]) == 0 ? MT_VOLUME
            : strcmp(ty, kinds[2]) == 0 ? MT_TMPFS
                                        : (mtype)-1;
  if ((int)m->type < 0)
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"%s\": mount type "
                        "unknown",
                        ty);
  if (m->dest == NULL || *m->dest == '\0')
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"%s\": field Target "
                        "must not be empty",
                        ty);
  if (m->dest[0] != '/')
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"%s\": invalid mount "
                        "path: '%s' mount path must be absolute",
                        ty, m->dest);
  if (m->type == MT_BIND && (m->source == NULL || *m->source == '\0'))
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"bind\": field Source "
                        "must not be empty");
  if (m->type == MT_TMPFS && m->source && *m->source)
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"tmpfs\": field Source "
                        "must not be specified");
  if (m->type == MT_BIND && m->source[0] != '/')
    return st_error_set(err, EINVAL,
                        "invalid mount config for type \"bind\": invalid mount "
                        "path: '%s' mount path must be absolute",
                        m->source);
  if (m->source && *m->source == '\0') {
    free(m->source);
    m->source = NULL;
  }
  return 0;
}

/* ---- resolving ------------------------------------------------------------
 */

static int push_str(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (nv == NULL)
    return -1;
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return -1;
  nv[++*n] = NULL;
  return 0;
}

static json_t *bind_obj(const char *dest, const char *src, bool ro,
                        const char *prop) {
  json_t *o = json_pack("[s,s]", "rbind", prop ? prop : "rprivate");
  if (ro)
    json_array_append_new(o, json_string("ro"));
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", "bind",
                   "source", src, "options", o);
}

/* A volume created with -o type=...,device=...,o=...: as Docker's local
 * driver, the file system is mounted on the host at _data when a
 * container that uses it starts (volume_mount.c, from the list in
 * out->host_mounts) and the container binds _data, so containers running
 * at once share it. o=bind: device itself is bound. */
static json_t *typed_volume_obj(st_ct_mounts *out, const char *dest,
                                const char *data, json_t *opts, bool ro,
                                const char *prop) {
  const char *dev = json_string_value(json_object_get(opts, "device"));
  const char *o = json_string_value(json_object_get(opts, "o"));
  bool bind = false;
  cleanup_free char *dup = strdup(o ? o : "");
  for (char *t = dup, *c; t && *t; t = c) {
    c = strchr(t, ',');
    if (c)
      *c++ = '\0';
    bind |= strcmp(t, "bind") == 0 || strcmp(t, "rbind") == 0;
  }
  if (bind)
    return bind_obj(dest, dev, ro, prop);
  if (out->host_mounts == NULL)
    out->host_mounts = json_array();
  json_t *hm = json_deep_copy(opts);
  json_object_set_new(hm, "path", json_string(data));
  json_array_append_new(out->host_mounts, hm);
  return bind_obj(dest, data, ro, prop);
}

typedef struct ctx {
  st_store *s;
  char **lower;
  size_t n_lower;
  st_ct_mounts *out;
} ctx;

/* Copies the image's content into data when it is empty, holding a lock
 * on the volume's directory: two containers created at once with a new
 * volume copy once (the second finds it full). The copy is made in
 * <dir>/_copy and renamed over the empty _data at the end, so a copy that
 * failed (a full disk) or was killed never leaves a half-filled volume
 * that the next container would take as full; a stale _copy is removed
 * under the lock. */
static int copy_up_locked(ctx *c, const char *dir, const char *data,
                          const char *dest, st_error **err) {
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *tmp = NULL;
  if (fd < 0 || flock(fd, LOCK_EX) < 0)
    return st_error_errno(err, errno, "lock `%s`", dir);
  if (!st_dir_is_empty(data))
    return 0;
  if (asprintf(&tmp, "%s/_copy", dir) < 0)
    return st_error_errno(err, ENOMEM, "copy");
  if (st_rm_rf(tmp, err) < 0)
    return -1;
  if (mkdir(tmp, 0755) < 0)
    return st_error_errno(err, errno, "mkdir `%s`", tmp);
  int r = st_volume_copy_up(c->lower, c->n_lower, dest, tmp, err);
  struct stat st;
  if (r == 0 && !st_dir_is_empty(tmp) && rename(tmp, data) < 0)
    r = st_error_errno(err, errno, "rename `%s` to `%s`", tmp, data);
  /* an empty directory in the image: its owner and mode all the same */
  else if (r == 0 && stat(tmp, &st) == 0 &&
           (chown(data, st.st_uid, st.st_gid) < 0 ||
            chmod(data, st.st_mode & 07777) < 0))
    r = st_error_errno(err, errno, "set the owner of `%s`", data);
  st_error *ignored = NULL;
  if (st_rm_rf(tmp, &ignored) < 0) /* gone after the rename */
    st_error_free(ignored);
  return r;
}

static int resolve_volume(ctx *c, const mspec *m, st_error **err) {
  cleanup_free char *name = NULL;
  char *const anon[] = {(char *)ST_VOLUME_ANON_LABEL "=", NULL};
  st_volume existing;
  st_error *e = NULL;
  bool fresh =
      m->source == NULL || st_volume_get(c->s, m->source, &existing, &e) < 0;
  st_error_free(e);
  if (!fresh)
    st_volume_clear(&existing);
  /* a new one: --mount's volume-label/volume-opt (anonymous: the mark) */
  cleanup_free char **labels = calloc(m->n_labels + 2, sizeof(char *));
  if (labels == NULL)
    return st_error_errno(err, ENOMEM, "volume");
  size_t n_labels = m->n_labels;
  if (n_labels)
    memcpy(labels, m->labels, n_labels * sizeof(char *));
  if (m->source == NULL)
    labels[n_labels++] = anon[0];
  if (fresh && st_volume_create(c->s, m->source, labels, n_labels, m->opts,
                                m->n_opts, &name, err) < 0)
    return -1;
  if (!fresh && (name = strdup(m->source)) == NULL)
    return st_error_errno(err, ENOMEM, "volume");
  if (fresh && m->source == NULL &&
      push_str(&c->out->anon_created, &c->out->n_anon_created, name) < 0)
    return st_error_errno(err, ENOMEM, "volume");
  st_volume v;
  if (st_volume_get(c->s, name, &v, err) < 0)
    return -1;
  cleanup_json json_t *opts = json_loads(v.options, 0, NULL);
  st_volume_clear(&v);
  cleanup_free char *dir = st_volume_dir(c->s, name), *data = NULL;
  if (dir == NULL || asprintf(&data, "%s/_data", dir) < 0 ||
      push_str(&c->out->vol_names, &c->out->n_vols, name) < 0)
    return st_error_errno(err, ENOMEM, "volume");
  size_t nd = c->out->n_vols - 1;
  if (push_str(&c->out->vol_dests, &nd, m->dest) < 0)
    return st_error_errno(err, ENOMEM, "volume");
  if (json_object_get(opts, "type")) {
    json_array_append_new(
        c->out->oci,
        typed_volume_obj(c->out, m->dest, data, opts, m->ro, m->propagation));
    return 0;
  }
  if (!m->nocopy && copy_up_locked(c, dir, data, m->dest, err) < 0)
    return st_error_wrap(err, "copy the image's %s into volume %s", m->dest,
                         name);
  json_array_append_new(c->out->oci,
                        bind_obj(m->dest, data, m->ro, m->propagation));
  return 0;
}

static int resolve_bind(ctx *c, const mspec *m, st_error **err) {
  struct stat st;
  if (stat(m->source, &st) < 0) {
    if (m->from_mount)
      return st_error_set(err, ENOENT,
                          "invalid mount config for type \"bind\": bind "
                          "source path does not exist: %s",
                          m->source);
    if (st_mkdir_p(m->source, 0755, err) < 0) /* Docker's -v does */
      return st_error_wrap(err, "create the bind source");
  }
  cleanup_free char *host = realpath(m->source, NULL);
  if (host == NULL)
    return st_error_errno(err, errno, "bind source %s", m->source);
  json_array_append_new(c->out->oci,
                        bind_obj(m->dest, host, m->ro, m->propagation));
  return 0;
}

static int resolve_tmpfs(ctx *c, const mspec *m, st_error **err) {
  json_t *o = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
  char opt[64];
  if (m->tmpfs_size > 0) {
    snprintf(opt, sizeof(opt), "size=%lld", (long long)m->tmpfs_size);
    json_array_append_new(o, json_string(opt));
  }
  if (m->tmpfs_mode >= 0) {
    snprintf(opt, sizeof(opt), "mode=%lo", (unsigned long)m->tmpfs_mode);
    json_array_append_new(o, json_string(opt));
  }
  if (m->ro)
    json_array_append_new(o, json_string("ro"));
  json_array_append_new(
      c->out->oci, json_pack("{s:s, s:s, s:s, s:o}", "destination", m->dest,
                             "type", "tmpfs", "source", "tmpfs", "options", o));
  (void)err;
  return 0;
}

/* ---- the list ----------------------------------------------------------- */

typedef struct mlist {
  mspec *v;
  size_t n;
} mlist;

static void mlist_clear(mlist *l) {
  for (size_t i = 0; i < l->n; i++)
    mspec_clear(&l->v[i]);
  free(l->v);
}

static mspec *mlist_add(mlist *l) {
  mspec *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
  if (nv == NULL)
    return NULL;
  l->v = nv;
  memset(&nv[l->n], 0, sizeof(*nv));
  nv[l->n].tmpfs_mode = -1;
  return &nv[l->n++];
}

static bool same_dest(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  while (na > 1 && a[na - 1] == '/')
    na--;
  while (nb > 1 && b[nb - 1] == '/')
    nb--;
  return na == nb && strncmp(a, b, na) == 0;
}

static bool has_dest(const mlist *l, const char *dest) {
  for (size_t i = 0; i < l->n; i++)
    if (same_dest(l->v[i].dest, dest))
      return true;
  return false;
}

/* --volumes-from CTR[:ro|rw]: the volumes and binds of that container. */
static int add_volumes_from(st_store *s, const char *spec, mlist *l,
                            st_error **err) {
  cleanup_free char *ref = strdup(spec);
  char *mode = ref ? strrchr(ref, ':') : NULL;
  if (mode)
    *mode++ = '\0';
  if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
    return st_error_set(err, EINVAL, "invalid mode for volumes-from: %s", mode);
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  cleanup_free char *dir = st_container_dir(s, c.id), *vols = NULL;
  cleanup_free char *cdir = st_container_dir(s, "");
  st_container_clear(&c);
  st_spec spec_of = {0};
  if (dir == NULL || cdir == NULL ||
      asprintf(&vols, "%s/volumes/", st_store_root(s)) < 0 ||
      st_spec_load(dir, &spec_of, err) < 0)
    return -1;
  int r = 0;
  for (size_t i = 0; r == 0 && i < spec_of.n_mounts; i++) {
    const st_mount_op *m = &spec_of.mounts[i];
    if (!m->bind || strncmp(m->source, cdir, strlen(cdir)) == 0 ||
        has_dest(l, m->dest)) /* -v and --mount win */
      continue;
    mspec *x = mlist_add(l);
    if (x == NULL)
      return st_error_errno(err, ENOMEM, "volumes-from");
    x->ro = mode ? strcmp(mode, "ro") == 0 : m->readonly;
    x->nocopy = true;
    x->dest = strdup(m->dest);
    size_t nv = strlen(vols);
    if (strncmp(m->source, vols, nv) == 0) {
      x->type = MT_VOLUME;
      x->source = strndup(m->source + nv, strcspn(m->source + nv, "/"));
    } else {
      x->type = MT_BIND;
      x->source = strdup(m->source);
    }
  }
  st_spec_clear(&spec_of);
  return r;
}

static int gather(st_store *s, const st_create_opts *o, json_t *image_cfg,
                  mlist *l, st_error **err) {
  for (size_t i = 0; i < o->n_volumes; i++) {
    mspec *m = mlist_add(l);
    if (m == NULL || parse_v(o->volumes[i], m, err) < 0)
      return m ? -1 : st_error_errno(err, ENOMEM, "volume");
  }
  for (size_t i = 0; i < o->n_mounts; i++) {
    mspec *m = mlist_add(l);
    if (m == NULL || parse_mount(o->mounts[i], m, err) < 0)
      return m ? -1 : st_error_errno(err, ENOMEM, "mount");
  }
  for (size_t i = 0; i < l->n; i++)
    for (size_t j = 0; j < i; j++)
      if (same_dest(l->v[i].dest, l->v[j].dest))
        return st_error_set(err, EINVAL, "Duplicate mount point: %s",
                            l->v[i].dest);
  for (size_t i = 0; i < o->n_volumes_from; i++)
    if (add_volumes_from(s, o->volumes_from[i], l, err) < 0)
      return -1;
  /* The image's VOLUMEs not covered: anonymous volumes (not for build
   * steps, as BuildKit). */
  json_t *vols = json_object_get(image_cfg, "Volumes");
  const char *dest;
  json_t *ignored;
  if (o->volatile_layer)
    return 0;
  json_object_foreach(vols, dest, ignored) {
    if (dest[0] != '/' || has_dest(l, dest))
      continue;
    mspec *m = mlist_add(l);
    if (m == NULL || (m->dest = strdup(dest)) == NULL)
      return st_error_errno(err, ENOMEM, "volume");
    m->type = MT_VOLUME;
  }
  return 0;
}

int st_mounts_resolve(st_store *s, const st_create_opts *o, json_t *image_cfg,
                      char **lower, size_t n_lower, st_ct_mounts *out,
                      st_error **err) {
  memset(out, 0, sizeof(*out));
  out->oci = json_array();
  mlist l = {0};
  ctx c = {s, lower, n_lower, out};
  int r = gather(s, o, image_cfg, &l, err);
  for (size_t i = 0; r == 0 && i < l.n; i++) {
    const mspec *m = &l.v[i];
    switch (m->type) {
    case MT_BIND:
      r = resolve_bind(&c, m, err);
      break;
    case MT_VOLUME:
      r = resolve_volume(&c, m, err);
      break;
    case MT_TMPFS:
      r = resolve_tmpfs(&c, m, err);
      break;
    default:
      r = st_error_set(err, EINVAL, "mount type unknown");
    }
  }
  mlist_clear(&l);
  if (r < 0)
    st_mounts_rollback(s, out);
  return r;
}

int st_mounts_attach(st_store *s, const char *id, const st_ct_mounts *m,
                     st_error **err) {
  for (size_t i = 0; i < m->n_vols; i++)
    if (st_volume_attach(s, id, m->vol_names[i], m->vol_dests[i], err) < 0)
      return -1;
  return 0;
}

void st_mounts_rollback(st_store *s, st_ct_mounts *m) {
  st_volumes_release(s, m->anon_created, m->n_anon_created);
  st_strv_free(m->anon_created, m->n_anon_created);
  m->anon_created = NULL;
  m->n_anon_created = 0;
}

void st_mounts_clear(st_ct_mounts *m) {
  json_decref(m->oci);
  json_decref(m->host_mounts);
  st_strv_free(m->vol_names, m->n_vols);
  st_strv_free(m->vol_dests, m->n_vols);
  st_strv_free(m->anon_created, m->n_anon_created);
  memset(m, 0, sizeof(*m));
}
