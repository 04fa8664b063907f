/* The template parser: tokens to a list of nodes (text, action, if,
 * range, with, break, continue) whose actions hold pipelines of commands.
 * Checks what Go checks at parse time: variables are declared, functions
 * exist, {{break}} is inside {{range}}.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt/template_internal.h"
#include "util/cleanup.h"

/* ==== the tree ======================================================== */

/* Appends s (owned) to the string vector *v of *n items; -1 when out of
 * memory (s is then freed). */
static int strv_add(char ***v, size_t *n, char *s) {
  char **p = s ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
  if (p == NULL) {
    free(s);
    return -1;
  }
  p[(*n)++] = s;
  *v = p;
  return 0;
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void free_pipe(struct pipe *p);

static void free_arg(struct arg *a) {
  free(a->str);
  strv_free(a->fields, a->nfields);
  free_pipe(a->pipe);
}

static void free_pipe(struct pipe *p) {
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->ncmds; i++) {
    for (size_t j = 0; j < p->cmds[i].nargs; j++)
      free_arg(&p->cmds[i].args[j]);
    free(p->cmds[i].args);
  }
  free(p->cmds);
  strv_free(p->decl, p->ndecl);
  free(p);
}

static void free_node(struct node *n) {
  free_pipe(n->pipe);
  st_tpl_free_list(&n->body);
  st_tpl_free_list(&n->else_body);
}

