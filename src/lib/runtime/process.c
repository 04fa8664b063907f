/* Launching the container's process: clone into new namespaces, then in
 * the child a list of small steps (network, root file system, hostname,
 * terminal, working directory, user, capabilities, no_new_privs, seccomp,
 * exec). A failing step writes its message and Docker's exit code (125,
 * 126, 127) to a close-on-exec pipe; EOF on that pipe means the command
 * runs. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "net/link.h"
#include "runtime/launch.h"
#include "util/cleanup.h"

typedef struct failure {
  int code; /* 125, 126, 127 */
  char msg[1020];
} failure;

static _Noreturn void child_fail(int fd, int code, const char *msg) {
  failure f = {.code = code};
  snprintf(f.msg, sizeof(f.msg), "%s", msg);
  if (write(fd, &f, sizeof(f)) < 0)
    _exit(code);
  _exit(code);
}

static _Noreturn void child_fail_err(int fd, st_error *err) {
  child_fail(fd, 125, err && err->msg ? err->msg : "container setup failed");
}

/* ---- child steps ------------------------------------------------------- */

static int loopback_up(st_error **err) {
  cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    return st_error_errno(err, errno, "loopback");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    return st_error_errno(err, errno, "bring up lo");
  return 0;
}

/* The container's ends of its veths, made in this namespace by the
 * parent: addresses, up, the default route. */
static int ifaces_setup(const st_launch_net *n, st_error **err) {
  for (size_t i = 0; i < n->n_ep; i++)
    if (st_launch_ep_setup(&n->ep[i], err) < 0)
      return -1;
  return 0;
}

static int send_fd(int sock, int fd) {
  char data = 'm';
  struct iovec iov = {&data, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

/* Opens a pty in the container's own devpts, makes its slave the
 * controlling terminal and stdio, and sends the master to the parent. */
static int setup_terminal(const st_launch *l, st_error **err) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return st_error_errno(err, errno, "open /dev/ptmx");
  int unlock = 0, n = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0)
    return st_error_errno(err, errno, "unlock pty");
  if (l->winsize.ws_row)
    ioctl(master, TIOCSWINSZ, &l->winsize);
  char path[64];
  snprintf(path, sizeof(path), "/dev/pts/%d", n);
  int slave = open(path, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return st_error_errno(err, errno, "open %s", path);
  if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
    return st_error_errno(err, errno, "controlling terminal");
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
    return st_error_errno(err, errno, "terminal stdio");
  if (slave > 2)
    close(slave);
  if (send_fd(l->sock, master) < 0)
    return st_error_errno(err, errno, "send the terminal");
  close(master);
  return 0;
}

static int set_user(const st_spec *spec, st_error **err) {
  /* Raw system calls: this process is a clone() of one that may have had
   * other threads (a build's output reader), and glibc's wrappers would
   * wait for those threads to change their ids too, forever, since they
   * do not exist here. */
  if (syscall(SYS_setgroups, spec->n_groups, spec->groups) < 0)
    return st_error_errno(err, errno, "setgroups");
  if (syscall(SYS_setresgid, spec->gid, spec->gid, spec->gid) < 0)
    return st_error_errno(err, errno, "setgid %u", (unsigned)spec->gid);
  if (syscall(SYS_setresuid, spec->uid, spec->uid, spec->uid) < 0)
    return st_error_errno(err, errno, "setuid %u", (unsigned)spec->uid);
  return 0;
}

/* Without no_new_privs the filter goes in first, while the process still
 * has CAP_SYS_ADMIN (as runc and crun do); with it, last. */
/* process.oomScoreAdj of the child pid, written by this (privileged)
 * process: lowering it needs CAP_SYS_RESOURCE, which the child may no
 * longer have. */
static int set_oom_score_adj(const st_spec *spec, pid_t pid, st_error **err) {
  if (!spec->has_oom_score_adj)
    return 0;
  char path[64], v[16];
  snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  int n = snprintf(v, sizeof(v), "%d", spec->oom_score_adj);
  if (fd < 0 || write(fd, v, (size_t)n) != n) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return st_error_errno(err, e, "set oom_score_adj to %d",
                          spec->oom_score_adj);
  }
  close(fd);
  return 0;
}

