/* Log drivers: see runtime/logdriver.h. */
#include "runtime/logdriver.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt/units.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAX_FILES 100

/* go-units FromHumanSize: decimal units (k = 1000), as json-file reads
 * max-size. */
static int parse_human_size(const char *v, int64_t *out) {
  return st_parse_size(v, 1000, out);
}

static int check_opt(const char *driver, const char *key, const char *value,
                     st_error **err) {
  if (strcmp(key, "max-size") == 0) {
    int64_t n;
    if (parse_human_size(value, &n) < 0 || n <= 0)
      return st_error_set(err, EINVAL, "invalid max-size: %s", value);
    return 0;
  }
  if (strcmp(key, "max-file") == 0) {
    char *end;
    long n = strtol(value, &end, 10);
    if (*value == '\0' || *end || n < 1 || n > MAX_FILES)
      return st_error_set(err, EINVAL,
                          "max-file cannot be less than 1 (or more than %d): "
                          "%s",
                          MAX_FILES, value);
    return 0;
  }
  if (strcmp(key, "compress") == 0)
    return 0;
  return st_error_set(err, EINVAL, "unknown log opt '%s' for %s log driver",
                      key, driver);
}

int st_log_config_parse(const char *driver, char *const *opts, size_t n,
                        json_t **out, st_error **err) {
  if (driver == NULL || *driver == '\0')
    driver = "json-file";
  if (strcmp(driver, "json-file") != 0 && strcmp(driver, "local") != 0 &&
      strcmp(driver, "none") != 0)
    return st_error_set(err, EINVAL,
                        "logger: no log driver named '%s' is registered "
                        "(strata has json-file, local and none)",
                        driver);
  json_t *cfg = json_object();
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(opts[i], '=');
    if (eq == NULL) {
      json_decref(cfg);
      return st_error_set(err, EINVAL,
                          "invalid key value pair format in --log-opt: %s",
                          opts[i]);
    }
    cleanup_free char *key = strndup(opts[i], (size_t)(eq - opts[i]));
    if (key == NULL || strcmp(driver, "none") == 0 ||
        check_opt(driver, key, eq + 1, err) < 0) {
      json_decref(cfg);
      if (key && strcmp(driver, "none") == 0)
        return st_error_set(err, EINVAL,
                            "unknown log opt '%s' for none log driver", key);
      return key ? -1 : st_error_set(err, ENOMEM, "out of memory");
    }
    json_object_set_new(cfg, key, json_string(eq + 1));
  }
  *out = json_pack("{s:s, s:o}", "Type", driver, "Config", cfg);
  return *out ? 0 : st_error_set(err, ENOMEM, "out of memory");
}

json_t *st_log_config_json(const char *dir) {
  cleanup_free char *p = NULL;
  json_t *o = NULL;
  if (asprintf(&p, "%s/log-config.json", dir) >= 0)
    o = json_load_file(p, 0, NULL);
  if (o == NULL || !json_is_object(o)) {
    json_decref(o);
    o = json_pack("{s:s, s:{}}", "Type", "json-file", "Config");
  }
  return o;
}

void st_log_config_load(const char *dir, st_log_config *cfg) {
  *cfg = (st_log_config){false, 0, 1};
  json_t *o = st_log_config_json(dir);
  const char *type = json_string_value(json_object_get(o, "Type"));
  json_t *c = json_object_get(o, "Config");
  const char *size = json_string_value(json_object_get(c, "max-size"));
  const char *files = json_string_value(json_object_get(c, "max-file"));
  cfg->none = type && strcmp(type, "none") == 0;
  if (size && parse_human_size(size, &cfg->max_size) < 0)
    cfg->max_size = 0;
  if (files)
    cfg->max_file = atoi(files);
  if (cfg->max_file < 1 || cfg->max_file > MAX_FILES)
    cfg->max_file = 1;
  json_decref(o);
}

char **st_log_files(const char *dir, size_t *n) {
  char **v = calloc(MAX_FILES + 1, sizeof(*v));
  *n = 0;
  if (v == NULL)
    return NULL;
  for (int i = MAX_FILES; i >= 0; i--) {
    char *p = NULL;
    if (asprintf(&p, i ? "%s/container.log.%d" : "%s/container.log", dir, i) <
        0)
      continue;
    if (access(p, F_OK) == 0)
      v[(*n)++] = p;
    else
      free(p);
  }
  return v;
}

int st_log_rotate_if_full(const char *dir, const st_log_config *cfg, int *fd,
                          int64_t *size, size_t incoming) {
  if (cfg->max_size <= 0 || *size == 0 ||
      *size + (int64_t)incoming <= cfg->max_size)
    return 0;
  cleanup_free char *cur = NULL;
  if (asprintf(&cur, "%s/container.log", dir) < 0)
    return -1;
  if (cfg->max_file <= 1) {
    /* one file: start it again, as json-file does */
    if (ftruncate(*fd, 0) == 0)
      *size = 0;
    return 0;
  }
  for (int i = cfg->max_file - 1; i >= 1; i--) {
    cleanup_free char *from = NULL, *to = NULL;
    if ((i > 1 ? asprintf(&from, "%s/container.log.%d", dir, i - 1)
               : asprintf(&from, "%s", cur)) < 0 ||
        asprintf(&to, "%s/container.log.%d", dir, i) < 0)
      return -1;
    rename(from, to); /* a missing one is fine */
  }
  int nfd = open(cur, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (nfd < 0)
    return -1;
  close(*fd);
  *fd = nfd;
  *size = 0;
  return 0;
}
