/* Private to src/lib/runtime: a container's networking. At create, the
 * network is resolved and (bridge networks) an address allocated in the
 * store; what the starting process needs is written to
 * <bundle>/network.json, since the detached monitor must not open the
 * database. The container's /etc/hosts, /etc/hostname and
 * /etc/resolv.conf are files of the bundle, bind-mounted; hosts files of
 * the containers of a user-defined network list each other and are
 * rewritten in place when a member is created or removed. */
#ifndef STRATA_RUNTIME_NETSETUP_H
#define STRATA_RUNTIME_NETSETUP_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/ports.h"
#include "runtime/runtime.h"
#include "store/networks.h"

typedef enum st_net_mode {
  ST_NET_NONE,
  ST_NET_HOST,
  ST_NET_BRIDGE,
  ST_NET_CONTAINER, /* --network container:NAME: the donor's namespace */
} st_net_mode;

/* What create resolved. */
typedef struct st_ct_net {
  st_net_mode mode;
  st_network net;     /* the bridge network (mode bridge) */
  uint32_t want_ip;   /* --ip, host order; 0: any */
  st_port_map *ports; /* -p and -P */
  size_t n_ports;
  char donor[ST_CONTAINER_ID_LEN]; /* mode container: the donor's ID */
} st_ct_net;

void st_ct_net_clear(st_ct_net *n);

/* Resolves o's network flags (EINVAL with Docker's message for a bad
 * combination, ENOENT for an unknown network); image_config (the image's
 * "config" object) gives -P its ports. */
int st_ct_net_resolve(st_store *s, const st_create_opts *o,
                      json_t *image_config, st_ct_net *out, st_error **err);

/* Writes <dir>/hostname, resolv.conf and hosts (without the container's
 * own address, which attach adds), and network.json; only network.json
 * in mode container (the container has the donor's files). */
int st_ct_net_write_files(const st_create_opts *o, const st_ct_net *n,
                          const char *dir, const char *hostname,
                          const char *name, st_error **err);

/* After the container's row exists: allocates its address on a bridge
 * network, records it in network.json and rewrites the hosts files of the
 * network's containers. Nothing for none/host. */
int st_ct_net_attach(st_store *s, const st_create_opts *o, st_ct_net *n,
                     const char *id, const char *dir, st_error **err);

/* The networks container id is attached to (IDs, malloc'd), read before
 * its row goes; st_ct_net_refresh_hosts after it went. */
int st_ct_net_of(st_store *s, const char *id, char ***nets, size_t *n);
/* Rewrites the hosts file of every container of network net_id. */
void st_ct_net_refresh_hosts(st_store *s, const char *net_id);

/* inspect's NetworkSettings of the container of bundle dir, and its
 * HostConfig.NetworkMode in *mode (malloc). */
json_t *st_ct_net_inspect(const char *dir, bool host_ns, bool running,
                          char **mode);

/* At most this many bridge networks per container (eth0..eth15: the host
 * end's name has one character for the interface's index). */
#define ST_NET_MAX_ENDPOINTS 16

/* One bridged interface of a container, from network.json. */
typedef struct st_launch_ep {
  char bridge[IFNAMSIZ];  /* the network's bridge on the host */
  char host_if[IFNAMSIZ]; /* the host end: "stv" + 11 hex of the ID + index */
  char ifname[IFNAMSIZ];  /* in the container: eth<index> */
  uint32_t addr, gw;      /* network byte order */
  int prefix;
  bool internal; /* an --internal network: no outbound route */
  bool route;    /* the default route goes through it (one endpoint) */
} st_launch_ep;

/* What the starting process does (launch.h), from network.json. */
typedef struct st_launch_net {
  bool on;       /* one or more veths on bridges */
  int *port_fds; /* sockets holding the published host ports */
  size_t n_port_fds;
  st_launch_ep ep[ST_NET_MAX_ENDPOINTS];
  size_t n_ep;
} st_launch_net;

/* Reads <dir>/network.json; ln->on false when the container has no bridge
 * network (or the file is absent: a container made before networks). The
 * default route goes through the first endpoint not on an --internal
 * network. */
int st_launch_net_load(const char *dir, const char *id, st_launch_net *ln,
                       st_error **err);
/* Binds every published host port (kept in ln->port_fds while the
 * container runs: no other process, strata's or not, can take them) and
 * writes what was bound to <dir>/ports.json. Docker's message for a taken
 * port. */
int st_launch_ports_reserve(const char *dir, st_launch_net *ln, st_error **err);
/* Makes endpoint ep's veth pair: the host end on its bridge, the other end
 * created as ep->ifname in the network namespace of process pid. A host
 * end of the same name left by an earlier run whose namespace the kernel
 * has not freed yet is deleted first. */
int st_launch_ep_veth(const st_launch_ep *ep, pid_t pid, st_error **err);
/* In the container's namespace (the calling thread's): ep's address, link
 * up and, when ep->route, the default route. */
int st_launch_ep_setup(const st_launch_ep *ep, st_error **err);
/* Makes the bridge of ep exist and the host's sysctls it needs. */
int st_launch_ep_bridge(const st_launch_ep *ep, st_error **err);
/* Closes the reserved ports and removes <dir>/ports.json. */
void st_launch_net_release(const char *dir, st_launch_net *ln);

/* The published ports of a running container of bundle dir, as Docker's
 * NetworkSettings.Ports object ({"80/tcp": [{"HostIp", "HostPort"}]}),
 * with every requested port (null when not bound now). */
json_t *st_ct_ports_json(const char *dir, bool running);
/* HostConfig.PortBindings of the container of bundle dir. */
json_t *st_ct_port_bindings_json(const char *dir);
/* True when the container of bundle dir publishes ports. */
bool st_ct_publishes(const char *dir);
/* True when the container of bundle dir is on a bridge network. */
bool st_ct_bridged(const char *dir);

/* ---- network.json, for `network connect` (netconnect.c) ---- */

/* <dir>/network.json with its endpoints as an array (that of a container
 * made before connect existed converted); NULL when absent or bad. */
json_t *st_ct_net_config_load(const char *dir);
/* Rewrites <dir>/network.json in place. */
int st_ct_net_config_save(const char *dir, json_t *cfg, st_error **err);
/* An endpoint of network.json: net, aliases (stolen), interface index. */
json_t *st_ct_net_endpoint(const st_network *net, json_t *aliases, int index);
/* The names of a container's interface index: the host end and ethN. */
void st_ct_net_ifnames(const char *id, int index, char host_if[IFNAMSIZ],
                       char ifname[IFNAMSIZ]);
/* Reads endpoint ep of network.json (of container id) into out; -1 when
 * it is not usable. Its route is left false. */
int st_ct_net_ep_load(json_t *ep, const char *id, st_launch_ep *out);
/* --ip on network net: an address of its subnet, not the gateway's. */
int st_ct_net_check_ip(const char *text, const st_network *net, uint32_t *ip,
                       st_error **err);
/* Docker's refusals of --ip and --alias on a network that is not
 * user-defined (net NULL: no bridge network at all). */
int st_ct_net_check_user(const st_network *net, bool ip, bool aliases,
                         st_error **err);
/* Holds <root>/network.lock (returns its fd, -1 on failure) while hosts
 * files and endpoints change. */
int st_ct_net_lock(st_store *s);
/* Rewrites the hosts file of container id from the members of every
 * user-defined network it is on (the lock held). */
void st_ct_net_refresh_container_hosts(st_store *s, const char *id);
/* st_ct_net_refresh_hosts with the lock already held. */
void st_ct_net_refresh_hosts_locked(st_store *s, const char *net_id);

#endif
