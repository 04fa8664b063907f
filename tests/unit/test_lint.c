/* Unit tests for the Dockerfile linter (`strata build --check`): every
 * rule with a case that fires and one that does not, the "# check="
 * directive, line numbers and ordering. */
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

#include "build/lint.h"
#include "util/cleanup.h"

/* ---- Dockerfiles through the real parser ---- */

static st_dockerfile *df_parse(const char *text) {
  st_dockerfile *df = calloc(1, sizeof(*df));
  assert_non_null(df);
  cleanup_error st_error *err = NULL;
  if (st_dockerfile_parse(text, strlen(text), "Dockerfile", df, &err) < 0)
    fail_msg("parse: %s", err->msg);
  return df;
}

static void df_free(st_dockerfile *df) {
  st_dockerfile_free(df);
  free(df);
}

/* A compiled .dockerignore (build/ignore.c). */
static st_ignore *ignore_of(const char *text) {
  st_ignore *ig = NULL;
  cleanup_error st_error *err = NULL;
  if (st_ignore_compile(text, strlen(text), &ig, &err) < 0)
    fail_msg("ignore: %s", err->msg);
  return ig;
}

/* ---- helpers ---- */

typedef struct result {
  st_lint_finding *f;
  size_t n;
  bool error;
} result;

static result lint_opts(const char *text, const st_lint_opts *o) {
  st_dockerfile *df = df_parse(text);
  result r = {0};
  cleanup_error st_error *err = NULL;
  if (st_lint(df, o, &r.f, &r.n, &r.error, &err) < 0)
    fail_msg("lint: %s", err->msg);
  df_free(df);
  return r;
}

static result lint(const char *text) {
  return lint_opts(text, NULL);
}

/* The number of findings of rule; *line and *msg of the first. */
static size_t count(const result *r, const char *rule, int *line,
                    const char **msg) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->f[i].rule, rule) == 0) {
      if (n++ == 0) {
        if (line)
          *line = r->f[i].line;
        if (msg)
          *msg = r->f[i].message;
      }
    }
  return n;
}

/* text gives exactly one finding of rule, at line, with message. */
static void expect_one(const char *text, const char *rule, int line,
                       const char *message) {
  result r = lint(text);
  int l = 0;
  const char *m = NULL;
  size_t n = count(&r, rule, &l, &m);
  if (n != 1) {
    for (size_t i = 0; i < r.n; i++)
      print_message("  %s:%d %s\n", r.f[i].rule, r.f[i].line, r.f[i].message);
    fail_msg("%s: %zu findings, want 1 in:\n%s", rule, n, text);
  }
  assert_int_equal(l, line);
  if (message)
    assert_string_equal(m, message);
  st_lint_free(r.f, r.n);
}

static void expect_none(const char *text, const char *rule) {
  result r = lint(text);
  size_t n = count(&r, rule, NULL, NULL);
  if (n != 0) {
    for (size_t i = 0; i < r.n; i++)
      print_message("  %s:%d %s\n", r.f[i].rule, r.f[i].line, r.f[i].message);
    fail_msg("%s: %zu findings, want none in:\n%s", rule, n, text);
  }
  st_lint_free(r.f, r.n);
}

/* ---- the rules ---- */

static void test_stage_name_casing(void **state) {
  (void)state;
  expect_one("FROM alpine AS BuilderBase\n", "StageNameCasing", 1,
             "Stage name 'BuilderBase' should be lowercase");
  expect_none("FROM alpine AS builder-base\nFROM alpine\n", "StageNameCasing");
}

static void test_from_as_casing(void **state) {
  (void)state;
  expect_one("FROM alpine as builder\n", "FromAsCasing", 1,
             "'as' and 'FROM' keywords' casing do not match");
  expect_one("from alpine AS builder\n", "FromAsCasing", 1,
             "'AS' and 'from' keywords' casing do not match");
  expect_none("FROM alpine AS b\nfrom alpine as c\nFrom alpine as d\n",
              "FromAsCasing");
}

