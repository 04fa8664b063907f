/* Here-document markers, as BuildKit finds them: the line is split into
 * shell words (quotes and backslashes kept), and each word matching
 * ^[0-9]*<<-?\s*[^<]*$ names a here-document. The delimiter is the word
 * after "<<" with its quotes removed; any quote in it turns expansion of
 * the body off. BuildKit always uses '\' here, whatever the escape
 * directive says. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile_int.h"
#include "util/buf.h"
#include "util/cleanup.h"

static void free_words(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Shell words of line, raw. An unterminated quote gives no words (the
 * shell lexer fails, and BuildKit then finds no here-document). */
static int raw_words(const char *line, char ***words, size_t *n) {
  size_t len = strlen(line), start = 0, i = 0;
  char quote = 0;
  bool in_word = false;
  while (i <= len) {
    size_t sp = i < len ? df_space_len(line + i, len - i) : 1;
    if (quote == 0 && sp > 0) {
      if (in_word && df_push_strn(words, n, line + start, i - start) < 0)
        return -1;
      in_word = false;
      i += sp;
      continue;
    }
    if (!in_word) {
      in_word = true;
      start = i;
    }
    char c = line[i];
    if (c == quote)
      quote = 0;
    else if (quote == 0 && (c == '\'' || c == '"'))
      quote = c;
    else if (c == '\\' && quote != '\'' && i + 1 < len)
      i++;
    i++;
  }
  if (quote != 0) {
    free_words(*words, *n);
    *words = NULL;
    *n = 0;
  }
  return 0;
}

/* s with quotes removed and backslash escapes resolved. */
static char *unquote(const char *s) {
  st_buf b = ST_BUF_INIT;
  char quote = 0;
  int ret = st_buf_putc(&b, 0);
  b.len = 0;
  for (; *s && ret == 0; s++) {
    if (*s == quote) {
      quote = 0;
      continue;
    }
    if (quote == 0 && (*s == '\'' || *s == '"')) {
      quote = *s;
      continue;
    }
    if (*s == '\\' && quote != '\'' && s[1] &&
        (quote == 0 || strchr("\"\\$`", s[1])))
      s++;
    ret = st_buf_putc(&b, *s);
  }
  if (ret < 0) {
    st_buf_free(&b);
    return NULL;
  }
  return st_buf_steal(&b);
}

static size_t count_quotes(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    n += *s == '\'' || *s == '"';
  return n;
}

int df_heredoc_word(const char *word, char **name, bool *expand, bool *chomp) {
  const char *p = word;
  while (*p >= '0' && *p <= '9')
    p++;
  if (p[0] != '<' || p[1] != '<')
    return 0;
  p += 2;
  bool ch = *p == '-';
  p += ch;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
    p++;
  if (*p == '\0' || strchr(p, '<'))
    return 0;
  char *nm = unquote(p);
  if (nm == NULL)
    return -1;
  if (*nm == '\0') {
    free(nm);
    return 0;
  }
  if (expand)
    *expand = count_quotes(nm) == count_quotes(p);
  if (chomp)
    *chomp = ch;
  if (name)
    *name = nm;
  else
    free(nm);
  return 1;
}

int df_heredoc_markers(const char *line, st_df_heredoc **docs, size_t *n,
                       st_error **err) {
  char **words = NULL;
  size_t nw = 0;
  int ret = raw_words(line, &words, &nw);
  for (size_t i = 0; ret == 0 && i < nw; i++) {
    st_df_heredoc h = {NULL, NULL, false, false};
    int r = df_heredoc_word(words[i], &h.name, &h.expand, &h.chomp);
    if (r < 0 || (r > 0 && df_push(docs, n, sizeof(h), &h) < 0)) {
      free(h.name);
      ret = -1;
    }
  }
  free_words(words, nw);
  if (ret < 0)
    return st_error_set(err, ENOMEM, "out of memory");
  return 0;
}
