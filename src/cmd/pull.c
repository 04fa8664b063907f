/* strata pull: download an image from a registry. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pull_progress.h"
#include "ref/ref.h"
#include "registry/registry.h"
#include "store/events.h"
#include "util/cleanup.h"

static int run_pull(int argc, char **argv);

ST_COMMAND(pull, "pull|image pull", run_pull,
           "Download an image from a registry",
           "\nUsage:  strata pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
           "Download an image from a registry\n\n"
           "Aliases:\n"
           "  strata image pull, strata pull\n\n"
           "Options:\n"
           "  -a, --all-tags                       Download all tagged images "
           "in the repository\n"
           "      --max-concurrent-downloads int   Parallel layer downloads "
           "(default 3)\n"
           "      --platform string                Set platform if server is "
           "multi-platform capable\n"
           "  -q, --quiet                          Suppress verbose output\n"
           "      --tls-verify                     Require HTTPS and verify "
           "certificates (default true)\n"
           "  -h, --help                           Print usage\n\n"
           "Registry settings (Docker's daemon.json keys \"registry-mirrors\" "
           "and\n\"insecure-registries\") are read from $STRATA_CONFIG, else "
           "/etc/strata/daemon.json.\n");

/* `pull -a REPO`: every tag, one after the other, as Docker does. */
static int pull_all_tags(struct st_store *s, const char *repo,
                         const st_reg_opts *o, bool quiet) {
  cleanup_error st_error *err = NULL;
  char **tags = NULL;
  size_t n = 0;
  if (st_registry_list_tags(repo, o, &tags, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  bool newer = false;
  cleanup_free char *name = NULL;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    cleanup_free char *ref = NULL;
    if (asprintf(&ref, "%s:%s", repo, tags[i]) < 0) {
      rc = cli_fail(1, "out of memory");
      break;
    }
    st_pull_result r;
    if (st_registry_pull(s, ref, o, &r, &err) < 0) {
      cli_print_error(err);
      rc = 1;
      break;
    }
    newer |= !r.up_to_date;
    st_event_image(s, "pull", r.name, r.name);
    if (!quiet)
      printf("Digest: %s\n", r.digest);
    if (name == NULL && r.name)
      name = strndup(r.name, strcspn(r.name, "@") - 0);
    st_pull_result_clear(&r);
  }
  st_tags_free(tags, n);
  if (rc != 0 || name == NULL)
    return rc ? rc : 1;
  /* "host/repo:tag" -> "host/repo" */
  char *colon = strrchr(name, ':');
  if (colon && strchr(colon, '/') == NULL)
    *colon = '\0';
  cleanup_free char *fam = cli_familiar(name);
  if (!quiet)
    printf("Status: %s for %s\n",
           newer ? "Downloaded newer image" : "Image is up to date",
           fam ? fam : name);
  printf("%s\n", name);
  return 0;
}

static int parse_bool(const char *s, bool *out) {
  if (s == NULL || strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
    *out = true;
    return 0;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
    *out = false;
    return 0;
  }
  return -1;
}

/* True when ref is a valid reference with neither tag nor digest
 * ("busybox", "localhost:5000/app"), for which Docker says which tag it
 * pulls. */
static bool name_only(const char *ref) {
  st_ref r;
  cleanup_error st_error *err = NULL;
  if (st_ref_parse(ref, &r, &err) < 0)
    return false;
  st_ref_clear(&r);
  const char *last = strrchr(ref, '/');
  return strchr(last ? last : ref, ':') == NULL && strchr(ref, '@') == NULL;
}

static int run_pull(int argc, char **argv) {
  static const struct option opts[] = {
      {"all-tags", no_argument, 0, 'a'},
      {"quiet", no_argument, 0, 'q'},
      {"platform", required_argument, 0, 'P'},
      {"tls-verify", optional_argument, 0, 'T'},
      {"max-concurrent-downloads", required_argument, 0, 'M'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  st_reg_opts o = {0};
  bool quiet = false, verify = true, all_tags = false;
  int c;
  while ((c = cli_getopt(argc, argv, "aqh", opts)) != -1) {
    switch (c) {
    case 'a':
      all_tags = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 'P':
      o.platform = optarg;
      break;
    case 'T':
      if (parse_bool(optarg, &verify) < 0)
        return cli_bad_usage("pull",
                             "invalid argument \"%s\" for "
                             "\"--tls-verify\" flag",
                             optarg);
      break;
    case 'M':
      o.max_concurrent = atoi(optarg);
      if (o.max_concurrent <= 0)
        return cli_bad_usage("pull",
                             "invalid argument \"%s\" for "
                             "\"--max-concurrent-downloads\" flag",
                             optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_pull);
    default:
      return cli_bad_flag("pull");
    }
  }
  if (argc - optind != 1)
    return cli_bad_usage("pull", "\"strata pull\" requires exactly 1 "
                                 "argument.\nUsage:  strata pull [OPTIONS] "
                                 "NAME[:TAG|@DIGEST]");
  o.tls_insecure = !verify;
  cli_pull_printer p;
  cli_pull_printer_init(&p, stdout);
  if (!quiet) {
    o.progress = cli_pull_on_event;
    o.progress_ctx = &p;
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  if (all_tags)
    return pull_all_tags(s, argv[optind], &o, quiet);
  if (!quiet && name_only(argv[optind])) {
    printf("Using default tag: latest\n");
    fflush(stdout);
  }
  cleanup_error st_error *err = NULL;
  st_pull_result r;
  if (st_registry_pull(s, argv[optind], &o, &r, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  st_event_image(s, "pull", r.name, r.name);
  if (quiet) {
    printf("%s\n", r.name);
  } else {
    cli_pull_print_status(stdout, &r);
    printf("%s\n", r.name);
  }
  st_pull_result_clear(&r);
  return 0;
}
