/* Flags shared by `run` and `create`: Docker's names and rules. */
#include "container_opts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fmt/units.h"
#include "runtime/attach_sock.h"
#include "runtime/flags.h"
#include "util/cleanup.h"

enum {
  OPT_RM = 1000,
  OPT_DETACH_KEYS,
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
  OPT_MEMORY_SWAP,
  OPT_MEMORY_RESERVATION,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_OOM_KILL_DISABLE,
  OPT_MOUNT,
  OPT_VOLUMES_FROM,
  OPT_INIT,
  OPT_RESTART,
  OPT_HEALTH_CMD,
  OPT_HEALTH_INTERVAL,
  OPT_HEALTH_TIMEOUT,
  OPT_HEALTH_START_PERIOD,
  OPT_HEALTH_RETRIES,
  OPT_NO_HEALTHCHECK,
  OPT_LABEL_FILE,
  OPT_STOP_SIGNAL,
  OPT_SHM_SIZE,
  OPT_OOM_SCORE_ADJ,
  OPT_STOP_TIMEOUT,
  OPT_CIDFILE,
  OPT_NETWORK_ALIAS,
  OPT_IP,
  OPT_DNS,
  OPT_DNS_SEARCH,
  OPT_DNS_OPTION,
  OPT_ADD_HOST,
  OPT_LOG_DRIVER,
  OPT_LOG_OPT,
  /* issue 11, the flags of runtime/flags.h */
  OPT_ULIMIT,
  OPT_DEVICE,
  OPT_GROUP_ADD,
  OPT_SYSCTL,
  OPT_PID,
  OPT_IPC,
  OPT_UTS,
  OPT_PLATFORM,
  OPT_EXPOSE,
};

static const struct option opts[] = {
    {"interactive", no_argument, 0, 'i'},
    {"tty", no_argument, 0, 't'},
    {"detach", no_argument, 0, 'd'},
    {"attach", required_argument, 0, 'a'},
    {"rm", no_argument, 0, OPT_RM},
    {"detach-keys", required_argument, 0, OPT_DETACH_KEYS},
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
    {"memory-swap", required_argument, 0, OPT_MEMORY_SWAP},
    {"memory-reservation", required_argument, 0, OPT_MEMORY_RESERVATION},
    {"cpu-shares", required_argument, 0, 'c'},
    {"cpuset-cpus", required_argument, 0, OPT_CPUSET_CPUS},
    {"cpuset-mems", required_argument, 0, OPT_CPUSET_MEMS},
    {"oom-kill-disable", no_argument, 0, OPT_OOM_KILL_DISABLE},
    {"mount", required_argument, 0, OPT_MOUNT},
    {"volumes-from", required_argument, 0, OPT_VOLUMES_FROM},
    {"init", optional_argument, 0, OPT_INIT},
    {"restart", required_argument, 0, OPT_RESTART},
    {"health-cmd", required_argument, 0, OPT_HEALTH_CMD},
    {"health-interval", required_argument, 0, OPT_HEALTH_INTERVAL},
    {"health-timeout", required_argument, 0, OPT_HEALTH_TIMEOUT},
    {"health-start-period", required_argument, 0, OPT_HEALTH_START_PERIOD},
    {"health-retries", required_argument, 0, OPT_HEALTH_RETRIES},
    {"no-healthcheck", no_argument, 0, OPT_NO_HEALTHCHECK},
    {"label", required_argument, 0, 'l'},
    {"label-file", required_argument, 0, OPT_LABEL_FILE},
    {"stop-signal", required_argument, 0, OPT_STOP_SIGNAL},
    {"shm-size", required_argument, 0, OPT_SHM_SIZE},
    {"oom-score-adj", required_argument, 0, OPT_OOM_SCORE_ADJ},
    {"stop-timeout", required_argument, 0, OPT_STOP_TIMEOUT},
    {"cidfile", required_argument, 0, OPT_CIDFILE},
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
    {"log-driver", required_argument, 0, OPT_LOG_DRIVER},
    {"log-opt", required_argument, 0, OPT_LOG_OPT},
    {"ulimit", required_argument, 0, OPT_ULIMIT},
    {"device", required_argument, 0, OPT_DEVICE},
    {"group-add", required_argument, 0, OPT_GROUP_ADD},
    {"sysctl", required_argument, 0, OPT_SYSCTL},
    {"pid", required_argument, 0, OPT_PID},
    {"ipc", required_argument, 0, OPT_IPC},
    {"uts", required_argument, 0, OPT_UTS},
    {"platform", required_argument, 0, OPT_PLATFORM},
    {"expose", required_argument, 0, OPT_EXPOSE},
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
 * (code) after printing Docker's message. */
static int check_env_line(const char *path, const char *line, int code) {
  size_t n = strcspn(line, "=");
  if (n == 0)
    return cli_fail(code,
                    "invalid env file (%s): no variable name on line '%s'",
                    path, line);
  if (strcspn(line, " \t") < n)
    return cli_fail(code,
                    "invalid env file (%s): variable '%.*s' contains "
                    "whitespaces",
                    path, (int)n, line);
  return -1;
}

int cli_read_env_file(const char *path, int code, char ***lines,
                      size_t *n_lines, char ***env, size_t *n_env) {
  cleanup_file FILE *f = fopen(path, "re");
  if (f == NULL)
    return cli_fail(code, "open %s: no such file or directory", path);
  char line[8192];
  while (fgets(line, sizeof(line), f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
      continue;
    int rc = check_env_line(path, p, code);
    if (rc >= 0)
      return rc;
    char *dup = strdup(p);
    if (dup == NULL || push(lines, n_lines, dup) < 0 ||
        push(env, n_env, dup) < 0)
      return cli_fail(code, "out of memory");
  }
  return -1;
}

/* --env-file: one K=V or K per line; # comments and blank lines skipped,
 * leading blanks removed; the value is kept as written. */
static int read_env_file(cli_create *c, const char *path) {
  return cli_read_env_file(path, 125, &c->file_lines, &c->n_file_lines, &c->env,
                           &c->o.n_env);
}

/* --label-file: one KEY=VALUE or KEY per line, # comments and blank lines
 * skipped (Docker's reader for label files). */
static int read_label_file(cli_create *c, const char *path) {
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
        push(&c->labels, &c->o.n_labels, dup) < 0)
      return cli_fail(125, "out of memory");
  }
  return -1;
}