static void test_no_empty_continuation(void **state) {
  (void)state;
  expect_one("FROM alpine\nRUN a && \\\n\n  b\n", "NoEmptyContinuation", 4,
             "Empty continuation line");
  expect_none("FROM alpine\nRUN a && \\\n  b\n", "NoEmptyContinuation");
  /* Other parser warnings are not this rule's. */
  st_dockerfile *df = df_parse("FROM alpine\nRUN a && b\n");
  df->warnings = calloc(2, sizeof(char *));
  df->warnings[0] = strdup("2:something else");
  df->n_warnings = 1;
  st_lint_finding *f = NULL;
  size_t n = 0;
  assert_int_equal(st_lint(df, NULL, &f, &n, NULL, NULL), 0);
  assert_int_equal(n, 0);
  df_free(df);
}

static void test_consistent_casing(void **state) {
  (void)state;
  expect_one("FROM alpine\nrun true\nCMD [\"x\"]\n",
             "ConsistentInstructionCasing", 2,
             "Command 'run' should match the case of the command majority "
             "(uppercase)");
  expect_one("from alpine\nRun true\ncmd [\"x\"]\n",
             "ConsistentInstructionCasing", 2,
             "Command 'Run' should match the case of the command majority "
             "(lowercase)");
  /* Global ARGs are not counted. */
  expect_none("arg X=1\nFROM alpine\nRUN true\n",
              "ConsistentInstructionCasing");
}

static void test_stage_names(void **state) {
  (void)state;
  expect_one("FROM alpine AS a\nFROM alpine AS A\n", "DuplicateStageName", 2,
             "Duplicate stage name \"a\", stage names should be unique");
  expect_none("FROM alpine AS a\nFROM alpine AS b\n", "DuplicateStageName");
  expect_one("FROM alpine AS scratch\n", "ReservedStageName", 1,
             "Stage name should not use the same name as reserved stage "
             "\"scratch\"");
  expect_one("FROM alpine AS context\n", "ReservedStageName", 1, NULL);
  expect_none("FROM scratch AS base\n", "ReservedStageName");
}

static void test_json_args(void **state) {
  (void)state;
  expect_one("FROM alpine\nCMD echo hi\n", "JSONArgsRecommended", 2,
             "JSON arguments recommended for CMD to prevent unintended "
             "behavior related to OS signals");
  expect_one("FROM alpine\nENTRYPOINT my-app\n", "JSONArgsRecommended", 2,
             NULL);
  expect_none("FROM alpine\nCMD [\"echo\", \"hi\"]\nENTRYPOINT [\"x\"]\n",
              "JSONArgsRecommended");
  /* An explicit SHELL, in the stage or the one it is built on. */
  expect_none("FROM alpine AS a\nSHELL [\"/bin/bash\", \"-c\"]\n"
              "FROM a\nCMD echo hi\n",
              "JSONArgsRecommended");
}

static void test_maintainer(void **state) {
  (void)state;
  expect_one("FROM alpine\nMAINTAINER me <me@x.org>\n", "MaintainerDeprecated",
             2, "Maintainer instruction is deprecated in favor of using label");
  expect_none("FROM alpine\nLABEL org.opencontainers.image.authors=me\n",
              "MaintainerDeprecated");
}

static void test_undefined_arg_in_from(void **state) {
  (void)state;
  expect_one("ARG VERSION=3.19\nFROM alpine:${VERSIO}\n", "UndefinedArgInFrom",
             2,
             "FROM argument 'VERSIO' is not declared (did you mean VERSION?)");
  expect_one("FROM alpine:$TAG\n", "UndefinedArgInFrom", 1,
             "FROM argument 'TAG' is not declared");
  expect_none("ARG TAG=3\nFROM alpine:$TAG\n"
              "FROM --platform=$BUILDPLATFORM alpine\n",
              "UndefinedArgInFrom");
}

