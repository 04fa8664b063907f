/* Resource limits through cgroups, for the built-in executor.
 *
 * Each controller strata needs (memory, cpu, pids) is used where the host
 * has it: a v1 hierarchy mounted at /sys/fs/cgroup/<controller> (it has a
 * "tasks" file), else the unified (v2) hierarchy, /sys/fs/cgroup itself or
 * /sys/fs/cgroup/unified on a hybrid host, when the controller is listed in
 * its cgroup.controllers. A container gets <hierarchy><cgroupsPath> in each
 * (cgroupsPath is "/strata/<id>", as an OCI runtime would use it); in v2
 * the controllers are enabled in the subtree_control of every ancestor.
 * The directories are made only when a limit is set, so a plain `run`
 * touches no cgroup file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/launch.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CG_ROOT "/sys/fs/cgroup"

static const char *const controllers[ST_CG_N] = {"memory", "cpu", "pids",
                                                 "cpuset"};

static bool wanted(const st_resources *r, int c) {
  switch (c) {
  case 0:
    return r->memory > 0 || r->swap != 0 || r->reservation > 0 ||
           r->oom_disable;
  case 1:
    return r->cpu_quota > 0 || r->shares > 0;
  case 2:
    return r->pids > 0;
  case 3:
    return r->cpus[0] || r->mems[0];
  default:
    return false;
  }
}

/* The unified mount point, or NULL. */
static const char *unified_root(void) {
  if (access(CG_ROOT "/cgroup.controllers", F_OK) == 0)
    return CG_ROOT;
  if (access(CG_ROOT "/unified/cgroup.controllers", F_OK) == 0)
    return CG_ROOT "/unified";
  return NULL;
}

static bool unified_has(const char *root, const char *ctrl) {
  cleanup_free char *p = NULL, *text = NULL;
  size_t len;
  if (asprintf(&p, "%s/cgroup.controllers", root) < 0 ||
      st_read_file(p, &text, &len, NULL) < 0)
    return false;
  size_t n = strlen(ctrl);
  for (const char *t = text; (t = strstr(t, ctrl)) != NULL; t += n)
    if ((t == text || t[-1] == ' ') && (t[n] == ' ' || t[n] == '\n' || !t[n]))
      return true;
  return false;
}

char *st_cgroup_hybrid_v2_controllers(const char *root) {
  cleanup_free char *v2 = NULL, *u = NULL;
  if (asprintf(&v2, "%s/cgroup.controllers", root) < 0 ||
      asprintf(&u, "%s/unified/cgroup.controllers", root) < 0)
    return NULL;
  char *text = NULL;
  size_t len = 0;
  /* cgroupfs files have size 0 whatever they hold: read, never stat. */
  if (access(v2, F_OK) == 0 || st_read_file(u, &text, &len, NULL) < 0)
    return NULL;
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
    text[--len] = '\0';
  if (len == 0) {
    free(text);
    return NULL;
  }
  return text;
}

static int write_file(const char *dir, const char *name, const char *value,
                      st_error **err) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return st_error_errno(err, ENOMEM, "cgroup");
  cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "cgroup: open `%s`", p);
  if (write(fd, value, strlen(value)) < 0)
    return st_error_errno(err, errno, "cgroup: write %s to `%s`", value, p);
  return 0;
}

/* v2: enables ctrl for the children of every directory from root down to
 * (not including) the leaf dir. */
static int enable_v2(const char *root, const char *leaf, const char *ctrl,
                     st_error **err) {
  cleanup_free char *cur = strdup(root);
  char value[32];
  snprintf(value, sizeof(value), "+%s", ctrl);
  const char *rest = leaf + strlen(root);
  while (cur && *rest == '/') {
    if (write_file(cur, "cgroup.subtree_control", value, err) < 0)
      return -1;
    const char *next = strchr(rest + 1, '/');
    if (next == NULL)
      break;
    cleanup_free char *up = cur;
    if (asprintf(&cur, "%s%.*s", up, (int)(next - rest), rest) < 0)
      cur = NULL;
    rest = next;
  }
  return cur ? 0 : st_error_errno(err, ENOMEM, "cgroup");
}

/* The memory controller's other knobs: swap (v1 memory+swap, v2 swap
 * alone), the soft limit, the OOM killer (v1 only; v2 has no switch). */
