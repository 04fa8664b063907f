/* The parts of the runtime that need no namespaces or root: capability
 * names and --cap-add/--cap-drop arithmetic, config.json generation from an
 * image config and the run options (Docker's ENTRYPOINT/CMD rules, env,
 * mounts, security), reading it back, -u resolution against an image's
 * passwd/group files, generated names and the default seccomp profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "runtime/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define BIT(c) (UINT64_C(1) << (c))
/* A string literal where the options want char * (-Wwrite-strings). */
#define S(lit) ((char *)(lit))

/* ---- helpers -------------------------------------------------------------
 */

static bool arr_has(json_t *a, const char *s) {
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
      return true;
  }
  return false;
}

static size_t arr_count(json_t *a, const char *s) {
  size_t i, n = 0;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
      n++;
  }
  return n;
}

/* args as one space-joined string, for compact comparisons. */
static char *joined(json_t *a) {
  char *out = strdup("");
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    char *next = NULL;
    if (asprintf(&next, "%s%s%s", out, i ? " " : "", json_string_value(v)) < 0)
      next = NULL;
    free(out);
    out = next;
    if (out == NULL)
      return NULL;
  }
  return out;
}

static json_t *find_mount(json_t *spec, const char *dest) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(spec, "mounts"), i, m) {
    if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
      return m;
  }
  return NULL;
}

static json_t *process(json_t *spec) {
  return json_object_get(spec, "process");
}

static json_t *linux_obj(json_t *spec) {
  return json_object_get(spec, "linux");
}

#define TEST_DIR "/var/lib/strata/containers/0123456789ab"

/* Generates a spec for o and the image config cfg (a JSON text or NULL). */
static int gen(const st_create_opts *o, const char *cfg, json_t **out,
               st_error **err) {
  json_t *img = cfg ? json_loads(cfg, 0, NULL) : NULL;
  if (cfg)
    assert_non_null(img);
  char *lower[] = {S("/layers/b"), S("/layers/a")};
  st_spec_input in = {.o = o,
                      .image_config = img,
                      .dir = TEST_DIR,
                      .lower = lower,
                      .n_lower = 2,
                      .uid = 0,
                      .gid = 0,
                      .home = "/root",
                      .hostname = "0123456789ab"};
  int r = st_spec_generate(&in, out, err);
  json_decref(img);
  return r;
}

static char *args_of(const st_create_opts *o, const char *cfg) {
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  if (gen(o, cfg, &spec, &err) < 0)
    return NULL;
  char *s = joined(json_object_get(process(spec), "args"));
  json_decref(spec);
  return s;
}

/* ---- capabilities ----------------------------------------------------------
 */

static void test_caps_default(void **state) {
  (void)state;
  uint64_t d = st_caps_default();
  assert_true(d & BIT(CAP_CHOWN));
  assert_true(d & BIT(CAP_NET_BIND_SERVICE));
  assert_true(d & BIT(CAP_AUDIT_WRITE));
  assert_false(d & BIT(CAP_SYS_ADMIN));
  assert_false(d & BIT(CAP_NET_ADMIN));
  assert_false(d & BIT(CAP_SYS_PTRACE));
  assert_int_equal(__builtin_popcountll(d), 14); /* Docker's default set */
  /* The set strata may pass on is a subset of its own bounding set. */
  uint64_t all = st_caps_all();
  assert_true((all & d) != 0);
}

static void test_caps_names(void **state) {
  (void)state;
  uint64_t all = st_caps_all(), out = 0;
  cleanup_error st_error *err = NULL;
  /* with and without CAP_, any case */
  char *add[] = {S("net_admin"), S("CAP_SYS_TIME"), S("Sys_Nice"),
                 S("cap_sys_ptrace")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), add, 4, NULL, 0, &out, &err), 0);
  uint64_t want = (st_caps_default() | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_TIME) |
                   BIT(CAP_SYS_NICE) | BIT(CAP_SYS_PTRACE)) &
                  all;
  assert_true(out == want);
  /* drop */
  char *drop[] = {S("chown"), S("CAP_KILL"), S("Net_Raw")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), NULL, 0, drop, 3, &out, &err), 0);
  assert_false(out & BIT(CAP_CHOWN));
  assert_false(out & BIT(CAP_KILL));
  assert_false(out & BIT(CAP_NET_RAW));
  assert_true(out & BIT(CAP_SETUID));
  /* an unknown name, in add or in drop */
  char *bad[] = {S("CAP_NOPE")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), bad, 1, NULL, 0, &out, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "CAP_NOPE"));
  st_error_free(err);
  err = NULL;
  char *bad2[] = {S("chown"), S("frobnicate")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), NULL, 0, bad2, 2, &out, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "frobnicate"));
}

