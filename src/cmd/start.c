/* strata start: start stopped containers. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/cleanup.h"

#include "attach.h"
#include "cli.h"
#include "runtime/runtime.h"

static int run_start(int argc, char **argv);

ST_COMMAND(start, "start|container start", run_start,
           "Start one or more stopped containers",
           "\nUsage:  strata start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Start one or more stopped containers\n\n"
           "Aliases:\n"
           "  strata container start, strata start\n\n"
           "Options:\n"
           "  -a, --attach        Attach STDOUT/STDERR and forward signals\n"
           "      --detach-keys string  Override the key sequence for "
           "detaching a\n"
           "                      container\n"
           "      --all-restartable  Start every container whose restart "
           "policy is\n"
           "                      \"always\", or \"unless-stopped\" and not "
           "stopped by the\n"
           "                      user, that is not running (after a reboot: "
           "there is\n"
           "                      no daemon to do it)\n"
           "  -i, --interactive   Attach container's STDIN\n"
           "  -h, --help          Print usage\n");

static int start_one(st_store *s, const char *name, void *ctx, st_error **err) {
  return st_container_start_detached(s, name, err);
}

/* start -a: the exit code is the last container's; the first failure
 * stops the loop (the names after it are not started). */
typedef struct attached {
  int status;
  bool failed;
  cli_attach_opts o; /* for a running one */
} attached;

static int start_attached(st_store *s, const char *name, void *ctx,
                          st_error **err) {
  attached *a = ctx;
  if (a->failed)
    return 0;
  st_container c;
  st_error *e = NULL;
  if (st_container_find(s, name, &c, &e) == 0) {
    st_container_refresh(s, &c);
    bool running = c.state == ST_CT_RUNNING;
    st_container_clear(&c);
    if (running) { /* Docker attaches to a running one */
      a->status = cli_attach_running(s, name, &a->o);
      return 0;
    }
  }
  st_error_free(e);
  if (st_container_run(s, name, &a->status, err) < 0) {
    a->failed = true;
    return -1;
  }
  return 0;
}

/* --all-restartable: prints the names of the containers it started. */
static int start_restartable(void) {
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  char **names = NULL;
  size_t n = 0;
  cleanup_free char *failed = NULL;
  if (st_containers_start_restartable(s, &names, &n, &failed, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    printf("%s\n", names[i]);
  st_strv_free(names, n);
  if (failed)
    fprintf(stderr, "Error response from daemon: %s", failed);
  return failed ? 1 : 0;
}

static int run_start(int argc, char **argv) {
  static const struct option opts[] = {
      {"attach", no_argument, 0, 'a'},
      {"interactive", no_argument, 0, 'i'},
      {"help", no_argument, 0, 'h'},
      {"all-restartable", no_argument, 0, 'R'},
      {"detach-keys", required_argument, 0, 'K'},
      {0, 0, 0, 0}};
  bool attach = false, restartable = false;
  attached a = {.o = {.sig_proxy = true}};
  int ch;
  while ((ch = cli_getopt(argc, argv, "aih", opts)) != -1) {
    switch (ch) {
    case 'a':
      attach = true;
      break;
    case 'i':
      attach = a.o.in = true;
      break;
    case 'K':
      a.o.detach_keys = optarg;
      break;
    case 'R':
      restartable = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_start);
    default:
      return cli_bad_flag("start");
    }
  }
  if (restartable && (attach || optind < argc))
    return cli_bad_usage("start", "--all-restartable takes no container "
                                  "names and no --attach");
  if (restartable)
    return start_restartable();
  if (!attach)
    return cli_each("start", argc, argv, optind, start_one, NULL, true);
  int code = cli_each("start", argc, argv, optind, start_attached, &a, false);
  return code != 0 ? code : a.status;
}
