/* The registry HTTP client: transport choice, TLS from certs.d, auth. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "registry/config.h"
#include "registry/creds.h"
#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/http.h"
#include "util/log.h"

#define CONNECT_TIMEOUT_S 30L
/* A transfer slower than 1 byte/s for this long is stalled. */
#define STALL_TIMEOUT_S 60L
/* Bodies of control requests (manifests, tokens, errors). */
#define CONTROL_BODY_LIMIT (16u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- responses ------------------------------------------------------------
 */

void st_http_resp_init(st_http_resp *r, size_t body_limit) {
  memset(r, 0, sizeof(*r));
  r->body_limit = body_limit;
  r->content_length = -1;
}

void st_http_resp_reset(st_http_resp *r) {
  size_t limit = r->body_limit;
  st_http_resp_clear(r);
  st_http_resp_init(r, limit);
}

void st_http_resp_clear(st_http_resp *r) {
  st_buf_free(&r->body);
  free(r->www_auth);
  free(r->location);
  free(r->content_type);
  free(r->docker_digest);
  free(r->retry_after);
  free(r->link);
  memset(r, 0, sizeof(*r));
  r->content_length = -1;
}

static void set_header(char **slot, const char *v, size_t n, bool join) {
  char *old = *slot;
  char *nv = NULL;
  if (join && old) {
    if (asprintf(&nv, "%s, %.*s", old, (int)n, v) < 0)
      return;
  } else if ((nv = strndup(v, n)) == NULL) {
    return;
  }
  free(old);
  *slot = nv;
}

size_t st_http_header_cb(char *line, size_t size, size_t n, void *ctx) {
  st_http_resp *r = ctx;
  size_t len = size * n;
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    /* A new response (after a redirect or 100 Continue). */
    st_http_resp_reset(r);
    return len;
  }
  const char *colon = memchr(line, ':', len);
  if (colon == NULL)
    return len;
  size_t name_len = (size_t)(colon - line);
  const char *v = colon + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t vlen = (size_t)(end - v);
#define IS(h) (name_len == strlen(h) && strncasecmp(line, h, name_len) == 0)
  if (IS("www-authenticate"))
    set_header(&r->www_auth, v, vlen, true);
  else if (IS("location"))
    set_header(&r->location, v, vlen, false);
  else if (IS("content-type"))
    set_header(&r->content_type, v, vlen, false);
  else if (IS("docker-content-digest"))
    set_header(&r->docker_digest, v, vlen, false);
  else if (IS("retry-after"))
    set_header(&r->retry_after, v, vlen, false);
  else if (IS("link"))
    set_header(&r->link, v, vlen, true);
  else if (IS("content-length"))
    r->content_length = strtoll(v, NULL, 10);
#undef IS
  return len;
}

static size_t body_cb(char *p, size_t size, size_t n, void *ctx) {
  st_http_resp *r = ctx;
  size_t len = size * n;
  if (r->body_limit == 0)
    return len;
  if (r->body.len + len > r->body_limit) {
    r->body_too_big = true;
    return 0;
  }
  return st_buf_append(&r->body, p, len) < 0 ? 0 : len;
}

/* ---- request bodies -------------------------------------------------------
 */

typedef struct body_reader {
  const st_http_body *b;
  int64_t pos;
} body_reader;

static size_t read_cb(char *dst, size_t size, size_t n, void *ctx) {
  body_reader *br = ctx;
  const st_http_body *b = br->b;
  int64_t total = b->data ? (int64_t)b->len : b->fd_len;
  size_t want = size * n;
  if ((int64_t)want > total - br->pos)
    want = (size_t)(total - br->pos);
  if (want == 0)
    return 0;
  if (b->data) {
    memcpy(dst, b->data + br->pos, want);
  } else {
    ssize_t got;
    do
      got = pread(b->fd, dst, want, b->off + br->pos);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
      return CURL_READFUNC_ABORT;
    want = (size_t)got;
  }
  br->pos += (int64_t)want;
  return want;
}

/* ---- hosts, TLS --------------------------------------------------------- */

/* "host" part of "host:port" / "[v6]:port", malloc'd. */
static char *host_only(const char *domain) {
  if (domain[0] == '[') {
    const char *e = strchr(domain, ']');
    return e ? strndup(domain + 1, (size_t)(e - domain - 1)) : strdup(domain);
  }
  const char *colon = strrchr(domain, ':');
  return colon ? strndup(domain, (size_t)(colon - domain)) : strdup(domain);
}

