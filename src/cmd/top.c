/* strata top: the processes of a container, as the host's ps shows them
 * (Docker runs ps on the host and keeps the rows of the container's
 * PIDs). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_top(int argc, char **argv);

ST_COMMAND(top, "top|container top", run_top,
           "Display the running processes of a container",
           "\nUsage:  strata top CONTAINER [ps OPTIONS]\n\n"
           "Display the running processes of a container\n\n"
           "Aliases:\n"
           "  strata container top, strata top\n");

/* The start of field i (0-based, blank-separated) of line, or NULL. */
static const char *field(const char *line, int i) {
  const char *p = line + strspn(line, " \t");
  for (; *p && *p != '\n' && i > 0; i--) {
    p += strcspn(p, " \t\n");
    p += strspn(p, " \t");
  }
  return *p && *p != '\n' ? p : NULL;
}

/* The index of the PID column in ps's header line. */
static int pid_column(const char *header) {
  for (int i = 0;; i++) {
    const char *f = field(header, i);
    if (f == NULL)
      return -1;
    if (strncmp(f, "PID", 3) == 0 && strchr(" \t\n", f[3]) && f[3])
      return i;
  }
}

static bool wanted(const char *line, int col, const pid_t *pids, size_t n) {
  const char *f = field(line, col);
  if (f == NULL)
    return false;
  pid_t p = (pid_t)atoi(f);
  for (size_t i = 0; i < n; i++)
    if (pids[i] == p)
      return true;
  return false;
}

static int run_top(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return argc < 2 ? cli_bad_usage("top", "\"strata top\" requires at least "
                                           "1 argument.")
                    : cli_usage(&st_cmd_top);
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n = 0;
  if (st_container_pids(s, argv[1], &pids, &n, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  cleanup_free char **args = calloc((size_t)argc + 2, sizeof(char *));
  if (args == NULL)
    return cli_fail(1, "out of memory");
  args[0] = (char *)"ps";
  size_t k = 1;
  if (argc == 2)
    args[k++] = (char *)"-ef";
  for (int i = 2; i < argc; i++)
    args[k++] = argv[i];
  int p[2];
  if (pipe(p) < 0)
    return cli_fail(1, "pipe: %m");
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execvp("ps", args);
    _exit(127);
  }
  close(p[1]);
  cleanup_file FILE *f = fdopen(p[0], "r");
  char *line = NULL;
  size_t cap = 0;
  int col = -1;
  bool first = true;
  while (f && getline(&line, &cap, f) > 0) {
    if (first) {
      col = pid_column(line);
      fputs(line, stdout);
      first = false;
    } else if (col >= 0 && wanted(line, col, pids, n)) {
      fputs(line, stdout);
    }
  }
  free(line);
  int ws = 0;
  waitpid(child, &ws, 0);
  if (col < 0)
    return cli_fail(1, "Couldn't find PID field in ps output");
  return WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? 0 : 1;
}
