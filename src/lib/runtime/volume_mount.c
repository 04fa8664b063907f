/* Volumes of the local driver created with -o type=...,device=...,o=...:
 * as Docker's local driver, the file system is mounted on the host at the
 * volume's _data when a container that uses it starts, and containers bind
 * _data, so the ones running at once share it. strata has no daemon to
 * unmount it when the last container stops: it stays mounted until
 * `volume rm`/`prune` (or a reboot). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/mounts.h"
#include "util/buf.h"
#include "util/cleanup.h"

/* The flags of o= that mount(2) takes as flags; the rest is data. */
static const struct {
  const char *name;
  unsigned long flag;
} flag_opts[] = {{"ro", MS_RDONLY},
                 {"nosuid", MS_NOSUID},
                 {"nodev", MS_NODEV},
                 {"noexec", MS_NOEXEC},
                 {"noatime", MS_NOATIME},
                 {"relatime", MS_RELATIME},
                 {"nodiratime", MS_NODIRATIME},
                 {"sync", MS_SYNCHRONOUS}};

static bool is_mountpoint(const char *path) {
  struct stat a, b;
  cleanup_free char *parent = NULL;
  if (asprintf(&parent, "%s/..", path) < 0 || stat(path, &a) < 0 ||
      stat(parent, &b) < 0)
    return false;
  return a.st_dev != b.st_dev;
}

static int mount_one(json_t *m, st_error **err) {
  const char *path = json_string_value(json_object_get(m, "path"));
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *dev = json_string_value(json_object_get(m, "device"));
  const char *o = json_string_value(json_object_get(m, "o"));
  if (path == NULL || type == NULL || dev == NULL)
    return st_error_set(err, EINVAL, "volume mount: incomplete options");
  cleanup_free char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash == NULL)
    return st_error_errno(err, ENOMEM, "volume mount");
  *slash = '\0';
  cleanup_close int lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock < 0 || flock(lock, LOCK_EX) < 0)
    return st_error_errno(err, errno, "lock `%s`", dir);
  if (is_mountpoint(path))
    return 0; /* another container of this volume mounted it */
  unsigned long flags = 0;
  cleanup_buf st_buf data = ST_BUF_INIT;
  cleanup_free char *dup = strdup(o ? o : "");
  st_buf_puts(&data, "");
  for (char *t = dup, *c; t && *t; t = c) {
    c = strchr(t, ',');
    if (c)
      *c++ = '\0';
    bool known = false;
    for (size_t i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++)
      if (strcmp(t, flag_opts[i].name) == 0) {
        flags |= flag_opts[i].flag;
        known = true;
      }
    if (!known && *t)
      st_buf_printf(&data, "%s%s", data.len ? "," : "", t);
  }
  if (mount(dev, path, type, flags, data.len ? data.data : NULL) < 0)
    return st_error_errno(err, errno, "mount %s (%s) on volume `%s`", dev, type,
                          path);
  return 0;
}

int st_volume_host_mounts(const char *list, st_error **err) {
  json_t *a = json_loads(list, 0, NULL);
  if (!json_is_array(a)) {
    json_decref(a);
    return st_error_set(err, EIO, "volume mounts: unreadable list");
  }
  size_t i;
  json_t *m;
  int r = 0;
  json_array_foreach(a, i, m) if (r == 0) r = mount_one(m, err);
  json_decref(a);
  return r;
}

void st_volume_host_umount(const char *data) {
  while (is_mountpoint(data) && umount2(data, MNT_DETACH) == 0) {
  }
}
