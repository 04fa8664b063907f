/* The event log: see store/events.h. */
#include "store/events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/containers.h"
#include "util/cleanup.h"
#include "util/log.h"

char *st_events_path(const st_store *s, int rotated) {
  char *p = NULL;
  if (asprintf(&p, "%s/events.log%s", st_store_root(s), rotated ? ".1" : "") <
      0)
    return NULL;
  return p;
}

/* Moves a full log aside. Only the file this writer appended to is moved
 * (another writer may have moved it and started a new one already). */
static void rotate(const char *path, int fd) {
  struct stat a, b;
  if (fstat(fd, &a) < 0 || a.st_size < ST_EVENTS_MAX || stat(path, &b) < 0 ||
      a.st_ino != b.st_ino || a.st_dev != b.st_dev)
    return;
  cleanup_free char *old = NULL;
  if (asprintf(&old, "%s.1", path) < 0)
    return;
  if (rename(path, old) < 0)
    st_debug("rotate the event log: %s", strerror(errno));
}

void st_event_emit(st_store *s, const char *type, const char *action,
                   const char *id, json_t *attrs) {
  if (attrs == NULL)
    attrs = json_object();
  int64_t now = st_now_ns();
  json_t *ev = json_pack(
      "{s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "Type", type, "Action", action,
      "Actor", "ID", id, "Attributes", attrs, "scope", "local", "time",
      (json_int_t)(now / 1000000000), "timeNano", (json_int_t)now);
  if (ev == NULL)
    return;
  if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
    /* the pre-1.22 fields Docker still sends for these types */
    json_object_set_new(ev, "status", json_string(action));
    json_object_set_new(ev, "id", json_string(id));
    const char *from = json_string_value(json_object_get(attrs, "image"));
    if (from && strcmp(type, "container") == 0)
      json_object_set_new(ev, "from", json_string(from));
  }
  cleanup_free char *line = json_dumps(ev, JSON_COMPACT);
  json_decref(ev);
  cleanup_free char *path = st_events_path(s, 0);
  if (line == NULL || path == NULL)
    return;
  size_t n = strlen(line);
  line[n] = '\n'; /* json_dumps' NUL becomes the newline: one write */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    st_debug("open the event log %s: %s", path, strerror(errno));
    return;
  }
  ssize_t w = write(fd, line, n + 1);
  if (w != (ssize_t)(n + 1))
    st_debug("append to the event log %s: %s", path,
             w < 0 ? strerror(errno) : "short write");
  rotate(path, fd);
  close(fd);
}

json_t *st_event_parse(const char *line, size_t len) {
  json_t *ev = json_loadb(line, len, 0, NULL);
  if (ev && (!json_is_object(ev) ||
             !json_is_integer(json_object_get(ev, "timeNano")))) {
    json_decref(ev);
    return NULL;
  }
  return ev;
}

int64_t st_event_time(const json_t *ev) {
  return (int64_t)json_integer_value(json_object_get(ev, "timeNano"));
}

void st_event_container(st_store *s, const char *ref, const char *action,
                        const char *key, const char *value) {
  json_t *a = json_object();
  st_container c = {0};
  st_error *e = NULL;
  if (st_container_find(s, ref, &c, &e) < 0) {
    st_error_free(e);
    json_decref(a);
    return;
  }
  json_object_set_new(a, "image", json_string(c.image_ref));
  json_object_set_new(a, "name", json_string(c.name));
  if (key)
    json_object_set_new(a, key, json_string(value));
  st_event_emit(s, "container", action, c.id, a);
  st_container_clear(&c);
}

void st_event_image(st_store *s, const char *action, const char *id,
                    const char *name) {
  st_event_emit(s, "image", action, id,
                name ? json_pack("{s:s}", "name", name) : NULL);
}
