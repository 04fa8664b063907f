/* The attach socket (runtime/attach_sock.h). Container directories can be
 * longer than sun_path allows, so the socket's name goes through an
 * O_PATH descriptor of the directory: /proc/self/fd/N/attach.sock. */
#include "runtime/attach_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"

/* The socket's address through dirfd. */
static void sock_addr(int dirfd, struct sockaddr_un *a) {
  memset(a, 0, sizeof(*a));
  a->sun_family = AF_UNIX;
  snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", dirfd,
           ST_ATTACH_SOCK);
}

int st_attach_listen(const char *dir, st_error **err) {
  cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return st_error_errno(err, errno, "attach socket: open %s", dir);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return st_error_errno(err, errno, "attach socket");
  struct sockaddr_un a;
  sock_addr(dirfd, &a);
  unlinkat(dirfd, ST_ATTACH_SOCK, 0); /* a killed monitor's */
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0) {
    int e = errno;
    close(fd);
    return st_error_errno(err, e, "attach socket: bind %s/%s", dir,
                          ST_ATTACH_SOCK);
  }
  return fd;
}

int st_attach_connect(const char *dir) {
  cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return -1;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_un a;
  sock_addr(dirfd, &a);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int st_attach_send(int fd, char type, const void *p, size_t n) {
  while (n > ST_ATTACH_MAX_MSG) {
    if (st_attach_send(fd, type, p, ST_ATTACH_MAX_MSG) < 0)
      return -1;
    p = (const char *)p + ST_ATTACH_MAX_MSG;
    n -= ST_ATTACH_MAX_MSG;
  }
  struct iovec iov[2] = {{&type, 1}, {(void *)p, n}};
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = n ? 2 : 1};
  for (;;) {
    ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
    if (w >= 0)
      return 0;
    if (errno != EINTR)
      return -1;
  }
}
