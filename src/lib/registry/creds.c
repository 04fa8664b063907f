/* Credentials in Docker's config.json, the containers auth.json, and
 * docker-credential-* helpers. */
#include "registry/creds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "registry/auth.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define HELPER_OUTPUT_MAX (1u << 20)

char *st_creds_docker_config_path(void) {
  char *p = NULL;
  const char *dir = getenv("DOCKER_CONFIG");
  if (dir && *dir) {
    if (asprintf(&p, "%s/config.json", dir) < 0)
      return NULL;
    return p;
  }
  const char *home = getenv("HOME");
  if (home == NULL || *home == '\0') {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : "/";
  }
  if (asprintf(&p, "%s/.docker/config.json", home) < 0)
    return NULL;
  return p;
}

static char *containers_auth_path(void) {
  char *p = NULL;
  const char *f = getenv("REGISTRY_AUTH_FILE");
  if (f && *f)
    return strdup(f);
  const char *run = getenv("XDG_RUNTIME_DIR");
  int r = run && *run ? asprintf(&p, "%s/containers/auth.json", run)
                      : asprintf(&p, "/run/containers/%u/auth.json",
                                 (unsigned)getuid());
  return r < 0 ? NULL : p;
}

/* Loads a JSON object file; *out is NULL when the file does not exist. */
static int load_file(const char *path, json_t **out, st_error **err) {
  *out = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0;
  st_error *e = NULL;
  if (st_read_file(path, &buf, &len, &e) < 0) {
    if (e->code == ENOENT) {
      st_error_free(e);
      return 0;
    }
    if (err && *err == NULL)
      *err = e;
    else
      st_error_free(e);
    return -1;
  }
  json_error_t jerr;
  json_t *j = json_loadb(buf, len, 0, &jerr);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    return st_error_set(err, EINVAL, "`%s` is not a JSON object: %s", path,
                        j ? "" : jerr.text);
  }
  *out = j;
  return 0;
}

/* "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/x" ->
 * "h:5000". */
static char *auth_host(const char *key) {
  const char *p = key;
  if (strncmp(p, "https://", 8) == 0)
    p += 8;
  else if (strncmp(p, "http://", 7) == 0)
    p += 7;
  size_t n = strcspn(p, "/");
  char *h = strndup(p, n);
  if (h && (strcmp(h, "index.docker.io") == 0 ||
            strcmp(h, "registry-1.docker.io") == 0)) {
    free(h);
    h = strdup("docker.io");
  }
  return h;
}

char *st_registry_auth_key(const char *registry) {
  cleanup_free char *h = auth_host(registry);
  if (h == NULL)
    return NULL;
  if (strcmp(h, "docker.io") == 0)
    return strdup("https://index.docker.io/v1/");
  return steal_pointer(&h);
}

static bool same_registry(const char *a, const char *b) {
  cleanup_free char *ha = auth_host(a);
  cleanup_free char *hb = auth_host(b);
  return ha && hb && strcmp(ha, hb) == 0;
}

/* ---- helpers ---------------------------------------------------------------
 */

/* Runs docker-credential-<name> <verb> with input on stdin; *out gets its
 * stdout. Returns its exit status (>= 0), or < 0 when it could not run. */
