/* strata events: the store's event log (store/events.h), printed and
 * followed as `docker events` does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt/template.h"
#include "store/containers.h"
#include "store/events.h"
#include "store/prune.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int run_events(int argc, char **argv);

ST_COMMAND(events, "events|system events", run_events,
           "Get real time events from the server",
           "\nUsage:  strata events [OPTIONS]\n\n"
           "Get real time events from the server\n\n"
           "Aliases:\n"
           "  strata system events, strata events\n\n"
           "Options:\n"
           "  -f, --filter filter   Filter output based on conditions "
           "provided\n"
           "      --format string   Format output using a custom template:\n"
           "                        'json':             Print in JSON format\n"
           "                        'TEMPLATE':         Print output using "
           "the given Go template\n"
           "      --since string    Show all events created since timestamp\n"
           "      --until string    Stream events until this timestamp\n"
           "  -h, --help            Print usage\n");

#define MAX_FILTERS 32

typedef struct ev_opts {
  int64_t since, until; /* unix ns */
  bool has_since, has_until;
  const char *keys[MAX_FILTERS], *values[MAX_FILTERS];
  size_t n_filters;
  st_template *tmpl; /* --format, or NULL */
} ev_opts;

static const char *attr(json_t *ev, const char *key) {
  return json_string_value(json_object_get(
      json_object_get(json_object_get(ev, "Actor"), "Attributes"), key));
}

static bool match_one(json_t *ev, const char *key, const char *want) {
  const char *type = json_string_value(json_object_get(ev, "Type"));
  const char *id =
      json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
  const char *name = attr(ev, "name");
  type = type ? type : "";
  id = id ? id : "";
  if (strcmp(key, "type") == 0)
    return strcmp(type, want) == 0;
  if (strcmp(key, "event") == 0) {
    const char *a = json_string_value(json_object_get(ev, "Action"));
    return a && strcmp(a, want) == 0;
  }
  if (strcmp(key, "container") == 0)
    return strcmp(type, "container") == 0 &&
           ((name && strcmp(name, want) == 0) ||
            (strlen(want) >= 1 && strncmp(id, want, strlen(want)) == 0));
  if (strcmp(key, "image") == 0) {
    const char *img = attr(ev, "image");
    return (img && strcmp(img, want) == 0) ||
           (strcmp(type, "image") == 0 &&
            (strcmp(id, want) == 0 || (name && strcmp(name, want) == 0)));
  }
  if (strcmp(key, "volume") == 0 || strcmp(key, "network") == 0)
    return strcmp(type, key) == 0 &&
           (strcmp(id, want) == 0 || (name && strcmp(name, want) == 0));
  return false;
}

/* Docker's rule: values of one key are alternatives, keys all apply. */
static bool matches(const ev_opts *o, json_t *ev) {
  for (size_t i = 0; i < o->n_filters; i++) {
    bool seen = false, any = false;
    for (size_t j = 0; j < i; j++)
      seen |= strcmp(o->keys[j], o->keys[i]) == 0;
    if (seen)
      continue;
    for (size_t j = i; j < o->n_filters && !any; j++)
      any = strcmp(o->keys[j], o->keys[i]) == 0 &&
            match_one(ev, o->keys[j], o->values[j]);
    if (!any)
      return false;
  }
  return true;
}

/* "2026-12-05T12:00:00.123456789Z" (local zone, Docker's fixed nanos). */
static void print_time(int64_t ns) {
  time_t sec = (time_t)(ns / 1000000000);
  struct tm tm;
  localtime_r(&sec, &tm);
  char date[32], zone[48];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  if (tm.tm_gmtoff == 0)
    snprintf(zone, sizeof(zone), "Z");
  else
    snprintf(zone, sizeof(zone), "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
             labs(tm.tm_gmtoff) / 3600, labs(tm.tm_gmtoff) % 3600 / 60);
  printf("%s.%09lld%s", date, (long long)(ns % 1000000000), zone);
}

/* Docker's line: TIME TYPE ACTION ID (k=v, ...) with keys sorted. */
static void print_text(json_t *ev) {
  print_time(st_event_time(ev));
  json_t *actor = json_object_get(ev, "Actor");
  printf(" %s %s %s", json_string_value(json_object_get(ev, "Type")),
         json_string_value(json_object_get(ev, "Action")),
         json_string_value(json_object_get(actor, "ID")));
  json_t *attrs = json_object_get(actor, "Attributes");
  size_t n = json_object_size(attrs);
  if (n > 0) {
    cleanup_free const char **keys = calloc(n, sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(attrs, key, v) if (keys) keys[k++] = key;
    for (size_t i = 1; keys && i < k; i++)
      for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
        const char *t = keys[j];
        keys[j] = keys[j - 1];
        keys[j - 1] = t;
      }
    for (size_t i = 0; keys && i < k; i++)
      printf("%s%s=%s", i ? ", " : " (", keys[i],
             json_string_value(json_object_get(attrs, keys[i])));
    printf(")");
  }
  printf("\n");
}

/* Prints ev when it passes the bounds and filters; returns 1 once it is
 * past --until (nothing later can be printed), else 0. */
