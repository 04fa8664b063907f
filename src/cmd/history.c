/* strata history: the layers and steps that made an image. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt/units.h"
#include "format.h"
#include "image/image.h"
#include "util/cleanup.h"

static int run_history(int argc, char **argv);

ST_COMMAND(history, "history|image history", run_history,
           "Show the history of an image",
           "\nUsage:  strata history [OPTIONS] IMAGE\n\n"
           "Show the history of an image\n\n"
           "Aliases:\n"
           "  strata image history, strata history\n\n"
           "Options:\n"
           "      --format string   Format output using a custom template\n"
           "  -H, --human           Print sizes and dates in human readable "
           "format (default true)\n"
           "      --no-trunc        Don't truncate output\n"
           "  -q, --quiet           Only show image IDs\n"
           "  -h, --help            Print usage\n");

static const struct st_header_name history_headers[] = {
    {"ID", "IMAGE"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"CreatedBy", "CREATED BY"},
    {"Size", "SIZE"},
    {"Comment", "COMMENT"},
    {NULL, NULL}};

struct history_opts {
  bool human, no_trunc, quiet;
  const char *format;
};

/* Docker's stringutils.Ellipsis: at most max runes, "…" marking a cut. */
static char *ellipsis(const char *s, size_t max) {
  size_t runes = 0, i = 0;
  for (; s[i]; i++) {
    if (((unsigned char)s[i] & 0xC0) == 0x80)
      continue;
    if (runes == max - 1) {
      size_t j = i;
      size_t more = 0;
      for (; s[j]; j++)
        if (((unsigned char)s[j] & 0xC0) != 0x80)
          more++;
      if (more <= 1)
        return strdup(s);
      char *out = NULL;
      if (asprintf(&out, "%.*s…", (int)i, s) < 0)
        return NULL;
      return out;
    }
    runes++;
  }
  return strdup(s);
}

static json_t *history_json(const st_history_row *r,
                            const struct history_opts *o, time_t now) {
  cleanup_free char *since = st_created_since(r->created, now);
  cleanup_free char *at =
      r->created ? st_format_rfc3339nano(r->created, 0) : strdup("");
  cleanup_free char *size =
      o->human ? st_human_size(r->size) : st_bytes_size(r->size);
  char *by_clean = strdup(r->created_by);
  for (char *p = by_clean; p && *p; p++)
    if (*p == '\t' || *p == '\n')
      *p = ' ';
  cleanup_free char *by = o->no_trunc ? by_clean : ellipsis(by_clean, 45);
  if (!o->no_trunc)
    free(by_clean);
  char id[ST_DIGEST_LEN] = "<missing>";
  if (r->id)
    snprintf(id, sizeof(id), "%s", o->no_trunc ? r->id : st_digest_hex(r->id));
  if (r->id && !o->no_trunc)
    id[12] = '\0';
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "CreatedSince",
                   o->human ? since : at, "CreatedAt", at ? at : "",
                   "CreatedBy", by ? by : "", "Size", size ? size : "",
                   "Comment", r->comment ? r->comment : "");
}

static int run_history(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'F'},
                                       {"human", optional_argument, 0, 'H'},
                                       {"no-trunc", no_argument, 0, 'T'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  struct history_opts o = {.human = true};
  int c;
  while ((c = cli_getopt(argc, argv, "Hqh", opts)) != -1) {
    switch (c) {
    case 'F':
      o.format = optarg;
      break;
    case 'H':
      o.human = !(optarg && strcmp(optarg, "false") == 0);
      break;
    case 'T':
      o.no_trunc = true;
      break;
    case 'q':
      o.quiet = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_history);
    default:
      return cli_bad_flag("history");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("history", "\"strata history\" requires exactly 1 "
                                    "argument.\nUsage:  strata history "
                                    "[OPTIONS] IMAGE");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_image img;
  if (st_image_resolve(s, argv[optind], &img, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  st_history_row *rows = NULL;
  size_t n = 0;
  int r = st_image_history(s, img.id, &rows, &n, &err);
  st_image_clear(&img);
  if (r < 0) {
    cli_print_error(err);
    return 1;
  }
  json_t *arr = json_array();
  time_t now = time(NULL);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, history_json(&rows[i], &o, now));
  st_history_free(rows, n);
  const char *format = o.quiet ? "{{.ID}}" : o.format;
  int code = cli_print_rows(format,
                            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}"
                            "\t{{.Size}}\t{{.Comment}}",
                            history_headers, arr);
  json_decref(arr);
  return code;
}
