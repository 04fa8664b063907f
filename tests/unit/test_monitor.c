/* The monitor's pieces without containers: restart policy parsing and
 * Docker's restart manager (back-off), state.json, the monitor lock, the
 * policy stored in config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/attach_sock.h"
#include "runtime/monitor.h"
#include "store/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define setup store_setup
#define teardown store_teardown
#include "store_fixture.h"
#undef setup
#undef teardown

static void parse_ok(const char *text, const char *name, int max) {
  st_restart_policy p;
  st_error *err = NULL;
  assert_int_equal(st_restart_policy_parse(text, &p, &err), 0);
  assert_string_equal(p.name, name);
  assert_int_equal(p.max_retry, max);
}

static void parse_bad(const char *text, const char *msg) {
  st_restart_policy p;
  st_error *err = NULL;
  assert_true(st_restart_policy_parse(text, &p, &err) < 0);
  assert_non_null(err);
  assert_string_equal(err->msg, msg);
  st_error_free(err);
}

static void test_parse(void **state) {
  (void)state;
  parse_ok("no", "no", 0);
  parse_ok("", "no", 0);
  parse_ok("always", "always", 0);
  parse_ok("unless-stopped", "unless-stopped", 0);
  parse_ok("on-failure", "on-failure", 0);
  parse_ok("on-failure:5", "on-failure", 5);
  parse_ok("always:0", "always", 0);
  parse_bad("bogus", "invalid restart policy: unknown policy 'bogus'; use "
                     "one of 'no', 'always', 'on-failure', or "
                     "'unless-stopped'");
  parse_bad("always:2", "invalid restart policy: maximum retry count can "
                        "only be used with 'on-failure'");
  parse_bad("no:-1", "invalid restart policy: maximum retry count can only "
                     "be used with 'on-failure' and cannot be negative");
  parse_bad("on-failure:-2", "invalid restart policy: maximum retry count "
                             "cannot be negative");
  parse_bad("on-failure:1x", "invalid restart policy format: maximum retry "
                             "count must be an integer");
  parse_bad(":1", "invalid restart policy format: no policy provided before "
                  "colon");
  st_restart_policy p = {.name = "on-failure", .max_retry = 3};
  cleanup_free char *t = st_restart_policy_text(&p);
  assert_string_equal(t, "on-failure:3");
}

static void test_decide(void **state) {
  (void)state;
  st_restart_policy always = {.name = "always"};
  int64_t b = 0;
  const int64_t want[] = {100,  200,   400,   800,   1600,  3200,
                          6400, 12800, 25600, 51200, 60000, 60000};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    assert_true(st_restart_decide(&always, 0, 1000000, (int)i, false, &b));
    assert_int_equal(b, want[i]);
  }
  /* a run of 10 s resets the back-off */
  assert_true(st_restart_decide(&always, 1, 10000000000LL, 12, false, &b));
  assert_int_equal(b, 100);
  /* the user stopped it: never */
  assert_false(st_restart_decide(&always, 1, 0, 0, true, &b));
  st_restart_policy of = {.name = "on-failure", .max_retry = 2};
  b = 0;
  assert_false(st_restart_decide(&of, 0, 0, 0, false, &b));
  assert_true(st_restart_decide(&of, 3, 0, 0, false, &b));
  assert_true(st_restart_decide(&of, 3, 0, 1, false, &b));
  assert_false(st_restart_decide(&of, 3, 0, 2, false, &b));
  st_restart_policy unlimited = {.name = "on-failure"};
  assert_true(st_restart_decide(&unlimited, 1, 0, 1000, false, &b));
  st_restart_policy no = {.name = "no"};
  assert_false(st_restart_decide(&no, 1, 0, 0, false, &b));
  st_restart_policy us = {.name = "unless-stopped"};
  assert_true(st_restart_decide(&us, 0, 0, 0, false, &b));
  assert_false(st_restart_decide(&us, 0, 0, 0, true, &b));
}

static char dir[] = "/tmp/test_monitor.XXXXXX";

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/test_monitor.XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  st_error *err = NULL;
  st_rm_rf(dir, &err);
  st_error_free(err);
  return 0;
}

