/* Links, addresses and routes through rtnetlink (libmnl): what a bridged
 * container needs, without running `ip`. IPv4 only. Addresses are in
 * network byte order (struct in_addr's s_addr). Every function acts in the
 * network namespace of the calling thread. */
#ifndef STRATA_NET_LINK_H
#define STRATA_NET_LINK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

/* Makes bridge `name` exist, hold addr/prefix and be up. Each part that
 * is already so is left alone, so concurrent callers all succeed. */
int st_net_bridge_ensure(const char *name, uint32_t addr, int prefix,
                         st_error **err);

/* Creates the veth pair host_name <-> peer_name, the peer created straight
 * in the network namespace of process peer_pid (named peer_name there),
 * the host end enslaved to bridge master (when not NULL) and up. */
int st_net_veth_create(const char *host_name, const char *peer_name,
                       pid_t peer_pid, const char *master, st_error **err);

/* Deletes link name; ENOENT when there is none. */
int st_net_link_delete(const char *name, st_error **err);
/* st_net_link_delete where a link already gone is no error. */
int st_net_link_drop(const char *name, st_error **err);

/* Sets link name up. */
int st_net_link_up(const char *name, st_error **err);

/* Adds addr/prefix to link name (EEXIST when it has it already). */
int st_net_addr_add(const char *name, uint32_t addr, int prefix,
                    st_error **err);

/* Adds the default route via gateway gw on link name. */
int st_net_route_default(const char *name, uint32_t gw, st_error **err);

/* What a bridge needs from the host: route_localnet on it (published
 * ports reached on 127.0.0.1 are forwarded to it) and, when forward,
 * IPv4 forwarding (outbound traffic), as Docker sets them. */
int st_net_bridge_sysctls(const char *bridge, bool forward, st_error **err);

/* Calls fn for each link whose name starts with prefix (on a snapshot of
 * the list, so fn may delete it). */
int st_net_links_with_prefix(const char *prefix,
                             void (*fn)(const char *name, void *arg), void *arg,
                             st_error **err);

/* True when some route of the main table other than a default route
 * overlaps net/prefix (Docker's check before it takes a subnet); routes
 * through device ignore (strata's own bridge; may be NULL) do not count. */
bool st_net_subnet_routed(uint32_t net, int prefix, const char *ignore);

#endif
