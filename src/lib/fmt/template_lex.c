/* The template lexer: text runs, and the words inside {{...}} (with Go's
 * trim markers, comments, quoted strings and numbers).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "util/cleanup.h"

struct lexer {
  const char *s;
  size_t n, i;
  bool trim_next; /* the last action ended with " -}}" */
  bool space;     /* white space since the last token */
  int parens;
  struct token *toks;
  size_t ntoks, cap;
  st_error **err;
};

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* " -}}": a right delimiter that trims the white space after it. */
static bool at_right_trim(const char *p) {
  return is_space(p[0]) && p[1] == '-' && p[2] == '}' && p[3] == '}';
}

/* "{{- ": a left delimiter that trims the white space before it. */
static bool at_left_trim(const char *p) {
  return p[0] == '{' && p[1] == '{' && p[2] == '-' && is_space(p[3]);
}

static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int lex_error(struct lexer *lx, size_t pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_tpl_parse_errorv(lx->err, lx->s, pos, fmt, ap);
  va_end(ap);
  return r;
}

static struct token *emit(struct lexer *lx, enum tok_kind kind, size_t pos,
                          size_t end) {
  struct token *t = ST_TPL_VEC_PUSH(lx->toks, lx->ntoks, lx->cap);
  if (t == NULL) {
    st_tpl_oom_error(lx->err);
    return NULL;
  }
  t->kind = kind;
  t->at = (struct span){pos, end};
  t->space = lx->space;
  lx->space = false;
  return t;
}

/* Text up to the next "{{", trimmed by the markers on either side. */
static int lex_text(struct lexer *lx) {
  const char *open = strstr(lx->s + lx->i, "{{");
  size_t start = lx->i, end = open ? (size_t)(open - lx->s) : lx->n;
  size_t text_end = end;
  if (lx->trim_next)
    while (start < end && is_space(lx->s[start]))
      start++;
  lx->trim_next = false;
  if (open && at_left_trim(open))
    while (text_end > start && is_space(lx->s[text_end - 1]))
      text_end--;
  lx->i = end;
  if (text_end > start && !emit(lx, TK_TEXT, start, text_end))
    return -1;
  return 0;
}

/* A comment must be followed by the closing delimiter. */
static int lex_comment(struct lexer *lx, size_t open) {
  const char *close = strstr(lx->s + lx->i + 2, "*/");
  if (close == NULL)
    return lex_error(lx, open, "unclosed comment");
  size_t j = (size_t)(close - lx->s) + 2;
  if (at_right_trim(lx->s + j)) {
    lx->trim_next = true;
    lx->i = j + 4;
  } else if (lx->s[j] == '}' && lx->s[j + 1] == '}') {
    lx->i = j + 2;
  } else {
    return lex_error(lx, open, "comment ends before closing delimiter");
  }
  return 0;
}

/* Go's strconv.Unquote escapes: \a \b \f \n \r \t \v \\ \" \xHH \ooo
 * \uHHHH \UHHHHHHHH. Returns the byte count consumed after the backslash,
 * or 0 for an invalid escape. */
static size_t unescape(const char *p, struct sink *out) {
  static const char simple_from[] = "abfnrtv\\\"";
  static const char simple_to[] = "\a\b\f\n\r\t\v\\\"";
  const char *hit = *p ? strchr(simple_from, *p) : NULL;
  if (hit) {
    st_tpl_put_char(out, simple_to[hit - simple_from]);
    return 1;
  }
  int digits = *p == 'x' ? 2 : *p == 'u' ? 4 : *p == 'U' ? 8 : 0;
  int base = 16;
  const char *q = p + 1;
  if (*p >= '0' && *p <= '7') {
    digits = 3;
    base = 8;
    q = p;
  }
  if (digits == 0)
    return 0;
  uint32_t v = 0;
  for (int i = 0; i < digits; i++) {
    char c = q[i];
    int d = st_tpl_is_digit(c)       ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    if (d >= base)
      return 0;
    v = v * (uint32_t)base + (uint32_t)d;
  }
  if (*p == 'x' || base == 8) {
    if (v > 255)
      return 0;
    st_tpl_put_char(out, (char)v);
  } else {
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    char buf[4];
    st_tpl_put(out, buf, st_tpl_utf8_encode(v, buf));
  }
  return (size_t)(q - p) + (size_t)digits;
}

