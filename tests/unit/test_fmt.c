/* Output formatting as the Docker CLI does it: go-units sizes and
 * durations, Go's RFC 3339 and Time.String, text/tabwriter and the
 * text/template subset of `--format`. Expected strings come from go-units'
 * own examples and from Docker 28's output for the same input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt/table.h"
#include "fmt/template.h"
#include "fmt/units.h"

/* ---- helpers ---------------------------------------------------------- */

static void check_str(char *got, const char *want) {
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void check_size(int64_t bytes, const char *want) {
  check_str(st_human_size(bytes), want);
}

static void check_duration(int64_t seconds, const char *want) {
  check_str(st_human_duration(seconds), want);
}

/* Runs a Docker --format string over JSON text; returns the output, or
 * "PARSE: msg" / "EXEC: msg". */
static char *run_with(int (*parse)(const char *, st_template **, st_error **),
                      const char *format, const char *json) {
  st_template *t = NULL;
  st_error *err = NULL;
  char *res = NULL;
  json_t *dot = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
  if (json)
    assert_non_null(dot);
  if (parse(format, &t, &err) < 0) {
    assert_non_null(err);
    assert_int_equal(asprintf(&res, "PARSE: %s", err->msg) > 0, 1);
  } else {
    st_buf out = ST_BUF_INIT;
    if (st_template_exec(t, dot, &out, &err) < 0)
      assert_int_equal(asprintf(&res, "EXEC: %s", err->msg) > 0, 1);
    else
      res = st_buf_steal(&out);
    st_buf_free(&out);
  }
  st_error_free(err);
  st_template_free(t);
  json_decref(dot);
  return res;
}

static void check_tmpl(const char *format, const char *json, const char *want) {
  check_str(run_with(st_template_parse, format, json), want);
}

static void check_raw(const char *format, const char *json, const char *want) {
  check_str(run_with(st_template_parse_raw, format, json), want);
}

static const char *const DOT =
    "{\"ID\":\"sha256:1a2b3c4d5e6f\",\"Repository\":\"busybox\","
    "\"Tag\":\"latest\",\"Size\":4261550,\"Ratio\":1.5,\"Big\":1000000.0,"
    "\"Names\":[\"web\",\"db\"],\"Labels\":{\"z\":\"last\",\"a\":\"first\","
    "\"n\":2},\"Empty\":\"\",\"None\":null,\"On\":true,\"Off\":false,"
    "\"Text\":\"Hello World\",\"Html\":\"<a&b>\",\"Zero\":0,"
    "\"State\":{\"Status\":\"running\",\"Health\":{\"Status\":\"ok\"}},"
    "\"Ports\":[{\"HostPort\":\"8080\"},{\"HostPort\":\"8443\"}]}";

static void check_dot(const char *format, const char *want) {
  check_tmpl(format, DOT, want);
}

/* ---- units ---------------------------------------------------------- */

static void test_human_size(void **state) {
  (void)state;
  check_size(0, "0B");
  check_size(1, "1B");
  check_size(999, "999B");
  check_size(1000, "1kB");
  check_size(1024, "1.02kB");
  check_size(1500, "1.5kB");
  check_size(9140, "9.14kB");
  check_size(999499, "999kB");
  check_size(999500, "1e+03kB"); /* Go's %.3g rounds up past 999 too */
  check_size(999999, "1e+03kB");
  check_size(1000000, "1MB");
  check_size(4260000, "4.26MB");
  check_size(4261550, "4.26MB");
  check_size(118000000, "118MB");
  check_size(1440000000, "1.44GB");
  check_size(INT64_C(1000000000000), "1TB");
  check_size(INT64_C(2220000000000000), "2.22PB");
  check_size(INT64_MAX, "9.22EB");
  check_size(-5, "-5B");
}

static void test_human_size_precision(void **state) {
  (void)state;
  /* go-units ExampleHumanSize (precision 4) and ExampleBytesSize */
  check_str(st_human_size_prec(1000, 4), "1kB");
  check_str(st_human_size_prec(1024, 4), "1.024kB");
  check_str(st_human_size_prec(1048576, 4), "1.049MB");
  check_str(st_human_size_prec(INT64_C(3420000000), 4), "3.42GB");
  check_str(st_human_size_prec(INT64_C(5372000000000), 4), "5.372TB");
  check_str(st_bytes_size(1024), "1KiB");
  check_str(st_bytes_size(1048576), "1MiB");
  check_str(st_bytes_size(1536), "1.5KiB");
  check_str(st_bytes_size(1000), "1000B");
}

static void test_human_duration(void **state) {
  (void)state;
  const int64_t min = 60, hour = 3600, day = 86400, week = 7 * day,
                month = 30 * day;
  /* go-units ExampleHumanDuration */
  check_duration(0, "Less than a second");
  check_duration(-10, "Less than a second");
  check_duration(1, "1 second");
  check_duration(47, "47 seconds");
  check_duration(59, "59 seconds");
  check_duration(min, "About a minute");
  check_duration(2 * min - 1, "About a minute");
  check_duration(3 * min, "3 minutes");
  check_duration(35 * min + 40, "35 minutes");
  check_duration(hour - 1, "59 minutes");
  check_duration(hour, "About an hour");
  check_duration(hour + 29 * min + 59, "About an hour");
  check_duration(hour + 30 * min, "2 hours"); /* hours are rounded */
  check_duration(hour + 45 * min, "2 hours");
  check_duration(3 * hour + 59 * min, "4 hours");
  check_duration(24 * hour, "24 hours");
  check_duration(36 * hour, "36 hours");
  check_duration(47 * hour + 29 * min, "47 hours");
  check_duration(47 * hour + 30 * min, "2 days");
  check_duration(2 * day, "2 days");
  check_duration(13 * day + 5 * hour, "13 days");
  check_duration(2 * week - 31 * min, "13 days");
  check_duration(2 * week, "2 weeks");
  check_duration(2 * week + 4 * day, "2 weeks");
  check_duration(4 * week + 3 * day, "4 weeks");
  check_duration(month + 2 * week, "6 weeks");
  check_duration(2 * month, "2 months");
  check_duration(5 * month + 2 * week, "5 months");
  check_duration(24 * month, "24 months");
  check_duration(24 * month + 2 * week, "2 years");
  check_duration(3 * 365 * day + 2 * month, "3 years");
}

static void test_created_since(void **state) {
  (void)state;
  int64_t now = INT64_C(1795739688);
  check_str(st_created_since(now - 12 * 86400, now), "12 days ago");
  check_str(st_created_since(now, now), "Less than a second ago");
  check_str(st_created_since(now + 100, now), "Less than a second ago");
  check_str(st_created_since(now - 90, now), "About a minute ago");
  /* Unix time 0 is a real date for Docker: nix-built images show this */
  check_str(st_created_since(0, now), "56 years ago");
  /* Go's zero time.Time gives "", which Docker's table turns into N/A */
  check_str(st_created_since(ST_GO_ZERO_UNIX, now), "");
}

static void test_rfc3339_format(void **state) {
  (void)state;
  check_str(st_format_rfc3339nano(INT64_C(1795739688), 123456789),
            "2026-11-27T00:34:48.123456789Z");
  check_str(st_format_rfc3339nano(INT64_C(1795739688), 120000000),
            "2026-11-27T00:34:48.12Z");
  check_str(st_format_rfc3339nano(INT64_C(1795739688), 0),
            "2026-11-27T00:34:48Z");
  check_str(st_format_rfc3339nano(0, 1), "1970-01-01T00:00:00.000000001Z");
  check_str(st_format_rfc3339nano(-1, 0), "1969-12-31T23:59:59Z");
  check_str(st_format_rfc3339nano(951782400, 0), "2000-02-29T00:00:00Z");
  check_str(st_format_rfc3339nano(ST_GO_ZERO_UNIX, 0), "0001-01-01T00:00:00Z");
}

static void check_parse(const char *s, int64_t want_sec, int32_t want_nsec) {
  int64_t sec = -7;
  int32_t nsec = -7;
  assert_int_equal(st_parse_rfc3339(s, &sec, &nsec), 0);
  assert_int_equal(sec, want_sec);
  assert_int_equal(nsec, want_nsec);
}

static void check_parse_bad(const char *s) {
  int64_t sec = -7;
  int32_t nsec = -7;
  assert_int_equal(st_parse_rfc3339(s, &sec, &nsec), -1);
  assert_int_equal(sec, -7);
  assert_int_equal(nsec, -7);
}

static void test_rfc3339_parse(void **state) {
  (void)state;
  check_parse("2026-11-27T00:34:48Z", INT64_C(1795739688), 0);
  check_parse("2026-11-27T00:34:48.123456789Z", INT64_C(1795739688), 123456789);
  check_parse("2026-11-27T00:34:48.5Z", INT64_C(1795739688), 500000000);
  check_parse("2026-11-27T01:34:48+01:00", INT64_C(1795739688), 0);
  check_parse("2026-11-26T19:04:48.1-05:30", INT64_C(1795739688), 100000000);
  /* Go keeps nine digits and drops the rest */
  check_parse("2026-11-27T00:34:48.1234567891Z", INT64_C(1795739688),
              123456789);
  check_parse("1970-01-01T00:00:00Z", 0, 0);
  check_parse("1969-12-31T23:59:59Z", -1, 0);
  check_parse("2000-02-29T00:00:00Z", 951782400, 0);
  check_parse("0001-01-01T00:00:00Z", ST_GO_ZERO_UNIX, 0);
  check_parse_bad("");
  check_parse_bad("2026-11-27");
  check_parse_bad("2026-11-27T00:34:48");
  check_parse_bad("2026-11-27 00:34:48Z");
  check_parse_bad("2026-11-27t00:34:48z");
  check_parse_bad("2026-11-27T00:34:48.Z");
  check_parse_bad("2026-11-27T00:34:48Z ");
  check_parse_bad("2026-13-01T00:00:00Z");
  check_parse_bad("2026-02-29T00:00:00Z");
  check_parse_bad("1900-02-29T00:00:00Z");
  check_parse_bad("2026-04-31T00:00:00Z");
  check_parse_bad("2026-11-27T24:00:00Z");
  check_parse_bad("2026-11-27T00:60:00Z");
  check_parse_bad("2026-11-27T00:00:60Z");
  check_parse_bad("2026-11-27T00:00:00+0100");
  check_parse_bad("2026-11-27T00:00:00+24:00");
  check_parse_bad("2026-11-27T00:00:00+01:60");
  check_parse_bad("26-11-27T00:00:00Z");
  check_parse_bad(NULL);
}

static void test_rfc3339_round_trip(void **state) {
  (void)state;
  const int64_t secs[] = {0,
                          1,
                          -1,
                          951782400,
                          INT64_C(1795739688),
                          INT64_C(4102444799),
                          ST_GO_ZERO_UNIX};
  const int32_t nsecs[] = {0, 1, 999999999, 500000000, 123456780};
  for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
    for (size_t j = 0; j < sizeof(nsecs) / sizeof(nsecs[0]); j++) {
      char *s = st_format_rfc3339nano(secs[i], nsecs[j]);
      assert_non_null(s);
      int64_t sec;
      int32_t nsec;
      assert_int_equal(st_parse_rfc3339(s, &sec, &nsec), 0);
      assert_int_equal(sec, secs[i]);
      assert_int_equal(nsec, nsecs[j]);
      free(s);
    }
  }
}

