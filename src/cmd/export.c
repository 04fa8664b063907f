/* strata export: a container's file system as a tar archive. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_export(int argc, char **argv);

ST_COMMAND(export, "export|container export", run_export,
           "Export a container's filesystem as a tar archive",
           "\nUsage:  strata export [OPTIONS] CONTAINER\n\n"
           "Export a container's filesystem as a tar archive\n\n"
           "Aliases:\n"
           "  strata container export, strata export\n\n"
           "Options:\n"
           "  -o, --output string   Write to a file, instead of STDOUT\n"
           "  -h, --help            Print usage\n");

static int run_export(int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  int ch;
  while ((ch = cli_getopt(argc, argv, "o:h", opts)) != -1) {
    switch (ch) {
    case 'o':
      out = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_export);
    default:
      return cli_bad_flag("export");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("export",
                         "\"strata export\" requires exactly 1 argument.");
  if (out == NULL && isatty(1))
    return cli_fail(1, "cowardly refusing to save to a terminal. Use the -o "
                       "flag or redirect");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_close int fd = 1;
  if (out &&
      (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
    return cli_fail(1, "open %s: %m", out);
  int keep = out ? -1 : 1;
  cleanup_error st_error *err = NULL;
  int r = st_container_export(s, argv[optind], fd, &err);
  if (keep == 1)
    fd = -1; /* stdout stays open */
  if (r < 0) {
    cli_print_error(err);
    if (out)
      unlink(out);
    return 1;
  }
  return 0;
}
