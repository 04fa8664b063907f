/* `--format` templates: the part of Go's text/template that Docker users
 * write, evaluated over a jansson value (the "dot"), plus the functions the
 * Docker CLI adds (json, join, split, lower, upper, title, pad, truncate).
 *
 * Supported: text; {{.}}, {{.A.B.C}}, {{$}}, {{$x.A}}, {{(pipeline).A}};
 * string ("..." with Go escapes, `raw`), integer, float, true/false/nil
 * literals; pipelines {{.X | lower}}; {{$x := ...}} and {{$x = ...}};
 * {{if}}/{{else if}}/{{else}}, {{with}}/{{else with}}, {{range}} (arrays,
 * objects in key order, integers; with $e or $i, $e; {{else}}; {{break}},
 * {{continue}}), {{end}}; trim markers "{{- " and " -}}"; comments
 * ("{{/ * ... * /}}" without the inner spaces). Builtins: and, or, not, len,
 * index, print, printf, println, eq, ne, lt, le, gt, ge.
 *
 * Values print as Go's fmt %v prints JSON-like data: strings as they are,
 * integers in decimal, reals as Go's shortest float64 form ("1.5",
 * "1e+06"), true/false, null as "<nil>", arrays "[a b c]", objects
 * "map[k1:v1 k2:v2]" with sorted keys, and a missing object field as
 * "<no value>".
 */
#ifndef STRATA_FMT_TEMPLATE_H
#define STRATA_FMT_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/error.h"

typedef struct st_template st_template;

/* One entry of a table header map; arrays of them end with {NULL, NULL}. */
struct st_header_name {
  const char *field;  /* field name as written after the dot: "ID" */
  const char *header; /* column title: "IMAGE ID"; NULL: the field has no
                         header (as Docker's `.Current` of contexts): it is
                         "no value", false in {{if}}, printed "<no value>" */
};

/* Parses a Docker `--format` string the way the Docker CLI prepares it: a
 * leading "table" is removed and remembered (st_template_is_table), the
 * exact format "json" means "{{json .}}", spaces around the rest are
 * trimmed, and the two-character sequences \t and \n become a tab and a
 * newline. Returns 0 and sets *out, or returns -1 and sets *err (EINVAL,
 * "template: :LINE: what is wrong"; ENOMEM). */
/* A key an object of the data may hold: the `json` function then encodes
 * the object as that key's value instead (Docker's CLI re-encodes Go
 * values through their types, e.g. with omitempty fields left out), while
 * field access, range, len and printing see the object's other keys only
 * (the key cannot be named in a template). */
#define ST_TPL_JSON_FORM "\x1fjson"

int st_template_parse(const char *text, st_template **out, st_error **err);

/* Parses text as Go's template.Parse does, with no Docker preparation (what
 * `docker inspect --format` uses). Same contract as st_template_parse. */
int st_template_parse_raw(const char *text, st_template **out, st_error **err);

/* Executes the template with dot as "." and "$", appending to out. Returns
 * 0, or -1 with *err set (EINVAL: "template: :LINE:COL: executing \"\" at
 * <.X>: what is wrong"; ENOMEM); out then holds the output written before
 * the failure, as with Go. dot may be NULL (printed as "<no value>"). */
int st_template_exec(const st_template *t, json_t *dot, st_buf *out,
                     st_error **err);

/* Whether the format string began with "table". */
bool st_template_is_table(const st_template *t);

/* The header line of a table, rendered the way Docker renders it: the
 * template is executed with every field {{.F}} giving the header of F from
 * names (the whole dotted path "A.B" is looked up first, then a single
 * field name; otherwise the last field name in upper case), and with json,
 * split, join, title, lower, upper and truncate returning their first
 * argument unchanged. Like Docker, an execution error ends the header
 * where it happened. names may be NULL. Returns a heap string without a
 * trailing newline, or NULL when out of memory. */
char *st_template_table_header(const st_template *t,
                               const struct st_header_name *names);

void st_template_free(st_template *t);

#endif
