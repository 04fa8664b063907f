/* Private to src/lib/runtime: the parsed runtime spec and the steps of
 * the executor. */
#ifndef STRATA_RUNTIME_INTERNAL_H
#define STRATA_RUNTIME_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/runtime.h"

#define ST_ANN_LOWER "io.strata.overlay.lowerdirs" /* ':'-joined, top first */
#define ST_ANN_UPPER "io.strata.overlay.upperdir"
#define ST_ANN_WORK "io.strata.overlay.workdir"
#define ST_ANN_STOPSIGNAL "io.strata.stopsignal"
#define ST_ANN_VOLATILE "io.strata.overlay.volatile" /* "true": --rm */
#define ST_ANN_INTERRUPT "io.strata.interrupt"       /* "kill": build steps */
/* Docker's stored Config fields as compact JSON: Env (the image's and -e,
 * without what only the process gets: PATH default, HOSTNAME, TERM, HOME),
 * AttachStdin/Stdout/Stderr, OpenStdin, StdinOnce; when given: Tmpfs,
 * Labels (the image's with -l), StopSignal, StopTimeout */
#define ST_ANN_CONFIG "io.strata.config"
#define ST_ANN_RUNTIME "io.strata.runtime" /* --runtime: absolute path */
#define ST_ANN_INIT "io.strata.init"       /* "true": --init (init.c) */
/* JSON text: volumes to mount on the host first (volume_mount.c) */
#define ST_ANN_VOLUME_MOUNTS "io.strata.volume-mounts"
/* --restart, as Docker writes it ("on-failure:3"); read by the monitor at
 * each exit, so a change applies to a running container */
#define ST_ANN_RESTART "io.strata.restart"
/* Config.Healthcheck (the image's merged with --health-*) as compact JSON */
#define ST_ANN_HEALTHCHECK "io.strata.healthcheck"
/* --pid/--ipc/--uts/--network container:NAME: the container whose
 * namespace the launcher joins (spec_flags.c): the reference given for
 * pid, ipc and uts (resolved at start), the full ID for the network
 * (resolved at create, as Docker) */
#define ST_ANN_JOIN_PID "io.strata.join.pid"
#define ST_ANN_JOIN_IPC "io.strata.join.ipc"
#define ST_ANN_JOIN_UTS "io.strata.join.uts"
#define ST_ANN_JOIN_NET "io.strata.join.net"
/* The namespaces a container can share with another (container:NAME):
 * the indexes of st_spec.join and st_launch.join. */
enum { ST_JOIN_PID, ST_JOIN_IPC, ST_JOIN_UTS, ST_JOIN_NET, ST_JOIN_N };
/* --ipc shareable: the options of its host-side /dev/shm tmpfs */
#define ST_ANN_SHM "io.strata.shm"
#define ST_DEFAULT_PATH                                                        \
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* One mount of the spec, options already turned into flags. */
typedef struct st_mount_op {
  char *dest, *type, *source;
  unsigned long flags;       /* MS_* for mount(2) */
  unsigned long propagation; /* MS_PRIVATE, MS_SLAVE ... or 0 */
  char *data;                /* the options mount(2) does not know */
  bool bind, readonly;
} st_mount_op;

/* A device node of linux.devices. */
typedef struct st_device {
  char *path;
  mode_t mode; /* S_IFCHR or S_IFBLK | permissions */
  unsigned major, minor;
  uid_t uid;
  gid_t gid;
} st_device;

/* The limits of linux.resources strata applies (0: none). */
typedef struct st_resources {
  int64_t memory;
  int64_t cpu_quota, cpu_period;
  int64_t pids;
  int64_t swap;        /* memory + swap, -1 unlimited, 0 unset */
  int64_t reservation; /* soft limit, 0 unset */
  int64_t shares;      /* cpu shares, 0 unset */
  bool oom_disable;
  char cpus[64], mems[64]; /* cpuset lists, "" unset */
} st_resources;

/* One entry of process.rlimits (< 0: unlimited). */
typedef struct st_rlimit {
  int resource;
  int64_t soft, hard;
} st_rlimit;

