/* strata rmi: remove images. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "image/image.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_rmi(int argc, char **argv);

ST_COMMAND(rmi, "rmi|image rm|image remove", run_rmi,
           "Remove one or more images",
           "\nUsage:  strata rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
           "Remove one or more images\n\n"
           "Aliases:\n"
           "  strata image rm, strata image remove, strata rmi\n\n"
           "Options:\n"
           "  -f, --force      Force removal of the image\n"
           "      --no-prune   Do not delete untagged parents\n"
           "  -h, --help       Print usage\n");

static void print_result(const st_rmi_result *r) {
  for (size_t i = 0; i < r->n_untagged; i++) {
    cleanup_free char *fam = cli_familiar(r->untagged[i]);
    printf("Untagged: %s\n", fam ? fam : r->untagged[i]);
  }
  if (r->deleted[0])
    printf("Deleted: %s\n", r->deleted);
  for (size_t i = 0; i < r->n_layers; i++)
    printf("Deleted: %s\n", r->layers[i]);
}

static int run_rmi(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'},
                                       {"no-prune", no_argument, 0, 'N'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool force = false;
  int c;
  while ((c = cli_getopt(argc, argv, "fh", opts)) != -1) {
    switch (c) {
    case 'f':
      force = true;
      break;
    case 'N':
      break;
    case 'h':
      return cli_usage(&st_cmd_rmi);
    default:
      return cli_bad_flag("rmi");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("rmi", "\"strata rmi\" requires at least 1 "
                                "argument.\nUsage:  strata rmi [OPTIONS] "
                                "IMAGE [IMAGE...]");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  int code = 0;
  bool missing_only = true; /* -f: only "No such image" errors: status 0 */
  for (int i = optind; i < argc; i++) {
    cleanup_error st_error *err = NULL;
    st_rmi_result r;
    st_image img = {0}; /* its ID, for the untag events */
    st_error *rerr = NULL;
    if (st_image_resolve(s, argv[i], &img, &rerr) < 0)
      st_error_free(rerr);
    if (st_image_remove(s, argv[i], force, &r, &err) < 0) {
      st_image_clear(&img);
      cli_print_error(err);
      code = 1;
      if (err == NULL || err->code != ENOENT)
        missing_only = false;
      continue;
    }
    print_result(&r);
    for (size_t j = 0; j < r.n_untagged; j++)
      st_event_image(s, "untag", img.id[0] ? img.id : argv[i], r.untagged[j]);
    st_image_clear(&img);
    if (r.deleted[0])
      st_event_image(s, "delete", r.deleted, argv[i]);
    st_rmi_result_clear(&r);
  }
  return force && missing_only ? 0 : code;
}
