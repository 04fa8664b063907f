/* Unit tests for Dockerfile word expansion: each substitution operator with
 * set, empty and unset variables, quotes, both escape characters, nesting,
 * splitting into words, errors and the `used` report. */
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

#include "build/expand.h"
#include "util/cleanup.h"

/* The variables of every test: SET=val, EMPTY="", SP="a b", and the
 * `used` calls recorded as "name=1 name=0 ..." in used_log. */
static char used_log[512];

static const char *lookup(void *ctx, const char *name) {
  (void)ctx;
  static const char *const vars[][2] = {
      {"SET", "val"},   {"EMPTY", ""},   {"SP", "a b"},
      {"TAB", "\tx\t"}, {"_u1", "u"},    {"1", "one"},
      {"Q", "\"q'"},    {"DOL", "$SET"}, {"SPC", "  "},
  };
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
    if (strcmp(vars[i][0], name) == 0)
      return vars[i][1];
  }
  return NULL;
}

static void used(void *ctx, const char *name, bool set) {
  (void)ctx;
  size_t n = strlen(used_log);
  snprintf(used_log + n, sizeof(used_log) - n, "%s%s=%d", n ? " " : "", name,
           set ? 1 : 0);
}

static st_expander expander(char escape) {
  used_log[0] = '\0';
  return (st_expander){
      .lookup = lookup, .ctx = NULL, .escape = escape, .used = used};
}

static void expect_esc(char escape, const char *in, const char *want) {
  st_expander x = expander(escape);
  cleanup_error st_error *err = NULL;
  cleanup_free char *out = NULL;
  if (st_expand_word(&x, in, &out, &err) < 0)
    fail_msg("expand \"%s\": %s", in, err->msg);
  if (strcmp(out, want) != 0)
    fail_msg("expand \"%s\": \"%s\", wanted \"%s\"", in, out, want);
}

static void expect(const char *in, const char *want) {
  expect_esc('\\', in, want);
}

static void expect_error(const char *in, const char *msg) {
  st_expander x = expander('\\');
  cleanup_error st_error *err = NULL;
  char *out = (char *)1;
  assert_int_equal(st_expand_word(&x, in, &out, &err), -1);
  assert_null(out);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  if (strcmp(err->msg, msg) != 0)
    fail_msg("expand \"%s\": error \"%s\", wanted \"%s\"", in, err->msg, msg);
  /* The same error when splitting into words. */
  cleanup_error st_error *err2 = NULL;
  char **words = (char **)1;
  size_t n = 9;
  assert_int_equal(st_expand_words(&x, in, &words, &n, &err2), -1);
  assert_null(words);
  assert_int_equal(n, 0);
  assert_string_equal(err2->msg, msg);
}

/* Splits in into words and compares them with want (NULL-terminated). */
static void expect_words_esc(char escape, const char *in,
                             const char *const *want) {
  st_expander x = expander(escape);
  cleanup_error st_error *err = NULL;
  char **words = NULL;
  size_t n = 0;
  if (st_expand_words(&x, in, &words, &n, &err) < 0)
    fail_msg("words \"%s\": %s", in, err->msg);
  size_t nwant = 0;
  while (want[nwant])
    nwant++;
  bool same = n == nwant && words[n] == NULL;
  for (size_t i = 0; same && i < n; i++)
    same = strcmp(words[i], want[i]) == 0;
  char got[256] = "";
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(got);
    snprintf(got + l, sizeof(got) - l, "[%s]", words[i]);
  }
  for (size_t i = 0; i < n; i++)
    free(words[i]);
  free(words);
  if (!same)
    fail_msg("words \"%s\": got %s (%zu words)", in, got, n);
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static void expect_words(const char *in, const char *const *want) {
  expect_words_esc('\\', in, want);
}

static void expect_used(const char *in, const char *want) {
  st_expander x = expander('\\');
  cleanup_error st_error *err = NULL;
  cleanup_free char *out = NULL;
  st_expand_word(&x, in, &out, &err);
  if (strcmp(used_log, want) != 0)
    fail_msg("used of \"%s\": \"%s\", wanted \"%s\"", in, used_log, want);
}

static void test_plain(void **state) {
  (void)state;
  expect("", "");
  expect("abc", "abc");
  expect("a b  c", "a b  c");
  expect("/usr/local/bin", "/usr/local/bin");
  expect("{}", "{}");
  expect("}", "}");
}

static void test_simple_vars(void **state) {
  (void)state;
  expect("$SET", "val");
  expect("${SET}", "val");
  expect("x$SET/y", "xval/y");
  expect("x${SET}y", "xvaly");
  expect("$SETy", "");
  expect("$SET$SET", "valval");
  expect("$UNSET", "");
  expect("${UNSET}", "");
  expect("a${EMPTY}b", "ab");
  expect("$_u1", "u");
  expect("$SET-x", "val-x");
  expect("$SET.x", "val.x");
  /* A substituted value is not expanded again. */
  expect("$DOL", "$SET");
  expect("$Q", "\"q'");
}

