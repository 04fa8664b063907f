/* The Dockerfile language: parser directives, comments, line
 * continuations, here-documents, and the split of each instruction into
 * flags and arguments, as Docker's current frontend reads them.
 *
 * The parser touches no store and no file system: it takes the bytes of a
 * Dockerfile and returns a list of instructions, so it can be fuzzed.
 * Variables are NOT expanded here (build/expand.h does that, in the
 * instructions and places where Docker does): every string below is the
 * text as written, quotes included, except JSON (exec) form arguments,
 * which are the decoded JSON strings.
 */
#ifndef STRATA_BUILD_DOCKERFILE_H
#define STRATA_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

typedef enum st_df_kind {
  ST_DF_FROM,
  ST_DF_RUN,
  ST_DF_COPY,
  ST_DF_ADD,
  ST_DF_ENV,
  ST_DF_ARG,
  ST_DF_CMD,
  ST_DF_ENTRYPOINT,
  ST_DF_WORKDIR,
  ST_DF_USER,
  ST_DF_LABEL,
  ST_DF_EXPOSE,
  ST_DF_VOLUME,
  ST_DF_SHELL,
  ST_DF_STOPSIGNAL,
  ST_DF_HEALTHCHECK,
  ST_DF_ONBUILD,
  ST_DF_MAINTAINER,
} st_df_kind;

/* "--name=value" before the arguments; value is NULL for a bare "--name"
 * (e.g. "--link"). Flags may repeat (RUN --mount=... --mount=...). */
typedef struct st_df_flag {
  char *name; /* without the dashes: "from", "chown", "mount" */
  char *value;
} st_df_flag;

/* A here-document: "<<EOF", "<<-EOF", "<<'EOF'", "<<\"EOF\"". */
typedef struct st_df_heredoc {
  char *name;    /* the delimiter word, without quotes: "EOF" */
  char *content; /* the lines between, each ending with '\n'; with "<<-"
                    leading tabs already removed */
  bool expand;   /* false when the delimiter was quoted */
  bool chomp;    /* "<<-" */
} st_df_heredoc;

/* KEY=VALUE of ENV, LABEL, ARG (value NULL for "ARG NAME" without a
 * default). Both are raw text: quotes and escapes are left for the
 * expander. The legacy forms "ENV KEY VALUE WITH SPACES" and
 * "LABEL key value" give one pair whose value is the rest of the line;
 * `legacy` is set so that a linter can report LegacyKeyValueFormat. */
typedef struct st_df_pair {
  char *key, *value;
} st_df_pair;

typedef struct st_df_instr {
  st_df_kind kind;
  char *keyword;      /* as written, e.g. "run" or "RUN" */
  int line, end_line; /* 1-based first and last line (continuations and
                         here-documents included) */
  char *text;         /* the instruction after joining continuation lines,
                         keyword and flags included, heredoc bodies not:
                         "RUN --mount=type=cache,target=/c make" */
  st_df_flag *flags;
  size_t n_flags;

  /* Arguments, by kind:
   * - RUN, CMD, ENTRYPOINT, SHELL: json set: args are the JSON strings
   *   (exec form); else `rest` is the command text (shell form; for RUN
   *   the here-document markers stay in it).
   * - COPY, ADD, VOLUME: args are the words (JSON form or split on
   *   whitespace); the last of COPY/ADD is the destination.
   * - FROM: args are the words: IMAGE, or IMAGE AS NAME ("AS" as written).
   * - ENV, LABEL, ARG: pairs (see st_df_pair).
   * - EXPOSE: args are the words. WORKDIR, USER, STOPSIGNAL, MAINTAINER:
   *   rest is the whole argument text, trimmed.
   * - HEALTHCHECK: flags (--interval ...); then either args[0] == "NONE"
   *   (n_args == 1, no json, no rest) or a CMD: `sub` points to a parsed
   *   CMD instruction.
   * - ONBUILD: `sub` is the trigger instruction (never FROM, ONBUILD or
   *   MAINTAINER, which are refused), and rest its text. */
  bool json;
  char **args;
  size_t n_args;
  char *rest;
  st_df_pair *pairs;
  size_t n_pairs;
  bool legacy; /* ENV/LABEL written "KEY VALUE" */
  st_df_heredoc *heredocs;
  size_t n_heredocs;
  struct st_df_instr *sub;
} st_df_instr;

/* A parsed file. Directives come from the leading comment lines, before
 * any instruction or other comment: "# syntax=..." (kept, ignored),
 * "# escape=`" or "\" (changes the escape character for the whole file),
 * "# check=skip=A,B;error=true" (kept for the linter). */
typedef struct st_dockerfile {
  st_df_instr *instrs;
  size_t n;
  char escape;          /* '\\' or '`' */
  char *syntax, *check; /* directive values, or NULL */
  /* Warnings found while parsing (e.g. "empty continuation line"), each
   * "LINE:message" — reported by the build as Docker does; may be empty. */
  char **warnings;
  size_t n_warnings;
} st_dockerfile;

/* Parses len bytes of Dockerfile text (a UTF-8 BOM is skipped; CRLF line
 * ends are accepted). `name` is used in messages ("Dockerfile:12: unknown
 * instruction: RUNN"). On error returns < 0 with *err EINVAL, its message
 * "NAME:LINE: what" and the offending text, and *out untouched:
 *   unknown instruction, an instruction without its required argument,
 *   a malformed flag, JSON that starts with '[' but does not parse is NOT
 *   an error (Docker falls back to shell form) except for SHELL, which
 *   requires JSON; an unterminated here-document; ONBUILD of FROM,
 *   ONBUILD or MAINTAINER; a file with no instruction; an instruction
 *   before the first FROM other than ARG. */
int st_dockerfile_parse(const char *text, size_t len, const char *name,
                        st_dockerfile *out, st_error **err);
void st_dockerfile_free(st_dockerfile *df);

/* The instruction's upper-case name ("RUN"). */
const char *st_df_kind_name(st_df_kind kind);

/* The value of flag name (the last one when it repeats); NULL when absent.
 * *present (if not NULL) tells a bare "--name" from an absent one. */
const char *st_df_flag_get(const st_df_instr *in, const char *name,
                           bool *present);

#endif
