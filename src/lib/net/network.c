/* User-visible networks: predefined rows, create/remove/prune, inspect. */
#include "net/network.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fmt/units.h"
#include "net/addr.h"
#include "net/link.h"
#include "store/containers.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

bool st_network_predefined(const char *name) {
  return strcmp(name, "bridge") == 0 || strcmp(name, "host") == 0 ||
         strcmp(name, "none") == 0;
}

static int new_id(char id[ST_NETWORK_ID_LEN], st_error **err) {
  unsigned char r[32];
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    return st_error_errno(err, errno, "network ID");
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(id + 2 * i, 3, "%02x", r[i]);
  return 0;
}

static bool overlaps(uint32_t a, int pa, uint32_t b, int pb) {
  int p = pa < pb ? pa : pb;
  return (a & st_ipv4_mask(p)) == (b & st_ipv4_mask(p));
}

/* EEXIST when net/prefix overlaps a network of nets. */
static int check_overlap(const st_network *nets, size_t n, uint32_t net,
                         int prefix, const char *text, st_error **err) {
  for (size_t i = 0; i < n; i++) {
    uint32_t b;
    int pb;
    if (st_ipv4_parse_cidr(nets[i].subnet, &b, &pb) == 0 &&
        overlaps(net, prefix, b, pb))
      return st_error_set(err, EEXIST,
                          "invalid pool request: Pool overlaps with other "
                          "one on this address space (%s overlaps network "
                          "%s's %s)",
                          text, nets[i].name, nets[i].subnet);
  }
  return 0;
}

/* Docker's order: 172.17-31.0.0/16, then 192.168.0-240.0/20. */
static int pick_subnet(const st_network *nets, size_t n, char out[32],
                       st_error **err) {
  for (int i = 0; i < 15 + 16; i++) {
    uint32_t net =
        i < 15 ? (172u << 24) | ((17u + (uint32_t)i) << 16)
               : (192u << 24) | (168u << 16) | ((uint32_t)(i - 15) * 16u << 8);
    int prefix = i < 15 ? 16 : 20;
    if (check_overlap(nets, n, net, prefix, "", NULL) < 0 ||
        st_net_subnet_routed(htonl(net), prefix, ST_DEFAULT_BRIDGE))
      continue;
    char a[16];
    snprintf(out, 32, "%s/%d", st_ipv4_format(net, a), prefix);
    return 0;
  }
  return st_error_set(err, ENOSPC,
                      "could not find an available, non-overlapping IPv4 "
                      "address pool among the defaults to assign to the "
                      "network");
}

static int insert_predefined(st_store *s, const char *name, const char *driver,
                             const char *bridge, const char *subnet,
                             const char *gw, st_error **err) {
  st_network n = {.name = (char *)name,
                  .driver = (char *)driver,
                  .bridge = (char *)bridge,
                  .subnet = (char *)subnet,
                  .gateway = (char *)gw,
                  .labels = (char *)"{}",
                  .created = st_now_ns()};
  if (new_id(n.id, err) < 0)
    return -1;
  st_error *e = NULL;
  if (st_network_insert(s, &n, &e) < 0 && e->code != EEXIST) {
    return st_error_give(err, e);
  }
  st_error_free(e);
  return 0;
}

int st_networks_ensure_default(st_store *s, st_error **err) {
  st_network n;
  st_error *e = NULL;
  if (st_network_get(s, "bridge", &n, &e) == 0) {
    st_network_clear(&n);
    return 0;
  }
  st_error_free(e);
  if (st_tx_begin(s, err) < 0)
    return -1;
  st_network *all = NULL;
  size_t count = 0;
  char subnet[32], gw[16];
  uint32_t net;
  int prefix;
  if (st_network_list(s, &all, &count, err) < 0 ||
      pick_subnet(all, count, subnet, err) < 0 ||
      st_ipv4_parse_cidr(subnet, &net, &prefix) < 0 ||
      insert_predefined(s, "bridge", "bridge", ST_DEFAULT_BRIDGE, subnet,
                        st_ipv4_format(net + 1, gw), err) < 0 ||
      insert_predefined(s, "host", "host", "", "", "", err) < 0 ||
      insert_predefined(s, "none", "null", "", "", "", err) < 0 ||
      st_tx_commit(s, err) < 0) {
    st_networks_free(all, count);
    st_tx_rollback(s);
    return st_error_wrap(err, "create the default networks");
  }
  st_networks_free(all, count);
  return 0;
}

