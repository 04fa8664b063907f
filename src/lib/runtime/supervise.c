/* The process that waits for a container: it launches the command, records
 * the container running, relays the terminal or the output to the log,
 * forwards signals to PID 1 and records the exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fmt/units.h"
#include "net/link.h"
#include "runtime/attach_sock.h"
#include "runtime/launch.h"
#include "runtime/logdriver.h"
#include "runtime/monitor.h"
#include "runtime/mounts.h"
#include "runtime/netrules.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_CLIENTS 4

typedef struct relay {
  st_io_mode mode;
  int sigfd;
  int master;      /* pty master, -1 without -t */
  int in;          /* our stdin relayed to the master, -1 when not */
  int out, err;    /* pipes from the container (log mode without -t) */
  int log;         /* the log file (log mode) */
  const char *dir; /* the container's directory (log rotation) */
  st_log_config logcfg;
  int64_t log_size; /* bytes in the current log file */
  pid_t pid;
  bool exited;
  int status;
  bool interrupt_kills; /* see st_create_opts.kill_on_interrupt */
  st_health *health;    /* its health check, or NULL */
  /* a detached container with open stdin: `attach` clients type into it */
  int listen;               /* the attach socket, or -1 */
  int clients[MAX_CLIENTS]; /* connected clients, -1 when free */
  int in_w;                 /* its stdin pipe without -t, else -1 */
  st_buf inq;               /* bytes for its stdin not written yet */
} relay;

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Appends one json-file record per line of buf. */
static void log_write(int fd, const char *stream, const char *buf, size_t len) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  cleanup_free char *time =
      st_format_rfc3339nano(ts.tv_sec, (int32_t)ts.tv_nsec);
  while (len > 0) {
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) + 1 : len;
    json_t *line = json_stringn(buf, n);
    if (line == NULL) { /* not UTF-8: keep the bytes readable */
      cleanup_free char *copy = strndup(buf, n);
      for (size_t i = 0; copy && i < n; i++)
        if ((unsigned char)copy[i] >= 0x80 || copy[i] == '\0')
          copy[i] = '?';
      line = json_stringn(copy ? copy : "", copy ? n : 0);
    }
    json_t *rec = json_pack("{s:o, s:s, s:s}", "log", line, "stream", stream,
                            "time", time ? time : "");
    cleanup_free char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (text) {
      size_t tl = strlen(text);
      text[tl] = '\n';
      if (write(fd, text, tl + 1) < 0)
        return;
    }
    buf += n;
    len -= n;
  }
}

/* Moves what is readable on *from; closes it at EOF or error. */
static void pump(relay *r, int *from, int to, const char *stream) {
  char buf[16384];
  ssize_t n = read(*from, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    close_fd(from);
    return;
  }
  if (r->mode == ST_IO_LOG) {
    if (st_log_rotate_if_full(r->dir, &r->logcfg, &r->log, &r->log_size,
                              (size_t)n) < 0)
      return;
    log_write(r->log, stream, buf, (size_t)n);
    struct stat st;
    if (r->logcfg.max_size > 0 && fstat(r->log, &st) == 0)
      r->log_size = st.st_size;
    return;
  }
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    off += w;
  }
}

static void on_signal(relay *r) {
  struct signalfd_siginfo si;
  while (read(r->sigfd, &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGCHLD) {
      int ws;
      if (!r->exited && waitpid(r->pid, &ws, WNOHANG) == r->pid) {
        r->exited = true;
        r->status = st_exit_status(ws);
      }
    } else if (si.ssi_signo == SIGWINCH) {
      struct winsize w;
      if (r->master >= 0 && ioctl(0, TIOCGWINSZ, &w) == 0)
        ioctl(r->master, TIOCSWINSZ, &w);
    } else if (!r->exited && r->interrupt_kills &&
               (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM ||
                si.ssi_signo == SIGHUP)) {
      kill(r->pid, SIGKILL);
    } else if (!r->exited) {
      kill(r->pid, (int)si.ssi_signo);
    }
  }
}