/* Docker's RAMInBytes: a number with an optional b, k, m, g, t or p suffix
 * (powers of 1024, any case, "mb" as "m"). */
static int parse_memory(const char *v, int64_t *out) {
  return st_parse_size(v, 1024, out);
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

/* A cpuset list ("0-3,6"): 0 with its highest number, -1 when bad. */
static int cpuset_max(const char *v, long *max) {
  *max = -1;
  const char *p = v;
  if (*p == '\0')
    return -1;
  while (*p) {
    char *end;
    if (!isdigit((unsigned char)*p))
      return -1;
    long a = strtol(p, &end, 10), b = a;
    if (*end == '-') {
      if (!isdigit((unsigned char)end[1]))
        return -1;
      b = strtol(end + 1, &end, 10);
      if (b < a)
        return -1;
    }
    if (b > *max)
      *max = b;
    if (*end == ',')
      end++;
    else if (*end)
      return -1;
    p = end;
  }
  return 0;
}

/* The highest of a host list file (/sys/devices/system/cpu/online), the
 * list itself in text; fallback when it cannot be read. */
static long host_max(const char *path, char *text, size_t len,
                     const char *fallback) {
  snprintf(text, len, "%s", fallback);
  FILE *f = fopen(path, "re");
  if (f) {
    if (fgets(text, (int)len, f) == NULL)
      snprintf(text, len, "%s", fallback);
    fclose(f);
  }
  text[strcspn(text, "\n")] = '\0';
  long m;
  return cpuset_max(text, &m) == 0 ? m : 0;
}

/* --memory-swap, --memory-reservation, --cpu-shares, --cpuset-cpus,
 * --cpuset-mems, --oom-kill-disable: Docker's parsing and messages. */
static int cgroup_flag(cli_create *c, int ch, const char *cmdname) {
  st_create_opts *o = &c->o;
  long max;
  switch (ch) {
  case OPT_MEMORY_SWAP:
    if (strcmp(optarg, "-1") == 0) {
      o->memory_swap = -1;
      return -1;
    }
    if (st_parse_size(optarg, 1024, &o->memory_swap) < 0)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--memory-swap\" "
                           "flag: invalid size: '%s'",
                           optarg, optarg),
             125;
    return -1;
  case OPT_MEMORY_RESERVATION:
    if (st_parse_size(optarg, 1024, &o->memory_reservation) < 0)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for "
                           "\"--memory-reservation\" flag: invalid size: '%s'",
                           optarg, optarg),
             125;
    return -1;
  case 'c': {
    char *end = NULL;
    errno = 0;
    long long n = strtoll(optarg, &end, 10);
    if (errno || end == optarg || *end)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"-c, --cpu-shares\" "
                           "flag: strconv.ParseInt: parsing \"%s\": invalid "
                           "syntax",
                           optarg, optarg),
             125;
    o->cpu_shares = n;
    return -1;
  }
  case OPT_CPUSET_CPUS:
  case OPT_CPUSET_MEMS: {
    bool cpus = ch == OPT_CPUSET_CPUS;
    if (cpuset_max(optarg, &max) < 0)
      return cli_fail(125, "Invalid value %s for cpuset %s", optarg,
                      cpus ? "cpus" : "mems");
    char avail[256];
    long have = host_max(cpus ? "/sys/devices/system/cpu/online"
                              : "/sys/devices/system/node/online",
                         avail, sizeof(avail), "0");
    if (max > have)
      return cli_fail(125,
                      "Requested %s are not available - requested %s, "
                      "available: %s",
                      cpus ? "CPUs" : "memory nodes", optarg, avail);
    if (cpus)
      o->cpuset_cpus = optarg;
    else
      o->cpuset_mems = optarg;
    return -1;
  }
  case OPT_OOM_KILL_DISABLE:
    o->oom_kill_disable = true;
    return -1;
  default:
    return -1;
  }
}

