/* strata's nftables table (`table ip strata`), rebuilt whole from the
 * store whenever what it holds changes: the networks (masquerade,
 * isolation, --internal) and the published ports of running containers
 * (DNAT). One ruleset text, one kernel transaction: the table is never
 * seen half-built, and what a crashed strata left is replaced by the next
 * rebuild. */
#include "runtime/netrules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/link.h"
#include "net/network.h"
#include "net/nft.h"
#include "runtime/internal.h"
#include "runtime/netsetup.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static bool is_bridge(const st_network *n) {
  return strcmp(n->driver, "bridge") == 0 && *n->bridge && *n->subnet;
}

static void network_rules(st_buf *nat, st_buf *fwd, const st_network *v,
                          size_t n) {
  for (size_t i = 0; i < n; i++) {
    const st_network *a = &v[i];
    if (!is_bridge(a))
      continue;
    if (!a->internal)
      st_buf_printf(nat, "    ip saddr %s oifname != \"%s\" masquerade\n",
                    a->subnet, a->bridge);
    /* 127.0.0.1:PORT forwarded to the bridge (route_localnet), and a
     * container reaching a published port of its own network */
    st_buf_printf(nat,
                  "    oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n"
                  "    oifname \"%s\" ip saddr %s ct status dnat "
                  "masquerade\n",
                  a->bridge, a->bridge, a->subnet);
    if (a->internal)
      st_buf_printf(fwd,
                    "    iifname \"%s\" oifname != \"%s\" drop\n"
                    "    oifname \"%s\" iifname != \"%s\" drop\n",
                    a->bridge, a->bridge, a->bridge, a->bridge);
    for (size_t j = 0; j < n; j++)
      if (j != i && is_bridge(&v[j]))
        st_buf_printf(fwd, "    iifname \"%s\" oifname \"%s\" drop\n",
                      a->bridge, v[j].bridge);
  }
}

/* DNAT rules of one running container, from its ports.json. */
static void port_rules(st_buf *b, const char *dir) {
  cleanup_json json_t *cfg = st_ct_net_config_load(dir);
  /* published ports go to the first endpoint's address */
  const char *ip = json_string_value(json_object_get(
      json_array_get(json_object_get(cfg, "endpoints"), 0), "ip"));
  cleanup_free char *path = NULL;
  if (ip == NULL || asprintf(&path, "%s/ports.json", dir) < 0)
    return;
  cleanup_json json_t *bound = json_load_file(path, 0, NULL);
  size_t i;
  json_t *p;
  json_array_foreach(bound, i, p) {
    const char *hip = json_string_value(json_object_get(p, "host_ip"));
    const char *proto = json_string_value(json_object_get(p, "proto"));
    if (proto == NULL || (strcmp(proto, "tcp") && strcmp(proto, "udp")))
      continue;
    if (hip && *hip)
      st_buf_printf(b, "    ip daddr %s ", hip);
    else
      st_buf_puts(b, "    ");
    st_buf_printf(b, "%s dport %d dnat to %s:%d\n", proto,
                  (int)json_integer_value(json_object_get(p, "host_port")), ip,
                  (int)json_integer_value(json_object_get(p, "port")));
  }
}

static int running_ports(st_store *s, st_buf *b, st_error **err) {
  st_container *all = NULL;
  size_t n = 0;
  if (st_container_list(s, &all, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (all[i].state != ST_CT_RUNNING ||
        !st_pid_alive(all[i].pid, all[i].pid_start))
      continue;
    cleanup_free char *dir = st_container_dir(s, all[i].id);
    if (dir)
      port_rules(b, dir);
  }
  st_containers_free(all, n);
  return 0;
}

static char *ruleset(const st_buf *nat, const st_buf *fwd,
                     const st_buf *ports) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_printf(
      &b,
      "table ip strata\n"
      "delete table ip strata\n"
      "table ip strata {\n"
      "  chain prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    fib daddr type local jump ports\n"
      "  }\n"
      "  chain output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    fib daddr type local jump ports\n"
      "  }\n"
      "  chain ports {\n%s"
      "  }\n"
      "  chain postrouting {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n%s"
      "  }\n"
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n%s"
      "  }\n"
      "}\n",
      ports->data ? ports->data : "", nat->data ? nat->data : "",
      fwd->data ? fwd->data : "");
  return st_buf_steal(&b);
}

