/* rtnetlink requests through libmnl: one socket per request (a container
 * start makes two or three), acknowledged, errors named by the link. */
#include "net/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"

/* libmnl 1.0.4 sizes its buffer by sysconf (a VLA); fixed sizes here. */
#define NL_BUF 8192
#define NL_DUMP_BUF 32768

static void mnl_closep(struct mnl_socket **nl) {
  if (*nl)
    mnl_socket_close(*nl);
}
#define cleanup_mnl __attribute__((cleanup(mnl_closep)))

static struct mnl_socket *nl_open(void) {
  struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mnl_socket_close(nl);
    errno = e;
    return NULL;
  }
  return nl;
}

/* buf: NL_BUF bytes. Zeroed whole: libmnl (1.0.4) leaves the alignment
 * padding after an attribute as it was, and the kernel would be sent
 * uninitialised stack bytes (valgrind saw it). */
static struct nlmsghdr *nl_start(char *buf, uint16_t type, uint16_t flags) {
  memset(buf, 0, NL_BUF);
  struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_seq = (uint32_t)time(NULL);
  return h;
}

/* Sends h and waits for its acknowledgement: 0, or -errno. */
static int nl_talk(struct nlmsghdr *h) {
  cleanup_mnl struct mnl_socket *nl = nl_open();
  if (nl == NULL)
    return -errno;
  h->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
    return -errno;
  char buf[NL_BUF];
  ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
  if (n < 0)
    return -errno;
  if (mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, mnl_socket_get_portid(nl), NULL,
                 NULL) < 0)
    return -errno;
  return 0;
}

static int index_of(const char *name, st_error **err) {
  unsigned idx = if_nametoindex(name);
  if (idx == 0)
    return st_error_errno(err, errno == ENODEV ? ENOENT : errno,
                          "network interface %s", name);
  return (int)idx;
}

static int set_up(int idx) {
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_NEWLINK, 0);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = idx;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  return nl_talk(h);
}

int st_net_link_up(const char *name, st_error **err) {
  int idx = index_of(name, err);
  if (idx < 0)
    return -1;
  int r = set_up(idx);
  if (r < 0)
    return st_error_errno(err, -r, "set %s up", name);
  return 0;
}

int st_net_addr_add(const char *name, uint32_t addr, int prefix,
                    st_error **err) {
  int idx = index_of(name, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = (unsigned char)prefix;
  ifa->ifa_index = (unsigned)idx;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  mnl_attr_put_u32(h, IFA_LOCAL, addr);
  mnl_attr_put_u32(h, IFA_ADDRESS, addr);
  if (prefix < 31) {
    uint32_t host = prefix == 0 ? 0xffffffffu : (1u << (32 - prefix)) - 1;
    mnl_attr_put_u32(h, IFA_BROADCAST, addr | htonl(host));
  }
  int r = nl_talk(h);
  if (r < 0) {
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, a, sizeof(a));
    return st_error_errno(err, -r, "add address %s/%d to %s", a, prefix, name);
  }
  return 0;
}

int st_net_route_default(const char *name, uint32_t gw, st_error **err) {
  int idx = index_of(name, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(h, RTA_GATEWAY, gw);
  mnl_attr_put_u32(h, RTA_OIF, (uint32_t)idx);
  int r = nl_talk(h);
  if (r < 0) {
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &gw, a, sizeof(a));
    return st_error_errno(err, -r, "default route via %s on %s", a, name);
  }
  return 0;
}

int st_net_bridge_ensure(const char *name, uint32_t addr, int prefix,
                         st_error **err) {
  if (if_nametoindex(name) == 0) {
    char buf[NL_BUF];
    struct nlmsghdr *h = nl_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
    ifm->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(h, IFLA_IFNAME, name);
    struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
    mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
    mnl_attr_nest_end(h, info);
    int r = nl_talk(h);
    if (r < 0 && r != -EEXIST)
      return st_error_errno(err, -r, "create bridge %s", name);
  }
  st_error *e = NULL;
  if (st_net_addr_add(name, addr, prefix, &e) < 0) {
    if (e->code != EEXIST) {
      return st_error_give(err, e);
    }
    st_error_free(e);
  }
  return st_net_link_up(name, err);
}

int st_net_veth_create(const char *host_name, const char *peer_name,
                       pid_t peer_pid, const char *master, st_error **err) {
  int midx = 0;
  if (master && (midx = index_of(master, err)) < 0)
    return -1;
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_flags = IFF_UP;
  ifm->ifi_change = IFF_UP;
  mnl_attr_put_strz(h, IFLA_IFNAME, host_name);
  if (midx > 0)
    mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)midx);
  struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
  mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
  struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
  struct ifinfomsg *pm = mnl_nlmsg_put_extra_header(h, sizeof(*pm));
  pm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
  mnl_attr_put_u32(h, IFLA_NET_NS_PID, (uint32_t)peer_pid);
  mnl_attr_nest_end(h, peer);
  mnl_attr_nest_end(h, data);
  mnl_attr_nest_end(h, info);
  int r = nl_talk(h);
  if (r < 0)
    return st_error_errno(err, -r, "create veth pair %s/%s (peer in pid %d)",
                          host_name, peer_name, (int)peer_pid);
  return 0;
}

int st_net_link_drop(const char *name, st_error **err) {
  st_error *e = NULL;
  if (st_net_link_delete(name, &e) == 0)
    return 0;
  if (e->code == ENODEV || e->code == ENOENT) {
    st_error_free(e);
    return 0;
  }
  return st_error_give(err, e);
}

