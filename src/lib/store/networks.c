/* Network rows in SQLite (store/networks.h). */
#include "store/networks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/addr.h"
#include "store/internal.h"
#include "util/cleanup.h"

void st_network_clear(st_network *n) {
  free(n->name);
  free(n->driver);
  free(n->bridge);
  free(n->subnet);
  free(n->gateway);
  free(n->labels);
  memset(n, 0, sizeof(*n));
}

void st_networks_free(st_network *v, size_t n) {
  for (size_t i = 0; i < n && v; i++)
    st_network_clear(&v[i]);
  free(v);
}

void st_net_attaches_free(st_net_attach *v, size_t n) {
  for (size_t i = 0; i < n && v; i++) {
    free(v[i].container);
    free(v[i].aliases);
    free(v[i].name);
  }
  free(v);
}

#define NET_COLS                                                               \
  "id, name, driver, bridge, subnet, gateway, internal, labels, created"

static void read_id(sqlite3_stmt *st, int col, char out[ST_NETWORK_ID_LEN]) {
  const unsigned char *t = sqlite3_column_text(st, col);
  snprintf(out, ST_NETWORK_ID_LEN, "%s", t ? (const char *)t : "");
}

static int read_row(sqlite3_stmt *st, st_network *n) {
  memset(n, 0, sizeof(*n));
  read_id(st, 0, n->id);
  n->name = st_db_strdup(st, 1);
  n->driver = st_db_strdup(st, 2);
  n->bridge = st_db_strdup(st, 3);
  n->subnet = st_db_strdup(st, 4);
  n->gateway = st_db_strdup(st, 5);
  n->internal = sqlite3_column_int(st, 6) != 0;
  n->labels = st_db_strdup(st, 7);
  n->created = sqlite3_column_int64(st, 8);
  if (!n->name || !n->driver || !n->bridge || !n->subnet || !n->gateway ||
      !n->labels) {
    st_network_clear(n);
    return -1;
  }
  return 0;
}

int st_network_insert(st_store *s, const st_network *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT INTO networks (" NET_COLS ") VALUES "
                    "(?,?,?,?,?,?,?,?,?)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, n->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, n->driver, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, n->bridge, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, n->subnet, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, n->gateway, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 7, n->internal);
  sqlite3_bind_text(st, 8, n->labels ? n->labels : "{}", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 9, n->created);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    return st_error_set(err, EEXIST, "network with name %s already exists",
                        n->name);
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "record network");
  return 0;
}

int st_network_get(st_store *s, const char *ref, st_network *out,
                   st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  /* Docker: an exact name or ID first, then a unique ID prefix */
  if (st_db_prepare(s,
                    "SELECT " NET_COLS ", (name = ?1 OR id = ?1) FROM "
                    "networks WHERE name = ?1 OR id = ?1 OR (length(?1) > 0 "
                    "AND substr(id, 1, length(?1)) = ?1) ORDER BY 10 DESC "
                    "LIMIT 2",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return st_error_set(err, ENOENT, "network %s not found", ref);
  if (rc != SQLITE_ROW)
    return st_db_error(s, err, "read network");
  bool exact = sqlite3_column_int(st, 9) != 0;
  if (read_row(st, out) < 0)
    return st_error_errno(err, ENOMEM, "read network %s", ref);
  if (!exact && sqlite3_step(st) == SQLITE_ROW) {
    st_network_clear(out);
    return st_error_set(err, EINVAL,
                        "network %s is ambiguous (2 matches found based on ID "
                        "prefix)",
                        ref);
  }
  return 0;
}

int st_network_list(st_store *s, st_network **out, size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  if (st_db_prepare(s, "SELECT " NET_COLS " FROM networks ORDER BY created",
                    &st, err) < 0)
    return -1;
  st_network *v = NULL;
  size_t len = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_network *nv = realloc(v, (len + 1) * sizeof(*v));
    if (nv == NULL || read_row(st, &nv[len]) < 0) {
      st_networks_free(nv ? nv : v, len);
      return st_error_errno(err, ENOMEM, "list networks");
    }
    v = nv;
    len++;
  }
  if (rc != SQLITE_DONE) {
    st_networks_free(v, len);
    return st_db_error(s, err, "list networks");
  }
  *out = v;
  *n = len;
  return 0;
}

int st_network_delete(st_store *s, const st_network *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s, "DELETE FROM networks WHERE id = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, n->id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT)
    return st_error_set(err, EBUSY,
                        "error while removing network: network %s id %s has "
                        "active endpoints",
                        n->name, n->id);
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "remove network");
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT, "network %s not found", n->name);
  return 0;
}

