/* Flags shared by `run` and `create`: Docker's names and rules. */
#include "container_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/cleanup.h"

enum {
  OPT_RM = 1000,
  OPT_NAME,
  OPT_ENV_FILE,
  OPT_ENTRYPOINT,
  OPT_TMPFS,
  OPT_READ_ONLY,
  OPT_NETWORK,
  OPT_PRIVILEGED,
  OPT_HELP,
};

static const struct option opts[] = {
    {"interactive", no_argument, 0, 'i'},
    {"tty", no_argument, 0, 't'},
    {"detach", no_argument, 0, 'd'},
    {"rm", no_argument, 0, OPT_RM},
    {"name", required_argument, 0, OPT_NAME},
    {"env", required_argument, 0, 'e'},
    {"env-file", required_argument, 0, OPT_ENV_FILE},
    {"workdir", required_argument, 0, 'w'},
    {"user", required_argument, 0, 'u'},
    {"entrypoint", required_argument, 0, OPT_ENTRYPOINT},
    {"volume", required_argument, 0, 'v'},
    {"tmpfs", required_argument, 0, OPT_TMPFS},
    {"read-only", no_argument, 0, OPT_READ_ONLY},
    {"hostname", required_argument, 0, 'h'},
    {"network", required_argument, 0, OPT_NETWORK},
    {"net", required_argument, 0, OPT_NETWORK},
    {"privileged", no_argument, 0, OPT_PRIVILEGED},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0}};

static int push(char ***v, size_t *n, char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (nv == NULL)
    return -1;
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

/* --env-file: one K=V or K per line; # comments and blank lines skipped. */
static int read_env_file(cli_create *c, const char *path) {
  cleanup_file FILE *f = fopen(path, "re");
  if (f == NULL)
    return cli_fail(125, "open %s: no such file or directory", path);
  char line[8192];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
      continue;
    char *dup = strdup(p);
    if (dup == NULL || push(&c->file_lines, &c->n_file_lines, dup) < 0 ||
        push(&c->env, &c->o.n_env, dup) < 0)
      return cli_fail(125, "out of memory");
  }
  return -1;
}

static int one_flag(cli_create *c, int ch, const char *cmdname,
                    const st_command *cmd, bool allow_detach) {
  st_create_opts *o = &c->o;
  switch (ch) {
  case 'i':
    o->interactive = true;
    break;
  case 't':
    o->tty = true;
    break;
  case 'd':
    if (!allow_detach) {
      cli_bad_usage(cmdname, "unknown shorthand flag: 'd' in -d");
      return 125;
    }
    c->detach = true;
    break;
  case OPT_RM:
    o->auto_remove = true;
    break;
  case OPT_NAME:
    o->name = optarg;
    break;
  case 'e':
    push(&c->env, &o->n_env, optarg);
    break;
  case OPT_ENV_FILE:
    return read_env_file(c, optarg);
  case 'w':
    o->workdir = optarg;
    break;
  case 'u':
    o->user = optarg;
    break;
  case OPT_ENTRYPOINT:
    o->entrypoint = optarg;
    break;
  case 'v':
    push(&c->vols, &o->n_volumes, optarg);
    break;
  case OPT_TMPFS:
    push(&c->tmpfs, &o->n_tmpfs, optarg);
    break;
  case OPT_READ_ONLY:
    o->read_only = true;
    break;
  case 'h':
    o->hostname = optarg;
    break;
  case OPT_NETWORK:
    o->network = optarg;
    break;
  case OPT_PRIVILEGED:
    o->privileged = true;
    break;
  case OPT_HELP:
    return cli_usage(cmd);
  default:
    cli_bad_usage(cmdname, "unknown flag");
    return 125;
  }
  return -1;
}

int cli_create_parse(int argc, char **argv, const char *cmdname,
                     const st_command *cmd, bool allow_detach, cli_create *c) {
  memset(c, 0, sizeof(*c));
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "+itde:w:u:v:h:", opts, NULL)) != -1) {
    int r = one_flag(c, ch, cmdname, cmd, allow_detach);
    if (r >= 0)
      return r;
  }
  if (optind >= argc) {
    cli_bad_usage(cmdname,
                  "\"strata %s\" requires at least 1 argument.\nUsage:  "
                  "strata %s [OPTIONS] IMAGE [COMMAND] [ARG...]",
                  cmdname, cmdname);
    return 125;
  }
  c->o.image = argv[optind];
  c->o.cmd = argv + optind + 1;
  c->o.n_cmd = (size_t)(argc - optind - 1);
  c->o.env = c->env;
  c->o.volumes = c->vols;
  c->o.tmpfs = c->tmpfs;
  return -1;
}

void cli_create_free(cli_create *c) {
  for (size_t i = 0; i < c->n_file_lines; i++)
    free(c->file_lines[i]);
  free(c->file_lines);
  free(c->env);
  free(c->vols);
  free(c->tmpfs);
}

int cli_runtime_fail(const st_error *err) {
  cli_print_error(err);
  return st_runtime_exit_code(err);
}