static void test_caps_all(void **state) {
  (void)state;
  uint64_t all = st_caps_all(), out = 0;
  cleanup_error st_error *err = NULL;
  /* ALL in add: everything but the dropped ones */
  char *add_all[] = {S("ALL")}, *drop_na[] = {S("NET_ADMIN")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), add_all, 1, drop_na, 1, &out, &err), 0);
  assert_true(out == (all & ~BIT(CAP_NET_ADMIN)));
  /* ALL in drop (any case, CAP_ALL too): only the added ones */
  char *drop_all[] = {S("all")}, *add_chown[] = {S("CHOWN"), S("CAP_KILL")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), add_chown, 2, drop_all, 1, &out, &err),
      0);
  assert_true(out == ((BIT(CAP_CHOWN) | BIT(CAP_KILL)) & all));
  char *drop_cap_all[] = {S("cap_all")};
  assert_int_equal(
      st_caps_tweak(st_caps_default(), NULL, 0, drop_cap_all, 1, &out, &err),
      0);
  assert_true(out == 0);
  /* nothing asked: the base, limited to what strata holds */
  assert_int_equal(
      st_caps_tweak(st_caps_default(), NULL, 0, NULL, 0, &out, &err), 0);
  assert_true(out == (st_caps_default() & all));
}

static void test_caps_json(void **state) {
  (void)state;
  cleanup_error st_error *err = NULL;
  uint64_t in = BIT(CAP_CHOWN) | BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF), out = 0;
  json_t *j = st_caps_to_json(in);
  assert_int_equal(json_array_size(j), 3);
  assert_true(arr_has(j, "CAP_CHOWN"));
  assert_true(arr_has(j, "CAP_SYS_ADMIN"));
  assert_true(arr_has(j, "CAP_BPF"));
  assert_int_equal(st_caps_from_json(j, &out, &err), 0);
  assert_true(out == in);
  json_decref(j);
  /* config.json names are exact */
  j = json_pack("[s, s]", "CAP_CHOWN", "CAP_MADE_UP");
  assert_int_equal(st_caps_from_json(j, &out, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "CAP_MADE_UP"));
  json_decref(j);
}

/* ---- ENTRYPOINT / CMD ----------------------------------------------------
 */

static const char *const img_ep_cmd =
    "{\"Entrypoint\": [\"/bin/ep\", \"-x\"], \"Cmd\": [\"a\", \"b\"]}";
static const char *const img_cmd = "{\"Cmd\": [\"/bin/sh\"]}";

static void check_args(const st_create_opts *o, const char *cfg,
                       const char *want) {
  char *got = args_of(o, cfg);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_entrypoint_cmd(void **state) {
  (void)state;
  st_create_opts o = {.image = "img"};
  /* ENTRYPOINT + CMD */
  check_args(&o, img_ep_cmd, "/bin/ep -x a b");
  /* CMD only */
  check_args(&o, img_cmd, "/bin/sh");
  /* arguments after the image replace CMD, keep ENTRYPOINT */
  char *cmd[] = {S("echo"), S("hi there")};
  o.cmd = cmd;
  o.n_cmd = 2;
  check_args(&o, img_ep_cmd, "/bin/ep -x echo hi there");
  check_args(&o, img_cmd, "echo hi there");
  /* --entrypoint replaces ENTRYPOINT and resets CMD */
  o.n_cmd = 0;
  o.entrypoint = "/bin/other";
  check_args(&o, img_ep_cmd, "/bin/other");
  /* ... arguments still follow it */
  o.n_cmd = 1;
  check_args(&o, img_ep_cmd, "/bin/other echo");
  /* no command at all */
  st_create_opts none = {.image = "img"};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&none, "{}", &spec, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "No command specified"));
  assert_null(spec);
  st_error_free(err);
  err = NULL;
  assert_int_equal(gen(&none, NULL, &spec, &err), -1);
  assert_int_equal(err->code, EINVAL);
}

