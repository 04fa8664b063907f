/* strata's nftables table, made from the store (netrules.c). */
#ifndef STRATA_RUNTIME_NETRULES_H
#define STRATA_RUNTIME_NETRULES_H

#include "store/store.h"

/* Replaces `table ip strata` with the rules of the current networks and
 * of the published ports of running containers. */
int st_net_rules_rebuild(st_store *s, st_error **err);

/* Rebuilds unless this store already did since boot (a bridged container
 * without published ports needs only the network rules, which change
 * with networks, not containers). */
int st_net_rules_ensure(st_store *s, st_error **err);

/* After the container of bundle dir started or stopped: a rebuild when it
 * publishes ports, st_net_rules_ensure when it is on a bridge network,
 * nothing otherwise. */
int st_net_rules_container(st_store *s, const char *dir, st_error **err);

/* What `system check` finds of strata's networking left behind by a
 * crash: host ends of veth pairs ("stv" + 11 hex digits of a container ID + an
 * index) whose container is not running, and a table whose rules (published
 * ports, networks) differ from what the store's state asks for. */
typedef struct st_net_check {
  char **links; /* stale interface names */
  size_t n_links;
  bool rules_stale;
} st_net_check;
int st_net_check_run(st_store *s, st_net_check *out, st_error **err);
/* Deletes the stale links and rebuilds the table when it is stale. */
int st_net_check_repair(st_store *s, const st_net_check *c, st_error **err);
void st_net_check_clear(st_net_check *c);

#endif
