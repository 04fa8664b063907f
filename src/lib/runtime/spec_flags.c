/* The flags of runtime/flags.h in config.json, in the stored Config and in
 * inspect, and their steps at start: process.rlimits, linux.sysctl,
 * --device nodes, --pid/--ipc/--uts (a host namespace, or another
 * container's joined through /proc/<pid>/ns). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/image.h"
#include "net/ports.h"
#include "runtime/flags.h"
#include "runtime/launch.h"
#include "store/containers.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char *const rlimit_types[] = {
    [RLIMIT_CORE] = "RLIMIT_CORE",
    [RLIMIT_CPU] = "RLIMIT_CPU",
    [RLIMIT_DATA] = "RLIMIT_DATA",
    [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
    [RLIMIT_LOCKS] = "RLIMIT_LOCKS",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
    [RLIMIT_NICE] = "RLIMIT_NICE",
    [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",
    [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
    [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
    [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_STACK] = "RLIMIT_STACK",
    [RLIMIT_AS] = "RLIMIT_AS",
};
#define N_RLIMIT_TYPES (sizeof(rlimit_types) / sizeof(rlimit_types[0]))

static bool mode_is(const char *mode, const char *v) {
  return mode && strcmp(mode, v) == 0;
}

/* The last --ulimit of each name wins (Docker keeps them in a map). */
static bool ulimit_overridden(const st_create_opts *o, size_t i,
                              const st_ulimit *u) {
  for (size_t j = i + 1; j < o->n_ulimits; j++) {
    st_ulimit later;
    st_error *e = NULL;
    if (st_ulimit_parse(o->ulimits[j], &later, &e) == 0 &&
        strcmp(later.name, u->name) == 0)
      return true;
    st_error_free(e);
  }
  return false;
}

/* process.rlimits (-1, unlimited, stays -1: jansson has no uint64). */
static int add_rlimits(const st_create_opts *o, json_t *process,
                       st_error **err) {
  if (o->n_ulimits == 0)
    return 0;
  json_t *a = json_array();
  json_object_set_new(process, "rlimits", a);
  for (size_t i = 0; i < o->n_ulimits; i++) {
    st_ulimit u;
    if (st_ulimit_parse(o->ulimits[i], &u, err) < 0)
      return -1;
    if (!ulimit_overridden(o, i, &u))
      json_array_append_new(
          a, json_pack("{s:s, s:I, s:I}", "type", rlimit_types[u.resource],
                       "hard", (json_int_t)u.hard, "soft", (json_int_t)u.soft));
  }
  return 0;
}

/* linux.sysctl; runc's refusals for a namespace the container shares with
 * the host. */
static int add_sysctls(const st_create_opts *o, json_t *lx, st_error **err) {
  if (o->n_sysctls == 0)
    return 0;
  json_t *m = json_object();
  json_object_set_new(lx, "sysctl", m);
  bool host_net = mode_is(o->network, "host");
  bool host_ipc = mode_is(o->ipc_mode, "host");
  for (size_t i = 0; i < o->n_sysctls; i++) {
    const char *kv = o->sysctls[i];
    if (st_sysctl_check(kv, err) < 0)
      return -1;
    const char *eq = strchr(kv, '=');
    cleanup_free char *k = strndup(kv, (size_t)(eq - kv));
    if (k == NULL)
      return st_error_errno(err, ENOMEM, "--sysctl");
    if (host_net && strncmp(k, "net.", 4) == 0)
      return st_error_set(err, EINVAL,
                          "sysctl \"%s\" not allowed in host network "
                          "namespace",
                          k);
    if (host_ipc && strncmp(k, "net.", 4) != 0)
      return st_error_set(err, EINVAL,
                          "sysctl \"%s\" is not allowed in the hosts ipc "
                          "namespace",
                          k);
    json_object_set_new(m, k, json_string(eq + 1));
  }
  return 0;
}

/* One device node: made at ctr as the host's (type, numbers, mode,
 * owner), allowed in linux.resources.devices with perms. */
