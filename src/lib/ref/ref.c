/* Docker's image reference grammar, written as small scanners instead of
 * regular expressions so that each error can say which part is wrong. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memrchr, strndup */
#endif
#include "ref/ref.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"

#define REF_ERR "invalid reference format"
#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
#define SHA256_HEX_LEN 64

/* The pieces of a reference after splitting and normalizing. domain, tag and
 * digest point into the caller's copy of the input (or at a literal); tag and
 * digest are NULL when absent and "" when their separator ends the input. */
typedef struct ref_parts {
  const char *domain;
  char *path; /* heap: the normalized path ("library/" added) */
  const char *tag;
  const char *digest;
} ref_parts;

static void ref_parts_free(ref_parts *parts) {
  free(parts->path);
  parts->path = NULL;
}
#define cleanup_parts __attribute__((cleanup(ref_parts_free)))

/* ASCII classes; the <ctype.h> ones depend on the locale. */
static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

static bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c) {
  return is_digit(c) || is_lower(c) || is_upper(c);
}

static bool is_word(char c) {
  return is_alnum(c) || c == '_';
}

static bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool has_upper(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (is_upper(s[i]))
      return true;
  return false;
}

static int oom(st_error **err, const char *s) {
  return st_error_errno(err, ENOMEM, "parse reference `%s`", s);
}

/* Cuts s at the first c. Returns what followed c, or NULL when s has no c. */
static char *cut(char *s, char c) {
  char *p = strchr(s, c);
  if (p == NULL)
    return NULL;
  *p = '\0';
  return p + 1;
}

/* Docker's rule for the first "/"-separated part of a name: a domain when
 * it has '.' or ':', is "localhost", or has an uppercase letter (which a
 * path component may not). */
static bool first_part_is_domain(const char *s, size_t n) {
  if (n == strlen("localhost") && memcmp(s, "localhost", n) == 0)
    return true;
  if (memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL)
    return true;
  return has_upper(s, n);
}

/* Splits name (tag included, digest already cut off) into domain, path and
 * tag, normalizing Docker Hub names, and stores them in *parts. Returns 0, or
 * -1 when out of memory. */
static int split_name(char *name, ref_parts *parts) {
  char *rest = name;
  char *slash = strchr(name, '/');
  parts->domain = DEFAULT_DOMAIN;
  if (slash != NULL && first_part_is_domain(name, (size_t)(slash - name))) {
    *slash = '\0';
    parts->domain = name;
    rest = slash + 1;
  }
  if (strcmp(parts->domain, LEGACY_DOMAIN) == 0)
    parts->domain = DEFAULT_DOMAIN;
  parts->tag = cut(rest, ':');
  bool official =
      strcmp(parts->domain, DEFAULT_DOMAIN) == 0 && strchr(rest, '/') == NULL;
  if (asprintf(&parts->path, "%s%s", official ? OFFICIAL_PREFIX : "", rest) <
      0) {
    parts->path = NULL;
    return -1;
  }
  return 0;
}

/* The length of the path-component separator at p ('.', '_', "__" or a run
 * of '-'), 0 when p does not start one. */
static size_t separator_len(const char *p) {
  if (*p == '.')
    return 1;
  if (*p == '_')
    return p[1] == '_' ? 2 : 1;
  size_t n = 0;
  while (p[n] == '-')
    n++;
  return n;
}

/* Checks one path component of n bytes: runs of [a-z0-9] joined by single
 * separators, starting and ending with [a-z0-9]. */
static bool path_component_valid(const char *c, size_t n) {
  size_t i = 0;
  for (;;) {
    size_t start = i;
    while (i < n && (is_lower(c[i]) || is_digit(c[i])))
      i++;
    if (i == start)
      return false;
    if (i == n)
      return true;
    size_t sep = separator_len(c + i);
    if (sep == 0 || i + sep >= n)
      return false;
    i += sep;
  }
}

/* Checks the normalized path. Returns 0, or -1 with *err naming the path and
 * the bad component. */
static int check_path(const char *path, st_error **err) {
  if (has_upper(path, strlen(path)))
    return st_error_set(
        err, EINVAL, REF_ERR ": repository name (%s) must be lowercase", path);
  const char *c = path;
  for (;;) {
    size_t n = strcspn(c, "/");
    if (n == 0)
      return st_error_set(err, EINVAL,
                          REF_ERR ": repository name (%s) has an empty "
                                  "path component",
                          path);
    if (!path_component_valid(c, n))
      return st_error_set(err, EINVAL,
                          REF_ERR ": repository name (%s): path component "
                                  "\"%.*s\" must be lowercase letters and "
                                  "digits separated by '.', '_', '__' or '-'",
                          path, (int)n, c);
    if (c[n] == '\0')
      return 0;
    c += n + 1;
  }
}

