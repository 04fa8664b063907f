/* `update`: a container's resource limits and restart policy, changed in
 * its config.json (what a later start and inspect read) and, while it
 * runs, in its cgroups. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "runtime/launch.h"
#include "runtime/manage.h"
#include "runtime/monitor.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* Sets linux.resources in spec from u; fills r with the limits to apply
 * now (the changed ones). */
static int edit_resources(json_t *spec, const st_update_opts *u,
                          st_resources *r, st_error **err) {
  json_t *lnx = json_object_get(spec, "linux");
  if (!json_is_object(lnx))
    return st_error_set(err, EINVAL, "update: config.json has no linux");
  json_t *res = json_object_get(lnx, "resources");
  if (!json_is_object(res)) {
    res = json_object();
    json_object_set_new(lnx, "resources", res);
  }
  memset(r, 0, sizeof(*r));
  if (u->has_memory) {
    if (u->memory > 0)
      json_object_set_new(res, "memory",
                          json_pack("{s:I}", "limit", (json_int_t)u->memory));
    else
      json_object_del(res, "memory");
    r->memory = u->memory > 0 ? u->memory : -1;
  }
  if (u->has_cpus) {
    const int64_t period = 100000; /* Docker's CFS period */
    int64_t quota = u->nano_cpus * period / 1000000000;
    if (u->nano_cpus > 0)
      json_object_set_new(res, "cpu",
                          json_pack("{s:I, s:I}", "quota", (json_int_t)quota,
                                    "period", (json_int_t)period));
    else
      json_object_del(res, "cpu");
    r->cpu_quota = u->nano_cpus > 0 ? quota : -1;
    r->cpu_period = period;
  }
  if (u->has_pids) {
    if (u->pids_limit > 0)
      json_object_set_new(
          res, "pids", json_pack("{s:I}", "limit", (json_int_t)u->pids_limit));
    else
      json_object_del(res, "pids");
    r->pids = u->pids_limit > 0 ? u->pids_limit : -1;
  }
  return 0;
}

int st_container_update(st_store *s, const char *ref, const st_update_opts *u,
                        st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  st_container_refresh(s, &c);
  cleanup_free char *dir = st_container_dir(s, c.id), *path = NULL;
  bool running = c.state == ST_CT_RUNNING && !c.restarting;
  char id[sizeof(c.id)];
  memcpy(id, c.id, sizeof(id));
  st_container_clear(&c);
  if (dir == NULL || asprintf(&path, "%s/config.json", dir) < 0)
    return st_error_errno(err, ENOMEM, "update");
  if (u->restart && st_container_set_restart_policy(s, id, u->restart, err) < 0)
    return -1;
  if (!u->has_memory && !u->has_cpus && !u->has_pids)
    return 0;
  json_error_t je;
  cleanup_json json_t *spec = json_load_file(path, 0, &je);
  if (spec == NULL)
    return st_error_set(err, EIO, "update: read %s: %s", path, je.text);
  st_resources r;
  if (edit_resources(spec, u, &r, err) < 0)
    return -1;
  const char *cg = json_string_value(
      json_object_get(json_object_get(spec, "linux"), "cgroupsPath"));
  bool external = json_object_get(json_object_get(spec, "annotations"),
                                  ST_ANN_RUNTIME) != NULL;
  if (running && external)
    return st_error_set(err, ENOTSUP,
                        "update of a running container started with "
                        "--runtime is not supported: stop it first");
  if (running) { /* the live limits first: a refused one changes nothing */
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    if (st_container_pids(s, id, &pids, &n, err) < 0 ||
        st_cgroup_update(cg ? cg : "/strata", &r, pids, n, err) < 0)
      return -1;
  }
  cleanup_free char *text = json_dumps(spec, JSON_INDENT(2));
  if (text == NULL)
    return st_error_errno(err, ENOMEM, "update");
  return st_write_file_atomic(path, text, strlen(text), err);
}
