#include "digest/digest.h"
#include "digest/internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct st_sha256 {
  EVP_MD_CTX *ctx;
};

st_sha256 *st_sha256_new(void) {
  st_sha256 *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    st_sha256_free(h);
    return NULL;
  }
  return h;
}

void st_sha256_update(st_sha256 *h, const void *buf, size_t n) {
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

void st_sha256_final(st_sha256 *h, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(h->ctx, md, &len);
  to_digest(md, out);
  st_sha256_free(h);
}

void st_sha256_restart(st_sha256 *h, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(h->ctx, md, &len);
  to_digest(md, out);
  EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void st_sha256_free(st_sha256 *h) {
  if (h == NULL)
    return;
  EVP_MD_CTX_free(h->ctx);
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