/* Scans a DNS-like host: components of [A-Za-z0-9-] that start and end with
 * [A-Za-z0-9], joined by '.'. Returns the end of the host, or NULL. */
static const char *scan_host_name(const char *p) {
  for (;;) {
    if (!is_alnum(*p))
      return NULL;
    while (is_alnum(*p) || *p == '-')
      p++;
    if (p[-1] == '-')
      return NULL;
    if (*p != '.')
      return p;
    p++;
  }
}

/* Scans "[" [0-9A-Fa-f:]+ "]". Returns the end, or NULL. */
static const char *scan_ipv6(const char *p) {
  const char *start = ++p;
  while (is_hex(*p) || *p == ':')
    p++;
  if (p == start || *p != ']')
    return NULL;
  return p + 1;
}

static bool domain_valid(const char *d) {
  const char *p = *d == '[' ? scan_ipv6(d) : scan_host_name(d);
  if (p == NULL)
    return false;
  if (*p == '\0')
    return true;
  if (*p++ != ':' || !is_digit(*p))
    return false;
  while (is_digit(*p))
    p++;
  return *p == '\0';
}

/* A first part taken as a domain only for its uppercase letters was most
 * likely meant as a namespace; Docker then says the name must be lowercase. */
static int check_domain(const ref_parts *parts, st_error **err) {
  const char *domain = parts->domain;
  if (domain_valid(domain))
    return 0;
  if (strpbrk(domain, ".:") == NULL && has_upper(domain, strlen(domain)))
    return st_error_set(err, EINVAL,
                        REF_ERR ": repository name (%s/%s) must be lowercase",
                        domain, parts->path);
  return st_error_set(err, EINVAL,
                      REF_ERR ": domain (%s) must be a host name, an IPv4 "
                              "address or a [IPv6 address], with an optional "
                              ":port",
                      domain);
}

/* tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_valid(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > ST_REF_TAG_MAX || !is_word(t[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
      return false;
  return true;
}

static int check_tag(const char *tag, const char *input, st_error **err) {
  if (*tag == '\0')
    return st_error_set(err, EINVAL, REF_ERR ": empty tag after ':' in \"%s\"",
                        input);
  if (tag_valid(tag))
    return 0;
  return st_error_set(err, EINVAL,
                      REF_ERR ": tag \"%s\" has invalid characters or "
                              "length: allowed [A-Za-z0-9_.-], must start "
                              "with [A-Za-z0-9_], at most %d characters",
                      tag, ST_REF_TAG_MAX);
}

/* Checks "sha256:<64 lowercase hex>" the way go-digest does: algorithm,
 * then length, then characters, with go-digest's words. */
static int check_digest(const char *digest, const char *input, st_error **err) {
  if (*digest == '\0')
    return st_error_set(err, EINVAL,
                        REF_ERR ": empty digest after '@' in \"%s\"", input);
  const char *hex = strchr(digest, ':');
  if (hex == NULL || hex == digest)
    return st_error_set(err, EINVAL,
                        REF_ERR ": digest \"%s\": invalid checksum digest "
                                "format (expected sha256:<hex>)",
                        digest);
  size_t alg_len = (size_t)(hex - digest);
  hex++;
  if (alg_len != strlen("sha256") || memcmp(digest, "sha256", alg_len) != 0)
    return st_error_set(err, EINVAL,
                        REF_ERR ": digest \"%s\": unsupported digest "
                                "algorithm \"%.*s\" (only sha256)",
                        digest, (int)alg_len, digest);
  if (strlen(hex) != SHA256_HEX_LEN)
    return st_error_set(err, EINVAL,
                        REF_ERR ": digest \"%s\": invalid checksum digest "
                                "length (sha256 has %d hex digits)",
                        digest, SHA256_HEX_LEN);
  if (strspn(hex, "0123456789abcdef") != SHA256_HEX_LEN)
    return st_error_set(err, EINVAL,
                        REF_ERR ": digest \"%s\": invalid checksum digest "
                                "format (lowercase hex digits expected)",
                        digest);
  return 0;
}

static int check_length(const ref_parts *parts, st_error **err) {
  if (strlen(parts->domain) + 1 + strlen(parts->path) <= ST_REF_NAME_MAX)
    return 0;
  return st_error_set(err, EINVAL,
                      REF_ERR ": repository name (%s/%s) must not be more "
                              "than %d characters",
                      parts->domain, parts->path, ST_REF_NAME_MAX);
}