static void test_workdir_relative(void **state) {
  (void)state;
  expect_one("FROM alpine\nWORKDIR app\nWORKDIR sub\n", "WorkdirRelativePath",
             2,
             "Relative workdir \"app\" can have unexpected results if the "
             "base image changes");
  expect_none("FROM alpine\nWORKDIR /app\nWORKDIR sub\n",
              "WorkdirRelativePath");
  expect_none("FROM alpine AS a\nWORKDIR /app\nFROM a\nWORKDIR sub\n",
              "WorkdirRelativePath");
  expect_none("FROM alpine\nENV D=/srv\nWORKDIR ${D}/x\nWORKDIR $HOME\n",
              "WorkdirRelativePath");
}

static void test_undefined_var(void **state) {
  (void)state;
  expect_one("FROM alpine\nARG VERSION=1\nENV V=$VERSON\n", "UndefinedVar", 3,
             "Usage of undefined variable '$VERSON' (did you mean "
             "$VERSION?)");
  expect_one("FROM alpine\nCOPY $SRC /app\n", "UndefinedVar", 2,
             "Usage of undefined variable '$SRC'");
  /* Platform ARGs need an ARG in the stage. */
  expect_one("FROM alpine\nCOPY bin/${TARGETARCH} /x\n", "UndefinedVar", 2,
             NULL);
  expect_none("FROM alpine\nARG TARGETARCH\nCOPY bin/${TARGETARCH} /x\n",
              "UndefinedVar");
  /* ARG, ENV, the parent stage, PATH, proxies, escapes, quotes, RUN. */
  expect_none("FROM alpine AS a\nARG A\nENV B=1 PATH=/x:$PATH\n"
              "FROM a\nENV C=${A}${B:-x} D=\\$E E='$F' G=$HTTP_PROXY\n"
              "RUN echo $NOPE\nLABEL $B=$C\n",
              "UndefinedVar");
  /* Same variable twice in one instruction: one finding. */
  expect_one("FROM scratch\nENV A=$X B=$X\n", "UndefinedVar", 2, NULL);
}

static void test_multiple_instructions(void **state) {
  (void)state;
  expect_one("FROM alpine\nCMD [\"a\"]\nRUN true\nCMD [\"b\"]\n",
             "MultipleInstructionsDisallowed", 2,
             "Multiple CMD instructions should not be used in the same "
             "stage because only the last one will be used");
  expect_one("FROM alpine\nHEALTHCHECK NONE\nHEALTHCHECK NONE\n",
             "MultipleInstructionsDisallowed", 2, NULL);
  expect_none("FROM alpine\nCMD [\"a\"]\nENTRYPOINT [\"b\"]\n"
              "FROM alpine\nCMD [\"c\"]\n",
              "MultipleInstructionsDisallowed");
}

static void test_legacy_key_value(void **state) {
  (void)state;
  expect_one("FROM alpine\nENV A b c\n", "LegacyKeyValueFormat", 2,
             "\"ENV key=value\" should be used instead of legacy \"ENV key "
             "value\" format");
  expect_one("FROM alpine\nlabel a b\n", "LegacyKeyValueFormat", 2,
             "\"label key=value\" should be used instead of legacy \"label "
             "key value\" format");
  expect_none("FROM alpine\nENV A=b\nLABEL a=b\n", "LegacyKeyValueFormat");
}

static void test_invalid_default_arg(void **state) {
  (void)state;
  expect_one("ARG IMAGE\nFROM ${IMAGE}\n", "InvalidDefaultArgInFrom", 2,
             "Default value for ARG ${IMAGE} results in empty or invalid "
             "base image name");
  expect_one("ARG TAG\nFROM alpine:${TAG}\n", "InvalidDefaultArgInFrom", 2,
             NULL);
  expect_none("ARG TAG=3.19\nFROM alpine:${TAG}\nFROM alpine AS b\nFROM b\n"
              "ARG X\nFROM ${X:-debian}\n",
              "InvalidDefaultArgInFrom");
}