static int apply_security(const st_launch *l, st_error **err) {
  const st_spec *spec = l->spec;
  bool filter = l->seccomp.len > 0;
  if (filter && !spec->no_new_privs &&
      st_seccomp_install_filter(&l->seccomp, err) < 0)
    return -1;
  if (st_caps_drop_bounding(spec->caps, err) < 0 || set_user(spec, err) < 0)
    return -1;
  if (spec->uid == 0 && st_caps_set(spec->caps, err) < 0)
    return -1;
  if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return st_error_errno(err, errno, "no_new_privs");
  if (filter && spec->no_new_privs &&
      st_seccomp_install_filter(&l->seccomp, err) < 0)
    return -1;
  return 0;
}

static const char *env_get(char **env, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; env[i]; i++)
    if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

/* execvpe with the container's PATH, failing Docker's way. */
static _Noreturn void exec_command(int errfd, char **args, char **env) {
  char msg[900];
  const char *cmd = args[0];
  if (strchr(cmd, '/')) {
    execve(cmd, args, env);
    int e = errno;
    if (e == ENOENT)
      snprintf(msg, sizeof(msg),
               "exec: \"%s\": stat %s: no such file or "
               "directory",
               cmd, cmd);
    else
      snprintf(msg, sizeof(msg), "exec: \"%s\": %s", cmd, strerror(e));
    child_fail(errfd, e == ENOENT ? 127 : 126, msg);
  }
  const char *path = env_get(env, "PATH");
  cleanup_free char *dirs = strdup(path ? path : ST_DEFAULT_PATH);
  int denied = 0;
  for (char *d = dirs, *c; d; d = c) {
    c = strchr(d, ':');
    if (c)
      *c++ = '\0';
    char full[4096];
    snprintf(full, sizeof(full), "%s/%s", *d ? d : ".", cmd);
    execve(full, args, env);
    if (errno == EACCES || errno == ENOEXEC || errno == EPERM)
      denied = errno;
  }
  if (denied)
    snprintf(msg, sizeof(msg), "exec: \"%s\": %s", cmd, strerror(denied));
  else
    snprintf(msg, sizeof(msg),
             "exec: \"%s\": executable file not found in "
             "$PATH",
             cmd);
  child_fail(errfd, denied ? 126 : 127, msg);
}

/* The command of --init's child (init.c). */
static void exec_spec_command(const void *arg) {
  const st_launch *l = arg;
  exec_command(l->errfd, l->spec->args, l->spec->env);
}

/* --ipc/--uts/--network container:NAME: the child joins that
 * container's (it was cloned without a namespace of its own for them). */
static int join_child_ns(const st_launch *l, st_error **err) {
  static const struct {
    int i, type;
    const char *name;
  } ns[] = {{ST_JOIN_IPC, CLONE_NEWIPC, "IPC"},
            {ST_JOIN_UTS, CLONE_NEWUTS, "UTS"},
            {ST_JOIN_NET, CLONE_NEWNET, "network"}};
  for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
    if (l->spec->join[ns[k].i] && setns(l->join[ns[k].i], ns[k].type) < 0)
      return st_error_errno(err, errno, "join the %s namespace of %s",
                            ns[k].name, l->spec->join[ns[k].i]);
  return 0;
}

/* --pid container:NAME: the child is cloned into that container's PID
 * namespace, so this thread's pid_for_children goes there around the
 * clone; *saved (ours) puts it back. */
