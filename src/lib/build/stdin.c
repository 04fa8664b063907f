/* `build -`: standard input is either a tar of the context (any
 * compression st_layer_unpack_fd reads) or a Dockerfile with no context,
 * as Docker decides by content. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/add.h"
#include "build/build.h"
#include "store/layers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int spool(int in, int out, st_error **err) {
  char buf[65536];
  for (;;) {
    ssize_t k = read(in, buf, sizeof(buf));
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return st_error_errno(err, errno, "read standard input");
    if (k == 0)
      return 0;
    for (ssize_t done = 0; done < k;) {
      ssize_t w = write(out, buf + done, (size_t)(k - done));
      if (w < 0 && errno != EINTR)
        return st_error_errno(err, errno, "spool standard input");
      done += w > 0 ? w : 0;
    }
  }
}

static int read_text(int fd, char **text, size_t *len, st_error **err) {
  struct stat sb;
  if (fstat(fd, &sb) < 0)
    return st_error_errno(err, errno, "stat standard input");
  char *t = malloc((size_t)sb.st_size + 1);
  if (t == NULL)
    return st_error_errno(err, ENOMEM, "Dockerfile");
  ssize_t k = pread(fd, t, (size_t)sb.st_size, 0);
  if (k < 0) {
    free(t);
    return st_error_errno(err, errno, "read standard input");
  }
  t[k] = '\0';
  *text = t;
  *len = (size_t)k;
  return 0;
}

static int unpack_into(int fd, const char *dir, st_error **err) {
  cleanup_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return st_error_errno(err, errno, "open %s", dir);
  if (st_layer_unpack_fd(fd, dfd, ST_UNPACK_PLAIN, err) < 0)
    return st_error_wrap(err, "build context from standard input");
  return 0;
}

int st_build_stdin(st_store *s, int fd, char **dir, char **dockerfile,
                   size_t *len, st_error **err) {
  cleanup_free char *d = NULL, *spoolp = NULL;
  if (st_store_busy(s, err) < 0)
    return -1;
  if (asprintf(&d, "%s/tmp/context-XXXXXX", st_store_root(s)) < 0)
    return st_error_errno(err, ENOMEM, "build context");
  if (mkdtemp(d) == NULL)
    return st_error_errno(err, errno, "make a context directory in tmp/");
  int r = -1;
  cleanup_close int sp = -1;
  if (asprintf(&spoolp, "%s/.stdin", d) < 0) {
    st_error_errno(err, ENOMEM, "build context");
    goto out;
  }
  sp = open(spoolp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (sp < 0 || unlink(spoolp) < 0) {
    st_error_errno(err, errno, "spool standard input");
    goto out;
  }
  if (spool(fd, sp, err) < 0 || lseek(sp, 0, SEEK_SET) < 0)
    goto out;
  *dockerfile = NULL;
  if (st_badd_is_archive(sp)) {
    if (unpack_into(sp, d, err) < 0)
      goto out;
  } else if (read_text(sp, dockerfile, len, err) < 0) {
    goto out;
  }
  *dir = steal_pointer(&d);
  r = 0;
out:
  if (d) {
    st_error *ignored = NULL;
    if (st_rm_rf(d, &ignored) < 0)
      st_error_free(ignored);
  }
  return r;
}