void st_tpl_free_list(struct list *l) {
  for (size_t i = 0; i < l->n; i++)
    free_node(&l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

/* ==== parser ========================================================== */

/* Deeper nesting of parentheses or control structures is refused, so that
 * hostile input cannot exhaust the stack. */
#define MAX_DEPTH 200

struct parser {
  const char *src;
  struct token *toks; /* ends with TK_EOF */
  size_t i;
  const char **vars; /* variables in scope, for "undefined variable" */
  size_t nvars, cap_vars;
  int range_depth; /* {{break}} and {{continue}} need one */
  int depth;
  st_error **err;
};

static struct token *peek(struct parser *p) {
  return &p->toks[p->i];
}

static struct token *peek2(struct parser *p) {
  return p->toks[p->i].kind == TK_EOF ? &p->toks[p->i] : &p->toks[p->i + 1];
}

static struct token *next_tok(struct parser *p) {
  struct token *t = &p->toks[p->i];
  if (t->kind != TK_EOF)
    p->i++;
  return t;
}

static bool tok_is(const struct parser *p, const struct token *t,
                   enum tok_kind kind, const char *word) {
  size_t len = t->at.end - t->at.pos;
  return t->kind == kind && strlen(word) == len &&
         !memcmp(p->src + t->at.pos, word, len);
}

static int perr(struct parser *p, const struct token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, const struct token *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = st_tpl_parse_errorv(p->err, p->src, t->at.pos, fmt, ap);
  va_end(ap);
  return r;
}

/* Go's description of a token in "unexpected X" messages. */
static int unexpected(struct parser *p, const struct token *t,
                      const char *where) {
  int len = (int)(t->at.end - t->at.pos);
  const char *text = p->src + t->at.pos;
  if (t->kind == TK_EOF)
    return perr(p, t, "unexpected EOF in %s", where);
  if (t->kind == TK_KEYWORD)
    return perr(p, t, "unexpected <%.*s> in %s", len, text, where);
  if (t->kind == TK_RIGHT)
    return perr(p, t, "unexpected \"}}\" in %s", where);
  return perr(p, t, "unexpected \"%.*s\" in %s", len, text, where);
}

static bool var_defined(const struct parser *p, const char *name, size_t len) {
  for (size_t i = p->nvars; i-- > 0;)
    if (strlen(p->vars[i]) == len && !memcmp(p->vars[i], name, len))
      return true;
  return false;
}

static int declare_var(struct parser *p, const char *name) {
  const char **slot = ST_TPL_VEC_PUSH(p->vars, p->nvars, p->cap_vars);
  if (slot == NULL)
    return st_tpl_oom_error(p->err);
  *slot = name;
  return 0;
}

static char *tok_text(const struct parser *p, const struct token *t,
                      size_t skip) {
  return strndup(p->src + t->at.pos + skip, t->at.end - t->at.pos - skip);
}

/* Integer (decimal, hex, or octal with a leading 0) or float literal. */
static int parse_number(struct parser *p, const struct token *t,
                        struct arg *a) {
  char buf[80];
  size_t n = 0;
  for (size_t i = t->at.pos; i < t->at.end; i++)
    if (p->src[i] != '_' && n < sizeof(buf) - 1)
      buf[n++] = p->src[i];
  buf[n] = '\0';
  bool hex = strchr(buf, 'x') || strchr(buf, 'X');
  char *end = NULL;
  errno = 0;
  if (!hex && strpbrk(buf, ".eE")) {
    a->kind = ARG_REAL;
    a->rval = strtod(buf, &end);
  } else {
    a->kind = ARG_INT;
    a->ival = strtoll(buf, &end, 0);
  }
  if (*end != '\0' || n == 0)
    return perr(p, t, "illegal number syntax: \"%s\"", buf);
  if (errno == ERANGE)
    return perr(p, t, "%s overflow: \"%s\"",
                a->kind == ARG_INT ? "integer" : "float", buf);
  return 0;
}

static int parse_pipeline(struct parser *p, struct pipe *pipe, const char *ctx,
                          enum tok_kind end);

static int parse_var_term(struct parser *p, struct token *t, struct arg *a) {
  const char *name = p->src + t->at.pos;
  size_t len = t->at.end - t->at.pos;
  if (!var_defined(p, name, len))
    return perr(p, t, "undefined variable \"%.*s\"", (int)len, name);
  a->kind = ARG_VAR;
  a->str = tok_text(p, t, 0);
  return a->str ? 0 : st_tpl_oom_error(p->err);
}

static int parse_paren_term(struct parser *p, struct arg *a) {
  a->kind = ARG_PIPE;
  a->pipe = calloc(1, sizeof(*a->pipe));
  if (a->pipe == NULL)
    return st_tpl_oom_error(p->err);
  if (parse_pipeline(p, a->pipe, "parenthesized pipeline", TK_RPAREN) < 0)
    return -1;
  a->at.end = p->toks[p->i - 1].at.end;
  return 0;
}

static int parse_term(struct parser *p, struct arg *a) {
  struct token *t = next_tok(p);
  a->at = t->at;
  size_t len = t->at.end - t->at.pos;
  switch (t->kind) {
  case TK_IDENT:
    a->kind = ARG_FUNC;
    a->fn = st_tpl_find_func(p->src + t->at.pos, len);
    if (a->fn == NULL)
      return perr(p, t, "function \"%.*s\" not defined", (int)len,
                  p->src + t->at.pos);
    return 0;
  case TK_DOT:
    a->kind = ARG_DOT;
    return 0;
  case TK_NIL:
    a->kind = ARG_NIL;
    return 0;
  case TK_BOOL:
    a->kind = ARG_BOOL;
    a->bval = p->src[t->at.pos] == 't';
    return 0;
  case TK_NUMBER:
    return parse_number(p, t, a);
  case TK_STRING:
    a->kind = ARG_STRING;
    a->str = t->str;
    a->len = t->len;
    t->str = NULL;
    return 0;
  case TK_VAR:
    return parse_var_term(p, t, a);
  case TK_FIELD:
    a->kind = ARG_FIELD;
    return strv_add(&a->fields, &a->nfields, tok_text(p, t, 1)) < 0
               ? st_tpl_oom_error(p->err)
               : 0;
  case TK_LPAREN:
    return parse_paren_term(p, a);
  case TK_TEXT:
  case TK_LEFT:
  case TK_RIGHT:
  case TK_KEYWORD:
  case TK_PIPE:
  case TK_RPAREN:
  case TK_DECLARE:
  case TK_ASSIGN:
  case TK_COMMA:
  case TK_EOF:
  default:
    return unexpected(p, t, "operand");
  }
}

/* A term and the fields chained to it without white space: .A.B, $x.A,
 * (pipeline).A. */
static int parse_operand(struct parser *p, struct arg *a) {
  if (parse_term(p, a) < 0)
    return -1;
  while (peek(p)->kind == TK_FIELD && !peek(p)->space) {
    struct token *t = next_tok(p);
    if (a->kind != ARG_FIELD && a->kind != ARG_VAR && a->kind != ARG_PIPE)
      return perr(p, t, "unexpected . after term \"%.*s\"",
                  (int)(a->at.end - a->at.pos), p->src + a->at.pos);
    if (strv_add(&a->fields, &a->nfields, tok_text(p, t, 1)) < 0)
      return st_tpl_oom_error(p->err);
    a->at.end = t->at.end;
  }
  return 0;
}

static int parse_command(struct parser *p, struct cmd *c, enum tok_kind end) {
  c->at.pos = peek(p)->at.pos;
  for (;;) {
    struct token *t = peek(p);
    if (t->kind == TK_PIPE || t->kind == end)
      break;
    if (t->kind == TK_RIGHT || t->kind == TK_RPAREN || t->kind == TK_EOF)
      return unexpected(p, t, "command");
    struct arg *a = ST_TPL_VEC_PUSH(c->args, c->nargs, c->cap);
    if (a == NULL)
      return st_tpl_oom_error(p->err);
    if (parse_operand(p, a) < 0)
      return -1;
  }
  if (c->nargs == 0)
    return perr(p, peek(p), "missing value for command");
  c->at.end = c->args[c->nargs - 1].at.end;
  return 0;
}

static int add_decl(struct parser *p, struct pipe *pipe, struct token *t) {
  size_t len = t->at.end - t->at.pos;
  if (pipe->assign && !var_defined(p, p->src + t->at.pos, len))
    return perr(p, t, "undefined variable \"%.*s\"", (int)len,
                p->src + t->at.pos);
  if (strv_add(&pipe->decl, &pipe->ndecl, tok_text(p, t, 0)) < 0)
    return st_tpl_oom_error(p->err);
  return pipe->assign ? 0 : declare_var(p, pipe->decl[pipe->ndecl - 1]);
}

/* "$x :=", "$x =" or, in range, "$i, $e :=" at the start of a pipeline;
 * nothing is consumed when there is none. */
static int parse_decl(struct parser *p, struct pipe *pipe, const char *ctx) {
  struct token *v = peek(p), *op = peek2(p);
  if (v->kind != TK_VAR)
    return 0;
  if (op->kind == TK_COMMA) {
    if (strcmp(ctx, "range") != 0)
      return perr(p, op, "too many declarations in %s", ctx);
    struct token *v2 = &p->toks[p->i + 2];
    struct token *op2 = v2->kind == TK_EOF ? v2 : &p->toks[p->i + 3];
    if (v2->kind != TK_VAR)
      return perr(p, v2, "range can only initialize variables");
    if (op2->kind != TK_DECLARE && op2->kind != TK_ASSIGN)
      return perr(p, op2, "too many declarations in %s", ctx);
    pipe->assign = op2->kind == TK_ASSIGN;
    p->i += 4;
    return add_decl(p, pipe, v) < 0 ? -1 : add_decl(p, pipe, v2);
  }
  if (op->kind != TK_DECLARE && op->kind != TK_ASSIGN)
    return 0;
  pipe->assign = op->kind == TK_ASSIGN;
  p->i += 2;
  return add_decl(p, pipe, v);
}

static bool is_literal(enum arg_kind k) {
  return k == ARG_STRING || k == ARG_INT || k == ARG_REAL || k == ARG_BOOL ||
         k == ARG_NIL || k == ARG_DOT;
}

/* Commands separated by '|' up to the end token (consumed). */
static int parse_pipeline(struct parser *p, struct pipe *pipe, const char *ctx,
                          enum tok_kind end) {
  if (++p->depth > MAX_DEPTH)
    return perr(p, peek(p), "%s nested too deeply", ctx);
  pipe->at.pos = peek(p)->at.pos;
  if (parse_decl(p, pipe, ctx) < 0)
    return -1;
  while (peek(p)->kind != end) {
    struct cmd *c = ST_TPL_VEC_PUSH(pipe->cmds, pipe->ncmds, pipe->cap);
    if (c == NULL)
      return st_tpl_oom_error(p->err);
    if (parse_command(p, c, end) < 0)
      return -1;
    if (pipe->ncmds > 1 && is_literal(c->args[0].kind))
      return perr(p, peek(p), "non executable command in pipeline stage %zu",
                  pipe->ncmds);
    if (peek(p)->kind == TK_PIPE)
      next_tok(p);
    else if (peek(p)->kind != end)
      return unexpected(p, peek(p), ctx);
  }
  if (pipe->ncmds == 0)
    return perr(p, peek(p), "missing value for %s", ctx);
  pipe->at.end = next_tok(p)->at.pos;
  p->depth--;
  return 0;
}

enum term { TERM_EOF, TERM_END, TERM_ELSE };

static int parse_list(struct parser *p, struct list *l, enum term *term);

static int push_node(struct parser *p, struct list *l, struct node *n) {
  struct node *slot = ST_TPL_VEC_PUSH(l->items, l->n, l->cap);
  if (slot == NULL) {
    free_node(n);
    return st_tpl_oom_error(p->err);
  }
  *slot = *n;
  return 0;
}

static int parse_control(struct parser *p, struct list *l, enum node_kind kind);

static const char *node_name(enum node_kind k) {
  return k == NODE_IF ? "if" : k == NODE_RANGE ? "range" : "with";
}

/* After {{else}}: "if"/"with" continue a chain whose nested node shares the
 * {{end}}; otherwise the else list runs to {{end}}. */
static int parse_else(struct parser *p, struct node *n) {
  struct token *t = peek(p);
  enum term term;
  if ((n->kind == NODE_IF && tok_is(p, t, TK_KEYWORD, "if")) ||
      (n->kind == NODE_WITH && tok_is(p, t, TK_KEYWORD, "with"))) {
    next_tok(p);
    return parse_control(p, &n->else_body, n->kind);
  }
  if (next_tok(p)->kind != TK_RIGHT)
    return unexpected(p, t, "else");
  if (parse_list(p, &n->else_body, &term) < 0)
    return -1;
  if (term == TERM_ELSE)
    return perr(p, &p->toks[p->i - 1], "expected end; found {{else}}");
  if (term == TERM_EOF)
    return perr(p, peek(p), "unexpected EOF");
  return 0;
}

static int parse_control_body(struct parser *p, struct node *n) {
  enum term term;
  if (parse_pipeline(p, n->pipe, node_name(n->kind), TK_RIGHT) < 0)
    return -1;
  p->range_depth += n->kind == NODE_RANGE;
  int rc = parse_list(p, &n->body, &term);
  p->range_depth -= n->kind == NODE_RANGE;
  if (rc < 0)
    return -1;
  if (term == TERM_ELSE)
    return parse_else(p, n);
  if (term == TERM_EOF)
    return perr(p, peek(p), "unexpected EOF");
  return 0;
}

/* {{if}}, {{range}} or {{with}} (the keyword consumed) to its {{end}}.
 * Variables declared inside go out of scope at the end. */
static int parse_control(struct parser *p, struct list *l,
                         enum node_kind kind) {
  struct node n = {.kind = kind, .at = p->toks[p->i - 1].at};
  size_t mark = p->nvars;
  if (++p->depth > MAX_DEPTH)
    return perr(p, peek(p), "%s nested too deeply", node_name(kind));
  n.pipe = calloc(1, sizeof(*n.pipe));
  int rc = n.pipe ? parse_control_body(p, &n) : st_tpl_oom_error(p->err);
  p->nvars = mark;
  p->depth--;
  if (rc < 0) {
    free_node(&n);
    return -1;
  }
  return push_node(p, l, &n);
}

static int parse_action(struct parser *p, struct list *l) {
  struct node n = {.kind = NODE_ACTION, .at = peek(p)->at};
  n.pipe = calloc(1, sizeof(*n.pipe));
  if (n.pipe == NULL)
    return st_tpl_oom_error(p->err);
  if (parse_pipeline(p, n.pipe, "command", TK_RIGHT) < 0) {
    free_node(&n);
    return -1;
  }
  return push_node(p, l, &n);
}

static int parse_jump(struct parser *p, struct list *l, struct token *kw) {
  bool is_break = tok_is(p, kw, TK_KEYWORD, "break");
  const char *name = is_break ? "break" : "continue";
  if (p->range_depth == 0)
    return perr(p, kw, "{{%s}} outside {{range}}", name);
  struct token *t = next_tok(p);
  if (t->kind != TK_RIGHT)
    return unexpected(p, t, name);
  struct node n = {.kind = is_break ? NODE_BREAK : NODE_CONTINUE, .at = kw->at};
  return push_node(p, l, &n);
}

/* What follows "{{" when it is a keyword. Returns 1 when the list ends
 * here ({{end}}, {{else}}), setting *term. */
static int parse_keyword(struct parser *p, struct list *l, enum term *term) {
  struct token *kw = next_tok(p);
  if (tok_is(p, kw, TK_KEYWORD, "end")) {
    struct token *t = next_tok(p);
    *term = TERM_END;
    return t->kind == TK_RIGHT ? 1 : unexpected(p, t, "end");
  }
  if (tok_is(p, kw, TK_KEYWORD, "else")) {
    *term = TERM_ELSE;
    return 1;
  }
  if (tok_is(p, kw, TK_KEYWORD, "if"))
    return parse_control(p, l, NODE_IF);
  if (tok_is(p, kw, TK_KEYWORD, "range"))
    return parse_control(p, l, NODE_RANGE);
  if (tok_is(p, kw, TK_KEYWORD, "with"))
    return parse_control(p, l, NODE_WITH);
  if (tok_is(p, kw, TK_KEYWORD, "break") ||
      tok_is(p, kw, TK_KEYWORD, "continue"))
    return parse_jump(p, l, kw);
  return perr(p, kw, "{{%.*s}} is not supported",
              (int)(kw->at.end - kw->at.pos), p->src + kw->at.pos);
}

/* Nodes up to EOF, {{end}} or {{else}} (reported in *term; after {{else}}
 * the rest of that action is left for the caller). */
static int parse_list(struct parser *p, struct list *l, enum term *term) {
  for (;;) {
    struct token *t = next_tok(p);
    if (t->kind == TK_EOF) {
      *term = TERM_EOF;
      return 0;
    }
    if (t->kind == TK_TEXT) {
      struct node n = {.kind = NODE_TEXT, .at = t->at};
      if (push_node(p, l, &n) < 0)
        return -1;
      continue;
    }
    int rc = peek(p)->kind == TK_KEYWORD ? parse_keyword(p, l, term)
                                         : parse_action(p, l);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
}

static int parse_root(struct parser *p, struct list *root) {
  enum term term;
  if (parse_list(p, root, &term) < 0)
    return -1;
  if (term == TERM_END)
    return perr(p, &p->toks[p->i - 1], "unexpected {{end}}");
  if (term == TERM_ELSE)
    return perr(p, &p->toks[p->i - 1], "unexpected {{else}}");
  return 0;
}

int st_tpl_parse(const char *src, struct token *toks, struct list *root,
                 st_error **err) {
  struct parser p = {.src = src, .toks = toks, .err = err};
  int rc = declare_var(&p, "$");
  if (rc == 0)
    rc = parse_root(&p, root);
  free(p.vars);
  return rc;
}