static bool valid_name(const char *n) {
  size_t len = strlen(n);
  return len >= 1 && len <= 64 &&
         strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789_.-") == len &&
         n[0] != '_' && n[0] != '.' && n[0] != '-';
}

static char *labels_json(char *const *labels, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++) {
    const char *eq = strchr(labels[i], '=');
    cleanup_free char *k =
        eq ? strndup(labels[i], (size_t)(eq - labels[i])) : strdup(labels[i]);
    if (k)
      json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
  }
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(o);
  return text;
}

/* Fills subnet/gateway text from the spec (or picks them). */
static int plan_addresses(const st_network_spec *sp, const st_network *nets,
                          size_t n, char subnet[32], char gw[16],
                          st_error **err) {
  uint32_t net, g;
  int prefix;
  if (sp->subnet == NULL) {
    if (sp->gateway)
      return st_error_set(err, EINVAL,
                          "--gateway needs --subnet (no subnet to put "
                          "gateway %s in)",
                          sp->gateway);
    if (pick_subnet(nets, n, subnet, err) < 0)
      return -1;
  } else {
    if (st_ipv4_parse_cidr(sp->subnet, &net, &prefix) < 0)
      return st_error_set(err, EINVAL,
                          "invalid subnet %s: give an IPv4 network in CIDR "
                          "form, e.g. 10.10.0.0/24",
                          sp->subnet);
    if (prefix > 30)
      return st_error_set(err, EINVAL,
                          "invalid subnet %s: a /%d has no room for "
                          "containers (at most /30)",
                          sp->subnet, prefix);
    char a[16];
    snprintf(subnet, 32, "%s/%d", st_ipv4_format(net, a), prefix);
    if (check_overlap(nets, n, net, prefix, subnet, err) < 0)
      return -1;
  }
  if (st_ipv4_parse_cidr(subnet, &net, &prefix) < 0)
    return st_error_set(err, EINVAL, "invalid subnet %s", subnet);
  if (sp->gateway == NULL) {
    st_ipv4_format(net + 1, gw);
    return 0;
  }
  if (st_ipv4_parse(sp->gateway, &g) < 0)
    return st_error_set(err, EINVAL, "invalid gateway %s: not an IPv4 address",
                        sp->gateway);
  if ((g & st_ipv4_mask(prefix)) != net || g == net ||
      g == (net | ~st_ipv4_mask(prefix)))
    return st_error_set(err, EINVAL,
                        "no matching subnet for gateway %s (a host address "
                        "of %s is needed)",
                        sp->gateway, subnet);
  st_ipv4_format(g, gw);
  return 0;
}

