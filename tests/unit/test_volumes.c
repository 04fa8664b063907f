/* Volumes: the store's records (store/volumes.c), the volume verbs
 * (runtime/volumes.c), and how -v / --mount / the image's VOLUME turn into
 * OCI mounts and volume records (runtime/mounts.c), on a throwaway store;
 * no container is run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/mounts.h"
#include "runtime/volumes.h"
#include "store/containers.h"
#include "store/fsck.h"
#include "store/internal.h"
#include "store/volumes.h"
#include "util/cleanup.h"

#include "store_fixture.h"

#define S(lit) ((char *)(lit))

static void add_container(st_store *s, const char *id) {
  st_container c = {.name = (char *)id + 60,
                    .image_ref = S("img"),
                    .command = S("true"),
                    .state = ST_CT_CREATED};
  snprintf(c.id, sizeof(c.id), "%s", id);
  snprintf(c.image, sizeof(c.image), "sha256:%064d", 0);
  st_error *err = NULL;
  /* A container row needs its image's row (containers hold their image). */
  char sql[512];
  snprintf(sql, sizeof(sql),
           "INSERT OR IGNORE INTO images (id, manifest, manifest_media_type,"
           " created, size, added) VALUES ('%s', '%s', 'x', 0, 0, 0)",
           c.image, c.image);
  assert_int_equal(st_db_exec(s, sql, &err), 0);
  assert_int_equal(st_container_insert(s, &c, &err), 0);
}

static const char ct1[] =
    "1111111111111111111111111111111111111111111111111111111111111111";

static void test_names(void **state) {
  (void)state;
  assert_true(st_volume_name_valid("pgdata"));
  assert_true(st_volume_name_valid("a1"));
  assert_true(st_volume_name_valid("9_a.b-c"));
  assert_false(st_volume_name_valid("a"));
  assert_false(st_volume_name_valid("_ab"));
  assert_false(st_volume_name_valid(".ab"));
  assert_false(st_volume_name_valid("a/b"));
  assert_false(st_volume_name_valid("a b"));
  assert_false(st_volume_name_valid(""));
}

static void test_records(void **state) {
  ctx *c = *state;
  cleanup_error st_error *err = NULL;
  char *labels[] = {S("a=1")};
  cleanup_free char *name = NULL;
  assert_int_equal(
      st_volume_create(c->s, "vol1", labels, 1, NULL, 0, &name, &err), 0);
  assert_string_equal(name, "vol1");
  cleanup_free char *dir = st_volume_dir(c->s, "vol1"), *data = NULL;
  assert_true(asprintf(&data, "%s/_data", dir) > 0);
  assert_int_equal(access(data, F_OK), 0);
  st_volume v;
  assert_int_equal(st_volume_get(c->s, "vol1", &v, &err), 0);
  assert_string_equal(v.driver, "local");
  assert_string_equal(v.labels, "{\"a\":\"1\"}");
  st_volume_clear(&v);
  assert_int_equal(st_volume_get(c->s, "nosuch", &v, &err), -1);
  assert_int_equal(err->code, ENOENT);
  assert_string_equal(err->msg, "get nosuch: no such volume");
  st_error_free(err);
  err = NULL;

  /* in use: refused, by the check and by the foreign key */
  add_container(c->s, ct1);
  assert_int_equal(st_volume_attach(c->s, ct1, "vol1", "/data", &err), 0);
  assert_int_equal(st_volume_use_count(c->s, "vol1"), 1);
  assert_int_equal(st_volume_remove(c->s, "vol1", &err), -1);
  assert_int_equal(err->code, EBUSY);
  assert_non_null(strstr(err->msg, "remove vol1: volume is in use - [1111"));
  st_error_free(err);
  err = NULL;
  assert_int_equal(st_volume_delete(c->s, "vol1", &err), -1);
  assert_int_equal(err->code, EBUSY);
  st_error_free(err);
  err = NULL;
  /* the container's row goes: so does the link */
  assert_int_equal(st_container_delete(c->s, ct1, &err), 0);
  assert_int_equal(st_volume_use_count(c->s, "vol1"), 0);
  assert_int_equal(st_volume_remove(c->s, "vol1", &err), 0);
  assert_int_equal(access(dir, F_OK), -1);
}

