/* One Dockerfile instruction, continuation lines already joined, split
 * into keyword, flags and arguments the way BuildKit's parser does it
 * (splitCommand, extractBuilderFlags and the per-instruction line
 * parsers). Nothing is expanded and quotes stay in place, except in flag
 * words (BuildKit removes their quotes) and in JSON form arguments. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "build/dockerfile_int.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* Go's unicode.IsSpace, for UTF-8 text. */
size_t df_space_len(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  if (n == 0)
    return 0;
  if (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r'))
    return 1;
  if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0))
    return 2;
  if (n < 3)
    return 0;
  if (u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) /* U+1680 */
    return 3;
  if (u[0] == 0xE2 && u[1] == 0x80 &&
      (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF))
    return u[2] >= 0x80 ? 3 : 0; /* U+2000..200A, 2028, 2029, 202F */
  if (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) /* U+205F */
    return 3;
  if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) /* U+3000 */
    return 3;
  return 0;
}

bool df_byte_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0;
}

/* The white space of BuildKit's reWhitespace: [\t\v\f\r ]. */
static bool re_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

int df_push(void *arr, size_t *n, size_t elsize, const void *item) {
  char **a = arr;
  size_t cnt = *n;
  if ((cnt & (cnt - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
    size_t cap = cnt ? cnt * 2 : 1;
    char *p = realloc(*a, cap * elsize);
    if (p == NULL)
      return -1;
    *a = p;
  }
  memcpy(*a + cnt * elsize, item, elsize);
  *n = cnt + 1;
  return 0;
}

int df_push_strn(char ***arr, size_t *n, const char *s, size_t len) {
  char *copy = strndup(s, len);
  if (copy == NULL || df_push(arr, n, sizeof(char *), &copy) < 0) {
    free(copy);
    return -1;
  }
  return 0;
}

char *df_quote(const char *s) {
  st_buf b = ST_BUF_INIT;
  int ret = st_buf_putc(&b, '"');
  for (; *s && ret == 0; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      ret = st_buf_printf(&b, "\\%c", c);
    else if (c < 0x20 || c == 0x7f)
      ret = st_buf_printf(&b, "\\x%02x", c);
    else
      ret = st_buf_putc(&b, (char)c);
  }
  if (ret < 0 || st_buf_putc(&b, '"') < 0) {
    st_buf_free(&b);
    return NULL;
  }
  return st_buf_steal(&b);
}

static int nomem(st_error **err) {
  return st_error_set(err, ENOMEM, "out of memory");
}

/* Trims Go white space on both ends of s[0..*n). */
static const char *trim_space(const char *s, size_t *n) {
  size_t w;
  while ((w = df_space_len(s, *n)) > 0) {
    s += w;
    *n -= w;
  }
  for (bool again = true; again && *n > 0;) {
    again = false;
    for (size_t k = 1; k <= 3 && k <= *n; k++) {
      if (df_space_len(s + *n - k, k) == k) {
        *n -= k;
        again = true;
        break;
      }
    }
  }
  return s;
}

/* Splits s on runs of [\t\v\f\r ] (BuildKit's
 * parseStringsWhitespaceDelimited); nothing for "". */
static int split_ws(const char *s, char ***words, size_t *n) {
  while (*s) {
    size_t len = 0;
    while (s[len] && !re_space(s[len]))
      len++;
    if (df_push_strn(words, n, s, len) < 0)
      return -1;
    s += len;
    if (*s == '\0')
      break;
    while (re_space(*s))
      s++;
    if (*s == '\0' && df_push_strn(words, n, "", 0) < 0)
      return -1;
  }
  return 0;
}

static int add_flag(st_df_instr *in, const st_buf *w) {
  const char *word = w->data + 2; /* the word starts with "--" */
  const char *eq = strchr(word, '=');
  st_df_flag f = {NULL, NULL};
  f.name = eq ? strndup(word, (size_t)(eq - word)) : strdup(word);
  if (eq)
    f.value = strdup(eq + 1);
  if (f.name == NULL || (eq && f.value == NULL) ||
      df_push(&in->flags, &in->n_flags, sizeof(f), &f) < 0) {
    free(f.name);
    free(f.value);
    return -1;
  }
  return 0;
}

/* Flag words end the word when white space (byte-wise, as BuildKit reads
 * them) or end of line follows; "--" alone ends the flags. */
static int end_flag_word(st_df_instr *in, st_buf *w, bool blank_ok,
                         bool *stop) {
  *stop = w->len == 2 && memcmp(w->data, "--", 2) == 0;
  if (!*stop && (blank_ok || w->len > 0) && add_flag(in, w) < 0)
    return -1;
  w->len = 0;
  return 0;
}

/* BuildKit's extractBuilderFlags: leading words that start with "--" are
 * flags, their quotes and escapes removed. *rest is what follows. */
static int extract_flags(st_df_instr *in, const char *line, char esc,
                         const char **rest) {
  cleanup_buf st_buf w = ST_BUF_INIT;
  enum { SPACES, WORD, QUOTE } phase = SPACES;
  size_t len = strlen(line);
  char quote = 0;
  bool blank_ok = false, stop;
  for (size_t pos = 0; pos <= len; pos++) {
    char ch = line[pos];
    if (phase == SPACES) {
      if (pos == len)
        break;
      if (df_byte_space((unsigned char)ch))
        continue;
      if (ch != '-' || line[pos + 1] != '-') {
        *rest = line + pos;
        return 0;
      }
      phase = WORD;
    }
    if (pos == len)
      break;
    if (phase == WORD && df_byte_space((unsigned char)ch)) {
      if (end_flag_word(in, &w, blank_ok, &stop) < 0)
        return -1;
      if (stop) {
        *rest = line + pos;
        return 0;
      }
      blank_ok = false;
      phase = SPACES;
      continue;
    }
    if (phase == WORD && (ch == '\'' || ch == '"')) {
      quote = ch;
      blank_ok = true;
      phase = QUOTE;
      continue;
    }
    if (phase == QUOTE && ch == quote) {
      phase = WORD;
      continue;
    }
    if (ch == esc) {
      if (pos + 1 == len) {
        phase = WORD;
        continue;
      }
      ch = line[++pos];
    }
    if (st_buf_putc(&w, ch) < 0)
      return -1;
  }
  *rest = line + len;
  if (phase != SPACES && end_flag_word(in, &w, blank_ok, &stop) < 0)
    return -1;
  return 0;
}

/* BuildKit's parseWords: words split on unquoted white space, quotes and
 * escapes kept for the expander; an escape at the very end is dropped. */
static int parse_words(const char *s, char esc, char ***words, size_t *n) {
  cleanup_buf st_buf w = ST_BUF_INIT;
  enum { SPACES, WORD, QUOTE } phase = SPACES;
  size_t len = strlen(s), step;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos < len; pos += step) {
    size_t sp = df_space_len(s + pos, len - pos);
    char ch = s[pos];
    step = sp && phase != QUOTE ? sp : 1;
    if (phase == SPACES && sp)
      continue;
    if (phase == SPACES)
      phase = WORD;
    if (phase == WORD && sp) {
      if ((blank_ok || w.len > 0) && df_push_strn(words, n, w.data, w.len) < 0)
        return -1;
      w.len = 0;
      blank_ok = false;
      phase = SPACES;
      continue;
    }
    if (phase == WORD && (ch == '\'' || ch == '"')) {
      quote = ch;
      blank_ok = true;
      phase = QUOTE;
    } else if (phase == QUOTE && ch == quote) {
      phase = WORD;
    }
    if (ch == esc && (phase == WORD || quote != '\'')) {
      if (pos + 1 == len) {
        phase = WORD;
        continue;
      }
      if (st_buf_putc(&w, ch) < 0)
        return -1;
      ch = s[++pos];
    }
    if (st_buf_putc(&w, ch) < 0)
      return -1;
  }
  if (phase != SPACES && (blank_ok || w.len > 0) &&
      df_push_strn(words, n, w.data ? w.data : "", w.len) < 0)
    return -1;
  return 0;
}

static int push_pair(st_df_instr *in, const char *key, size_t klen,
                     const char *value) {
  st_df_pair p = {strndup(key, klen), value ? strdup(value) : NULL};
  if (p.key == NULL || (value && p.value == NULL) ||
      df_push(&in->pairs, &in->n_pairs, sizeof(p), &p) < 0) {
    free(p.key);
    free(p.value);
    return -1;
  }
  return 0;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* "ENV KEY value with spaces": the key, then the rest of the line. */
static int parse_legacy_pair(st_df_instr *in, const char *rest,
                             st_error **err) {
  size_t klen = 0;
  while (rest[klen] && !re_space(rest[klen]))
    klen++;
  if (rest[klen] == '\0')
    return st_error_set(err, EINVAL, "%s must have two arguments",
                        st_df_kind_name(in->kind));
  const char *value = rest + klen;
  while (re_space(*value))
    value++;
  in->legacy = true;
  return push_pair(in, rest, klen, value) < 0 ? nomem(err) : 0;
}

/* BuildKit's parseNameVal for ENV and LABEL: "K=V ..." or the legacy
 * "K V". Each word of the new form must hold '='. */
static int parse_name_val(st_df_instr *in, const char *rest, char esc,
                          st_error **err) {
  char **words = NULL;
  size_t n = 0;
  int ret = 0;
  if (parse_words(rest, esc, &words, &n) < 0)
    ret = nomem(err);
  else if (n > 0 && strchr(words[0], '=') == NULL)
    ret = parse_legacy_pair(in, rest, err);
  for (size_t i = 0; ret == 0 && i < n && !in->legacy; i++) {
    const char *eq = strchr(words[i], '=');
    if (eq == NULL) {
      cleanup_free char *q = df_quote(words[i]);
      ret = st_error_set(err, EINVAL,
                         "Syntax error - can't find = in %s. Must be of the "
                         "form: name=value",
                         q ? q : words[i]);
    } else if (push_pair(in, words[i], (size_t)(eq - words[i]), eq + 1) < 0) {
      ret = nomem(err);
    }
  }
  free_strv(words, n);
  return ret;
}

/* ARG NAME[=default] ...: each word is a pair. */
static int parse_arg(st_df_instr *in, const char *rest, char esc,
                     st_error **err) {
  char **words = NULL;
  size_t n = 0;
  int ret = parse_words(rest, esc, &words, &n);
  for (size_t i = 0; ret == 0 && i < n; i++) {
    const char *eq = strchr(words[i], '=');
    size_t klen = eq ? (size_t)(eq - words[i]) : strlen(words[i]);
    ret = push_pair(in, words[i], klen, eq ? eq + 1 : NULL);
  }
  free_strv(words, n);
  return ret < 0 ? nomem(err) : 0;
}

/* The exec form: 1 when rest is a JSON array of strings (args set), 0 when
 * it is not JSON (shell form), < 0 for an array holding a non-string. */
static int parse_json(st_df_instr *in, const char *rest, st_error **err) {
  if (rest[0] != '[')
    return 0;
  json_t *a = json_loads(rest, 0, NULL);
  if (a == NULL || !json_is_array(a)) {
    json_decref(a);
    return 0;
  }
  size_t i;
  json_t *v;
  int ret = 1;
  json_array_foreach(a, i, v) {
    if (!json_is_string(v)) {
      ret = st_error_set(err, EINVAL,
                         "when using JSON array syntax, arrays must be "
                         "comprised of strings only");
      break;
    }
    if (df_push_strn(&in->args, &in->n_args, json_string_value(v),
                     json_string_length(v)) < 0) {
      ret = nomem(err);
      break;
    }
  }
  json_decref(a);
  in->json = ret == 1;
  return ret;
}

/* RUN, CMD, ENTRYPOINT, SHELL (list false): JSON or the text as is.
 * COPY, ADD, VOLUME (list true): JSON or the words. */
static int parse_maybe_json(st_df_instr *in, const char *rest, bool list,
                            st_error **err) {
  if (rest[0] == '\0')
    return 0;
  int r = parse_json(in, rest, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  if (list)
    return split_ws(rest, &in->args, &in->n_args) < 0 ? nomem(err) : 0;
  in->rest = strdup(rest);
  return in->rest ? 0 : nomem(err);
}

/* HEALTHCHECK TYPE [ARGS]: args[0] is TYPE; the rest is parsed as a CMD
 * in sub (the check pass decides whether the type allows it). */
static int parse_health(st_df_instr *in, const char *rest, st_error **err) {
  size_t sep = 0;
  while (rest[sep] && !df_byte_space((unsigned char)rest[sep]))
    sep++;
  if (sep == 0)
    return 0;
  const char *next = rest + sep;
  while (*next && df_byte_space((unsigned char)*next))
    next++;
  st_df_instr *sub = calloc(1, sizeof(*sub));
  if (sub == NULL)
    return nomem(err);
  in->sub = sub;
  sub->kind = ST_DF_CMD;
  sub->keyword = strndup(rest, sep);
  sub->text = strdup(rest);
  if (sub->keyword == NULL || sub->text == NULL ||
      df_push_strn(&in->args, &in->n_args, rest, sep) < 0)
    return nomem(err);
  return parse_maybe_json(sub, next, false, err);
}

/* ONBUILD INSTRUCTION: rest is the trigger's text, sub its parse (one
 * level only: "ONBUILD ONBUILD ..." is refused by the check pass). */
static int parse_onbuild(st_df_instr *in, const char *rest, char esc, int depth,
                         st_error **err) {
  if (rest[0] == '\0')
    return 0;
  in->rest = strdup(rest);
  if (in->rest == NULL)
    return nomem(err);
  if (depth > 0)
    return 0;
  in->sub = calloc(1, sizeof(*in->sub));
  if (in->sub == NULL)
    return nomem(err);
  return df_parse_instr(rest, esc, depth + 1, in->sub, err);
}

static int parse_args(st_df_instr *in, const char *rest, char esc, int depth,
                      st_error **err) {
  switch (in->kind) {
  case ST_DF_RUN:
  case ST_DF_CMD:
  case ST_DF_ENTRYPOINT:
  case ST_DF_SHELL:
    return parse_maybe_json(in, rest, false, err);
  case ST_DF_COPY:
  case ST_DF_ADD:
  case ST_DF_VOLUME:
    return parse_maybe_json(in, rest, true, err);
  case ST_DF_FROM:
  case ST_DF_EXPOSE:
    return split_ws(rest, &in->args, &in->n_args) < 0 ? nomem(err) : 0;
  case ST_DF_ENV:
  case ST_DF_LABEL:
    return parse_name_val(in, rest, esc, err);
  case ST_DF_ARG:
    return parse_arg(in, rest, esc, err);
  case ST_DF_WORKDIR:
  case ST_DF_USER:
  case ST_DF_STOPSIGNAL:
  case ST_DF_MAINTAINER:
    if (rest[0] != '\0' && (in->rest = strdup(rest)) == NULL)
      return nomem(err);
    return 0;
  case ST_DF_HEALTHCHECK:
    return parse_health(in, rest, err);
  case ST_DF_ONBUILD:
    return parse_onbuild(in, rest, esc, depth, err);
  default:
    return 0; /* unknown: refused by the check pass */
  }
}

int df_parse_instr(const char *line, char esc, int depth, st_df_instr *in,
                   st_error **err) {
  size_t n = strlen(line), klen = 0;
  const char *s = trim_space(line, &n);
  while (klen < n && !re_space(s[klen]))
    klen++;
  in->text = strndup(s, n);
  in->keyword = strndup(s, klen);
  if (in->text == NULL || in->keyword == NULL)
    return nomem(err);
  in->kind = df_kind_of(in->keyword);
  const char *after = in->text + klen, *rest = "";
  while (re_space(*after))
    after++;
  if (extract_flags(in, after, esc, &rest) < 0)
    return nomem(err);
  size_t rlen = strlen(rest);
  rest = trim_space(rest, &rlen);
  cleanup_free char *args = strndup(rest, rlen);
  if (args == NULL)
    return nomem(err);
  return parse_args(in, args, esc, depth, err);
}