static int set_memory_extra(bool v2, const char *dir, const st_resources *r,
                            st_error **err) {
  char v[64];
  if (r->swap != 0) {
    if (r->swap < 0)
      snprintf(v, sizeof(v), "%s", v2 ? "max" : "-1");
    else
      snprintf(v, sizeof(v), "%lld",
               (long long)(v2 ? r->swap - r->memory : r->swap));
    if (write_file(dir, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                   v, err) < 0)
      return -1;
  }
  if (r->reservation > 0) {
    snprintf(v, sizeof(v), "%lld", (long long)r->reservation);
    if (write_file(dir, v2 ? "memory.low" : "memory.soft_limit_in_bytes", v,
                   err) < 0)
      return -1;
  }
  if (r->oom_disable && !v2 && write_file(dir, "memory.oom_control", "1", err))
    return -1;
  return 0;
}

/* v1 cpuset: a new directory has no CPUs or nodes, so no process can join
 * it; each level from the hierarchy's root down gets its parent's. */
static int cpuset_inherit(const char *dir, st_error **err) {
  const char *root = CG_ROOT "/cpuset";
  size_t rl = strlen(root);
  if (strncmp(dir, root, rl) != 0)
    return 0;
  for (const char *p = dir + rl; p && *p;) {
    const char *next = strchr(p + 1, '/');
    size_t len = next ? (size_t)(next - dir) : strlen(dir);
    cleanup_free char *level = strndup(dir, len);
    cleanup_free char *parent = strndup(dir, (size_t)(p - dir));
    if (level == NULL || parent == NULL)
      return st_error_errno(err, ENOMEM, "cgroup");
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (int i = 0; i < 2; i++) {
      char cur[256] = "", up[256] = "";
      cleanup_free char *cp = NULL, *pp = NULL;
      if (asprintf(&cp, "%s/%s", level, files[i]) < 0 ||
          asprintf(&pp, "%s/%s", parent, files[i]) < 0)
        return st_error_errno(err, ENOMEM, "cgroup");
      FILE *f = fopen(cp, "re");
      if (f && fgets(cur, sizeof(cur), f) == NULL)
        cur[0] = '\0';
      if (f)
        fclose(f);
      if (cur[0] && cur[0] != '\n')
        continue;
      f = fopen(pp, "re");
      if (f && fgets(up, sizeof(up), f) == NULL)
        up[0] = '\0';
      if (f)
        fclose(f);
      up[strcspn(up, "\n")] = '\0';
      if (up[0] && write_file(level, files[i], up, err) < 0)
        return -1;
    }
    p = next;
  }
  return 0;
}

/* Writes limit c; a negative one (update: no limit) as "max" or -1. */
static int set_limit(int c, bool v2, const char *dir, const st_resources *r,
                     st_error **err) {
  char v[64];
  switch (c) {
  case 0:
    if (r->memory != 0) {
      if (r->memory < 0)
        snprintf(v, sizeof(v), "%s", v2 ? "max" : "-1");
      else
        snprintf(v, sizeof(v), "%lld", (long long)r->memory);
      if (write_file(dir, v2 ? "memory.max" : "memory.limit_in_bytes", v, err) <
          0)
        return -1;
    }
    return set_memory_extra(v2, dir, r, err);
  case 3:
    if (!v2 && cpuset_inherit(dir, err) < 0)
      return -1;
    if (r->cpus[0] && write_file(dir, "cpuset.cpus", r->cpus, err) < 0)
      return -1;
    if (r->mems[0] && write_file(dir, "cpuset.mems", r->mems, err) < 0)
      return -1;
    return 0;
  case 1: {
    if (r->shares > 0) {
      if (v2) /* crun's mapping of [2, 262144] onto [1, 10000] */
        snprintf(v, sizeof(v), "%lld",
                 (long long)(1 + ((r->shares - 2) * 9999) / 262142));
      else
        snprintf(v, sizeof(v), "%lld", (long long)r->shares);
      if (write_file(dir, v2 ? "cpu.weight" : "cpu.shares", v, err) < 0)
        return -1;
    }
    if (r->cpu_quota == 0)
      return 0;
    long long period = r->cpu_period > 0 ? r->cpu_period : 100000;
    if (v2) {
      if (r->cpu_quota < 0)
        snprintf(v, sizeof(v), "max %lld", period);
      else
        snprintf(v, sizeof(v), "%lld %lld", (long long)r->cpu_quota, period);
      return write_file(dir, "cpu.max", v, err);
    }
    snprintf(v, sizeof(v), "%lld", period);
    if (write_file(dir, "cpu.cfs_period_us", v, err) < 0)
      return -1;
    snprintf(v, sizeof(v), "%lld", (long long)r->cpu_quota);
    return write_file(dir, "cpu.cfs_quota_us", v, err);
  }
  case 2:
    if (r->pids < 0)
      snprintf(v, sizeof(v), "max");
    else
      snprintf(v, sizeof(v), "%lld", (long long)r->pids);
    return write_file(dir, "pids.max", v, err);
  default:
    return 0;
  }
}

