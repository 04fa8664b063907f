/* Network records: one row of `networks` per network (bridge, host, none
 * and user-defined ones) and one row of `network_addrs` per container
 * attached to a bridge network (its address there and its aliases),
 * removed with the container's row. */
#ifndef STRATA_STORE_NETWORKS_H
#define STRATA_STORE_NETWORKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define ST_NETWORK_ID_LEN 65

typedef struct st_network {
  char id[ST_NETWORK_ID_LEN]; /* 64 hex digits */
  char *name;
  char *driver;  /* bridge | host | null */
  char *bridge;  /* the bridge device ("" for host/null) */
  char *subnet;  /* "172.17.0.0/16" ("" for host/null) */
  char *gateway; /* "172.17.0.1" */
  bool internal;
  char *labels;    /* JSON object text */
  int64_t created; /* unix ns */
} st_network;

typedef struct st_net_attach {
  char network[ST_NETWORK_ID_LEN];
  char *container; /* ID */
  uint32_t ip;     /* host byte order */
  char *aliases;   /* JSON array text */
  char *name;      /* the container's name */
} st_net_attach;

void st_network_clear(st_network *n);
void st_networks_free(st_network *v, size_t n);
void st_net_attaches_free(st_net_attach *v, size_t n);

/* EEXIST: "network with name NAME already exists". */
int st_network_insert(st_store *s, const st_network *n, st_error **err);
/* By name, full ID or unique ID prefix; ENOENT "network REF not found". */
int st_network_get(st_store *s, const char *ref, st_network *out,
                   st_error **err);
int st_network_list(st_store *s, st_network **out, size_t *n, st_error **err);
/* Deletes the row; EBUSY when a container is attached. */
int st_network_delete(st_store *s, const st_network *n, st_error **err);

/* Gives container an address on network net (subnet first..last, host
 * order, skipping the gateway): want when not 0 (EEXIST when another
 * container has it), else the lowest free one (ENOSPC when none is). One
 * transaction: concurrent callers get distinct addresses. */
int st_network_attach(st_store *s, const st_network *net, const char *container,
                      uint32_t want, const char *aliases, uint32_t *ip,
                      st_error **err);
/* Removes the attachment (ENOENT when there is none). */
int st_network_detach(st_store *s, const char *net_id, const char *container,
                      st_error **err);
/* The attachments of network net_id, or of container, or all (both
 * NULL), by network then address. */
int st_net_attach_list(st_store *s, const char *net_id, const char *container,
                       st_net_attach **out, size_t *n, st_error **err);

#endif