/* The health check's fds in the poll set (timer, probe result). */
static nfds_t add_health(relay *r, struct pollfd *p, int *kind, nfds_t n) {
  if (r->health == NULL || r->exited)
    return n;
  p[n] = (struct pollfd){st_health_timer_fd(r->health), POLLIN, 0};
  kind[n++] = 5;
  int res = st_health_result_fd(r->health);
  if (res >= 0) {
    p[n] = (struct pollfd){res, POLLIN, 0};
    kind[n++] = 6;
  }
  return n;
}

/* ---- attach clients ------------------------------------------------------ */

/* Where a client's bytes go: the pty, or the stdin pipe. */
static int stdin_target(const relay *r) {
  return r->master >= 0 ? r->master : r->in_w;
}

static void client_accept(relay *r) {
  int fd = accept4(r->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (r->clients[i] < 0) {
      r->clients[i] = fd;
      return;
    }
  close(fd); /* full: the client sees its input refused */
}

/* One message from client i: stdin bytes are queued (written when the
 * target can take them), a window size applied to the pty. */
static void client_read(relay *r, int i) {
  static char msg[ST_ATTACH_MAX_MSG + 1];
  ssize_t n = recv(r->clients[i], msg, sizeof(msg), 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    close_fd(&r->clients[i]);
    return;
  }
  if (msg[0] == ST_ATTACH_DATA && stdin_target(r) >= 0)
    st_buf_append(&r->inq, msg + 1, (size_t)n - 1);
  else if (msg[0] == ST_ATTACH_RESIZE && r->master >= 0 &&
           (size_t)n == 1 + sizeof(struct winsize))
    ioctl(r->master, TIOCSWINSZ, msg + 1);
}

/* Writes what the target takes of the queue without blocking: a container
 * that does not read its stdin must not stop its output being logged. */
static void stdin_flush(relay *r) {
  int fd = stdin_target(r);
  if (fd < 0) {
    r->inq.len = 0;
    return;
  }
  ssize_t w = write(fd, r->inq.data, r->inq.len);
  if (w < 0 && errno != EAGAIN && errno != EINTR)
    r->inq.len = 0; /* the container closed its stdin */
  if (w <= 0)
    return;
  memmove(r->inq.data, r->inq.data + w, r->inq.len - (size_t)w);
  r->inq.len -= (size_t)w;
}

/* The attach socket and its clients in the poll set: clients are read
 * only while the queue is empty, so a fast typist waits in the socket. */
static nfds_t add_attach(relay *r, struct pollfd *p, int *kind, nfds_t n) {
  if (r->listen < 0 || r->exited)
    return n;
  p[n] = (struct pollfd){r->listen, POLLIN, 0};
  kind[n++] = 7;
  if (r->inq.len > 0) {
    int t = stdin_target(r);
    p[n] = (struct pollfd){t, POLLOUT, 0};
    kind[n++] = 8;
    return n;
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (r->clients[i] >= 0) {
      p[n] = (struct pollfd){r->clients[i], POLLIN, 0};
      kind[n++] = 9 + i;
    }
  return n;
}

static void relay_loop(relay *r) {
  while (!r->exited || r->master >= 0 || r->out >= 0 || r->err >= 0) {
    struct pollfd p[16];
    int kind[16];
    nfds_t n = 0;
    int *fds[] = {&r->sigfd, &r->master, &r->in, &r->out, &r->err};
    for (size_t i = 0; i < 5; i++)
      if (*fds[i] >= 0 && !(i == 0 && r->exited)) {
        p[n] = (struct pollfd){*fds[i], POLLIN, 0};
        kind[n++] = (int)i;
      }
    n = add_health(r, p, kind, n);
    n = add_attach(r, p, kind, n);
    int k = poll(p, n, r->exited ? 100 : -1);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break; /* exited and nothing more to read */
    for (nfds_t i = 0; i < n; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      if (kind[i] == 0)
        on_signal(r);
      else if (kind[i] == 1)
        pump(r, &r->master, 1, "stdout");
      else if (kind[i] == 2)
        pump(r, &r->in, r->master, "stdin");
      else if (kind[i] == 3)
        pump(r, &r->out, 1, "stdout");
      else if (kind[i] == 4)
        pump(r, &r->err, 2, "stderr");
      else if (kind[i] == 5 && !r->exited)
        st_health_tick(r->health);
      else if (kind[i] == 6 && r->health)
        st_health_collect(r->health);
      else if (kind[i] == 7)
        client_accept(r);
      else if (kind[i] == 8)
        stdin_flush(r);
      else if (kind[i] >= 9)
        client_read(r, kind[i] - 9);
    }
    if (r->inq.len > 0)
      stdin_flush(r);
  }
  if (!r->exited) {
    int ws;
    while (waitpid(r->pid, &ws, 0) < 0 && errno == EINTR)
      ;
    r->status = st_exit_status(ws);
    r->exited = true;
  }
}

/* ---- setting up the io -------------------------------------------------- */

typedef struct io {
  int child[3]; /* given to the child */
  int out_rd, err_rd;
  int log;
  int in_w; /* -di: the write end of the child's stdin pipe */
} io;

static void io_close(io *x) {
  for (int i = 0; i < 3; i++)
    close_fd(&x->child[i]);
  close_fd(&x->out_rd);
  close_fd(&x->err_rd);
  close_fd(&x->log);
  close_fd(&x->in_w);
}

static int io_prepare(const char *dir, const st_spec *spec, bool interactive,
                      st_io_mode mode, io *x, st_error **err) {
  *x = (io){{-1, -1, -1}, -1, -1, -1, -1};
  if (mode != ST_IO_LOG) {
    if (!interactive && !spec->terminal)
      x->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return 0;
  }
  cleanup_free char *path = NULL;
  st_log_config cfg;
  st_log_config_load(dir, &cfg);
  if (cfg.none)
    path = strdup("/dev/null"); /* --log-driver none keeps nothing */
  else if (asprintf(&path, "%s/container.log", dir) < 0)
    path = NULL;
  x->log =
      path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  if (x->log < 0)
    return st_error_errno(err, errno, "open the container log");
  if (spec->terminal)
    return 0;        /* stdin is the pty's */
  if (interactive) { /* -di: a pipe that attach clients write to */
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0)
      return st_error_errno(err, errno, "pipe");
    x->child[0] = in[0], x->in_w = in[1];
    fcntl(x->in_w, F_SETFL, O_NONBLOCK);
  } else {
    x->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (x->child[0] < 0)
      return st_error_errno(err, errno, "open /dev/null");
  }
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  if (pipe2(e, O_CLOEXEC) < 0) {
    close(o[0]);
    close(o[1]);
    return st_error_errno(err, errno, "pipe");
  }
  x->out_rd = o[0], x->child[1] = o[1];
  x->err_rd = e[0], x->child[2] = e[1];
  return 0;
}

static void raw_mode(struct termios *saved, bool *changed) {
  *changed = false;
  if (!isatty(0) || tcgetattr(0, saved) < 0)
    return;
  struct termios raw = *saved;
  cfmakeraw(&raw);
  *changed = tcsetattr(0, TCSANOW, &raw) == 0;
}

static int run_launched(st_store *s, const char *id, const char *dir,
                        st_launch *l, io *x, st_io_mode mode, int ready,
                        st_health *health, int *status, st_error **err) {
  relay r = {.mode = mode,
             .sigfd = -1,
             .master = l->master,
             .in = -1,
             .out = x->out_rd,
             .err = x->err_rd,
             .log = x->log,
             .dir = dir,
             .pid = l->pid,
             .interrupt_kills = l->spec->interrupt_kills,
             .health = health,
             .listen = -1,
             .clients = {-1, -1, -1, -1},
             .in_w = x->in_w,
             .inq = ST_BUF_INIT};
  x->out_rd = x->err_rd = x->in_w = -1;
  if (mode == ST_IO_LOG && st_attach_wanted(dir)) {
    st_error *ae = NULL;
    r.listen = st_attach_listen(dir, &ae);
    st_error_free(ae); /* the container runs; attach relays no input */
    if (r.master >= 0)
      fcntl(r.master, F_SETFL, O_NONBLOCK);
  }
  st_log_config_load(dir, &r.logcfg);
  struct stat lst;
  if (r.log >= 0 && fstat(r.log, &lst) == 0)
    r.log_size = lst.st_size;
  sigset_t set;
  sigprocmask(SIG_BLOCK, NULL, &set);
  r.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  st_ready rd = {0, l->pid, getpid(), st_pid_start_time(l->pid)};
  if (s && st_container_set_running(s, id, rd.pid, rd.pid_start, rd.monitor,
                                    err) < 0)
    kill(l->pid, SIGKILL);
  if (s) /* running is recorded: a prune skips it now */
    st_container_unlock(s, id);
  st_error *ne = NULL;
  if (s && st_net_rules_container(s, dir, &ne) < 0)
    kill(l->pid, SIGKILL); /* its ports cannot be forwarded */
  if (ready >= 0) {
    if (write(ready, &rd, sizeof(rd)) < 0)
      ready = -1;
    close(ready); /* the caller of `run -d` may go now */
  }
  struct termios saved;
  bool raw = false;
  if (mode != ST_IO_LOG && r.master >= 0) {
    if (st_attach_wanted(dir))
      r.in = 0;
    raw_mode(&saved, &raw);
  }
  relay_loop(&r);
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
  if (r.listen >= 0) {
    cleanup_free char *sock = NULL;
    if (asprintf(&sock, "%s/%s", dir, ST_ATTACH_SOCK) > 0)
      unlink(sock);
    close_fd(&r.listen);
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    close_fd(&r.clients[i]);
  close_fd(&r.in_w);
  st_buf_free(&r.inq);
  close_fd(&r.sigfd);
  close_fd(&r.master);
  *status = r.status;
  if (ne) {
    return st_error_give(err, ne);
  }
  return 0;
}

static int forward_mask(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  const int sigs[] = {SIGCHLD, SIGINT,  SIGTERM, SIGHUP,
                      SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaddset(&set, sigs[i]);
  return sigprocmask(SIG_BLOCK, &set, old);
}

/* <dir>/exit: "<code> <finished unix ns>", written atomically. */
static void write_exit_file(const char *dir, int status, int64_t ended) {
  cleanup_free char *path = NULL, *text = NULL;
  if (asprintf(&path, "%s/exit", dir) < 0 ||
      asprintf(&text, "%d %lld\n", status, (long long)ended) < 0)
    return;
  st_error *e = NULL;
  if (st_write_file_atomic(path, text, strlen(text), &e) < 0)
    st_error_free(e);
}

/* <root>/<sub> for the bundle <root>/containers/<id>. */
char *st_runtime_store_path(const char *dir, const char *sub) {
  cleanup_free char *root = strdup(dir);
  char *slash = root ? strrchr(root, '/') : NULL;
  if (slash)
    *slash = '\0';
  slash = root ? strrchr(root, '/') : NULL;
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  char *p = NULL;
  if (asprintf(&p, "%s/%s", root, sub) < 0)
    return NULL;
  return p;
}

static int launch(st_launch *l, const char *dir, const char *id,
                  st_error **err) {
  if (l->spec->runtime)
    return st_oci_runtime_start(l, dir, id, err);
  return st_launch_start(l, err);
}

/* One run of the container: launch, relay until it exits. started and
 * ended get when it started and exited (unix ns). */
typedef struct monitor_run {
  st_mstate m;
  bool write; /* keep state.json up to date (a restart policy, a health
               * check or a restart happened) */
  int64_t backoff_ms;
  sigset_t child_mask; /* the mask before ours: the command's */
} monitor_run;

typedef struct one_run {
  st_io_mode mode;
  int ready; /* -1 after the first run */
  monitor_run *ms;
  int64_t started, ended;
} one_run;

static int run_once(st_store *s, const char *dir, const char *id, st_spec *spec,
                    one_run *o, int *status, st_error **err) {
  io x;
  int r = io_prepare(dir, spec, st_attach_wanted(dir), o->mode, &x, err);
  cleanup_free char *cache = st_runtime_store_path(dir, "cache/seccomp");
  st_cgroup cg;
  memset(&cg, 0, sizeof(cg));
  st_launch l = {.spec = spec,
                 .master = -1,
                 .pid = -1,
                 .cache_dir = cache,
                 .cgroup = &cg,
                 .die_with_parent = o->mode == ST_IO_LOG};
  for (size_t i = 0; i < ST_JOIN_N; i++)
    l.join[i] = -1;
  if (r == 0 && spec->volume_mounts)
    r = st_volume_host_mounts(spec->volume_mounts, err);
  if (r == 0)
    r = st_flags_join_open(s, dir, spec, l.join, err);
  if (r == 0)
    r = st_flags_shm_mount(dir, spec, err);
  if (r == 0 && !spec->runtime)
    r = st_cgroup_create(spec, &cg, err);
  if (r == 0 && !spec->runtime)
    r = st_launch_net_load(dir, id, &l.net, err);
  for (size_t i = 0; r == 0 && i < l.net.n_ep; i++)
    r = st_launch_ep_bridge(&l.net.ep[i], err);
  if (r == 0 && l.net.on)
    r = st_launch_ports_reserve(dir, &l.net, err);
  if (r == 0) {
    memcpy(l.stdio, x.child, sizeof(l.stdio));
    if (spec->terminal && ioctl(0, TIOCGWINSZ, &l.winsize) < 0)
      memset(&l.winsize, 0, sizeof(l.winsize));
    l.child_mask = o->ms->child_mask;
    r = launch(&l, dir, id, err);
    for (int i = 0; i < 3; i++)
      close_fd(&x.child[i]);
    o->started = st_now_ns();
    st_health *health = NULL;
    if (r == 0) {
      monitor_run *m = o->ms;
      m->m.pid = l.pid;
      m->m.monitor = getpid();
      m->m.pid_start = st_pid_start_time(l.pid);
      m->m.started = o->started;
      m->m.restarting = false;
      /* writes state.json when the container has a health check */
      health =
          st_health_new(dir, spec, l.pid, o->started, &m->m, &m->child_mask);
      m->write = m->write || health != NULL;
      if (health == NULL && m->write)
        st_mstate_write(dir, &m->m);
    }
    if (r == 0)
      r = run_launched(s, id, dir, &l, &x, o->mode, o->ready, health, status,
                       err);
    st_health_free(health);
    o->ended = st_now_ns(); /* when it exited: before the clean-up below */
    if (r == 0 && spec->runtime)
      st_oci_runtime_delete(dir, id, spec);
  }
  for (size_t i = 0; i < ST_JOIN_N; i++)
    close_fd(&l.join[i]);
  st_flags_shm_release(dir);
  st_launch_net_release(dir, &l.net);
  st_cgroup_remove(&cg);
  io_close(&x);
  free(l.seccomp.filter);
  return r;
}

/* Waits ms milliseconds before a restart; false when a signal to stop
 * (TERM, INT, HUP, QUIT: `stop`, `kill` of a restarting container) came
 * first. poll's timeout is the timer: no busy loop. */
static bool backoff_wait(int64_t ms) {
  sigset_t set;
  sigprocmask(SIG_BLOCK, NULL, &set);
  cleanup_close int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int64_t deadline = st_now_ns() + ms * 1000000;
  for (;;) {
    int64_t left = (deadline - st_now_ns()) / 1000000;
    if (left <= 0)
      return true;
    struct pollfd p = {sigfd, POLLIN, 0};
    int k = poll(&p, sigfd >= 0 ? 1 : 0, (int)left);
    if (k <= 0)
      continue;
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof(si)) == sizeof(si))
      if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT ||
          si.ssi_signo == SIGHUP || si.ssi_signo == SIGQUIT)
        return false;
  }
}

