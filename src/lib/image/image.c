/* Configs and manifests: loading, building and storing whole images. */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "fmt/units.h"
#include "util/cleanup.h"

const char *st_host_arch(void) {
  static const struct {
    const char *uname, *go;
  } map[] = {
      {"x86_64", "amd64"},    {"aarch64", "arm64"}, {"armv7l", "arm"},
      {"armv6l", "arm"},      {"i686", "386"},      {"i386", "386"},
      {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
  static struct utsname u;
  if (uname(&u) < 0)
    return "amd64";
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(u.machine, map[i].uname) == 0)
      return map[i].go;
  return u.machine;
}

int st_config_load(st_store *s, const char *id, json_t **config,
                   st_error **err) {
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (st_blob_get(s, id, &buf, &len, err) < 0)
    return st_error_wrap(err, "image %s: config", id);
  json_error_t jerr;
  json_t *j = json_loadb(buf, len, 0, &jerr);
  if (j == NULL || !json_is_object(j)) {
    json_decref(j);
    return st_error_set(err, EIO, "image %s: config is not a JSON object: %s",
                        id, jerr.text);
  }
  *config = j;
  return 0;
}

static json_t *descriptor(const char *media_type, const char *digest,
                          int64_t size) {
  return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest,
                   "size", (json_int_t)size);
}

int st_manifest_build(const char *config_digest, size_t config_size,
                      const st_layer_rec *layers, size_t n, char **out,
                      size_t *out_len, st_error **err) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    json_array_append_new(arr, descriptor(layers[i].media_type, layers[i].blob,
                                          layers[i].blob_size));
  json_t *m = json_pack(
      "{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
      ST_MT_OCI_MANIFEST, "config",
      descriptor(ST_MT_OCI_CONFIG, config_digest, (int64_t)config_size),
      "layers", arr);
  if (m == NULL)
    return st_error_errno(err, ENOMEM, "build manifest");
  char *s = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  if (s == NULL)
    return st_error_errno(err, ENOMEM, "build manifest");
  *out = s;
  *out_len = strlen(s);
  return 0;
}

/* The config's "created" as unix seconds; 0 when absent or unparsable. */
static int64_t config_created(const char *config, size_t len) {
  json_t *j = json_loadb(config, len, 0, NULL);
  const char *c = json_string_value(json_object_get(j, "created"));
  int64_t sec = 0;
  int32_t nsec = 0;
  if (c == NULL || st_parse_rfc3339(c, &sec, &nsec) < 0)
    sec = 0;
  json_decref(j);
  return sec;
}

int st_image_store(st_store *s, const char *config, size_t config_len,
                   const st_layer_rec *layers, size_t n_layers,
                   const char *parent, const char *const *tags, size_t n_tags,
                   char id_out[ST_DIGEST_LEN], st_error **err) {
  st_image_rec rec = {.manifest_media_type = ST_MT_OCI_MANIFEST,
                      .created = config_created(config, config_len),
                      .parent = parent,
                      .n_layers = n_layers,
                      .layers = layers};
  if (st_blob_put(s, config, config_len, rec.id, err) < 0)
    return st_error_wrap(err, "store config");
  cleanup_free char *manifest = NULL;
  size_t mlen = 0;
  if (st_manifest_build(rec.id, config_len, layers, n_layers, &manifest, &mlen,
                        err) < 0 ||
      st_blob_put(s, manifest, mlen, rec.manifest, err) < 0)
    return st_error_wrap(err, "store manifest");
  if (st_image_commit(s, &rec, tags, n_tags, err) < 0)
    return -1;
  memcpy(id_out, rec.id, ST_DIGEST_LEN);
  return 0;
}