static int pid_ns_enter(const st_launch *l, int *saved, st_error **err) {
  *saved = -1;
  if (l->spec->join[ST_JOIN_PID] == NULL)
    return 0;
  *saved = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
  if (*saved < 0 || setns(l->join[ST_JOIN_PID], CLONE_NEWPID) < 0) {
    int e = errno;
    if (*saved >= 0)
      close(*saved);
    *saved = -1;
    return st_error_errno(err, e, "join the PID namespace of %s",
                          l->spec->join[ST_JOIN_PID]);
  }
  return 0;
}

static void pid_ns_leave(int saved) {
  if (saved < 0)
    return;
  if (setns(saved, CLONE_NEWPID) < 0)
    abort(); /* later children would start in the other container */
  close(saved);
}

static _Noreturn void child_main(const st_launch *l) {
  const st_spec *spec = l->spec;
  st_error *err = NULL;
  /* Dies with the monitor that waits for it (killed with SIGKILL): nobody
   * would record its exit otherwise. Kept across exec (cleared only by a
   * set-id binary; `ps` then kills it, monitor.h). */
  if (l->die_with_parent)
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (l->syncfd >= 0) { /* the parent puts us in our cgroups first */
    /* our copy of the write end goes first: a parent killed before its
     * "g" then reads as the end of the pipe, not as a wait forever (the
     * child held the run's store lock and container lock meanwhile) */
    close(l->syncw);
    char go = 0;
    if (read(l->syncfd, &go, 1) != 1 || go != 'g')
      _exit(125);
    close(l->syncfd);
  }
  sigprocmask(SIG_SETMASK, &l->child_mask, NULL);
  if (join_child_ns(l, &err) < 0)
    child_fail_err(l->errfd, err);
  for (int i = 0; i < 3; i++)
    if (l->stdio[i] >= 0 && dup2(l->stdio[i], i) < 0)
      child_fail(l->errfd, 125, "stdio");
  if (l->setup && l->setup(l, &err) < 0)
    child_fail_err(l->errfd, err);
  if ((spec->ns_flags & CLONE_NEWNET) && loopback_up(&err) < 0)
    child_fail_err(l->errfd, err);
  if (l->net.on && ifaces_setup(&l->net, &err) < 0)
    child_fail_err(l->errfd, err);
  if (st_flags_child(spec, &err) < 0 || st_rootfs_setup(spec, &err) < 0)
    child_fail_err(l->errfd, err);
  if (spec->hostname && (spec->ns_flags & CLONE_NEWUTS) &&
      sethostname(spec->hostname, strlen(spec->hostname)) < 0)
    child_fail(l->errfd, 125, "sethostname");
  if (spec->terminal && setup_terminal(l, &err) < 0)
    child_fail_err(l->errfd, err);
  if (chdir(spec->cwd) < 0)
    child_fail(l->errfd, 125, "chdir to the working directory");
  if (st_flags_rlimits(spec, &err) < 0 || apply_security(l, &err) < 0)
    child_fail_err(l->errfd, err);
  if (spec->init)
    st_init_run(spec->terminal, l->errfd, exec_spec_command, l);
  exec_command(l->errfd, spec->args, spec->env);
}

/* ---- parent ----------------------------------------------------------- */

