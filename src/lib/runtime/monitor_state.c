/* The files a container's monitor shares with the commands (monitor.h),
 * the restart policy (Docker's parsing, rules and back-off) and the
 * health check's stored configuration. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/monitor.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char *path_in(const char *dir, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    return NULL;
  return p;
}

/* ---- state.json --------------------------------------------------------- */

void st_mstate_clear(st_mstate *m) {
  json_decref(m->health);
  memset(m, 0, sizeof(*m));
}

bool st_mstate_read(const char *dir, st_mstate *out) {
  memset(out, 0, sizeof(*out));
  cleanup_free char *p = path_in(dir, "state.json");
  json_t *j = p ? json_load_file(p, 0, NULL) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    return false;
  }
  out->restart_count =
      (int)json_integer_value(json_object_get(j, "RestartCount"));
  out->restarting = json_is_true(json_object_get(j, "Restarting"));
  out->pid = (pid_t)json_integer_value(json_object_get(j, "Pid"));
  out->monitor = (pid_t)json_integer_value(json_object_get(j, "Monitor"));
  out->pid_start = (uint64_t)json_integer_value(json_object_get(j, "PidStart"));
  out->started = json_integer_value(json_object_get(j, "StartedAt"));
  out->exit_code = (int)json_integer_value(json_object_get(j, "ExitCode"));
  out->finished = json_integer_value(json_object_get(j, "FinishedAt"));
  json_t *h = json_object_get(j, "Health");
  out->health = json_is_object(h) ? json_incref(h) : NULL;
  json_decref(j);
  return true;
}

void st_mstate_write(const char *dir, const st_mstate *m) {
  json_t *j = json_pack(
      "{s:i, s:b, s:I, s:I, s:I, s:I, s:i, s:I}", "RestartCount",
      m->restart_count, "Restarting", m->restarting, "Pid", (json_int_t)m->pid,
      "Monitor", (json_int_t)m->monitor, "PidStart", (json_int_t)m->pid_start,
      "StartedAt", (json_int_t)m->started, "ExitCode", m->exit_code,
      "FinishedAt", (json_int_t)m->finished);
  if (j && m->health)
    json_object_set(j, "Health", m->health);
  cleanup_free char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  cleanup_free char *p = path_in(dir, "state.json"), *tmp = NULL;
  if (text == NULL || p == NULL || asprintf(&tmp, "%s.tmp", p) < 0)
    return;
  cleanup_close int fd =
      open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  st_error *e = NULL;
  if (fd < 0 || st_write_all(fd, text, strlen(text), tmp, &e) < 0 ||
      rename(tmp, p) < 0)
    unlink(tmp);
  st_error_free(e);
}

void st_mstate_reset(const char *dir) {
  /* monitor.lock too: an attached run takes none, and the file of an
   * earlier monitor must not make it look dead */
  const char *names[] = {"state.json", "user-stopped", "monitor.lock"};
  for (size_t i = 0; i < 3; i++) {
    cleanup_free char *p = path_in(dir, names[i]);
    if (p)
      unlink(p);
  }
}

/* ---- the monitor's lock ------------------------------------------------- */

int st_monitor_lock(const char *dir) {
  cleanup_free char *p = path_in(dir, "monitor.lock");
  int fd = p ? open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
  if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

int st_monitor_alive(const char *dir) {
  cleanup_free char *p = path_in(dir, "monitor.lock");
  cleanup_close int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_SH | LOCK_NB) == 0)
    return 0; /* released by close */
  return errno == EWOULDBLOCK ? 1 : -1;
}

void st_user_stopped_set(const char *dir) {
  cleanup_free char *p = path_in(dir, "user-stopped");
  int fd = p ? open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
  if (fd >= 0)
    close(fd);
}

bool st_user_stopped(const char *dir) {
  cleanup_free char *p = path_in(dir, "user-stopped");
  return p && access(p, F_OK) == 0;
}

/* ---- restart policy ----------------------------------------------------- */

int st_restart_policy_parse(const char *text, st_restart_policy *out,
                            st_error **err) {
  memset(out, 0, sizeof(*out));
  const char *colon = strchr(text, ':');
  size_t klen = colon ? (size_t)(colon - text) : strlen(text);
  if (colon && klen == 0)
    return st_error_set(err, EINVAL,
                        "invalid restart policy format: no policy provided "
                        "before colon");
  long long count = 0;
  if (colon && colon[1]) {
    char *end = NULL;
    errno = 0;
    count = strtoll(colon + 1, &end, 10);
    if (errno || *end || count > 0x7fffffff || count < -0x7fffffff)
      return st_error_set(err, EINVAL,
                          "invalid restart policy format: maximum retry "
                          "count must be an integer");
  }
  static const char *const names[] = {"no", "always", "on-failure",
                                      "unless-stopped", ""};
  size_t i = 0;
  while (i < 5 &&
         !(strlen(names[i]) == klen && strncmp(names[i], text, klen) == 0))
    i++;
  if (i == 5)
    return st_error_set(err, EINVAL,
                        "invalid restart policy: unknown policy '%.*s'; use "
                        "one of 'no', 'always', 'on-failure', or "
                        "'unless-stopped'",
                        (int)klen, text);
  if (i != 2 && count != 0)
    return st_error_set(err, EINVAL,
                        "invalid restart policy: maximum retry count can "
                        "only be used with 'on-failure'%s",
                        count < 0 ? " and cannot be negative" : "");
  if (count < 0)
    return st_error_set(err, EINVAL,
                        "invalid restart policy: maximum retry count cannot "
                        "be negative");
  snprintf(out->name, sizeof(out->name), "%s", i == 4 ? "no" : names[i]);
  out->max_retry = (int)count;
  return 0;
}

