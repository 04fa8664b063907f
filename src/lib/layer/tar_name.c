/* The tar entry rules, alone in their file: the entry-name rule
 * (st_tar_clean_name), which the directory unpack and the EROFS writer
 * both use, and import's checks of an entry (st_tar_check_entry), which
 * the EROFS writer applies when it stores a pulled layer; the EROFS fuzz
 * target links them without the rest of layer/. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "layer/tar.h"
#include "util/buf.h"
#include "util/cleanup.h"

int st_tar_clean_name(const char *name, char *out, size_t cap, st_error **err) {
  while (name[0] == '.' && name[1] == '/')
    name += 2;
  if (name[0] == '/')
    return st_error_set(err, EINVAL, "path leaves the layer (absolute)");
  size_t len = strlen(name);
  while (len > 0 && name[len - 1] == '/')
    len--;
  if (len == 0 || (len == 1 && name[0] == '.'))
    return 1;
  if (len >= cap)
    return st_error_set(err, EINVAL, "name too long");
  memcpy(out, name, len);
  out[len] = '\0';
  /* every ".." first: a name that leaves the layer says so, whatever
   * else is wrong with it */
  for (const char *p = out; p; p = strchr(p, '/')) {
    p += *p == '/';
    if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
      return st_error_set(err, EINVAL,
                          "path leaves the layer (\"..\" component)");
  }
  for (const char *p = out; *p;) {
    size_t clen = strcspn(p, "/");
    if (clen > NAME_MAX)
      return st_error_set(err, EINVAL,
                          "a name component is longer than 255 bytes");
    p += clen + (p[clen] == '/');
  }
  return 0;
}

/* Returns NULL when path stays inside the layer, else why it does not. */
static const char *path_escapes(const char *path) {
  if (path[0] == '/')
    return "absolute path";
  for (const char *c = path; *c;) {
    const char *end = strchrnul(c, '/');
    if (end - c == 2 && c[0] == '.' && c[1] == '.')
      return "\"..\" component";
    c = *end ? end + 1 : end;
  }
  return NULL;
}

/* Sets *err for an entry that would leave the layer. Returns -1. */
static int reject(const char *path, const char *link, const char *why,
                  st_error **err) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, "entry ");
  st_buf_quote(&b, path);
  if (link) {
    st_buf_puts(&b, ": hard link target ");
    st_buf_quote(&b, link);
    st_buf_puts(&b, " leaves the layer");
  } else {
    st_buf_puts(&b, ": path leaves the layer");
  }
  return st_error_set(err, EINVAL, "%s (%s)", b.data ? b.data : "entry", why);
}