static int run_helper(const char *name, const char *verb, const char *input,
                      char **out, st_error **err) {
  cleanup_free char *prog = NULL;
  if (asprintf(&prog, "docker-credential-%s", name) < 0)
    return st_error_errno(err, ENOMEM, "credential helper");
  int in[2], outp[2];
  if (pipe2(in, O_CLOEXEC) < 0)
    return st_error_errno(err, errno, "run %s", prog);
  if (pipe2(outp, O_CLOEXEC) < 0) {
    int e = errno;
    close(in[0]);
    close(in[1]);
    return st_error_errno(err, e, "run %s", prog);
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(outp[1], 1);
    execlp(prog, prog, verb, (char *)NULL);
    _exit(127);
  }
  int fork_errno = errno;
  close(in[0]);
  close(outp[1]);
  if (pid < 0) {
    close(in[1]);
    close(outp[0]);
    return st_error_errno(err, fork_errno, "run %s", prog);
  }
  st_error *ignored = NULL;
  st_write_all(in[1], input, strlen(input), prog, &ignored);
  st_error_free(ignored);
  close(in[1]);
  cleanup_buf st_buf b = ST_BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = read(outp[0], chunk, sizeof(chunk))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 || b.len + (size_t)n > HELPER_OUTPUT_MAX)
      break;
    st_buf_append(&b, chunk, (size_t)n);
  }
  close(outp[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return st_error_set(err, ENOENT, "credential helper %s: not found in $PATH",
                        prog);
  if (out)
    *out = st_buf_steal(&b);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int helper_get(const char *name, const char *key, char **user,
                      char **password, st_error **err) {
  cleanup_free char *out = NULL;
  int st = run_helper(name, "get", key, &out, err);
  if (st < 0)
    return -1;
  if (st != 0)
    return 0; /* "credentials not found in native keychain" */
  cleanup_json json_t *j = json_loads(out, 0, NULL);
  const char *u = json_string_value(json_object_get(j, "Username"));
  const char *s = json_string_value(json_object_get(j, "Secret"));
  if (u == NULL || s == NULL)
    return st_error_set(err, EPROTO,
                        "credential helper docker-credential-%s: unexpected "
                        "answer",
                        name);
  if (strcmp(u, "<token>") == 0)
    return 0; /* identity tokens are not supported: behave as logged out */
  *user = strdup(u);
  *password = strdup(s);
  if (*user == NULL || *password == NULL)
    return st_error_errno(err, ENOMEM, "credentials");
  return 1;
}

/* The helper for key in a config, or NULL. */
static const char *helper_for(const json_t *cfg, const char *key) {
  const json_t *helpers = json_object_get(cfg, "credHelpers");
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)helpers, k, v) {
    if (same_registry(k, key) && json_string_value(v))
      return json_string_value(v);
  }
  const char *store = json_string_value(json_object_get(cfg, "credsStore"));
  return store && *store ? store : NULL;
}

static int auths_get(const json_t *cfg, const char *key, char **user,
                     char **password, st_error **err) {
  const json_t *auths = json_object_get(cfg, "auths");
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)auths, k, v) {
    if (!same_registry(k, key))
      continue;
    const char *a = json_string_value(json_object_get(v, "auth"));
    if (a && *a) {
      size_t n = 0;
      cleanup_free char *dec = st_base64_decode(a, &n);
      char *colon = dec ? memchr(dec, ':', n) : NULL;
      if (colon == NULL)
        return st_error_set(err, EINVAL,
                            "auths[\"%s\"].auth is not base64 of user:password",
                            k);
      *user = strndup(dec, (size_t)(colon - dec));
      *password = strdup(colon + 1);
      explicit_bzero(dec, n);
    } else {
      const char *u = json_string_value(json_object_get(v, "username"));
      const char *p = json_string_value(json_object_get(v, "password"));
      if (u == NULL || p == NULL)
        continue;
      *user = strdup(u);
      *password = strdup(p);
    }
    if (*user == NULL || *password == NULL)
      return st_error_errno(err, ENOMEM, "credentials");
    return 1;
  }
  return 0;
}

static int lookup_in(const char *path, const char *key, char **user,
                     char **password, st_error **err) {
  cleanup_json json_t *cfg = NULL;
  if (load_file(path, &cfg, err) < 0)
    return -1;
  if (cfg == NULL)
    return 0;
  const char *helper = helper_for(cfg, key);
  int r = helper ? helper_get(helper, key, user, password, err) : 0;
  if (r == 0)
    r = auths_get(cfg, key, user, password, err);
  if (r < 0) {
    free(*user);
    free(*password);
    *user = *password = NULL;
    return st_error_wrap(err, "`%s`", path);
  }
  return r;
}

int st_creds_lookup(const char *key, char **user, char **password,
                    st_error **err) {
  *user = *password = NULL;
  cleanup_free char *containers = containers_auth_path();
  cleanup_free char *docker = st_creds_docker_config_path();
  const char *paths[] = {containers, docker};
  for (size_t i = 0; i < 2; i++) {
    if (paths[i] == NULL)
      continue;
    int r = lookup_in(paths[i], key, user, password, err);
    if (r != 0)
      return r;
  }
  return 0;
}

/* ---- writing ---------------------------------------------------------------
 */

