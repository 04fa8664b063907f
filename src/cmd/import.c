/* strata import: a one-layer image from a rootfs tarball. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "image/image.h"
#include "store/events.h"
#include "util/cleanup.h"
#include "util/http.h"

static int run_import(int argc, char **argv);

ST_COMMAND(import, "import|image import", run_import,
           "Import the contents from a tarball to create a filesystem image",
           "\nUsage:  strata import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]\n\n"
           "Import the contents from a tarball to create a filesystem image\n"
           "(plain tar, gzip, xz, bzip2 or zstd)\n\n"
           "Options:\n"
           "  -c, --change list         Apply Dockerfile instruction to the "
           "created image\n"
           "  -m, --message string      Set commit message for imported "
           "image\n"
           "      --platform string     Set platform if server is "
           "multi-platform capable\n"
           "  -h, --help                Print usage\n");

static bool is_url(const char *src) {
  return strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
}

/* Downloads url into an unnamed temporary file; returns it, rewound. */
static int download(const char *url, st_error **err) {
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || *dir == '\0')
    dir = "/var/tmp";
  cleanup_close int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return st_error_errno(err, errno, "import %s: temporary file in %s", url,
                          dir);
  if (st_http_get(url, fd, err) < 0)
    return st_error_wrap(err, "import %s", url);
  if (lseek(fd, 0, SEEK_SET) < 0)
    return st_error_errno(err, errno, "import %s", url);
  int r = fd;
  fd = -1;
  return r;
}

static int run_import(int argc, char **argv) {
  static const struct option opts[] = {{"change", required_argument, 0, 'c'},
                                       {"message", required_argument, 0, 'm'},
                                       {"platform", required_argument, 0, 'P'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free const char **changes = calloc((size_t)argc, sizeof(char *));
  size_t n_changes = 0;
  st_import_opts o = {0};
  int c;
  while ((c = cli_getopt(argc, argv, "c:m:h", opts)) != -1) {
    switch (c) {
    case 'c':
      changes[n_changes++] = optarg;
      break;
    case 'm':
      o.message = optarg;
      break;
    case 'P':
      o.platform = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_import);
    default:
      return cli_bad_flag("import");
    }
  }
  int nargs = argc - optind;
  if (nargs < 1 || nargs > 2)
    return cli_bad_usage("import",
                         "\"strata import\" requires at least 1 and at most "
                         "2 arguments.\nUsage:  strata import [OPTIONS] "
                         "file|URL|- [REPOSITORY[:TAG]]");
  const char *src = argv[optind];
  o.changes = changes;
  o.n_changes = n_changes;
  o.source = "-"; /* Docker records "-" for stdin and local files alike */
  cleanup_error st_error *err = NULL;
  cleanup_free char *tag = NULL;
  if (nargs == 2 && (tag = cli_tag_name(argv[optind + 1], &err)) == NULL) {
    cli_print_error(err);
    return 1;
  }
  cleanup_close int fd = -1;
  if (is_url(src)) {
    if ((fd = download(src, &err)) < 0) {
      cli_print_error(err);
      return 1;
    }
    o.source = src;
  } else {
    fd = strcmp(src, "-") == 0 ? dup(0) : open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return cli_fail(1, "open %s: %s", src, strerror(errno));
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  char id[ST_DIGEST_LEN];
  const char *tags[1] = {tag};
  if (st_image_import(s, fd, &o, tags, tag ? 1 : 0, id, &err) < 0) {
    st_error_wrap(&err, "import %s", src);
    cli_print_error(err);
    return 1;
  }
  cleanup_free char *fam = tag ? cli_familiar(tag) : NULL;
  st_event_image(s, "import", id, fam ? fam : tag);
  printf("%s\n", id);
  return 0;
}
