/* Reading a bundle's config.json into the executor's st_spec: each mount's
 * options become mount(2) flags, propagation and data. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"

typedef struct mopt {
  const char *name;
  bool clear; /* the option clears the flag */
  unsigned long flag;
} mopt;

static const mopt mount_opts[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"relatime", false, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nodiratime", false, MS_NODIRATIME},
};

static const mopt propagation_opts[] = {
    {"private", false, MS_PRIVATE}, {"rprivate", false, MS_PRIVATE | MS_REC},
    {"slave", false, MS_SLAVE},     {"rslave", false, MS_SLAVE | MS_REC},
    {"shared", false, MS_SHARED},   {"rshared", false, MS_SHARED | MS_REC},
};

static char **strv_from_json(json_t *a) {
  size_t n = json_array_size(a);
  char **v = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; v && i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    v[i] = strdup(s ? s : "");
  }
  return v;
}

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

static bool apply_table(const mopt *t, size_t n, const char *o,
                        unsigned long *flags) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(t[i].name, o) != 0)
      continue;
    if (t[i].clear)
      *flags &= ~t[i].flag;
    else
      *flags |= t[i].flag;
    return true;
  }
  return false;
}

static void parse_option(st_mount_op *m, const char *o, st_buf *data) {
  if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
    m->bind = true;
    m->flags |= MS_BIND | (o[0] == 'r' ? MS_REC : 0);
    return;
  }
  if (apply_table(mount_opts, sizeof(mount_opts) / sizeof(mount_opts[0]), o,
                  &m->flags))
    return;
  if (apply_table(propagation_opts,
                  sizeof(propagation_opts) / sizeof(propagation_opts[0]), o,
                  &m->propagation))
    return;
  st_buf_printf(data, "%s%s", data->len ? "," : "", o);
}

static int load_mount(json_t *j, st_mount_op *m, st_error **err) {
  const char *dest = json_string_value(json_object_get(j, "destination"));
  const char *type = json_string_value(json_object_get(j, "type"));
  const char *src = json_string_value(json_object_get(j, "source"));
  if (dest == NULL || dest[0] != '/')
    return st_error_set(err, EINVAL,
                        "config.json: mount without an "
                        "absolute destination");
  m->dest = strdup(dest);
  m->type = strdup(type ? type : "none");
  m->source = strdup(src ? src : "none");
  cleanup_buf st_buf data = ST_BUF_INIT;
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(j, "options"), i, o) {
    if (json_is_string(o))
      parse_option(m, json_string_value(o), &data);
  }
  if (strcmp(m->type, "bind") == 0)
    m->bind = true, m->flags |= MS_BIND;
  m->readonly = (m->flags & MS_RDONLY) != 0;
  m->data = st_buf_steal(&data);
  if (!m->dest || !m->type || !m->source || !m->data)
    return st_error_errno(err, ENOMEM, "config.json");
  return 0;
}

static int load_mounts(json_t *spec, st_spec *out, st_error **err) {
  json_t *mounts = json_object_get(spec, "mounts");
  out->n_mounts = json_array_size(mounts);
  out->mounts = calloc(out->n_mounts + 1, sizeof(*out->mounts));
  if (out->mounts == NULL)
    return st_error_errno(err, ENOMEM, "config.json");
  for (size_t i = 0; i < out->n_mounts; i++)
    if (load_mount(json_array_get(mounts, i), &out->mounts[i], err) < 0)
      return -1;
  return 0;
}

