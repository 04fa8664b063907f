#include "digest/digest.h"
#include "digest/internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* A hash starts by keeping what it is given (up to ST_SHA256_LAZY_MAX
 * bytes) and hashes that in plain C at the end: the cache keys and the
 * COPY checksums of a warm build are a few kilobytes, and loading
 * libcrypto and its provider tables costs ~4 ms, more than the rest of
 * such a build's hashing. Past the limit the kept bytes go to OpenSSL's
 * streaming, SHA-NI-assisted code, as everything after them does. */
#define ST_SHA256_LAZY_MAX (256 * 1024)

struct st_sha256 {
  EVP_MD_CTX *ctx; /* NULL while the bytes are kept in buf */
  unsigned char *buf;
  size_t len, cap;
};

st_sha256 *st_sha256_new(void) {
  return calloc(1, sizeof(st_sha256));
}

/* Moves to OpenSSL: the kept bytes first. */
static bool to_evp(st_sha256 *h) {
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    return false;
  }
  if (h->len)
    EVP_DigestUpdate(h->ctx, h->buf, h->len);
  free(h->buf);
  h->buf = NULL;
  h->len = h->cap = 0;
  return true;
}

void st_sha256_update(st_sha256 *h, const void *buf, size_t n) {
  if (h->ctx == NULL && n <= ST_SHA256_LAZY_MAX - h->len) {
    if (h->len + n > h->cap) {
      size_t cap = h->cap ? h->cap : 4096;
      while (cap < h->len + n)
        cap *= 2;
      if (cap > ST_SHA256_LAZY_MAX)
        cap = ST_SHA256_LAZY_MAX;
      unsigned char *nb = realloc(h->buf, cap);
      if (nb == NULL) {
        if (to_evp(h))
          EVP_DigestUpdate(h->ctx, buf, n);
        return;
      }
      h->buf = nb;
      h->cap = cap;
    }
    if (n)
      memcpy(h->buf + h->len, buf, n);
    h->len += n;
    return;
  }
  if (h->ctx == NULL && !to_evp(h))
    return;
  EVP_DigestUpdate(h->ctx, buf, n);
}

static void to_digest(const unsigned char *md, char out[ST_DIGEST_LEN]) {
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[71] = '\0';
}

/* The digest of what h has seen; h is left empty, in its kept-bytes mode
 * or with its OpenSSL context started over. */
static void finish(st_sha256 *h, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (h->ctx == NULL) {
    st_sha256_small(h->buf, h->len, md);
    h->len = 0;
  } else {
    EVP_DigestFinal_ex(h->ctx, md, &len);
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
  }
  to_digest(md, out);
}

void st_sha256_final(st_sha256 *h, char out[ST_DIGEST_LEN]) {
  finish(h, out);
  st_sha256_free(h);
}

void st_sha256_restart(st_sha256 *h, char out[ST_DIGEST_LEN]) {
  finish(h, out);
}

void st_sha256_free(st_sha256 *h) {
  if (h == NULL)
    return;
  if (h->ctx) /* (a call into libcrypto loads it) */
    EVP_MD_CTX_free(h->ctx);
  free(h->buf);
  free(h);
}

/* Small buffers are hashed in plain C so that reading a config or
 * computing chain IDs (every `run`) does not load libcrypto. */
void st_digest_of(const void *buf, size_t n, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (n <= ST_SHA256_SMALL_MAX)
    st_sha256_small(buf, n, md);
  else
    EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL);
  to_digest(md, out);
}

bool st_digest_valid(const char *s) {
  if (s == NULL || strncmp(s, "sha256:", 7) != 0)
    return false;
  for (int i = 0; i < 64; i++) {
    char c = s[7 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return s[71] == '\0';
}

int st_digest_check(const char *s, const char *what, st_error **err) {
  if (st_digest_valid(s))
    return 0;
  return st_error_set(err, EINVAL,
                      "%s: invalid digest \"%s\": expected sha256: followed "
                      "by 64 lowercase hex digits",
                      what, s ? s : "(null)");
}
