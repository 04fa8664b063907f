/* Fuzz target: Dockerfile word expansion (build/expand.h). The first byte
 * picks the escape character ('`', else '\\'), the rest is the text.
 * Expanding one word and splitting into words must agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/expand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ctx, const char *name) {
  (void)ctx;
  if (strcmp(name, "A") == 0)
    return "a";
  if (strcmp(name, "S") == 0)
    return " x  y ";
  if (strcmp(name, "E") == 0)
    return "";
  if (strcmp(name, "D") == 0)
    return "${A:-$S}";
  return NULL;
}

static void used(void *ctx, const char *name, bool set) {
  (void)ctx;
  if (name == NULL || name[0] == '\0' || set != (lookup(NULL, name) != NULL))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  char *text = strndup((const char *)data + 1, size - 1);
  if (text == NULL)
    return 0;
  st_expander x = {
      .lookup = lookup, .escape = data[0] == '`' ? '`' : '\\', .used = used};
  st_error *err = NULL;
  char *out = NULL;
  int r1 = st_expand_word(&x, text, &out, &err);
  if ((r1 < 0) != (err != NULL) || (r1 < 0) != (out == NULL))
    abort();
  st_error_free(err);
  err = NULL;
  free(out);
  char **words = NULL;
  size_t n = 0;
  int r2 = st_expand_words(&x, text, &words, &n, &err);
  if ((r1 < 0) != (r2 < 0) || (r2 == 0 && (words == NULL || words[n])))
    abort();
  for (size_t i = 0; i < n; i++) {
    if (words[i][0] == '\0')
      abort();
    free(words[i]);
  }
  free(words);
  st_error_free(err);
  free(text);
  return 0;
}
