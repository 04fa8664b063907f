/* `container inspect`: Docker's object for a container, built from its
 * row and its config.json. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/units.h"
#include "image/image.h"
#include "runtime/logdriver.h"
#include "runtime/manage_internal.h"
#include "runtime/monitor.h"
#include "runtime/netsetup.h"
#include "util/buf.h"
#include "util/cleanup.h"

static json_t *time_json(int64_t ns) {
  if (ns <= 0)
    return json_string("0001-01-01T00:00:00Z");
  char *t = st_format_rfc3339nano(ns / 1000000000, (int32_t)(ns % 1000000000));
  json_t *j = json_string(t ? t : "");
  free(t);
  return j;
}

static json_t *strv_json(char **v) {
  json_t *a = json_array();
  for (size_t i = 0; v && v[i]; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *state_json(const st_ct *ct) {
  const st_container *c = &ct->c;
  bool running = c->state == ST_CT_RUNNING;
  bool paused = st_container_paused(c);
  const char *status = c->restarting               ? "restarting"
                       : paused                    ? "paused"
                       : running                   ? "running"
                       : c->state == ST_CT_CREATED ? "created"
                                                   : "exited";
  json_t *o =
      json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:o, s:o}",
                "Status", status, "Running", running, "Paused", paused,
                "Restarting", c->restarting, "OOMKilled", 0, "Dead", 0, "Pid",
                running && !c->restarting ? (int)c->pid : 0, "ExitCode",
                c->exit_code, "Error", "", "StartedAt", time_json(c->started),
                "FinishedAt", time_json(c->finished));
  /* Health (monitor.h): while it runs with a health check */
  st_mstate m;
  if (o && running && c->health[0] && st_mstate_read(ct->dir, &m)) {
    if (m.health)
      json_object_set(o, "Health", m.health);
    st_mstate_clear(&m);
  }
  return o;
}

/* A bind of <root>/volumes/<name>/_data is the volume <name> (malloc),
 * else NULL. */
static char *volume_of(st_store *s, const st_mount_op *m) {
  cleanup_free char *vols = NULL;
  if (asprintf(&vols, "%s/volumes/", st_store_root(s)) < 0)
    return NULL;
  size_t nv = strlen(vols);
  if (strncmp(m->source, vols, nv) != 0)
    return NULL;
  const char *name = m->source + nv;
  size_t len = strcspn(name, "/");
  if (strcmp(name + len, "/_data") != 0)
    return NULL;
  return strndup(name, len);
}

static json_t *mount_json(st_store *s, const st_mount_op *m) {
  cleanup_free char *name = volume_of(s, m);
  if (name == NULL)
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
                     m->source, "Destination", m->dest, "Mode",
                     m->readonly ? "ro" : "", "RW", !m->readonly, "Propagation",
                     "rprivate");
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
                   "Name", name, "Source", m->source, "Destination", m->dest,
                   "Driver", "local", "Mode", "z", "RW", !m->readonly,
                   "Propagation", "");
}

static json_t *mounts_json(st_store *s, const st_spec *spec) {
  json_t *a = json_array();
  for (size_t i = 0; i < spec->n_mounts; i++) {
    const st_mount_op *m = &spec->mounts[i];
    bool etc = strncmp(m->dest, "/etc/", 5) == 0 && m->bind &&
               strstr(m->source, "/containers/") != NULL;
    if (!m->bind || etc)
      continue; /* Docker lists volumes and binds, not its own mounts */
    json_array_append_new(a, mount_json(s, m));
  }
  return a;
}

/* The stored Config fields (ST_ANN_CONFIG); for a container made before
 * they were stored, what the process spec tells. */
static json_t *stored_json(const st_ct *ct) {
  json_t *j = ct->spec.config ? json_loads(ct->spec.config, 0, NULL) : NULL;
  if (j != NULL)
    return j;
  return json_pack("{s:o, s:b, s:b, s:b, s:b, s:b}", "Env",
                   strv_json(ct->spec.env), "AttachStdin", 0, "AttachStdout", 1,
                   "AttachStderr", 1, "OpenStdin", 0, "StdinOnce", 0);
}