/* Docker's rules between them, once every flag is read. */
static int cgroup_flags_check(const st_create_opts *o) {
  if (o->memory_swap > 0 && o->memory == 0)
    return cli_fail(125, "You should always set the Memory limit when using "
                         "Memoryswap limit, see usage.");
  if (o->memory_swap > 0 && o->memory_swap < o->memory)
    return cli_fail(125, "Minimum memoryswap limit should be larger than "
                         "memory limit, see usage.");
  if (o->memory > 0 && o->memory_reservation > o->memory)
    return cli_fail(125, "Minimum memory limit can not be less than memory "
                         "reservation limit, see usage.");
  if (o->cpu_shares < 0)
    return cli_fail(125,
                    "invalid CPU shares (%lld): value must be a "
                    "positive integer",
                    (long long)o->cpu_shares);
  return -1;
}

int cli_resource_value(const char *flag, const char *value, const char *cmdname,
                       st_create_opts *o) {
  cli_create c;
  memset(&c, 0, sizeof(c));
  c.o = *o;
  int ch = strcmp(flag, "memory") == 0 ? 'm'
           : strcmp(flag, "cpus") == 0 ? OPT_CPUS
                                       : OPT_PIDS_LIMIT;
  optarg = (char *)value;
  int r = resource_flag(&c, ch, cmdname);
  *o = c.o;
  return r;
}

/* Go's time.ParseDuration: [-]N[.N]unit..., units ns us µs ms s m h; "0"
 * alone. -1 when it is not one. */
static int go_duration(const char *v, int64_t *out) {
  static const struct {
    const char *u;
    double ns;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  const char *p = v;
  bool neg = *p == '-';
  if (*p == '-' || *p == '+')
    p++;
  if (strcmp(p, "0") == 0)
    return *out = 0, 0;
  double total = 0;
  if (*p == '\0')
    return -1;
  while (*p) {
    char *end = NULL;
    if (!isdigit((unsigned char)*p) && *p != '.')
      return -1;
    double n = strtod(p, &end);
    if (end == p)
      return -1;
    size_t best = 0, blen = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      size_t l = strlen(units[i].u);
      if (strncmp(end, units[i].u, l) == 0 && l > blen)
        best = i, blen = l;
    }
    if (blen == 0)
      return -1;
    total += n * units[best].ns;
    p = end + blen;
  }
  *out = (int64_t)(neg ? -total : total);
  return 0;
}

