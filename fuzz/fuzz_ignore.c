/* Fuzz target: .dockerignore compiling and matching (build/ignore.h).
 * The input is patterns, a NUL byte, then paths one per line. Besides
 * memory errors it checks the walker's contract: when a directory is
 * excluded and may_reinclude says no, everything below it is excluded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const st_ignore *ig, char *path) {
  bool excluded = st_ignore_match(ig, path);
  for (char *p = path; *p; p++) {
    if (*p != '/' || p == path)
      continue;
    *p = '\0';
    bool skip = st_ignore_match(ig, path) && !st_ignore_may_reinclude(ig, path);
    *p = '/';
    if (skip && !excluded)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, '\0', size);
  size_t plen = nul ? (size_t)(nul - data) : size;
  st_ignore *ig = NULL;
  st_error *err = NULL;
  if (st_ignore_compile((const char *)data, plen, &ig, &err) < 0) {
    if (err == NULL || ig != NULL)
      abort();
    st_error_free(err);
    return 0;
  }
  for (size_t i = 0; i < st_ignore_count(ig); i++) {
    if (st_ignore_pattern(ig, i) == NULL)
      abort();
  }
  size_t rest = nul ? size - plen - 1 : 0;
  char *paths = malloc(rest + 1);
  if (paths == NULL) {
    st_ignore_free(ig);
    return 0;
  }
  if (rest)
    memcpy(paths, nul + 1, rest);
  paths[rest] = '\0';
  char *line = paths;
  while (line) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    check_path(ig, line);
    line = nl ? nl + 1 : NULL;
  }
  free(paths);
  st_ignore_free(ig);
  return 0;
}