static void test_create_errors(void **state) {
  ctx *c = *state;
  st_error *err = NULL;
  char *name = NULL;
  assert_int_equal(st_volume_create(c->s, "a/b", NULL, 0, NULL, 0, &name, &err),
                   -1);
  assert_int_equal(err->code, EINVAL);
  assert_non_null(strstr(err->msg, "includes invalid characters for a local "
                                   "volume name"));
  st_error_free(err);
  err = NULL;
  char *bad[] = {S("colour=red")};
  assert_int_equal(st_volume_create(c->s, "v2", NULL, 0, bad, 1, &name, &err),
                   -1);
  assert_string_equal(err->msg, "create v2: invalid option key: \"colour\"");
  st_error_free(err);
  err = NULL;
  char *nodev[] = {S("type=tmpfs")};
  assert_int_equal(st_volume_create(c->s, "v2", NULL, 0, nodev, 1, &name, &err),
                   -1);
  st_error_free(err);
  err = NULL;
  st_volume *v = NULL;
  size_t n = 9;
  assert_int_equal(st_volume_list(c->s, &v, &n, &err), 0);
  assert_int_equal(n, 0);
  free(v);
  /* no name: 64 hex digits */
  assert_int_equal(st_volume_create(c->s, NULL, NULL, 0, NULL, 0, &name, &err),
                   0);
  assert_int_equal(strlen(name), 64);
  assert_int_equal(strspn(name, "0123456789abcdef"), 64);
  free(name);
}

static int resolve(ctx *c, st_create_opts *o, const char *image_cfg,
                   st_ct_mounts *m, st_error **err) {
  json_t *cfg = image_cfg ? json_loads(image_cfg, 0, NULL) : NULL;
  int r = st_mounts_resolve(c->s, o, cfg, NULL, 0, m, err);
  json_decref(cfg);
  return r;
}

static json_t *mount_at(st_ct_mounts *m, const char *dest) {
  size_t i;
  json_t *x;
  json_array_foreach(
      m->oci, i,
      x) if (strcmp(json_string_value(json_object_get(x, "destination")),
                    dest) == 0) return x;
  return NULL;
}

static bool has_opt(json_t *mount, const char *opt) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(mount, "options"), i,
                     x) if (strcmp(json_string_value(x), opt) == 0) return true;
  return false;
}

static void test_resolve(void **state) {
  ctx *c = *state;
  cleanup_error st_error *err = NULL;
  char hostdir[128];
  snprintf(hostdir, sizeof(hostdir), "%s/host/new", c->root);
  char v1[200];
  snprintf(v1, sizeof(v1), "%s:/h:ro,rslave", hostdir);
  char *vols[] = {v1, S("named:/n"), S("/anon")};
  char *mounts[] = {S("type=tmpfs,dst=/t,tmpfs-size=1k,tmpfs-mode=700"),
                    S("type=volume,src=other,target=/o,readonly")};
  st_create_opts o = {
      .volumes = vols, .n_volumes = 3, .mounts = mounts, .n_mounts = 2};
  st_ct_mounts m;
  assert_int_equal(
      resolve(c, &o, "{\"Volumes\":{\"/img\":{},\"/n\":{}}}", &m, &err), 0);
  /* -v of a missing host dir creates it */
  assert_int_equal(access(hostdir, F_OK), 0);
  json_t *x = mount_at(&m, "/h");
  assert_non_null(x);
  assert_true(has_opt(x, "ro"));
  assert_true(has_opt(x, "rslave"));
  x = mount_at(&m, "/n");
  assert_non_null(x);
  assert_non_null(strstr(json_string_value(json_object_get(x, "source")),
                         "/volumes/named/_data"));
  x = mount_at(&m, "/t");
  assert_true(has_opt(x, "size=1024"));
  assert_true(has_opt(x, "mode=700"));
  assert_true(has_opt(mount_at(&m, "/o"), "ro"));
  assert_non_null(mount_at(&m, "/anon"));
  assert_non_null(mount_at(&m, "/img")); /* image VOLUME, not /n twice */
  assert_int_equal(json_array_size(m.oci), 6);
  /* volumes: named, other, /anon, /img */
  assert_int_equal(m.n_vols, 4);
  assert_int_equal(m.n_anon_created, 2);
  add_container(c->s, ct1);
  assert_int_equal(st_mounts_attach(c->s, ct1, &m, &err), 0);
  char **anon = NULL;
  size_t n = 0;
  assert_int_equal(st_volume_anonymous_of(c->s, ct1, &anon, &n, &err), 0);
  assert_int_equal(n, 2);
  st_strv_free(anon, n);
  st_mounts_clear(&m);

  /* a build step gets no anonymous volume from the image */
  st_create_opts build = {.volatile_layer = true};
  assert_int_equal(resolve(c, &build, "{\"Volumes\":{\"/img\":{}}}", &m, &err),
                   0);
  assert_int_equal(json_array_size(m.oci), 0);
  st_mounts_clear(&m);
}