static void with_tz(const char *tz, int64_t sec, const char *want) {
  char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
  setenv("TZ", tz, 1);
  tzset();
  check_str(st_format_created_at(sec), want);
  if (old)
    setenv("TZ", old, 1);
  else
    unsetenv("TZ");
  tzset();
  free(old);
}

static void test_created_at(void **state) {
  (void)state;
  with_tz("UTC", INT64_C(1795739688), "2026-11-27 00:34:48 +0000 UTC");
  with_tz("UTC0", 0, "1970-01-01 00:00:00 +0000 UTC");
  with_tz("CET-1CEST,M3.5.0,M10.5.0/3", INT64_C(1795739688),
          "2026-11-27 01:34:48 +0100 CET");
  with_tz("CET-1CEST,M3.5.0,M10.5.0/3", INT64_C(1782520488),
          "2026-06-27 02:34:48 +0200 CEST");
  with_tz("<+0530>-5:30", INT64_C(1795739688),
          "2026-11-27 06:04:48 +0530 +0530");
  with_tz("EST5", INT64_C(1795739688), "2026-11-26 19:34:48 -0500 EST");
}

/* ---- table ------------------------------------------------------------ */

static char *render_lines(st_table *t, const char *const *lines) {
  for (; *lines; lines++)
    assert_int_equal(st_table_add_line(t, *lines), 0);
  char *out = st_table_render(t);
  st_table_free(t);
  return out;
}

