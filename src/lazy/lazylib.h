/* Lazily loaded shared libraries (see scripts/gen-lazy.py): libarchive and
 * libcurl are dlopen'ed on the first call of one of their functions. */
#ifndef STRATA_UTIL_LAZYLIB_H
#define STRATA_UTIL_LAZYLIB_H

struct st_lazy_lib {
  const char *soname;
  const char *const *names; /* NULL-terminated */
  void **table;             /* one entry per name, filled on first use */
};

extern const struct st_lazy_lib st_lazy_libs[];
extern const unsigned st_lazy_nlibs;

/* Called by the trampolines: loads library lib, fills its table and
 * returns the address of symbol idx. */
void *st_lazy_resolve(unsigned lib, unsigned long idx);

#endif
