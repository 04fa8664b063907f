/* Unit tests for the digest module: the plain-C SHA-256 used for small
 * buffers agrees with OpenSSL at every length around the padding
 * boundaries, and with the FIPS 180-4 examples; a streaming hash that
 * keeps its first bytes and moves to OpenSSL past its limit gives
 * OpenSSL's digest for every way of feeding it, and starts over cleanly;
 * the SHA-NI and the plain C rounds both agree with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* OpenSSL's own one-shot digest, the reference. */
static void reference(const void *buf, size_t n, char out[ST_DIGEST_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  assert_int_equal(EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL), 1);
  assert_int_equal(len, 32);
  memcpy(out, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
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
    reference(buf, n, b);
    if (strcmp(a, b) != 0)
      fail_msg("length %zu: %s != %s", n, a, b);
    streaming(buf, n, a);
    if (strcmp(a, b) != 0)
      fail_msg("streaming, length %zu: %s != %s", n, a, b);
  }
  free(buf);
}

/* Both compression functions (SHA extensions where the CPU has them, and
 * plain C) against OpenSSL, lengths around every padding boundary up to
 * several blocks, and one long buffer (many blocks in one call). */
static void agree_all(void) {
  size_t max = 1100, big = 300 * 1024;
  unsigned char *buf = malloc(big);
  assert_non_null(buf);
  for (size_t i = 0; i < big; i++)
    buf[i] = (unsigned char)(i * 2654435761u >> 11);
  for (size_t n = 0; n < max; n++) {
    unsigned char md[32];
    char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
    st_sha256_small(buf, n, md);
    memcpy(a, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
      snprintf(a + 7 + 2 * i, 3, "%02x", md[i]);
    reference(buf, n, b);
    if (strcmp(a, b) != 0)
      fail_msg("length %zu: %s != %s", n, a, b);
  }
  char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
  st_digest_of(buf, big, a);
  reference(buf, big, b);
  assert_string_equal(a, b);
  free(buf);
}

static void test_both_compressions(void **state) {
  (void)state;
  agree_all(); /* the CPU's (SHA-NI on most x86-64 since 2017) */
  st_sha256_small_force_plain(true);
  agree_all();
  st_sha256_small_force_plain(false);
}

/* Fed in chunks of every size from 1 byte to 300 KiB, across the point
 * where the kept bytes go to OpenSSL (256 KiB), then restarted: each
 * digest is OpenSSL's of the same bytes. */
static void test_streaming_across_the_limit(void **state) {
  (void)state;
  size_t max = 700 * 1024;
  unsigned char *buf = malloc(max);
  assert_non_null(buf);
  for (size_t i = 0; i < max; i++)
    buf[i] = (unsigned char)(i * 2654435761u >> 13);
  const size_t chunks[] = {1, 63, 4096, 65537, 262143, 262144, 307200};
  const size_t totals[] = {0, 1000, 262143, 262144, 262145, 600000, max};
  for (size_t c = 0; c < sizeof(chunks) / sizeof(*chunks); c++) {
    st_sha256 *h = st_sha256_new();
    assert_non_null(h);
    for (size_t t = 0; t < sizeof(totals) / sizeof(*totals); t++) {
      if (chunks[c] == 1 && totals[t] > 100000)
        continue; /* slow and adds nothing */
      for (size_t off = 0; off < totals[t]; off += chunks[c]) {
        size_t n = totals[t] - off < chunks[c] ? totals[t] - off : chunks[c];
        st_sha256_update(h, buf + off, n);
      }
      char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
      st_sha256_restart(h, a);
      reference(buf, totals[t], b);
      if (strcmp(a, b) != 0)
        fail_msg("chunk %zu, total %zu: %s != %s", chunks[c], totals[t], a, b);
    }
    char a[ST_DIGEST_LEN], b[ST_DIGEST_LEN];
    st_sha256_update(h, "abc", 3);
    st_sha256_final(h, a);
    reference("abc", 3, b);
    assert_string_equal(a, b);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_agrees_with_openssl),
      cmocka_unit_test(test_both_compressions),
      cmocka_unit_test(test_streaming_across_the_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
