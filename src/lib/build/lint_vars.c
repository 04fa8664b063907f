/* Variables for the linter: a small name list, a Docker-like expansion
 * that reports every variable it meets, and the "did you mean" search. */
#include <stdlib.h>
#include <string.h>

#include "build/lint_internal.h"
#include "util/buf.h"
#include "util/cleanup.h"

int lint_vars_set(lint_vars *v, const char *name, const char *value) {
  long i = lint_vars_find(v, name);
  char *val = NULL;
  if (value && (val = strdup(value)) == NULL)
    return -1;
  if (i >= 0) {
    free(v->values[i]);
    v->values[i] = val;
    return 0;
  }
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    char **names = realloc(v->names, cap * sizeof(*names));
    if (names == NULL) {
      free(val);
      return -1;
    }
    v->names = names;
    char **values = realloc(v->values, cap * sizeof(*values));
    if (values == NULL) {
      free(val);
      return -1;
    }
    v->values = values;
    v->cap = cap;
  }
  if ((v->names[v->n] = strdup(name)) == NULL) {
    free(val);
    return -1;
  }
  v->values[v->n++] = val;
  return 0;
}

long lint_vars_find(const lint_vars *v, const char *name) {
  if (v == NULL)
    return -1;
  for (size_t i = 0; i < v->n; i++)
    if (strcmp(v->names[i], name) == 0)
      return (long)i;
  return -1;
}

int lint_vars_copy(lint_vars *dst, const lint_vars *src) {
  for (size_t i = 0; i < src->n; i++)
    if (lint_vars_set(dst, src->names[i], src->values[i]) < 0)
      return -1;
  return 0;
}

void lint_vars_clear(lint_vars *v) {
  for (size_t i = 0; i < v->n; i++) {
    free(v->names[i]);
    free(v->values[i]);
  }
  free(v->names);
  free(v->values);
  *v = (lint_vars){0};
}

/* ---- expansion ---- */

typedef struct expander {
  char escape;
  const lint_vars *look, *look2;
  lint_used_fn used;
  void *ctx;
} expander;

static bool is_name_start(char ch) {
  return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_name_char(char ch) {
  return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

/* Looks name up; *declared tells whether either list has it, the return
 * value is the first value found (a global "ARG TARGETARCH" without a
 * default keeps the predefined value), NULL when there is none. */
static const char *lookup(const expander *x, const char *name, bool *declared) {
  const lint_vars *lists[] = {x->look, x->look2};
  *declared = false;
  for (size_t i = 0; i < 2; i++) {
    long k = lint_vars_find(lists[i], name);
    if (k >= 0) {
      *declared = true;
      if (lists[i]->values[k])
        return lists[i]->values[k];
    }
  }
  return NULL;
}

static const char *use(const expander *x, const char *name) {
  bool declared;
  const char *v = lookup(x, name, &declared);
  if (x->used)
    x->used(x->ctx, name, declared);
  return v;
}

static int expand_into(const expander *x, const char *s, size_t len,
                       st_buf *out);

/* The end of the word of "${name:-word}": the '}' that closes it, counting
 * nested "${". */
static size_t word_end(const char *s, size_t i, size_t len, char escape) {
  int depth = 0;
  for (; i < len; i++) {
    if (s[i] == escape && i + 1 < len)
      i++;
    else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{')
      depth++, i++;
    else if (s[i] == '}' && depth-- == 0)
      return i;
  }
  return len;
}

/* "${...}" starting at s[i] == '$'; returns the index after it. */
static size_t expand_braces(const expander *x, const char *s, size_t i,
                            size_t len, st_buf *out, int *ret) {
  size_t start = i + 2, j = start;
  while (j < len && is_name_char(s[j]))
    j++;
  cleanup_free char *name = strndup(s + start, j - start);
  if (name == NULL) {
    *ret = -1;
    return len;
  }
  const char *v = *name ? use(x, name) : NULL;
  if (j >= len || s[j] == '}') {
    if (v && st_buf_puts(out, v) < 0)
      *ret = -1;
    return j + 1;
  }
  bool colon = s[j] == ':';
  if (colon)
    j++;
  char op = j < len ? s[j] : '\0';
  size_t wstart = j + 1, wend = word_end(s, wstart, len, x->escape);
  bool set = v && (!colon || *v);
  st_buf word = ST_BUF_INIT;
  /* The word is scanned for variables whatever the operator. */
  if (expand_into(x, s + wstart, wend - wstart, &word) < 0)
    *ret = -1;
  const char *put = v;
  if (op == '-')
    put = set ? v : word.data;
  else if (op == '+')
    put = set ? word.data : NULL;
  if (put && st_buf_puts(out, put) < 0)
    *ret = -1;
  st_buf_free(&word);
  return wend + 1;
}

static int expand_into(const expander *x, const char *s, size_t len,
                       st_buf *out) {
  int ret = 0;
  for (size_t i = 0; i < len && ret == 0;) {
    char ch = s[i];
    if (ch == x->escape && i + 1 < len) {
      ret = st_buf_putc(out, s[i + 1]);
      i += 2;
    } else if (ch == '\'') {
      size_t j = i + 1;
      while (j < len && s[j] != '\'')
        j++;
      ret = st_buf_append(out, s + i + 1, j - i - 1);
      i = j + 1;
    } else if (ch == '"') {
      i++;
    } else if (ch == '$' && i + 1 < len && s[i + 1] == '{') {
      i = expand_braces(x, s, i, len, out, &ret);
    } else if (ch == '$' && i + 1 < len && is_name_start(s[i + 1])) {
      size_t j = i + 1;
      while (j < len && is_name_char(s[j]))
        j++;
      cleanup_free char *name = strndup(s + i + 1, j - i - 1);
      if (name == NULL)
        return -1;
      const char *v = use(x, name);
      if (v)
        ret = st_buf_puts(out, v);
      i = j;
    } else {
      ret = st_buf_putc(out, ch);
      i++;
    }
  }
  return ret;
}

int lint_expand(const char *s, char escape, const lint_vars *look,
                const lint_vars *look2, lint_used_fn used, void *ctx,
                char **out) {
  expander x = {escape, look, look2, used, ctx};
  st_buf b = ST_BUF_INIT;
  if (expand_into(&x, s, strlen(s), &b) < 0) {
    st_buf_free(&b);
    return -1;
  }
  if (out)
    *out = st_buf_steal(&b);
  else
    st_buf_free(&b);
  return 0;
}

/* ---- suggestions ---- */

static size_t levenshtein(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return 64;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *lint_suggest(const char *s, const lint_vars *a,
                         const lint_vars *b) {
  const lint_vars *lists[] = {a, b};
  const char *best = NULL;
  size_t min = 3;
  for (size_t l = 0; l < 2; l++) {
    if (lists[l] == NULL)
      continue;
    for (size_t i = 0; i < lists[l]->n; i++) {
      const char *name = lists[l]->names[i];
      if (strcmp(name, s) == 0)
        return NULL;
      size_t d = levenshtein(s, name);
      if (d < min) {
        min = d;
        best = name;
      }
    }
  }
  return best;
}
