/* Private to src/lib/registry: the HTTP client of one repository in one
 * registry, with its transport, TLS and auth state. */
#ifndef STRATA_REGISTRY_INTERNAL_H
#define STRATA_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "registry/auth.h"
#include "registry/registry.h"
#include "util/buf.h"

/* A response: status, the headers the protocol needs, and (when
 * body_limit > 0) the body, refused when longer than body_limit. */
typedef struct st_http_resp {
  long status;
  size_t body_limit;
  st_buf body;
  bool body_too_big;
  char *www_auth; /* every WWW-Authenticate value, joined with ", " */
  char *location;
  char *content_type;
  char *docker_digest; /* Docker-Content-Digest */
  char *retry_after;
  char *link;             /* every Link value, joined with ", " (pagination) */
  int64_t content_length; /* -1 when absent */
  int attempts;           /* requests made for this answer (retries + 1) */
} st_http_resp;

void st_http_resp_init(st_http_resp *r, size_t body_limit);
void st_http_resp_clear(st_http_resp *r);
/* Resets r for a new response (redirects, retries). */
void st_http_resp_reset(st_http_resp *r);
/* The header callback for curl, with r as CURLOPT_HEADERDATA. */
size_t st_http_header_cb(char *line, size_t size, size_t n, void *r);

/* A request body: bytes in memory, or a range of a file. */
typedef struct st_http_body {
  const char *data;
  size_t len;
  int fd; /* used when data is NULL and fd >= 0 */
  int64_t off;
  int64_t fd_len;
  const char *content_type;
} st_http_body;

typedef struct st_reg_client {
  char *domain; /* as the reference names it: "127.0.0.1:5000" */
  char *host;   /* where to connect ("registry-1.docker.io" for docker.io) */
  char *base;   /* "https://host" or "http://host", set by st_reg_ping */
  char *repo;   /* "library/busybox" */
  bool insecure;
  bool http_ok; /* plain HTTP allowed (loopback, or insecure) */
  char *ca_file, *cert_file, *key_file; /* from certs.d, or NULL */
  char *user, *pass;
  st_auth_challenge chal;
  char *token;
  char *scope;       /* "repository:<repo>:pull[,push]" */
  char *extra_scope; /* another repository's pull scope (blob mounts) */
  int token_scopes;  /* whether the token covers extra_scope too */
  CURL *easy;        /* control requests, one at a time */
  CURLSH *share;     /* connections, DNS and TLS sessions */
} st_reg_client;

/* Makes a client for repo on domain. actions: "pull" or "pull,push".
 * Credentials: o->username/password, else the auth files. */
int st_reg_client_new(const char *domain, const char *repo, const char *actions,
                      const st_reg_opts *o, st_reg_client **out,
                      st_error **err);
/* Same, choosing the endpoint of a docker.io pull: mirror i of
 * registry-mirrors (i >= 0; docker.io itself when there is no such
 * mirror), or docker.io itself (i < 0). st_reg_client_new is mirror 0. */
int st_reg_client_new_at(const char *domain, const char *repo,
                         const char *actions, int mirror, const st_reg_opts *o,
                         st_reg_client **out, st_error **err);
/* A client for the same repository with c's transport, scheme and auth
 * state (token, challenge, credentials) but its own curl handles, for use
 * by another thread while c is used by this one. */
int st_reg_client_clone(const st_reg_client *c, st_reg_client **out,
                        st_error **err);
void st_reg_client_free(st_reg_client *c);
static inline void st_reg_client_freep(st_reg_client **c) {
  st_reg_client_free(*c);
}
#define cleanup_client __attribute__((cleanup(st_reg_client_freep)))

/* GET /v2/: picks the scheme and learns the auth challenge. */
int st_reg_ping(st_reg_client *c, st_error **err);

/* Applies the transport options shared by every request (TLS, timeouts,
 * share handle, header callback) to h, and appends the Authorization
 * header to *headers. */
int st_reg_setup_easy(st_reg_client *c, CURL *h, st_http_resp *resp,
                      struct curl_slist **headers, st_error **err);

/* Handles a 401 answer: fetches a token for the challenge (or decides to
 * send Basic credentials). Returns 1 when the request should be retried,
 * 0 when it should not (no way to authenticate), < 0 on error. */
int st_reg_reauth(st_reg_client *c, const st_http_resp *resp, st_error **err);

/* One request to path ("/v2/<repo>/manifests/latest") or an absolute URL
 * (a Location), with auth, a retry after 401, and retries with backoff for
 * idempotent methods on 429/5xx/transport errors. Returns 0 with resp
 * filled whatever the status, < 0 on transport failure. */
int st_reg_request(st_reg_client *c, const char *method, const char *path,
                   const char *const *headers, const st_http_body *body,
                   st_http_resp *resp, st_error **err);

/* An error for an unexpected answer: "<what>: <registry's errors>" with a
 * code from the status (401/403 EACCES, 404 ENOENT, else EIO). */
int st_reg_status_error(const st_reg_client *c, const st_http_resp *resp,
                        st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends " (HTTP 503 from <registry>, 3 attempts; ...: try again later)"
 * for an answer that stayed 429/5xx through the retries, or says that its
 * Retry-After is longer than strata waits. */
void st_reg_busy_hint(const st_reg_client *c, long status, int attempts,
                      const char *retry_after, st_buf *out);

/* "<base>/v2/<repo>/<kind>/<ref>", malloc'd. */
char *st_reg_url(const st_reg_client *c, const char *kind, const char *ref);

/* A Retry-After longer than this is not waited for: the pull fails at once
 * and says when the registry wants to be asked again. */
#define ST_REG_MAX_RETRY_AFTER_S 60

/* Backoff in ms before retry `attempt` (1-based): 200 ms doubling up to
 * 5 s, or what Retry-After asks (seconds or an HTTP date). -1 when
 * Retry-After asks for more than ST_REG_MAX_RETRY_AFTER_S: do not retry. */
long st_reg_backoff_ms(int attempt, const char *retry_after);
/* Retries allowed for a blob transfer or idempotent request. */
int st_reg_max_attempts(void);

/* Reports an event when the caller asked for progress. */
void st_reg_emit(const st_reg_opts *o, st_reg_event_kind kind,
                 const char *digest, const char *text, const char *repo,
                 uint64_t current, uint64_t total);

#endif
