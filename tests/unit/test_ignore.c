/* Unit tests for .dockerignore matching: wildcards, classes, escapes, "**",
 * directories excluding what is below them, exceptions and their order,
 * comments, pattern cleaning, may_reinclude and bad patterns. */
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

#include "build/ignore.h"
#include "util/cleanup.h"

static st_ignore *compile(const char *text) {
  cleanup_error st_error *err = NULL;
  st_ignore *ig = NULL;
  if (st_ignore_compile(text, strlen(text), &ig, &err) < 0)
    fail_msg("compile \"%s\": %s", text, err->msg);
  assert_non_null(ig);
  return ig;
}

/* Checks each path against the patterns of text: paths in `yes` are
 * excluded, those in `no` are not (both NULL-terminated). */
static void expect(const char *text, const char *const *yes,
                   const char *const *no) {
  st_ignore *ig = compile(text);
  for (size_t i = 0; yes && yes[i]; i++) {
    if (!st_ignore_match(ig, yes[i]))
      fail_msg("patterns \"%s\": \"%s\" should be excluded", text, yes[i]);
  }
  for (size_t i = 0; no && no[i]; i++) {
    if (st_ignore_match(ig, no[i]))
      fail_msg("patterns \"%s\": \"%s\" should not be excluded", text, no[i]);
  }
  st_ignore_free(ig);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_bad(const char *text, const char *msg) {
  cleanup_error st_error *err = NULL;
  st_ignore *ig = (st_ignore *)1;
  assert_int_equal(st_ignore_compile(text, strlen(text), &ig, &err), -1);
  assert_null(ig);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  if (strcmp(err->msg, msg) != 0)
    fail_msg("\"%s\": message \"%s\", wanted \"%s\"", text, err->msg, msg);
}

static void expect_reinclude(const char *text, const char *dir, bool want) {
  st_ignore *ig = compile(text);
  if (st_ignore_may_reinclude(ig, dir) != want)
    fail_msg("patterns \"%s\": may_reinclude(\"%s\") should be %s", text, dir,
             want ? "true" : "false");
  st_ignore_free(ig);
}

static void test_empty(void **state) {
  (void)state;
  st_ignore *ig = compile("");
  assert_int_equal(st_ignore_count(ig), 0);
  assert_false(st_ignore_match(ig, "a"));
  assert_false(st_ignore_may_reinclude(ig, "a"));
  assert_null(st_ignore_pattern(ig, 0));
  st_ignore_free(ig);
  ig = compile("\n\n   \n\t\n# only a comment\n");
  assert_int_equal(st_ignore_count(ig), 0);
  st_ignore_free(ig);
  st_ignore_free(NULL);
  assert_false(st_ignore_match(NULL, "a"));
}

static void test_literal(void **state) {
  (void)state;
  expect("foo", L("foo", "foo/bar", "foo/bar/baz"),
         L("fo", "foox", "xfoo", "bar/foo", "", "Foo"));
  expect("a/b", L("a/b", "a/b/c"), L("a", "b", "a/bc", "x/a/b"));
  expect("a.txt", L("a.txt"), L("aXtxt", "a.txt2"));
  expect("a+b(c)$", L("a+b(c)$"), L("ab(c)"));
  /* An empty path never matches, even for "**". */
  expect("**", L("a"), L(""));
}

static void test_star(void **state) {
  (void)state;
  expect("*.go", L("a.go", ".go", "x.y.go", "dir.go/inner"),
         L("a.go2", "d/a.go", "a.gox"));
  expect("*", L("a", "a/b", ".hidden"), L(""));
  expect("a*", L("a", "abc", "abc/d"), L("ba", "b/a"));
  expect("*c", L("c", "abc"), L("ab", "d/abc"));
  expect("a*c*e", L("ace", "abcde", "acccce", "aXcYcZe"), L("acd", "aec"));
  expect("d/*", L("d/x", "d/x/y"), L("d", "dx", "e/x"));
  expect("*/x", L("a/x", "b/x/y"), L("x", "a/b/x", "a/xx"));
  expect("a/*/c", L("a/b/c", "a/bb/c/d"), L("a/c", "a/b/b/c"));
  /* Consecutive stars inside a component are one star. */
  expect("a**b", L("ab", "axxb"), L("ax/b", "a/b"));
}

static void test_question(void **state) {
  (void)state;
  expect("?", L("a", "b/c"), L("ab", ""));
  expect("a?c", L("abc", "a.c"), L("ac", "abbc", "a/c"));
  expect("??", L("ab"), L("a", "abc"));
  /* '?' is one character, not one byte. */
  expect("x?y", L("x\xc3\xa9y", "x\xe2\x82\xacy"), L("x\xc3\xa9\xc3\xa9y"));
}

static void test_classes(void **state) {
  (void)state;
  expect("[abc]", L("a", "b", "c/d"), L("d", "ab", "A"));
  expect("file[0-9].txt", L("file0.txt", "file9.txt"),
         L("filea.txt", "file10.txt", "file.txt"));
  expect("[a-cx-z]", L("a", "b", "c", "x", "z"), L("d", "w"));
  expect("[!a-c]", L("d", "z", "0"), L("a", "b", "c"));
  expect("[^a-c]", L("d"), L("a", "c"));
  expect("[\\]]", L("]"), L("\\"));
  expect("[\\-]", L("-"), L("a"));
  expect("[a\\-z]", L("a", "-", "z"), L("b"));
  expect("[*?]x", L("*x", "?x"), L("ax"));
  expect("[\xc3\xa9]", L("\xc3\xa9"), L("e", "\xc3"));
  expect("[\xc3\xa0-\xc3\xbf]", L("\xc3\xa9"), L("z"));
  expect("*[0-9]", L("v1", "12", "abc9"), L("abc", "9a"));
}

static void test_escapes(void **state) {
  (void)state;
  expect("\\*", L("*"), L("a", "**"));
  expect("a\\?", L("a?"), L("ab"));
  expect("\\[a]", L("[a]"), L("a"));
  expect("\\\\", L("\\"), L("a"));
  expect("a\\b", L("ab"), L("a\\b"));
  /* An escaped '/' separates like '/'. */
  expect("a\\/b", L("a/b"), L("ab"));
}

static void test_globstar(void **state) {
  (void)state;
  /* At the start: any depth, including none. */
  expect("**/foo", L("foo", "a/foo", "a/b/foo", "a/foo/bar"),
         L("xfoo", "foox", "a/xfoo"));
  expect("**/*.go", L("a.go", "x/a.go", "x/y/a.go"), L("a.goo", "x/a.g"));
  /* In the middle: none or more directories. */
  expect("a/**/b", L("a/b", "a/x/b", "a/x/y/b", "a/x/b/c"),
         L("b", "x/a/b", "a/xb", "a/x/y"));
  expect("a/**/b/**/c", L("a/b/c", "a/1/b/2/c", "a/1/2/b/b/3/c"),
         L("a/c", "a/b", "b/c"));
  /* At the end: everything inside, not the directory itself. */
  expect("a/**", L("a/b", "a/b/c"), L("a", "ab", "b/a"));
  expect("**", L("a", "a/b"), NULL);
  expect("**/", L("a", "a/b"), NULL);
  expect("**/**", L("a", "a/b"), NULL);
  /* "**x": any x-suffixed name at any depth. */
  expect("**.pyc", L("a.pyc", "d/a.pyc", "d/e/.pyc"), L("a.py", "a.pyc2"));
  expect("a/**/**/b", L("a/b", "a/x/b", "a/x/y/b"), L("a/x"));
  expect("**/a/**", L("a/x", "p/a/x", "p/q/a/x/y"), L("a", "p/a"));
  /* Backtracking over several candidate positions. */
  expect("**/a/b", L("a/a/b", "a/a/a/b", "x/a/y/a/b"),
         L("a/a/c", "b/a", "a/c/b"));
}

static void test_directories(void **state) {
  (void)state;
  expect("node_modules", L("node_modules", "node_modules/x/y.js"),
         L("src/node_modules", "node_modules2"));
  expect("**/node_modules",
         L("node_modules/a", "src/node_modules", "src/node_modules/a/b"),
         L("src/node_modules2"));
  expect("build/*/out", L("build/x/out/a/b"), L("build/out"));
  /* Paths with repeated or trailing slashes still match. */
  expect("a/b", L("a//b", "a/b/", "/a/b"), L("a"));
}

static void test_exceptions(void **state) {
  (void)state;
  expect("*.md\n!README.md", L("a.md", "docs.md"), L("README.md", "a.txt"));
  /* The last match wins. */
  expect("!README.md\n*.md", L("README.md", "a.md"), NULL);
  expect("*.md\n!README*.md\nREADME-secret.md", L("a.md", "README-secret.md"),
         L("README.md", "README-x.md"));
  /* An exception re-includes below an excluded directory. */
  expect("docs\n!docs/keep", L("docs", "docs/a", "docs/x/keep"),
         L("docs/keep", "docs/keep/a"));
  expect("*\n!src\nsrc/*.tmp", L("a", "b/c", "src/x.tmp"),
         L("src", "src/main.c", "src/d/x.tmp"));
  expect("**\n!**/*.c", L("a.h", "d/a.h"), L("a.c", "d/e/a.c"));
  /* "! pattern" trims the space after '!'. */
  expect("*\n! keep", L("a"), L("keep"));
}

static void test_comments_and_whitespace(void **state) {
  (void)state;
  expect("# comment\nfoo\n  \n\t bar \t\n", L("foo", "bar"),
         L("# comment", "comment"));
  /* Only a '#' in the first column starts a comment. */
  expect("  #x", L("#x"), NULL);
  expect("a#b", L("a#b"), L("a"));
  expect("foo\r\nbar\r\n", L("foo", "bar"), NULL);
  expect("\xef\xbb\xbf"
         "foo",
         L("foo"), NULL);
  /* No newline at the end. */
  expect("a\nb", L("a", "b"), L("c"));
}

static void test_cleaning(void **state) {
  (void)state;
  expect("./a", L("a", "a/b"), L("b"));
  expect("a/", L("a", "a/b"), NULL);
  expect("/a", L("a", "a/b"), L("b/a"));
  expect("a//b", L("a/b"), L("a"));
  expect("a/./b/../c", L("a/c"), L("a/b", "a/b/c"));
  expect("!/a", NULL, L("a"));
  expect("../a", NULL, L("a", "x/a"));
  st_ignore *ig = compile("./a/\n/b//c/\n!./d/../e\n!  /f\n# x\n  g  \n");
  assert_int_equal(st_ignore_count(ig), 5);
  assert_string_equal(st_ignore_pattern(ig, 0), "a");
  assert_string_equal(st_ignore_pattern(ig, 1), "b/c");
  assert_string_equal(st_ignore_pattern(ig, 2), "!e");
  assert_string_equal(st_ignore_pattern(ig, 3), "!f");
  assert_string_equal(st_ignore_pattern(ig, 4), "g");
  assert_null(st_ignore_pattern(ig, 5));
  st_ignore_free(ig);
  ig = compile("/\n.\n");
  assert_string_equal(st_ignore_pattern(ig, 0), "/");
  assert_string_equal(st_ignore_pattern(ig, 1), ".");
  assert_false(st_ignore_match(ig, "a"));
  st_ignore_free(ig);
}

static void test_may_reinclude(void **state) {
  (void)state;
  expect_reinclude("docs", "docs", false);
  expect_reinclude("docs\n!docs/keep", "docs", true);
  expect_reinclude("docs\n!docs/keep", "other", false);
  expect_reinclude("docs\n!docs/a/keep", "docs/a", true);
  expect_reinclude("docs\n!docs/a/keep", "docs/b", false);
  expect_reinclude("*\n!**/keep", "any/dir", true);
  expect_reinclude("*\n!*/keep", "a", true);
  expect_reinclude("*\n!*/keep", "a/b", false);
  expect_reinclude("*\n!src/*.c", "src", true);
  expect_reinclude("*\n!s*/*.c", "src", true);
  expect_reinclude("*\n!s*/*.c", "lib", false);
  expect_reinclude("*\n![a-c]/x", "b", true);
  expect_reinclude("*\n![a-c]/x", "d", false);
  /* An exception before the pattern that excludes dir cannot help. */
  expect_reinclude("!docs/keep\ndocs", "docs", false);
  expect_reinclude("a\n!a/b\na", "a", false);
  /* dir is not excluded at all: the exception matched it last. */
  expect_reinclude("a/b\n!a", "a/b", false);
  expect_reinclude("", "a", false);
  expect_reinclude("x\n!y", "", true);
}

static void test_bad_patterns(void **state) {
  (void)state;
  expect_bad("[", "line 1: bad pattern \"[\"");
  expect_bad("a\n[a-", "line 2: bad pattern \"[a-\"");
  expect_bad("ok\n\n# c\n  [abc  ", "line 4: bad pattern \"[abc\"");
  expect_bad("[]", "line 1: bad pattern \"[]\"");
  expect_bad("[]a]", "line 1: bad pattern \"[]a]\"");
  expect_bad("[!]", "line 1: bad pattern \"[!]\"");
  expect_bad("[-a]", "line 1: bad pattern \"[-a]\"");
  expect_bad("[a-]", "line 1: bad pattern \"[a-]\"");
  expect_bad("[z-a]", "line 1: bad pattern \"[z-a]\"");
  expect_bad("[a\\", "line 1: bad pattern \"[a\\\"");
  expect_bad("a\\", "line 1: bad pattern \"a\\\"");
  expect_bad("!", "line 1: bad pattern \"!\"");
  expect_bad("!   ", "line 1: bad pattern \"!\"");
  expect_bad("[\xff]", "line 1: bad pattern \"[\xff]\"");
  /* A later good line does not hide the error. */
  expect_bad("a/[b\nc", "line 1: bad pattern \"a/[b\"");
}

static void test_many_patterns(void **state) {
  (void)state;
  /* Grows every internal array well past its first size. */
  cleanup_free char *text = NULL;
  size_t cap = 64 * 40, len = 0;
  text = malloc(cap);
  assert_non_null(text);
  for (int i = 0; i < 64; i++)
    len +=
        (size_t)snprintf(text + len, cap - len, "d%d/[a-c]*x?/**/f%d\n", i, i);
  st_ignore *ig = compile(text);
  assert_int_equal(st_ignore_count(ig), 64);
  assert_true(st_ignore_match(ig, "d7/bzxq/f7"));
  assert_true(st_ignore_match(ig, "d63/axy/1/2/f63/z"));
  assert_false(st_ignore_match(ig, "d7/bzxq/f8"));
  st_ignore_free(ig);
}

/* Found by fuzz_ignore: patterns that clean to nothing ("/", "!/") leave
 * components without tokens; matching them must not offset a NULL token
 * array (UBSan: pointer overflow). */
static void test_empty_components(void **state) {
  (void)state;
  st_ignore *ig = compile("# c\n !/  \n/\n");
  assert_false(st_ignore_match(ig, "b/  "));
  assert_false(st_ignore_match(ig, "x"));
  st_ignore_free(ig);
  ig = compile("/\n**\n");
  assert_true(st_ignore_match(ig, "a/b"));
  st_ignore_free(ig);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_components),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_literal),
      cmocka_unit_test(test_star),
      cmocka_unit_test(test_question),
      cmocka_unit_test(test_classes),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_globstar),
      cmocka_unit_test(test_directories),
      cmocka_unit_test(test_exceptions),
      cmocka_unit_test(test_comments_and_whitespace),
      cmocka_unit_test(test_cleaning),
      cmocka_unit_test(test_may_reinclude),
      cmocka_unit_test(test_bad_patterns),
      cmocka_unit_test(test_many_patterns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