static int ns_flag(const char *type) {
  static const struct {
    const char *name;
    int flag;
  } t[] = {{"pid", CLONE_NEWPID},     {"ipc", CLONE_NEWIPC},
           {"uts", CLONE_NEWUTS},     {"mount", CLONE_NEWNS},
           {"network", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (type && strcmp(type, t[i].name) == 0)
      return t[i].flag;
  return 0;
}

static char **split_colon(const char *s) {
  size_t n = 1;
  for (const char *p = s; *p; p++)
    n += *p == ':';
  char **v = calloc(n + 1, sizeof(char *));
  cleanup_free char *dup = strdup(s);
  if (v == NULL || dup == NULL)
    return v;
  size_t i = 0;
  for (char *t = dup, *c; t; t = c) {
    c = strchr(t, ':');
    if (c)
      *c++ = '\0';
    if (*t)
      v[i++] = strdup(t);
  }
  return v;
}

static int load_process(json_t *p, st_spec *out, st_error **err) {
  json_t *user = json_object_get(p, "user");
  out->args = strv_from_json(json_object_get(p, "args"));
  out->env = strv_from_json(json_object_get(p, "env"));
  const char *cwd = json_string_value(json_object_get(p, "cwd"));
  out->cwd = strdup(cwd ? cwd : "/");
  out->terminal = json_is_true(json_object_get(p, "terminal"));
  out->uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
  out->gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
  json_t *groups = json_object_get(user, "additionalGids");
  out->n_groups = json_array_size(groups);
  out->groups = calloc(out->n_groups + 1, sizeof(gid_t));
  for (size_t i = 0; out->groups && i < out->n_groups; i++)
    out->groups[i] = (gid_t)json_integer_value(json_array_get(groups, i));
  out->no_new_privs = json_is_true(json_object_get(p, "noNewPrivileges"));
  json_t *oom = json_object_get(p, "oomScoreAdj");
  out->has_oom_score_adj = json_is_integer(oom);
  out->oom_score_adj = (int)json_integer_value(oom);
  json_t *bounding =
      json_object_get(json_object_get(p, "capabilities"), "bounding");
  if (st_caps_from_json(bounding, &out->caps, err) < 0)
    return -1;
  if (!out->args || !out->args[0] || !out->env || !out->cwd || !out->groups)
    return st_error_set(err, EINVAL, "config.json: no process args");
  return 0;
}

static int load_devices(json_t *devs, st_spec *out) {
  out->n_devices = json_array_size(devs);
  out->devices = calloc(out->n_devices + 1, sizeof(*out->devices));
  if (out->devices == NULL)
    return -1;
  for (size_t i = 0; i < out->n_devices; i++) {
    json_t *d = json_array_get(devs, i);
    const char *path = json_string_value(json_object_get(d, "path"));
    const char *type = json_string_value(json_object_get(d, "type"));
    st_device *x = &out->devices[i];
    x->path = strdup(path ? path : "");
    if (x->path == NULL)
      return -1;
    json_t *mode = json_object_get(d, "fileMode");
    x->mode = (mode_t)(mode ? json_integer_value(mode) : 0666) & 07777;
    x->mode |= type && type[0] == 'b' ? S_IFBLK : S_IFCHR;
    x->major = (unsigned)json_integer_value(json_object_get(d, "major"));
    x->minor = (unsigned)json_integer_value(json_object_get(d, "minor"));
    x->uid = (uid_t)json_integer_value(json_object_get(d, "uid"));
    x->gid = (gid_t)json_integer_value(json_object_get(d, "gid"));
  }
  return 0;
}

static void load_resources(json_t *r, st_resources *out) {
  json_t *cpu = json_object_get(r, "cpu");
  out->memory = json_integer_value(
      json_object_get(json_object_get(r, "memory"), "limit"));
  out->cpu_quota = json_integer_value(json_object_get(cpu, "quota"));
  out->cpu_period = json_integer_value(json_object_get(cpu, "period"));
  out->pids =
      json_integer_value(json_object_get(json_object_get(r, "pids"), "limit"));
  json_t *mem = json_object_get(r, "memory");
  out->swap = json_integer_value(json_object_get(mem, "swap"));
  out->reservation = json_integer_value(json_object_get(mem, "reservation"));
  out->oom_disable = json_is_true(json_object_get(mem, "disableOOMKiller"));
  out->shares = json_integer_value(json_object_get(cpu, "shares"));
  const char *cpus = json_string_value(json_object_get(cpu, "cpus"));
  const char *mems = json_string_value(json_object_get(cpu, "mems"));
  snprintf(out->cpus, sizeof(out->cpus), "%s", cpus ? cpus : "");
  snprintf(out->mems, sizeof(out->mems), "%s", mems ? mems : "");
}

static int load_linux(json_t *l, st_spec *out) {
  size_t i;
  json_t *ns;
  json_array_foreach(json_object_get(l, "namespaces"), i, ns) {
    out->ns_flags |= ns_flag(json_string_value(json_object_get(ns, "type")));
  }
  if (load_devices(json_object_get(l, "devices"), out) < 0)
    return -1;
  load_resources(json_object_get(l, "resources"), &out->res);
  const char *cg = json_string_value(json_object_get(l, "cgroupsPath"));
  if (cg && (out->cgroup = strdup(cg)) == NULL)
    return -1;
  out->masked = strv_from_json(json_object_get(l, "maskedPaths"));
  out->readonly_paths = strv_from_json(json_object_get(l, "readonlyPaths"));
  json_t *sc = json_object_get(l, "seccomp");
  out->seccomp = sc ? json_incref(sc) : NULL;
  return out->masked && out->readonly_paths ? 0 : -1;
}

static int load_root(json_t *spec, const char *dir, st_spec *out) {
  json_t *root = json_object_get(spec, "root");
  const char *path = json_string_value(json_object_get(root, "path"));
  if (path == NULL)
    path = "rootfs";
  if (path[0] == '/')
    out->rootfs = strdup(path);
  else if (asprintf(&out->rootfs, "%s/%s", dir, path) < 0)
    out->rootfs = NULL;
  out->root_readonly = json_is_true(json_object_get(root, "readonly"));
  const char *h = json_string_value(json_object_get(spec, "hostname"));
  out->hostname = h ? strdup(h) : NULL;
  json_t *ann = json_object_get(spec, "annotations");
  const char *lower = json_string_value(json_object_get(ann, ST_ANN_LOWER));
  const char *upper = json_string_value(json_object_get(ann, ST_ANN_UPPER));
  const char *work = json_string_value(json_object_get(ann, ST_ANN_WORK));
  if (lower && upper && work) {
    out->lower = split_colon(lower);
    out->upper = strdup(upper);
    out->work = strdup(work);
  }
  const char *vol = json_string_value(json_object_get(ann, ST_ANN_VOLATILE));
  out->volatile_upper = vol && strcmp(vol, "true") == 0;
  const char *ik = json_string_value(json_object_get(ann, ST_ANN_INTERRUPT));
  out->interrupt_kills = ik && strcmp(ik, "kill") == 0;
  const char *init = json_string_value(json_object_get(ann, ST_ANN_INIT));
  out->init = init && strcmp(init, "true") == 0;
  const char *vm =
      json_string_value(json_object_get(ann, ST_ANN_VOLUME_MOUNTS));
  if (vm && (out->volume_mounts = strdup(vm)) == NULL)
    return -1;
  const char *rt = json_string_value(json_object_get(ann, ST_ANN_RUNTIME));
  if (rt && (out->runtime = strdup(rt)) == NULL)
    return -1;
  const char *cf = json_string_value(json_object_get(ann, ST_ANN_CONFIG));
  if (cf && (out->config = strdup(cf)) == NULL)
    return -1;
  const char *hc = json_string_value(json_object_get(ann, ST_ANN_HEALTHCHECK));
  if (hc && (out->healthcheck = strdup(hc)) == NULL)
    return -1;
  return out->rootfs ? 0 : -1;
}

/* The spec this process generated last (see st_spec_remember). */
static struct {
  char *dir;
  json_t *spec;
} fresh;

void st_spec_remember(const char *dir, json_t *spec) {
  free(fresh.dir);
  json_decref(fresh.spec);
  fresh.dir = dir ? strdup(dir) : NULL;
  fresh.spec = fresh.dir ? json_incref(spec) : NULL;
}

int st_spec_load(const char *dir, st_spec *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/config.json", dir) < 0)
    return st_error_errno(err, ENOMEM, "load config.json");
  json_t *spec = NULL;
  if (fresh.dir && strcmp(fresh.dir, dir) == 0) {
    spec = json_incref(fresh.spec);
  } else {
    json_error_t je;
    spec = json_load_file(path, 0, &je);
    if (spec == NULL) /* ENOENT: the container was removed meanwhile */
      return st_error_set(err, access(path, F_OK) < 0 ? errno : EIO,
                          "read `%s`: %s", path, je.text);
  }
  int r = -1;
  if (load_process(json_object_get(spec, "process"), out, err) < 0 ||
      load_mounts(spec, out, err) < 0)
    goto out;
  if (load_linux(json_object_get(spec, "linux"), out) < 0 ||
      load_root(spec, dir, out) < 0) {
    st_error_errno(err, ENOMEM, "load `%s`", path);
    goto out;
  }
  st_flags_load(spec, out);
  r = 0;
out:
  json_decref(spec);
  if (r < 0)
    st_spec_clear(out);
  return r;
}

void st_spec_clear(st_spec *s) {
  free(s->volume_mounts);
  strv_free(s->args);
  strv_free(s->env);
  free(s->cwd);
  free(s->groups);
  free(s->hostname);
  free(s->rootfs);
  strv_free(s->lower);
  free(s->upper);
  free(s->work);
  for (size_t i = 0; s->mounts && i < s->n_mounts; i++) {
    free(s->mounts[i].dest);
    free(s->mounts[i].type);
    free(s->mounts[i].source);
    free(s->mounts[i].data);
  }
  free(s->mounts);
  strv_free(s->masked);
  strv_free(s->readonly_paths);
  json_decref(s->seccomp);
  for (size_t i = 0; s->devices && i < s->n_devices; i++)
    free(s->devices[i].path);
  free(s->devices);
  free(s->cgroup);
  free(s->runtime);
  free(s->config);
  free(s->healthcheck);
  st_flags_clear(s);
  memset(s, 0, sizeof(*s));
}
