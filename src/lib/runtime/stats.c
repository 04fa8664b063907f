/* `stats`: one reading of a container's resource use. The memory and pids
 * numbers come from the container's cgroups when it has them (created for
 * -m / --pids-limit); a container without limits has no cgroup of its own,
 * so they are summed over its processes instead, as are CPU time (user +
 * system, with the reaped children's), block I/O (/proc/<pid>/io) and the
 * network (its namespace's /proc/<pid>/net/dev, loopback left out). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/manage.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CG_ROOT "/sys/fs/cgroup"

/* The text of the file at path a b c (joined as they are), or NULL. */
static char *slurp(const char *a, const char *b, const char *c) {
  cleanup_free char *p = NULL;
  char *text = NULL;
  size_t len;
  if (asprintf(&p, "%s%s%s", a, b, c) < 0 ||
      st_read_file(p, &text, &len, NULL) < 0)
    return NULL;
  return text;
}

/* The number after "key " at a line start of text, or -1. */
static int64_t stat_key(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
    if (strncmp(l, key, n) == 0 && l[n] == ' ')
      return strtoll(l + n + 1, NULL, 10);
  return -1;
}

static int64_t host_memory(void) {
  cleanup_free char *text = slurp("/proc/meminfo", "", "");
  const char *m = text ? strstr(text, "MemTotal:") : NULL;
  return m ? strtoll(m + 9, NULL, 10) * 1024 : 0;
}

/* Host CPU time (user through steal, as Docker sums /proc/stat), ticks. */
static uint64_t host_ticks(void) {
  cleanup_free char *text = slurp("/proc/stat", "", "");
  if (text == NULL || strncmp(text, "cpu ", 4) != 0)
    return 0;
  uint64_t sum = 0;
  char *p = text + 4;
  for (int i = 0; i < 8; i++)
    sum += strtoull(p, &p, 10);
  return sum;
}

/* Memory from the memory cgroup: usage less the inactive file cache. */
static bool cgroup_memory(const char *id, st_ct_stats *st) {
  cleanup_free char *v1 = NULL, *v2 = NULL;
  if (asprintf(&v1, CG_ROOT "/memory/strata/%s", id) < 0 ||
      asprintf(&v2, CG_ROOT "/unified/strata/%s", id) < 0)
    return false;
  cleanup_free char *use = slurp(v1, "/memory.usage_in_bytes", "");
  if (use) {
    cleanup_free char *stat = slurp(v1, "/memory.stat", "");
    cleanup_free char *lim = slurp(v1, "/memory.limit_in_bytes", "");
    int64_t inactive = stat ? stat_key(stat, "total_inactive_file") : -1;
    st->mem_usage = strtoll(use, NULL, 10) - (inactive > 0 ? inactive : 0);
    st->mem_limit = lim ? strtoll(lim, NULL, 10) : 0;
    return true;
  }
  const char *dir = access(CG_ROOT "/cgroup.controllers", F_OK) == 0
                        ? NULL
                        : v2; /* hybrid: the unified mount */
  cleanup_free char *pure = NULL;
  if (dir == NULL && asprintf(&pure, CG_ROOT "/strata/%s", id) < 0)
    return false;
  if (dir == NULL)
    dir = pure;
  cleanup_free char *cur = slurp(dir, "/memory.current", "");
  if (cur == NULL)
    return false;
  cleanup_free char *stat = slurp(dir, "/memory.stat", "");
  cleanup_free char *max = slurp(dir, "/memory.max", "");
  int64_t inactive = stat ? stat_key(stat, "inactive_file") : -1;
  st->mem_usage = strtoll(cur, NULL, 10) - (inactive > 0 ? inactive : 0);
  st->mem_limit = max && max[0] != 'm' ? strtoll(max, NULL, 10) : 0;
  return true;
}

