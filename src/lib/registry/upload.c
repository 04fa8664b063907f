/* Blob uploads: HEAD, cross-repository mount, monolithic PUT or chunked
 * PATCH + PUT (OCI distribution spec, "Pushing blobs"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/push_internal.h"
#include "util/cleanup.h"

#define DEFAULT_CHUNK (64ll << 20)

static int64_t chunk_size(void) {
  const char *e = getenv("STRATA_PUSH_CHUNK_SIZE");
  long long v = e ? atoll(e) : 0;
  return v >= 1024 ? v : DEFAULT_CHUNK;
}

static void resp_clearp(st_http_resp *r) {
  st_http_resp_clear(r);
}
#define cleanup_resp __attribute__((cleanup(resp_clearp)))

int st_push_blob_exists(st_reg_client *c, const char *digest, st_error **err) {
  cleanup_free char *path = NULL;
  if (asprintf(&path, "/v2/%s/blobs/%s", c->repo, digest) < 0)
    return st_error_errno(err, ENOMEM, "push");
  cleanup_resp st_http_resp r;
  st_http_resp_init(&r, 0);
  if (st_reg_request(c, "HEAD", path, NULL, NULL, &r, err) < 0)
    return -1;
  if (r.status == 200)
    return 1;
  if (r.status == 404)
    return 0;
  return st_reg_status_error(c, &r, err, "check blob %s", digest);
}

/* "<location>[?&]digest=<d>" */
static char *with_digest(const char *location, const char *digest) {
  char *u = NULL;
  if (asprintf(&u, "%s%cdigest=%s", location, strchr(location, '?') ? '&' : '?',
               digest) < 0)
    return NULL;
  return u;
}

/* POST an upload session (or a mount). Returns 1 when mounted (201), 0
 * with *location for an upload session, < 0 on error. */
static int start_upload(st_reg_client *c, const char *digest,
                        const char *mount_from, char **location,
                        st_error **err) {
  cleanup_free char *path = NULL;
  int n = mount_from ? asprintf(&path, "/v2/%s/blobs/uploads/?mount=%s&from=%s",
                                c->repo, digest, mount_from)
                     : asprintf(&path, "/v2/%s/blobs/uploads/", c->repo);
  if (n < 0)
    return st_error_errno(err, ENOMEM, "push");
  cleanup_resp st_http_resp r;
  st_http_resp_init(&r, 64u << 10);
  if (st_reg_request(c, "POST", path, NULL, NULL, &r, err) < 0)
    return -1;
  if (mount_from && r.status == 201)
    return 1;
  if (r.status != 202 || r.location == NULL)
    return st_reg_status_error(c, &r, err, "start upload of %s", digest);
  *location = steal_pointer(&r.location);
  return 0;
}

static int put_body(st_reg_client *c, const char *url, int fd, int64_t off,
                    int64_t len, const char *method, char **next,
                    st_error **err) {
  st_http_body body = {.fd = fd, .off = off, .fd_len = len};
  cleanup_free char *range = NULL;
  const char *headers[2] = {NULL, NULL};
  if (strcmp(method, "PATCH") == 0) {
    if (asprintf(&range, "Content-Range: %lld-%lld", (long long)off,
                 (long long)(off + len - 1)) < 0)
      return st_error_errno(err, ENOMEM, "push");
    headers[0] = range;
  }
  cleanup_resp st_http_resp r;
  st_http_resp_init(&r, 64u << 10);
  if (st_reg_request(c, method, url, headers, len >= 0 ? &body : NULL, &r,
                     err) < 0)
    return -1;
  long want = strcmp(method, "PATCH") == 0 ? 202 : 201;
  if (r.status != want)
    return st_reg_status_error(c, &r, err, "upload (%s)", method);
  if (next) {
    if (r.location == NULL)
      return st_error_set(err, EPROTO, "upload: %s answer without Location",
                          method);
    *next = steal_pointer(&r.location);
  }
  return 0;
}

static int upload(st_store *s, st_reg_client *c, const char *digest,
                  int64_t size, char *location, st_error **err) {
  cleanup_close int fd = st_blob_open(s, digest, err);
  if (fd < 0)
    return -1;
  cleanup_free char *loc = location;
  int64_t chunk = chunk_size();
  if (size <= chunk) {
    cleanup_free char *url = with_digest(loc, digest);
    if (url == NULL)
      return st_error_errno(err, ENOMEM, "push");
    return put_body(c, url, fd, 0, size, "PUT", NULL, err);
  }
  for (int64_t off = 0; off < size; off += chunk) {
    int64_t n = size - off < chunk ? size - off : chunk;
    char *next = NULL;
    if (put_body(c, loc, fd, off, n, "PATCH", &next, err) < 0)
      return -1;
    free(loc);
    loc = next;
  }
  cleanup_free char *url = with_digest(loc, digest);
  if (url == NULL)
    return st_error_errno(err, ENOMEM, "push");
  return put_body(c, url, -1, 0, -1, "PUT", NULL, err);
}

static int set_mount_scope(st_reg_client *c, const char *from) {
  free(c->extra_scope);
  c->extra_scope = NULL;
  if (from && asprintf(&c->extra_scope, "repository:%s:pull", from) < 0) {
    c->extra_scope = NULL;
    return -1;
  }
  c->token_scopes = 0;
  return 0;
}

int st_push_blob_send(st_store *s, st_reg_client *c, const char *digest,
                      int64_t size, const char *mount_from, st_error **err) {
  if (mount_from && set_mount_scope(c, mount_from) < 0)
    return st_error_errno(err, ENOMEM, "push");
  char *location = NULL;
  int r = start_upload(c, digest, mount_from, &location, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return 2;
  return upload(s, c, digest, size, location, err);
}

int st_push_blob_mount(st_reg_client *c, const char *digest,
                       const char *mount_from, st_error **err) {
  if (set_mount_scope(c, mount_from) < 0)
    return st_error_errno(err, ENOMEM, "push");
  cleanup_free char *location = NULL;
  int r = start_upload(c, digest, mount_from, &location, err);
  if (r < 0)
    return -1;
  /* Not mounted: the upload session the registry opened instead is left
   * to expire (registries purge unfinished uploads). */
  return r == 1 ? 2 : 0;
}

int st_push_blob(st_store *s, st_reg_client *c, const char *digest,
                 int64_t size, const char *mount_from, st_error **err) {
  int r = st_push_blob_exists(c, digest, err);
  if (r != 0)
    return r < 0 ? -1 : 1;
  return st_push_blob_send(s, c, digest, size, mount_from, err);
}
