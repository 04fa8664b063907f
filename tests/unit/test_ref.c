/* Unit tests for the image reference module: Docker's normalization, the
 * familiar form, error messages, tag splitting, reference filters and ID
 * recognition. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ref/ref.h"
#include "util/cleanup.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST "sha256:" HEX64

/* Parses in and checks the normalized full form and each field. */
static void expect_parse(const char *in, const char *domain, const char *path,
                         const char *tag, const char *digest,
                         const char *full) {
  cleanup_error st_error *err = NULL;
  st_ref r;
  int ret = st_ref_parse(in, &r, &err);
  if (ret < 0)
    fail_msg("parse \"%s\": %s", in, err->msg);
  assert_null(err);
  assert_string_equal(r.domain, domain);
  assert_string_equal(r.path, path);
  if (tag)
    assert_string_equal(r.tag, tag);
  else
    assert_null(r.tag);
  if (digest)
    assert_string_equal(r.digest, digest);
  else
    assert_null(r.digest);
  cleanup_free char *f = st_ref_full(&r);
  assert_string_equal(f, full);
  st_ref_clear(&r);
}

/* Parses in, expects EINVAL, a cleared ref, and a message holding each of
 * the given parts. */
static void expect_error(const char *in, const char *part1, const char *part2) {
  cleanup_error st_error *err = NULL;
  st_ref r;
  assert_int_equal(st_ref_parse(in, &r, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  assert_null(r.domain);
  assert_null(r.path);
  assert_null(r.tag);
  assert_null(r.digest);
  if (strncmp(err->msg, "invalid reference format", 24) != 0)
    fail_msg("\"%s\": message \"%s\" lacks the prefix", in, err->msg);
  if (part1 && strstr(err->msg, part1) == NULL)
    fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, err->msg, part1);
  if (part2 && strstr(err->msg, part2) == NULL)
    fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, err->msg, part2);
}

static void test_docker_hub_names(void **state) {
  (void)state;
  expect_parse("ubuntu", "docker.io", "library/ubuntu", "latest", NULL,
               "docker.io/library/ubuntu:latest");
  expect_parse("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", NULL,
               "docker.io/library/ubuntu:22.04");
  expect_parse("team/app", "docker.io", "team/app", "latest", NULL,
               "docker.io/team/app:latest");
  expect_parse("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest",
               NULL, "docker.io/library/ubuntu:latest");
  expect_parse("docker.io/library/ubuntu:20.04", "docker.io", "library/ubuntu",
               "20.04", NULL, "docker.io/library/ubuntu:20.04");
  expect_parse("index.docker.io/ubuntu", "docker.io", "library/ubuntu",
               "latest", NULL, "docker.io/library/ubuntu:latest");
  expect_parse("index.docker.io/team/app:v2", "docker.io", "team/app", "v2",
               NULL, "docker.io/team/app:v2");
  expect_parse("a/b/c", "docker.io", "a/b/c", "latest", NULL,
               "docker.io/a/b/c:latest");
  /* A name alone is never a domain: "localhost:5000" is image localhost
   * with tag 5000, and "docker.io" is an image on Docker Hub. */
  expect_parse("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
               "docker.io/library/localhost:5000");
  expect_parse("docker.io", "docker.io", "library/docker.io", "latest", NULL,
               "docker.io/library/docker.io:latest");
  /* "sha256:<hex>" is image "sha256" with a 64-character tag in Docker. */
  expect_parse(DIGEST, "docker.io", "library/sha256", HEX64, NULL,
               "docker.io/library/sha256:" HEX64);
}

static void test_other_domains(void **state) {
  (void)state;
  expect_parse("localhost:5000/x:v1", "localhost:5000", "x", "v1", NULL,
               "localhost:5000/x:v1");
  expect_parse("localhost/x", "localhost", "x", "latest", NULL,
               "localhost/x:latest");
  expect_parse("quay.io/team/app:1.0", "quay.io", "team/app", "1.0", NULL,
               "quay.io/team/app:1.0");
  expect_parse("quay.io/ubuntu", "quay.io", "ubuntu", "latest", NULL,
               "quay.io/ubuntu:latest");
  expect_parse("192.168.1.10:5000/a/b", "192.168.1.10:5000", "a/b", "latest",
               NULL, "192.168.1.10:5000/a/b:latest");
  expect_parse("[::1]:5000/x:t", "[::1]:5000", "x", "t", NULL,
               "[::1]:5000/x:t");
  expect_parse("[fe80::1]/x", "[fe80::1]", "x", "latest", NULL,
               "[fe80::1]/x:latest");
  expect_parse("my-registry.example.com:443/x", "my-registry.example.com:443",
               "x", "latest", NULL, "my-registry.example.com:443/x:latest");
  /* An uppercase first component cannot be a path: it is a domain. */
  expect_parse("Registry/app", "Registry", "app", "latest", NULL,
               "Registry/app:latest");
}

