/* The attach socket (runtime/attach_sock.h). Container directories can be
 * longer than sun_path allows, so the socket's name goes through an
 * O_PATH descriptor of the directory: /proc/self/fd/N/attach.sock. */
#include "runtime/attach_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

bool st_attach_wanted(const char *dir) {
  cleanup_free char *path = NULL;
  return asprintf(&path, "%s/stdin", dir) > 0 && access(path, F_OK) == 0;
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

int st_detach_parse(const char *spec, st_detach *d) {
  memset(d, 0, sizeof(*d));
  if (spec == NULL)
    spec = "ctrl-p,ctrl-q";
  const char *p = spec;
  for (;;) { /* every comma-separated part, empty ones too */
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    unsigned char k;
    if (len == 1) {
      k = (unsigned char)p[0];
    } else if (len == 6 && strncasecmp(p, "ctrl-", 5) == 0) {
      char c = p[5];
      if (c >= 'a' && c <= 'z')
        k = (unsigned char)(c - 'a' + 1);
      else if (c >= 'A' && c <= 'Z')
        k = (unsigned char)(c - 'A' + 1);
      else if (c != '\0' && strchr("@[\\]^_", c))
        k = (unsigned char)(c & 0x1f);
      else
        return -1;
    } else {
      return -1;
    }
    if (d->n_keys == ST_DETACH_KEYS_MAX)
      return -1;
    d->keys[d->n_keys++] = k;
    if (end == NULL)
      return 0;
    p = end + 1;
  }
}

size_t st_detach_filter(st_detach *d, const unsigned char *in, size_t n,
                        unsigned char *out, bool *detached) {
  size_t o = 0;
  *detached = false;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == d->keys[d->matched]) {
      if (++d->matched == d->n_keys) {
        d->matched = 0;
        *detached = true;
        return o;
      }
      continue;
    }
    /* not the sequence after all: what was held back goes first */
    memcpy(out + o, d->keys, d->matched);
    o += d->matched;
    d->matched = 0;
    if (in[i] == d->keys[0]) {
      d->matched = 1;
      continue;
    }
    out[o++] = in[i];
  }
  return o;
}
