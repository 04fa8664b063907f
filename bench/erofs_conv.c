/* bench/erofs.sh's driver: converts a layer tar to an EROFS image
 * (st_erofs_from_tar) or unpacks it into a directory (st_layer_unpack_fd,
 * then syncfs, as the store does), and prints the seconds taken.
 *   erofs_conv erofs TAR IMAGE  |  erofs_conv dir TAR DIR */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "layer/erofs.h"
#include "store/layers.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  int in = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return 2;
  st_error *err = NULL;
  double t0 = now();
  int r;
  if (strcmp(argv[1], "erofs") == 0) {
    st_erofs_stats st;
    r = st_erofs_from_tar(in, argv[3], NULL, &st, &err);
    if (r == 0)
      fprintf(stderr, "%llu inodes, %llu blocks\n",
              (unsigned long long)st.inodes, (unsigned long long)st.blocks);
  } else {
    int d = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = d < 0 ? -1 : st_layer_unpack_fd(in, d, ST_UNPACK_LAYER, &err);
    if (r == 0)
      syncfs(d);
  }
  if (r < 0) {
    fprintf(stderr, "%s\n", err ? err->msg : "failed");
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(stderr, "cpu %.3f s, max rss %ld MB\n",
          (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
          ru.ru_maxrss / 1024);
  printf("%.3f\n", now() - t0);
  return 0;
}
