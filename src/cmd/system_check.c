/* strata system check: verify (and with --repair, fix) the image store. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "fmt/units.h"
#include "runtime/netrules.h"
#include "store/fsck.h"
#include "util/cleanup.h"

static int run_check(int argc, char **argv);

ST_COMMAND(system_check, "system check", run_check,
           "Check the consistency of the image store",
           "\nUsage:  strata system check [OPTIONS]\n\n"
           "Check the consistency of the image store: every blob's digest, "
           "every\nimage's config, manifest and layers, tags and the "
           "database; and what a crash\nleft of networking (interfaces, "
           "nftables rules)\n\n"
           "Options:\n"
           "      --deep     Compare every unpacked layer tree with its "
           "tar (default: a sample)\n"
           "      --repair   Remove broken images, dangling references and "
           "unreferenced blobs;\n"
           "                 unpack damaged layer trees again; remove stale "
           "network interfaces\n"
           "                 and rebuild stale nftables rules\n"
           "  -h, --help     Print usage\n");

static const char *plural(size_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

static void print_problems(const st_fsck_report *r) {
  for (size_t i = 0; i < r->n_problems; i++)
    printf("%s\n", r->problems[i].msg);
}

static void print_summary(const char *lead, const st_fsck_report *r) {
  printf("%s %zu %s and %zu %s: ", lead, r->n_images,
         plural(r->n_images, "image", "images"), r->n_blobs,
         plural(r->n_blobs, "blob", "blobs"));
  if (r->n_problems == 0)
    printf("no problems found.\n");
  else
    printf("%zu %s found.\n", r->n_problems,
           plural(r->n_problems, "problem", "problems"));
}

static void print_garbage(const st_fsck_report *r, bool repairing) {
  if (r->n_garbage == 0 || repairing)
    return;
  cleanup_free char *size = st_human_size_prec(r->garbage_bytes, 4);
  printf("%zu unreferenced %s (%s) can be reclaimed with `strata system "
         "check --repair`.\n",
         r->n_garbage, plural(r->n_garbage, "blob", "blobs"),
         size ? size : "?");
}

static void print_repair(const st_fsck_repair *rep) {
  for (size_t i = 0; i < rep->n_images; i++)
    printf("Removed image %s\n", rep->images[i]);
  for (size_t i = 0; i < rep->n_references; i++) {
    cleanup_free char *fam = cli_familiar(rep->references[i]);
    printf("Removed reference %s\n", fam ? fam : rep->references[i]);
  }
  for (size_t i = 0; i < rep->n_cut; i++)
    printf("Cut the parent link of image %s (a parent cycle)\n", rep->cut[i]);
  for (size_t i = 0; i < rep->n_trees; i++)
    printf("Unpacked layer tree %s again\n", rep->trees[i]);
  for (size_t i = 0; i < rep->n_not_repaired; i++)
    printf("Not repaired: %s\n", rep->not_repaired[i]);
  if (rep->n_stray > 0)
    printf("Removed %zu stray %s from blobs/sha256\n", rep->n_stray,
           plural(rep->n_stray, "entry", "entries"));
  cleanup_free char *size = st_human_size_prec(rep->freed, 4);
  printf("Reclaimed %s of unreferenced blobs\n", size ? size : "?");
}

static bool needs_repair(const st_fsck_report *r) {
  return r->n_problems > 0 || r->n_garbage > 0 || r->n_garbage_layers > 0;
}

static int repair(st_store *s, bool deep, const st_fsck_report *found) {
  cleanup_error st_error *err = NULL;
  st_fsck_repair rep;
  if (st_store_repair(s, found, &rep, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  print_repair(&rep);
  st_fsck_repair_clear(&rep);
  st_fsck_report again;
  if (st_store_check_deep(s, deep, &again, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  print_problems(&again);
  print_summary("After the repair: checked", &again);
  int code = again.n_problems > 0 ? 1 : 0;
  st_fsck_report_clear(&again);
  return code;
}

/* Networking left behind by a crash (runtime/netrules.h): reported as
 * problems; --repair removes the links and rebuilds the table. */
static int check_network(st_store *s, bool do_repair) {
  cleanup_error st_error *err = NULL;
  st_net_check c;
  if (st_net_check_run(s, &c, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  for (size_t i = 0; i < c.n_links; i++)
    printf("network interface %s belongs to no running container\n",
           c.links[i]);
  if (c.rules_stale)
    printf("the nftables table \"ip strata\" has rules of containers or "
           "networks that are gone (run `strata system check --repair`)\n");
  int code = c.n_links > 0 || c.rules_stale ? 1 : 0;
  if (code && do_repair) {
    if (st_net_check_repair(s, &c, &err) < 0) {
      cli_print_error(err);
    } else {
      for (size_t i = 0; i < c.n_links; i++)
        printf("Removed network interface %s\n", c.links[i]);
      if (c.rules_stale)
        printf("Rebuilt the nftables table \"ip strata\"\n");
      code = 0;
    }
  }
  st_net_check_clear(&c);
  return code;
}

static int run_check(int argc, char **argv) {
  static const struct option opts[] = {{"repair", no_argument, 0, 'r'},
                                       {"deep", no_argument, 0, 'd'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool do_repair = false, deep = false;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (c) {
    case 'r':
      do_repair = true;
      break;
    case 'd':
      deep = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_system_check);
    default:
      return cli_bad_flag("system check");
    }
  }
  if (optind < argc)
    return cli_bad_usage("system check",
                         "\"strata system check\" accepts no arguments.\n"
                         "Usage:  strata system check [OPTIONS]");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_fsck_report r;
  if (st_store_check_deep(s, deep, &r, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  print_problems(&r);
  print_summary("Checked", &r);
  print_garbage(&r, do_repair);
  int code = r.n_problems > 0 ? 1 : 0;
  if (do_repair && needs_repair(&r))
    code = repair(s, deep, &r);
  st_fsck_report_clear(&r);
  int net = check_network(s, do_repair);
  return code ? code : net;
}