/* Docker refuses a bare 64-hex string as a name: it is an image ID. */
static bool is_full_identifier(const char *s) {
  return strlen(s) == SHA256_HEX_LEN &&
         strspn(s, "0123456789abcdef") == SHA256_HEX_LEN;
}

static int check_parts(const ref_parts *parts, const char *input,
                       st_error **err) {
  if (check_path(parts->path, err) < 0 || check_domain(parts, err) < 0)
    return -1;
  if (parts->tag != NULL && check_tag(parts->tag, input, err) < 0)
    return -1;
  if (parts->digest != NULL && check_digest(parts->digest, input, err) < 0)
    return -1;
  return check_length(parts, err);
}

/* Copies the checked parts into out (taking parts->path), adding the default
 * tag when neither a tag nor a digest was given. Returns 0, or -1 when out of
 * memory (out is then cleared). */
static int fill_ref(ref_parts *parts, st_ref *out) {
  const char *tag = parts->tag;
  if (tag == NULL && parts->digest == NULL)
    tag = DEFAULT_TAG;
  out->domain = strdup(parts->domain);
  out->path = steal_pointer(&parts->path);
  out->tag = tag ? strdup(tag) : NULL;
  out->digest = parts->digest ? strdup(parts->digest) : NULL;
  if (out->domain == NULL || (tag && out->tag == NULL) ||
      (parts->digest && out->digest == NULL)) {
    st_ref_clear(out);
    return -1;
  }
  return 0;
}

int st_ref_parse(const char *s, st_ref *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (s == NULL || *s == '\0')
    return st_error_set(err, EINVAL,
                        REF_ERR ": repository name must have at least one "
                                "component");
  if (is_full_identifier(s))
    return st_error_set(err, EINVAL,
                        REF_ERR ": invalid repository name (%s), cannot "
                                "specify 64-byte hexadecimal strings",
                        s);
  cleanup_free char *copy = strdup(s);
  if (copy == NULL)
    return oom(err, s);
  cleanup_parts ref_parts parts = {0};
  parts.digest = cut(copy, '@');
  if (split_name(copy, &parts) < 0)
    return oom(err, s);
  if (check_parts(&parts, s, err) < 0)
    return -1;
  if (fill_ref(&parts, out) < 0)
    return oom(err, s);
  return 0;
}

void st_ref_clear(st_ref *r) {
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof(*r));
}

char *st_ref_repo(const st_ref *r) {
  char *s = NULL;
  if (asprintf(&s, "%s/%s", r->domain, r->path) < 0)
    return NULL;
  return s;
}

char *st_ref_full(const st_ref *r) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  if (st_buf_printf(&b, "%s/%s", r->domain, r->path) < 0)
    return NULL;
  if (r->tag && st_buf_printf(&b, ":%s", r->tag) < 0)
    return NULL;
  if (r->digest && st_buf_printf(&b, "@%s", r->digest) < 0)
    return NULL;
  return st_buf_steal(&b);
}

char *st_ref_familiar(const char *normalized) {
  const char *p = normalized;
  if (strncmp(p, DEFAULT_DOMAIN "/", strlen(DEFAULT_DOMAIN "/")) != 0)
    return strdup(p);
  p += strlen(DEFAULT_DOMAIN "/");
  /* "library/" goes only when one component follows: Docker keeps
   * "library/a/b" as it is. Tags and digests hold no '/'. */
  if (strncmp(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) != 0)
    return strdup(p);
  const char *rest = p + strlen(OFFICIAL_PREFIX);
  return strdup(strchr(rest, '/') == NULL ? rest : p);
}

int st_ref_split_tag(const char *name_tag, char **repo, char **tag) {
  *repo = NULL;
  *tag = NULL;
  size_t end = strcspn(name_tag, "@");
  const char *last = memrchr(name_tag, '/', end);
  const char *start = last ? last + 1 : name_tag;
  const char *colon = memchr(start, ':', end - (size_t)(start - name_tag));
  size_t repo_len = colon ? (size_t)(colon - name_tag) : end;
  cleanup_free char *r = strndup(name_tag, repo_len);
  cleanup_free char *t = colon ? strndup(colon + 1, end - repo_len - 1) : NULL;
  if (r == NULL || (colon && t == NULL)) {
    errno = ENOMEM;
    return -1;
  }
  *repo = steal_pointer(&r);
  *tag = steal_pointer(&t);
  return 0;
}

/* ---- Go's path.Match ----
 *
 * A pattern is a list of chunks, each optionally led by stars. Like Go, a
 * chunk is matched at the leftmost place its star allows, a star never
 * spans '/', and a malformed pattern matches nothing. */