static void device_node(const char *ctr, const struct stat *st,
                        const char *perms, json_t *devs, json_t *allow) {
  const char *type = S_ISCHR(st->st_mode) ? "c" : "b";
  json_int_t maj = major(st->st_rdev), min = minor(st->st_rdev);
  json_array_append_new(
      devs, json_pack("{s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "path", ctr,
                      "type", type, "major", maj, "minor", min, "fileMode",
                      (int)(st->st_mode & 07777), "uid", (json_int_t)st->st_uid,
                      "gid", (json_int_t)st->st_gid));
  json_array_append_new(allow, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow",
                                         1, "type", type, "major", maj, "minor",
                                         min, "access", perms));
}

/* --device DIR[:CTRDIR]: every device node under it (as Docker), at the
 * same place under ctr. */
static void device_dir(const char *host, const char *ctr, const char *perms,
                       int depth, json_t *devs, json_t *allow) {
  cleanup_dir DIR *d = depth < 8 ? opendir(host) : NULL;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    cleanup_free char *h = NULL, *c = NULL;
    struct stat st;
    if (asprintf(&h, "%s/%s", host, e->d_name) < 0 ||
        asprintf(&c, "%s/%s", ctr, e->d_name) < 0 || lstat(h, &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode))
      device_dir(h, c, perms, depth + 1, devs, allow);
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      device_node(c, &st, perms, devs, allow);
  }
}

/* One --device: a device node, or a directory of them. */
static int add_device(const char *v, json_t *devs, json_t *allow,
                      st_error **err) {
  cleanup_free char *buf = malloc(strlen(v) + 1);
  st_device_map d;
  if (buf == NULL)
    return st_error_errno(err, ENOMEM, "--device");
  if (st_device_split(v, buf, &d, err) < 0)
    return -1;
  struct stat st;
  if (stat(d.host, &st) < 0)
    return st_error_set(err, errno == ENOENT ? ENOENT : EINVAL,
                        "error gathering device information while adding "
                        "custom device \"%s\": %s",
                        d.host,
                        errno == ENOENT ? "no such file or directory"
                                        : strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    device_dir(d.host, d.ctr, d.perms, 0, devs, allow);
    return 0;
  }
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
    return st_error_set(err, EINVAL,
                        "error gathering device information while adding "
                        "custom device \"%s\": not a device node",
                        d.host);
  device_node(d.ctr, &st, d.perms, devs, allow);
  return 0;
}

static int add_devices(const st_create_opts *o, json_t *lx, st_error **err) {
  if (o->n_devices == 0)
    return 0;
  json_t *devs = json_object_get(lx, "devices");
  if (devs == NULL)
    json_object_set_new(lx, "devices", devs = json_array());
  json_t *res = json_object_get(lx, "resources");
  if (res == NULL)
    json_object_set_new(lx, "resources", res = json_object());
  json_t *allow = json_object_get(res, "devices");
  if (allow == NULL)
    json_object_set_new(res, "devices", allow = json_array());
  for (size_t i = 0; i < o->n_devices; i++)
    if (add_device(o->devices[i], devs, allow, err) < 0)
      return -1;
  return 0;
}

static const char *const join_ann[ST_JOIN_N] = {
    [ST_JOIN_PID] = ST_ANN_JOIN_PID,
    [ST_JOIN_IPC] = ST_ANN_JOIN_IPC,
    [ST_JOIN_UTS] = ST_ANN_JOIN_UTS,
    [ST_JOIN_NET] = ST_ANN_JOIN_NET,
};

/* The names of the namespaces in /proc/PID/ns. */
static const char *const join_ns[ST_JOIN_N] = {
    [ST_JOIN_PID] = "pid",
    [ST_JOIN_IPC] = "ipc",
    [ST_JOIN_UTS] = "uts",
    [ST_JOIN_NET] = "net",
};

/* --pid/--ipc/--uts host: no namespace of its own; container:NAME: none
 * either, and an annotation the launcher joins by (resolved at start).
 * --network container:NAME: the donor's full ID (resolved at create;
 * --network host has no namespace already). */