/* Copies key from `from` to o, or null when it is missing. */
static void copy_key(json_t *o, json_t *from, const char *key, bool optional) {
  json_t *v = json_object_get(from, key);
  if (v != NULL)
    json_object_set(o, key, v);
  else if (!optional)
    json_object_set_new(o, key, json_null());
}

/* Docker's Config, keys in its order: image config cc, stored fields st
 * (consumed), the command cmd (consumed). omitempty keys only when set. */
static json_t *docker_order(json_t *cc, json_t *st, json_t *cmd,
                            const st_ct *ct) {
  json_t *o = json_object();
  const char *user = json_string_value(json_object_get(cc, "User"));
  json_t *labels = json_object_get(st, "Labels"); /* -l: with the image's */
  if (labels == NULL)
    labels = json_object_get(cc, "Labels");
  json_object_set_new(o, "Hostname",
                      json_string(ct->spec.hostname ? ct->spec.hostname : ""));
  json_object_set_new(o, "Domainname", json_string(""));
  json_object_set_new(o, "User", json_string(user ? user : ""));
  copy_key(o, st, "AttachStdin", false);
  copy_key(o, st, "AttachStdout", false);
  copy_key(o, st, "AttachStderr", false);
  copy_key(o, json_object_get(st, "ExposedPorts") ? st : cc, "ExposedPorts",
           true); /* --expose: with the image's */
  json_object_set_new(o, "Tty", json_boolean(ct->spec.terminal));
  copy_key(o, st, "OpenStdin", false);
  copy_key(o, st, "StdinOnce", false);
  json_t *env = json_object_get(st, "Env"); /* nil when empty, as Go's */
  json_object_set(o, "Env", json_array_size(env) ? env : json_null());
  json_object_set_new(o, "Cmd", cmd);
  copy_key(o, cc, "Healthcheck", true);
  copy_key(o, cc, "ArgsEscaped", true);
  json_object_set_new(o, "Image", json_string(ct->c.image_ref));
  copy_key(o, cc, "Volumes", false);
  json_object_set_new(o, "WorkingDir", json_string(ct->spec.cwd));
  copy_key(o, cc, "Entrypoint", false);
  copy_key(o, cc, "OnBuild", false);
  if (json_is_object(labels))
    json_object_set(o, "Labels", labels);
  else
    json_object_set_new(o, "Labels", json_object());
  copy_key(o, json_object_get(st, "StopSignal") ? st : cc, "StopSignal", true);
  copy_key(o, json_object_get(st, "StopTimeout") ? st : cc, "StopTimeout",
           true);
  copy_key(o, cc, "Shell", true);
  json_decref(st);
  return o;
}

/* Config: the image's container config with what the container runs. */
static json_t *config_json(st_store *s, const st_ct *ct) {
  json_t *config = NULL;
  st_error *e = NULL;
  json_t *cc = NULL;
  if (st_config_load(s, ct->c.image, &config, &e) == 0)
    cc = json_deep_copy(json_object_get(config, "config"));
  st_error_free(e);
  json_decref(config);
  if (cc == NULL)
    cc = json_object();
  json_t *ep = json_object_get(cc, "Entrypoint");
  size_t n_ep = json_array_size(ep), n = 0;
  while (ct->spec.args[n])
    n++;
  bool prefix = n_ep <= n;
  for (size_t i = 0; prefix && i < n_ep; i++)
    prefix = strcmp(json_string_value(json_array_get(ep, i)) ?: "",
                    ct->spec.args[i]) == 0;
  if (!prefix) {
    json_object_set_new(cc, "Entrypoint", json_null());
    n_ep = 0;
  }
  json_t *cmd = json_array();
  for (size_t i = n_ep; i < n; i++)
    json_array_append_new(cmd, json_string(ct->spec.args[i]));
  /* the image's HEALTHCHECK merged with --health-* (ST_ANN_HEALTHCHECK) */
  json_t *health =
      ct->spec.healthcheck ? json_loads(ct->spec.healthcheck, 0, NULL) : NULL;
  if (health)
    json_object_set_new(cc, "Healthcheck", health);
  json_t *out = docker_order(cc, stored_json(ct), cmd, ct);
  json_decref(cc);
  return out;
}

