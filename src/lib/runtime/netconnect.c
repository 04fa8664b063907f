/* `network connect` and `network disconnect` (runtime.h): a container's
 * endpoints change in the store (its address row), in its network.json
 * (what a later start plumbs) and, while it runs, in its namespace: a veth
 * made or deleted, the address and routes set from a thread that joined
 * the container's network namespace. Everything happens under the store's
 * network lock, so concurrent connects of one container see each other's
 * endpoints; a start racing a connect plumbs what network.json held when
 * it read it (the next start plumbs the rest). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/network.h"
#include "runtime/internal.h"
#include "runtime/netrules.h"
#include "runtime/netsetup.h"
#include "util/cleanup.h"
#include "util/thread.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* Docker's refusals (runconfig's errors). */
#define ERR_SHARED                                                             \
  "container sharing network namespace with another container or host "        \
  "cannot be connected to any other network"
#define ERR_NONE                                                               \
  "container cannot be connected to multiple networks with one of the "        \
  "networks in private (none) mode"
#define ERR_HOST                                                               \
  "container cannot be disconnected from host network or connected to host "   \
  "network"

/* The container being changed. */
typedef struct target {
  char id[ST_CONTAINER_ID_LEN];
  char *name;
  char *dir;
  pid_t pid; /* its first process while it runs, else 0 */
} target;

static void target_clear(target *t) {
  free(t->name);
  free(t->dir);
}

static int target_find(st_store *s, const char *ref, target *t,
                       st_error **err) {
  memset(t, 0, sizeof(*t));
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  st_container_refresh(s, &c);
  memcpy(t->id, c.id, sizeof(t->id));
  if (c.state == ST_CT_RUNNING && st_pid_alive(c.pid, c.pid_start))
    t->pid = c.pid;
  t->name = strdup(c.name);
  t->dir = st_container_dir(s, c.id);
  st_container_clear(&c);
  if (t->name == NULL || t->dir == NULL) {
    target_clear(t);
    return st_error_errno(err, ENOMEM, "network");
  }
  return 0;
}

/* The index in eps of the endpoint on network net_id, or -1. */
static int find_endpoint(json_t *eps, const char *net_id) {
  size_t i;
  json_t *ep;
  json_array_foreach(eps, i, ep) {
    const char *id = json_string_value(json_object_get(ep, "network"));
    if (id && strcmp(id, net_id) == 0)
      return (int)i;
  }
  return -1;
}

/* The lowest interface index no endpoint uses, or -1. */
static int free_index(json_t *eps) {
  bool used[ST_NET_MAX_ENDPOINTS] = {false};
  size_t i;
  json_t *ep;
  json_array_foreach(eps, i, ep) {
    json_int_t x = json_integer_value(json_object_get(ep, "index"));
    if (x >= 0 && x < ST_NET_MAX_ENDPOINTS)
      used[x] = true;
  }
  for (int k = 0; k < ST_NET_MAX_ENDPOINTS; k++)
    if (!used[k])
      return k;
  return -1;
}

/* ---- in the container's namespace ---------------------------------------- */

typedef struct ns_job {
  pid_t pid;
  int (*fn)(void *arg, st_error **err);
  void *arg;
  st_error *err;
  int rc;
} ns_job;

/* Network namespaces are per thread: this one joins the container's and
 * ends there, the rest of the process never leaves the host's. */
static void *ns_main(void *p) {
  ns_job *j = p;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)j->pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
    j->rc =
        st_error_errno(&j->err, errno, "join the network namespace %s", path);
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  close(fd);
  j->rc = j->fn(j->arg, &j->err);
  return NULL;
}

static int in_netns(pid_t pid, int (*fn)(void *, st_error **), void *arg,
                    st_error **err) {
  ns_job j = {.pid = pid, .fn = fn, .arg = arg};
  pthread_t th;
  int r = st_thread_create(&th, ns_main, &j);
  if (r != 0)
    return st_error_errno(err, r, "network namespace thread");
  pthread_join(th, NULL);
  if (j.rc < 0) {
    if (err)
      *err = j.err;
    else
      st_error_free(j.err);
  }
  return j.rc;
}

static int setup_fn(void *arg, st_error **err) {
  return st_launch_ep_setup(arg, err);
}

static int route_fn(void *arg, st_error **err) {
  const st_launch_ep *ep = arg;
  return st_net_route_default(ep->ifname, ep->gw, err);
}

