/* Container life cycle: create (files + config.json + row), run, start
 * detached, kill, stop, wait, remove. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "layer/backend.h"
#include "runtime/launch.h"
#include "runtime/logdriver.h"
#include "runtime/manage.h"
#include "runtime/monitor.h"
#include "runtime/mounts.h"
#include "runtime/netrules.h"
#include "runtime/netsetup.h"
#include "runtime/volumes.h"
#include "store/layers.h"
#include "util/cleanup.h"
#include "util/fs.h"

char *st_container_log_path(const st_store *s, const char *id) {
  char *p = NULL;
  if (asprintf(&p, "%s/containers/%s/container.log", st_store_root(s), id) < 0)
    return NULL;
  return p;
}

int st_runtime_exit_code(const st_error *err) {
  if (err && err->code == ENOENT && strncmp(err->msg, "exec:", 5) == 0)
    return 127;
  if (err && err->code == EACCES && strncmp(err->msg, "exec:", 5) == 0)
    return 126;
  return 125;
}

/* ---- create ---------------------------------------------------------------
 */

static int new_id(char id[ST_CONTAINER_ID_LEN], st_error **err) {
  unsigned char r[32];
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    return st_error_errno(err, errno, "container ID");
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(id + 2 * i, 3, "%02x", r[i]);
  return 0;
}

static bool valid_name(const char *n) {
  size_t len = strlen(n);
  const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_.-";
  return len >= 2 && strspn(n, ok) == len && n[0] != '_' && n[0] != '.' &&
         n[0] != '-';
}

static char *pick_name(st_store *s, const char *wanted, st_error **err) {
  if (wanted) {
    const char *n = wanted[0] == '/' ? wanted + 1 : wanted;
    if (!valid_name(n)) {
      st_error_set(
          err, EINVAL,
          "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
          "are allowed",
          wanted);
      return NULL;
    }
    return strdup(n);
  }
  for (int i = 0;; i++) {
    char *n = st_name_generate();
    if (n == NULL || !st_container_name_taken(s, n) || i > 50)
      return n;
    free(n);
  }
}

/* Writes a file of a new container's bundle. No fsync: the bundle is
 * complete before the container's row is committed, and a bundle whose row
 * never committed is garbage; an fsync per file would double the cost of
 * `run` (the database commit is the durable point). */
