/* Attaching to a running container's output (attach, start -a). */
#ifndef STRATA_CMD_ATTACH_H
#define STRATA_CMD_ATTACH_H

#include <stdbool.h>

#include "store/store.h"

typedef struct cli_attach_opts {
  bool sig_proxy;          /* forward the signals this process gets */
  bool in;                 /* relay our stdin when the container has one */
  const char *detach_keys; /* --detach-keys, NULL: ctrl-p,ctrl-q */
  bool from_start; /* print its log from the start (a container just run) */
} cli_attach_opts;

/* Prints the output of the running container ref from now on until it
 * exits or the detach keys are typed, relaying our stdin to it when o->in
 * and it was started with -i (raw terminal and window size with -t).
 * Returns the container's exit status (0 after detaching), or 1 after
 * printing an error (not running, no such container, a log driver that
 * cannot be read, bad detach keys, -t with an input that is no TTY). */
int cli_attach_running(st_store *s, const char *ref, const cli_attach_opts *o);

#endif
