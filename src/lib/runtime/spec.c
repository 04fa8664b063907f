/* OCI runtime config.json generated from an image config and the run
 * options, following Docker's rules for the command line (ENTRYPOINT +
 * CMD), the environment and the default mounts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "runtime/internal.h"
#include "runtime/monitor.h"
#include "util/buf.h"
#include "util/cleanup.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static const char *const masked_paths[] = {"/proc/asound",
                                           "/proc/acpi",
                                           "/proc/interrupts",
                                           "/proc/kcore",
                                           "/proc/keys",
                                           "/proc/latency_stats",
                                           "/proc/timer_list",
                                           "/proc/timer_stats",
                                           "/proc/sched_debug",
                                           "/proc/scsi",
                                           "/sys/firmware",
                                           "/sys/devices/virtual/powercap",
                                           NULL};

static const char *const readonly_paths[] = {"/proc/bus",           "/proc/fs",
                                             "/proc/irq",           "/proc/sys",
                                             "/proc/sysrq-trigger", NULL};

static json_t *strv_json(const char *const *v) {
  json_t *a = json_array();
  for (size_t i = 0; v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

/* A JSON array of strings copied from a JSON array (NULL: empty). */
static json_t *copy_strings(json_t *a) {
  json_t *out = json_array(), *v;
  size_t i;
  json_array_foreach(a, i, v) if (json_is_string(v)) json_array_append(out, v);
  return out;
}

/* Docker's rule: --entrypoint replaces the image's ENTRYPOINT and resets
 * its CMD; arguments after the image replace CMD. */
static int build_args(const st_spec_input *in, json_t **out, st_error **err) {
  const st_create_opts *o = in->o;
  json_t *cfg = in->image_config;
  json_t *args = NULL;
  if (o->entrypoint) {
    args = json_array();
    if (*o->entrypoint)
      json_array_append_new(args, json_string(o->entrypoint));
  } else {
    args = copy_strings(json_object_get(cfg, "Entrypoint"));
  }
  if (o->n_cmd > 0) {
    for (size_t i = 0; i < o->n_cmd; i++)
      json_array_append_new(args, json_string(o->cmd[i]));
  } else if (!o->entrypoint) {
    json_t *cmd = copy_strings(json_object_get(cfg, "Cmd"));
    json_array_extend(args, cmd); /* does not steal cmd */
    json_decref(cmd);
  }
  if (json_array_size(args) == 0) {
    json_decref(args);
    return st_error_set(err, EINVAL, "No command specified");
  }
  *out = args;
  return 0;
}

/* Sets name=value in env (a JSON array), replacing an entry for name. */
static void env_set(json_t *env, const char *entry) {
  const char *eq = strchr(entry, '=');
  size_t klen = eq ? (size_t)(eq - entry) : strlen(entry);
  size_t i;
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *e = json_string_value(v);
    if (e && strncmp(e, entry, klen) == 0 && e[klen] == '=') {
      json_array_set_new(env, i, json_string(entry));
      return;
    }
  }
  json_array_append_new(env, json_string(entry));
}

static bool env_has(json_t *env, const char *name) {
  size_t i, n = strlen(name);
  json_t *v;
  json_array_foreach(env, i, v) {
    const char *e = json_string_value(v);
    if (e && strncmp(e, name, n) == 0 && e[n] == '=')
      return true;
  }
  return false;
}

/* Sets the image's environment and then -e's in env. */
static void image_and_user_env(const st_spec_input *in, json_t *env) {
  json_t *img = json_object_get(in->image_config, "Env"), *v;
  size_t i;
  json_array_foreach(img, i, v) if (json_is_string(v))
      env_set(env, json_string_value(v));
  for (size_t j = 0; j < in->o->n_env; j++) {
    const char *e = in->o->env[j];
    if (strchr(e, '=')) {
      env_set(env, e);
      continue;
    }
    const char *val = getenv(e);
    cleanup_free char *kv = NULL;
    if (val && asprintf(&kv, "%s=%s", e, val) > 0)
      env_set(env, kv);
  }
}

static json_t *build_env(const st_spec_input *in) {
  json_t *env = json_array();
  cleanup_free char *host = NULL;
  json_array_append_new(env, json_string("PATH=" ST_DEFAULT_PATH));
  if (asprintf(&host, "HOSTNAME=%s", in->hostname) > 0)
    json_array_append_new(env, json_string(host));
  if (in->o->tty)
    json_array_append_new(env, json_string("TERM=xterm"));
  image_and_user_env(in, env);
  if (!env_has(env, "HOME")) {
    cleanup_free char *home = NULL;
    if (asprintf(&home, "HOME=%s", in->home ? in->home : "/") > 0)
      json_array_append_new(env, json_string(home));
  }
  return env;
}

