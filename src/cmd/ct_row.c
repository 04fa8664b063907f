/* The columns `ps` and `system df -v` show for a container, as Docker's
 * container formatter writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct_row.h"
#include "fmt/units.h"
#include "fmt/utf8.h"
#include "util/buf.h"
#include "util/cleanup.h"

static char *status_text(const st_container *c, int64_t now) {
  char *out = NULL;
  switch (c->state) {
  case ST_CT_CREATED:
    return strdup("Created");
  case ST_CT_RUNNING: {
    if (c->restarting) { /* Docker: since the exit it restarts after */
      cleanup_free char *d =
          st_human_duration((now - c->finished) / 1000000000);
      if (asprintf(&out, "Restarting (%d) %s ago", c->exit_code, d ? d : "") <
          0)
        return NULL;
      return out;
    }
    cleanup_free char *d = st_human_duration((now - c->started) / 1000000000);
    if (st_container_paused(c)) /* Docker: paused hides the health */
      return asprintf(&out, "Up %s (Paused)", d ? d : "") < 0 ? NULL : out;
    const char *h = c->health;
    if (asprintf(&out, "Up %s%s%s%s", d ? d : "", *h ? " (" : "",
                 strcmp(h, "starting") == 0 ? "health: starting" : h,
                 *h ? ")" : "") < 0)
      return NULL;
    return out;
  }
  case ST_CT_EXITED:
  default: {
    cleanup_free char *d = st_human_duration((now - c->finished) / 1000000000);
    if (asprintf(&out, "Exited (%d) %s ago", c->exit_code, d ? d : "") < 0)
      return NULL;
    return out;
  }
  }
}

/* Appends c to b as Go's strconv.Quote writes it inside a string. */
static void quote_byte(st_buf *b, unsigned char c) {
  static const char esc[] = "\a\b\t\n\v\f\r";
  static const char letter[] = "abtnvfr";
  const char *e = c != 0 ? strchr(esc, c) : NULL;
  if (c == '"' || c == '\\') {
    char two[2] = {'\\', (char)c};
    st_buf_append(b, two, 2);
  } else if (e != NULL) {
    char two[2] = {'\\', letter[e - esc]};
    st_buf_append(b, two, 2);
  } else if (c < 0x20 || c == 0x7f) {
    st_buf_printf(b, "\\x%02x", c);
  } else {
    st_buf_append(b, (const char *)&c, 1);
  }
}

/* Docker's COMMAND column: cut to 20 characters with an ellipsis, then
 * quoted as Go's %q does (inner quotes show as \"). */
static char *command_text(const char *cmd, bool no_trunc) {
  st_buf b = ST_BUF_INIT;
  size_t len = strlen(cmd), end = len, runes = 0;
  for (size_t i = 0; i < len; runes++) {
    uint32_t r;
    size_t step = st_utf8_decode((const unsigned char *)cmd + i, len - i, &r);
    if (runes == 19)
      end = i;
    i += step;
  }
  bool cut = !no_trunc && runes > 20;
  st_buf_append(&b, "\"", 1);
  for (size_t i = 0; i < (cut ? end : len); i++)
    quote_byte(&b, (unsigned char)cmd[i]);
  if (cut)
    st_buf_append(&b, "…", strlen("…"));
  st_buf_append(&b, "\"", 1);
  return st_buf_steal(&b);
}

/* Docker's IMAGE column: the name the container was made from while it
 * still names the container's image; once that name is gone or names
 * another image (re-tagged, pulled again, `rmi -f`), the image ID. */
static char *image_text(st_store *s, const st_container *c, bool no_trunc) {
  st_image img = {0};
  st_error *err = NULL;
  bool same = st_image_resolve(s, c->image_ref, &img, &err) == 0 &&
              strcmp(img.id, c->image) == 0;
  st_image_clear(&img);
  st_error_free(err);
  if (same)
    return strdup(c->image_ref);
  if (no_trunc)
    return strdup(c->image);
  return strndup(st_digest_hex(c->image), 12);
}

/* Docker's SIZE: "2B (virtual 4.26MB)", the writable layer's bytes and
 * those plus the image's. */
char *cli_container_size(st_store *s, const st_container *c) {
  int64_t rw = st_container_size_rw(s, c->id);
  int64_t rootfs = st_container_size_rootfs(s, c, rw);
  cleanup_free char *a = st_human_size(rw);
  cleanup_free char *b = st_human_size(rootfs);
  char *out = NULL;
  if (a == NULL || b == NULL || asprintf(&out, "%s (virtual %s)", a, b) < 0)
    return NULL;
  return out;
}

json_t *cli_container_row(st_store *s, const st_container *c, bool no_trunc,
                          bool size, int64_t now) {
  cleanup_free char *image = image_text(s, c, no_trunc);
  cleanup_free char *ports = st_container_ports_text(s, c);
  cleanup_free char *status = status_text(c, now);
  cleanup_free char *cmd = command_text(c->command, no_trunc);
  cleanup_free char *since =
      st_created_since(c->created / 1000000000, now / 1000000000);
  cleanup_free char *at = st_format_created_at(c->created / 1000000000);
  cleanup_free char *sz = size ? cli_container_size(s, c) : NULL;
  json_t *o = json_pack("{s:s%, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
                        c->id, no_trunc ? (size_t)64 : (size_t)12, "Image",
                        image ? image : c->image_ref, "Command", cmd ? cmd : "",
                        "RunningFor", since ? since : "", "CreatedAt",
                        at ? at : "", "Status", status ? status : "", "Ports",
                        ports ? ports : "", "Names", c->name, "State",
                        c->restarting            ? "restarting"
                        : st_container_paused(c) ? "paused"
                                                 : st_ct_state_name(c->state));
  if (o && size)
    json_object_set_new(o, "Size", json_string(sz ? sz : ""));
  return o;
}
