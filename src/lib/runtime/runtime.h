/* Containers: create one from an image (an overlay of the image's unpacked
 * layers under its own read-write upper dir, described by an OCI runtime
 * config.json), run it with the built-in executor, and manage its life.
 *
 * Process model: the process that starts a container waits for it (the
 * CLI for `run`, a small monitor process for `run -d` / `start`); it
 * forwards signals to the container's PID 1 and records the exit status.
 * Without --init, PID 1 is the container's own command: as with Docker, a
 * signal PID 1 installs no handler for is ignored, except SIGKILL, so
 * `stop` falls back to SIGKILL after its timeout. With --init, PID 1 is
 * strata's init (init.c), which forwards signals and reaps orphans.
 */
#ifndef STRATA_RUNTIME_H
#define STRATA_RUNTIME_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/containers.h"
#include "store/store.h"

/* --restart: Docker's policy. name is "no", "always", "on-failure" or
 * "unless-stopped"; max_retry only with on-failure (0: no limit). */
typedef struct st_restart_policy {
  char name[16];
  int max_retry;
} st_restart_policy;

/* Docker's parsing and rules for --restart ("on-failure:3"); EINVAL with
 * Docker's message for anything else. */
int st_restart_policy_parse(const char *text, st_restart_policy *out,
                            st_error **err);

/* --health-* flags; zero fields are taken from the image's HEALTHCHECK. */
typedef struct st_health_opts {
  const char *cmd;     /* --health-cmd (run with /bin/sh -c), or NULL */
  int64_t interval_ns; /* --health-interval */
  int64_t timeout_ns;  /* --health-timeout */
  int64_t start_period_ns;
  int retries;
  bool none; /* --no-healthcheck */
} st_health_opts;

typedef struct st_create_opts {
  const char *image; /* reference as typed */
  const char *name;  /* NULL: generated (adjective_name) */
  char *const *cmd;  /* COMMAND [ARG...] after the image, may be empty */
  size_t n_cmd;
  const char *entrypoint; /* --entrypoint (resets CMD), NULL when absent */
  char *const *env;       /* -e / --env-file entries: "K=V" or "K" */
  size_t n_env;
  const char *workdir, *user, *hostname;
  /* "none" (default), "host", "bridge" or a user-defined network's name
   * or ID (net/network.h) */
  const char *network;
  char *const *network_aliases; /* --network-alias (user-defined only) */
  size_t n_network_aliases;
  const char *ip;   /* --ip (user-defined networks only) */
  char *const *dns; /* --dns: nameservers instead of the host's */
  size_t n_dns;
  char *const *dns_search; /* --dns-search ("." alone: none) */
  size_t n_dns_search;
  char *const *dns_option; /* --dns-option */
  size_t n_dns_option;
  char *const *add_host; /* --add-host NAME:IP (IP may be host-gateway) */
  size_t n_add_host;
  char *const *publish; /* -p [IP:][HOST:]CTR[/proto] (net/ports.h) */
  size_t n_publish;
  bool publish_all;     /* -P: every EXPOSE'd port on a random host port */
  char *const *volumes; /* -v: "[SRC:]DEST[:MODE]" (runtime/volumes.h) */
  size_t n_volumes;
  char *const *mounts; /* --mount type=...,source=...,target=... */
  size_t n_mounts;
  char *const *volumes_from; /* --volumes-from CONTAINER[:ro|rw] */
  size_t n_volumes_from;
  bool init;          /* --init: an init as PID 1 runs the command */
  char *const *tmpfs; /* "CTR[:options]" */
  size_t n_tmpfs;
  bool read_only, tty, interactive, auto_remove, privileged;
  bool detach; /* run -d: nothing is attached (inspect's Config.Attach*) */
  /* -a/--attach: the streams attached (ST_ATTACH_* bits), 0: Docker's
   * default (all, stdin with -i) */
  unsigned attach;
#define ST_ATTACH_STDIN 1u
#define ST_ATTACH_STDOUT 2u
#define ST_ATTACH_STDERR 4u
  /* the read-write layer is read once right after the run (a build step):
   * overlay need not sync it */
  bool volatile_layer;
  /* Ctrl-C (SIGINT, SIGTERM, SIGHUP to the process that runs it) kills the
   * container instead of being passed on (a build step: PID 1 usually
   * ignores SIGINT, and the build must stop) */
  bool kill_on_interrupt;
  char *const *cap_add; /* --cap-add / --cap-drop: names or ALL */
  size_t n_cap_add;
  char *const *cap_drop;
  size_t n_cap_drop;
  char *const *security_opt; /* no-new-privileges[=bool], seccomp=unconfined */
  size_t n_security_opt;
  const char *runtime; /* --runtime: an OCI runtime (crun, runc), NULL: ours */
  int64_t memory;      /* --memory in bytes, 0: no limit */
  int64_t nano_cpus;   /* --cpus * 1e9, 0: no limit */
  int64_t pids_limit;  /* --pids-limit, 0: no limit (< 0 too, as Docker) */
  /* --memory-swap (memory + swap; -1 unlimited, 0 unset),
   * --memory-reservation (a soft limit), --cpu-shares (relative weight, 0
   * unset), --cpuset-cpus / --cpuset-mems (lists, NULL unset),
   * --oom-kill-disable */
  int64_t memory_swap, memory_reservation, cpu_shares;
  const char *cpuset_cpus, *cpuset_mems;
  bool oom_kill_disable;
  const char *restart; /* --restart as typed, NULL: "no" */
  st_health_opts health;
  /* -l/--label, --label-file: "KEY=VALUE" or "KEY" (value ""), over the
   * image's labels (Config.Labels) */
  char *const *labels;
  size_t n_labels;
  /* --stop-signal (a name or number, NULL: the image's), --stop-timeout
   * (seconds, when has_stop_timeout), Config.StopSignal and
   * Config.StopTimeout, used by stop */
  const char *stop_signal;
  bool has_stop_timeout;
  int stop_timeout;
  /* --shm-size in bytes (0: Docker's 64 MiB), --oom-score-adj (when
   * has_oom_score_adj): HostConfig.ShmSize and OomScoreAdj */
  int64_t shm_size;
#define ST_DEFAULT_SHM_SIZE ((int64_t)64 << 20)
  bool has_oom_score_adj;
  int oom_score_adj;
  /* --log-driver (NULL: json-file) and --log-opt "KEY=VALUE"
   * (runtime/logdriver.h) */
  const char *log_driver;
  char *const *log_opts;
  size_t n_log_opts;
  /* --ulimit NAME=SOFT[:HARD], --device HOST[:CTR[:PERMS]], --group-add,
   * --sysctl K=V, --expose PORT[-END][/PROTO], as typed (runtime/flags.h);
   * --pid, --ipc, --uts (NULL: a namespace of its own) and --platform */
  char *const *ulimits;
  size_t n_ulimits;
  char *const *devices;
  size_t n_devices;
  char *const *group_add;
  size_t n_group_add;
  char *const *sysctls;
  size_t n_sysctls;
  char *const *expose;
  size_t n_expose;
  const char *pid_mode, *ipc_mode, *uts_mode, *platform;
} st_create_opts;

