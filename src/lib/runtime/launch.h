/* Private to src/lib/runtime: starting a container process and watching
 * it. */
#ifndef STRATA_RUNTIME_LAUNCH_H
#define STRATA_RUNTIME_LAUNCH_H

#include <linux/filter.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "runtime/internal.h"

typedef struct st_launch {
  const st_spec *spec;
  int stdio[3];              /* the child's 0, 1, 2 (-1: inherited as is) */
  struct winsize winsize;    /* of the terminal (-t), rows 0 when unknown */
  sigset_t child_mask;       /* signal mask the command starts with */
  struct sock_fprog seccomp; /* compiled filter (len 0: none); private */
  /* An extra first step in the child, or NULL. */
  int (*setup)(const struct st_launch *l, st_error **err);
  pid_t pid;       /* out: the container's init */
  int master;      /* out: the pty master with -t, else -1 */
  int errfd, sock; /* private to process.c */
} st_launch;

/* Clones the container process and waits until it has exec'd its command
 * (0) or failed to (< 0, *err's code ENOENT for 127, EACCES for 126). */
int st_launch_start(st_launch *l, st_error **err);

/* Docker's exit code of a wait status: the code, or 128 + the signal. */
int st_exit_status(int wstatus);

/* supervise.c: where the container's output goes. */
typedef enum st_io_mode {
  ST_IO_ATTACHED, /* this process's stdio (relayed with -t) */
  ST_IO_LOG,      /* the container's log file (detached) */
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

#endif
