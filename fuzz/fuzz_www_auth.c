/* Fuzz target: WWW-Authenticate header values (st_auth_challenge_parse)
 * and base64 decoding of auth entries. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  st_auth_challenge c;
  st_error *err = NULL;
  if (st_auth_challenge_parse(s, &c, &err) == 0)
    st_auth_challenge_clear(&c);
  st_error_free(err);
  size_t n = 0;
  free(st_base64_decode(s, &n));
  char *e = st_base64_encode(data, size);
  if (e) {
    char *d = st_base64_decode(e, &n);
    if (d == NULL || n != size || memcmp(d, data, size) != 0)
      abort();
    free(d);
  }
  free(e);
  free(s);
  return 0;
}
