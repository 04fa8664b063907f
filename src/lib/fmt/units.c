#include "fmt/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- sizes ---------------------------------------------------------- */

static const char *const decimal_abbrs[] = {"B",  "kB", "MB", "GB", "TB",
                                            "PB", "EB", "ZB", "YB"};
static const char *const binary_abbrs[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                           "PiB", "EiB", "ZiB", "YiB"};
#define N_ABBRS (sizeof(decimal_abbrs) / sizeof(decimal_abbrs[0]))

/* go-units getSizeAndUnit + Sprintf("%.*g%s"). Go's %g with an explicit
 * precision rounds the same way and prints the same exponent form ("e+03")
 * as C's, so snprintf gives Go's bytes. */
static char *custom_size(int64_t bytes, int precision, double base,
                         const char *const *abbrs) {
  double size = (double)bytes;
  size_t i = 0;
  while (size >= base && i < N_ABBRS - 1) {
    size /= base;
    i++;
  }
  char *s = NULL;
  if (asprintf(&s, "%.*g%s", precision, size, abbrs[i]) < 0)
    return NULL;
  return s;
}

char *st_human_size_prec(int64_t bytes, int precision) {
  return custom_size(bytes, precision, 1000.0, decimal_abbrs);
}

char *st_human_size(int64_t bytes) {
  return st_human_size_prec(bytes, 3);
}

char *st_bytes_size(int64_t bytes) {
  return custom_size(bytes, 4, 1024.0, binary_abbrs);
}

/* ---- durations ------------------------------------------------------ */

static char *count_of(int64_t n, const char *unit) {
  char *s = NULL;
  if (asprintf(&s, "%lld %s", (long long)n, unit) < 0)
    return NULL;
  return s;
}

/* go-units HumanDuration. Hours are rounded (int(d.Hours() + 0.5)) for all
 * thresholds up to months; years use truncated hours, as in go-units. */
char *st_human_duration(int64_t seconds) {
  if (seconds < 1)
    return strdup("Less than a second");
  if (seconds == 1)
    return strdup("1 second");
  if (seconds < 60)
    return count_of(seconds, "seconds");
  int64_t minutes = seconds / 60;
  if (minutes == 1)
    return strdup("About a minute");
  if (minutes < 60)
    return count_of(minutes, "minutes");
  int64_t hours = seconds / 3600 + (seconds % 3600 >= 1800);
  if (hours == 1)
    return strdup("About an hour");
  if (hours < 48)
    return count_of(hours, "hours");
  if (hours < 24 * 7 * 2)
    return count_of(hours / 24, "days");
  if (hours < 24 * 30 * 2)
    return count_of(hours / 24 / 7, "weeks");
  if (hours < 24 * 365 * 2)
    return count_of(hours / 24 / 30, "months");
  return count_of(seconds / 3600 / 24 / 365, "years");
}

char *st_created_since(int64_t created_unix, int64_t now_unix) {
  if (created_unix == ST_GO_ZERO_UNIX)
    return strdup("");
  char *d = st_human_duration(now_unix - created_unix);
  if (d == NULL)
    return NULL;
  char *s = NULL;
  if (asprintf(&s, "%s ago", d) < 0)
    s = NULL;
  free(d);
  return s;
}

/* ---- calendar ------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (any year), by
 * counting whole 400-year eras from 0000-03-01 so leap days fall at the
 * end of each computed year. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct civil {
  int64_t year;
  int month, day, hour, min, sec;
};

static struct civil civil_from_unix(int64_t t) {
  int64_t days = t / 86400, rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  struct civil c;
  c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
  c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  c.hour = (int)(rem / 3600);
  c.min = (int)(rem / 60 % 60);
  c.sec = (int)(rem % 60);
  return c;
}

static bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* ---- RFC 3339 ------------------------------------------------------- */

/* ".123456789" without trailing zeros, or "" when nsec is 0 (Go's
 * ".999999999" layout element). buf holds at least 11 bytes. */
static void format_fraction(char *buf, size_t size, int32_t nsec) {
  buf[0] = '\0';
  if (nsec <= 0)
    return;
  snprintf(buf, size, ".%09d", (int)nsec);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '0')
    buf[--n] = '\0';
}

char *st_format_rfc3339nano(int64_t sec, int32_t nsec) {
  struct civil c = civil_from_unix(sec);
  char frac[16];
  format_fraction(frac, sizeof(frac), nsec);
  char *s = NULL;
  if (asprintf(&s, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", (long long)c.year,
               c.month, c.day, c.hour, c.min, c.sec, frac) < 0)
    return NULL;
  return s;
}

/* Reads exactly n decimal digits at *p into *out and advances *p; returns
 * false when one of them is not a digit. */
