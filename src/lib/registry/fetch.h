/* Small documents from a registry, verified against their digest. */
#ifndef STRATA_REGISTRY_FETCH_H
#define STRATA_REGISTRY_FETCH_H

#include "registry/internal.h"

typedef struct st_fetched {
  char *data; /* NUL-terminated */
  size_t len;
  char *content_type;
  char digest[ST_DIGEST_LEN]; /* sha256 of data */
} st_fetched;

void st_fetched_clear(st_fetched *f);

/* GET a manifest by tag or digest, accepting OCI and Docker manifests and
 * indexes. By digest, the bytes must have that digest; by tag, they must
 * match the Docker-Content-Digest header when there is one (EIO).
 * display names the reference in messages. */
int st_fetch_manifest(st_reg_client *c, const char *reference,
                      const char *display, st_fetched *out, st_error **err);

/* GET a blob of known size (a config) into memory, verified. */
int st_fetch_blob_small(st_reg_client *c, const char *digest, int64_t size,
                        st_fetched *out, st_error **err);

#endif
