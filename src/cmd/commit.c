/* strata commit: a new image from a container's changes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_commit(int argc, char **argv);

ST_COMMAND(commit, "commit|container commit", run_commit,
           "Create a new image from a container's changes",
           "\nUsage:  strata commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
           "Create a new image from a container's changes\n\n"
           "Aliases:\n"
           "  strata container commit, strata commit\n\n"
           "Options:\n"
           "  -a, --author string    Author (e.g., \"John Hannibal Smith "
           "<hannibal@a-team.com>\")\n"
           "  -c, --change list      Apply Dockerfile instruction to the "
           "created image\n"
           "  -m, --message string   Commit message\n"
           "  -p, --pause            Pause container during commit (default "
           "true)\n"
           "  -h, --help             Print usage\n");

static int run_commit(int argc, char **argv) {
  static const struct option opts[] = {{"author", required_argument, 0, 'a'},
                                       {"change", required_argument, 0, 'c'},
                                       {"message", required_argument, 0, 'm'},
                                       {"pause", optional_argument, 0, 'p'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free const char **changes = calloc((size_t)argc, sizeof(char *));
  st_commit_opts o = {.pause = true};
  int ch;
  while ((ch = cli_getopt(argc, argv, "a:c:m:ph", opts)) != -1) {
    switch (ch) {
    case 'a':
      o.author = optarg;
      break;
    case 'c':
      changes[o.n_changes++] = optarg;
      break;
    case 'm':
      o.message = optarg;
      break;
    case 'p':
      o.pause = !(optarg && (optarg[0] == 'f' || optarg[0] == '0'));
      break;
    case 'h':
      return cli_usage(&st_cmd_commit);
    default:
      return cli_bad_flag("commit");
    }
  }
  o.changes = changes;
  int nargs = argc - optind;
  if (nargs < 1 || nargs > 2)
    return cli_bad_usage("commit", "\"strata commit\" requires at least 1 and "
                                   "at most 2 arguments.");
  cleanup_error st_error *err = NULL;
  cleanup_free char *tag = NULL;
  if (nargs == 2 && (tag = cli_tag_name(argv[optind + 1], &err)) == NULL) {
    cli_print_error(err);
    return 1;
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  char id[ST_DIGEST_LEN];
  const char *tags[1] = {tag};
  if (st_container_commit(s, argv[optind], &o, tags, tag ? 1 : 0, id, &err) <
      0) {
    cli_print_error(err);
    return 1;
  }
  printf("%s\n", id);
  return 0;
}