static void test_table_docker_images(void **state) {
  (void)state;
  const char *const lines[] = {
      "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE",
      "busybox\tlatest\t1a2b3c4d5e6f\t2 weeks ago\t4.26MB", NULL};
  check_str(render_lines(st_table_new(), lines),
            "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n"
            "busybox      latest    1a2b3c4d5e6f   2 weeks ago   4.26MB\n");
  const char *const lines2[] = {
      "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE",
      "hello-world\tlatest\td2c94e258dcb\t7 months ago\t13.3kB",
      "docker.io/library/alpine\t3.19\tace17d5d883e\t12 days ago\t7.38MB",
      NULL};
  check_str(render_lines(st_table_new(), lines2),
            "REPOSITORY                 TAG       IMAGE ID       CREATED      "
            "  SIZE\n"
            "hello-world                latest    d2c94e258dcb   7 months ago "
            "  13.3kB\n"
            "docker.io/library/alpine   3.19      ace17d5d883e   12 days ago  "
            "  7.38MB\n");
}

static void test_table_minwidth(void **state) {
  (void)state;
  /* every column at least 10 wide; the last cell is never padded */
  const char *const lines[] = {"A\tB\tC", "x\ty\tz", NULL};
  check_str(render_lines(st_table_new(), lines), "A         B         C\n"
                                                 "x         y         z\n");
  /* trailing tab: the empty last cell still pads the column before it */
  const char *const lines2[] = {"NAME\t", "c3\t", NULL};
  check_str(render_lines(st_table_new(), lines2), "NAME      \n"
                                                  "c3        \n");
  /* tabwriter's "9a" shape: minwidth 1, padding 0 */
  const char *const lines3[] = {"1\t2\t3\t4", "11\t222\t3333\t44444", NULL};
  check_str(render_lines(st_table_new_opts(1, 0), lines3), "1 2  3   4\n"
                                                           "11222333344444\n");
  assert_null(st_table_new_opts(-1, 3));
}

static void test_table_column_blocks(void **state) {
  (void)state;
  /* the b column of the first two lines is not the c column of the last:
   * the line "a\t" has no cell there and ends that block (checked against
   * `docker context ls` with these descriptions) */
  const char *const lines[] = {"DESCRIPTION|",
                               "aaaa\tbbbbbbbbbbbbbbbb\td|",
                               "aa\tb\tdd|",
                               "a\t|",
                               "aa\tcccc\teee|",
                               "plain line|",
                               NULL};
  check_str(render_lines(st_table_new(), lines),
            "DESCRIPTION|\n"
            "aaaa      bbbbbbbbbbbbbbbb   d|\n"
            "aa        b                  dd|\n"
            "a         |\n"
            "aa        cccc      eee|\n"
            "plain line|\n");
  /* a line without tabs ends every column */
  const char *const lines2[] = {"long-name-here\tx", "no tabs", "a\tb", NULL};
  check_str(render_lines(st_table_new(), lines2), "long-name-here   x\n"
                                                  "no tabs\n"
                                                  "a         b\n");
}

