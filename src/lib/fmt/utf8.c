#include "fmt/utf8.h"

size_t st_utf8_decode(const unsigned char *s, size_t n, uint32_t *r) {
  static const uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
  size_t len = s[0] < 0x80   ? 1
               : s[0] < 0xC2 ? 0
               : s[0] < 0xE0 ? 2
               : s[0] < 0xF0 ? 3
               : s[0] < 0xF5 ? 4
                             : 0;
  *r = 0xFFFD;
  if (len == 0 || len > n)
    return 1;
  if (len == 1) {
    *r = s[0];
    return 1;
  }
  uint32_t v = s[0] & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 1;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min_of_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 1;
  *r = v;
  return len;
}
