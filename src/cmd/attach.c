/* strata attach: the output of a running container, from now on, until it
 * exits (then attach exits with its status, as Docker's does), and our
 * input to it when it was started with open stdin (-i).
 *
 * The container's output is what its monitor writes to its log (json-file
 * records), so attach follows that log from its end. Input goes to the
 * monitor's attach socket (runtime/attach_sock.h), which writes it to the
 * container's pty (-t) or stdin pipe. The detach keys (Ctrl-P Ctrl-Q by
 * default) end the attach and leave the container running. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "runtime/attach_sock.h"
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

static volatile sig_atomic_t pending_signal, winch;

static void on_signal(int sig) {
  pending_signal = sig;
}

static void on_winch(int sig) {
  (void)sig;
  winch = 1;
}

/* Our stdin relayed to the container's attach socket. */
typedef struct input {
  int sock;  /* -1: stdin is not relayed */
  bool tty;  /* the container has a TTY: raw mode, window size */
  bool open; /* our stdin has not ended */
  st_detach keys;
  bool detached;
} input;

static void send_winsize(input *in) {
  struct winsize w;
  if (in->tty && ioctl(0, TIOCGWINSZ, &w) == 0)
    st_attach_send(in->sock, ST_ATTACH_RESIZE, &w, sizeof(w));
}

/* Reads our stdin once and sends it on, holding back a beginning of the
 * detach keys until it is known whether the rest follows. */
static void relay_input(input *in) {
  unsigned char buf[4096], out[4096 + ST_DETACH_KEYS_MAX];
  ssize_t n = read(0, buf, sizeof(buf));
  if (n < 0 && errno == EINTR)
    return;
  if (n <= 0) {
    in->open = false;
    return;
  }
  size_t o = st_detach_filter(&in->keys, buf, (size_t)n, out, &in->detached);
  if (o > 0 && st_attach_send(in->sock, ST_ATTACH_DATA, out, o) < 0)
    in->open = false; /* the monitor went: the container has exited */
}

/* Waits up to 50 ms for our input (relaying it) or for the log to grow
 * (notify: an inotify fd on it, or -1). */
static void wait_input(input *in, int notify) {
  if (winch) {
    winch = 0;
    send_winsize(in);
  }
  struct pollfd p[2];
  nfds_t n = 0;
  if (notify >= 0)
    p[n++] = (struct pollfd){notify, POLLIN, 0};
  if (in->sock >= 0 && in->open)
    p[n++] = (struct pollfd){0, POLLIN, 0};
  if (poll(p, n, 50) <= 0)
    return;
  for (nfds_t i = 0; i < n; i++) {
    if (!(p[i].revents & (POLLIN | POLLHUP)))
      continue;
    if (p[i].fd == notify) {
      char ev[4096];
      while (read(notify, ev, sizeof(ev)) > 0)
        ;
    } else {
      relay_input(in);
    }
  }
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

/* Whether it still runs; when not, *code gets its exit code (a --rm
 * container is removed by the refresh that records its exit: the code is
 * caught here, before it goes). */
static bool is_running(st_store *s, const char *id, int *code) {
  st_container c;
  st_error *e = NULL;
  if (st_container_find(s, id, &c, &e) < 0) {
    st_error_free(e);
    return false;
  }
  st_container_refresh(s, &c);
  bool r = c.state == ST_CT_RUNNING;
  if (!r)
    *code = c.exit_code;
  st_container_clear(&c);
  return r;
}

static bool same_file(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino;
}

/* Follows the log from its end while the container runs (until the detach
 * keys with in); forwards the signals it receives when sig_proxy. */
static void follow(st_store *s, const char *id, const char *path,
                   bool sig_proxy, int fd, input *in, int *code) {
  if (fd < 0) { /* from now on */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      lseek(fd, 0, SEEK_END);
  }
  /* woken at once by what it writes (a rotation falls back to polling) */
  cleanup_close int notify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (notify >= 0 && inotify_add_watch(notify, path, IN_MODIFY) < 0) {
    close(notify);
    notify = -1;
  }
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
    bool alive = is_running(s, id, code);
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
    wait_input(in, notify);
    if (in->detached)
      break;
  }
  if (fd >= 0) {
    pump_log(fd, &pending);
    close(fd);
  }
  st_buf_free(&pending);
}

