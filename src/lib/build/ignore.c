/* .dockerignore matching; the rules are in ignore.h.
 *
 * Each pattern is compiled once into path components (split at '/': "src",
 * "*.go"), and each component into tokens (a literal run, '?', a class,
 * '*'), or it is the globstar "**". Matching walks the segments of the path
 * in place: no regex and no allocation per path. Both levels (components
 * against segments, tokens against the bytes of one segment) use the greedy
 * wildcard algorithm: remember the last star and, on a mismatch, let it
 * take one more unit and retry. That is O(path x pattern) at worst, never
 * exponential.
 *
 * Where moby's patternmatcher behaves differently from its own regex
 * translation (it uses string suffix/prefix shortcuts for some patterns),
 * strata follows the documented meaning: "**" is any number of whole
 * directories.
 */
#include "build/ignore.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"

enum tok_kind { TOK_LIT, TOK_ONE, TOK_STAR, TOK_CLASS };

typedef struct tok {
  uint8_t kind;
  bool negated; /* TOK_CLASS: "[!...]" or "[^...]" */
  uint32_t off; /* TOK_LIT: offset in lits; TOK_CLASS: first range */
  uint32_t len; /* TOK_LIT: bytes; TOK_CLASS: number of ranges */
} tok;

typedef struct comp {
  bool globstar; /* "**": any number of segments; no tokens */
  uint32_t tok, ntok;
} comp;

typedef struct range {
  uint32_t lo, hi;
} range;

typedef struct pattern {
  char *text; /* cleaned, '!' kept */
  bool exception;
  uint32_t comp, ncomp;
} pattern;

struct st_ignore {
  pattern *pats;
  size_t npats, cap_pats;
  comp *comps;
  size_t ncomps, cap_comps;
  tok *toks;
  size_t ntoks, cap_toks;
  range *ranges;
  size_t nranges, cap_ranges;
  st_buf lits;
  bool has_exceptions;
};

/* Appends a zeroed element to a growable array; NULL when out of memory. */
static void *vec_add(void *arrp, size_t *n, size_t *cap, size_t size) {
  char **arr = arrp;
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    char *na = realloc(*arr, ncap * size);
    if (na == NULL)
      return NULL;
    *arr = na;
    *cap = ncap;
  }
  char *e = *arr + *n * size;
  memset(e, 0, size);
  (*n)++;
  return e;
}

/* Decodes one UTF-8 character of s[0..n) (n > 0). An invalid sequence is
 * one byte, U+FFFD, with *bad set. */