/* After an exit: whether to run it again (policy from config.json, read
 * now so that `update --restart` applies), recording the wait. */
static bool restart_due(const char *dir, monitor_run *m, int status,
                        int64_t ran_ns) {
  st_restart_policy p;
  st_restart_policy_load(dir, &p);
  if (!st_restart_decide(&p, status, ran_ns, m->m.restart_count,
                         st_user_stopped(dir), &m->backoff_ms))
    return false;
  m->m.restart_count++;
  m->m.restarting = true;
  m->m.pid = 0;
  m->m.pid_start = 0;
  m->m.exit_code = status;
  m->m.finished = st_now_ns();
  json_decref(m->m.health); /* a new process starts without a verdict */
  m->m.health = NULL;
  st_mstate_write(dir, &m->m);
  m->write = true;
  return backoff_wait(m->backoff_ms) && !st_user_stopped(dir);
}

/* Resuming (an attached run's container restarts in a new monitor): the
 * monitor is ready once it holds its lock; the first start comes after
 * the first back-off, unless `stop` came first. */
static bool resume_wait(const char *dir, monitor_run *m, one_run *o, int ready,
                        int *status) {
  st_mstate_clear(&m->m);
  st_mstate_read(dir, &m->m);
  m->write = true;
  m->backoff_ms = 100;
  st_ready rd = {0, 0, getpid(), 0};
  if (write(ready, &rd, sizeof(rd)) < 0)
    ready = -1;
  close(ready);
  o->ready = -1;
  *status = m->m.exit_code;
  o->started = o->ended = m->m.finished;
  return backoff_wait(m->backoff_ms) && !st_user_stopped(dir);
}