static void test_literal_dollar(void **state) {
  (void)state;
  expect("$", "$");
  expect("a$", "a$");
  expect("$ x", "$ x");
  expect("$/", "$/");
  expect("$%", "$%");
  expect("$.x", "$.x");
  expect("$}", "$}");
  expect("$=", "$=");
  expect("cost: 5$", "cost: 5$");
  /* '$' then a quote: the quote is processed as usual. */
  expect("$'a'", "$a");
  expect("$\"x\"", "$x");
  /* Digits and Docker's special parameters are names (usually unset). */
  expect("$1", "one");
  expect("$12", "");
  expect("$1x", "onex");
  expect("$@", "");
  expect("$$", "");
  expect("$?x", "x");
}

static void test_default(void **state) {
  (void)state;
  expect("${SET:-def}", "val");
  expect("${EMPTY:-def}", "def");
  expect("${UNSET:-def}", "def");
  expect("${SET-def}", "val");
  expect("${EMPTY-def}", "");
  expect("${UNSET-def}", "def");
  expect("${UNSET:-}", "");
  expect("${UNSET:-a b}", "a b");
  expect("x${UNSET:-/d}/y", "x/d/y");
}

static void test_alternative(void **state) {
  (void)state;
  expect("${SET:+alt}", "alt");
  expect("${EMPTY:+alt}", "");
  expect("${UNSET:+alt}", "");
  expect("${SET+alt}", "alt");
  expect("${EMPTY+alt}", "alt");
  expect("${UNSET+alt}", "");
  expect("${SET:+}", "");
}

static void test_required(void **state) {
  (void)state;
  expect("${SET:?msg}", "val");
  expect("${SET?msg}", "val");
  expect("${EMPTY?msg}", "");
  expect_error("${EMPTY:?msg}", "EMPTY: msg");
  expect_error("${UNSET:?msg}", "UNSET: msg");
  expect_error("${UNSET?msg}", "UNSET: msg");
  expect_error("${UNSET?}", "UNSET: is not allowed to be unset");
  expect_error("${UNSET:?}", "UNSET: is not allowed to be unset");
  expect_error("${EMPTY:?}", "EMPTY: is not allowed to be empty");
  expect_error("${UNSET:?need $SET set}", "UNSET: need val set");
}

static void test_nesting(void **state) {
  (void)state;
  expect("${UNSET:-${SET}}", "val");
  expect("${UNSET:-$SET}", "val");
  expect("${UNSET:-x${EMPTY:-y}z}", "xyz");
  expect("${SET:+${UNSET:-in}}", "in");
  expect("${UNSET:-${UNSET2:-${SET}}}", "val");
  expect("${UNSET:-a}b}", "ab}");
  /* The word is expanded even when unused: its errors count. */
  expect_error("${SET:-${UNSET:?no}}", "UNSET: no");
  /* Quotes and escapes inside the word. */
  expect("${UNSET:-'}'}", "}");
  expect("${UNSET:-\"a}b\"}", "a}b");
  expect("${UNSET:-\\}}", "}");
  expect("${UNSET:-'$SET'}", "$SET");
}

static void test_single_quotes(void **state) {
  (void)state;
  expect("'abc'", "abc");
  expect("'$SET'", "$SET");
  expect("'${SET}'", "${SET}");
  expect("'a\\b'", "a\\b");
  expect("'a\"b'", "a\"b");
  expect("x'y'z", "xyz");
  expect("''", "");
  expect("'a b'", "a b");
}

static void test_double_quotes(void **state) {
  (void)state;
  expect("\"abc\"", "abc");
  expect("\"$SET\"", "val");
  expect("\"${UNSET:-d}\"", "d");
  expect("\"'$SET'\"", "'val'");
  expect("\"a\\\"b\"", "a\"b");
  expect("\"\\$SET\"", "$SET");
  expect("\"\\\\\"", "\\");
  /* Before another character the escape stays. */
  expect("\"a\\nb\"", "a\\nb");
  expect("\"\\'\"", "\\'");
  expect("\"\"", "");
  expect("a\"b c\"d", "ab cd");
}

static void test_escapes(void **state) {
  (void)state;
  expect("\\$SET", "$SET");
  expect("\\${SET}", "${SET}");
  expect("\\'", "'");
  expect("\\\"", "\"");
  expect("\\\\", "\\");
  expect("a\\bc", "abc");
  expect("a\\ b", "a b");
  /* A lone escape at the end is dropped. */
  expect("abc\\", "abc");
  expect("$SET\\$SET", "val$SET");
}

static void test_backtick_escape(void **state) {
  (void)state;
  expect_esc('`', "`$SET", "$SET");
  expect_esc('`', "C:\\path\\$SET", "C:\\path\\val");
  expect_esc('`', "``", "`");
  expect_esc('`', "\"`\"\"", "\"");
  expect_esc('`', "\"`$SET\"", "$SET");
  expect_esc('`', "\"\\$SET\"", "\\val");
  expect_esc('`', "\"``\"", "`");
  expect_esc('`', "a`", "a");
  expect_esc('`', "${UNSET:-`}}", "}");
  /* A zero escape character means the default. */
  expect_esc('\0', "\\$SET", "$SET");
}

