/* Unit tests for the Dockerfile parser: directives, comments and line
 * continuations, JSON and shell forms, each instruction's arguments and
 * flags, here-documents, ONBUILD, HEALTHCHECK, line numbers, and every
 * error with Docker's message. */
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

#include "build/dockerfile.h"
#include "util/cleanup.h"

/* The parsed file of each test; freed by the group teardown hook. */
static st_dockerfile df;

static int reset(void **state) {
  (void)state;
  st_dockerfile_free(&df);
  return 0;
}

/* Parses text into df (freeing the previous one) and expects n
 * instructions. */
static void parse(const char *text, size_t n) {
  cleanup_error st_error *err = NULL;
  st_dockerfile_free(&df);
  if (st_dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err) < 0)
    fail_msg("parse \"%s\": %s", text, err->msg);
  if (df.n != n)
    fail_msg("parse \"%s\": %zu instructions, want %zu", text, df.n, n);
}

/* Expects EINVAL with a message starting with want. */
static void expect_error_n(const char *text, size_t len, const char *want) {
  cleanup_error st_error *err = NULL;
  st_dockerfile out = {0};
  assert_int_equal(st_dockerfile_parse(text, len, "Dockerfile", &out, &err),
                   -1);
  assert_non_null(err);
  assert_int_equal(err->code, EINVAL);
  assert_null(out.instrs);
  if (strncmp(err->msg, want, strlen(want)) != 0)
    fail_msg("\"%s\": message \"%s\", want \"%s...\"", text, err->msg, want);
}

static void expect_error(const char *text, const char *want) {
  expect_error_n(text, strlen(text), want);
}

static const st_df_instr *at(size_t i) {
  assert_true(i < df.n);
  return &df.instrs[i];
}

