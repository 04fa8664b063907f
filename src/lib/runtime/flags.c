/* Docker's parsing of --ulimit, --device, --sysctl, --expose and the
 * namespace modes (see flags.h). */
#include "runtime/flags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "image/image.h"
#include "util/cleanup.h"

static const struct {
  const char *name;
  int resource;
} ulimit_names[] = {
    {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

/* Go's strconv.ParseInt(s, 10, 64), with its error text. */
static int go_parse_int(const char *s, size_t len, int64_t *out,
                        st_error **err) {
  cleanup_free char *dup = strndup(s, len);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "parse");
  char *end = NULL;
  errno = 0;
  long long v = strtoll(dup, &end, 10);
  bool blank = *dup == '\0' || *dup == ' ' || *dup == '\t';
  if (blank || *end || end == dup)
    return st_error_set(
        err, EINVAL, "strconv.ParseInt: parsing \"%s\": invalid syntax", dup);
  if (errno == ERANGE)
    return st_error_set(err, EINVAL,
                        "strconv.ParseInt: parsing \"%s\": value out of range",
                        dup);
  *out = v;
  return 0;
}

int st_ulimit_parse(const char *v, st_ulimit *out, st_error **err) {
  const char *eq = strchr(v, '=');
  if (eq == NULL)
    return st_error_set(err, EINVAL, "invalid ulimit argument: %s", v);
  size_t n = (size_t)(eq - v);
  out->name = NULL;
  for (size_t i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
    if (strlen(ulimit_names[i].name) == n &&
        strncmp(ulimit_names[i].name, v, n) == 0) {
      out->name = ulimit_names[i].name;
      out->resource = ulimit_names[i].resource;
    }
  if (out->name == NULL)
    return st_error_set(err, EINVAL, "invalid ulimit type: %.*s", (int)n, v);
  const char *vals = eq + 1, *colon = strchr(vals, ':');
  if (colon && strchr(colon + 1, ':'))
    return st_error_set(err, EINVAL,
                        "too many limit value arguments - %s, can only have "
                        "up to two, `soft[:hard]`",
                        vals);
  if (colon && go_parse_int(colon + 1, strlen(colon + 1), &out->hard, err) < 0)
    return -1;
  if (go_parse_int(vals, colon ? (size_t)(colon - vals) : strlen(vals),
                   &out->soft, err) < 0)
    return -1;
  if (colon == NULL)
    out->hard = out->soft;
  if (out->hard != -1 && out->soft > out->hard)
    return st_error_set(err, EINVAL,
                        "ulimit soft limit must be less than or equal to "
                        "hard limit: %lld > %lld",
                        (long long)out->soft, (long long)out->hard);
  return 0;
}

/* Docker's device cgroup permissions: some of r, w, m, each once. */
static bool device_mode(const char *m) {
  if (*m == '\0' || strlen(m) > 3)
    return false;
  for (const char *p = m; *p; p++)
    if (strchr("rwm", *p) == NULL || strchr(p + 1, *p))
      return false;
  return true;
}

int st_device_check(const char *v, st_error **err) {
  size_t colons = 0;
  for (const char *p = v; *p; p++)
    colons += *p == ':';
  if (colons > 2 || *v == '\0' || *v == ':')
    return st_error_set(err, EINVAL, "bad format for path: %s", v);
  const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  cleanup_free char *ctr = NULL;
  if (c2) {
    if (!device_mode(c2 + 1))
      return st_error_set(err, EINVAL, "bad mode specified: %s", c2 + 1);
    ctr = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
  } else if (c1 && !device_mode(c1 + 1)) {
    ctr = strdup(c1 + 1);
  } else {
    ctr = c1 ? strndup(v, (size_t)(c1 - v)) : strdup(v);
  }
  if (ctr == NULL)
    return st_error_errno(err, ENOMEM, "--device");
  if (ctr[0] != '/')
    return st_error_set(err, EINVAL, "%s is not an absolute path", ctr);
  return 0;
}

int st_device_split(const char *v, char *buf, st_device_map *out,
                    st_error **err) {
  if (st_device_check(v, err) < 0)
    return -1;
  memcpy(buf, v, strlen(v) + 1); /* sized by the caller (flags.h) */
  out->host = buf;
  out->ctr = NULL;
  out->perms = "rwm";
  char *c1 = strchr(buf, ':'), *c2 = NULL;
  if (c1) {
    *c1++ = '\0';
    if ((c2 = strchr(c1, ':')) != NULL)
      *c2++ = '\0';
  }
  if (c2) {
    out->ctr = c1;
    out->perms = c2;
  } else if (c1 && device_mode(c1)) {
    out->perms = c1;
  } else if (c1) {
    out->ctr = c1;
  }
  if (out->ctr == NULL || *out->ctr == '\0')
    out->ctr = out->host;
  return 0;
}

int st_sysctl_check(const char *kv, st_error **err) {
  static const char *const keys[] = {"kernel.msgmax", "kernel.msgmnb",
                                     "kernel.msgmni", "kernel.sem",
                                     "kernel.shmall", "kernel.shmmax",
                                     "kernel.shmmni", "kernel.shm_rmid_forced"};
  const char *eq = strchr(kv, '=');
  if (eq != NULL) {
    size_t n = (size_t)(eq - kv);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
      if (strlen(keys[i]) == n && strncmp(keys[i], kv, n) == 0)
        return 0;
    if (strncmp(kv, "net.", 4) == 0 || strncmp(kv, "fs.mqueue.", 10) == 0)
      return 0;
  }
  return st_error_set(err, EINVAL, "sysctl '%s' is not allowed", kv);
}

/* Go's strconv.ParseUint(s, 10, 16) for a port, with nat's messages. */
static int port_number(const char *s, unsigned *out, st_error **err) {
  char *end = NULL;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (*s < '0' || *s > '9' || *end)
    return st_error_set(err, EINVAL,
                        "strconv.ParseUint: parsing \"%s\": invalid syntax", s);
  if (errno == ERANGE || v > 65535)
    return st_error_set(err, EINVAL,
                        "strconv.ParseUint: parsing \"%s\": value out of "
                        "range",
                        s);
  *out = (unsigned)v;
  return 0;
}

static int port_range(const char *v, const char *range, unsigned *start,
                      unsigned *end, st_error **err) {
  cleanup_free char *dup = strdup(range);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "--expose");
  st_error *e = NULL;
  char *dash = strchr(dup, '-');
  if (dash)
    *dash++ = '\0';
  if (*dup == '\0')
    st_error_set(&e, EINVAL, "empty string specified for ports");
  else if (port_number(dup, start, &e) == 0 &&
           port_number(dash ? dash : dup, end, &e) == 0 && *end < *start)
    st_error_set(&e, EINVAL, "invalid range specified for port: %s", range);
  if (e == NULL)
    return 0;
  st_error_set(err, EINVAL, "invalid range format for --expose: %s, error: %s",
               v, e->msg);
  st_error_free(e);
  return -1;
}

int st_expose_add(const char *v, json_t *ports, st_error **err) {
  if (strchr(v, ':'))
    return st_error_set(err, EINVAL, "invalid port format for --expose: %s", v);
  cleanup_free char *dup = strdup(v);
  if (dup == NULL)
    return st_error_errno(err, ENOMEM, "--expose");
  char *slash = strchr(dup, '/');
  const char *proto = "tcp";
  if (slash) {
    *slash = '\0';
    if (slash[1])
      proto = slash + 1;
  }
  unsigned start = 0, end = 0;
  if (port_range(v, dup, &start, &end, err) < 0)
    return -1;
  for (unsigned p = start; p <= end; p++) {
    char key[64];
    snprintf(key, sizeof(key), "%u/%s", p, proto);
    json_object_set_new(ports, key, json_object());
  }
  return 0;
}

int st_ns_mode_check(const char *which, const char *mode, st_error **err) {
  bool joins = strncmp(mode, "container:", 10) == 0 && mode[10] != '\0';
  bool ok = *mode == '\0' || strcmp(mode, "host") == 0;
  if (strcmp(which, "pid") == 0)
    ok = ok || joins;
  else if (strcmp(which, "ipc") == 0)
    ok = ok || joins || strcmp(mode, "private") == 0 ||
         strcmp(mode, "shareable") == 0 || strcmp(mode, "none") == 0;
  if (ok)
    return 0;
  const char *up = strcmp(which, "pid") == 0   ? "PID"
                   : strcmp(which, "ipc") == 0 ? "IPC"
                                               : "UTS";
  return st_error_set(err, EINVAL, "--%s: invalid %s mode", which, up);
}

/* containerd's normalization of an architecture name (and its variant). */
static void normalize_arch(char *arch, size_t asz, char *variant, size_t vsz) {
  static const struct {
    const char *from, *to, *variant;
  } m[] = {{"x86_64", "amd64", ""},  {"x86-64", "amd64", ""},
           {"i386", "386", ""},      {"i686", "386", ""},
           {"aarch64", "arm64", ""}, {"armhf", "arm", "v7"},
           {"armel", "arm", "v6"}};
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
    if (strcmp(arch, m[i].from) == 0) {
      snprintf(arch, asz, "%s", m[i].to);
      if (*m[i].variant)
        snprintf(variant, vsz, "%s", m[i].variant);
    }
  if (strcmp(arch, "arm64") == 0 && strcmp(variant, "v8") == 0)
    *variant = '\0'; /* arm64's default variant */
  if (strcmp(arch, "amd64") == 0 && strcmp(variant, "v1") == 0)
    *variant = '\0';
}

static bool known_os(const char *s) {
  static const char *const os[] = {"linux",  "windows", "darwin",  "freebsd",
                                   "netbsd", "openbsd", "solaris", "illumos",
                                   "aix",    "android"};
  for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++)
    if (strcmp(s, os[i]) == 0)
      return true;
  return false;
}

