/* WWW-Authenticate parsing and base64. */
#include "registry/auth.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/cleanup.h"

void st_auth_challenge_clear(st_auth_challenge *c) {
  free(c->realm);
  free(c->service);
  free(c->scope);
  free(c->error);
  memset(c, 0, sizeof(*c));
}

/* RFC 7230 tchar. */
static bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

static st_auth_scheme scheme_of(const char *name, size_t n) {
  if (n == 6 && strncasecmp(name, "bearer", 6) == 0)
    return ST_AUTH_BEARER;
  if (n == 5 && strncasecmp(name, "basic", 5) == 0)
    return ST_AUTH_BASIC;
  return ST_AUTH_NONE;
}

/* Reads a parameter value at *pp: a quoted-string (with \-escapes) or a
 * run of characters up to ',' or white space. */
static int read_value(const char **pp, char **out, st_error **err) {
  const char *p = *pp;
  cleanup_buf st_buf b = ST_BUF_INIT;
  if (*p == '"') {
    for (p++; *p != '"'; p++) {
      if (*p == '\\' && p[1] != '\0')
        p++;
      if (*p == '\0')
        return st_error_set(err, EINVAL,
                            "WWW-Authenticate: unterminated quoted string");
      if (st_buf_putc(&b, *p) < 0)
        return st_error_errno(err, ENOMEM, "WWW-Authenticate");
    }
    p++;
  } else {
    size_t n = strcspn(p, ", \t");
    if (st_buf_append(&b, p, n) < 0)
      return st_error_errno(err, ENOMEM, "WWW-Authenticate");
    p += n;
  }
  *out = st_buf_steal(&b);
  *pp = p;
  return 0;
}

static void set_param(st_auth_challenge *c, const char *name, size_t n,
                      char *value) {
  static const struct {
    const char *name;
    size_t off;
  } fields[] = {{"realm", offsetof(st_auth_challenge, realm)},
                {"service", offsetof(st_auth_challenge, service)},
                {"scope", offsetof(st_auth_challenge, scope)},
                {"error", offsetof(st_auth_challenge, error)}};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (strlen(fields[i].name) == n &&
        strncasecmp(fields[i].name, name, n) == 0) {
      char **slot = (char **)((char *)c + fields[i].off);
      free(*slot);
      *slot = value;
      return;
    }
  }
  free(value);
}

/* Keeps cur in best when it is a better scheme (Bearer > Basic > none). */
static void keep_better(st_auth_challenge *best, st_auth_challenge *cur) {
  if (cur->scheme > best->scheme) {
    st_auth_challenge_clear(best);
    *best = *cur;
    memset(cur, 0, sizeof(*cur));
  } else {
    st_auth_challenge_clear(cur);
  }
}

int st_auth_challenge_parse(const char *header, st_auth_challenge *out,
                            st_error **err) {
  st_auth_challenge best = {0}, cur = {0};
  bool in_challenge = false;
  const char *p = header ? header : "";
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (*p == '\0')
      break;
    const char *name = p;
    while (is_tchar(*p))
      p++;
    size_t n = (size_t)(p - name);
    if (n == 0) {
      st_error_set(err, EINVAL,
                   "WWW-Authenticate: unexpected character '%c' at offset %zu",
                   *p, (size_t)(p - header));
      goto fail;
    }
    p = skip_ws(p);
    if (*p == '=') {
      if (!in_challenge) {
        st_error_set(err, EINVAL,
                     "WWW-Authenticate: parameter before any scheme");
        goto fail;
      }
      p = skip_ws(p + 1);
      char *value = NULL;
      if (read_value(&p, &value, err) < 0)
        goto fail;
      set_param(&cur, name, n, value);
      continue;
    }
    if (in_challenge)
      keep_better(&best, &cur);
    cur.scheme = scheme_of(name, n);
    in_challenge = true;
  }
  if (in_challenge)
    keep_better(&best, &cur);
  *out = best;
  return 0;
fail:
  st_auth_challenge_clear(&cur);
  st_auth_challenge_clear(&best);
  memset(out, 0, sizeof(*out));
  return -1;
}

/* ---- base64 ---------------------------------------------------------------
 */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *st_base64_encode(const void *buf, size_t n) {
  const unsigned char *in = buf;
  char *out = malloc((n + 2) / 3 * 4 + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    out[o++] = b64[(v >> 18) & 63];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

static int b64_value(char c) {
  const char *p = c ? strchr(b64, c) : NULL;
  return p ? (int)(p - b64) : -1;
}

char *st_base64_decode(const char *s, size_t *len) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '=')
    n--;
  if (n % 4 == 1)
    return NULL;
  char *out = malloc(n / 4 * 3 + 3);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value(s[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = '\0';
  if (len)
    *len = o;
  return out;
}
