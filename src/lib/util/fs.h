/* Filesystem helpers. All return 0 on success, < 0 with *err set. */
#ifndef STRATA_UTIL_FS_H
#define STRATA_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Creates dir and its missing parents. */
int st_mkdir_p(const char *path, mode_t mode, st_error **err);

/* Reads a whole file; *buf is NUL-terminated (the NUL is not counted). */
int st_read_file(const char *path, char **buf, size_t *len, st_error **err);

/* Writes all of buf to fd, retrying on EINTR and short writes. */
int st_write_all(int fd, const void *buf, size_t len, const char *what,
                 st_error **err);

/* Replaces path with buf atomically: writes "<path>.tmp-<pid>", fsyncs it,
 * renames it over path and fsyncs the directory. */
int st_write_file_atomic(const char *path, const void *buf, size_t len,
                         st_error **err);

/* fsyncs the directory at path. */
int st_fsync_dir(const char *path, st_error **err);

/* Removes path and everything under it; a missing path is not an error. */
int st_rm_rf(const char *path, st_error **err);

/* True when path is a directory that holds no entry; false when it holds
 * one or cannot be opened (missing, not a directory, no permission). */
bool st_dir_is_empty(const char *path);

/* Total size in bytes of regular files under path (no symlink following). */
long long st_du(const char *path);

#endif
