/* The template executor: walks the node list with a dot, evaluating
 * pipelines (fields, variables, function calls) and printing results.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "util/cleanup.h"

struct var {
  const char *name;
  json_t *val; /* owned reference; NULL for "no value" */
};

/* exec_list results besides 0 and -1: a {{break}} or {{continue}} on its
 * way to the enclosing range. */
enum { FLOW_BREAK = 1, FLOW_CONTINUE = 2 };

static size_t col_of(const char *src, size_t pos) {
  size_t start = pos;
  while (start > 0 && src[start - 1] != '\n')
    start--;
  return pos - start;
}

int st_tpl_exec_errorv(struct exec *e, struct span at, const char *callee,
                       const char *fmt, va_list ap) {
  cleanup_free char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) {
    msg = NULL;
    return st_tpl_oom_error(e->err);
  }
  const char *src = e->t->src;
  return st_error_set(
      e->err, EINVAL, "template: :%d:%zu: executing \"\" at <%.*s>: %s%s%s%s",
      st_tpl_line_of(src, at.pos), col_of(src, at.pos), (int)(at.end - at.pos),
      src + at.pos, callee ? "error calling " : "", callee ? callee : "",
      callee ? ": " : "", msg);
}

int st_tpl_exec_error(struct exec *e, struct span at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_tpl_exec_errorv(e, at, NULL, fmt, ap);
  va_end(ap);
  return r;
}

static int push_var(struct exec *e, const char *name, json_t *val) {
  struct var *v = ST_TPL_VEC_PUSH(e->vars, e->nvars, e->cap);
  if (v == NULL)
    return st_tpl_oom_error(e->err);
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
    return st_tpl_exec_error(e, at, "undefined variable: %s", name);
  set_val(v, val);
  return 0;
}

/* ==== pipelines ===================================================== */

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
      st_tpl_put_char(&s, '.');
    st_tpl_put_str(&s, fields[i]);
  }
  const struct st_header_name *hit = NULL;
  for (const struct st_header_name *nm = e->names;
       !s.failed && nm && nm->field && !hit; nm++)
    if (strcmp(nm->field, path.data) == 0)
      hit = nm;
  st_buf_free(&path);
  if (s.failed)
    return st_tpl_oom_error(e->err);
  *out = NULL;
  if (hit && hit->header == NULL)
    return 0;
  cleanup_free char *up = strdup(hit ? hit->header : fields[n - 1]);
  for (char *c = up; !hit && c && *c; c++)
    if (*c >= 'a' && *c <= 'z')
      *c = (char)(*c - 'a' + 'A');
  *out = up ? json_string(up) : NULL;
  return *out ? 0 : st_tpl_oom_error(e->err);
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
      return st_tpl_exec_error(e, at, "nil pointer evaluating interface {}.%s",
                               fields[i]);
    if (!json_is_object(cur))
      return st_tpl_exec_error(e, at, "can't evaluate field %s in type %s",
                               fields[i], st_tpl_go_type(cur));
    if (has_args && i == n - 1)
      return st_tpl_exec_error(e, at, "%s is not a method but has arguments",
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
      return st_tpl_exec_error(e, a->at, "undefined variable: %s", a->str);
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
    return *out ? 0 : st_tpl_oom_error(e->err);
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
    return st_tpl_exec_error(e, first->at, "nil is not a command");
  if (first->nfields > 0) {
    json_auto_t *recv = NULL;
    if (eval_term(e, first, dot, &recv) < 0)
      return -1;
    return eval_fields(e, recv, first->fields, first->nfields, first->at,
                       has_args, out);
  }
  if (has_args)
    return st_tpl_exec_error(
        e, c->at, "can't give argument to non-function %.*s",
        (int)(first->at.end - first->at.pos), e->t->src + first->at.pos);
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

/* ==== nodes ========================================================= */

static int exec_list(struct exec *e, const struct list *l, json_t *dot);

static int exec_action(struct exec *e, const struct node *n, json_t *dot) {
  json_auto_t *val = NULL;
  if (eval_pipe(e, n->pipe, dot, &val) < 0)
    return -1;
  if (n->pipe->ndecl == 0)
    st_tpl_put_result(&e->out, val);
  return 0;
}

/* {{if}} and {{with}}; variables of the pipeline end with the node. */
static int exec_cond(struct exec *e, const struct node *n, json_t *dot) {
  size_t mark = e->nvars;
  json_auto_t *val = NULL;
  int rc = eval_pipe(e, n->pipe, dot, &val);
  if (rc == 0) {
    bool yes = st_tpl_truth(val);
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
    rc = st_tpl_oom_error(e->err);
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
  cleanup_free const char **keys = st_tpl_sorted_keys(obj, &count);
  if (count > 0 && keys == NULL)
    return st_tpl_oom_error(e->err);
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
    return st_tpl_exec_error(e, n->pipe->at,
                             "can't use %" JSON_INTEGER_FORMAT
                             " to iterate over more than one variable",
                             json_integer_value(val));
  int rc = 0;
  for (json_int_t i = 0; i < json_integer_value(val); i++) {
    json_auto_t *elem = json_integer(i);
    rc = elem ? range_step(e, n, json_integer(i), elem)
              : st_tpl_oom_error(e->err);
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
    st_tpl_put_value(&s, val);
    rc = s.failed ? st_tpl_oom_error(e->err)
                  : st_tpl_exec_error(e, n->pipe->at,
                                      "range can't iterate over %s", b.data);
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
    st_tpl_put(&e->out, e->t->src + n->at.pos, n->at.end - n->at.pos);
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
      rc = st_tpl_oom_error(e->err);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* ==== function calls ================================================ */

/* Arity errors point at the function name, which starts the command. */
static int check_arity(struct exec *e, const struct func_def *f, size_t n,
                       struct span at) {
  at.end = at.pos + strlen(f->name);
  if (f->max_args < 0 && n < (size_t)f->min_args)
    return st_tpl_exec_error(e, at,
                             "wrong number of args for %s: want at least %d "
                             "got %zu",
                             f->name, f->min_args, n);
  if (f->max_args >= 0 && n != (size_t)f->min_args)
    return st_tpl_exec_error(e, at,
                             "wrong number of args for %s: want %d got %zu",
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
    if (i + 1 == total || st_tpl_truth(v) != is_and) {
      *out = v;
      return 0;
    }
    json_decref(v);
  }
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
    return st_tpl_oom_error(e->err);
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
  int rc = e->header && f->header_passthrough
               ? st_tpl_header_passthrough(&c, out)
               : f->fn(&c, out);
  free_values(vals, total);
  return rc;
}

/* ==== entry ========================================================= */

int st_tpl_run(struct exec *e, json_t *dot) {
  int rc = push_var(e, "$", dot);
  if (rc == 0)
    rc = exec_list(e, &e->t->root, dot);
  if (rc == 0 && e->out.failed)
    rc = st_tpl_oom_error(e->err);
  pop_vars(e, 0);
  free(e->vars);
  return rc < 0 ? -1 : 0;
}
