/* A container's networking at create, start and removal (netsetup.h). */
#include "runtime/netsetup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/link.h"
#include "net/network.h"
#include "runtime/flags.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

void st_ct_net_clear(st_ct_net *n) {
  st_network_clear(&n->net);
  free(n->ports);
  n->ports = NULL;
  n->n_ports = 0;
  n->mode = ST_NET_NONE;
}

static bool user_defined(const st_network *n) {
  return !st_network_predefined(n->name);
}

int st_ct_net_check_ip(const char *text, const st_network *net, uint32_t *ip,
                       st_error **err) {
  uint32_t base, gw;
  int prefix;
  if (st_ipv4_parse(text, ip) < 0)
    return st_error_set(err, EINVAL, "invalid IPv4 address: %s", text);
  if (st_ipv4_parse_cidr(net->subnet, &base, &prefix) < 0 ||
      st_ipv4_parse(net->gateway, &gw) < 0)
    return st_error_set(err, EIO, "network %s: bad subnet %s", net->name,
                        net->subnet);
  uint32_t bcast = base | ~st_ipv4_mask(prefix);
  if ((*ip & st_ipv4_mask(prefix)) != base || *ip == base || *ip == bcast ||
      *ip == gw)
    return st_error_set(err, EINVAL,
                        "no configured subnet or ip-range contain the IP "
                        "address %s (network %s is %s, gateway %s)",
                        text, net->name, net->subnet, net->gateway);
  return 0;
}

int st_ct_net_check_user(const st_network *net, bool ip, bool aliases,
                         st_error **err) {
  bool user = net && strcmp(net->driver, "bridge") == 0 && user_defined(net);
  if (ip && !user)
    return st_error_set(err, EINVAL,
                        "user specified IP address is supported on user "
                        "defined networks only");
  if (aliases && !user)
    return st_error_set(err, EINVAL,
                        "network-scoped alias is supported only for "
                        "containers in user defined networks");
  return 0;
}

/* Docker's refusals for --network container:NAME (runconfig): what the
 * donor's network decides. */
static int check_container_mode(const st_create_opts *o, const char *ref,
                                st_error **err) {
  if (*ref == '\0')
    return st_error_set(err, EINVAL,
                        "invalid network mode: invalid container format "
                        "container:<name|id>");
  const char *conflict = NULL;
  if (o->hostname && *o->hostname)
    conflict = "hostname and the network mode";
  else if (o->n_dns)
    conflict = "dns and the network mode";
  else if (o->n_add_host)
    conflict = "custom host-to-IP mapping and the network mode";
  else if (o->n_publish || o->publish_all)
    conflict = "port publishing and the container type network mode";
  else if (o->n_expose)
    conflict = "port exposing and the container type network mode";
  else if (o->runtime)
    return st_error_set(err, EINVAL,
                        "--network container:NAME with --runtime is not "
                        "supported");
  if (conflict)
    return st_error_set(err, EINVAL, "conflicting options: %s", conflict);
  return 0;
}

static int check_flags(const st_create_opts *o, st_ct_net *n, st_error **err) {
  if (st_ct_net_check_user(n->mode == ST_NET_BRIDGE ? &n->net : NULL, o->ip,
                           o->n_network_aliases, err) < 0)
    return -1;
  if (n->mode == ST_NET_BRIDGE && o->runtime)
    return st_error_set(err, EINVAL,
                        "--runtime with a bridge network is not supported "
                        "yet: use --network none or host");
  if (o->ip && st_ct_net_check_ip(o->ip, &n->net, &n->want_ip, err) < 0)
    return -1;
  for (size_t i = 0; i < o->n_add_host; i++) {
    const char *h = o->add_host[i];
    const char *sep = strpbrk(h, ":=");
    struct in6_addr a6;
    if (sep == NULL || sep == h ||
        (strcmp(sep + 1, "host-gateway") != 0 &&
         inet_pton(AF_INET, sep + 1, &a6) != 1 &&
         inet_pton(AF_INET6, sep + 1, &a6) != 1))
      return st_error_set(err, EINVAL,
                          "invalid argument \"%s\" for \"--add-host\" flag: "
                          "invalid IP address in add-host: \"%s\"",
                          h, sep ? sep + 1 : "");
  }
  for (size_t i = 0; i < o->n_dns; i++) {
    struct in6_addr a6;
    if (inet_pton(AF_INET, o->dns[i], &a6) != 1 &&
        inet_pton(AF_INET6, o->dns[i], &a6) != 1)
      return st_error_set(err, EINVAL,
                          "invalid argument \"%s\" for \"--dns\" flag: %s is "
                          "not an ip address",
                          o->dns[i], o->dns[i]);
  }
  return 0;
}