static void test_table_widths(void **state) {
  (void)state;
  /* display width: CJK counts 2, combining marks 0, bytes do not matter */
  const char *const lines[] = {"NAME\tDESC\tEND",
                               "c2\t\xe6\xbc\xa2\xe5\xad\x97 wide\tx",
                               "e\xcc\x81t\xc3\xa9\tok\tx", NULL};
  check_str(render_lines(st_table_new(), lines),
            "NAME      DESC        END\n"
            "c2        \xe6\xbc\xa2\xe5\xad\x97 wide   x\n"
            "e\xcc\x81t\xc3\xa9       ok          x\n");
  /* 0xff-escaped text: tabs inside stay, the two escapes are not counted */
  const char *const lines2[] = {"a\xff\tb\xff\tc", "dd\te", NULL};
  check_str(render_lines(st_table_new_opts(1, 1), lines2), "a\xff\tb\xff c\n"
                                                           "dd e\n");
}

static void test_table_raw_writes(void **state) {
  (void)state;
  st_table *t = st_table_new();
  assert_int_equal(st_table_write(t, "ID\tNA", 5), 0);
  const char *rest = "ME\nabc\tdef\n\nx\vy\fz\tw";
  assert_int_equal(st_table_write(t, rest, strlen(rest)), 0);
  /* '\v' ends a cell like '\t'; '\f' ends a line and every column; text
   * after the last newline is written as it is */
  check_str(st_table_render(t), "ID        NAME\n"
                                "abc       def\n"
                                "\n"
                                "x         y\n"
                                "z         w");
  /* render does not consume the table */
  check_str(st_table_render(t), "ID        NAME\n"
                                "abc       def\n"
                                "\n"
                                "x         y\n"
                                "z         w");
  st_table_free(t);
  t = st_table_new();
  check_str(st_table_render(t), "");
  st_table_free(t);
  st_table_free(NULL);
}

/* ---- templates -------------------------------------------------------- */

static void test_tmpl_fields(void **state) {
  (void)state;
  check_dot("{{.Repository}}:{{.Tag}}", "busybox:latest");
  check_dot("{{.State.Health.Status}}", "ok");
  check_dot("{{.Missing}}|{{.Missing.Deeper}}|{{.State.Nope}}",
            "<no value>|<no value>|<no value>");
  check_dot("{{.Size}} {{.Ratio}} {{.Big}} {{.Zero}}", "4261550 1.5 1e+06 0");
  check_dot("{{.On}} {{.Off}} {{.None}}", "true false <nil>");
  check_dot("{{.Names}}", "[web db]");
  check_dot("{{.Labels}}", "map[a:first n:2 z:last]");
  check_dot("{{.Ports}}", "[map[HostPort:8080] map[HostPort:8443]]");
  check_tmpl("{{.}}", "\"just text\"", "just text");
  check_tmpl("{{.}}", NULL, "<no value>");
  check_dot("{{$.Tag}} {{$}}",
            "latest map[Big:1e+06 Empty: Html:<a&b> "
            "ID:sha256:1a2b3c4d5e6f Labels:map[a:first "
            "n:2 z:last] Names:[web db] None:<nil> Off:false "
            "On:true Ports:[map[HostPort:8080] "
            "map[HostPort:8443]] Ratio:1.5 "
            "Repository:busybox Size:4261550 "
            "State:map[Health:map[Status:ok] "
            "Status:running] Tag:latest Text:Hello World "
            "Zero:0]");
}

static void test_tmpl_literals(void **state) {
  (void)state;
  check_raw("{{\"a\\tb\\\"c\\u00e9\\x41\\101\\U0001F600\"}}", NULL,
            "a\tb\"c\xc3\xa9"
            "AA\xf0\x9f\x98\x80");
  check_raw("{{`raw \\n`}}", NULL, "raw \\n");
  check_raw("{{12}} {{-3}} {{0x1F}} {{017}} {{1_000}}", NULL,
            "12 -3 31 15 1000");
  check_raw("{{1.0}} {{1e6}} {{123456.0}} {{1234567.0}} {{0.0001}} "
            "{{0.00001}} {{0.1}} {{-2.5}} {{1e100}}",
            NULL, "1 1e+06 123456 1.234567e+06 0.0001 1e-05 0.1 -2.5 1e+100");
  check_raw("{{true}} {{false}}", NULL, "true false");
}

static void test_tmpl_json(void **state) {
  (void)state;
  check_dot("{{json .Names}}", "[\"web\",\"db\"]");
  check_dot("{{json .State}}",
            "{\"Status\":\"running\",\"Health\":{\"Status\":\"ok\"}}");
  /* Docker's json turns off HTML escaping */
  check_dot("{{json .Html}}", "\"<a&b>\"");
  check_dot("{{json .None}} {{json .Missing}} {{json .On}} {{json .Size}}",
            "null null true 4261550");
  check_raw("{{json 1.5}} {{json 1e20}} {{json 1e21}} {{json 0.0000001}} "
            "{{json 0.000001}} {{json 123456789.0}}",
            NULL, "1.5 100000000000000000000 1e+21 1e-7 0.000001 123456789");
  check_raw("{{json \"a\\u2028b\\x01\\b\\f\\n\\t\\r\\\"\\\\\\xff\"}}", NULL,
            "\"a\\u2028b\\u0001\\b\\f\\n\\t\\r\\\"\\\\\\ufffd\"");
  check_tmpl("json", "{\"b\":1,\"a\":[true,null]}",
             "{\"b\":1,\"a\":[true,null]}");
}

