/* Unit tests of the registry client's parsers: WWW-Authenticate, base64,
 * manifests and indexes, platform choice, auth keys and auth files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image.h"
#include "registry/auth.h"
#include "registry/creds.h"
#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"

static void test_bearer_challenge(void **state) {
  st_auth_challenge c;
  st_error *err = NULL;
  assert_int_equal(
      st_auth_challenge_parse(
          "Bearer realm=\"https://auth.docker.io/token\","
          "service=\"registry.docker.io\",scope=\"repository:library/"
          "busybox:pull\",error=\"insufficient_scope\"",
          &c, &err),
      0);
  assert_int_equal(c.scheme, ST_AUTH_BEARER);
  assert_string_equal(c.realm, "https://auth.docker.io/token");
  assert_string_equal(c.service, "registry.docker.io");
  assert_string_equal(c.scope, "repository:library/busybox:pull");
  assert_string_equal(c.error, "insufficient_scope");
  st_auth_challenge_clear(&c);
}

static void test_basic_and_bearer(void **state) {
  st_auth_challenge c;
  st_error *err = NULL;
  /* Several challenges: Bearer wins whatever the order; spaces, escapes
   * and unquoted values are fine; unknown schemes are skipped. */
  assert_int_equal(st_auth_challenge_parse(
                       "Basic realm=\"Registry \\\"Realm\\\"\", Negotiate, "
                       "bearer realm=https://r/t , service = svc",
                       &c, &err),
                   0);
  assert_int_equal(c.scheme, ST_AUTH_BEARER);
  assert_string_equal(c.realm, "https://r/t");
  assert_string_equal(c.service, "svc");
  assert_null(c.scope);
  st_auth_challenge_clear(&c);
  assert_int_equal(st_auth_challenge_parse("Basic realm=\"a,b\"", &c, &err), 0);
  assert_int_equal(c.scheme, ST_AUTH_BASIC);
  assert_string_equal(c.realm, "a,b");
  st_auth_challenge_clear(&c);
  assert_int_equal(st_auth_challenge_parse("", &c, &err), 0);
  assert_int_equal(c.scheme, ST_AUTH_NONE);
  assert_int_equal(st_auth_challenge_parse(NULL, &c, &err), 0);
  assert_int_equal(c.scheme, ST_AUTH_NONE);
}

static void test_bad_challenges(void **state) {
  static const char *const bad[] = {
      "Bearer realm=\"unterminated",
      "realm=\"x\"",
      "Bearer @",
      "Bearer realm=\"x\\",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    st_auth_challenge c;
    st_error *err = NULL;
    assert_true(st_auth_challenge_parse(bad[i], &c, &err) < 0);
    assert_non_null(err);
    assert_int_equal(err->code, EINVAL);
    assert_int_equal(c.scheme, ST_AUTH_NONE);
    st_error_free(err);
  }
}

static void test_base64(void **state) {
  static const char *const plain[] = {"",    "f",    "fo",
                                      "foo", "foob", "alice:wonder:land"};
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
    cleanup_free char *e = st_base64_encode(plain[i], strlen(plain[i]));
    size_t n = 0;
    cleanup_free char *d = st_base64_decode(e, &n);
    assert_non_null(d);
    assert_int_equal(n, strlen(plain[i]));
    assert_string_equal(d, plain[i]);
  }
  cleanup_free char *e = st_base64_encode("foob", 4);
  assert_string_equal(e, "Zm9vYg==");
  cleanup_free char *unpadded = st_base64_decode("Zm9vYg", NULL);
  assert_string_equal(unpadded, "foob");
  assert_null(st_base64_decode("Zm9v!", NULL));
  assert_null(st_base64_decode("Z", NULL));
}

