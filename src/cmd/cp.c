/* strata cp: copy files between a container and the host. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_cp(int argc, char **argv);

ST_COMMAND(cp, "cp|container cp", run_cp,
           "Copy files/folders between a container and the local filesystem",
           "\nUsage:  strata cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
           "        strata cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
           "Copy files/folders between a container and the local filesystem\n"
           "\nUse '-' as the source to read a tar archive from stdin\n"
           "and extract it to a directory destination in a container.\n"
           "Use '-' as the destination to stream a tar archive of a\n"
           "container source to stdout.\n\n"
           "Aliases:\n"
           "  strata container cp, strata cp\n\n"
           "Options:\n"
           "  -a, --archive       Archive mode (copy all uid/gid "
           "information)\n"
           "  -L, --follow-link   Always follow symbol link in SRC_PATH\n"
           "  -q, --quiet         Suppress progress output\n"
           "  -h, --help          Print usage\n");

/* "CONTAINER:PATH" splits; a path starting with / or . is local. */
static char *split_arg(char *arg, char **path) {
  if (arg[0] == '/' || arg[0] == '.')
    return NULL;
  char *colon = strchr(arg, ':');
  char *slash = strchr(arg, '/');
  if (colon == NULL || (slash && slash < colon))
    return NULL;
  *colon = '\0';
  *path = colon + 1;
  return arg;
}

/* Where a copy lands: into dest when it is an existing directory (named
 * after the source), else dest's parent under dest's name. */
static void target(const char *src, const char *dest, bool dest_is_dir,
                   char **dir, char **name) {
  cleanup_free char *s = strdup(src), *d = strdup(dest), *d2 = strdup(dest);
  size_t l = s ? strlen(s) : 0;
  while (l > 1 && s[l - 1] == '/')
    s[--l] = '\0';
  if (dest_is_dir) {
    *dir = strdup(dest);
    *name = strdup(s ? basename(s) : "");
  } else {
    *dir = strdup(d ? dirname(d) : ".");
    *name = strdup(d2 ? basename(d2) : "");
  }
}

static int copy_out(st_store *s, const char *ctr, const char *path,
                    const char *dest) {
  cleanup_error st_error *err = NULL;
  if (strcmp(dest, "-") == 0) {
    if (st_container_copy_out(s, ctr, path, NULL, 1, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
    return 0;
  }
  struct stat st;
  bool is_dir = stat(dest, &st) == 0 && S_ISDIR(st.st_mode);
  cleanup_free char *dir = NULL, *name = NULL;
  target(path, dest, is_dir, &dir, &name);
  if (dir == NULL || name == NULL)
    return cli_fail(1, "out of memory");
  if (st_container_copy_to_host(s, ctr, path, dir, name, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  return 0;
}

static int copy_in(st_store *s, const char *src, const char *ctr,
                   const char *path) {
  cleanup_error st_error *err = NULL;
  if (strcmp(src, "-") == 0) {
    if (st_container_copy_in(s, ctr, path, 0, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
    return 0;
  }
  struct stat st;
  if (lstat(src, &st) < 0)
    return cli_fail(1, "Could not find the file %s: %s", src, strerror(errno));
  bool is_dir = false;
  st_error *e = NULL;
  if (st_container_stat(s, ctr, path, &is_dir, &e) < 0) {
    bool missing = e->code == ENOENT;
    if (!missing) {
      cli_print_error(e);
      st_error_free(e);
      return 1;
    }
    st_error_free(e);
  }
  cleanup_free char *dir = NULL, *name = NULL;
  target(src, path, is_dir, &dir, &name);
  if (dir == NULL || name == NULL)
    return cli_fail(1, "out of memory");
  if (st_container_copy_from_host(s, ctr, src, name, dir, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  return 0;
}

static int run_cp(int argc, char **argv) {
  static const struct option opts[] = {{"archive", no_argument, 0, 'a'},
                                       {"follow-link", no_argument, 0, 'L'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "aLqh", opts)) != -1) {
    switch (ch) {
    case 'a':
    case 'L':
    case 'q':
      break;
    case 'h':
      return cli_usage(&st_cmd_cp);
    default:
      return cli_bad_flag("cp");
    }
  }
  if (argc - optind != 2)
    return cli_bad_usage("cp", "\"strata cp\" requires exactly 2 arguments.");
  char *src_path = NULL, *dst_path = NULL;
  char *src_ctr = split_arg(argv[optind], &src_path);
  char *dst_ctr = split_arg(argv[optind + 1], &dst_path);
  if ((src_ctr == NULL) == (dst_ctr == NULL))
    return cli_fail(1, src_ctr ? "copying between containers is not supported"
                               : "must specify at least one container source");
  const char *cpath = src_ctr ? src_path : dst_path;
  if (cpath[0] != '/')
    return cli_fail(1, "the container path must be absolute: \"%s\"", cpath);
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  if (src_ctr)
    return copy_out(s, src_ctr, src_path, argv[optind + 1]);
  return copy_in(s, argv[optind], dst_ctr, dst_path);
}