static void test_path_separators(void **state) {
  (void)state;
  expect_parse("team/a.b_c__d-e---f/g9", "docker.io", "team/a.b_c__d-e---f/g9",
               "latest", NULL, "docker.io/team/a.b_c__d-e---f/g9:latest");
  expect_parse("x:_Tag.1-2", "docker.io", "library/x", "_Tag.1-2", NULL,
               "docker.io/library/x:_Tag.1-2");
}

static void test_digests(void **state) {
  (void)state;
  expect_parse("ubuntu@" DIGEST, "docker.io", "library/ubuntu", NULL, DIGEST,
               "docker.io/library/ubuntu@" DIGEST);
  expect_parse("ubuntu:22.04@" DIGEST, "docker.io", "library/ubuntu", "22.04",
               DIGEST, "docker.io/library/ubuntu:22.04@" DIGEST);
  expect_parse("localhost:5000/x@" DIGEST, "localhost:5000", "x", NULL, DIGEST,
               "localhost:5000/x@" DIGEST);
}

static void test_repo(void **state) {
  (void)state;
  cleanup_error st_error *err = NULL;
  st_ref r;
  assert_int_equal(st_ref_parse("localhost:5000/a/b:v1", &r, &err), 0);
  cleanup_free char *repo = st_ref_repo(&r);
  assert_string_equal(repo, "localhost:5000/a/b");
  st_ref_clear(&r);
  assert_null(r.path);
  st_ref_clear(&r); /* clearing twice is harmless */
}

static void test_name_errors(void **state) {
  (void)state;
  expect_error("", "at least one component", NULL);
  expect_error("Ubuntu", "repository name (library/Ubuntu) must be lowercase",
               NULL);
  expect_error("localhost:5000/Team/app", "(Team/app)", "lowercase");
  expect_error(HEX64, HEX64, "64-byte hexadecimal");
  expect_error("a//b", "(a//b)", "empty path component");
  expect_error("team/", "(team/)", "empty");
  expect_error("/ubuntu", "(/ubuntu)", "empty");
  expect_error("-ubuntu", "\"-ubuntu\"", NULL);
  expect_error("ubuntu-", "\"ubuntu-\"", NULL);
  expect_error("a..b", "\"a..b\"", NULL);
  expect_error("a___b", "\"a___b\"", NULL);
  expect_error("team/my app", "\"my app\"", NULL);
}

static void test_domain_errors(void **state) {
  (void)state;
  expect_error("foo_bar.com/x", "domain (foo_bar.com)", NULL);
  expect_error("localhost:/x", "domain (localhost:)", NULL);
  expect_error("localhost:50a0/x", "domain (localhost:50a0)", NULL);
  expect_error("-bad.com/x", "domain (-bad.com)", NULL);
  expect_error("bad-.com/x", "domain (bad-.com)", NULL);
  expect_error("[::1/x", "domain ([::1)", NULL);
  expect_error("[]:5000/x", "domain ([]:5000)", NULL);
  expect_error("My_Team/app", "repository name (My_Team/app)", "lowercase");
}

static void test_tag_errors(void **state) {
  (void)state;
  expect_error("ubuntu:", "empty tag", "\"ubuntu:\"");
  expect_error("localhost:5000/x:", "empty tag", NULL);
  expect_error("ubuntu:bad tag", "tag \"bad tag\"", "[A-Za-z0-9_.-]");
  expect_error("ubuntu:-x", "tag \"-x\"", "must start with");
  expect_error("ubuntu:.x", "tag \".x\"", NULL);
  expect_error("ubuntu:a:b", "tag \"a:b\"", NULL);
  char name[200] = "ubuntu:";
  memset(name + 7, 'a', 129);
  name[7 + 129] = '\0';
  expect_error(name, "at most 128 characters", NULL);
  name[7 + 128] = '\0';
  char full[300];
  snprintf(full, sizeof(full), "docker.io/library/%s", name);
  expect_parse(name, "docker.io", "library/ubuntu", name + 7, NULL, full);
}

