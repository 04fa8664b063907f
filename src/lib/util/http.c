/* See http.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/http.h"

void st_http_set_url(CURL *h, const char *url) {
  curl_easy_setopt(h, CURLOPT_URL, url);
  const char *upper = getenv("HTTP_PROXY");
  if (strncasecmp(url, "http://", 7) == 0 && getenv("http_proxy") == NULL &&
      upper != NULL && *upper != '\0')
    curl_easy_setopt(h, CURLOPT_PROXY, upper);
}

typedef struct sink_state {
  int fd;
  int error; /* errno of a failed write */
} sink_state;

static size_t sink(char *p, size_t size, size_t n, void *ud) {
  sink_state *s = ud;
  size_t len = size * n;
  for (size_t off = 0; off < len;) {
    ssize_t w = write(s->fd, p + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      s->error = w < 0 ? errno : EIO;
      return 0;
    }
    off += (size_t)w;
  }
  return len;
}

int st_http_get(const char *url, int fd, st_error **err) {
  CURL *c = curl_easy_init();
  if (c == NULL)
    return st_error_errno(err, ENOMEM, "GET %s", url);
  char msg[CURL_ERROR_SIZE] = "";
  sink_state s = {.fd = fd};
  st_http_set_url(c, url);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, msg);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  if (s.error)
    return st_error_errno(err, s.error, "GET %s: write", url);
  if (rc != CURLE_OK)
    return st_error_set(err, rc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO,
                        "Get \"%s\": %s", url,
                        *msg ? msg : curl_easy_strerror(rc));
  if (status >= 400)
    return st_error_set(err, EIO, "Get \"%s\": server answered %ld", url,
                        status);
  return 0;
}
