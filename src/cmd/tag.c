/* strata tag: point a new name at an image. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "store/events.h"
#include "store/store.h"
#include "util/cleanup.h"

static int run_tag(int argc, char **argv);

ST_COMMAND(tag, "tag|image tag", run_tag,
           "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
           "\nUsage:  strata tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
           "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n\n"
           "Aliases:\n"
           "  strata image tag, strata tag\n\n"
           "Options:\n"
           "  -h, --help   Print usage\n");

static int run_tag(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
    if (c == 'h')
      return cli_usage(&st_cmd_tag);
    return cli_bad_flag("tag");
  }
  if (argc - optind != 2)
    return cli_bad_usage("tag", "\"strata tag\" requires exactly 2 "
                                "arguments.\nUsage:  strata tag "
                                "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]");
  cleanup_error st_error *err = NULL;
  cleanup_free char *target = cli_tag_name(argv[optind + 1], &err);
  if (target == NULL) {
    cli_print_error(err);
    return 1;
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  st_image img;
  if (st_image_resolve(s, argv[optind], &img, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  int r = st_tag_set(s, target, img.id, &err);
  if (r == 0) {
    cleanup_free char *fam = cli_familiar(target);
    st_event_image(s, "tag", img.id, fam ? fam : target);
  }
  st_image_clear(&img);
  if (r < 0) {
    /* Removed by another process since we resolved it. */
    if (err->code == ENOENT)
      return cli_fail(1, "No such image: %s", argv[optind]);
    cli_print_error(err);
    return 1;
  }
  return 0;
}
