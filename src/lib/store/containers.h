/* Container records: one row of the containers table per container (its
 * files are in <root>/containers/<id>/: upper/ work/ merged/ config.json,
 * hosts, hostname, resolv.conf, container.log). */
#ifndef STRATA_STORE_CONTAINERS_H
#define STRATA_STORE_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define ST_CONTAINER_ID_LEN 65 /* 64 hex + NUL */

typedef enum st_ct_state {
  ST_CT_CREATED,
  ST_CT_RUNNING,
  ST_CT_EXITED,
} st_ct_state;

typedef struct st_container {
  char id[ST_CONTAINER_ID_LEN];
  char *name;
  char image[ST_DIGEST_LEN]; /* image ID */
  char *image_ref;           /* as the user named it ("busybox") */
  char *command;             /* entrypoint + cmd, for display */
  int64_t created;           /* unix ns */
  st_ct_state state;
  pid_t pid;          /* the container's init, while running */
  uint64_t pid_start; /* its start time (/proc/<pid>/stat), against reuse */
  pid_t monitor;      /* the process waiting for it */
  int exit_code;
  int64_t started, finished; /* unix ns, 0 when never */
  bool auto_remove;          /* --rm */
  /* From the monitor (runtime/monitor.h), filled by st_container_refresh;
   * not stored in the row. */
  int restart_count;
  bool restarting; /* running, waiting to restart after an exit */
  char health[12]; /* "starting", "healthy", "unhealthy", "" without one */
} st_container;

void st_container_clear(st_container *c);
void st_containers_free(st_container *c, size_t n);
const char *st_ct_state_name(st_ct_state s); /* "created" ... */

/* Records a new container. EEXIST when the name is taken (Docker's
 * "Conflict. The container name ... is already in use" message); ENOENT
 * when its image is no longer stored (removed by another process since it
 * was resolved: the check and the insert are one statement, so a
 * container never points at a deleted image). */
int st_container_insert(st_store *s, const st_container *c, st_error **err);

/* Finds a container by full ID, unique ID prefix or name. ENOENT: "No such
 * container: <ref>". */
int st_container_find(st_store *s, const char *ref, st_container *out,
                      st_error **err);

/* Every container, newest first. */
int st_container_list(st_store *s, st_container **out, size_t *n,
                      st_error **err);

/* State changes, each one transaction. */
int st_container_set_running(st_store *s, const char *id, pid_t pid,
                             uint64_t pid_start, pid_t monitor, st_error **err);
/* finished: when it exited (unix ns), 0: now. */
int st_container_set_exited(st_store *s, const char *id, int exit_code,
                            int64_t finished, st_error **err);
int st_container_rename(st_store *s, const char *id, const char *name,
                        st_error **err);
/* Deletes the row (the caller removes the files). */
int st_container_delete(st_store *s, const char *id, st_error **err);

/* The container lock: an exclusive flock on containers/<id>/. A process
 * holds it while it sets a container up (create, until the row is
 * committed; run and start, until the running state is) and while it
 * removes one; `container prune` skips a container whose lock another
 * process holds, `rm` and `start` wait for it. So a container being
 * started is never taken for a stopped one. Locks belong to the store
 * handle (a process never waits for a lock it holds itself) and are
 * released by st_container_unlock or st_store_close.
 *
 * wait: false returns EBUSY at once when another process holds it; true
 * waits (up to a minute, then EBUSY). ENOENT when the directory was
 * removed while it waited; 0 without a lock when there is no directory at
 * all (a row without one, which only `rm` or the sweep can remove). */
int st_container_lock(st_store *s, const char *id, bool wait, st_error **err);
void st_container_unlock(st_store *s, const char *id);
/* True when this process holds id's lock. */
bool st_container_lock_held(st_store *s, const char *id);

/* True when name is used by a container. */
bool st_container_name_taken(st_store *s, const char *name);

/* Crash leftovers, removed when the store is opened by a process alone:
 * container directories without a row, and rows of containers that never
 * ran (created) or exited whose directory is gone. */
void st_containers_sweep(st_store *s);

/* "<root>/containers/<id>" (malloc), NULL when out of memory. */
char *st_container_dir(const st_store *s, const char *id);

/* Unix time now in nanoseconds. */
int64_t st_now_ns(void);

#endif
