/* Word expansion of Dockerfile arguments, following the behaviour of
 * Docker's shell lexer (BuildKit's frontend/dockerfile/shell):
 *   - outside quotes the escape character takes the next character
 *     literally (and is dropped at the very end);
 *   - '...' is literal; "..." expands '$' and lets the escape character
 *     quote only '"', '$' and itself (elsewhere the escape stays);
 *   - $name, ${name} and ${name<op>word} with op one of :- - :+ + :? ?;
 *     the word is itself expanded (quotes, escapes, nested substitutions)
 *     whether or not it is used, as Docker does;
 *   - a name is [A-Za-z_][A-Za-z0-9_]*, a run of digits ($1) or one of
 *     Docker's special parameters @ * # ? - $ ! (all usually unset); '$'
 *     followed by anything else is a literal '$';
 *   - when words are wanted, the result of a substitution is split on
 *     whitespace while quoted text and escaped characters never are; a
 *     word that ends up empty is dropped.
 */
#include "build/expand.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/cleanup.h"

/* Bounds the recursion of ${a:-${b:-...}} so that no input exhausts the
 * stack. */
#define MAX_DEPTH 64

typedef struct lexer {
  const st_expander *x;
  const char *s;
  size_t pos, len;
  char escape;
  unsigned depth;
  st_error **err;
} lexer;

/* The words being built when splitting (Docker's wordsStruct). */
typedef struct words {
  st_buf word;
  bool in_word;
  char **list; /* NULL-terminated once there is one */
  size_t n, cap;
} words;

static int oom(lexer *lx) {
  return st_error_set(lx->err, ENOMEM, "out of memory");
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

/* ---- words -------------------------------------------------------------- */

static int words_push(words *w) {
  if (w->n + 2 > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 8;
    char **l = realloc(w->list, cap * sizeof(*l));
    if (l == NULL)
      return -1;
    w->list = l;
    w->cap = cap;
  }
  w->list[w->n++] = st_buf_steal(&w->word);
  w->list[w->n] = NULL;
  w->in_word = false;
  return 0;
}

/* Text that is never split: quoted, escaped. */
static int words_raw(words *w, const char *s, size_t n) {
  if (w == NULL)
    return 0;
  w->in_word = true;
  return st_buf_append(&w->word, s, n);
}

/* Text that is split on whitespace: plain characters and the results of
 * substitutions. */
static int words_text(words *w, const char *s, size_t n) {
  if (w == NULL)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_space(s[i])) {
      if (words_raw(w, s + i, 1) < 0)
        return -1;
    } else if (w->in_word && w->word.len > 0 && words_push(w) < 0) {
      return -1;
    }
  }
  return 0;
}

static void words_free(words *w) {
  st_buf_free(&w->word);
  for (size_t i = 0; i < w->n; i++)
    free(w->list[i]);
  free(w->list);
}

/* ---- lexing ------------------------------------------------------------- */

static int lex_word(lexer *lx, char stop, st_buf *out, words *w);

static bool at_end(const lexer *lx) {
  return lx->pos >= lx->len;
}

static char peek(const lexer *lx) {
  return at_end(lx) ? '\0' : lx->s[lx->pos];
}

static bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

static bool is_special_param(char c) {
  return c != '\0' && strchr("@*#?-$!", c) != NULL;
}

/* Scans a name at the current position (see the top of the file); returns
 * its length, 0 when there is none. */
static size_t scan_name(lexer *lx) {
  size_t start = lx->pos;
  char c = peek(lx);
  if (c >= '0' && c <= '9') {
    while (!at_end(lx) && peek(lx) >= '0' && peek(lx) <= '9')
      lx->pos++;
  } else if (is_special_param(c)) {
    lx->pos++;
  } else {
    while (!at_end(lx) && is_name_char(peek(lx)))
      lx->pos++;
  }
  return lx->pos - start;
}

/* Looks name[0..n) up (and reports it); *value is NULL when unset. */
static int lookup(lexer *lx, const char *name, size_t n, char **key,
                  const char **value) {
  *key = strndup(name, n);
  if (*key == NULL)
    return oom(lx);
  *value = lx->x->lookup ? lx->x->lookup(lx->x->ctx, *key) : NULL;
  if (lx->x->used)
    lx->x->used(lx->x->ctx, *key, *value != NULL);
  return 0;
}

