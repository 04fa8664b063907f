/* Docker's parsing of --ulimit, --device, --sysctl, --expose, --platform
 * and the namespace modes (runtime/flags.h): accepted forms and their
 * values, and the exact messages of refused ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "image/image.h"
#include "runtime/flags.h"

/* call (which reports to e_) fails with EINVAL and message want. */
#define assert_refused(call, want)                                             \
  do {                                                                         \
    st_error *e_ = NULL;                                                       \
    assert_int_equal((call), -1);                                              \
    assert_non_null(e_);                                                       \
    assert_int_equal(e_->code, EINVAL);                                        \
    assert_string_equal(e_->msg, (want));                                      \
    st_error_free(e_);                                                         \
  } while (0)

static void test_ulimit(void **state) {
  (void)state;
  st_ulimit u;
  st_error *e = NULL;
  assert_int_equal(st_ulimit_parse("nofile=1024:2048", &u, &e), 0);
  assert_string_equal(u.name, "nofile");
  assert_int_equal(u.resource, RLIMIT_NOFILE);
  assert_int_equal(u.soft, 1024);
  assert_int_equal(u.hard, 2048);
  assert_int_equal(st_ulimit_parse("core=-1", &u, &e), 0);
  assert_int_equal(u.soft, -1);
  assert_int_equal(u.hard, -1);
  assert_int_equal(st_ulimit_parse("nproc=5:-1", &u, &e), 0);
  assert_int_equal(u.soft, 5);
  assert_int_equal(u.hard, -1);
  assert_refused(st_ulimit_parse("nofile", &u, &e_),
                 "invalid ulimit argument: nofile");
  assert_refused(st_ulimit_parse("as=1", &u, &e_), "invalid ulimit type: as");
  assert_refused(st_ulimit_parse("nofile=", &u, &e_),
                 "strconv.ParseInt: parsing \"\": invalid syntax");
  assert_refused(st_ulimit_parse("nofile=1:x", &u, &e_),
                 "strconv.ParseInt: parsing \"x\": invalid syntax");
  assert_refused(st_ulimit_parse("nofile=99999999999999999999", &u, &e_),
                 "strconv.ParseInt: parsing \"99999999999999999999\": value "
                 "out of range");
  assert_refused(st_ulimit_parse("nofile=3:2", &u, &e_),
                 "ulimit soft limit must be less than or equal to hard "
                 "limit: 3 > 2");
  assert_refused(st_ulimit_parse("nofile=1:2:3", &u, &e_),
                 "too many limit value arguments - 1:2:3, can only have up "
                 "to two, `soft[:hard]`");
}

static void check_device(const char *v, const char *host, const char *ctr,
                         const char *perms) {
  char buf[128];
  st_device_map d;
  st_error *e = NULL;
  assert_int_equal(st_device_split(v, buf, &d, &e), 0);
  assert_string_equal(d.host, host);
  assert_string_equal(d.ctr, ctr);
  assert_string_equal(d.perms, perms);
}

static void test_device(void **state) {
  (void)state;
  check_device("/dev/fuse", "/dev/fuse", "/dev/fuse", "rwm");
  check_device("/dev/fuse:r", "/dev/fuse", "/dev/fuse", "r");
  check_device("/dev/fuse:/dev/f", "/dev/fuse", "/dev/f", "rwm");
  check_device("/dev/fuse:/dev/f:mw", "/dev/fuse", "/dev/f", "mw");
  assert_refused(st_device_check("/a:/b:c:d", &e_),
                 "bad format for path: /a:/b:c:d");
  assert_refused(st_device_check(":/b", &e_), "bad format for path: :/b");
  assert_refused(st_device_check("/a:/b:rr", &e_), "bad mode specified: rr");
  assert_refused(st_device_check("/a:b", &e_), "b is not an absolute path");
  assert_refused(st_device_check("a", &e_), "a is not an absolute path");
}