static bool read_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch < '0' || ch > '9')
      return false;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *out = v;
  return true;
}

static bool expect_char(const char **p, char ch) {
  if (**p != ch)
    return false;
  (*p)++;
  return true;
}

/* ".digits" (Go keeps the first nine digits and ignores the rest); absent
 * fraction leaves *nsec at 0. */
static void read_fraction(const char **p, int32_t *nsec) {
  *nsec = 0;
  if ((*p)[0] != '.' || (*p)[1] < '0' || (*p)[1] > '9')
    return;
  (*p)++;
  int digits = 0;
  int32_t v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++) {
    if (digits < 9) {
      v = v * 10 + (**p - '0');
      digits++;
    }
  }
  for (; digits < 9; digits++)
    v *= 10;
  *nsec = v;
}

/* "Z" (offset 0) or "+hh:mm"/"-hh:mm", then the end of the string. */
static bool read_offset(const char **p, int *offset) {
  if (expect_char(p, 'Z')) {
    *offset = 0;
    return **p == '\0';
  }
  char sign = **p;
  if (sign != '+' && sign != '-')
    return false;
  (*p)++;
  int hh, mm;
  if (!read_digits(p, 2, &hh) || !expect_char(p, ':') ||
      !read_digits(p, 2, &mm) || hh >= 24 || mm >= 60)
    return false;
  *offset = (hh * 60 + mm) * 60 * (sign == '-' ? -1 : 1);
  return **p == '\0';
}

struct date_time {
  int year, month, day, hour, min, sec;
};

static bool read_date_time(const char **p, struct date_time *t) {
  return read_digits(p, 4, &t->year) && expect_char(p, '-') &&
         read_digits(p, 2, &t->month) && expect_char(p, '-') &&
         read_digits(p, 2, &t->day) && expect_char(p, 'T') &&
         read_digits(p, 2, &t->hour) && expect_char(p, ':') &&
         read_digits(p, 2, &t->min) && expect_char(p, ':') &&
         read_digits(p, 2, &t->sec);
}

static bool date_time_valid(const struct date_time *t) {
  return t->month >= 1 && t->month <= 12 && t->day >= 1 &&
         t->day <= days_in_month(t->year, t->month) && t->hour < 24 &&
         t->min < 60 && t->sec < 60;
}

int st_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec) {
  if (s == NULL)
    return -1;
  const char *p = s;
  struct date_time t;
  int32_t frac;
  int offset;
  if (!read_date_time(&p, &t) || !date_time_valid(&t))
    return -1;
  read_fraction(&p, &frac);
  if (!read_offset(&p, &offset))
    return -1;
  int64_t days = days_from_civil(t.year, t.month, t.day);
  *sec = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec - offset;
  *nsec = frac;
  return 0;
}

/* ---- local time ----------------------------------------------------- */

/* Go prints the zone abbreviation, or "-0700" digits when the zone has no
 * name; glibc's tm_zone already holds such digits for unnamed zones. */
char *st_format_created_at(int64_t sec) {
  time_t t = (time_t)sec;
  struct tm tm;
  /* localtime_r does not re-read the zone; tzset once per process (a
   * listing of 1,000 images would otherwise stat /etc/localtime 1,000
   * times). */
  static bool zone_loaded;
  if (!zone_loaded) {
    tzset();
    zone_loaded = true;
  }
  if (localtime_r(&t, &tm) == NULL)
    return NULL;
  int off = (int)(tm.tm_gmtoff / 60 % (100 * 60));
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  const char *zone = tm.tm_zone && *tm.tm_zone ? tm.tm_zone : NULL;
  char digits[32];
  snprintf(digits, sizeof(digits), "%c%02d%02d", sign, off / 60, off % 60);
  char *s = NULL;
  if (asprintf(&s, "%04lld-%02d-%02d %02d:%02d:%02d %s %s",
               (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
               tm.tm_hour, tm.tm_min, tm.tm_sec, digits,
               zone ? zone : digits) < 0)
    return NULL;
  return s;
}

int st_parse_size(const char *v, int base, int64_t *out) {
  char *end = NULL;
  errno = 0;
  double n = strtod(v, &end);
  if (errno || end == v || n < 0)
    return -1;
  static const char units[] = "bkmgtp";
  const char *u = units;
  if (*end) {
    u = strchr(units, tolower((unsigned char)*end));
    if (u == NULL)
      return -1;
    end++;
    if (u != units && tolower((unsigned char)*end) == 'b')
      end++;
    if (*end)
      return -1;
  }
  for (const char *p = units; p < u; p++)
    n *= base;
  *out = (int64_t)n;
  return 0;
}