static void ns_modes(const st_spec_input *in, json_t *lx, json_t *ann) {
  const st_create_opts *o = in->o;
  static const char *const types[ST_JOIN_N] = {"pid", "ipc", "uts", "network"};
  const char *modes[ST_JOIN_N] = {o->pid_mode, o->ipc_mode, o->uts_mode, NULL};
  json_t *ns = json_object_get(lx, "namespaces");
  for (size_t i = 0; i < ST_JOIN_N; i++) {
    bool named = modes[i] && strncmp(modes[i], "container:", 10) == 0;
    const char *join = i == ST_JOIN_NET ? in->net_donor
                       : named          ? modes[i] + 10
                                        : NULL;
    if (join == NULL && !mode_is(modes[i], "host"))
      continue;
    for (size_t j = json_array_size(ns); j-- > 0;)
      if (strcmp(
              json_string_value(json_object_get(json_array_get(ns, j), "type"))
                  ?: "",
              types[i]) == 0)
        json_array_remove(ns, j);
    if (join)
      json_object_set_new(ann, join_ann[i], json_string(join));
  }
}

/* The bundle of container id, from dir (another container's bundle). */
static char *bundle_of(const char *dir, const char *id) {
  cleanup_free char *sub = NULL;
  if (asprintf(&sub, "containers/%s", id) < 0)
    return NULL;
  return st_runtime_store_path(dir, sub);
}

/* The first of the spec's mounts at dest (the network files come before
 * the volumes, which may bind over them), or NULL. */
static json_t *first_mount_at(json_t *mounts, const char *dest) {
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    const char *d = json_string_value(json_object_get(m, "destination"));
    if (d && strcmp(d, dest) == 0)
      return m;
  }
  return NULL;
}

const char *st_flags_etc_source(const st_spec *spec, const char *dest) {
  for (size_t i = 0; i < spec->n_mounts; i++)
    if (strcmp(spec->mounts[i].dest, dest) == 0)
      return spec->mounts[i].bind ? spec->mounts[i].source : NULL;
  return NULL;
}

/* --network container:NAME: /etc/hosts, /etc/hostname and
 * /etc/resolv.conf are binds of the donor's (as Docker): the files its
 * own binds come from, another donor's when it joins one too. */
static int net_files(const st_spec_input *in, json_t *mounts, st_error **err) {
  static const char *const files[] = {"/etc/hosts", "/etc/hostname",
                                      "/etc/resolv.conf"};
  if (in->net_donor == NULL)
    return 0;
  cleanup_free char *dir = bundle_of(in->dir, in->net_donor);
  st_spec donor;
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "network container:%s", in->net_donor);
  if (st_spec_load(dir, &donor, err) < 0)
    return st_error_wrap(err, "network container:%s", in->net_donor);
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    json_t *m = first_mount_at(mounts, files[i]);
    const char *src = st_flags_etc_source(&donor, files[i]);
    if (m && src)
      json_object_set_new(m, "source", json_string(src));
  }
  st_spec_clear(&donor);
  return 0;
}

char *st_flags_net_hostname(st_store *s, const char *donor) {
  cleanup_free char *dir = st_container_dir(s, donor);
  st_spec spec;
  st_error *e = NULL;
  if (dir == NULL || st_spec_load(dir, &spec, &e) < 0) {
    st_error_free(e);
    return NULL;
  }
  char *h = strdup(spec.hostname ? spec.hostname : "");
  st_spec_clear(&spec);
  return h;
}

/* --ipc none: no /dev/shm; host: the host's /dev/shm (as Docker). */
/* --ipc shareable: /dev/shm is a tmpfs on the host (<dir>/shm, mounted
 * while the container runs: st_flags_shm_mount), which a container that
 * joins it binds too. */
static void ipc_shm(const st_spec_input *in, json_t *mounts, json_t *ann) {
  const st_create_opts *o = in->o;
  bool share = mode_is(o->ipc_mode, "shareable");
  if (!mode_is(o->ipc_mode, "none") && !mode_is(o->ipc_mode, "host") && !share)
    return;
  cleanup_free char *src = NULL, *opts = NULL;
  if (share &&
      (asprintf(&src, "%s/shm", in->dir) < 0 ||
       asprintf(&opts, "mode=1777,size=%lld",
                (long long)(o->shm_size > 0 ? o->shm_size
                                            : ST_DEFAULT_SHM_SIZE)) < 0))
    return;
  if (share)
    json_object_set_new(ann, ST_ANN_SHM, json_string(opts));
  for (size_t i = json_array_size(mounts); i-- > 0;) {
    json_t *m = json_array_get(mounts, i);
    const char *dest = json_string_value(json_object_get(m, "destination"));
    if (dest == NULL || strcmp(dest, "/dev/shm") != 0)
      continue;
    if (mode_is(o->ipc_mode, "none"))
      json_array_remove(mounts, i);
    else
      json_array_set_new(mounts, i,
                         json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination",
                                   "/dev/shm", "type", "bind", "source",
                                   share ? src : "/dev/shm", "options", "rbind",
                                   "rprivate"));
  }
}

