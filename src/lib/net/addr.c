/* IPv4 text <-> numbers. inet_pton alone accepts what Docker accepts
 * ("10.0.0.1"; no shorthand such as "10.1"). */
#include "net/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int st_ipv4_parse(const char *text, uint32_t *out) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1)
    return -1;
  *out = ntohl(a.s_addr);
  return 0;
}

uint32_t st_ipv4_mask(int prefix) {
  return prefix <= 0    ? 0
         : prefix >= 32 ? 0xffffffffu
                        : 0xffffffffu << (32 - prefix);
}

int st_ipv4_parse_cidr(const char *text, uint32_t *net, int *prefix) {
  const char *slash = strchr(text, '/');
  if (slash == NULL || slash - text > 15 || slash[1] == '\0')
    return -1;
  char addr[16];
  memcpy(addr, text, (size_t)(slash - text));
  addr[slash - text] = '\0';
  char *end = NULL;
  long p = strtol(slash + 1, &end, 10);
  if (*end || p < 0 || p > 32 || st_ipv4_parse(addr, net) < 0)
    return -1;
  *prefix = (int)p;
  *net &= st_ipv4_mask(*prefix);
  return 0;
}

char *st_ipv4_format(uint32_t a, char buf[16]) {
  snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
           a & 0xff);
  return buf;
}