int st_network_create(st_store *s, const st_network_spec *sp,
                      char id[ST_NETWORK_ID_LEN], st_error **err) {
  if (sp->driver && strcmp(sp->driver, "bridge") != 0)
    return st_error_set(err, EINVAL,
                        "plugin \"%s\" not found (strata has the bridge "
                        "driver only)",
                        sp->driver);
  if (!valid_name(sp->name))
    return st_error_set(err, EINVAL,
                        "invalid network name \"%s\": only "
                        "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                        sp->name);
  if (st_network_predefined(sp->name))
    return st_error_set(err, EPERM,
                        "operation is not permitted on predefined %s "
                        "network",
                        sp->name);
  if (st_networks_ensure_default(s, err) < 0 || new_id(id, err) < 0 ||
      st_tx_begin(s, err) < 0)
    return -1;
  st_network *all = NULL;
  size_t count = 0;
  char subnet[32], gw[16], bridge[IFNAMSIZ];
  snprintf(bridge, sizeof(bridge), "br-%.12s", id);
  cleanup_free char *labels = labels_json(sp->labels, sp->n_labels);
  st_network n = {.name = (char *)sp->name,
                  .driver = (char *)"bridge",
                  .bridge = bridge,
                  .subnet = subnet,
                  .gateway = gw,
                  .internal = sp->internal,
                  .labels = labels,
                  .created = st_now_ns()};
  memcpy(n.id, id, ST_NETWORK_ID_LEN);
  int r = -1;
  if (labels == NULL)
    st_error_errno(err, ENOMEM, "labels");
  else if (st_network_list(s, &all, &count, err) == 0 &&
           plan_addresses(sp, all, count, subnet, gw, err) == 0 &&
           st_network_insert(s, &n, err) == 0 && st_tx_commit(s, err) == 0)
    r = 0;
  if (r < 0)
    st_tx_rollback(s);
  st_networks_free(all, count);
  return r;
}

static int remove_one(st_store *s, const st_network *n, st_error **err) {
  if (st_network_delete(s, n, err) < 0)
    return -1;
  st_error *e = NULL;
  if (*n->bridge && if_nametoindex(n->bridge) != 0 &&
      st_net_link_delete(n->bridge, &e) < 0)
    st_error_free(e); /* a leftover device: system check --repair */
  return 0;
}

int st_network_remove(st_store *s, const char *ref, st_error **err) {
  st_network n;
  if (st_networks_ensure_default(s, err) < 0 ||
      st_network_get(s, ref, &n, err) < 0)
    return -1;
  int r;
  if (st_network_predefined(n.name))
    r = st_error_set(err, EPERM,
                     "%s is a pre-defined network and cannot be removed",
                     n.name);
  else
    r = remove_one(s, &n, err);
  st_network_clear(&n);
  return r;
}

int st_networks_prune(st_store *s, char ***names, size_t *n_out,
                      st_error **err) {
  st_network *all = NULL;
  size_t count = 0;
  *names = NULL;
  *n_out = 0;
  if (st_network_list(s, &all, &count, err) < 0)
    return -1;
  char **v = calloc(count + 1, sizeof(char *));
  size_t len = 0;
  for (size_t i = 0; v && i < count; i++) {
    st_error *e = NULL;
    if (st_network_predefined(all[i].name))
      continue;
    if (remove_one(s, &all[i], &e) < 0) { /* in use */
      st_error_free(e);
      continue;
    }
    v[len++] = strdup(all[i].name);
  }
  st_networks_free(all, count);
  if (v == NULL)
    return st_error_errno(err, ENOMEM, "prune networks");
  *names = v;
  *n_out = len;
  return 0;
}

static json_t *containers_json(st_store *s, const st_network *n) {
  json_t *o = json_object();
  st_net_attach *v = NULL;
  size_t count = 0;
  st_error *e = NULL;
  if (st_net_attach_list(s, n->id, NULL, &v, &count, &e) < 0) {
    st_error_free(e);
    return o;
  }
  uint32_t net;
  int prefix = 0;
  st_ipv4_parse_cidr(n->subnet, &net, &prefix);
  for (size_t i = 0; i < count; i++) {
    st_container c;
    if (st_container_find(s, v[i].container, &c, &e) < 0) {
      st_error_free(e);
      e = NULL;
      continue;
    }
    char a[16], cidr[24];
    snprintf(cidr, sizeof(cidr), "%s/%d", st_ipv4_format(v[i].ip, a), prefix);
    json_object_set_new(o, c.id,
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "Name", c.name,
                                  "EndpointID", "", "MacAddress", "",
                                  "IPv4Address", cidr, "IPv6Address", ""));
    st_container_clear(&c);
  }
  st_net_attaches_free(v, count);
  return o;
}

json_t *st_network_json(st_store *s, const st_network *n) {
  cleanup_free char *created = st_format_rfc3339nano(
      n->created / 1000000000, (int32_t)(n->created % 1000000000));
  json_t *config = json_array();
  if (*n->subnet)
    json_array_append_new(config, json_pack("{s:s, s:s}", "Subnet", n->subnet,
                                            "Gateway", n->gateway));
  json_t *labels = json_loads(n->labels, 0, NULL);
  json_t *opts = json_object();
  if (*n->bridge)
    json_object_set_new(opts, "com.docker.network.bridge.name",
                        json_string(n->bridge));
  return json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:n, s:o}, s:b, s:b, s:b, "
      "s:{s:s}, s:b, s:o, s:o, s:o}",
      "Name", n->name, "Id", n->id, "Created", created ? created : "", "Scope",
      "local", "Driver", n->driver, "EnableIPv6", 0, "IPAM", "Driver",
      "default", "Options", "Config", config, "Internal", n->internal,
      "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "", "ConfigOnly",
      0, "Containers", containers_json(s, n), "Options", opts, "Labels",
      labels ? labels : json_object());
}
