/* Attaching to a running container's output (attach, start -a). */
#ifndef STRATA_CMD_ATTACH_H
#define STRATA_CMD_ATTACH_H

#include <stdbool.h>

#include "store/store.h"

/* Prints the output of the running container ref from now on until it
 * exits, forwarding the signals this process gets to it when sig_proxy.
 * Returns the container's exit status, or 1 after printing an error (not
 * running, no such container, a log driver that cannot be read). */
int cli_attach_running(st_store *s, const char *ref, bool sig_proxy);

#endif
