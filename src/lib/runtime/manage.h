/* Working with existing containers: exec into a running one, inspect it,
 * list the processes it runs, the changes of its read-write layer (diff),
 * committing that layer as a new image, exporting its file system, and
 * copying files in and out.
 *
 * Paths inside a container are always resolved through util/safepath.h with
 * the container's root as the root: a symlink in the container pointing at
 * /etc names the container's /etc, never the host's.
 */
#ifndef STRATA_RUNTIME_MANAGE_H
#define STRATA_RUNTIME_MANAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/runtime.h"

/* ---- exec --------------------------------------------------------------- */

typedef struct st_exec_opts {
  char *const *argv; /* the command, NULL-terminated */
  char *const *env;  /* "-e K=V" / "-e K" entries */
  size_t n_env;
  const char *workdir; /* NULL: the container's */
  const char *user;    /* NULL: the container's */
  bool interactive, tty, privileged;
  bool detach; /* -d: stdio on /dev/null, own session, not waited for */
} st_exec_opts;

/* Runs a command in the namespaces of the running container ref, with the
 * container's capabilities, no_new_privs and seccomp filter, and this
 * process's stdio (stdin only with interactive; through a pseudo-terminal
 * with tty). *status is its exit code (128 + signal); with detach it
 * returns (status 0) as soon as the command has been exec'd, which runs on
 * in its own session with stdio on /dev/null. Failing to start it
 * returns < 0: EINVAL when the container is not running; ENOENT/EACCES from
 * "exec:" for 127/126 (st_runtime_exit_code). */
int st_container_exec(st_store *s, const char *ref, const st_exec_opts *o,
                      int *status, st_error **err);

/* ---- inspect / top --------------------------------------------------------
 */

/* Docker's `container inspect` object. */
int st_container_inspect(st_store *s, const char *ref, json_t **out,
                         st_error **err);

/* One reading of a container's resource use (stats.c). */
typedef struct st_ct_stats {
  bool running;
  uint64_t cpu_ticks;    /* its processes' user + system time (clock ticks) */
  uint64_t system_ticks; /* the host's CPU time, /proc/stat (clock ticks) */
  int online_cpus;
  int64_t mem_usage; /* bytes, less the inactive file cache */
  int64_t mem_limit; /* its memory limit, else the host's memory */
  int64_t net_rx, net_tx, blk_read, blk_write, pids;
} st_ct_stats;
/* Reads c's numbers now (all 0 but the host's when it is not running). */
int st_container_stats(st_store *s, const st_container *c, st_ct_stats *st,
                       st_error **err);

/* The host PIDs of the processes of a running container (those in the PID
 * namespace of its PID 1), ascending. EINVAL when it is not running. */
/* `update`: the limits given (a value of 0 removes that limit) and the
 * restart policy (NULL: unchanged). */
typedef struct st_update_opts {
  bool has_memory, has_cpus, has_pids;
  int64_t memory, nano_cpus, pids_limit;
  const st_restart_policy *restart;
} st_update_opts;

/* Changes them in the container's config.json and, while it runs, in its
 * cgroups (live first: a limit the kernel refuses, say below the memory
 * in use, changes nothing). ENOTSUP: a running --runtime container. */
int st_container_update(st_store *s, const char *ref, const st_update_opts *u,
                        st_error **err);

int st_container_pids(st_store *s, const char *ref, pid_t **pids, size_t *n,
                      st_error **err);

/* ---- the read-write layer -------------------------------------------------
 */

typedef enum st_change_kind {
  ST_CHANGE_MODIFY = 0, /* "C" */
  ST_CHANGE_ADD = 1,    /* "A" */
  ST_CHANGE_DELETE = 2, /* "D" */
} st_change_kind;

typedef struct st_change {
  char *path; /* absolute, "/etc/passwd" */
  st_change_kind kind;
} st_change;

/* The changes of the container's upper dir against its image, sorted by
 * path: overlay whiteouts are deletions, entries that exist below are
 * modifications, the rest additions; the mount points strata itself adds
 * (/proc, /etc/hosts, ...) are left out, as Docker keeps them in its
 * init layer. */
int st_container_changes(st_store *s, const char *ref, st_change **out,
                         size_t *n, st_error **err);
void st_changes_free(st_change *c, size_t n);
char st_change_letter(st_change_kind k);

typedef struct st_commit_opts {
  const char *const *changes; /* --change instructions */
  size_t n_changes;
  const char *message; /* -m */
  const char *author;  /* -a */
  bool pause;          /* -p: freeze a running container meanwhile */
} st_commit_opts;

/* Turns the container's changes into a new layer (overlay whiteouts become
 * ".wh." entries, opaque directories ".wh..wh..opq") on top of its image,
 * with the container's config, the changes applied and a history entry;
 * tags the result. id_out gets the new image ID. */
int st_container_commit(st_store *s, const char *ref, const st_commit_opts *o,
                        const char *const *tags, size_t n_tags,
                        char id_out[ST_DIGEST_LEN], st_error **err);

/* Turns the container's changes into a layer blob (as commit does) and
 * nothing else: the build makes its own config for a RUN step. Entries
 * newer than clamp_mtime get it as their mtime (SOURCE_DATE_EPOCH; -1:
 * kept). *out is filled as st_layer_import fills it. */
int st_container_layer(st_store *s, const char *ref, long long clamp_mtime,
                       st_layer_rec *out, st_error **err);

/* ---- file system access ---------------------------------------------------
 */

/* Writes the container's flattened file system to fd as a tar. */
int st_container_export(st_store *s, const char *ref, int fd, st_error **err);

/* Writes path (inside the container) and what is under it to fd as a tar
 * whose top entry is named name (NULL: path's last component). */
int st_container_copy_out(st_store *s, const char *ref, const char *path,
                          const char *name, int fd, st_error **err);

/* The same for a path on the host (`cp HOST CONTAINER:PATH`). */
int st_host_tar(const char *path, const char *name, int fd, st_error **err);

/* `cp CONTAINER:PATH HOST`: path's tree, its top named name, extracted into
 * the host directory hostdir (safely: nothing is written outside it). */
int st_container_copy_to_host(st_store *s, const char *ref, const char *path,
                              const char *hostdir, const char *name,
                              st_error **err);

/* `cp HOST CONTAINER:PATH`: hostpath's tree, its top named name, extracted
 * into the directory dir inside the container. */
int st_container_copy_from_host(st_store *s, const char *ref,
                                const char *hostpath, const char *name,
                                const char *dir, st_error **err);

/* Extracts a tar stream from fd into the directory path inside the
 * container (every entry resolved inside the container's root). */
int st_container_copy_in(st_store *s, const char *ref, const char *path, int fd,
                         st_error **err);

/* What path inside the container is: 0 with *is_dir set, ENOENT when it
 * does not exist. */
int st_container_stat(st_store *s, const char *ref, const char *path,
                      bool *is_dir, st_error **err);

/* ---- life cycle ------------------------------------------------------------
 */

/* Removes every container that is not running, created before until (unix
 * seconds; 0: no limit). *ids gets their IDs, *reclaimed the bytes their
 * read-write layers held. */
int st_containers_prune(st_store *s, int64_t until, char ***ids, size_t *n,
                        int64_t *reclaimed, st_error **err);

#endif
