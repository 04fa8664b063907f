/* -p parsing (Docker's nat.ParsePortSpec rules) and port reservation. */
#include "net/ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"

/* "N" or "N-M" -> lo, hi; -1 when not a port range. */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi) {
  char *end = NULL;
  errno = 0;
  long a = strtol(s, &end, 10), b = a;
  if (end == s || errno)
    return -1;
  if (*end == '-') {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t || errno)
      return -1;
  }
  if (*end || a < 0 || a > 65535 || b < a || b > 65535)
    return -1;
  *lo = (uint16_t)a;
  *hi = (uint16_t)b;
  return 0;
}

static int push(st_port_map **v, size_t *n, const st_port_map *m,
                st_error **err) {
  st_port_map *nv = realloc(*v, (*n + 1) * sizeof(**v));
  if (nv == NULL)
    return st_error_errno(err, ENOMEM, "ports");
  nv[(*n)++] = *m;
  *v = nv;
  return 0;
}

int st_ports_parse(const char *spec, st_port_map **v, size_t *n,
                   st_error **err) {
  cleanup_free char *dup = strdup(spec);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "ports");
  st_port_map m = {.proto = "tcp"};
  char *slash = strrchr(dup, '/');
  if (slash) {
    *slash++ = '\0';
    if (strcmp(slash, "tcp") != 0 && strcmp(slash, "udp") != 0)
      return st_error_set(err, EINVAL, "invalid proto: %s", slash);
    snprintf(m.proto, sizeof(m.proto), "%s", slash);
  }
  /* split from the right: CONTAINER, then HOST, then IP */
  char *ctr = strrchr(dup, ':');
  char *host = NULL, *ip = NULL;
  if (ctr) {
    *ctr++ = '\0';
    host = strrchr(dup, ':');
    if (host) {
      *host++ = '\0';
      ip = dup;
    } else {
      host = dup;
    }
  } else {
    ctr = dup;
  }
  if (ip && *ip) {
    if (ip[0] == '[')
      return st_error_set(err, EINVAL,
                          "invalid IP address %s: strata publishes IPv4 "
                          "ports only",
                          ip);
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
      return st_error_set(err, EINVAL, "invalid IP address: %s", ip);
    snprintf(m.host_ip, sizeof(m.host_ip), "%s", ip);
    if (strcmp(m.host_ip, "0.0.0.0") == 0)
      m.host_ip[0] = '\0';
  }
  uint16_t clo, chi, hlo = 0, hhi = 0;
  if (parse_range(ctr, &clo, &chi) < 0 || clo == 0)
    return st_error_set(err, EINVAL, "invalid containerPort: %s", ctr);
  if (host && *host && parse_range(host, &hlo, &hhi) < 0)
    return st_error_set(err, EINVAL, "invalid hostPort: %s", host);
  size_t count = (size_t)(chi - clo) + 1;
  bool pick = host && *host && chi == clo && hhi > hlo;
  if (host && *host && !pick && (size_t)(hhi - hlo) + 1 != count)
    return st_error_set(err, EINVAL,
                        "invalid ranges specified for container and host "
                        "Ports: %s and %s",
                        ctr, host);
  for (size_t i = 0; i < count; i++) {
    m.ctr_port = (uint16_t)(clo + i);
    if (pick) {
      m.host_lo = hlo;
      m.host_hi = hhi;
    } else if (host && *host) {
      m.host_lo = m.host_hi = (uint16_t)(hlo + i);
    } else {
      m.host_lo = m.host_hi = 0;
    }
    if (push(v, n, &m, err) < 0)
      return -1;
  }
  return 0;
}

int st_ports_exposed(const char *key, st_port_map **v, size_t *n,
                     st_error **err) {
  cleanup_free char *dup = strdup(key);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "ports");
  st_port_map m = {.proto = "tcp"};
  char *slash = strchr(dup, '/');
  if (slash) {
    *slash++ = '\0';
    if (strcmp(slash, "udp") == 0)
      snprintf(m.proto, sizeof(m.proto), "udp");
    else if (strcmp(slash, "tcp") != 0)
      return 0; /* sctp: not published */
  }
  uint16_t lo, hi;
  if (parse_range(dup, &lo, &hi) < 0 || lo == 0)
    return st_error_set(err, EINVAL, "invalid exposed port: %s", key);
  for (uint32_t p = lo; p <= hi; p++) {
    m.ctr_port = (uint16_t)p;
    if (push(v, n, &m, err) < 0)
      return -1;
  }
  return 0;
}

static int bind_one(const st_port_map *m, uint16_t port) {
  int udp = strcmp(m->proto, "udp") == 0;
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (m->host_ip[0])
    inet_pton(AF_INET, m->host_ip, &a.sin_addr);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int st_port_reserve(const st_port_map *m, uint16_t *port, st_error **err) {
  const char *ip = m->host_ip[0] ? m->host_ip : "0.0.0.0";
  for (uint32_t p = m->host_lo; p <= m->host_hi; p++) {
    int fd = bind_one(m, (uint16_t)p);
    if (fd < 0 && (errno == EADDRINUSE || errno == EACCES) && p < m->host_hi)
      continue;
    if (fd < 0 && errno == EADDRINUSE) {
      if (m->host_lo == m->host_hi)
        return st_error_set(err, EADDRINUSE,
                            "Bind for %s:%u failed: port is already "
                            "allocated",
                            ip, (unsigned)p);
      return st_error_set(err, EADDRINUSE,
                          "Bind for %s:%u-%u failed: every port of the "
                          "range is already allocated",
                          ip, m->host_lo, m->host_hi);
    }
    if (fd < 0)
      return st_error_errno(err, errno, "bind %s:%u/%s", ip, (unsigned)p,
                            m->proto);
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
      close(fd);
      return st_error_errno(err, errno, "getsockname");
    }
    *port = ntohs(a.sin_port);
    return fd;
  }
  return st_error_set(err, EINVAL, "empty port range");
}