static void test_tmpl_functions(void **state) {
  (void)state;
  check_dot("{{join .Names \", \"}}", "web, db");
  check_dot("{{join .None \",\"}}|{{join .Missing \",\"}}", "|");
  check_dot("{{split .Text \" \"}} {{len (split .Text \"\")}}",
            "[Hello World] 11");
  check_dot("{{index (split .ID \":\") 1}}", "1a2b3c4d5e6f");
  check_raw("{{split \"\" \",\"}} {{len (split \"\" \",\")}}", NULL, "[] 1");
  check_dot("{{lower .Text}} {{upper .Text}} {{.Text | lower}}",
            "hello world HELLO WORLD hello world");
  check_raw("{{title \"hello wORLD foo_bar x-y 3abc \xc3\xa9lan\"}}", NULL,
            "Hello WORLD Foo_bar X-Y 3abc \xc3\x89lan");
  check_raw("{{upper \"h\xc3\xa9llo \xce\xb1\xcf\x82 \xd0\xb4\"}} "
            "{{lower \"\xc3\x89\xc5\x81\"}}",
            NULL, "H\xc3\x89LLO \xce\x91\xce\xa3 \xd0\x94 \xc3\xa9\xc5\x82");
  check_dot("{{truncate .ID 10}}|{{truncate .Tag 100}}|{{truncate .Tag 6}}",
            "sha256:1a2|latest|latest");
  check_dot("[{{pad .Tag 2 3}}][{{pad .Empty 2 3}}]", "[  latest   ][]");
  check_dot("{{println .Tag .Size}}", "latest 4261550\n");
  check_raw("{{print 1 2 \"a\" \"b\" 3 true}}|{{print}}|{{print nil}}", NULL,
            "1 2ab3 true||<nil>");
  check_dot("{{index .Labels \"a\"}} {{index .Names 1}} {{index .Ports 0 "
            "\"HostPort\"}} [{{index .Labels \"nope\"}}] [{{index .None "
            "\"x\"}}]",
            "first db 8080 [] []");
  check_dot("{{(index .Ports 1).HostPort}}", "8443");
  check_dot("{{index .Tag 0}}", "108");
  check_dot("{{len .Names}} {{len .Labels}} {{len .Tag}} {{len .None}}",
            "2 3 6 0");
}

static void test_tmpl_printf(void **state) {
  (void)state;
  check_raw("{{printf \"%s|%5s|%-5s|%.2s|\" \"abc\" \"ab\" \"ab\" "
            "\"h\xc3\xa9llo\"}}",
            NULL, "abc|   ab|ab   |h\xc3\xa9|");
  check_raw("{{printf \"%d|%5d|%-5d|%05d|%+d\" 42 42 42 -42 42}}", NULL,
            "42|   42|42   |-0042|+42");
  check_raw("{{printf \"%v %v %v %q\" 1 \"x\" true \"a\\\"b\\t\\x01\"}}", NULL,
            "1 x true \"a\\\"b\\t\\x01\"");
  check_raw("{{printf \"%x %X %x %t\" 255 255 \"hi\" false}}", NULL,
            "ff FF 6869 false");
  check_raw("{{printf \"%f %.2f %e %g %.3g %08.3f %+.1e\" 1.5 3.14159 "
            "1234.5678 0.000012345 3.14159 -3.14159 12345.678}}",
            NULL,
            "1.500000 3.14 1.234568e+03 1.2345e-05 3.14 -003.142 +1.2e+04");
  check_raw("{{printf \"%d\" \"abc\"}} {{printf \"%s\" 5}} {{printf \"%d %d\" "
            "1}} {{printf \"%d\" 1 2}} {{printf \"%%\"}} {{printf \"%d\" nil}}",
            NULL,
            "%!d(string=abc) %!s(int=5) 1 %!d(MISSING) 1%!(EXTRA int=2) % "
            "%!d(<nil>)");
  check_dot("{{.Size | printf \"%d bytes\"}}", "4261550 bytes");
}

static void test_tmpl_compare(void **state) {
  (void)state;
  check_raw("{{eq 1 1}} {{eq 1 2}} {{eq \"a\" \"a\"}} {{eq 1 2 1}} {{ne 1 2}}",
            NULL, "true false true true true");
  check_raw("{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 1}} {{lt \"a\" \"b\"}} "
            "{{lt 1 1.5}}",
            NULL, "true true false true true true");
  check_raw("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" \"x\"}} {{or 0 \"\"}} "
            "{{not 0}} {{not \"a\"}}",
            NULL, "0 2 x  true false");
  check_dot("{{eq .None nil}} {{eq .Missing .None}} {{eq .Tag .None}}",
            "true true false");
  /* and/or stop early: the failing index is never evaluated */
  check_dot("{{and .Off (index .Names 9)}} {{or .On (index .Names 9)}}",
            "false true");
}