static int lex_quote(struct lexer *lx) {
  size_t start = lx->i, i = start + 1;
  for (; lx->s[i] != '"'; i++) {
    if (lx->s[i] == '\\' && lx->s[i + 1] != '\0' && lx->s[i + 1] != '\n')
      i++;
    else if (lx->s[i] == '\0' || lx->s[i] == '\n' || lx->s[i] == '\\')
      return lex_error(lx, start, "unterminated quoted string");
  }
  lx->i = i + 1;
  st_buf b = ST_BUF_INIT;
  struct sink out = {&b, false};
  for (size_t j = start + 1; j < i;) {
    if (lx->s[j] != '\\') {
      st_tpl_put_char(&out, lx->s[j++]);
      continue;
    }
    size_t used = unescape(lx->s + j + 1, &out);
    if (used == 0) {
      st_buf_free(&b);
      return lex_error(lx, start, "invalid syntax");
    }
    j += 1 + used;
  }
  struct token *t = out.failed ? NULL : emit(lx, TK_STRING, start, lx->i);
  if (t == NULL) {
    st_buf_free(&b);
    return out.failed ? st_tpl_oom_error(lx->err) : -1;
  }
  t->len = b.len;
  t->str = st_buf_steal(&b);
  return t->str ? 0 : st_tpl_oom_error(lx->err);
}

/* `raw` strings: no escapes; carriage returns are dropped, as in Go. */
static int lex_raw(struct lexer *lx) {
  size_t start = lx->i;
  const char *close = strchr(lx->s + start + 1, '`');
  if (close == NULL)
    return lex_error(lx, start, "unterminated raw quoted string");
  lx->i = (size_t)(close - lx->s) + 1;
  struct token *t = emit(lx, TK_STRING, start, lx->i);
  if (t == NULL)
    return -1;
  t->str = malloc((size_t)(close - lx->s) - start);
  if (t->str == NULL)
    return st_tpl_oom_error(lx->err);
  for (const char *p = lx->s + start + 1; p < close; p++)
    if (*p != '\r')
      t->str[t->len++] = *p;
  t->str[t->len] = '\0';
  return 0;
}

/* What may follow a word: Go's atTerminator. */
static bool at_terminator(const char *p) {
  return *p == '\0' || is_space(*p) || strchr(".,|:()", *p) ||
         (p[0] == '}' && p[1] == '}');
}

static int bad_char(struct lexer *lx, size_t pos) {
  unsigned char c = (unsigned char)lx->s[pos];
  if (c >= 0x20 && c < 0x7F)
    return lex_error(lx, pos, "bad character U+%04X '%c'", c, c);
  return lex_error(lx, pos, "bad character U+%04X", c);
}

/* .Field, $var, identifier or keyword, starting at lx->i. */
static int lex_word(struct lexer *lx) {
  static const char *const keywords[] = {
      "if",    "else",     "end",    "range",    "with",
      "break", "continue", "define", "template", "block"};
  size_t start = lx->i, i = start;
  if (lx->s[i] == '.' || lx->s[i] == '$')
    i++;
  while (st_tpl_is_alnum(lx->s[i]))
    i++;
  if (!at_terminator(lx->s + i))
    return bad_char(lx, i);
  lx->i = i;
  const char *w = lx->s + start;
  size_t len = i - start;
  enum tok_kind kind = TK_IDENT;
  if (w[0] == '$')
    kind = TK_VAR;
  else if (w[0] == '.')
    kind = len == 1 ? TK_DOT : TK_FIELD;
  else if ((len == 4 && !memcmp(w, "true", 4)) ||
           (len == 5 && !memcmp(w, "false", 5)))
    kind = TK_BOOL;
  else if (len == 3 && !memcmp(w, "nil", 3))
    kind = TK_NIL;
  for (size_t k = 0;
       kind == TK_IDENT && k < sizeof(keywords) / sizeof(*keywords); k++)
    if (strlen(keywords[k]) == len && !memcmp(w, keywords[k], len))
      kind = TK_KEYWORD;
  return emit(lx, kind, start, i) ? 0 : -1;
}

/* Go's number syntax, decimal and hex (checked again when parsed). */
static int lex_number(struct lexer *lx) {
  const char *s = lx->s;
  size_t start = lx->i, i = start;
  if (s[i] == '+' || s[i] == '-')
    i++;
  if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    for (i += 2; s[i] && strchr("0123456789abcdefABCDEF_", s[i]);)
      i++;
  } else {
    while (st_tpl_is_digit(s[i]) || s[i] == '_')
      i++;
    if (s[i] == '.')
      for (i++; st_tpl_is_digit(s[i]) || s[i] == '_';)
        i++;
    if (s[i] == 'e' || s[i] == 'E') {
      i++;
      if (s[i] == '+' || s[i] == '-')
        i++;
      while (st_tpl_is_digit(s[i]))
        i++;
    }
  }
  if (st_tpl_is_alnum(s[i]) || s[i] == '.')
    return lex_error(lx, start, "bad number syntax: \"%.*s\"",
                     (int)(i + 1 - start), s + start);
  lx->i = i;
  return emit(lx, TK_NUMBER, start, i) ? 0 : -1;
}