static int recv_fd(int sock) {
  char data;
  struct iovec iov = {&data, 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.buf,
                       .msg_controllen = sizeof(u.buf)};
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (c == NULL || c->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}

static int failure_error(const failure *f, st_error **err) {
  int code = f->code == 127 ? ENOENT : f->code == 126 ? EACCES : EIO;
  return st_error_set(err, code, "%s", f->msg);
}

/* Waits for the child's verdict: EOF (it exec'd) or a failure record. */
static int await_exec(st_launch *l, int rd, st_error **err) {
  failure f;
  ssize_t n;
  do
    n = read(rd, &f, sizeof(f));
  while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  waitpid(l->pid, NULL, 0);
  l->pid = -1;
  if (n != (ssize_t)sizeof(f))
    return st_error_set(err, EIO, "container setup failed");
  f.msg[sizeof(f.msg) - 1] = '\0';
  return failure_error(&f, err);
}

/* The veth pairs of a bridged container. */
static int make_veths(const st_launch *l, st_error **err) {
  for (size_t i = 0; i < l->net.n_ep; i++)
    if (st_launch_ep_veth(&l->net.ep[i], l->pid, err) < 0)
      return -1;
  return 0;
}

/* Puts the new child in its cgroups and gives it its veths, then lets it
 * go; kills it when either fails. */
static int release_child(st_launch *l, int syncw, st_error **err) {
  if ((l->cgroup && l->cgroup->used &&
       st_cgroup_attach(l->cgroup, l->pid, err) < 0) ||
      (l->net.on && make_veths(l, err) < 0) ||
      set_oom_score_adj(l->spec, l->pid, err) < 0 ||
      write(syncw, "g", 1) != 1) {
    kill(l->pid, SIGKILL);
    waitpid(l->pid, NULL, 0);
    l->pid = -1;
    return err && *err ? -1 : st_error_errno(err, errno, "start container");
  }
  return 0;
}

static pthread_mutex_t clone_lock = PTHREAD_MUTEX_INITIALIZER;

void st_runtime_clone_lock(void) {
  pthread_mutex_lock(&clone_lock);
}

void st_runtime_clone_unlock(void) {
  pthread_mutex_unlock(&clone_lock);
}

int st_launch_start(st_launch *l, st_error **err) {
  int pipefd[2], sv[2] = {-1, -1}, syncp[2] = {-1, -1};
  if (l->spec->seccomp && l->seccomp.len == 0 &&
      st_seccomp_compile_cached(l->spec->seccomp, l->cache_dir, &l->seccomp,
                                err) < 0)
    return -1;
  bool confine =
      (l->cgroup && l->cgroup->used) || l->net.on || l->spec->has_oom_score_adj;
  if (confine && pipe2(syncp, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "pipe");
  cleanup_close int syncw = syncp[1];
  l->syncfd = syncp[0];
  l->syncw = syncp[1];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    if (syncp[0] >= 0)
      close(syncp[0]);
    return st_error_errno(err, errno, "pipe");
  }
  if (l->spec->terminal &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return st_error_errno(err, errno, "socketpair");
  }
  l->errfd = pipefd[1];
  l->sock = sv[1];
  fflush(NULL);
  /* no other thread of ours is inside malloc or stdio now (see
   * st_runtime_clone_lock): the child's copy of their locks is free */
  pthread_mutex_lock(&clone_lock);
  int own_pid_ns = -1;
  pid_t pid = -1;
  bool entered = pid_ns_enter(l, &own_pid_ns, err) == 0;
  if (entered) {
    pid = (pid_t)syscall(SYS_clone, SIGCHLD | l->spec->ns_flags, NULL, NULL,
                         NULL, NULL);
    if (pid == 0)
      child_main(l);
  }
  int saved = errno;
  pid_ns_leave(own_pid_ns);
  pthread_mutex_unlock(&clone_lock);
  close(pipefd[1]);
  if (sv[1] >= 0)
    close(sv[1]);
  if (l->syncfd >= 0)
    close(l->syncfd);
  l->syncfd = l->syncw = -1;
  cleanup_close int rd = pipefd[0];
  cleanup_close int sock = sv[0];
  if (!entered)
    return -1; /* could not enter the PID namespace to join */
  if (pid < 0)
    return st_error_errno(err, saved, "clone the container process");
  l->pid = pid;
  l->master = -1;
  if (confine && release_child(l, syncw, err) < 0)
    return -1;
  if (l->spec->terminal)
    l->master = recv_fd(sock);
  if (await_exec(l, rd, err) < 0) {
    if (l->master >= 0)
      close(l->master);
    l->master = -1;
    return -1;
  }
  if (l->spec->terminal && l->master < 0)
    return st_error_set(err, EIO, "container terminal not received");
  return 0;
}

int st_exit_status(int wstatus) {
  if (WIFEXITED(wstatus))
    return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus))
    return 128 + WTERMSIG(wstatus);
  return 255;
}