/* The executor's view of config.json. */
typedef struct st_spec {
  char **args, **env; /* NULL-terminated */
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  bool terminal;
  char *hostname;
  char *rootfs; /* absolute */
  bool root_readonly;
  char **lower; /* NULL-terminated, top first */
  char *upper, *work;
  bool volatile_upper;  /* skip syncing the upper dir (--rm) */
  bool interrupt_kills; /* SIGINT/SIGTERM/SIGHUP: SIGKILL the container */
  st_mount_op *mounts;
  size_t n_mounts;
  char **masked, **readonly_paths; /* NULL-terminated */
  uint64_t caps;                   /* bounding = effective = permitted */
  bool no_new_privs;
  bool has_oom_score_adj; /* process.oomScoreAdj */
  int oom_score_adj;
  int ns_flags;       /* CLONE_NEW* */
  json_t *seccomp;    /* linux.seccomp, or NULL */
  st_device *devices; /* linux.devices */
  size_t n_devices;
  st_resources res;    /* linux.resources */
  char *cgroup;        /* linux.cgroupsPath, or NULL */
  char *runtime;       /* an external OCI runtime runs it, or NULL */
  bool init;           /* --init: PID 1 is strata's init (init.c) */
  char *volume_mounts; /* ST_ANN_VOLUME_MOUNTS, or NULL */
  char *config;        /* ST_ANN_CONFIG, or NULL (made before it existed) */
  char *healthcheck;   /* ST_ANN_HEALTHCHECK, or NULL */
  /* spec_flags.c: process.rlimits; linux.sysctl as key, value, ...
   * (NULL-terminated); ST_ANN_JOIN_PID, _IPC, _UTS, _NET or NULL */
  st_rlimit *rlimits;
  size_t n_rlimits;
  char **sysctl;
  char *join[ST_JOIN_N];
  char *shm_opts; /* ST_ANN_SHM, or NULL */
} st_spec;

/* spec.c: config.json from the image config and the options. */
typedef struct st_spec_input {
  const st_create_opts *o;
  json_t *image_config; /* the image config's "config" object (may be NULL) */
  const char *dir;      /* the container's directory */
  char **lower;         /* unpacked layers, top first */
  size_t n_lower;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  size_t n_groups;
  const char *home;
  const char *hostname;
  const char *runtime;        /* resolved --runtime, or NULL */
  json_t *volume_mounts;      /* -v, --mount, VOLUME (runtime/mounts.h) */
  json_t *volume_host_mounts; /* of volumes with -o type=, or NULL */
  const char *net_donor;      /* --network container: its full ID, or NULL */
} st_spec_input;

int st_spec_generate(const st_spec_input *in, json_t **out, st_error **err);
/* The command line for display ("sh -c 'echo hi'") of a generated spec. */
char *st_spec_command(json_t *spec);
/* Reads config.json of the bundle dir into *spec. */
int st_spec_load(const char *dir, st_spec *spec, st_error **err);
/* Keeps spec as the config.json just written to dir, so that a `run` in
 * this process does not parse it again (takes a reference). */
void st_spec_remember(const char *dir, json_t *spec);
void st_spec_clear(st_spec *spec);

/* spec_flags.c: the flags of runtime/flags.h. Adds them to a generated
 * spec; the stored Config's HostConfig fields and ExposedPorts (c); what
 * inspect shows of them in hc (from the stored Config); checks at create
 * (the container to join exists, --expose); loads and frees them in a
 * spec; the child's sysctls, written before its root file system is set
 * up (/proc/sys is read-only then). st_flags_join_open opens the namespaces of
 * the containers to join (fds: ST_JOIN_*, -1 when none; EINVAL when such a
 * container is not running, or its IPC is neither shareable nor the
 * host's) and makes spec's /dev/shm a bind of the IPC donor's. */
int st_flags_spec(const st_spec_input *in, json_t *spec, st_error **err);
void st_flags_stored(const st_create_opts *o, json_t *image_config, json_t *c);
void st_flags_inspect(json_t *hc, json_t *stored);
int st_flags_validate(st_store *s, const st_create_opts *o, st_error **err);
void st_flags_load(json_t *spec, st_spec *out);
void st_flags_clear(st_spec *s);
int st_flags_child(const st_spec *spec, st_error **err);
/* process.rlimits, set last before the command's user and capabilities
 * (a low limit must not stop the set-up; raising one needs
 * CAP_SYS_RESOURCE). */
int st_flags_rlimits(const st_spec *spec, st_error **err);
/* --platform against the image config (top level: os, architecture,
 * variant); ENOENT with Docker's message when they differ. */
int st_flags_platform_check(const st_create_opts *o, json_t *config,
                            st_error **err);
int st_flags_join_open(st_store *s, const char *dir, st_spec *spec,
                       int fds[ST_JOIN_N], st_error **err);
/* --network container:NAME at create: the hostname of the donor (full
 * ID), which the joiner takes (as Docker), in a heap string; NULL when
 * its bundle cannot be read. */
char *st_flags_net_hostname(st_store *s, const char *donor);
/* The source of spec's first mount at dest (/etc/hosts ...: the
 * bundle's file, or the donor's with --network container:), or NULL
 * when that mount is not a bind. */