/* Reads one character of a class, '\\' escapes included. Returns it, or -1
 * when the pattern is malformed there. */
static int class_char(const char **pp) {
  const char *p = *pp;
  if (*p == '\0' || *p == '-' || *p == ']')
    return -1;
  if (*p == '\\' && *++p == '\0')
    return -1;
  *pp = p + 1;
  return p[1] == '\0' ? -1 : (unsigned char)*p;
}

/* Reads the class "[...]" at *pp and tests c against it. Returns 1 on a
 * match, 0 on none, -1 when the class is malformed. */
static int class_match(const char **pp, unsigned char c) {
  const char *p = *pp + 1;
  bool negate = *p == '^';
  bool matched = false;
  if (negate)
    p++;
  for (int n = 0;; n++) {
    if (*p == ']' && n > 0)
      break;
    int lo = class_char(&p);
    int hi = lo;
    if (lo >= 0 && *p == '-') {
      p++;
      hi = class_char(&p);
    }
    if (lo < 0 || hi < 0)
      return -1;
    if (lo <= c && c <= hi)
      matched = true;
  }
  *pp = p + 1;
  return matched != negate;
}

/* Reads one pattern element (not '*') at *pp and tests c against it.
 * Returns 1 on a match, 0 on none, -1 when the pattern is malformed. */
static int element_match(const char **pp, char c) {
  const char *p = *pp;
  switch (*p) {
  case '[':
    return class_match(pp, (unsigned char)c);
  case '?':
    *pp = p + 1;
    return c != '/';
  case '\\':
    if (p[1] == '\0')
      return -1;
    *pp = p + 2;
    return p[1] == c;
  default:
    *pp = p + 1;
    return *p == c;
  }
}

static bool pattern_valid(const char *p) {
  while (*p != '\0') {
    if (*p == '*')
      p++;
    else if (element_match(&p, 'a') < 0)
      return false;
  }
  return true;
}

/* The end of the chunk starting at p (a valid pattern): the next '*' that
 * is not escaped or inside a class, or the end. */
static const char *chunk_end(const char *p) {
  while (*p != '\0' && *p != '*')
    element_match(&p, 'a');
  return p;
}

/* Matches the chunk [p, end) at the start of s. Returns the rest of s after
 * it, or NULL when it does not match. */
static const char *chunk_match(const char *p, const char *end, const char *s) {
  while (p < end) {
    if (*s == '\0' || element_match(&p, *s) != 1)
      return NULL;
    s++;
  }
  return s;
}

/* Finds where the chunk [p, end) matches in s, after the star that leads it
 * has taken 0 or more non-'/' bytes. The last chunk must end s. Returns the
 * rest of s, or NULL. */
static const char *chunk_find(const char *p, const char *end, const char *s,
                              bool star) {
  bool last = *end == '\0';
  for (size_t i = 0;; i++) {
    const char *t = chunk_match(p, end, s + i);
    if (t != NULL && (!last || *t == '\0'))
      return t;
    if (!star || s[i] == '\0' || s[i] == '/')
      return NULL;
  }
}

static bool glob_match(const char *p, const char *s) {
  while (*p != '\0') {
    bool star = *p == '*';
    while (*p == '*')
      p++;
    if (star && *p == '\0')
      return strchr(s, '/') == NULL;
    const char *end = chunk_end(p);
    s = chunk_find(p, end, s, star);
    if (s == NULL)
      return false;
    p = end;
  }
  return *s == '\0';
}

/* Matches pattern against name and against "name:tag" when tag is set. */
static bool match_name(const char *pattern, const char *name, const char *tag) {
  if (glob_match(pattern, name))
    return true;
  if (tag == NULL)
    return false;
  cleanup_free char *with_tag = NULL;
  if (asprintf(&with_tag, "%s:%s", name, tag) < 0)
    return false;
  return glob_match(pattern, with_tag);
}

bool st_ref_filter_match(const char *pattern, const char *normalized_repo,
                         const char *tag) {
  if (!pattern_valid(pattern))
    return false;
  cleanup_free char *familiar = st_ref_familiar(normalized_repo);
  if (familiar != NULL && match_name(pattern, familiar, tag))
    return true;
  return match_name(pattern, normalized_repo, tag);
}

bool st_ref_looks_like_id(const char *s) {
  if (strncmp(s, "sha256:", strlen("sha256:")) == 0)
    s += strlen("sha256:");
  size_t n = strspn(s, "0123456789abcdef");
  return n >= 1 && n <= SHA256_HEX_LEN && s[n] == '\0';
}