static int write_text(const char *dir, const char *name, const char *text,
                      st_error **err) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return st_error_errno(err, ENOMEM, "write %s", name);
  cleanup_close int fd =
      open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s`", p);
  return st_write_all(fd, text, strlen(text), p, err);
}

/* HostConfig.LogConfig, read by the monitor and logs (runtime/logdriver.h) */
static int write_log_config(const char *dir, const st_create_opts *o,
                            st_error **err) {
  json_t *lc = NULL;
  if (st_log_config_parse(o->log_driver, o->log_opts, o->n_log_opts, &lc, err) <
      0)
    return -1;
  cleanup_free char *text = json_dumps(lc, JSON_COMPACT);
  json_decref(lc);
  if (text == NULL)
    return st_error_set(err, ENOMEM, "out of memory");
  return write_text(dir, "log-config.json", text, err);
}

static int make_dirs(const char *dir, st_error **err) {
  const char *subs[] = {"upper", "work", "merged"};
  if (st_mkdir_p(dir, 0700, err) < 0)
    return -1;
  for (size_t i = 0; i < 3; i++) {
    cleanup_free char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, subs[i]) < 0)
      return st_error_errno(err, ENOMEM, "mkdir");
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
      return st_error_errno(err, errno, "mkdir `%s`", p);
  }
  return 0;
}

typedef struct creating {
  st_image img;
  json_t *config; /* the whole image config */
  char **lower;
  size_t n_lower;
  st_user user;
  char *hostname;
  char *runtime; /* resolved --runtime */
  st_ct_mounts mounts;
  st_ct_net net;
} creating;

static void creating_clear(creating *c) {
  st_image_clear(&c->img);
  json_decref(c->config);
  if (c->lower)
    st_strv_free(c->lower, c->n_lower);
  st_user_clear(&c->user);
  free(c->hostname);
  free(c->runtime);
  st_mounts_clear(&c->mounts);
  st_ct_net_clear(&c->net);
}

/* --runtime: a path, or a name looked up in PATH; must be executable. */
static char *resolve_runtime(const char *name, st_error **err) {
  if (strchr(name, '/')) {
    char *p = realpath(name, NULL);
    if (p == NULL || access(p, X_OK) < 0) {
      free(p);
      st_error_errno(err, errno, "runtime %s", name);
      return NULL;
    }
    return p;
  }
  const char *path = getenv("PATH");
  cleanup_free char *dirs = strdup(path && *path ? path : ST_DEFAULT_PATH);
  for (char *d = dirs, *c; d; d = c) {
    c = strchr(d, ':');
    if (c)
      *c++ = '\0';
    char *p = NULL;
    if (*d == '/' && asprintf(&p, "%s/%s", d, name) > 0 && access(p, X_OK) == 0)
      return p;
    free(p);
  }
  st_error_set(err, EINVAL, "unknown or invalid runtime name: %s", name);
  return NULL;
}

static int gather(st_store *s, const st_create_opts *o, const char *id,
                  creating *c, st_error **err) {
  if (st_image_resolve(s, o->image, &c->img, err) < 0 ||
      st_config_load(s, c->img.id, &c->config, err) < 0 ||
      st_flags_platform_check(o, c->config, err) < 0 ||
      st_image_unpack(s, c->img.id, &c->lower, &c->n_lower, err) < 0)
    return -1;
  json_t *cfg = json_object_get(c->config, "config");
  const char *user =
      o->user ? o->user : json_string_value(json_object_get(cfg, "User"));
  st_lower_view view;
  if (st_lower_view_open(c->lower, c->n_lower, &view, err) < 0)
    return -1;
  int ur = st_user_resolve(view.path, c->n_lower, user, &c->user, err);
  if (ur == 0)
    ur = st_user_add_groups(view.path, c->n_lower, o->group_add, o->n_group_add,
                            &c->user, err);
  st_lower_view_close(&view);
  if (ur < 0 || st_ct_net_resolve(s, o, cfg, &c->net, err) < 0)
    return -1;
  bool host_net = c->net.mode == ST_NET_HOST;
  char hn[256] = "";
  cleanup_free char *donor_hn = c->net.mode == ST_NET_CONTAINER
                                    ? st_flags_net_hostname(s, c->net.donor)
                                    : NULL;
  if (o->hostname)
    snprintf(hn, sizeof(hn), "%s", o->hostname);
  else if (donor_hn) /* the donor's, as Docker */
    snprintf(hn, sizeof(hn), "%s", donor_hn);
  else if (host_net || (o->uts_mode && strcmp(o->uts_mode, "host") == 0))
    gethostname(hn, sizeof(hn) - 1);
  else
    snprintf(hn, sizeof(hn), "%.12s", id);
  c->hostname = strdup(hn);
  if (c->hostname == NULL)
    return st_error_errno(err, ENOMEM, "hostname");
  if (o->runtime && (c->runtime = resolve_runtime(o->runtime, err)) == NULL)
    return -1;
  return 0;
}

static int write_bundle(const st_create_opts *o, creating *c, const char *dir,
                        const char *name, json_t **spec, st_error **err) {
  st_spec_input in = {.o = o,
                      .image_config = json_object_get(c->config, "config"),
                      .dir = dir,
                      .lower = c->lower,
                      .n_lower = c->n_lower,
                      .uid = c->user.uid,
                      .gid = c->user.gid,
                      .groups = c->user.groups,
                      .n_groups = c->user.n_groups,
                      .home = c->user.home,
                      .hostname = c->hostname,
                      .runtime = c->runtime,
                      .volume_mounts = c->mounts.oci,
                      .volume_host_mounts = c->mounts.host_mounts};
  if (c->net.mode == ST_NET_CONTAINER)
    in.net_donor = c->net.donor;
  if (make_dirs(dir, err) < 0 ||
      st_ct_net_write_files(o, &c->net, dir, c->hostname, name, err) < 0 ||
      st_spec_generate(&in, spec, err) < 0)
    return -1;
  cleanup_free char *text = json_dumps(*spec, JSON_COMPACT);
  if (text == NULL || write_text(dir, "config.json", text, err) < 0)
    return -1;
  st_spec_remember(dir, *spec);
  if (o->interactive && write_text(dir, "stdin", "", err) < 0)
    return -1;
  return write_log_config(dir, o, err);
}

static int validate(const st_create_opts *o, st_error **err) {
  if (o->init && o->runtime)
    return st_error_set(err, EINVAL,
                        "--init with --runtime is not supported: strata's "
                        "init runs in its own executor only");
  st_restart_policy rp;
  if (o->restart && st_restart_policy_parse(o->restart, &rp, err) < 0)
    return -1;
  json_t *lc = NULL; /* refused before anything is made */
  if (st_log_config_parse(o->log_driver, o->log_opts, o->n_log_opts, &lc, err) <
      0)
    return -1;
  json_decref(lc);
  if (o->restart && o->auto_remove && strcmp(rp.name, "no") != 0)
    return st_error_set(err, EINVAL, "Conflicting options: --restart and --rm");
  if (o->workdir && *o->workdir && o->workdir[0] != '/')
    return st_error_set(err, EINVAL,
                        "the working directory '%s' is invalid, it needs to "
                        "be an absolute path",
                        o->workdir);
  return 0;
}

int st_container_create(st_store *s, const st_create_opts *o,
                        char id[ST_CONTAINER_ID_LEN], st_error **err) {
  if (validate(o, err) < 0 || st_flags_validate(s, o, err) < 0 ||
      new_id(id, err) < 0 || st_store_busy(s, err) < 0)
    return -1;
  creating c = {0};
  cleanup_free char *name = NULL, *cmd = NULL;
  cleanup_free char *dir = st_container_dir(s, id);
  json_t *spec = NULL;
  int r = -1;
  if (gather(s, o, id, &c, err) < 0 ||
      (name = pick_name(s, o->name, err)) == NULL)
    goto out;
  if (st_container_name_taken(s, name)) {
    st_container rec = {.name = name};
    r = st_container_insert(s, &rec, err); /* reports the conflict */
    goto out;
  }
  /* The lock is held until this process starts the container or exits,
   * so a prune never takes a container between its creation and its
   * start. */
  if (st_mounts_resolve(s, o, json_object_get(c.config, "config"), c.lower,
                        c.n_lower, &c.mounts, err) < 0 ||
      write_bundle(o, &c, dir, name, &spec, err) < 0 ||
      st_container_lock(s, id, true, err) < 0)
    goto fail;
  cmd = st_spec_command(spec);
  st_container rec = {.name = name,
                      .image_ref = (char *)o->image,
                      .command = cmd,
                      .created = st_now_ns(),
                      .state = ST_CT_CREATED,
                      .auto_remove = o->auto_remove};
  snprintf(rec.id, sizeof(rec.id), "%s", id);
  snprintf(rec.image, sizeof(rec.image), "%s", c.img.id);
  /* A generated name may have been taken by a concurrent create since it
   * was picked: pick another. */
  for (int tries = 0;; tries++) {
    st_error *e = NULL;
    if (st_container_insert(s, &rec, &e) == 0)
      break;
    if (o->name || e->code != EEXIST || tries > 20) {
      (void)st_error_give(err, e);
      goto fail;
    }
    st_error_free(e);
    free(name);
    if ((name = pick_name(s, NULL, err)) == NULL)
      goto fail;
    rec.name = name;
  }
  if (st_mounts_attach(s, id, &c.mounts, err) < 0 ||
      st_ct_net_attach(s, o, &c.net, id, dir, err) < 0) {
    st_error *e = NULL;
    if (st_container_delete(s, id, &e) < 0)
      st_error_free(e);
    goto fail;
  }
  r = 0;
  goto out;
fail:;
  st_error *ignored = NULL;
  st_mounts_rollback(s, &c.mounts);
  st_container_unlock(s, id);
  st_rm_rf(dir, &ignored);
  st_error_free(ignored);
out:
  json_decref(spec);
  creating_clear(&c);
  return r;
}

/* ---- state -------------------------------------------------------------- */

/* Reads <dir>/exit written by a detached monitor. */
static bool read_exit_file(st_store *s, const char *id, int *code,
                           int64_t *finished) {
  cleanup_free char *dir = st_container_dir(s, id), *path = NULL, *text = NULL;
  size_t len;
  if (dir == NULL || asprintf(&path, "%s/exit", dir) < 0 ||
      st_read_file(path, &text, &len, NULL) < 0)
    return false;
  long long f = 0;
  return sscanf(text, "%d %lld", code, &f) == 2 && (*finished = f, true);
}

/* finished: the time the monitor recorded, 0 when none did (now). */
static void record_exit(st_store *s, st_container *c, int code,
                        int64_t finished) {
  st_error *e = NULL;
  if (st_container_set_exited(s, c->id, code, finished, &e) < 0)
    st_error_free(e);
  c->state = ST_CT_EXITED;
  c->exit_code = code;
  c->finished = finished > 0 ? finished : st_now_ns();
  c->pid = 0;
  cleanup_free char *dir = st_container_dir(s, c->id);
  e = NULL;
  if (dir && st_ct_publishes(dir) && st_net_rules_rebuild(s, &e) < 0)
    st_error_free(e); /* a rule to a stopped container is harmless */
}

/* What the monitor's state.json says of c (monitor.h): the restart count,
 * and while the row says running, the current process, a back-off, the
 * health. */
static void apply_mstate(const char *dir, st_container *c) {
  st_mstate m;
  if (dir == NULL || !st_mstate_read(dir, &m))
    return;
  c->restart_count = m.restart_count;
  if (c->state == ST_CT_RUNNING) {
    c->restarting = m.restarting;
    if (m.restarting) {
      c->exit_code = m.exit_code;
      c->finished = m.finished;
    } else if (m.pid > 0) {
      c->pid = m.pid;
      c->pid_start = m.pid_start;
      c->started = m.started;
      c->exit_code = 0;
    }
    const char *h =
        json_string_value(json_object_get(m.health, "Status")) ?: "";
    snprintf(c->health, sizeof(c->health), "%s", m.restarting ? "" : h);
  }
  st_mstate_clear(&m);
}

/* The monitor is alive: by its lock, or (a container started before the
 * lock existed) by its pid. */
static bool monitor_alive(const char *dir, const st_container *c) {
  int alive = dir ? st_monitor_alive(dir) : -1;
  if (alive >= 0)
    return alive == 1;
  return c->monitor > 0 && kill(c->monitor, 0) == 0;
}

/* A start killed after its monitor launched the container but before it
 * recorded it as running (the monitor has no store): the monitor's lock
 * is held and state.json names the process. The container runs, so it is
 * recorded now (with its published ports' rules), unless that start is
 * still under way: it holds the container's lock and records it itself. */
static void adopt_launched(st_store *s, const char *dir, st_container *c) {
  st_mstate m;
  if (dir == NULL || st_monitor_alive(dir) != 1 || !st_mstate_read(dir, &m))
    return;
  json_decref(m.health); /* only the process is wanted */
  m.health = NULL;
  if (m.pid <= 0 || !st_pid_alive(m.pid, m.pid_start))
    return;
  bool mine = st_container_lock_held(s, c->id);
  st_error *e = NULL;
  if (!mine && st_container_lock(s, c->id, false, &e) < 0) {
    st_error_free(e);
    return;
  }
  st_container now;
  if (st_container_find(s, c->id, &now, &e) == 0) {
    if (now.state != ST_CT_RUNNING &&
        st_container_set_running(s, c->id, m.pid, m.pid_start, m.monitor, &e) ==
            0) {
      c->state = ST_CT_RUNNING;
      c->pid = m.pid;
      c->pid_start = m.pid_start;
      c->monitor = m.monitor;
      c->started = m.started;
      if (st_net_rules_container(s, dir, &e) < 0) {
        st_error_free(e);
        e = NULL;
      }
    }
    st_container_clear(&now);
  }
  st_error_free(e);
  if (!mine)
    st_container_unlock(s, c->id);
}

void st_container_refresh(st_store *s, st_container *c) {
  cleanup_free char *dir = st_container_dir(s, c->id);
  if (c->state != ST_CT_RUNNING)
    adopt_launched(s, dir, c);
  apply_mstate(dir, c);
  if (c->state != ST_CT_RUNNING)
    return;
  bool pid_alive = !c->restarting && st_pid_alive(c->pid, c->pid_start);
  if (pid_alive || c->restarting) {
    /* only a lock left free says the monitor died (an attached run has
     * none: its container outlives it) */
    if (dir == NULL || st_monitor_alive(dir) != 0)
      return;
    /* The monitor died (killed): its container died with it
     * (PR_SET_PDEATHSIG), unless a set-id exec cleared that; nobody would
     * ever record it, so it ends here. */
    if (pid_alive)
      kill(c->pid, SIGKILL);
    c->restarting = false;
  }
  int code = 255;
  int64_t finished = 0;
  /* exited; a monitor writes the status just after reaping it, or starts
   * it again */
  for (int i = 0; i < 200; i++) {
    if (read_exit_file(s, c->id, &code, &finished))
      break;
    if (!monitor_alive(dir, c)) {
      if (read_exit_file(s, c->id, &code, &finished))
        break;
      code = 255;
      break;
    }
    st_container now;
    st_error *e = NULL;
    if (st_container_find(s, c->id, &now, &e) < 0) {
      st_error_free(e);
      return;
    }
    if (now.state != ST_CT_RUNNING) { /* an attached run recorded it */
      st_container_clear(c);
      *c = now;
      return;
    }
    st_container_clear(&now);
    uint64_t old_start = c->pid_start;
    apply_mstate(dir, c);
    if (c->restarting ||
        (c->pid_start != old_start && st_pid_alive(c->pid, c->pid_start)))
      return; /* restarting, or already running again */
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  c->restarting = false;
  c->health[0] = '\0';
  record_exit(s, c, code, finished);
  if (c->auto_remove) {
    st_error *e = NULL;
    if (st_container_remove_v(s, c->id, true, true, &e) < 0)
      st_error_free(e);
  }
}

static int find_fresh(st_store *s, const char *ref, st_container *c,
                      st_error **err) {
  if (st_container_find(s, ref, c, err) < 0)
    return -1;
  st_container_refresh(s, c);
  return 0;
}

/* The user stops or kills a running container: its restart policy no
 * longer applies (Docker's HasBeenManuallyStopped) until it is started. */
static void mark_user_stopped(st_store *s, const st_container *c) {
  cleanup_free char *dir = st_container_dir(s, c->id);
  if (dir && c->state == ST_CT_RUNNING)
    st_user_stopped_set(dir);
}

/* Ends the back-off of a restarting container: its monitor, told to stop,
 * records the last exit. Waits up to 10 s for it. */
static void end_restarting(st_store *s, st_container *c) {
  cleanup_free char *dir = st_container_dir(s, c->id);
  if (dir == NULL || !monitor_alive(dir, c))
    return;
  kill(c->monitor, SIGTERM);
  for (int i = 0; i < 1000 && monitor_alive(dir, c); i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  st_container_refresh(s, c);
}

/* Waits up to timeout_ms (< 0: forever) for pid to exit; true when it did. */
static bool wait_gone(pid_t pid, uint64_t start, int timeout_ms) {
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd >= 0 && st_pid_alive(pid, start)) {
    struct pollfd p = {pfd, POLLIN, 0};
    while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
      ;
  }
  if (pfd >= 0)
    close(pfd);
  if (pfd < 0) {
    for (int t = 0;
         (timeout_ms < 0 || t < timeout_ms) && st_pid_alive(pid, start);
         t += 10) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  return !st_pid_alive(pid, start);
}

int st_signal_number(const char *name) {
  char *end;
  long n = strtol(name, &end, 10);
  if (*name && *end == '\0')
    return n > 0 && n < NSIG ? (int)n : -1;
  if (strncasecmp(name, "SIG", 3) == 0)
    name += 3;
  for (int i = 1; i < NSIG; i++) {
    const char *abbrev = sigabbrev_np(i);
    if (abbrev && strcasecmp(abbrev, name) == 0)
      return i;
  }
  return -1;
}

/* The annotations of container id's config.json, and its stored Config
 * fields (ST_ANN_CONFIG), each a new reference or NULL. */
static json_t *stored_config_of(st_store *s, const char *id, json_t **ann) {
  cleanup_free char *dir = st_container_dir(s, id), *path = NULL;
  json_t *spec = dir && asprintf(&path, "%s/config.json", dir) >= 0
                     ? json_load_file(path, 0, NULL)
                     : NULL;
  *ann = json_incref(json_object_get(spec, "annotations"));
  json_decref(spec);
  const char *c = json_string_value(json_object_get(*ann, ST_ANN_CONFIG));
  return c ? json_loads(c, 0, NULL) : NULL;
}

static int stop_signal(st_store *s, const char *id) {
  json_t *ann = NULL;
  json_decref(stored_config_of(s, id, &ann));
  const char *sig = json_string_value(json_object_get(ann, ST_ANN_STOPSIGNAL));
  int n = sig ? st_signal_number(sig) : -1;
  json_decref(ann);
  return n > 0 ? n : SIGTERM;
}

/* -t not given: the container's --stop-timeout, else Docker's 10 s. */
static int stop_timeout(st_store *s, const char *id) {
  json_t *ann = NULL;
  json_t *st = stored_config_of(s, id, &ann);
  json_t *t = json_object_get(st, "StopTimeout");
  int n = json_is_integer(t) ? (int)json_integer_value(t) : 10;
  json_decref(st);
  json_decref(ann);
  return n;
}

/* Thaws container id when it is paused, so that a signal it was sent
 * (the stop signal, SIGKILL) is acted on. */
static int thaw_paused(const char *id, st_error **err) {
  cleanup_free char *dir = NULL;
  if (!st_freezer_frozen(id, &dir))
    return 0;
  return st_freezer_thaw(dir, err);
}

int st_container_kill(st_store *s, const char *ref, int sig, st_error **err) {
  st_container c;
  if (find_fresh(s, ref, &c, err) < 0)
    return -1;
  int r = 0;
  mark_user_stopped(s, &c);
  if (c.state != ST_CT_RUNNING)
    r = st_error_set(err, EINVAL, "Container %s is not running", c.id);
  else if (c.restarting)
    end_restarting(s, &c);
  else if (kill(c.pid, sig) < 0)
    r = st_error_errno(err, errno, "kill container %.12s", c.id);
  /* as Docker: a paused container is thawed for the signals that end it;
   * any other waits, pending, until it is unpaused */
  else if ((sig == SIGKILL || sig == stop_signal(s, c.id)) &&
           thaw_paused(c.id, err) < 0)
    r = st_error_wrap(err, "kill container %.12s", c.id);
  st_container_clear(&c);
  return r;
}

bool st_container_paused(const st_container *c) {
  return c->state == ST_CT_RUNNING && st_freezer_frozen(c->id, NULL);
}

int st_container_pause(st_store *s, const char *ref, st_error **err) {
  st_container c;
  if (find_fresh(s, ref, &c, err) < 0)
    return -1;
  int r = 0;
  pid_t *pids = NULL;
  size_t n = 0;
  cleanup_free char *dir = NULL;
  if (c.state != ST_CT_RUNNING)
    r = st_error_set(err, EINVAL, "Container %s is not running", c.id);
  else if (st_freezer_frozen(c.id, NULL))
    r = st_error_set(err, EINVAL, "Container %s is already paused", c.id);
  else if (st_container_pids(s, c.id, &pids, &n, err) < 0 ||
           st_freezer_freeze(c.id, pids, n, &dir, err) < 0)
    r = st_error_wrap(err, "pause container %.12s", c.id);
  free(pids);
  st_container_clear(&c);
  return r;
}

int st_container_unpause(st_store *s, const char *ref, st_error **err) {
  st_container c;
  if (find_fresh(s, ref, &c, err) < 0)
    return -1;
  int r = 0;
  cleanup_free char *dir = NULL;
  if (c.state != ST_CT_RUNNING)
    r = st_error_set(err, EINVAL, "Container %s is not running", c.id);
  else if (!st_freezer_frozen(c.id, &dir))
    r = st_error_set(err, EINVAL, "Container %s is not paused", c.id);
  else if (st_freezer_thaw(dir, err) < 0)
    r = st_error_wrap(err, "unpause container %.12s", c.id);
  st_container_clear(&c);
  return r;
}

int st_container_stop(st_store *s, const char *ref, int timeout,
                      st_error **err) {
  st_container c;
  if (find_fresh(s, ref, &c, err) < 0)
    return -1;
  mark_user_stopped(s, &c);
  if (c.state == ST_CT_RUNNING && !c.restarting) {
    if (timeout == ST_STOP_TIMEOUT_UNSET)
      timeout = stop_timeout(s, c.id);
    kill(c.pid, stop_signal(s, c.id));
    thaw_paused(c.id, NULL);
    if (!wait_gone(c.pid, c.pid_start, timeout * 1000)) {
      kill(c.pid, SIGKILL);
      wait_gone(c.pid, c.pid_start, -1);
    }
    st_container_refresh(s, &c);
  }
  if (c.state == ST_CT_RUNNING && c.restarting)
    end_restarting(s, &c);
  st_container_clear(&c);
  return 0;
}

int st_container_wait(st_store *s, const char *ref, int *status,
                      st_error **err) {
  st_container c;
  if (find_fresh(s, ref, &c, err) < 0)
    return -1;
  /* Docker's wait: the next exit (a restarting container exited already) */
  if (c.state == ST_CT_RUNNING && !c.restarting) {
    wait_gone(c.pid, c.pid_start, -1);
    st_container_refresh(s, &c);
  }
  *status = c.exit_code;
  st_container_clear(&c);
  return 0;
}

/* An image `rmi -f` deleted while this container used it goes with its
 * last container, and its layers with it (as Docker frees them when the
 * container's layer goes). Garbage left by a failure here is removed by
 * the next purge or gc. */
static void release_image(st_store *s) {
  st_error *e = NULL;
  int n = st_images_purge_removed(s, &e);
  if (n > 0 && st_store_gc(s, &e) < 0)
    n = -1;
  if (n < 0)
    st_error_free(e);
}

/* The row goes first: killed between the two steps, what is left is a
 * directory without a row, which the next process alone removes
 * (st_containers_sweep). Then the files and any cgroup left behind. */
static int remove_files(st_store *s, const char *id, bool anon_volumes,
                        st_error **err) {
  cleanup_free char *dir = st_container_dir(s, id);
  if (dir == NULL)
    return st_error_errno(err, ENOMEM, "remove container");
  if (st_container_lock(s, id, true, err) < 0)
    return -1;
  char **anon = NULL;
  size_t n_anon = 0;
  st_error *e = NULL;
  if (anon_volumes && st_volume_anonymous_of(s, id, &anon, &n_anon, &e) < 0)
    st_error_free(e);
  char **nets = NULL;
  size_t n_nets = 0;
  st_ct_net_of(s, id, &nets, &n_nets);
  int r = 0;
  st_flags_shm_release(dir); /* --ipc shareable, its monitor killed */
  if (st_container_delete(s, id, err) < 0 || st_rm_rf(dir, err) < 0)
    r = -1;
  st_container_unlock(s, id);
  for (size_t i = 0; r == 0 && i < n_nets; i++)
    st_ct_net_refresh_hosts(s, nets[i]); /* its peers forget it */
  st_strv_free(nets, n_nets);
  if (r == 0) {
    st_cgroup_remove_id(id);
    st_volumes_release(s, anon, n_anon); /* those no other container uses */
    release_image(s);
  }
  st_strv_free(anon, n_anon);
  return r;
}
/* Finds ref, takes its container lock (waiting for it, or EBUSY at once
 * unless wait) and reads its row again under the lock: whatever another
 * process did meanwhile (started it, removed it) is seen. */
static int find_locked(st_store *s, const char *ref, bool wait, st_container *c,
                       st_error **err) {
  if (st_container_find(s, ref, c, err) < 0)
    return -1;
  char id[ST_CONTAINER_ID_LEN];
  snprintf(id, sizeof(id), "%s", c->id);
  st_container_clear(c);
  st_error *e = NULL;
  if (st_container_lock(s, id, wait, &e) == 0) {
    if (find_fresh(s, id, c, &e) == 0)
      return 0;
    st_container_unlock(s, id);
  }
  if (e->code == ENOENT) { /* removed meanwhile: name it as the user did */
    st_error_free(e);
    return st_error_set(err, ENOENT, "No such container: %s", ref);
  }
  return st_error_give(err, e);
}

static int remove_container(st_store *s, const char *ref, bool force, bool wait,
                            bool anon_volumes, st_error **err) {
  st_container c;
  if (find_locked(s, ref, wait, &c, err) < 0)
    return -1;
  int r = 0;
  if (c.state == ST_CT_RUNNING && !force) {
    r = st_error_set(err, EBUSY,
                     "cannot remove container \"/%s\": container is %s: "
                     "stop the container before removing or force remove",
                     c.name, c.restarting ? "restarting" : "running");
    goto out;
  }
  if (c.state == ST_CT_RUNNING) {
    mark_user_stopped(s, &c); /* no restart of what is being removed */
    if (!c.restarting) {
      kill(c.pid, SIGKILL);
      thaw_paused(c.id, NULL);
      wait_gone(c.pid, c.pid_start, -1);
      st_container_refresh(s, &c);
    }
    if (c.state == ST_CT_RUNNING && c.restarting)
      end_restarting(s, &c);
  }
  r = remove_files(s, c.id, anon_volumes, err);
out:
  st_container_unlock(s, c.id);
  st_container_clear(&c);
  return r;
}

int st_container_remove(st_store *s, const char *ref, bool force,
                        st_error **err) {
  return remove_container(s, ref, force, true, false, err);
}

int st_container_remove_v(st_store *s, const char *ref, bool force,
                          bool anon_volumes, st_error **err) {
  return remove_container(s, ref, force, true, anon_volumes, err);
}

int st_container_remove_idle(st_store *s, const char *id, st_error **err) {
  return remove_container(s, id, false, false, false, err);
}

/* ---- run ---------------------------------------------------------------- */

static int start_detached(st_store *s, const char *cid, bool resume,
                          st_error **err);

/* An attached run exited and the container's policy restarts it: Docker's
 * `run` returns at the first exit while the daemon restarts the container;
 * here a detached monitor takes over, starting after the first back-off. */
static void restart_after_attached(st_store *s, const char *id, int status) {
  cleanup_free char *dir = st_container_dir(s, id);
  st_restart_policy p;
  int64_t backoff = 0;
  if (dir == NULL)
    return;
  st_restart_policy_load(dir, &p);
  if (!st_restart_decide(&p, status, 0, 0, st_user_stopped(dir), &backoff))
    return;
  st_container c;
  st_error *e = NULL;
  if (find_locked(s, id, true, &c, &e) < 0) {
    st_error_free(e);
    return;
  }
  if (c.state != ST_CT_RUNNING) { /* nobody started it meanwhile */
    st_mstate m = {.restart_count = 1,
                   .restarting = true,
                   .exit_code = status,
                   .finished = c.finished};
    st_mstate_write(dir, &m);
    if (start_detached(s, c.id, true, &e) < 0)
      st_error_free(e);
  }
  st_container_unlock(s, c.id);
  st_container_clear(&c);
}

int st_container_run(st_store *s, const char *id, int *status, st_error **err) {
  st_container c;
  if (find_locked(s, id, true, &c, err) < 0)
    return -1;
  int r = 0;
  if (c.state == ST_CT_RUNNING)
    r = st_error_set(err, EBUSY, "container %.12s is already running", c.id);
  else {
    cleanup_free char *dir = st_container_dir(s, c.id);
    /* --rm: the exit is not recorded, the row and files go at once. */
    st_io_mode mode = c.auto_remove ? ST_IO_ATTACHED_RM : ST_IO_ATTACHED;
    if (dir) /* a start by the user: a new count, no user stop */
      st_mstate_reset(dir);
    r = dir ? st_supervise(s, dir, c.id, mode, -1, status, err)
            : st_error_errno(err, ENOMEM, "run");
  }
  /* Released once running (run_launched); here when it never started. */
  st_container_unlock(s, c.id);
  if (r == 0 && !c.auto_remove && c.state != ST_CT_RUNNING)
    restart_after_attached(s, c.id, *status);
  if (c.auto_remove && (r == 0 || c.state != ST_CT_RUNNING)) {
    st_error *e = NULL;
    if (remove_files(s, c.id, true, &e) < 0)
      st_error_free(e);
  }
  st_container_clear(&c);
  return r;
}

/* The monitor: a new session, no store (SQLite must not be used across
 * fork), output to the log. Reports on ready: an st_ready once running,
 * else a code byte (125, 126, 127) and the message. */
static _Noreturn void monitor_main(const char *dir, const char *id, int ready,
                                   bool resume) {
  setsid();
  int null = open("/dev/null", O_RDWR);
  for (int i = 0; null >= 0 && i < 3; i++)
    dup2(null, i);
  if (dup2(ready, 3) < 0)
    _exit(125);
  syscall(SYS_close_range, 4, ~0U, 0);
  ready = 3;
  st_error *err = NULL;
  int status = 0;
  int r = resume ? st_supervise_resume(dir, id, ready, &status, &err)
                 : st_supervise(NULL, dir, id, ST_IO_LOG, ready, &status, &err);
  if (r < 0) {
    char code = (char)st_runtime_exit_code(err);
    if (fcntl(ready, F_GETFD) >= 0 && write(ready, &code, 1) == 1 && err)
      (void)!write(ready, err->msg, strlen(err->msg));
    _exit(125);
  }
  _exit(0);
}

static int read_ready(int rd, st_ready *out, st_error **err) {
  char buf[1100];
  ssize_t n, got = 0;
  while ((n = read(rd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
    got += n;
    if (buf[0] == '\0' && got >= (ssize_t)sizeof(*out))
      break;
  }
  if (got >= (ssize_t)sizeof(*out) && buf[0] == '\0') {
    memcpy(out, buf, sizeof(*out));
    return 0;
  }
  buf[got > 0 ? got : 0] = '\0';
  int code = got > 0 ? (unsigned char)buf[0] : 125;
  return st_error_set(err,
                      code == 127   ? ENOENT
                      : code == 126 ? EACCES
                                    : EIO,
                      "%s", got > 1 ? buf + 1 : "the container monitor failed");
}

int st_container_start_detached(st_store *s, const char *id, st_error **err) {
  st_container c;
  if (find_locked(s, id, true, &c, err) < 0)
    return -1;
  bool running = c.state == ST_CT_RUNNING;
  char cid[ST_CONTAINER_ID_LEN];
  snprintf(cid, sizeof(cid), "%s", c.id);
  st_container_clear(&c);
  /* Docker: starting a running container is a no-op */
  int r = running ? 0 : start_detached(s, cid, false, err);
  st_container_unlock(s, cid);
  return r;
}

/* resume: the container restarts after an attached run (state.json says
 * so); else a start by the user. */
static int start_detached(st_store *s, const char *cid, bool resume,
                          st_error **err) {
  cleanup_free char *dir = st_container_dir(s, cid), *exitf = NULL;
  int p[2];
  if (dir == NULL || asprintf(&exitf, "%s/exit", dir) < 0)
    return st_error_errno(err, ENOMEM, "start");
  unlink(exitf);
  if (!resume)
    st_mstate_reset(dir);
  if (st_flags_join_record(s, dir, err) < 0)
    return -1;
  if (pipe2(p, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    monitor_main(dir, cid, p[1], resume);
  }
  close(p[1]);
  cleanup_close int rd = p[0];
  if (pid < 0)
    return st_error_errno(err, errno, "fork the monitor");
  st_ready ready = {0};
  int r = read_ready(rd, &ready, err);
  waitpid(pid, NULL, WNOHANG);
  if (r < 0 || st_container_set_running(s, cid, ready.pid, ready.pid_start,
                                        ready.monitor, err) < 0)
    return -1;
  if (st_net_rules_container(s, dir, err) < 0) {
    kill(ready.pid, SIGKILL); /* its ports cannot be forwarded */
    return -1;
  }
  return 0;
}
