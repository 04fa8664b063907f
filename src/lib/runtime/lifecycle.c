/* Container life cycle beyond create/start/stop: the processes of a
 * container (for `top`) and pruning stopped containers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/manage_internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

static int pid_ns_of(pid_t pid, struct stat *st) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/ns/pid", (int)pid);
  return stat(p, st);
}

int st_container_pids(st_store *s, const char *ref, pid_t **pids, size_t *n,
                      st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  st_container_refresh(s, &c);
  struct stat ns;
  int r = 0;
  if (c.state != ST_CT_RUNNING)
    r = st_error_set(err, EINVAL, "container %s is not running", c.id);
  else if (c.restarting)
    r = st_error_set(err, EINVAL,
                     "Container %s is restarting, wait until the container "
                     "is running",
                     c.id);
  else if (pid_ns_of(c.pid, &ns) < 0)
    r = st_error_errno(err, errno, "pid namespace of container %.12s", c.id);
  st_container_clear(&c);
  if (r < 0)
    return -1;
  cleanup_dir DIR *d = opendir("/proc");
  if (d == NULL)
    return st_error_errno(err, errno, "read /proc");
  pid_t *v = NULL;
  size_t len = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (!isdigit((unsigned char)de->d_name[0]))
      continue;
    pid_t pid = (pid_t)atoi(de->d_name);
    struct stat st;
    if (pid_ns_of(pid, &st) < 0 || st.st_ino != ns.st_ino ||
        st.st_dev != ns.st_dev)
      continue;
    if (len == cap) {
      cap = cap ? cap * 2 : 16;
      pid_t *nv = realloc(v, cap * sizeof(*nv));
      if (nv == NULL) {
        free(v);
        return st_error_errno(err, ENOMEM, "top");
      }
      v = nv;
    }
    v[len++] = pid;
  }
  if (len)
    qsort(v, len, sizeof(*v), cmp_pid);
  *pids = v;
  *n = len;
  return 0;
}

int st_containers_prune(st_store *s, int64_t until, char ***ids, size_t *n,
                        int64_t *reclaimed, st_error **err) {
  st_container *all = NULL;
  size_t total = 0;
  if (st_container_list(s, &all, &total, err) < 0)
    return -1;
  char **v = calloc(total + 1, sizeof(char *));
  size_t len = 0;
  int64_t bytes = 0;
  int r = v ? 0 : st_error_errno(err, ENOMEM, "prune");
  for (size_t i = 0; r == 0 && i < total; i++) {
    st_container *c = &all[i];
    st_container_refresh(s, c);
    if (c->state == ST_CT_RUNNING ||
        (until > 0 && c->created / 1000000000 >= until))
      continue;
    cleanup_free char *dir = st_container_dir(s, c->id), *upper = NULL;
    long long du = 0;
    if (dir && asprintf(&upper, "%s/upper", dir) > 0)
      du = st_du(upper);
    st_error *e = NULL;
    /* Skipped when another command holds it (starting it, removing it). */
    if (st_container_remove_idle(s, c->id, &e) < 0) {
      st_error_free(e); /* started meanwhile, or removed by another */
      continue;
    }
    bytes += du > 0 ? du : 0;
    v[len++] = strdup(c->id);
  }
  st_containers_free(all, total);
  if (r < 0) {
    free(v);
    return -1;
  }
  /* Like every prune, collect what interrupted commands left (when no
   * other process is busy; store.h). */
  st_error *gc_err = NULL;
  st_store_gc(s, &gc_err);
  st_error_free(gc_err);
  *ids = v;
  *n = len;
  *reclaimed = bytes;
  return 0;
}
