/* `exec`: a new process in a running container. The caller joins the
 * container's PID namespace for its children (setns), forks, and the child
 * joins the IPC, UTS, network and mount namespaces of the container's
 * PID 1 (the mount namespace last: it moves the root and working directory
 * to the container's), its cgroup, then takes the container's user,
 * capabilities, no_new_privs and seccomp filter (compiled here, before the
 * fork: libseccomp is loaded lazily and cannot be loaded from inside the
 * container) and execs. Failures before exec come back on a close-on-exec
 * pipe with Docker's exit code (125, 126, 127), as for `run`. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "layer/backend.h"
#include "runtime/launch.h"
#include "runtime/manage_internal.h"
#include "runtime/monitor.h"
#include "util/buf.h"
#include "util/cleanup.h"

typedef struct exec_fail {
  int code;
  char msg[1020];
} exec_fail;

#define EXEC_CGROUPS 8

typedef struct exec_plan {
  char **env; /* NULL-terminated, heap */
  const char *cwd;
  st_user user;
  bool has_user;
  uint64_t caps;
  bool no_new_privs;
  struct sock_fprog seccomp;
  int ns[4];                /* ipc, uts, net, mnt of PID 1 */
  int cgroup[EXEC_CGROUPS]; /* cgroup.procs of its cgroups, -1 unused */
  int slave;                /* pty slave with -t, else -1 */
  int stdin_fd;             /* /dev/null without -i, else -1 */
  int out_fd; /* /dev/null for stdout and stderr with -d, else -1 */
  int errfd;  /* the child's end of the failure pipe */
  char *const *argv;
  sigset_t mask; /* the signal mask the command starts with */
} exec_plan;

