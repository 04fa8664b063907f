/* Fuzz target: the Dockerfile parser (st_dockerfile_parse), on the raw
 * bytes (no NUL terminator is added: the parser takes a length). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "build/dockerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  st_dockerfile df;
  st_error *err = NULL;
  if (st_dockerfile_parse((const char *)data, size, "Dockerfile", &df, &err) ==
      0) {
    for (size_t i = 0; i < df.n; i++)
      if (st_df_kind_name(df.instrs[i].kind) == NULL)
        abort();
    st_dockerfile_free(&df);
  } else if (err == NULL || err->msg == NULL) {
    abort();
  }
  st_error_free(err);
  return 0;
}