static json_t *mount_obj(const char *dest, const char *type, const char *src,
                         const char *const *opts) {
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type,
                   "source", src, "options", strv_json(opts));
}

static void add_default_mounts(json_t *m, const st_spec_input *in) {
  static const char *const proc[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const dev[] = {"nosuid", "strictatime", "mode=755",
                                    "size=65536k", NULL};
  static const char *const pts[] = {
      "nosuid",    "noexec", "newinstance", "ptmxmode=0666",
      "mode=0620", "gid=5",  NULL};
  static const char *const sys_ro[] = {"nosuid", "noexec", "nodev", "ro", NULL};
  static const char *const sys_rw[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const mq[] = {"nosuid", "noexec", "nodev", NULL};
  char size[40];
  snprintf(
      size, sizeof(size), "size=%lld",
      (long long)(in->o->shm_size > 0 ? in->o->shm_size : ST_DEFAULT_SHM_SIZE));
  const char *const shm[] = {"nosuid",    "noexec", "nodev",
                             "mode=1777", size,     NULL};
  json_array_append_new(m, mount_obj("/proc", "proc", "proc", proc));
  json_array_append_new(m, mount_obj("/dev", "tmpfs", "tmpfs", dev));
  json_array_append_new(m, mount_obj("/dev/pts", "devpts", "devpts", pts));
  json_array_append_new(m, mount_obj("/sys", "sysfs", "sysfs",
                                     in->o->privileged ? sys_rw : sys_ro));
  json_array_append_new(m, mount_obj("/dev/mqueue", "mqueue", "mqueue", mq));
  json_array_append_new(m, mount_obj("/dev/shm", "tmpfs", "shm", shm));
}

static void add_etc_mounts(json_t *m, const st_spec_input *in) {
  static const char *const bind[] = {"rbind", "rprivate", NULL};
  static const char *const files[] = {"resolv.conf", "hostname", "hosts"};
  for (size_t i = 0; i < 3; i++) {
    cleanup_free char *src = NULL, *dest = NULL;
    if (asprintf(&src, "%s/%s", in->dir, files[i]) < 0 ||
        asprintf(&dest, "/etc/%s", files[i]) < 0)
      continue;
    json_array_append_new(m, mount_obj(dest, "bind", src, bind));
  }
}

/* --tmpfs CTR[:opts]: Docker's defaults noexec,nosuid,nodev. */
static int add_tmpfs(json_t *m, const char *spec, st_error **err) {
  cleanup_free char *dup = strdup(spec);
  if (dup == NULL || dup[0] != '/')
    return st_error_set(err, EINVAL, "invalid tmpfs specification: '%s'", spec);
  char *opts = strchr(dup, ':');
  if (opts)
    *opts++ = '\0';
  json_t *o = json_pack("[s,s,s]", "noexec", "nosuid", "nodev");
  for (char *t = opts, *comma; t; t = comma) {
    comma = strchr(t, ',');
    if (comma)
      *comma++ = '\0';
    if (*t)
      json_array_append_new(o, json_string(t));
  }
  json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:o}", "destination", dup,
                                     "type", "tmpfs", "source", "tmpfs",
                                     "options", o));
  return 0;
}

static int build_mounts(const st_spec_input *in, json_t **out, st_error **err) {
  json_t *m = json_array();
  add_default_mounts(m, in);
  add_etc_mounts(m, in);
  json_array_extend(m, in->volume_mounts); /* runtime/mounts.c */
  for (size_t i = 0; i < in->o->n_tmpfs; i++)
    if (add_tmpfs(m, in->o->tmpfs[i], err) < 0) {
      json_decref(m);
      return -1;
    }
  *out = m;
  return 0;
}

/* --security-opt: Docker's no-new-privileges[=|:bool] and
 * seccomp[=|:]unconfined; apparmor and label options are accepted and
 * ignored (strata applies neither). */
typedef struct security {
  bool no_new_privs, seccomp;
} security;

