/* `import`: a one-layer image from a rootfs tarball. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmt/units.h"
#include "image/image.h"
#include "layer/tar.h"
#include "util/cleanup.h"

/* Splits "os/arch[/variant]" into the config. */
static int apply_platform(json_t *config, const char *platform,
                          st_error **err) {
  if (platform == NULL) {
    json_object_set_new(config, "architecture", json_string(st_host_arch()));
    json_object_set_new(config, "os", json_string("linux"));
    return 0;
  }
  cleanup_free char *p = strdup(platform);
  char *arch = p ? strchr(p, '/') : NULL;
  if (arch == NULL || arch == p || arch[1] == '\0')
    return st_error_set(err, EINVAL,
                        "invalid platform \"%s\": expected os/arch[/variant]",
                        platform);
  *arch++ = '\0';
  char *variant = strchr(arch, '/');
  if (variant)
    *variant++ = '\0';
  json_object_set_new(config, "architecture", json_string(arch));
  json_object_set_new(config, "os", json_string(p));
  if (variant && *variant)
    json_object_set_new(config, "variant", json_string(variant));
  return 0;
}

/* Docker records the message, or "Imported from <source>", both as the
 * image's comment and as its one history entry's. */
static char *import_comment(const st_import_opts *o) {
  char *c = NULL;
  if (o->message)
    return strdup(o->message);
  if (asprintf(&c, "Imported from %s", o->source ? o->source : "-") < 0)
    return NULL;
  return c;
}

/* Builds the config JSON of an imported image (compact, sorted keys). */
static int build_config(const st_import_opts *o, const st_layer_rec *layer,
                        char **out, st_error **err) {
  cleanup_json json_t *config = json_object();
  cleanup_json json_t *cc = json_object();
  if (config == NULL || cc == NULL)
    return st_error_errno(err, ENOMEM, "build config");
  for (size_t i = 0; i < o->n_changes; i++)
    if (st_config_apply_change(cc, o->changes[i], err) < 0)
      return st_error_wrap(err, "--change");
  if (apply_platform(config, o->platform, err) < 0)
    return -1;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  cleanup_free char *created =
      st_format_rfc3339nano(now.tv_sec, (int32_t)now.tv_nsec);
  if (created == NULL)
    return st_error_errno(err, ENOMEM, "build config");
  cleanup_free char *comment = import_comment(o);
  if (comment == NULL)
    return st_error_errno(err, ENOMEM, "build config");
  json_object_set(config, "config", cc);
  json_object_set_new(config, "created", json_string(created));
  json_object_set_new(config, "comment", json_string(comment));
  json_object_set_new(
      config, "history",
      json_pack("[{s:s, s:s}]", "created", created, "comment", comment));
  json_object_set_new(
      config, "rootfs",
      json_pack("{s:s, s:[s]}", "type", "layers", "diff_ids", layer->diff_id));
  *out = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
  if (*out == NULL)
    return st_error_errno(err, ENOMEM, "build config");
  return 0;
}

int st_image_import(st_store *s, int fd, const st_import_opts *o,
                    const char *const *tags, size_t n_tags,
                    char id_out[ST_DIGEST_LEN], st_error **err) {
  /* Validate the changes before reading a possibly huge tarball. */
  cleanup_json json_t *probe = json_object();
  for (size_t i = 0; i < o->n_changes; i++)
    if (st_config_apply_change(probe, o->changes[i], err) < 0)
      return st_error_wrap(err, "--change");
  st_layer_rec layer = {0};
  /* o->source is what the comment records ("-" for a file too, as Docker
   * does), not what fd is; the caller names the input. */
  if (st_layer_import(s, fd, "rootfs tarball", &layer, err) < 0)
    return -1;
  cleanup_free char *config = NULL;
  if (build_config(o, &layer, &config, err) < 0 ||
      st_image_store(s, config, strlen(config), &layer, 1, NULL, tags, n_tags,
                     id_out, err) < 0) {
    /* The layer (and maybe the config) blob is stored but nothing refers
     * to it: give the space back now, which matters when the disk is full.
     * When another process has the store open, the next gc does it. */
    st_error *gc_err = NULL;
    st_store_gc(s, &gc_err);
    st_error_free(gc_err);
    return -1;
  }
  return 0;
}