int st_flags_spec(const st_spec_input *in, json_t *spec, st_error **err) {
  const st_create_opts *o = in->o;
  json_t *lx = json_object_get(spec, "linux");
  if (add_rlimits(o, json_object_get(spec, "process"), err) < 0 ||
      add_sysctls(o, lx, err) < 0 || add_devices(o, lx, err) < 0 ||
      net_files(in, json_object_get(spec, "mounts"), err) < 0)
    return -1;
  ns_modes(in, lx, json_object_get(spec, "annotations"));
  ipc_shm(in, json_object_get(spec, "mounts"),
          json_object_get(spec, "annotations"));
  return 0;
}

int st_flags_validate(st_store *s, const st_create_opts *o, st_error **err) {
  const char *modes[] = {o->pid_mode, o->ipc_mode, o->uts_mode};
  const char *names[] = {"pid", "ipc", "uts"};
  for (size_t i = 0; i < 3; i++) {
    if (modes[i] == NULL)
      continue;
    if (st_ns_mode_check(names[i], modes[i], err) < 0)
      return -1;
    if (strncmp(modes[i], "container:", 10) != 0)
      continue;
    if (o->runtime)
      return st_error_set(err, EINVAL,
                          "--%s container:NAME with --runtime is not "
                          "supported",
                          names[i]);
    st_container c;
    if (st_container_find(s, modes[i] + 10, &c, err) < 0)
      return -1;
    st_container_clear(&c);
  }
  if (mode_is(o->uts_mode, "host") && o->hostname && *o->hostname)
    return st_error_set(err, EINVAL,
                        "Conflicting options: hostname and the UTS mode");
  st_platform want;
  if (o->platform && st_platform_parse(o->platform, &want, err) < 0)
    return -1;
  for (size_t i = 0; i < o->n_expose; i++) {
    json_t *p = json_object();
    int r = st_expose_add(o->expose[i], p, err);
    json_decref(p);
    if (r < 0)
      return -1;
  }
  return 0;
}

int st_flags_platform_check(const st_create_opts *o, json_t *config,
                            st_error **err) {
  st_platform want, have = {"", "", ""};
  if (o->platform == NULL || st_platform_parse(o->platform, &want, err) < 0)
    return o->platform ? -1 : 0;
  const char *os = json_string_value(json_object_get(config, "os"));
  const char *arch = json_string_value(json_object_get(config, "architecture"));
  const char *variant = json_string_value(json_object_get(config, "variant"));
  snprintf(have.os, sizeof(have.os), "%s", os ? os : "linux");
  snprintf(have.arch, sizeof(have.arch), "%s", arch ? arch : "");
  snprintf(have.variant, sizeof(have.variant), "%s", variant ? variant : "");
  if (st_platform_matches(&want, &have))
    return 0;
  char w[96], h[96];
  st_platform_format(&want, w, sizeof(w));
  st_platform_format(&have, h, sizeof(h));
  return st_error_set(err, ENOENT,
                      "image with reference %s was found but does not match "
                      "the specified platform: wanted %s, actual: %s",
                      o->image, w, h);
}

/* -p's container ports as ExposedPorts keys ("80/tcp"). */
static void add_published(const char *spec, json_t *ports) {
  st_port_map *v = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_ports_parse(spec, &v, &n, &e) < 0)
    st_error_free(e);
  for (size_t i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof(key), "%u/%s", (unsigned)v[i].ctr_port, v[i].proto);
    json_object_set_new(ports, key, json_object());
  }
  free(v);
}

static json_t *ns_mode_json(const char *mode, const char *dflt) {
  return json_string(mode ? mode : dflt);
}