/* The taken addresses of net, ascending. */
static int taken(st_store *s, const char *net_id, uint32_t **v, size_t *n,
                 st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  *v = NULL;
  *n = 0;
  if (st_db_prepare(s,
                    "SELECT ip FROM network_addrs WHERE network = ? "
                    "ORDER BY ip",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      uint32_t *nv = realloc(*v, cap * sizeof(**v));
      if (nv == NULL) {
        free(*v);
        *v = NULL;
        return st_error_errno(err, ENOMEM, "allocate an address");
      }
      *v = nv;
    }
    (*v)[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
  }
  if (rc != SQLITE_DONE) {
    free(*v);
    *v = NULL;
    return st_db_error(s, err, "read the addresses of a network");
  }
  return 0;
}

static uint32_t lowest_free(const st_network *net, const uint32_t *used,
                            size_t n) {
  uint32_t base, gw;
  int prefix;
  if (st_ipv4_parse_cidr(net->subnet, &base, &prefix) < 0 ||
      st_ipv4_parse(net->gateway, &gw) < 0)
    return 0;
  uint32_t first = base + 1,
           last = prefix >= 31 ? base : (base | ~st_ipv4_mask(prefix)) - 1;
  size_t i = 0;
  for (uint32_t a = first; a <= last && a != 0; a++) {
    while (i < n && used[i] < a)
      i++;
    if (a != gw && (i == n || used[i] != a))
      return a;
  }
  return 0;
}

static int insert_attach(st_store *s, const char *net_id, const char *container,
                         uint32_t ip, const char *aliases, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "INSERT INTO network_addrs (network, container, ip, "
                    "aliases) VALUES (?,?,?,?)",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, container, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, ip);
  sqlite3_bind_text(st, 4, aliases ? aliases : "[]", -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_CONSTRAINT) {
    char a[INET_ADDRSTRLEN];
    uint32_t be = htonl(ip);
    inet_ntop(AF_INET, &be, a, sizeof(a));
    return st_error_set(err, EEXIST,
                        "Address already in use: %s (or the container is "
                        "already attached to the network)",
                        a);
  }
  if (rc != SQLITE_DONE)
    return st_db_error(s, err, "record a network address");
  return 0;
}

int st_network_attach(st_store *s, const st_network *net, const char *container,
                      uint32_t want, const char *aliases, uint32_t *ip,
                      st_error **err) {
  if (st_tx_begin(s, err) < 0)
    return -1;
  uint32_t a = want;
  if (a == 0) {
    cleanup_free uint32_t *used = NULL;
    size_t n = 0;
    if (taken(s, net->id, &used, &n, err) < 0)
      goto fail;
    a = lowest_free(net, used, n);
    if (a == 0) {
      st_error_set(err, ENOSPC, "no available IPv4 addresses on network %s",
                   net->name);
      goto fail;
    }
  }
  if (insert_attach(s, net->id, container, a, aliases, err) < 0 ||
      st_tx_commit(s, err) < 0)
    goto fail;
  *ip = a;
  return 0;
fail:
  st_tx_rollback(s);
  return -1;
}

int st_network_detach(st_store *s, const char *net_id, const char *container,
                      st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  if (st_db_prepare(s,
                    "DELETE FROM network_addrs WHERE network = ? AND "
                    "container = ?",
                    &st, err) < 0)
    return -1;
  sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, container, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE)
    return st_db_error(s, err, "remove a network address");
  if (sqlite3_changes(s->db) == 0)
    return st_error_set(err, ENOENT,
                        "container %.12s is not connected to "
                        "the network",
                        container);
  return 0;
}

int st_net_attach_list(st_store *s, const char *net_id, const char *container,
                       st_net_attach **out, size_t *n, st_error **err) {
  cleanup_stmt sqlite3_stmt *st = NULL;
  *out = NULL;
  *n = 0;
  if (st_db_prepare(s,
                    "SELECT a.network, a.container, a.ip, a.aliases, c.name "
                    "FROM network_addrs a JOIN containers c ON c.id = "
                    "a.container WHERE (?1 IS NULL OR a.network = ?1) AND "
                    "(?2 IS NULL OR a.container = ?2) ORDER BY a.network, "
                    "a.ip",
                    &st, err) < 0)
    return -1;
  if (net_id)
    sqlite3_bind_text(st, 1, net_id, -1, SQLITE_STATIC);
  if (container)
    sqlite3_bind_text(st, 2, container, -1, SQLITE_STATIC);
  st_net_attach *v = NULL;
  size_t len = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    st_net_attach *nv = realloc(v, (len + 1) * sizeof(*v));
    if (nv == NULL) {
      st_net_attaches_free(v, len);
      return st_error_errno(err, ENOMEM, "list network addresses");
    }
    v = nv;
    read_id(st, 0, v[len].network);
    v[len].container = st_db_strdup(st, 1);
    v[len].ip = (uint32_t)sqlite3_column_int64(st, 2);
    v[len].aliases = st_db_strdup(st, 3);
    v[len].name = st_db_strdup(st, 4);
    len++;
    if (!v[len - 1].container || !v[len - 1].aliases || !v[len - 1].name) {
      st_net_attaches_free(v, len);
      return st_error_errno(err, ENOMEM, "list network addresses");
    }
  }
  if (rc != SQLITE_DONE) {
    st_net_attaches_free(v, len);
    return st_db_error(s, err, "list network addresses");
  }
  *out = v;
  *n = len;
  return 0;
}
