/* strata load: images from a docker-archive or OCI archive tar. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "image/archive.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_load(int argc, char **argv);

ST_COMMAND(load, "load|image load", run_load,
           "Load an image from a tar archive or STDIN",
           "\nUsage:  strata load [OPTIONS]\n\n"
           "Load an image from a tar archive or STDIN\n"
           "(docker-archive or OCI archive; plain, gzip, xz, bzip2 or zstd)\n\n"
           "Aliases:\n"
           "  strata image load, strata load\n\n"
           "Options:\n"
           "  -i, --input string   Read from tar archive file, instead of "
           "STDIN\n"
           "  -q, --quiet          Suppress the load output\n"
           "  -h, --help           Print usage\n");

/* Docker's lines: per tag "Loaded image: busybox:latest" (after "The image
 * ... already exists, renaming the old one ..." when the tag moved), and
 * "Loaded image ID: sha256:..." for an image without tags. */
static void print_loaded(const st_loaded_image *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (v[i].n_tags == 0)
      printf("Loaded image ID: %s\n", v[i].id);
    for (size_t j = 0; j < v[i].n_tags; j++) {
      cleanup_free char *fam = cli_familiar(v[i].tags[j]);
      const char *name = fam ? fam : v[i].tags[j];
      if (v[i].replaced[j])
        printf("The image %s already exists, renaming the old one with ID "
               "%s to empty string\n",
               name, v[i].replaced[j]);
      printf("Loaded image: %s\n", name);
    }
  }
}

static int run_load(int argc, char **argv) {
  static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *input = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "i:qh", opts)) != -1) {
    switch (c) {
    case 'i':
      input = optarg;
      break;
    case 'q':
      break; /* strata shows no progress bars to suppress */
    case 'h':
      return cli_usage(&st_cmd_load);
    default:
      return cli_bad_flag("load");
    }
  }
  if (optind < argc)
    return cli_bad_usage("load", "\"strata load\" accepts no arguments.\n"
                                 "Usage:  strata load [OPTIONS]");
  if (input && input[0] == '\0')
    input = NULL;
  if (input == NULL && isatty(STDIN_FILENO))
    return cli_fail(1, "requested load from stdin, but stdin is empty");
  cleanup_close int fd =
      input ? open(input, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
  if (fd < 0)
    return cli_fail(1, "open %s: %s", input ? input : "standard input",
                    strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
    return cli_fail(1, "read %s: %s", input ? input : "standard input",
                    strerror(EISDIR));
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_loaded_image *v = NULL;
  size_t n = 0;
  if (st_archive_load(s, fd, input ? input : "standard input", &v, &n, &err) <
      0) {
    cli_print_error(err);
    return 1;
  }
  print_loaded(v, n);
  for (size_t i = 0; i < n; i++)
    st_event_image(s, "load", v[i].id, v[i].n_tags ? v[i].tags[0] : NULL);
  st_loaded_images_free(v, n);
  return 0;
}