static int lex_single(lexer *lx, st_buf *out) {
  lx->pos++;
  const char *end = memchr(lx->s + lx->pos, '\'', lx->len - lx->pos);
  if (end == NULL) {
    lx->pos = lx->len;
    return st_error_set(lx->err, EINVAL,
                        "unexpected end of statement while looking for "
                        "matching single-quote");
  }
  size_t n = (size_t)(end - (lx->s + lx->pos));
  if (st_buf_append(out, lx->s + lx->pos, n) < 0)
    return oom(lx);
  lx->pos += n + 1;
  return 0;
}

static int lex_dollar(lexer *lx, st_buf *out);

static int lex_double(lexer *lx, st_buf *out) {
  lx->pos++;
  for (;;) {
    if (at_end(lx))
      return st_error_set(lx->err, EINVAL,
                          "unexpected end of statement while looking for "
                          "matching double-quote");
    char c = peek(lx);
    if (c == '"') {
      lx->pos++;
      return 0;
    }
    if (c == '$') {
      if (lex_dollar(lx, out) < 0)
        return -1;
      continue;
    }
    lx->pos++;
    if (c == lx->escape) {
      if (at_end(lx))
        continue; /* reported as the missing quote */
      char next = peek(lx);
      if (next == '"' || next == '$' || next == lx->escape)
        c = lx->s[lx->pos++];
    }
    if (st_buf_putc(out, c) < 0)
      return oom(lx);
  }
}

/* Applies the operator op (':' then mod, or mod alone) of ${name<op>word}
 * with the expanded word. */
static int apply_op(lexer *lx, bool colon, char mod, const char *name,
                    const char *value, const char *word, st_buf *out) {
  const char *res = value ? value : "";
  bool empty = value == NULL || value[0] == '\0';
  switch (mod) {
  case '-':
    if (colon ? empty : value == NULL)
      res = word;
    break;
  case '+':
    res = (colon ? !empty : value != NULL) ? word : "";
    break;
  case '?':
    if (value == NULL || (colon && empty)) {
      const char *why = "is not allowed to be empty";
      if (value == NULL)
        why = "is not allowed to be unset";
      return st_error_set(lx->err, EINVAL, "%s: %s", name,
                          word[0] ? word : why);
    }
    break;
  default:
    return st_error_set(lx->err, EINVAL,
                        "unsupported modifier (%c) in substitution", mod);
  }
  return st_buf_puts(out, res) < 0 ? oom(lx) : 0;
}

static int missing_brace(lexer *lx) {
  return st_error_set(lx->err, EINVAL, "syntax error: missing '}'");
}

/* The word of ${name<op>word}, up to the closing brace. As with Docker,
 * any error that leaves the text consumed is reported as the missing
 * brace. */
static int lex_word_in_braces(lexer *lx, st_buf *word) {
  cleanup_error st_error *inner = NULL;
  st_error **outer = lx->err;
  lx->err = &inner;
  int r = lex_word(lx, '}', word, NULL);
  lx->err = outer;
  if (r == 0)
    return 0;
  if (at_end(lx) || inner == NULL)
    return missing_brace(lx);
  if (outer && *outer == NULL)
    *outer = steal_pointer(&inner);
  return -1;
}

/* ${...}: the current position is just after "${". */
static int lex_braced(lexer *lx, st_buf *out) {
  char c = peek(lx);
  if (at_end(lx))
    return missing_brace(lx);
  if (c == '{' || c == '}' || c == ':')
    return st_error_set(lx->err, EINVAL, "syntax error: bad substitution");
  const char *name = lx->s + lx->pos;
  size_t n = scan_name(lx);
  if (at_end(lx))
    return missing_brace(lx);
  if (n == 0)
    return st_error_set(lx->err, EINVAL, "syntax error: bad substitution");
  cleanup_free char *key = NULL;
  const char *value;
  if (lookup(lx, name, n, &key, &value) < 0)
    return -1;
  c = lx->s[lx->pos++];
  if (c == '}')
    return value && st_buf_puts(out, value) < 0 ? oom(lx) : 0;
  bool colon = c == ':';
  char mod = c;
  if (colon) {
    if (at_end(lx))
      return missing_brace(lx);
    mod = lx->s[lx->pos++];
  }
  if (mod != '-' && mod != '+' && mod != '?')
    return st_error_set(lx->err, EINVAL,
                        "unsupported modifier (%c) in substitution", mod);
  cleanup_buf st_buf word = ST_BUF_INIT;
  if (lex_word_in_braces(lx, &word) < 0)
    return -1;
  return apply_op(lx, colon, mod, key, value, word.data ? word.data : "", out);
}

