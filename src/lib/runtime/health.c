/* Health checks (Docker's HEALTHCHECK / --health-*), run by the monitor.
 * A timerfd fires every interval; a probe runs in a helper process forked
 * from the monitor (it enters the container as `exec` does and waits for
 * the probe, up to its timeout), which writes one JSON result on a pipe
 * that the monitor's poll loop reads. So the monitor never blocks on a
 * probe, and costs nothing between two. Status rules as Docker's: a
 * success makes it healthy and resets the failing streak; a failure
 * counts (unless the container is still starting and within its start
 * period) and `retries` failures in a row make it unhealthy. The last
 * ST_HEALTH_LOG_MAX probes are kept. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fmt/units.h"
#include "runtime/manage_internal.h"
#include "runtime/monitor.h"
#include "util/buf.h"
#include "util/cleanup.h"

struct st_health {
  char *dir;
  const st_spec *spec;
  pid_t pid; /* the container's */
  int64_t started;
  st_mstate *m;
  sigset_t child_mask;
  st_healthcheck hc;
  int timer;
  int result; /* read end from the helper, -1 when no probe runs */
  pid_t helper;
  st_buf got; /* what the helper wrote so far */
};

static json_t *time_json(int64_t ns) {
  cleanup_free char *t =
      st_format_rfc3339nano(ns / 1000000000, (int32_t)(ns % 1000000000));
  return json_string(t ? t : "");
}

/* Go's Duration.String() for the timeout message ("30s", "1.5s", "1m0s",
 * "500ms"). */
static void go_duration(int64_t ns, char *out, size_t n) {
  if (ns < 1000000000LL) {
    snprintf(out, n, "%gms", (double)ns / 1e6);
  } else if (ns < 60000000000LL) {
    snprintf(out, n, "%gs", (double)ns / 1e9);
  } else {
    int64_t m = ns / 60000000000LL;
    double sec = (double)(ns % 60000000000LL) / 1e9;
    if (m >= 60)
      snprintf(out, n, "%lldh%lldm%gs", (long long)(m / 60),
               (long long)(m % 60), sec);
    else
      snprintf(out, n, "%lldm%gs", (long long)m, sec);
  }
}

static void arm(int timer, int64_t ns) {
  struct itimerspec its = {{0, 0}, {ns / 1000000000, ns % 1000000000}};
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
    its.it_value.tv_nsec = 1;
  timerfd_settime(timer, 0, &its, NULL);
}

st_health *st_health_new(const char *dir, const st_spec *spec, pid_t pid,
                         int64_t started, st_mstate *m,
                         const sigset_t *child_mask) {
  st_health *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->timer = h->result = -1;
  if (!st_healthcheck_load(dir, &h->hc) || (h->dir = strdup(dir)) == NULL ||
      (h->timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) <
          0) {
    st_health_free(h);
    return NULL;
  }
  h->spec = spec;
  h->pid = pid;
  h->started = started;
  h->m = m;
  h->child_mask = *child_mask;
  h->got = (st_buf)ST_BUF_INIT;
  json_decref(m->health);
  m->health = json_pack("{s:s, s:i, s:[]}", "Status", "starting",
                        "FailingStreak", 0, "Log");
  st_mstate_write(dir, m);
  arm(h->timer, h->hc.interval_ns);
  return h;
}

int st_health_timer_fd(const st_health *h) {
  return h->timer;
}

int st_health_result_fd(const st_health *h) {
  return h->result;
}