/* Creates a container (files, config.json, row); its ID goes to id. Errors:
 * ENOENT no such image; EINVAL bad option (message says which); EEXIST the
 * name is taken. */
int st_container_create(st_store *s, const st_create_opts *o,
                        char id[ST_CONTAINER_ID_LEN], st_error **err);

/* Runs a created or exited container in this process, with this process's
 * stdin (when the container was created -i), stdout and stderr; with -t
 * through a pseudo-terminal relayed to them. Waits for it and records its
 * exit; *status is its exit code (128 + signal when killed). Failing to
 * start it returns < 0 with *err; st_runtime_exit_code(err) gives Docker's
 * exit code for that (125, 126, 127). */
int st_container_run(st_store *s, const char *id, int *status, st_error **err);

/* Starts a container in a detached monitor process whose output goes to
 * the container's log; returns once the command runs (or failed to). */
int st_container_start_detached(st_store *s, const char *id, st_error **err);

/* The container's first process is cloned (not forked) and runs some of
 * strata's code before it execs: a lock that another thread of this
 * process held at that moment (malloc's, stdio's) would stay locked in it
 * forever. A thread that allocates or prints while a container starts in
 * this process (a build's output reader) does that work between these two
 * calls; the launcher holds the same lock across clone(). */
void st_runtime_clone_lock(void);
void st_runtime_clone_unlock(void);

/* 125 (strata failed), 126 (command cannot be invoked) or 127 (not
 * found), by err's code. */
int st_runtime_exit_code(const st_error *err);

/* Brings c->state up to date with its processes (a container whose
 * processes are all gone is recorded exited, 255). */
void st_container_refresh(st_store *s, st_container *c);

/* Changes a container's restart policy (`update --restart`); a running
 * monitor applies it at the container's next exit. EINVAL: --rm. */
int st_container_set_restart_policy(st_store *s, const char *ref,
                                    const st_restart_policy *p, st_error **err);

