/* Docker's --format handling shared by listing commands. */
#ifndef STRATA_CMD_FORMAT_H
#define STRATA_CMD_FORMAT_H

#include <jansson.h>

#include "fmt/template.h"

/* The --format lines of a listing command's --help, as Docker words them. */
#define CLI_FORMAT_HELP                                                        \
  "      --format string   Format output using a custom template:\n"           \
  "                        'table':            Print output in table "         \
  "format with column headers (default)\n"                                     \
  "                        'table TEMPLATE':   Print output in table "         \
  "format using the given Go template\n"                                       \
  "                        'json':             Print in JSON format\n"         \
  "                        'TEMPLATE':         Print output using the "        \
  "given Go template\n"

/* Prints rows (a JSON array of objects) with format:
 *   NULL or "table"        -> default_table ("table {{.A}}\t{{.B}}")
 *   "table TEMPLATE"       -> a tabwriter table with a header row
 *   "json"                 -> {{json .}} per row
 *   other                  -> the template per row, no header
 * names maps fields to header titles. Returns an exit code. */
int cli_print_rows(const char *format, const char *default_table,
                   const struct st_header_name *names, json_t *rows);

/* Prints one object (an inspect result) with a --format template and a
 * newline; a template error is printed. Returns an exit code. */
int cli_print_one(json_t *o, const char *format);

struct st_store;
struct st_error;

/* An inspect command's output for names[0..n): each object from get (NULL
 * with *err set: the error is printed, the exit code becomes 1 and the
 * other names still go), all as one JSON array (format NULL or "json") or
 * each through the template. Returns an exit code. */
typedef json_t *(*cli_inspect_get)(struct st_store *s, const char *name,
                                   struct st_error **err);
int cli_inspect_each(struct st_store *s, char *const *names, int n,
                     const char *format, cli_inspect_get get);

#endif
