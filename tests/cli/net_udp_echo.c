/* A UDP echo server for tests/cli/network.bats (busybox's nc has no -u
 * here): udp_echo PORT answers every datagram with "echo:" + its bytes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)atoi(argv[1]))};
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
    perror("bind");
    return 1;
  }
  for (;;) {
    char buf[1024], out[1100];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    if (n < 0)
      return 1;
    int m = snprintf(out, sizeof(out), "echo:%.*s", (int)n, buf);
    sendto(s, out, (size_t)m, 0, (struct sockaddr *)&from, fl);
  }
}
