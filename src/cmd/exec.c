/* strata exec: run a command in a running container. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "container_opts.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_exec(int argc, char **argv);

ST_COMMAND(exec, "exec|container exec", run_exec,
           "Execute a command in a running container",
           "\nUsage:  strata exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
           "Execute a command in a running container\n\n"
           "Aliases:\n"
           "  strata container exec, strata exec\n\n"
           "Options:\n"
           "  -d, --detach          Detached mode: run command in the "
           "background\n"
           "  -e, --env list        Set environment variables\n"
           "      --env-file list   Read in a file of environment variables\n"
           "  -i, --interactive     Keep STDIN open even if not attached\n"
           "      --privileged      Give extended privileges to the command\n"
           "  -t, --tty             Allocate a pseudo-TTY\n"
           "  -u, --user string     Username or UID (format: "
           "\"<name|uid>[:<group|gid>]\")\n"
           "  -w, --workdir string  Working directory inside the container\n"
           "  -h, --help            Print usage\n");

static int run_exec(int argc, char **argv) {
  static const struct option opts[] = {{"detach", no_argument, 0, 'd'},
                                       {"env", required_argument, 0, 'e'},
                                       {"env-file", required_argument, 0, 'E'},
                                       {"interactive", no_argument, 0, 'i'},
                                       {"privileged", no_argument, 0, 'P'},
                                       {"tty", no_argument, 0, 't'},
                                       {"user", required_argument, 0, 'u'},
                                       {"workdir", required_argument, 0, 'w'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  cleanup_free char **flags = calloc((size_t)argc, sizeof(char *));
  size_t n_flags = 0;
  /* --env-file lines (owned by lines), then -e, which wins, as Docker */
  char **lines = NULL, **env = NULL;
  size_t n_lines = 0, n_env = 0;
  const char *files[64];
  size_t n_files = 0;
  st_exec_opts o = {0};
  int ch;
  while ((ch = cli_getopt(argc, argv, "+de:itu:w:h", opts)) != -1) {
    switch (ch) {
    case 'd':
      o.detach = true;
      break;
    case 'e':
      flags[n_flags++] = optarg;
      break;
    case 'E':
      if (n_files == sizeof(files) / sizeof(files[0]))
        return cli_fail(1, "too many --env-file flags");
      files[n_files++] = optarg;
      break;
    case 'i':
      o.interactive = true;
      break;
    case 'P':
      o.privileged = true;
      break;
    case 't':
      o.tty = true;
      break;
    case 'u':
      o.user = optarg;
      break;
    case 'w':
      o.workdir = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_exec);
    default:
      return cli_bad_flag("exec");
    }
  }
  if (argc - optind < 2)
    return cli_bad_usage("exec",
                         "\"strata exec\" requires at least 2 arguments.");
  if (o.interactive && o.tty && !o.detach && !isatty(STDIN_FILENO)) {
    fputs("the input device is not a TTY\n", stderr);
    return 1;
  }
  int code = -1;
  for (size_t i = 0; i < n_files && code < 0; i++)
    code = cli_read_env_file(files[i], 1, &lines, &n_lines, &env, &n_env);
  for (size_t i = 0; i < n_flags && code < 0; i++) {
    char **nv = realloc(env, (n_env + 2) * sizeof(*nv));
    if (nv == NULL) {
      code = cli_fail(1, "out of memory");
      break;
    }
    env = nv;
    env[n_env++] = flags[i];
    env[n_env] = NULL;
  }
  if (code >= 0) {
    st_strv_free(lines, n_lines);
    free(env);
    return code;
  }
  o.env = env;
  o.n_env = n_env;
  o.argv = argv + optind + 1;
  st_store *s = cli_store();
  if (s == NULL)
    return 125;
  cleanup_error st_error *err = NULL;
  int status = 0;
  int rc = st_container_exec(s, argv[optind], &o, &status, &err);
  st_strv_free(lines, n_lines);
  free(env);
  if (rc < 0) {
    cli_print_error(err);
    return st_runtime_exit_code(err);
  }
  return status;
}