static bool starts_number(const char *p) {
  if (*p == '+' || *p == '-')
    p++;
  return st_tpl_is_digit(*p) || (*p == '.' && st_tpl_is_digit(p[1]));
}

static int lex_punct(struct lexer *lx, enum tok_kind kind, size_t len) {
  size_t start = lx->i;
  lx->i += len;
  return emit(lx, kind, start, lx->i) ? 0 : -1;
}

static int lex_paren(struct lexer *lx, bool open) {
  if (!open && lx->parens == 0)
    return lex_error(lx, lx->i, "unexpected right paren");
  lx->parens += open ? 1 : -1;
  return lex_punct(lx, open ? TK_LPAREN : TK_RPAREN, 1);
}

/* Go lexes other printable ASCII as a character item that the parser then
 * rejects; anything else is refused by the lexer. */
static int lex_unrecognized(struct lexer *lx) {
  unsigned char c = (unsigned char)lx->s[lx->i];
  if (c >= 0x20 && c < 0x7F)
    return lex_error(lx, lx->i, "unexpected \"%c\" in command", c);
  return lex_error(lx, lx->i, "unrecognized character in action: U+%04X", c);
}

/* One token inside an action. Returns 1 once the action is closed. */
static int lex_inside(struct lexer *lx, size_t open) {
  const char *p = lx->s + lx->i;
  if (*p == '\0')
    return lex_error(lx, open, "unclosed action");
  bool trim = at_right_trim(p);
  if (trim || (p[0] == '}' && p[1] == '}')) {
    if (lx->parens > 0)
      return lex_error(lx, lx->i, "unclosed left paren");
    lx->trim_next = trim;
    return lex_punct(lx, TK_RIGHT, trim ? 4 : 2) < 0 ? -1 : 1;
  }
  if (is_space(*p)) {
    while (is_space(lx->s[lx->i]) && !at_right_trim(lx->s + lx->i))
      lx->i++;
    lx->space = true;
    return 0;
  }
  switch (*p) {
  case '|':
    return lex_punct(lx, TK_PIPE, 1);
  case ',':
    return lex_punct(lx, TK_COMMA, 1);
  case '=':
    return lex_punct(lx, TK_ASSIGN, 1);
  case ':':
    if (p[1] != '=')
      return lex_error(lx, lx->i, "expected :=");
    return lex_punct(lx, TK_DECLARE, 2);
  case '(':
  case ')':
    return lex_paren(lx, *p == '(');
  case '"':
    return lex_quote(lx);
  case '`':
    return lex_raw(lx);
  default:
    break;
  }
  if (starts_number(p))
    return lex_number(lx);
  if (*p == '.' || *p == '$' || st_tpl_is_alpha(*p))
    return lex_word(lx);
  return lex_unrecognized(lx);
}

static int lex_action(struct lexer *lx) {
  size_t open = lx->i;
  lx->i += at_left_trim(lx->s + open) ? 4 : 2;
  if (lx->s[lx->i] == '/' && lx->s[lx->i + 1] == '*')
    return lex_comment(lx, open);
  lx->space = false;
  lx->parens = 0;
  if (!emit(lx, TK_LEFT, open, open + 2))
    return -1;
  for (;;) {
    int rc = lex_inside(lx, open);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
}

/* Cuts src into tokens ending with TK_EOF. */
static int lex_all(struct lexer *lx) {
  while (lx->i < lx->n) {
    if (lex_text(lx) < 0)
      return -1;
    if (lx->i < lx->n && lex_action(lx) < 0)
      return -1;
  }
  return emit(lx, TK_EOF, lx->n, lx->n) ? 0 : -1;
}

int st_tpl_lex(const char *src, struct token **toks, size_t *ntoks,
               st_error **err) {
  struct lexer lx = {.s = src, .n = strlen(src), .err = err};
  if (lex_all(&lx) < 0) {
    st_tpl_free_tokens(lx.toks, lx.ntoks);
    return -1;
  }
  *toks = lx.toks;
  *ntoks = lx.ntoks;
  return 0;
}

void st_tpl_free_tokens(struct token *toks, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(toks[i].str);
  free(toks);
}
