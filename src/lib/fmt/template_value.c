/* Go's printing of template values: the sink the engine writes to, UTF-8,
 * float64 formatting as strconv does it, fmt's %v and encoding/json, and
 * Go's truth and type names for JSON values.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "fmt/utf8.h"
#include "util/cleanup.h"

/* ==== sink ============================================================ */

void st_tpl_put(struct sink *s, const char *p, size_t n) {
  if (!s->failed && n > 0 && st_buf_append(s->buf, p, n) < 0)
    s->failed = true;
}

void st_tpl_put_str(struct sink *s, const char *p) {
  st_tpl_put(s, p, strlen(p));
}

void st_tpl_put_char(struct sink *s, char c) {
  st_tpl_put(s, &c, 1);
}

void st_tpl_put_fmt(struct sink *s, const char *fmt, ...) {
  if (s->failed)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (st_buf_vprintf(s->buf, fmt, ap) < 0)
    s->failed = true;
  va_end(ap);
}

void st_tpl_put_repeat(struct sink *s, char c, json_int_t n) {
  for (; n > 0; n--)
    st_tpl_put_char(s, c);
}

/* ==== UTF-8 =========================================================== */

/* The template engine's name for st_utf8_decode (fmt/utf8.h). */
size_t st_tpl_utf8_decode(const unsigned char *s, size_t n, uint32_t *r) {
  return st_utf8_decode(s, n, r);
}

