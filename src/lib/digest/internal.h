/* Private to src/lib/digest. */
#ifndef STRATA_DIGEST_INTERNAL_H
#define STRATA_DIGEST_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Below this size st_digest_of hashes without OpenSSL. */
#define ST_SHA256_SMALL_MAX (1024 * 1024)

/* SHA-256 of buf into md, in plain C (no library to load). */
void st_sha256_small(const void *buf, size_t n, unsigned char md[32]);
/* Tests: true makes st_sha256_small use its plain C rounds even where the
 * CPU has SHA extensions; false asks the CPU again. */
void st_sha256_small_force_plain(bool plain);

#endif
