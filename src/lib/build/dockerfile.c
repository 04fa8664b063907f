/* Reading a Dockerfile into instructions, as BuildKit's parser.Parse does:
 * parser directives at the top, comments, line continuations (with
 * comments and empty lines inside them dropped), here-document bodies;
 * then the instruction rules of BuildKit's instructions package
 * (dockerfile_check.c), so errors come in Docker's order. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile_int.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* bufio.Scanner's limit in BuildKit: longer lines are an error. */
#define DF_MAX_LINE 65536

static const char *const kind_names[] = {
    [ST_DF_FROM] = "FROM",
    [ST_DF_RUN] = "RUN",
    [ST_DF_COPY] = "COPY",
    [ST_DF_ADD] = "ADD",
    [ST_DF_ENV] = "ENV",
    [ST_DF_ARG] = "ARG",
    [ST_DF_CMD] = "CMD",
    [ST_DF_ENTRYPOINT] = "ENTRYPOINT",
    [ST_DF_WORKDIR] = "WORKDIR",
    [ST_DF_USER] = "USER",
    [ST_DF_LABEL] = "LABEL",
    [ST_DF_EXPOSE] = "EXPOSE",
    [ST_DF_VOLUME] = "VOLUME",
    [ST_DF_SHELL] = "SHELL",
    [ST_DF_STOPSIGNAL] = "STOPSIGNAL",
    [ST_DF_HEALTHCHECK] = "HEALTHCHECK",
    [ST_DF_ONBUILD] = "ONBUILD",
    [ST_DF_MAINTAINER] = "MAINTAINER",
};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *st_df_kind_name(st_df_kind kind) {
  if ((size_t)kind < N_KINDS)
    return kind_names[kind];
  return "UNKNOWN";
}

st_df_kind df_kind_of(const char *keyword) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcasecmp(keyword, kind_names[i]) == 0)
      return (st_df_kind)i;
  return DF_UNKNOWN;
}

const char *st_df_flag_get(const st_df_instr *in, const char *name,
                           bool *present) {
  for (size_t i = in->n_flags; i-- > 0;) {
    if (strcmp(in->flags[i].name, name) == 0) {
      if (present)
        *present = true;
      return in->flags[i].value;
    }
  }
  if (present)
    *present = false;
  return NULL;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void df_instr_clear(st_df_instr *in) {
  free(in->keyword);
  free(in->text);
  for (size_t i = 0; i < in->n_flags; i++) {
    free(in->flags[i].name);
    free(in->flags[i].value);
  }
  free(in->flags);
  free_strv(in->args, in->n_args);
  free(in->rest);
  for (size_t i = 0; i < in->n_pairs; i++) {
    free(in->pairs[i].key);
    free(in->pairs[i].value);
  }
  free(in->pairs);
  for (size_t i = 0; i < in->n_heredocs; i++) {
    free(in->heredocs[i].name);
    free(in->heredocs[i].content);
  }
  free(in->heredocs);
  if (in->sub) {
    df_instr_clear(in->sub);
    free(in->sub);
  }
  memset(in, 0, sizeof(*in));
}

void st_dockerfile_free(st_dockerfile *df) {
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->n; i++)
    df_instr_clear(&df->instrs[i]);
  free(df->instrs);
  free(df->syntax);
  free(df->check);
  free_strv(df->warnings, df->n_warnings);
  memset(df, 0, sizeof(*df));
}

/* The state of one parse. */
typedef struct df_reader {
  const char *p, *end; /* what is left of the input */
  int line;            /* lines read so far */
  const char *name;
  st_dockerfile df;
  bool directives_done, seen_escape;
  st_error **err;
} df_reader;

/* The next line: *s, its length *n without the line end ("\n", "\r\n"),
 * *raw with it. false at the end of the input. */
static bool next_line(df_reader *r, const char **s, size_t *n, size_t *raw) {
  if (r->p >= r->end)
    return false;
  const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
  *s = r->p;
  *raw = nl ? (size_t)(nl - r->p) + 1 : (size_t)(r->end - r->p);
  *n = nl ? (size_t)(nl - r->p) : *raw;
  while (*n > 0 && (*s)[*n - 1] == '\r')
    (*n)--;
  r->p += *raw;
  r->line++;
  return true;
}

/* Sets *r->err to "NAME:LINE: why (in "TEXT")" from the inner error. */
static int fail(df_reader *r, int line, const char *text, st_error *why) {
  const char *msg = why && why->msg ? why->msg : "out of memory";
  int code = why ? why->code : ENOMEM;
  size_t n = text ? strcspn(text, "\n") : 0;
  const char *more = n > 80 ? "..." : "";
  n = n > 80 ? 80 : n;
  if (text)
    st_error_set(r->err, code, "%s:%d: %s (in \"%.*s%s\")", r->name, line, msg,
                 (int)n, text, more);
  else
    st_error_set(r->err, code, "%s:%d: %s", r->name, line, msg);
  st_error_free(why);
  return -1;
}

static int fail_msg(df_reader *r, int line, const char *text, const char *msg) {
  st_error *e = NULL;
  st_error_set(&e, EINVAL, "%s", msg);
  return fail(r, line, text, e);
}

