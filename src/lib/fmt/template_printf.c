/* fmt.Sprint, Sprintln and Sprintf as the template builtins print,
 * println and printf.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fmt/template_internal.h"

/* The number of runes (as Go decodes them) in s. */
static size_t utf8_count(const char *s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; count++) {
    uint32_t r;
    i += st_tpl_utf8_decode((const unsigned char *)s + i, n - i, &r);
  }
  return count;
}

/* fmt.Sprint / Sprintln: "no value" arguments print as <nil>. */
static void put_arg(struct sink *s, json_t *v) {
  if (v == NULL)
    st_tpl_put_str(s, "<nil>");
  else
    st_tpl_put_value(s, v);
}

/* fmt.Sprint: spaces between operands when neither is a string. */
int st_tpl_fn_print(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (size_t i = 0; i < c->n; i++) {
    if (i > 0 && !json_is_string(c->args[i]) && !json_is_string(c->args[i - 1]))
      st_tpl_put_char(&s, ' ');
    put_arg(&s, c->args[i]);
  }
  return st_tpl_ret_buf(c, &s, out);
}

/* fmt.Sprintln: spaces between operands, and a newline. */
int st_tpl_fn_println(struct call *c, json_t **out) {
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (size_t i = 0; i < c->n; i++) {
    if (i > 0)
      st_tpl_put_char(&s, ' ');
    put_arg(&s, c->args[i]);
  }
  st_tpl_put_char(&s, '\n');
  return st_tpl_ret_buf(c, &s, out);
}

/* ---- printf ---------------------------------------------------------- */

struct verb {
  bool minus, plus, zero;
  int width, prec; /* -1 when absent */
  char c;
};

/* Go's output for an argument the verb does not fit: %!d(string=abc). */
static void put_bad_verb(struct sink *s, char verb, json_t *v) {
  st_tpl_put_fmt(s, "%%!%c(", verb);
  if (v == NULL || json_is_null(v)) {
    st_tpl_put_str(s, "<nil>");
  } else {
    st_tpl_put_str(s, st_tpl_go_type(v));
    st_tpl_put_char(s, '=');
    st_tpl_put_value(s, v);
  }
  st_tpl_put_char(s, ')');
}

/* strconv.Quote: printable runes as they are, others escaped. */
static void put_go_quoted(struct sink *s, const char *str, size_t n) {
  static const char short_from[] = "\a\b\f\n\r\t\v";
  static const char short_to[] = "abfnrtv";
  st_tpl_put_char(s, '"');
  for (size_t i = 0; i < n;) {
    uint32_t r;
    size_t len = st_tpl_utf8_decode((const unsigned char *)str + i, n - i, &r);
    const char *hit = r && r < 0x20 ? strchr(short_from, (int)r) : NULL;
    if (r == 0xFFFD && len == 1)
      st_tpl_put_fmt(s, "\\x%02x", (unsigned char)str[i]);
    else if (r == '"' || r == '\\')
      st_tpl_put_fmt(s, "\\%c", (char)r);
    else if (hit)
      st_tpl_put_fmt(s, "\\%c", short_to[hit - short_from]);
    else if (r < 0x20 || r == 0x7F)
      st_tpl_put_fmt(s, "\\x%02x", (unsigned)r);
    else if ((r >= 0x80 && r < 0xA0) || r == 0xAD || r == 0x2028 || r == 0x2029)
      st_tpl_put_fmt(s, "\\u%04x", (unsigned)r);
    else
      st_tpl_put(s, str + i, len);
    i += len;
  }
  st_tpl_put_char(s, '"');
}

static void put_number_verb(struct sink *s, const struct verb *v, json_t *a) {
  double d = json_real_value(a);
  int prec = v->prec < 0 ? 6 : v->prec;
  if (v->plus && !signbit(d))
    st_tpl_put_char(s, '+');
  switch (v->c) {
  case 'e':
    st_tpl_put_fmt(s, "%.*e", prec, d);
    break;
  case 'E':
    st_tpl_put_fmt(s, "%.*E", prec, d);
    break;
  case 'g':
  case 'G':
    if (v->prec < 0)
      st_tpl_put_float_v(s, d);
    else
      st_tpl_put_fmt(s, "%.*g", v->prec, d);
    break;
  default:
    st_tpl_put_fmt(s, "%.*f", prec, d);
    break;
  }
}