/* `start --all-restartable` (after a reboot, there being no daemon): starts
 * every container that is not running, has run before and whose policy is
 * always, or unless-stopped when the user did not stop it, oldest first.
 * *names gets the names of those started (n of them, st_strv_free); one
 * that fails to start is skipped, "NAME: error" lines in *failed (heap,
 * NULL when none failed). */
int st_containers_start_restartable(st_store *s, char ***names, size_t *n,
                                    char **failed, st_error **err);

/* Sends sig to the container's PID 1; EINVAL when it is not running. */
int st_container_kill(st_store *s, const char *ref, int sig, st_error **err);

/* pause/unpause: freezes (thaws) every process of a running container
 * through its freezer cgroup. EINVAL, with Docker's words, when it is not
 * running, already paused (pause) or not paused (unpause); ENOTSUP when
 * the host has no freezer. kill, stop and rm -f thaw a paused container
 * after sending their signal. */
int st_container_pause(st_store *s, const char *ref, st_error **err);
int st_container_unpause(st_store *s, const char *ref, st_error **err);
/* Whether c (refreshed) is running and paused. */
bool st_container_paused(const st_container *c);

/* A signal's number from its name ("SIGTERM", "term", "TERM") or number
 * ("15"); -1 when it is none. */
int st_signal_number(const char *name);

/* stop's timeout when -t is not given: the container's --stop-timeout,
 * else 10 s. (A negative timeout waits for ever, as Docker.) */
#define ST_STOP_TIMEOUT_UNSET INT_MIN

/* SIGTERM (or the image's stop signal), then SIGKILL after timeout
 * seconds; waits until it is recorded exited. */
int st_container_stop(st_store *s, const char *ref, int timeout,
                      st_error **err);

/* Waits until the container is not running; *status is its exit code. */
int st_container_wait(st_store *s, const char *ref, int *status,
                      st_error **err);

/* Removes a container's row and files; a running one only with force
 * (killed first), else EBUSY. */
int st_container_remove(st_store *s, const char *ref, bool force,
                        st_error **err);
/* The same; anon_volumes: also the container's anonymous volumes that no
 * other container uses (`rm -v`, `run --rm`). */
int st_container_remove_v(st_store *s, const char *ref, bool force,
                          bool anon_volumes, st_error **err);
/* Removes container id unless it runs or another command holds its lock
 * (starting or removing it): EBUSY then, at once (container prune). */
int st_container_remove_idle(st_store *s, const char *id, st_error **err);

/* The container's log (containers/<id>/container.log): one JSON object per
 * line, Docker's json-file shape {"log":..., "stream":..., "time":...}. */
char *st_container_log_path(const st_store *s, const char *id);

/* Docker's SizeRw: bytes of the files in the container's writable layer
 * (apparent sizes, directories not counted, a hard-linked file once); 0
 * when it cannot be read. */
int64_t st_container_size_rw(st_store *s, const char *id);
/* Docker's SizeRootFs: the image's layers plus rw (st_container_size_rw). */
int64_t st_container_size_rootfs(st_store *s, const st_container *c,
                                 int64_t rw);

/* Docker's PORTS text of container c ("0.0.0.0:8080->80/tcp, ..."):
 * the host ports bound for it while it runs, "" otherwise (malloc; NULL
 * when out of memory). */
char *st_container_ports_text(st_store *s, const st_container *c);

/* NetworkSettings.Ports of container ref ({"80/tcp": [{"HostIp",
 * "HostPort"}], ...}); *name gets its name (malloc). */
int st_container_ports(st_store *s, const char *ref, json_t **ports,
                       char **name, st_error **err);

/* `network connect`: attaches container ref, running or not, to network
 * net (name, ID or ID prefix) with an address (ip when not NULL, else the
 * lowest free one) and aliases. A running container gets the interface at
 * once (eth1, eth2, ...); its hosts file and those of the network's members
 * are rewritten. Docker's errors: a container on host/none or sharing
 * another's namespace, a network it is already on (EEXIST), --ip or
 * --alias on a predefined network (EINVAL). */
typedef struct st_net_connect_opts {
  const char *ip;
  char **aliases;
  size_t n_aliases;
} st_net_connect_opts;
int st_container_net_connect(st_store *s, const char *ref, const char *net,
                             const st_net_connect_opts *o, st_error **err);

/* `network disconnect`: detaches container ref from network net; a
 * running container loses the interface at once (its default route moves
 * to another endpoint when it went through this one). ENOENT when it is
 * not connected; with force, a network that no longer exists is dropped
 * from the container's endpoints too. */
int st_container_net_disconnect(st_store *s, const char *ref, const char *net,
                                bool force, st_error **err);

#endif