static void expect_error(ctx *c, const char *v, const char *mount,
                         const char *msg) {
  char *vols[] = {(char *)v};
  char *mounts[] = {(char *)mount};
  st_create_opts o = {.volumes = vols,
                      .n_volumes = v ? 1 : 0,
                      .mounts = mounts,
                      .n_mounts = mount ? 1 : 0};
  st_ct_mounts m;
  st_error *err = NULL;
  assert_int_equal(resolve(c, &o, NULL, &m, &err), -1);
  assert_int_equal(err->code == EINVAL || err->code == ENOENT, 1);
  if (strstr(err->msg, msg) == NULL)
    fail_msg("error |%s| lacks |%s|", err->msg, msg);
  st_error_free(err);
  st_mounts_clear(&m);
}

static void test_resolve_errors(void **state) {
  ctx *c = *state;
  expect_error(c, "a:b:c:d", NULL, "invalid volume specification: 'a:b:c:d'");
  expect_error(c, "v:/d:xx", NULL, "invalid mode: xx");
  expect_error(c, "v:/d:ro,rw", NULL, "invalid mode: ro,rw");
  expect_error(c, "v:rel", NULL, "mount path must be absolute");
  expect_error(c, "v:/", NULL, "destination can't be '/'");
  expect_error(c, "x:/d", NULL, "includes invalid characters");
  expect_error(c, NULL, "type=bind,src=/nonexistent/strata,dst=/d",
               "bind source path does not exist: /nonexistent/strata");
  expect_error(c, NULL, "dst=/d,colour=red", "unexpected key 'colour'");
  expect_error(c, NULL, "dst=/d,lonely", "invalid field 'lonely'");
  expect_error(c, NULL, "type=nfs,dst=/d", "mount type unknown");
  expect_error(c, NULL, "src=v", "field Target must not be empty");
  expect_error(c, NULL, "type=bind,dst=/d", "field Source must not be empty");
  expect_error(c, NULL, "type=bind,src=/tmp,dst=/d,volume-nocopy",
               "cannot mix 'volume-*' options with mount type 'bind'");
  expect_error(c, NULL, "type=tmpfs,dst=/d,tmpfs-size=lots",
               "invalid value for tmpfs-size: lots");
  /* nothing was created by the failures */
  st_volume *v = NULL;
  size_t n = 9;
  st_error *err = NULL;
  assert_int_equal(st_volume_list(c->s, &v, &n, &err), 0);
  assert_int_equal(n, 0);
  free(v);
}

static void test_prune_and_check(void **state) {
  ctx *c = *state;
  cleanup_error st_error *err = NULL;
  char *none = NULL;
  char *anon[] = {S(ST_VOLUME_ANON_LABEL "=")};
  assert_int_equal(
      st_volume_create(c->s, "named", NULL, 0, NULL, 0, &none, &err), 0);
  free(none);
  assert_int_equal(
      st_volume_create(c->s, "anon1", anon, 1, NULL, 0, &none, &err), 0);
  free(none);
  char **names = NULL;
  size_t n = 0;
  int64_t bytes = -1;
  assert_int_equal(
      st_volumes_prune(c->s, false, NULL, 0, &names, &n, &bytes, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(names[0], "anon1");
  assert_int_equal(bytes, 0);
  st_strv_free(names, n);
  assert_int_equal(
      st_volumes_prune(c->s, true, NULL, 0, &names, &n, &bytes, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(names[0], "named");
  st_strv_free(names, n);

  /* system check: a stray directory and a record without its directory */
  assert_int_equal(st_volume_create(c->s, "rec", NULL, 0, NULL, 0, &none, &err),
                   0);
  free(none);
  char path[256];
  snprintf(path, sizeof(path), "%s/volumes/rec/_data", c->root);
  assert_int_equal(rmdir(path), 0);
  snprintf(path, sizeof(path), "%s/volumes/stray", c->root);
  assert_int_equal(mkdir(path, 0700), 0);
  st_fsck_report r;
  assert_int_equal(st_store_check(c->s, &r, &err), 0);
  assert_int_equal(r.n_problems, 2);
  assert_int_equal(r.problems[0].kind, ST_FSCK_VOLUME);
  assert_string_equal(r.problems[0].subject, "rec");
  assert_string_equal(r.problems[1].subject, "stray");
  st_fsck_repair rep;
  assert_int_equal(st_store_repair(c->s, &r, &rep, &err), 0);
  st_fsck_repair_clear(&rep);
  st_fsck_report_clear(&r);
  assert_int_equal(st_store_check(c->s, &r, &err), 0);
  assert_int_equal(r.n_problems, 0);
  st_fsck_report_clear(&r);
  assert_int_equal(access(path, F_OK), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test_setup_teardown(test_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resolve_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_prune_and_check, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
