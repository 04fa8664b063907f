/* Unit tests for the digest module: the plain-C SHA-256 used for small
 * buffers agrees with OpenSSL (the streaming path) at every length around
 * the padding boundaries, and with the FIPS 180-4 examples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "digest/digest.h"
#include "digest/internal.h"

static void streaming(const void *buf, size_t n, char out[ST_DIGEST_LEN]) {
  st_sha256 *h = st_sha256_new();
  assert_non_null(h);
  st_sha256_update(h, buf, n);
  st_sha256_final(h, out);
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
    st_digest_of(buf, n, a);
    streaming(buf, n, b);
    if (strcmp(a, b) != 0)
      fail_msg("length %zu: %s != %s", n, a, b);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_agrees_with_openssl),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