static void test_spec_command(void **state) {
  (void)state;
  /* Docker's list API: an argument with a space in single quotes, as is;
   * anything else (quotes included) bare. */
  char *cmd[] = {S("sh"), S("-c"), S("echo it's"), S("a\"b")};
  st_create_opts o = {.image = "img", .cmd = cmd, .n_cmd = 4};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  char *s = st_spec_command(spec);
  assert_string_equal(s, "sh -c 'echo it's' a\"b");
  free(s);
  json_decref(spec);
}

/* ---- env, cwd, user, hostname ----------------------------------------------
 */

static void test_spec_process(void **state) {
  (void)state;
  char *env[] = {S("FOO=bar"), S("IMG=override"), S("STRATA_TEST_FROM_HOST"),
                 S("STRATA_TEST_UNSET")};
  char *cmd[] = {S("true")};
  setenv("STRATA_TEST_FROM_HOST", "host-value", 1);
  unsetenv("STRATA_TEST_UNSET");
  st_create_opts o = {.image = "img",
                      .cmd = cmd,
                      .n_cmd = 1,
                      .env = env,
                      .n_env = 4,
                      .tty = true};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(
      gen(&o, "{\"Env\": [\"IMG=1\", \"KEEP=yes\"], \"WorkingDir\": \"/srv\"}",
          &spec, &err),
      0);
  json_t *p = process(spec), *e = json_object_get(p, "env");
  assert_true(arr_has(e, "PATH=" ST_DEFAULT_PATH));
  assert_true(arr_has(e, "HOSTNAME=0123456789ab"));
  assert_true(arr_has(e, "HOME=/root"));
  assert_true(arr_has(e, "TERM=xterm"));
  assert_true(arr_has(e, "FOO=bar"));
  assert_true(arr_has(e, "IMG=override"));
  assert_false(arr_has(e, "IMG=1"));
  assert_true(arr_has(e, "KEEP=yes"));
  assert_true(arr_has(e, "STRATA_TEST_FROM_HOST=host-value"));
  for (size_t i = 0; i < json_array_size(e); i++)
    assert_null(
        strstr(json_string_value(json_array_get(e, i)), "STRATA_TEST_UNSET"));
  assert_true(json_is_true(json_object_get(p, "terminal")));
  assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/srv");
  json_t *u = json_object_get(p, "user");
  assert_int_equal(json_integer_value(json_object_get(u, "uid")), 0);
  assert_int_equal(json_integer_value(json_object_get(u, "gid")), 0);
  assert_string_equal(json_string_value(json_object_get(spec, "hostname")),
                      "0123456789ab");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(spec, "root"), "path")),
      TEST_DIR "/merged");
  json_decref(spec);

  /* without -t: no TERM; an image PATH wins; -w wins over WorkingDir; an
   * image HOME is kept */
  o.tty = false;
  o.n_env = 0;
  o.workdir = "/work";
  assert_int_equal(gen(&o,
                       "{\"Env\": [\"PATH=/only\", \"HOME=/home/app\"], "
                       "\"WorkingDir\": \"/srv\"}",
                       &spec, &err),
                   0);
  p = process(spec);
  e = json_object_get(p, "env");
  assert_false(arr_has(e, "TERM=xterm"));
  assert_true(arr_has(e, "PATH=/only"));
  assert_int_equal(arr_count(e, "HOME=/home/app"), 1);
  assert_false(arr_has(e, "HOME=/root"));
  assert_false(json_is_true(json_object_get(p, "terminal")));
  assert_string_equal(json_string_value(json_object_get(p, "cwd")), "/work");
  json_decref(spec);

  /* no WorkingDir: / */
  o.workdir = NULL;
  assert_int_equal(gen(&o, "{}", &spec, &err), 0);
  assert_string_equal(json_string_value(json_object_get(process(spec), "cwd")),
                      "/");
  json_decref(spec);
  unsetenv("STRATA_TEST_FROM_HOST");
}