/* Formats one argument; returns false when the verb does not fit it. */
static bool put_verb_value(struct sink *s, const struct verb *v, json_t *a) {
  if (v->c == 'v') {
    put_arg(s, a);
  } else if (v->c == 's' && (json_is_array(a) || json_is_object(a))) {
    st_tpl_put_value(s, a);
  } else if (v->c == 's' && json_is_string(a)) {
    const char *str = json_string_value(a);
    size_t len = json_string_length(a), i = 0;
    for (int k = 0; v->prec >= 0 && k < v->prec && i < len; k++) {
      uint32_t r;
      i += st_tpl_utf8_decode((const unsigned char *)str + i, len - i, &r);
    }
    st_tpl_put(s, str, v->prec >= 0 ? i : len);
  } else if (v->c == 'q' && json_is_string(a)) {
    put_go_quoted(s, json_string_value(a), json_string_length(a));
  } else if (v->c == 'd' && json_is_integer(a)) {
    st_tpl_put_fmt(s,
                   v->plus ? "%+" JSON_INTEGER_FORMAT : "%" JSON_INTEGER_FORMAT,
                   json_integer_value(a));
  } else if ((v->c == 'x' || v->c == 'X') && json_is_integer(a)) {
    st_tpl_put_fmt(s, v->c == 'x' ? "%llx" : "%llX",
                   (unsigned long long)json_integer_value(a));
  } else if ((v->c == 'x' || v->c == 'X') && json_is_string(a)) {
    const unsigned char *str = (const unsigned char *)json_string_value(a);
    for (size_t i = 0; i < json_string_length(a); i++)
      st_tpl_put_fmt(s, v->c == 'x' ? "%02x" : "%02X", str[i]);
  } else if (v->c == 't' && json_is_boolean(a)) {
    st_tpl_put_str(s, json_is_true(a) ? "true" : "false");
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
    st_tpl_put_char(s, text[0]);
    text++;
    len--;
  }
  if (!v->minus)
    st_tpl_put_repeat(s, zeros ? '0' : ' ', pad);
  st_tpl_put(s, text, len);
  if (v->minus)
    st_tpl_put_repeat(s, ' ', pad);
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
  for (; st_tpl_is_digit(f[i]) && v->width < 100000; i++)
    v->width = (v->width < 0 ? 0 : v->width * 10) + (f[i] - '0');
  if (f[i] == '.')
    for (v->prec = 0, i++; st_tpl_is_digit(f[i]) && v->prec < 100000; i++)
      v->prec = v->prec * 10 + (f[i] - '0');
  v->c = f[i];
  return f[i] ? i + 1 : i;
}

static void put_extra_args(struct sink *s, struct call *c, size_t from) {
  st_tpl_put_str(s, "%!(EXTRA ");
  for (size_t i = from; i < c->n; i++) {
    if (i > from)
      st_tpl_put_str(s, ", ");
    st_tpl_put_str(s, st_tpl_go_type(c->args[i]));
    st_tpl_put_char(s, '=');
    put_arg(s, c->args[i]);
  }
  st_tpl_put_char(s, ')');
}

/* fmt.Sprintf for the verbs %v %s %q %d %x %X %t %e %f %g and %%, with
 * flags '-', '+', '0', width and precision. */
int st_tpl_fn_printf(struct call *c, json_t **out) {
  const char *f = NULL;
  size_t flen = 0, next = 1;
  if (st_tpl_arg_string(c, 0, &f, &flen) < 0)
    return -1;
  st_buf b = ST_BUF_INIT;
  struct sink s = {&b, false};
  for (const char *end = f + flen; f < end;) {
    const char *pct = memchr(f, '%', (size_t)(end - f));
    st_tpl_put(&s, f, pct ? (size_t)(pct - f) : (size_t)(end - f));
    if (pct == NULL)
      break;
    struct verb v;
    f = pct + 1 + read_verb(pct + 1, &v);
    if (v.c == '%')
      st_tpl_put_char(&s, '%');
    else if (v.c == '\0')
      st_tpl_put_str(&s, "%!(NOVERB)");
    else if (next >= c->n)
      st_tpl_put_fmt(&s, "%%!%c(MISSING)", v.c);
    else
      put_verb(&s, &v, c->args[next++]);
  }
  if (next < c->n)
    put_extra_args(&s, c, next);
  return st_tpl_ret_buf(c, &s, out);
}
