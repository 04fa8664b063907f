/* Go text/template for `--format`, over jansson values: what the files of
 * the template engine share. Private to src/lib/fmt/template*.c.
 *
 * The text is first cut into tokens (template_lex.c: text runs and the
 * words inside {{...}}), then parsed into a list of nodes (template_parse.c:
 * text, action, if, range, with, break, continue) whose actions hold
 * pipelines of commands, and the executor walks that list
 * (template_exec.c), calling the builtins (template_funcs.c, and the fmt
 * family in template_printf.c). Values print as Go prints them
 * (template_value.c). Values during execution are json_t references; NULL
 * stands for Go's "no value" (a missing object field), which is not the
 * same as JSON null (Go's nil, printed "<nil>").
 */
#ifndef STRATA_FMT_TEMPLATE_INTERNAL_H
#define STRATA_FMT_TEMPLATE_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fmt/template.h"
#include "util/buf.h"
#include "util/error.h"

/* ==== output with a sticky out-of-memory flag ========================= */

/* Printing code appends without checking each call; whoever owns the sink
 * checks `failed` once at the end of a step. */
struct sink {
  st_buf *buf;
  bool failed;
};

void st_tpl_put(struct sink *s, const char *p, size_t n);
void st_tpl_put_str(struct sink *s, const char *p);
void st_tpl_put_char(struct sink *s, char c);
void st_tpl_put_fmt(struct sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void st_tpl_put_repeat(struct sink *s, char c, json_int_t n);

/* ==== characters and UTF-8 ============================================ */

static inline bool st_tpl_is_digit(char c) {
  return c >= '0' && c <= '9';
}

static inline bool st_tpl_is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline bool st_tpl_is_alnum(char c) {
  return st_tpl_is_alpha(c) || st_tpl_is_digit(c);
}

/* Decodes one sequence at s (n > 0 bytes left) as Go does: an invalid or
 * truncated sequence is U+FFFD and consumes one byte. Returns the bytes
 * consumed. */
size_t st_tpl_utf8_decode(const unsigned char *s, size_t n, uint32_t *r);

/* Writes r as UTF-8 into out (4 bytes room); returns the length. */
size_t st_tpl_utf8_encode(uint32_t r, char *out);

/* ==== Go values (template_value.c) ==================================== */

/* fmt's %v for a float64: "1.5", "1e+06", "NaN", "+Inf". */
void st_tpl_put_float_v(struct sink *s, double v);

/* Go's fmt %v of the value encoding/json would decode v into. */
void st_tpl_put_value(struct sink *s, json_t *v);

/* What an action prints: like %v, and "<no value>" for a missing value. */
void st_tpl_put_result(struct sink *s, json_t *v);

/* encoding/json's output for v (with SetEscapeHTML(false)), keys in the
 * object's order. */
void st_tpl_put_json(struct sink *s, json_t *v);

/* The keys of obj in Go's map order (sorted bytewise); borrowed pointers
 * in a heap array, NULL when out of memory (or when obj is empty). */
const char **st_tpl_sorted_keys(json_t *obj, size_t *n);
/* The object's key count, ST_TPL_JSON_FORM left out. */
size_t st_tpl_object_size(json_t *obj);

/* Go's isTrue: false, 0, "", empty arrays and objects, null and "no
 * value" are false. */
bool st_tpl_truth(json_t *v);

/* The Go type encoding/json would give v, for error messages. */
const char *st_tpl_go_type(json_t *v);

/* ==== template structure ============================================== */

struct span {
  size_t pos, end; /* bytes of the template text */
};

struct func_def;
struct pipe;

enum arg_kind {
  ARG_DOT,
  ARG_FIELD, /* .A.B: the field chain applied to dot */
  ARG_VAR,   /* $x or $ (with an optional chain) */
  ARG_STRING,
  ARG_INT,
  ARG_REAL,
  ARG_BOOL,
  ARG_NIL,
  ARG_FUNC, /* a function name */
  ARG_PIPE, /* (pipeline), with an optional chain */
};

struct arg {
  enum arg_kind kind;
  struct span at;
  char *str; /* ARG_STRING value, ARG_VAR name */
  size_t len;
  json_int_t ival;
  double rval;
  bool bval;
  const struct func_def *fn;
  char **fields; /* field chain applied to the term's value */
  size_t nfields;
  struct pipe *pipe;
};

struct cmd {
  struct arg *args;
  size_t nargs, cap;
  struct span at;
};

struct pipe {
  struct span at;
  char **decl; /* declared or assigned variables */
  size_t ndecl;
  bool assign; /* "=" rather than ":=" */
  struct cmd *cmds;
  size_t ncmds, cap;
};

enum node_kind {
  NODE_TEXT,
  NODE_ACTION,
  NODE_IF,
  NODE_RANGE,
  NODE_WITH,
  NODE_BREAK,
  NODE_CONTINUE,
};

struct node;

struct list {
  struct node *items;
  size_t n, cap;
};

struct node {
  enum node_kind kind;
  struct span at; /* NODE_TEXT: the text to print */
  struct pipe *pipe;
  struct list body, else_body;
};

struct st_template {
  char *src; /* the text parsed, which spans point into */
  bool table;
  struct list root;
};

/* Makes room for one more element of size elem in *items (count *n,
 * capacity *cap) and returns it zeroed; NULL when out of memory. */
void *st_tpl_vec_push(void **items, size_t *n, size_t *cap, size_t elem);
#define ST_TPL_VEC_PUSH(v, n, cap)                                             \
  st_tpl_vec_push((void **)&(v), &(n), &(cap), sizeof(*(v)))

/* ==== errors (template.c) ============================================= */

/* The 1-based line of byte pos of src. */
int st_tpl_line_of(const char *src, size_t pos);

/* Sets *err to ENOMEM; returns -1. */
int st_tpl_oom_error(st_error **err);

/* Sets *err to "template: :LINE: msg", Go's parse error form, with the
 * line of byte pos of src; returns -1. */
int st_tpl_parse_error(st_error **err, const char *src, size_t pos,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int st_tpl_parse_errorv(st_error **err, const char *src, size_t pos,
                        const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* ==== lexer (template_lex.c) ========================================== */

enum tok_kind {
  TK_TEXT,
  TK_LEFT,
  TK_RIGHT,
  TK_DOT,
  TK_FIELD,
  TK_VAR,
  TK_IDENT,
  TK_KEYWORD,
  TK_STRING,
  TK_NUMBER,
  TK_BOOL,
  TK_NIL,
  TK_PIPE,
  TK_LPAREN,
  TK_RPAREN,
  TK_DECLARE,
  TK_ASSIGN,
  TK_COMMA,
  TK_EOF,
};

struct token {
  enum tok_kind kind;
  struct span at;
  bool space; /* white space came right before it */
  char *str;  /* TK_STRING: the decoded value (owned) */
  size_t len;
};

/* Cuts src into tokens ending with TK_EOF. Returns 0 and sets *toks (free
 * with st_tpl_free_tokens) and *ntoks, or returns -1 with *err set (a
 * parse error or ENOMEM) and nothing to free. */
int st_tpl_lex(const char *src, struct token **toks, size_t *ntoks,
               st_error **err);

void st_tpl_free_tokens(struct token *toks, size_t n);

/* ==== parser (template_parse.c) ======================================= */

/* Parses the tokens of src (as st_tpl_lex made them) into root. Strings of
 * TK_STRING tokens may be moved into the tree. Returns 0, or -1 with *err
 * set; root then holds the nodes parsed so far, for st_tpl_free_list. */
int st_tpl_parse(const char *src, struct token *toks, struct list *root,
                 st_error **err);

void st_tpl_free_list(struct list *l);

/* ==== execution (template_exec.c) ===================================== */

struct var;

struct exec {
  const st_template *t;
  struct sink out;
  struct var *vars; /* $ first, then declarations in scope */
  size_t nvars, cap;
  json_t *root;
  bool header; /* rendering a table header */
  const struct st_header_name *names;
  st_error **err;
};

/* Runs e->t with dot as "." and "$", writing to e->out. Returns 0, or -1
 * with *e->err set. */
int st_tpl_run(struct exec *e, json_t *dot);

/* Sets *e->err to "template: :LINE:COL: executing \"\" at <SOURCE>: msg",
 * Go's form, SOURCE being the template text at `at`; returns -1. */
int st_tpl_exec_error(struct exec *e, struct span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list; a non-NULL callee prefixes the message with
 * "error calling CALLEE: ", the form of a failing function call. */
int st_tpl_exec_errorv(struct exec *e, struct span at, const char *callee,
                       const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* ==== functions (template_funcs.c, template_printf.c) ================= */

/* One call of a builtin, its arguments evaluated. */
struct call {
  struct exec *e;
  struct span at;
  const char *name;
  json_t **args; /* NULL entries are "no value" */
  size_t n;
};

/* Returns 0 and a new reference (or NULL, "no value") in *out, or -1 with
 * *c->e->err set. */
typedef int (*builtin_fn)(struct call *c, json_t **out);

struct func_def {
  const char *name;
  int min_args, max_args;  /* max -1: variadic */
  builtin_fn fn;           /* NULL for and/or, which evaluate lazily */
  bool header_passthrough; /* Docker's HeaderFunctions return the input */
};

/* The builtin called name (len bytes), or NULL. */
const struct func_def *st_tpl_find_func(const char *name, size_t len);

/* What a HeaderFunction does in a table header: returns its string
 * argument unchanged. */
int st_tpl_header_passthrough(struct call *c, json_t **out);

/* Argument i as a string (borrowed); null counts as "". Returns 0, or -1
 * with a "wrong type" error. */
int st_tpl_arg_string(struct call *c, size_t i, const char **s, size_t *len);

/* Hands the text in s back as a string value in *out and frees s's
 * buffer. Returns 0, or -1 when out of memory. */
int st_tpl_ret_buf(struct call *c, struct sink *s, json_t **out);

/* fmt.Sprint, Sprintln and Sprintf. */
int st_tpl_fn_print(struct call *c, json_t **out);
int st_tpl_fn_println(struct call *c, json_t **out);
int st_tpl_fn_printf(struct call *c, json_t **out);

#endif