static void test_tmpl_control(void **state) {
  (void)state;
  check_dot("{{if .On}}yes{{else}}no{{end}} {{if .Off}}yes{{else}}no{{end}}",
            "yes no");
  check_dot("{{if .Empty}}a{{else if .Zero}}b{{else if .None}}c{{else if "
            ".Missing}}d{{else}}e{{end}}",
            "e");
  check_dot("{{if and .On (eq .State.Status \"running\")}}up{{end}}", "up");
  check_dot("{{with .State}}{{.Status}}{{end}}{{with .Missing}}x{{else}}"
            "none{{end}}",
            "runningnone");
  check_dot("{{with .Missing}}x{{else with .State.Health}}{{.Status}}{{end}}",
            "ok");
  check_dot("{{range .Names}}<{{.}}>{{end}}", "<web><db>");
  check_dot("{{range $i, $e := .Names}}{{$i}}={{$e}} {{end}}", "0=web 1=db ");
  check_dot("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}",
            "a:first;n:2;z:last;");
  check_dot("{{range .Labels}}{{.}},{{end}}", "first,2,last,");
  check_dot("{{range $e := .Names}}{{$e}}{{$.Tag}}{{end}}",
            "weblatestdblatest");
  check_dot("{{range .None}}x{{else}}empty{{end}} {{range .Missing}}x{{else}}"
            "none{{end}}",
            "empty none");
  check_dot("{{range .Names}}{{if eq . \"web\"}}{{continue}}{{end}}{{.}}"
            "{{end}}",
            "db");
  check_dot("{{range .Names}}{{if eq . \"db\"}}{{break}}{{end}}{{.}}{{end}}",
            "web");
  check_raw("{{range 3}}{{.}}{{end}} {{range $i := 2}}{{$i}}{{end}}", NULL,
            "012 01");
  check_raw("{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}", NULL, "12");
  check_raw("{{$x := \"a\"}}{{if true}}{{$x := \"b\"}}{{$x}}{{end}}{{$x}}",
            NULL, "ba");
  check_raw("{{$x := \"a\"}}{{if true}}{{$x = \"b\"}}{{end}}{{$x}}", NULL, "b");
  check_dot("{{with $s := .State.Status}}{{$s}}{{end}}", "running");
}

static void test_tmpl_trim_and_comments(void **state) {
  (void)state;
  check_dot("a  {{- .Tag -}}  b", "alatestb");
  check_dot("a\n\t {{- .Tag}} \n", "alatest \n");
  check_dot("{{- 3}}|{{-3}}|{{3 -}} x", "3|-3|3x");
  check_dot("a {{/* a comment */}} b", "a  b");
  check_dot("a {{- /* trimmed */ -}} b", "ab");
  check_dot("{{range .Names -}}\n  {{.}}\n{{- end}}", "webdb");
}

static void test_tmpl_docker_prepare(void **state) {
  (void)state;
  st_template *t = NULL;
  st_error *err = NULL;
  assert_int_equal(st_template_parse("table {{.ID}}\\t{{.Size}}", &t, &err), 0);
  assert_true(st_template_is_table(t));
  st_buf out = ST_BUF_INIT;
  json_t *dot = json_pack("{s:s, s:s}", "ID", "abc", "Size", "1kB");
  assert_int_equal(st_template_exec(t, dot, &out, &err), 0);
  assert_string_equal(out.data, "abc\t1kB");
  st_buf_free(&out);
  json_decref(dot);
  st_template_free(t);
  assert_int_equal(st_template_parse("{{.ID}}", &t, &err), 0);
  assert_false(st_template_is_table(t));
  st_template_free(t);
  /* \t and \n become tab and newline, spaces around are trimmed */
  check_tmpl("  {{.A}}\\n{{.B}}\\t.  ", "{\"A\":1,\"B\":2}", "1\n2\t.");
  check_tmpl("a\\\\tb", NULL, "a\\\tb");
  /* the raw parser (docker inspect) keeps them */
  check_raw(" {{.A}}\\t ", "{\"A\":1}", " 1\\t ");
  /* Docker replaces \n inside quotes too, which then breaks the string */
  check_tmpl("{{join .A \"\\n\"}}", "{\"A\":[]}",
             "PARSE: template: :1: unterminated quoted string");
}

static void check_header(const char *format, const char *want) {
  static const struct st_header_name names[] = {{"ID", "IMAGE ID"},
                                                {"Repository", "REPOSITORY"},
                                                {"Tag", "TAG"},
                                                {"CreatedSince", "CREATED"},
                                                {"Size", "SIZE"},
                                                {"Current", NULL},
                                                {"State.Status", "STATUS"},
                                                {NULL, NULL}};
  st_template *t = NULL;
  st_error *err = NULL;
  assert_int_equal(st_template_parse(format, &t, &err), 0);
  check_str(st_template_table_header(t, names), want);
  st_template_free(t);
}

static void test_tmpl_table_header(void **state) {
  (void)state;
  check_header("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if "
               ".CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\\t"
               "{{.Size}}",
               "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE");
  /* unknown fields: upper case; a NULL header is "no value", as in Docker */
  check_header("table {{.Name}}{{if .Current}} *{{end}}\\t{{.Foo}}\\t"
               "{{.Current}}",
               "NAME\tFOO\t<no value>");
  /* Docker's header functions return their input; pad still pads */
  check_header("table {{json .ID}}|{{lower .Tag}}|{{truncate .Size 1}}|"
               "{{pad .Tag 1 1}}|{{split .ID \":\"}}|{{len .Tag}}",
               "IMAGE ID|TAG|SIZE| TAG |IMAGE ID|3");
  check_header("table {{.State.Status}}\\t{{.State.Other}}", "STATUS\tOTHER");
  /* an error ends the header where it happened, as Docker ignores it */
  check_header("table {{.ID}}\\t{{range .Tag}}x{{end}}\\tlost", "IMAGE ID\t");
}