const char *st_flags_etc_source(const st_spec *spec, const char *dest);
/* --ipc shareable: mounts the container's host-side /dev/shm (<dir>/shm)
 * unless it is; st_flags_shm_release unmounts it (the container exited or
 * is removed). */
int st_flags_shm_mount(const char *dir, const st_spec *spec, st_error **err);
void st_flags_shm_release(const char *dir);
/* Before a detached start (whose monitor has no store): records in
 * <dir>/join the processes of the containers to join, for
 * st_flags_join_open with no store; EINVAL when one is not running. */
int st_flags_join_record(st_store *s, const char *dir, st_error **err);

/* user.c: -u USER[:GROUP] resolved against the image's /etc/passwd and
 * /etc/group found in its layers (top first). */
typedef struct st_user {
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* supplementary groups of a named user */
  size_t n_groups;
  char *home; /* "/" when unknown */
} st_user;
int st_user_resolve(char **lower, size_t n, const char *spec, st_user *out,
                    st_error **err);
void st_user_clear(st_user *u);
/* --group-add: names of the image's /etc/group or numbers, added to u's
 * supplementary groups. EINVAL: a name that is neither. */
int st_user_add_groups(char **lower, size_t n, char *const *names,
                       size_t n_names, st_user *u, st_error **err);

/* caps.c */
uint64_t st_caps_default(void);
uint64_t st_caps_all(void);
int st_caps_from_json(json_t *names, uint64_t *out, st_error **err);
json_t *st_caps_to_json(uint64_t caps);
/* base with --cap-add / --cap-drop applied (names with or without CAP_, any
 * case, or ALL); EINVAL names an unknown capability. */
int st_caps_tweak(uint64_t base, char *const *add, size_t n_add,
                  char *const *drop, size_t n_drop, uint64_t *out,
                  st_error **err);
/* Drops the bounding set to caps; run before changing user. */
int st_caps_drop_bounding(uint64_t caps, st_error **err);
/* Sets effective/permitted (inheritable empty) to caps. */
int st_caps_set(uint64_t caps, st_error **err);

/* seccomp_profile.c: Docker's default profile as an OCI seccomp object,
 * resolved for the capability set caps (the groups of calls Docker allows
 * only with a capability are in it when caps holds that capability). */
json_t *st_seccomp_default(uint64_t caps);
/* seccomp.c: compiling an OCI seccomp object with libseccomp, the cache of
 * compiled programs, installing one. */
struct sock_fprog;
/* The digest that names a profile's compiled program (the cache's file
 * name, the build-time program's key). -1: out of memory. */
int st_seccomp_key(json_t *seccomp, char key[ST_DIGEST_LEN]);
/* Compiles an OCI seccomp object to a BPF program (out->filter is heap). */
int st_seccomp_compile(json_t *seccomp, struct sock_fprog *out, st_error **err);
/* st_seccomp_compile through a cache of compiled programs in cache_dir
 * (NULL: no cache). */
int st_seccomp_compile_cached(json_t *seccomp, const char *cache_dir,
                              struct sock_fprog *out, st_error **err);
/* Sets no_new_privs and installs prog on the calling thread. */
int st_seccomp_install(const struct sock_fprog *prog, st_error **err);
/* Installs prog without touching no_new_privs (the caller then needs
 * CAP_SYS_ADMIN, or no_new_privs already set). */
int st_seccomp_install_filter(const struct sock_fprog *prog, st_error **err);

/* rootfs.c: in the child, inside its new mount namespace: overlay, mounts,
 * /dev, masked paths, pivot_root. */
int st_rootfs_setup(const st_spec *spec, st_error **err);
/* Mounts the overlay (lower/upper/work) at target. */
int st_overlay_mount(char **lower, const char *upper, const char *work,
                     bool volatile_upper, const char *target, st_error **err);

/* init.c: --init. In the container's first process, once it is set up:
 * forks the command (which execs it through exec_cmd) and stays as PID 1,
 * forwarding signals to it and reaping every child, until it exits; then
 * exits with its status (128 + signal when killed). errfd (the starter's
 * exec report, close-on-exec) is closed in the init once the child runs. */
_Noreturn void st_init_run(bool terminal, int errfd,
                           void (*exec_cmd)(const void *), const void *arg);

/* names.c: Docker-style generated names ("admiring_turing"). */
char *st_name_generate(void);

/* Start time of pid from /proc/<pid>/stat, 0 when it does not exist. */
uint64_t st_pid_start_time(pid_t pid);
/* True when pid still is the process that had start time start. */
bool st_pid_alive(pid_t pid, uint64_t start);

#endif