static void test_state_file(void **state) {
  (void)state;
  st_mstate m = {.restart_count = 4,
                 .restarting = true,
                 .pid = 1234,
                 .pid_start = 99,
                 .started = 1700000000000000001LL,
                 .exit_code = 3,
                 .finished = 1700000000500000000LL};
  m.health = json_pack("{s:s}", "Status", "healthy");
  st_mstate_write(dir, &m);
  st_mstate r;
  assert_true(st_mstate_read(dir, &r));
  assert_int_equal(r.restart_count, 4);
  assert_true(r.restarting);
  assert_int_equal(r.pid, 1234);
  assert_int_equal(r.pid_start, 99);
  assert_int_equal(r.started, m.started);
  assert_int_equal(r.exit_code, 3);
  assert_int_equal(r.finished, m.finished);
  assert_string_equal(json_string_value(json_object_get(r.health, "Status")),
                      "healthy");
  st_mstate_clear(&r);
  st_mstate_clear(&m);
  st_user_stopped_set(dir);
  assert_true(st_user_stopped(dir));
  st_mstate_reset(dir);
  assert_false(st_user_stopped(dir));
  assert_false(st_mstate_read(dir, &r));
}

static void test_lock(void **state) {
  (void)state;
  assert_int_equal(st_monitor_alive(dir), -1); /* no lock file: unknown */
  int go[2];
  assert_int_equal(pipe(go), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = st_monitor_lock(dir);
    char c = fd >= 0 ? 'y' : 'n';
    (void)!write(go[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  assert_int_equal(read(go[0], &c, 1), 1);
  assert_int_equal(c, 'y');
  assert_int_equal(st_monitor_alive(dir), 1);
  kill(pid, SIGKILL); /* a monitor killed: its lock goes with it */
  waitpid(pid, NULL, 0);
  assert_int_equal(st_monitor_alive(dir), 0);
  close(go[0]);
  close(go[1]);
}

static void test_policy_store(void **state) {
  (void)state;
  cleanup_free char *cfg = NULL;
  assert_true(asprintf(&cfg, "%s/config.json", dir) > 0);
  const char *text = "{\"ociVersion\":\"1.0.2\",\"annotations\":{}}";
  st_error *err = NULL;
  assert_int_equal(st_write_file_atomic(cfg, text, strlen(text), &err), 0);
  st_restart_policy p;
  st_restart_policy_load(dir, &p);
  assert_string_equal(p.name, "no");
  st_restart_policy of = {.name = "on-failure", .max_retry = 7};
  assert_int_equal(st_restart_policy_store(dir, &of, &err), 0);
  st_restart_policy_load(dir, &p);
  assert_string_equal(p.name, "on-failure");
  assert_int_equal(p.max_retry, 7);
  /* the rest of config.json is kept */
  json_t *j = json_load_file(cfg, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "ociVersion")),
                      "1.0.2");
  json_decref(j);
  /* no config.json: an error, nothing written */
  unlink(cfg);
  assert_true(st_restart_policy_store(dir, &of, &err) < 0);
  st_error_free(err);
  assert_int_equal(access(cfg, F_OK), -1);
}

/* A container row (and its image's row) plus a directory with a
 * config.json, as create leaves them. */
static void add_container(st_store *s, const char *id, bool auto_remove) {
  st_container c = {.name = (char *)id + 60,
                    .image_ref = (char *)"img",
                    .command = (char *)"true",
                    .state = ST_CT_CREATED,
                    .auto_remove = auto_remove};
  snprintf(c.id, sizeof(c.id), "%s", id);
  snprintf(c.image, sizeof(c.image), "sha256:%064d", 0);
  st_error *err = NULL;
  char sql[512];
  snprintf(sql, sizeof(sql),
           "INSERT OR IGNORE INTO images (id, manifest, manifest_media_type,"
           " created, size, added) VALUES ('%s', '%s', 'x', 0, 0, 0)",
           c.image, c.image);
  assert_int_equal(st_db_exec(s, sql, &err), 0);
  assert_int_equal(st_container_insert(s, &c, &err), 0);
  cleanup_free char *d = st_container_dir(s, id), *cfg = NULL;
  assert_int_equal(st_mkdir_p(d, 0700, &err), 0);
  assert_true(asprintf(&cfg, "%s/config.json", d) > 0);
  const char *text = "{\"annotations\":{\"io.strata.restart\":\"no\"}}";
  assert_int_equal(st_write_file_atomic(cfg, text, strlen(text), &err), 0);
}

static void test_set_policy(void **state) {
  ctx *c = *state;
  const char *id =
      "2222222222222222222222222222222222222222222222222222222222222222";
  const char *rm_id =
      "3333333333333333333333333333333333333333333333333333333333333333";
  add_container(c->s, id, false);
  add_container(c->s, rm_id, true);
  st_restart_policy p = {.name = "on-failure", .max_retry = 4};
  st_error *err = NULL;
  /* by name (the last 4 characters of the ID here) */
  assert_int_equal(st_container_set_restart_policy(c->s, id + 60, &p, &err), 0);
  cleanup_free char *d = st_container_dir(c->s, id);
  st_restart_policy got;
  st_restart_policy_load(d, &got);
  assert_string_equal(got.name, "on-failure");
  assert_int_equal(got.max_retry, 4);
  /* --rm containers take no policy, as Docker's update says */
  assert_true(st_container_set_restart_policy(c->s, rm_id, &p, &err) < 0);
  assert_string_equal(err->msg, "Restart policy cannot be updated because "
                                "AutoRemove is enabled for the container");
  st_error_free(err);
  err = NULL;
  st_restart_policy no = {.name = "no"};
  assert_int_equal(st_container_set_restart_policy(c->s, rm_id, &no, &err), 0);
  assert_true(st_container_set_restart_policy(c->s, "nosuch", &p, &err) < 0);
  assert_int_equal(err->code, ENOENT);
  st_error_free(err);
}

/* The detach keys: Docker's syntax, and the filter that holds back a
 * beginning of the sequence. */
static void test_detach_keys(void **state) {
  (void)state;
  st_detach d;
  assert_int_equal(st_detach_parse(NULL, &d), 0);
  assert_int_equal(d.n_keys, 2);
  assert_int_equal(d.keys[0], 0x10);
  assert_int_equal(d.keys[1], 0x11);
  assert_int_equal(st_detach_parse("ctrl-a,X,ctrl-@,ctrl-\\,ctrl-_", &d), 0);
  assert_int_equal(d.n_keys, 5);
  assert_memory_equal(d.keys, "\x01X\x00\x1c\x1f", 5);
  static const char *const bad[] = {"",        "ctrl-",   "ctrl-1", "ab",
                                    "ctrl-a,", "ctrl-aa", ",",      "ctrl-?"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(st_detach_parse(bad[i], &d), -1);
  assert_int_equal(st_detach_parse(NULL, &d), 0);
  unsigned char out[64];
  bool det;
  /* plain bytes pass */
  size_t n = st_detach_filter(&d, (const unsigned char *)"ls\n", 3, out, &det);
  assert_int_equal(n, 3);
  assert_false(det);
  /* Ctrl-P held back across calls, then released by another byte */
  n = st_detach_filter(&d, (const unsigned char *)"a\x10", 2, out, &det);
  assert_int_equal(n, 1);
  assert_int_equal(out[0], 'a');
  n = st_detach_filter(&d, (const unsigned char *)"b", 1, out, &det);
  assert_int_equal(n, 2);
  assert_memory_equal(out,
                      "\x10"
                      "b",
                      2);
  /* Ctrl-P Ctrl-P Ctrl-Q: the first one is typed, the pair detaches */
  n = st_detach_filter(&d, (const unsigned char *)"\x10\x10\x11zz", 5, out,
                       &det);
  assert_true(det);
  assert_int_equal(n, 1);
  assert_int_equal(out[0], 0x10);
  /* split across reads */
  n = st_detach_filter(&d, (const unsigned char *)"x\x10", 2, out, &det);
  assert_false(det);
  n = st_detach_filter(&d, (const unsigned char *)"\x11", 1, out, &det);
  assert_true(det);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_detach_keys),
      cmocka_unit_test(test_decide),
      cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_policy_store, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_policy, store_setup,
                                      store_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