/* Where controller c of path lives: its directory and whether it is v2;
 * NULL dir when the host has the controller nowhere. */
static char *controller_dir(int c, const char *path, bool *v2) {
  char *dir = NULL;
  cleanup_free char *tasks = NULL;
  if (asprintf(&tasks, CG_ROOT "/%s/tasks", controllers[c]) < 0)
    return NULL;
  *v2 = false;
  if (access(tasks, F_OK) == 0) {
    if (asprintf(&dir, CG_ROOT "/%s%s", controllers[c], path) < 0)
      return NULL;
    return dir;
  }
  const char *u = unified_root();
  if (u == NULL || !unified_has(u, controllers[c]))
    return NULL;
  *v2 = true;
  if (asprintf(&dir, "%s%s", u, path) < 0)
    return NULL;
  return dir;
}

void st_cgroup_clear(st_cgroup *cg) {
  for (int c = 0; c < ST_CG_N; c++) {
    free(cg->dirs[c]);
    cg->dirs[c] = NULL;
  }
}

int st_cgroup_create(const st_spec *spec, st_cgroup *cg, st_error **err) {
  memset(cg, 0, sizeof(*cg));
  const char *path = spec->cgroup ? spec->cgroup : "/strata";
  for (int c = 0; c < ST_CG_N; c++) {
    if (!wanted(&spec->res, c))
      continue;
    bool v2;
    cleanup_free char *dir = controller_dir(c, path, &v2);
    if (dir == NULL) {
      st_cgroup_remove(cg);
      return st_error_set(err, ENOTSUP,
                          "cgroup controller %s is not available on this "
                          "host (neither a v1 hierarchy nor in the unified "
                          "one)",
                          controllers[c]);
    }
    const char *u = unified_root();
    if (st_mkdir_p(dir, 0755, err) < 0 ||
        (v2 && enable_v2(u, dir, controllers[c], err) < 0) ||
        set_limit(c, v2, dir, &spec->res, err) < 0) {
      rmdir(dir);
      st_cgroup_remove(cg);
      return st_error_wrap(err, "resource limits");
    }
    cg->dirs[c] = steal_pointer(&dir);
    cg->used = true;
  }
  return 0;
}

int st_cgroup_update(const char *path, const st_resources *r, const pid_t *pids,
                     size_t n, st_error **err) {
  for (int c = 0; c < ST_CG_N; c++) {
    int64_t want = c == 0   ? r->memory
                   : c == 1 ? r->cpu_quota
                   : c == 2 ? r->pids
                            : 0;
    if (want == 0) /* not changed */
      continue;
    bool v2;
    cleanup_free char *dir = controller_dir(c, path, &v2);
    if (dir == NULL)
      return st_error_set(err, ENOTSUP,
                          "cgroup controller %s is not available on this "
                          "host",
                          controllers[c]);
    if (st_mkdir_p(dir, 0755, err) < 0 ||
        (v2 && enable_v2(unified_root(), dir, controllers[c], err) < 0))
      return st_error_wrap(err, "update");
    for (size_t i = 0; i < n; i++) { /* already there: a no-op */
      char v[32];
      snprintf(v, sizeof(v), "%d", (int)pids[i]);
      st_error *e = NULL;
      if (write_file(dir, "cgroup.procs", v, &e) < 0)
        st_error_free(e); /* it exited meanwhile */
    }
    if (set_limit(c, v2, dir, r, err) < 0)
      return st_error_wrap(err, "update");
  }
  return 0;
}

int st_cgroup_attach(const st_cgroup *cg, pid_t pid, st_error **err) {
  char v[32];
  snprintf(v, sizeof(v), "%d", (int)pid);
  for (int c = 0; c < ST_CG_N; c++)
    if (cg->dirs[c] && write_file(cg->dirs[c], "cgroup.procs", v, err) < 0)
      return -1;
  return 0;
}

