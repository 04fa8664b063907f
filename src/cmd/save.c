/* strata save: images to a docker-archive tar, on stdout or in a file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "image/archive.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_save(int argc, char **argv);

ST_COMMAND(save, "save|image save", run_save,
           "Save one or more images to a tar archive (streamed to STDOUT by "
           "default)",
           "\nUsage:  strata save [OPTIONS] IMAGE [IMAGE...]\n\n"
           "Save one or more images to a tar archive (streamed to STDOUT by "
           "default)\n\n"
           "Aliases:\n"
           "  strata image save, strata save\n\n"
           "Options:\n"
           "  -o, --output string   Write to a file, instead of STDOUT\n"
           "  -h, --help            Print usage\n");

/* Docker's checks of -o before anything is done: the directory exists and
 * the path is not a directory. */
static int check_output(const char *path) {
  cleanup_free char *copy = strdup(path);
  if (copy == NULL)
    return cli_fail(1, "out of memory");
  const char *dir = dirname(copy);
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return cli_fail(1,
                    "failed to save image: invalid output path: directory "
                    "\"%s\" does not exist",
                    dir);
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return cli_fail(1,
                    "failed to save image: invalid output path: \"%s\" is a "
                    "directory",
                    path);
  return 0;
}

/* Writes the archive to a temporary file next to path, then renames it: a
 * failed save leaves no half archive behind (as the Docker CLI does). */
static int save_to_file(struct st_store *s, const char *const *names, size_t n,
                        const char *path) {
  cleanup_free char *copy = strdup(path);
  cleanup_free char *tmp = NULL;
  if (copy == NULL ||
      asprintf(&tmp, "%s/.strata_temp_XXXXXX", dirname(copy)) < 0)
    return cli_fail(1, "out of memory");
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return cli_fail(1, "failed to save image: create %s: %s", tmp,
                    strerror(errno));
  mode_t mask = umask(0);
  umask(mask);
  cleanup_error st_error *err = NULL;
  if (st_archive_save(s, names, n, fd, &err) < 0) {
    unlink(tmp);
    cli_print_error(err);
    return 1;
  }
  if (fchmod(fd, 0666 & ~mask) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return cli_fail(1, "failed to save image: %s: %s", path, strerror(e));
  }
  return 0;
}

static int run_save(int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *output = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "o:h", opts)) != -1) {
    switch (c) {
    case 'o':
      output = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_save);
    default:
      return cli_bad_flag("save");
    }
  }
  if (optind >= argc)
    return cli_bad_usage("save", "\"strata save\" requires at least 1 "
                                 "argument.\nUsage:  strata save [OPTIONS] "
                                 "IMAGE [IMAGE...]");
  if (output && output[0] == '\0')
    output = NULL;
  if (output == NULL && isatty(STDOUT_FILENO))
    return cli_fail(1, "cowardly refusing to save to a terminal. Use the -o "
                       "flag or redirect");
  if (output && check_output(output) != 0)
    return 1;
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  const char *const *names = (const char *const *)argv + optind;
  size_t n = (size_t)(argc - optind);
  int code = 0;
  cleanup_error st_error *err = NULL;
  if (output) {
    code = save_to_file(s, names, n, output);
  } else if (st_archive_save(s, names, n, STDOUT_FILENO, &err) < 0) {
    cli_print_error(err);
    code = 1;
  }
  for (size_t i = 0; code == 0 && i < n; i++)
    st_event_image(s, "save", names[i], names[i]);
  return code;
}