/* <root>/network.lock, held while the state is read and applied, so the
 * last rebuild applied is made from the newest state. */
static int lock_rules(st_store *s) {
  cleanup_free char *p = NULL;
  if (asprintf(&p, "%s/network.lock", st_store_root(s)) < 0)
    return -1;
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    flock(fd, LOCK_EX);
  return fd;
}

/* The ruleset the store's state asks for now. */
static char *desired_ruleset(st_store *s, st_error **err) {
  st_network *v = NULL;
  size_t n = 0;
  if (st_network_list(s, &v, &n, err) < 0)
    return NULL;
  cleanup_buf st_buf nat = ST_BUF_INIT;
  cleanup_buf st_buf fwd = ST_BUF_INIT;
  cleanup_buf st_buf ports = ST_BUF_INIT;
  network_rules(&nat, &fwd, v, n);
  st_networks_free(v, n);
  if (running_ports(s, &ports, err) < 0)
    return NULL;
  char *text = ruleset(&nat, &fwd, &ports);
  if (text == NULL)
    st_error_errno(err, ENOMEM, "nftables ruleset");
  return text;
}

/* <root>/network-rules: the ruleset the last rebuild applied. */
static char *applied_path(st_store *s) {
  char *p = NULL;
  return asprintf(&p, "%s/network-rules", st_store_root(s)) < 0 ? NULL : p;
}

/* Records text as applied (tmp file, rename; not fsynced: after a crash
 * a lost record only makes system check ask for one more rebuild). */
static void record_applied(st_store *s, const char *text) {
  cleanup_free char *rec = applied_path(s);
  cleanup_free char *tmp = NULL;
  if (rec == NULL || asprintf(&tmp, "%s.tmp-%d", rec, (int)getpid()) < 0)
    return;
  FILE *f = fopen(tmp, "we");
  if (f == NULL)
    return;
  bool ok = fputs(text, f) >= 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, rec) < 0)
    unlink(tmp);
}

int st_net_rules_rebuild(st_store *s, st_error **err) {
  cleanup_close int lock = lock_rules(s);
  cleanup_free char *text = desired_ruleset(s, err);
  if (text == NULL)
    return -1;
  if (st_nft_apply(text, err) < 0)
    return st_error_wrap(err, "rebuild table ip strata");
  /* what system check compares with; a stale record only makes it
   * rebuild once more */
  record_applied(s, text);
  return 0;
}

/* ---- system check ----------------------------------------------------------
 */

typedef struct link_scan {
  const st_container **stopped; /* this store's, not running */
  size_t n;
  char **stale;
  size_t n_stale;
} link_scan;

/* A host end ("stv" + 11 hex digits of a container ID + the interface's
 * index; before `network connect`, 12 digits of the ID) of one of this
 * store's containers that is not running. Interfaces of containers this
 * store does not know are left alone: they may be another store's. */
static void stale_link(const char *name, void *arg) {
  link_scan *ls = arg;
  if (strlen(name) != 15 || strspn(name + 3, "0123456789abcdef") != 12)
    return;
  bool ours = false;
  for (size_t i = 0; i < ls->n && !ours; i++)
    ours = strncmp(ls->stopped[i]->id, name + 3, 11) == 0;
  if (!ours)
    return;
  char **nv = realloc(ls->stale, (ls->n_stale + 1) * sizeof(*nv));
  if (nv == NULL)
    return;
  ls->stale = nv;
  if ((nv[ls->n_stale] = strdup(name)) != NULL)
    ls->n_stale++;
}

void st_net_check_clear(st_net_check *c) {
  for (size_t i = 0; i < c->n_links; i++)
    free(c->links[i]);
  free(c->links);
  memset(c, 0, sizeof(*c));
}

