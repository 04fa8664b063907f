/* A main for building the fuzz targets without libFuzzer (gcc): runs the
 * target once on each file named on the command line (a corpus replay). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (f == NULL) {
      perror(argv[i]);
      return 1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
      if (len == cap) {
        cap = cap ? cap * 2 : 4096;
        uint8_t *nb = realloc(buf, cap);
        if (nb == NULL) {
          free(buf);
          fclose(f);
          return 1;
        }
        buf = nb;
      }
      n = fread(buf + len, 1, cap - len, f);
      len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
  }
  printf("replayed %d input(s)\n", argc - 1);
  return 0;
}
