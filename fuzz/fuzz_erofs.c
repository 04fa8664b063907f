/* Fuzz target: the EROFS writer's tar input (st_erofs_write_fd). The input
 * is a (possibly compressed) layer tar; the image goes to a memfd. Any
 * input must end in an image or an error, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layer/erofs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int in = memfd_create("tar", MFD_CLOEXEC);
  int out = memfd_create("img", MFD_CLOEXEC);
  if (in < 0 || out < 0)
    abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = write(in, data + done, size - done);
    if (n <= 0)
      abort();
    done += (size_t)n;
  }
  lseek(in, 0, SEEK_SET);
  for (int wh = 0; wh < 2; wh++) {
    st_erofs_opts o = {.whiteouts = wh == 1, .no_sync = true};
    st_error *err = NULL;
    if (ftruncate(out, 0) < 0)
      abort();
    if (st_erofs_write_fd(in, out, &o, NULL, &err) < 0)
      st_error_free(err);
    lseek(in, 0, SEEK_SET);
  }
  close(in);
  close(out);
  return 0;
}
