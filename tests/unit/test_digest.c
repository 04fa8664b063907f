/* Unit tests for the digest module: the plain-C SHA-256 used for small
 * buffers agrees with OpenSSL at every length around the padding
 * boundaries, and with the FIPS 180-4 examples; a streaming hash (plain C
 * until its input passes a threshold, then OpenSSL) agrees with OpenSSL
 * whatever the chunk sizes, across the switch and after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "digest/digest.h"
#include "digest/internal.h"

static void streaming(const void *buf, size_t n, char out[ST_DIGEST_LEN]) {
  st_sha256 *h = st_sha256_new();
  assert_non_null(h);
  st_sha256_update(h, buf, n);
  st_sha256_final(h, out);
}

static void openssl(const void *buf, size_t n, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  assert_int_equal(EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL), 1);
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[71] = '\0';
}

static void test_known_vectors(void **state) {
  (void)state;
  char d[ST_DIGEST_LEN];
  st_digest_of("", 0, d);
  assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
                         "934ca495991b7852b855");
  st_digest_of("abc", 3, d);
  assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a39617"
                         "7a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  st_digest_of(two, strlen(two), d);
  assert_string_equal(d, "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff"
                         "2167f6ecedd419db06c1");
}

static void test_agrees_with_openssl(void **state) {
  (void)state;
  size_t max = 1100;
  unsigned char *buf = malloc(max);
  assert_non_null(buf);
  for (size_t i = 0; i < max; i++)
    buf[i] = (unsigned char)(i * 131 + 7);
  for (size_t n = 0; n < max; n++) {
    char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
    char c[ST_DIGEST_LEN];
    st_digest_of(buf, n, a);
    streaming(buf, n, b);
    openssl(buf, n, c);
    if (strcmp(a, c) != 0 || strcmp(b, c) != 0)
      fail_msg("length %zu: %s, %s != %s", n, a, b, c);
  }
  free(buf);
}

/* Chunked input across the plain-C/OpenSSL switch (256 KiB), with
 * restarts on both sides of it, and FIPS's one million "a". */
static void test_streaming_switch(void **state) {
  (void)state;
  size_t max = 700 * 1024;
  unsigned char *buf = malloc(max);
  assert_non_null(buf);
  for (size_t i = 0; i < max; i++)
    buf[i] = (unsigned char)(i * 7 + (i >> 9));
  const size_t chunks[] = {1, 63, 4096, 100000, 262144, 262145, 700 * 1024};
  const size_t lens[] = {0, 5000, 262144, 262145, 300000, 700 * 1024};
  st_sha256 *h = st_sha256_new();
  assert_non_null(h);
  for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
      for (size_t off = 0; off < lens[l]; off += chunks[c]) {
        size_t n = lens[l] - off < chunks[c] ? lens[l] - off : chunks[c];
        st_sha256_update(h, buf + off, n);
      }
      char got[ST_DIGEST_LEN], want[ST_DIGEST_LEN];
      st_sha256_restart(h, got);
      openssl(buf, lens[l], want);
      if (strcmp(got, want) != 0)
        fail_msg("chunk %zu, length %zu: %s != %s", chunks[c], lens[l], got,
                 want);
    }
  st_sha256_free(h);
  memset(buf, 'a', 100000);
  h = st_sha256_new();
  for (int i = 0; i < 10; i++)
    st_sha256_update(h, buf, 100000);
  char d[ST_DIGEST_LEN];
  st_sha256_final(h, d);
  assert_string_equal(d, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497"
                         "200e046d39ccc7112cd0");
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_agrees_with_openssl),
      cmocka_unit_test(test_streaming_switch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