static bool opt_is(const char *opt, const char *key, const char **value) {
  size_t n = strlen(key);
  if (strncmp(opt, key, n) != 0)
    return false;
  if (opt[n] == '\0') {
    *value = NULL;
    return true;
  }
  if (opt[n] != '=' && opt[n] != ':')
    return false;
  *value = opt + n + 1;
  return true;
}

static int parse_security(const st_create_opts *o, security *out,
                          st_error **err) {
  out->no_new_privs = !o->privileged;
  out->seccomp = !o->privileged;
  for (size_t i = 0; i < o->n_security_opt; i++) {
    const char *opt = o->security_opt[i], *v;
    if (opt_is(opt, "no-new-privileges", &v) &&
        (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "false") == 0)) {
      out->no_new_privs = v == NULL || strcmp(v, "true") == 0;
    } else if (opt_is(opt, "seccomp", &v) && v &&
               strcmp(v, "unconfined") == 0) {
      out->seccomp = false;
    } else if (!(opt_is(opt, "apparmor", &v) && v) &&
               !(opt_is(opt, "label", &v) && v)) {
      return st_error_set(err, EINVAL,
                          "invalid --security-opt: \"%s\" (strata supports "
                          "no-new-privileges[=true|false] and "
                          "seccomp=unconfined)",
                          opt);
    }
  }
  return 0;
}

static json_t *build_process(const st_spec_input *in, json_t *args,
                             uint64_t caps, bool no_new_privs) {
  const st_create_opts *o = in->o;
  json_t *groups = json_array();
  for (size_t i = 0; i < in->n_groups; i++)
    json_array_append_new(groups, json_integer(in->groups[i]));
  const char *cwd = o->workdir && *o->workdir ? o->workdir : NULL;
  if (cwd == NULL)
    cwd = json_string_value(json_object_get(in->image_config, "WorkingDir"));
  if (cwd == NULL || *cwd == '\0')
    cwd = "/";
  json_t *p = json_pack(
      "{s:b, s:{s:I, s:I, s:o}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:b}",
      "terminal", o->tty, "user", "uid", (json_int_t)in->uid, "gid",
      (json_int_t)in->gid, "additionalGids", groups, "args", args, "env",
      build_env(in), "cwd", cwd, "capabilities", "bounding",
      st_caps_to_json(caps), "effective", st_caps_to_json(caps), "permitted",
      st_caps_to_json(caps), "noNewPrivileges", no_new_privs);
  if (p && o->has_oom_score_adj)
    json_object_set_new(p, "oomScoreAdj", json_integer(o->oom_score_adj));
  return p;
}

/* --privileged: every device node of the host's /dev (Docker skips the
 * same pseudo-file systems), as linux.devices entries. */
static void add_host_devices(json_t *devs, const char *dir, int depth) {
  static const char *const skip[] = {"pts",  "shm",  "mqueue", "fd", "console",
                                     "ptmx", ".lxc", ".udev",  NULL};
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    bool skipped =
        e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'));
    for (size_t i = 0; !skipped && skip[i]; i++)
      skipped = depth == 0 && strcmp(e->d_name, skip[i]) == 0;
    cleanup_free char *p = NULL;
    struct stat st;
    if (skipped || asprintf(&p, "%s/%s", dir, e->d_name) < 0 ||
        lstat(p, &st) < 0)
      continue;
    if (S_ISDIR(st.st_mode) && depth < 3) {
      add_host_devices(devs, p, depth + 1);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      continue;
    json_array_append_new(
        devs, json_pack("{s:s, s:s, s:I, s:I, s:i, s:I, s:I}", "path", p,
                        "type", S_ISCHR(st.st_mode) ? "c" : "b", "major",
                        (json_int_t)major(st.st_rdev), "minor",
                        (json_int_t)minor(st.st_rdev), "fileMode",
                        (int)(st.st_mode & 07777), "uid", (json_int_t)st.st_uid,
                        "gid", (json_int_t)st.st_gid));
  }
  closedir(d);
}

/* linux.resources from --memory, --cpus, --pids-limit (Docker's CFS
 * period of 100 ms for --cpus); NULL when none is set. */