static void test_platform_const(void **state) {
  (void)state;
  expect_one("FROM --platform=linux/amd64 alpine AS build\n",
             "FromPlatformFlagConstDisallowed", 1,
             "FROM --platform flag should not use constant value "
             "\"linux/amd64\"");
  /* Variables, a stage named after the platform, no platform. */
  expect_none("FROM --platform=$BUILDPLATFORM alpine AS a\n"
              "FROM --platform=linux/arm64 alpine AS build-arm64\n"
              "FROM --platform=windows/amd64 x AS windows\n"
              "FROM alpine\n",
              "FromPlatformFlagConstDisallowed");
}

static void test_redundant_target_platform(void **state) {
  (void)state;
  expect_one("FROM --platform=$TARGETPLATFORM alpine\n",
             "RedundantTargetPlatform", 1,
             "Setting platform to predefined $TARGETPLATFORM in FROM is "
             "redundant as this is the default behavior");
  expect_one("FROM --platform=${TARGETPLATFORM} alpine\n",
             "RedundantTargetPlatform", 1, NULL);
  expect_none("FROM --platform=$BUILDPLATFORM alpine\n"
              "FROM --platform=$TARGETOS/$TARGETARCH alpine\n",
              "RedundantTargetPlatform");
}

static void test_secrets(void **state) {
  (void)state;
  expect_one("FROM alpine\nARG GITHUB_TOKEN\n", "SecretsUsedInArgOrEnv", 2,
             "Do not use ARG or ENV instructions for sensitive data (ARG "
             "\"GITHUB_TOKEN\")");
  expect_one("FROM alpine\nENV db_password=x\n", "SecretsUsedInArgOrEnv", 2,
             "Do not use ARG or ENV instructions for sensitive data (ENV "
             "\"db_password\")");
  expect_one("FROM alpine\nARG API_KEY\n", "SecretsUsedInArgOrEnv", 2, NULL);
  expect_none("FROM alpine\nARG PASSWORD_FILE\nENV PUBLIC_KEY=x\n"
              "ARG KEYBOARD\nENV TOKENIZER=x\nARG NODE_VERSION\n",
              "SecretsUsedInArgOrEnv");
}

static void test_copy_ignored_file(void **state) {
  (void)state;
  st_ignore *ig = ignore_of("node_modules\n*.log\n");
  st_lint_opts o = {.ignore = ig};
  result r = lint_opts("FROM alpine\nCOPY . /app\nCOPY ./node_modules/x /y\n"
                       "ADD debug.log /z\nCOPY --from=b node_modules /n\n",
                       &o);
  int line;
  const char *msg;
  assert_int_equal(count(&r, "CopyIgnoredFile", &line, &msg), 2);
  assert_int_equal(line, 3);
  assert_string_equal(msg, "Attempting to Copy file \"node_modules/x\" that "
                           "is excluded by .dockerignore");
  assert_string_equal(r.f[r.n - 1].message,
                      "Attempting to Add file \"debug.log\" that is "
                      "excluded by .dockerignore");
  st_lint_free(r.f, r.n);

  /* An exception turns the check off, as in Docker. */
  st_ignore *ig2 = ignore_of("node_modules\n!node_modules/keep\n");
  o.ignore = ig2;
  r = lint_opts("FROM alpine\nCOPY node_modules/x /y\n", &o);
  assert_int_equal(count(&r, "CopyIgnoredFile", NULL, NULL), 0);
  st_lint_free(r.f, r.n);

  /* The root is reported only when "*" excludes everything. */
  st_ignore *ig3 = ignore_of("*\n");
  o.ignore = ig3;
  r = lint_opts("FROM alpine\nCOPY . /app\n", &o);
  assert_int_equal(count(&r, "CopyIgnoredFile", &line, &msg), 1);
  assert_string_equal(msg, "Attempting to Copy file \".\" that is excluded "
                           "by .dockerignore");
  st_lint_free(r.f, r.n);
  expect_none("FROM alpine\nCOPY node_modules /x\n", "CopyIgnoredFile");
  st_ignore_free(ig);
  st_ignore_free(ig2);
  st_ignore_free(ig3);
}