/* Whether the container in dir was made with -t: its config.json says. */
static bool has_tty(const char *dir) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/config.json", dir) < 0)
    return false;
  json_t *cfg = json_load_file(path, 0, NULL);
  bool t = json_is_true(
      json_object_get(json_object_get(cfg, "process"), "terminal"));
  json_decref(cfg);
  return t;
}

int cli_attach_running(st_store *s, const char *ref, const cli_attach_opts *o) {
  cleanup_error st_error *err = NULL;
  st_container c;
  if (st_container_find(s, ref, &c, &err) < 0) {
    cli_print_error(err);
    return 1;
  }
  char id[sizeof(c.id)];
  memcpy(id, c.id, sizeof(id));
  cleanup_free char *path = st_container_log_path(s, id);
  if (path == NULL)
    return cli_fail(1, "out of memory");
  /* from_start: the log is opened before the refresh, which removes a
   * --rm container that has exited already, log included */
  int early = o->from_start ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  st_container_refresh(s, &c);
  bool running = c.state == ST_CT_RUNNING;
  int exited = c.exit_code;
  st_container_clear(&c);
  if (!running && early >= 0) { /* it ran and ended before we came */
    st_buf pending = ST_BUF_INIT;
    pump_log(early, &pending);
    st_buf_free(&pending);
    close(early);
    return exited;
  }
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
  for (size_t i = 0; o->sig_proxy && i < sizeof(sigs) / sizeof(sigs[0]); i++)
    sigaction(sigs[i], &sa, NULL);
  input in = {.sock = -1};
  if (st_detach_parse(o->detach_keys, &in.keys) < 0)
    return cli_fail(1, "Invalid detach keys (%s) provided", o->detach_keys);
  in.tty = dir && has_tty(dir);
  if (o->in && dir && st_attach_wanted(dir)) {
    if (in.tty && !isatty(0)) { /* Docker's words, as run prints them */
      fputs("the input device is not a TTY\n", stderr);
      return 1;
    }
    in.sock = st_attach_connect(dir);
    in.open = in.sock >= 0;
  }
  struct termios saved;
  bool raw = false;
  if (in.sock >= 0 && in.tty && tcgetattr(0, &saved) == 0) {
    struct termios t = saved;
    cfmakeraw(&t);
    raw = tcsetattr(0, TCSANOW, &t) == 0;
    struct sigaction wa = {.sa_handler = on_winch};
    sigemptyset(&wa.sa_mask);
    sigaction(SIGWINCH, &wa, NULL);
    send_winsize(&in);
  }
  int code = 0;
  follow(s, id, path, o->sig_proxy, early, &in, &code);
  if (raw)
    tcsetattr(0, TCSANOW, &saved);
  if (in.sock >= 0)
    close(in.sock);
  if (in.detached) /* the container goes on */
    return 0;
  int status = 0;
  if (st_container_wait(s, id, &status, &err) < 0)
    return code; /* removed once it exited (--rm): as follow saw it */
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
  cli_attach_opts o = {.sig_proxy = true, .in = true};
  int ch;
  while ((ch = cli_getopt(argc, argv, "h", opts)) != -1) {
    switch (ch) {
    case OPT_DETACH_KEYS:
      o.detach_keys = optarg;
      break;
    case OPT_NO_STDIN:
      o.in = false;
      break;
    case OPT_SIG_PROXY:
      o.sig_proxy = optarg == NULL || strcmp(optarg, "true") == 0;
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
  return cli_attach_running(s, argv[optind], &o);
}
