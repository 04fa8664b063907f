/* Private to src/lib/runtime: what a container's monitor (the process that
 * waits for it, supervise.c) shares with the commands that look at the
 * container, through files of the container's directory, since the
 * monitor never opens the database:
 *
 *   monitor.lock  flocked (exclusive) by the monitor for its whole life:
 *                 free while the row says running means the monitor died
 *                 (SIGKILL, OOM), whatever its pid became since
 *   state.json    what the monitor knows that the row does not: the
 *                 current process after a restart, the restart count,
 *                 whether it waits to restart (back-off), the health
 *   user-stopped  exists when the user stopped or killed the container
 *                 (`stop`, `kill`): no restart; `start` removes it
 */
#ifndef STRATA_RUNTIME_MONITOR_H
#define STRATA_RUNTIME_MONITOR_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/internal.h"

#define ST_HEALTH_LOG_MAX 5       /* entries kept, as Docker */
#define ST_HEALTH_OUTPUT_MAX 4096 /* bytes of output kept per probe */

typedef struct st_mstate {
  int restart_count;
  bool restarting;    /* waiting to start it again */
  pid_t pid;          /* the current process, 0 while restarting */
  pid_t monitor;      /* the monitor's pid */
  uint64_t pid_start; /* its start time (/proc/<pid>/stat) */
  int64_t started;    /* unix ns */
  int exit_code;      /* of the last exit */
  int64_t finished;   /* unix ns of the last exit */
  json_t *health;     /* Docker's State.Health object, or NULL */
} st_mstate;

void st_mstate_clear(st_mstate *m);
/* Reads <dir>/state.json; false when there is none (or it is unreadable). */
bool st_mstate_read(const char *dir, st_mstate *out);
/* Replaces <dir>/state.json (tmp + rename, no fsync: a crash loses only
 * advice, the row stays authoritative). */
void st_mstate_write(const char *dir, const st_mstate *m);
/* Removes state.json, user-stopped and monitor.lock (a start by the
 * user, before any monitor runs). */
void st_mstate_reset(const char *dir);

/* Takes <dir>/monitor.lock for the life of the calling process; the fd
 * (close-on-exec) or -1. */
int st_monitor_lock(const char *dir);
/* 1 when a monitor holds dir's lock, 0 when none does, -1 when the
 * container has no lock file (started by an older strata). */
int st_monitor_alive(const char *dir);

void st_user_stopped_set(const char *dir);
bool st_user_stopped(const char *dir);

/* The restart policy in the container's config.json (annotation
 * io.strata.restart); "no" when none. */
int st_restart_policy_load(const char *dir, st_restart_policy *out);

/* "on-failure:3", "always", ... (malloc). */
char *st_restart_policy_text(const st_restart_policy *p);
/* Writes p into dir's config.json (atomically). */
int st_restart_policy_store(const char *dir, const st_restart_policy *p,
                            st_error **err);

/* Docker's restart manager: whether a process that exited with code after
 * running for ran_ns restarts, given the policy, the restarts so far and
 * whether the user stopped it; *delay_ms is the back-off (100 ms doubled
 * at each restart, back to 100 ms after a run of 10 s, at most a minute),
 * kept across calls in *backoff_ms (0 at first). */
bool st_restart_decide(const st_restart_policy *p, int code, int64_t ran_ns,
                       int restarts, bool user_stopped, int64_t *backoff_ms);

/* The container's health check from config.json (annotation
 * io.strata.healthcheck), defaults filled in; false when it has none. */
typedef struct st_healthcheck {
  char **test; /* argv to run (CMD-SHELL made /bin/sh -c) */
  int64_t interval_ns, timeout_ns, start_period_ns;
  int retries;
} st_healthcheck;
bool st_healthcheck_load(const char *dir, st_healthcheck *out);
void st_healthcheck_clear(st_healthcheck *h);

/* exec.c: runs argv in the running container ct as `exec` would (its
 * user, capabilities, seccomp), stdin on /dev/null, stdout and stderr
 * captured (the first ST_HEALTH_OUTPUT_MAX bytes), killed after timeout_ns:
 * *timed_out then, *code -1. */
struct st_ct;
int st_ct_exec_capture(const struct st_ct *ct, char *const *argv,
                       int64_t timeout_ns, int *code, char **output,
                       bool *timed_out, st_error **err);

/* health.c: the health check of one run of the container, driven by the
 * monitor's poll loop: a timerfd for the interval, a pipe from a helper
 * process that runs one probe. It keeps m->health (Docker's State.Health)
 * and writes state.json (in dir) when it changes. */
typedef struct st_health st_health;
/* NULL when the container has no health check (or it is NONE). */
st_health *st_health_new(const char *dir, const st_spec *spec, pid_t pid,
                         int64_t started, st_mstate *m,
                         const sigset_t *child_mask);
/* The fds to poll for POLLIN: the timer, and the probe's result (-1 while
 * no probe runs). */
int st_health_timer_fd(const st_health *h);
int st_health_result_fd(const st_health *h);
/* The timer fired: starts a probe unless one runs. */
void st_health_tick(st_health *h);
/* The result fd is readable: reads it; at its end records the probe. */
void st_health_collect(st_health *h);
void st_health_free(st_health *h);

#endif
