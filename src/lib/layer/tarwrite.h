/* Writing file system trees as tar streams (commit, export, cp, build).
 * Entries keep mode, owner, times and file types;
 * hard links inside one stream are written as links. With xattrs set,
 * regular files and directories also keep their user.* attributes and
 * file capabilities (never overlayfs's trusted.overlay.*). */
#ifndef STRATA_LAYER_TARWRITE_H
#define STRATA_LAYER_TARWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/error.h"

struct archive;

typedef struct st_tw_link {
  dev_t dev;
  ino_t ino;
  char *name;
} st_tw_link;

typedef struct st_tw {
  struct archive *a;
  st_tw_link *links; /* files with more than one link already written */
  size_t n_links, cap_links;
  uint64_t skip_mnt; /* with only_mnt: the mount ID to stay on */
  bool only_mnt;     /* skip what other mounts hold (export of /proc/N/root) */
  /* Write user.* and security.capability (set after st_tw_open; commit,
   * export and COPY; not cp: a container's file capabilities must not land
   * on the host). */
  bool xattrs;
  /* mtimes later than this (unix seconds) are written as it, so a layer
   * made under SOURCE_DATE_EPOCH is reproducible; -1 (st_tw_open's
   * default): as found */
  long long clamp_mtime;
} st_tw;

/* Starts a tar (pax) stream on fd (not closed). */
int st_tw_open(st_tw *w, int fd, st_error **err);
/* Ends the stream (writes the trailer) and frees w. */
int st_tw_close(st_tw *w, st_error **err);
void st_tw_free(st_tw *w);

/* Writes one entry named tarname for name in the directory dirfd (not
 * followed when a symlink), described by st. */
int st_tw_entry(st_tw *w, int dirfd, const char *name, const char *tarname,
                const struct stat *st, st_error **err);
/* Writes one entry named tarname exactly as st says (type, permission
 * bits, owner, mtime, size; rdev of devices) whose data comes from fd: the
 * content of a regular file (fd opened O_RDONLY), the target of a symlink
 * (fd opened O_PATH | O_NOFOLLOW); fd is not read for other types and may
 * be -1 for them. hardlink, when not NULL, makes the entry a hard link to
 * that earlier entry (no detection of links here: the caller decides). */
int st_tw_entry_fd(st_tw *w, int fd, const char *tarname, const struct stat *st,
                   const char *hardlink, st_error **err);
/* Writes an empty regular file entry (whiteouts, opaque markers). */
int st_tw_marker(st_tw *w, const char *tarname, st_error **err);
/* Writes name in dirfd and, for a directory, everything under it (names
 * sorted), as tarname and tarname/... */
int st_tw_tree(st_tw *w, int dirfd, const char *name, const char *tarname,
               st_error **err);

#endif