/* RE2's \s, as in BuildKit's directive pattern. */
static bool re2_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

static int directive_error(df_reader *r, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int directive_error(df_reader *r, const char *text, const char *fmt,
                           ...) {
  cleanup_free char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int ret = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (ret < 0)
    return fail(r, r->line, text, NULL);
  return fail_msg(r, r->line, text, msg);
}

/* Records directive key (lower case) = value (taken); 1, or -1 for a
 * repeated directive or a bad escape character. */
static int set_directive(df_reader *r, const char *text, const char *key,
                         char *value) {
  cleanup_free char *v = value;
  bool escape = strcmp(key, "escape") == 0;
  char **slot = strcmp(key, "syntax") == 0 ? &r->df.syntax : &r->df.check;
  if ((escape && r->seen_escape) || (!escape && *slot))
    return directive_error(r, text, "only one %s parser directive can be used",
                           key);
  if (!escape) {
    *slot = steal_pointer(&v);
    return 1;
  }
  if (strcmp(v, "\\") != 0 && strcmp(v, "`") != 0)
    return directive_error(
        r, text, "invalid escape token '%s' does not match ` or \\", v);
  r->df.escape = v[0];
  r->seen_escape = true;
  return 1;
}

/* A parser directive ("# escape=`"): 1 when s[0..n) is one (recorded),
 * 0 when not (and directives end), -1 on error. */
static int parse_directive(df_reader *r, const char *s, size_t n) {
  if (r->directives_done)
    return 0;
  r->directives_done = true;
  if (n == 0 || s[0] != '#')
    return 0;
  size_t i = 1, k0, k1;
  while (i < n && df_space_len(s + i, n - i) > 0)
    i += df_space_len(s + i, n - i);
  if (i >= n || !is_alpha(s[i]))
    return 0;
  for (k0 = i; i < n && is_alnum(s[i]); i++)
    ;
  k1 = i;
  while (i < n && re2_space(s[i]))
    i++;
  if (i >= n || s[i++] != '=')
    return 0;
  while (i < n && re2_space(s[i]))
    i++;
  while (n > i && re2_space(s[n - 1]))
    n--;
  char key[8] = "";
  if (i >= n || k1 - k0 > 6)
    return 0;
  memcpy(key, s + k0, k1 - k0);
  for (char *c = key; *c; c++)
    *c = (char)(*c | 0x20);
  if (strcmp(key, "syntax") != 0 && strcmp(key, "escape") != 0 &&
      strcmp(key, "check") != 0)
    return 0;
  cleanup_free char *text = strndup(s, n);
  char *value = strndup(s + i, n - i);
  if (text == NULL || value == NULL) {
    free(value);
    return fail(r, r->line, NULL, NULL);
  }
  r->directives_done = false;
  return set_directive(r, text, key, value);
}

/* Strips the escape character that ends a line (with the spaces and tabs
 * after it), unless it is itself escaped. Returns whether it was there. */
static bool trim_continuation(const df_reader *r, const char *s, size_t *n) {
  char esc = r->df.escape;
  size_t k = *n;
  while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
    k--;
  if (k == 0 || s[k - 1] != esc || (k >= 2 && s[k - 2] == esc))
    return false;
  *n = k - 1;
  return true;
}

static size_t lead_space(const char *s, size_t n) {
  size_t i = 0, w;
  while (i < n && (w = df_space_len(s + i, n - i)) > 0)
    i += w;
  return i;
}

static bool is_comment(const char *s, size_t n) {
  size_t i = lead_space(s, n);
  return i < n && s[i] == '#';
}

/* Removes the tabs that start each line ("<<-"). */
static void chomp_tabs(char *s) {
  char *w = s;
  bool bol = true;
  for (; *s; s++) {
    if (bol && *s == '\t')
      continue;
    bol = *s == '\n';
    *w++ = *s;
  }
  *w = '\0';
}

/* Reads the body of h up to its delimiter line. */
static int read_heredoc(df_reader *r, st_df_heredoc *h, int start,
                        const char *text) {
  cleanup_buf st_buf c = ST_BUF_INIT;
  size_t len = strlen(h->name), n, raw;
  const char *s;
  while (next_line(r, &s, &n, &raw)) {
    const char *t = s;
    while (h->chomp && n > 0 && *t == '\t') {
      t++;
      n--;
    }
    if (n == len && memcmp(t, h->name, len) == 0) {
      h->content = st_buf_steal(&c);
      if (h->chomp)
        chomp_tabs(h->content);
      return 0;
    }
    if (st_buf_append(&c, s, raw) < 0)
      return fail(r, start, text, NULL);
  }
  return fail_msg(r, start, text, "unterminated heredoc");
}

/* Here-documents of RUN, COPY, ADD (maybe as ONBUILD's trigger), in
 * shell form only; they belong to that instruction. */
static int read_heredocs(df_reader *r, st_df_instr *in, int start) {
  st_df_instr *t = in->kind == ST_DF_ONBUILD && in->sub ? in->sub : in;
  if ((t->kind != ST_DF_RUN && t->kind != ST_DF_COPY && t->kind != ST_DF_ADD) ||
      t->json || strstr(in->text, "<<") == NULL)
    return 0;
  st_error *e = NULL;
  if (df_heredoc_markers(in->text, &t->heredocs, &t->n_heredocs, &e) < 0)
    return fail(r, start, in->text, e);
  for (size_t i = 0; i < t->n_heredocs; i++)
    if (read_heredoc(r, &t->heredocs[i], start, in->text) < 0)
      return -1;
  return 0;
}

static void set_lines(st_df_instr *in, int start, int end) {
  for (; in; in = in->sub) {
    in->line = start;
    in->end_line = end;
  }
}

/* Parses the joined line text, reads its here-documents, appends it. */
static int add_instruction(df_reader *r, const char *text, int start) {
  st_df_instr in = {0};
  st_error *e = NULL;
  if (df_parse_instr(text, r->df.escape, 0, &in, &e) < 0 ||
      read_heredocs(r, &in, start) < 0) {
    df_instr_clear(&in);
    return e ? fail(r, start, text, e) : -1;
  }
  set_lines(&in, start, r->line);
  if (df_push(&r->df.instrs, &r->df.n, sizeof(in), &in) < 0) {
    df_instr_clear(&in);
    return fail(r, start, text, NULL);
  }
  return 0;
}

static int warn_empty_continuation(df_reader *r, const char *text) {
  cleanup_free char *w = NULL;
  if (asprintf(&w, "%d:Empty continuation line found in: %s", r->line, text) <
          0 ||
      df_push(&r->df.warnings, &r->df.n_warnings, sizeof(w), &w) < 0)
    return fail(r, r->line, NULL, NULL);
  w = NULL;
  return 0;
}

/* One instruction from its first line s[0..n) (leading space removed)
 * through its continuation lines. */
static int read_instruction(df_reader *r, const char *s, size_t n) {
  int start = r->line;
  bool cont = trim_continuation(r, s, &n), empty = false;
  if (!cont && n == 0)
    return 0;
  cleanup_buf st_buf b = ST_BUF_INIT;
  size_t raw;
  if (st_buf_append(&b, s, n) < 0)
    return fail(r, start, NULL, NULL);
  while (cont && next_line(r, &s, &n, &raw)) {
    if (is_comment(s, n))
      continue;
    if (lead_space(s, n) == n) {
      empty = true;
      continue;
    }
    cont = trim_continuation(r, s, &n);
    if (st_buf_append(&b, s, n) < 0)
      return fail(r, start, NULL, NULL);
  }
  cleanup_free char *text = st_buf_steal(&b);
  if (empty && warn_empty_continuation(r, text) < 0)
    return -1;
  return add_instruction(r, text, start);
}

/* NUL bytes and lines longer than BuildKit reads are refused up front. */
static int check_bytes(df_reader *r) {
  const char *p = r->p;
  for (int line = 1; p < r->end; line++) {
    const char *nl = memchr(p, '\n', (size_t)(r->end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(r->end - p);
    if (memchr(p, '\0', n))
      return fail_msg(r, line, NULL, "NUL byte in the Dockerfile");
    if (n >= DF_MAX_LINE)
      return fail_msg(r, line, NULL,
                      "dockerfile line greater than max allowed size of "
                      "65535");
    p += n + 1;
  }
  return 0;
}

static int read_all(df_reader *r) {
  const char *s;
  size_t n, raw;
  if (r->end - r->p >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0)
    r->p += 3;
  if (check_bytes(r) < 0)
    return -1;
  while (next_line(r, &s, &n, &raw)) {
    size_t lead = lead_space(s, n);
    s += lead;
    n -= lead;
    int d = parse_directive(r, s, n);
    if (d != 0) {
      if (d < 0)
        return -1;
      continue;
    }
    if ((n > 0 && s[0] == '#') || read_instruction(r, s, n) == 0)
      continue;
    return -1;
  }
  if (r->df.n == 0)
    return fail_msg(r, r->line > 0 ? r->line : 1, NULL,
                    "file with no instructions");
  return 0;
}

/* Docker's instruction rules, in file order; only ARG may come before
 * the first FROM. */
static int check_all(df_reader *r) {
  bool stage = false;
  for (size_t i = 0; i < r->df.n; i++) {
    st_df_instr *in = &r->df.instrs[i];
    st_error *e = NULL;
    if (df_check_instr(in, &e) < 0)
      return fail(r, in->line, in->text, e);
    stage = stage || in->kind == ST_DF_FROM;
    if (!stage && in->kind != ST_DF_ARG)
      return fail_msg(r, in->line, in->text,
                      "no build stage in current context");
  }
  return 0;
}

int st_dockerfile_parse(const char *text, size_t len, const char *name,
                        st_dockerfile *out, st_error **err) {
  df_reader r = {.p = text, .end = text + len, .name = name, .err = err};
  r.df.escape = '\\';
  if (r.name == NULL)
    r.name = "Dockerfile";
  if (read_all(&r) < 0 || check_all(&r) < 0) {
    st_dockerfile_free(&r.df);
    return -1;
  }
  *out = r.df;
  return 0;
}