static void test_expose(void **state) {
  (void)state;
  expect_one("FROM alpine\nEXPOSE 80/TCP\n", "ExposeProtoCasing", 2,
             "Defined protocol '80/TCP' in EXPOSE instruction should be "
             "lowercase");
  expect_none("FROM alpine\nEXPOSE 80/tcp 53/udp 8080\n", "ExposeProtoCasing");
  expect_one("FROM alpine\nEXPOSE 8080:80\n", "ExposeInvalidFormat", 2,
             "EXPOSE instruction should not define an IP address or "
             "host-port mapping, found '8080:80'");
  expect_one("FROM alpine\nEXPOSE 127.0.0.1:80:80/tcp\n", "ExposeInvalidFormat",
             2, NULL);
  expect_none("FROM alpine\nEXPOSE 80 443/tcp 8000-8010\n",
              "ExposeInvalidFormat");
}

static void test_copy_before_install(void **state) {
  (void)state;
  expect_one("FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
             "CopyBeforeDependencyInstall", 4,
             "COPY . . before RUN npm ci invalidates the dependency install "
             "on every source change; copy package.json package-lock.json "
             "first, run npm ci, then COPY . .");
  expect_one("FROM python:3\nADD . /app\nRUN pip install --no-cache-dir -r "
             "requirements/prod.txt\n",
             "CopyBeforeDependencyInstall", 3,
             "ADD . /app before RUN pip install -r requirements/prod.txt "
             "invalidates the dependency install on every source change; "
             "copy requirements/prod.txt first, run pip install -r "
             "requirements/prod.txt, then ADD . /app");
  expect_one("FROM golang\nCOPY ./ /src\nRUN cd /src && go mod download\n",
             "CopyBeforeDependencyInstall", 3,
             "COPY ./ /src before RUN go mod download invalidates the "
             "dependency install on every source change; copy go.mod go.sum "
             "first, run go mod download, then COPY ./ /src");
  expect_one("FROM rust\nCOPY . .\nRUN cargo build --release\n",
             "CopyBeforeDependencyInstall", 3, NULL);
  expect_one("FROM ruby\nCOPY * ./\nRUN bundle install\n",
             "CopyBeforeDependencyInstall", 3, NULL);
  expect_one("FROM php\nCOPY . .\nRUN composer install --no-dev\n",
             "CopyBeforeDependencyInstall", 3, NULL);
  expect_one("FROM node\nCOPY . .\nRUN yarn install --frozen-lockfile\n",
             "CopyBeforeDependencyInstall", 3,
             "COPY . . before RUN yarn install invalidates the dependency "
             "install on every source change; copy package.json yarn.lock "
             "first, run yarn install, then COPY . .");
  expect_one("FROM debian\nCOPY . /src\nRUN apt-get update && apt-get "
             "install -y gcc\n",
             "CopyBeforeDependencyInstall", 3,
             "COPY . /src before RUN apt-get install invalidates the package "
             "install on every source change; run apt-get install before "
             "COPY . /src");
  /* The good order; a manifest copied first; another stage; a global npm
   * tool; a package named on the command line; COPY --from. */
  expect_none("FROM node\nCOPY package.json package-lock.json ./\n"
              "RUN npm ci\nCOPY . .\nRUN npm run build\n",
              "CopyBeforeDependencyInstall");
  expect_none("FROM node\nCOPY package*.json ./\nCOPY . .\nRUN npm ci\n",
              "CopyBeforeDependencyInstall");
  expect_none("FROM node AS a\nCOPY . .\nFROM node\nRUN npm ci\n",
              "CopyBeforeDependencyInstall");
  expect_none("FROM node\nCOPY . .\nRUN npm install -g pnpm && pip install "
              "flask\n",
              "CopyBeforeDependencyInstall");
  expect_none("FROM node\nCOPY --from=b . .\nRUN npm ci\n",
              "CopyBeforeDependencyInstall");
  expect_none("FROM python\nCOPY requirements.txt .\nCOPY . .\n"
              "RUN pip install -r requirements.txt\n",
              "CopyBeforeDependencyInstall");
}

