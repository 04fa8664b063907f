#ifndef COUNT_H
#define COUNT_H
#include <stdio.h>

struct counts {
  unsigned long lines, words, bytes;
};

void count_stream(FILE *f, struct counts *c);
void report(const char *name, const struct counts *c);
#endif