static void test_sysctl(void **state) {
  (void)state;
  st_error *e = NULL;
  assert_int_equal(st_sysctl_check("net.ipv4.ip_forward=1", &e), 0);
  assert_int_equal(st_sysctl_check("kernel.shm_rmid_forced=1", &e), 0);
  assert_int_equal(st_sysctl_check("fs.mqueue.msg_max=20", &e), 0);
  assert_int_equal(st_sysctl_check("kernel.sem=1 2 3 4", &e), 0);
  assert_refused(st_sysctl_check("kernel.shmmaxx=1", &e_),
                 "sysctl 'kernel.shmmaxx=1' is not allowed");
  assert_refused(st_sysctl_check("vm.swappiness=1", &e_),
                 "sysctl 'vm.swappiness=1' is not allowed");
  assert_refused(st_sysctl_check("net.core.somaxconn", &e_),
                 "sysctl 'net.core.somaxconn' is not allowed");
}

static void test_expose(void **state) {
  (void)state;
  st_error *e = NULL;
  json_t *p = json_object();
  assert_int_equal(st_expose_add("80", p, &e), 0);
  assert_int_equal(st_expose_add("53/udp", p, &e), 0);
  assert_int_equal(st_expose_add("8000-8002/tcp", p, &e), 0);
  char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(text, "{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},"
                            "\"8001/tcp\":{},\"8002/tcp\":{}}");
  free(text);
  assert_refused(st_expose_add("1:2", p, &e_),
                 "invalid port format for --expose: 1:2");
  assert_refused(st_expose_add("/tcp", p, &e_),
                 "invalid range format for --expose: /tcp, error: empty "
                 "string specified for ports");
  assert_refused(st_expose_add("70000", p, &e_),
                 "invalid range format for --expose: 70000, error: "
                 "strconv.ParseUint: parsing \"70000\": value out of range");
  assert_refused(st_expose_add("9-8", p, &e_),
                 "invalid range format for --expose: 9-8, error: invalid "
                 "range specified for port: 9-8");
  json_decref(p);
}

static void check_platform(const char *v, const char *want) {
  st_platform p;
  st_error *e = NULL;
  char buf[96];
  assert_int_equal(st_platform_parse(v, &p, &e), 0);
  st_platform_format(&p, buf, sizeof(buf));
  assert_string_equal(buf, want);
}

static void test_platform(void **state) {
  (void)state;
  char host[64];
  snprintf(host, sizeof(host), "linux/%s", st_host_arch());
  check_platform("linux", host);
  check_platform("linux/x86_64", "linux/amd64");
  check_platform("Linux/AArch64", "linux/arm64");
  check_platform("linux/arm64/v8", "linux/arm64");
  check_platform("linux/armhf", "linux/arm/v7");
  check_platform("arm64", "linux/arm64");
  assert_refused(st_platform_parse("bogus", &(st_platform){0}, &e_),
                 "\"bogus\": unknown operating system or architecture: "
                 "invalid argument");
  assert_refused(st_platform_parse("linux//amd64", &(st_platform){0}, &e_),
                 "\"linux//amd64\": unknown operating system or "
                 "architecture: invalid argument");
  st_platform a = {"linux", "arm", "v7"}, b = {"linux", "arm", ""},
              c = {"linux", "arm", "v6"}, d = {"linux", "amd64", ""};
  assert_true(st_platform_matches(&a, &b));
  assert_false(st_platform_matches(&a, &c));
  assert_false(st_platform_matches(&a, &d));
}

static void test_ns_modes(void **state) {
  (void)state;
  st_error *e = NULL;
  const char *ok[][2] = {
      {"pid", "host"},         {"pid", "container:db"}, {"ipc", "private"},
      {"ipc", "shareable"},    {"ipc", "none"},         {"ipc", "host"},
      {"ipc", "container:db"}, {"uts", "host"},         {"uts", ""}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    assert_int_equal(st_ns_mode_check(ok[i][0], ok[i][1], &e), 0);
  assert_refused(st_ns_mode_check("pid", "container:", &e_),
                 "--pid: invalid PID mode");
  assert_refused(st_ns_mode_check("pid", "private", &e_),
                 "--pid: invalid PID mode");
  assert_refused(st_ns_mode_check("ipc", "bogus", &e_),
                 "--ipc: invalid IPC mode");
  assert_refused(st_ns_mode_check("uts", "container:db", &e_),
                 "--uts: invalid UTS mode");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ulimit),   cmocka_unit_test(test_device),
      cmocka_unit_test(test_sysctl),   cmocka_unit_test(test_expose),
      cmocka_unit_test(test_platform), cmocka_unit_test(test_ns_modes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