char *st_restart_policy_text(const st_restart_policy *p) {
  char *t = NULL;
  if (strcmp(p->name, "on-failure") == 0 && p->max_retry > 0) {
    if (asprintf(&t, "on-failure:%d", p->max_retry) < 0)
      return NULL;
    return t;
  }
  return strdup(p->name[0] ? p->name : "no");
}

static void policy_from_json(json_t *spec, st_restart_policy *out) {
  const char *t = json_string_value(
      json_object_get(json_object_get(spec, "annotations"), ST_ANN_RESTART));
  st_error *e = NULL;
  if (t == NULL || st_restart_policy_parse(t, out, &e) < 0) {
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "no");
  }
  st_error_free(e);
}

static json_t *load_spec(const char *dir) {
  cleanup_free char *p = path_in(dir, "config.json");
  return p ? json_load_file(p, 0, NULL) : NULL;
}

int st_restart_policy_load(const char *dir, st_restart_policy *out) {
  json_t *spec = load_spec(dir);
  policy_from_json(spec, out);
  json_decref(spec);
  return 0;
}

int st_restart_policy_store(const char *dir, const st_restart_policy *p,
                            st_error **err) {
  json_t *spec = load_spec(dir);
  json_t *ann = json_object_get(spec, "annotations");
  if (!json_is_object(ann)) {
    json_decref(spec);
    return st_error_set(err, EIO, "read `%s/config.json`", dir);
  }
  cleanup_free char *t = st_restart_policy_text(p);
  json_object_set_new(ann, ST_ANN_RESTART, json_string(t ? t : "no"));
  cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
  json_decref(spec);
  cleanup_free char *path = path_in(dir, "config.json");
  if (text == NULL || path == NULL)
    return st_error_errno(err, ENOMEM, "restart policy");
  /* the monitor reads it at each exit; never a half-written file */
  return st_write_file_atomic(path, text, strlen(text), err);
}

bool st_restart_decide(const st_restart_policy *p, int code, int64_t ran_ns,
                       int restarts, bool user_stopped, int64_t *backoff_ms) {
  if (ran_ns >= 10 * 1000000000LL)
    *backoff_ms = 0;
  if (*backoff_ms == 0)
    *backoff_ms = 100;
  else if (*backoff_ms < 60000)
    *backoff_ms *= 2;
  if (*backoff_ms > 60000)
    *backoff_ms = 60000;
  if (user_stopped)
    return false;
  if (strcmp(p->name, "always") == 0 || strcmp(p->name, "unless-stopped") == 0)
    return true;
  if (strcmp(p->name, "on-failure") == 0)
    return code != 0 && (p->max_retry == 0 || restarts < p->max_retry);
  return false;
}

/* ---- health check ------------------------------------------------------- */

void st_healthcheck_clear(st_healthcheck *h) {
  for (size_t i = 0; h->test && h->test[i]; i++)
    free(h->test[i]);
  free(h->test);
  memset(h, 0, sizeof(*h));
}

bool st_healthcheck_load(const char *dir, st_healthcheck *out) {
  memset(out, 0, sizeof(*out));
  json_t *spec = load_spec(dir);
  const char *t = json_string_value(json_object_get(
      json_object_get(spec, "annotations"), ST_ANN_HEALTHCHECK));
  json_t *hc = t ? json_loads(t, 0, NULL) : NULL;
  json_decref(spec);
  json_t *test = json_object_get(hc, "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  size_t n = json_array_size(test);
  bool shell = kind && strcmp(kind, "CMD-SHELL") == 0;
  bool ok = kind && n >= 2 && (shell || strcmp(kind, "CMD") == 0);
  if (ok && (out->test = calloc(n + 3, sizeof(char *))) != NULL) {
    size_t k = 0;
    if (shell) {
      out->test[k++] = strdup("/bin/sh");
      out->test[k++] = strdup("-c");
    }
    for (size_t i = 1; i < n; i++)
      out->test[k++] = strdup(json_string_value(json_array_get(test, i)) ?: "");
    for (size_t i = 0; i < k; i++)
      ok = ok && out->test[i] != NULL;
  } else {
    ok = false;
  }
  json_int_t iv = json_integer_value(json_object_get(hc, "Interval"));
  json_int_t to = json_integer_value(json_object_get(hc, "Timeout"));
  json_int_t sp = json_integer_value(json_object_get(hc, "StartPeriod"));
  json_int_t re = json_integer_value(json_object_get(hc, "Retries"));
  out->interval_ns = iv > 0 ? iv : 30 * 1000000000LL;
  out->timeout_ns = to > 0 ? to : 30 * 1000000000LL;
  out->start_period_ns = sp > 0 ? sp : 0;
  out->retries = re > 0 ? (int)re : 3;
  json_decref(hc);
  if (!ok)
    st_healthcheck_clear(out);
  return ok;
}
