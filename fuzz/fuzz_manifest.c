/* Fuzz target: registry manifests and indexes (st_manifest_parse), with
 * and without a Content-Type, then platform choice on indexes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const ctypes[] = {
      NULL, "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"};
  for (size_t i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
    st_manifest m;
    st_error *err = NULL;
    if (st_manifest_parse((const char *)data, size, ctypes[i], &m, &err) < 0) {
      st_error_free(err);
      continue;
    }
    if (m.kind == ST_MANIFEST_INDEX) {
      st_manifest_pick(&m, "linux/amd64", &err);
      st_error_free(err);
      err = NULL;
      st_manifest_pick(&m, "linux/arm/v7", &err);
      st_error_free(err);
    }
    for (size_t j = 0; j < m.n_items; j++)
      (void)st_layer_media_type_known(m.items[j].media_type);
    st_manifest_clear(&m);
  }
  return 0;
}