/* ---- mounts, masked paths, security ----------------------------------------
 */

static void test_spec_default(void **state) {
  (void)state;
  char *cmd[] = {S("true")};
  st_create_opts o = {.image = "img", .cmd = cmd, .n_cmd = 1};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  json_t *m = find_mount(spec, "/proc");
  assert_non_null(m);
  assert_string_equal(json_string_value(json_object_get(m, "type")), "proc");
  assert_non_null(find_mount(spec, "/dev"));
  assert_non_null(find_mount(spec, "/dev/pts"));
  assert_non_null(find_mount(spec, "/dev/shm"));
  assert_non_null(find_mount(spec, "/dev/mqueue"));
  m = find_mount(spec, "/sys");
  assert_non_null(m);
  assert_true(arr_has(json_object_get(m, "options"), "ro"));
  m = find_mount(spec, "/etc/hostname");
  assert_non_null(m);
  assert_string_equal(json_string_value(json_object_get(m, "source")),
                      TEST_DIR "/hostname");
  assert_non_null(find_mount(spec, "/etc/hosts"));
  assert_non_null(find_mount(spec, "/etc/resolv.conf"));

  json_t *l = linux_obj(spec);
  assert_true(arr_has(json_object_get(l, "maskedPaths"), "/proc/kcore"));
  assert_true(arr_has(json_object_get(l, "readonlyPaths"), "/proc/sys"));
  assert_string_equal(json_string_value(json_object_get(l, "cgroupsPath")),
                      "/strata/0123456789ab");
  assert_null(json_object_get(l, "resources"));
  assert_null(json_object_get(l, "devices"));

  json_t *caps = json_object_get(process(spec), "capabilities");
  uint64_t b = 0, e = 0;
  assert_int_equal(
      st_caps_from_json(json_object_get(caps, "bounding"), &b, &err), 0);
  assert_int_equal(
      st_caps_from_json(json_object_get(caps, "effective"), &e, &err), 0);
  assert_true(b == (st_caps_default() & st_caps_all()));
  assert_true(e == b);
  assert_true(json_is_true(json_object_get(process(spec), "noNewPrivileges")));
  json_t *sc = json_object_get(l, "seccomp");
  assert_non_null(sc);
  assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")),
                      "SCMP_ACT_ERRNO");
  /* five namespaces, network among them */
  assert_int_equal(json_array_size(json_object_get(l, "namespaces")), 5);
  json_decref(spec);

  /* --network host: no network namespace */
  o.network = "host";
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  assert_int_equal(
      json_array_size(json_object_get(linux_obj(spec), "namespaces")), 4);
  json_decref(spec);
}

static void test_spec_privileged(void **state) {
  (void)state;
  char *cmd[] = {S("true")};
  st_create_opts o = {
      .image = "img", .cmd = cmd, .n_cmd = 1, .privileged = true};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  json_t *l = linux_obj(spec);
  assert_null(json_object_get(l, "seccomp"));
  assert_null(json_object_get(l, "maskedPaths"));
  assert_null(json_object_get(l, "readonlyPaths"));
  assert_non_null(json_object_get(l, "devices"));
  assert_false(
      arr_has(json_object_get(find_mount(spec, "/sys"), "options"), "ro"));
  assert_false(json_is_true(json_object_get(process(spec), "noNewPrivileges")));
  uint64_t b = 0;
  assert_int_equal(
      st_caps_from_json(
          json_object_get(json_object_get(process(spec), "capabilities"),
                          "bounding"),
          &b, &err),
      0);
  assert_true(b == st_caps_all());
  json_decref(spec);
}

