/* Go text/template for `--format`, over jansson values: the public API
 * (Docker's preparation of the format, parse, execute, table header) and
 * the helpers every stage shares. See template_internal.h for the parts.
 */
#include "fmt/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "util/cleanup.h"

/* ==== shared helpers ================================================== */

void *st_tpl_vec_push(void **items, size_t *n, size_t *cap, size_t elem) {
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

int st_tpl_line_of(const char *src, size_t pos) {
  int line = 1;
  for (size_t i = 0; i < pos && src[i]; i++)
    line += src[i] == '\n';
  return line;
}

int st_tpl_oom_error(st_error **err) {
  return st_error_set(err, ENOMEM, "out of memory");
}

int st_tpl_parse_errorv(st_error **err, const char *src, size_t pos,
                        const char *fmt, va_list ap) {
  cleanup_free char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) {
    msg = NULL;
    return st_tpl_oom_error(err);
  }
  return st_error_set(err, EINVAL, "template: :%d: %s",
                      st_tpl_line_of(src, pos), msg);
}

int st_tpl_parse_error(st_error **err, const char *src, size_t pos,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_tpl_parse_errorv(err, src, pos, fmt, ap);
  va_end(ap);
  return r;
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
    return st_tpl_oom_error(err);
  }
  t->src = src;
  t->table = table;
  struct token *toks = NULL;
  size_t ntoks = 0;
  int rc = st_tpl_lex(src, &toks, &ntoks, err);
  if (rc == 0) {
    rc = st_tpl_parse(src, toks, &t->root, err);
    st_tpl_free_tokens(toks, ntoks);
  }
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
    return st_tpl_oom_error(err);
  return parse_owned(src, table, out, err);
}

int st_template_parse_raw(const char *text, st_template **out, st_error **err) {
  if (text == NULL)
    return st_error_set(err, EINVAL, "template: no format");
  char *src = strdup(text);
  if (src == NULL)
    return st_tpl_oom_error(err);
  return parse_owned(src, false, out, err);
}

int st_template_exec(const st_template *t, json_t *dot, st_buf *out,
                     st_error **err) {
  struct exec e = {.t = t, .out = {out, false}, .root = dot, .err = err};
  return st_tpl_run(&e, dot);
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
  st_tpl_run(&e, dot); /* like Docker, keep what was written before an error */
  if (e.out.failed || (err && err->code == ENOMEM)) {
    st_buf_free(&out);
    return NULL;
  }
  return st_buf_steal(&out);
}

void st_template_free(st_template *t) {
  if (t == NULL)
    return;
  st_tpl_free_list(&t->root);
  free(t->src);
  free(t);
}
