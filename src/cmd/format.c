#include "format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt/table.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int exec_rows(const st_template *t, json_t *rows, st_table *table) {
  for (size_t i = 0; i < json_array_size(rows); i++) {
    cleanup_error st_error *err = NULL;
    cleanup_buf st_buf out = ST_BUF_INIT;
    if (st_template_exec(t, json_array_get(rows, i), &out, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
    const char *line = out.data ? out.data : "";
    if (table)
      st_table_add_line(table, line);
    else
      printf("%s\n", line);
  }
  return 0;
}

int cli_print_rows(const char *format, const char *default_table,
                   const struct st_header_name *names, json_t *rows) {
  if (format == NULL || strcmp(format, "table") == 0)
    format = default_table;
  else if (strcmp(format, "json") == 0)
    format = "{{json .}}";
  cleanup_error st_error *err = NULL;
  st_template *t = NULL;
  if (st_template_parse(format, &t, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int code = 0;
  if (st_template_is_table(t)) {
    st_table *table = st_table_new();
    cleanup_free char *header = st_template_table_header(t, names);
    if (table == NULL || header == NULL) {
      st_table_free(table);
      st_template_free(t);
      return cli_fail(1, "out of memory");
    }
    st_table_add_line(table, header);
    code = exec_rows(t, rows, table);
    cleanup_free char *text = st_table_render(table);
    if (code == 0 && text)
      fputs(text, stdout);
    st_table_free(table);
  } else {
    code = exec_rows(t, rows, NULL);
  }
  st_template_free(t);
  return code;
}

int cli_print_one(json_t *o, const char *format) {
  cleanup_error st_error *err = NULL;
  st_template *t = NULL;
  cleanup_buf st_buf out = ST_BUF_INIT;
  if (st_template_parse(format, &t, &err) < 0 ||
      st_template_exec(t, o, &out, &err) < 0) {
    st_template_free(t);
    cli_print_error(err);
    return 1;
  }
  st_template_free(t);
  printf("%s\n", out.data ? out.data : "");
  return 0;
}

int cli_inspect_each(struct st_store *s, char *const *names, int n,
                     const char *format, cli_inspect_get get) {
  bool json = format == NULL || strcmp(format, "json") == 0;
  json_t *all __attribute__((cleanup(json_decrefp))) = json_array();
  int code = 0;
  for (int i = 0; i < n; i++) {
    st_error *err = NULL;
    json_t *o = get(s, names[i], &err);
    if (o == NULL) {
      cli_print_error(err);
      st_error_free(err);
      code = 1;
      continue;
    }
    if (json) {
      json_array_append_new(all, o);
    } else {
      code |= cli_print_one(o, format);
      json_decref(o);
    }
  }
  if (json) {
    cleanup_free char *text =
        json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", text ? text : "[]");
  }
  return code;
}