static void test_tmpl_table_end_to_end(void **state) {
  (void)state;
  static const struct st_header_name names[] = {
      {"ID", "IMAGE ID"}, {"Repository", "REPOSITORY"},
      {"Tag", "TAG"},     {"CreatedSince", "CREATED"},
      {"Size", "SIZE"},   {NULL, NULL}};
  st_template *t = NULL;
  st_error *err = NULL;
  assert_int_equal(
      st_template_parse("table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{if "
                        ".CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}"
                        "\\t{{.Size}}",
                        &t, &err),
      0);
  st_table *tab = st_table_new();
  char *header = st_template_table_header(t, names);
  assert_int_equal(st_table_add_line(tab, header), 0);
  free(header);
  json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Repository", "busybox",
                          "Tag", "latest", "ID", "1a2b3c4d5e6f", "CreatedSince",
                          "", "Size", "4.26MB");
  st_buf line = ST_BUF_INIT;
  assert_int_equal(st_template_exec(t, row, &line, &err), 0);
  assert_int_equal(st_table_add_line(tab, line.data), 0);
  check_str(st_table_render(tab),
            "REPOSITORY   TAG       IMAGE ID       CREATED   SIZE\n"
            "busybox      latest    1a2b3c4d5e6f   N/A       4.26MB\n");
  st_buf_free(&line);
  json_decref(row);
  st_table_free(tab);
  st_template_free(t);
}

static void check_parse_error(const char *format, const char *want) {
  char *got = run_with(st_template_parse_raw, format, NULL);
  char *full = NULL;
  assert_int_equal(asprintf(&full, "PARSE: template: :%s", want) > 0, 1);
  assert_string_equal(got, full);
  free(full);
  free(got);
}

static void test_tmpl_parse_errors(void **state) {
  (void)state;
  /* the messages Go's text/template gives for the same input */
  check_parse_error("{{.}", "1: bad character U+007D '}'");
  check_parse_error("{{foo .}}", "1: function \"foo\" not defined");
  check_parse_error("x\n{{if .A}}", "2: unexpected EOF");
  check_parse_error("{{end}}", "1: unexpected {{end}}");
  check_parse_error("{{else}}", "1: unexpected {{else}}");
  check_parse_error("{{.Name", "1: unclosed action");
  check_parse_error("{{\"abc}}", "1: unterminated quoted string");
  check_parse_error("{{`abc}}", "1: unterminated raw quoted string");
  check_parse_error("{{(.Name}}", "1: unclosed left paren");
  check_parse_error("{{.Name)}}", "1: unexpected right paren");
  check_parse_error("{{1a}}", "1: bad number syntax: \"1a\"");
  check_parse_error("{{$x}}", "1: undefined variable \"$x\"");
  check_parse_error("{{.A | \"x\"}}",
                    "1: non executable command in pipeline stage 2");
  check_parse_error("{{}}", "1: missing value for command");
  check_parse_error("{{break}}", "1: {{break}} outside {{range}}");
  check_parse_error("{{range .A}}{{else}}{{else}}{{end}}",
                    "1: expected end; found {{else}}");
  check_parse_error("{{#}}", "1: unexpected \"#\" in command");
  check_parse_error("{{\"\\q\"}}", "1: invalid syntax");
  check_parse_error("{{/* x */ .A}}",
                    "1: comment ends before closing delimiter");
  check_parse_error("{{if 1}}{{else if}}{{end}}", "1: missing value for if");
  check_parse_error("{{range $a, $b, $c := .A}}{{end}}",
                    "1: too many declarations in range");
  check_parse_error("{{with $a, $b := .A}}{{end}}",
                    "1: too many declarations in with");
  check_parse_error("{{true.X}}", "1: unexpected . after term \"true\"");
  check_parse_error("{{define \"x\"}}{{end}}",
                    "1: {{define}} is not supported");
  /* deep nesting is refused rather than exhausting the stack */
  char deep[2100];
  size_t n = 0;
  for (int i = 0; i < 1000; i++)
    deep[n++] = '(';
  deep[n++] = '1';
  for (int i = 0; i < 1000; i++)
    deep[n++] = ')';
  deep[n] = '\0';
  char *wrapped = NULL;
  assert_int_equal(asprintf(&wrapped, "{{%s}}", deep) > 0, 1);
  char *got = run_with(st_template_parse_raw, wrapped, NULL);
  assert_non_null(strstr(got, "nested too deeply"));
  free(got);
  free(wrapped);
}

static void check_exec_error(const char *format, const char *want) {
  char *got = run_with(st_template_parse_raw, format, DOT);
  char *full = NULL;
  assert_int_equal(asprintf(&full, "EXEC: template: :%s", want) > 0, 1);
  assert_string_equal(got, full);
  free(full);
  free(got);
}

