/* Registry settings from daemon.json (see config.h). */
#include "registry/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "util/cleanup.h"

#define DEFAULT_PATH "/etc/strata/daemon.json"

static st_reg_config config;
static st_error *config_err;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;
/* Mirrors without their scheme, parallel to config.mirrors. */
static char **mirror_host;
static bool *mirror_http;
static size_t n_mirrors;

static char **string_list(const json_t *a, const char *key, const char *path) {
  size_t n = json_array_size(a);
  char **v = calloc(n + 1, sizeof(*v));
  if (v == NULL)
    return NULL;
  for (size_t i = 0, k = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s == NULL) {
      if (config_err == NULL)
        st_error_set(&config_err, EINVAL, "%s: \"%s\" must list strings", path,
                     key);
      continue;
    }
    v[k++] = strdup(s);
  }
  return v;
}

/* "https://host:5000/" -> host:5000, and whether it was http://. */
static char *parse_mirror(const char *url, bool *http) {
  const char *p = url;
  *http = false;
  if (strncmp(p, "http://", 7) == 0) {
    *http = true;
    p += 7;
  } else if (strncmp(p, "https://", 8) == 0) {
    p += 8;
  }
  return strndup(p, strcspn(p, "/"));
}

static void parse_mirrors(void) {
  size_t n = 0;
  while (config.mirrors && config.mirrors[n])
    n++;
  mirror_host = calloc(n + 1, sizeof(*mirror_host));
  mirror_http = calloc(n + 1, sizeof(*mirror_http));
  if (mirror_host == NULL || mirror_http == NULL)
    return;
  for (size_t i = 0; i < n; i++) {
    char *h = parse_mirror(config.mirrors[i], &mirror_http[n_mirrors]);
    if (h && *h)
      mirror_host[n_mirrors++] = h;
    else
      free(h);
  }
}

/* A positive integer setting, or 0 when absent. */
static int positive_int(const json_t *j, const char *key, const char *path) {
  const json_t *v = json_object_get(j, key);
  if (v == NULL)
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
      json_integer_value(v) > 1000) {
    if (config_err == NULL)
      st_error_set(&config_err, EINVAL, "%s: \"%s\" must be a positive integer",
                   path, key);
    return 0;
  }
  return (int)json_integer_value(v);
}

static void load(void) {
  const char *env = getenv("STRATA_CONFIG");
  const char *path = env ? env : DEFAULT_PATH;
  if (*path == '\0' || access(path, F_OK) != 0)
    return;
  json_error_t jerr;
  cleanup_json json_t *j = json_load_file(path, 0, &jerr);
  if (!json_is_object(j)) {
    st_error_set(&config_err, EINVAL, "%s: %s (line %d)", path,
                 j ? "not a JSON object" : jerr.text, jerr.line);
    return;
  }
  const json_t *ins = json_object_get(j, "insecure-registries");
  const json_t *mir = json_object_get(j, "registry-mirrors");
  if ((ins && !json_is_array(ins)) || (mir && !json_is_array(mir))) {
    st_error_set(&config_err, EINVAL,
                 "%s: \"insecure-registries\" and \"registry-mirrors\" must "
                 "be arrays",
                 path);
    return;
  }
  config.insecure = string_list(ins, "insecure-registries", path);
  config.mirrors = string_list(mir, "registry-mirrors", path);
  parse_mirrors();
  config.max_uploads = positive_int(j, "max-concurrent-uploads", path);
  config.max_downloads = positive_int(j, "max-concurrent-downloads", path);
  const json_t *drv = json_object_get(j, "storage-driver");
  if (drv && !json_is_string(drv) && config_err == NULL)
    st_error_set(&config_err, EINVAL, "%s: \"storage-driver\" must be a string",
                 path);
  if (json_is_string(drv))
    config.storage_driver = strdup(json_string_value(drv));
}

int st_reg_config_get(const st_reg_config **out, st_error **err) {
  pthread_once(&config_once, load);
  if (config_err) {
    return st_error_set(err, config_err->code, "%s", config_err->msg);
  }
  *out = &config;
  return 0;
}

/* "a.b.c.d/len" contains the IPv4 host of domain. */
static bool cidr_contains(const char *cidr, const char *domain) {
  const char *slash = strchr(cidr, '/');
  if (slash == NULL)
    return false;
  char net[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];
  snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
  snprintf(host, sizeof(host), "%.*s", (int)strcspn(domain, ":"), domain);
  struct in_addr n, h;
  int len = atoi(slash + 1);
  if (inet_pton(AF_INET, net, &n) != 1 || inet_pton(AF_INET, host, &h) != 1 ||
      len < 0 || len > 32)
    return false;
  uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
  return (ntohl(n.s_addr) & mask) == (ntohl(h.s_addr) & mask);
}

bool st_reg_config_insecure(const st_reg_config *c, const char *domain) {
  for (char **p = c->insecure; p && *p; p++) {
    const char *e = *p;
    if (strncmp(e, "http://", 7) == 0)
      e += 7;
    else if (strncmp(e, "https://", 8) == 0)
      e += 8;
    if (strcmp(e, domain) == 0 || cidr_contains(e, domain))
      return true;
  }
  return false;
}

bool st_reg_config_mirror(const st_reg_config *c, size_t i, const char **host,
                          bool *http) {
  (void)c;
  if (i >= n_mirrors)
    return false;
  *host = mirror_host[i];
  *http = mirror_http[i];
  return true;
}

size_t st_reg_config_n_mirrors(const st_reg_config *c) {
  (void)c;
  return n_mirrors;
}