static int parse_ports(const st_create_opts *o, json_t *image_config,
                       st_ct_net *n, st_error **err) {
  for (size_t i = 0; i < o->n_publish; i++)
    if (st_ports_parse(o->publish[i], &n->ports, &n->n_ports, err) < 0)
      return -1;
  const char *key;
  json_t *v;
  /* -P: the image's EXPOSE and --expose (runtime/flags.h) */
  json_t *exposed = json_object_get(image_config, "ExposedPorts");
  exposed = json_is_object(exposed) ? json_deep_copy(exposed) : json_object();
  for (size_t i = 0; exposed && i < o->n_expose; i++)
    if (st_expose_add(o->expose[i], exposed, err) < 0) {
      json_decref(exposed);
      return -1;
    }
  if (o->publish_all)
    json_object_foreach(exposed, key, v) {
      if (st_ports_exposed(key, &n->ports, &n->n_ports, err) < 0) {
        json_decref(exposed);
        return -1;
      }
    }
  json_decref(exposed);
  if (n->n_ports && n->mode != ST_NET_BRIDGE)
    return st_error_set(err, EINVAL,
                        "published ports need a bridge network (--network "
                        "bridge or a user-defined one); this container's "
                        "network is %s",
                        n->mode == ST_NET_HOST ? "host" : "none");
  if (n->n_ports && n->net.internal)
    return st_error_set(err, EINVAL,
                        "network %s is internal: its containers cannot "
                        "publish ports",
                        n->net.name);
  return 0;
}

int st_ct_net_resolve(st_store *s, const st_create_opts *o,
                      json_t *image_config, st_ct_net *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  /* Docker's default, the bridge; with --runtime none: an OCI runtime
   * makes the namespace strata would have to plumb (not supported yet) */
  const char *want = o->network ? o->network : o->runtime ? "none" : "bridge";
  if (strncmp(want, "container:", 10) == 0 || strcmp(want, "container") == 0) {
    /* the donor by its full ID (a rename does not change whose network
     * a restart joins) */
    const char *ref = want[9] == ':' ? want + 10 : "";
    st_container c;
    out->mode = ST_NET_CONTAINER;
    if (check_container_mode(o, ref, err) < 0 ||
        st_container_find(s, ref, &c, err) < 0)
      return -1;
    snprintf(out->donor, sizeof(out->donor), "%s", c.id);
    st_container_clear(&c);
  } else if (strcmp(want, "none") == 0 || strcmp(want, "host") == 0) {
    out->mode = want[0] == 'h' ? ST_NET_HOST : ST_NET_NONE;
  } else {
    if (strcmp(want, "default") == 0)
      want = "bridge";
    if (st_networks_ensure_default(s, err) < 0 ||
        st_network_get(s, want, &out->net, err) < 0)
      return -1;
    if (strcmp(out->net.driver, "host") == 0)
      out->mode = ST_NET_HOST;
    else if (strcmp(out->net.driver, "null") == 0)
      out->mode = ST_NET_NONE;
    else
      out->mode = ST_NET_BRIDGE;
  }
  if (check_flags(o, out, err) < 0 ||
      parse_ports(o, image_config, out, err) < 0) {
    st_ct_net_clear(out);
    return -1;
  }
  return 0;
}

/* ---- files ---------------------------------------------------------------
 */

/* Writes text to <dir>/<name> in place (the file may be bind-mounted into
 * a running container: a rename would leave the container the old one),
 * under an exclusive flock so two writers do not interleave. */