/* --restart and the --health-* flags; -1 when good, else the exit code. */
static int health_flag(cli_create *c, int ch, const char *cmdname) {
  st_health_opts *h = &c->o.health;
  if (ch == OPT_RESTART) {
    c->o.restart = optarg;
    return -1;
  }
  if (ch == OPT_NO_HEALTHCHECK) {
    h->none = true;
    return -1;
  }
  c->health_set = true;
  if (ch == OPT_HEALTH_CMD) {
    h->cmd = optarg;
    return -1;
  }
  if (ch == OPT_HEALTH_RETRIES) {
    char *end = NULL;
    errno = 0;
    long long n = strtoll(optarg, &end, 10);
    if (errno || end == optarg || *end || n > 0x7fffffff || n < -0x7fffffff)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--health-retries\" "
                           "flag: strconv.ParseInt: parsing \"%s\": invalid "
                           "syntax",
                           optarg, optarg),
             125;
    h->retries = (int)n;
    return -1;
  }
  const char *name = ch == OPT_HEALTH_INTERVAL  ? "health-interval"
                     : ch == OPT_HEALTH_TIMEOUT ? "health-timeout"
                                                : "health-start-period";
  int64_t *dst = ch == OPT_HEALTH_INTERVAL  ? &h->interval_ns
                 : ch == OPT_HEALTH_TIMEOUT ? &h->timeout_ns
                                            : &h->start_period_ns;
  if (go_duration(optarg, dst) < 0)
    return cli_bad_usage(cmdname,
                         "invalid argument \"%s\" for \"--%s\" flag: time: "
                         "invalid duration \"%s\"",
                         optarg, name, optarg),
           125;
  return -1;
}

/* Docker's checks of the health flags once all are read. */
static int health_check_flags(const cli_create *c) {
  const st_health_opts *h = &c->o.health;
  if (h->none && c->health_set)
    return cli_fail(125, "--no-healthcheck conflicts with --health-* options");
  const struct {
    int64_t v;
    const char *name;
  } d[] = {{h->interval_ns, "interval"},
           {h->timeout_ns, "timeout"},
           {h->retries, "retries"},
           {h->start_period_ns, "start-period"}};
  for (size_t i = 0; i < 4; i++)
    if (d[i].v < 0)
      return cli_fail(125, "--health-%s cannot be negative", d[i].name);
  const struct {
    int64_t v;
    const char *name;
  } m[] = {{h->interval_ns, "Interval"},
           {h->timeout_ns, "Timeout"},
           {h->start_period_ns, "StartPeriod"}};
  for (size_t i = 0; i < 3; i++)
    if (m[i].v > 0 && m[i].v < 1000000)
      return cli_fail(125, "%s in Healthcheck cannot be less than 1ms",
                      m[i].name);
  if (c->o.restart && c->o.auto_remove) {
    st_restart_policy p;
    cleanup_error st_error *e = NULL;
    if (st_restart_policy_parse(c->o.restart, &p, &e) == 0 &&
        strcmp(p.name, "no") != 0)
      return cli_fail(125, "Conflicting options: --restart and --rm");
  }
  return -1;
}

/* A flag Docker's parser refuses: its message, 125. */
static int flag_error(const char *cmdname, const char *flag, st_error *e) {
  cli_bad_usage(cmdname, "invalid argument \"%s\" for \"--%s\" flag: %s",
                optarg, flag, e && e->msg ? e->msg : "invalid");
  st_error_free(e);
  return 125;
}

/* --ulimit, --device, --group-add, --sysctl, --pid, --ipc, --uts,
 * --platform, --expose (runtime/flags.h); -1 when good, else the exit
 * code. */