static int handle(const ev_opts *o, json_t *ev) {
  int64_t t = st_event_time(ev);
  if (o->has_until && t > o->until)
    return 1;
  if ((o->has_since && t < o->since) || !matches(o, ev))
    return 0;
  if (o->tmpl) {
    cleanup_buf st_buf out = ST_BUF_INIT;
    cleanup_error st_error *err = NULL;
    if (st_template_exec(o->tmpl, ev, &out, &err) < 0)
      cli_print_error(err);
    else
      printf("%s\n", out.data ? out.data : "");
  } else {
    print_text(ev);
  }
  fflush(stdout);
  return 0;
}

/* A reader of one log file that keeps a torn last line for later. */
typedef struct reader {
  int fd;
  st_buf pending;
} reader;

/* Reads what fd has now and handles each whole line. Returns 1 when past
 * --until, else 0. */
static int drain(const ev_opts *o, reader *r) {
  char buf[65536];
  ssize_t n;
  while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
    st_buf_append(&r->pending, buf, (size_t)n);
    char *start = r->pending.data;
    char *end = start + r->pending.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
      json_t *ev = st_event_parse(start, (size_t)(nl - start));
      int past = ev ? handle(o, ev) : 0;
      json_decref(ev);
      start = nl + 1;
      if (past)
        return 1;
    }
    size_t left = (size_t)(end - start);
    memmove(r->pending.data, start, left);
    r->pending.len = left;
  }
  return 0;
}

static bool same_file(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
         a.st_dev == b.st_dev;
}

/* Past events (with --since), then, without an --until in the past,
 * every new one as it is appended, across rotations. */
static int stream(st_store *s, const ev_opts *o) {
  cleanup_free char *path = st_events_path(s, 0);
  cleanup_free char *old = st_events_path(s, 1);
  if (path == NULL || old == NULL)
    return cli_fail(1, "out of memory");
  reader r = {-1, ST_BUF_INIT};
  int done = 0;
  if (o->has_since) {
    r.fd = open(old, O_RDONLY | O_CLOEXEC);
    if (r.fd >= 0) {
      done = drain(o, &r);
      close(r.fd);
      r.pending.len = 0;
    }
  }
  r.fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r.fd >= 0 && !o->has_since)
    lseek(r.fd, 0, SEEK_END);
  while (!done) {
    if (r.fd >= 0)
      done = drain(o, &r);
    if (done || (o->has_until && st_now_ns() > o->until))
      break;
    if (r.fd < 0 || !same_file(r.fd, path)) {
      /* rotated (or not yet made): finish the old file, take the new one */
      if (r.fd >= 0 && (done = drain(o, &r)) != 0)
        break;
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (r.fd >= 0)
          close(r.fd);
        r.fd = fd;
        r.pending.len = 0;
        continue;
      }
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (r.fd >= 0)
    close(r.fd);
  st_buf_free(&r.pending);
  return 0;
}

static int parse_filter(ev_opts *o, char *arg) {
  static const char *const known[] = {"container", "image",  "event",
                                      "type",      "volume", "network"};
  char *eq = strchr(arg, '=');
  if (eq == NULL)
    return cli_fail(1, "bad format of filter (expected name=value)");
  *eq = '\0';
  bool ok = false;
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    ok |= strcmp(arg, known[i]) == 0;
  if (!ok)
    return cli_fail(1, "invalid filter '%s'", arg);
  if (o->n_filters == MAX_FILTERS)
    return cli_fail(1, "too many filters");
  o->keys[o->n_filters] = arg;
  o->values[o->n_filters++] = eq + 1;
  return 0;
}

static int run_events(int argc, char **argv) {
  static const struct option opts[] = {{"filter", required_argument, 0, 'f'},
                                       {"format", required_argument, 0, 'F'},
                                       {"since", required_argument, 0, 'S'},
                                       {"until", required_argument, 0, 'U'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  ev_opts o = {0};
  const char *format = NULL;
  int64_t now = st_now_ns();
  int ch;
  while ((ch = cli_getopt(argc, argv, "f:h", opts)) != -1) {
    switch (ch) {
    case 'f':
      if (parse_filter(&o, optarg) != 0)
        return 1;
      break;
    case 'F':
      format = optarg;
      break;
    case 'S':
    case 'U': {
      cleanup_error st_error *terr = NULL;
      if (st_parse_timestamp(optarg, now, ch == 'S' ? &o.since : &o.until,
                             &terr) < 0) {
        cli_print_error(terr);
        return 1;
      }
      if (ch == 'S')
        o.has_since = true;
      else
        o.has_until = true;
      break;
    }
    case 'h':
      return cli_usage(&st_cmd_events);
    default:
      return cli_bad_flag("events");
    }
  }
  if (optind < argc)
    return cli_bad_usage("events", "\"strata events\" accepts no arguments.");
  if (format) {
    cleanup_error st_error *err = NULL;
    if (st_template_parse(strcmp(format, "json") == 0 ? "{{json .}}" : format,
                          &o.tmpl, &err) < 0) {
      cli_print_error(err);
      return 1;
    }
  }
  st_store *s = cli_store();
  int code = s ? stream(s, &o) : 1;
  st_template_free(o.tmpl);
  return code;
}
