/* ADD beyond COPY: local tar archives unpacked, URLs downloaded. */
#ifndef STRATA_BUILD_ADD_H
#define STRATA_BUILD_ADD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* 1 when the file open on fd is a tar archive (plain, gzip, bzip2, xz or
 * zstd), else 0; fd is rewound. */
int st_badd_is_archive(int fd);

/* Archives to unpack at dest. */
typedef struct st_badd_spec {
  const int *fds;           /* open archives, rewound */
  const char *const *names; /* for messages */
  size_t n;
  const char *dest; /* absolute directory */
  bool chown;       /* --chown given: every entry gets uid:gid */
  uid_t uid;
  gid_t gid;
  long long mtime; /* SOURCE_DATE_EPOCH, or -1 */
} st_badd_spec;

/* Writes the layer's tar: dest and its parents as directories, then every
 * archive's entries under dest. EINVAL names an entry that leaves dest or
 * carries a whiteout name; EIO a corrupt archive. */
int st_badd_write(const st_badd_spec *s, int out, st_error **err);

/* Downloads url into dir as the file its path names (*name, heap), mode
 * 0600, mtime from Last-Modified; with checksum ("sha256:..."), a
 * different digest is EIO. */
int st_badd_fetch(const char *url, const char *checksum, const char *dir,
                  char **name, st_error **err);

#endif
