/* First-call resolution for the lazily bound libraries (gen-lazy.py). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "lazylib.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* A missing library is as fatal as a missing DT_NEEDED would have been at
 * startup, so this is the one place below main that may end the process. */
static void die(const char *soname, const char *what) {
  fprintf(stderr,
          "strata: cannot load %s (%s): install the package that provides "
          "it\n",
          soname, what ? what : "unknown error");
  abort();
}

void *st_lazy_resolve(unsigned lib, unsigned long idx) {
  const struct st_lazy_lib *l = &st_lazy_libs[lib];
  pthread_mutex_lock(&lock);
  void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    die(l->soname, dlerror());
  for (unsigned long i = 0; l->names[i]; i++) {
    void *sym = dlsym(h, l->names[i]);
    if (sym == NULL)
      die(l->soname, l->names[i]);
    __atomic_store_n(&l->table[i], sym, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&lock);
  return l->table[idx];
}