static json_t *build_resources(const st_create_opts *o) {
  json_t *r = json_object();
  if (o->memory > 0)
    json_object_set_new(r, "memory",
                        json_pack("{s:I}", "limit", (json_int_t)o->memory));
  if (o->nano_cpus > 0) {
    const int64_t period = 100000;
    int64_t quota = o->nano_cpus * period / 1000000000;
    json_object_set_new(r, "cpu",
                        json_pack("{s:I, s:I}", "quota", (json_int_t)quota,
                                  "period", (json_int_t)period));
  }
  if (o->pids_limit > 0)
    json_object_set_new(r, "pids",
                        json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
  json_t *mem = json_object_get(r, "memory");
  if (mem == NULL &&
      (o->memory_swap || o->memory_reservation || o->oom_kill_disable)) {
    mem = json_object();
    json_object_set_new(r, "memory", mem);
  }
  if (o->memory_swap)
    json_object_set_new(mem, "swap", json_integer(o->memory_swap));
  if (o->memory_reservation)
    json_object_set_new(mem, "reservation",
                        json_integer(o->memory_reservation));
  if (o->oom_kill_disable)
    json_object_set_new(mem, "disableOOMKiller", json_true());
  json_t *cpu = json_object_get(r, "cpu");
  if (cpu == NULL && (o->cpu_shares || o->cpuset_cpus || o->cpuset_mems)) {
    cpu = json_object();
    json_object_set_new(r, "cpu", cpu);
  }
  if (o->cpu_shares)
    json_object_set_new(cpu, "shares", json_integer(o->cpu_shares));
  if (o->cpuset_cpus)
    json_object_set_new(cpu, "cpus", json_string(o->cpuset_cpus));
  if (o->cpuset_mems)
    json_object_set_new(cpu, "mems", json_string(o->cpuset_mems));
  return r;
}

static json_t *build_linux(const st_spec_input *in, const security *sec,
                           uint64_t caps) {
  json_t *ns = json_array();
  const char *types[] = {"pid", "ipc", "uts", "mount", "network"};
  bool host_net = in->o->network && strcmp(in->o->network, "host") == 0;
  for (size_t i = 0; i < 5; i++)
    if (!(i == 4 && host_net))
      json_array_append_new(ns, json_pack("{s:s}", "type", types[i]));
  json_t *l = json_pack("{s:o}", "namespaces", ns);
  if (!in->o->privileged) {
    json_object_set_new(l, "maskedPaths", strv_json(masked_paths));
    json_object_set_new(l, "readonlyPaths", strv_json(readonly_paths));
  }
  if (sec->seccomp)
    json_object_set_new(l, "seccomp", st_seccomp_default(caps));
  json_t *res = build_resources(in->o);
  if (in->o->privileged) {
    json_t *devs = json_array();
    add_host_devices(devs, "/dev", 0);
    json_object_set_new(l, "devices", devs);
    json_object_set_new(res, "devices",
                        json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
  }
  if (json_object_size(res))
    json_object_set_new(l, "resources", res);
  else
    json_decref(res);
  /* The cgroup an OCI runtime puts the container in (strata's executor
   * makes one only for resource limits). */
  const char *id = strrchr(in->dir, '/');
  cleanup_free char *cg = NULL;
  if (asprintf(&cg, "/strata/%s", id ? id + 1 : in->dir) > 0)
    json_object_set_new(l, "cgroupsPath", json_string(cg));
  return l;
}

/* ST_ANN_CONFIG: what Docker stores in Config and the process spec
 * cannot tell (see internal.h). */
static char *stored_config(const st_spec_input *in) {
  const st_create_opts *o = in->o;
  json_t *env = json_array();
  image_and_user_env(in, env);
  bool attach_in = o->interactive && !o->detach;
  bool attach_out = !o->detach, attach_err = !o->detach;
  if (o->attach) { /* -a: exactly the streams named */
    attach_in = (o->attach & ST_ATTACH_STDIN) != 0;
    attach_out = (o->attach & ST_ATTACH_STDOUT) != 0;
    attach_err = (o->attach & ST_ATTACH_STDERR) != 0;
  }
  json_t *c = json_pack("{s:o, s:b, s:b, s:b, s:b, s:b}", "Env", env,
                        "AttachStdin", attach_in, "AttachStdout", attach_out,
                        "AttachStderr", attach_err, "OpenStdin", o->interactive,
                        "StdinOnce", attach_in && o->interactive);
  json_t *tmpfs = json_object(); /* HostConfig.Tmpfs: as the user wrote */
  for (size_t i = 0; c && tmpfs && i < o->n_tmpfs; i++) {
    const char *colon = strchr(o->tmpfs[i], ':');
    cleanup_free char *dest =
        colon ? strndup(o->tmpfs[i], (size_t)(colon - o->tmpfs[i]))
              : strdup(o->tmpfs[i]);
    if (dest)
      json_object_set_new(tmpfs, dest, json_string(colon ? colon + 1 : ""));
  }
  if (c && json_object_size(tmpfs) > 0)
    json_object_set(c, "Tmpfs", tmpfs);
  json_decref(tmpfs);
  if (c && o->n_labels > 0) { /* Config.Labels: the image's, then -l */
    json_t *img = json_object_get(in->image_config, "Labels");
    json_t *labels = json_is_object(img) ? json_deep_copy(img) : json_object();
    for (size_t i = 0; labels && i < o->n_labels; i++) {
      const char *eq = strchr(o->labels[i], '=');
      cleanup_free char *k =
          eq ? strndup(o->labels[i], (size_t)(eq - o->labels[i]))
             : strdup(o->labels[i]);
      if (k)
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    json_object_set_new(c, "Labels", labels);
  }
  if (c && o->stop_signal) /* Config.StopSignal: else the image's */
    json_object_set_new(c, "StopSignal", json_string(o->stop_signal));
  if (c && o->has_stop_timeout)
    json_object_set_new(c, "StopTimeout", json_integer(o->stop_timeout));
  /* HostConfig fields the spec cannot give back as Docker shows them */
  if (c && (o->shm_size > 0 || o->has_oom_score_adj))
    json_object_set_new(
        c, "HostConfig",
        json_pack(
            "{s:I, s:i}", "ShmSize",
            (json_int_t)(o->shm_size > 0 ? o->shm_size : ST_DEFAULT_SHM_SIZE),
            "OomScoreAdj", o->has_oom_score_adj ? o->oom_score_adj : 0));
  if (c) /* --ulimit, --device, --sysctl, --expose ... (spec_flags.c) */
    st_flags_stored(o, in->image_config, c);
  /* sorted, as Go writes the maps (Labels, Tmpfs) */
  char *text = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(c);
  return text;
}

/* Docker's merge of --health-* over the image's HEALTHCHECK (a field the
 * flags leave zero comes from the image); NULL when neither has one. */
static json_t *merged_healthcheck(const st_spec_input *in) {
  const st_health_opts *h = &in->o->health;
  json_t *img = json_object_get(in->image_config, "Healthcheck");
  if (h->none)
    return json_pack("{s:[s]}", "Test", "NONE");
  bool flags = h->cmd || h->interval_ns || h->timeout_ns ||
               h->start_period_ns || h->retries;
  if (!flags)
    return json_is_object(img) ? json_deep_copy(img) : NULL;
  json_t *o = json_is_object(img) ? json_deep_copy(img) : json_object();
  if (o == NULL)
    return NULL;
  if (h->cmd)
    json_object_set_new(o, "Test", json_pack("[s, s]", "CMD-SHELL", h->cmd));
  const struct {
    const char *key;
    int64_t v;
  } d[] = {{"Interval", h->interval_ns},
           {"Timeout", h->timeout_ns},
           {"StartPeriod", h->start_period_ns},
           {"Retries", h->retries}};
  for (size_t i = 0; i < 4; i++)
    if (d[i].v)
      json_object_set_new(o, d[i].key, json_integer(d[i].v));
  /* Docker's field order (HealthConfig), zero fields left out */
  static const char *const order[] = {
      "Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
  json_t *out = json_object();
  for (size_t i = 0; out && i < 6; i++) {
    json_t *v = json_object_get(o, order[i]);
    if (v && !(json_is_integer(v) && json_integer_value(v) == 0))
      json_object_set(out, order[i], v);
  }
  json_decref(o);
  return out;
}

static void restart_annotations(const st_spec_input *in, json_t *a) {
  st_restart_policy p;
  st_error *e = NULL;
  if (in->o->restart && st_restart_policy_parse(in->o->restart, &p, &e) == 0) {
    cleanup_free char *t = st_restart_policy_text(&p);
    if (t)
      json_object_set_new(a, ST_ANN_RESTART, json_string(t));
  }
  st_error_free(e);
  json_t *hc = merged_healthcheck(in);
  cleanup_free char *text = hc ? json_dumps(hc, JSON_COMPACT) : NULL;
  json_decref(hc);
  if (text)
    json_object_set_new(a, ST_ANN_HEALTHCHECK, json_string(text));
}

static json_t *build_annotations(const st_spec_input *in) {
  cleanup_buf st_buf lower = ST_BUF_INIT;
  for (size_t i = 0; i < in->n_lower; i++)
    st_buf_printf(&lower, "%s%s", i ? ":" : "", in->lower[i]);
  cleanup_free char *upper = NULL, *work = NULL;
  if (asprintf(&upper, "%s/upper", in->dir) < 0 ||
      asprintf(&work, "%s/work", in->dir) < 0)
    return NULL;
  json_t *a =
      json_pack("{s:s, s:s, s:s}", ST_ANN_LOWER, lower.data ? lower.data : "",
                ST_ANN_UPPER, upper, ST_ANN_WORK, work);
  const char *sig =
      in->o->stop_signal
          ? in->o->stop_signal
          : json_string_value(json_object_get(in->image_config, "StopSignal"));
  if (a && sig)
    json_object_set_new(a, ST_ANN_STOPSIGNAL, json_string(sig));
  /* A --rm container's layer is thrown away: overlay need not sync it
   * when it is unmounted (that sync is most of the cost of a short run). */
  if (a && (in->o->auto_remove || in->o->volatile_layer))
    json_object_set_new(a, ST_ANN_VOLATILE, json_string("true"));
  if (a && in->o->kill_on_interrupt)
    json_object_set_new(a, ST_ANN_INTERRUPT, json_string("kill"));
  if (a && in->runtime)
    json_object_set_new(a, ST_ANN_RUNTIME, json_string(in->runtime));
  if (a && in->o->init)
    json_object_set_new(a, ST_ANN_INIT, json_string("true"));
  cleanup_free char *hm = in->volume_host_mounts
                              ? json_dumps(in->volume_host_mounts, JSON_COMPACT)
                              : NULL;
  if (a && hm)
    json_object_set_new(a, ST_ANN_VOLUME_MOUNTS, json_string(hm));
  cleanup_free char *config = stored_config(in);
  if (a && config)
    json_object_set_new(a, ST_ANN_CONFIG, json_string(config));
  if (a)
    restart_annotations(in, a);
  return a;
}

int st_spec_generate(const st_spec_input *in, json_t **out, st_error **err) {
  json_t *args = NULL, *mounts = NULL;
  security sec;
  uint64_t caps;
  const st_create_opts *o = in->o;
  if (parse_security(o, &sec, err) < 0 ||
      st_caps_tweak(o->privileged ? st_caps_all() : st_caps_default(),
                    o->cap_add, o->n_cap_add, o->cap_drop, o->n_cap_drop, &caps,
                    err) < 0 ||
      build_args(in, &args, err) < 0)
    return -1;
  if (build_mounts(in, &mounts, err) < 0) {
    json_decref(args);
    return -1;
  }
  cleanup_free char *rootfs = NULL;
  if (asprintf(&rootfs, "%s/merged", in->dir) < 0) {
    json_decref(args);
    json_decref(mounts);
    return st_error_errno(err, ENOMEM, "generate config.json");
  }
  json_t *spec = json_pack(
      "{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o, s:o}", "ociVersion", "1.0.2",
      "process", build_process(in, args, caps, sec.no_new_privs), "root",
      "path", rootfs, "readonly", in->o->read_only, "hostname", in->hostname,
      "mounts", mounts, "linux", build_linux(in, &sec, caps), "annotations",
      build_annotations(in));
  if (spec == NULL)
    return st_error_errno(err, ENOMEM, "generate config.json");
  if (st_flags_spec(in, spec, err) < 0) {
    json_decref(spec);
    return -1;
  }
  *out = spec;
  return 0;
}

/* Docker's daemon (the list API's Command) joins the path and its
 * arguments with spaces and wraps each argument that holds a space in
 * single quotes, nothing more; the path itself is never quoted. */
static void quote_arg(st_buf *b, const char *a, bool is_path) {
  bool wrap = !is_path && strchr(a, ' ') != NULL;
  if (wrap)
    st_buf_putc(b, '\'');
  st_buf_puts(b, a);
  if (wrap)
    st_buf_putc(b, '\'');
}

char *st_spec_command(json_t *spec) {
  json_t *args = json_object_get(json_object_get(spec, "process"), "args");
  st_buf b = ST_BUF_INIT;
  size_t i;
  json_t *v;
  json_array_foreach(args, i, v) {
    if (i)
      st_buf_putc(&b, ' ');
    quote_arg(&b, json_string_value(v), i == 0);
  }
  return st_buf_steal(&b);
}
