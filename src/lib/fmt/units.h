/* Human-readable sizes, durations and timestamps, byte for byte as the
 * Docker CLI prints them (github.com/docker/go-units and Go's time package).
 *
 * Every char * returned here is heap-allocated and owned by the caller
 * (free()); NULL means out of memory.
 */
#ifndef STRATA_FMT_UNITS_H
#define STRATA_FMT_UNITS_H

#include <stdint.h>

/* The Unix time of Go's zero time.Time (0001-01-01 00:00:00 UTC). Docker's
 * CreatedSince prints "" for it; Unix time 0 is an ordinary date (1970). */
#define ST_GO_ZERO_UNIX INT64_C(-62135596800)

/* go-units HumanSizeWithPrecision(bytes, 3), what `docker images` and
 * `docker ps -s` print: decimal units B, kB, MB ... YB and Go's "%.3g"
 * ("0B", "999B", "1kB", "1.5kB", "9.14kB", "4.26MB", "118MB", "1.44GB"). */
char *st_human_size(int64_t bytes);

/* A size as Docker's flags take it: a number with an optional b, k, m, g,
 * t or p suffix (any case, "mb" as "m"), the units powers of base (1024:
 * go-units RAMInBytes, --memory; 1000: FromHumanSize, --log-opt
 * max-size). 0, or -1 when v is not such a size. */
int st_parse_size(const char *v, int base, int64_t *out);

/* The same with another precision: 4 is go-units HumanSize, used by
 * `docker system df` ("1.024kB"). Rounding can give "1e+03kB", as in Go. */
char *st_human_size_prec(int64_t bytes, int precision);

/* go-units BytesSize: binary units B, KiB, MiB ... with "%.4g" ("1KiB",
 * "1.5MiB"), used by `docker stats`. */
char *st_bytes_size(int64_t bytes);

/* go-units HumanDuration: "Less than a second", "1 second", "N seconds",
 * "About a minute", "N minutes", "About an hour", "N hours", "N days",
 * "N weeks", "N months", "N years". Negative durations are "Less than a
 * second", as in Go. */
char *st_human_duration(int64_t seconds);

/* Docker's CREATED column: st_human_duration(now - created) + " ago", e.g.
 * "12 days ago". Like Docker, created == ST_GO_ZERO_UNIX gives "" (the
 * default table template then prints "N/A") while created == 0 is 1970 and
 * gives "56 years ago". */
char *st_created_since(int64_t created_unix, int64_t now_unix);

/* Go's time.RFC3339Nano in UTC: "2026-11-27T00:34:48.123456789Z", the
 * fraction without trailing zeros and without the dot when nsec is 0.
 * nsec must be in [0, 999999999]. */
char *st_format_rfc3339nano(int64_t sec, int32_t nsec);

/* Parses RFC 3339 as Go's time.Parse(time.RFC3339Nano, s) does:
 * "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)"; the fraction has at
 * least one digit, digits past the ninth are dropped (truncated, as Go
 * does). Fields are range-checked (month, day of that month, hour < 24,
 * minute < 60, second < 60, offset hour < 24). Stores Unix seconds and
 * nanoseconds (in UTC) and returns 0, or returns -1 on bad input without
 * touching *sec and *nsec. */
int st_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec);

/* Go's time.Unix(sec, 0).String() in the local zone (TZ, else
 * /etc/localtime, else UTC), which is Docker's CreatedAt:
 * "2026-11-27 00:34:48 +0000 UTC", "2026-11-27 01:34:48 +0100 CET". */
char *st_format_created_at(int64_t sec);

#endif
