/* A plain SHA-256 (FIPS 180-4) for small buffers: configs, manifests and
 * chain IDs are a few hundred bytes to a few kilobytes, and hashing them
 * through OpenSSL costs loading libcrypto and initialising its provider
 * tables (about 4 ms, most of a `strata run`). Large data (layers, blobs
 * being written) still goes through OpenSSL's streaming, hardware-assisted
 * code in digest.c. */
#include "digest/internal.h"

#include <stdbool.h>
#include <string.h>

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

static void block(uint32_t h[8], const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6],
           hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
                  ((e & f) ^ (~e & g)) + k[i] + w[i];
    uint32_t t2 =
        (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d;
  h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* The same compression with the CPU's SHA extensions (SHA-NI): a warm
 * build hashes ~100 KB of COPY fingerprint and keys, ~4,000 instructions a
 * block in plain C, ~10x fewer here. The state lives as ABEF and CDGH, the
 * layout sha256rnds2 works on; each step below is 4 rounds, the message
 * schedule a ring of four 4-word vectors. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
block_ni(uint32_t h[8], const unsigned char *p, size_t n_blocks) {
  const __m128i bswap =
      _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i t = _mm_loadu_si128((const __m128i *)&h[0]);  /* A B C D */
  __m128i s1 = _mm_loadu_si128((const __m128i *)&h[4]); /* E F G H */
  t = _mm_shuffle_epi32(t, 0xB1);                       /* B A D C */
  s1 = _mm_shuffle_epi32(s1, 0x1B);                     /* H G F E */
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);               /* ABEF */
  s1 = _mm_blend_epi16(s1, t, 0xF0);                    /* CDGH */
  for (; n_blocks > 0; n_blocks--, p += 64) {
    __m128i abef = s0, cdgh = s1, m[4];
    for (int g = 0; g < 16; g++) {
      __m128i *w = &m[g % 4];
      if (g < 4)
        *w = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
                              bswap);
      else
        *w = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(*w, m[(g + 1) % 4]),
                          _mm_alignr_epi8(m[(g + 3) % 4], m[(g + 2) % 4], 4)),
            m[(g + 3) % 4]);
      __m128i wk =
          _mm_add_epi32(*w, _mm_loadu_si128((const __m128i *)&k[4 * g]));
      s1 = _mm_sha256rnds2_epu32(s1, s0, wk);
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(wk, 0x0E));
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  t = _mm_shuffle_epi32(s0, 0x1B);  /* A B E F */
  s1 = _mm_shuffle_epi32(s1, 0xB1); /* G H C D */
  _mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, s1, 0xF0));
  _mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(s1, t, 8));
}

/* 1: SHA-NI and the SSE levels block_ni uses; 0: not; -1: not asked yet
 * (cpuid traps to the hypervisor in a VM: asked once). */
static int have_ni = -1;

static bool use_ni(void) {
  int v = __atomic_load_n(&have_ni, __ATOMIC_RELAXED);
  if (v < 0) {
    unsigned a, b, c, d;
    bool sse =
        __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9));
    v = sse && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
    __atomic_store_n(&have_ni, v, __ATOMIC_RELAXED);
  }
  return v == 1;
}

void st_sha256_small_force_plain(bool plain) {
  __atomic_store_n(&have_ni, plain ? 0 : -1, __ATOMIC_RELAXED);
}
#else
static void block_ni(uint32_t h[8], const unsigned char *p, size_t n_blocks) {
  for (; n_blocks > 0; n_blocks--, p += 64)
    block(h, p);
}
static bool use_ni(void) {
  return false;
}
void st_sha256_small_force_plain(bool plain) {
  (void)plain;
}
#endif

static void blocks(uint32_t h[8], const unsigned char *p, size_t n_blocks) {
  if (use_ni()) {
    block_ni(h, p, n_blocks);
    return;
  }
  for (; n_blocks > 0; n_blocks--, p += 64)
    block(h, p);
}

void st_sha256_small(const void *buf, size_t n, unsigned char md[32]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const unsigned char *p = buf;
  size_t left = n;
  blocks(h, p, left / 64);
  p += left / 64 * 64;
  left %= 64;
  unsigned char tail[128];
  memset(tail, 0, sizeof(tail));
  if (left)
    memcpy(tail, p, left);
  tail[left] = 0x80;
  size_t len = left + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)n * 8;
  for (int i = 0; i < 8; i++)
    tail[len - 1 - i] = (unsigned char)(bits >> (8 * i));
  blocks(h, tail, len / 64);
  for (int i = 0; i < 8; i++) {
    md[4 * i] = (unsigned char)(h[i] >> 24);
    md[4 * i + 1] = (unsigned char)(h[i] >> 16);
    md[4 * i + 2] = (unsigned char)(h[i] >> 8);
    md[4 * i + 3] = (unsigned char)h[i];
  }
}