static void test_digest_errors(void **state) {
  (void)state;
  expect_error("ubuntu@", "empty digest", NULL);
  expect_error("ubuntu@sha256:abc", "digest \"sha256:abc\"", "length");
  expect_error("ubuntu@sha256:" HEX64 "00", "length", NULL);
  expect_error("ubuntu@md5:" HEX64, "unsupported digest algorithm", "md5");
  expect_error("ubuntu@" HEX64, "invalid checksum digest format", NULL);
  expect_error("ubuntu@sha256:"
               "0123456789ABCDEF0123456789abcdef"
               "0123456789abcdef0123456789abcdef",
               "invalid checksum digest format", "lowercase");
  expect_error("ubuntu@sha256:"
               "0123456789zzcdef0123456789abcdef"
               "0123456789abcdef0123456789abcdef",
               "invalid checksum digest format", NULL);
  expect_error("ubuntu:v1@", "empty digest", NULL);
}

static void test_name_length(void **state) {
  (void)state;
  /* 255 counts the normalized name, "docker.io/library/" included. */
  char name[300];
  size_t fit = 255 - strlen("docker.io/library/");
  memset(name, 'a', fit);
  name[fit] = '\0';
  cleanup_error st_error *err = NULL;
  st_ref r;
  assert_int_equal(st_ref_parse(name, &r, &err), 0);
  cleanup_free char *repo = st_ref_repo(&r);
  assert_int_equal(strlen(repo), 255);
  st_ref_clear(&r);
  name[fit] = 'a';
  name[fit + 1] = '\0';
  expect_error(name, "must not be more than 255 characters",
               "(docker.io/library/aaaa");
}

static void expect_familiar(const char *in, const char *want) {
  cleanup_free char *got = st_ref_familiar(in);
  assert_string_equal(got, want);
}

static void test_familiar(void **state) {
  (void)state;
  expect_familiar("docker.io/library/ubuntu:latest", "ubuntu:latest");
  expect_familiar("docker.io/library/ubuntu", "ubuntu");
  expect_familiar("docker.io/team/app", "team/app");
  expect_familiar("docker.io/team/app:v1", "team/app:v1");
  expect_familiar("localhost:5000/x:v1", "localhost:5000/x:v1");
  expect_familiar("quay.io/library/x", "quay.io/library/x");
  /* Docker keeps "library/" when more components follow. */
  expect_familiar("docker.io/library/a/b", "library/a/b");
  expect_familiar("docker.io/library/ubuntu@" DIGEST, "ubuntu@" DIGEST);
  expect_familiar("ubuntu", "ubuntu");
}

static void expect_split(const char *in, const char *repo, const char *tag) {
  char *r = NULL, *t = NULL;
  assert_int_equal(st_ref_split_tag(in, &r, &t), 0);
  assert_string_equal(r, repo);
  if (tag)
    assert_string_equal(t, tag);
  else
    assert_null(t);
  free(r);
  free(t);
}

static void test_split_tag(void **state) {
  (void)state;
  expect_split("docker.io/library/ubuntu:latest", "docker.io/library/ubuntu",
               "latest");
  expect_split("localhost:5000/x:v1", "localhost:5000/x", "v1");
  expect_split("localhost:5000/x", "localhost:5000/x", NULL);
  expect_split("[::1]:5000/a/b:t", "[::1]:5000/a/b", "t");
  expect_split("docker.io/library/ubuntu:22.04@" DIGEST,
               "docker.io/library/ubuntu", "22.04");
  expect_split("docker.io/library/ubuntu@" DIGEST, "docker.io/library/ubuntu",
               NULL);
  expect_split("ubuntu", "ubuntu", NULL);
}