static uint32_t utf8_next(const char *s, size_t n, size_t *len, bool *bad) {
  const unsigned char *u = (const unsigned char *)s;
  size_t need;
  uint32_t cp, min;
  *bad = false;
  *len = 1;
  if (u[0] < 0x80)
    return u[0];
  if (u[0] >= 0xc2 && u[0] <= 0xdf) {
    need = 2, cp = u[0] & 0x1f, min = 0x80;
  } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
    need = 3, cp = u[0] & 0x0f, min = 0x800;
  } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
    need = 4, cp = u[0] & 0x07, min = 0x10000;
  } else {
    *bad = true;
    return 0xfffd;
  }
  if (n < need) {
    *bad = true;
    return 0xfffd;
  }
  for (size_t i = 1; i < need; i++) {
    if ((u[i] & 0xc0) != 0x80) {
      *bad = true;
      return 0xfffd;
    }
    cp = cp << 6 | (u[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    *bad = true;
    return 0xfffd;
  }
  *len = need;
  return cp;
}

static size_t utf8_len(const char *s, size_t n) {
  size_t len;
  bool bad;
  utf8_next(s, n, &len, &bad);
  return len;
}

/* ---- compiling ---------------------------------------------------------- */

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

static void trim(const char **s, size_t *n) {
  while (*n > 0 && is_space(**s))
    (*s)++, (*n)--;
  while (*n > 0 && is_space((*s)[*n - 1]))
    (*n)--;
}

/* Go's filepath.Clean of p[0..n) (n > 0) into out: repeated '/' become
 * one, "." elements go, "x/.." pairs go, ".." above the root of a rooted
 * path goes, and a trailing '/' goes; "" becomes ".". */
static int clean_path(const char *p, size_t n, st_buf *out) {
  bool rooted = p[0] == '/';
  size_t r = 0, dotdot = 0;
  if (rooted) {
    if (st_buf_putc(out, '/') < 0)
      return -1;
    r = dotdot = 1;
  }
  while (r < n) {
    if (p[r] == '/') {
      r++;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      r++;
    } else if (p[r] == '.' && p[r + 1] == '.' &&
               (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (out->len > dotdot) {
        out->len--;
        while (out->len > dotdot && out->data[out->len] != '/')
          out->len--;
        out->data[out->len] = '\0';
      } else if (!rooted) {
        if (out->len > 0 && st_buf_putc(out, '/') < 0)
          return -1;
        if (st_buf_puts(out, "..") < 0)
          return -1;
        dotdot = out->len;
      }
    } else {
      if (out->len != (rooted ? 1u : 0u) && st_buf_putc(out, '/') < 0)
        return -1;
      size_t s = r;
      while (r < n && p[r] != '/')
        r++;
      if (st_buf_append(out, p + s, r - s) < 0)
        return -1;
    }
  }
  if (out->len == 0)
    return st_buf_putc(out, '.');
  return 0;
}

/* State of the tokenizer for one pattern. */
typedef struct compiler {
  st_ignore *ig;
  size_t first_comp;     /* of the pattern being compiled */
  size_t cur;            /* index of the component being filled */
  size_t stars_at_start; /* length of the star run opening the component */
  bool only_stars;       /* the component so far is that run */
} compiler;

enum { C_OK = 0, C_NOMEM = -1, C_BAD = -2 };

static int comp_begin(compiler *c) {
  st_ignore *ig = c->ig;
  comp *k = vec_add(&ig->comps, &ig->ncomps, &ig->cap_comps, sizeof(comp));
  if (k == NULL)
    return C_NOMEM;
  k->tok = (uint32_t)ig->ntoks;
  c->cur = ig->ncomps - 1;
  c->stars_at_start = 0;
  c->only_stars = true;
  return C_OK;
}

/* Closes the current component: a component of two or more stars is the
 * globstar; "**x" is a globstar followed by "*x" (so "**.pyc" is any .pyc
 * at any depth, as with Docker); repeated globstars are one. */
static int comp_end(compiler *c) {
  st_ignore *ig = c->ig;
  comp *k = &ig->comps[c->cur];
  k->ntok = (uint32_t)(ig->ntoks - k->tok);
  if (c->stars_at_start < 2)
    return C_OK;
  bool prev_globstar = c->cur > c->first_comp && ig->comps[c->cur - 1].globstar;
  if (c->only_stars) {
    if (prev_globstar) {
      ig->ntoks = k->tok;
      ig->ncomps--;
      return C_OK;
    }
    k->globstar = true;
    k->ntok = 0;
    ig->ntoks = k->tok; /* drop its lone STAR token */
    return C_OK;
  }
  if (prev_globstar)
    return C_OK;
  comp *n = vec_add(&ig->comps, &ig->ncomps, &ig->cap_comps, sizeof(comp));
  if (n == NULL)
    return C_NOMEM;
  ig->comps[c->cur + 1] = ig->comps[c->cur];
  ig->comps[c->cur] = (comp){.globstar = true};
  c->cur++;
  return C_OK;
}

static tok *tok_add(compiler *c, enum tok_kind kind) {
  st_ignore *ig = c->ig;
  tok *t = vec_add(&ig->toks, &ig->ntoks, &ig->cap_toks, sizeof(tok));
  if (t)
    t->kind = (uint8_t)kind;
  return t;
}

static int lit_add(compiler *c, const char *s, size_t n) {
  st_ignore *ig = c->ig;
  comp *k = &ig->comps[c->cur];
  tok *last = ig->ntoks > k->tok ? &ig->toks[ig->ntoks - 1] : NULL;
  if (last == NULL || last->kind != TOK_LIT) {
    last = tok_add(c, TOK_LIT);
    if (last == NULL)
      return C_NOMEM;
    last->off = (uint32_t)ig->lits.len;
  }
  if (st_buf_append(&ig->lits, s, n) < 0)
    return C_NOMEM;
  last->len += (uint32_t)n;
  return C_OK;
}

/* One end of a class range at s[*p]: Go's rules (no unescaped '-' or ']',
 * '\\' escapes, the class must go on after it). */
static int class_char(const char *s, size_t n, size_t *p, uint32_t *cp) {
  if (*p >= n || s[*p] == '-' || s[*p] == ']')
    return C_BAD;
  if (s[*p] == '\\' && ++*p >= n)
    return C_BAD;
  size_t len;
  bool bad;
  *cp = utf8_next(s + *p, n - *p, &len, &bad);
  *p += len;
  return bad || *p >= n ? C_BAD : C_OK;
}

/* Parses the class that opens at s[*p] == '['. */
static int class_add(compiler *c, const char *s, size_t n, size_t *p) {
  st_ignore *ig = c->ig;
  size_t i = *p + 1;
  bool negated = false;
  if (i < n && (s[i] == '!' || s[i] == '^'))
    negated = true, i++;
  uint32_t first = (uint32_t)ig->nranges, count = 0;
  for (;;) {
    if (i < n && s[i] == ']' && count > 0) {
      i++;
      break;
    }
    uint32_t lo, hi;
    if (class_char(s, n, &i, &lo) < 0)
      return C_BAD;
    hi = lo;
    if (s[i] == '-') {
      i++;
      if (class_char(s, n, &i, &hi) < 0)
        return C_BAD;
    }
    if (lo > hi)
      return C_BAD;
    range *r =
        vec_add(&ig->ranges, &ig->nranges, &ig->cap_ranges, sizeof(range));
    if (r == NULL)
      return C_NOMEM;
    *r = (range){lo, hi};
    count++;
  }
  tok *t = tok_add(c, TOK_CLASS);
  if (t == NULL)
    return C_NOMEM;
  t->negated = negated;
  t->off = first;
  t->len = count;
  *p = i;
  return C_OK;
}

/* Adds one token starting at s[*p] and advances *p past it. */
static int tok_scan(compiler *c, const char *s, size_t n, size_t *p) {
  st_ignore *ig = c->ig;
  size_t i = *p;
  if (s[i] == '*') {
    size_t run = 0;
    while (i + run < n && s[i + run] == '*')
      run++;
    if (ig->ntoks == ig->comps[c->cur].tok)
      c->stars_at_start = run;
    else
      c->only_stars = false;
    *p = i + run;
    tok *last =
        ig->ntoks > ig->comps[c->cur].tok ? &ig->toks[ig->ntoks - 1] : NULL;
    if (last && last->kind == TOK_STAR)
      return C_OK;
    return tok_add(c, TOK_STAR) ? C_OK : C_NOMEM;
  }
  c->only_stars = false;
  if (s[i] == '?') {
    *p = i + 1;
    return tok_add(c, TOK_ONE) ? C_OK : C_NOMEM;
  }
  if (s[i] == '[')
    return class_add(c, s, n, p);
  if (s[i] == '\\') {
    if (i + 1 >= n)
      return C_BAD;
    size_t len = utf8_len(s + i + 1, n - i - 1);
    *p = i + 1 + len;
    return lit_add(c, s + i + 1, len);
  }
  *p = i + 1;
  return lit_add(c, s + i, 1);
}

/* Compiles the cleaned pattern s[0..n) into components; '/' (also "\/")
 * separates them. */
static int pattern_compile(st_ignore *ig, const char *s, size_t n,
                           pattern *pt) {
  compiler c = {.ig = ig, .first_comp = ig->ncomps};
  int r = comp_begin(&c);
  size_t i = 0;
  while (r == C_OK && i < n) {
    if (s[i] == '/' || (s[i] == '\\' && i + 1 < n && s[i + 1] == '/')) {
      i += s[i] == '/' ? 1 : 2;
      r = comp_end(&c);
      if (r == C_OK)
        r = comp_begin(&c);
    } else {
      r = tok_scan(&c, s, n, &i);
    }
  }
  if (r == C_OK)
    r = comp_end(&c);
  if (r != C_OK)
    return r;
  /* A trailing globstar must take at least one segment: it stands for what
   * is inside the directory, not the directory itself. Because a pattern
   * that matches a directory also matches all below it, that is exactly a
   * "*" component. */
  comp *last = &ig->comps[ig->ncomps - 1];
  if (last->globstar) {
    last->globstar = false;
    last->tok = (uint32_t)ig->ntoks;
    last->ntok = 1;
    if (tok_add(&c, TOK_STAR) == NULL)
      return C_NOMEM;
  }
  pt->comp = (uint32_t)c.first_comp;
  pt->ncomp = (uint32_t)(ig->ncomps - c.first_comp);
  return C_OK;
}

/* Adds one line of the file (without its '\n'). */
static int line_add(st_ignore *ig, const char *line, size_t len, size_t lineno,
                    st_error **err) {
  if (len > 0 && line[0] == '#')
    return 0;
  trim(&line, &len);
  if (len == 0)
    return 0;
  const char *orig = line;
  size_t orig_len = len;
  bool exception = line[0] == '!';
  if (exception) {
    line++, len--;
    trim(&line, &len);
  }
  int r = C_BAD;
  if (len > 0) {
    cleanup_buf st_buf clean = ST_BUF_INIT;
    if (clean_path(line, len, &clean) < 0)
      goto nomem;
    const char *p = clean.data;
    if (clean.len > 1 && p[0] == '/')
      p++;
    size_t plen = clean.len - (size_t)(p - clean.data);
    size_t mark = ig->ncomps, tmark = ig->ntoks, rmark = ig->nranges;
    size_t lmark = ig->lits.len;
    pattern pt = {.exception = exception};
    r = pattern_compile(ig, p, plen, &pt);
    if (r == C_OK) {
      pattern *slot =
          vec_add(&ig->pats, &ig->npats, &ig->cap_pats, sizeof(pattern));
      if (slot && asprintf(&pt.text, "%s%s", exception ? "!" : "", p) >= 0) {
        *slot = pt;
        ig->has_exceptions |= exception;
        return 0;
      }
      if (slot)
        ig->npats--;
      r = C_NOMEM;
    }
    ig->ncomps = mark, ig->ntoks = tmark, ig->nranges = rmark;
    ig->lits.len = lmark;
  }
  if (r == C_NOMEM)
    goto nomem;
  return st_error_set(err, EINVAL, "line %zu: bad pattern \"%.*s\"", lineno,
                      (int)orig_len, orig);
nomem:
  return st_error_set(err, ENOMEM, "line %zu: out of memory", lineno);
}

int st_ignore_compile(const char *text, size_t len, st_ignore **out,
                      st_error **err) {
  *out = NULL;
  st_ignore *ig = calloc(1, sizeof(*ig));
  if (ig == NULL)
    return st_error_set(err, ENOMEM, "out of memory");
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
    text += 3, len -= 3;
  size_t lineno = 0;
  while (len > 0) {
    const char *nl = memchr(text, '\n', len);
    size_t n = nl ? (size_t)(nl - text) : len;
    if (line_add(ig, text, n, ++lineno, err) < 0) {
      st_ignore_free(ig);
      return -1;
    }
    text += nl ? n + 1 : n;
    len -= nl ? n + 1 : n;
  }
  *out = ig;
  return 0;
}

/* ---- matching ----------------------------------------------------------- */

/* Whether token t matches one unit at s[0..n) (n > 0); *used is its
 * length in bytes. */
static bool tok_match(const st_ignore *ig, const tok *t, const char *s,
                      size_t n, size_t *used) {
  if (t->kind == TOK_LIT) {
    *used = t->len;
    return n >= t->len &&
           (t->len == 0 || memcmp(s, ig->lits.data + t->off, t->len) == 0);
  }
  bool bad;
  uint32_t cp = utf8_next(s, n, used, &bad);
  if (t->kind == TOK_ONE)
    return true;
  bool in = false;
  for (uint32_t i = 0; i < t->len && !in; i++) {
    const range *r = &ig->ranges[t->off + i];
    in = cp >= r->lo && cp <= r->hi;
  }
  return in != t->negated;
}

/* Whether component k matches the whole segment s[0..n). */
static bool comp_match(const st_ignore *ig, const comp *k, const char *s,
                       size_t n) {
  /* an empty component has no tokens, and toks may then be NULL */
  const tok *t = k->ntok ? ig->toks + k->tok : NULL;
  size_t ti = 0, si = 0, star_ti = SIZE_MAX, star_si = 0;
  while (si < n || ti < k->ntok) {
    if (ti < k->ntok) {
      if (t[ti].kind == TOK_STAR) {
        star_ti = ti++;
        star_si = si;
        continue;
      }
      size_t used;
      if (si < n && tok_match(ig, &t[ti], s + si, n - si, &used)) {
        si += used;
        ti++;
        continue;
      }
    }
    if (star_ti == SIZE_MAX || star_si >= n)
      return false;
    star_si += utf8_len(s + star_si, n - star_si);
    si = star_si;
    ti = star_ti + 1;
  }
  return true;
}

static size_t skip_slashes(const char *p, size_t i) {
  while (p[i] == '/')
    i++;
  return i;
}

static size_t seg_end(const char *p, size_t i) {
  while (p[i] != '\0' && p[i] != '/')
    i++;
  return i;
}

/* Walks pattern pt over the segments of path. Returns true when the pattern
 * matches the path or one of its parent directories. With partial, also
 * true when the path runs out while the pattern could go on (something
 * below the path could match). */
static bool pattern_walk(const st_ignore *ig, const pattern *pt,
                         const char *path, bool partial) {
  const comp *k = pt->ncomp ? ig->comps + pt->comp : NULL;
  size_t ci = 0, m = pt->ncomp, star_ci = SIZE_MAX, star_pos = 0;
  size_t pos = skip_slashes(path, 0);
  for (;;) {
    if (ci == m)
      return true;
    if (k[ci].globstar) {
      star_ci = ci++;
      star_pos = pos;
      continue;
    }
    if (path[pos] == '\0')
      return partial;
    size_t end = seg_end(path, pos);
    if (comp_match(ig, &k[ci], path + pos, end - pos)) {
      ci++;
      pos = skip_slashes(path, end);
      continue;
    }
    if (star_ci == SIZE_MAX)
      return false;
    star_pos = skip_slashes(path, seg_end(path, star_pos));
    pos = star_pos;
    ci = star_ci + 1;
  }
}

bool st_ignore_match(const st_ignore *ig, const char *path) {
  if (ig == NULL || path == NULL || path[skip_slashes(path, 0)] == '\0')
    return false;
  for (size_t i = ig->npats; i-- > 0;) {
    if (pattern_walk(ig, &ig->pats[i], path, false))
      return !ig->pats[i].exception;
  }
  return false;
}

bool st_ignore_may_reinclude(const st_ignore *ig, const char *dir) {
  if (ig == NULL || !ig->has_exceptions)
    return false;
  if (dir == NULL || dir[skip_slashes(dir, 0)] == '\0')
    return true;
  /* The last pattern matching dir decides for everything below it too; only
   * an exception after it can re-include something. */
  size_t from = 0;
  for (size_t i = ig->npats; i-- > 0;) {
    if (pattern_walk(ig, &ig->pats[i], dir, false)) {
      from = i + 1;
      break;
    }
  }
  for (size_t i = from; i < ig->npats; i++) {
    if (ig->pats[i].exception && pattern_walk(ig, &ig->pats[i], dir, true))
      return true;
  }
  return false;
}

size_t st_ignore_count(const st_ignore *ig) {
  return ig ? ig->npats : 0;
}

const char *st_ignore_pattern(const st_ignore *ig, size_t i) {
  return ig && i < ig->npats ? ig->pats[i].text : NULL;
}

void st_ignore_free(st_ignore *ig) {
  if (ig == NULL)
    return;
  for (size_t i = 0; i < ig->npats; i++)
    free(ig->pats[i].text);
  free(ig->pats);
  free(ig->comps);
  free(ig->toks);
  free(ig->ranges);
  st_buf_free(&ig->lits);
  free(ig);
}