void st_flags_stored(const st_create_opts *o, json_t *image_config, json_t *c) {
  json_t *hc = json_object_get(c, "HostConfig");
  if (hc == NULL)
    json_object_set_new(c, "HostConfig", hc = json_object());
  json_t *ul = json_array();
  for (size_t i = 0; i < o->n_ulimits; i++) {
    st_ulimit u;
    st_error *e = NULL;
    if (st_ulimit_parse(o->ulimits[i], &u, &e) == 0 &&
        !ulimit_overridden(o, i, &u))
      json_array_append_new(ul, json_pack("{s:s, s:I, s:I}", "Name", u.name,
                                          "Hard", (json_int_t)u.hard, "Soft",
                                          (json_int_t)u.soft));
    st_error_free(e);
  }
  json_object_set_new(hc, "Ulimits", ul);
  json_t *devs = json_array();
  for (size_t i = 0; i < o->n_devices; i++) {
    cleanup_free char *buf = malloc(strlen(o->devices[i]) + 1);
    st_device_map d;
    st_error *e = NULL;
    if (buf && st_device_split(o->devices[i], buf, &d, &e) == 0)
      json_array_append_new(devs, json_pack("{s:s, s:s, s:s}", "PathOnHost",
                                            d.host, "PathInContainer", d.ctr,
                                            "CgroupPermissions", d.perms));
    st_error_free(e);
  }
  json_object_set_new(hc, "Devices", devs);
  json_t *groups = json_array();
  for (size_t i = 0; i < o->n_group_add; i++)
    json_array_append_new(groups, json_string(o->group_add[i]));
  json_object_set_new(hc, "GroupAdd", groups);
  json_t *sys = json_object();
  for (size_t i = 0; i < o->n_sysctls; i++) {
    const char *eq = strchr(o->sysctls[i], '=');
    cleanup_free char *k =
        eq ? strndup(o->sysctls[i], (size_t)(eq - o->sysctls[i])) : NULL;
    if (k)
      json_object_set_new(sys, k, json_string(eq + 1));
  }
  json_object_set_new(hc, "Sysctls", sys);
  json_object_set_new(hc, "PidMode", ns_mode_json(o->pid_mode, ""));
  json_object_set_new(hc, "IpcMode", ns_mode_json(o->ipc_mode, "private"));
  json_object_set_new(hc, "UTSMode", ns_mode_json(o->uts_mode, ""));
  if (o->n_expose == 0 && o->n_publish == 0)
    return;
  /* Config.ExposedPorts: the image's, --expose's and -p's container
   * ports (as Docker) */
  json_t *img = json_object_get(image_config, "ExposedPorts");
  json_t *ports = json_is_object(img) ? json_deep_copy(img) : json_object();
  for (size_t i = 0; ports && i < o->n_expose; i++) {
    st_error *e = NULL;
    if (st_expose_add(o->expose[i], ports, &e) < 0)
      st_error_free(e);
  }
  for (size_t i = 0; ports && i < o->n_publish; i++)
    add_published(o->publish[i], ports);
  json_object_set_new(c, "ExposedPorts", ports);
}

/* A copy of the objects of array a with their keys in Docker's order (the
 * stored Config has them sorted). */
static json_t *in_order(json_t *a, const char *const keys[3]) {
  json_t *out = json_array(), *v;
  size_t i;
  json_array_foreach(a, i, v) {
    json_t *o = json_object();
    for (size_t k = 0; k < 3; k++) {
      json_t *x = json_object_get(v, keys[k]);
      if (x)
        json_object_set(o, keys[k], x);
    }
    json_array_append_new(out, o);
  }
  return out;
}

