#include <ctype.h>

#include "count.h"

void count_stream(FILE *f, struct counts *c) {
  int ch, in_word = 0;
  while ((ch = getc(f)) != EOF) {
    c->bytes++;
    if (ch == '\n')
      c->lines++;
    if (isspace(ch)) {
      in_word = 0;
    } else if (!in_word) {
      in_word = 1;
      c->words++;
    }
  }
}
