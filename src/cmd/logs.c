/* strata logs: the output of a detached container, from its log file. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt/units.h"
#include "runtime/logdriver.h"
#include "runtime/runtime.h"
#include "store/prune.h"
#include "util/cleanup.h"

static int run_logs(int argc, char **argv);

ST_COMMAND(logs, "logs|container logs", run_logs,
           "Fetch the logs of a container",
           "\nUsage:  strata logs [OPTIONS] CONTAINER\n\n"
           "Fetch the logs of a container\n\n"
           "Aliases:\n"
           "  strata container logs, strata logs\n\n"
           "Options:\n"
           "  -f, --follow         Follow log output\n"
           "      --since string   Show logs since timestamp (e.g. "
           "\"2013-01-02T13:23:37Z\") or\n"
           "                       relative (e.g. \"42m\" for 42 minutes)\n"
           "  -n, --tail string    Number of lines to show from the end of "
           "the logs (default \"all\")\n"
           "  -t, --timestamps     Show timestamps\n"
           "      --until string   Show logs before a timestamp (e.g. "
           "\"2013-01-02T13:23:37Z\") or\n"
           "                       relative (e.g. \"42m\" for 42 minutes)\n"
           "  -h, --help           Print usage\n");

typedef struct logs_opts {
  bool follow, timestamps;
  long tail;            /* -1: all */
  int64_t since, until; /* unix ns, 0: no bound */
} logs_opts;

/* Whether the record's time is within --since/--until (both inclusive,
 * as Docker: before since or after until is left out). */
static bool in_window(const char *line, const logs_opts *o) {
  if (o->since == 0 && o->until == 0)
    return true;
  json_t *rec = json_loads(line, 0, NULL);
  const char *t = json_string_value(json_object_get(rec, "time"));
  int64_t sec = 0;
  int32_t nsec = 0;
  bool ok = t && st_parse_rfc3339(t, &sec, &nsec) == 0;
  json_decref(rec);
  int64_t ns = sec * 1000000000 + nsec;
  return ok && (o->since == 0 || ns >= o->since) &&
         (o->until == 0 || ns <= o->until);
}

static void print_record(const char *line, const logs_opts *o) {
  json_t *rec = json_loads(line, 0, NULL);
  const char *log = json_string_value(json_object_get(rec, "log"));
  const char *stream = json_string_value(json_object_get(rec, "stream"));
  const char *time = json_string_value(json_object_get(rec, "time"));
  if (log) {
    FILE *out = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
    if (o->timestamps && time)
      fprintf(out, "%s ", time);
    fwrite(log, 1, json_string_length(json_object_get(rec, "log")), out);
    fflush(out);
  }
  json_decref(rec);
}

/* Prints the records from f; with a tail, only the last ones. */
static void print_from(FILE *f, const logs_opts *o) {
  char **lines = NULL;
  size_t n = 0, cap = 0;
  char *line = NULL;
  size_t len = 0;
  while (getline(&line, &len, f) > 0) {
    if (!in_window(line, o))
      continue;
    if (o->tail < 0) {
      print_record(line, o);
      continue;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nl = realloc(lines, cap * sizeof(char *));
      if (nl == NULL)
        break;
      lines = nl;
    }
    lines[n++] = strdup(line);
  }
  size_t from = o->tail >= 0 && (size_t)o->tail < n ? n - (size_t)o->tail : 0;
  for (size_t i = 0; i < n; i++) {
    if (i >= from && lines[i])
      print_record(lines[i], o);
    free(lines[i]);
  }
  free(lines);
  free(line);
}

static bool running(st_store *s, const char *id) {
  st_container c;
  st_error *e = NULL;
  if (st_container_find(s, id, &c, &e) < 0) {
    st_error_free(e);
    return false;
  }
  st_container_refresh(s, &c);
  bool r = c.state == ST_CT_RUNNING;
  st_container_clear(&c);
  return r;
}

/* Prints the log files (rotated ones by --log-opt max-file first, oldest
 * first, then container.log) as one stream, so that --tail counts across
 * them; they are bounded by max-size * max-file. Sets *cur_len to the bytes
 * of container.log read, from where -f goes on. */
static void print_all(const char *dir, const logs_opts *o, long *cur_len) {
  size_t n = 0;
  char **files = st_log_files(dir, &n);
  *cur_len = 0;
  if (files == NULL)
    return;
  cleanup_free char *all = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&all, &len);
  for (size_t i = 0; mem && i < n; i++) {
    cleanup_file FILE *f = fopen(files[i], "re");
    char buf[65536];
    size_t r;
    long got = 0;
    while (f && (r = fread(buf, 1, sizeof(buf), f)) > 0) {
      fwrite(buf, 1, r, mem);
      got += (long)r;
    }
    if (i == n - 1 && strstr(files[i], "/container.log") &&
        strcmp(strrchr(files[i], '/'), "/container.log") == 0)
      *cur_len = got;
  }
  st_strv_free(files, n);
  if (mem == NULL || fclose(mem) != 0 || len == 0)
    return;
  FILE *f = fmemopen(all, len, "r");
  if (f) {
    print_from(f, o);
    fclose(f);
  }
}

static int run_logs(int argc, char **argv) {
  static const struct option opts[] = {{"follow", no_argument, 0, 'f'},
                                       {"tail", required_argument, 0, 'n'},
                                       {"timestamps", no_argument, 0, 't'},
                                       {"since", required_argument, 0, 'S'},
                                       {"until", required_argument, 0, 'U'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  logs_opts o = {false, false, -1, 0, 0};
  int64_t now = st_now_ns();
  int ch;
  while ((ch = cli_getopt(argc, argv, "fn:th", opts)) != -1) {
    switch (ch) {
    case 'f':
      o.follow = true;
      break;
    case 'n':
      o.tail = strcmp(optarg, "all") == 0 ? -1 : atol(optarg);
      break;
    case 't':
      o.timestamps = true;
      break;
    case 'S':
    case 'U': {
      cleanup_error st_error *terr = NULL;
      if (st_parse_timestamp(optarg, now, ch == 'S' ? &o.since : &o.until,
                             &terr) < 0) {
        cli_print_error(terr);
        return 1;
      }
      break;
    }
    case 'h':
      return cli_usage(&st_cmd_logs);
    default:
      return cli_bad_flag("logs");
    }
  }
  if (optind + 1 != argc)
    return cli_bad_usage("logs",
                         "\"strata logs\" requires exactly 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  cleanup_error st_error *err = NULL;
  st_container c;
  if (st_container_find(s, argv[optind], &c, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  cleanup_free char *dir = st_container_dir(s, c.id);
  st_log_config lc;
  st_log_config_load(dir ? dir : "", &lc);
  if (lc.none) {
    st_container_clear(&c);
    return cli_fail(1, "configured logging driver does not support reading");
  }
  long cur_len = 0;
  print_all(dir ? dir : "", &o, &cur_len);
  cleanup_free char *path = st_container_log_path(s, c.id);
  cleanup_file FILE *f = path ? fopen(path, "re") : NULL;
  if (f && fseek(f, cur_len, SEEK_SET) != 0)
    rewind(f);
  o.tail = -1;
  while (f && o.follow && running(s, c.id)) {
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    clearerr(f);
    print_from(f, &o);
  }
  st_container_clear(&c);
  return 0;
}
