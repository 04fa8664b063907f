/* `start --all-restartable`: what a daemon does when it starts (after a
 * reboot), run by hand or by a systemd unit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "runtime/monitor.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* Docker's rule at daemon start: always comes back even when the user
 * stopped it; unless-stopped only when the user did not. A container that
 * never ran stays created. */
static bool wants_start(st_store *s, st_container *c) {
  st_container_refresh(s, c);
  if (c->state == ST_CT_RUNNING || c->started == 0)
    return false;
  cleanup_free char *dir = st_container_dir(s, c->id);
  if (dir == NULL)
    return false;
  st_restart_policy p;
  st_restart_policy_load(dir, &p);
  if (strcmp(p.name, "always") == 0)
    return true;
  return strcmp(p.name, "unless-stopped") == 0 && !st_user_stopped(dir);
}

int st_containers_start_restartable(st_store *s, char ***names, size_t *n,
                                    char **failed, st_error **err) {
  st_container *all = NULL;
  size_t total = 0;
  *failed = NULL;
  if (st_container_list(s, &all, &total, err) < 0)
    return -1;
  char **v = calloc(total + 1, sizeof(char *));
  if (v == NULL) {
    st_containers_free(all, total);
    return st_error_errno(err, ENOMEM, "start");
  }
  size_t len = 0;
  st_buf msgs = ST_BUF_INIT;
  for (size_t i = total; i-- > 0;) { /* oldest first, as they were made */
    if (!wants_start(s, &all[i]))
      continue;
    st_error *e = NULL;
    if (st_container_start_detached(s, all[i].id, &e) < 0) {
      st_buf_printf(&msgs, "%s: %s\n", all[i].name, e ? e->msg : "failed");
      st_error_free(e);
      continue;
    }
    v[len++] = strdup(all[i].name);
  }
  st_containers_free(all, total);
  *names = v;
  *n = len;
  *failed = msgs.len ? st_buf_steal(&msgs) : NULL;
  st_buf_free(&msgs);
  return 0;
}

int st_container_set_restart_policy(st_store *s, const char *ref,
                                    const st_restart_policy *p,
                                    st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  int r = 0;
  if (c.auto_remove && strcmp(p->name, "no") != 0)
    r = st_error_set(err, EINVAL,
                     "Restart policy cannot be updated because AutoRemove is "
                     "enabled for the container");
  cleanup_free char *dir = st_container_dir(s, c.id);
  if (r == 0 && dir == NULL)
    r = st_error_errno(err, ENOMEM, "update");
  if (r == 0)
    r = st_restart_policy_store(dir, p, err);
  st_container_clear(&c);
  return r;
}
