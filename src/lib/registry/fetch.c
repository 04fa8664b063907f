/* Fetching manifests and small blobs (configs) into memory, verified. */
#include "registry/fetch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"

#define MANIFEST_LIMIT (4u << 20)
#define CONFIG_LIMIT (32u << 20)

static const char *const accept_manifests[] = {
    "Accept: " ST_MT_OCI_INDEX ", " ST_MT_DOCKER_LIST ", " ST_MT_OCI_MANIFEST
    ", " ST_MT_DOCKER_MANIFEST,
    NULL};

void st_fetched_clear(st_fetched *f) {
  free(f->data);
  free(f->content_type);
  memset(f, 0, sizeof(*f));
}

int st_fetch_manifest(st_reg_client *c, const char *reference,
                      const char *display, st_fetched *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  cleanup_free char *path = NULL;
  if (asprintf(&path, "/v2/%s/manifests/%s", c->repo, reference) < 0)
    return st_error_errno(err, ENOMEM, "manifest");
  st_http_resp resp;
  st_http_resp_init(&resp, MANIFEST_LIMIT);
  int r = st_reg_request(c, "GET", path, accept_manifests, NULL, &resp, err);
  if (r < 0) {
    st_http_resp_clear(&resp);
    return -1;
  }
  if (resp.status == 404) {
    r = st_reg_status_error(c, &resp, err, "manifest for %s not found",
                            display);
  } else if (resp.status != 200) {
    r = st_reg_status_error(c, &resp, err, "get manifest for %s", display);
  } else {
    st_digest_of(resp.body.data ? resp.body.data : "", resp.body.len,
                 out->digest);
    bool by_digest = strncmp(reference, "sha256:", 7) == 0;
    if (by_digest && strcmp(out->digest, reference) != 0)
      r = st_error_set(err, EIO,
                       "manifest for %s: registry sent content with digest %s",
                       display, out->digest);
    else if (!by_digest && resp.docker_digest &&
             st_digest_valid(resp.docker_digest) &&
             strcmp(resp.docker_digest, out->digest) != 0)
      r = st_error_set(err, EIO,
                       "manifest for %s: content has digest %s but the "
                       "registry says %s",
                       display, out->digest, resp.docker_digest);
  }
  if (r == 0) {
    out->len = resp.body.len;
    out->data = st_buf_steal(&resp.body);
    out->content_type = steal_pointer(&resp.content_type);
  }
  st_http_resp_clear(&resp);
  return r;
}

int st_fetch_blob_small(st_reg_client *c, const char *digest, int64_t size,
                        st_fetched *out, st_error **err) {
  memset(out, 0, sizeof(*out));
  if (size < 0 || size > (int64_t)CONFIG_LIMIT)
    return st_error_set(err, EFBIG, "blob %s: %lld bytes is too large", digest,
                        (long long)size);
  cleanup_free char *path = NULL;
  if (asprintf(&path, "/v2/%s/blobs/%s", c->repo, digest) < 0)
    return st_error_errno(err, ENOMEM, "blob");
  st_http_resp resp;
  st_http_resp_init(&resp, CONFIG_LIMIT);
  int r = st_reg_request(c, "GET", path, NULL, NULL, &resp, err);
  if (r == 0 && resp.status != 200)
    r = st_reg_status_error(c, &resp, err, "get blob %s", digest);
  if (r == 0) {
    st_digest_of(resp.body.data ? resp.body.data : "", resp.body.len,
                 out->digest);
    if (strcmp(out->digest, digest) != 0)
      r = st_error_set(err, EIO,
                       "blob %s: registry sent content with digest %s "
                       "(%zu bytes)",
                       digest, out->digest, resp.body.len);
  }
  if (r == 0) {
    out->len = resp.body.len;
    out->data = st_buf_steal(&resp.body);
  }
  st_http_resp_clear(&resp);
  return r;
}