static bool known_arch(const char *s) {
  static const char *const arch[] = {"amd64",    "386",     "arm",     "arm64",
                                     "ppc64le",  "ppc64",   "s390x",   "mips64",
                                     "mips64le", "riscv64", "loong64", "x86_64",
                                     "aarch64",  "i386",    "armhf"};
  for (size_t i = 0; i < sizeof(arch) / sizeof(arch[0]); i++)
    if (strcmp(s, arch[i]) == 0)
      return true;
  return false;
}

int st_platform_parse(const char *v, st_platform *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  char parts[3][32] = {"", "", ""};
  size_t n = 0;
  for (const char *p = v;; n++) {
    size_t len = strcspn(p, "/");
    if (n == 3 || len == 0 || len >= sizeof(parts[0]))
      return st_error_set(err, EINVAL,
                          "\"%s\": unknown operating system or "
                          "architecture: invalid argument",
                          v);
    for (size_t i = 0; i < len; i++)
      parts[n][i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    if (p[len] == '\0') {
      n++;
      break;
    }
    p += len + 1;
  }
  if (n == 1 && !known_os(parts[0]) && !known_arch(parts[0]))
    return st_error_set(err, EINVAL,
                        "\"%s\": unknown operating system or architecture: "
                        "invalid argument",
                        v);
  if (n == 1 && !known_os(parts[0])) { /* an architecture alone */
    memcpy(parts[1], parts[0], sizeof(parts[1]));
    snprintf(parts[0], sizeof(parts[0]), "linux");
    n = 2;
  }
  snprintf(out->os, sizeof(out->os), "%s", parts[0]);
  snprintf(out->arch, sizeof(out->arch), "%s",
           n > 1 ? parts[1] : st_host_arch());
  snprintf(out->variant, sizeof(out->variant), "%s", parts[2]);
  normalize_arch(out->arch, sizeof(out->arch), out->variant,
                 sizeof(out->variant));
  return 0;
}

void st_platform_format(const st_platform *p, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s%s%s", p->os, p->arch, *p->variant ? "/" : "",
           p->variant);
}

bool st_platform_matches(const st_platform *want, const st_platform *have) {
  return strcmp(want->os, have->os) == 0 &&
         strcmp(want->arch, have->arch) == 0 &&
         (*want->variant == '\0' || *have->variant == '\0' ||
          strcmp(want->variant, have->variant) == 0);
}