static _Noreturn void fail(const exec_plan *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void fail(const exec_plan *p, int code, const char *fmt, ...) {
  exec_fail f = {.code = code};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
  va_end(ap);
  if (write(p->errfd, &f, sizeof(f)) < 0)
    _exit(code);
  _exit(code);
}

static const char *env_get(char **env, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; env[i]; i++)
    if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

/* Looks the command up in the container's PATH and execs it. */
static _Noreturn void exec_cmd(const exec_plan *p) {
  const char *cmd = p->argv[0];
  if (strchr(cmd, '/')) {
    execve(cmd, p->argv, p->env);
    int e = errno;
    if (e == ENOENT)
      fail(p, 127, "exec: \"%s\": stat %s: no such file or directory", cmd,
           cmd);
    fail(p, 126, "exec: \"%s\": %s", cmd, strerror(e));
  }
  const char *path = env_get(p->env, "PATH");
  char dirs[4096];
  snprintf(dirs, sizeof(dirs), "%s", path ? path : ST_DEFAULT_PATH);
  int denied = 0;
  for (char *d = dirs, *c; d; d = c) {
    c = strchr(d, ':');
    if (c)
      *c++ = '\0';
    char full[8200];
    if (snprintf(full, sizeof(full), "%s/%s", *d ? d : ".", cmd) >=
        (int)sizeof(full))
      continue;
    execve(full, p->argv, p->env);
    if (errno == EACCES || errno == ENOEXEC || errno == EPERM)
      denied = errno;
  }
  if (denied)
    fail(p, 126, "exec: \"%s\": %s", cmd, strerror(denied));
  fail(p, 127, "exec: \"%s\": executable file not found in $PATH", cmd);
}

static _Noreturn void child_main(const exec_plan *p) {
  static const char *const names[] = {"ipc", "uts", "net", "mnt"};
  sigprocmask(SIG_SETMASK, &p->mask, NULL);
  for (int i = 0; i < EXEC_CGROUPS; i++)
    if (p->cgroup[i] >= 0 && write(p->cgroup[i], "0", 1) < 0)
      fail(p, 125, "join the container's cgroup: %s", strerror(errno));
  for (size_t i = 0; i < 4; i++)
    if (setns(p->ns[i], 0) < 0)
      fail(p, 125, "join the container's %s namespace: %s", names[i],
           strerror(errno));
  if (p->slave >= 0) {
    if (setsid() < 0 || ioctl(p->slave, TIOCSCTTY, 0) < 0)
      fail(p, 125, "controlling terminal: %s", strerror(errno));
    for (int i = 0; i < 3; i++)
      if (dup2(p->slave, i) < 0)
        fail(p, 125, "terminal stdio: %s", strerror(errno));
  } else if (p->stdin_fd >= 0 && dup2(p->stdin_fd, 0) < 0) {
    fail(p, 125, "stdin: %s", strerror(errno));
  }
  if (p->out_fd >= 0 &&
      (setsid() < 0 || dup2(p->out_fd, 1) < 0 || dup2(p->out_fd, 2) < 0))
    fail(p, 125, "detach: %s", strerror(errno));
  if (chdir(p->cwd) < 0)
    fail(p, 125, "chdir to cwd (\"%s\") set in config.json failed: %s", p->cwd,
         strerror(errno));
  st_error *err = NULL;
  if (st_caps_drop_bounding(p->caps, &err) < 0)
    fail(p, 125, "%s", err->msg);
  if (p->has_user && (setgroups(p->user.n_groups, p->user.groups) < 0 ||
                      setresgid(p->user.gid, p->user.gid, p->user.gid) < 0 ||
                      setresuid(p->user.uid, p->user.uid, p->user.uid) < 0))
    fail(p, 125, "set user: %s", strerror(errno));
  bool root = !p->has_user || p->user.uid == 0;
  if (root && st_caps_set(p->caps, &err) < 0)
    fail(p, 125, "%s", err->msg);
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail(p, 125, "no_new_privs: %s", strerror(errno));
  if (p->seccomp.len && st_seccomp_install(&p->seccomp, &err) < 0)
    fail(p, 125, "%s", err->msg);
  exec_cmd(p);
}

/* ---- preparing ------------------------------------------------------------
 */

/* The container's environment with the -e entries over it. */
static char **build_env(const st_spec *spec, const st_exec_opts *o) {
  size_t n = 0;
  while (spec->env[n])
    n++;
  char **env = calloc(n + o->n_env + 2, sizeof(char *));
  if (env == NULL)
    return NULL;
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    env[len++] = strdup(spec->env[i]);
  for (size_t i = 0; i < o->n_env + (o->tty ? 1 : 0); i++) {
    const char *e = i < o->n_env ? o->env[i] : "TERM=xterm";
    char *kv = NULL;
    if (strchr(e, '=')) {
      kv = strdup(e);
    } else if (getenv(e) == NULL || asprintf(&kv, "%s=%s", e, getenv(e)) < 0) {
      continue;
    }
    size_t k = (size_t)(strchr(kv, '=') - kv);
    size_t j = 0;
    while (j < len && !(env[j] && strncmp(env[j], kv, k + 1) == 0))
      j++;
    if (j < len && i >= o->n_env) { /* TERM the container already has */
      free(kv);
      continue;
    }
    if (j < len)
      free(env[j]);
    env[j] = kv;
    if (j == len)
      len++;
  }
  for (size_t i = 0; i < len; i++)
    if (env[i] == NULL) {
      for (size_t j = 0; j < len; j++)
        free(env[j]);
      free(env);
      return NULL;
    }
  return env;
}

static int open_ns(pid_t pid, exec_plan *p, int *pidns, st_error **err) {
  static const char *const names[] = {"ipc", "uts", "net", "mnt"};
  char path[64];
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, names[i]);
    if ((p->ns[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0)
      return st_error_errno(err, errno, "open %s", path);
  }
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
  if ((*pidns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
    return st_error_errno(err, errno, "open %s", path);
  return 0;
}

/* cgroup.procs of each of PID 1's own cgroups (its limits: strata/<id>),
 * in every hierarchy, v1 ones on a hybrid host included, so that an exec'd
 * process is held to the same limits; the rest of out stays -1. */
static void open_cgroups(pid_t pid, int *out) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  cleanup_file FILE *f = fopen(path, "re");
  char line[4096];
  int n = 0;
  while (f && n < EXEC_CGROUPS && fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\n")] = '\0';
    char *ctrls = strchr(line, ':');
    char *cg = ctrls ? strchr(ctrls + 1, ':') : NULL;
    if (cg == NULL || strstr(cg, "/strata/") == NULL)
      continue; /* not a cgroup of its own */
    *cg++ = '\0';
    ctrls++;
    cleanup_free char *procs = NULL;
    int r;
    if (*ctrls == '\0') /* v2: the unified mount, whole or hybrid */
      r = asprintf(&procs, "/sys/fs/cgroup%s%s/cgroup.procs",
                   access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
                       ? ""
                       : "/unified",
                   cg);
    else if (strncmp(ctrls, "name=", 5) == 0)
      continue;
    else /* v1: the hierarchy named by its first controller */
      r = asprintf(&procs, "/sys/fs/cgroup/%.*s%s/cgroup.procs",
                   (int)strcspn(ctrls, ","), ctrls, cg);
    if (r < 0)
      return;
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
      out[n++] = fd;
  }
}

static int resolve_user(const st_ct *ct, const char *user, exec_plan *p,
                        st_error **err) {
  if (user == NULL || *user == '\0')
    return 0;
  size_t n = 0;
  while (ct->spec.lower && ct->spec.lower[n])
    n++;
  cleanup_free char **dirs = calloc(n + 2, sizeof(char *));
  if (dirs == NULL)
    return st_error_errno(err, ENOMEM, "exec");
  st_lower_view view;
  if (st_lower_view_open(ct->spec.lower, n, &view, err) < 0)
    return -1;
  dirs[0] = ct->spec.upper;
  for (size_t i = 0; i < n; i++)
    dirs[i + 1] = view.path[i];
  int ur = st_user_resolve(dirs, n + 1, user, &p->user, err);
  st_lower_view_close(&view);
  if (ur < 0)
    return -1;
  p->has_user = true;
  return 0;
}

static void plan_clear(exec_plan *p) {
  for (size_t i = 0; p->env && p->env[i]; i++)
    free(p->env[i]);
  free(p->env);
  st_user_clear(&p->user);
  free(p->seccomp.filter);
  for (size_t i = 0; i < 4; i++)
    if (p->ns[i] >= 0)
      close(p->ns[i]);
  for (int i = 0; i < EXEC_CGROUPS; i++)
    if (p->cgroup[i] >= 0)
      close(p->cgroup[i]);
  if (p->slave >= 0)
    close(p->slave);
  if (p->stdin_fd >= 0)
    close(p->stdin_fd);
  if (p->out_fd >= 0)
    close(p->out_fd);
}

static int prepare(const st_ct *ct, const st_exec_opts *o, exec_plan *p,
                   int *pidns, st_error **err) {
  const st_spec *spec = &ct->spec;
  p->argv = o->argv;
  p->cwd = o->workdir && *o->workdir ? o->workdir : spec->cwd;
  p->caps = o->privileged ? st_caps_all() : spec->caps;
  p->no_new_privs = spec->no_new_privs && !o->privileged;
  if ((p->env = build_env(spec, o)) == NULL)
    return st_error_errno(err, ENOMEM, "exec");
  if (resolve_user(ct, o->user, p, err) < 0)
    return -1;
  if (!o->privileged && spec->seccomp &&
      st_seccomp_compile(spec->seccomp, &p->seccomp, err) < 0)
    return -1;
  if (open_ns(ct->c.pid, p, pidns, err) < 0)
    return -1;
  open_cgroups(ct->c.pid, p->cgroup);
  if ((o->detach || (!o->interactive && !o->tty)) &&
      (p->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
    return st_error_errno(err, errno, "open /dev/null");
  if (o->detach && (p->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
    return st_error_errno(err, errno, "open /dev/null");
  return 0;
}

/* ---- running --------------------------------------------------------------
 */

static int open_pty(int *master, int *slave, st_error **err) {
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0)
    return st_error_errno(err, errno, "open a pseudo-terminal");
  char name[128];
  if (ptsname_r(*master, name, sizeof(name)) != 0 ||
      (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
    return st_error_errno(err, errno, "open the terminal");
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) == 0)
    ioctl(*master, TIOCSWINSZ, &ws);
  return 0;
}

static bool copy_some(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0)
    return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    off += w;
  }
  return true;
}

/* What the relay does with a signal strata received: SIGWINCH copies our
 * window size to the pty, the others go to the command. */
static void on_signals(int sigfd, int master, pid_t pid) {
  struct signalfd_siginfo si;
  while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
    struct winsize w;
    if (si.ssi_signo == SIGWINCH) {
      if (ioctl(0, TIOCGWINSZ, &w) == 0)
        ioctl(master, TIOCSWINSZ, &w);
    } else {
      kill(pid, (int)si.ssi_signo);
    }
  }
}

/* Relays our terminal and the pty until the command's side closes, and
 * the signals of sigfd (-1: none) meanwhile. */
static void relay_tty(int master, bool interactive, int sigfd, pid_t pid) {
  struct termios saved, raw;
  bool restore = isatty(0) && tcgetattr(0, &saved) == 0;
  if (restore) {
    raw = saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
  }
  int in = interactive ? 0 : -1;
  for (;;) {
    struct pollfd p[3] = {
        {master, POLLIN, 0}, {sigfd, POLLIN, 0}, {in, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents && !copy_some(master, 1))
      break;
    if (p[1].revents)
      on_signals(sigfd, master, pid);
    if (in >= 0 && p[2].revents && !copy_some(0, master))
      in = -1;
  }
  if (restore)
    tcsetattr(0, TCSANOW, &saved);
}

/* Blocks the signals `exec -t` relays (the child restores *old). */
static void block_relayed(sigset_t *old) {
  sigset_t set;
  sigemptyset(&set);
  const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                      SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaddset(&set, sigs[i]);
  sigprocmask(SIG_BLOCK, &set, old);
}

static int await_exec(int rd, pid_t pid, st_error **err) {
  exec_fail f;
  ssize_t n;
  do
    n = read(rd, &f, sizeof(f));
  while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  waitpid(pid, NULL, 0);
  if (n != (ssize_t)sizeof(f))
    return st_error_set(err, EIO, "exec setup failed");
  f.msg[sizeof(f.msg) - 1] = '\0';
  return st_error_set(err,
                      f.code == 127   ? ENOENT
                      : f.code == 126 ? EACCES
                                      : EIO,
                      "%s", f.msg);
}

/* Forks the command into the container (the caller's pid namespace is
 * left as it was) and waits until it has exec'd; *pid gets it. */
static int start_child(exec_plan *p, int pidns, pid_t *pid, st_error **err) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  cleanup_close int rd = pipefd[0];
  p->errfd = pipefd[1];
  /* Only the child is to live in the container's PID namespace: the
   * parent goes back to its own right after the fork, so that any task it
   * makes later (threads of sanitizers, helpers) is not created in there. */
  cleanup_close int own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (own_pidns < 0 || setns(pidns, CLONE_NEWPID) < 0) {
    close(pipefd[1]);
    return st_error_errno(err, errno, "join the container's pid namespace");
  }
  /* Until it execs, the child is this binary, visible to the container's
   * processes: not dumpable, its /proc/<pid>/exe (the host's strata
   * binary) cannot be opened or read by them. */
  fflush(NULL);
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  *pid = fork();
  if (*pid == 0)
    child_main(p);
  if (dumpable > 0)
    prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  setns(own_pidns, CLONE_NEWPID);
  close(pipefd[1]);
  if (*pid < 0)
    return st_error_errno(err, errno, "fork");
  if (p->slave >= 0) {
    close(p->slave);
    p->slave = -1;
  }
  return await_exec(rd, *pid, err);
}

static int launch(exec_plan *p, int pidns, const st_exec_opts *o, int *status,
                  st_error **err) {
  cleanup_close int master = -1;
  if (o->tty && !o->detach && open_pty(&master, &p->slave, err) < 0)
    return -1;
  pid_t pid;
  if (start_child(p, pidns, &pid, err) < 0)
    return -1;
  if (o->detach) {
    /* Left running: when strata exits, the container's PID 1 inherits it,
     * as it lives in the container's PID namespace. */
    *status = 0;
    return 0;
  }
  if (master >= 0) {
    sigset_t relayed;
    sigprocmask(SIG_BLOCK, NULL, &relayed);
    cleanup_close int sigfd =
        signalfd(-1, &relayed, SFD_CLOEXEC | SFD_NONBLOCK);
    relay_tty(master, o->interactive, sigfd, pid);
  }
  int ws;
  while (waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR)
      return st_error_errno(err, errno, "wait for the exec'd process");
  *status = st_exit_status(ws);
  return 0;
}

int st_container_exec(st_store *s, const char *ref, const st_exec_opts *o,
                      int *status, st_error **err) {
  if (o->argv == NULL || o->argv[0] == NULL)
    return st_error_set(err, EINVAL, "no command specified");
  st_ct ct;
  if (st_ct_open(s, ref, &ct, err) < 0)
    return -1;
  exec_plan p = {.ns = {-1, -1, -1, -1},
                 .cgroup = {-1, -1, -1, -1, -1, -1, -1, -1},
                 .slave = -1,
                 .stdin_fd = -1,
                 .out_fd = -1,
                 .errfd = -1};
  cleanup_close int pidns = -1;
  int r;
  if (ct.c.state != ST_CT_RUNNING)
    r = st_error_set(err, EINVAL, "container %s is not running", ct.c.id);
  else if (ct.c.restarting)
    r = st_error_set(err, EINVAL,
                     "Container %s is restarting, wait until the container "
                     "is running",
                     ct.c.id);
  else if (st_container_paused(&ct.c))
    r = st_error_set(err, EINVAL,
                     "Container %s is paused, unpause the container before "
                     "exec",
                     ct.c.id);
  else if ((r = prepare(&ct, o, &p, &pidns, err)) == 0) {
    if (o->tty && !o->detach) /* relayed (restored for the child) */
      block_relayed(&p.mask);
    else
      sigprocmask(SIG_BLOCK, NULL, &p.mask);
    r = launch(&p, pidns, o, status, err);
    if (o->tty && !o->detach)
      sigprocmask(SIG_SETMASK, &p.mask, NULL);
  }
  plan_clear(&p);
  st_ct_close(&ct);
  return r;
}

/* Reads what the probe writes until EOF or the deadline (monotonic ns);
 * keeps the first ST_HEALTH_OUTPUT_MAX bytes. False on timeout. */
static bool capture(int fd, int64_t deadline, st_buf *out) {
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left =
        (deadline - (now.tv_sec * 1000000000LL + now.tv_nsec)) / 1000000;
    if (left <= 0)
      return false;
    struct pollfd p = {fd, POLLIN, 0};
    int k = poll(&p, 1, (int)left);
    if (k < 0 && errno == EINTR)
      continue;
    if (k == 0)
      return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return true;
    size_t room =
        out->len < ST_HEALTH_OUTPUT_MAX ? ST_HEALTH_OUTPUT_MAX - out->len : 0;
    st_buf_append(out, buf, (size_t)n < room ? (size_t)n : room);
  }
}

int st_ct_exec_capture(const st_ct *ct, char *const *argv, int64_t timeout_ns,
                       int *code, char **output, bool *timed_out,
                       st_error **err) {
  st_exec_opts o = {.argv = argv};
  exec_plan p = {.ns = {-1, -1, -1, -1},
                 .cgroup = {-1, -1, -1, -1, -1, -1, -1, -1},
                 .slave = -1,
                 .stdin_fd = -1,
                 .out_fd = -1,
                 .errfd = -1};
  cleanup_close int pidns = -1;
  cleanup_close int rd = -1;
  cleanup_buf st_buf out = ST_BUF_INIT;
  *timed_out = false;
  int pfd[2];
  int r = prepare(ct, &o, &p, &pidns, err);
  if (r == 0 && pipe2(pfd, O_CLOEXEC) < 0)
    r = st_error_errno(err, errno, "pipe");
  if (r == 0) {
    rd = pfd[0];
    p.out_fd = pfd[1];
    sigprocmask(SIG_BLOCK, NULL, &p.mask);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = -1;
    r = start_child(&p, pidns, &pid, err);
    close(p.out_fd);
    p.out_fd = -1;
    if (r == 0) {
      int64_t deadline = t0.tv_sec * 1000000000LL + t0.tv_nsec + timeout_ns;
      if (!capture(rd, deadline, &out)) {
        *timed_out = true;
        kill(pid, SIGKILL);
      }
      int ws = 0;
      while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
      *code = *timed_out ? -1 : st_exit_status(ws);
    }
  }
  plan_clear(&p);
  if (r == 0) {
    *output = st_buf_steal(&out);
    if (*output == NULL)
      *output = strdup("");
  }
  return r;
}