static void expect_args(const st_df_instr *in, size_t n, ...) {
  va_list ap;
  if (in->n_args != n)
    fail_msg("\"%s\": %zu args, want %zu", in->text, in->n_args, n);
  va_start(ap, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(in->args[i], va_arg(ap, const char *));
  va_end(ap);
}

static void expect_pair(const st_df_instr *in, size_t i, const char *key,
                        const char *value) {
  assert_true(i < in->n_pairs);
  assert_string_equal(in->pairs[i].key, key);
  if (value)
    assert_string_equal(in->pairs[i].value, value);
  else
    assert_null(in->pairs[i].value);
}

static void expect_flag(const st_df_instr *in, const char *name,
                        const char *value) {
  bool present = false;
  const char *v = st_df_flag_get(in, name, &present);
  assert_true(present);
  if (value)
    assert_string_equal(v, value);
  else
    assert_null(v);
}

static void expect_heredoc(const st_df_heredoc *h, const char *name,
                           const char *content, bool expand, bool chomp) {
  assert_string_equal(h->name, name);
  assert_string_equal(h->content, content);
  assert_int_equal(h->expand, expand);
  assert_int_equal(h->chomp, chomp);
}

static void test_directives(void **state) {
  (void)state;
  parse("# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=A;error=true\n"
        "FROM x\n",
        1);
  assert_string_equal(df.syntax, "docker/dockerfile:1");
  assert_string_equal(df.check, "skip=A;error=true");
  assert_int_equal(df.escape, '`');
  assert_int_equal(at(0)->line, 4);
  /* keys in any case, spaces around '=', leading blanks */
  parse("  #  ESCAPE =  `  \n#Syntax=a/b\nFROM x\n", 1);
  assert_int_equal(df.escape, '`');
  assert_string_equal(df.syntax, "a/b");
  /* defaults */
  parse("FROM x\n", 1);
  assert_int_equal(df.escape, '\\');
  assert_null(df.syntax);
  assert_null(df.check);
  /* a comment, a blank line or an unknown key ends the directives */
  parse("# hello\n# escape=`\nFROM x\n", 1);
  assert_int_equal(df.escape, '\\');
  parse("# syntax=a\n\n# escape=`\nFROM x\n", 1);
  assert_int_equal(df.escape, '\\');
  parse("# foo=bar\n# escape=`\nFROM x\n", 1);
  assert_int_equal(df.escape, '\\');
  parse("FROM x\n# escape=`\nRUN a \\\n b\n", 2);
  assert_int_equal(df.escape, '\\');
  assert_string_equal(at(1)->rest, "a  b");
}

static void test_directive_errors(void **state) {
  (void)state;
  expect_error("# escape=x\nFROM a\n",
               "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  expect_error("# escape=\\\n# escape=`\nFROM a\n",
               "Dockerfile:2: only one escape parser directive can be used");
  expect_error("# syntax=a\n# SYNTAX=b\nFROM a\n",
               "Dockerfile:2: only one syntax parser directive can be used");
}

static void test_comments(void **state) {
  (void)state;
  parse("# c1\nFROM x\n   # indented\nRUN a \\\n# between\n  # more\n  b\n", 2);
  assert_string_equal(at(1)->rest, "a   b");
  assert_int_equal(at(1)->line, 4);
  assert_int_equal(at(1)->end_line, 7);
  /* '#' later in a line is text */
  parse("FROM x\nRUN echo # not a comment\n", 2);
  assert_string_equal(at(1)->rest, "echo # not a comment");
  assert_int_equal(df.n_warnings, 0);
}

static void test_continuations(void **state) {
  (void)state;
  /* spaces and tabs after the escape character */
  parse("FROM x\nRUN a \\  \t\n b\n", 2);
  assert_string_equal(at(1)->rest, "a  b");
  assert_string_equal(at(1)->text, "RUN a  b");
  /* an escaped escape character ends the line */
  parse("FROM x\nRUN echo \\\\\nRUN b\n", 3);
  assert_string_equal(at(1)->rest, "echo \\\\");
  /* escape alone on a line; continuation at the end of the file */
  parse("FROM x\nRUN a \\\n\\\n b \\", 2);
  assert_string_equal(at(1)->rest, "a  b");
  /* continuation inside the keyword line */
  parse("FROM \\\n  alpine\n", 1);
  expect_args(at(0), 1, "alpine");
  assert_int_equal(at(0)->end_line, 2);
}

static void test_empty_continuation(void **state) {
  (void)state;
  parse("FROM x\nRUN a \\\n\n   \n  b\nRUN c\n", 3);
  assert_string_equal(at(1)->rest, "a   b");
  assert_int_equal(at(1)->end_line, 5);
  assert_int_equal(df.n_warnings, 1);
  assert_string_equal(df.warnings[0],
                      "5:Empty continuation line found in: RUN a   b");
}

static void test_backtick_escape(void **state) {
  (void)state;
  parse("# escape=`\nFROM mcr.microsoft.com/windows\n"
        "COPY c:\\src\\ c:\\dst\\\n"
        "RUN dir c:\\ `\n  && echo done\n"
        "WORKDIR c:\\\\Windows\n",
        4);
  expect_args(at(1), 2, "c:\\src\\", "c:\\dst\\");
  assert_string_equal(at(2)->rest, "dir c:\\   && echo done");
  assert_int_equal(at(2)->end_line, 5);
  assert_string_equal(at(3)->rest, "c:\\\\Windows");
  /* ` escapes quotes in ENV words, `` at the end is no continuation */
  parse("# escape=`\nFROM x\nENV A=`\"b\nRUN a ``\nRUN b\n", 4);
  expect_pair(at(1), 0, "A", "`\"b");
  assert_string_equal(at(2)->rest, "a ``");
}

static void test_crlf_bom(void **state) {
  (void)state;
  parse("\xEF\xBB\xBF# escape=`\r\nFROM x\r\nRUN a `\r\n  b\r\n", 2);
  assert_int_equal(df.escape, '`');
  assert_string_equal(at(0)->text, "FROM x");
  assert_string_equal(at(1)->rest, "a   b");
  parse("FROM x\r\nRUN <<EOF\r\nhi\r\nEOF\r\n", 2);
  expect_heredoc(&at(1)->heredocs[0], "EOF", "hi\r\n", true, false);
}

static void test_line_numbers(void **state) {
  (void)state;
  parse("\n\n# c\nFROM a\n\nRUN x \\\n  y \\\n  z\nCMD c\n", 3);
  assert_int_equal(at(0)->line, 4);
  assert_int_equal(at(0)->end_line, 4);
  assert_int_equal(at(1)->line, 6);
  assert_int_equal(at(1)->end_line, 8);
  assert_int_equal(at(2)->line, 9);
  parse("FROM a\nRUN <<A <<B\na\nA\nb\nB\nCMD x\n", 3);
  assert_int_equal(at(1)->line, 2);
  assert_int_equal(at(1)->end_line, 6);
  assert_int_equal(at(2)->line, 7);
}

static void test_json_and_shell_forms(void **state) {
  (void)state;
  parse("FROM x\nRUN [\"echo\", \"a b\"]\nRUN echo a b\n"
        "CMD [ \"x\\u0041\" ]\nENTRYPOINT []\nCMD [\"a\"] trailing\n"
        "CMD [not json]\nCMD [\"a\",]\nRUN\n",
        9);
  assert_true(at(1)->json);
  expect_args(at(1), 2, "echo", "a b");
  assert_null(at(1)->rest);
  assert_false(at(2)->json);
  assert_string_equal(at(2)->rest, "echo a b");
  expect_args(at(2), 0);
  expect_args(at(3), 1, "xA");
  assert_true(at(4)->json);
  expect_args(at(4), 0);
  /* what does not parse as JSON is shell form */
  assert_false(at(5)->json);
  assert_string_equal(at(5)->rest, "[\"a\"] trailing");
  assert_string_equal(at(6)->rest, "[not json]");
  assert_string_equal(at(7)->rest, "[\"a\",]");
  /* RUN without arguments is accepted, as by BuildKit */
  assert_null(at(8)->rest);
  assert_false(at(8)->json);
  /* COPY, ADD, VOLUME: JSON or words */
  parse("FROM x\nVOLUME [\"/a b\", \"/c\"]\nVOLUME /d  /e\n"
        "ADD [\"s\", \"d\"]\nCOPY [\"s\" d\n",
        5);
  assert_true(at(1)->json);
  expect_args(at(1), 2, "/a b", "/c");
  expect_args(at(2), 2, "/d", "/e");
  assert_true(at(3)->json);
  expect_args(at(3), 2, "s", "d");
  assert_false(at(4)->json);
  expect_args(at(4), 2, "[\"s\"", "d");
}

static void test_json_errors(void **state) {
  (void)state;
  const char *msg = "Dockerfile:2: when using JSON array syntax, arrays must "
                    "be comprised of strings only";
  expect_error("FROM x\nCMD [\"a\", 1]\n", msg);
  expect_error("FROM x\nCMD [ \"echo\", [ \"nested json\" ] ]\n", msg);
  expect_error("FROM x\nCOPY [null, \"/d\"]\n", msg);
  expect_error("FROM x\nSHELL /bin/sh -c\n",
               "Dockerfile:2: SHELL requires the arguments to be in JSON form");
  expect_error("FROM x\nSHELL []\n",
               "Dockerfile:2: SHELL requires at least one argument");
  expect_error("FROM x\nSHELL\n",
               "Dockerfile:2: SHELL requires at least one argument");
}

static void test_from(void **state) {
  (void)state;
  parse("FROM alpine\nfrom --platform=linux/arm64 alpine:3 as Build\n"
        "FROM\tbuild  AS\tnext\n",
        3);
  assert_int_equal(at(0)->kind, ST_DF_FROM);
  expect_args(at(0), 1, "alpine");
  assert_string_equal(at(1)->keyword, "from");
  assert_int_equal(at(1)->kind, ST_DF_FROM);
  expect_flag(at(1), "platform", "linux/arm64");
  expect_args(at(1), 3, "alpine:3", "as", "Build");
  expect_args(at(2), 3, "build", "AS", "next");
  expect_error("FROM\n",
               "Dockerfile:1: FROM requires either one or three arguments");
  expect_error("FROM a b\n",
               "Dockerfile:1: FROM requires either one or three arguments");
  expect_error("FROM a AS b c\n",
               "Dockerfile:1: FROM requires either one or three arguments");
  expect_error("FROM a AS 1st\n",
               "Dockerfile:1: invalid name for build stage: \"1st\", name "
               "can't start with a number or contain symbols");
  expect_error("FROM a AS b/c\n", "Dockerfile:1: invalid name for build "
                                  "stage: \"b/c\"");
  expect_error("FROM --platform a\n",
               "Dockerfile:1: missing a value on flag: --platform");
}

static void test_copy_add(void **state) {
  (void)state;
  parse("FROM x\nCOPY --from=build --chown=1:2 --chmod=644 --link --parents "
        "--exclude=*.md --exclude=*.txt a b /dst/\n"
        "ADD --checksum=sha256:ab --keep-git-dir=true --unpack=false "
        "--link=false https://x/y.tar /\n",
        3);
  const st_df_instr *c = at(1);
  assert_int_equal(c->n_flags, 7);
  expect_flag(c, "from", "build");
  expect_flag(c, "chown", "1:2");
  expect_flag(c, "chmod", "644");
  expect_flag(c, "link", NULL);
  expect_flag(c, "parents", NULL);
  expect_flag(c, "exclude", "*.txt"); /* the last one */
  assert_string_equal(c->flags[5].value, "*.md");
  expect_args(c, 3, "a", "b", "/dst/");
  /* --parents takes a boolean; --exclude needs its pattern */
  parse("FROM x\nCOPY --parents=false --exclude=docs/** a /b/\n", 2);
  expect_flag(at(1), "parents", "false");
  expect_flag(at(1), "exclude", "docs/**");
  expect_error("FROM x\nCOPY --exclude a /b/\n",
               "Dockerfile:2: missing a value on flag: --exclude");
  parse("FROM x\nCOPY --exclude=*.md a b /dst/\n"
        "ADD --checksum=sha256:ab --keep-git-dir=true --unpack=false "
        "--link=false https://x/y.tar /\n",
        3);
  expect_flag(at(2), "checksum", "sha256:ab");
  expect_flag(at(2), "keep-git-dir", "true");
  expect_args(at(2), 2, "https://x/y.tar", "/");
  const char *one = "requires at least two arguments, but only one was "
                    "provided. Destination could not be determined";
  expect_error("FROM x\nCOPY a\n", "Dockerfile:2: COPY ");
  expect_error("FROM x\nADD a\n", "Dockerfile:2: ADD requires at least two");
  expect_error("FROM x\n\nCOPY\n", "Dockerfile:3: COPY requires at least two");
  expect_error("FROM x\nCOPY [\"a\"]\n", "Dockerfile:2: COPY");
  cleanup_error st_error *err = NULL;
  st_dockerfile out;
  const char *t = "FROM x\nCOPY a\n";
  assert_int_equal(st_dockerfile_parse(t, strlen(t), "Dockerfile", &out, &err),
                   -1);
  assert_non_null(strstr(err->msg, one));
  assert_non_null(strstr(err->msg, "COPY a"));
}

static void test_flags(void **state) {
  (void)state;
  parse("FROM x\nRUN --mount=type=cache,target=/c --mount=type=secret,id=s "
        "--network=none --security=insecure make\n"
        "RUN --mount=\"type=bind,source=a b\" ls\n"
        "RUN -- --mount=x\n"
        "RUN echo --network=host\n"
        "COPY --chown=a\\ b s d\n",
        6);
  const st_df_instr *r = at(1);
  assert_int_equal(r->n_flags, 4);
  assert_string_equal(r->flags[0].name, "mount");
  assert_string_equal(r->flags[0].value, "type=cache,target=/c");
  assert_string_equal(r->flags[1].value, "type=secret,id=s");
  expect_flag(r, "network", "none");
  expect_flag(r, "security", "insecure");
  assert_string_equal(r->rest, "make");
  assert_string_equal(r->text, "RUN --mount=type=cache,target=/c "
                               "--mount=type=secret,id=s --network=none "
                               "--security=insecure make");
  /* quotes and escapes are removed from flag words */
  expect_flag(at(2), "mount", "type=bind,source=a b");
  /* "--" ends the flags; later words are arguments */
  assert_int_equal(at(3)->n_flags, 0);
  assert_string_equal(at(3)->rest, "--mount=x");
  assert_int_equal(at(4)->n_flags, 0);
  assert_string_equal(at(4)->rest, "echo --network=host");
  expect_flag(at(5), "chown", "a b");
  bool present = true;
  assert_null(st_df_flag_get(at(5), "from", &present));
  assert_false(present);
  assert_null(st_df_flag_get(at(5), "from", NULL));
}

static void test_flag_errors(void **state) {
  (void)state;
  expect_error("FROM x\nCOPY --chwon=1 a b\n",
               "Dockerfile:2: unknown flag: --chwon (did you mean chown?)");
  expect_error("FROM x\nCOPY --bogus a b\n",
               "Dockerfile:2: unknown flag: --bogus (in \"COPY --bogus a b\")");
  expect_error("FROM x\nCOPY --from=a --from=b s d\n",
               "Dockerfile:2: duplicate flag specified: --from");
  expect_error("FROM x\nCOPY --link --link s d\n",
               "Dockerfile:2: duplicate flag specified: --link");
  expect_error("FROM x\nCOPY --from s d\n",
               "Dockerfile:2: missing a value on flag: --from");
  expect_error("FROM x\nCOPY --link= s d\n",
               "Dockerfile:2: missing a value on flag: --link");
  expect_error("FROM x\nCOPY --link=yes s d\n",
               "Dockerfile:2: expecting boolean value for flag --link, not: "
               "yes");
  expect_error("FROM x\nRUN --mount ls\n",
               "Dockerfile:2: missing a value on flag: --mount");
  expect_error("FROM x\nRUN --device=/dev/x ls\n",
               "Dockerfile:2: unknown flag: --device");
  expect_error("FROM x\nENV --a=b A=b\n", "Dockerfile:2: unknown flag: --a");
  expect_error("FROM x\nCMD --x ls\n", "Dockerfile:2: unknown flag: --x");
  expect_error("FROM x\nWORKDIR --x /a\n", "Dockerfile:2: unknown flag: --x");
  /* ARG and STOPSIGNAL flags are not checked by Docker */
  parse("ARG --x A\nFROM x\nSTOPSIGNAL --y SIGTERM\n", 3);
  expect_pair(at(0), 0, "A", NULL);
  assert_string_equal(at(2)->rest, "SIGTERM");
}

static void test_env_label(void **state) {
  (void)state;
  parse("FROM x\nENV A=1 B=\"x y\" C='$z' D=a\\ b E=\nENV KEY value with  "
        "spaces\n"
        "LABEL \"com.example\"=\"v 1\" version=1.0\nLABEL key value\n"
        "ENV A=\"multi \\\n  line\"\n",
        6);
  const st_df_instr *e = at(1);
  assert_int_equal(e->n_pairs, 5);
  assert_false(e->legacy);
  expect_pair(e, 0, "A", "1");
  expect_pair(e, 1, "B", "\"x y\"");
  expect_pair(e, 2, "C", "'$z'");
  expect_pair(e, 3, "D", "a\\ b");
  expect_pair(e, 4, "E", "");
  assert_true(at(2)->legacy);
  assert_int_equal(at(2)->n_pairs, 1);
  expect_pair(at(2), 0, "KEY", "value with  spaces");
  expect_pair(at(3), 0, "\"com.example\"", "\"v 1\"");
  expect_pair(at(3), 1, "version", "1.0");
  assert_true(at(4)->legacy);
  expect_pair(at(4), 0, "key", "value");
  expect_pair(at(5), 0, "A", "\"multi   line\"");
  expect_error("FROM x\nENV PATH\n",
               "Dockerfile:2: ENV must have two arguments");
  expect_error("FROM x\nLABEL a\n",
               "Dockerfile:2: LABEL must have two arguments");
  expect_error("FROM x\nENV A=1 B\n",
               "Dockerfile:2: Syntax error - can't find = in \"B\". Must be "
               "of the form: name=value");
  expect_error("FROM x\nENV\n", "Dockerfile:2: ENV requires at least one "
                                "argument");
  expect_error("FROM x\nLABEL\n",
               "Dockerfile:2: LABEL requires at least one argument");
  expect_error("FROM x\nENV =x\n", "Dockerfile:2: ENV names can not be blank");
}

static void test_arg(void **state) {
  (void)state;
  parse("ARG A\nARG B=1 C D=\"x y\" E=\nFROM x\nARG F=${A:-z}\n", 4);
  expect_pair(at(0), 0, "A", NULL);
  assert_int_equal(at(1)->n_pairs, 4);
  expect_pair(at(1), 0, "B", "1");
  expect_pair(at(1), 1, "C", NULL);
  expect_pair(at(1), 2, "D", "\"x y\"");
  expect_pair(at(1), 3, "E", "");
  expect_pair(at(3), 0, "F", "${A:-z}");
  expect_error("ARG\nFROM x\n", "Dockerfile:1: ARG requires at least one "
                                "argument");
  expect_error("ARG =1\nFROM x\n", "Dockerfile:1: ARG names can not be blank");
}

static void test_simple_instructions(void **state) {
  (void)state;
  parse("FROM x\nWORKDIR  /app dir \nUSER app:app\nSTOPSIGNAL SIGKILL\n"
        "MAINTAINER Jane <j@x>\nEXPOSE 80/tcp  443\nexpose 53/udp\n"
        "ENTRYPOINT [\"/init\"]\nCMD exec me\n",
        9);
  assert_int_equal(at(1)->kind, ST_DF_WORKDIR);
  assert_string_equal(at(1)->rest, "/app dir");
  assert_string_equal(at(2)->rest, "app:app");
  assert_int_equal(at(3)->kind, ST_DF_STOPSIGNAL);
  assert_string_equal(at(3)->rest, "SIGKILL");
  assert_int_equal(at(4)->kind, ST_DF_MAINTAINER);
  assert_string_equal(at(4)->rest, "Jane <j@x>");
  expect_args(at(5), 2, "80/tcp", "443");
  expect_args(at(6), 1, "53/udp");
  assert_int_equal(at(7)->kind, ST_DF_ENTRYPOINT);
  expect_args(at(7), 1, "/init");
  assert_int_equal(at(8)->kind, ST_DF_CMD);
  assert_string_equal(at(8)->rest, "exec me");
  expect_error("FROM x\nWORKDIR\n",
               "Dockerfile:2: WORKDIR requires exactly one argument");
  expect_error("FROM x\nUSER \n",
               "Dockerfile:2: USER requires exactly one argument");
  expect_error("FROM x\nSTOPSIGNAL\n",
               "Dockerfile:2: STOPSIGNAL requires exactly one argument");
  expect_error("FROM x\nMAINTAINER\n",
               "Dockerfile:2: MAINTAINER requires exactly one argument");
  expect_error("FROM x\nEXPOSE\n",
               "Dockerfile:2: EXPOSE requires at least one argument");
  expect_error("FROM x\nVOLUME\n",
               "Dockerfile:2: VOLUME requires at least one argument");
  expect_error("FROM x\nVOLUME []\n",
               "Dockerfile:2: VOLUME requires at least one argument");
  expect_error("FROM x\nVOLUME [\"/a\", \" \"]\n",
               "Dockerfile:2: VOLUME specified can not be an empty string");
}

static void test_heredocs(void **state) {
  (void)state;
  parse("FROM x\nRUN <<EOF\necho $HOME\n  indented\nEOF\n"
        "RUN <<-EOT bash\n\t\techo tab\n\tEOT\n"
        "RUN <<'EOF' cat\n$X\nEOF\n"
        "RUN <<\"E\" python3\nprint(1)\nE\n"
        "RUN 3<<EOF cat /dev/fd/3\nfd\nEOF\n",
        6);
  const st_df_instr *r = at(1);
  assert_int_equal(r->n_heredocs, 1);
  expect_heredoc(&r->heredocs[0], "EOF", "echo $HOME\n  indented\n", true,
                 false);
  assert_string_equal(r->rest, "<<EOF");
  assert_int_equal(r->line, 2);
  assert_int_equal(r->end_line, 5);
  expect_heredoc(&at(2)->heredocs[0], "EOT", "echo tab\n", true, true);
  assert_string_equal(at(2)->rest, "<<-EOT bash");
  expect_heredoc(&at(3)->heredocs[0], "EOF", "$X\n", false, false);
  expect_heredoc(&at(4)->heredocs[0], "E", "print(1)\n", false, false);
  expect_heredoc(&at(5)->heredocs[0], "EOF", "fd\n", true, false);
  /* several in one instruction, bodies in order; empty body */
  parse("FROM x\nRUN <<A <<B cat - && cat /dev/fd/3\na1\nA\nB\nRUN x\n", 3);
  assert_int_equal(at(1)->n_heredocs, 2);
  expect_heredoc(&at(1)->heredocs[0], "A", "a1\n", true, false);
  expect_heredoc(&at(1)->heredocs[1], "B", "", true, false);
  assert_int_equal(at(1)->end_line, 5);
  /* a delimiter line must match exactly (no trailing text) */
  parse("FROM x\nRUN <<EOF\nEOF \n EOF\nEOF\n", 2);
  expect_heredoc(&at(1)->heredocs[0], "EOF", "EOF \n EOF\n", true, false);
}

static void test_heredoc_copy(void **state) {
  (void)state;
  parse("FROM x\nCOPY <<EOF /file\nline\nEOF\n"
        "COPY <<a.txt <<b.txt /dir/\nA\na.txt\nB\nb.txt\n"
        "ADD --chmod=755 <<-\"run.sh\" /usr/bin/\n\t#!/bin/sh\n\trun.sh\n",
        4);
  expect_args(at(1), 2, "<<EOF", "/file");
  expect_heredoc(&at(1)->heredocs[0], "EOF", "line\n", true, false);
  expect_args(at(2), 3, "<<a.txt", "<<b.txt", "/dir/");
  expect_heredoc(&at(2)->heredocs[0], "a.txt", "A\n", true, false);
  expect_heredoc(&at(2)->heredocs[1], "b.txt", "B\n", true, false);
  expect_heredoc(&at(3)->heredocs[0], "run.sh", "#!/bin/sh\n", false, true);
  expect_flag(at(3), "chmod", "755");
  /* JSON form and other instructions take no here-document */
  parse("FROM x\nCOPY [\"<<EOF\", \"/d\"]\n", 2);
  assert_int_equal(at(1)->n_heredocs, 0);
  expect_error("FROM x\nCMD cat <<EOF\nhi\nEOF\n",
               "Dockerfile:3: unknown instruction: hi");
  /* "<<" inside quotes or glued to a word marks nothing */
  parse("FROM x\nRUN echo '<<EOF' x<<EOF\n", 2);
  assert_int_equal(at(1)->n_heredocs, 0);
}

static void test_heredoc_errors(void **state) {
  (void)state;
  expect_error("FROM x\nRUN <<EOF\necho\n",
               "Dockerfile:2: unterminated heredoc (in \"RUN <<EOF\")");
  expect_error("FROM x\nRUN a \\\n  <<A <<B\nA\n",
               "Dockerfile:2: unterminated heredoc");
  expect_error("FROM x\nCOPY <<-EOF\n\tEOF x\n",
               "Dockerfile:2: unterminated heredoc");
  expect_error("FROM x\nCOPY a <<EOF\nx\nEOF\n",
               "Dockerfile:2: COPY cannot accept a heredoc as a destination");
}

static void test_onbuild(void **state) {
  (void)state;
  parse("FROM x\nONBUILD RUN make /app\nonbuild COPY --from=b . /src\n"
        "ONBUILD ENV A=1 B=2\nONBUILD RUN <<EOF\nmake\nEOF\n",
        5);
  const st_df_instr *o = at(1);
  assert_int_equal(o->kind, ST_DF_ONBUILD);
  assert_string_equal(o->rest, "RUN make /app");
  assert_non_null(o->sub);
  assert_int_equal(o->sub->kind, ST_DF_RUN);
  assert_string_equal(o->sub->rest, "make /app");
  assert_int_equal(o->sub->line, 2);
  expect_flag(at(2)->sub, "from", "b");
  expect_args(at(2)->sub, 2, ".", "/src");
  assert_int_equal(at(3)->sub->n_pairs, 2);
  assert_int_equal(at(4)->n_heredocs, 0);
  assert_int_equal(at(4)->sub->n_heredocs, 1);
  expect_heredoc(&at(4)->sub->heredocs[0], "EOF", "make\n", true, false);
  assert_int_equal(at(4)->end_line, 7);
  expect_error("FROM x\nONBUILD\n",
               "Dockerfile:2: ONBUILD requires at least one argument");
  expect_error("FROM x\nONBUILD ONBUILD RUN x\n",
               "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't "
               "allowed");
  expect_error("FROM x\nONBUILD from y\n",
               "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  expect_error("FROM x\nONBUILD MAINTAINER me\n",
               "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger");
  expect_error("FROM x\nONBUILD RUNN x\n",
               "Dockerfile:2: unknown instruction: RUNN");
  expect_error("FROM x\nONBUILD ENV A\n",
               "Dockerfile:2: ENV must have two arguments");
}

static void test_healthcheck(void **state) {
  (void)state;
  parse("FROM x\nHEALTHCHECK NONE\nhealthcheck none\n"
        "HEALTHCHECK --interval=5m --timeout=3s --start-period=1s "
        "--start-interval=2s --retries=3 CMD curl -f http://localhost/\n"
        "HEALTHCHECK cmd [\"/bin/check\", \"-q\"]\n",
        5);
  expect_args(at(1), 1, "NONE");
  assert_null(at(1)->sub);
  assert_null(at(1)->rest);
  expect_args(at(2), 1, "NONE");
  const st_df_instr *h = at(3);
  expect_args(h, 0);
  assert_int_equal(h->n_flags, 5);
  expect_flag(h, "interval", "5m");
  expect_flag(h, "retries", "3");
  assert_non_null(h->sub);
  assert_int_equal(h->sub->kind, ST_DF_CMD);
  assert_false(h->sub->json);
  assert_string_equal(h->sub->rest, "curl -f http://localhost/");
  assert_string_equal(h->sub->text, "CMD curl -f http://localhost/");
  assert_true(at(4)->sub->json);
  expect_args(at(4)->sub, 2, "/bin/check", "-q");
  /* Docker ignores flags with NONE */
  parse("FROM x\nHEALTHCHECK --bogus NONE\n", 2);
  expect_error("FROM x\nHEALTHCHECK\n",
               "Dockerfile:2: HEALTHCHECK requires at least one argument");
  expect_error("FROM x\nHEALTHCHECK NONE x\n",
               "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
  expect_error("FROM x\nHEALTHCHECK CMD\n",
               "Dockerfile:2: Missing command after HEALTHCHECK CMD");
  expect_error("FROM x\nHEALTHCHECK CMD []\n",
               "Dockerfile:2: Missing command after HEALTHCHECK CMD");
  expect_error("FROM x\nHEALTHCHECK RUN x\n",
               "Dockerfile:2: Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
  expect_error("FROM x\nHEALTHCHECK --intervl=1s CMD x\n",
               "Dockerfile:2: unknown flag: --intervl (did you mean "
               "interval?)");
}

static void test_file_errors(void **state) {
  (void)state;
  expect_error("", "Dockerfile:1: file with no instructions");
  expect_error("# only\n\n  # comments\n",
               "Dockerfile:3: file with no instructions");
  expect_error("# syntax=x\n", "Dockerfile:1: file with no instructions");
  expect_error("RUN x\nFROM y\n",
               "Dockerfile:1: no build stage in current context");
  expect_error("ARG A\nENV B=1\nFROM y\n",
               "Dockerfile:2: no build stage in current context");
  expect_error("FROM x\n\nRUNN echo\n",
               "Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)");
  expect_error("FROM x\ncopyy a b\n",
               "Dockerfile:2: unknown instruction: copyy (did you mean copy?)");
  expect_error("FROM x\nFOOBARBAZ x\n",
               "Dockerfile:2: unknown instruction: FOOBARBAZ (in \"FOOBARBAZ "
               "x\")");
  /* an error reports the first line of a continued instruction */
  expect_error("FROM x\nRUNN a \\\n  b\n", "Dockerfile:2: unknown instruction");
  /* file-level errors come before instruction errors, as in Docker */
  expect_error("RUNN\nFROM x\nRUN <<EOF\n",
               "Dockerfile:3: unterminated heredoc");
  expect_error_n("FROM x\nRUN a\0b\n", 13, "Dockerfile:2: NUL byte");
  /* the name given is used */
  cleanup_error st_error *err = NULL;
  st_dockerfile out;
  assert_int_equal(
      st_dockerfile_parse("FROMM x", 7, "ctx/Dockerfile.dev", &out, &err), -1);
  assert_string_equal(err->msg, "ctx/Dockerfile.dev:1: unknown instruction: "
                                "FROMM (did you mean FROM?) (in \"FROMM x\")");
}

static void test_long_line(void **state) {
  (void)state;
  size_t n = 70000;
  cleanup_free char *t = malloc(n + 1);
  assert_non_null(t);
  memcpy(t, "FROM x\nRUN ", 11);
  memset(t + 11, 'a', n - 11);
  t[n] = '\0';
  expect_error(t, "Dockerfile:2: dockerfile line greater than max allowed "
                  "size of 65535");
  t[60000] = '\0';
  parse(t, 2);
  assert_int_equal(strlen(at(1)->rest), 60000 - 11);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(st_df_kind_name(ST_DF_FROM), "FROM");
  assert_string_equal(st_df_kind_name(ST_DF_ENTRYPOINT), "ENTRYPOINT");
  assert_string_equal(st_df_kind_name(ST_DF_STOPSIGNAL), "STOPSIGNAL");
  assert_string_equal(st_df_kind_name(ST_DF_HEALTHCHECK), "HEALTHCHECK");
  assert_string_equal(st_df_kind_name(ST_DF_MAINTAINER), "MAINTAINER");
  /* the check refuses a repeated --network, so build one by hand */
  char net[] = "network", a[] = "a", b[] = "b", link[] = "link";
  st_df_flag flags[] = {{net, a}, {net, b}, {link, NULL}};
  st_df_instr in = {.flags = flags, .n_flags = 3};
  bool present = false;
  assert_string_equal(st_df_flag_get(&in, "network", &present), "b");
  assert_true(present);
  assert_null(st_df_flag_get(&in, "link", &present));
  assert_true(present);
  st_dockerfile_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_directives, reset),
      cmocka_unit_test_teardown(test_directive_errors, reset),
      cmocka_unit_test_teardown(test_comments, reset),
      cmocka_unit_test_teardown(test_continuations, reset),
      cmocka_unit_test_teardown(test_empty_continuation, reset),
      cmocka_unit_test_teardown(test_backtick_escape, reset),
      cmocka_unit_test_teardown(test_crlf_bom, reset),
      cmocka_unit_test_teardown(test_line_numbers, reset),
      cmocka_unit_test_teardown(test_json_and_shell_forms, reset),
      cmocka_unit_test_teardown(test_json_errors, reset),
      cmocka_unit_test_teardown(test_from, reset),
      cmocka_unit_test_teardown(test_copy_add, reset),
      cmocka_unit_test_teardown(test_flags, reset),
      cmocka_unit_test_teardown(test_flag_errors, reset),
      cmocka_unit_test_teardown(test_env_label, reset),
      cmocka_unit_test_teardown(test_arg, reset),
      cmocka_unit_test_teardown(test_simple_instructions, reset),
      cmocka_unit_test_teardown(test_heredocs, reset),
      cmocka_unit_test_teardown(test_heredoc_copy, reset),
      cmocka_unit_test_teardown(test_heredoc_errors, reset),
      cmocka_unit_test_teardown(test_onbuild, reset),
      cmocka_unit_test_teardown(test_healthcheck, reset),
      cmocka_unit_test_teardown(test_file_errors, reset),
      cmocka_unit_test_teardown(test_long_line, reset),
      cmocka_unit_test_teardown(test_names, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
