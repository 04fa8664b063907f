/* --runtime: the same bundle (config.json + rootfs) run by an external OCI
 * runtime such as crun or runc, through its standard commands:
 *
 *   RUNTIME --root <store>/runtime/<name> create --bundle DIR --pid-file F ID
 *   RUNTIME --root ... start ID          (the command runs)
 *   RUNTIME --root ... delete -f ID      (after it exited: state, cgroups)
 *
 * The supervising process makes itself a child subreaper first, so the
 * container's init, whose parent (the runtime's `create`) exits, becomes
 * its child: it is waited for, signalled and recorded exactly like a
 * container of the built-in executor (as a containerd shim does). Its
 * stdio is the one `create` is given.
 *
 * An OCI runtime expects the root file system ready at root.path; strata's
 * is an overlay. `create` is run by a child that first unshares its mount
 * namespace and mounts the overlay there (the host never sees it); the
 * container's own mount namespace is made from that one and keeps the
 * mount. The runtime handles namespaces, mounts, devices, capabilities,
 * seccomp and cgroups (linux.resources, linux.cgroupsPath) itself. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/launch.h"
#include "util/cleanup.h"
#include "util/fs.h"

typedef struct rt {
  const char *bin;
  char *state; /* --root */
  const char *dir, *id;
} rt;

static _Noreturn void exec_runtime(const rt *r, const char *const *args) {
  const char *argv[12] = {r->bin, "--root", r->state};
  size_t n = 3;
  for (size_t i = 0; args[i] && n < 11; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  execv(r->bin, (char *const *)argv);
  fprintf(stderr, "exec %s: %s\n", r->bin, strerror(errno));
  _exit(125);
}

/* Runs the runtime with args and waits; its exit code, or < 0 when it
 * could not be started. */
static int run_runtime(const rt *r, const char *const *args) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0)
      dup2(null, 0);
    exec_runtime(r, args);
  }
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  return st_exit_status(ws);
}

/* `create` in a mount namespace of its own with the overlay mounted. */
static _Noreturn void create_child(const st_launch *l, const rt *r,
                                   const char *pidfile) {
  const st_spec *spec = l->spec;
  st_error *err = NULL;
  sigprocmask(SIG_SETMASK, &l->child_mask, NULL);
  for (int i = 0; i < 3; i++)
    if (l->stdio[i] >= 0 && dup2(l->stdio[i], i) < 0)
      _exit(125);
  if (unshare(CLONE_NEWNS) < 0 ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    fprintf(stderr, "runtime: private mount namespace: %s\n", strerror(errno));
    _exit(125);
  }
  if (spec->lower && spec->lower[0] &&
      st_overlay_mount(spec->lower, spec->upper, spec->work,
                       spec->volatile_upper, spec->rootfs, &err) < 0) {
    fprintf(stderr, "runtime: %s\n", err->msg);
    _exit(125);
  }
  const char *args[] = {"create", "--bundle", r->dir, "--pid-file",
                        pidfile,  r->id,      NULL};
  exec_runtime(r, args);
}

static int read_pid(const char *path, pid_t *pid) {
  cleanup_free char *text = NULL;
  size_t len;
  if (st_read_file(path, &text, &len, NULL) < 0)
    return -1;
  long v = strtol(text, NULL, 10);
  if (v <= 0)
    return -1;
  *pid = (pid_t)v;
  return 0;
}

static int rt_init(rt *r, const st_spec *spec, const char *dir, const char *id,
                   st_error **err) {
  r->bin = spec->runtime;
  r->dir = dir;
  r->id = id;
  cleanup_free char *base = st_runtime_store_path(dir, "runtime");
  const char *name = strrchr(spec->runtime, '/');
  if (base == NULL ||
      asprintf(&r->state, "%s/%s", base, name ? name + 1 : r->bin) < 0)
    return st_error_errno(err, ENOMEM, "runtime state");
  return st_mkdir_p(r->state, 0700, err);
}

/* crun (1.x) refuses a hybrid cgroup host while any controller is still
 * on the v2 side, with a message that does not say what to do; say it
 * before starting it. $STRATA_TEST_CGROUP_ROOT stands for /sys/fs/cgroup
 * in the tests. */
static int check_host_for(const char *runtime, st_error **err) {
  const char *name = strrchr(runtime, '/');
  if (strcmp(name ? name + 1 : runtime, "crun") != 0)
    return 0;
  const char *root = getenv("STRATA_TEST_CGROUP_ROOT");
  if (root == NULL || *root == '\0')
    root = "/sys/fs/cgroup";
  cleanup_free char *ctrls = st_cgroup_hybrid_v2_controllers(root);
  if (ctrls == NULL)
    return 0;
  return st_error_set(
      err, ENOTSUP,
      "crun cannot run on this host: its cgroups are a v1/v2 hybrid with "
      "controllers still on the v2 hierarchy (%s/unified: %s). Give each "
      "one a v1 hierarchy, as root, once per boot: for c in %s; do mkdir "
      "-p %s/$c && mount -t cgroup -o $c cgroup %s/$c; done. Or run with "
      "--runtime runc, or without --runtime",
      root, ctrls, ctrls, root, root);
}

int st_oci_runtime_start(st_launch *l, const char *dir, const char *id,
                         st_error **err) {
  if (l->spec->terminal)
    return st_error_set(err, EINVAL,
                        "--runtime with -t is not supported (the runtime "
                        "would need a console socket)");
  if (check_host_for(l->spec->runtime, err) < 0)
    return -1;
  rt r = {0};
  cleanup_free char *pidfile = NULL;
  if (rt_init(&r, l->spec, dir, id, err) < 0 ||
      asprintf(&pidfile, "%s/runtime.pid", dir) < 0) {
    free(r.state);
    return err && *err ? -1 : st_error_errno(err, ENOMEM, "runtime");
  }
  cleanup_free char *state = r.state;
  unlink(pidfile);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return st_error_errno(err, errno, "runtime: child subreaper");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return st_error_errno(err, errno, "fork the runtime");
  if (pid == 0)
    create_child(l, &r, pidfile);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
    ;
  pid_t init = 0;
  if (st_exit_status(ws) != 0 || read_pid(pidfile, &init) < 0) {
    st_oci_runtime_delete(dir, id, l->spec);
    return st_error_set(err, EIO, "%s create %.12s failed (exit status %d)",
                        r.bin, id, st_exit_status(ws));
  }
  const char *start[] = {"start", id, NULL};
  int code = run_runtime(&r, start);
  if (code != 0) {
    kill(init, SIGKILL);
    waitpid(init, NULL, 0);
    st_oci_runtime_delete(dir, id, l->spec);
    return st_error_set(err, EIO, "%s start %.12s failed (exit status %d)",
                        r.bin, id, code);
  }
  l->pid = init;
  l->master = -1;
  return 0;
}

void st_oci_runtime_delete(const char *dir, const char *id,
                           const st_spec *spec) {
  rt r = {0};
  st_error *e = NULL;
  if (rt_init(&r, spec, dir, id, &e) == 0) {
    const char *del[] = {"delete", "-f", id, NULL};
    run_runtime(&r, del);
  }
  st_error_free(e);
  free(r.state);
}