int st_net_check_run(st_store *s, st_net_check *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  st_container *all = NULL;
  size_t n = 0;
  if (st_container_list(s, &all, &n, err) < 0)
    return -1;
  link_scan ls = {.stopped = calloc(n ? n : 1, sizeof(*ls.stopped))};
  if (ls.stopped == NULL) {
    st_containers_free(all, n);
    return st_error_errno(err, ENOMEM, "check networking");
  }
  for (size_t i = 0; i < n; i++)
    if (all[i].state != ST_CT_RUNNING ||
        !st_pid_alive(all[i].pid, all[i].pid_start))
      ls.stopped[ls.n++] = &all[i];
  st_error *ignored = NULL;
  if (st_net_links_with_prefix("stv", stale_link, &ls, &ignored) < 0)
    st_error_free(ignored); /* no netlink here: nothing to check */
  free(ls.stopped);
  st_containers_free(all, n);
  out->links = ls.stale;
  out->n_links = ls.n_stale;
  /* the rules: what the last rebuild applied against what the state
   * asks for (a container that died without its monitor keeps its DNAT
   * rules until the next rebuild) */
  cleanup_free char *rec = applied_path(s);
  cleanup_free char *applied = NULL;
  size_t len = 0;
  if (rec && st_read_file(rec, &applied, &len, &ignored) < 0) {
    st_error_free(ignored);
    return 0; /* never rebuilt: no table of ours */
  }
  cleanup_free char *want = desired_ruleset(s, err);
  if (want == NULL) {
    st_net_check_clear(out);
    return -1;
  }
  out->rules_stale = applied && strcmp(applied, want) != 0;
  return 0;
}

int st_net_check_repair(st_store *s, const st_net_check *c, st_error **err) {
  for (size_t i = 0; i < c->n_links; i++)
    if (st_net_link_drop(c->links[i], err) < 0)
      return -1;
  return c->rules_stale ? st_net_rules_rebuild(s, err) : 0;
}

/* The network namespace's cookie: unlike its inode number, never given to
 * another namespace before the next boot. 0 when the kernel has none (before
 * 5.14): the caller then rebuilds the table each time. */
static uint64_t netns_cookie(void) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
    cookie = 0;
  close(fd);
  return cookie;
}

/* Which table this is: the boot and the network namespace, as
 * "<boot_id> <netns cookie>\n". NULL when the kernel cannot say. */
static char *table_identity(void) {
  char boot[64] = "";
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
  if (f == NULL)
    return NULL;
  bool got = fgets(boot, sizeof(boot), f) != NULL;
  fclose(f);
  uint64_t ns = netns_cookie();
  if (!got || ns == 0)
    return NULL;
  boot[strcspn(boot, "\n")] = '\0';
  char *id = NULL;
  return asprintf(&id, "%s %llx\n", boot, (unsigned long long)ns) < 0 ? NULL
                                                                      : id;
}

int st_net_rules_ensure(st_store *s, st_error **err) {
  /* <root>/network-table names the boot and the network namespace whose
   * table the last rebuild made: the table is gone at boot, and a strata
   * run in another namespace (in a container, in the test suite's jobs)
   * has a table of its own. Not fsynced: a lost marker costs one rebuild. */
  cleanup_free char *id = table_identity();
  cleanup_free char *path = NULL;
  cleanup_free char *seen = NULL;
  size_t len = 0;
  if (id == NULL || asprintf(&path, "%s/network-table", st_store_root(s)) < 0)
    return st_net_rules_rebuild(s, err);
  if (st_read_file(path, &seen, &len, NULL) == 0 && strcmp(seen, id) == 0)
    return 0;
  if (st_net_rules_rebuild(s, err) < 0)
    return -1;
  cleanup_free char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
    return 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return 0;
  bool ok = st_write_all(fd, id, strlen(id), tmp, NULL) == 0;
  close(fd);
  if (!ok || rename(tmp, path) < 0)
    unlink(tmp);
  return 0;
}

int st_net_rules_container(st_store *s, const char *dir, st_error **err) {
  if (st_ct_publishes(dir))
    return st_net_rules_rebuild(s, err);
  if (st_ct_bridged(dir))
    return st_net_rules_ensure(s, err);
  return 0;
}