/* ---- the directive, ordering, options ---- */

static void test_check_skip(void **state) {
  (void)state;
  const char *df = "# check=skip=JSONArgsRecommended,MaintainerDeprecated\n"
                   "FROM alpine\nMAINTAINER me\nCMD x\nENV A b\n";
  result r = lint(df);
  assert_int_equal(r.n, 1);
  assert_string_equal(r.f[0].rule, "LegacyKeyValueFormat");
  assert_false(r.error);
  st_lint_free(r.f, r.n);

  r = lint("# check=skip=all\nFROM alpine\nMAINTAINER me\nCMD x\n");
  assert_int_equal(r.n, 0);
  assert_null(r.f);
  st_lint_free(r.f, r.n);
}

static void test_check_error(void **state) {
  (void)state;
  result r = lint("# check=error=true\nFROM alpine\nCMD x\n");
  assert_int_equal(r.n, 1);
  assert_true(r.error);
  st_lint_free(r.f, r.n);
  /* No finding: nothing to fail on. */
  r = lint("# check=error=true\nFROM alpine\nCMD [\"x\"]\n");
  assert_int_equal(r.n, 0);
  assert_false(r.error);
  st_lint_free(r.f, r.n);
  r = lint("# check=skip=JSONArgsRecommended;error=true\nFROM alpine\n"
           "CMD x\n");
  assert_int_equal(r.n, 0);
  assert_false(r.error);
  st_lint_free(r.f, r.n);
}

static void test_check_directive_sources(void **state) {
  (void)state;
  /* BUILDKIT_DOCKERFILE_CHECK replaces the directive; so does
   * check_directive. */
  char a1[] = "X=1", a2[] = "BUILDKIT_DOCKERFILE_CHECK=skip=all";
  char *args[] = {a1, a2};
  st_lint_opts o = {.build_args = args, .n_build_args = 2};
  result r = lint_opts("# check=error=true\nFROM alpine\nCMD x\n", &o);
  assert_int_equal(r.n, 0);
  st_lint_free(r.f, r.n);
  st_lint_opts o2 = {.check_directive = "error=1"};
  r = lint_opts("FROM alpine\nCMD x\n", &o2);
  assert_int_equal(r.n, 1);
  assert_true(r.error);
  st_lint_free(r.f, r.n);
}

static void test_check_bad_directive(void **state) {
  (void)state;
  const char *bad[] = {"skip", "error=maybe", "colour=red"};
  const char *want[] = {
      "failed to parse check options: invalid check option \"skip\"",
      "failed to parse check options: failed to parse check option "
      "\"error=maybe\"",
      "failed to parse check options: invalid check option \"colour\""};
  for (size_t i = 0; i < 3; i++) {
    st_dockerfile *df = df_parse("FROM alpine\n");
    df->check = strdup(bad[i]);
    st_lint_finding *f = (st_lint_finding *)&df; /* must stay untouched */
    size_t n = 7;
    cleanup_error st_error *err = NULL;
    assert_int_equal(st_lint(df, NULL, &f, &n, NULL, &err), -1);
    assert_int_equal(err->code, EINVAL);
    assert_string_equal(err->msg, want[i]);
    assert_ptr_equal(f, (st_lint_finding *)&df);
    assert_int_equal(n, 7);
    df_free(df);
  }
}