static int write_in_place(const char *dir, const char *name, const char *text,
                          st_error **err) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return st_error_errno(err, ENOMEM, "write %s", name);
  cleanup_close int fd =
      open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s`", p);
  flock(fd, LOCK_EX);
  if (ftruncate(fd, 0) < 0)
    return st_error_errno(err, errno, "truncate `%s`", p);
  return st_write_all(fd, text, strlen(text), p, err);
}

static bool is_loopback_ns(const char *addr) {
  return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}

/* Docker's resolv.conf for a container: the host's, without loopback
 * nameservers unless the network is the host's (they would be the
 * container's own loopback), Google's public resolvers when none is left;
 * --dns, --dns-search, --dns-option replace their kind of line. */
static char *resolv_conf(const st_create_opts *o, bool host_net) {
  cleanup_free char *host = NULL;
  size_t len;
  if (st_read_file("/etc/resolv.conf", &host, &len, NULL) < 0)
    host = NULL;
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, "");
  int servers = 0;
  for (char *line = host, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char word[32] = "", arg[256] = "";
    sscanf(line, " %31s %255s", word, arg);
    bool ns = strcmp(word, "nameserver") == 0;
    if ((ns && o->n_dns) || (strcmp(word, "search") == 0 && o->n_dns_search) ||
        (strcmp(word, "domain") == 0 && o->n_dns_search) ||
        (strcmp(word, "options") == 0 && o->n_dns_option) ||
        (ns && !host_net && is_loopback_ns(arg)))
      continue;
    servers += ns;
    st_buf_printf(&b, "%s\n", line);
  }
  for (size_t i = 0; i < o->n_dns; i++, servers++)
    st_buf_printf(&b, "nameserver %s\n", o->dns[i]);
  if (servers == 0 && !host_net)
    st_buf_puts(&b, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  bool search = o->n_dns_search &&
                !(o->n_dns_search == 1 && strcmp(o->dns_search[0], ".") == 0);
  for (size_t i = 0; search && i < o->n_dns_search; i++)
    st_buf_printf(&b, "%s%s%s", i ? " " : "search ", o->dns_search[i],
                  i + 1 == o->n_dns_search ? "\n" : "");
  for (size_t i = 0; i < o->n_dns_option; i++)
    st_buf_printf(&b, "%s%s%s", i ? " " : "options ", o->dns_option[i],
                  i + 1 == o->n_dns_option ? "\n" : "");
  return st_buf_steal(&b);
}

static const char base_hosts[] =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\t"
    "ip6-allnodes\nff02::2\tip6-allrouters\n";

/* The hosts file of a container from its network.json and, on
 * user-defined networks, the lines of its peers (may be NULL). */
static char *hosts_text(json_t *cfg, const char *peers) {
  const char *mode = json_string_value(json_object_get(cfg, "mode")) ?: "";
  const char *hostname =
      json_string_value(json_object_get(cfg, "hostname")) ?: "";
  json_t *ep = json_array_get(json_object_get(cfg, "endpoints"), 0);
  cleanup_buf st_buf b = ST_BUF_INIT;
  cleanup_free char *host = NULL;
  size_t len;
  if (strcmp(mode, "host") == 0 &&
      st_read_file("/etc/hosts", &host, &len, NULL) == 0)
    st_buf_printf(&b, "%s%s", host, len && host[len - 1] != '\n' ? "\n" : "");
  else
    st_buf_puts(&b, base_hosts);
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(cfg, "extra_hosts"), i, h)
      st_buf_printf(&b, "%s\n", json_string_value(h));
  const char *ip = json_string_value(json_object_get(ep, "ip"));
  if (strcmp(mode, "bridge") == 0 && ip)
    st_buf_printf(&b, "%s\t%s\n", ip, hostname);
  else if (strcmp(mode, "none") == 0)
    st_buf_printf(&b, "127.0.0.1\t%s\n", hostname);
  if (peers)
    st_buf_puts(&b, peers);
  return st_buf_steal(&b);
}

/* Hosts lines for the members of one network other than self: "IP\tNAME
 * SHORTID ALIAS...". */
static void peer_lines(st_buf *b, const char *self, const st_net_attach *v,
                       size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(v[i].container, self) == 0)
      continue;
    char a[16];
    st_buf_printf(b, "%s\t%s %.12s", st_ipv4_format(v[i].ip, a), v[i].name,
                  v[i].container);
    cleanup_json json_t *aliases = json_loads(v[i].aliases, 0, NULL);
    size_t k;
    json_t *al;
    json_array_foreach(aliases, k, al)
        st_buf_printf(b, " %s", json_string_value(al));
    st_buf_putc(b, '\n');
  }
}

/* --add-host NAME:IP as hosts lines ("IP\tNAME"); host-gateway is the
 * default bridge's gateway (Docker's). */
static json_t *extra_hosts(const st_create_opts *o, const st_ct_net *n) {
  json_t *a = json_array();
  for (size_t i = 0; i < o->n_add_host; i++) {
    const char *h = o->add_host[i];
    const char *sep = strpbrk(h, ":=");
    const char *ip = sep + 1;
    if (strcmp(ip, "host-gateway") == 0)
      ip = n->mode == ST_NET_BRIDGE ? n->net.gateway : "127.0.0.1";
    cleanup_free char *line = NULL;
    if (asprintf(&line, "%s\t%.*s", ip, (int)(sep - h), h) > 0)
      json_array_append_new(a, json_string(line));
  }
  return a;
}

static json_t *net_config(const st_create_opts *o, const st_ct_net *n,
                          const char *hostname, const char *name) {
  static const char *const modes[] = {"none", "host", "bridge", "container"};
  json_t *cfg = json_pack("{s:s, s:s, s:s, s:o}", "mode", modes[n->mode],
                          "hostname", hostname, "name", name ? name : "",
                          "extra_hosts", extra_hosts(o, n));
  json_t *ports = json_array();
  for (size_t i = 0; i < n->n_ports; i++) {
    const st_port_map *m = &n->ports[i];
    json_array_append_new(ports, json_pack("{s:s, s:s, s:i, s:i, s:i}", "proto",
                                           m->proto, "host_ip", m->host_ip,
                                           "host_lo", m->host_lo, "host_hi",
                                           m->host_hi, "port", m->ctr_port));
  }
  json_object_set_new(cfg, "ports", ports);
  /* --network container:ID: the donor, by its full ID (Docker's
   * HostConfig.NetworkMode) */
  cleanup_free char *joined = NULL;
  if (n->mode == ST_NET_CONTAINER &&
      asprintf(&joined, "container:%s", n->donor) < 0)
    joined = NULL;
  json_object_set_new(cfg, "network_mode",
                      json_string(joined                     ? joined
                                  : n->mode == ST_NET_BRIDGE ? n->net.name
                                                             : modes[n->mode]));
  json_t *eps = json_array();
  json_object_set_new(cfg, "endpoints", eps);
  if (cfg && n->mode == ST_NET_BRIDGE) {
    json_t *aliases = json_array();
    for (size_t i = 0; i < o->n_network_aliases; i++)
      json_array_append_new(aliases, json_string(o->network_aliases[i]));
    json_array_append_new(eps, st_ct_net_endpoint(&n->net, aliases, 0));
  }
  return cfg;
}

json_t *st_ct_net_endpoint(const st_network *net, json_t *aliases, int index) {
  uint32_t addr;
  int prefix = 16;
  st_ipv4_parse_cidr(net->subnet, &addr, &prefix);
  return json_pack("{s:s, s:s, s:s, s:i, s:s, s:b, s:o, s:i}", "network",
                   net->id, "name", net->name, "bridge", net->bridge, "prefix",
                   prefix, "gateway", net->gateway, "internal", net->internal,
                   "aliases", aliases, "index", index);
}

int st_ct_net_config_save(const char *dir, json_t *cfg, st_error **err) {
  cleanup_free char *text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
  if (text == NULL)
    return st_error_errno(err, ENOMEM, "network.json");
  return write_in_place(dir, "network.json", text, err);
}

json_t *st_ct_net_config_load(const char *dir) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/network.json", dir) < 0)
    return NULL;
  json_t *cfg = json_load_file(p, 0, NULL);
  /* a container made before `network connect` has one "endpoint" */
  json_t *old = json_object_get(cfg, "endpoint");
  if (json_is_object(old) && json_object_get(cfg, "endpoints") == NULL) {
    json_object_set_new(old, "index", json_integer(0));
    json_object_set_new(cfg, "endpoints", json_pack("[O]", old));
    json_object_del(cfg, "endpoint");
  }
  if (cfg && !json_is_array(json_object_get(cfg, "endpoints")))
    json_object_set_new(cfg, "endpoints", json_array());
  return cfg;
}

int st_ct_net_write_files(const st_create_opts *o, const st_ct_net *n,
                          const char *dir, const char *hostname,
                          const char *name, st_error **err) {
  cleanup_json json_t *cfg = net_config(o, n, hostname, name);
  cleanup_free char *resolv = resolv_conf(o, n->mode == ST_NET_HOST);
  cleanup_free char *hosts = cfg ? hosts_text(cfg, NULL) : NULL;
  cleanup_free char *hn = NULL;
  if (cfg == NULL || resolv == NULL || hosts == NULL ||
      asprintf(&hn, "%s\n", hostname) < 0)
    return st_error_errno(err, ENOMEM, "network files");
  if (n->mode == ST_NET_CONTAINER)
    return st_ct_net_config_save(dir, cfg, err);
  if (write_in_place(dir, "hosts", hosts, err) < 0 ||
      write_in_place(dir, "hostname", hn, err) < 0 ||
      write_in_place(dir, "resolv.conf", resolv, err) < 0 ||
      st_ct_net_config_save(dir, cfg, err) < 0)
    return -1;
  return 0;
}

/* ---- membership ---------------------------------------------------------
 */

/* Holds <root>/network.lock while the hosts files of a network are
 * rewritten, so the last writer wrote from the newest membership. */
int st_ct_net_lock(st_store *s) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/network.lock", st_store_root(s)) < 0)
    return -1;
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    flock(fd, LOCK_EX);
  return fd;
}

void st_ct_net_refresh_container_hosts(st_store *s, const char *id) {
  cleanup_free char *dir = st_container_dir(s, id);
  cleanup_json json_t *cfg = dir ? st_ct_net_config_load(dir) : NULL;
  if (cfg == NULL)
    return;
  cleanup_buf st_buf peers = ST_BUF_INIT;
  st_buf_puts(&peers, "");
  size_t i;
  json_t *ep;
  json_array_foreach(json_object_get(cfg, "endpoints"), i, ep) {
    const char *name = json_string_value(json_object_get(ep, "name"));
    const char *net = json_string_value(json_object_get(ep, "network"));
    st_net_attach *v = NULL;
    size_t n = 0;
    st_error *e = NULL;
    if (name == NULL || net == NULL || st_network_predefined(name))
      continue;
    if (st_net_attach_list(s, net, NULL, &v, &n, &e) < 0) {
      st_error_free(e);
      continue;
    }
    peer_lines(&peers, id, v, n);
    st_net_attaches_free(v, n);
  }
  cleanup_free char *text = hosts_text(cfg, peers.data);
  st_error *e = NULL;
  if (text && write_in_place(dir, "hosts", text, &e) < 0)
    st_error_free(e);
}

void st_ct_net_refresh_hosts_locked(st_store *s, const char *net_id) {
  st_net_attach *v = NULL;
  size_t n = 0;
  st_error *e = NULL;
  if (st_net_attach_list(s, net_id, NULL, &v, &n, &e) < 0) {
    st_error_free(e);
    return;
  }
  for (size_t i = 0; i < n; i++)
    st_ct_net_refresh_container_hosts(s, v[i].container);
  st_net_attaches_free(v, n);
}

void st_ct_net_refresh_hosts(st_store *s, const char *net_id) {
  cleanup_close int lock = st_ct_net_lock(s);
  st_ct_net_refresh_hosts_locked(s, net_id);
}

int st_ct_net_attach(st_store *s, const st_create_opts *o, st_ct_net *n,
                     const char *id, const char *dir, st_error **err) {
  if (n->mode != ST_NET_BRIDGE)
    return 0;
  json_t *aliases = json_array();
  for (size_t i = 0; i < o->n_network_aliases; i++)
    json_array_append_new(aliases, json_string(o->network_aliases[i]));
  cleanup_free char *atext = json_dumps(aliases, JSON_COMPACT);
  json_decref(aliases);
  uint32_t ip;
  if (st_network_attach(s, &n->net, id, n->want_ip, atext ? atext : "[]", &ip,
                        err) < 0)
    return -1;
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  char a[16];
  json_t *ep = json_array_get(json_object_get(cfg, "endpoints"), 0);
  if (ep == NULL ||
      json_object_set_new(ep, "ip", json_string(st_ipv4_format(ip, a))) < 0 ||
      st_ct_net_config_save(dir, cfg, err) < 0)
    return err && *err ? -1 : st_error_errno(err, EIO, "network.json");
  st_ct_net_refresh_hosts(s, n->net.id);
  return 0;
}

int st_ct_net_of(st_store *s, const char *id, char ***nets, size_t *n) {
  st_net_attach *v = NULL;
  size_t count = 0;
  *nets = NULL;
  *n = 0;
  st_error *e = NULL;
  if (st_net_attach_list(s, NULL, id, &v, &count, &e) < 0) {
    st_error_free(e);
    return -1;
  }
  char **out = calloc(count + 1, sizeof(char *));
  for (size_t i = 0; out && i < count; i++)
    out[(*n)++] = strdup(v[i].network);
  st_net_attaches_free(v, count);
  *nets = out;
  return out ? 0 : -1;
}

/* ---- start ----------------------------------------------------------------
 */

int st_ct_net_ep_load(json_t *ep, const char *id, st_launch_ep *out) {
  const char *bridge = json_string_value(json_object_get(ep, "bridge"));
  const char *ip = json_string_value(json_object_get(ep, "ip"));
  const char *gw = json_string_value(json_object_get(ep, "gateway"));
  int prefix = (int)json_integer_value(json_object_get(ep, "prefix"));
  json_int_t index = json_integer_value(json_object_get(ep, "index"));
  if (bridge == NULL || ip == NULL || gw == NULL || prefix <= 0 ||
      prefix > 30 || strlen(bridge) >= IFNAMSIZ || index < 0 ||
      index >= ST_NET_MAX_ENDPOINTS ||
      inet_pton(AF_INET, ip, &out->addr) != 1 ||
      inet_pton(AF_INET, gw, &out->gw) != 1)
    return -1;
  out->prefix = prefix;
  out->internal = json_is_true(json_object_get(ep, "internal"));
  snprintf(out->bridge, sizeof(out->bridge), "%s", bridge);
  st_ct_net_ifnames(id, (int)index, out->host_if, out->ifname);
  return 0;
}

void st_ct_net_ifnames(const char *id, int index, char host_if[IFNAMSIZ],
                       char ifname[IFNAMSIZ]) {
  /* "stv" + 11 hex digits of the ID + the index in hex: 15 bytes, the
   * kernel's limit */
  snprintf(host_if, IFNAMSIZ, "stv%.11s%x", id, (unsigned)index & 0xf);
  snprintf(ifname, IFNAMSIZ, "eth%d", index);
}

int st_launch_net_load(const char *dir, const char *id, st_launch_net *ln,
                       st_error **err) {
  memset(ln, 0, sizeof(*ln));
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  const char *mode = json_string_value(json_object_get(cfg, "mode"));
  if (mode == NULL || strcmp(mode, "bridge") != 0)
    return 0;
  size_t i;
  json_t *ep;
  bool routed = false;
  json_array_foreach(json_object_get(cfg, "endpoints"), i, ep) {
    if (ln->n_ep == ST_NET_MAX_ENDPOINTS)
      break;
    st_launch_ep *e = &ln->ep[ln->n_ep];
    if (st_ct_net_ep_load(ep, id, e) < 0)
      return st_error_set(
          err, EIO, "`%s/network.json`: endpoint %zu is not usable", dir, i);
    e->route = !e->internal && !routed;
    routed |= e->route;
    ln->n_ep++;
  }
  ln->on = ln->n_ep > 0;
  return 0;
}

int st_launch_ep_veth(const st_launch_ep *ep, pid_t pid, st_error **err) {
  st_error *e = NULL;
  if (st_net_veth_create(ep->host_if, ep->ifname, pid, ep->bridge, &e) == 0)
    return 0;
  if (e->code != EEXIST) {
    return st_error_give(err, e);
  }
  st_error_free(e);
  (void)st_net_link_drop(ep->host_if, NULL); /* a stale end: made again */
  return st_net_veth_create(ep->host_if, ep->ifname, pid, ep->bridge, err);
}

int st_launch_ep_setup(const st_launch_ep *ep, st_error **err) {
  if (st_net_addr_add(ep->ifname, ep->addr, ep->prefix, err) < 0 ||
      st_net_link_up(ep->ifname, err) < 0 ||
      (ep->route && st_net_route_default(ep->ifname, ep->gw, err) < 0))
    return st_error_wrap(err, "container network %s", ep->ifname);
  return 0;
}

int st_launch_ep_bridge(const st_launch_ep *ep, st_error **err) {
  if (st_net_bridge_ensure(ep->bridge, ep->gw, ep->prefix, err) < 0 ||
      st_net_bridge_sysctls(ep->bridge, !ep->internal, err) < 0)
    return -1;
  return 0;
}

/* ---- inspect ---------------------------------------------------------------
 */

/* One entry of NetworkSettings.Networks. */
static json_t *endpoint_json(json_t *ep) {
  json_t *aliases = json_object_get(ep, "aliases");
  return json_pack(
      "{s:n, s:n, s:O, s:s, s:s, s:s, s:s, s:I, s:s, s:n}", "IPAMConfig",
      "Links", "Aliases",
      aliases && json_array_size(aliases) ? aliases : json_null(), "NetworkID",
      json_string_value(json_object_get(ep, "network")) ?: "", "EndpointID", "",
      "Gateway", json_string_value(json_object_get(ep, "gateway")) ?: "",
      "IPAddress", json_string_value(json_object_get(ep, "ip")) ?: "",
      "IPPrefixLen", json_integer_value(json_object_get(ep, "prefix")),
      "MacAddress", "", "DNSNames");
}

json_t *st_ct_net_inspect(const char *dir, bool host_ns, bool running,
                          char **mode) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  const char *m = json_string_value(json_object_get(cfg, "mode"));
  bool bridge = m && strcmp(m, "bridge") == 0;
  json_t *nets = json_object();
  json_t *dflt = NULL; /* the default bridge's endpoint: the top fields */
  size_t i;
  json_t *ep;
  json_array_foreach(json_object_get(cfg, "endpoints"), i, ep) {
    const char *name = json_string_value(json_object_get(ep, "name"));
    if (!bridge || name == NULL)
      continue;
    json_object_set_new(nets, name, endpoint_json(ep));
    if (strcmp(name, "bridge") == 0)
      dflt = ep;
  }
  const char *own = host_ns ? "host" : "none";
  /* a container in another's network has no endpoint of its own
   * (Docker's {}); its network_mode is container:<donor ID> */
  if (!bridge && !(m && strcmp(m, "container") == 0))
    json_object_set_new(nets, own,
                        json_pack("{s:n, s:n, s:n, s:s, s:s, s:s, s:s, s:i, "
                                  "s:s, s:n}",
                                  "IPAMConfig", "Links", "Aliases", "NetworkID",
                                  "", "EndpointID", "", "Gateway", "",
                                  "IPAddress", "", "IPPrefixLen", 0,
                                  "MacAddress", "", "DNSNames"));
  /* HostConfig.NetworkMode: what the container was made with (a
   * container made before it was recorded: its first network) */
  const char *nm = json_string_value(json_object_get(cfg, "network_mode"));
  if (nm == NULL && bridge) {
    json_t *first = json_array_get(json_object_get(cfg, "endpoints"), 0);
    nm = json_string_value(json_object_get(first, "name"));
  }
  *mode = strdup(nm ? nm : own);
  const char *gw = json_string_value(json_object_get(dflt, "gateway")) ?: "";
  const char *ip = json_string_value(json_object_get(dflt, "ip")) ?: "";
  json_int_t prefix = json_integer_value(json_object_get(dflt, "prefix"));
  return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:s, s:o}", "Bridge",
                   "", "SandboxID", "", "SandboxKey", "", "Ports",
                   st_ct_ports_json(dir, running), "Gateway", gw, "IPAddress",
                   ip, "IPPrefixLen", prefix, "MacAddress", "", "Networks",
                   nets);
}

/* ---- published ports -------------------------------------------------------
 */

static json_t *load_json(const char *dir, const char *name) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return NULL;
  return json_load_file(p, 0, NULL);
}

int st_launch_ports_reserve(const char *dir, st_launch_net *ln,
                            st_error **err) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  json_t *ports = json_object_get(cfg, "ports");
  size_t n = json_array_size(ports);
  if (n == 0)
    return 0;
  ln->port_fds = calloc(n, sizeof(int));
  cleanup_json json_t *bound = json_array();
  if (ln->port_fds == NULL || bound == NULL)
    return st_error_errno(err, ENOMEM, "ports");
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p) {
    st_port_map m = {0};
    snprintf(m.proto, sizeof(m.proto), "%s",
             json_string_value(json_object_get(p, "proto")) ?: "tcp");
    snprintf(m.host_ip, sizeof(m.host_ip), "%s",
             json_string_value(json_object_get(p, "host_ip")) ?: "");
    m.host_lo = (uint16_t)json_integer_value(json_object_get(p, "host_lo"));
    m.host_hi = (uint16_t)json_integer_value(json_object_get(p, "host_hi"));
    m.ctr_port = (uint16_t)json_integer_value(json_object_get(p, "port"));
    uint16_t got = 0;
    int fd = st_port_reserve(&m, &got, err);
    if (fd < 0)
      return st_error_wrap(err,
                           "driver failed programming external connectivity "
                           "on endpoint %s",
                           json_string_value(json_object_get(cfg, "name"))
                               ?: "");
    ln->port_fds[ln->n_port_fds++] = fd;
    json_array_append_new(
        bound, json_pack("{s:s, s:s, s:i, s:i}", "proto", m.proto, "host_ip",
                         m.host_ip, "host_port", got, "port", m.ctr_port));
  }
  cleanup_free char *text = json_dumps(bound, JSON_COMPACT);
  cleanup_free char *path = NULL;
  if (text == NULL || asprintf(&path, "%s/ports.json", dir) < 0)
    return st_error_errno(err, ENOMEM, "ports.json");
  return st_write_file_atomic(path, text, strlen(text), err);
}

void st_launch_net_release(const char *dir, st_launch_net *ln) {
  for (size_t i = 0; i < ln->n_port_fds; i++)
    close(ln->port_fds[i]);
  free(ln->port_fds);
  ln->port_fds = NULL;
  if (ln->n_port_fds) {
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/ports.json", dir) > 0)
      unlink(path);
  }
  ln->n_port_fds = 0;
}

bool st_ct_publishes(const char *dir) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  return json_array_size(json_object_get(cfg, "ports")) > 0;
}

json_t *st_ct_port_bindings_json(const char *dir) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  json_t *o = json_object();
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(cfg, "ports"), i, p) {
    char key[32], port[32] = "";
    snprintf(key, sizeof(key), "%d/%s",
             (int)json_integer_value(json_object_get(p, "port")),
             json_string_value(json_object_get(p, "proto")) ?: "tcp");
    int lo = (int)json_integer_value(json_object_get(p, "host_lo"));
    int hi = (int)json_integer_value(json_object_get(p, "host_hi"));
    if (lo && hi > lo)
      snprintf(port, sizeof(port), "%d-%d", lo, hi);
    else if (lo)
      snprintf(port, sizeof(port), "%d", lo);
    json_t *list = json_object_get(o, key);
    if (list == NULL) {
      list = json_array();
      json_object_set_new(o, key, list);
    }
    json_array_append_new(
        list, json_pack("{s:s, s:s}", "HostIp",
                        json_string_value(json_object_get(p, "host_ip")) ?: "",
                        "HostPort", port));
  }
  return o;
}

bool st_ct_bridged(const char *dir) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  const char *m = json_string_value(json_object_get(cfg, "mode"));
  return m && strcmp(m, "bridge") == 0;
}

json_t *st_ct_ports_json(const char *dir, bool running) {
  cleanup_json json_t *bound = running ? load_json(dir, "ports.json") : NULL;
  json_t *o = json_object();
  size_t i;
  json_t *p;
  json_array_foreach(bound, i, p) {
    char key[32], port[16];
    snprintf(key, sizeof(key), "%d/%s",
             (int)json_integer_value(json_object_get(p, "port")),
             json_string_value(json_object_get(p, "proto")) ?: "tcp");
    snprintf(port, sizeof(port), "%d",
             (int)json_integer_value(json_object_get(p, "host_port")));
    const char *ip = json_string_value(json_object_get(p, "host_ip"));
    json_t *list = json_object_get(o, key);
    if (!json_is_array(list)) {
      list = json_array();
      json_object_set_new(o, key, list);
    }
    json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
                                          ip && *ip ? ip : "0.0.0.0",
                                          "HostPort", port));
  }
  return o;
}

char *st_container_ports_text(st_store *s, const st_container *c) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, "");
  if (c->state != ST_CT_RUNNING)
    return st_buf_steal(&b);
  cleanup_free char *dir = st_container_dir(s, c->id);
  cleanup_json json_t *bound = dir ? load_json(dir, "ports.json") : NULL;
  size_t n = json_array_size(bound);
  for (size_t i = 0; i < n;) {
    json_t *p = json_array_get(bound, i);
    const char *ip = json_string_value(json_object_get(p, "host_ip")) ?: "";
    const char *proto = json_string_value(json_object_get(p, "proto")) ?: "";
    int hp = (int)json_integer_value(json_object_get(p, "host_port"));
    int cp = (int)json_integer_value(json_object_get(p, "port"));
    /* Docker shows a run of consecutive ports as one range */
    size_t k = 1;
    for (; i + k < n; k++) {
      json_t *q = json_array_get(bound, i + k);
      if (strcmp(json_string_value(json_object_get(q, "host_ip")) ?: "", ip) ||
          strcmp(json_string_value(json_object_get(q, "proto")) ?: "", proto) ||
          json_integer_value(json_object_get(q, "host_port")) != hp + (int)k ||
          json_integer_value(json_object_get(q, "port")) != cp + (int)k)
        break;
    }
    st_buf_printf(&b, "%s%s:%d", b.len ? ", " : "", *ip ? ip : "0.0.0.0", hp);
    if (k > 1)
      st_buf_printf(&b, "-%d", hp + (int)k - 1);
    st_buf_printf(&b, "->%d", cp);
    if (k > 1)
      st_buf_printf(&b, "-%d", cp + (int)k - 1);
    st_buf_printf(&b, "/%s", proto);
    i += k;
  }
  return st_buf_steal(&b);
}

int st_container_ports(st_store *s, const char *ref, json_t **ports,
                       char **name, st_error **err) {
  st_container c;
  if (st_container_find(s, ref, &c, err) < 0)
    return -1;
  st_container_refresh(s, &c);
  cleanup_free char *dir = st_container_dir(s, c.id);
  *ports = dir ? st_ct_ports_json(dir, c.state == ST_CT_RUNNING) : NULL;
  *name = strdup(c.name);
  st_container_clear(&c);
  if (*ports == NULL || *name == NULL) {
    json_decref(*ports);
    free(*name);
    return st_error_errno(err, ENOMEM, "ports");
  }
  return 0;
}
