/* Build and host facts shared by `strata version` and `strata info`. */
#include "sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
/* Not used here: including it recompiles this file, and so takes a new
 * __DATE__/__TIME__ for sysinfo_built, whenever the commit changes. */
#include "git_commit.h"

extern char **environ;

const char *sysinfo_compiler(void) {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "C";
#endif
}

const char *sysinfo_built(void) {
  static char out[64];
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  char stamp[] = __DATE__ " " __TIME__;
  const char *end = strptime(stamp, "%b %d %Y %H:%M:%S", &tm);
  if (end == NULL || *end != '\0')
    return "unknown";
  /* mktime fills in the weekday */
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  struct tm local;
  if (t == (time_t)-1 || localtime_r(&t, &local) == NULL ||
      strftime(out, sizeof(out), "%a %b %e %H:%M:%S %Y", &local) == 0)
    return "unknown";
  /* Go's layout does not pad the day: "Dec 5", never "Dec  5" */
  char *dbl = strstr(out, "  ");
  if (dbl)
    memmove(dbl, dbl + 1, strlen(dbl));
  return out;
}

const char *sysinfo_goarch(void) {
  static char arch[sizeof(((struct utsname *)0)->machine)];
  struct utsname u;
  if (uname(&u) < 0)
    return "unknown";
  static const struct {
    const char *uname, *go;
  } map[] = {
      {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"i686", "386"},
      {"i386", "386"},        {"armv7l", "arm"},    {"armv6l", "arm"},
      {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(u.machine, map[i].uname) == 0)
      return map[i].go;
  snprintf(arch, sizeof(arch), "%s", u.machine);
  return arch;
}

/* The full path of an executable named name in $PATH, or NULL. */
static char *find_on_path(const char *name) {
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path; *p;) {
    size_t len = strcspn(p, ":");
    char *full = NULL;
    if (len > 0 && asprintf(&full, "%.*s/%s", (int)len, p, name) >= 0) {
      if (access(full, X_OK) == 0)
        return full;
      free(full);
    }
    p += len;
    if (*p == ':')
      p++;
  }
  return NULL;
}

/* The standard output of `path --version` (at most 4 KiB), or NULL. */
static char *version_output(const char *path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY,
                                   0);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  char *argv[] = {(char *)path, (char *)"--version", NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return NULL;
  }
  char *buf = calloc(1, 4097);
  size_t n = 0;
  while (buf && n < 4096) {
    ssize_t r = read(fds[0], buf + n, 4096 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return buf;
}

/* The rest of the line after prefix at a line start in text ("" if none),
 * as a new string. */
static char *line_value(const char *text, const char *prefix) {
  size_t plen = strlen(prefix);
  for (const char *l = text; l && *l;) {
    if (strncmp(l, prefix, plen) == 0)
      return strndup(l + plen, strcspn(l + plen, "\n"));
    l = strchr(l, '\n');
    if (l)
      l++;
  }
  return strdup("");
}

static json_t *runtime_entry(const char *name, const char *path) {
  cleanup_free char *out = version_output(path);
  cleanup_free char *prefix = NULL;
  cleanup_free char *version = NULL;
  cleanup_free char *commit = NULL;
  if (out && asprintf(&prefix, "%s version ", name) >= 0) {
    version = line_value(out, prefix);
    commit = line_value(out, "commit: ");
  }
  return json_pack("{s:s, s:s, s:s, s:s}", "Name", name, "Path", path,
                   "Version", version ? version : "", "GitCommit",
                   commit ? commit : "");
}

json_t *sysinfo_oci_runtimes(void) {
  static const char *const names[] = {"crun", "runc"};
  json_t *list = json_array();
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    cleanup_free char *path = find_on_path(names[i]);
    if (path == NULL)
      continue;
    json_t *e = runtime_entry(names[i], path);
    if (e)
      json_array_append_new(list, e);
  }
  return list;
}
