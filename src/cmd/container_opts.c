/* Flags shared by `run` and `create`: Docker's names and rules. */
#include "container_opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  OPT_PULL,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_SECURITY_OPT,
  OPT_RUNTIME,
  OPT_CPUS,
  OPT_PIDS_LIMIT,
  OPT_MOUNT,
  OPT_VOLUMES_FROM,
  OPT_INIT,
  OPT_NETWORK_ALIAS,
  OPT_IP,
  OPT_DNS,
  OPT_DNS_SEARCH,
  OPT_DNS_OPTION,
  OPT_ADD_HOST,
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
    {"pull", required_argument, 0, OPT_PULL},
    {"cap-add", required_argument, 0, OPT_CAP_ADD},
    {"cap-drop", required_argument, 0, OPT_CAP_DROP},
    {"security-opt", required_argument, 0, OPT_SECURITY_OPT},
    {"runtime", required_argument, 0, OPT_RUNTIME},
    {"memory", required_argument, 0, 'm'},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"pids-limit", required_argument, 0, OPT_PIDS_LIMIT},
    {"mount", required_argument, 0, OPT_MOUNT},
    {"volumes-from", required_argument, 0, OPT_VOLUMES_FROM},
    {"init", optional_argument, 0, OPT_INIT},
    {"network-alias", required_argument, 0, OPT_NETWORK_ALIAS},
    {"net-alias", required_argument, 0, OPT_NETWORK_ALIAS},
    {"ip", required_argument, 0, OPT_IP},
    {"dns", required_argument, 0, OPT_DNS},
    {"dns-search", required_argument, 0, OPT_DNS_SEARCH},
    {"dns-option", required_argument, 0, OPT_DNS_OPTION},
    {"dns-opt", required_argument, 0, OPT_DNS_OPTION},
    {"add-host", required_argument, 0, OPT_ADD_HOST},
    {"publish", required_argument, 0, 'p'},
    {"publish-all", no_argument, 0, 'P'},
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

/* Docker's rule for a line of an env file: the name (before any '=') is
 * not empty and holds no blank. Returns -1 when good, else the exit code
 * after printing Docker's message. */
static int check_env_line(const char *path, const char *line) {
  size_t n = strcspn(line, "=");
  if (n == 0)
    return cli_fail(125, "invalid env file (%s): no variable name on line '%s'",
                    path, line);
  if (strcspn(line, " \t") < n)
    return cli_fail(125,
                    "invalid env file (%s): variable '%.*s' contains "
                    "whitespaces",
                    path, (int)n, line);
  return -1;
}

/* --env-file: one K=V or K per line; # comments and blank lines skipped,
 * leading blanks removed; the value is kept as written. */
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
    int code = check_env_line(path, p);
    if (code >= 0)
      return code;
    char *dup = strdup(p);
    if (dup == NULL || push(&c->file_lines, &c->n_file_lines, dup) < 0 ||
        push(&c->env, &c->o.n_env, dup) < 0)
      return cli_fail(125, "out of memory");
  }
  return -1;
}

/* Docker's RAMInBytes: a number with an optional b, k, m, g, t or p suffix
 * (powers of 1024, any case, "mb" as "m"). */
static int parse_memory(const char *v, int64_t *out) {
  char *end = NULL;
  errno = 0;
  double n = strtod(v, &end);
  if (errno || end == v || n < 0)
    return -1;
  static const char units[] = "bkmgtp";
  const char *u = units;
  if (*end) {
    u = strchr(units, tolower((unsigned char)*end));
    if (u == NULL)
      return -1;
    end++;
    if (u != units && tolower((unsigned char)*end) == 'b')
      end++;
    if (*end)
      return -1;
  }
  for (const char *p = units; p < u; p++)
    n *= 1024;
  *out = (int64_t)n;
  return 0;
}