void st_flags_inspect(json_t *hc, json_t *stored) {
  static const char *const ul_keys[] = {"Name", "Hard", "Soft"};
  static const char *const dev_keys[] = {"PathOnHost", "PathInContainer",
                                         "CgroupPermissions"};
  json_t *x = json_object_get(stored, "HostConfig");
  json_t *ul = json_object_get(x, "Ulimits");
  json_t *devs = json_object_get(x, "Devices");
  json_t *groups = json_object_get(x, "GroupAdd");
  json_t *sys = json_object_get(x, "Sysctls");
  json_t *pid = json_object_get(x, "PidMode");
  json_t *ipc = json_object_get(x, "IpcMode");
  json_t *uts = json_object_get(x, "UTSMode");
  /* Docker: Ulimits and Devices [] when none, GroupAdd null, Sysctls
   * left out */
  json_object_set_new(hc, "Devices", in_order(devs, dev_keys));
  json_object_set_new(hc, "Ulimits", in_order(ul, ul_keys));
  json_object_set_new(hc, "GroupAdd",
                      json_array_size(groups) ? json_incref(groups)
                                              : json_null());
  if (json_object_size(sys))
    json_object_set(hc, "Sysctls", sys);
  json_object_set_new(hc, "PidMode", pid ? json_incref(pid) : json_string(""));
  json_object_set_new(hc, "IpcMode",
                      ipc ? json_incref(ipc) : json_string("private"));
  json_object_set_new(hc, "UTSMode", uts ? json_incref(uts) : json_string(""));
}

/* ---- at start ----------------------------------------------------------- */

void st_flags_load(json_t *spec, st_spec *out) {
  json_t *rl = json_object_get(json_object_get(spec, "process"), "rlimits");
  out->n_rlimits = 0;
  out->rlimits = calloc(json_array_size(rl) + 1, sizeof(*out->rlimits));
  size_t i;
  json_t *v;
  json_array_foreach(rl, i, v) {
    const char *type = json_string_value(json_object_get(v, "type"));
    for (size_t r = 0; out->rlimits && type && r < N_RLIMIT_TYPES; r++) {
      if (rlimit_types[r] == NULL || strcmp(rlimit_types[r], type) != 0)
        continue;
      st_rlimit *x = &out->rlimits[out->n_rlimits++];
      x->resource = (int)r;
      x->soft = json_integer_value(json_object_get(v, "soft"));
      x->hard = json_integer_value(json_object_get(v, "hard"));
    }
  }
  json_t *sys = json_object_get(json_object_get(spec, "linux"), "sysctl");
  out->sysctl = calloc(2 * json_object_size(sys) + 1, sizeof(char *));
  const char *k;
  i = 0;
  json_object_foreach(sys, k, v) {
    if (out->sysctl == NULL)
      break;
    out->sysctl[i++] = strdup(k);
    out->sysctl[i++] = strdup(json_string_value(v) ?: "");
  }
  json_t *ann = json_object_get(spec, "annotations");
  const char *shm = json_string_value(json_object_get(ann, ST_ANN_SHM));
  out->shm_opts = shm ? strdup(shm) : NULL;
  for (i = 0; i < ST_JOIN_N; i++) {
    const char *j = json_string_value(json_object_get(ann, join_ann[i]));
    out->join[i] = j ? strdup(j) : NULL;
  }
}

void st_flags_clear(st_spec *s) {
  free(s->rlimits);
  for (size_t i = 0; s->sysctl && s->sysctl[i]; i++)
    free(s->sysctl[i]);
  free(s->sysctl);
  for (size_t i = 0; i < ST_JOIN_N; i++)
    free(s->join[i]);
  free(s->shm_opts);
}

static int write_sysctl(const char *key, const char *value, st_error **err) {
  char path[512];
  int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
  if (n < 0 || (size_t)n >= sizeof(path))
    return st_error_set(err, EINVAL, "sysctl \"%s\": name too long", key);
  for (char *p = path + 10; *p; p++)
    if (*p == '.')
      *p = '/';
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen(value);
  if (fd < 0 || write(fd, value, len) != (ssize_t)len)
    return st_error_errno(err, errno, "write sysctl %s", key);
  return 0;
}

int st_flags_child(const st_spec *spec, st_error **err) {
  for (size_t i = 0; spec->sysctl && spec->sysctl[i]; i += 2)
    if (write_sysctl(spec->sysctl[i], spec->sysctl[i + 1], err) < 0)
      return -1;
  return 0;
}

int st_flags_rlimits(const st_spec *spec, st_error **err) {
  for (size_t i = 0; i < spec->n_rlimits; i++) {
    const st_rlimit *r = &spec->rlimits[i];
    struct rlimit rl = {
        .rlim_cur = r->soft < 0 ? RLIM_INFINITY : (rlim_t)r->soft,
        .rlim_max = r->hard < 0 ? RLIM_INFINITY : (rlim_t)r->hard};
    if (setrlimit((__rlimit_resource_t)r->resource, &rl) < 0)
      return st_error_errno(err, errno, "setrlimit %s",
                            rlimit_types[r->resource]);
  }
  return 0;
}

