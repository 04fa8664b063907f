/* The builtin functions of Go's text/template and of the Docker CLI
 * (json, split, join, lower, upper, title, truncate, pad, index, len,
 * comparisons, not; and/or are evaluated by the executor), their calling
 * helpers and the table of them. The fmt family is in template_printf.c.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "util/cleanup.h"

/* ---- calling helpers ------------------------------------------------- */

/* "error calling NAME: msg", for failures inside a function. */
static int call_error(struct call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int call_error(struct call *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_tpl_exec_errorv(c->e, c->at, c->name, fmt, ap);
  va_end(ap);
  return r;
}

static int wrong_type(struct call *c, const char *want, json_t *got) {
  if (got == NULL)
    return st_tpl_exec_error(c->e, c->at, "invalid value; expected %s", want);
  return st_tpl_exec_error(c->e, c->at,
                           "wrong type for value; expected %s; got %s", want,
                           st_tpl_go_type(got));
}

/* A string parameter; null counts as "" (a Go string is never nil). */
int st_tpl_arg_string(struct call *c, size_t i, const char **s, size_t *len) {
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

/* Hands the text in s back as a string value. */
int st_tpl_ret_buf(struct call *c, struct sink *s, json_t **out) {
  if (s->failed) {
    st_buf_free(s->buf);
    return st_tpl_oom_error(c->e->err);
  }
  *out = json_stringn_nocheck(s->buf->data ? s->buf->data : "", s->buf->len);
  st_buf_free(s->buf);
  return *out ? 0 : st_tpl_oom_error(c->e->err);
}

static int ret_json(struct call *c, json_t *v, json_t **out) {
  *out = v;
  return v ? 0 : st_tpl_oom_error(c->e->err);
}

/* ---- strings --------------------------------------------------------- */

static int fn_json(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  if (c->args[0] == NULL)
    st_tpl_put_str(&s, "null");
  else
    st_tpl_put_json(&s, c->args[0]);
  return st_tpl_ret_buf(c, &s, out);
}

/* strings.Split: an empty separator splits into UTF-8 sequences. */
static int fn_split(struct call *c, json_t **out) {
  const char *s = NULL, *sep = NULL;
  size_t n = 0, seplen = 0;
  if (st_tpl_arg_string(c, 0, &s, &n) < 0 ||
      st_tpl_arg_string(c, 1, &sep, &seplen) < 0)
    return -1;
  json_auto_t *arr = json_array();
  const char *end = s + n;
  while (arr) {
    const char *hit = NULL;
    uint32_t r;
    if (seplen == 0)
      hit = s < end ? s + st_tpl_utf8_decode((const unsigned char *)s,
                                             (size_t)(end - s), &r)
                    : NULL;
    else
      hit = memmem(s, (size_t)(end - s), sep, seplen);
    if (seplen == 0 && hit == NULL)
      break;
    const char *stop = hit ? hit : end;
    if (json_array_append_new(arr,
                              json_stringn_nocheck(s, (size_t)(stop - s))) < 0)
      return st_tpl_oom_error(c->e->err);
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
  if (st_tpl_arg_string(c, 1, &sep, &seplen) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  json_array_foreach(list, i, v) {
    if (i > 0)
      st_tpl_put(&s, sep, seplen);
    st_tpl_put_value(&s, v);
  }
  return st_tpl_ret_buf(c, &s, out);
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
    return !st_tpl_is_alnum((char)r);
  return r == 0x85 || r == 0xA0 || r == 0x1680 ||
         (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 ||
         r == 0x202F || r == 0x205F || r == 0x3000;
}

/* strings.ToLower ('L'), ToUpper ('U') and Title ('T'); like Go's
 * strings.Map, invalid UTF-8 becomes U+FFFD. */
static int map_case(struct call *c, int mode, json_t **out) {
  const char *s = NULL;
  size_t n = 0;
  if (st_tpl_arg_string(c, 0, &s, &n) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink sk = {&b, false};
  bool prev_sep = true;
  for (size_t i = 0; i < n;) {
    uint32_t r, m;
    size_t len = st_tpl_utf8_decode((const unsigned char *)s + i, n - i, &r);
    if (mode == 'L')
      m = rune_lower(r);
    else
      m = mode == 'U' || prev_sep ? rune_upper(r) : r;
    char enc[4];
    if (m == r && (r != 0xFFFD || len > 1))
      st_tpl_put(&sk, s + i, len);
    else
      st_tpl_put(&sk, enc, st_tpl_utf8_encode(m, enc));
    prev_sep = is_word_separator(r);
    i += len;
  }
  return st_tpl_ret_buf(c, &sk, out);
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
  if (st_tpl_arg_string(c, 0, &s, &len) < 0 || arg_int(c, 1, &n) < 0)
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
  if (st_tpl_arg_string(c, 0, &s, &len) < 0 || arg_int(c, 1, &left) < 0 ||
      arg_int(c, 2, &right) < 0)
    return -1;
  if (len > 0 && (left < 0 || right < 0))
    return call_error(c, "strings: negative Repeat count");
  st_buf b = ST_BUF_INIT;
  struct sink sk = {&b, false};
  if (len > 0) {
    st_tpl_put_repeat(&sk, ' ', left);
    st_tpl_put(&sk, s, len);
    st_tpl_put_repeat(&sk, ' ', right);
  }
  return st_tpl_ret_buf(c, &sk, out);
}

/* ---- index and len --------------------------------------------------- */

static int index_array(struct call *c, json_t *item, json_t *key,
                       json_t **out) {
  if (!json_is_integer(key))
    return key == NULL || json_is_null(key)
               ? call_error(c, "cannot index slice/array with nil")
               : call_error(c, "cannot index slice/array with type %s",
                            st_tpl_go_type(key));
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
    return call_error(c, "value has type %s; should be string",
                      st_tpl_go_type(key));
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
  return call_error(c, "can't index item of type %s", st_tpl_go_type(item));
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
    n = st_tpl_object_size(v);
  else if (json_is_null(v))
    n = 0;
  else
    return call_error(c, "len of type %s", st_tpl_go_type(v));
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
      return call_error(c, "non-comparable type %s",
                        st_tpl_go_type(c->args[0]));
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
  return ret_json(c, json_boolean(!st_tpl_truth(c->args[0])), out);
}

/* ---- the table ------------------------------------------------------- */

/* Sorted by name. */
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
    {"print", 0, -1, st_tpl_fn_print, false},
    {"printf", 1, -1, st_tpl_fn_printf, false},
    {"println", 0, -1, st_tpl_fn_println, false},
    {"split", 2, 2, fn_split, true},
    {"title", 1, 1, fn_title, true},
    {"truncate", 2, 2, fn_truncate, true},
    {"upper", 1, 1, fn_upper, true},
};

const struct func_def *st_tpl_find_func(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
    if (strlen(funcs[i].name) == len && !memcmp(funcs[i].name, name, len))
      return &funcs[i];
  return NULL;
}

/* HeaderFunctions: the input string unchanged. */
int st_tpl_header_passthrough(struct call *c, json_t **out) {
  if (!json_is_string(c->args[0]))
    return wrong_type(c, "string", c->args[0]);
  *out = json_incref(c->args[0]);
  return 0;
}
