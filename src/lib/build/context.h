/* Sources of COPY and ADD: the build context (a directory, with its
 * compiled .dockerignore) or another root (a stage's or an image's file
 * system, mounted by the driver). Only what an instruction names is read:
 * nothing is copied up front.
 *
 * Paths given to these functions are relative to the root, '/'-separated;
 * a source that would leave the root by its own ".." ("../x", "a/../../x")
 * is refused with EINVAL ("COPY failed: forbidden path outside the build
 * context: ../x"). Symlinks are resolved as if the root were "/" (Docker's
 * FollowSymlinkInScope, BuildKit's scoped paths): one pointing out of the
 * root lands inside it instead, usually on nothing (ENOENT), so nothing
 * outside is ever read. Every file is opened through util/safepath.h,
 * relative to the root's fd.
 */
#ifndef STRATA_BUILD_CONTEXT_H
#define STRATA_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "build/ignore.h"
#include "digest/digest.h"
#include "util/error.h"

typedef struct st_ctx st_ctx;

/* Opens dir as a source root; ig (may be NULL, borrowed, must outlive the
 * ctx) excludes paths as .dockerignore says: an excluded path is as if it
 * did not exist (a pattern that matches only excluded files matches
 * nothing; a directory's excluded children are not copied). */
int st_ctx_open(const char *dir, const st_ignore *ig, st_ctx **out,
                st_error **err);
void st_ctx_free(st_ctx *c);

/* Resolves one source as written in COPY/ADD (after variable expansion):
 * a path, or a pattern with '*', '?', '[...]' in any component (matched
 * per component like Go's filepath.Match). Leading '/' and "./" are
 * ignored; "." is the root. Appends the matches (sorted, relative paths,
 * "." for the root) to *paths (a heap array of heap strings; *n counts
 * them). ENOENT when nothing matches: "COPY failed: file not found in
 * build context or excluded by .dockerignore: stat NAME: file does not
 * exist". */
int st_ctx_match(st_ctx *c, const char *source, char ***paths, size_t *n,
                 st_error **err);

/* Opens a source st_ctx_match returned, following its symlinks inside the
 * root, for reading (O_RDONLY; O_PATH for what is not a regular file), and
 * fills *st. ENOENT when it is gone or excluded. */
int st_ctx_open_source(st_ctx *c, const char *path, struct stat *st,
                       st_error **err);

/* A memory of file content digests, keyed by what identifies one version
 * of a file (device, inode, size, mtime and ctime, to the nanosecond), so
 * that an unchanged context is not read again. get returns true and fills
 * digest when it knows that version; put remembers one (it may decline,
 * e.g. for a file changed too recently to trust its times). */
typedef struct st_ctx_hashes {
  bool (*get)(void *ctx, const struct stat *st, char digest[ST_DIGEST_LEN]);
  void (*put)(void *ctx, const struct stat *st,
              const char digest[ST_DIGEST_LEN]);
  /* Whole checksums (st_ctx_checksum's out) by the fingerprint of the
   * stat data of everything a COPY would write (names, device, inode,
   * type, mode, size, mtime and ctime to the nanosecond, hard links), so an
   * unchanged source set is neither read nor re-recorded. May be NULL. */
  bool (*sum_get)(void *ctx, const char *fp, char sum[ST_DIGEST_LEN]);
  void (*sum_put)(void *ctx, const char *fp, const char *sum);
  void *ctx;
} st_ctx_hashes;

/* Makes st_ctx_checksum use h (borrowed; NULL: read every file). */
void st_ctx_set_hashes(st_ctx *c, const st_ctx_hashes *h);

/* What a COPY writes. */
typedef struct st_copy_spec {
  char *const *srcs; /* from st_ctx_match */
  size_t n_srcs;
  /* Absolute destination, already joined with WORKDIR and cleaned, with
   * its trailing '/' kept when the instruction had one. */
  const char *dest;
  /* The destination is a directory: it ends in '/', there are several
   * sources or a pattern, or it exists as a directory in the image. Then
   * a file source goes to dest/BASENAME and a directory source's CONTENTS
   * go into dest; else the single source becomes dest itself. */
  bool dest_is_dir;
  uid_t uid; /* --chown (resolved by the driver), default 0 */
  gid_t gid;
  int mode; /* --chmod as permission bits, or -1 to keep the source's */
  /* mtime written for every entry, or -1 to keep the source's (Docker
   * keeps it); SOURCE_DATE_EPOCH sets it for reproducible layers. */
  long long mtime;
  /* --exclude patterns (.dockerignore syntax), or NULL: matched against
   * each copied path relative to its source (a directory source's
   * entries by their path inside it, any other source by its base name);
   * what matches is neither copied nor part of the checksum. */
  const st_ignore *exclude;
  /* --parents, or NULL: per source, the offset in srcs[i] where the part
   * kept under dest starts (0: the whole path; after a "/./" pivot: what
   * follows it). The source then lands at dest/KEPT, the directories on
   * the way made root-owned 0755, whatever dest_is_dir says. */
  const size_t *pivots;
} st_copy_spec;

/* Writes the tar stream (pax, uncompressed, entries in a stable order:
 * sorted by name) of a COPY to fd (not closed): dest's parent
 * directories, then each source as the spec places it. Symlinks are copied
 * as symlinks (never followed, except a source named directly: Docker
 * copies what it points to, under the symlink's name); hard links within
 * the copy stay hard links; user.* and security.capability xattrs are
 * kept; whiteout names (".wh.*") are plain names; sockets are skipped.
 *
 * Ownership and modes: the directories COPY makes above what it copies
 * (dest's parents, and dest itself when it only receives files) are
 * written root-owned 0755, since the layer would otherwise re-own
 * directories the image already has (/usr, /opt); every copied entry is
 * uid:gid, with the spec's mode when it has one (symlinks keep 0777). A
 * directory source's own mode and mtime go to the directory that receives
 * its contents (as BuildKit). Every entry gets spec->mtime when >= 0; else
 * copied entries keep the source's and made-up directories get the current
 * time. When two sources put something at the same name, the later one
 * wins (EEXIST when one is a directory and the other not). */
int st_ctx_write_tar(st_ctx *c, const st_copy_spec *spec, int fd,
                     st_error **err);

/* The cache checksum of what a COPY would write, without writing it: the
 * sha256 over, for every entry in tar order, its destination name, type,
 * permission bits, size, link target and content digest (never mtime,
 * the source's owner, or inode numbers; uid/gid/mode of the spec are part
 * of the key the driver builds, not of this; hard links count as links to
 * their first name, xattrs do not count). Two contexts with the same
 * bytes under the same names give the same checksum. To explain a miss,
 * *files (may be NULL) receives one "NAME\tDIGEST" line per entry, DIGEST
 * being the sha256 of that entry's record (heap array of heap strings,
 * NULL-terminated), which the cache stores.
 *
 * With hashes whose sum_get knows the fingerprint of the entries' stat
 * data, the checksum comes from there, nothing is read, and *files is set
 * to NULL (the caller asks again, with a hashes without sum_get, when it
 * needs them). Otherwise, when no entry changed in the last 2 seconds
 * (times that could still change unseen), sum_put remembers it. */
int st_ctx_checksum(st_ctx *c, const st_copy_spec *spec,
                    char out[ST_DIGEST_LEN], char ***files, st_error **err);

#endif