/* The running container ref's init: pid and start time; EINVAL when it
 * is not running. */
/* Container id's --ipc as stored (HostConfig.IpcMode; "private" when
 * none was given). */
static char *ipc_mode_of(st_store *s, const char *id) {
  cleanup_free char *dir = st_container_dir(s, id);
  st_spec spec;
  st_error *e = NULL;
  if (dir == NULL || st_spec_load(dir, &spec, &e) < 0) {
    st_error_free(e);
    return NULL;
  }
  json_t *cfg = spec.config ? json_loads(spec.config, 0, NULL) : NULL;
  const char *m = json_string_value(
      json_object_get(json_object_get(cfg, "HostConfig"), "IpcMode"));
  char *out = strdup(m ? m : "private");
  json_decref(cfg);
  st_spec_clear(&spec);
  return out;
}

/* EINVAL: the donor ref of the namespace ns is not running (Docker's
 * words for the network). */
static int not_running(const char *ns, const char *ref, st_error **err) {
  if (strcmp(ns, "net") == 0)
    return st_error_set(
        err, EINVAL, "cannot join network of a non running container: %s", ref);
  return st_error_set(err, EINVAL,
                      "cannot join %s namespace of container %s: it is not "
                      "running",
                      ns, ref);
}

static int donor_pid(st_store *s, const char *ref, const char *ns, pid_t *pid,
                     uint64_t *start, char **shm, st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  st_container_refresh(s, &c);
  bool running = c.state == ST_CT_RUNNING && c.pid > 0;
  bool restarting = c.state == ST_CT_RUNNING && c.restarting;
  *pid = c.pid;
  *start = c.pid_start;
  cleanup_free char *ipc = strcmp(ns, "ipc") == 0 ? ipc_mode_of(s, c.id) : NULL;
  cleanup_free char *dir = st_container_dir(s, c.id);
  st_container_clear(&c);
  if (restarting && strcmp(ns, "net") == 0) /* Docker's, for the network */
    return st_error_set(err, EINVAL,
                        "Container %s is restarting, wait until the container "
                        "is running",
                        ref);
  if (!running)
    return not_running(ns, ref, err);
  /* Docker shares the IPC of a container made to share it (its /dev/shm
   * too), or of one in the host's */
  if (ipc && strcmp(ipc, "shareable") != 0 && strcmp(ipc, "host") != 0)
    return st_error_set(err, EINVAL,
                        "container %s: non-shareable IPC (hint: use "
                        "IpcMode:shareable for the donor container)",
                        ref);
  /* the /dev/shm it shares (see ipc_shm) */
  if (ipc && shm && asprintf(shm, "%s/shm", dir ? dir : "") < 0)
    *shm = NULL;
  if (ipc && shm && strcmp(ipc, "host") == 0) {
    free(*shm);
    *shm = strdup("/dev/shm");
  }
  return 0;
}

int st_flags_join_record(st_store *s, const char *dir, st_error **err) {
  cleanup_free char *cfg = NULL, *path = NULL;
  if (asprintf(&cfg, "%s/config.json", dir) < 0 ||
      asprintf(&path, "%s/join", dir) < 0)
    return st_error_errno(err, ENOMEM, "start");
  json_t *spec = json_load_file(cfg, 0, NULL);
  json_t *ann = json_object_get(spec, "annotations");
  char text[8192] = "";
  size_t len = 0;
  int r = 0;
  bool any = false;
  for (size_t i = 0; r == 0 && i < ST_JOIN_N; i++) {
    const char *ref = json_string_value(json_object_get(ann, join_ann[i]));
    any = any || ref;
    pid_t pid = 0;
    uint64_t start = 0;
    cleanup_free char *shm = NULL;
    if (ref)
      r = donor_pid(s, ref, join_ns[i], &pid, &start, &shm, err);
    len +=
        (size_t)snprintf(text + len, sizeof(text) - len, "%d %llu %s\n",
                         (int)pid, (unsigned long long)start, shm ? shm : "-");
  }
  json_decref(spec);
  if (r < 0 || !any)
    return r;
  return st_write_file_atomic(path, text, len, err);
}