/* Gives the running container the interface of endpoint ep. */
static int plumb(st_store *s, const target *t, json_t *ep, st_error **err) {
  st_launch_net ln;
  if (st_launch_net_load(t->dir, t->id, &ln, err) < 0)
    return -1;
  st_launch_ep e;
  if (st_ct_net_ep_load(ep, t->id, &e) < 0)
    return st_error_set(err, EIO, "network connect: bad endpoint");
  /* the new endpoint is the last one: the default route is its only when
   * no endpoint before it carries one */
  for (size_t i = 0; i < ln.n_ep; i++)
    if (strcmp(ln.ep[i].host_if, e.host_if) == 0)
      e.route = ln.ep[i].route;
  if (st_launch_ep_bridge(&e, err) < 0 || st_net_rules_ensure(s, err) < 0 ||
      st_launch_ep_veth(&e, t->pid, err) < 0)
    return -1;
  if (in_netns(t->pid, setup_fn, &e, err) < 0) {
    (void)st_net_link_drop(e.host_if, NULL);
    return -1;
  }
  return 0;
}

/* ---- connect ---------------------------------------------------------------
 */

static int check_connect(json_t *cfg, const st_network *net, const target *t,
                         const st_net_connect_opts *o, st_error **err) {
  const char *mode = json_string_value(json_object_get(cfg, "mode")) ?: "";
  if (strcmp(mode, "bridge") != 0 && strcmp(mode, "none") != 0)
    return st_error_set(err, EINVAL, ERR_SHARED);
  if (strcmp(net->driver, "host") == 0)
    return st_error_set(err, EINVAL, ERR_SHARED);
  if (strcmp(mode, "none") == 0 || strcmp(net->driver, "null") == 0)
    return st_error_set(err, EINVAL, ERR_NONE);
  json_t *eps = json_object_get(cfg, "endpoints");
  if (find_endpoint(eps, net->id) >= 0)
    return st_error_set(err, EEXIST,
                        "endpoint with name %s already exists in network %s",
                        t->name, net->name);
  return st_ct_net_check_user(net, o->ip != NULL, o->n_aliases > 0, err);
}

static int connect_locked(st_store *s, const target *t, const st_network *net,
                          const st_net_connect_opts *o, st_error **err) {
  cleanup_json json_t *cfg = st_ct_net_config_load(t->dir);
  if (cfg == NULL)
    return st_error_set(err, EIO,
                        "container %s has no network configuration "
                        "(`%s/network.json`)",
                        t->name, t->dir);
  if (check_connect(cfg, net, t, o, err) < 0)
    return -1;
  uint32_t want = 0;
  if (o->ip && st_ct_net_check_ip(o->ip, net, &want, err) < 0)
    return -1;
  json_t *eps = json_object_get(cfg, "endpoints");
  int index = free_index(eps);
  if (index < 0)
    return st_error_set(err, ENOSPC,
                        "container %s is on %d networks, the most strata "
                        "supports",
                        t->name, ST_NET_MAX_ENDPOINTS);
  json_t *aliases = json_array();
  for (size_t i = 0; i < o->n_aliases; i++)
    json_array_append_new(aliases, json_string(o->aliases[i]));
  cleanup_free char *atext = json_dumps(aliases, JSON_COMPACT);
  json_t *ep = st_ct_net_endpoint(net, aliases, index);
  uint32_t ip;
  if (ep == NULL || atext == NULL) {
    json_decref(ep);
    return st_error_errno(err, ENOMEM, "network connect");
  }
  json_array_append_new(eps, ep);
  if (st_network_attach(s, net, t->id, want, atext, &ip, err) < 0)
    return -1;
  char a[16];
  json_object_set_new(ep, "ip", json_string(st_ipv4_format(ip, a)));
  if (st_ct_net_config_save(t->dir, cfg, err) < 0 ||
      (t->pid > 0 && plumb(s, t, ep, err) < 0)) {
    /* undone: the address row, then the endpoint */
    st_error *ignored = NULL;
    if (st_network_detach(s, net->id, t->id, &ignored) < 0)
      st_error_free(ignored);
    json_array_remove(eps, json_array_size(eps) - 1);
    if (st_ct_net_config_save(t->dir, cfg, &ignored) < 0)
      st_error_free(ignored);
    return -1;
  }
  st_ct_net_refresh_hosts_locked(s, net->id);
  return 0;
}

int st_container_net_connect(st_store *s, const char *ref, const char *netref,
                             const st_net_connect_opts *o, st_error **err) {
  st_network net;
  memset(&net, 0, sizeof(net));
  if (st_networks_ensure_default(s, err) < 0 ||
      st_network_get(s, netref, &net, err) < 0)
    return -1;
  target t;
  if (target_find(s, ref, &t, err) < 0) {
    st_network_clear(&net);
    return -1;
  }
  cleanup_close int lock = st_ct_net_lock(s);
  int r = connect_locked(s, &t, &net, o, err);
  st_network_clear(&net);
  target_clear(&t);
  return r;
}

