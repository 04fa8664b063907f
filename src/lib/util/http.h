/* Plain HTTP(S) downloads (`import URL`) and the proxy rule every request
 * of strata follows. */
#ifndef STRATA_UTIL_HTTP_H
#define STRATA_UTIL_HTTP_H

#include <curl/curl.h>

#include "util/error.h"

/* Sets url on h and the proxy Docker would use for it. libcurl reads
 * http_proxy, HTTPS_PROXY/https_proxy, ALL_PROXY and NO_PROXY/no_proxy by
 * itself, but not the upper-case HTTP_PROXY (a CGI hazard for curl, the
 * usual spelling for Docker users): for an http:// URL with only
 * HTTP_PROXY set, that one is set explicitly (NO_PROXY still applies). */
void st_http_set_url(CURL *h, const char *url);

/* GETs url (http or https, redirects followed) and writes the body to fd.
 * An answer of 400 or more is an error naming the status. */
int st_http_get(const char *url, int fd, st_error **err);

#endif
