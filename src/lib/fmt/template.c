/* Go text/template for `--format`, over jansson values.
 *
 * The text is first cut into tokens (text runs and the words inside
 * {{...}}), then parsed into a list of nodes (text, action, if, range,
 * with, break, continue) whose actions hold pipelines of commands, and the
 * executor walks that list. Values during execution are json_t references;
 * NULL stands for Go's "no value" (a missing object field), which is not
 * the same as JSON null (Go's nil, printed "<nil>").
 */
#include "fmt/template.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

/* ==== output with a sticky out-of-memory flag ========================= */

/* Printing code appends without checking each call; whoever owns the sink
 * checks `failed` once at the end of a step. */
struct sink {
  st_buf *buf;
  bool failed;
};

static void put(struct sink *s, const char *p, size_t n) {
  if (!s->failed && n > 0 && st_buf_append(s->buf, p, n) < 0)
    s->failed = true;
}

static void put_str(struct sink *s, const char *p) {
  put(s, p, strlen(p));
}

static void put_char(struct sink *s, char c) {
  put(s, &c, 1);
}

static void put_fmt(struct sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put_fmt(struct sink *s, const char *fmt, ...) {
  if (s->failed)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (st_buf_vprintf(s->buf, fmt, ap) < 0)
    s->failed = true;
  va_end(ap);
}

static void put_repeat(struct sink *s, char c, json_int_t n) {
  for (; n > 0; n--)
    put_char(s, c);
}

/* ==== UTF-8 =========================================================== */

/* Decodes one sequence at s (n > 0 bytes left) as Go does: an invalid or
 * truncated sequence is U+FFFD and consumes one byte. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *r) {
  static const uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
  *r = 0xFFFD;
  if (len == 0 || len > n)
    return 1;
  if (len == 1) {
    *r = s[0];
    return 1;
  }
  uint32_t v = s[0] & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 1;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min_of_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 1;
  *r = v;
  return len;
}

/* Writes r as UTF-8 into out (4 bytes room); returns the length. */
static size_t utf8_encode(uint32_t r, char *out) {
  if (r < 0x80) {
    out[0] = (char)r;
    return 1;
  }
  if (r < 0x800) {
    out[0] = (char)(0xC0 | (r >> 6));
    out[1] = (char)(0x80 | (r & 0x3F));
    return 2;
  }
  if (r < 0x10000) {
    out[0] = (char)(0xE0 | (r >> 12));
    out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
    out[2] = (char)(0x80 | (r & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (r >> 18));
  out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
  out[3] = (char)(0x80 | (r & 0x3F));
  return 4;
}

static size_t utf8_count(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; count++) {
    uint32_t r;
    i += utf8_decode((const unsigned char *)s + i, n - i, &r);
  }
  return count;
}

/* ==== Go's float64 formatting ========================================= */

/* The shortest decimal digits that read back as v (finite, > 0), as Go's
 * strconv does: v = 0.d[0]d[1]...d[nd-1] x 10^dp. */
struct digits {
  char d[24];
  int nd;
  int dp;
};

static void shortest_digits(double v, struct digits *out) {
  char buf[48];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  out->nd = 0;
  const char *p = buf;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9')
      out->d[out->nd++] = *p;
  int exp = *p == 'e' ? atoi(p + 1) : 0;
  while (out->nd > 1 && out->d[out->nd - 1] == '0')
    out->nd--;
  out->dp = exp + 1;
}

/* %e shape with the digits: "1.5e+06" (exponent of at least two digits). */
static void put_digits_exp(struct sink *s, const struct digits *d) {
  put_char(s, d->d[0]);
  if (d->nd > 1) {
    put_char(s, '.');
    put(s, d->d + 1, (size_t)d->nd - 1);
  }
  int exp = d->dp - 1;
  put_fmt(s, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* %f shape with exactly the digits: "0.0001", "123.5", "100000". */
static void put_digits_fixed(struct sink *s, const struct digits *d) {
  if (d->dp <= 0) {
    put_str(s, "0.");
    put_repeat(s, '0', -d->dp);
    put(s, d->d, (size_t)d->nd);
  } else if (d->dp >= d->nd) {
    put(s, d->d, (size_t)d->nd);
    put_repeat(s, '0', d->dp - d->nd);
  } else {
    put(s, d->d, (size_t)d->dp);
    put_char(s, '.');
    put(s, d->d + d->dp, (size_t)(d->nd - d->dp));
  }
}

/* Handles 0, NaN and infinities; returns false for other numbers (after
 * writing the sign of negative ones). */
static bool put_float_special(struct sink *s, double v) {
  if (isnan(v)) {
    put_str(s, "NaN");
    return true;
  }
  if (isinf(v)) {
    put_str(s, v > 0 ? "+Inf" : "-Inf");
    return true;
  }
  if (signbit(v))
    put_char(s, '-');
  if (v == 0) {
    put_char(s, '0');
    return true;
  }
  return false;
}

/* fmt's %v for float64 (strconv 'g' with the shortest digits): exponent
 * form when the exponent is < -4 or >= 6, since strconv decides with
 * precision 6 for shortest output ("1e+06", "123456", "1e-05"). */
static void put_float_v(struct sink *s, double v) {
  if (put_float_special(s, v))
    return;
  struct digits d;
  shortest_digits(v < 0 ? -v : v, &d);
  int exp = d.dp - 1;
  if (exp < -4 || exp >= 6)
    put_digits_exp(s, &d);
  else
    put_digits_fixed(s, &d);
}

/* encoding/json for float64: fixed notation unless < 1e-6 or >= 1e21, and
 * then "1e-7" rather than "1e-07". */
static void put_float_json(struct sink *s, double v) {
  if (put_float_special(s, v))
    return;
  struct digits d;
  double a = v < 0 ? -v : v;
  shortest_digits(a, &d);
  if (a >= 1e-6 && a < 1e21) {
    put_digits_fixed(s, &d);
    return;
  }
  put_char(s, d.d[0]);
  if (d.nd > 1) {
    put_char(s, '.');
    put(s, d.d + 1, (size_t)d.nd - 1);
  }
  int exp = d.dp - 1;
  put_fmt(s, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* ==== %v and JSON ===================================================== */

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj in Go's map order (sorted bytewise); borrowed pointers
 * in a heap array, NULL when out of memory (or when obj is empty). */
static const char **sorted_keys(json_t *obj, size_t *n) {
  *n = json_object_size(obj);
  if (*n == 0)
    return NULL;
  const char **keys = calloc(*n, sizeof(*keys));
  if (keys == NULL)
    return NULL;
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    keys[i++] = k;
  }
  qsort(keys, *n, sizeof(*keys), cmp_keys);
  return keys;
}

static void put_value(struct sink *s, json_t *v);

static void put_map(struct sink *s, json_t *obj) {
  size_t n;
  cleanup_free const char **keys = sorted_keys(obj, &n);
  if (n > 0 && keys == NULL) {
    s->failed = true;
    return;
  }
  put_str(s, "map[");
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      put_char(s, ' ');
    put_str(s, keys[i]);
    put_char(s, ':');
    put_value(s, json_object_get(obj, keys[i]));
  }
  put_char(s, ']');
}

/* Go's fmt %v of the value encoding/json would decode v into. */
static void put_value(struct sink *s, json_t *v) {
  size_t i;
  json_t *e;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    put_map(s, v);
    break;
  case JSON_ARRAY:
    put_char(s, '[');
    json_array_foreach(v, i, e) {
      if (i > 0)
        put_char(s, ' ');
      put_value(s, e);
    }
    put_char(s, ']');
    break;
  case JSON_STRING:
    put(s, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    put_fmt(s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    break;
  case JSON_REAL:
    put_float_v(s, json_real_value(v));
    break;
  case JSON_TRUE:
    put_str(s, "true");
    break;
  case JSON_FALSE:
    put_str(s, "false");
    break;
  case JSON_NULL:
  default:
    put_str(s, "<nil>");
    break;
  }
}

/* What an action prints: like %v, and "<no value>" for a missing value. */
static void put_result(struct sink *s, json_t *v) {
  if (v == NULL)
    put_str(s, "<no value>");
  else
    put_value(s, v);
}

/* encoding/json string escaping with SetEscapeHTML(false), as Docker's
 * json function: <, >, & stay; control characters, U+2028, U+2029 and
 * invalid UTF-8 (as \ufffd) are escaped. */
static void put_json_string(struct sink *s, const char *str, size_t n) {
  const unsigned char *p = (const unsigned char *)str;
  put_char(s, '"');
  for (size_t i = 0; i < n;) {
    uint32_t r;
    size_t len = utf8_decode(p + i, n - i, &r);
    if (r == 0xFFFD && len == 1 && p[i] >= 0x80)
      put_str(s, "\\ufffd");
    else if (r == 0x2028 || r == 0x2029)
      put_fmt(s, "\\u%04x", (unsigned)r);
    else if (r == '"' || r == '\\') {
      put_char(s, '\\');
      put_char(s, (char)r);
    } else if (r < 0x20) {
      static const char short_esc[] = "btn\0fr";
      if (r >= '\b' && r <= '\r' && r != '\v')
        put_fmt(s, "\\%c", short_esc[r - '\b']);
      else
        put_fmt(s, "\\u%04x", (unsigned)r);
    } else {
      put(s, str + i, len);
    }
    i += len;
  }
  put_char(s, '"');
}

static void put_json(struct sink *s, json_t *v) {
  const char *k;
  size_t i;
  json_t *e;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    put_char(s, '{');
    i = 0;
    json_object_foreach(v, k, e) {
      if (i++ > 0)
        put_char(s, ',');
      put_json_string(s, k, strlen(k));
      put_char(s, ':');
      put_json(s, e);
    }
    put_char(s, '}');
    break;
  case JSON_ARRAY:
    put_char(s, '[');
    json_array_foreach(v, i, e) {
      if (i > 0)
        put_char(s, ',');
      put_json(s, e);
    }
    put_char(s, ']');
    break;
  case JSON_STRING:
    put_json_string(s, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
  case JSON_REAL:
  case JSON_TRUE:
  case JSON_FALSE:
    /* as %v, except for encoding/json's float form */
    if (json_is_real(v))
      put_float_json(s, json_real_value(v));
    else
      put_value(s, v);
    break;
  case JSON_NULL:
  default:
    put_str(s, "null");
    break;
  }
}

/* ==== template structure ============================================== */

struct span {
  size_t pos, end; /* bytes of the template text */
};

struct func_def;
struct pipe;

enum arg_kind {
  ARG_DOT,
  ARG_FIELD, /* .A.B: the field chain applied to dot */
  ARG_VAR,   /* $x or $ (with an optional chain) */
  ARG_STRING,
  ARG_INT,
  ARG_REAL,
  ARG_BOOL,
  ARG_NIL,
  ARG_FUNC, /* a function name */
  ARG_PIPE, /* (pipeline), with an optional chain */
};

struct arg {
  enum arg_kind kind;
  struct span at;
  char *str; /* ARG_STRING value, ARG_VAR name */
  size_t len;
  json_int_t ival;
  double rval;
  bool bval;
  const struct func_def *fn;
  char **fields; /* field chain applied to the term's value */
  size_t nfields;
  struct pipe *pipe;
};

struct cmd {
  struct arg *args;
  size_t nargs, cap;
  struct span at;
};

struct pipe {
  struct span at;
  char **decl; /* declared or assigned variables */
  size_t ndecl;
  bool assign; /* "=" rather than ":=" */
  struct cmd *cmds;
  size_t ncmds, cap;
};

enum node_kind {
  NODE_TEXT,
  NODE_ACTION,
  NODE_IF,
  NODE_RANGE,
  NODE_WITH,
  NODE_BREAK,
  NODE_CONTINUE,
};

struct node;

struct list {
  struct node *items;
  size_t n, cap;
};

struct node {
  enum node_kind kind;
  struct span at; /* NODE_TEXT: the text to print */
  struct pipe *pipe;
  struct list body, else_body;
};

struct st_template {
  char *src; /* the text parsed, which spans point into */
  bool table;
  struct list root;
};

/* Makes room for one more element of size elem in *items (count *n,
 * capacity *cap) and returns it zeroed; NULL when out of memory. */
static void *vec_push(void **items, size_t *n, size_t *cap, size_t elem) {
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 4;
    void *p = realloc(*items, c * elem);
    if (p == NULL)
      return NULL;
    *items = p;
    *cap = c;
  }
  void *slot = (char *)*items + (*n)++ * elem;
  memset(slot, 0, elem);
  return slot;
}
#define VEC_PUSH(v, n, cap) vec_push((void **)&(v), &(n), &(cap), sizeof(*(v)))

/* Appends s (owned) to the string vector *v of *n items; -1 when out of
 * memory (s is then freed). */
static int strv_add(char ***v, size_t *n, char *s) {
  char **p = s ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
  if (p == NULL) {
    free(s);
    return -1;
  }
  p[(*n)++] = s;
  *v = p;
  return 0;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void free_pipe(struct pipe *p);

static void free_arg(struct arg *a) {
  free(a->str);
  strv_free(a->fields, a->nfields);
  free_pipe(a->pipe);
}

static void free_pipe(struct pipe *p) {
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->ncmds; i++) {
    for (size_t j = 0; j < p->cmds[i].nargs; j++)
      free_arg(&p->cmds[i].args[j]);
    free(p->cmds[i].args);
  }
  free(p->cmds);
  strv_free(p->decl, p->ndecl);
  free(p);
}

static void free_list(struct list *l);

static void free_node(struct node *n) {
  free_pipe(n->pipe);
  free_list(&n->body);
  free_list(&n->else_body);
}

static void free_list(struct list *l) {
  for (size_t i = 0; i < l->n; i++)
    free_node(&l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

/* ==== errors ========================================================== */

static int line_of(const char *src, size_t pos) {
  int line = 1;
  for (size_t i = 0; i < pos && src[i]; i++)
    line += src[i] == '\n';
  return line;
}

static size_t col_of(const char *src, size_t pos) {
  size_t start = pos;
  while (start > 0 && src[start - 1] != '\n')
    start--;
  return pos - start;
}

static int oom_error(st_error **err) {
  return st_error_set(err, ENOMEM, "out of memory");
}

/* "template: :LINE: msg", Go's parse error form. */
static int parse_error(st_error **err, const char *src, size_t pos,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int parse_error(st_error **err, const char *src, size_t pos,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg = NULL;
    return oom_error(err);
  }
  return st_error_set(err, EINVAL, "template: :%d: %s", line_of(src, pos), msg);
}

/* ==== lexer =========================================================== */

enum tok_kind {
  TK_TEXT,
  TK_LEFT,
  TK_RIGHT,
  TK_DOT,
  TK_FIELD,
  TK_VAR,
  TK_IDENT,
  TK_KEYWORD,
  TK_STRING,
  TK_NUMBER,
  TK_BOOL,
  TK_NIL,
  TK_PIPE,
  TK_LPAREN,
  TK_RPAREN,
  TK_DECLARE,
  TK_ASSIGN,
  TK_COMMA,
  TK_EOF,
};

struct token {
  enum tok_kind kind;
  struct span at;
  bool space; /* white space came right before it */
  char *str;  /* TK_STRING: the decoded value (owned) */
  size_t len;
};

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

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
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
  cleanup_free char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg = NULL;
    return oom_error(lx->err);
  }
  return parse_error(lx->err, lx->s, pos, "%s", msg);
}

static struct token *emit(struct lexer *lx, enum tok_kind kind, size_t pos,
                          size_t end) {
  struct token *t = VEC_PUSH(lx->toks, lx->ntoks, lx->cap);
  if (t == NULL) {
    oom_error(lx->err);
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
    put_char(out, simple_to[hit - simple_from]);
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
    int d = is_digit(c)              ? c - '0'
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
    put_char(out, (char)v);
  } else {
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    char buf[4];
    put(out, buf, utf8_encode(v, buf));
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
      put_char(&out, lx->s[j++]);
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
    return out.failed ? oom_error(lx->err) : -1;
  }
  t->len = b.len;
  t->str = st_buf_steal(&b);
  return t->str ? 0 : oom_error(lx->err);
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
    return oom_error(lx->err);
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
  while (is_alnum(lx->s[i]))
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
    while (is_digit(s[i]) || s[i] == '_')
      i++;
    if (s[i] == '.')
      for (i++; is_digit(s[i]) || s[i] == '_';)
        i++;
    if (s[i] == 'e' || s[i] == 'E') {
      i++;
      if (s[i] == '+' || s[i] == '-')
        i++;
      while (is_digit(s[i]))
        i++;
    }
  }
  if (is_alnum(s[i]) || s[i] == '.')
    return lex_error(lx, start, "bad number syntax: \"%.*s\"",
                     (int)(i + 1 - start), s + start);
  lx->i = i;
  return emit(lx, TK_NUMBER, start, i) ? 0 : -1;
}

static bool starts_number(const char *p) {
  if (*p == '+' || *p == '-')
    p++;
  return is_digit(*p) || (*p == '.' && is_digit(p[1]));
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
  if (*p == '.' || *p == '$' || is_alpha(*p))
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

static void free_tokens(struct token *toks, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(toks[i].str);
  free(toks);
}

/* ==== parser ========================================================== */

/* Deeper nesting of parentheses or control structures is refused, so that
 * hostile input cannot exhaust the stack. */
#define MAX_DEPTH 200

static const struct func_def *find_func(const char *name, size_t len);

struct parser {
  const char *src;
  struct token *toks; /* ends with TK_EOF */
  size_t i;
  const char **vars; /* variables in scope, for "undefined variable" */
  size_t nvars, cap_vars;
  int range_depth; /* {{break}} and {{continue}} need one */
  int depth;
  st_error **err;
};

static struct token *peek(struct parser *p) {
  return &p->toks[p->i];
}

static struct token *peek2(struct parser *p) {
  return p->toks[p->i].kind == TK_EOF ? &p->toks[p->i] : &p->toks[p->i + 1];
}

static struct token *next_tok(struct parser *p) {
  struct token *t = &p->toks[p->i];
  if (t->kind != TK_EOF)
    p->i++;
  return t;
}

static bool tok_is(const struct parser *p, const struct token *t,
                   enum tok_kind kind, const char *word) {
  size_t len = t->at.end - t->at.pos;
  return t->kind == kind && strlen(word) == len &&
         !memcmp(p->src + t->at.pos, word, len);
}

static int perr(struct parser *p, const struct token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, const struct token *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg = NULL;
    return oom_error(p->err);
  }
  return parse_error(p->err, p->src, t->at.pos, "%s", msg);
}

/* Go's description of a token in "unexpected X" messages. */
static int unexpected(struct parser *p, const struct token *t,
                      const char *where) {
  int len = (int)(t->at.end - t->at.pos);
  const char *text = p->src + t->at.pos;
  if (t->kind == TK_EOF)
    return perr(p, t, "unexpected EOF in %s", where);
  if (t->kind == TK_KEYWORD)
    return perr(p, t, "unexpected <%.*s> in %s", len, text, where);
  if (t->kind == TK_RIGHT)
    return perr(p, t, "unexpected \"}}\" in %s", where);
  return perr(p, t, "unexpected \"%.*s\" in %s", len, text, where);
}

static bool var_defined(const struct parser *p, const char *name, size_t len) {
  for (size_t i = p->nvars; i-- > 0;)
    if (strlen(p->vars[i]) == len && !memcmp(p->vars[i], name, len))
      return true;
  return false;
}

static int declare_var(struct parser *p, const char *name) {
  const char **slot = VEC_PUSH(p->vars, p->nvars, p->cap_vars);
  if (slot == NULL)
    return oom_error(p->err);
  *slot = name;
  return 0;
}

static char *tok_text(const struct parser *p, const struct token *t,
                      size_t skip) {
  return strndup(p->src + t->at.pos + skip, t->at.end - t->at.pos - skip);
}

/* Integer (decimal, hex, or octal with a leading 0) or float literal. */
static int parse_number(struct parser *p, const struct token *t,
                        struct arg *a) {
  char buf[80];
  size_t n = 0;
  for (size_t i = t->at.pos; i < t->at.end; i++)
    if (p->src[i] != '_' && n < sizeof(buf) - 1)
      buf[n++] = p->src[i];
  buf[n] = '\0';
  bool hex = strchr(buf, 'x') || strchr(buf, 'X');
  char *end = NULL;
  errno = 0;
  if (!hex && strpbrk(buf, ".eE")) {
    a->kind = ARG_REAL;
    a->rval = strtod(buf, &end);
  } else {
    a->kind = ARG_INT;
    a->ival = strtoll(buf, &end, 0);
  }
  if (*end != '\0' || n == 0)
    return perr(p, t, "illegal number syntax: \"%s\"", buf);
  if (errno == ERANGE)
    return perr(p, t, "%s overflow: \"%s\"",
                a->kind == ARG_INT ? "integer" : "float", buf);
  return 0;
}

static int parse_pipeline(struct parser *p, struct pipe *pipe, const char *ctx,
                          enum tok_kind end);

static int parse_var_term(struct parser *p, struct token *t, struct arg *a) {
  const char *name = p->src + t->at.pos;
  size_t len = t->at.end - t->at.pos;
  if (!var_defined(p, name, len))
    return perr(p, t, "undefined variable \"%.*s\"", (int)len, name);
  a->kind = ARG_VAR;
  a->str = tok_text(p, t, 0);
  return a->str ? 0 : oom_error(p->err);
}

static int parse_paren_term(struct parser *p, struct arg *a) {
  a->kind = ARG_PIPE;
  a->pipe = calloc(1, sizeof(*a->pipe));
  if (a->pipe == NULL)
    return oom_error(p->err);
  if (parse_pipeline(p, a->pipe, "parenthesized pipeline", TK_RPAREN) < 0)
    return -1;
  a->at.end = p->toks[p->i - 1].at.end;
  return 0;
}

static int parse_term(struct parser *p, struct arg *a) {
  struct token *t = next_tok(p);
  a->at = t->at;
  size_t len = t->at.end - t->at.pos;
  switch (t->kind) {
  case TK_IDENT:
    a->kind = ARG_FUNC;
    a->fn = find_func(p->src + t->at.pos, len);
    if (a->fn == NULL)
      return perr(p, t, "function \"%.*s\" not defined", (int)len,
                  p->src + t->at.pos);
    return 0;
  case TK_DOT:
    a->kind = ARG_DOT;
    return 0;
  case TK_NIL:
    a->kind = ARG_NIL;
    return 0;
  case TK_BOOL:
    a->kind = ARG_BOOL;
    a->bval = p->src[t->at.pos] == 't';
    return 0;
  case TK_NUMBER:
    return parse_number(p, t, a);
  case TK_STRING:
    a->kind = ARG_STRING;
    a->str = t->str;
    a->len = t->len;
    t->str = NULL;
    return 0;
  case TK_VAR:
    return parse_var_term(p, t, a);
  case TK_FIELD:
    a->kind = ARG_FIELD;
    return strv_add(&a->fields, &a->nfields, tok_text(p, t, 1)) < 0
               ? oom_error(p->err)
               : 0;
  case TK_LPAREN:
    return parse_paren_term(p, a);
  case TK_TEXT:
  case TK_LEFT:
  case TK_RIGHT:
  case TK_KEYWORD:
  case TK_PIPE:
  case TK_RPAREN:
  case TK_DECLARE:
  case TK_ASSIGN:
  case TK_COMMA:
  case TK_EOF:
  default:
    return unexpected(p, t, "operand");
  }
}

/* A term and the fields chained to it without white space: .A.B, $x.A,
 * (pipeline).A. */
static int parse_operand(struct parser *p, struct arg *a) {
  if (parse_term(p, a) < 0)
    return -1;
  while (peek(p)->kind == TK_FIELD && !peek(p)->space) {
    struct token *t = next_tok(p);
    if (a->kind != ARG_FIELD && a->kind != ARG_VAR && a->kind != ARG_PIPE)
      return perr(p, t, "unexpected . after term \"%.*s\"",
                  (int)(a->at.end - a->at.pos), p->src + a->at.pos);
    if (strv_add(&a->fields, &a->nfields, tok_text(p, t, 1)) < 0)
      return oom_error(p->err);
    a->at.end = t->at.end;
  }
  return 0;
}

static int parse_command(struct parser *p, struct cmd *c, enum tok_kind end) {
  c->at.pos = peek(p)->at.pos;
  for (;;) {
    struct token *t = peek(p);
    if (t->kind == TK_PIPE || t->kind == end)
      break;
    if (t->kind == TK_RIGHT || t->kind == TK_RPAREN || t->kind == TK_EOF)
      return unexpected(p, t, "command");
    struct arg *a = VEC_PUSH(c->args, c->nargs, c->cap);
    if (a == NULL)
      return oom_error(p->err);
    if (parse_operand(p, a) < 0)
      return -1;
  }
  if (c->nargs == 0)
    return perr(p, peek(p), "missing value for command");
  c->at.end = c->args[c->nargs - 1].at.end;
  return 0;
}

static int add_decl(struct parser *p, struct pipe *pipe, struct token *t) {
  size_t len = t->at.end - t->at.pos;
  if (pipe->assign && !var_defined(p, p->src + t->at.pos, len))
    return perr(p, t, "undefined variable \"%.*s\"", (int)len,
                p->src + t->at.pos);
  if (strv_add(&pipe->decl, &pipe->ndecl, tok_text(p, t, 0)) < 0)
    return oom_error(p->err);
  return pipe->assign ? 0 : declare_var(p, pipe->decl[pipe->ndecl - 1]);
}

/* "$x :=", "$x =" or, in range, "$i, $e :=" at the start of a pipeline;
 * nothing is consumed when there is none. */
static int parse_decl(struct parser *p, struct pipe *pipe, const char *ctx) {
  struct token *v = peek(p), *op = peek2(p);
  if (v->kind != TK_VAR)
    return 0;
  if (op->kind == TK_COMMA) {
    if (strcmp(ctx, "range") != 0)
      return perr(p, op, "too many declarations in %s", ctx);
    struct token *v2 = &p->toks[p->i + 2];
    struct token *op2 = v2->kind == TK_EOF ? v2 : &p->toks[p->i + 3];
    if (v2->kind != TK_VAR)
      return perr(p, v2, "range can only initialize variables");
    if (op2->kind != TK_DECLARE && op2->kind != TK_ASSIGN)
      return perr(p, op2, "too many declarations in %s", ctx);
    pipe->assign = op2->kind == TK_ASSIGN;
    p->i += 4;
    return add_decl(p, pipe, v) < 0 ? -1 : add_decl(p, pipe, v2);
  }
  if (op->kind != TK_DECLARE && op->kind != TK_ASSIGN)
    return 0;
  pipe->assign = op->kind == TK_ASSIGN;
  p->i += 2;
  return add_decl(p, pipe, v);
}

static bool is_literal(enum arg_kind k) {
  return k == ARG_STRING || k == ARG_INT || k == ARG_REAL || k == ARG_BOOL ||
         k == ARG_NIL || k == ARG_DOT;
}

/* Commands separated by '|' up to the end token (consumed). */
static int parse_pipeline(struct parser *p, struct pipe *pipe, const char *ctx,
                          enum tok_kind end) {
  if (++p->depth > MAX_DEPTH)
    return perr(p, peek(p), "%s nested too deeply", ctx);
  pipe->at.pos = peek(p)->at.pos;
  if (parse_decl(p, pipe, ctx) < 0)
    return -1;
  while (peek(p)->kind != end) {
    struct cmd *c = VEC_PUSH(pipe->cmds, pipe->ncmds, pipe->cap);
    if (c == NULL)
      return oom_error(p->err);
    if (parse_command(p, c, end) < 0)
      return -1;
    if (pipe->ncmds > 1 && is_literal(c->args[0].kind))
      return perr(p, peek(p), "non executable command in pipeline stage %zu",
                  pipe->ncmds);
    if (peek(p)->kind == TK_PIPE)
      next_tok(p);
    else if (peek(p)->kind != end)
      return unexpected(p, peek(p), ctx);
  }
  if (pipe->ncmds == 0)
    return perr(p, peek(p), "missing value for %s", ctx);
  pipe->at.end = next_tok(p)->at.pos;
  p->depth--;
  return 0;
}

enum term { TERM_EOF, TERM_END, TERM_ELSE };

static int parse_list(struct parser *p, struct list *l, enum term *term);

static int push_node(struct parser *p, struct list *l, struct node *n) {
  struct node *slot = VEC_PUSH(l->items, l->n, l->cap);
  if (slot == NULL) {
    free_node(n);
    return oom_error(p->err);
  }
  *slot = *n;
  return 0;
}

static int parse_control(struct parser *p, struct list *l, enum node_kind kind);

static const char *node_name(enum node_kind k) {
  return k == NODE_IF ? "if" : k == NODE_RANGE ? "range" : "with";
}

/* After {{else}}: "if"/"with" continue a chain whose nested node shares the
 * {{end}}; otherwise the else list runs to {{end}}. */
static int parse_else(struct parser *p, struct node *n) {
  struct token *t = peek(p);
  enum term term;
  if ((n->kind == NODE_IF && tok_is(p, t, TK_KEYWORD, "if")) ||
      (n->kind == NODE_WITH && tok_is(p, t, TK_KEYWORD, "with"))) {
    next_tok(p);
    return parse_control(p, &n->else_body, n->kind);
  }
  if (next_tok(p)->kind != TK_RIGHT)
    return unexpected(p, t, "else");
  if (parse_list(p, &n->else_body, &term) < 0)
    return -1;
  if (term == TERM_ELSE)
    return perr(p, &p->toks[p->i - 1], "expected end; found {{else}}");
  if (term == TERM_EOF)
    return perr(p, peek(p), "unexpected EOF");
  return 0;
}

static int parse_control_body(struct parser *p, struct node *n) {
  enum term term;
  if (parse_pipeline(p, n->pipe, node_name(n->kind), TK_RIGHT) < 0)
    return -1;
  p->range_depth += n->kind == NODE_RANGE;
  int rc = parse_list(p, &n->body, &term);
  p->range_depth -= n->kind == NODE_RANGE;
  if (rc < 0)
    return -1;
  if (term == TERM_ELSE)
    return parse_else(p, n);
  if (term == TERM_EOF)
    return perr(p, peek(p), "unexpected EOF");
  return 0;
}

/* {{if}}, {{range}} or {{with}} (the keyword consumed) to its {{end}}.
 * Variables declared inside go out of scope at the end. */
static int parse_control(struct parser *p, struct list *l,
                         enum node_kind kind) {
  struct node n = {.kind = kind, .at = p->toks[p->i - 1].at};
  size_t mark = p->nvars;
  if (++p->depth > MAX_DEPTH)
    return perr(p, peek(p), "%s nested too deeply", node_name(kind));
  n.pipe = calloc(1, sizeof(*n.pipe));
  int rc = n.pipe ? parse_control_body(p, &n) : oom_error(p->err);
  p->nvars = mark;
  p->depth--;
  if (rc < 0) {
    free_node(&n);
    return -1;
  }
  return push_node(p, l, &n);
}

static int parse_action(struct parser *p, struct list *l) {
  struct node n = {.kind = NODE_ACTION, .at = peek(p)->at};
  n.pipe = calloc(1, sizeof(*n.pipe));
  if (n.pipe == NULL)
    return oom_error(p->err);
  if (parse_pipeline(p, n.pipe, "command", TK_RIGHT) < 0) {
    free_node(&n);
    return -1;
  }
  return push_node(p, l, &n);
}

static int parse_jump(struct parser *p, struct list *l, struct token *kw) {
  bool is_break = tok_is(p, kw, TK_KEYWORD, "break");
  const char *name = is_break ? "break" : "continue";
  if (p->range_depth == 0)
    return perr(p, kw, "{{%s}} outside {{range}}", name);
  struct token *t = next_tok(p);
  if (t->kind != TK_RIGHT)
    return unexpected(p, t, name);
  struct node n = {.kind = is_break ? NODE_BREAK : NODE_CONTINUE, .at = kw->at};
  return push_node(p, l, &n);
}

/* What follows "{{" when it is a keyword. Returns 1 when the list ends
 * here ({{end}}, {{else}}), setting *term. */
static int parse_keyword(struct parser *p, struct list *l, enum term *term) {
  struct token *kw = next_tok(p);
  if (tok_is(p, kw, TK_KEYWORD, "end")) {
    struct token *t = next_tok(p);
    *term = TERM_END;
    return t->kind == TK_RIGHT ? 1 : unexpected(p, t, "end");
  }
  if (tok_is(p, kw, TK_KEYWORD, "else")) {
    *term = TERM_ELSE;
    return 1;
  }
  if (tok_is(p, kw, TK_KEYWORD, "if"))
    return parse_control(p, l, NODE_IF);
  if (tok_is(p, kw, TK_KEYWORD, "range"))
    return parse_control(p, l, NODE_RANGE);
  if (tok_is(p, kw, TK_KEYWORD, "with"))
    return parse_control(p, l, NODE_WITH);
  if (tok_is(p, kw, TK_KEYWORD, "break") ||
      tok_is(p, kw, TK_KEYWORD, "continue"))
    return parse_jump(p, l, kw);
  return perr(p, kw, "{{%.*s}} is not supported",
              (int)(kw->at.end - kw->at.pos), p->src + kw->at.pos);
}

/* Nodes up to EOF, {{end}} or {{else}} (reported in *term; after {{else}}
 * the rest of that action is left for the caller). */
static int parse_list(struct parser *p, struct list *l, enum term *term) {
  for (;;) {
    struct token *t = next_tok(p);
    if (t->kind == TK_EOF) {
      *term = TERM_EOF;
      return 0;
    }
    if (t->kind == TK_TEXT) {
      struct node n = {.kind = NODE_TEXT, .at = t->at};
      if (push_node(p, l, &n) < 0)
        return -1;
      continue;
    }
    int rc = peek(p)->kind == TK_KEYWORD ? parse_keyword(p, l, term)
                                         : parse_action(p, l);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
}

static int parse_root(struct parser *p, struct list *root) {
  enum term term;
  if (parse_list(p, root, &term) < 0)
    return -1;
  if (term == TERM_END)
    return perr(p, &p->toks[p->i - 1], "unexpected {{end}}");
  if (term == TERM_ELSE)
    return perr(p, &p->toks[p->i - 1], "unexpected {{else}}");
  return 0;
}

/* ==== execution ======================================================= */

struct var {
  const char *name;
  json_t *val; /* owned reference; NULL for "no value" */
};

struct exec {
  const st_template *t;
  struct sink out;
  struct var *vars; /* $ first, then declarations in scope */
  size_t nvars, cap;
  json_t *root;
  bool header; /* rendering a table header */
  const struct st_header_name *names;
  st_error **err;
};

/* exec_list results besides 0 and -1: a {{break}} or {{continue}} on its
 * way to the enclosing range. */
enum { FLOW_BREAK = 1, FLOW_CONTINUE = 2 };

/* "template: :LINE:COL: executing \"\" at <SOURCE>: msg", Go's form. */
static int exec_error(struct exec *e, struct span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int exec_error(struct exec *e, struct span at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg = NULL;
    return oom_error(e->err);
  }
  const char *src = e->t->src;
  return st_error_set(e->err, EINVAL,
                      "template: :%d:%zu: executing \"\" at <%.*s>: %s",
                      line_of(src, at.pos), col_of(src, at.pos),
                      (int)(at.end - at.pos), src + at.pos, msg);
}

static int push_var(struct exec *e, const char *name, json_t *val) {
  struct var *v = VEC_PUSH(e->vars, e->nvars, e->cap);
  if (v == NULL)
    return oom_error(e->err);
  v->name = name;
  v->val = json_incref(val);
  return 0;
}

static void pop_vars(struct exec *e, size_t mark) {
  while (e->nvars > mark)
    json_decref(e->vars[--e->nvars].val);
}

static struct var *find_var(struct exec *e, const char *name) {
  for (size_t i = e->nvars; i-- > 0;)
    if (strcmp(e->vars[i].name, name) == 0)
      return &e->vars[i];
  return NULL;
}

static void set_val(struct var *v, json_t *val) {
  json_t *old = v->val;
  v->val = json_incref(val);
  json_decref(old);
}

static int set_var(struct exec *e, const char *name, json_t *val,
                   struct span at) {
  struct var *v = find_var(e, name);
  if (v == NULL)
    return exec_error(e, at, "undefined variable: %s", name);
  set_val(v, val);
  return 0;
}

/* Go's isTrue: false, 0, "", empty arrays and objects, null and "no
 * value" are false. */
static bool truth(json_t *v) {
  if (v == NULL)
    return false;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return json_object_size(v) > 0;
  case JSON_ARRAY:
    return json_array_size(v) > 0;
  case JSON_STRING:
    return json_string_length(v) > 0;
  case JSON_INTEGER:
    return json_integer_value(v) != 0;
  case JSON_REAL:
    return json_real_value(v) != 0;
  case JSON_TRUE:
    return true;
  case JSON_FALSE:
  case JSON_NULL:
  default:
    return false;
  }
}

/* The Go type encoding/json would give v, for error messages. */
static const char *go_type(json_t *v) {
  if (v == NULL)
    return "<nil>";
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "map[string]interface {}";
  case JSON_ARRAY:
    return "[]interface {}";
  case JSON_STRING:
    return "string";
  case JSON_INTEGER:
    return "int";
  case JSON_REAL:
    return "float64";
  case JSON_TRUE:
  case JSON_FALSE:
    return "bool";
  case JSON_NULL:
  default:
    return "<nil>";
  }
}

static int eval_pipe(struct exec *e, const struct pipe *pp, json_t *dot,
                     json_t **out);
static int eval_call(struct exec *e, const struct func_def *f,
                     const struct arg *args, size_t nargs, json_t *dot,
                     json_t *final, bool has_final, struct span at,
                     json_t **out);

/* Docker's header for a field chain: the names entry for "A.B" (or "A");
 * an entry whose header is NULL is "no value", as a field missing from
 * Docker's header map; a field not in names gives the last field name in
 * upper case. Returns 0 and a new reference (or NULL) in *out; -1 when out
 * of memory. */
static int header_for(struct exec *e, char **fields, size_t n, json_t **out) {
  st_buf path = ST_BUF_INIT;
  struct sink s = {&path, false};
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      put_char(&s, '.');
    put_str(&s, fields[i]);
  }
  const struct st_header_name *hit = NULL;
  for (const struct st_header_name *nm = e->names;
       !s.failed && nm && nm->field && !hit; nm++)
    if (strcmp(nm->field, path.data) == 0)
      hit = nm;
  st_buf_free(&path);
  if (s.failed)
    return oom_error(e->err);
  *out = NULL;
  if (hit && hit->header == NULL)
    return 0;
  cleanup_free char *up = strdup(hit ? hit->header : fields[n - 1]);
  for (char *c = up; !hit && c && *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');
  *out = up ? json_string(up) : NULL;
  return *out ? 0 : oom_error(e->err);
}

/* Applies .F1.F2... to recv (borrowed). Missing stays missing; fields of
 * null or of a non-object are errors, as for Go's interface{} values.
 * has_args: the last field was given arguments, which only methods take. */
static int eval_fields(struct exec *e, json_t *recv, char **fields, size_t n,
                       struct span at, bool has_args, json_t **out) {
  if (e->header && recv != NULL && recv == e->root)
    return header_for(e, fields, n, out);
  json_t *cur = recv;
  for (size_t i = 0; i < n && cur != NULL; i++) {
    if (json_is_null(cur))
      return exec_error(e, at, "nil pointer evaluating interface {}.%s",
                        fields[i]);
    if (!json_is_object(cur))
      return exec_error(e, at, "can't evaluate field %s in type %s", fields[i],
                        go_type(cur));
    if (has_args && i == n - 1)
      return exec_error(e, at, "%s is not a method but has arguments",
                        fields[i]);
    cur = json_object_get(cur, fields[i]);
  }
  *out = json_incref(cur);
  return 0;
}

static json_t *literal(const struct arg *a) {
  switch (a->kind) {
  case ARG_STRING:
    return json_stringn_nocheck(a->str, a->len);
  case ARG_INT:
    return json_integer(a->ival);
  case ARG_REAL:
    return json_real(a->rval);
  case ARG_BOOL:
    return json_boolean(a->bval);
  case ARG_NIL:
    return json_null();
  case ARG_DOT:
  case ARG_FIELD:
  case ARG_VAR:
  case ARG_FUNC:
  case ARG_PIPE:
  default:
    return NULL;
  }
}

/* The value of a term before its field chain. */
static int eval_term(struct exec *e, const struct arg *a, json_t *dot,
                     json_t **out) {
  struct var *v;
  switch (a->kind) {
  case ARG_DOT:
  case ARG_FIELD:
    *out = json_incref(dot);
    return 0;
  case ARG_VAR:
    v = find_var(e, a->str);
    if (v == NULL)
      return exec_error(e, a->at, "undefined variable: %s", a->str);
    *out = json_incref(v->val);
    return 0;
  case ARG_PIPE:
    return eval_pipe(e, a->pipe, dot, out);
  case ARG_FUNC:
    return eval_call(e, a->fn, NULL, 0, dot, NULL, false, a->at, out);
  case ARG_STRING:
  case ARG_INT:
  case ARG_REAL:
  case ARG_BOOL:
  case ARG_NIL:
  default:
    *out = literal(a);
    return *out ? 0 : oom_error(e->err);
  }
}

/* An operand used as an argument: its term, then its field chain. */
static int eval_arg(struct exec *e, const struct arg *a, json_t *dot,
                    json_t **out) {
  if (a->nfields == 0)
    return eval_term(e, a, dot, out);
  json_auto_t *recv = NULL;
  if (eval_term(e, a, dot, &recv) < 0)
    return -1;
  return eval_fields(e, recv, a->fields, a->nfields, a->at, false, out);
}

/* One command of a pipeline; final is the previous command's result. */
static int eval_cmd(struct exec *e, const struct cmd *c, json_t *dot,
                    json_t *final, bool has_final, json_t **out) {
  const struct arg *first = &c->args[0];
  bool has_args = c->nargs > 1 || has_final;
  if (first->kind == ARG_FUNC)
    return eval_call(e, first->fn, c->args + 1, c->nargs - 1, dot, final,
                     has_final, c->at, out);
  if (first->kind == ARG_NIL)
    return exec_error(e, first->at, "nil is not a command");
  if (first->nfields > 0) {
    json_auto_t *recv = NULL;
    if (eval_term(e, first, dot, &recv) < 0)
      return -1;
    return eval_fields(e, recv, first->fields, first->nfields, first->at,
                       has_args, out);
  }
  if (has_args)
    return exec_error(e, c->at, "can't give argument to non-function %.*s",
                      (int)(first->at.end - first->at.pos),
                      e->t->src + first->at.pos);
  return eval_arg(e, first, dot, out);
}

/* Runs the commands, each result going to the next as its last argument,
 * then declares or assigns the pipeline's variables. */
static int eval_pipe(struct exec *e, const struct pipe *pp, json_t *dot,
                     json_t **out) {
  json_t *val = NULL;
  for (size_t i = 0; i < pp->ncmds; i++) {
    json_t *next = NULL;
    int rc = eval_cmd(e, &pp->cmds[i], dot, val, i > 0, &next);
    json_decref(val);
    if (rc < 0)
      return -1;
    val = next;
  }
  for (size_t i = 0; i < pp->ndecl; i++) {
    int rc = pp->assign ? set_var(e, pp->decl[i], val, pp->at)
                        : push_var(e, pp->decl[i], val);
    if (rc < 0) {
      json_decref(val);
      return -1;
    }
  }
  *out = val;
  return 0;
}

static int exec_list(struct exec *e, const struct list *l, json_t *dot);

static int exec_action(struct exec *e, const struct node *n, json_t *dot) {
  json_auto_t *val = NULL;
  if (eval_pipe(e, n->pipe, dot, &val) < 0)
    return -1;
  if (n->pipe->ndecl == 0)
    put_result(&e->out, val);
  return 0;
}

/* {{if}} and {{with}}; variables of the pipeline end with the node. */
static int exec_cond(struct exec *e, const struct node *n, json_t *dot) {
  size_t mark = e->nvars;
  json_auto_t *val = NULL;
  int rc = eval_pipe(e, n->pipe, dot, &val);
  if (rc == 0) {
    bool yes = truth(val);
    if (n->kind == NODE_WITH && yes)
      rc = exec_list(e, &n->body, val);
    else
      rc = exec_list(e, yes ? &n->body : &n->else_body, dot);
  }
  pop_vars(e, mark);
  return rc;
}

/* One iteration: sets $e (and $i) to elem (and key), runs the body with
 * elem as dot. key is a new reference, consumed. */
static int range_step(struct exec *e, const struct node *n, json_t *key,
                      json_t *elem) {
  const struct pipe *pp = n->pipe;
  size_t mark = e->nvars;
  int rc = 0;
  if (key == NULL)
    rc = oom_error(e->err);
  else if (pp->ndecl > 0 && pp->assign) {
    rc = set_var(e, pp->decl[pp->ndecl - 1], elem, pp->at);
    if (rc == 0 && pp->ndecl == 2)
      rc = set_var(e, pp->decl[0], key, pp->at);
  } else if (pp->ndecl > 0) {
    set_val(&e->vars[e->nvars - 1], elem);
    if (pp->ndecl == 2)
      set_val(&e->vars[e->nvars - 2], key);
  }
  json_decref(key);
  if (rc == 0)
    rc = exec_list(e, &n->body, elem);
  pop_vars(e, mark);
  return rc;
}

/* Whether a step's result ends the loop; *rc becomes the loop's result. */
static bool range_stop(int *rc) {
  if (*rc == FLOW_CONTINUE)
    *rc = 0;
  if (*rc == FLOW_BREAK) {
    *rc = 0;
    return true;
  }
  return *rc < 0;
}

static int range_object(struct exec *e, const struct node *n, json_t *obj) {
  size_t count;
  cleanup_free const char **keys = sorted_keys(obj, &count);
  if (count > 0 && keys == NULL)
    return oom_error(e->err);
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    rc = range_step(e, n, json_string(keys[i]), json_object_get(obj, keys[i]));
    if (range_stop(&rc))
      break;
  }
  return rc;
}

static int range_array(struct exec *e, const struct node *n, json_t *arr) {
  int rc = 0;
  for (size_t i = 0; i < json_array_size(arr); i++) {
    rc = range_step(e, n, json_integer((json_int_t)i), json_array_get(arr, i));
    if (range_stop(&rc))
      break;
  }
  return rc;
}

static int range_int(struct exec *e, const struct node *n, json_t *val) {
  if (n->pipe->ndecl > 1)
    return exec_error(e, n->pipe->at,
                      "can't use %" JSON_INTEGER_FORMAT
                      " to iterate over more than one variable",
                      json_integer_value(val));
  int rc = 0;
  for (json_int_t i = 0; i < json_integer_value(val); i++) {
    json_auto_t *elem = json_integer(i);
    rc = elem ? range_step(e, n, json_integer(i), elem) : oom_error(e->err);
    if (range_stop(&rc))
      break;
  }
  return rc;
}

/* Arrays in order, objects in key order, integers n as 0..n-1; null and
 * "no value" (Go's nil slices and maps) run the {{else}} list. */
static int range_over(struct exec *e, const struct node *n, json_t *val,
                      json_t *dot) {
  size_t count = 0;
  int rc = 0;
  if (json_is_array(val)) {
    count = json_array_size(val);
    rc = range_array(e, n, val);
  } else if (json_is_object(val)) {
    count = json_object_size(val);
    rc = range_object(e, n, val);
  } else if (json_is_integer(val)) {
    count = json_integer_value(val) > 0;
    rc = range_int(e, n, val);
  } else if (val != NULL && !json_is_null(val)) {
    st_buf b = ST_BUF_INIT;
    struct sink s = {&b, false};
    put_value(&s, val);
    rc = s.failed ? oom_error(e->err)
                  : exec_error(e, n->pipe->at, "range can't iterate over %s",
                               b.data);
    st_buf_free(&b);
  }
  if (rc == 0 && count == 0)
    rc = exec_list(e, &n->else_body, dot);
  return rc;
}

static int exec_range(struct exec *e, const struct node *n, json_t *dot) {
  size_t mark = e->nvars;
  json_auto_t *val = NULL;
  int rc = eval_pipe(e, n->pipe, dot, &val);
  if (rc == 0)
    rc = range_over(e, n, val, dot);
  pop_vars(e, mark);
  return rc;
}

static int exec_node(struct exec *e, const struct node *n, json_t *dot) {
  switch (n->kind) {
  case NODE_TEXT:
    put(&e->out, e->t->src + n->at.pos, n->at.end - n->at.pos);
    return 0;
  case NODE_ACTION:
    return exec_action(e, n, dot);
  case NODE_IF:
  case NODE_WITH:
    return exec_cond(e, n, dot);
  case NODE_RANGE:
    return exec_range(e, n, dot);
  case NODE_BREAK:
    return FLOW_BREAK;
  case NODE_CONTINUE:
    return FLOW_CONTINUE;
  default:
    return 0;
  }
}

/* Returns 0, -1 on error, or FLOW_BREAK/FLOW_CONTINUE. */
static int exec_list(struct exec *e, const struct list *l, json_t *dot) {
  for (size_t i = 0; i < l->n; i++) {
    int rc = exec_node(e, &l->items[i], dot);
    if (rc == 0 && e->out.failed)
      rc = oom_error(e->err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ==== functions ======================================================= */

struct call {
  struct exec *e;
  struct span at;
  const char *name;
  json_t **args; /* NULL entries are "no value" */
  size_t n;
};

typedef int (*builtin_fn)(struct call *c, json_t **out);

struct func_def {
  const char *name;
  int min_args, max_args;  /* max -1: variadic */
  builtin_fn fn;           /* NULL for and/or, which evaluate lazily */
  bool header_passthrough; /* Docker's HeaderFunctions return the input */
};

/* "error calling NAME: msg", for failures inside a function. */
static int call_error(struct call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int call_error(struct call *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cleanup_free char *msg = NULL;
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg = NULL;
    return oom_error(c->e->err);
  }
  return exec_error(c->e, c->at, "error calling %s: %s", c->name, msg);
}

static int wrong_type(struct call *c, const char *want, json_t *got) {
  if (got == NULL)
    return exec_error(c->e, c->at, "invalid value; expected %s", want);
  return exec_error(c->e, c->at, "wrong type for value; expected %s; got %s",
                    want, go_type(got));
}

/* A string parameter; null counts as "" (a Go string is never nil). */
static int arg_string(struct call *c, size_t i, const char **s, size_t *len) {
  json_t *v = c->args[i];
  if (json_is_null(v)) {
    *s = "";
    *len = 0;
    return 0;
  }
  if (!json_is_string(v))
    return wrong_type(c, "string", v);
  *s = json_string_value(v);
  *len = json_string_length(v);
  return 0;
}

/* An int parameter; integral reals are accepted, as Go converts constants. */
static int arg_int(struct call *c, size_t i, json_int_t *out) {
  json_t *v = c->args[i];
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  double d = json_is_real(v) ? json_real_value(v) : 0.5;
  if (!(d > -9.0e18 && d < 9.0e18) || (double)(json_int_t)d != d)
    return wrong_type(c, "int", v);
  *out = (json_int_t)d;
  return 0;
}

/* Hands the text in b back as a string value. */
static int ret_buf(struct call *c, struct sink *s, json_t **out) {
  if (s->failed) {
    st_buf_free(s->buf);
    return oom_error(c->e->err);
  }
  *out = json_stringn_nocheck(s->buf->data ? s->buf->data : "", s->buf->len);
  st_buf_free(s->buf);
  return *out ? 0 : oom_error(c->e->err);
}

static int ret_json(struct call *c, json_t *v, json_t **out) {
  *out = v;
  return v ? 0 : oom_error(c->e->err);
}

static int fn_json(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  if (c->args[0] == NULL)
    put_str(&s, "null");
  else
    put_json(&s, c->args[0]);
  return ret_buf(c, &s, out);
}

/* strings.Split: an empty separator splits into UTF-8 sequences. */
static int fn_split(struct call *c, json_t **out) {
  const char *s = NULL, *sep = NULL;
  size_t n = 0, seplen = 0;
  if (arg_string(c, 0, &s, &n) < 0 || arg_string(c, 1, &sep, &seplen) < 0)
    return -1;
  json_auto_t *arr = json_array();
  const char *end = s + n;
  while (arr) {
    const char *hit = NULL;
    uint32_t r;
    if (seplen == 0)
      hit = s < end ? s + utf8_decode((const unsigned char *)s,
                                      (size_t)(end - s), &r)
                    : NULL;
    else
      hit = memmem(s, (size_t)(end - s), sep, seplen);
    if (seplen == 0 && hit == NULL)
      break;
    const char *stop = hit ? hit : end;
    if (json_array_append_new(arr,
                              json_stringn_nocheck(s, (size_t)(stop - s))) < 0)
      return oom_error(c->e->err);
    if (hit == NULL)
      break;
    s = hit + seplen;
  }
  return ret_json(c, json_incref(arr), out);
}

/* strings.Join; null and "no value" are Go's nil slice. Elements that are
 * not strings print as %v. */
static int fn_join(struct call *c, json_t **out) {
  json_t *list = c->args[0];
  const char *sep = NULL;
  size_t seplen = 0, i;
  json_t *v;
  if (list != NULL && !json_is_null(list) && !json_is_array(list))
    return wrong_type(c, "[]string", list);
  if (arg_string(c, 1, &sep, &seplen) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  json_array_foreach(list, i, v) {
    if (i > 0)
      put(&s, sep, seplen);
    put_value(&s, v);
  }
  return ret_buf(c, &s, out);
}

/* Simple case mappings for ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic: the scripts Go's unicode tables cover that appear in names.
 * Other runes are left as they are. */
static uint32_t rune_upper(uint32_t r) {
  if ((r >= 'a' && r <= 'z') || (r >= 0xE0 && r <= 0xFE && r != 0xF7) ||
      (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) || (r >= 0x430 && r <= 0x44F))
    return r - 0x20;
  if (r >= 0x450 && r <= 0x45F)
    return r - 0x50;
  if (r == 0xFF)
    return 0x178;
  if (r == 0x3C2) /* final sigma */
    return 0x3A3;
  bool even_pairs = (r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) ||
                    (r >= 0x14A && r <= 0x177);
  bool odd_pairs = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E);
  if ((even_pairs && r % 2 == 1) || (odd_pairs && r % 2 == 0))
    return r - 1;
  return r;
}

static uint32_t rune_lower(uint32_t r) {
  if ((r >= 'A' && r <= 'Z') || (r >= 0xC0 && r <= 0xDE && r != 0xD7) ||
      (r >= 0x391 && r <= 0x3A9 && r != 0x3A2) || (r >= 0x410 && r <= 0x42F))
    return r + 0x20;
  if (r >= 0x400 && r <= 0x40F)
    return r + 0x50;
  if (r == 0x178)
    return 0xFF;
  bool even_pairs = (r >= 0x100 && r <= 0x12F) || (r >= 0x132 && r <= 0x137) ||
                    (r >= 0x14A && r <= 0x177);
  bool odd_pairs = (r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17E);
  if ((even_pairs && r % 2 == 0) || (odd_pairs && r % 2 == 1))
    return r + 1;
  return r;
}

/* strings.Title's isSeparator: ASCII other than letters, digits and '_',
 * and Unicode white space. */
static bool is_word_separator(uint32_t r) {
  if (r < 0x80)
    return !is_alnum((char)r);
  return r == 0x85 || r == 0xA0 || r == 0x1680 ||
         (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
         r == 0x202F || r == 0x205F || r == 0x3000;
}

/* strings.ToLower ('L'), ToUpper ('U') and Title ('T'); like Go's
 * strings.Map, invalid UTF-8 becomes U+FFFD. */
static int map_case(struct call *c, int mode, json_t **out) {
  const char *s = NULL;
  size_t n = 0;
  if (arg_string(c, 0, &s, &n) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink sk = {&b, false};
  bool prev_sep = true;
  for (size_t i = 0; i < n;) {
    uint32_t r, m;
    size_t len = utf8_decode((const unsigned char *)s + i, n - i, &r);
    if (mode == 'L')
      m = rune_lower(r);
    else
      m = mode == 'U' || prev_sep ? rune_upper(r) : r;
    char enc[4];
    if (m == r && (r != 0xFFFD || len > 1))
      put(&sk, s + i, len);
    else
      put(&sk, enc, utf8_encode(m, enc));
    prev_sep = is_word_separator(r);
    i += len;
  }
  return ret_buf(c, &sk, out);
}

static int fn_lower(struct call *c, json_t **out) {
  return map_case(c, 'L', out);
}

static int fn_upper(struct call *c, json_t **out) {
  return map_case(c, 'U', out);
}

static int fn_title(struct call *c, json_t **out) {
  return map_case(c, 'T', out);
}

/* Docker's truncateWithLength: the first n bytes. */
static int fn_truncate(struct call *c, json_t **out) {
  const char *s = NULL;
  size_t len = 0;
  json_int_t n = 0;
  if (arg_string(c, 0, &s, &len) < 0 || arg_int(c, 1, &n) < 0)
    return -1;
  if (n < 0 && (json_int_t)len >= n)
    return call_error(c, "runtime error: slice bounds out of range [:%lld]",
                      (long long)n);
  size_t keep = (json_int_t)len < n ? len : (size_t)n;
  return ret_json(c, json_stringn_nocheck(s, keep), out);
}

/* Docker's padWithSpace: spaces around a non-empty string. */
static int fn_pad(struct call *c, json_t **out) {
  const char *s = NULL;
  size_t len = 0;
  json_int_t left = 0, right = 0;
  if (arg_string(c, 0, &s, &len) < 0 || arg_int(c, 1, &left) < 0 ||
      arg_int(c, 2, &right) < 0)
    return -1;
  if (len > 0 && (left < 0 || right < 0))
    return call_error(c, "strings: negative Repeat count");
  st_buf b = ST_BUF_INIT;
  struct sink sk = {&b, false};
  if (len > 0) {
    put_repeat(&sk, ' ', left);
    put(&sk, s, len);
    put_repeat(&sk, ' ', right);
  }
  return ret_buf(c, &sk, out);
}

/* fmt.Sprint / Sprintln: "no value" arguments print as <nil>. */
static void put_arg(struct sink *s, json_t *v) {
  if (v == NULL)
    put_str(s, "<nil>");
  else
    put_value(s, v);
}

static int fn_print(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (size_t i = 0; i < c->n; i++) {
    if (i > 0 && !json_is_string(c->args[i]) && !json_is_string(c->args[i - 1]))
      put_char(&s, ' ');
    put_arg(&s, c->args[i]);
  }
  return ret_buf(c, &s, out);
}

static int fn_println(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (size_t i = 0; i < c->n; i++) {
    if (i > 0)
      put_char(&s, ' ');
    put_arg(&s, c->args[i]);
  }
  put_char(&s, '\n');
  return ret_buf(c, &s, out);
}

/* ---- printf ---------------------------------------------------------- */

struct verb {
  bool minus, plus, zero;
  int width, prec; /* -1 when absent */
  char c;
};

/* Go's output for an argument the verb does not fit: %!d(string=abc). */
static void put_bad_verb(struct sink *s, char verb, json_t *v) {
  put_fmt(s, "%%!%c(", verb);
  if (v == NULL || json_is_null(v)) {
    put_str(s, "<nil>");
  } else {
    put_str(s, go_type(v));
    put_char(s, '=');
    put_value(s, v);
  }
  put_char(s, ')');
}

/* strconv.Quote: printable runes as they are, others escaped. */
static void put_go_quoted(struct sink *s, const char *str, size_t n) {
  static const char short_from[] = "\a\b\f\n\r\t\v";
  static const char short_to[] = "abfnrtv";
  put_char(s, '"');
  for (size_t i = 0; i < n;) {
    uint32_t r;
    size_t len = utf8_decode((const unsigned char *)str + i, n - i, &r);
    const char *hit = r && r < 0x20 ? strchr(short_from, (int)r) : NULL;
    if (r == 0xFFFD && len == 1)
      put_fmt(s, "\\x%02x", (unsigned char)str[i]);
    else if (r == '"' || r == '\\')
      put_fmt(s, "\\%c", (char)r);
    else if (hit)
      put_fmt(s, "\\%c", short_to[hit - short_from]);
    else if (r < 0x20 || r == 0x7F)
      put_fmt(s, "\\x%02x", (unsigned)r);
    else if ((r >= 0x80 && r < 0xA0) || r == 0xAD || r == 0x2028 || r == 0x2029)
      put_fmt(s, "\\u%04x", (unsigned)r);
    else
      put(s, str + i, len);
    i += len;
  }
  put_char(s, '"');
}

static void put_number_verb(struct sink *s, const struct verb *v, json_t *a) {
  double d = json_real_value(a);
  int prec = v->prec < 0 ? 6 : v->prec;
  if (v->plus && !signbit(d))
    put_char(s, '+');
  switch (v->c) {
  case 'e':
    put_fmt(s, "%.*e", prec, d);
    break;
  case 'E':
    put_fmt(s, "%.*E", prec, d);
    break;
  case 'g':
  case 'G':
    if (v->prec < 0)
      put_float_v(s, d);
    else
      put_fmt(s, "%.*g", v->prec, d);
    break;
  default:
    put_fmt(s, "%.*f", prec, d);
    break;
  }
}

/* Formats one argument; returns false when the verb does not fit it. */
static bool put_verb_value(struct sink *s, const struct verb *v, json_t *a) {
  if (v->c == 'v') {
    put_arg(s, a);
  } else if (v->c == 's' && (json_is_array(a) || json_is_object(a))) {
    put_value(s, a);
  } else if (v->c == 's' && json_is_string(a)) {
    const char *str = json_string_value(a);
    size_t len = json_string_length(a), i = 0;
    for (int k = 0; v->prec >= 0 && k < v->prec && i < len; k++) {
      uint32_t r;
      i += utf8_decode((const unsigned char *)str + i, len - i, &r);
    }
    put(s, str, v->prec >= 0 ? i : len);
  } else if (v->c == 'q' && json_is_string(a)) {
    put_go_quoted(s, json_string_value(a), json_string_length(a));
  } else if (v->c == 'd' && json_is_integer(a)) {
    put_fmt(s, v->plus ? "%+" JSON_INTEGER_FORMAT : "%" JSON_INTEGER_FORMAT,
            json_integer_value(a));
  } else if ((v->c == 'x' || v->c == 'X') && json_is_integer(a)) {
    put_fmt(s, v->c == 'x' ? "%llx" : "%llX",
            (unsigned long long)json_integer_value(a));
  } else if ((v->c == 'x' || v->c == 'X') && json_is_string(a)) {
    const unsigned char *str = (const unsigned char *)json_string_value(a);
    for (size_t i = 0; i < json_string_length(a); i++)
      put_fmt(s, v->c == 'x' ? "%02x" : "%02X", str[i]);
  } else if (v->c == 't' && json_is_boolean(a)) {
    put_str(s, json_is_true(a) ? "true" : "false");
  } else if (strchr("eEfFgG", v->c) && json_is_real(a)) {
    put_number_verb(s, v, a);
  } else {
    return false;
  }
  return true;
}

/* Pads text to the verb's width, counting runes as fmt does. */
static void put_padded(struct sink *s, const struct verb *v, const char *text,
                       size_t len) {
  size_t w = utf8_count(text, len);
  json_int_t pad = v->width > 0 && (size_t)v->width > w
                       ? (json_int_t)((size_t)v->width - w)
                       : 0;
  bool zeros = v->zero && !v->minus && strchr("deEfFgGxX", v->c);
  if (zeros && len > 0 && (text[0] == '-' || text[0] == '+')) {
    put_char(s, text[0]);
    text++;
    len--;
  }
  if (!v->minus)
    put_repeat(s, zeros ? '0' : ' ', pad);
  put(s, text, len);
  if (v->minus)
    put_repeat(s, ' ', pad);
}

static void put_verb(struct sink *s, const struct verb *v, json_t *a) {
  st_buf tmp = ST_BUF_INIT;
  struct sink t = {&tmp, false};
  if (!put_verb_value(&t, v, a))
    put_bad_verb(s, v->c, a);
  else if (t.failed)
    s->failed = true;
  else
    put_padded(s, v, tmp.data ? tmp.data : "", tmp.len);
  st_buf_free(&tmp);
}

/* Reads "[-+0]*[width][.prec]verb" after a '%'; returns the bytes used. */
static size_t read_verb(const char *f, struct verb *v) {
  size_t i = 0;
  *v = (struct verb){.width = -1, .prec = -1};
  for (;; i++) {
    if (f[i] == '-')
      v->minus = true;
    else if (f[i] == '+')
      v->plus = true;
    else if (f[i] == '0')
      v->zero = true;
    else if (f[i] != ' ' && f[i] != '#')
      break;
  }
  for (; is_digit(f[i]) && v->width < 100000; i++)
    v->width = (v->width < 0 ? 0 : v->width * 10) + (f[i] - '0');
  if (f[i] == '.')
    for (v->prec = 0, i++; is_digit(f[i]) && v->prec < 100000; i++)
      v->prec = v->prec * 10 + (f[i] - '0');
  v->c = f[i];
  return f[i] ? i + 1 : i;
}

static void put_extra_args(struct sink *s, struct call *c, size_t from) {
  put_str(s, "%!(EXTRA ");
  for (size_t i = from; i < c->n; i++) {
    if (i > from)
      put_str(s, ", ");
    put_str(s, go_type(c->args[i]));
    put_char(s, '=');
    put_arg(s, c->args[i]);
  }
  put_char(s, ')');
}

/* fmt.Sprintf for the verbs %v %s %q %d %x %X %t %e %f %g and %%, with
 * flags '-', '+', '0', width and precision. */
static int fn_printf(struct call *c, json_t **out) {
  const char *f = NULL;
  size_t flen = 0, next = 1;
  if (arg_string(c, 0, &f, &flen) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (const char *end = f + flen; f < end;) {
    const char *pct = memchr(f, '%', (size_t)(end - f));
    put(&s, f, pct ? (size_t)(pct - f) : (size_t)(end - f));
    if (pct == NULL)
      break;
    struct verb v;
    f = pct + 1 + read_verb(pct + 1, &v);
    if (v.c == '%')
      put_char(&s, '%');
    else if (v.c == '\0')
      put_str(&s, "%!(NOVERB)");
    else if (next >= c->n)
      put_fmt(&s, "%%!%c(MISSING)", v.c);
    else
      put_verb(&s, &v, c->args[next++]);
  }
  if (next < c->n)
    put_extra_args(&s, c, next);
  return ret_buf(c, &s, out);
}

/* ---- index and len --------------------------------------------------- */

static int index_array(struct call *c, json_t *item, json_t *key,
                       json_t **out) {
  if (!json_is_integer(key))
    return key == NULL || json_is_null(key)
               ? call_error(c, "cannot index slice/array with nil")
               : call_error(c, "cannot index slice/array with type %s",
                            go_type(key));
  json_int_t i = json_integer_value(key);
  size_t len = json_is_array(item)    ? json_array_size(item)
               : json_is_string(item) ? json_string_length(item)
                                      : 0;
  if (i < 0 || (size_t)i >= len)
    return call_error(c, "index out of range: %lld", (long long)i);
  if (json_is_string(item))
    return ret_json(c, json_integer((unsigned char)json_string_value(item)[i]),
                    out);
  *out = json_incref(json_array_get(item, (size_t)i));
  return 0;
}

/* A key an object lacks gives "": Docker's maps hold strings (labels,
 * options), and a missing key of a map[string]string is "". */
static int index_object(struct call *c, json_t *item, json_t *key,
                        json_t **out) {
  if (!json_is_string(key))
    return call_error(c, "value has type %s; should be string", go_type(key));
  json_t *v = json_object_get(item, json_string_value(key));
  if (v != NULL) {
    *out = json_incref(v);
    return 0;
  }
  return ret_json(c, json_string(""), out);
}

static int index_one(struct call *c, json_t *item, json_t *key, json_t **out) {
  if (item == NULL)
    return call_error(c, "index of untyped nil");
  if (json_is_array(item) || json_is_string(item) ||
      (json_is_null(item) && !json_is_string(key)))
    return index_array(c, item, key, out);
  if (json_is_object(item) || json_is_null(item))
    return index_object(c, item, key, out);
  return call_error(c, "can't index item of type %s", go_type(item));
}

static int fn_index(struct call *c, json_t **out) {
  json_t *item = json_incref(c->args[0]);
  for (size_t i = 1; i < c->n; i++) {
    json_t *next = NULL;
    int rc = index_one(c, item, c->args[i], &next);
    json_decref(item);
    if (rc < 0)
      return -1;
    item = next;
  }
  *out = item;
  return 0;
}

static int fn_len(struct call *c, json_t **out) {
  json_t *v = c->args[0];
  size_t n;
  if (v == NULL)
    return call_error(c, "len of nil pointer");
  if (json_is_string(v))
    n = json_string_length(v);
  else if (json_is_array(v))
    n = json_array_size(v);
  else if (json_is_object(v))
    n = json_object_size(v);
  else if (json_is_null(v))
    n = 0;
  else
    return call_error(c, "len of type %s", go_type(v));
  return ret_json(c, json_integer((json_int_t)n), out);
}

/* ---- comparisons ----------------------------------------------------- */

enum kind { K_NIL, K_BOOL, K_NUM, K_STRING, K_OTHER };

static enum kind kind_of(json_t *v) {
  if (v == NULL || json_is_null(v))
    return K_NIL;
  if (json_is_boolean(v))
    return K_BOOL;
  if (json_is_number(v))
    return K_NUM;
  return json_is_string(v) ? K_STRING : K_OTHER;
}

/* -1, 0, 1 for numbers (integers exactly, otherwise as float64) and
 * strings (bytewise). */
static int compare_same(json_t *a, json_t *b) {
  if (json_is_string(a)) {
    size_t la = json_string_length(a), lb = json_string_length(b);
    int r =
        memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    return r != 0 ? (r > 0) - (r < 0) : (la > lb) - (la < lb);
  }
  if (json_is_integer(a) && json_is_integer(b)) {
    json_int_t x = json_integer_value(a), y = json_integer_value(b);
    return (x > y) - (x < y);
  }
  double x = json_number_value(a), y = json_number_value(b);
  return (x > y) - (x < y);
}

/* Go's eq: arg1 == arg2 || arg1 == arg3 ...; nil only equals nil. */
static int eq_values(struct call *c, bool *res) {
  enum kind k1 = kind_of(c->args[0]);
  *res = false;
  for (size_t i = 1; i < c->n && !*res; i++) {
    enum kind k2 = kind_of(c->args[i]);
    if (k1 != k2 && k1 != K_NIL && k2 != K_NIL)
      return call_error(c, "incompatible types for comparison");
    if (k1 == K_OTHER)
      return call_error(c, "non-comparable type %s", go_type(c->args[0]));
    if (k1 != k2)
      continue;
    if (k1 == K_NIL)
      *res = true;
    else if (k1 == K_BOOL)
      *res = json_is_true(c->args[0]) == json_is_true(c->args[i]);
    else
      *res = compare_same(c->args[0], c->args[i]) == 0;
  }
  return 0;
}

static int fn_eq(struct call *c, json_t **out) {
  bool res = false;
  if (c->n < 2)
    return call_error(c, "missing argument for comparison");
  if (eq_values(c, &res) < 0)
    return -1;
  return ret_json(c, json_boolean(res), out);
}

static int fn_ne(struct call *c, json_t **out) {
  bool res = false;
  if (eq_values(c, &res) < 0)
    return -1;
  return ret_json(c, json_boolean(!res), out);
}

/* lt, le, gt, ge: numbers or strings of the same kind. */
static int order(struct call *c, int *cmp) {
  enum kind k1 = kind_of(c->args[0]), k2 = kind_of(c->args[1]);
  if (k1 != K_NUM && k1 != K_STRING)
    return call_error(c, "invalid type for comparison");
  if (k1 != k2)
    return call_error(c, "incompatible types for comparison");
  *cmp = compare_same(c->args[0], c->args[1]);
  return 0;
}

static int compare_fn(struct call *c, json_t **out, int want_lt,
                      bool or_equal) {
  int cmp = 0;
  if (order(c, &cmp) < 0)
    return -1;
  bool res = cmp == want_lt || (or_equal && cmp == 0);
  return ret_json(c, json_boolean(res), out);
}

static int fn_lt(struct call *c, json_t **out) {
  return compare_fn(c, out, -1, false);
}

static int fn_le(struct call *c, json_t **out) {
  return compare_fn(c, out, -1, true);
}

static int fn_gt(struct call *c, json_t **out) {
  return compare_fn(c, out, 1, false);
}

static int fn_ge(struct call *c, json_t **out) {
  return compare_fn(c, out, 1, true);
}

static int fn_not(struct call *c, json_t **out) {
  return ret_json(c, json_boolean(!truth(c->args[0])), out);
}

/* Sorted by name for bsearch. */
static const struct func_def funcs[] = {
    {"and", 1, -1, NULL, false},
    {"eq", 1, -1, fn_eq, false},
    {"ge", 2, 2, fn_ge, false},
    {"gt", 2, 2, fn_gt, false},
    {"index", 1, -1, fn_index, false},
    {"join", 2, 2, fn_join, true},
    {"json", 1, 1, fn_json, true},
    {"le", 2, 2, fn_le, false},
    {"len", 1, 1, fn_len, false},
    {"lower", 1, 1, fn_lower, true},
    {"lt", 2, 2, fn_lt, false},
    {"ne", 2, 2, fn_ne, false},
    {"not", 1, 1, fn_not, false},
    {"or", 1, -1, NULL, false},
    {"pad", 3, 3, fn_pad, false},
    {"print", 0, -1, fn_print, false},
    {"printf", 1, -1, fn_printf, false},
    {"println", 0, -1, fn_println, false},
    {"split", 2, 2, fn_split, true},
    {"title", 1, 1, fn_title, true},
    {"truncate", 2, 2, fn_truncate, true},
    {"upper", 1, 1, fn_upper, true},
};

static const struct func_def *find_func(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
    if (strlen(funcs[i].name) == len && !memcmp(funcs[i].name, name, len))
      return &funcs[i];
  return NULL;
}

/* Arity errors point at the function name, which starts the command. */
static int check_arity(struct exec *e, const struct func_def *f, size_t n,
                       struct span at) {
  at.end = at.pos + strlen(f->name);
  if (f->max_args < 0 && n < (size_t)f->min_args)
    return exec_error(e, at,
                      "wrong number of args for %s: want at least %d "
                      "got %zu",
                      f->name, f->min_args, n);
  if (f->max_args >= 0 && n != (size_t)f->min_args)
    return exec_error(e, at, "wrong number of args for %s: want %d got %zu",
                      f->name, f->min_args, n);
  return 0;
}

/* and/or evaluate their arguments in order and stop at the first false
 * (and) or true (or) one, returning it; otherwise the last. */
static int eval_and_or(struct exec *e, bool is_and, const struct arg *args,
                       size_t nargs, json_t *dot, json_t *final, size_t total,
                       json_t **out) {
  for (size_t i = 0; i < total; i++) {
    json_t *v = NULL;
    if (i < nargs && eval_arg(e, &args[i], dot, &v) < 0)
      return -1;
    if (i >= nargs)
      v = json_incref(final);
    if (i + 1 == total || truth(v) != is_and) {
      *out = v;
      return 0;
    }
    json_decref(v);
  }
  return 0;
}

/* HeaderFunctions: the input string unchanged. */
static int header_passthrough(struct call *c, json_t **out) {
  if (!json_is_string(c->args[0]))
    return wrong_type(c, "string", c->args[0]);
  *out = json_incref(c->args[0]);
  return 0;
}

static void free_values(json_t **vals, size_t n) {
  for (size_t i = 0; i < n; i++)
    json_decref(vals[i]);
  free(vals);
}

/* Calls f with the evaluated args and, after them, the piped value. */
static int eval_call(struct exec *e, const struct func_def *f,
                     const struct arg *args, size_t nargs, json_t *dot,
                     json_t *final, bool has_final, struct span at,
                     json_t **out) {
  size_t total = nargs + (has_final ? 1 : 0);
  if (check_arity(e, f, total, at) < 0)
    return -1;
  if (f->fn == NULL)
    return eval_and_or(e, f->name[0] == 'a', args, nargs, dot, final, total,
                       out);
  json_t **vals = calloc(total + 1, sizeof(*vals));
  if (vals == NULL)
    return oom_error(e->err);
  for (size_t i = 0; i < nargs; i++) {
    if (eval_arg(e, &args[i], dot, &vals[i]) < 0) {
      free_values(vals, i);
      return -1;
    }
  }
  if (has_final)
    vals[nargs] = json_incref(final);
  struct call c = {e, at, f->name, vals, total};
  *out = NULL;
  int rc = e->header && f->header_passthrough ? header_passthrough(&c, out)
                                              : f->fn(&c, out);
  free_values(vals, total);
  return rc;
}

/* ==== API ============================================================= */

/* Docker's preFormat: "table" prefix, "json", trim spaces, \t and \n. */
static char *docker_prepare(const char *text, bool *table) {
  *table = strncmp(text, "table", 5) == 0;
  if (*table)
    text += 5;
  else if (strcmp(text, "json") == 0)
    text = "{{json .}}";
  size_t n = strlen(text);
  while (n > 0 && text[n - 1] == ' ')
    n--;
  while (n > 0 && *text == ' ') {
    text++;
    n--;
  }
  char *out = malloc(n + 1), *w = out;
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (text[i] == '\\' && i + 1 < n &&
        (text[i + 1] == 't' || text[i + 1] == 'n'))
      *w++ = text[++i] == 't' ? '\t' : '\n';
    else
      *w++ = text[i];
  }
  *w = '\0';
  return out;
}

static int parse_owned(char *src, bool table, st_template **out,
                       st_error **err) {
  st_template *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    free(src);
    return oom_error(err);
  }
  t->src = src;
  t->table = table;
  struct lexer lx = {.s = src, .n = strlen(src), .err = err};
  int rc = lex_all(&lx);
  if (rc == 0) {
    struct parser p = {.src = src, .toks = lx.toks, .err = err};
    rc = declare_var(&p, "$");
    if (rc == 0)
      rc = parse_root(&p, &t->root);
    free(p.vars);
  }
  free_tokens(lx.toks, lx.ntoks);
  if (rc < 0) {
    st_template_free(t);
    return -1;
  }
  *out = t;
  return 0;
}

int st_template_parse(const char *text, st_template **out, st_error **err) {
  bool table;
  if (text == NULL)
    return st_error_set(err, EINVAL, "template: no format");
  char *src = docker_prepare(text, &table);
  if (src == NULL)
    return oom_error(err);
  return parse_owned(src, table, out, err);
}

int st_template_parse_raw(const char *text, st_template **out, st_error **err) {
  if (text == NULL)
    return st_error_set(err, EINVAL, "template: no format");
  char *src = strdup(text);
  if (src == NULL)
    return oom_error(err);
  return parse_owned(src, false, out, err);
}

static int run(const st_template *t, json_t *dot, struct exec *e) {
  int rc = push_var(e, "$", dot);
  if (rc == 0)
    rc = exec_list(e, &t->root, dot);
  if (rc == 0 && e->out.failed)
    rc = oom_error(e->err);
  pop_vars(e, 0);
  free(e->vars);
  return rc < 0 ? -1 : 0;
}

int st_template_exec(const st_template *t, json_t *dot, st_buf *out,
                     st_error **err) {
  struct exec e = {.t = t, .out = {out, false}, .root = dot, .err = err};
  return run(t, dot, &e);
}

bool st_template_is_table(const st_template *t) {
  return t->table;
}

/* The dot for a header: every name of the map, so {{.}} shows them. */
static json_t *header_object(const struct st_header_name *names) {
  json_t *obj = json_object();
  for (const struct st_header_name *n = names; obj && n && n->field; n++) {
    if (n->header &&
        json_object_set_new(obj, n->field, json_string(n->header)) < 0) {
      json_decref(obj);
      return NULL;
    }
  }
  return obj;
}

char *st_template_table_header(const st_template *t,
                               const struct st_header_name *names) {
  json_auto_t *dot = header_object(names);
  if (dot == NULL)
    return NULL;
  st_buf out = ST_BUF_INIT;
  cleanup_error st_error *err = NULL;
  struct exec e = {.t = t,
                   .out = {&out, false},
                   .root = dot,
                   .header = true,
                   .names = names,
                   .err = &err};
  run(t, dot, &e); /* like Docker, keep what was written before an error */
  if (e.out.failed || (err && err->code == ENOMEM)) {
    st_buf_free(&out);
    return NULL;
  }
  return st_buf_steal(&out);
}

void st_template_free(st_template *t) {
  if (t == NULL)
    return;
  free_list(&t->root);
  free(t->src);
  free(t);
}
