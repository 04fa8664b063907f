/* Published ports: Docker's -p syntax and the host side of a mapping. */
#ifndef STRATA_NET_PORTS_H
#define STRATA_NET_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct st_port_map {
  char proto[4];     /* "tcp" | "udp" */
  char host_ip[16];  /* "" = every address (0.0.0.0) */
  uint16_t host_lo;  /* 0: a free port chosen at start */
  uint16_t host_hi;  /* host_lo..host_hi: choose one free port (>= lo) */
  uint16_t ctr_port; /* in the container */
} st_port_map;

/* Parses -p [IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|udp] and
 * appends one map per container port to *v (realloc'd). EINVAL with
 * Docker's message. */
int st_ports_parse(const char *spec, st_port_map **v, size_t *n,
                   st_error **err);

/* Parses an image's ExposedPorts key "80/tcp" (or "80-82/udp") into maps
 * with random host ports (-P). */
int st_ports_exposed(const char *key, st_port_map **v, size_t *n,
                     st_error **err);

/* Binds a socket that reserves m's host port (the first free one of its
 * range, or one the kernel picks for 0) and returns it (close-on-exec);
 * *port gets the port. EADDRINUSE: "Bind for IP:PORT failed: port is
 * already allocated". */
int st_port_reserve(const st_port_map *m, uint16_t *port, st_error **err);

#endif