void st_cgroup_remove(st_cgroup *cg) {
  for (int c = 0; c < ST_CG_N; c++) {
    if (cg->dirs[c] == NULL)
      continue;
    /* The last processes of the PID namespace may still be exiting. */
    for (int i = 0; i < 100 && rmdir(cg->dirs[c]) < 0 && errno == EBUSY; i++) {
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  st_cgroup_clear(cg);
}

/* The freezer cgroup of container id and whether it is v2; NULL when the
 * host has no freezer. */
static char *freezer_dir(const char *id, bool *v2) {
  char *dir = NULL;
  *v2 = false;
  if (access(CG_ROOT "/freezer/tasks", F_OK) == 0) {
    if (asprintf(&dir, CG_ROOT "/freezer/strata/%s", id) < 0)
      return NULL;
    return dir;
  }
  const char *u = unified_root();
  cleanup_free char *probe = NULL;
  if (u == NULL || asprintf(&probe, "%s/strata", u) < 0)
    return NULL;
  /* cgroup.freeze exists in every non-root cgroup of a kernel that has
   * it (5.2+); look at one we may create */
  if (st_mkdir_p(probe, 0755, NULL) < 0)
    return NULL;
  cleanup_free char *f = NULL;
  if (asprintf(&f, "%s/cgroup.freeze", probe) < 0 || access(f, F_OK) != 0)
    return NULL;
  *v2 = true;
  if (asprintf(&dir, "%s/%s", probe, id) < 0)
    return NULL;
  return dir;
}

/* Waits (up to 5 s) until the freezer cgroup dir reports it is frozen. */
static int await_frozen(const char *dir, bool v2, st_error **err) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, v2 ? "cgroup.events" : "freezer.state") < 0)
    return st_error_errno(err, ENOMEM, "freeze");
  for (int i = 0; i < 500; i++) {
    cleanup_free char *text = NULL;
    size_t len;
    if (st_read_file(p, &text, &len, err) < 0)
      return -1;
    if (v2 ? strstr(text, "frozen 1") != NULL : strncmp(text, "FROZEN", 6) == 0)
      return 0;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return st_error_set(err, ETIMEDOUT, "freeze `%s`: still not frozen after 5s",
                      dir);
}

int st_freezer_freeze(const char *id, const pid_t *pids, size_t n, char **dir,
                      st_error **err) {
  bool v2;
  cleanup_free char *d = freezer_dir(id, &v2);
  if (d == NULL)
    return st_error_set(err, ENOTSUP,
                        "this host has no freezer cgroup (neither a v1 "
                        "freezer hierarchy nor cgroup.freeze in the unified "
                        "one): commit with --pause=false");
  if (st_mkdir_p(d, 0755, err) < 0)
    return st_error_wrap(err, "freeze");
  for (size_t i = 0; i < n; i++) {
    char v[32];
    snprintf(v, sizeof(v), "%d", (int)pids[i]);
    st_error *e = NULL;
    /* a process that exited meanwhile is no longer there to freeze */
    if (write_file(d, "cgroup.procs", v, &e) < 0 && e->code != ESRCH) {
      st_error_free(*err);
      *err = e;
      return st_error_wrap(err, "freeze");
    }
    st_error_free(e);
  }
  if (write_file(d, v2 ? "cgroup.freeze" : "freezer.state", v2 ? "1" : "FROZEN",
                 err) < 0 ||
      await_frozen(d, v2, err) < 0) {
    st_freezer_thaw(d, NULL);
    return -1;
  }
  *dir = steal_pointer(&d);
  return 0;
}

int st_freezer_thaw(const char *dir, st_error **err) {
  bool v2 = strstr(dir, CG_ROOT "/freezer/") != dir;
  return write_file(dir, v2 ? "cgroup.freeze" : "freezer.state",
                    v2 ? "0" : "THAWED", err);
}

int st_freezer_frozen(const char *id, char **dir) {
  cleanup_free char *d = NULL, *p = NULL, *text = NULL;
  bool v2 = access(CG_ROOT "/freezer/tasks", F_OK) != 0;
  const char *u = v2 ? unified_root() : CG_ROOT "/freezer";
  size_t len;
  /* read only: a container never paused has no freezer cgroup */
  if (u == NULL || asprintf(&d, "%s/strata/%s", u, id) < 0 ||
      asprintf(&p, "%s/%s", d, v2 ? "cgroup.freeze" : "freezer.state") < 0 ||
      st_read_file(p, &text, &len, NULL) < 0)
    return 0;
  /* v1 says FREEZING while the kernel is still at it: paused all the same */
  bool frozen = v2 ? text[0] == '1' : strncmp(text, "THAWED", 6) != 0;
  if (frozen && dir)
    *dir = steal_pointer(&d);
  return frozen;
}

void st_cgroup_remove_id(const char *id) {
  bool fv2;
  cleanup_free char *fz = freezer_dir(id, &fv2);
  if (fz)
    rmdir(fz);
  cleanup_free char *path = NULL;
  if (asprintf(&path, "/strata/%s", id) < 0)
    return;
  st_cgroup cg;
  memset(&cg, 0, sizeof(cg));
  for (int c = 0; c < ST_CG_N; c++) {
    bool v2;
    cg.dirs[c] = controller_dir(c, path, &v2);
  }
  st_cgroup_remove(&cg);
}