static bool cgroup_pids(const char *id, st_ct_stats *st) {
  cleanup_free char *cur = slurp(CG_ROOT "/pids/strata/", id, "/pids.current");
  if (cur == NULL) {
    const char *u = access(CG_ROOT "/cgroup.controllers", F_OK) == 0
                        ? CG_ROOT "/strata/"
                        : CG_ROOT "/unified/strata/";
    cur = slurp(u, id, "/pids.current");
  }
  if (cur == NULL)
    return false;
  st->pids = strtoll(cur, NULL, 10);
  return true;
}

/* Adds process pid's CPU ticks, resident memory and threads to st. */
static void add_process(pid_t pid, st_ct_stats *st, bool mem, bool pids) {
  char p[32];
  snprintf(p, sizeof(p), "%d", (int)pid);
  cleanup_free char *stat = slurp("/proc/", p, "/stat");
  const char *f = stat ? strrchr(stat, ')') : NULL;
  if (f == NULL)
    return; /* gone meanwhile */
  /* fields from 3 (state) on; utime..cstime are 14..17, threads 20,
   * rss 24 */
  char *q = (char *)f + 2;
  unsigned long long v[25] = {0};
  for (int i = 3; i <= 24 && *q; i++) {
    while (*q == ' ')
      q++;
    v[i] = strtoull(q, &q, 10);
    if (i == 3) /* the state letter */
      while (*q && *q != ' ')
        q++;
  }
  st->cpu_ticks += v[14] + v[15] + v[16] + v[17];
  if (pids)
    st->pids += (int64_t)v[20];
  if (mem)
    st->mem_usage += (int64_t)v[24] * sysconf(_SC_PAGESIZE);
  cleanup_free char *io = slurp("/proc/", p, "/io");
  if (io) {
    int64_t r = stat_key(io, "read_bytes:"), w = stat_key(io, "write_bytes:");
    st->blk_read += r > 0 ? r : 0;
    st->blk_write += w > 0 ? w : 0;
  }
}

/* Received and sent bytes of pid's network namespace, but for lo; 0 when
 * it is the host's (--network host: Docker shows none). */
static void add_network(pid_t pid, st_ct_stats *st) {
  char p[64];
  struct stat mine, theirs;
  snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)pid);
  if (stat(p, &theirs) < 0 || stat("/proc/self/ns/net", &mine) < 0 ||
      (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev))
    return;
  snprintf(p, sizeof(p), "%d", (int)pid);
  cleanup_free char *dev = slurp("/proc/", p, "/net/dev");
  const char *l = dev ? strchr(dev, '\n') : NULL;
  l = l ? strchr(l + 1, '\n') : NULL; /* two header lines */
  while (l && *++l) {
    const char *colon = strchr(l, ':');
    const char *end = strchr(l, '\n');
    if (colon == NULL || (end && colon > end))
      break;
    const char *name = l;
    while (*name == ' ')
      name++;
    if (!(colon - name == 2 && strncmp(name, "lo", 2) == 0)) {
      char *q = (char *)colon + 1;
      unsigned long long f[9];
      for (int i = 0; i < 9; i++)
        f[i] = strtoull(q, &q, 10);
      st->net_rx += (int64_t)f[0];
      st->net_tx += (int64_t)f[8];
    }
    l = end;
  }
}

int st_container_stats(st_store *s, const st_container *c, st_ct_stats *st,
                       st_error **err) {
  memset(st, 0, sizeof(*st));
  st->system_ticks = host_ticks();
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  st->online_cpus = ncpu > 0 ? (int)ncpu : 1;
  int64_t host = host_memory();
  if (c->state != ST_CT_RUNNING)
    return 0;
  st->running = true;
  bool mem = !cgroup_memory(c->id, st), pids = !cgroup_pids(c->id, st);
  if (st->mem_limit <= 0 || (host > 0 && st->mem_limit > host))
    st->mem_limit = host;
  pid_t *v = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_container_pids(s, c->id, &v, &n, &e) < 0) {
    if (e->code == EINVAL) { /* exited meanwhile */
      st_error_free(e);
      st->running = false;
      return 0;
    }
    return st_error_give(err, e);
  }
  for (size_t i = 0; i < n; i++)
    add_process(v[i], st, mem, pids);
  if (n > 0)
    add_network(v[0], st);
  free(v);
  return 0;
}