/* --memory, --cpus, --pids-limit; -1 when good, else the exit code. */
static int resource_flag(cli_create *c, int ch, const char *cmdname) {
  st_create_opts *o = &c->o;
  char *end = NULL;
  errno = 0;
  if (ch == 'm') {
    if (parse_memory(optarg, &o->memory) < 0)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"-m, "
                           "--memory\" flag: invalid size: '%s'",
                           optarg, optarg),
             125;
    if (o->memory > 0 && o->memory < 6 * 1024 * 1024)
      return cli_fail(125, "Minimum memory limit allowed is 6MB");
  } else if (ch == OPT_CPUS) {
    double n = strtod(optarg, &end);
    if (errno || end == optarg || *end || n < 0)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--cpus\" "
                           "flag: failed to parse %s as a rational number",
                           optarg, optarg),
             125;
    o->nano_cpus = (int64_t)(n * 1e9 + 0.5);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (online > 0 && o->nano_cpus > (int64_t)online * 1000000000)
      return cli_fail(125,
                      "Range of CPUs is from 0.01 to %ld.00, as there are "
                      "only %ld CPUs available",
                      online, online);
  } else {
    long long n = strtoll(optarg, &end, 10);
    if (errno || end == optarg || *end)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for "
                           "\"--pids-limit\" flag: strconv.ParseInt: "
                           "parsing \"%s\": invalid syntax",
                           optarg, optarg),
             125;
    o->pids_limit = n;
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
      cli_bad_flag(cmdname);
      return 125;
    }
    c->detach = true;
    o->detach = true;
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
  case OPT_MOUNT:
    push(&c->mounts, &o->n_mounts, optarg);
    break;
  case OPT_VOLUMES_FROM:
    push(&c->volumes_from, &o->n_volumes_from, optarg);
    break;
  case OPT_INIT: /* --init, or Go's --init=true|false */
    if (optarg && strcmp(optarg, "true") && strcmp(optarg, "false") &&
        strcmp(optarg, "1") && strcmp(optarg, "0"))
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--init\" flag: "
                           "strconv.ParseBool: parsing \"%s\": invalid syntax",
                           optarg, optarg),
             125;
    o->init = optarg == NULL || strcmp(optarg, "true") == 0 ||
              strcmp(optarg, "1") == 0;
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
  case OPT_NETWORK_ALIAS:
    push(&c->net_aliases, &o->n_network_aliases, optarg);
    break;
  case OPT_IP:
    o->ip = optarg;
    break;
  case OPT_DNS:
    push(&c->dns, &o->n_dns, optarg);
    break;
  case OPT_DNS_SEARCH:
    push(&c->dns_search, &o->n_dns_search, optarg);
    break;
  case OPT_DNS_OPTION:
    push(&c->dns_option, &o->n_dns_option, optarg);
    break;
  case OPT_ADD_HOST:
    push(&c->add_host, &o->n_add_host, optarg);
    break;
  case 'p':
    push(&c->publish, &o->n_publish, optarg);
    break;
  case 'P':
    o->publish_all = true;
    break;
  case OPT_HELP:
    return cli_usage(cmd);
  case OPT_PULL:
    c->pull = optarg;
    break;
  case OPT_CAP_ADD:
    push(&c->cap_add, &o->n_cap_add, optarg);
    break;
  case OPT_CAP_DROP:
    push(&c->cap_drop, &o->n_cap_drop, optarg);
    break;
  case OPT_SECURITY_OPT:
    push(&c->security_opt, &o->n_security_opt, optarg);
    break;
  case OPT_RUNTIME:
    o->runtime = optarg;
    break;
  case 'm':
  case OPT_CPUS:
  case OPT_PIDS_LIMIT:
    return resource_flag(c, ch, cmdname);
  default:
    cli_bad_flag(cmdname);
    return 125;
  }
  return -1;
}

int cli_create_parse(int argc, char **argv, const char *cmdname,
                     const st_command *cmd, bool allow_detach, cli_create *c) {
  memset(c, 0, sizeof(*c));
  int ch;
  optind = 1;
  while ((ch = cli_getopt(argc, argv, "+itde:w:u:v:h:m:p:P", opts)) != -1) {
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
  c->o.mounts = c->mounts;
  c->o.volumes_from = c->volumes_from;
  c->o.cap_add = c->cap_add;
  c->o.cap_drop = c->cap_drop;
  c->o.security_opt = c->security_opt;
  c->o.network_aliases = c->net_aliases;
  c->o.dns = c->dns;
  c->o.dns_search = c->dns_search;
  c->o.dns_option = c->dns_option;
  c->o.add_host = c->add_host;
  c->o.publish = c->publish;
  return -1;
}

void cli_create_free(cli_create *c) {
  for (size_t i = 0; i < c->n_file_lines; i++)
    free(c->file_lines[i]);
  free(c->file_lines);
  free(c->env);
  free(c->vols);
  free(c->tmpfs);
  free(c->mounts);
  free(c->volumes_from);
  free(c->cap_add);
  free(c->cap_drop);
  free(c->security_opt);
  free(c->net_aliases);
  free(c->dns);
  free(c->dns_search);
  free(c->dns_option);
  free(c->add_host);
  free(c->publish);
}

int cli_runtime_fail(const st_error *err) {
  cli_print_error(err);
  return st_runtime_exit_code(err);
}
