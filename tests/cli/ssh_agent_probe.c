/* A minimal SSH agent client for tests/cli/build_ssh.bats, compiled static
 * and bind-mounted into a RUN: it connects to $SSH_AUTH_SOCK, asks the
 * agent for its identities (SSH_AGENTC_REQUEST_IDENTITIES) and prints
 * "keys: N" and then one "comment: C" line per key. Only a real agent at
 * the other end of the socket can answer this. Exit 1 on any failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_full(int fd, unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = read(fd, p, n);
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

int main(void) {
  const char *path = getenv("SSH_AUTH_SOCK");
  if (path == NULL ||
      strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    fprintf(stderr, "probe: SSH_AUTH_SOCK unset or too long\n");
    return 1;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("probe: connect");
    return 1;
  }
  static const unsigned char req[] = {0, 0, 0, 1, 11};
  unsigned char hdr[4];
  if (write(fd, req, sizeof(req)) != (ssize_t)sizeof(req) ||
      read_full(fd, hdr, 4) < 0) {
    perror("probe: agent");
    return 1;
  }
  uint32_t len = be32(hdr);
  if (len < 5 || len > (1u << 20))
    return 1;
  unsigned char *msg = malloc(len);
  if (msg == NULL || read_full(fd, msg, len) < 0 || msg[0] != 12)
    return 1;
  uint32_t n = be32(msg + 1);
  printf("keys: %u\n", n);
  size_t off = 5;
  for (uint32_t i = 0; i < n; i++) {
    if (off + 4 > len)
      return 1;
    off += 4 + be32(msg + off); /* the key blob */
    if (off + 4 > len)
      return 1;
    uint32_t clen = be32(msg + off);
    off += 4;
    if (off + clen > len)
      return 1;
    printf("comment: %.*s\n", (int)clen, (const char *)msg + off);
    off += clen;
  }
  return 0;
}