int st_net_link_delete(const char *name, st_error **err) {
  int idx = index_of(name, err);
  if (idx < 0)
    return -1;
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_DELLINK, 0);
  struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(h, sizeof(*ifm));
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_index = idx;
  int r = nl_talk(h);
  if (r < 0)
    return st_error_errno(err, -r == ENODEV ? ENOENT : -r,
                          "delete network interface %s", name);
  return 0;
}

/* ---- dumps ------------------------------------------------------------- */

/* Runs a dump request, calling fn for each message: 0, or -errno. */
static int nl_dump(struct nlmsghdr *h, mnl_cb_t fn, void *arg) {
  cleanup_mnl struct mnl_socket *nl = nl_open();
  if (nl == NULL)
    return -errno;
  h->nlmsg_flags |= NLM_F_DUMP;
  if (mnl_socket_sendto(nl, h, h->nlmsg_len) < 0)
    return -errno;
  char *buf = malloc(NL_DUMP_BUF);
  if (buf == NULL)
    return -ENOMEM;
  int r;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, NL_DUMP_BUF);
    if (n < 0) {
      r = -errno;
      break;
    }
    r = mnl_cb_run(buf, (size_t)n, h->nlmsg_seq, mnl_socket_get_portid(nl), fn,
                   arg);
    if (r <= MNL_CB_STOP) {
      r = r < 0 ? -errno : 0;
      break;
    }
  }
  free(buf);
  return r;
}

typedef struct names {
  const char *prefix;
  char **v;
  size_t n;
  bool oom;
} names;

static int link_cb(const struct nlmsghdr *h, void *arg) {
  names *ns = arg;
  struct nlattr *a;
  mnl_attr_for_each(a, h, sizeof(struct ifinfomsg)) {
    if (mnl_attr_get_type(a) != IFLA_IFNAME)
      continue;
    const char *name = mnl_attr_get_str(a);
    if (strncmp(name, ns->prefix, strlen(ns->prefix)) != 0)
      break;
    char **nv = realloc(ns->v, (ns->n + 1) * sizeof(char *));
    char *copy = strdup(name);
    if (nv == NULL || copy == NULL) {
      free(copy);
      if (nv)
        ns->v = nv;
      ns->oom = true;
      return MNL_CB_ERROR;
    }
    ns->v = nv;
    ns->v[ns->n++] = copy;
    break;
  }
  return MNL_CB_OK;
}

int st_net_links_with_prefix(const char *prefix,
                             void (*fn)(const char *name, void *arg), void *arg,
                             st_error **err) {
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_GETLINK, 0);
  struct rtgenmsg *g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
  g->rtgen_family = AF_PACKET;
  names ns = {.prefix = prefix};
  int r = nl_dump(h, link_cb, &ns);
  for (size_t i = 0; i < ns.n; i++) {
    if (r == 0 && !ns.oom)
      fn(ns.v[i], arg);
    free(ns.v[i]);
  }
  free(ns.v);
  if (ns.oom)
    return st_error_errno(err, ENOMEM, "list network interfaces");
  if (r < 0)
    return st_error_errno(err, -r, "list network interfaces");
  return 0;
}

typedef struct overlap {
  uint32_t net;
  int prefix;
  unsigned ignore; /* ifindex, 0: none */
  bool found;
} overlap;

static uint32_t mask_of(int prefix) {
  return prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
}

static int route_cb(const struct nlmsghdr *h, void *arg) {
  overlap *o = arg;
  const struct rtmsg *rtm = mnl_nlmsg_get_payload(h);
  if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len == 0 ||
      rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
    return MNL_CB_OK;
  struct nlattr *a;
  uint32_t dst = 0;
  unsigned oif = 0;
  bool have = false;
  mnl_attr_for_each(a, h, sizeof(*rtm)) {
    if (mnl_attr_get_type(a) == RTA_DST) {
      dst = mnl_attr_get_u32(a);
      have = true;
    } else if (mnl_attr_get_type(a) == RTA_OIF) {
      oif = mnl_attr_get_u32(a);
    }
  }
  int p = rtm->rtm_dst_len < o->prefix ? rtm->rtm_dst_len : o->prefix;
  if (have && (o->ignore == 0 || oif != o->ignore) &&
      (dst & mask_of(p)) == (o->net & mask_of(p)))
    o->found = true;
  return MNL_CB_OK;
}

bool st_net_subnet_routed(uint32_t net, int prefix, const char *ignore) {
  char buf[NL_BUF];
  struct nlmsghdr *h = nl_start(buf, RTM_GETROUTE, 0);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  overlap o = {.net = net,
               .prefix = prefix,
               .ignore = ignore ? if_nametoindex(ignore) : 0};
  if (nl_dump(h, route_cb, &o) < 0)
    return false;
  return o.found;
}

static int write_sysctl(const char *path, st_error **err) {
  cleanup_close int fd = open(path, O_RDWR | O_CLOEXEC);
  char cur = 0;
  if (fd < 0)
    return st_error_errno(err, errno, "open %s", path);
  if (pread(fd, &cur, 1, 0) == 1 && cur == '1')
    return 0;
  if (pwrite(fd, "1\n", 2, 0) != 2)
    return st_error_errno(err, errno, "write 1 to %s", path);
  return 0;
}

int st_net_bridge_sysctls(const char *bridge, bool forward, st_error **err) {
  char path[128];
  snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet",
           bridge);
  if (write_sysctl(path, err) < 0)
    return -1;
  if (forward && write_sysctl("/proc/sys/net/ipv4/ip_forward", err) < 0)
    return -1;
  return 0;
}
