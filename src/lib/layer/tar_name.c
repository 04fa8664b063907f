/* The tar entry-name rule (st_tar_clean_name, layer/tar.h), alone in its
 * file: the directory unpack and the EROFS writer both use it, and the
 * EROFS fuzz target links it without the rest of layer/. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "layer/tar.h"

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
