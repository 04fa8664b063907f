/* WWW-Authenticate challenges (RFC 7235) as registries send them:
 *   Bearer realm="https://auth.example/token",service="reg",
 *          scope="repository:x:pull",error="insufficient_scope"
 *   Basic realm="Registry Realm"
 */
#ifndef STRATA_REGISTRY_AUTH_H
#define STRATA_REGISTRY_AUTH_H

#include <stddef.h>

#include "util/error.h"

typedef enum st_auth_scheme {
  ST_AUTH_NONE = 0,
  ST_AUTH_BASIC,
  ST_AUTH_BEARER,
} st_auth_scheme;

typedef struct st_auth_challenge {
  st_auth_scheme scheme;
  char *realm, *service, *scope, *error; /* NULL when absent */
} st_auth_challenge;

/* Parses one header value. When it lists several challenges, Bearer is
 * preferred over Basic; unknown schemes are skipped. Returns 0 with *out
 * filled (scheme ST_AUTH_NONE when no known challenge was found), or < 0
 * with EINVAL for a malformed header (an unterminated quote, a parameter
 * without '='), or ENOMEM. */
int st_auth_challenge_parse(const char *header, st_auth_challenge *out,
                            st_error **err);
void st_auth_challenge_clear(st_auth_challenge *c);

/* base64 (standard alphabet, padded) of n bytes: malloc'd, NULL on ENOMEM. */
char *st_base64_encode(const void *buf, size_t n);
/* Decodes standard base64 (padding optional); *len gets the byte count.
 * The result is NUL-terminated. NULL on bad input or ENOMEM. */
char *st_base64_decode(const char *s, size_t *len);

#endif