/* The donors recorded by st_flags_join_record (a detached monitor has no
 * store); still running when the same processes live. */
static int recorded_pid(const char *dir, size_t i, const char *ref, pid_t *pid,
                        char **shm, st_error **err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/join", dir) < 0)
    return st_error_errno(err, ENOMEM, "start");
  cleanup_file FILE *f = fopen(path, "re");
  int p = 0;
  unsigned long long start = 0;
  char src[4096] = "-";
  for (size_t l = 0; f && l <= i; l++)
    if (fscanf(f, "%d %llu %4095s", &p, &start, src) != 3)
      p = 0;
  if (p > 0 && strcmp(src, "-") != 0)
    *shm = strdup(src);
  if (p <= 0 || !st_pid_alive(p, start))
    return not_running(join_ns[i], ref, err);
  *pid = p;
  return 0;
}

/* The container's /dev/shm becomes a bind of src (the donor's). */
static int bind_shm(st_spec *spec, const char *src) {
  for (size_t i = 0; i < spec->n_mounts; i++) {
    st_mount_op *m = &spec->mounts[i];
    if (strcmp(m->dest, "/dev/shm") != 0)
      continue;
    char *s = strdup(src), *type = strdup("bind"), *data = strdup("");
    if (s == NULL || type == NULL || data == NULL) {
      free(s);
      free(type);
      free(data);
      return -1;
    }
    free(m->source);
    free(m->type);
    free(m->data);
    m->source = s;
    m->type = type;
    m->data = data;
    m->bind = true;
    m->flags = MS_BIND | MS_REC;
    m->readonly = false;
    m->propagation = MS_PRIVATE;
  }
  return 0;
}

int st_flags_join_open(st_store *s, const char *dir, st_spec *spec,
                       int fds[ST_JOIN_N], st_error **err) {
  for (size_t i = 0; i < ST_JOIN_N; i++)
    fds[i] = -1;
  for (size_t i = 0; i < ST_JOIN_N; i++) {
    if (spec->join[i] == NULL)
      continue;
    pid_t pid = 0;
    uint64_t start = 0;
    cleanup_free char *shm = NULL;
    if ((s ? donor_pid(s, spec->join[i], join_ns[i], &pid, &start, &shm, err)
           : recorded_pid(dir, i, spec->join[i], &pid, &shm, err)) < 0)
      return -1;
    if (shm && bind_shm(spec, shm) < 0)
      return st_error_errno(err, ENOMEM, "join IPC of %s", spec->join[i]);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, join_ns[i]);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0)
      return st_error_errno(err, errno, "join %s namespace of container %s",
                            join_ns[i], spec->join[i]);
  }
  return 0;
}

int st_flags_shm_mount(const char *dir, const st_spec *spec, st_error **err) {
  if (spec->shm_opts == NULL)
    return 0;
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/shm", dir) < 0)
    return st_error_errno(err, ENOMEM, "/dev/shm");
  struct stat d, m;
  if (mkdir(path, 0755) < 0 && errno != EEXIST)
    return st_error_errno(err, errno, "mkdir `%s`", path);
  if (stat(dir, &d) == 0 && stat(path, &m) == 0 && d.st_dev != m.st_dev)
    return 0; /* mounted (a restart) */
  if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            spec->shm_opts) < 0)
    return st_error_errno(err, errno, "mount the shareable /dev/shm");
  return 0;
}

void st_flags_shm_release(const char *dir) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/shm", dir) > 0)
    umount2(path, MNT_DETACH);
}

bool st_image_platform_differs(st_store *s, const char *ref,
                               const char *platform) {
  st_image img;
  st_error *e = NULL;
  if (platform == NULL || st_image_resolve(s, ref, &img, &e) < 0) {
    st_error_free(e);
    return false;
  }
  json_t *config = NULL;
  st_create_opts o = {.image = ref, .platform = platform};
  bool differs = st_config_load(s, img.id, &config, &e) == 0 &&
                 st_flags_platform_check(&o, config, &e) < 0 &&
                 e->code == ENOENT;
  st_error_free(e);
  json_decref(config);
  st_image_clear(&img);
  return differs;
}
