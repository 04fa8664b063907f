/* strata attach: the output of a running container, from now on, until it
 * exits (then attach exits with its status, as Docker's does).
 *
 * The container's output is what its monitor writes to its log (json-file
 * records), so attach follows that log from its end. Its input is not
 * relayed yet: a detached container's stdin is /dev/null, and the monitor
 * does not expose its console; attaching to a container that has a TTY
 * and open stdin (-dit) prints its output but cannot type into it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "runtime/logdriver.h"
#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/cleanup.h"

static int run_attach(int argc, char **argv);

ST_COMMAND(attach, "attach|container attach", run_attach,
           "Attach local standard input, output, and error streams to a "
           "running container",
           "\nUsage:  strata attach [OPTIONS] CONTAINER\n\n"
           "Attach local standard input, output, and error streams to a "
           "running container\n\n"
           "Aliases:\n"
           "  strata container attach, strata attach\n\n"
           "Options:\n"
           "      --detach-keys string   Override the key sequence for "
           "detaching a container\n"
           "      --no-stdin             Do not attach STDIN\n"
           "      --sig-proxy            Proxy all received signals to the "
           "process (default true)\n"
           "  -h, --help                 Print usage\n");

static volatile sig_atomic_t pending_signal;

static void on_signal(int sig) {
  pending_signal = sig;
}

/* Prints the records of whole lines read from fd; keeps a torn one. */
static void pump_log(int fd, st_buf *pending) {
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    st_buf_append(pending, buf, (size_t)n);
    char *start = pending->data, *end = start + pending->len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
      json_t *rec = json_loadb(start, (size_t)(nl - start), 0, NULL);
      json_t *log = json_object_get(rec, "log");
      const char *stream = json_string_value(json_object_get(rec, "stream"));
      if (json_is_string(log)) {
        FILE *out = stream && strcmp(stream, "stderr") == 0 ? stderr : stdout;
        fwrite(json_string_value(log), 1, json_string_length(log), out);
        fflush(out);
      }
      json_decref(rec);
      start = nl + 1;
    }
    size_t left = (size_t)(end - start);
    memmove(pending->data, start, left);
    pending->len = left;
  }
}

static bool is_running(st_store *s, const char *id) {
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

static bool same_file(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino;
}

/* Follows the log from its end while the container runs; forwards the
 * signals it receives when sig_proxy. */
static void follow(st_store *s, const char *id, const char *path,
                   bool sig_proxy) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    lseek(fd, 0, SEEK_END);
  st_buf pending = ST_BUF_INIT;
  for (;;) {
    if (pending_signal && sig_proxy) {
      st_error *e = NULL;
      if (st_container_kill(s, id, pending_signal, &e) < 0)
        st_error_free(e);
      pending_signal = 0;
    }
    if (fd >= 0)
      pump_log(fd, &pending);
    bool alive = is_running(s, id);
    if (fd < 0 || !same_file(fd, path)) { /* rotated: on to the new file */
      int nfd = open(path, O_RDONLY | O_CLOEXEC);
      if (nfd >= 0) {
        if (fd >= 0) {
          pump_log(fd, &pending);
          close(fd);
        }
        fd = nfd;
        pending.len = 0;
        continue;
      }
    }
    if (!alive)
      break;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (fd >= 0) {
    pump_log(fd, &pending);
    close(fd);
  }
  st_buf_free(&pending);
}

int cli_attach_running(st_store *s, const char *ref, bool sig_proxy) {
  cleanup_error st_error *err = NULL;
  st_container c;
  if (st_container_find(s, ref, &c, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  st_container_refresh(s, &c);
  char id[sizeof(c.id)];
  memcpy(id, c.id, sizeof(id));
  bool running = c.state == ST_CT_RUNNING;
  st_container_clear(&c);
  if (!running)
    return cli_fail(1, "You cannot attach to a stopped container, start it "
                       "first");
  cleanup_free char *dir = st_container_dir(s, id);
  st_log_config lc;
  st_log_config_load(dir ? dir : "", &lc);
  if (lc.none)
    return cli_fail(1, "configured logging driver does not support reading");
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,
                             SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; sig_proxy && i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  cleanup_free char *path = st_container_log_path(s, id);
  if (path == NULL)
    return cli_fail(1, "out of memory");
  follow(s, id, path, sig_proxy);
  int status = 0;
  if (st_container_wait(s, id, &status, &err) < 0) {
    /* removed once it exited (--rm): its status is gone with it */
    return 0;
  }
  return status;
}

static int run_attach(int argc, char **argv) {
  enum { OPT_DETACH_KEYS = 256, OPT_NO_STDIN, OPT_SIG_PROXY };
  static const struct option opts[] = {
      {"detach-keys", required_argument, 0, OPT_DETACH_KEYS},
      {"no-stdin", no_argument, 0, OPT_NO_STDIN},
      {"sig-proxy", optional_argument, 0, OPT_SIG_PROXY},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  bool sig_proxy = true;
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (ch) {
    case OPT_DETACH_KEYS: /* no stdin is relayed: nothing to detach with */
    case OPT_NO_STDIN:
      break;
    case OPT_SIG_PROXY:
      sig_proxy = optarg == NULL || strcmp(optarg, "true") == 0;
      break;
    case 'h':
      return cli_usage(&st_cmd_attach);
    default:
      return cli_bad_flag("attach");
    }
  }
  if (optind + 1 != argc)
    return cli_bad_usage("attach",
                         "\"strata attach\" requires exactly 1 argument.");
  st_store *s = cli_store();
  if (s == NULL)
    return 1;
  return cli_attach_running(s, argv[optind], sig_proxy);
}