static int ns_flag(cli_create *c, int ch, const char *cmdname) {
  st_create_opts *o = &c->o;
  st_error *e = NULL;
  st_ulimit u;
  switch (ch) {
  case OPT_ULIMIT:
    if (st_ulimit_parse(optarg, &u, &e) < 0)
      return flag_error(cmdname, "ulimit", e);
    push(&c->ulimits, &o->n_ulimits, optarg);
    break;
  case OPT_DEVICE:
    if (st_device_check(optarg, &e) < 0)
      return flag_error(cmdname, "device", e);
    push(&c->devices, &o->n_devices, optarg);
    break;
  case OPT_GROUP_ADD:
    push(&c->group_add, &o->n_group_add, optarg);
    break;
  case OPT_SYSCTL:
    if (st_sysctl_check(optarg, &e) < 0)
      return flag_error(cmdname, "sysctl", e);
    push(&c->sysctls, &o->n_sysctls, optarg);
    break;
  case OPT_EXPOSE:
    push(&c->expose, &o->n_expose, optarg);
    break;
  case OPT_PLATFORM:
    o->platform = optarg;
    break;
  default: {
    const char *which = ch == OPT_PID ? "pid" : ch == OPT_IPC ? "ipc" : "uts";
    if (st_ns_mode_check(which, optarg, &e) < 0) {
      cli_bad_usage(cmdname, "%s", e->msg);
      st_error_free(e);
      return 125;
    }
    *(ch == OPT_PID   ? &o->pid_mode
      : ch == OPT_IPC ? &o->ipc_mode
                      : &o->uts_mode) = optarg;
  }
  }
  return -1;
}

static int one_flag(cli_create *c, int ch, const char *cmdname,
                    const st_command *cmd, bool allow_detach) {
  st_create_opts *o = &c->o;
  switch (ch) {
  case 'a':
    if (strcasecmp(optarg, "stdin") == 0)
      o->attach |= ST_ATTACH_STDIN;
    else if (strcasecmp(optarg, "stdout") == 0)
      o->attach |= ST_ATTACH_STDOUT;
    else if (strcasecmp(optarg, "stderr") == 0)
      o->attach |= ST_ATTACH_STDERR;
    else
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"-a, --attach\" "
                           "flag: valid streams are STDIN, STDOUT and STDERR",
                           optarg),
             125;
    break;
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
  case OPT_DETACH_KEYS: {
    st_detach d;
    if (st_detach_parse(optarg, &d) < 0)
      return cli_fail(125, "Invalid detach keys (%s) provided", optarg);
    c->detach_keys = optarg;
    break;
  }
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
  case 'l':
    push(&c->labels, &o->n_labels, optarg);
    break;
  case OPT_LABEL_FILE:
    return read_label_file(c, optarg);
  case OPT_CIDFILE:
    c->cidfile = optarg;
    break;
  case OPT_SHM_SIZE:
    if (parse_memory(optarg, &o->shm_size) < 0)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--shm-size\" "
                           "flag: invalid size: '%s'",
                           optarg, optarg),
             125;
    break;
  case OPT_OOM_SCORE_ADJ: {
    char *end;
    errno = 0;
    long v = strtol(optarg, &end, 10);
    if (*optarg == '\0' || *end || errno)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--oom-score-adj\" "
                           "flag: strconv.ParseInt: parsing \"%s\": invalid "
                           "syntax",
                           optarg, optarg),
             125;
    if (v < -1000 || v > 1000)
      return cli_fail(125,
                      "Invalid value %ld, range for oom score adj is "
                      "[-1000, 1000]",
                      v);
    o->has_oom_score_adj = true;
    o->oom_score_adj = (int)v;
    break;
  }
  case OPT_LOG_DRIVER:
    o->log_driver = optarg;
    break;
  case OPT_LOG_OPT:
    push(&c->log_opts, &o->n_log_opts, optarg);
    break;
  case OPT_STOP_SIGNAL:
    if (st_signal_number(optarg) < 0)
      return cli_fail(125, "Invalid signal: %s", optarg);
    o->stop_signal = optarg;
    break;
  case OPT_STOP_TIMEOUT: {
    char *end;
    errno = 0;
    long t = strtol(optarg, &end, 10);
    if (*optarg == '\0' || *end || errno || t < INT_MIN + 1 || t > INT_MAX)
      return cli_bad_usage(cmdname,
                           "invalid argument \"%s\" for \"--stop-timeout\" "
                           "flag: strconv.ParseInt: parsing \"%s\": invalid "
                           "syntax",
                           optarg, optarg),
             125;
    o->stop_timeout = (int)t;
    o->has_stop_timeout = true;
    break;
  }
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
  case OPT_MEMORY_SWAP:
  case OPT_MEMORY_RESERVATION:
  case 'c':
  case OPT_CPUSET_CPUS:
  case OPT_CPUSET_MEMS:
  case OPT_OOM_KILL_DISABLE:
    return cgroup_flag(c, ch, cmdname);
  case OPT_RESTART:
  case OPT_HEALTH_CMD:
  case OPT_HEALTH_INTERVAL:
  case OPT_HEALTH_TIMEOUT:
  case OPT_HEALTH_START_PERIOD:
  case OPT_HEALTH_RETRIES:
  case OPT_NO_HEALTHCHECK:
    return health_flag(c, ch, cmdname);
  case OPT_ULIMIT:
  case OPT_DEVICE:
  case OPT_GROUP_ADD:
  case OPT_SYSCTL:
  case OPT_PID:
  case OPT_IPC:
  case OPT_UTS:
  case OPT_PLATFORM:
  case OPT_EXPOSE:
    return ns_flag(c, ch, cmdname);
  default:
    cli_bad_flag(cmdname);
    return 125;
  }
  return -1;
}