static void test_tmpl_exec_errors(void **state) {
  (void)state;
  check_exec_error("{{.Tag.X}}", "1:2: executing \"\" at <.Tag.X>: can't "
                                 "evaluate field X in type string");
  check_exec_error("{{.None.X}}", "1:2: executing \"\" at <.None.X>: nil "
                                  "pointer evaluating interface {}.X");
  check_exec_error("{{index .Names 5}}",
                   "1:2: executing \"\" at <index .Names 5>: error calling "
                   "index: index out of range: 5");
  check_exec_error("{{len 1 2}}", "1:2: executing \"\" at <len>: wrong number "
                                  "of args for len: want 1 got 2");
  check_exec_error("{{eq 1}}", "1:2: executing \"\" at <eq 1>: error calling "
                               "eq: missing argument for comparison");
  check_exec_error("{{eq 1 \"a\"}}",
                   "1:2: executing \"\" at <eq 1 \"a\">: error calling eq: "
                   "incompatible types for comparison");
  check_exec_error("x{{nil}}", "1:3: executing \"\" at <nil>: nil is not a "
                               "command");
  check_exec_error("{{.Tag | .Size}}", "1:9: executing \"\" at <.Size>: Size "
                                       "is not a method but has arguments");
  check_exec_error("{{lower 5}}", "1:2: executing \"\" at <lower 5>: wrong "
                                  "type for value; expected string; got int");
  check_exec_error("{{lower .Missing}}",
                   "1:2: executing \"\" at <lower .Missing>: invalid value; "
                   "expected string");
  check_exec_error("{{range .Tag}}{{end}}",
                   "1:8: executing \"\" at <.Tag>: range can't iterate over "
                   "latest");
  check_exec_error("\n{{truncate .Tag -1}}",
                   "2:2: executing \"\" at <truncate .Tag -1>: error calling "
                   "truncate: runtime error: slice bounds out of range [:-1]");
  /* output before the error stays in the buffer, as with Go */
  st_template *t = NULL;
  st_error *err = NULL;
  st_buf out = ST_BUF_INIT;
  assert_int_equal(st_template_parse("ok {{.A.B}} never", &t, &err), 0);
  json_t *dot = json_pack("{s:i}", "A", 1);
  assert_int_equal(st_template_exec(t, dot, &out, &err), -1);
  assert_int_equal(err->code, EINVAL);
  assert_string_equal(out.data, "ok ");
  st_error_free(err);
  st_buf_free(&out);
  json_decref(dot);
  st_template_free(t);
}

/* An object with ST_TPL_JSON_FORM: json encodes the form; fields, range,
 * len and printing see the rest. */
static void test_tmpl_json_form(void **state) {
  (void)state;
  const char *dot = "{\"C\":{\"User\":\"\",\"Cmd\":[\"sh\"],"
                    "\"\\u001fjson\":{\"Cmd\":[\"sh\"]}}}";
  check_tmpl("{{json .C}}", dot, "{\"Cmd\":[\"sh\"]}");
  check_tmpl("{{json .}}", dot, "{\"C\":{\"Cmd\":[\"sh\"]}}");
  check_tmpl("[{{.C.User}}] {{len .C}}", dot, "[] 2");
  check_tmpl("{{range $k, $v := .C}}{{$k}};{{end}}", dot, "Cmd;User;");
  check_tmpl("{{.C}}", dot, "map[Cmd:[sh] User:]");
}

static void test_parse_size(void **state) {
  (void)state;
  int64_t n = 0;
  assert_int_equal(st_parse_size("512", 1024, &n), 0);
  assert_int_equal(n, 512);
  assert_int_equal(st_parse_size("64m", 1024, &n), 0);
  assert_int_equal(n, 64 << 20);
  assert_int_equal(st_parse_size("1.5GB", 1024, &n), 0);
  assert_int_equal(n, (int64_t)3 << 29);
  assert_int_equal(st_parse_size("10k", 1000, &n), 0);
  assert_int_equal(n, 10000);
  assert_int_equal(st_parse_size("2Mb", 1000, &n), 0);
  assert_int_equal(n, 2000000);
  assert_int_equal(st_parse_size("7b", 1000, &n), 0);
  assert_int_equal(n, 7);
  static const char *const bad[] = {"",      "m",   "-1", "10x",
                                    "10mbb", "1 k", "k10"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(st_parse_size(bad[i], 1024, &n), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_human_size),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test(test_human_size_precision),
      cmocka_unit_test(test_human_duration),
      cmocka_unit_test(test_created_since),
      cmocka_unit_test(test_rfc3339_format),
      cmocka_unit_test(test_rfc3339_parse),
      cmocka_unit_test(test_rfc3339_round_trip),
      cmocka_unit_test(test_created_at),
      cmocka_unit_test(test_table_docker_images),
      cmocka_unit_test(test_table_minwidth),
      cmocka_unit_test(test_table_column_blocks),
      cmocka_unit_test(test_table_widths),
      cmocka_unit_test(test_table_raw_writes),
      cmocka_unit_test(test_tmpl_fields),
      cmocka_unit_test(test_tmpl_literals),
      cmocka_unit_test(test_tmpl_json),
      cmocka_unit_test(test_tmpl_functions),
      cmocka_unit_test(test_tmpl_printf),
      cmocka_unit_test(test_tmpl_compare),
      cmocka_unit_test(test_tmpl_control),
      cmocka_unit_test(test_tmpl_trim_and_comments),
      cmocka_unit_test(test_tmpl_docker_prepare),
      cmocka_unit_test(test_tmpl_table_header),
      cmocka_unit_test(test_tmpl_table_end_to_end),
      cmocka_unit_test(test_tmpl_parse_errors),
      cmocka_unit_test(test_tmpl_exec_errors),
      cmocka_unit_test(test_tmpl_json_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
