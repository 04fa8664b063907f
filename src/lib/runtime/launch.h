/* Private to src/lib/runtime: starting a container process and watching
 * it. */
#ifndef STRATA_RUNTIME_LAUNCH_H
#define STRATA_RUNTIME_LAUNCH_H

#include <linux/filter.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "runtime/internal.h"
#include "runtime/netsetup.h"

/* cgroup.c: the container's cgroups (resource limits). */
#define ST_CG_N 4 /* memory, cpu, pids, cpuset */
typedef struct st_cgroup {
  char *dirs[ST_CG_N]; /* NULL: controller not used */
  bool used;
} st_cgroup;
/* Creates the cgroups spec->res needs (none when it sets no limit) and
 * writes the limits. ENOTSUP when the host lacks a controller. */
int st_cgroup_create(const st_spec *spec, st_cgroup *cg, st_error **err);
/* Moves pid into every cgroup of cg. */
int st_cgroup_attach(const st_cgroup *cg, pid_t pid, st_error **err);
/* Removes cg's directories (waiting briefly for exiting processes). */
void st_cgroup_remove(st_cgroup *cg);
void st_cgroup_clear(st_cgroup *cg);
/* `update` of a running container: writes r's limits (those set) into
 * the cgroups of path (linux.cgroupsPath), making any that do not exist
 * yet (a container started without that limit) and moving the n pids of
 * the container into them. */
int st_cgroup_update(const char *path, const st_resources *r, const pid_t *pids,
                     size_t n, st_error **err);
/* Removes the cgroups container id may have left (rm). */
void st_cgroup_remove_id(const char *id);
/* On a v1/v2 hybrid host whose cgroup mounts are under root (no
 * root/cgroup.controllers, a root/unified/cgroup.controllers): the
 * controllers still attached to the v2 hierarchy, space-separated, as a
 * heap string. NULL when there are none, on any other host, or when out
 * of memory. (crun refuses such a host.) */
char *st_cgroup_hybrid_v2_controllers(const char *root);

/* `commit --pause`: moves pids (a running container's processes) into the
 * freezer cgroup strata/<id> (the v1 freezer hierarchy, else the unified
 * one's cgroup.freeze) and freezes it, waiting until the kernel reports it
 * frozen. *dir gets that cgroup (heap). ENOTSUP when the host has no
 * freezer. */
int st_freezer_freeze(const char *id, const pid_t *pids, size_t n, char **dir,
                      st_error **err);
/* Thaws what st_freezer_freeze froze. */
int st_freezer_thaw(const char *dir, st_error **err);

/* Whether container id's freezer cgroup is frozen (it is paused): 1, with
 * the cgroup in *dir (heap) when dir is not NULL; else 0. Creates
 * nothing. */
int st_freezer_frozen(const char *id, char **dir);

typedef struct st_launch {
  const st_spec *spec;
  int stdio[3];              /* the child's 0, 1, 2 (-1: inherited as is) */
  struct winsize winsize;    /* of the terminal (-t), rows 0 when unknown */
  sigset_t child_mask;       /* signal mask the command starts with */
  struct sock_fprog seccomp; /* compiled filter (len 0: none); private */
  const char *cache_dir;     /* compiled seccomp programs, or NULL */
  const st_cgroup *cgroup;   /* joined before the child's first step */
  st_launch_net net;         /* a veth made before the child's first step */
  /* An extra first step in the child, or NULL. */
  int (*setup)(const struct st_launch *l, st_error **err);
  /* PR_SET_PDEATHSIG SIGKILL: it dies with the process that launched it
   * (a detached monitor: nobody would record it otherwise) */
  bool die_with_parent;
  pid_t pid;                      /* out: the container's init */
  int master;                     /* out: the pty master with -t, else -1 */
  int errfd, sock, syncfd, syncw; /* private to process.c */
  /* namespaces of other containers to join (st_flags_join_open),
   * ST_JOIN_*; read only where spec->join[i] is set */
  int join[ST_JOIN_N];
} st_launch;

/* Clones the container process and waits until it has exec'd its command
 * (0) or failed to (< 0, *err's code ENOENT for 127, EACCES for 126). */
int st_launch_start(st_launch *l, st_error **err);

/* oci_runtime.c: like st_launch_start, with the external OCI runtime
 * named in the spec (`RUNTIME create` + `start`), the container's overlay
 * mounted for it in a private mount namespace. l->pid is the container's
 * init, made a child of the caller (child subreaper). */
int st_oci_runtime_start(st_launch *l, const char *dir, const char *id,
                         st_error **err);

/* After the container of an external runtime exited: `RUNTIME delete -f`
 * (its state and the cgroups it made). */
void st_oci_runtime_delete(const char *dir, const char *id,
                           const st_spec *spec);

/* <root>/<sub> for the bundle dir <root>/containers/<id> (malloc). */
char *st_runtime_store_path(const char *dir, const char *sub);

/* Docker's exit code of a wait status: the code, or 128 + the signal. */
int st_exit_status(int wstatus);

/* supervise.c: where the container's output goes. */
typedef enum st_io_mode {
  ST_IO_ATTACHED,    /* this process's stdio (relayed with -t) */
  ST_IO_ATTACHED_RM, /* the same, the exit not recorded (--rm: removed) */
  ST_IO_LOG,         /* the container's log file (detached) */
} st_io_mode;

/* What a detached monitor sends on its ready pipe once the command runs. */
typedef struct st_ready {
  char ok; /* 0 */
  pid_t pid, monitor;
  uint64_t pid_start;
} st_ready;

/* Runs the container in bundle dir until it exits: launch, relay, forward
 * signals. With s (attached), records it running and exited in s; without
 * (the detached monitor, which must not use a SQLite handle inherited
 * through fork), sends an st_ready on ready and writes <dir>/exit
 * ("<code> <finished ns>") for st_container_refresh to record. */
int st_supervise(st_store *s, const char *dir, const char *id, st_io_mode mode,
                 int ready, int *status, st_error **err);
/* The same, detached, for a container whose attached run exited and whose
 * restart policy restarts it: <dir>/state.json (written by the caller)
 * says it is restarting; ready gets an st_ready without a pid as soon as
 * the monitor holds its lock, and the first start comes after the first
 * back-off. */
int st_supervise_resume(const char *dir, const char *id, int ready, int *status,
                        st_error **err);

#endif
