/* strata stats: containers' CPU, memory, network, block I/O and PIDs, as
 * Docker computes them from two readings a second apart. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt/units.h"
#include "format.h"
#include "runtime/manage.h"
#include "util/cleanup.h"

static int run_stats(int argc, char **argv);

ST_COMMAND(stats, "stats|container stats", run_stats,
           "Display a live stream of container(s) resource usage statistics",
           "\nUsage:  strata stats [OPTIONS] [CONTAINER...]\n\n"
           "Display a live stream of container(s) resource usage "
           "statistics\n\n"
           "Aliases:\n"
           "  strata container stats, strata stats\n\n"
           "Options:\n"
           "  -a, --all             Show all containers (default shows just "
           "running)\n" CLI_FORMAT_HELP
           "      --no-stream       Disable streaming stats and only pull "
           "the first result\n"
           "      --no-trunc        Do not truncate output\n"
           "  -h, --help            Print usage\n");

static const char default_table[] =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{."
    "NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

static const struct st_header_name headers[] = {
    {"ID", "CONTAINER ID"},
    {"Container", "CONTAINER"},
    {"Name", "NAME"},
    {"CPUPerc", "CPU %"},
    {"MemUsage", "MEM USAGE / LIMIT"},
    {"MemPerc", "MEM %"},
    {"NetIO", "NET I/O"},
    {"BlockIO", "BLOCK I/O"},
    {"PIDs", "PIDS"},
    {NULL, NULL}};

typedef struct target {
  st_container c;
  char *given; /* as named on the command line, NULL: listed */
  st_ct_stats first;
} target;

static char *pair(char *(*fn)(int64_t), int64_t a, int64_t b) {
  cleanup_free char *x = fn(a), *y = fn(b);
  char *out = NULL;
  if (asprintf(&out, "%s / %s", x ? x : "", y ? y : "") < 0)
    return NULL;
  return out;
}

static json_t *row(const target *t, const st_ct_stats *now, bool no_trunc) {
  double cpu = 0, mem = 0;
  if (now->running && t->first.running) {
    /* Docker: (container delta / host delta) * online CPUs * 100 */
    double dc = now->cpu_ticks > t->first.cpu_ticks
                    ? (double)(now->cpu_ticks - t->first.cpu_ticks)
                    : 0;
    double ds = (double)(now->system_ticks - t->first.system_ticks);
    if (ds > 0)
      cpu = dc / ds * now->online_cpus * 100.0;
  }
  if (now->running && now->mem_limit > 0)
    mem = (double)now->mem_usage / (double)now->mem_limit * 100.0;
  int64_t lim = now->running ? now->mem_limit : 0;
  char cpu_s[32], mem_s[32], pids_s[32];
  snprintf(cpu_s, sizeof(cpu_s), "%.2f%%", cpu);
  snprintf(mem_s, sizeof(mem_s), "%.2f%%", mem);
  snprintf(pids_s, sizeof(pids_s), "%lld", (long long)now->pids);
  cleanup_free char *mu = pair(st_bytes_size, now->mem_usage, lim);
  cleanup_free char *net = pair(st_human_size, now->net_rx, now->net_tx);
  cleanup_free char *blk = pair(st_human_size, now->blk_read, now->blk_write);
  char shortid[13];
  snprintf(shortid, sizeof(shortid), "%s", t->c.id);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container",
                   t->given ? t->given : shortid, "ID",
                   no_trunc ? t->c.id : shortid, "Name", t->c.name, "CPUPerc",
                   cpu_s, "MemUsage", mu ? mu : "", "MemPerc", mem_s, "NetIO",
                   net ? net : "", "BlockIO", blk ? blk : "", "PIDs", pids_s);
}

static void targets_free(target *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    st_container_clear(&v[i].c);
  free(v);
}

/* The containers to show: those named (an error for a missing one), else
 * the running ones (every one with all). */
static int collect(st_store *s, char **names, size_t n_names, bool all,
                   target **out, size_t *n) {
  cleanup_error st_error *err = NULL;
  target *v = NULL;
  size_t len = 0;
  if (n_names > 0) {
    v = calloc(n_names, sizeof(*v));
    if (v == NULL)
      return cli_fail(1, "out of memory");
    for (size_t i = 0; i < n_names; i++, len++) {
      if (st_container_find(s, names[i], &v[i].c, &err) < 0) {
        targets_free(v, len);
        cli_print_error(err);
        return 1;
      }
      v[i].given = names[i];
    }
  } else {
    st_container *all_v = NULL;
    size_t total = 0;
    if (st_container_list(s, &all_v, &total, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
    v = calloc(total + 1, sizeof(*v));
    for (size_t i = 0; v && i < total; i++) {
      st_container_refresh(s, &all_v[i]);
      if (all || all_v[i].state == ST_CT_RUNNING) {
        v[len++].c = all_v[i];
        memset(&all_v[i], 0, sizeof(all_v[i]));
      }
    }
    st_containers_free(all_v, total);
    if (v == NULL)
      return cli_fail(1, "out of memory");
  }
  *out = v;
  *n = len;
  return 0;
}

/* One block of rows: a reading, a second, another; the exit code. */
static int block(st_store *s, target *v, size_t n, const char *format,
                 bool no_trunc, bool clear) {
  cleanup_error st_error *err = NULL;
  for (size_t i = 0; i < n; i++) {
    st_container_refresh(s, &v[i].c);
    if (st_container_stats(s, &v[i].c, &v[i].first, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
  }
  struct timespec ts = {1, 0};
  while (nanosleep(&ts, &ts) < 0)
    ;
  json_t *rows = json_array();
  for (size_t i = 0; i < n; i++) {
    st_ct_stats now;
    st_container_refresh(s, &v[i].c);
    if (st_container_stats(s, &v[i].c, &now, &err) < 0) {
      json_decref(rows);
      cli_print_error(err);
      return 1;
    }
    json_array_append_new(rows, row(&v[i], &now, no_trunc));
  }
  if (clear) /* Docker redraws a terminal from its top left corner */
    fputs("\033[2J\033[H", stdout);
  int code = cli_print_rows(format, default_table, headers, rows);
  fflush(stdout);
  json_decref(rows);
  return code;
}

static int run_stats(int argc, char **argv) {
  static const struct option opts[] = {
      {"all", no_argument, 0, 'a'},      {"no-stream", no_argument, 0, 'S'},
      {"no-trunc", no_argument, 0, 'N'}, {"format", required_argument, 0, 'F'},
      {"help", no_argument, 0, 'h'},     {0, 0, 0, 0}};
  bool all = false, no_stream = false, no_trunc = false;
  const char *format = NULL;
  int ch;
  while ((ch = cli_getopt(argc, argv, "ah", opts)) != -1) {
    switch (ch) {
    case 'a':
      all = true;
      break;
    case 'S':
      no_stream = true;
      break;
    case 'N':
      no_trunc = true;
      break;
    case 'F':
      format = optarg;
      break;
    case 'h':
      return cli_usage(&st_cmd_stats);
    default:
      return cli_bad_flag("stats");
    }
  }
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    target *v = NULL;
    size_t n = 0;
    int code = collect(s, argv + optind, (size_t)(argc - optind), all, &v, &n);
    if (code != 0)
      return code;
    code = block(s, v, n, format, no_trunc, tty && !no_stream);
    targets_free(v, n);
    if (code != 0 || no_stream)
      return code;
  }
}