int cli_create_parse(int argc, char **argv, const char *cmdname,
                     const st_command *cmd, bool allow_detach, cli_create *c) {
  memset(c, 0, sizeof(*c));
  c->cid_fd = -1;
  int ch;
  optind = 1;
  while ((ch = cli_getopt(argc, argv, "+a:c:itde:w:u:v:h:m:l:p:P", opts)) !=
         -1) {
    int r = one_flag(c, ch, cmdname, cmd, allow_detach);
    if (r >= 0)
      return r;
  }
  int cg = cgroup_flags_check(&c->o);
  if (cg >= 0)
    return cg;
  if (c->detach && c->o.attach)
    return cli_fail(125, "Conflicting options: -a and -d");
  int hc = health_check_flags(c);
  if (hc >= 0)
    return hc;
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
  c->o.labels = c->labels;
  c->o.log_opts = c->log_opts;
  c->o.network_aliases = c->net_aliases;
  c->o.dns = c->dns;
  c->o.dns_search = c->dns_search;
  c->o.dns_option = c->dns_option;
  c->o.add_host = c->add_host;
  c->o.publish = c->publish;
  c->o.ulimits = c->ulimits;
  c->o.devices = c->devices;
  c->o.group_add = c->group_add;
  c->o.sysctls = c->sysctls;
  c->o.expose = c->expose;
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
  free(c->labels);
  free(c->log_opts);
  free(c->net_aliases);
  free(c->dns);
  free(c->dns_search);
  free(c->dns_option);
  free(c->add_host);
  free(c->publish);
  free(c->ulimits);
  free(c->devices);
  free(c->group_add);
  free(c->sysctls);
  free(c->expose);
}

int cli_cidfile_create(cli_create *c) {
  c->cid_fd = -1;
  if (c->cidfile == NULL)
    return -1;
  /* Docker's check, before the container is made: never overwrite one */
  if (access(c->cidfile, F_OK) == 0)
    return cli_fail(125,
                    "Container ID file found, make sure the other container "
                    "isn't running or delete %s",
                    c->cidfile);
  c->cid_fd = open(c->cidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (c->cid_fd < 0) {
    char why[128]; /* Go writes errno strings in lower case */
    snprintf(why, sizeof(why), "%s", strerror(errno));
    why[0] = (char)tolower((unsigned char)why[0]);
    return cli_fail(125, "Failed to create the container ID file: open %s: %s",
                    c->cidfile, why);
  }
  return -1;
}

void cli_cidfile_done(cli_create *c, const char *id) {
  if (c->cid_fd < 0)
    return;
  size_t n = id ? strlen(id) : 0;
  if (id == NULL || write(c->cid_fd, id, n) != (ssize_t)n)
    unlink(c->cidfile); /* no container, or its ID not written: no file */
  close(c->cid_fd);
  c->cid_fd = -1;
}

int cli_runtime_fail(const st_error *err) {
  cli_print_error(err);
  return st_runtime_exit_code(err);
}