static void test_spec_security_opt(void **state) {
  (void)state;
  char *cmd[] = {S("true")};
  char *sec[] = {S("seccomp=unconfined"), S("no-new-privileges=false"),
                 S("apparmor=unconfined")};
  st_create_opts o = {.image = "img",
                      .cmd = cmd,
                      .n_cmd = 1,
                      .security_opt = sec,
                      .n_security_opt = 3};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  assert_null(json_object_get(linux_obj(spec), "seccomp"));
  assert_non_null(json_object_get(linux_obj(spec), "maskedPaths"));
  assert_false(json_is_true(json_object_get(process(spec), "noNewPrivileges")));
  json_decref(spec);

  char *bad[] = {S("seccomp=/some/profile.json")};
  o.security_opt = bad;
  o.n_security_opt = 1;
  assert_int_equal(gen(&o, NULL, &spec, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "seccomp=/some/profile.json"));
  st_error_free(err);
  err = NULL;

  /* an unknown --cap-add fails the whole generation */
  char *badcap[] = {S("CAP_WHATEVER")};
  st_create_opts o2 = {.image = "img",
                       .cmd = cmd,
                       .n_cmd = 1,
                       .cap_add = badcap,
                       .n_cap_add = 1};
  assert_int_equal(gen(&o2, NULL, &spec, &err), -1);
  assert_int_equal(err->code, EINVAL);
}

/* -v/--mount are resolved before the spec (runtime/mounts.c, tested in
 * test_volumes.c): the spec takes their OCI mounts as they are, after the
 * default ones, and adds --tmpfs. */
static void test_spec_volumes_tmpfs(void **state) {
  (void)state;
  char *cmd[] = {S("true")};
  char *tmpfs[] = {S("/run:size=1m,mode=700")};
  st_create_opts o = {
      .image = "img", .cmd = cmd, .n_cmd = 1, .tmpfs = tmpfs, .n_tmpfs = 1};
  json_t *vols =
      json_pack("[{s:s, s:s, s:s, s:[s,s,s]}]", "destination", "/data", "type",
                "bind", "source", "/tmp", "options", "rbind", "rprivate", "ro");
  char *lower[] = {S("/layers/b"), S("/layers/a")};
  st_spec_input in = {.o = &o,
                      .dir = TEST_DIR,
                      .lower = lower,
                      .n_lower = 2,
                      .home = "/root",
                      .hostname = "0123456789ab",
                      .volume_mounts = vols};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(st_spec_generate(&in, &spec, &err), 0);
  json_t *m = find_mount(spec, "/data");
  assert_non_null(m);
  assert_string_equal(json_string_value(json_object_get(m, "source")), "/tmp");
  assert_true(arr_has(json_object_get(m, "options"), "ro"));
  m = find_mount(spec, "/run");
  assert_non_null(m);
  assert_true(arr_has(json_object_get(m, "options"), "noexec"));
  assert_true(arr_has(json_object_get(m, "options"), "size=1m"));
  assert_true(arr_has(json_object_get(m, "options"), "mode=700"));
  json_decref(spec);
  json_decref(vols);
}

/* --memory 32m, --cpus 0.5, --pids-limit: linux.resources, and read back as
 * the executor sees them. (The flag strings themselves are parsed by the
 * CLI, src/cmd/container_opts.c.) */
