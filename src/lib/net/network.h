/* Networks as users see them: the predefined bridge, host and none, and
 * user-defined bridge networks (each its own bridge device, created when
 * its first container starts). Records in store/networks.h; devices
 * through net/link.h. */
#ifndef STRATA_NET_NETWORK_H
#define STRATA_NET_NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include "store/networks.h"

#define ST_DEFAULT_BRIDGE "strata0"

/* Makes the rows of bridge (ST_DEFAULT_BRIDGE, 172.17.0.0/16 unless the
 * host routes it or another network has it: then the first free /16 of
 * 172.18-31), host and none exist. */
int st_networks_ensure_default(st_store *s, st_error **err);

typedef struct st_network_spec {
  const char *name, *driver; /* driver NULL: bridge */
  const char *subnet;        /* NULL: picked as for the default */
  const char *gateway;       /* NULL: the subnet's first address */
  bool internal;
  char *const *labels; /* "k=v" */
  size_t n_labels;
} st_network_spec;

/* Creates a user-defined network; its ID goes to id. EINVAL bad input,
 * EEXIST the name is taken, or the subnet overlaps another network's. */
int st_network_create(st_store *s, const st_network_spec *spec,
                      char id[ST_NETWORK_ID_LEN], st_error **err);
/* Removes a user-defined network and its bridge device. EPERM for the
 * predefined ones, EBUSY while a container is attached. */
int st_network_remove(st_store *s, const char *ref, st_error **err);
/* Removes every user-defined network no container is attached to; their
 * names go to *names. */
int st_networks_prune(st_store *s, char ***names, size_t *n, st_error **err);

/* Docker's `network inspect` object of n. */
json_t *st_network_json(st_store *s, const st_network *n);

/* True for bridge, host and none. */
bool st_network_predefined(const char *name);

#endif
