/* sha256 digests in OCI's "sha256:<64 hex>" form. */
#ifndef STRATA_DIGEST_H
#define STRATA_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* "sha256:" + 64 hex digits + NUL */
#define ST_DIGEST_LEN 72
#define ST_DIGEST_HEX_LEN 64

typedef struct st_sha256 st_sha256;

st_sha256 *st_sha256_new(void); /* NULL when out of memory */
void st_sha256_update(st_sha256 *h, const void *buf, size_t n);
/* Writes "sha256:<hex>" to out and frees h. */
void st_sha256_final(st_sha256 *h, char out[ST_DIGEST_LEN]);
void st_sha256_free(st_sha256 *h);
/* Writes "sha256:<hex>" of what h has seen to out and starts h over, empty:
 * hashing many files with one st_sha256 allocates nothing per file. */
void st_sha256_restart(st_sha256 *h, char out[ST_DIGEST_LEN]);

/* One-shot digest of a buffer. */
void st_digest_of(const void *buf, size_t n, char out[ST_DIGEST_LEN]);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool st_digest_valid(const char *s);
/* Checks s with st_digest_valid and sets *err naming `what` otherwise. */
int st_digest_check(const char *s, const char *what, st_error **err);
/* The 64 hex digits of a valid digest. */
static inline const char *st_digest_hex(const char *digest) {
  return digest + 7;
}

#endif