static void test_spec_resources_roundtrip(void **state) {
  (void)state;
  char dir[] = "/tmp/strata-test-runtime.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *cmd[] = {S("sh"), S("-c"), S("true")};
  st_create_opts o = {.image = "img",
                      .cmd = cmd,
                      .n_cmd = 3,
                      .memory = 32 * 1024 * 1024,
                      .nano_cpus = 500000000,
                      .pids_limit = 100,
                      .read_only = true,
                      .auto_remove = true};
  json_t *spec = NULL;
  cleanup_error st_error *err = NULL;
  assert_int_equal(gen(&o, "{\"StopSignal\": \"SIGQUIT\"}", &spec, &err), 0);
  json_t *r = json_object_get(linux_obj(spec), "resources");
  assert_int_equal(json_integer_value(
                       json_object_get(json_object_get(r, "memory"), "limit")),
                   33554432);
  json_t *cpu = json_object_get(r, "cpu");
  assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 50000);
  assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 100000);

  char *path = NULL;
  assert_true(asprintf(&path, "%s/config.json", dir) > 0);
  assert_int_equal(json_dump_file(spec, path, 0), 0);
  json_decref(spec);

  st_spec s;
  assert_int_equal(st_spec_load(dir, &s, &err), 0);
  assert_string_equal(s.args[0], "sh");
  assert_string_equal(s.args[2], "true");
  assert_null(s.args[3]);
  assert_int_equal(s.res.memory, 33554432);
  assert_int_equal(s.res.cpu_quota, 50000);
  assert_int_equal(s.res.cpu_period, 100000);
  assert_int_equal(s.res.pids, 100);
  assert_true(s.root_readonly);
  assert_true(s.volatile_upper);
  assert_true(s.no_new_privs);
  assert_non_null(s.seccomp);
  assert_true(s.caps == (st_caps_default() & st_caps_all()));
  assert_string_equal(s.lower[0], "/layers/b");
  assert_string_equal(s.lower[1], "/layers/a");
  assert_null(s.lower[2]);
  assert_string_equal(s.upper, TEST_DIR "/upper");
  assert_string_equal(s.cgroup, "/strata/0123456789ab");
  assert_string_equal(s.masked[0], "/proc/asound");
  /* mount options became flags */
  bool saw_proc = false, saw_sys = false;
  for (size_t i = 0; i < s.n_mounts; i++) {
    if (strcmp(s.mounts[i].dest, "/proc") == 0) {
      saw_proc = true;
      assert_true(s.mounts[i].flags & MS_NOEXEC);
      assert_false(s.mounts[i].readonly);
    } else if (strcmp(s.mounts[i].dest, "/sys") == 0) {
      saw_sys = true;
      assert_true(s.mounts[i].readonly);
    } else if (strcmp(s.mounts[i].dest, "/etc/hosts") == 0) {
      assert_true(s.mounts[i].bind);
      assert_true(s.mounts[i].propagation == (MS_PRIVATE | MS_REC));
    }
  }
  assert_true(saw_proc && saw_sys);
  st_spec_clear(&s);

  /* no limits: no resources; a negative --pids-limit is no limit */
  o.memory = 0;
  o.nano_cpus = 0;
  o.pids_limit = -1;
  assert_int_equal(gen(&o, NULL, &spec, &err), 0);
  assert_null(json_object_get(linux_obj(spec), "resources"));
  json_decref(spec);

  free(path);
  st_error *e2 = NULL;
  st_rm_rf(dir, &e2);
  st_error_free(e2);
}

/* ---- users ---------------------------------------------------------------
 */

typedef struct layers {
  char root[64];
  char *lower[2]; /* top, bottom */
} layers;

static void write_file(const char *dir, const char *name, const char *text) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
  FILE *f = fopen(p, "we");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  free(p);
}

