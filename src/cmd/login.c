/* strata login: check and store registry credentials. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "registry/creds.h"
#include "registry/registry.h"
#include "util/cleanup.h"

static int run_login(int argc, char **argv);

ST_COMMAND(login, "login", run_login, "Log in to a registry",
           "\nUsage:  strata login [OPTIONS] [SERVER]\n\n"
           "Log in to a registry.\n"
           "If no server is specified, the default is docker.io.\n\n"
           "Options:\n"
           "  -p, --password string   Password\n"
           "      --password-stdin    Take the password from stdin\n"
           "      --tls-verify        Require HTTPS and verify certificates "
           "(default true)\n"
           "  -u, --username string   Username\n"
           "  -h, --help              Print usage\n");

/* One line from f, without its newline (malloc'd), or NULL at EOF. */
static char *read_line(FILE *f) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, f);
  if (n < 0) {
    free(line);
    return NULL;
  }
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  return line;
}

/* Reads the whole of stdin as the password, trailing newlines removed. */
static char *read_stdin_password(void) {
  char *all = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&all, &len);
  if (m == NULL)
    return NULL;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
    fwrite(buf, 1, n, m);
  fclose(m);
  while (len > 0 && (all[len - 1] == '\n' || all[len - 1] == '\r'))
    all[--len] = '\0';
  return all;
}

static char *prompt(const char *what, bool echo) {
  fprintf(stderr, "%s: ", what);
  fflush(stderr);
  struct termios old, quiet;
  bool tty = !echo && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char *line = read_line(stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
  }
  return line;
}

static int run_login(int argc, char **argv) {
  static const struct option opts[] = {
      {"username", required_argument, 0, 'u'},
      {"password", required_argument, 0, 'p'},
      {"password-stdin", no_argument, 0, 'S'},
      {"tls-verify", optional_argument, 0, 'T'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *user = NULL, *pass_arg = NULL;
  bool pass_stdin = false;
  st_reg_opts o = {0};
  int c;
  while ((c = cli_getopt(argc, argv, "u:p:h", opts)) != -1) {
    switch (c) {
    case 'u':
      user = optarg;
      break;
    case 'p':
      pass_arg = optarg;
      break;
    case 'S':
      pass_stdin = true;
      break;
    case 'T':
      if (optarg && strcmp(optarg, "false") == 0)
        o.tls_insecure = true;
      break;
    case 'h':
      return cli_usage(&st_cmd_login);
    default:
      return cli_bad_flag("login");
    }
  }
  if (argc - optind > 1)
    return cli_bad_usage("login", "\"strata login\" requires at most 1 "
                                  "argument.\nUsage:  strata login [OPTIONS] "
                                  "[SERVER]");
  const char *server = optind < argc ? argv[optind] : "docker.io";
  if (pass_arg && pass_stdin)
    return cli_fail(1, "--password and --password-stdin are mutually "
                       "exclusive");
  if (pass_stdin && user == NULL)
    return cli_fail(1, "Must provide --username with --password-stdin");
  if (pass_arg)
    fputs("WARNING! Using --password via the CLI is insecure. Use "
          "--password-stdin.\n",
          stderr);
  cleanup_free char *user_buf = NULL;
  cleanup_free char *pass = NULL;
  if (user == NULL)
    user = user_buf = prompt("Username", true);
  if (pass_stdin)
    pass = read_stdin_password();
  else if (pass_arg)
    pass = strdup(pass_arg);
  else
    pass = prompt("Password", false);
  if (user == NULL || *user == '\0')
    return cli_fail(1, "Username is required");
  if (pass == NULL || *pass == '\0')
    return cli_fail(1, "Password is required");
  cleanup_error st_error *err = NULL;
  cleanup_free char *key = st_registry_auth_key(server);
  if (key == NULL ||
      st_registry_login_check(server, user, pass, &o, &err) < 0 ||
      st_creds_store(key, user, pass, NULL, &err) < 0) {
    explicit_bzero(pass, strlen(pass));
    cli_print_error(err);
    return 1;
  }
  explicit_bzero(pass, strlen(pass));
  printf("Login Succeeded\n");
  return 0;
}