/* Sets *err to "entry <quoted path>: <fmt...>" (EINVAL). Returns -1. */
static int refuse(const char *path, st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(const char *path, st_error **err, const char *fmt, ...) {
  cleanup_buf st_buf b = ST_BUF_INIT;
  st_buf_puts(&b, "entry ");
  st_buf_quote(&b, path);
  st_buf_puts(&b, ": ");
  va_list ap;
  va_start(ap, fmt);
  st_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  return st_error_set(err, EINVAL, "%s", b.data ? b.data : "entry refused");
}

/* Refuses a name (the entry's path, or what kind names) that Linux could
 * not create: longer than PATH_MAX - 1, or a component longer than
 * NAME_MAX. Such a layer imports but could never be unpacked. */
static int check_name_length(const char *path, const char *kind,
                             const char *name, st_error **err) {
  for (const char *c = name; *c;) {
    const char *end = strchrnul(c, '/');
    if (end - c > NAME_MAX)
      return refuse(path, err,
                    "%s has a component of %zu bytes, longer than Linux "
                    "allows (%d bytes)",
                    kind, (size_t)(end - c), NAME_MAX);
    c = *end ? end + 1 : end;
  }
  size_t len = strlen(name);
  if (len >= PATH_MAX)
    return refuse(path, err,
                  "%s of %zu bytes is longer than Linux allows (%d bytes)",
                  kind, len, PATH_MAX - 1);
  return 0;
}

/* Sizes of the security.capability forms Linux accepts (struct
 * vfs_cap_data, little endian): revision 2 and 3 (with a root ID). */
#define CAP_REVISION_MASK 0xFF000000u
#define CAP_REVISION_2 0x02000000u
#define CAP_REVISION_3 0x03000000u
#define CAP_FLAGS_EFFECTIVE 0x000001u

/* Returns NULL when value is a security.capability Linux would set, else
 * why not. */
static const char *bad_capability(const unsigned char *v, size_t n) {
  if (n < 4)
    return "shorter than its header";
  uint32_t magic = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 |
                   (uint32_t)v[3] << 24;
  uint32_t rev = magic & CAP_REVISION_MASK;
  if (rev != CAP_REVISION_2 && rev != CAP_REVISION_3)
    return "unknown revision (Linux takes 2 and 3)";
  if (magic & ~(CAP_REVISION_MASK | CAP_FLAGS_EFFECTIVE))
    return "unknown flags";
  if (n != (rev == CAP_REVISION_2 ? 20u : 24u))
    return rev == CAP_REVISION_2 ? "wrong size (revision 2 has 20 bytes)"
                                 : "wrong size (revision 3 has 24 bytes)";
  return NULL;
}

/* Refuses xattrs the unpacker could never set: overlayfs's own, names and
 * values beyond Linux's limits, a malformed security.capability. */
static int check_xattrs(const char *path, struct archive_entry *e,
                        st_error **err) {
  const char *name;
  const void *value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    cleanup_buf st_buf q = ST_BUF_INIT;
    st_buf_quote(&q, name);
    const char *qn = q.data ? q.data : "";
    const char *why = NULL;
    if (strncmp(name, "trusted.overlay.", strlen("trusted.overlay.")) == 0)
      why = "reserved for overlayfs";
    else if (strlen(name) > XATTR_NAME_MAX)
      why = "a name longer than Linux allows (255 bytes)";
    else if (size > XATTR_SIZE_MAX)
      why = "a value larger than Linux allows (64 KiB)";
    else if (strcmp(name, "security.capability") == 0)
      why = bad_capability(value, size);
    if (why)
      return refuse(path, err, "xattr %s: %s", qn, why);
  }
  return 0;
}

/* Checks one entry and adds a regular file's size. Returns 0, or < 0 with
 * *err set (EINVAL). */
int st_tar_check_entry(st_tar_check *c, struct archive_entry *e,
                       st_error **err) {
  const char *path = archive_entry_pathname(e);
  if (path == NULL)
    path = archive_entry_pathname_utf8(e);
  c->entries++;
  if (path == NULL || path[0] == '\0')
    return st_error_set(err, EINVAL, "entry %llu has an empty path",
                        (unsigned long long)c->entries);
  const char *why = path_escapes(path);
  if (why)
    return reject(path, NULL, why, err);
  const char *link = archive_entry_hardlink(e);
  if (link && (why = path_escapes(link)) != NULL)
    return reject(path, link, why, err);
  const char *target = archive_entry_symlink(e);
  if (check_name_length(path, "the path", path, err) < 0 ||
      (link &&
       check_name_length(path, "the hard link target", link, err) < 0) ||
      (target && strlen(target) >= PATH_MAX &&
       refuse(path, err,
              "the symlink target of %zu bytes is longer than Linux allows "
              "(%d bytes)",
              strlen(target), PATH_MAX - 1) < 0) ||
      check_xattrs(path, e, err) < 0)
    return -1;
  if (link == NULL && archive_entry_filetype(e) == AE_IFREG &&
      archive_entry_size(e) > 0 &&
      __builtin_add_overflow(c->size, archive_entry_size(e), &c->size))
    return st_error_set(err, EINVAL, "entry %llu: file sizes overflow",
                        (unsigned long long)c->entries);
  return 0;
}