/* ---- disconnect ------------------------------------------------------------
 */

/* The running container lost endpoint gone: when the default route went
 * through it, the next endpoint that may route gets it (as Docker moves
 * the gateway). */
static void reroute(const target *t, const st_launch_ep *gone) {
  if (!gone->route)
    return;
  st_launch_net ln;
  st_error *e = NULL;
  if (st_launch_net_load(t->dir, t->id, &ln, &e) < 0) {
    st_error_free(e);
    return;
  }
  for (size_t i = 0; i < ln.n_ep; i++)
    if (ln.ep[i].route && in_netns(t->pid, route_fn, &ln.ep[i], &e) < 0) {
      st_error_free(e);
      e = NULL;
    }
}

static int disconnect_locked(st_store *s, const target *t, const char *netref,
                             const st_network *net, st_error **err) {
  cleanup_json json_t *cfg = st_ct_net_config_load(t->dir);
  const char *mode = json_string_value(json_object_get(cfg, "mode")) ?: "";
  if (net && strcmp(net->driver, "host") == 0 && strcmp(mode, "host") == 0)
    return st_error_set(err, EINVAL, ERR_HOST);
  json_t *eps = json_object_get(cfg, "endpoints");
  int at = -1;
  if (net)
    at = find_endpoint(eps, net->id);
  else { /* force, the network is gone: its endpoint by name */
    size_t i;
    json_t *ep;
    json_array_foreach(eps, i, ep) {
      const char *name = json_string_value(json_object_get(ep, "name"));
      if (name && strcmp(name, netref) == 0)
        at = (int)i;
    }
  }
  if (at < 0 && net) {
    /* a connect killed between its address row and network.json left the
     * row alone: disconnecting removes it */
    st_error *e = NULL;
    if (st_network_detach(s, net->id, t->id, &e) == 0) {
      st_ct_net_refresh_hosts_locked(s, net->id);
      return 0;
    }
    st_error_free(e);
  }
  if (at < 0)
    return st_error_set(err, ENOENT,
                        "container %s is not connected to network %s", t->id,
                        net ? net->name : netref);
  json_t *ep = json_array_get(eps, (size_t)at);
  char net_id[ST_NETWORK_ID_LEN];
  snprintf(net_id, sizeof(net_id), "%s",
           json_string_value(json_object_get(ep, "network")) ?: "");
  st_launch_ep gone;
  memset(&gone, 0, sizeof(gone));
  bool live = false;
  if (t->pid > 0) {
    st_launch_net ln;
    st_error *e = NULL;
    if (st_launch_net_load(t->dir, t->id, &ln, &e) < 0)
      st_error_free(e);
    else if (st_ct_net_ep_load(ep, t->id, &gone) == 0)
      for (size_t i = 0; i < ln.n_ep; i++)
        if (strcmp(ln.ep[i].host_if, gone.host_if) == 0) {
          gone = ln.ep[i];
          live = true;
        }
  }
  json_array_remove(eps, (size_t)at);
  if (st_ct_net_config_save(t->dir, cfg, err) < 0)
    return -1;
  st_error *e = NULL;
  if (st_network_detach(s, net_id, t->id, &e) < 0) {
    if (e && e->code != ENOENT && err) {
      *err = e;
      return -1;
    }
    st_error_free(e);
  }
  if (live) {
    /* deleting the host end deletes the pair */
    if (st_net_link_drop(gone.host_if, err) < 0)
      return -1;
    reroute(t, &gone);
  }
  st_ct_net_refresh_hosts_locked(s, net_id);
  /* the container's own hosts file forgets the network's members */
  st_ct_net_refresh_container_hosts(s, t->id);
  return 0;
}

int st_container_net_disconnect(st_store *s, const char *ref,
                                const char *netref, bool force,
                                st_error **err) {
  st_network net;
  memset(&net, 0, sizeof(net));
  st_error *nerr = NULL;
  bool found = st_networks_ensure_default(s, err) == 0 &&
               st_network_get(s, netref, &net, &nerr) == 0;
  if (!found && (!force || nerr == NULL)) {
    if (nerr) {
      (void)st_error_give(err, nerr);
    }
    return -1;
  }
  st_error_free(nerr);
  target t;
  if (target_find(s, ref, &t, err) < 0) {
    st_network_clear(&net);
    return -1;
  }
  cleanup_close int lock = st_ct_net_lock(s);
  int r = disconnect_locked(s, &t, netref, found ? &net : NULL, err);
  st_network_clear(&net);
  target_clear(&t);
  return r;
}