static json_t *graph_json(const st_ct *ct) {
  cleanup_buf st_buf lower = ST_BUF_INIT;
  for (size_t i = 0; ct->spec.lower && ct->spec.lower[i]; i++)
    st_buf_printf(&lower, "%s%s", i ? ":" : "", ct->spec.lower[i]);
  return json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "Name", "overlay", "Data",
                   "LowerDir", lower.data ? lower.data : "", "UpperDir",
                   ct->spec.upper ? ct->spec.upper : "", "WorkDir",
                   ct->spec.work ? ct->spec.work : "", "MergedDir",
                   ct->spec.rootfs);
}

static json_t *host_config_json(st_store *s, const st_ct *ct,
                                const char *net_mode) {
  json_t *binds = json_array();
  for (size_t i = 0; i < ct->spec.n_mounts; i++) {
    const st_mount_op *m = &ct->spec.mounts[i];
    if (m->bind && strstr(m->source, "/containers/") == NULL) {
      cleanup_free char *b = NULL, *vol = volume_of(s, m);
      if (vol && strlen(vol) == 64 && strspn(vol, "0123456789abcdef") == 64)
        continue; /* anonymous: Docker lists it in Config.Volumes only */
      if (asprintf(&b, "%s:%s%s", vol ? vol : m->source, m->dest,
                   m->readonly ? ":ro" : "") > 0)
        json_array_append_new(binds, json_string(b));
    }
  }
  st_restart_policy rp;
  st_restart_policy_load(ct->dir, &rp);
  json_t *hc = json_pack(
      "{s:o, s:s, s:b, s:b, s:b, s:{s:s, s:i}}", "Binds", binds, "NetworkMode",
      net_mode, "AutoRemove", ct->c.auto_remove, "Privileged",
      ct->spec.seccomp == NULL, "ReadonlyRootfs", ct->spec.root_readonly,
      "RestartPolicy", "Name", rp.name, "MaximumRetryCount", rp.max_retry);
  /* Docker: true with --init, null without */
  if (hc)
    json_object_set_new(hc, "Init", ct->spec.init ? json_true() : json_null());
  if (hc)
    json_object_set_new(hc, "PortBindings", st_ct_port_bindings_json(ct->dir));
  if (hc)
    json_object_set_new(hc, "LogConfig", st_log_config_json(ct->dir));
  json_t *st = stored_json(ct);
  json_t *tmpfs = json_object_get(st, "Tmpfs");
  if (hc && tmpfs) /* omitted when empty, as Docker */
    json_object_set(hc, "Tmpfs", tmpfs);
  json_t *extra = json_object_get(st, "HostConfig");
  json_t *shm = json_object_get(extra, "ShmSize");
  json_t *oom = json_object_get(extra, "OomScoreAdj");
  if (hc) {
    json_object_set_new(hc, "ShmSize",
                        shm ? json_incref(shm)
                            : json_integer(ST_DEFAULT_SHM_SIZE));
    json_object_set_new(hc, "OomScoreAdj",
                        oom ? json_incref(oom) : json_integer(0));
    /* the limits as config.json has them now (`update` changes them) */
    const st_resources *r = &ct->spec.res;
    int64_t period = r->cpu_period > 0 ? r->cpu_period : 100000;
    json_object_set_new(hc, "Memory", json_integer(r->memory));
    json_object_set_new(hc, "NanoCpus",
                        json_integer(r->cpu_quota > 0
                                         ? r->cpu_quota * 1000000000 / period
                                         : 0));
    json_object_set_new(hc, "PidsLimit",
                        r->pids > 0 ? json_integer(r->pids) : json_null());
    json_object_set_new(hc, "MemorySwap", json_integer(r->swap));
    json_object_set_new(hc, "MemoryReservation", json_integer(r->reservation));
    json_object_set_new(hc, "CpuShares", json_integer(r->shares));
    json_object_set_new(hc, "CpusetCpus", json_string(r->cpus));
    json_object_set_new(hc, "CpusetMems", json_string(r->mems));
    json_object_set_new(hc, "OomKillDisable", json_boolean(r->oom_disable));
  }
  if (hc)
    st_flags_inspect(hc, st);
  json_decref(st);
  return hc;
}