/* $name or ${...}: the current position is at the '$'. */
static int lex_dollar(lexer *lx, st_buf *out) {
  lx->pos++;
  if (peek(lx) != '{') {
    const char *name = lx->s + lx->pos;
    size_t n = scan_name(lx);
    if (n == 0)
      return st_buf_putc(out, '$') < 0 ? oom(lx) : 0;
    cleanup_free char *key = NULL;
    const char *value;
    if (lookup(lx, name, n, &key, &value) < 0)
      return -1;
    return value && st_buf_puts(out, value) < 0 ? oom(lx) : 0;
  }
  lx->pos++;
  if (++lx->depth > MAX_DEPTH)
    return st_error_set(lx->err, EINVAL,
                        "syntax error: substitutions nested too deeply");
  int r = lex_braced(lx, out);
  lx->depth--;
  return r;
}

/* Expands up to stop (not included; '\0': the end of the text) into out,
 * feeding w (may be NULL) for the split into words. */
static int lex_word(lexer *lx, char stop, st_buf *out, words *w) {
  while (!at_end(lx)) {
    char c = peek(lx);
    if (stop && c == stop) {
      lx->pos++;
      return 0;
    }
    if (c == '\'' || c == '"' || c == '$') {
      size_t mark = out->len;
      int r = c == '\''  ? lex_single(lx, out)
              : c == '"' ? lex_double(lx, out)
                         : lex_dollar(lx, out);
      if (r < 0)
        return -1;
      const char *added = out->data ? out->data + mark : "";
      r = c == '$' ? words_text(w, added, out->len - mark)
                   : words_raw(w, added, out->len - mark);
      if (r < 0)
        return oom(lx);
      continue;
    }
    lx->pos++;
    int r;
    if (c == lx->escape) {
      if (at_end(lx))
        break;
      c = lx->s[lx->pos++];
      r = words_raw(w, &c, 1);
    } else {
      r = words_text(w, &c, 1);
    }
    if (r < 0 || st_buf_putc(out, c) < 0)
      return oom(lx);
  }
  return stop ? missing_brace(lx) : 0;
}

static void lexer_init(lexer *lx, const st_expander *x, const char *text,
                       st_error **err) {
  *lx = (lexer){.x = x, .s = text, .len = strlen(text), .err = err};
  lx->escape = x->escape ? x->escape : '\\';
}

int st_expand_word(const st_expander *x, const char *word, char **out,
                   st_error **err) {
  *out = NULL;
  lexer lx;
  lexer_init(&lx, x, word, err);
  cleanup_buf st_buf res = ST_BUF_INIT;
  if (lex_word(&lx, '\0', &res, NULL) < 0)
    return -1;
  *out = st_buf_steal(&res);
  return *out ? 0 : oom(&lx);
}

int st_expand_words(const st_expander *x, const char *text, char ***words_out,
                    size_t *n, st_error **err) {
  *words_out = NULL;
  *n = 0;
  lexer lx;
  lexer_init(&lx, x, text, err);
  cleanup_buf st_buf res = ST_BUF_INIT;
  words w = {.word = ST_BUF_INIT};
  if (lex_word(&lx, '\0', &res, &w) < 0) {
    words_free(&w);
    return -1;
  }
  if ((w.word.len > 0 && words_push(&w) < 0) ||
      (w.list == NULL && (w.list = calloc(1, sizeof(char *))) == NULL)) {
    words_free(&w);
    return oom(&lx);
  }
  st_buf_free(&w.word);
  *words_out = w.list;
  *n = w.n;
  return 0;
}

bool st_expand_proxy_arg(const char *name) {
  static const char *const names[] = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY",
                                      "NO_PROXY", "ALL_PROXY"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcasecmp(names[i], name) == 0)
      return true;
  return false;
}