size_t st_tpl_utf8_encode(uint32_t r, char *out) {
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
  st_tpl_put_char(s, d->d[0]);
  if (d->nd > 1) {
    st_tpl_put_char(s, '.');
    st_tpl_put(s, d->d + 1, (size_t)d->nd - 1);
  }
  int exp = d->dp - 1;
  st_tpl_put_fmt(s, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* %f shape with exactly the digits: "0.0001", "123.5", "100000". */
static void put_digits_fixed(struct sink *s, const struct digits *d) {
  if (d->dp <= 0) {
    st_tpl_put_str(s, "0.");
    st_tpl_put_repeat(s, '0', -d->dp);
    st_tpl_put(s, d->d, (size_t)d->nd);
  } else if (d->dp >= d->nd) {
    st_tpl_put(s, d->d, (size_t)d->nd);
    st_tpl_put_repeat(s, '0', d->dp - d->nd);
  } else {
    st_tpl_put(s, d->d, (size_t)d->dp);
    st_tpl_put_char(s, '.');
    st_tpl_put(s, d->d + d->dp, (size_t)(d->nd - d->dp));
  }
}

/* Handles 0, NaN and infinities; returns false for other numbers (after
 * writing the sign of negative ones). */
static bool put_float_special(struct sink *s, double v) {
  if (isnan(v)) {
    st_tpl_put_str(s, "NaN");
    return true;
  }
  if (isinf(v)) {
    st_tpl_put_str(s, v > 0 ? "+Inf" : "-Inf");
    return true;
  }
  if (signbit(v))
    st_tpl_put_char(s, '-');
  if (v == 0) {
    st_tpl_put_char(s, '0');
    return true;
  }
  return false;
}

/* fmt's %v for float64 (strconv 'g' with the shortest digits): exponent
 * form when the exponent is < -4 or >= 6, since strconv decides with
 * precision 6 for shortest output ("1e+06", "123456", "1e-05"). */
void st_tpl_put_float_v(struct sink *s, double v) {
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
  st_tpl_put_char(s, d.d[0]);
  if (d.nd > 1) {
    st_tpl_put_char(s, '.');
    st_tpl_put(s, d.d + 1, (size_t)d.nd - 1);
  }
  int exp = d.dp - 1;
  st_tpl_put_fmt(s, "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* ==== %v and JSON ===================================================== */

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj in Go's map order (sorted bytewise); borrowed pointers
 * in a heap array, NULL when out of memory (or when obj is empty). */
size_t st_tpl_object_size(json_t *obj) {
  size_t n = json_object_size(obj);
  return json_object_get(obj, ST_TPL_JSON_FORM) ? n - 1 : n;
}

const char **st_tpl_sorted_keys(json_t *obj, size_t *n) {
  *n = st_tpl_object_size(obj);
  if (*n == 0)
    return NULL;
  const char **keys = calloc(*n, sizeof(*keys));
  if (keys == NULL)
    return NULL;
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (strcmp(k, ST_TPL_JSON_FORM) != 0 && i < *n)
      keys[i++] = k;
  }
  qsort(keys, *n, sizeof(*keys), cmp_keys);
  return keys;
}

static void put_map(struct sink *s, json_t *obj) {
  size_t n;
  cleanup_free const char **keys = st_tpl_sorted_keys(obj, &n);
  if (n > 0 && keys == NULL) {
    s->failed = true;
    return;
  }
  st_tpl_put_str(s, "map[");
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      st_tpl_put_char(s, ' ');
    st_tpl_put_str(s, keys[i]);
    st_tpl_put_char(s, ':');
    st_tpl_put_value(s, json_object_get(obj, keys[i]));
  }
  st_tpl_put_char(s, ']');
}

/* Go's fmt %v of the value encoding/json would decode v into. */
void st_tpl_put_value(struct sink *s, json_t *v) {
  size_t i;
  json_t *e;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    put_map(s, v);
    break;
  case JSON_ARRAY:
    st_tpl_put_char(s, '[');
    json_array_foreach(v, i, e) {
      if (i > 0)
        st_tpl_put_char(s, ' ');
      st_tpl_put_value(s, e);
    }
    st_tpl_put_char(s, ']');
    break;
  case JSON_STRING:
    st_tpl_put(s, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    st_tpl_put_fmt(s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    break;
  case JSON_REAL:
    st_tpl_put_float_v(s, json_real_value(v));
    break;
  case JSON_TRUE:
    st_tpl_put_str(s, "true");
    break;
  case JSON_FALSE:
    st_tpl_put_str(s, "false");
    break;
  case JSON_NULL:
  default:
    st_tpl_put_str(s, "<nil>");
    break;
  }
}

/* What an action prints: like %v, and "<no value>" for a missing value. */
void st_tpl_put_result(struct sink *s, json_t *v) {
  if (v == NULL)
    st_tpl_put_str(s, "<no value>");
  else
    st_tpl_put_value(s, v);
}

/* encoding/json string escaping with SetEscapeHTML(false), as Docker's
 * json function: <, >, & stay; control characters, U+2028, U+2029 and
 * invalid UTF-8 (as \ufffd) are escaped. */
static void put_json_string(struct sink *s, const char *str, size_t n) {
  const unsigned char *p = (const unsigned char *)str;
  st_tpl_put_char(s, '"');
  for (size_t i = 0; i < n;) {
    uint32_t r;
    size_t len = st_utf8_decode(p + i, n - i, &r);
    if (r == 0xFFFD && len == 1 && p[i] >= 0x80)
      st_tpl_put_str(s, "\\ufffd");
    else if (r == 0x2028 || r == 0x2029)
      st_tpl_put_fmt(s, "\\u%04x", (unsigned)r);
    else if (r == '"' || r == '\\') {
      st_tpl_put_char(s, '\\');
      st_tpl_put_char(s, (char)r);
    } else if (r < 0x20) {
      static const char short_esc[] = "btn\0fr";
      if (r >= '\b' && r <= '\r' && r != '\v')
        st_tpl_put_fmt(s, "\\%c", short_esc[r - '\b']);
      else
        st_tpl_put_fmt(s, "\\u%04x", (unsigned)r);
    } else {
      st_tpl_put(s, str + i, len);
    }
    i += len;
  }
  st_tpl_put_char(s, '"');
}

void st_tpl_put_json(struct sink *s, json_t *v) {
  const char *k;
  size_t i;
  json_t *e;
  json_t *form =
      json_is_object(v) ? json_object_get(v, ST_TPL_JSON_FORM) : NULL;
  if (form) {
    st_tpl_put_json(s, form);
    return;
  }
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    st_tpl_put_char(s, '{');
    i = 0;
    json_object_foreach(v, k, e) {
      if (i++ > 0)
        st_tpl_put_char(s, ',');
      put_json_string(s, k, strlen(k));
      st_tpl_put_char(s, ':');
      st_tpl_put_json(s, e);
    }
    st_tpl_put_char(s, '}');
    break;
  case JSON_ARRAY:
    st_tpl_put_char(s, '[');
    json_array_foreach(v, i, e) {
      if (i > 0)
        st_tpl_put_char(s, ',');
      st_tpl_put_json(s, e);
    }
    st_tpl_put_char(s, ']');
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
      st_tpl_put_value(s, v);
    break;
  case JSON_NULL:
  default:
    st_tpl_put_str(s, "null");
    break;
  }
}

/* Go's isTrue: false, 0, "", empty arrays and objects, null and "no
 * value" are false. */
bool st_tpl_truth(json_t *v) {
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
const char *st_tpl_go_type(json_t *v) {
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
