/* strata kill: send a signal to running containers. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runtime/runtime.h"
#include "store/events.h"

static int run_kill(int argc, char **argv);

ST_COMMAND(kill, "kill|container kill", run_kill,
           "Kill one or more running containers",
           "\nUsage:  strata kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
           "Kill one or more running containers\n\n"
           "Aliases:\n"
           "  strata container kill, strata kill\n\n"
           "Options:\n"
           "  -s, --signal string   Signal to send to the container\n"
           "  -h, --help            Print usage\n");

static int parse_signal(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } t[] = {{"KILL", SIGKILL}, {"TERM", SIGTERM}, {"INT", SIGINT},
           {"HUP", SIGHUP},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
           {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}};
  if (strncmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (strcmp(s, t[i].name) == 0)
      return t[i].sig;
  char *end;
  long n = strtol(s, &end, 10);
  return *end == '\0' && n > 0 && n < 65 ? (int)n : -1;
}

static int kill_one(st_store *s, const char *name, void *sig, st_error **err) {
  if (st_container_kill(s, name, *(int *)sig, err) < 0)
    return -1;
  char num[16];
  snprintf(num, sizeof(num), "%d", *(int *)sig);
  st_event_container(s, name, "kill", "signal", num);
  return 0;
}

static int run_kill(int argc, char **argv) {
  static const struct option opts[] = {{"signal", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int sig = SIGKILL, ch;
  while ((ch = cli_getopt(argc, argv, "s:h", opts)) != -1) {
    switch (ch) {
    case 's':
      if ((sig = parse_signal(optarg)) < 0)
        return cli_fail(1, "invalid signal: %s", optarg);
      break;
    case 'h':
      return cli_usage(&st_cmd_kill);
    default:
      return cli_bad_flag("kill");
    }
  }
  return cli_each("kill", argc, argv, optind, kill_one, &sig, true);
}