#define DIGEST_A                                                               \
  "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B                                                               \
  "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_manifest_image(void **state) {
  const char *doc =
      "{\"schemaVersion\":2,\"mediaType\":\"" ST_MT_DOCKER_MANIFEST "\","
      "\"config\":{\"mediaType\":\"" ST_MT_DOCKER_CONFIG
      "\",\"digest\":\"" DIGEST_A "\",\"size\":7},"
      "\"layers\":[{\"mediaType\":\"" ST_MT_DOCKER_LAYER_GZIP
      "\",\"digest\":\"" DIGEST_B
      "\",\"size\":42,\"urls\":[\"https://x/y\"]}]}";
  st_manifest m;
  st_error *err = NULL;
  assert_int_equal(st_manifest_parse(doc, strlen(doc), NULL, &m, &err), 0);
  assert_int_equal(m.kind, ST_MANIFEST_IMAGE);
  assert_string_equal(m.media_type, ST_MT_DOCKER_MANIFEST);
  assert_string_equal(m.config.digest, DIGEST_A);
  assert_int_equal(m.config.size, 7);
  assert_int_equal(m.n_items, 1);
  assert_int_equal(m.items[0].size, 42);
  assert_int_equal(m.items[0].n_urls, 1);
  assert_true(st_layer_media_type_known(m.items[0].media_type));
  assert_false(st_layer_media_type_foreign(m.items[0].media_type));
  st_manifest_clear(&m);
}

static void test_manifest_media_type_from_header(void **state) {
  /* No mediaType field: OCI allows it; the Content-Type says. */
  const char *doc = "{\"schemaVersion\":2,\"manifests\":[]}";
  st_manifest m;
  st_error *err = NULL;
  assert_int_equal(st_manifest_parse(doc, strlen(doc),
                                     ST_MT_DOCKER_LIST "; charset=utf-8", &m,
                                     &err),
                   0);
  assert_int_equal(m.kind, ST_MANIFEST_INDEX);
  assert_string_equal(m.media_type, ST_MT_DOCKER_LIST);
  st_manifest_clear(&m);
}

static void expect_refused(const char *doc, const char *ctype,
                           const char *words) {
  st_manifest m;
  st_error *err = NULL;
  assert_true(st_manifest_parse(doc, strlen(doc), ctype, &m, &err) < 0);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  if (strstr(err->msg, words) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err->msg, words);
  st_error_free(err);
}

static void test_manifest_refused(void **state) {
  expect_refused("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL,
                 "schema 1");
  expect_refused("{}",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws",
                 "schema 1");
  expect_refused("[1,2]", NULL, "not a JSON object");
  expect_refused("{\"mediaType\":\"application/x-helm\"}", NULL,
                 "unsupported manifest media type");
  expect_refused("{\"mediaType\":\"" ST_MT_OCI_MANIFEST
                 "\",\"config\":{\"digest\":\"sha256:12\",\"size\":1},"
                 "\"layers\":[]}",
                 NULL, "config: \"digest\"");
  expect_refused("{\"mediaType\":\"" ST_MT_OCI_MANIFEST
                 "\",\"config\":{\"digest\":\"" DIGEST_A "\",\"size\":-1},"
                 "\"layers\":[]}",
                 NULL, "\"size\"");
  expect_refused("{\"mediaType\":\"" ST_MT_OCI_MANIFEST
                 "\",\"config\":{\"digest\":\"" DIGEST_A "\",\"size\":1},"
                 "\"layers\":{}}",
                 NULL, "\"layers\" is not a list");
}

