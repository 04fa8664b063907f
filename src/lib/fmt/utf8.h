/* UTF-8 as Go reads it, shared by the table writer (display widths) and
 * the template engine (len, slice, printf padding).
 */
#ifndef STRATA_FMT_UTF8_H
#define STRATA_FMT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s (n > 0 bytes left) into *r as Go's
 * utf8.DecodeRune does: an invalid, overlong, surrogate or truncated
 * sequence is U+FFFD and consumes one byte. Returns the bytes consumed
 * (1 to 4). */
size_t st_utf8_decode(const unsigned char *s, size_t n, uint32_t *r);

#endif