static void test_order_and_fields(void **state) {
  (void)state;
  result r = lint("FROM alpine AS Build\nENV A b\nCMD x\nMAINTAINER m\n"
                  "CMD y\n");
  /* Sorted by line; every finding carries its texts. */
  for (size_t i = 1; i < r.n; i++)
    assert_true(r.f[i - 1].line <= r.f[i].line);
  for (size_t i = 0; i < r.n; i++) {
    assert_non_null(r.f[i].description);
    assert_non_null(r.f[i].explain);
    assert_null(strstr(r.f[i].explain, "http"));
    assert_non_null(r.f[i].url);
    assert_null(strchr(r.f[i].message, '\n'));
  }
  assert_string_equal(r.f[0].rule, "StageNameCasing");
  assert_int_equal(r.f[0].line, 1);
  st_lint_free(r.f, r.n);

  const char *name, *desc;
  size_t n = 0;
  while (st_lint_rule(n, &name, &desc))
    n++;
  assert_true(n >= 20);
  assert_true(st_lint_rule(n - 1, &name, NULL));
  assert_string_equal(name, "CopyBeforeDependencyInstall");
}

/* What only the real parser gives: the escape directive, here-documents,
 * multi-line instructions (their first line is reported). */
static void test_parser_forms(void **state) {
  (void)state;
  expect_none("# escape=`\nFROM alpine\nENV A=`$NOPE\n", "UndefinedVar");
  expect_one("FROM node\nCOPY . .\nRUN <<EOF\nset -e\nnpm ci\nEOF\n",
             "CopyBeforeDependencyInstall", 3, NULL);
  expect_one("FROM alpine\nCMD echo \\\n  hi\nMAINTAINER x\n",
             "JSONArgsRecommended", 2, NULL);
  expect_one("FROM alpine\nCMD echo \\\n  hi\nMAINTAINER x\n",
             "MaintainerDeprecated", 4, NULL);
}

static void test_clean_file(void **state) {
  (void)state;
  result r = lint("ARG BASE=alpine:3.19\n"
                  "FROM ${BASE} AS build\n"
                  "WORKDIR /src\n"
                  "COPY package.json package-lock.json ./\n"
                  "RUN npm ci\n"
                  "COPY . .\n"
                  "RUN npm run build\n"
                  "FROM build AS final\n"
                  "ENV NODE_ENV=production\n"
                  "EXPOSE 3000/tcp\n"
                  "USER node\n"
                  "CMD [\"node\", \"dist/index.js\"]\n");
  for (size_t i = 0; i < r.n; i++)
    print_message("  %s:%d %s\n", r.f[i].rule, r.f[i].line, r.f[i].message);
  assert_int_equal(r.n, 0);
  st_lint_free(r.f, r.n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stage_name_casing),
      cmocka_unit_test(test_from_as_casing),
      cmocka_unit_test(test_no_empty_continuation),
      cmocka_unit_test(test_consistent_casing),
      cmocka_unit_test(test_stage_names),
      cmocka_unit_test(test_json_args),
      cmocka_unit_test(test_maintainer),
      cmocka_unit_test(test_undefined_arg_in_from),
      cmocka_unit_test(test_workdir_relative),
      cmocka_unit_test(test_undefined_var),
      cmocka_unit_test(test_multiple_instructions),
      cmocka_unit_test(test_legacy_key_value),
      cmocka_unit_test(test_invalid_default_arg),
      cmocka_unit_test(test_platform_const),
      cmocka_unit_test(test_redundant_target_platform),
      cmocka_unit_test(test_secrets),
      cmocka_unit_test(test_copy_ignored_file),
      cmocka_unit_test(test_expose),
      cmocka_unit_test(test_copy_before_install),
      cmocka_unit_test(test_check_skip),
      cmocka_unit_test(test_check_error),
      cmocka_unit_test(test_check_directive_sources),
      cmocka_unit_test(test_check_bad_directive),
      cmocka_unit_test(test_order_and_fields),
      cmocka_unit_test(test_parser_forms),
      cmocka_unit_test(test_clean_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