/* Writes cfg to path (0600), atomically. */
static int save_file(const char *path, const json_t *cfg, st_error **err) {
  cleanup_free char *text = json_dumps(cfg, JSON_INDENT(1));
  cleanup_free char *dir = strdup(path);
  cleanup_free char *tmp = NULL;
  if (text == NULL || dir == NULL || asprintf(&tmp, "%s.XXXXXX", path) < 0)
    return st_error_errno(err, ENOMEM, "save `%s`", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (st_mkdir_p(dir, 0700, err) < 0)
      return -1;
  }
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return st_error_errno(err, errno, "create `%s`", tmp);
  size_t n = strlen(text);
  if (st_write_all(fd, text, n, tmp, err) < 0 ||
      st_write_all(fd, "\n", 1, tmp, err) < 0 || fsync(fd) < 0 ||
      rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return *err ? -1 : st_error_errno(err, e, "write `%s`", path);
  }
  return 0;
}

int st_creds_store(const char *key, const char *user, const char *password,
                   char **where, st_error **err) {
  if (where)
    *where = NULL;
  cleanup_free char *path = st_creds_docker_config_path();
  if (path == NULL)
    return st_error_errno(err, ENOMEM, "login");
  cleanup_json json_t *cfg = NULL;
  if (load_file(path, &cfg, err) < 0)
    return -1;
  if (cfg == NULL && (cfg = json_object()) == NULL)
    return st_error_errno(err, ENOMEM, "login");
  const char *helper = helper_for(cfg, key);
  if (helper) {
    cleanup_json json_t *in = json_pack("{s:s, s:s, s:s}", "ServerURL", key,
                                        "Username", user, "Secret", password);
    cleanup_free char *text = in ? json_dumps(in, JSON_COMPACT) : NULL;
    if (text == NULL)
      return st_error_errno(err, ENOMEM, "login");
    int st = run_helper(helper, "store", text, NULL, err);
    explicit_bzero(text, strlen(text));
    if (st < 0)
      return -1;
    if (st != 0)
      return st_error_set(err, EIO,
                          "credential helper docker-credential-%s store "
                          "failed (exit status %d)",
                          helper, st);
    if (where && asprintf(where, "docker-credential-%s", helper) < 0)
      *where = NULL;
    return 0;
  }
  json_t *auths = json_object_get(cfg, "auths");
  if (!json_is_object(auths)) {
    auths = json_object();
    if (auths == NULL || json_object_set_new(cfg, "auths", auths) < 0)
      return st_error_errno(err, ENOMEM, "login");
  }
  cleanup_free char *up = NULL;
  if (asprintf(&up, "%s:%s", user, password) < 0)
    return st_error_errno(err, ENOMEM, "login");
  cleanup_free char *b = st_base64_encode(up, strlen(up));
  explicit_bzero(up, strlen(up));
  if (b == NULL ||
      json_object_set_new(auths, key, json_pack("{s:s}", "auth", b)) < 0)
    return st_error_errno(err, ENOMEM, "login");
  if (save_file(path, cfg, err) < 0)
    return -1;
  if (where)
    *where = steal_pointer(&path);
  return 0;
}

/* Removes every auths entry for key from the file at path. */
static int erase_in(const char *path, const char *key, bool use_helper,
                    st_error **err) {
  cleanup_json json_t *cfg = NULL;
  if (load_file(path, &cfg, err) < 0)
    return -1;
  if (cfg == NULL)
    return 0;
  int removed = 0;
  bool changed = false;
  const char *helper = use_helper ? helper_for(cfg, key) : NULL;
  if (helper) {
    int st = run_helper(helper, "erase", key, NULL, err);
    if (st < 0)
      return -1;
    removed = st == 0;
  }
  json_t *auths = json_object_get(cfg, "auths");
  const char *k;
  json_t *v;
  void *tmp;
  json_object_foreach_safe(auths, tmp, k, v) {
    if (same_registry(k, key)) {
      json_object_del(auths, k);
      removed = 1;
      changed = true;
    }
  }
  if (changed && save_file(path, cfg, err) < 0)
    return -1;
  return removed;
}

int st_creds_erase(const char *key, st_error **err) {
  cleanup_free char *docker = st_creds_docker_config_path();
  cleanup_free char *containers = containers_auth_path();
  if (docker == NULL || containers == NULL)
    return st_error_errno(err, ENOMEM, "logout");
  int a = erase_in(docker, key, true, err);
  if (a < 0)
    return -1;
  int b = erase_in(containers, key, false, err);
  if (b < 0)
    return -1;
  return a || b;
}
