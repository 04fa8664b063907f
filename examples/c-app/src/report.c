#include "count.h"

void report(const char *name, const struct counts *c) {
  printf("%lu lines, %lu words, %lu bytes in %s\n", c->lines, c->words,
         c->bytes, name);
}
