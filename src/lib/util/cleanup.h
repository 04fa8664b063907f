/* Scope-bound cleanup for heap pointers, fds, FILE*, DIR*. Ownership leaves
 * a scope through steal_pointer() or by setting an fd variable to -1. */
#ifndef STRATA_UTIL_CLEANUP_H
#define STRATA_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void st_freep(void *p) {
  free(*(void **)p);
}
static inline void st_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void st_fclosep(FILE **f) {
  if (*f)
    fclose(*f);
}
static inline void st_closedirp(DIR **d) {
  if (*d)
    closedir(*d);
}

#define cleanup_free __attribute__((cleanup(st_freep)))
#define cleanup_close __attribute__((cleanup(st_closep)))
#define cleanup_file __attribute__((cleanup(st_fclosep)))
#define cleanup_dir __attribute__((cleanup(st_closedirp)))

static inline void *st_steal(void *pp) {
  void **p = (void **)pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))st_steal(pp))

#endif