static int supervise(st_store *s, const char *dir, const char *id,
                     st_io_mode mode, int ready, bool resume, int *status,
                     st_error **err) {
  st_spec spec;
  if (st_spec_load(dir, &spec, err) < 0)
    return -1;
  /* A detached monitor holds it until it ends: `ps` tells a dead monitor
   * by it. An attached `run` does not: killing it leaves its container
   * running, recorded by the next command once it exits (as Docker's
   * container outlives a killed client). */
  cleanup_close int lock = mode == ST_IO_LOG ? st_monitor_lock(dir) : -1;
  monitor_run m = {.write = false};
  forward_mask(&m.child_mask);
  /* a detached monitor always says what it launched: the command that
   * started it records the container as running, and when that command
   * is killed first, the next one finds the container by state.json */
  m.write = mode == ST_IO_LOG;
  one_run o = {.mode = mode, .ready = ready, .ms = &m};
  int r = 0;
  bool again;
  if (resume) {
    again = resume_wait(dir, &m, &o, ready, status);
  } else {
    r = run_once(s, dir, id, &spec, &o, status, err);
    /* Only a detached monitor restarts (an attached run ends with the
     * first exit, as `docker run` does; st_container_run hands the
     * restarts to a detached monitor). */
    again = r == 0 && mode == ST_IO_LOG &&
            restart_due(dir, &m, *status, o.ended - o.started);
  }
  /* A restart that cannot launch counts as an exit with Docker's code for
   * the failure. */
  while (again) {
    o.ready = -1;
    st_error *e = NULL;
    if (run_once(s, dir, id, &spec, &o, status, &e) < 0) {
      *status = st_runtime_exit_code(e);
      o.started = o.ended = st_now_ns();
      st_error_free(e);
    }
    again = restart_due(dir, &m, *status, o.ended - o.started);
  }
  sigprocmask(SIG_SETMASK, &m.child_mask, NULL);
  st_spec_clear(&spec);
  int64_t ended = o.ended;
  (void)lock;
  if (r == 0 && m.write) { /* keeps RestartCount for inspect */
    m.m.restarting = false;
    m.m.pid = 0;
    m.m.exit_code = *status;
    m.m.finished = ended;
    st_mstate_write(dir, &m.m);
  }
  st_mstate_clear(&m.m);
  if (r < 0)
    return -1;
  st_error *e2 = NULL;
  if (s == NULL)
    write_exit_file(dir, *status, ended);
  else if (mode != ST_IO_ATTACHED_RM &&
           st_container_set_exited(s, id, *status, ended, &e2) < 0)
    st_error_free(e2);
  e2 = NULL;
  if (s && st_ct_publishes(dir) && st_net_rules_rebuild(s, &e2) < 0)
    st_error_free(e2); /* a rule to a stopped container is harmless */
  return 0;
}

int st_supervise(st_store *s, const char *dir, const char *id, st_io_mode mode,
                 int ready, int *status, st_error **err) {
  return supervise(s, dir, id, mode, ready, false, status, err);
}

int st_supervise_resume(const char *dir, const char *id, int ready, int *status,
                        st_error **err) {
  return supervise(NULL, dir, id, ST_IO_LOG, ready, true, status, err);
}
