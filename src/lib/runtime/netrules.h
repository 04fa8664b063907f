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

#endif