static void test_errors(void **state) {
  (void)state;
  expect_error("${", "syntax error: missing '}'");
  expect_error("${SET", "syntax error: missing '}'");
  expect_error("${SET:", "syntax error: missing '}'");
  expect_error("${SET:-abc", "syntax error: missing '}'");
  expect_error("${UNSET:-${SET}", "syntax error: missing '}'");
  expect_error("${}", "syntax error: bad substitution");
  expect_error("${:}", "syntax error: bad substitution");
  expect_error("${{x}}", "syntax error: bad substitution");
  expect_error("${ x}", "syntax error: bad substitution");
  expect_error("${SET:x}", "unsupported modifier (x) in substitution");
  expect_error("${SET%x}", "unsupported modifier (%) in substitution");
  expect_error("${SET x}", "unsupported modifier ( ) in substitution");
  expect_error("'abc", "unexpected end of statement while looking for "
                       "matching single-quote");
  expect_error("\"abc", "unexpected end of statement while looking for "
                        "matching double-quote");
  expect_error("\"abc\\", "unexpected end of statement while looking for "
                          "matching double-quote");
  /* An error inside the word that reaches the end is the missing '}'. */
  expect_error("${UNSET:-'x}", "syntax error: missing '}'");
  expect_error("${UNSET:-${A:?no}", "syntax error: missing '}'");
  expect_error("${UNSET:-${A:?no}}", "A: no");
  expect_error("${UNSET:-${A:?no}x", "A: no");
}

static void test_deep_nesting(void **state) {
  (void)state;
  char in[64 * 12 + 16] = "", want[] = "val";
  for (int i = 0; i < 60; i++)
    strncat(in, "${UNSET:-", sizeof(in) - strlen(in) - 1);
  strncat(in, "$SET", sizeof(in) - strlen(in) - 1);
  for (int i = 0; i < 60; i++)
    strncat(in, "}", sizeof(in) - strlen(in) - 1);
  expect(in, want);
  in[0] = '\0';
  for (int i = 0; i < 70; i++)
    strncat(in, "${UNSET:-", sizeof(in) - strlen(in) - 1);
  expect_error(in, "syntax error: substitutions nested too deeply");
}

static void test_words(void **state) {
  (void)state;
  expect_words("", NONE);
  expect_words("   ", NONE);
  expect_words("a", W("a"));
  expect_words("a b\tc", W("a", "b", "c"));
  expect_words("  a   b  ", W("a", "b"));
  expect_words("80/tcp 443", W("80/tcp", "443"));
  /* A value with spaces splits; quoted, it does not. */
  expect_words("$SP", W("a", "b"));
  expect_words("\"$SP\"", W("a b"));
  expect_words("'a b' c", W("a b", "c"));
  expect_words("x\"a b\"y z", W("xa by", "z"));
  expect_words("a\\ b c", W("a b", "c"));
  expect_words("$TAB", W("x"));
  expect_words("p${SP}q", W("pa", "bq"));
  /* An empty or unset unquoted substitution gives no word. */
  expect_words("$UNSET", NONE);
  expect_words("$EMPTY a", W("a"));
  expect_words("$SPC", NONE);
  expect_words("a $UNSET b", W("a", "b"));
  /* Quoted empty text makes no word either (as with Docker). */
  expect_words("\"\" a", W("a"));
  expect_words("\"$EMPTY\"", NONE);
  /* The word of ${v:-word} is split after expansion. */
  expect_words("${UNSET:-\"x y\"}", W("x", "y"));
  expect_words("${UNSET:-x y}z", W("x", "yz"));
  expect_words_esc('`', "a` b c", W("a b", "c"));
}

static void test_used(void **state) {
  (void)state;
  expect_used("plain", "");
  expect_used("$SET", "SET=1");
  expect_used("$UNSET ${SET}", "UNSET=0 SET=1");
  expect_used("${EMPTY:-$SET}", "EMPTY=1 SET=1");
  expect_used("${SET:+${UNSET}}", "SET=1 UNSET=0");
  expect_used("\"$SET\" '$NOT' \\$NOT", "SET=1");
  expect_used("$SET $SET", "SET=1 SET=1");
  expect_used("${UNSET:?x}", "UNSET=0");
  expect_used("$", "");
}

static void test_no_callbacks(void **state) {
  (void)state;
  st_expander x = {.escape = '\\'};
  cleanup_error st_error *err = NULL;
  cleanup_free char *out = NULL;
  assert_int_equal(st_expand_word(&x, "a${X:-b}$Y", &out, &err), 0);
  assert_string_equal(out, "ab");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),
      cmocka_unit_test(test_simple_vars),
      cmocka_unit_test(test_literal_dollar),
      cmocka_unit_test(test_default),
      cmocka_unit_test(test_alternative),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_nesting),
      cmocka_unit_test(test_single_quotes),
      cmocka_unit_test(test_double_quotes),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_backtick_escape),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_words),
      cmocka_unit_test(test_used),
      cmocka_unit_test(test_no_callbacks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
