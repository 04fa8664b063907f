/* Docker's words for pull/push progress events, for the CLI to print. */
#ifndef STRATA_REGISTRY_PROGRESS_H
#define STRATA_REGISTRY_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "registry/registry.h"

/* Writes the status text of a per-layer event into buf ("Pull complete",
 * "Already exists", "Downloading [==>    ]  1.2MB/4.5MB" when bar is set,
 * else "Downloading") and returns buf; NULL for events that are not
 * per-layer lines. */
const char *st_reg_event_status(const st_reg_event *ev, bool bar, char *buf,
                                size_t n);

/* True for the events a plain (non-terminal) output prints: every state
 * change, not the byte counts. */
bool st_reg_event_is_milestone(const st_reg_event *ev);

#endif