static const char index_doc[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" ST_MT_OCI_INDEX "\",\"manifests\":["
    "{\"digest\":\"" DIGEST_A "\",\"size\":1,\"platform\":{\"os\":\"linux\","
    "\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"digest\":\"" DIGEST_B "\",\"size\":1,\"platform\":{\"os\":\"linux\","
    "\"architecture\":\"arm64\"}},"
    "{\"digest\":\"" DIGEST_A "\",\"size\":1,\"platform\":{\"os\":\"linux\","
    "\"architecture\":\"amd64\"}},"
    "{\"digest\":\"" DIGEST_B "\",\"size\":1,\"platform\":{\"os\":\"unknown\","
    "\"architecture\":\"unknown\"}}]}";

static void test_pick_platform(void **state) {
  st_manifest m;
  st_error *err = NULL;
  assert_int_equal(
      st_manifest_parse(index_doc, strlen(index_doc), NULL, &m, &err), 0);
  assert_int_equal(m.n_items, 4);
  assert_int_equal(st_manifest_pick(&m, "linux/amd64", &err), 2);
  assert_int_equal(st_manifest_pick(&m, "linux/arm64", &err), 1);
  assert_int_equal(st_manifest_pick(&m, "linux/arm64/v8", &err), 1);
  assert_int_equal(st_manifest_pick(&m, "linux/arm/v7", &err), 0);
  assert_int_equal(st_manifest_pick(&m, "linux/arm", &err), 0);
  assert_true(st_manifest_pick(&m, "linux/arm/v6", &err) < 0);
  assert_string_equal(err->msg, "no matching manifest for linux/arm/v6 in "
                                "the manifest list entries");
  st_error_free(err);
  err = NULL;
  if (strcmp(st_host_arch(), "amd64") == 0)
    assert_int_equal(st_manifest_pick(&m, NULL, &err), 2);
  assert_true(st_manifest_pick(&m, "linux//x", &err) < 0);
  assert_int_equal(err->code, EINVAL);
  st_error_free(err);
  st_manifest_clear(&m);
}

static void test_auth_key(void **state) {
  static const char *const cases[][2] = {
      {"docker.io", "https://index.docker.io/v1/"},
      {"index.docker.io", "https://index.docker.io/v1/"},
      {"https://index.docker.io/v1/", "https://index.docker.io/v1/"},
      {"127.0.0.1:5000", "127.0.0.1:5000"},
      {"https://127.0.0.1:5000/v2/", "127.0.0.1:5000"},
      {"http://quay.io", "quay.io"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cleanup_free char *k = st_registry_auth_key(cases[i][0]);
    assert_string_equal(k, cases[i][1]);
  }
}

static void test_creds_files(void **state) {
  char dir[] = "/tmp/strata-creds-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], authfile[256];
  snprintf(path, sizeof(path), "%s/config.json", dir);
  snprintf(authfile, sizeof(authfile), "%s/auth.json", dir);
  setenv("DOCKER_CONFIG", dir, 1);
  setenv("REGISTRY_AUTH_FILE", authfile, 1);
  st_error *err = NULL;
  /* "dXNlcjpwYTpzcw==" is user:pa:ss; keys written as URLs match. */
  const char *cfg = "{\"auths\":{\"https://reg.example:5000/v1/\":"
                    "{\"auth\":\"dXNlcjpwYTpzcw==\"}},\"other\":1}";
  assert_int_equal(st_write_file_atomic(path, cfg, strlen(cfg), &err), 0);
  char *u = NULL, *p = NULL;
  assert_int_equal(st_creds_lookup("reg.example:5000", &u, &p, &err), 1);
  assert_string_equal(u, "user");
  assert_string_equal(p, "pa:ss");
  free(u);
  free(p);
  assert_int_equal(st_creds_lookup("reg.example", &u, &p, &err), 0);
  /* The containers auth file is read first. */
  const char *auth = "{\"auths\":{\"reg.example:5000\":{\"auth\":"
                     "\"b3RoZXI6c2VjcmV0\"}}}";
  assert_int_equal(st_write_file_atomic(authfile, auth, strlen(auth), &err), 0);
  assert_int_equal(st_creds_lookup("reg.example:5000", &u, &p, &err), 1);
  assert_string_equal(u, "other");
  free(u);
  free(p);
  unlink(authfile);
  /* Store, then erase, keeping other keys. */
  assert_int_equal(st_creds_store("new:1", "a", "b", NULL, &err), 0);
  assert_int_equal(st_creds_lookup("new:1", &u, &p, &err), 1);
  assert_string_equal(u, "a");
  free(u);
  free(p);
  assert_int_equal(st_creds_erase("new:1", &err), 1);
  assert_int_equal(st_creds_erase("new:1", &err), 0);
  cleanup_free char *text = NULL;
  size_t len = 0;
  assert_int_equal(st_read_file(path, &text, &len, &err), 0);
  assert_non_null(strstr(text, "\"other\": 1"));
  assert_non_null(strstr(text, "reg.example:5000"));
  /* A broken file is an error naming it. */
  assert_int_equal(st_write_file_atomic(path, "{", 1, &err), 0);
  assert_true(st_creds_lookup("x", &u, &p, &err) < 0);
  assert_non_null(strstr(err->msg, path));
  st_error_free(err);
  err = NULL;
  st_rm_rf(dir, &err);
  unsetenv("DOCKER_CONFIG");
  unsetenv("REGISTRY_AUTH_FILE");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bearer_challenge),
      cmocka_unit_test(test_basic_and_bearer),
      cmocka_unit_test(test_bad_challenges),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_manifest_image),
      cmocka_unit_test(test_manifest_media_type_from_header),
      cmocka_unit_test(test_manifest_refused),
      cmocka_unit_test(test_pick_platform),
      cmocka_unit_test(test_auth_key),
      cmocka_unit_test(test_creds_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