static void test_filter_match(void **state) {
  (void)state;
  const char *busybox = "docker.io/library/busybox";
  assert_true(st_ref_filter_match("busybox", busybox, "latest"));
  assert_true(st_ref_filter_match("busybox:latest", busybox, "latest"));
  assert_true(st_ref_filter_match("busy*", busybox, "latest"));
  assert_true(st_ref_filter_match("busybox:lat*", busybox, "latest"));
  assert_false(st_ref_filter_match("busybox:1*", busybox, "latest"));
  assert_true(st_ref_filter_match("busy?ox", busybox, "latest"));
  assert_true(st_ref_filter_match("[a-c]usybox", busybox, "latest"));
  assert_false(st_ref_filter_match("[^b]usybox", busybox, "latest"));
  assert_true(st_ref_filter_match("docker.io/library/busybox", busybox, NULL));
  assert_true(
      st_ref_filter_match("docker.io/library/*:latest", busybox, "latest"));
  assert_true(st_ref_filter_match("busybox", busybox, NULL));
  assert_false(st_ref_filter_match("busybox:latest", busybox, NULL));
  assert_false(st_ref_filter_match("ubuntu", busybox, "latest"));

  const char *app = "docker.io/team/app";
  assert_true(st_ref_filter_match("*/app", app, "v1"));
  assert_true(st_ref_filter_match("team/*", app, "v1"));
  assert_false(st_ref_filter_match("*", app, "v1")); /* '*' stops at '/' */
  assert_false(st_ref_filter_match("app", app, "v1"));
  assert_true(st_ref_filter_match("*", busybox, "latest"));

  const char *local = "localhost:5000/x";
  assert_true(st_ref_filter_match("localhost:5000/*", local, "v1"));
  assert_true(st_ref_filter_match("localhost:5000/x:v?", local, "v1"));
  assert_false(st_ref_filter_match("localhost:5000/*", busybox, "latest"));
  assert_false(st_ref_filter_match("x", local, "v1"));
}

static void test_filter_pattern_syntax(void **state) {
  (void)state;
  const char *busybox = "docker.io/library/busybox";
  assert_true(st_ref_filter_match("busy\\box", busybox, NULL));
  assert_true(st_ref_filter_match("*box*", busybox, "latest"));
  assert_true(st_ref_filter_match("**box", busybox, NULL));
  assert_true(st_ref_filter_match("[b]usybox", busybox, NULL));
  /* Malformed patterns match nothing, as path.Match's ErrBadPattern. */
  assert_false(st_ref_filter_match("[", busybox, NULL));
  assert_false(st_ref_filter_match("busybox[", busybox, NULL));
  assert_false(st_ref_filter_match("[]usybox", busybox, NULL));
  assert_false(st_ref_filter_match("busybox\\", busybox, NULL));
  assert_false(st_ref_filter_match("[a-]usybox", busybox, NULL));
  /* A class never shields the rest from the syntax check. */
  assert_false(st_ref_filter_match("busybox*[", busybox, NULL));
}

static void test_looks_like_id(void **state) {
  (void)state;
  assert_true(st_ref_looks_like_id("a"));
  assert_true(st_ref_looks_like_id("0123abcd"));
  assert_true(st_ref_looks_like_id(HEX64));
  assert_true(st_ref_looks_like_id("sha256:0123abcd"));
  assert_true(st_ref_looks_like_id(DIGEST));
  assert_false(st_ref_looks_like_id(""));
  assert_false(st_ref_looks_like_id("sha256:"));
  assert_false(st_ref_looks_like_id(HEX64 "0"));
  assert_false(st_ref_looks_like_id("0123ABCD"));
  assert_false(st_ref_looks_like_id("ubuntu"));
  assert_false(st_ref_looks_like_id("sha512:0123"));
  assert_false(st_ref_looks_like_id("abc:latest"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_hub_names),
      cmocka_unit_test(test_other_domains),
      cmocka_unit_test(test_path_separators),
      cmocka_unit_test(test_digests),
      cmocka_unit_test(test_repo),
      cmocka_unit_test(test_name_errors),
      cmocka_unit_test(test_domain_errors),
      cmocka_unit_test(test_tag_errors),
      cmocka_unit_test(test_digest_errors),
      cmocka_unit_test(test_name_length),
      cmocka_unit_test(test_familiar),
      cmocka_unit_test(test_split_tag),
      cmocka_unit_test(test_filter_match),
      cmocka_unit_test(test_filter_pattern_syntax),
      cmocka_unit_test(test_looks_like_id),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