static int users_setup(void **state) {
  layers *l = calloc(1, sizeof(*l));
  snprintf(l->root, sizeof(l->root), "/tmp/strata-test-users.XXXXXX");
  if (l == NULL || mkdtemp(l->root) == NULL)
    return -1;
  if (asprintf(&l->lower[0], "%s/top", l->root) < 0 ||
      asprintf(&l->lower[1], "%s/bottom", l->root) < 0)
    return -1;
  char *etc = NULL;
  for (int i = 0; i < 2; i++) {
    if (mkdir(l->lower[i], 0755) < 0 ||
        asprintf(&etc, "%s/etc", l->lower[i]) < 0 || mkdir(etc, 0755) < 0)
      return -1;
    free(etc);
    etc = NULL;
  }
  /* the top layer's passwd hides the bottom one's; group only below */
  if (asprintf(&etc, "%s/etc", l->lower[0]) < 0)
    return -1;
  write_file(etc, "passwd",
             "root:x:0:0:root:/root:/bin/sh\n"
             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
             "# a comment line\n"
             "broken:x:notanumber:1:::\n"
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  free(etc);
  if (asprintf(&etc, "%s/etc", l->lower[1]) < 0)
    return -1;
  write_file(etc, "passwd", "ghost:x:4242:4242::/ghost:/bin/sh\n");
  write_file(etc, "group",
             "root:x:0:\n"
             "staff:x:50:alice,bob\n"
             "alice:x:1000:\n"
             "wheel:x:10:carol,alice\n"
             "nogroup:x:65534:\n");
  free(etc);
  *state = l;
  return 0;
}

static int users_teardown(void **state) {
  layers *l = *state;
  st_error *err = NULL;
  st_rm_rf(l->root, &err);
  st_error_free(err);
  free(l->lower[0]);
  free(l->lower[1]);
  free(l);
  return 0;
}

static void test_user_resolve(void **state) {
  layers *l = *state;
  st_user u;
  cleanup_error st_error *err = NULL;

  /* default: root */
  assert_int_equal(st_user_resolve(l->lower, 2, NULL, &u, &err), 0);
  assert_int_equal(u.uid, 0);
  assert_int_equal(u.gid, 0);
  assert_string_equal(u.home, "/root");
  st_user_clear(&u);

  assert_int_equal(st_user_resolve(l->lower, 2, "nobody", &u, &err), 0);
  assert_int_equal(u.uid, 65534);
  assert_int_equal(u.gid, 65534);
  assert_string_equal(u.home, "/nonexistent");
  st_user_clear(&u);

  /* a named user gets its primary group and the groups that list it */
  assert_int_equal(st_user_resolve(l->lower, 2, "alice", &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1000);
  assert_string_equal(u.home, "/home/alice");
  assert_int_equal(u.n_groups, 3);
  assert_int_equal(u.groups[0], 1000);
  assert_int_equal(u.groups[1], 50);
  assert_int_equal(u.groups[2], 10);
  st_user_clear(&u);

  /* uid:gid, neither needing an entry */
  assert_int_equal(st_user_resolve(l->lower, 2, "1000:1000", &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 1000);
  assert_int_equal(u.n_groups, 1); /* Docker: id shows groups=1000 */
  assert_int_equal(u.groups[0], 1000);
  st_user_clear(&u);
  assert_int_equal(st_user_resolve(l->lower, 2, "5555:6666", &u, &err), 0);
  assert_int_equal(u.uid, 5555);
  assert_int_equal(u.gid, 6666);
  assert_string_equal(u.home, "/");
  st_user_clear(&u);
  /* a bare unknown uid: gid 0 */
  assert_int_equal(st_user_resolve(l->lower, 2, "777", &u, &err), 0);
  assert_int_equal(u.uid, 777);
  assert_int_equal(u.gid, 0);
  st_user_clear(&u);

  /* name:group */
  assert_int_equal(st_user_resolve(l->lower, 2, "alice:staff", &u, &err), 0);
  assert_int_equal(u.uid, 1000);
  assert_int_equal(u.gid, 50);
  assert_int_equal(u.n_groups, 1);
  assert_int_equal(u.groups[0], 50);
  st_user_clear(&u);

  /* the lower layer's passwd is hidden by the top one's */
  assert_int_equal(st_user_resolve(l->lower, 2, "ghost", &u, &err), -1);
  assert_int_equal(err->code, EINVAL);
  st_error_free(err);
  err = NULL;

  assert_int_equal(st_user_resolve(l->lower, 2, "mallory", &u, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "unable to find user mallory"));
  st_error_free(err);
  err = NULL;

  assert_int_equal(st_user_resolve(l->lower, 2, "alice:nosuch", &u, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "unable to find group nosuch"));
  st_error_free(err);
  err = NULL;

  /* no passwd at all (no layers): numeric only */
  assert_int_equal(st_user_resolve(NULL, 0, "0", &u, &err), 0);
  assert_string_equal(u.home, "/");
  st_user_clear(&u);
  assert_int_equal(st_user_resolve(NULL, 0, "root", &u, &err), -1);
}

/* ---- names -----------------------------------------------------------------
 */

static void test_names(void **state) {
  (void)state;
  size_t distinct = 0;
  char *first = NULL;
  for (int i = 0; i < 50; i++) {
    char *n = st_name_generate();
    assert_non_null(n);
    const char *us = strchr(n, '_');
    assert_non_null(us);
    assert_true(us > n);
    assert_null(strchr(us + 1, '_'));
    assert_true(us[1] != '\0');
    for (const char *p = n; *p; p++)
      assert_true(islower((unsigned char)*p) || *p == '_');
    if (first == NULL)
      first = n;
    else {
      distinct += strcmp(first, n) != 0;
      free(n);
    }
  }
  /* 24 x 24 names: 49 draws equal to the first one is not chance */
  assert_true(distinct > 0);
  free(first);
}

/* ---- seccomp profile -------------------------------------------------------
 */

static json_t *allowed_names(json_t *profile) {
  json_t *first = json_array_get(json_object_get(profile, "syscalls"), 0);
  assert_string_equal(json_string_value(json_object_get(first, "action")),
                      "SCMP_ACT_ALLOW");
  return json_object_get(first, "names");
}

static bool has_rule_for(json_t *profile, const char *name) {
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(profile, "syscalls"), i, r) {
    if (i > 0 && arr_has(json_object_get(r, "names"), name))
      return true;
  }
  return false;
}

static void test_seccomp_profile(void **state) {
  (void)state;
  json_t *p = st_seccomp_default(st_caps_default());
  assert_string_equal(json_string_value(json_object_get(p, "defaultAction")),
                      "SCMP_ACT_ERRNO");
  assert_int_equal(json_integer_value(json_object_get(p, "defaultErrnoRet")),
                   EPERM);
  json_t *names = allowed_names(p);
  assert_true(arr_has(names, "read"));
  assert_true(arr_has(names, "chroot")); /* CAP_SYS_CHROOT is default */
  assert_false(arr_has(names, "ptrace"));
  assert_false(arr_has(names, "mount"));
  assert_false(arr_has(names, "reboot"));
  /* without CAP_SYS_ADMIN: clone only without namespace flags, no clone3 */
  assert_true(has_rule_for(p, "clone"));
  assert_true(has_rule_for(p, "clone3"));
  assert_true(has_rule_for(p, "mknod"));
  assert_true(has_rule_for(p, "personality"));
  json_decref(p);

  p = st_seccomp_default(st_caps_default() | BIT(CAP_SYS_PTRACE));
  names = allowed_names(p);
  assert_true(arr_has(names, "ptrace"));
  assert_true(arr_has(names, "process_vm_readv"));
  assert_false(arr_has(names, "mount"));
  json_decref(p);

  /* CAP_SYS_ADMIN: mount, unshare, clone unrestricted */
  p = st_seccomp_default(st_caps_default() | BIT(CAP_SYS_ADMIN) |
                         BIT(CAP_SYSLOG) | BIT(CAP_BPF));
  names = allowed_names(p);
  assert_true(arr_has(names, "mount"));
  assert_true(arr_has(names, "clone"));
  assert_false(has_rule_for(p, "clone3"));
  /* a call in two held groups is listed once */
  assert_int_equal(arr_count(names, "syslog"), 1);
  assert_int_equal(arr_count(names, "bpf"), 1);
  json_decref(p);

  /* no capability: not even chroot */
  p = st_seccomp_default(0);
  assert_false(arr_has(allowed_names(p), "chroot"));
  json_decref(p);

  /* --cap-add SYS_PTRACE reaches the generated spec's profile */
  if (st_caps_all() & BIT(CAP_SYS_PTRACE)) {
    char *cmd[] = {S("true")}, *add[] = {S("SYS_PTRACE")};
    st_create_opts o = {
        .image = "img", .cmd = cmd, .n_cmd = 1, .cap_add = add, .n_cap_add = 1};
    json_t *spec = NULL;
    cleanup_error st_error *err = NULL;
    assert_int_equal(gen(&o, NULL, &spec, &err), 0);
    assert_true(arr_has(
        allowed_names(json_object_get(linux_obj(spec), "seccomp")), "ptrace"));
    json_decref(spec);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_caps_default),
      cmocka_unit_test(test_caps_names),
      cmocka_unit_test(test_caps_all),
      cmocka_unit_test(test_caps_json),
      cmocka_unit_test(test_entrypoint_cmd),
      cmocka_unit_test(test_spec_command),
      cmocka_unit_test(test_spec_process),
      cmocka_unit_test(test_spec_default),
      cmocka_unit_test(test_spec_privileged),
      cmocka_unit_test(test_spec_security_opt),
      cmocka_unit_test(test_spec_volumes_tmpfs),
      cmocka_unit_test(test_spec_resources_roundtrip),
      cmocka_unit_test_setup_teardown(test_user_resolve, users_setup,
                                      users_teardown),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_seccomp_profile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