/* localhost and 127.0.0.0/8 (and ::1) may answer in plain HTTP. */
static bool is_loopback(const char *domain) {
  cleanup_free char *h = host_only(domain);
  if (h == NULL)
    return false;
  if (strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
    return true;
  struct in_addr a;
  return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Looks in DIR/<domain>/ for ca.crt (else another *.crt) and a client
 * certificate pair *.cert + *.key, as Docker does. */
static void scan_certs_dir(st_reg_client *c, const char *root) {
  cleanup_free char *dir = NULL;
  if (asprintf(&dir, "%s/%s", root, c->domain) < 0)
    return;
  cleanup_dir DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char **slot = NULL;
    if (strcmp(e->d_name, "ca.crt") == 0 && c->ca_file) {
      free(c->ca_file);
      c->ca_file = NULL;
      slot = &c->ca_file;
    } else if (has_suffix(e->d_name, ".crt") && c->ca_file == NULL) {
      slot = &c->ca_file;
    } else if (has_suffix(e->d_name, ".cert") && c->cert_file == NULL) {
      slot = &c->cert_file;
    } else if (has_suffix(e->d_name, ".key") && c->key_file == NULL) {
      slot = &c->key_file;
    }
    if (slot && asprintf(slot, "%s/%s", dir, e->d_name) < 0)
      *slot = NULL;
  }
}

static void find_certs(st_reg_client *c) {
  const char *env = getenv("STRATA_CERTS_D");
  cleanup_free char *list =
      strdup(env && *env ? env : "/etc/docker/certs.d:/etc/containers/certs.d");
  if (list == NULL)
    return;
  for (char *p = list; p && *p && c->ca_file == NULL;) {
    char *colon = strchr(p, ':');
    if (colon)
      *colon = '\0';
    scan_certs_dir(c, p);
    p = colon ? colon + 1 : NULL;
  }
}

/* ---- the client -----------------------------------------------------------
 */

void st_reg_client_free(st_reg_client *c) {
  if (c == NULL)
    return;
  if (c->easy)
    curl_easy_cleanup(c->easy);
  if (c->share)
    curl_share_cleanup(c->share);
  free(c->domain);
  free(c->host);
  free(c->base);
  free(c->repo);
  free(c->ca_file);
  free(c->cert_file);
  free(c->key_file);
  free(c->user);
  if (c->pass) {
    explicit_bzero(c->pass, strlen(c->pass));
    free(c->pass);
  }
  st_auth_challenge_clear(&c->chal);
  free(c->token);
  free(c->scope);
  free(c->extra_scope);
  free(c);
}

static int load_creds(st_reg_client *c, const st_reg_opts *o, st_error **err) {
  if (o && o->username) {
    c->user = strdup(o->username);
    c->pass = strdup(o->password ? o->password : "");
    if (c->user == NULL || c->pass == NULL)
      return st_error_errno(err, ENOMEM, "credentials");
    return 0;
  }
  cleanup_free char *key = st_registry_auth_key(c->domain);
  if (key == NULL)
    return st_error_errno(err, ENOMEM, "credentials");
  if (st_creds_lookup(key, &c->user, &c->pass, err) < 0)
    return st_error_wrap(err, "credentials for %s", c->domain);
  return 0;
}

int st_reg_client_new(const char *domain, const char *repo, const char *actions,
                      const st_reg_opts *o, st_reg_client **out,
                      st_error **err) {
  return st_reg_client_new_at(domain, repo, actions, 0, o, out, err);
}

int st_reg_client_new_at(const char *domain, const char *repo,
                         const char *actions, int mirror, const st_reg_opts *o,
                         st_reg_client **out, st_error **err) {
  pthread_once(&curl_once, curl_init_once);
  st_reg_client *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return st_error_errno(err, ENOMEM, "registry client");
  __attribute__((cleanup(st_reg_client_freep))) st_reg_client *guard = c;
  const st_reg_config *conf = NULL;
  if (st_reg_config_get(&conf, err) < 0)
    return -1;
  const char *host =
      strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain;
  c->insecure = (o && o->tls_insecure) || st_reg_config_insecure(conf, domain);
  c->http_ok = c->insecure || is_loopback(domain);
  const char *mirror_host = NULL;
  bool mirror_http = false;
  if (strcmp(domain, "docker.io") == 0 && strcmp(actions, "pull") == 0 &&
      mirror >= 0 &&
      st_reg_config_mirror(conf, (size_t)mirror, &mirror_host, &mirror_http)) {
    host = mirror_host;
    c->http_ok = c->http_ok || mirror_http || is_loopback(mirror_host);
  }
  if ((c->domain = strdup(domain)) == NULL ||
      (c->host = strdup(host)) == NULL || (c->repo = strdup(repo)) == NULL ||
      asprintf(&c->scope, "repository:%s:%s", repo, actions) < 0 ||
      (c->easy = curl_easy_init()) == NULL ||
      (c->share = curl_share_init()) == NULL)
    return st_error_errno(err, ENOMEM, "registry client");
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  find_certs(c);
  if (load_creds(c, o, err) < 0)
    return -1;
  *out = steal_pointer(&guard);
  return 0;
}

static int dup_opt(char **dst, const char *src) {
  *dst = NULL;
  return src && (*dst = strdup(src)) == NULL ? -1 : 0;
}

static int dup_challenge(st_auth_challenge *dst, const st_auth_challenge *src) {
  dst->scheme = src->scheme;
  return dup_opt(&dst->realm, src->realm) |
         dup_opt(&dst->service, src->service) |
         dup_opt(&dst->scope, src->scope) | dup_opt(&dst->error, src->error);
}

int st_reg_client_clone(const st_reg_client *c, st_reg_client **out,
                        st_error **err) {
  pthread_once(&curl_once, curl_init_once);
  st_reg_client *n = calloc(1, sizeof(*n));
  if (n == NULL)
    return st_error_errno(err, ENOMEM, "registry client");
  __attribute__((cleanup(st_reg_client_freep))) st_reg_client *guard = n;
  n->insecure = c->insecure;
  n->http_ok = c->http_ok;
  n->token_scopes = c->token_scopes;
  if ((dup_opt(&n->domain, c->domain) | dup_opt(&n->host, c->host) |
       dup_opt(&n->base, c->base) | dup_opt(&n->repo, c->repo) |
       dup_opt(&n->ca_file, c->ca_file) | dup_opt(&n->cert_file, c->cert_file) |
       dup_opt(&n->key_file, c->key_file) | dup_opt(&n->user, c->user) |
       dup_opt(&n->pass, c->pass) | dup_opt(&n->token, c->token) |
       dup_opt(&n->scope, c->scope) | dup_opt(&n->extra_scope, c->extra_scope) |
       dup_challenge(&n->chal, &c->chal)) < 0 ||
      (n->easy = curl_easy_init()) == NULL ||
      (n->share = curl_share_init()) == NULL)
    return st_error_errno(err, ENOMEM, "registry client");
  curl_share_setopt(n->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(n->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(n->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  *out = steal_pointer(&guard);
  return 0;
}

static void add_header(struct curl_slist **l, const char *h) {
  struct curl_slist *n = curl_slist_append(*l, h);
  if (n)
    *l = n;
}

static void set_auth_header(st_reg_client *c, struct curl_slist **headers) {
  cleanup_free char *h = NULL;
  if (c->chal.scheme == ST_AUTH_BEARER && c->token) {
    if (asprintf(&h, "Authorization: Bearer %s", c->token) < 0)
      h = NULL;
  } else if (c->chal.scheme == ST_AUTH_BASIC && c->user) {
    cleanup_free char *up = NULL;
    cleanup_free char *b = NULL;
    if (asprintf(&up, "%s:%s", c->user, c->pass) >= 0 &&
        (b = st_base64_encode(up, strlen(up))) != NULL &&
        asprintf(&h, "Authorization: Basic %s", b) < 0)
      h = NULL;
    if (up)
      explicit_bzero(up, strlen(up));
  }
  if (h)
    add_header(headers, h);
}

static void apply_tls(CURL *h, bool insecure, const char *ca, const char *cert,
                      const char *key) {
  if (insecure) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (ca) {
    curl_easy_setopt(h, CURLOPT_CAINFO, ca);
  }
  if (cert && key) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key);
  }
}

static void apply_common(CURL *h, st_http_resp *resp) {
  curl_easy_setopt(h, CURLOPT_USERAGENT,
                   "strata/"
                   "0.1");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  const char *stall = getenv("STRATA_REGISTRY_STALL_TIMEOUT");
  long stall_s = stall && atol(stall) > 0 ? atol(stall) : STALL_TIMEOUT_S;
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, st_http_header_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
}

int st_reg_setup_easy(st_reg_client *c, CURL *h, st_http_resp *resp,
                      struct curl_slist **headers, st_error **err) {
  apply_common(h, resp);
  curl_easy_setopt(h, CURLOPT_SHARE, c->share);
  apply_tls(h, c->insecure, c->ca_file, c->cert_file, c->key_file);
  set_auth_header(c, headers);
  return 0;
}

static int curl_code_errno(CURLcode rc) {
  if (rc == CURLE_COULDNT_CONNECT)
    return ECONNREFUSED;
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return ETIMEDOUT;
  if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
    return EHOSTUNREACH;
  if (rc == CURLE_OUT_OF_MEMORY)
    return ENOMEM;
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
      rc == CURLE_SSL_CERTPROBLEM)
    return EPROTO;
  return EIO;
}

/* "Get \"url\": <curl's words>", like Go's url.Error. */
static int transport_error(st_error **err, const char *method, const char *url,
                           CURLcode rc, const char *errbuf) {
  char m[16];
  snprintf(m, sizeof(m), "%s", method);
  for (size_t i = 1; m[i]; i++)
    m[i] = (char)tolower((unsigned char)m[i]);
  const char *hint = "";
  if (rc == CURLE_PEER_FAILED_VERIFICATION)
    hint = " (add the registry's CA as /etc/docker/certs.d/HOST:PORT/ca.crt, "
           "or use --tls-verify=false)";
  return st_error_set(err, curl_code_errno(rc), "%s \"%s\": %s%s", m, url,
                      errbuf[0] ? errbuf : curl_easy_strerror(rc), hint);
}

/* Performs one request on the control handle. */
static CURLcode perform(st_reg_client *c, const char *method, const char *url,
                        const char *const *extra, const st_http_body *body,
                        st_http_resp *resp, char *errbuf) {
  CURL *h = c->easy;
  curl_easy_reset(h);
  st_http_resp_reset(resp);
  struct curl_slist *headers = NULL;
  st_error *ignored = NULL;
  st_reg_setup_easy(c, h, resp, &headers, &ignored);
  st_error_free(ignored);
  for (size_t i = 0; extra && extra[i]; i++)
    add_header(&headers, extra[i]);
  body_reader br = {.b = body, .pos = 0};
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (body) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(h, CURLOPT_READDATA, &br);
    curl_easy_setopt(
        h, CURLOPT_INFILESIZE_LARGE,
        (curl_off_t)(body->data ? (int64_t)body->len : body->fd_len));
    cleanup_free char *ct = NULL;
    if (asprintf(&ct, "Content-Type: %s",
                 body->content_type ? body->content_type
                                    : "application/octet-stream") >= 0)
      add_header(&headers, ct);
    /* No "Expect: 100-continue" round trip. */
    add_header(&headers, "Expect:");
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
  }
  st_http_set_url(h, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
  if (rc != CURLE_OK)
    st_debug("registry: %s %s: %s", method, url,
             errbuf[0] ? errbuf : curl_easy_strerror(rc));
  else
    st_debug("registry: %s %s -> %ld", method, url, (long)resp->status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(headers);
  return rc;
}

/* Seconds a Retry-After value asks for (delta-seconds or an HTTP date);
 * -1 when absent or unreadable. */
static long retry_after_s(const char *v) {
  if (v == NULL || *v == '\0')
    return -1;
  char *end = NULL;
  errno = 0;
  long s = strtol(v, &end, 10);
  if (end != v && *end == '\0' && errno == 0)
    return s < 0 ? -1 : s;
  time_t t = curl_getdate(v, NULL);
  if (t == (time_t)-1)
    return -1;
  time_t now = time(NULL);
  return t > now ? (long)(t - now) : 0;
}

/* ---- errors ------------------------------------------------------------- */

/* The registry's {"errors":[{"code","message"}]} as Docker words it:
 * "manifest unknown: manifest unknown". */
static void registry_errors(const st_http_resp *r, st_buf *out) {
  if (r->body.len == 0)
    return;
  cleanup_json json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
  const json_t *errs = json_object_get(j, "errors");
  for (size_t i = 0; i < json_array_size(errs); i++) {
    const json_t *e = json_array_get(errs, i);
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (out->len)
      st_buf_puts(out, "; ");
    if (code) {
      for (const char *p = code; *p; p++)
        st_buf_putc(out, *p == '_' ? ' ' : (char)tolower((unsigned char)*p));
      if (msg)
        st_buf_puts(out, ": ");
    }
    if (msg)
      st_buf_puts(out, msg);
  }
}

int st_reg_status_error(const st_reg_client *c, const st_http_resp *resp,
                        st_error **err, const char *fmt, ...) {
  cleanup_buf st_buf what = ST_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  st_buf_vprintf(&what, fmt, ap);
  va_end(ap);
  cleanup_buf st_buf why = ST_BUF_INIT;
  cleanup_buf st_buf busy = ST_BUF_INIT;
  registry_errors(resp, &why);
  int code = EIO;
  const char *fallback = NULL;
  const char *hint = "";
  switch (resp->status) {
  case 401:
  case 403:
    code = EACCES;
    fallback = resp->status == 401
                   ? "unauthorized: authentication required"
                   : "denied: requested access to the resource is denied";
    hint = c->user ? "" : " (log in first: strata login REGISTRY)";
    break;
  case 404:
    code = ENOENT;
    fallback = "not found";
    break;
  case 429:
  case 500:
  case 502:
  case 503:
  case 504:
    code = resp->status == 429 ? EAGAIN : EIO;
    if (resp->status == 429)
      fallback = "toomanyrequests: too many requests";
    st_reg_busy_hint(c, resp->status, resp->attempts, resp->retry_after, &busy);
    hint = busy.data ? busy.data : "";
    break;
  default:
    break;
  }
  if (why.len == 0 && fallback == NULL)
    st_buf_printf(&why, "unexpected HTTP status %ld from %s", resp->status,
                  c->domain);
  if (c->user && (resp->status == 401 || resp->status == 403))
    return st_error_set(err, code,
                        "%s: %s (the registry refused the credentials of "
                        "user \"%s\")",
                        what.data ? what.data : "",
                        why.len ? why.data : fallback, c->user);
  return st_error_set(err, code, "%s: %s%s", what.data ? what.data : "",
                      why.len ? why.data : fallback, hint);
}

void st_reg_busy_hint(const st_reg_client *c, long status, int attempts,
                      const char *retry_after, st_buf *out) {
  long s = retry_after_s(retry_after);
  st_buf_printf(out, " (HTTP %ld from %s", status, c->domain);
  if (s > ST_REG_MAX_RETRY_AFTER_S)
    st_buf_printf(out,
                  ", which asks to retry after %ld s: more than strata "
                  "waits; pull again later)",
                  s);
  else
    st_buf_printf(out,
                  ", %d attempt%s; the registry is overloaded or failing: "
                  "try again later)",
                  attempts > 0 ? attempts : 1, attempts > 1 ? "s" : "");
}

/* ---- ping and auth ------------------------------------------------------- */

/* Whether a loopback registry speaks TLS at all, learnt without loading
 * the system CA bundle (tens of ms): a handshake without verification. The
 * verified request follows only when it does. */
static bool speaks_tls(st_reg_client *c, char *errbuf) {
  cleanup_free char *url = NULL;
  if (asprintf(&url, "https://%s/v2/", c->host) < 0)
    return true;
  st_http_resp resp;
  st_http_resp_init(&resp, 0);
  bool saved = c->insecure;
  c->insecure = true;
  CURLcode rc = perform(c, "GET", url, NULL, NULL, &resp, errbuf);
  c->insecure = saved;
  st_http_resp_clear(&resp);
  return rc != CURLE_SSL_CONNECT_ERROR;
}

int st_reg_ping(st_reg_client *c, st_error **err) {
  static const char *const schemes[] = {"https", "http"};
  char errbuf[CURL_ERROR_SIZE];
  size_t first = c->http_ok && !c->insecure && !speaks_tls(c, errbuf) ? 1 : 0;
  for (size_t i = first; i < 2; i++) {
    if (i == 1 && !c->http_ok)
      break;
    cleanup_free char *url = NULL;
    if (asprintf(&url, "%s://%s/v2/", schemes[i], c->host) < 0)
      return st_error_errno(err, ENOMEM, "ping");
    st_http_resp resp;
    st_http_resp_init(&resp, CONTROL_BODY_LIMIT);
    CURLcode rc = perform(c, "GET", url, NULL, NULL, &resp, errbuf);
    if (rc != CURLE_OK) {
      bool fallback = c->http_ok && i == 0 && rc != CURLE_COULDNT_CONNECT &&
                      rc != CURLE_PEER_FAILED_VERIFICATION;
      st_http_resp_clear(&resp);
      if (fallback)
        continue;
      return transport_error(err, "GET", url, rc, errbuf);
    }
    if (resp.status == 401 || resp.status == 200) {
      free(c->base);
      if (asprintf(&c->base, "%s://%s", schemes[i], c->host) < 0)
        c->base = NULL;
      int r = 0;
      if (resp.status == 401 && c->chal.scheme == ST_AUTH_NONE) {
        r = st_auth_challenge_parse(resp.www_auth, &c->chal, err);
        if (r < 0)
          st_error_wrap(err, "ping %s", c->domain);
      }
      st_http_resp_clear(&resp);
      return c->base ? r : st_error_errno(err, ENOMEM, "ping");
    }
    int r = st_reg_status_error(c, &resp, err, "ping %s", url);
    st_http_resp_clear(&resp);
    return r;
  }
  return st_error_set(err, EIO, "ping %s: no usable transport", c->domain);
}

static void append_query(st_buf *b, const char *key, const char *value) {
  char *esc = curl_easy_escape(NULL, value, 0);
  if (esc == NULL)
    return;
  st_buf_printf(b, "%c%s=%s", strchr(b->data ? b->data : "", '?') ? '&' : '?',
                key, esc);
  curl_free(esc);
}

/* GET realm?service=..&scope=.. with Basic credentials when we have them;
 * keeps the token. */
static int fetch_token(st_reg_client *c, const char *chal_scope,
                       st_error **err) {
  if (c->chal.realm == NULL)
    return st_error_set(err, EPROTO, "%s: Bearer challenge without a realm",
                        c->domain);
  cleanup_buf st_buf url = ST_BUF_INIT;
  st_buf_puts(&url, c->chal.realm);
  if (c->chal.service)
    append_query(&url, "service", c->chal.service);
  if (c->scope)
    append_query(&url, "scope", c->scope);
  if (c->extra_scope)
    append_query(&url, "scope", c->extra_scope);
  if (chal_scope && (c->scope == NULL || strcmp(chal_scope, c->scope) != 0) &&
      (c->extra_scope == NULL || strcmp(chal_scope, c->extra_scope) != 0))
    append_query(&url, "scope", chal_scope);
  if (url.data == NULL)
    return st_error_errno(err, ENOMEM, "token");

  CURL *h = curl_easy_init();
  if (h == NULL)
    return st_error_errno(err, ENOMEM, "token");
  st_http_resp resp;
  st_http_resp_init(&resp, CONTROL_BODY_LIMIT);
  apply_common(h, &resp);
  apply_tls(h, c->insecure, NULL, NULL, NULL);
  struct curl_slist *headers = NULL;
  st_auth_scheme saved = c->chal.scheme;
  c->chal.scheme = ST_AUTH_BASIC;
  set_auth_header(c, &headers);
  c->chal.scheme = saved;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  st_http_set_url(h, url.data);
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  st_debug("registry: GET %s (token) -> %ld", c->chal.realm,
           rc == CURLE_OK ? (long)resp.status : -1L);
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  int ret = 0;
  if (rc != CURLE_OK) {
    ret = transport_error(err, "GET", c->chal.realm, rc, errbuf);
  } else if (resp.status != 200) {
    ret = st_reg_status_error(c, &resp, err, "get a token from %s",
                              c->chal.realm);
  } else {
    cleanup_json json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (tok == NULL || *tok == '\0')
      tok = json_string_value(json_object_get(j, "access_token"));
    if (tok == NULL || *tok == '\0') {
      ret = st_error_set(err, EPROTO, "token from %s: no token in the answer",
                         c->chal.realm);
    } else {
      free(c->token);
      if ((c->token = strdup(tok)) == NULL)
        ret = st_error_errno(err, ENOMEM, "token");
      c->token_scopes = c->extra_scope != NULL;
    }
  }
  st_http_resp_clear(&resp);
  return ret;
}

int st_reg_reauth(st_reg_client *c, const st_http_resp *resp, st_error **err) {
  st_auth_challenge ch;
  if (st_auth_challenge_parse(resp->www_auth, &ch, err) < 0)
    return st_error_wrap(err, "%s", c->domain);
  int r = 0;
  if (ch.scheme == ST_AUTH_BEARER) {
    st_auth_challenge_clear(&c->chal);
    c->chal = ch;
    memset(&ch, 0, sizeof(ch));
    r = fetch_token(c, c->chal.scope, err) < 0 ? -1 : 1;
  } else if (ch.scheme == ST_AUTH_BASIC) {
    /* Retry only when we were not already sending the credentials. */
    r = c->user && c->chal.scheme != ST_AUTH_BASIC ? 1 : 0;
    st_auth_challenge_clear(&c->chal);
    c->chal = ch;
    memset(&ch, 0, sizeof(ch));
  }
  st_auth_challenge_clear(&ch);
  return r;
}

/* Gets a token up front once the challenge is known, so requests do not
 * each pay a 401 round trip. */
static int ensure_token(st_reg_client *c, st_error **err) {
  if (c->chal.scheme != ST_AUTH_BEARER)
    return 0;
  if (c->token && (c->extra_scope == NULL || c->token_scopes))
    return 0;
  return fetch_token(c, NULL, err);
}

/* ---- requests ------------------------------------------------------------ */

char *st_reg_url(const st_reg_client *c, const char *kind, const char *ref) {
  char *u = NULL;
  if (asprintf(&u, "%s/v2/%s/%s/%s", c->base, c->repo, kind, ref) < 0)
    return NULL;
  return u;
}

int st_reg_max_attempts(void) {
  const char *e = getenv("STRATA_REGISTRY_RETRIES");
  int n = e ? atoi(e) : 5;
  return n > 0 && n < 100 ? n : 5;
}

long st_reg_backoff_ms(int attempt, const char *retry_after) {
  long s = retry_after_s(retry_after);
  if (s > ST_REG_MAX_RETRY_AFTER_S)
    return -1;
  if (s >= 0)
    return s == 0 ? 100 : s * 1000;
  long ms = 200L << (attempt > 5 ? 5 : attempt - 1);
  return ms > 5000 ? 5000 : ms;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static bool retryable_status(long s) {
  return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static bool retryable_curl(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
         rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
         rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

int st_reg_request(st_reg_client *c, const char *method, const char *path,
                   const char *const *headers, const st_http_body *body,
                   st_http_resp *resp, st_error **err) {
  if (c->base == NULL && st_reg_ping(c, err) < 0)
    return -1;
  if (ensure_token(c, err) < 0)
    return -1;
  cleanup_free char *url = NULL;
  if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
    url = strdup(path);
  else if (asprintf(&url, "%s%s", c->base, path) < 0)
    url = NULL;
  if (url == NULL)
    return st_error_errno(err, ENOMEM, "request");
  bool idempotent = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  int max = idempotent ? st_reg_max_attempts() : 1;
  bool reauthed = false;
  char errbuf[CURL_ERROR_SIZE];
  for (int attempt = 1;; attempt++) {
    CURLcode rc = perform(c, method, url, headers, body, resp, errbuf);
    if (rc == CURLE_WRITE_ERROR && resp->body_too_big)
      return st_error_set(err, EFBIG, "%s %s: answer larger than %zu bytes",
                          method, url, resp->body_limit);
    if (rc != CURLE_OK) {
      if (attempt < max && retryable_curl(rc)) {
        sleep_ms(st_reg_backoff_ms(attempt, NULL));
        st_http_resp_reset(resp);
        continue;
      }
      return transport_error(err, method, url, rc, errbuf);
    }
    if (resp->status == 401 && !reauthed) {
      reauthed = true;
      int r = st_reg_reauth(c, resp, err);
      if (r < 0)
        return -1;
      if (r > 0) {
        attempt--;
        continue;
      }
    }
    long wait = retryable_status(resp->status)
                    ? st_reg_backoff_ms(attempt, resp->retry_after)
                    : -1;
    if (attempt < max && wait >= 0) {
      sleep_ms(wait);
      st_http_resp_reset(resp);
      continue;
    }
    resp->attempts = attempt;
    return 0;
  }
}

void st_reg_emit(const st_reg_opts *o, st_reg_event_kind kind,
                 const char *digest, const char *text, const char *repo,
                 uint64_t current, uint64_t total) {
  if (o == NULL || o->progress == NULL)
    return;
  st_reg_event ev = {kind, digest, text, repo, current, total};
  o->progress(o->progress_ctx, &ev);
}
