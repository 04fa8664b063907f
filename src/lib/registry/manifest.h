/* Parsing registry documents: image manifests (OCI, Docker schema 2) and
 * indexes (OCI index, Docker manifest list), and choosing a platform.
 * Parsing never re-serializes: the caller keeps the bytes it digested. */
#ifndef STRATA_REGISTRY_MANIFEST_H
#define STRATA_REGISTRY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest/digest.h"
#include "util/error.h"

typedef struct st_descriptor {
  char *media_type;
  char digest[ST_DIGEST_LEN];
  int64_t size;
  char **urls; /* foreign layers: where to fetch them; may be NULL */
  size_t n_urls;
  char *os, *arch, *variant; /* index entries only, else NULL */
} st_descriptor;

typedef enum st_manifest_kind {
  ST_MANIFEST_IMAGE, /* config + layers */
  ST_MANIFEST_INDEX, /* a list of manifests, one per platform */
} st_manifest_kind;

typedef struct st_manifest {
  st_manifest_kind kind;
  char *media_type;
  st_descriptor config; /* images only */
  st_descriptor *items; /* layers of an image, manifests of an index */
  size_t n_items;
} st_manifest;

/* Parses buf (len bytes). content_type is the HTTP Content-Type (may be
 * NULL); the document's own mediaType wins when present. Refuses schema 1
 * manifests and unknown documents with EINVAL and a message that says what
 * was found; a malformed document is EINVAL too. */
int st_manifest_parse(const char *buf, size_t len, const char *content_type,
                      st_manifest *out, st_error **err);
void st_manifest_clear(st_manifest *m);

/* True for a layer media type that is gzip, zstd or plain tar (OCI or
 * Docker, non-distributable/foreign ones included). */
bool st_layer_media_type_known(const char *media_type);
/* True for foreign / non-distributable layers, which are not pushed. */
bool st_layer_media_type_foreign(const char *media_type);

/* Chooses the entry of an index for platform ("os/arch[/variant]", NULL
 * for linux/<host arch>). Returns its position, or < 0 with ENOENT and
 * Docker's message "no matching manifest for linux/amd64 in the manifest
 * list entries". */
int st_manifest_pick(const st_manifest *index, const char *platform,
                     st_error **err);

#endif
