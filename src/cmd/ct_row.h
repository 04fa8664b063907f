/* A container's row for `ps` and `system df -v`. */
#ifndef STRATA_CMD_CT_ROW_H
#define STRATA_CMD_CT_ROW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/runtime.h"

/* Docker's SIZE: "2B (virtual 4.26MB)", the writable layer's bytes and
 * those plus the image's; NULL when out of memory. */
char *cli_container_size(st_store *s, const st_container *c);

/* The row's fields (ID, Image, Command, RunningFor, CreatedAt, Status,
 * Ports, Names, State, and Size when size) at now (unix ns). */
json_t *cli_container_row(st_store *s, const st_container *c, bool no_trunc,
                          bool size, int64_t now);

#endif