/* In the helper: one probe, its result as JSON on fd. */
static _Noreturn void probe_main(st_health *h, int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  sigprocmask(SIG_SETMASK, &h->child_mask, NULL);
  st_ct ct;
  memset(&ct, 0, sizeof(ct));
  ct.c.pid = h->pid;
  ct.c.state = ST_CT_RUNNING;
  ct.dir = h->dir;
  ct.spec = *h->spec;
  int64_t start = st_now_ns();
  int code = -1;
  bool timed_out = false;
  char *output = NULL;
  st_error *err = NULL;
  if (st_ct_exec_capture(&ct, h->hc.test, h->hc.timeout_ns, &code, &output,
                         &timed_out, &err) < 0) {
    /* Docker records a probe that cannot start with its error */
    code = -1;
    output = strdup(err && err->msg ? err->msg : "health check failed");
  } else if (timed_out) {
    char d[64];
    go_duration(h->hc.timeout_ns, d, sizeof(d));
    free(output);
    if (asprintf(&output, "Health check exceeded timeout (%s)", d) < 0)
      output = NULL;
  }
  int64_t end = st_now_ns();
  json_t *out = json_stringn(output ? output : "", output ? strlen(output) : 0);
  if (out == NULL) /* not UTF-8 */
    out = json_string("<health check output is not UTF-8>");
  json_t *r = json_pack("{s:o, s:o, s:i, s:o}", "Start", time_json(start),
                        "End", time_json(end), "ExitCode", code, "Output", out);
  char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
  if (text)
    (void)!write(fd, text, strlen(text));
  _exit(0);
}

void st_health_tick(st_health *h) {
  uint64_t n;
  (void)!read(h->timer, &n, sizeof(n));
  arm(h->timer, h->hc.interval_ns);
  if (h->result >= 0)
    return; /* the last probe still runs */
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    probe_main(h, p[1]);
  }
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return;
  }
  h->helper = pid;
  h->result = p[0];
  fcntl(h->result, F_SETFL, O_NONBLOCK);
  st_buf_free(&h->got);
  h->got = (st_buf)ST_BUF_INIT;
}

/* Docker's rules for one probe result. */
static void record(st_health *h, json_t *res) {
  json_t *hs = h->m->health;
  json_t *log = json_object_get(hs, "Log");
  json_array_append(log, res);
  while (json_array_size(log) > ST_HEALTH_LOG_MAX)
    json_array_remove(log, 0);
  int code = (int)json_integer_value(json_object_get(res, "ExitCode"));
  const char *status = json_string_value(json_object_get(hs, "Status"));
  json_int_t streak = json_integer_value(json_object_get(hs, "FailingStreak"));
  if (code == 0) {
    json_object_set_new(hs, "Status", json_string("healthy"));
    json_object_set_new(hs, "FailingStreak", json_integer(0));
    return;
  }
  /* while starting, failures within the start period do not count */
  if (status && strcmp(status, "starting") == 0 &&
      st_now_ns() - h->started < h->hc.start_period_ns)
    return;
  streak++;
  json_object_set_new(hs, "FailingStreak", json_integer(streak));
  if (streak >= h->hc.retries)
    json_object_set_new(hs, "Status", json_string("unhealthy"));
}

void st_health_collect(st_health *h) {
  char buf[4096];
  ssize_t n;
  while ((n = read(h->result, buf, sizeof(buf))) > 0)
    st_buf_append(&h->got, buf, (size_t)n);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  close(h->result);
  h->result = -1;
  while (waitpid(h->helper, NULL, 0) < 0 && errno == EINTR)
    ;
  h->helper = 0;
  json_t *res =
      h->got.len ? json_loadb(h->got.data, h->got.len, 0, NULL) : NULL;
  if (json_is_object(res) && h->m->health) {
    record(h, res);
    st_mstate_write(h->dir, h->m);
  }
  json_decref(res);
}

void st_health_free(st_health *h) {
  if (h == NULL)
    return;
  if (h->helper > 0) {
    kill(h->helper, SIGKILL);
    waitpid(h->helper, NULL, 0);
  }
  if (h->result >= 0)
    close(h->result);
  if (h->timer >= 0)
    close(h->timer);
  st_buf_free(&h->got);
  st_healthcheck_clear(&h->hc);
  free(h->dir);
  free(h);
}
