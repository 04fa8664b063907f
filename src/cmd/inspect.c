/* strata inspect / image inspect / container inspect. Without --type,
 * `inspect` looks a name up as a container first, then as an image (as
 * Docker does); `image inspect` and `container inspect` look at one kind. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt/template.h"
#include "image/image.h"
#include "runtime/manage.h"
#include "util/buf.h"
#include "util/cleanup.h"

typedef enum kind { KIND_ANY, KIND_IMAGE, KIND_CONTAINER } kind;

static int run_inspect(int argc, char **argv);
static int run_image_inspect(int argc, char **argv);
static int run_container_inspect(int argc, char **argv);

#define FORMAT_HELP                                                            \
  "  -f, --format string   Format output using a custom template:\n"           \
  "                        'json':             Print in JSON format\n"         \
  "                        'TEMPLATE':         Print output using the "        \
  "given Go template\n"

ST_COMMAND(inspect, "inspect", run_inspect,
           "Return low-level information on containers or images",
           "\nUsage:  strata inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
           "Return low-level information on containers or images\n\n"
           "Options:\n" FORMAT_HELP
           "      --type string     Only inspect objects of the given type "
           "(container, image)\n"
           "  -h, --help            Print usage\n");

ST_COMMAND(image_inspect, "image inspect", run_image_inspect,
           "Display detailed information on one or more images",
           "\nUsage:  strata image inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
           "Display detailed information on one or more images\n\n"
           "Options:\n" FORMAT_HELP "  -h, --help            Print usage\n");

ST_COMMAND(container_inspect, "container inspect", run_container_inspect,
           "Display detailed information on one or more containers",
           "\nUsage:  strata container inspect [OPTIONS] CONTAINER "
           "[CONTAINER...]\n\n"
           "Display detailed information on one or more containers\n\n"
           "Options:\n" FORMAT_HELP "  -s, --size            Display total "
           "file sizes\n"
           "  -h, --help            Print usage\n");

/* Prints each object with the template, or the array as indented JSON. */
/* An image's Config as Docker's CLI hands it to a template: `json`
 * re-encodes the Go type (the OCI image config with Docker's extensions),
 * so its keys come in the type's order and the empty ones are left out
 * (omitempty), while {{.Config.User}} still reads "". */
static void image_config_typed(json_t *o) {
  static const char *const order[] = {
      "User",        "ExposedPorts", "Env",    "Entrypoint", "Cmd",
      "Volumes",     "WorkingDir",   "Labels", "StopSignal", "ArgsEscaped",
      "Healthcheck", "OnBuild",      "Shell",  NULL};
  json_t *cfg = json_object_get(o, "Config");
  if (!json_is_object(cfg) || json_object_get(o, "RootFS") == NULL)
    return; /* not an image */
  json_t *typed = json_object();
  for (size_t i = 0; order[i]; i++) {
    json_t *v = json_object_get(cfg, order[i]);
    bool empty = v == NULL || json_is_null(v) || json_is_false(v) ||
                 (json_is_string(v) && json_string_length(v) == 0) ||
                 (json_is_array(v) && json_array_size(v) == 0) ||
                 (json_is_object(v) && json_object_size(v) == 0);
    if (!empty)
      json_object_set(typed, order[i], v);
  }
  json_object_set_new(cfg, ST_TPL_JSON_FORM, typed);
}

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
    image_config_typed(json_array_get(all, i));
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

static int inspect_image(st_store *s, const char *ref, json_t **o,
                         st_error **err) {
  st_image img;
  if (st_image_resolve(s, ref, &img, err) < 0)
    return -1;
  int r = st_image_inspect(s, img.id, o, err);
  st_image_clear(&img);
  return r;
}

/* Looks ref up as k says; KIND_ANY: a container, else an image, else
 * Docker's "No such object". */
static int inspect_one(st_store *s, kind k, const char *ref, json_t **o,
                       st_error **err) {
  if (k == KIND_IMAGE)
    return inspect_image(s, ref, o, err);
  if (k == KIND_CONTAINER)
    return st_container_inspect(s, ref, o, err);
  st_error *e = NULL;
  if (st_container_inspect(s, ref, o, &e) == 0)
    return 0;
  bool missing = e->code == ENOENT;
  if (!missing) {
    *err = e;
    return -1;
  }
  st_error_free(e);
  e = NULL;
  if (inspect_image(s, ref, o, &e) == 0)
    return 0;
  if (e->code != ENOENT) {
    *err = e;
    return -1;
  }
  st_error_free(e);
  return st_error_set(err, ENOENT, "No such object: %s", ref);
}

static int inspect_main(int argc, char **argv, kind k, const st_command *cmd,
                        const char *cmdname) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                       {"type", required_argument, 0, 'T'},
                                       {"size", no_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *format = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "f:sh", opts)) != -1) {
    switch (c) {
    case 'f':
      format = optarg;
      break;
    case 'T':
      if (k != KIND_ANY &&
          k != (strcmp(optarg, "image") == 0 ? KIND_IMAGE : KIND_CONTAINER))
        return cli_bad_flag(cmdname);
      if (strcmp(optarg, "image") == 0)
        k = KIND_IMAGE;
      else if (strcmp(optarg, "container") == 0)
        k = KIND_CONTAINER;
      else
        return cli_fail(1, "\"%s\" is not a valid value for --type", optarg);
      break;
    case 's':
      break;
    case 'h':
      return cli_usage(cmd);
    default:
      return cli_bad_flag(cmdname);
    }
  }
  if (optind >= argc)
    return cli_bad_usage(cmdname, "\"strata %s\" requires at least 1 argument.",
                         cmdname);
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  json_t *all = json_array();
  int code = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    json_t *o = NULL;
    if (inspect_one(s, k, argv[i], &o, &err) < 0) {
      cli_print_error(err);
      code = 1;
    } else {
      json_array_append_new(all, o);
    }
  }
  if (print_results(all, format) != 0)
    code = 1;
  json_decref(all);
  return code;
}

static int run_inspect(int argc, char **argv) {
  return inspect_main(argc, argv, KIND_ANY, &st_cmd_inspect, "inspect");
}

static int run_image_inspect(int argc, char **argv) {
  return inspect_main(argc, argv, KIND_IMAGE, &st_cmd_image_inspect,
                      "image inspect");
}

static int run_container_inspect(int argc, char **argv) {
  return inspect_main(argc, argv, KIND_CONTAINER, &st_cmd_container_inspect,
                      "container inspect");
}
