/* Resolving a path inside a root directory (a layer being unpacked, a
 * container's root file system) as if that directory were "/": "..",
 * absolute paths and symlinks (absolute or relative) all stay inside it, so
 * nothing outside the root can be opened, created or changed through it.
 *
 * The kernel does it with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * (Linux 5.6). Without openat2 (ENOSYS), or when st_safepath_fallback(true)
 * asks for it (tests), a component-by-component walk opens each component
 * with O_NOFOLLOW and follows symlinks itself, at most 40 of them, with the
 * same semantics.
 */
#ifndef STRATA_UTIL_SAFEPATH_H
#define STRATA_UTIL_SAFEPATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/* Opens path inside the directory rootfd with open(2) flags (O_CLOEXEC is
 * always added). O_NOFOLLOW applies to the last component only; O_CREAT
 * creates it with mode. Returns the fd, or < 0 with *err set, its code the
 * errno (ENOENT, ENOTDIR, ELOOP, EEXIST ...). */
int st_open_in_root(int rootfd, const char *path, int flags, mode_t mode,
                    st_error **err);

/* Like `mkdir -p path` inside rootfd: creates the missing directories with
 * mode (existing symlinks are followed inside the root) and returns an fd
 * of the directory opened O_RDONLY | O_DIRECTORY, or < 0 with *err set. */
int st_mkdir_in_root(int rootfd, const char *path, mode_t mode, st_error **err);

/* Forces (true) or stops forcing the fallback walk; for tests. */
void st_safepath_fallback(bool force);

/* Whether openat2 is used (false once it was found missing or forced off). */
bool st_safepath_has_openat2(void);

#endif
