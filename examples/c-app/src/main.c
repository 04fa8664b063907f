#include <string.h>

#include "count.h"

int main(int argc, char **argv) {
  struct counts total = {0, 0, 0};
  if (argc < 2) {
    count_stream(stdin, &total);
    report("stdin", &total);
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    struct counts c = {0, 0, 0};
    FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
    if (f == NULL) {
      perror(argv[i]);
      return 1;
    }
    count_stream(f, &c);
    if (f != stdin)
      fclose(f);
    report(argv[i], &c);
  }
  return 0;
}
