/* net/link.c against the kernel: every case runs in a forked child that
 * unshared a fresh network namespace (a second one for the "container"),
 * so the host's interfaces are never touched. Skipped without
 * CAP_NET_ADMIN/CAP_SYS_ADMIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/link.h"

static uint32_t ip(const char *s) {
  struct in_addr a;
  inet_pton(AF_INET, s, &a);
  return a.s_addr;
}

/* Runs fn in a child in a new network namespace; its exit code. */
static int in_netns(int (*fn)(void)) {
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) < 0)
      _exit(77);
    _exit(fn());
  }
  int ws = 0;
  waitpid(pid, &ws, 0);
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 100;
}

static void check(int code) {
  if (code == 77)
    skip();
  assert_int_equal(code, 0);
}

/* The "container": its own namespace, configures eth0 once told, then
 * echoes one UDP datagram back. */
static int container_side(int go, int ready) {
  if (unshare(CLONE_NEWNET) < 0)
    return 1;
  if (write(ready, "n", 1) != 1)
    return 2;
  char c;
  if (read(go, &c, 1) != 1)
    return 3;
  st_error *err = NULL;
  if (st_net_link_up("lo", &err) < 0 ||
      st_net_addr_add("eth0", ip("10.88.0.2"), 24, &err) < 0 ||
      st_net_link_up("eth0", &err) < 0 ||
      st_net_route_default("eth0", ip("10.88.0.1"), &err) < 0) {
    fprintf(stderr, "%s\n", err->msg);
    return 4;
  }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(5000),
                          .sin_addr.s_addr = ip("10.88.0.2")};
  if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
    return 5;
  if (write(ready, "b", 1) != 1)
    return 6;
  char buf[64];
  struct sockaddr_in from;
  socklen_t fl = sizeof(from);
  ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
  if (n != 5 || memcmp(buf, "hello", 5) != 0)
    return 7;
  /* the reply goes back through the default route's gateway side */
  if (sendto(s, "world", 5, 0, (struct sockaddr *)&from, fl) != 5)
    return 8;
  return 0;
}

static void count_name(const char *name, void *arg) {
  (void)name;
  (*(int *)arg)++;
}

static int bridge_and_veth(void) {
  int go[2], ready[2];
  if (pipe(go) < 0 || pipe(ready) < 0)
    return 10;
  pid_t pid = fork();
  if (pid == 0)
    _exit(container_side(go[0], ready[1]));
  char c;
  if (read(ready[0], &c, 1) != 1)
    return 11;
  st_error *err = NULL;
  if (st_net_bridge_ensure("stbr0", ip("10.88.0.1"), 24, &err) < 0 ||
      st_net_bridge_ensure("stbr0", ip("10.88.0.1"), 24, &err) < 0 ||
      st_net_veth_create("stv0", "eth0", pid, "stbr0", &err) < 0) {
    fprintf(stderr, "%s\n", err->msg);
    return 12;
  }
  if (if_nametoindex("eth0") != 0) /* the peer is in the other namespace */
    return 13;
  if (write(go[1], "g", 1) != 1 || read(ready[0], &c, 1) != 1)
    return 14;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(5000),
                          .sin_addr.s_addr = ip("10.88.0.2")};
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (sendto(s, "hello", 5, 0, (struct sockaddr *)&a, sizeof(a)) != 5)
    return 15;
  char buf[16];
  if (recv(s, buf, sizeof(buf), 0) != 5 || memcmp(buf, "world", 5) != 0)
    return 16;
  int ws = 0;
  waitpid(pid, &ws, 0);
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
    return 20 + (WIFEXITED(ws) ? WEXITSTATUS(ws) : 9);
  /* the container's namespace is gone, and with it both ends */
  int n = 0;
  for (int i = 0; i < 100 && if_nametoindex("stv0") != 0; i++)
    usleep(10000);
  if (st_net_links_with_prefix("stv", count_name, &n, &err) < 0 || n != 0)
    return 30;
  if (!st_net_subnet_routed(ip("10.88.0.0"), 16, NULL) ||
      !st_net_subnet_routed(ip("10.88.0.128"), 25, "lo") ||
      st_net_subnet_routed(ip("10.88.0.0"), 16, "stbr0") ||
      st_net_subnet_routed(ip("10.99.0.0"), 16, NULL))
    return 31;
  return 0;
}

static void test_bridge_and_veth(void **state) {
  (void)state;
  check(in_netns(bridge_and_veth));
}

static int errors_name_the_link(void) {
  st_error *err = NULL;
  if (st_net_link_up("nosuch0", &err) == 0 || err->code != ENOENT ||
      strstr(err->msg, "nosuch0") == NULL)
    return 1;
  st_error_free(err);
  err = NULL;
  if (st_net_link_delete("nosuch0", &err) == 0 || err->code != ENOENT)
    return 2;
  st_error_free(err);
  err = NULL;
  /* a veth into a process that does not exist */
  if (st_net_veth_create("stv1", "eth0", 999999999, NULL, &err) == 0 ||
      strstr(err->msg, "stv1") == NULL)
    return 3;
  st_error_free(err);
  err = NULL;
  int n = 0;
  if (st_net_links_with_prefix("stv", count_name, &n, &err) < 0 || n != 0)
    return 4; /* nothing half-made */
  if (st_net_bridge_ensure("stbr1", ip("10.77.0.1"), 16, &err) < 0 ||
      st_net_link_delete("stbr1", &err) < 0 || if_nametoindex("stbr1") != 0)
    return 5;
  return 0;
}

static void test_errors(void **state) {
  (void)state;
  check(in_netns(errors_name_the_link));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bridge_and_veth),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