/* HostsPath ...: the file bound at /etc/NAME (the donor's with --network
 * container:, as Docker), else the bundle's. */
static char *etc_path(const st_ct *ct, const char *name) {
  char dest[64], *p = NULL;
  snprintf(dest, sizeof(dest), "/etc/%s", name);
  const char *src = st_flags_etc_source(&ct->spec, dest);
  if (src)
    return strdup(src);
  return asprintf(&p, "%s/%s", ct->dir, name) < 0 ? NULL : p;
}

int st_container_inspect(st_store *s, const char *ref, json_t **out,
                         st_error **err) {
  st_ct ct;
  if (st_ct_open(s, ref, &ct, err) < 0)
    return -1;
  cleanup_free char *name = NULL, *hosts = NULL, *hostname = NULL,
                    *resolv = NULL, *log = NULL;
  if (asprintf(&name, "/%s", ct.c.name) < 0 ||
      (hosts = etc_path(&ct, "hosts")) == NULL ||
      (hostname = etc_path(&ct, "hostname")) == NULL ||
      (resolv = etc_path(&ct, "resolv.conf")) == NULL ||
      (log = st_container_log_path(s, ct.c.id)) == NULL) {
    st_ct_close(&ct);
    return st_error_errno(err, ENOMEM, "inspect");
  }
  json_t *args = json_array();
  for (size_t i = 1; ct.spec.args[i]; i++)
    json_array_append_new(args, json_string(ct.spec.args[i]));
  json_t *o = json_object();
  json_object_set_new(o, "Id", json_string(ct.c.id));
  json_object_set_new(o, "Created", time_json(ct.c.created));
  json_object_set_new(o, "Path", json_string(ct.spec.args[0]));
  json_object_set_new(o, "Args", args);
  json_object_set_new(o, "State", state_json(&ct));
  json_object_set_new(o, "Image", json_string(ct.c.image));
  json_object_set_new(o, "ResolvConfPath", json_string(resolv));
  json_object_set_new(o, "HostnamePath", json_string(hostname));
  json_object_set_new(o, "HostsPath", json_string(hosts));
  json_object_set_new(o, "LogPath", json_string(log));
  json_object_set_new(o, "Name", json_string(name));
  json_object_set_new(o, "RestartCount", json_integer(ct.c.restart_count));
  json_object_set_new(o, "Driver", json_string("overlay"));
  json_object_set_new(o, "Platform", json_string("linux"));
  json_object_set_new(o, "MountLabel", json_string(""));
  json_object_set_new(o, "ProcessLabel", json_string(""));
  /* strata loads no AppArmor profile: Docker shows "" then too */
  json_object_set_new(o, "AppArmorProfile", json_string(""));
  json_object_set_new(o, "ExecIDs", json_null());
  cleanup_free char *net_mode = NULL;
  json_t *net = st_ct_net_inspect(ct.dir, !(ct.spec.ns_flags & CLONE_NEWNET),
                                  ct.c.state == ST_CT_RUNNING, &net_mode);
  json_object_set_new(o, "HostConfig",
                      host_config_json(s, &ct, net_mode ? net_mode : "none"));
  json_object_set_new(o, "GraphDriver", graph_json(&ct));
  json_object_set_new(o, "Mounts", mounts_json(s, &ct.spec));
  json_object_set_new(o, "Config", config_json(s, &ct));
  json_object_set_new(o, "NetworkSettings", net);
  st_ct_close(&ct);
  *out = o;
  return 0;
}
