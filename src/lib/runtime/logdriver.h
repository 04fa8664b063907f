/* Container log drivers (--log-driver, --log-opt): json-file (the
 * default), local (the same records here) and none. The choice is kept in
 * the container's directory as Docker's HostConfig.LogConfig
 * ({"Type": ..., "Config": {...}}, file log-config.json); the monitor
 * reads it to write and rotate container.log, `logs` to read it back. */
#ifndef STRATA_RUNTIME_LOGDRIVER_H
#define STRATA_RUNTIME_LOGDRIVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct st_log_config {
  bool none;        /* --log-driver none: nothing is kept */
  int64_t max_size; /* bytes before rotation, 0: unbounded */
  int max_file;     /* files kept, the current one included (>= 1) */
} st_log_config;

/* Checks driver (NULL: json-file) and opts ("key=value": max-size,
 * max-file, compress) as Docker does and returns LogConfig in *out.
 * EINVAL names the driver or option at fault. */
int st_log_config_parse(const char *driver, char *const *opts, size_t n,
                        json_t **out, st_error **err);

/* Reads <dir>/log-config.json into *cfg; a container without one (made
 * before log drivers) logs to json-file without rotation. */
void st_log_config_load(const char *dir, st_log_config *cfg);

/* Its LogConfig object for inspect (the default one when absent). */
json_t *st_log_config_json(const char *dir);

/* The log files of the container in dir, oldest first ("container.log.N"
 * ... "container.log.1", "container.log"), those that exist, as a heap
 * array of *n heap strings (free with st_strv_free). */
char **st_log_files(const char *dir, size_t *n);

/* Rotates dir's log when writing would pass cfg->max_size: the files
 * shift by one (the oldest beyond max_file is removed) and *fd is
 * reopened on a new empty container.log. *size tracks the current
 * file's size. Returns 0, or -1 when the new file cannot be opened. */
int st_log_rotate_if_full(const char *dir, const st_log_config *cfg, int *fd,
                          int64_t *size, size_t incoming);

#endif
