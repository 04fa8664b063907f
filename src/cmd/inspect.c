/* strata image inspect / strata inspect. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt/template.h"
#include "image/image.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int run_inspect(int argc, char **argv);

ST_COMMAND(inspect, "inspect|image inspect", run_inspect,
           "Return low-level information on images",
           "\nUsage:  strata image inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
           "Display detailed information on one or more images\n\n"
           "Options:\n"
           "  -f, --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON "
           "format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "  -h, --help            Print usage\n");

/* Prints each object with the template, or the array as indented JSON. */
static int print_results(json_t *all, const char *format) {
  if (format == NULL || strcmp(format, "json") == 0) {
    char *s = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    printf("%s\n", s ? s : "[]");
    free(s);
    return 0;
  }
  cleanup_error st_error *err = NULL;
  st_template *t = NULL;
  if (st_template_parse(format, &t, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int code = 0;
  for (size_t i = 0; i < json_array_size(all); i++) {
    cleanup_buf st_buf out = ST_BUF_INIT;
    if (st_template_exec(t, json_array_get(all, i), &out, &err) < 0) {
      cli_print_error(err);
      code = 1;
      break;
    }
    printf("%s\n", out.data ? out.data : "");
  }
  st_template_free(t);
  return code;
}

static int run_inspect(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"type", required_argument, 0, 'T'},
                                       {"size", no_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *format = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "f:sh", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      format = optarg;
      break;
    case 'T':
      if (strcmp(optarg, "image") != 0)
        return cli_fail(1,
                        "unsupported --type \"%s\": only images can be "
                        "inspected for now",
                        optarg);
      break;
    case 's':
      break;
    case 'h':
      return cli_usage(&st_cmd_inspect);
    default:
      return cli_bad_usage("image inspect", "unknown flag");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("image inspect",
                         "\"strata image inspect\" requires at least 1 "
                         "argument.\nUsage:  strata image inspect [OPTIONS] "
                         "IMAGE [IMAGE...]");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  json_t *all = json_array();
  int code = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    st_image img;
    json_t *o = NULL;
    if (st_image_resolve(s, argv[i], &img, &err) < 0) {
      fprintf(stderr, "Error: %s\n", err->msg);
      code = 1;
      continue;
    }
    if (st_image_inspect(s, img.id, &o, &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else {
      json_array_append_new(all, o);
    }
    st_image_clear(&img);
  }
  if (print_results(all, format) != 0)
    code = 1;
  json_decref(all);
  return code;
}
